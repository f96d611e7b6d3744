//! Schema steps applied to a database written by an earlier version.

use keyrotor_core::store::IdentityStore;
use keyrotor_store_sqlite::SqliteStore;
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

/// v10 keeps the audit records written before it (with their action as the
/// operation and their target as the resource), outside the hash chain: the
/// chain starts after them and verifies with the entries added afterwards.
#[test]
fn v10_starts_the_activity_chain_after_existing_records() {
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
