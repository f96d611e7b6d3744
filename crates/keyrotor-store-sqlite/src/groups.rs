//! Resource groups.

use keyrotor_core::store::{
    AuditEvent, ChangeDomain, GroupStore, ResourceGroup, RetiredKey, StoreResult,
};
use keyrotor_types::{ResourceGroupName, SubscriptionId};
use rusqlite::params;

use crate::accounts::retired_keys;
use crate::conn::{bump, many, one};
use crate::meta::insert_audit;
use crate::rbac::revoke_under;
use crate::rows::{self, tags_to_text, to_micros, GROUP_COLS};
use crate::SqliteStore;

impl GroupStore for SqliteStore {
    fn put_group(
        &self,
        g: &ResourceGroup,
        audit: &AuditEvent,
    ) -> StoreResult<(ResourceGroup, bool)> {
        self.pool.write(|tx| {
            bump(tx, &[ChangeDomain::Accounts])?;
            let key = params![g.subscription.as_str(), g.name.key()];
            let exists = tx
                .prepare_cached(
                    "SELECT 1 FROM resource_groups WHERE subscription = ?1 AND name_key = ?2",
                )?
                .exists(key)?;
            tx.prepare_cached(
                "INSERT INTO resource_groups(subscription, name_key, name, location, tags, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT(subscription, name_key) DO UPDATE SET tags = excluded.tags",
            )?
            .execute(params![
                g.subscription.as_str(),
                g.name.key(),
                g.name.as_str(),
                g.location,
                tags_to_text(&g.tags),
                to_micros(g.created_at)
            ])?;
            let stored = one(tx, &format!(
                    "SELECT {GROUP_COLS} FROM resource_groups WHERE subscription = ?1 AND name_key = ?2"
                ),
                key,
                rows::group,
            )?
            .ok_or(keyrotor_core::StoreError::NotFound)?;
            insert_audit(tx, audit)?;
            Ok((stored, !exists))
        })
    }

    fn group(
        &self,
        sub: &SubscriptionId,
        name: &ResourceGroupName,
    ) -> StoreResult<Option<ResourceGroup>> {
        self.pool.read(|conn| {
            one(conn, &format!(
                    "SELECT {GROUP_COLS} FROM resource_groups WHERE subscription = ?1 AND name_key = ?2"
                ),
                params![sub.as_str(), name.key()],
                rows::group,
            )
        })
    }

    fn groups(&self, sub: &SubscriptionId) -> StoreResult<Vec<ResourceGroup>> {
        self.pool.read(|conn| {
            many(conn, &format!(
                    "SELECT {GROUP_COLS} FROM resource_groups WHERE subscription = ?1 ORDER BY name_key"
                ),
                [sub.as_str()],
                rows::group,
            )
        })
    }

    fn delete_group(
        &self,
        sub: &SubscriptionId,
        name: &ResourceGroupName,
        scope_key: &str,
        audit: &AuditEvent,
    ) -> StoreResult<Option<Vec<RetiredKey>>> {
        self.pool.write(|tx| {
            bump(
                tx,
                &[
                    ChangeDomain::Accounts,
                    ChangeDomain::Rbac,
                    ChangeDomain::Vaults,
                    ChangeDomain::Deks,
                ],
            )?;
            let retired = retired_keys(
                tx,
                "WHERE a.subscription = ?1 AND a.group_key = ?2",
                params![sub.as_str(), name.key()],
            )?;
            let n = tx.execute(
                "DELETE FROM resource_groups WHERE subscription = ?1 AND name_key = ?2",
                params![sub.as_str(), name.key()],
            )?;
            if n == 0 {
                return Ok(None);
            }
            revoke_under(tx, scope_key)?;
            // Vaults in the group are soft-deleted, as Azure does: their
            // retention and purge protection still hold.
            tx.execute(
                "UPDATE vaults SET deleted_at = ?3
                 WHERE subscription = ?1 AND group_key = ?2 AND deleted_at IS NULL",
                params![sub.as_str(), name.key(), to_micros(audit.at)],
            )?;
            insert_audit(tx, audit)?;
            Ok(Some(retired))
        })
    }
}
