//! Accounts' data keys (DEKs), stored wrapped, and which one is current.

use keyrotor_core::store::{
    AccountDeks, AuditEvent, ChangeDomain, DekStore, StoreError, StoreResult, StoredDek, WrappedBy,
};
use rusqlite::{params, Row, Transaction};

use crate::conn::{bump, corrupt, many, one, Db};
use crate::meta::insert_audit;
use crate::rows::{from_micros, to_micros};
use crate::SqliteStore;

/// `wrap_source` and `wrap_key` of a DEK's wrapping.
fn wrapping(w: &WrappedBy) -> (&'static str, &str) {
    match w {
        WrappedBy::Service { root_key_id } => ("service", root_key_id),
    }
}

fn dek(r: &Row<'_>) -> Db<StoredDek> {
    let source: String = r.get("wrap_source")?;
    let key: String = r.get("wrap_key")?;
    Ok(StoredDek {
        id: r.get("id")?,
        wrapped: r.get("wrapped")?,
        wrapped_by: match source.as_str() {
            "service" => WrappedBy::Service { root_key_id: key },
            _ => return Err(corrupt("data key wrapping")),
        },
        created_at: from_micros(r.get("created_at")?)?,
    })
}

/// Inserts a DEK of account `account_id` (and makes it current) in the
/// caller's transaction.
pub(crate) fn insert_dek(
    tx: &Transaction<'_>,
    account_id: i64,
    d: &StoredDek,
    make_current: bool,
) -> Db<()> {
    let (source, key) = wrapping(&d.wrapped_by);
    tx.prepare_cached(
        "INSERT INTO account_deks(id, account_id, wrapped, wrap_source, wrap_key, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        d.id,
        account_id,
        d.wrapped,
        source,
        key,
        to_micros(d.created_at)
    ])?;
    if make_current {
        tx.prepare_cached("UPDATE accounts SET current_dek = ?2 WHERE id = ?1")?
            .execute(params![account_id, d.id])?;
    }
    Ok(())
}

impl DekStore for SqliteStore {
    fn deks(&self, account_id: i64) -> StoreResult<AccountDeks> {
        self.pool.read(|conn| {
            let tx = conn.unchecked_transaction()?;
            let current: Option<Option<String>> = one(
                &tx,
                "SELECT current_dek FROM accounts WHERE id = ?1",
                [account_id],
                |r| Ok(r.get("current_dek")?),
            )?;
            let deks = many(
                &tx,
                "SELECT id, wrapped, wrap_source, wrap_key, created_at FROM account_deks
                 WHERE account_id = ?1 ORDER BY created_at, rowid",
                [account_id],
                dek,
            )?;
            Ok(AccountDeks {
                current: current.flatten(),
                deks,
            })
        })
    }

    fn insert_dek(
        &self,
        account_id: i64,
        d: &StoredDek,
        make_current: bool,
        audit: &AuditEvent,
    ) -> StoreResult<()> {
        self.pool.write(|tx| {
            let exists = tx
                .prepare_cached("SELECT 1 FROM accounts WHERE id = ?1")?
                .exists([account_id])?;
            if !exists {
                return Err(StoreError::NotFound.into());
            }
            bump(tx, &[ChangeDomain::Deks])?;
            insert_dek(tx, account_id, d, make_current)?;
            insert_audit(tx, audit)
        })
    }
}
