//! Key usage evidence: per slot the generation it was counted for, the
//! last use, hourly counts and the clients seen.

use keyrotor_core::store::{StoreResult, UsageStore};
use keyrotor_core::usage::{ClientSeen, KeyUsage, UsageDelta};
use rusqlite::{params, OptionalExtension};
use time::OffsetDateTime;

use crate::conn::many;
use crate::rows::{count, from_sql, slot, to_sql};
use crate::SqliteStore;

fn n(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

impl UsageStore for SqliteStore {
    fn apply_usage(&self, deltas: &[UsageDelta], prune_before: i64) -> StoreResult<()> {
        // Runs every second while keys are used: the statements are prepared
        // once per connection (cached), not parsed on every flush.
        self.pool.write(|tx| {
            let mut account_exists = tx.prepare_cached("SELECT 1 FROM accounts WHERE id = ?1")?;
            let mut stored_generation = tx.prepare_cached(
                "SELECT generation FROM key_usage WHERE account_id = ?1 AND slot = ?2",
            )?;
            let mut touch = tx.prepare_cached(
                "UPDATE key_usage SET last_used = MAX(COALESCE(last_used, 0), ?3),
                   would_reject = would_reject + ?4
                 WHERE account_id = ?1 AND slot = ?2",
            )?;
            let mut start_generation = tx.prepare_cached(
                "INSERT INTO key_usage(account_id, slot, generation, last_used, would_reject)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT(account_id, slot) DO UPDATE SET generation = excluded.generation,
                   last_used = excluded.last_used, would_reject = excluded.would_reject",
            )?;
            let mut forget_clients =
                tx.prepare_cached("DELETE FROM key_clients WHERE account_id = ?1 AND slot = ?2")?;
            let mut client_seen = tx.prepare_cached(
                "INSERT INTO key_clients(account_id, slot, user_agent, address, last_seen, requests)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT(account_id, slot, user_agent, address) DO UPDATE SET
                   last_seen = MAX(last_seen, excluded.last_seen),
                   requests = requests + excluded.requests",
            )?;
            let mut count_hour = tx.prepare_cached(
                "INSERT INTO key_usage_hourly(account_id, slot, hour, requests) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT(account_id, slot, hour) DO UPDATE SET
                   requests = requests + excluded.requests",
            )?;
            for d in deltas {
                let slot = d.slot.as_str();
                let generation = to_sql(d.generation)?;
                let would_reject = n(d.would_reject);
                if !account_exists.exists([d.account_id])? {
                    continue; // the account was deleted meanwhile
                }
                let stored: Option<i64> = stored_generation
                    .query_row(params![d.account_id, slot], |r| r.get(0))
                    .optional()?;
                match stored {
                    Some(g) if g > generation => {} // late usage of a replaced key: counts only
                    Some(g) if g == generation => {
                        touch.execute(params![d.account_id, slot, d.last_used, would_reject])?;
                    }
                    _ => {
                        start_generation.execute(params![
                            d.account_id,
                            slot,
                            generation,
                            d.last_used,
                            would_reject
                        ])?;
                        forget_clients.execute(params![d.account_id, slot])?;
                    }
                }
                if stored.is_none_or(|g| g <= generation) {
                    for c in &d.clients {
                        client_seen.execute(params![
                            d.account_id,
                            slot,
                            c.user_agent,
                            c.address,
                            c.last_seen,
                            n(c.requests)
                        ])?;
                    }
                }
                for (hour, requests) in &d.hourly {
                    count_hour.execute(params![d.account_id, slot, hour, n(*requests)])?;
                }
            }
            tx.prepare_cached("DELETE FROM key_usage_hourly WHERE hour < ?1")?
                .execute([prune_before])?;
            tx.prepare_cached("DELETE FROM key_clients WHERE last_seen < ?1")?
                .execute([prune_before])?;
            Ok(())
        })
    }

    fn usage(&self, account_id: i64) -> StoreResult<Vec<KeyUsage>> {
        // Unix seconds; a value outside the calendar is left out.
        let at = |s: i64| OffsetDateTime::from_unix_timestamp(s).ok();
        self.pool.read(|conn| {
            let mut out = many(
                conn,
                "SELECT slot, generation, last_used, would_reject FROM key_usage
                     WHERE account_id = ?1",
                [account_id],
                |r| {
                    Ok(KeyUsage {
                        slot: slot(&r.get::<_, String>("slot")?)?,
                        generation: from_sql(r.get("generation")?, "generation")?,
                        would_reject: count(r.get("would_reject")?),
                        last_used: r.get::<_, Option<i64>>("last_used")?.and_then(at),
                        hourly: Vec::new(),
                        clients: Vec::new(),
                    })
                },
            )?;
            let hours = many(
                conn,
                "SELECT slot, hour, requests FROM key_usage_hourly WHERE account_id = ?1
                     ORDER BY hour",
                [account_id],
                |r| {
                    Ok((
                        slot(&r.get::<_, String>("slot")?)?,
                        r.get::<_, i64>("hour")?,
                        count(r.get("requests")?),
                    ))
                },
            )?;
            for (slot, hour, requests) in hours {
                let i = match out.iter().position(|u| u.slot == slot) {
                    Some(i) => i,
                    None => {
                        out.push(KeyUsage {
                            slot,
                            generation: 0,
                            would_reject: 0,
                            last_used: None,
                            hourly: Vec::new(),
                            clients: Vec::new(),
                        });
                        out.len() - 1
                    }
                };
                if let Some(hour) = at(hour) {
                    out[i].hourly.push((hour, requests));
                }
            }
            let clients = many(
                conn,
                "SELECT slot, user_agent, address, last_seen, requests FROM key_clients
                     WHERE account_id = ?1 ORDER BY last_seen DESC",
                [account_id],
                |r| {
                    Ok((
                        slot(&r.get::<_, String>("slot")?)?,
                        ClientSeen {
                            user_agent: r.get("user_agent")?,
                            address: r.get("address")?,
                            last_seen: r.get("last_seen")?,
                            requests: count(r.get("requests")?),
                        },
                    ))
                },
            )?;
            for (slot, client) in clients {
                if let Some(u) = out.iter_mut().find(|u| u.slot == slot) {
                    u.clients.push(client);
                }
            }
            Ok(out)
        })
    }
}
