//! Schema steps applied to a database written by an earlier version.

use std::path::Path;
use std::sync::Arc;

use keyrotor_core::store::{AccountStore, DekStore, IdentityStore, ItemStore};
use keyrotor_core::{Error, LegacyUpgrade};
use keyrotor_crypto::RootKey;
use keyrotor_store_sqlite::SqliteStore;
use keyrotor_testkit::Env;
use keyrotor_types::{AccountKind, KeySlot};
use time::OffsetDateTime;

/// The released steps before v9, as an earlier keyrotor applied them.
const BEFORE_V9: [&str; 8] = [
    include_str!("../src/schema/v1.sql"),
    include_str!("../src/schema/v2.sql"),
    include_str!("../src/schema/v3.sql"),
    include_str!("../src/schema/v4.sql"),
    include_str!("../src/schema/v5.sql"),
    include_str!("../src/schema/v6.sql"),
    include_str!("../src/schema/v7.sql"),
    include_str!("../src/schema/v8.sql"),
];

/// v9 gives existing client secrets their creation time: the audit event
/// that added a secret, else its principal's creation (the first secret);
/// none has been used yet.
#[test]
fn v9_dates_existing_client_secrets() {
    let tmp = tempfile::tempdir().expect("scratch directory");
    let path = tmp.path().join("keyrotor.db");
    let micros = |s: i64| s * 1_000_000;
    {
        let db = rusqlite::Connection::open(&path).expect("an old database");
        for step in BEFORE_V9 {
            db.execute_batch(step).expect("an old step");
        }
        db.execute_batch("PRAGMA user_version=8")
            .expect("version 8");
        db.execute(
            "INSERT INTO principals(client_id, display_name, created_at) VALUES ('app', 'app', ?1)",
            [micros(1_000)],
        )
        .expect("a principal");
        for secret in ["first", "added"] {
            db.execute(
                "INSERT INTO principal_secrets(client_id, secret_id, verifier) VALUES ('app', ?1, 'v')",
                [secret],
            )
            .expect("a secret");
        }
        db.execute(
            "INSERT INTO audit(at, actor, action, target, detail)
             VALUES (?1, 'admin', 'principal.secret.add', 'app', 'added')",
            [micros(2_000)],
        )
        .expect("the add's audit event");
    }
    let store = SqliteStore::open(&path).expect("the database migrates");
    let (_, secrets) = store
        .principal("app")
        .expect("read")
        .expect("the principal");
    let got: Vec<(&str, OffsetDateTime, Option<OffsetDateTime>)> = secrets
        .iter()
        .map(|s| (s.secret_id.as_str(), s.created_at, s.last_used_at))
        .collect();
    let t = |s: i64| OffsetDateTime::from_unix_timestamp(s).expect("a time");
    assert_eq!(
        got,
        vec![("first", t(1_000), None), ("added", t(2_000), None)]
    );
}

/// The released steps before v10.
fn before_v10() -> Vec<&'static str> {
    let mut steps = BEFORE_V9.to_vec();
    steps.push(include_str!("../src/schema/v9.sql"));
    steps
}

/// What a v9 database holds in clear or sealed directly under the root key.
struct Legacy {
    /// (account, collection, id, body)
    items: Vec<(&'static str, &'static str, &'static str, String)>,
    /// (account, slot, value)
    keys: Vec<(&'static str, KeySlot, String)>,
}

/// A v9 database as keyrotor wrote it: two accounts with items in clear and
/// keys sealed under the root key (one of batch1's damaged at rest).
fn write_v9(path: &Path, root: &RootKey) -> Legacy {
    let db = rusqlite::Connection::open(path).expect("an old database");
    db.execute_batch("PRAGMA journal_mode=WAL;").expect("WAL");
    for step in before_v10() {
        db.execute_batch(step).expect("an old step");
    }
    db.execute_batch("PRAGMA user_version=9")
        .expect("version 9");
    let sub = "00000000-0000-0000-0000-000000000001";
    db.execute(
        "INSERT INTO resource_groups(subscription, name_key, name, location, tags, created_at)
         VALUES (?1, 'rg', 'rg', 'westus', '{}', 0)",
        [sub],
    )
    .expect("a group");
    let mut legacy = Legacy {
        items: Vec::new(),
        keys: Vec::new(),
    };
    for (n, (name, kind)) in [("cosmos1", "cosmos"), ("batch1", "batch")]
        .iter()
        .enumerate()
    {
        let uid = format!("uid-{name}");
        db.execute(
            "INSERT INTO accounts(id, uid, kind, name_key, name, subscription, group_key, location,
               tags, document, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?4, ?5, 'rg', 'westus', '{}', '{}', 0, 0)",
            rusqlite::params![n as i64 + 1, uid, kind, name, sub],
        )
        .expect("an account");
        for (i, slot) in [KeySlot::Primary, KeySlot::Secondary]
            .into_iter()
            .enumerate()
        {
            let value = format!("legacy-key-value-{name}-{}", slot.as_str());
            let context = format!("keyrotor/account-key/v1/{uid}/{}/3", slot.as_str());
            let mut sealed = root
                .seal(context.as_bytes(), value.as_bytes())
                .expect("sealed");
            if *name == "batch1" && i == 0 {
                let last = sealed.len() - 1;
                sealed[last] ^= 1;
            }
            db.execute(
                "INSERT INTO account_keys(account_id, slot, generation, sealed, generated_at)
                 VALUES (?1, ?2, 3, ?3, 0)",
                rusqlite::params![n as i64 + 1, slot.as_str(), sealed],
            )
            .expect("a key");
            legacy.keys.push((name, slot, value));
        }
    }
    for (account, collection, id, body) in [
        (
            1,
            "dbs",
            "db1",
            r#"{"id":"db1","marker":"plain-database-body"}"#.to_string(),
        ),
        (
            1,
            "dbs/db1/colls",
            "c1",
            r#"{"id":"c1","marker":"plain-container-body"}"#.to_string(),
        ),
        (
            1,
            "dbs/db1/colls/c1/docs",
            "doc1",
            format!(
                r#"{{"id":"doc1","marker":"plain-document-{}"}}"#,
                "x".repeat(1000)
            ),
        ),
        (
            2,
            "pools",
            "pool1",
            r#"{"id":"pool1","marker":"plain-pool-body"}"#.to_string(),
        ),
        (
            2,
            "jobs",
            "job1",
            r#"{"id":"job1","marker":"plain-job-body"}"#.to_string(),
        ),
    ] {
        db.execute(
            "INSERT INTO data_items(account_id, collection, id, body, etag, ts)
             VALUES (?1, ?2, ?3, ?4, '\"e\"', 0)",
            rusqlite::params![account, collection, id, body],
        )
        .expect("an item");
        let name = if account == 1 { "cosmos1" } else { "batch1" };
        legacy.items.push((name, collection, id, body));
    }
    legacy
}

/// Every file of the database (main, WAL, shared memory), concatenated.
fn database_bytes(path: &Path) -> Vec<u8> {
    let mut all = Vec::new();
    for suffix in ["", "-wal", "-shm"] {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        if let Ok(b) = std::fs::read(&p) {
            all.extend(b);
        }
    }
    all
}

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

fn user_version(path: &Path) -> i64 {
    rusqlite::Connection::open(path)
        .expect("opens")
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .expect("a version")
}

/// v10 seals every record of a v9 database under a fresh data key of its
/// account, in one transaction: items readable as written, keys as they
/// were (bound to the same slot and generation), a damaged key still
/// refused (only its account's), and no body or key left in clear in the
/// database, its WAL or shared-memory file. Without the root key, or with
/// another one, the upgrade is refused and the database is left as it was.
#[test]
fn v10_seals_every_record_under_a_data_key_of_its_account() {
    let tmp = tempfile::tempdir().expect("scratch directory");
    let path = tmp.path().join("keyrotor.db");
    let root = keyrotor_testkit::root_key();
    let legacy = write_v9(&path, &root);
    let before = database_bytes(&path);
    assert!(
        contains(&before, "plain-document-"),
        "the fixture holds clear text"
    );

    // No root key: refused, nothing changed.
    let err = SqliteStore::open(&path)
        .err()
        .expect("refused without the root key");
    assert!(err.to_string().contains("root key"), "{err}");
    // Another root key: the upgrade fails part-way (after sealing items)
    // and rolls back whole.
    let other = Arc::new(RootKey::from_bytes(&[9u8; 32]).expect("a root key"));
    let err = SqliteStore::open_upgrading(&path, &LegacyUpgrade::new(other))
        .err()
        .expect("refused with another root key");
    assert!(err.to_string().contains("root key"), "{err}");
    assert_eq!(user_version(&path), 9, "a failed upgrade leaves v9");
    {
        let db = rusqlite::Connection::open(&path).expect("opens");
        let bodies: Vec<String> = db
            .prepare("SELECT body FROM data_items ORDER BY seq")
            .expect("prepares")
            .query_map([], |r| r.get(0))
            .and_then(Iterator::collect)
            .expect("the old bodies read");
        let want: Vec<String> = legacy.items.iter().map(|i| i.3.clone()).collect();
        assert_eq!(bodies, want, "a failed upgrade keeps every old record");
    }

    let store = Arc::new(
        SqliteStore::open_upgrading(&path, &LegacyUpgrade::new(root.clone()))
            .expect("the database upgrades"),
    );
    assert_eq!(user_version(&path), 11, "v10 and every later step");
    let env = Env::new(store.clone());
    let mut deks = Vec::new();
    for name in ["cosmos1", "batch1"] {
        let kind = if name == "cosmos1" {
            AccountKind::Cosmos
        } else {
            AccountKind::Batch
        };
        let a = env.find(kind, name);
        let d = store.deks(a.id).expect("deks");
        assert_eq!(d.deks.len(), 1, "one fresh DEK for {name}");
        let current = d.current.clone().expect("a current DEK");
        for (account, collection, id, body) in legacy.items.iter().filter(|i| i.0 == name) {
            let item = env
                .core
                .item(&a, collection, id)
                .expect("read")
                .expect("the item");
            assert_eq!(&item.body, body, "{account} {collection}/{id}");
            let stored = store
                .item(a.id, collection, id)
                .expect("read")
                .expect("item");
            assert_eq!(stored.dek_id, current);
        }
        for k in store.keys(a.id).expect("keys") {
            assert_eq!(k.dek_id, current, "{name} {}", k.slot);
        }
        deks.push(current);
        match name {
            "cosmos1" => {
                let values = env.values(&a);
                for (_, slot, value) in legacy.keys.iter().filter(|k| k.0 == name) {
                    assert_eq!(&values[slot], value, "{slot}");
                }
                let info = env.core.key_info(&a).expect("key info");
                assert!(info.iter().all(|k| k.generation == 3));
            }
            _ => assert!(matches!(
                env.core.list_keys(&a),
                Err(Error::KeyMaterialUnavailable(_))
            )),
        }
    }
    assert_ne!(deks[0], deks[1], "each account has its own DEK");
    drop(env);
    drop(store);
    let after = database_bytes(&path);
    for (_, _, _, body) in &legacy.items {
        let marker = body.split("\"marker\":\"").nth(1).expect("a marker");
        let marker = &marker[..marker.find('"').expect("the marker ends")];
        assert!(!contains(&after, marker), "{marker} left in clear");
    }
    for (name, slot, value) in &legacy.keys {
        assert!(!contains(&after, value), "{name} {slot} left in clear");
    }
    // Opening again is a no-op (and needs no root key).
    let again = SqliteStore::open(&path).expect("a v10 database opens");
    assert_eq!(
        again.deks(1).expect("deks").current.as_ref(),
        Some(&deks[0])
    );
}

/// v11 keeps the audit records written before it (with their action as the
/// operation and their target as the resource), outside the hash chain: the
/// chain starts after them and verifies with the entries added afterwards.
#[test]
fn v11_starts_the_activity_chain_after_existing_records() {
    use keyrotor_core::activity::{verify_chain, ActivityStatus};
    use keyrotor_core::store::MetaStore;
    let tmp = tempfile::tempdir().expect("scratch directory");
    let path = tmp.path().join("keyrotor.db");
    {
        let db = rusqlite::Connection::open(&path).expect("an old database");
        for step in BEFORE_V9 {
            db.execute_batch(step).expect("an old step");
        }
        db.execute_batch(include_str!("../src/schema/v9.sql"))
            .expect("v9");
        db.execute_batch("PRAGMA user_version=9")
            .expect("version 9");
        for n in 0..3 {
            db.execute(
                "INSERT INTO audit(at, actor, action, target, detail)
                 VALUES (?1, 'admin', 'key.regenerate', 'cosmos/rg/a1', 'primary')",
                [1_000_000 * (1 + n)],
            )
            .expect("an old record");
        }
    }
    let store = SqliteStore::open(&path).expect("the database migrates");
    let chain = store.activity_chain().expect("chain");
    assert_eq!((chain.anchor_seq, chain.entries.len()), (3, 0));
    let old = store.audit_events(10).expect("records");
    assert_eq!(old.len(), 3);
    assert_eq!(old[0].operation, "Keyrotor/key.regenerate");
    assert_eq!(old[0].resource_id, "cosmos/rg/a1");
    assert_eq!(old[0].status, ActivityStatus::Succeeded);
    let mut e = old[0].clone();
    e.at = OffsetDateTime::now_utc();
    store.append_activity(&e).expect("a new entry");
    store.append_activity(&e).expect("another");
    let chain = store.activity_chain().expect("chain");
    assert_eq!(
        chain.entries.iter().map(|r| r.seq).collect::<Vec<_>>(),
        [4, 5]
    );
    assert_eq!(verify_chain(&chain), Ok(2));
    // A purge of the unchained records keeps the anchor.
    let removed = store
        .prune_activity(OffsetDateTime::from_unix_timestamp(10).expect("a time"))
        .expect("purge");
    assert_eq!(removed, 3);
    assert_eq!(verify_chain(&store.activity_chain().expect("chain")), Ok(2));
}
