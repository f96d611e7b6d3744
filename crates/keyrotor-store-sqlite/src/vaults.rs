//! Key vaults, their objects and key rotation policies.

use keyrotor_core::store::{
    AuditEvent, ChangeDomain, LatestVersion, StoreError, StoreResult, StoredPolicy, VaultStore,
};
use keyrotor_core::vault::{Collection, Vault, VaultObject};
use rusqlite::{params, OptionalExtension};
use time::OffsetDateTime;

use crate::conn::{bump, many, next_seq, one};
use crate::meta::insert_audit;
use crate::rows::{
    self, from_micros, tags_to_text, to_micros, OBJECT_COLS, POLICY_COLS, VAULT_COLS,
};
use crate::SqliteStore;

impl VaultStore for SqliteStore {
    fn insert_vault(&self, v: &Vault, audit: &AuditEvent) -> StoreResult<i64> {
        self.pool.write(|tx| {
            bump(tx, &[ChangeDomain::Vaults])?;
            tx.prepare_cached(
                "INSERT INTO vaults(uid, name_key, name, subscription, group_key, group_name,
                   location, tags, document, soft_delete_days, purge_protection, created_at,
                   updated_at, deleted_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, NULL)",
            )?
            .execute(params![
                v.uid,
                v.name.key(),
                v.name.as_str(),
                v.subscription.as_str(),
                v.resource_group.key(),
                v.resource_group.as_str(),
                v.location,
                tags_to_text(&v.tags),
                v.document,
                v.settings.soft_delete_days,
                v.settings.purge_protection,
                to_micros(v.created_at),
                to_micros(v.updated_at)
            ])?;
            let id = tx.last_insert_rowid();
            insert_audit(tx, audit)?;
            Ok(id)
        })
    }

    fn update_vault(
        &self,
        v: &Vault,
        read_at: OffsetDateTime,
        audit: &AuditEvent,
    ) -> StoreResult<()> {
        self.pool.write(|tx| {
            let n = tx
                .prepare_cached(
                    "UPDATE vaults SET tags = ?2, document = ?3, purge_protection = ?4,
                       updated_at = ?5
                     WHERE id = ?1 AND deleted_at IS NULL AND updated_at = ?6",
                )?
                .execute(params![
                    v.id,
                    tags_to_text(&v.tags),
                    v.document,
                    v.settings.purge_protection,
                    to_micros(v.updated_at),
                    to_micros(read_at)
                ])?;
            if n == 0 {
                let live = tx
                    .prepare_cached("SELECT 1 FROM vaults WHERE id = ?1 AND deleted_at IS NULL")?
                    .exists([v.id])?;
                return Err(if live {
                    StoreError::PreconditionFailed
                } else {
                    StoreError::NotFound
                }
                .into());
            }
            bump(tx, &[ChangeDomain::Vaults])?;
            insert_audit(tx, audit)
        })
    }

    fn vault(&self, name_key: &str) -> StoreResult<Option<Vault>> {
        self.pool.read(|conn| {
            one(
                conn,
                &format!("SELECT {VAULT_COLS} FROM vaults WHERE name_key = ?1"),
                [name_key],
                rows::vault,
            )
        })
    }

    fn vaults(&self) -> StoreResult<Vec<Vault>> {
        self.pool.read(|conn| {
            many(
                conn,
                &format!("SELECT {VAULT_COLS} FROM vaults ORDER BY name_key"),
                [],
                rows::vault,
            )
        })
    }

    fn set_vault_deleted(
        &self,
        id: i64,
        deleted_at: Option<OffsetDateTime>,
        audit: &AuditEvent,
    ) -> StoreResult<bool> {
        self.pool.write(|tx| {
            bump(tx, &[ChangeDomain::Vaults])?;
            // Only a change of state: deleting a deleted vault, or recovering
            // a live one, changes nothing (and keeps the first deletion time).
            let n = tx
                .prepare_cached(
                    "UPDATE vaults SET deleted_at = ?2
                     WHERE id = ?1 AND ((?2 IS NULL) = (deleted_at IS NOT NULL))",
                )?
                .execute(params![id, deleted_at.map(to_micros)])?;
            if n > 0 {
                insert_audit(tx, audit)?;
            }
            Ok(n > 0)
        })
    }

    fn purge_vault(
        &self,
        id: i64,
        deleted_at: OffsetDateTime,
        audit: &AuditEvent,
    ) -> StoreResult<bool> {
        self.pool.write(|tx| {
            bump(tx, &[ChangeDomain::Vaults])?;
            if !tx
                .prepare_cached("SELECT 1 FROM vaults WHERE id = ?1 AND deleted_at = ?2")?
                .exists(params![id, to_micros(deleted_at)])?
            {
                return Ok(false);
            }
            tx.execute("DELETE FROM vault_objects WHERE vault_id = ?1", [id])?;
            tx.execute(
                "DELETE FROM vault_rotation_policies WHERE vault_id = ?1",
                [id],
            )?;
            tx.execute("DELETE FROM vaults WHERE id = ?1", [id])?;
            insert_audit(tx, audit)?;
            Ok(true)
        })
    }

    fn insert_vault_object(
        &self,
        o: &VaultObject,
        latest: LatestVersion<'_>,
        audit: &AuditEvent,
    ) -> StoreResult<()> {
        let name_key = o.name.to_ascii_lowercase();
        self.pool.write(|tx| {
            let object = params![o.vault_id, o.collection.as_str(), name_key];
            if tx
                .prepare_cached(
                    "SELECT 1 FROM vault_objects WHERE vault_id = ?1 AND collection = ?2
                       AND name_key = ?3 AND deleted_at IS NOT NULL",
                )?
                .exists(object)?
            {
                return Err(StoreError::Conflict.into());
            }
            if let LatestVersion::Is(expected) = latest {
                let found: Option<String> = tx
                    .prepare_cached(
                        "SELECT version FROM vault_objects WHERE vault_id = ?1 AND collection = ?2
                           AND name_key = ?3 ORDER BY seq DESC LIMIT 1",
                    )?
                    .query_row(object, |r| r.get("version"))
                    .optional()?;
                if found.as_deref() != expected {
                    return Err(StoreError::PreconditionFailed.into());
                }
            }
            bump(tx, &[ChangeDomain::Vaults])?;
            let seq = next_seq(tx, "vault_objects")?;
            tx.prepare_cached(
                "INSERT INTO vault_objects(vault_id, collection, name_key, name, version, enabled,
                   nbf, exp, document, sealed, created_at, updated_at, deleted_at, seq)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, NULL, ?13)",
            )?
            .execute(params![
                o.vault_id,
                o.collection.as_str(),
                name_key,
                o.name,
                o.version,
                o.attributes.enabled,
                o.attributes.not_before,
                o.attributes.expires,
                o.document,
                o.sealed,
                to_micros(o.created_at),
                to_micros(o.updated_at),
                seq
            ])?;
            insert_audit(tx, audit)
        })
    }

    fn vault_objects(
        &self,
        vault_id: i64,
        c: Collection,
        name_key: Option<&str>,
    ) -> StoreResult<Vec<VaultObject>> {
        self.pool.read(|conn| {
            many(
                conn,
                &format!(
                    "SELECT {OBJECT_COLS} FROM vault_objects
                     WHERE vault_id = ?1 AND collection = ?2 AND (?3 IS NULL OR name_key = ?3)
                     ORDER BY seq"
                ),
                params![vault_id, c.as_str(), name_key],
                rows::object,
            )
        })
    }

    fn update_vault_object(&self, o: &VaultObject, audit: &AuditEvent) -> StoreResult<()> {
        self.pool.write(|tx| {
            bump(tx, &[ChangeDomain::Vaults])?;
            let n = tx
                .prepare_cached(
                    "UPDATE vault_objects SET enabled = ?5, nbf = ?6, exp = ?7, document = ?8,
                       updated_at = ?9
                     WHERE vault_id = ?1 AND collection = ?2 AND name_key = ?3 AND version = ?4
                       AND deleted_at IS NULL",
                )?
                .execute(params![
                    o.vault_id,
                    o.collection.as_str(),
                    o.name.to_ascii_lowercase(),
                    o.version,
                    o.attributes.enabled,
                    o.attributes.not_before,
                    o.attributes.expires,
                    o.document,
                    to_micros(o.updated_at)
                ])?;
            if n == 0 {
                return Err(StoreError::NotFound.into());
            }
            insert_audit(tx, audit)
        })
    }

    fn set_objects_deleted(
        &self,
        vault_id: i64,
        c: Collection,
        name_key: &str,
        deleted_at: Option<OffsetDateTime>,
        audit: &AuditEvent,
    ) -> StoreResult<bool> {
        self.pool.write(|tx| {
            bump(tx, &[ChangeDomain::Vaults])?;
            let n = tx
                .prepare_cached(
                    "UPDATE vault_objects SET deleted_at = ?4
                     WHERE vault_id = ?1 AND collection = ?2 AND name_key = ?3
                       AND ((?4 IS NULL) = (deleted_at IS NOT NULL))",
                )?
                .execute(params![
                    vault_id,
                    c.as_str(),
                    name_key,
                    deleted_at.map(to_micros)
                ])?;
            if n > 0 {
                insert_audit(tx, audit)?;
            }
            Ok(n > 0)
        })
    }

    fn purge_objects(
        &self,
        vault_id: i64,
        c: Collection,
        name_key: &str,
        audit: &AuditEvent,
    ) -> StoreResult<bool> {
        self.pool.write(|tx| {
            bump(tx, &[ChangeDomain::Vaults])?;
            let object = params![vault_id, c.as_str(), name_key];
            if !tx
                .prepare_cached(
                    "SELECT 1 FROM vault_objects WHERE vault_id = ?1 AND collection = ?2
                       AND name_key = ?3 AND deleted_at IS NOT NULL",
                )?
                .exists(object)?
            {
                return Ok(false);
            }
            tx.execute(
                "DELETE FROM vault_objects WHERE vault_id = ?1 AND collection = ?2 AND name_key = ?3",
                object,
            )?;
            if c == Collection::Keys {
                tx.execute(
                    "DELETE FROM vault_rotation_policies WHERE vault_id = ?1 AND name_key = ?2",
                    params![vault_id, name_key],
                )?;
            }
            insert_audit(tx, audit)?;
            Ok(true)
        })
    }

    fn put_rotation_policy(
        &self,
        vault_id: i64,
        name_key: &str,
        policy: &str,
        at: OffsetDateTime,
        audit: &AuditEvent,
    ) -> StoreResult<OffsetDateTime> {
        self.pool.write(|tx| {
            bump(tx, &[ChangeDomain::Vaults])?;
            let created: i64 = tx
                .prepare_cached(
                    "INSERT INTO vault_rotation_policies(vault_id, name_key, policy, created_at,
                       updated_at)
                     VALUES (?1, ?2, ?3, ?4, ?4)
                     ON CONFLICT(vault_id, name_key) DO UPDATE SET policy = excluded.policy,
                       updated_at = excluded.updated_at
                     RETURNING created_at",
                )?
                .query_row(params![vault_id, name_key, policy, to_micros(at)], |r| {
                    r.get("created_at")
                })?;
            insert_audit(tx, audit)?;
            from_micros(created)
        })
    }

    fn rotation_policy(&self, vault_id: i64, name_key: &str) -> StoreResult<Option<StoredPolicy>> {
        self.pool.read(|conn| {
            one(
                conn,
                &format!(
                    "SELECT {POLICY_COLS} FROM vault_rotation_policies
                     WHERE vault_id = ?1 AND name_key = ?2"
                ),
                params![vault_id, name_key],
                rows::policy,
            )
        })
    }

    fn rotation_policies(&self) -> StoreResult<Vec<StoredPolicy>> {
        self.pool.read(|conn| {
            many(
                conn,
                &format!(
                    "SELECT {POLICY_COLS} FROM vault_rotation_policies ORDER BY vault_id, name_key"
                ),
                [],
                rows::policy,
            )
        })
    }
}
