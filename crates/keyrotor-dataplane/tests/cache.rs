//! The account cache: a snapshot per worker thread at the core's change
//! epoch. A regenerated key is refused by the very next request on this
//! node, and every thread keeps entries of its own.

use std::sync::Arc;

use axum::body::Body;
use keyrotor_core::Keyrotor;
use keyrotor_dataplane::{DataPlane, Entry};
use keyrotor_store_sqlite::SqliteStore;
use keyrotor_types::{AccountKind, KeySlot, SystemClock};

fn setup() -> (tempfile::TempDir, Arc<Keyrotor>, keyrotor_core::Account) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let env = keyrotor_testkit::Env::with_clock(
        Arc::new(SqliteStore::open(&tmp.path().join("db")).expect("store")),
        Arc::new(keyrotor_core::ledger::MemoryLedger::default()),
        Arc::new(SystemClock),
    );
    let account = env.account(AccountKind::Ai, "rg1", "cached1");
    (tmp, env.core, account)
}

fn key(core: &Keyrotor, account: &keyrotor_core::Account, slot: KeySlot) -> String {
    core.list_keys(account)
        .expect("keys")
        .into_iter()
        .find(|k| k.slot == slot)
        .map(|k| k.value.expose().to_string())
        .expect("the slot")
}

/// An api-key request to the account (without upstream: 404 once admitted).
async fn status(dp: &Arc<DataPlane>, key: &str) -> u16 {
    let path = "/ai/cached1/openai/models";
    let t = keyrotor_dataplane::target(None, path, None).expect("target");
    let req = http::Request::get(path)
        .header("api-key", key)
        .body(Body::empty())
        .expect("request");
    dp.handle(t, req).await.status().as_u16()
}

#[tokio::test(flavor = "current_thread")]
async fn a_regenerated_key_is_refused_by_the_very_next_request() {
    let (_tmp, core, account) = setup();
    let dp = Arc::new(DataPlane::new(core.clone()));
    let old = key(&core, &account, KeySlot::Primary);
    assert_eq!(status(&dp, &old).await, 404, "admitted");
    assert!(dp.cached(AccountKind::Ai, "cached1").is_some(), "cached");
    assert!(
        dp.cached(AccountKind::Ai, "CACHED1").is_some(),
        "names are case-insensitive"
    );
    let new = core
        .regenerate_key(&keyrotor_testkit::actor(), &account, KeySlot::Primary)
        .expect("regenerate");
    assert!(
        dp.cached(AccountKind::Ai, "cached1").is_none(),
        "the epoch moved: the snapshot is stale at once"
    );
    assert_eq!(status(&dp, &old).await, 401, "the replaced key");
    assert_eq!(status(&dp, new.value.expose()).await, 404, "the new key");
    let other = key(&core, &account, KeySlot::Secondary);
    assert_eq!(status(&dp, &other).await, 404, "the other slot, untouched");
}

#[tokio::test(flavor = "current_thread")]
async fn every_thread_has_entries_of_its_own() {
    let (_tmp, core, _account) = setup();
    let dp = Arc::new(DataPlane::new(core));
    let here = dp
        .entry(AccountKind::Ai, "cached1")
        .await
        .expect("entry")
        .expect("the account");
    let there = {
        let dp = dp.clone();
        std::thread::spawn(move || -> (bool, Arc<Entry>) {
            let rt = tokio::runtime::Builder::new_current_thread()
                .build()
                .expect("runtime");
            let before = dp.cached(AccountKind::Ai, "cached1").is_some();
            let e = rt
                .block_on(dp.entry(AccountKind::Ai, "cached1"))
                .expect("entry")
                .expect("the account");
            (before, e)
        })
        .join()
        .expect("thread")
    };
    assert!(!there.0, "another thread's snapshot is not this one's");
    assert!(
        !Arc::ptr_eq(&here, &there.1),
        "each thread loads (and reference-counts) its own entry"
    );
    let again = dp
        .cached(AccountKind::Ai, "cached1")
        .flatten()
        .expect("still cached here");
    assert!(Arc::ptr_eq(&here, &again));
    // An unknown account is remembered as such until the epoch moves.
    assert!(dp
        .entry(AccountKind::Ai, "nosuch")
        .await
        .expect("entry")
        .is_none());
    assert_eq!(
        dp.cached(AccountKind::Ai, "nosuch").map(|e| e.is_none()),
        Some(true)
    );
}
