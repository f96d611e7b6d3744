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

/// A value derived from shared state, kept per worker thread together with
/// the version of that state it was built at (a change epoch, an issuer
/// version). A reader passes the version it must be at, read from an atomic
/// *before* it asks; its thread's copy serves only if it was built at that
/// version, otherwise it is rebuilt (or reset) first. So a change is seen by
/// the next read after its version moves, while a read that hits writes
/// nothing another core writes (only its own shard's lock word).
///
/// The one snapshot type behind keyrotor's per-thread caches: the role
/// snapshot, the token issuer, verified tokens, and the data plane's
/// account cache.
pub struct Snapshot<T>(PerThread<std::sync::RwLock<Option<(u64, T)>>>);

impl<T> Default for Snapshot<T> {
    fn default() -> Self {
        Self(PerThread(
            (0..PER_THREAD_SHARDS)
                .map(|_| Padded(std::sync::RwLock::new(None)))
                .collect(),
        ))
    }
}

impl<T> Snapshot<T> {
    pub fn new() -> Self {
        Self::default()
    }

    /// Runs `f` with this thread's value when it was built at `version`;
    /// otherwise builds it with `build` (an error leaves the old one, and
    /// is returned), keeps it, and runs `f` with it.
    pub fn with<R, E>(
        &self,
        version: u64,
        build: impl FnOnce() -> Result<T, E>,
        f: impl FnOnce(&T) -> R,
    ) -> Result<R, E> {
        let shard = self.0.local();
        {
            let current = shard
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if let Some((v, value)) = &*current {
                if *v == version {
                    return Ok(f(value));
                }
            }
        }
        let value = build()?;
        let mut slot = shard
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let (_, value) = slot.insert((version, value));
        Ok(f(value))
    }

    /// Runs `f` with this thread's value if it was built at `version`.
    pub fn read<R>(&self, version: u64, f: impl FnOnce(&T) -> R) -> Option<R> {
        let current = self
            .0
            .local()
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match &*current {
            Some((v, value)) if *v == version => Some(f(value)),
            _ => None,
        }
    }

    /// Runs `f` with this thread's value for writing; a value from another
    /// version (or none yet) is first replaced by `fresh()` (for caches
    /// filled entry by entry, emptied when the version moves).
    pub fn write<R>(
        &self,
        version: u64,
        fresh: impl FnOnce() -> T,
        f: impl FnOnce(&mut T) -> R,
    ) -> R {
        let mut slot = self
            .0
            .local()
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let value = match &mut *slot {
            Some((v, value)) if *v == version => value,
            other => &mut other.insert((version, fresh())).1,
        };
        f(value)
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
            .expect("the other thread ran");
        // Two threads numbered one after the other never share a shard.
        assert_eq!(p.local().load(Ordering::Relaxed), 1);
        let all: u64 = p.iter().map(|v| v.load(Ordering::Relaxed)).sum();
        assert_eq!(all, 11);
        assert_eq!(thread_slot(), thread_slot());
    }

    #[test]
    fn a_snapshot_serves_only_its_version() {
        let s: Snapshot<String> = Snapshot::new();
        let built = std::cell::Cell::new(0);
        let build = |v: &str| {
            built.set(built.get() + 1);
            Ok::<_, ()>(v.to_string())
        };
        assert_eq!(s.with(1, || build("a"), Clone::clone), Ok("a".to_string()));
        assert_eq!(s.with(1, || build("b"), Clone::clone), Ok("a".to_string()));
        assert_eq!(built.get(), 1, "served from the snapshot");
        assert_eq!(
            s.read(2, Clone::clone),
            None,
            "another version is not served"
        );
        assert_eq!(s.with(2, || Err(()), Clone::clone), Err(()));
        assert_eq!(
            s.read(1, Clone::clone),
            Some("a".to_string()),
            "a failed build keeps the old value"
        );
        assert_eq!(s.with(2, || build("c"), Clone::clone), Ok("c".to_string()));
        s.write(3, String::new, |v| v.push('x'));
        s.write(3, String::new, |v| v.push('y'));
        assert_eq!(s.read(3, Clone::clone), Some("xy".to_string()));
        // Another thread has its own copy.
        let s = std::sync::Arc::new(s);
        let t = s.clone();
        let other = std::thread::spawn(move || t.read(3, Clone::clone))
            .join()
            .expect("the other thread ran");
        assert_eq!(other, None);
    }
}
