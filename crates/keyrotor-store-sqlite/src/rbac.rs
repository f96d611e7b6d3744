//! Role assignments.

use keyrotor_core::rbac::{normalize_scope, RoleAssignment};
use keyrotor_core::store::{AuditEvent, ChangeDomain, RbacStore, StoreError, StoreResult};
use rusqlite::{params, Connection};

use crate::conn::{bump, corrupt, many, under, Db};
use crate::meta::insert_audit;
use crate::rows::{from_micros, to_micros};
use crate::SqliteStore;

/// Deletes the role assignments at `scope_key` and every scope below it.
pub(crate) fn revoke_under(conn: &Connection, scope_key: &str) -> Db<()> {
    // The root or an empty key would revoke every assignment: never a
    // deletion's scope (the transaction fails and changes nothing).
    if scope_key.len() <= 1 || !scope_key.starts_with('/') {
        return Err(StoreError::Corrupt(format!(
            "refusing to revoke role assignments under '{scope_key}'"
        ))
        .into());
    }
    conn.prepare_cached(
        "DELETE FROM role_assignments WHERE scope_key = ?1 OR scope_key LIKE ?2 ESCAPE '\\'",
    )?
    .execute(params![scope_key, under(scope_key)])?;
    Ok(())
}

impl RbacStore for SqliteStore {
    fn insert_role_assignment(&self, a: &RoleAssignment, audit: &AuditEvent) -> StoreResult<()> {
        let scope_key = normalize_scope(&a.scope).ok_or_else(|| corrupt("scope"))?;
        self.pool.write(|tx| {
            bump(tx, &[ChangeDomain::Rbac])?;
            tx.prepare_cached(
                "INSERT INTO role_assignments(name, scope, scope_key, principal_key, principal_id,
                   role_id, created_at, created_by)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?
            .execute(params![
                a.name,
                a.scope,
                scope_key,
                a.principal_id.to_ascii_lowercase(),
                a.principal_id,
                a.role_id.to_ascii_lowercase(),
                to_micros(a.created_at),
                a.created_by
            ])?;
            insert_audit(tx, audit)
        })
    }

    fn role_assignments(&self) -> StoreResult<Vec<RoleAssignment>> {
        self.pool.read(|conn| {
            many(
                conn,
                "SELECT name, scope, principal_id, role_id, created_at, created_by
                     FROM role_assignments ORDER BY created_at, name",
                [],
                |r| {
                    Ok(RoleAssignment {
                        name: r.get("name")?,
                        scope: r.get("scope")?,
                        principal_id: r.get("principal_id")?,
                        role_id: r.get("role_id")?,
                        created_at: from_micros(r.get("created_at")?)?,
                        created_by: r.get("created_by")?,
                    })
                },
            )
        })
    }

    fn delete_role_assignment(&self, name: &str, audit: &AuditEvent) -> StoreResult<bool> {
        self.pool.write(|tx| {
            bump(tx, &[ChangeDomain::Rbac])?;
            let n = tx
                .prepare_cached("DELETE FROM role_assignments WHERE lower(name) = lower(?1)")?
                .execute([name])?;
            if n > 0 {
                insert_audit(tx, audit)?;
            }
            Ok(n > 0)
        })
    }
}
