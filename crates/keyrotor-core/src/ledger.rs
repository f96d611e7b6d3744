//! The key ledger: the newest key generation acknowledged for each account
//! key slot, kept outside the database, so that a database restored from a
//! backup cannot bring a replaced key back (security lessons I2, V14).
//!
//! What keyrotor promises: after every acknowledged regeneration (and every
//! account deletion), the ledger holds a generation at least as new as the
//! one the database holds. When a restored database holds an older
//! generation for a slot than the ledger, that slot's value is one that was
//! replaced after the backup: the data planes refuse it (503
//! `RestoredStateRequiresRotation`) until the slot is regenerated, and its
//! next generation is numbered above the ledger's, so no generation is ever
//! used twice. Slots unchanged since the backup keep working, and so do
//! bearer tokens. The promise holds as long as the ledger itself is not
//! restored with the database (keep it out of database backups; see
//! README "Backups and restores").

use std::collections::HashMap;
use std::sync::Mutex;

use keyrotor_types::KeySlot;

/// One acknowledged state of a slot: the account's `uid` (never reused), the
/// slot, and the generation it is at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerEntry {
    pub account_uid: String,
    pub slot: KeySlot,
    pub generation: u64,
}

#[derive(Debug, thiserror::Error)]
#[error("the key ledger could not be written: {0}")]
pub struct LedgerError(pub String);

/// Where the ledger lives. Implementations keep the maximum generation per
/// (account, slot): a recorded generation never decreases.
pub trait KeyLedger: Send + Sync {
    /// Records entries durably before returning.
    fn record(&self, entries: &[LedgerEntry]) -> Result<(), LedgerError>;
    /// The newest generation recorded for the slot, if any.
    fn latest(&self, account_uid: &str, slot: KeySlot) -> Option<u64>;
}

/// The maxima a ledger holds, shared by the implementations.
#[derive(Debug, Default)]
pub struct LedgerMap(HashMap<(String, KeySlot), u64>);

impl LedgerMap {
    pub fn apply(&mut self, e: &LedgerEntry) {
        let g = self.0.entry((e.account_uid.clone(), e.slot)).or_insert(0);
        *g = (*g).max(e.generation);
    }

    pub fn apply_all(&mut self, entries: &[LedgerEntry]) {
        for e in entries {
            self.apply(e);
        }
    }

    pub fn get(&self, account_uid: &str, slot: KeySlot) -> Option<u64> {
        self.0.get(&(account_uid.to_string(), slot)).copied()
    }

    /// Every (account, slot) with its newest generation.
    pub fn entries(&self) -> impl Iterator<Item = LedgerEntry> + '_ {
        self.0.iter().map(|((uid, slot), g)| LedgerEntry {
            account_uid: uid.clone(),
            slot: *slot,
            generation: *g,
        })
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// A ledger in process memory: correct while the process runs, no
/// protection across a restore (tests, and embedders without backups).
#[derive(Debug, Default)]
pub struct MemoryLedger(Mutex<LedgerMap>);

impl KeyLedger for MemoryLedger {
    fn record(&self, entries: &[LedgerEntry]) -> Result<(), LedgerError> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .apply_all(entries);
        Ok(())
    }

    fn latest(&self, account_uid: &str, slot: KeySlot) -> Option<u64> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(account_uid, slot)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generations_never_decrease() {
        let l = MemoryLedger::default();
        let e = |g| LedgerEntry {
            account_uid: "u".into(),
            slot: KeySlot::Primary,
            generation: g,
        };
        l.record(&[e(3), e(2)]).expect("record");
        assert_eq!(l.latest("u", KeySlot::Primary), Some(3));
        assert_eq!(l.latest("u", KeySlot::Secondary), None);
        l.record(&[e(5)]).expect("record");
        assert_eq!(l.latest("u", KeySlot::Primary), Some(5));
    }
}
