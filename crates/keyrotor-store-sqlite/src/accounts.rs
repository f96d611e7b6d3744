//! Accounts and their key slots.

use keyrotor_core::store::{
    Account, AccountSpec, AccountStore, AuditEvent, ChangeDomain, RetiredKey, StoreError,
    StoreResult, StoredDek, StoredKey,
};
use keyrotor_types::{AccountKind, AccountName, ResourceGroupName, SubscriptionId};
use rusqlite::{params, Connection};
use time::OffsetDateTime;

use crate::conn::{bump, many, one, Db};
use crate::deks::insert_dek;
use crate::meta::insert_audit;
use crate::rbac::revoke_under;
use crate::rows::{
    self, from_sql, settings_to_text, slot, tags_to_text, to_micros, to_sql, ACCOUNT_COLS, KEY_COLS,
};
use crate::SqliteStore;

/// The key slots of the accounts `filter` selects (alias `a`), in the
/// transaction that deletes them.
pub(crate) fn retired_keys(
    conn: &Connection,
    filter: &str,
    args: impl rusqlite::Params,
) -> Db<Vec<RetiredKey>> {
    many(
        conn,
        &format!(
            "SELECT a.uid, k.slot, k.generation FROM account_keys k
             JOIN accounts a ON a.id = k.account_id {filter}"
        ),
        args,
        |r| {
            Ok(RetiredKey {
                account_uid: r.get("uid")?,
                slot: slot(&r.get::<_, String>("slot")?)?,
                generation: from_sql(r.get("generation")?, "generation")?,
            })
        },
    )
}

impl AccountStore for SqliteStore {
    fn insert_account(
        &self,
        a: &Account,
        dek: &StoredDek,
        keys: &[StoredKey],
        audit: &AuditEvent,
    ) -> StoreResult<Account> {
        self.pool.write(|tx| {
            bump(tx, &[ChangeDomain::Accounts])?;
            tx.prepare_cached(
                "INSERT INTO accounts(uid, kind, name_key, name, subscription, group_key, location,
                   tags, document, created_at, updated_at, settings)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
            )?
            .execute(params![
                a.uid,
                a.kind.as_str(),
                a.name.key(),
                a.name.as_str(),
                a.subscription.as_str(),
                a.resource_group.key(),
                a.location,
                tags_to_text(&a.tags),
                a.document,
                to_micros(a.created_at),
                to_micros(a.updated_at),
                settings_to_text(&a.settings)
            ])?;
            let id = tx.last_insert_rowid();
            insert_dek(tx, id, dek, true)?;
            let mut insert_key = tx.prepare_cached(
                "INSERT INTO account_keys(account_id, slot, generation, dek_id, sealed, generated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?;
            for k in keys {
                insert_key.execute(params![
                    id,
                    k.slot.as_str(),
                    to_sql(k.generation)?,
                    k.dek_id,
                    k.sealed,
                    to_micros(k.generated_at)
                ])?;
            }
            insert_audit(tx, audit)?;
            Ok(Account { id, ..a.clone() })
        })
    }

    fn update_account(
        &self,
        id: i64,
        spec: &AccountSpec,
        at: OffsetDateTime,
        audit: &AuditEvent,
    ) -> StoreResult<()> {
        self.pool.write(|tx| {
            bump(tx, &[ChangeDomain::Accounts])?;
            let n = tx
                .prepare_cached(
                    "UPDATE accounts SET location = ?2, tags = ?3, document = ?4, updated_at = ?5,
                       settings = ?6
                     WHERE id = ?1",
                )?
                .execute(params![
                    id,
                    spec.location,
                    tags_to_text(&spec.tags),
                    spec.document,
                    to_micros(at),
                    settings_to_text(&spec.settings)
                ])?;
            if n == 0 {
                return Err(StoreError::NotFound.into());
            }
            insert_audit(tx, audit)
        })
    }

    fn account(&self, kind: AccountKind, name: &AccountName) -> StoreResult<Option<Account>> {
        self.pool.read(|conn| {
            one(
                conn,
                &format!("SELECT {ACCOUNT_COLS} FROM accounts WHERE kind = ?1 AND name_key = ?2"),
                params![kind.as_str(), name.key()],
                rows::account,
            )
        })
    }

    fn accounts(
        &self,
        sub: &SubscriptionId,
        group: Option<&ResourceGroupName>,
        kind: AccountKind,
    ) -> StoreResult<Vec<Account>> {
        self.pool.read(|conn| {
            many(
                conn,
                &format!(
                    "SELECT {ACCOUNT_COLS} FROM accounts
                     WHERE subscription = ?1 AND kind = ?2 AND (?3 IS NULL OR group_key = ?3)
                     ORDER BY name_key"
                ),
                params![sub.as_str(), kind.as_str(), group.map(|g| g.key())],
                rows::account,
            )
        })
    }

    fn delete_account(
        &self,
        id: i64,
        scope_key: &str,
        audit: &AuditEvent,
    ) -> StoreResult<Option<Vec<RetiredKey>>> {
        self.pool.write(|tx| {
            bump(
                tx,
                &[
                    ChangeDomain::Accounts,
                    ChangeDomain::Rbac,
                    ChangeDomain::Deks,
                ],
            )?;
            let retired = retired_keys(tx, "WHERE a.id = ?1", params![id])?;
            if tx.execute("DELETE FROM accounts WHERE id = ?1", [id])? == 0 {
                return Ok(None);
            }
            revoke_under(tx, scope_key)?;
            insert_audit(tx, audit)?;
            Ok(Some(retired))
        })
    }

    fn keys(&self, account_id: i64) -> StoreResult<Vec<StoredKey>> {
        self.pool.read(|conn| {
            many(
                conn,
                &format!("SELECT {KEY_COLS} FROM account_keys WHERE account_id = ?1"),
                [account_id],
                rows::key,
            )
        })
    }

    fn rotate_key(
        &self,
        account_id: i64,
        expected: u64,
        key: &StoredKey,
        audit: &AuditEvent,
    ) -> StoreResult<()> {
        if key.generation <= expected {
            return Err(StoreError::Backend(
                "a regeneration must move the generation up".into(),
            ));
        }
        self.pool.write(|tx| {
            let n = tx
                .prepare_cached(
                    "UPDATE account_keys SET generation = ?4, dek_id = ?5, sealed = ?6,
                       generated_at = ?7
                     WHERE account_id = ?1 AND slot = ?2 AND generation = ?3",
                )?
                .execute(params![
                    account_id,
                    key.slot.as_str(),
                    to_sql(expected)?,
                    to_sql(key.generation)?,
                    key.dek_id,
                    key.sealed,
                    to_micros(key.generated_at)
                ])?;
            if n == 0 {
                let exists = tx
                    .prepare_cached(
                        "SELECT 1 FROM account_keys WHERE account_id = ?1 AND slot = ?2",
                    )?
                    .exists(params![account_id, key.slot.as_str()])?;
                return Err(if exists {
                    StoreError::PreconditionFailed
                } else {
                    StoreError::NotFound
                }
                .into());
            }
            bump(tx, &[ChangeDomain::Accounts])?;
            insert_audit(tx, audit)
        })
    }
}
