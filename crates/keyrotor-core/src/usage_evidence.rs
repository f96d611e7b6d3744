//! Key usage evidence: flushing the recorder and reading usage per key.

use super::*;

impl Keyrotor {
    /// Writes what the recorder accumulated; on failure puts it back. One
    /// flush at a time: a caller that flushes before reading usage sees
    /// everything recorded before its call, even with a flush in flight.
    pub fn flush_usage(&self, recorder: &UsageRecorder) -> Result<usize> {
        let _one_at_a_time = self
            .flushing
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let deltas = recorder.drain();
        if deltas.is_empty() {
            return Ok(0);
        }
        let prune = self.now().unix_timestamp() - usage::RETENTION_DAYS * 86_400;
        match self.store.apply_usage(&deltas, prune) {
            Ok(()) => Ok(deltas.len()),
            Err(e) => {
                recorder.restore(deltas);
                Err(e.into())
            }
        }
    }

    /// Usage of each key slot of the account. Last use and clients refer to
    /// the slot's current key value; hourly counts cover the slot.
    pub fn key_usage(&self, account: &Account) -> Result<Vec<KeyUsage>> {
        let info = self.key_info(account)?;
        let stored = self.store.usage(account.id)?;
        let ts = |s: i64| OffsetDateTime::from_unix_timestamp(s).ok();
        Ok(info
            .iter()
            .map(|k| {
                let u = stored.iter().find(|u| u.slot == k.slot);
                let current = u.filter(|u| u.generation == k.generation);
                KeyUsage {
                    slot: k.slot,
                    generation: k.generation,
                    would_reject: u.map_or(0, |u| u.would_reject),
                    last_used: current.and_then(|u| u.last_used).and_then(ts),
                    hourly: u
                        .map(|u| {
                            u.hourly
                                .iter()
                                .filter_map(|(h, n)| ts(*h).map(|t| (t, *n)))
                                .collect()
                        })
                        .unwrap_or_default(),
                    clients: current
                        .map(|u| {
                            u.clients
                                .iter()
                                .filter_map(|c| {
                                    ts(c.last_seen).map(|t| {
                                        (c.user_agent.clone(), c.address.clone(), t, c.requests)
                                    })
                                })
                                .collect()
                        })
                        .unwrap_or_default(),
                }
            })
            .collect())
    }
}
