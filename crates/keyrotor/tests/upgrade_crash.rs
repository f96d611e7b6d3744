//! kill -9 while `keyrotor serve` upgrades a database from before envelope
//! encryption: each kill leaves the old state (v9, every record as it was)
//! or the new one (v10 and later, every record sealed), and the next start finishes
//! the upgrade; every document then reads back exactly as written.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use common::BIN;
use keyrotor_core::{Keyrotor, LegacyUpgrade};
use keyrotor_crypto::RootKey;
use keyrotor_store_sqlite::SqliteStore;
use keyrotor_types::{AccountKind, AccountName, SystemClock};

const STEPS: [&str; 9] = [
    include_str!("../../keyrotor-store-sqlite/src/schema/v1.sql"),
    include_str!("../../keyrotor-store-sqlite/src/schema/v2.sql"),
    include_str!("../../keyrotor-store-sqlite/src/schema/v3.sql"),
    include_str!("../../keyrotor-store-sqlite/src/schema/v4.sql"),
    include_str!("../../keyrotor-store-sqlite/src/schema/v5.sql"),
    include_str!("../../keyrotor-store-sqlite/src/schema/v6.sql"),
    include_str!("../../keyrotor-store-sqlite/src/schema/v7.sql"),
    include_str!("../../keyrotor-store-sqlite/src/schema/v8.sql"),
    include_str!("../../keyrotor-store-sqlite/src/schema/v9.sql"),
];
const DOCS: usize = 20_000;
const COLL: &str = "dbs/db1/colls/c1/docs";

fn body(i: usize) -> String {
    format!(r#"{{"id":"d{i}","n":{i},"text":"{}"}}"#, "t".repeat(900))
}

/// A v9 database with one Cosmos account, its keys sealed under `root` as
/// v9 did, and `DOCS` documents in clear.
fn write_v9(path: &Path, root: &RootKey) {
    let mut db = rusqlite::Connection::open(path).expect("an old database");
    db.execute_batch("PRAGMA journal_mode=WAL;").expect("WAL");
    for step in STEPS {
        db.execute_batch(step).expect("an old step");
    }
    db.execute_batch("PRAGMA user_version=9")
        .expect("version 9");
    let tx = db.transaction().expect("a transaction");
    tx.execute(
        "INSERT INTO resource_groups(subscription, name_key, name, location, tags, created_at)
         VALUES ('00000000-0000-0000-0000-000000000001', 'rg', 'rg', 'westus', '{}', 0)",
        [],
    )
    .expect("a group");
    tx.execute(
        "INSERT INTO accounts(id, uid, kind, name_key, name, subscription, group_key, location,
           tags, document, created_at, updated_at)
         VALUES (1, 'uid-1', 'cosmos', 'crashup', 'crashup', '00000000-0000-0000-0000-000000000001',
           'rg', 'westus', '{}', '{}', 0, 0)",
        [],
    )
    .expect("an account");
    for slot in ["primary", "secondary"] {
        let sealed = root
            .seal(
                format!("keyrotor/account-key/v1/uid-1/{slot}/1").as_bytes(),
                format!("value-of-{slot}").as_bytes(),
            )
            .expect("sealed");
        tx.execute(
            "INSERT INTO account_keys(account_id, slot, generation, sealed, generated_at)
             VALUES (1, ?1, 1, ?2, 0)",
            rusqlite::params![slot, sealed],
        )
        .expect("a key");
    }
    for i in 0..DOCS {
        tx.execute(
            "INSERT INTO data_items(account_id, collection, id, body, etag, ts)
             VALUES (1, ?1, ?2, ?3, '\"e\"', 0)",
            rusqlite::params![COLL, format!("d{i}"), body(i)],
        )
        .expect("a document");
    }
    tx.commit().expect("committed");
}

/// The state a kill left: v9 with every body as written, or v10 or later
/// (later steps follow the envelope step; each is its own transaction).
fn check_old_or_new(path: &Path) -> i64 {
    let db = rusqlite::Connection::open(path).expect("the database opens");
    let version: i64 = db
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .expect("a version");
    match version {
        9 => {
            let mut stmt = db
                .prepare("SELECT id, body FROM data_items ORDER BY seq")
                .expect("prepares");
            let rows: Vec<(String, String)> = stmt
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
                .and_then(Iterator::collect)
                .expect("the old rows read");
            assert_eq!(rows.len(), DOCS, "v9 lost documents");
            for (i, (id, b)) in rows.iter().enumerate() {
                assert_eq!(
                    (id.as_str(), b.as_str()),
                    (format!("d{i}").as_str(), body(i).as_str())
                );
            }
        }
        v if v >= 10 => {
            let unsealed: i64 = db
                .query_row(
                    "SELECT COUNT(*) FROM data_items WHERE sealed IS NULL OR dek_id IS NULL",
                    [],
                    |r| r.get(0),
                )
                .expect("counted");
            assert_eq!(unsealed, 0, "v{v} with records not sealed");
        }
        v => panic!("a kill left schema version {v}"),
    }
    version
}

#[test]
fn kill_9_during_the_envelope_upgrade_leaves_old_or_new_and_the_next_start_finishes() {
    let tmp = tempfile::tempdir().expect("scratch");
    let dir = tmp.path().join("data");
    std::fs::create_dir_all(&dir).expect("the data directory");
    let root_text = "5a".repeat(32);
    {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let mut f = std::fs::OpenOptions::new()
            .create_new(true)
            .write(true)
            .mode(0o600)
            .open(dir.join("root.key"))
            .expect("root.key");
        f.write_all(root_text.as_bytes()).expect("written");
    }
    let root = Arc::new(RootKey::parse(&root_text).expect("a root key"));
    let db = dir.join("keyrotor.db");
    write_v9(&db, &root);
    let serve = || {
        Command::new(BIN)
            .args(["serve", "--data-dir"])
            .arg(&dir)
            .args(["--listen", "127.0.0.1:0"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("keyrotor starts")
    };
    // Kills at growing delays: early ones land before or in the upgrade's
    // transaction, later ones after it.
    let mut seen = std::collections::BTreeSet::new();
    for delay_ms in [5u64, 20, 40, 60, 80, 120, 160, 250, 400, 700] {
        let mut child = serve();
        std::thread::sleep(Duration::from_millis(delay_ms));
        child.kill().expect("kill -9");
        child.wait().expect("the server is gone");
        seen.insert(check_old_or_new(&db));
    }
    eprintln!("schema versions left by the kills: {seen:?}");
    // A start that is left to run finishes the upgrade.
    let mut child = serve();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while check_old_or_new(&db) < 10 {
        assert!(
            std::time::Instant::now() < deadline,
            "the upgrade never finished"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    child.kill().expect("kill -9");
    child.wait().expect("the server is gone");
    // Every document reads back as written, every key as it was.
    let store = Arc::new(
        SqliteStore::open_upgrading(&db, &LegacyUpgrade::new(root.clone())).expect("opens"),
    );
    let core = Keyrotor::new(store, root, Arc::new(SystemClock));
    let account = core
        .account_by_name(
            AccountKind::Cosmos,
            &AccountName::parse(AccountKind::Cosmos, "crashup").expect("a name"),
        )
        .expect("read")
        .expect("the account");
    let items = core.items(&account, COLL).expect("the documents read");
    assert_eq!(items.len(), DOCS);
    for (i, item) in items.iter().enumerate() {
        assert_eq!(item.body, body(i), "document {i}");
    }
    let keys = core.list_keys(&account).expect("the keys read");
    let values: Vec<&str> = keys.iter().map(|k| k.value.expose()).collect();
    assert_eq!(values, ["value-of-primary", "value-of-secondary"]);
}
