//! SQLite implementation of the [`keyrotor_core::Store`] traits.
//!
//! One writer connection (writes are serialized) and a small pool of reader
//! connections, all in WAL mode with `synchronous=FULL` so an acknowledged
//! write survives a crash or power loss. `secure_delete` overwrites freed
//! pages, so a replaced sealed key does not linger in the file.
//!
//! Layout: `conn` (connections, transactions, migrations from `schema/`,
//! error mapping), `rows` (column encodings and row decoding), then one
//! file per store trait.

mod accounts;
mod conn;
mod groups;
mod identity;
mod items;
mod meta;
mod rbac;
mod rows;
mod usage;
mod vaults;

use std::path::Path;

use keyrotor_core::store::StoreResult;

pub struct SqliteStore {
    pool: conn::Pool,
}

impl SqliteStore {
    /// Opens (creating or migrating) the database at `path`.
    pub fn open(path: &Path) -> StoreResult<Self> {
        Ok(Self {
            pool: conn::Pool::open(path)?,
        })
    }
}
