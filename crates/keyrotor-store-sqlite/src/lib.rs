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
mod deks;
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
    /// Opens (creating or migrating) the database at `path`. A database
    /// with accounts from before envelope encryption needs
    /// [`SqliteStore::open_upgrading`] (it is refused here, unchanged).
    pub fn open(path: &Path) -> StoreResult<Self> {
        Ok(Self {
            pool: conn::Pool::open(path, None)?,
        })
    }

    /// Opens the database at `path`; records written before envelope
    /// encryption are sealed under fresh data keys with `upgrade` (which
    /// holds the root key) in the upgrade's transaction.
    pub fn open_upgrading(
        path: &Path,
        upgrade: &keyrotor_core::LegacyUpgrade,
    ) -> StoreResult<Self> {
        Ok(Self {
            pool: conn::Pool::open(path, Some(upgrade))?,
        })
    }
}
