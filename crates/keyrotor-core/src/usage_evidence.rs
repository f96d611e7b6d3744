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
        let mut stored = self.store.usage(account.id)?;
        Ok(info
            .iter()
            .map(|k| {
                let u = stored
                    .iter()
                    .position(|u| u.slot == k.slot)
                    .map(|i| stored.swap_remove(i));
                // Last use and clients count only for the current value.
                let (would_reject, hourly, current) = match u {
                    Some(u) if u.generation == k.generation => {
                        (u.would_reject, u.hourly, Some((u.last_used, u.clients)))
                    }
                    Some(u) => (u.would_reject, u.hourly, None),
                    None => (0, Vec::new(), None),
                };
                let (last_used, clients) = current.unwrap_or_default();
                KeyUsage {
                    slot: k.slot,
                    generation: k.generation,
                    would_reject,
                    last_used,
                    hourly,
                    clients,
                }
            })
            .collect())
    }
}
