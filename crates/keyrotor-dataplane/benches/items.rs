//! Cosmos document reads and writes in process with 1 KiB documents
//! (`cargo bench -p keyrotor-dataplane --bench items`): the cost of envelope
//! encryption. Each round measures, on the same database:
//!
//! * **clear**: the store alone with the body as it is (`ItemStore::item`
//!   plus the body as text; `item_put` of the clear bytes), which is what
//!   an item read or write cost before envelope encryption;
//! * **sealed**: `Keyrotor::item` / `item_put`, which look the account's
//!   data key up in the per-thread cache and open or seal the body
//!   (AES-256-GCM, bound to account, collection and id);
//! * **handler**: a whole Cosmos document read through
//!   `DataPlane::handle` (master-key token, routing, the sealed read,
//!   rendering), for the absolute figure.
//!
//! The database lives in /dev/shm when there is one, so that the writes
//! measure the work of the process rather than the disk's fsync.

#[path = "common/mod.rs"]
mod common;

use std::sync::Arc;
use std::time::Instant;

use keyrotor_core::store::{ItemStore, PutMode, Sealed};
use keyrotor_core::{Actor, Keyrotor};
use keyrotor_store_sqlite::SqliteStore;
use keyrotor_types::{AccountKind, AccountName, SystemClock};

const DOCS: usize = 5_000;
const READS: usize = 200_000;
const WRITES: usize = 5_000;
const COLL: &str = "dbs/db1/colls/c1/docs";

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let tmp = if std::path::Path::new("/dev/shm").is_dir() {
        tempfile::tempdir_in("/dev/shm").expect("a scratch directory in /dev/shm")
    } else {
        keyrotor_testkit::scratch()
    };
    let store = Arc::new(SqliteStore::open(&tmp.path().join("db")).expect("store"));
    let env = keyrotor_testkit::Env::with_clock(
        store.clone(),
        Arc::new(keyrotor_core::ledger::MemoryLedger::default()),
        Arc::new(SystemClock),
    );
    let actor = Actor::new("bench");
    let g = env.group("bench");
    let (core, dir) = (env.core.clone(), env.dir.clone());
    let name = AccountName::parse(AccountKind::Cosmos, "items1").expect("a name");
    let (account, _) = core
        .put_account(
            &dir,
            &actor,
            AccountKind::Cosmos,
            &dir.subscription_id,
            &g,
            &name,
            keyrotor_testkit::account_spec(),
        )
        .expect("the account is created");
    let dek = keyrotor_core::store::DekStore::deks(&*store, account.id)
        .expect("deks")
        .current
        .expect("a current data key");
    let doc = |i: usize, round: usize| {
        let head = format!(r#"{{"id":"d{i}","pk":"p","round":{round},"text":""#);
        let pad = 1024 - head.len() - 2;
        format!("{head}{}\"}}", "x".repeat(pad))
    };
    assert_eq!(doc(1, 1).len(), 1024);
    // The same documents both ways: "s{i}" sealed by the core, "c{i}" in
    // clear through the store.
    for i in 0..DOCS {
        core.item_put(
            &account,
            COLL,
            &format!("s{i}"),
            &doc(i, 0),
            &PutMode::Create,
        )
        .expect("a sealed write");
        store
            .item_put(
                account.id,
                COLL,
                &format!("c{i}"),
                Sealed {
                    dek_id: &dek,
                    blob: doc(i, 0).as_bytes(),
                },
                &PutMode::Create,
                0,
            )
            .expect("a clear write");
    }
    let read_clear = |i: usize| {
        let item = store
            .item(account.id, COLL, &format!("c{}", i % DOCS))
            .expect("read")
            .expect("the document");
        String::from_utf8(item.sealed).expect("text").len()
    };
    let read_sealed = |i: usize| {
        core.item(&account, COLL, &format!("s{}", i % DOCS))
            .expect("read")
            .expect("the document")
            .body
            .len()
    };
    let write_clear = |i: usize| {
        let body = doc(i, 1);
        store
            .item_put(
                account.id,
                COLL,
                &format!("c{}", i % DOCS),
                Sealed {
                    dek_id: &dek,
                    blob: body.as_bytes(),
                },
                &PutMode::Upsert { if_match: None },
                0,
            )
            .expect("a clear write")
            .seq
            .unsigned_abs() as usize
    };
    let write_sealed = |i: usize| {
        core.item_put(
            &account,
            COLL,
            &format!("s{}", i % DOCS),
            &doc(i, 1),
            &PutMode::Upsert { if_match: None },
        )
        .expect("a sealed write")
        .body
        .len()
    };
    let rate = |n: usize, f: &dyn Fn(usize) -> usize| {
        let t = Instant::now();
        let mut sink = 0usize;
        for i in 0..n {
            sink = sink.wrapping_add(f(i));
        }
        std::hint::black_box(sink);
        n as f64 / t.elapsed().as_secs_f64()
    };
    println!(
        "Cosmos documents in process, 1 KiB, {DOCS} per variant, database in {} (best of 3, alternating):",
        tmp.path().parent().map_or(String::new(), |p| p.display().to_string())
    );
    for (label, n, clear, sealed) in [
        (
            "read",
            READS,
            &read_clear as &dyn Fn(usize) -> usize,
            &read_sealed as &dyn Fn(usize) -> usize,
        ),
        ("write", WRITES, &write_clear, &write_sealed),
    ] {
        let (mut c, mut s) = (0f64, 0f64);
        for _ in 0..3 {
            c = c.max(rate(n, clear));
            s = s.max(rate(n, sealed));
        }
        println!(
            "  {label:<6} clear {c:>9.0} docs/s  sealed {s:>9.0} docs/s  ratio {:.3}x (target >= 0.95x)  envelope adds {:>6.0} ns per document",
            s / c,
            1e9 / s - 1e9 / c
        );
    }
    // Where the read's extra time goes: AES-256-GCM alone on 1 KiB.
    let (key, _) = keyrotor_crypto::envelope::DataKey::generate().expect("a data key");
    let aad = keyrotor_crypto::envelope::record_aad(&[b"account", b"item", b"dek", b"c", b"i"]);
    let blob = key.seal(&aad, doc(0, 0).as_bytes()).expect("sealed");
    let mut open = 0f64;
    for _ in 0..3 {
        open = open.max(rate(READS, &|_| {
            key.open_owned(&aad, blob.clone()).expect("opens").len()
        }));
    }
    println!(
        "  AES-256-GCM open of 1 KiB alone (with the blob's copy): {:>6.0} ns",
        1e9 / open
    );
    handler(&core, &account, &name);
}

/// A whole document read through `DataPlane::handle`.
fn handler(core: &Arc<Keyrotor>, account: &keyrotor_core::Account, name: &AccountName) {
    let key = core.list_keys(account).expect("the keys")[0]
        .value
        .expose()
        .to_string();
    let date = httpdate::fmt_http_date(std::time::SystemTime::now());
    let dp = Arc::new(keyrotor_dataplane::DataPlane::new(core.clone()));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    // The container the documents belong to.
    let db = r#"{"id":"db1"}"#;
    let coll = r#"{"id":"c1","partitionKey":{"paths":["/pk"],"kind":"Hash"}}"#;
    core.item_put(account, "dbs", "db1", db, &PutMode::Create)
        .expect("the database");
    core.item_put(account, "dbs/db1/colls", "c1", coll, &PutMode::Create)
        .expect("the container");
    let requests: Vec<(String, http::HeaderMap)> = (0..64)
        .map(|i| {
            let link = format!("dbs/db1/colls/c1/docs/s{i}");
            let mut h = http::HeaderMap::new();
            h.insert("host", http::HeaderValue::from_static("127.0.0.1:8443"));
            h.insert(
                "authorization",
                common::cosmos_master_auth(&key, "get", "docs", &link, &date.to_ascii_lowercase())
                    .parse()
                    .expect("header"),
            );
            h.insert("x-ms-date", date.parse().expect("header"));
            (format!("/cosmos/{name}/{link}"), h)
        })
        .collect();
    let peer: std::net::SocketAddr = "127.0.0.1:40000".parse().expect("address");
    let one = |i: usize| {
        let (path, h) = &requests[i % requests.len()];
        let mut t = keyrotor_dataplane::target(None, path, None).expect("target");
        t.peer = Some(peer);
        let mut req = http::Request::get(path.as_str())
            .body(axum::body::Body::empty())
            .expect("request");
        *req.headers_mut() = h.clone();
        let r = rt.block_on(dp.handle(t, req));
        assert_eq!(r.status().as_u16(), 200, "a document read");
    };
    const N: usize = 50_000;
    let mut best = 0f64;
    for _ in 0..3 {
        let t = Instant::now();
        for i in 0..N {
            one(i);
        }
        best = best.max(N as f64 / t.elapsed().as_secs_f64());
    }
    println!(
        "  handler: Cosmos document read through DataPlane::handle (sealed): {best:>9.0} docs/s ({:.0} ns each)",
        1e9 / best
    );
}
