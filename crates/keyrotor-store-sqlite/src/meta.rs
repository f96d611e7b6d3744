//! Settings, change sequences and the audit trail.

use keyrotor_core::store::{AuditEvent, ChangeDomain, ChangeSeqs, MetaStore, StoreResult};
use rusqlite::{params, Connection, OptionalExtension};

use crate::conn::{all, corrupt, Db};
use crate::rows::{from_micros, from_sql, to_micros};
use crate::SqliteStore;

/// The audit record of a mutation, in its transaction.
pub(crate) fn insert_audit(conn: &Connection, a: &AuditEvent) -> Db<()> {
    conn.prepare_cached(
        "INSERT INTO audit(at, actor, action, target, detail) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![
        to_micros(a.at),
        a.actor,
        a.action,
        a.target,
        a.detail
    ])?;
    Ok(())
}

impl MetaStore for SqliteStore {
    fn change_seqs(&self) -> StoreResult<ChangeSeqs> {
        self.pool.read(|conn| {
            let mut stmt = conn.prepare_cached("SELECT domain, seq FROM changes")?;
            let rows = all(&mut stmt, [], |r| {
                let d = ChangeDomain::parse(&r.get::<_, String>("domain")?)
                    .ok_or_else(|| corrupt("change domain"))?;
                Ok((d, from_sql(r.get("seq")?, "change sequence")?))
            })?;
            let mut out = ChangeSeqs::default();
            for (d, seq) in rows {
                out.set(d, seq);
            }
            Ok(out)
        })
    }

    fn meta(&self, key: &str) -> StoreResult<Option<String>> {
        self.pool.read(|conn| {
            Ok(conn
                .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
                .optional()?)
        })
    }

    fn init_meta(&self, key: &str, value: &str) -> StoreResult<String> {
        self.pool.write(|tx| {
            tx.execute(
                "INSERT INTO meta(key, value) VALUES (?1, ?2) ON CONFLICT(key) DO NOTHING",
                params![key, value],
            )?;
            Ok(tx.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))?)
        })
    }

    fn audit_events(&self, limit: usize) -> StoreResult<Vec<AuditEvent>> {
        self.pool.read(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT at, actor, action, target, detail FROM audit ORDER BY seq DESC LIMIT ?1",
            )?;
            all(&mut stmt, [i64::try_from(limit).unwrap_or(i64::MAX)], |r| {
                Ok(AuditEvent {
                    at: from_micros(r.get("at")?)?,
                    actor: r.get("actor")?,
                    action: r.get("action")?,
                    target: r.get("target")?,
                    detail: r.get("detail")?,
                })
            })
        })
    }
}
