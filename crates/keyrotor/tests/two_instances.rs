//! Invalidation comes from the store (issue 13, item 1): a change committed
//! through one `Keyrotor` instance is seen at once by that instance, and by
//! another instance on the same database once it has read the store's
//! change sequences (`poll_changes`; the server does every
//! `--change-poll-ms`): account keys, role assignments and signing keys.
//! The single-machine stand-in for several nodes.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{api, scratch, Server};
use keyrotor_arm::{ArmState, Endpoints};
use keyrotor_core::{AccountSpec, Actor, ChangeDomain, Keyrotor};
use keyrotor_crypto::RootKey;
use keyrotor_dataplane::DataPlane;
use keyrotor_identity::{generate_signing_key, TokenIssuer};
use keyrotor_store_sqlite::SqliteStore;
use keyrotor_types::{AccountKind, AccountName, KeySlot, ResourceGroupName, SystemClock};
use serde_json::json;

fn open(db: &Path, root: &Arc<RootKey>) -> Arc<Keyrotor> {
    let store = Arc::new(SqliteStore::open(db).expect("store"));
    let root = root.clone();
    let core = Arc::new(Keyrotor::new(store, root, Arc::new(SystemClock)));
    core.bootstrap().expect("bootstrap");
    core
}

fn arm(core: &Arc<Keyrotor>) -> ArmState {
    let keys = core
        .signing_keys(|| {
            generate_signing_key()
                .map_err(|_| keyrotor_core::Error::Crypto(keyrotor_crypto::Error::Rng))
        })
        .expect("signing keys");
    let pairs: Vec<(String, &[u8])> = keys
        .iter()
        .map(|k| (k.kid.clone(), k.pkcs8.as_slice()))
        .collect();
    let (dir, _) = core.bootstrap().expect("directory");
    let url = "https://127.0.0.1:8443";
    let issuer = TokenIssuer::new(format!("{url}/{}/v2.0", dir.tenant_id), &pairs).expect("issuer");
    ArmState::new(
        core.clone(),
        Arc::new(keyrotor_core::UsageRecorder::new()),
        dir,
        Endpoints::new(url, None),
        issuer,
    )
}

fn key_of(dp: &DataPlane, name: &str) -> Option<String> {
    let entry = dp.cached(AccountKind::Batch, name)??;
    entry
        .keys
        .iter()
        .find(|k| k.slot == KeySlot::Primary)
        .map(|k| k.text.expose().to_string())
}

#[tokio::test]
async fn a_second_instance_sees_keys_roles_and_signing_keys_after_polling() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let db = tmp.path().join("keyrotor.db");
    let root = Arc::new(RootKey::from_bytes(&[3u8; 32]).expect("root key"));
    let a = open(&db, &root);
    let b = open(&db, &root);
    let (arm_a, arm_b) = (arm(&a), arm(&b));
    let (dir, _) = a.bootstrap().expect("directory");
    let actor = Actor::new("test");
    let g = ResourceGroupName::parse("rg1").expect("name");
    a.put_group(
        &dir,
        &actor,
        &dir.subscription_id,
        &g,
        "westus",
        BTreeMap::new(),
    )
    .expect("group");
    let n = AccountName::parse(AccountKind::Batch, "twoinst1").expect("name");
    let spec = AccountSpec {
        location: "westus".into(),
        tags: BTreeMap::new(),
        document: "{}".into(),
        settings: Default::default(),
    };
    let (acct, _) = a
        .put_account(
            &dir,
            &actor,
            AccountKind::Batch,
            &dir.subscription_id,
            &g,
            &n,
            spec,
        )
        .expect("account");
    b.poll_changes().expect("poll");
    let (dp_a, dp_b) = (DataPlane::new(a.clone()), DataPlane::new(b.clone()));
    let first_a = dp_a
        .entry(AccountKind::Batch, "twoinst1")
        .await
        .expect("entry");
    let first_b = dp_b
        .entry(AccountKind::Batch, "twoinst1")
        .await
        .expect("entry");
    assert!(first_a.is_some() && first_b.is_some());
    let old = key_of(&dp_b, "twoinst1").expect("cached");

    // Keys: the committing instance at once; the other once it polled.
    let new = a
        .regenerate_key(&actor, &acct, KeySlot::Primary)
        .expect("regenerate");
    assert!(
        dp_a.cached(AccountKind::Batch, "twoinst1").is_none(),
        "stale on A at once"
    );
    assert_eq!(
        key_of(&dp_b, "twoinst1").as_deref(),
        Some(old.as_str()),
        "B has not read the store yet"
    );
    let moved = b.poll_changes().expect("poll");
    assert!(moved.contains(&ChangeDomain::Accounts), "{moved:?}");
    assert!(
        dp_b.cached(AccountKind::Batch, "twoinst1").is_none(),
        "stale on B after its poll"
    );
    dp_b.entry(AccountKind::Batch, "twoinst1")
        .await
        .expect("entry");
    assert_eq!(
        key_of(&dp_b, "twoinst1").as_deref(),
        Some(new.value.expose())
    );
    assert!(
        b.poll_changes().expect("poll").is_empty(),
        "nothing moved since"
    );

    // Roles: a revoked (here: a new) assignment reaches B's snapshot after its poll.
    let (p, _, _) = a
        .create_principal(&actor, "two-instances", None)
        .expect("principal");
    b.poll_changes().expect("poll");
    let scope = format!("/subscriptions/{}/resourcegroups/rg1", dir.subscription_id);
    let action = "Microsoft.Resources/subscriptions/resourceGroups/read";
    assert!(!b
        .authorizer()
        .expect("authz")
        .allows(&p.client_id, &scope, action));
    let ra = keyrotor_crypto::random_guid().expect("guid");
    a.create_role_assignment(&dir, &actor, &ra, &scope, &p.client_id, "Reader")
        .expect("assignment");
    assert!(
        a.authorizer()
            .expect("authz")
            .allows(&p.client_id, &scope, action),
        "A at once"
    );
    assert!(
        !b.authorizer()
            .expect("authz")
            .allows(&p.client_id, &scope, action),
        "B before its poll"
    );
    assert!(b
        .poll_changes()
        .expect("poll")
        .contains(&ChangeDomain::Rbac));
    assert!(
        b.authorizer()
            .expect("authz")
            .allows(&p.client_id, &scope, action),
        "B after its poll"
    );
    assert!(a
        .delete_role_assignment(&actor, &ra, &scope)
        .expect("delete")
        .is_some());
    b.poll_changes().expect("poll");
    assert!(
        !b.authorizer()
            .expect("authz")
            .allows(&p.client_id, &scope, action),
        "a revocation reaches B"
    );

    // Signing keys: a token signed with a key A rotated in verifies on B
    // once B rebuilt its issuer from the store.
    let keys = a
        .rotate_signing_key(time::Duration::hours(2), || {
            generate_signing_key()
                .map_err(|_| keyrotor_core::Error::Crypto(keyrotor_crypto::Error::Rng))
        })
        .expect("rotate");
    let newest = keys.last().expect("a key");
    let signer = TokenIssuer::new(arm_a.issuer_name(), &[(newest.kid.clone(), &newest.pkcs8)])
        .expect("issuer");
    let aud = "https://management.azure.com/";
    let (token, _) = signer
        .issue(&dir.tenant_id, &dir.admin_client_id, aud, a.now(), 600)
        .expect("token");
    assert!(
        arm_b
            .issuer()
            .verify(token.expose(), &[aud], a.now())
            .is_err(),
        "B does not know the new key yet"
    );
    assert!(b
        .poll_changes()
        .expect("poll")
        .contains(&ChangeDomain::Signing));
    assert!(arm_b.sync_issuer().expect("sync"), "B rebuilt its issuer");
    assert!(
        arm_b
            .issuer()
            .verify(token.expose(), &[aud], a.now())
            .is_ok(),
        "B verifies the new key"
    );
    assert!(
        !arm_b.sync_issuer().expect("sync"),
        "no rebuild without a change"
    );
}

/// The server's poller, across processes: another process changes a key in
/// the server's database, and the server refuses the replaced key within
/// the poll bound (`--change-poll-ms 50`; waited for up to 5 s).
#[test]
fn the_server_sees_a_change_committed_by_another_process_within_its_poll_bound() {
    let (_tmp, dir, port) = scratch();
    let server = Server::start_with(&dir, port, &["--no-tls", "--change-poll-ms", "50"]);
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let key1 = rt.block_on(async {
        let keys = api(&server)
            .await
            .create_ai_account("poll1", json!({}))
            .await;
        keys["key1"].as_str().expect("key1").to_string()
    });
    let status = |key: &str| -> u16 { api_key_status(server.port, "poll1", key) };
    assert_eq!(status(&key1), 404, "authenticated (no upstream set)");
    // Another process: the same database and root key, not the server.
    let text = std::fs::read_to_string(dir.join("root.key")).expect("root key");
    let root = Arc::new(RootKey::parse(&text).expect("root key"));
    let other = open(&dir.join("keyrotor.db"), &root);
    let name = AccountName::parse(AccountKind::Ai, "poll1").expect("name");
    let account = other
        .account_by_name(AccountKind::Ai, &name)
        .expect("read")
        .expect("exists");
    let fresh = other
        .regenerate_key(&Actor::new("another process"), &account, KeySlot::Primary)
        .expect("regenerate");
    // Each acceptor thread has its own cache: a thread whose cache was
    // empty may load the new key at once, the others move when the poller
    // has read the change. Wait until every probe agrees (both keys, eight
    // connections each, spread over the acceptors).
    let started = Instant::now();
    loop {
        let old: Vec<u16> = (0..8).map(|_| status(&key1)).collect();
        let new: Vec<u16> = (0..8).map(|_| status(fresh.value.expose())).collect();
        if old.iter().all(|&s| s == 401) && new.iter().all(|&s| s == 404) {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "the server kept the replaced key: {old:?} {new:?}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    eprintln!(
        "another process's regeneration reached every cache in {} ms (poll every 50 ms)",
        started.elapsed().as_millis()
    );
}

/// `GET /ai/{account}/v1/models` with `api-key`: the status.
fn api_key_status(port: u16, account: &str, key: &str) -> u16 {
    common::raw_http(
        port,
        &format!("GET /ai/{account}/v1/models HTTP/1.1\r\nhost: 127.0.0.1\r\napi-key: {key}\r\nconnection: close\r\n\r\n"),
    )
    .0
}
