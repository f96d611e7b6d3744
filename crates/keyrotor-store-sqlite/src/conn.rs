//! Connections, transactions, migrations and the mapping of SQLite errors
//! to [`StoreError`].

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};

use keyrotor_core::store::{ChangeDomain, StoreError, StoreResult};
use keyrotor_core::LegacyUpgrade;
use keyrotor_types::KeySlot;
use rusqlite::{Connection, ErrorCode, Row, Transaction, TransactionBehavior};

/// The schema steps in order; step i (from 0) brings `user_version` to
/// i + 1. A step, once released, never changes: a new step is a new file.
const MIGRATIONS: [&str; 11] = [
    include_str!("schema/v1.sql"),
    include_str!("schema/v2.sql"),
    include_str!("schema/v3.sql"),
    include_str!("schema/v4.sql"),
    include_str!("schema/v5.sql"),
    include_str!("schema/v6.sql"),
    include_str!("schema/v7.sql"),
    include_str!("schema/v8.sql"),
    include_str!("schema/v9.sql"),
    include_str!("schema/v10.sql"),
    include_str!("schema/v11.sql"),
];
/// The step whose SQL is followed by [`envelope_upgrade`].
const ENVELOPE_STEP: i64 = 10;
const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

const PRAGMAS: &str = "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;
PRAGMA secure_delete=ON; PRAGMA busy_timeout=5000;";

const READERS: usize = 4;

/// An error inside the store: SQLite's, or one of the store's own rules.
/// Every trait method converts it to [`StoreError`] at its boundary.
#[derive(Debug)]
pub(crate) enum DbError {
    Sql(rusqlite::Error),
    Store(StoreError),
}

pub(crate) type Db<T> = Result<T, DbError>;

impl From<rusqlite::Error> for DbError {
    fn from(e: rusqlite::Error) -> Self {
        DbError::Sql(e)
    }
}

impl From<StoreError> for DbError {
    fn from(e: StoreError) -> Self {
        DbError::Store(e)
    }
}

impl From<DbError> for StoreError {
    fn from(e: DbError) -> Self {
        match e {
            DbError::Store(s) => s,
            DbError::Sql(e) => from_sqlite(e),
        }
    }
}

fn from_sqlite(e: rusqlite::Error) -> StoreError {
    if let rusqlite::Error::SqliteFailure(f, _) = &e {
        match f.code {
            ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked => {
                return StoreError::Unavailable(e.to_string())
            }
            ErrorCode::ConstraintViolation => {
                return match f.extended_code {
                    rusqlite::ffi::SQLITE_CONSTRAINT_FOREIGNKEY => StoreError::NotFound,
                    _ => StoreError::Conflict,
                }
            }
            _ => {}
        }
    }
    StoreError::Backend(e.to_string())
}

/// Stored data that does not decode.
pub(crate) fn corrupt(what: &str) -> DbError {
    DbError::Store(StoreError::Corrupt(format!("invalid {what}")))
}

/// One writer connection (writes are serialized) and a small pool of
/// readers, all in WAL mode.
pub(crate) struct Pool {
    writer: Mutex<Connection>,
    readers: Vec<Mutex<Connection>>,
    next_reader: AtomicUsize,
}

fn open_conn(path: &Path) -> Db<Connection> {
    let conn = Connection::open(path)?;
    conn.execute_batch(PRAGMAS)?;
    // Room for every statement the store prepares with `prepare_cached`
    // (rusqlite's default of 16 would evict some of them on each cycle).
    conn.set_prepared_statement_cache_capacity(64);
    Ok(conn)
}

impl Pool {
    pub(crate) fn open(path: &Path, upgrade: Option<&LegacyUpgrade>) -> StoreResult<Self> {
        let mut writer = open_conn(path)?;
        migrate(&mut writer, upgrade)?;
        let readers = (0..READERS)
            .map(|_| open_conn(path).map(Mutex::new))
            .collect::<Db<Vec<_>>>()?;
        Ok(Self {
            writer: Mutex::new(writer),
            readers,
            next_reader: AtomicUsize::new(0),
        })
    }

    fn writer(&self) -> MutexGuard<'_, Connection> {
        self.writer.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `f` in one `BEGIN IMMEDIATE` transaction on the writer
    /// connection and commits if it returns Ok; an Err rolls everything
    /// back.
    pub(crate) fn write<T>(&self, f: impl FnOnce(&Transaction<'_>) -> Db<T>) -> StoreResult<T> {
        let mut conn = self.writer();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(DbError::from)?;
        let out = f(&tx)?;
        tx.commit().map_err(DbError::from)?;
        Ok(out)
    }

    /// Runs `f` on a reader connection (several statements in `f` see one
    /// snapshot only inside an explicit transaction; `f` opens one when it
    /// needs that).
    pub(crate) fn read<T>(&self, f: impl FnOnce(&Connection) -> Db<T>) -> StoreResult<T> {
        let start = self.next_reader.fetch_add(1, Ordering::Relaxed);
        let n = self.readers.len();
        let conn = (0..n)
            .find_map(|i| self.readers[(start + i) % n].try_lock().ok())
            .unwrap_or_else(|| {
                self.readers[start % n]
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
            });
        Ok(f(&conn)?)
    }
}

fn migrate(conn: &mut Connection, upgrade: Option<&LegacyUpgrade>) -> Db<()> {
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if version > SCHEMA_VERSION {
        return Err(DbError::Store(StoreError::Backend(format!(
            "database schema version {version} is newer than this keyrotor ({SCHEMA_VERSION}); refusing to open"
        ))));
    }
    // Each step runs in its own transaction and records its version, so an
    // interrupted upgrade resumes where it stopped.
    for (i, sql) in MIGRATIONS.iter().enumerate() {
        let to = i64::try_from(i + 1).unwrap_or(i64::MAX);
        if version >= to {
            continue;
        }
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute_batch(sql)?;
        if to == ENVELOPE_STEP {
            envelope_upgrade(&tx, upgrade)?;
        }
        tx.execute_batch(&format!("PRAGMA user_version={to}"))?;
        tx.commit()?;
    }
    if version < ENVELOPE_STEP {
        // The pages that held records in clear before the upgrade: the
        // upgrade overwrote them (secure_delete); the checkpoint puts the
        // new pages in the database file and empties the WAL.
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
    }
    Ok(())
}

/// The Rust part of the envelope step (v10), in its transaction: a fresh
/// data key per account, made current; every item sealed under it and
/// every account key re-sealed under it (from under the root key), each
/// bound to its account and record; then the plain bodies are dropped.
/// A crash before the commit leaves the database as it was (v9), and the
/// next start does the whole step again.
fn envelope_upgrade(tx: &Transaction<'_>, upgrade: Option<&LegacyUpgrade>) -> Db<()> {
    let accounts: Vec<(i64, String)> = {
        let mut stmt = tx.prepare("SELECT id, uid FROM accounts ORDER BY id")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        rows.collect::<Result<_, _>>()?
    };
    if accounts.is_empty() {
        tx.execute_batch("ALTER TABLE data_items DROP COLUMN body")?;
        return Ok(());
    }
    let Some(up) = upgrade else {
        return Err(DbError::Store(StoreError::Backend(
            "this database holds accounts from before envelope encryption: it is upgraded when \
             opened with its root key (start `keyrotor serve` once)"
                .into(),
        )));
    };
    let fail = |e: keyrotor_core::Error| {
        let cause = std::error::Error::source(&e).map_or(String::new(), |c| format!(": {c}"));
        DbError::Store(StoreError::Backend(format!(
            "sealing the stored records under data keys failed: {e}{cause}"
        )))
    };
    let now = time::OffsetDateTime::now_utc();
    for (account_id, uid) in accounts {
        let (dek, key) = up.new_dek(&uid, now).map_err(fail)?;
        crate::deks::insert_dek(tx, account_id, &dek, true)?;
        let items: Vec<(i64, String, String, String)> = {
            let mut stmt = tx.prepare(
                "SELECT seq, collection, id, body FROM data_items WHERE account_id = ?1",
            )?;
            let rows = stmt.query_map([account_id], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })?;
            rows.collect::<Result<_, _>>()?
        };
        let mut set_item =
            tx.prepare("UPDATE data_items SET dek_id = ?2, sealed = ?3, body = '' WHERE seq = ?1")?;
        for (seq, collection, id, body) in items {
            let sealed = up
                .seal_item(&key, &uid, &dek.id, &collection, &id, body.as_bytes())
                .map_err(fail)?;
            set_item.execute(rusqlite::params![seq, dek.id, sealed])?;
        }
        let keys: Vec<(String, i64, Vec<u8>)> = {
            let mut stmt = tx.prepare(
                "SELECT slot, generation, sealed FROM account_keys WHERE account_id = ?1",
            )?;
            let rows = stmt.query_map([account_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
            rows.collect::<Result<_, _>>()?
        };
        let mut set_key = tx.prepare(
            "UPDATE account_keys SET dek_id = ?3, sealed = ?4 WHERE account_id = ?1 AND slot = ?2",
        )?;
        for (slot_text, generation, legacy) in keys {
            let slot = KeySlot::parse(&slot_text).ok_or_else(|| corrupt("key slot"))?;
            let generation = u64::try_from(generation).map_err(|_| corrupt("generation"))?;
            let sealed = up
                .reseal_key(&key, &uid, &dek.id, slot, generation, &legacy)
                .map_err(fail)?;
            set_key.execute(rusqlite::params![account_id, slot_text, dek.id, sealed])?;
        }
    }
    tx.execute_batch("ALTER TABLE data_items DROP COLUMN body")?;
    Ok(())
}

/// Moves the change sequence of each domain, in the transaction that
/// changes it (what caches of those domains compare, on every node).
pub(crate) fn bump(tx: &Transaction<'_>, domains: &[ChangeDomain]) -> Db<()> {
    let mut stmt = tx.prepare_cached("UPDATE changes SET seq = seq + 1 WHERE domain = ?1")?;
    for d in domains {
        stmt.execute([d.as_str()])?;
    }
    Ok(())
}

/// The next number of a named sequence, taken in the caller's transaction.
pub(crate) fn next_seq(tx: &Transaction<'_>, name: &str) -> Db<i64> {
    Ok(tx
        .prepare_cached("UPDATE sequences SET value = value + 1 WHERE name = ?1 RETURNING value")?
        .query_row([name], |r| r.get(0))?)
}

/// Every row of a prepared query, each decoded by `f`.
pub(crate) fn all<T>(
    stmt: &mut rusqlite::CachedStatement<'_>,
    params: impl rusqlite::Params,
    f: impl Fn(&Row<'_>) -> Db<T>,
) -> Db<Vec<T>> {
    let mut rows = stmt.query(params)?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        out.push(f(row)?);
    }
    Ok(out)
}

/// The first row of a prepared query, decoded by `f`.
pub(crate) fn first<T>(
    stmt: &mut rusqlite::CachedStatement<'_>,
    params: impl rusqlite::Params,
    f: impl Fn(&Row<'_>) -> Db<T>,
) -> Db<Option<T>> {
    let mut rows = stmt.query(params)?;
    match rows.next()? {
        Some(row) => Ok(Some(f(row)?)),
        None => Ok(None),
    }
}

/// Every row of `sql` (a cached statement), each decoded by `f`.
pub(crate) fn many<T>(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
    f: impl Fn(&Row<'_>) -> Db<T>,
) -> Db<Vec<T>> {
    all(&mut conn.prepare_cached(sql)?, params, f)
}

/// The first row of `sql` (a cached statement), decoded by `f`.
pub(crate) fn one<T>(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
    f: impl Fn(&Row<'_>) -> Db<T>,
) -> Db<Option<T>> {
    first(&mut conn.prepare_cached(sql)?, params, f)
}

/// `LIKE` pattern for everything strictly under `prefix/`.
pub(crate) fn under(prefix: &str) -> String {
    format!(
        "{}/%",
        prefix
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_")
    )
}
