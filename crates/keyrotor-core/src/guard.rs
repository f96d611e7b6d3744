//! The usage guard: the safety check in front of regenerating a key and of
//! switching key authentication off. A key used within the guard's window
//! still has clients that the change would break; the change is refused
//! and the error names them. The ARM handlers and, through ARM, the CLI
//! call this one check (`?guardWindow=` and the account's
//! `regenerationGuardMinutes`); none of them judges usage itself.

use keyrotor_types::KeySlot;
use time::OffsetDateTime;

use crate::{usage, Account, AccountKey, Actor, Error, Keyrotor, Result, UsageRecorder};

/// How far back use counts, and this node's recorder (its unflushed use is
/// written before the check, so the last second of use counts too; other
/// nodes' unflushed use, at most one flush interval, does not).
#[derive(Clone, Copy)]
pub struct Guard<'a> {
    pub window: time::Duration,
    pub recorder: &'a UsageRecorder,
}

/// The longest window a guard can judge: usage older than the retention
/// is gone, so a longer window would claim evidence that does not exist.
pub const MAX_WINDOW: time::Duration = time::Duration::days(usage::RETENTION_DAYS);

/// A key used within a guard's window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyInUse {
    pub slot: KeySlot,
    pub last_used: OffsetDateTime,
    /// (user agent, address) of the clients seen with the current value,
    /// most recent first.
    pub clients: Vec<(String, String)>,
}

impl Guard<'_> {
    /// Refuses windows the usage evidence cannot cover.
    pub fn check_window(window: time::Duration) -> Result<()> {
        if window.is_negative() || window > MAX_WINDOW {
            return Err(Error::InvalidInput(format!(
                "a guard window is between 0 and {} days (the usage retention)",
                usage::RETENTION_DAYS
            )));
        }
        Ok(())
    }
}

impl Keyrotor {
    /// The keys among `slots` whose current value was used within the
    /// guard's window.
    pub fn keys_in_use(
        &self,
        account: &Account,
        slots: &[KeySlot],
        guard: Guard<'_>,
    ) -> Result<Vec<KeyInUse>> {
        Guard::check_window(guard.window)?;
        if let Err(e) = self.flush_usage(guard.recorder) {
            tracing::warn!(error = %e, "usage flush before the guard's check failed");
        }
        let since = self.now() - guard.window;
        Ok(self
            .key_usage(account)?
            .into_iter()
            .filter(|u| slots.contains(&u.slot))
            .filter_map(|u| {
                let last_used = u.last_used.filter(|t| *t > since)?;
                Some(KeyInUse {
                    slot: u.slot,
                    last_used,
                    clients: u
                        .clients
                        .into_iter()
                        .map(|c| (c.user_agent, c.address))
                        .collect(),
                })
            })
            .collect())
    }

    /// `KeysInUse` if any of `slots` was used within the guard's window.
    pub fn ensure_idle(
        &self,
        account: &Account,
        slots: &[KeySlot],
        guard: Guard<'_>,
    ) -> Result<()> {
        let keys = self.keys_in_use(account, slots, guard)?;
        if keys.is_empty() {
            Ok(())
        } else {
            Err(Error::KeysInUse {
                kind: account.kind,
                window: guard.window,
                keys,
            })
        }
    }

    /// Regenerates `slot` unless its current value was used within the
    /// guard's window (`KeysInUse`, nothing changed). Without a guard it is
    /// [`Keyrotor::regenerate_key`] (the caller chose to force it).
    pub fn regenerate_key_guarded(
        &self,
        actor: &Actor,
        account: &Account,
        slot: KeySlot,
        guard: Option<Guard<'_>>,
    ) -> Result<AccountKey> {
        if !account.kind.has_slot(slot) {
            return Err(Error::NoSuchKey {
                kind: account.kind,
                slot,
            });
        }
        if let Some(g) = guard {
            self.ensure_idle(account, &[slot], g)?;
        }
        self.regenerate_key(actor, account, slot)
    }
}
