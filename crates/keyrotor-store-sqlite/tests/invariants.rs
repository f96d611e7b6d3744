//! What only the SQLite backend can show (the shared suite in
//! keyrotor-testkit covers the store contracts): the database files alone
//! never reveal a key or secret, a sealed key moved to another slot in the
//! file is refused, and a database file restored from a copy knows, with
//! the key ledger, what was replaced after the copy.

use std::path::Path;
use std::sync::Arc;

use keyrotor_core::ledger::{KeyLedger, MemoryLedger};
use keyrotor_core::{Account, Error};
use keyrotor_store_sqlite::SqliteStore;
use keyrotor_testkit::{actor, Env};
use keyrotor_types::{AccountKind, KeySlot, Secret};

fn open(path: &Path) -> Env {
    open_with(path, Arc::new(MemoryLedger::default()))
}

fn open_with(path: &Path, ledger: Arc<dyn KeyLedger>) -> Env {
    Env::with_ledger(Arc::new(SqliteStore::open(path).expect("open")), ledger)
}

#[test]
fn database_file_never_reveals_a_key() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let path = tmp.path().join("db");
    let mut all = Vec::new();
    {
        let env = open(&path);
        let c = env.account(AccountKind::Cosmos, "rg", "acct1");
        let a = env.account(AccountKind::Ai, "rg", "ai1");
        all.extend(env.values(&c).into_values());
        all.extend(env.values(&a).into_values());
        env.core
            .regenerate_key(&actor(), &c, KeySlot::Primary)
            .expect("regenerate");
        all.extend(env.values(&c).into_values());
        let v = env.vault("rg", "kv1");
        let secret = "hunter2-very-secret";
        env.core
            .set_secret(
                &actor(),
                &v,
                "pw",
                &Secret::new(secret.into()),
                Default::default(),
                "{}".into(),
            )
            .expect("secret");
        all.push(secret.to_string());
    }
    let mut bytes = Vec::new();
    for suffix in ["", "-wal", "-shm"] {
        if let Ok(b) = std::fs::read(tmp.path().join(format!("db{suffix}"))) {
            bytes.extend(b);
        }
    }
    assert!(!bytes.is_empty());
    for key in &all {
        assert!(
            !bytes.windows(key.len()).any(|w| w == key.as_bytes()),
            "a key or secret appears in the database files"
        );
    }
}

#[test]
fn a_sealed_key_moved_to_another_slot_is_refused() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let path = tmp.path().join("db");
    let env = open(&path);
    let a = env.account(AccountKind::Batch, "rg", "batch1");
    drop(env);
    let conn = rusqlite::Connection::open(&path).expect("the database opens");
    conn.execute(
        "UPDATE account_keys SET sealed = (SELECT sealed FROM account_keys WHERE slot = 'primary') WHERE slot = 'secondary'",
        [],
    )
    .expect("the update runs");
    drop(conn);
    let env = open(&path);
    assert!(matches!(
        env.core.list_keys(&a),
        Err(Error::KeyMaterialUnavailable(_))
    ));
}

/// A database restored from a backup refuses what was replaced after it:
/// a regenerated slot and every slot of an account deleted since, until
/// regenerated; a regeneration then numbers above the ledger.
#[test]
fn a_restored_database_knows_what_was_replaced_after_its_backup() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (db, copy) = (tmp.path().join("db"), tmp.path().join("restored"));
    let ledger: Arc<dyn keyrotor_core::ledger::KeyLedger> =
        Arc::new(keyrotor_core::ledger::MemoryLedger::default());
    {
        let env = open_with(&db, ledger.clone());
        env.account(AccountKind::Batch, "rg", "gone1");
        env.account(AccountKind::Ai, "rg", "kept1");
    }
    let backup = tmp.path().join("backup");
    std::fs::copy(&db, &backup).expect("backup");
    {
        let env = open_with(&db, ledger.clone());
        let gone = env.find(AccountKind::Batch, "gone1");
        assert!(env.core.delete_account(&actor(), &gone).expect("delete"));
        let kept = env.find(AccountKind::Ai, "kept1");
        env.core
            .regenerate_key(&actor(), &kept, KeySlot::Primary)
            .expect("regenerate");
    }
    std::fs::copy(&backup, &copy).expect("restore");
    let env = open_with(&copy, ledger);
    let stale = |a: &Account| -> Vec<KeySlot> {
        env.core
            .list_keys(a)
            .expect("keys")
            .iter()
            .filter(|k| env.core.replaced_after_restore(a, k.slot, k.generation))
            .map(|k| k.slot)
            .collect()
    };
    let gone = env.find(AccountKind::Batch, "gone1");
    assert_eq!(stale(&gone), [KeySlot::Primary, KeySlot::Secondary]);
    let kept = env.find(AccountKind::Ai, "kept1");
    assert_eq!(stale(&kept), [KeySlot::Primary]);
    let fresh = env
        .core
        .regenerate_key(&actor(), &kept, KeySlot::Primary)
        .expect("regenerate");
    assert_eq!(fresh.generation, 3, "numbered above the ledger's 2");
    assert!(stale(&kept).is_empty());
    assert_eq!(env.core.restored_slots(&env.dir).expect("report").len(), 1);
}

/// Unwrapped data keys are served from memory: once an account's DEK is in
/// this thread's cache, its records read without reading or unwrapping the
/// DEK again (here: its wrapped form damaged in the file changes nothing),
/// until the `Deks` change sequence moves (a new DEK here, or another
/// client's change once polled); then the cache reloads from the store.
#[test]
fn data_keys_are_served_from_memory_until_the_deks_sequence_moves() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let path = tmp.path().join("db");
    let env = open(&path);
    let a = env.account(AccountKind::Cosmos, "rg", "cache1");
    env.core
        .item_put(
            &a,
            "dbs",
            "d1",
            r#"{"id":"d1"}"#,
            &keyrotor_core::PutMode::Create,
        )
        .expect("a write");
    let read = |env: &Env| env.core.item(&a, "dbs", "d1").map(|i| i.map(|i| i.body));
    assert!(read(&env).expect("read").is_some());
    // Damage the stored wrapping of the account's DEK.
    let db = rusqlite::Connection::open(&path).expect("the database opens");
    db.execute(
        "UPDATE account_deks SET wrapped = zeroblob(length(wrapped))",
        [],
    )
    .expect("the wrapped DEK is damaged");
    for _ in 0..100 {
        assert!(
            read(&env).expect("served from the cache").is_some(),
            "a cached DEK was read or unwrapped again"
        );
    }
    // Another client of the database has no cached DEK: it cannot open.
    let other = open(&path);
    assert!(matches!(
        read(&other),
        Err(Error::KeyMaterialUnavailable(_))
    ));
    // A new DEK moves the sequence: this core reloads, and the old record's
    // DEK no longer unwraps.
    other
        .core
        .rotate_data_key(&actor(), &a)
        .expect("a new current DEK");
    assert!(read(&env).expect("not polled yet").is_some());
    env.core.poll_changes().expect("poll");
    assert!(matches!(read(&env), Err(Error::KeyMaterialUnavailable(_))));
    // New writes go under the new DEK and read on both.
    env.core
        .item_put(
            &a,
            "dbs",
            "d2",
            r#"{"id":"d2"}"#,
            &keyrotor_core::PutMode::Create,
        )
        .expect("a write under the new DEK");
    for e in [&env, &other] {
        assert!(e.core.item(&a, "dbs", "d2").expect("read").is_some());
    }
}
