//! The store conformance suite (keyrotor-testkit) over SQLite: every case
//! on a fresh database file; two opens of one file are two clients.

use std::path::Path;
use std::sync::Arc;

use keyrotor_core::Store;
use keyrotor_store_sqlite::SqliteStore;

fn sqlite(path: &Path) -> Arc<dyn Store> {
    Arc::new(SqliteStore::open(path).expect("open the SQLite store"))
}

keyrotor_testkit::store_suite!(sqlite);
