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

/// A small number for the calling thread, fixed for its lifetime (threads
/// are numbered in the order they first ask). Per-thread shards of hot
/// shared state index by it, so that each worker thread writes only its own
/// cache lines.
pub fn thread_slot() -> usize {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    thread_local! {
        static SLOT: usize = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
    SLOT.with(|i| *i)
}

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
