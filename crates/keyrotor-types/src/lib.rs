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
pub use secret::{ct_eq, Secret};

/// Wall-clock time source, a parameter so tests can move time.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> time::OffsetDateTime;

    /// The same instant in Unix seconds. The per-request hot path needs only
    /// this; a clock may answer it without building a calendar date.
    fn unix_now(&self) -> i64 {
        self.now().unix_timestamp()
    }
}

/// The real clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> time::OffsetDateTime {
        time::OffsetDateTime::now_utc()
    }

    fn unix_now(&self) -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
    }
}
