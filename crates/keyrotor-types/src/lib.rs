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
/// are numbered in the order they first ask); [`PerThread`] indexes by it.
pub fn thread_slot() -> usize {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    thread_local! {
        static SLOT: usize = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
    SLOT.with(|i| *i)
}

/// One `T` per worker thread, each on cache lines of its own, for hot state
/// that every request writes (a lock word, a reference count, a counter):
/// each thread writes only its own, so nothing bounces between the cores.
/// Indexed by [`thread_slot`]; more threads than shards share (correctly,
/// only less cheaply).
pub struct PerThread<T>(Box<[Padded<T>]>);

#[derive(Default)]
#[repr(align(128))]
struct Padded<T>(T);

/// Shards of a [`PerThread`].
const PER_THREAD_SHARDS: usize = 16;

impl<T: Default> Default for PerThread<T> {
    fn default() -> Self {
        Self((0..PER_THREAD_SHARDS).map(|_| Padded::default()).collect())
    }
}

impl<T> PerThread<T> {
    /// The calling thread's.
    pub fn local(&self) -> &T {
        &self.0[thread_slot() % self.0.len()].0
    }

    /// Every thread's (to merge or clear them).
    pub fn iter(&self) -> impl Iterator<Item = &T> {
        self.0.iter().map(|p| &p.0)
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};

    #[test]
    fn per_thread_values_are_the_threads_own_and_all_visible() {
        let p = std::sync::Arc::new(PerThread::<AtomicU64>::default());
        p.local().fetch_add(1, Ordering::Relaxed);
        let q = p.clone();
        std::thread::spawn(move || q.local().fetch_add(10, Ordering::Relaxed))
            .join()
            .unwrap_or_else(|_| panic!("thread panicked"));
        // Two threads numbered one after the other never share a shard.
        assert_eq!(p.local().load(Ordering::Relaxed), 1);
        let all: u64 = p.iter().map(|v| v.load(Ordering::Relaxed)).sum();
        assert_eq!(all, 11);
        assert_eq!(thread_slot(), thread_slot());
    }
}
