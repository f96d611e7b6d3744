//! Settings, change sequences and the activity log (the audit trail, hash-chained).

use keyrotor_core::activity::{chain_hash, ActivityChain, ActivityRecord, ActivityStatus};
use keyrotor_core::store::{AuditEvent, ChangeDomain, ChangeSeqs, MetaStore, StoreResult};
use rusqlite::{params, Connection, OptionalExtension, Row};
use time::OffsetDateTime;

use crate::conn::{all, corrupt, Db};
use crate::rows::{from_micros, from_sql, to_micros};
use crate::SqliteStore;

const ENTRY_COLUMNS: &str = "seq, at, actor, action, target, detail, operation, resource_id, \
     status, http_status, correlation_id, hash";

/// The activity entry of a change, in its transaction: the next sequence
/// number after the newest entry (or the anchor), chained to its hash. The
/// writer's transaction serializes appends, also between processes.
pub(crate) fn insert_audit(conn: &Connection, a: &AuditEvent) -> Db<()> {
    let anchor: (i64, String) = conn
        .prepare_cached("SELECT seq, hash FROM activity_anchor")?
        .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    let newest: Option<(i64, Option<String>)> = conn
        .prepare_cached("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1")?
        .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    // The newest entry if it is in the chain, else the anchor (only
    // unchained entries, or none, since the anchor).
    let (seq, prev) = match newest {
        Some((seq, hash)) if seq > anchor.0 => (seq, hash.unwrap_or_default()),
        _ => anchor,
    };
    let seq = seq
        .checked_add(1)
        .ok_or_else(|| corrupt("activity sequence"))?;
    let hash = chain_hash(&prev, from_sql(seq, "activity sequence")?, a);
    conn.prepare_cached(
        "INSERT INTO audit(seq, at, actor, action, target, detail, operation, resource_id, status,
                           http_status, correlation_id, hash)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
    )?
    .execute(params![
        seq,
        to_micros(a.at),
        a.actor,
        a.action,
        a.target,
        a.detail,
        a.operation,
        a.resource_id,
        a.status.as_str(),
        a.http_status,
        a.correlation_id,
        hash,
    ])?;
    Ok(())
}

fn entry(r: &Row<'_>) -> Db<AuditEvent> {
    Ok(AuditEvent {
        at: from_micros(r.get("at")?)?,
        actor: r.get("actor")?,
        action: r.get("action")?,
        target: r.get("target")?,
        detail: r.get("detail")?,
        operation: r.get("operation")?,
        resource_id: r.get("resource_id")?,
        status: ActivityStatus::parse(&r.get::<_, String>("status")?)
            .ok_or_else(|| corrupt("activity status"))?,
        http_status: r.get("http_status")?,
        correlation_id: r.get("correlation_id")?,
    })
}

fn record(r: &Row<'_>) -> Db<ActivityRecord> {
    Ok(ActivityRecord {
        seq: from_sql(r.get("seq")?, "activity sequence")?,
        event: entry(r)?,
        hash: r.get("hash")?,
    })
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
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {ENTRY_COLUMNS} FROM audit ORDER BY seq DESC LIMIT ?1"
            ))?;
            all(&mut stmt, [i64::try_from(limit).unwrap_or(i64::MAX)], entry)
        })
    }

    fn append_activity(&self, event: &AuditEvent) -> StoreResult<()> {
        self.pool.write(|tx| insert_audit(tx, event))
    }

    fn append_activity_once(&self, event: &AuditEvent) -> StoreResult<bool> {
        self.pool.write(|tx| {
            let exists = tx
                .prepare_cached(
                    "SELECT 1 FROM audit WHERE target = ?1 AND action = ?2 AND detail = ?3 LIMIT 1",
                )?
                .exists(params![event.target, event.action, event.detail])?;
            if exists {
                return Ok(false);
            }
            insert_audit(tx, event)?;
            Ok(true)
        })
    }

    fn activity_between(
        &self,
        from: Option<OffsetDateTime>,
        to: Option<OffsetDateTime>,
    ) -> StoreResult<Vec<ActivityRecord>> {
        self.pool.read(|conn| {
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {ENTRY_COLUMNS} FROM audit WHERE at >= ?1 AND at <= ?2 ORDER BY seq"
            ))?;
            all(
                &mut stmt,
                params![
                    from.map_or(i64::MIN, to_micros),
                    to.map_or(i64::MAX, to_micros)
                ],
                record,
            )
        })
    }

    fn activity_chain(&self) -> StoreResult<ActivityChain> {
        self.pool.read(|conn| {
            // One snapshot: a purge committing meanwhile moves the anchor
            // and removes entries together, never between the two reads.
            let conn = &conn.unchecked_transaction()?;
            let (anchor_seq, anchor_hash): (i64, String) =
                conn.query_row("SELECT seq, hash FROM activity_anchor", [], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })?;
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {ENTRY_COLUMNS} FROM audit WHERE seq > ?1 ORDER BY seq"
            ))?;
            let entries = all(&mut stmt, [anchor_seq], record)?;
            let highest_issued: Option<i64> = conn
                .query_row(
                    "SELECT seq FROM sqlite_sequence WHERE name = 'audit'",
                    [],
                    |r| r.get(0),
                )
                .optional()?;
            Ok(ActivityChain {
                anchor_seq: from_sql(anchor_seq, "activity anchor")?,
                anchor_hash,
                entries,
                highest_issued: highest_issued
                    .map(|s| from_sql(s, "activity sequence"))
                    .transpose()?,
            })
        })
    }

    fn prune_activity(&self, before: OffsetDateTime) -> StoreResult<u64> {
        self.pool.write(|tx| {
            // The newest entry older than `before`: everything up to it goes,
            // and its hash (if chained) anchors what stays.
            let Some((seq, hash)): Option<(i64, Option<String>)> = tx
                .query_row(
                    "SELECT seq, hash FROM audit WHERE seq = (SELECT MAX(seq) FROM audit WHERE at < ?1)",
                    [to_micros(before)],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?
            else {
                return Ok(0);
            };
            let removed = tx.execute("DELETE FROM audit WHERE seq <= ?1", [seq])?;
            tx.execute(
                "UPDATE activity_anchor SET seq = ?1, hash = ?2 WHERE seq < ?1 AND ?2 IS NOT NULL",
                params![seq, hash],
            )?;
            Ok(u64::try_from(removed).unwrap_or(u64::MAX))
        })
    }
}
