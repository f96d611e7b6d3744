//! Domain vocabulary shared by every keyrotor crate.
//!
//! Nothing here performs I/O or knows a wire format: these types do not derive
//! `Serialize`. Wire layers convert them explicitly.

mod names;
mod secret;

pub use names::{
    valid_object_name, AccountKind, AccountName, KeySlot, NameError, ResourceGroupName,
    SubscriptionId, VaultName,
};
pub use secret::Secret;

/// Wall-clock time source, a parameter so tests can move time.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> time::OffsetDateTime;
}

/// The real clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> time::OffsetDateTime {
        time::OffsetDateTime::now_utc()
    }
}
