//! Background tasks: polling the store's change sequences, running key
//! rotation policies.

use super::*;

/// Evaluates key rotation policies every `interval`; each rotation has its
/// audit record (written by the core) and a log line without key material.
/// Runs `job` on the blocking pool every `interval` (a late tick waits, it
/// never bunches up) and hands its result to `done`; a failure is logged
/// as `failed` (the job's error) or `crashed` (the task), and the next tick
/// tries again.
fn every<T: Send + 'static>(
    interval: Duration,
    job: impl Fn() -> anyhow::Result<T> + Clone + Send + Sync + 'static,
    done: impl Fn(T) + Send + 'static,
    failed: &'static str,
    crashed: &'static str,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match tokio::task::spawn_blocking(job.clone()).await {
                Ok(Ok(out)) => done(out),
                Ok(Err(e)) => tracing::warn!(error = %e, "{failed}"),
                Err(e) => tracing::warn!(error = %e, "{crashed}"),
            }
        }
    })
}

/// Reads the store's change sequences every `interval`, so that a change
/// committed by another process on the same store (another node, later)
/// reaches this one's caches within that bound; rebuilds the token issuer
/// when the signing keys changed.
pub(super) fn spawn_change_poller(
    state: Arc<ArmState>,
    interval: Duration,
) -> tokio::task::JoinHandle<()> {
    every(
        interval,
        move || {
            let moved = state.core.poll_changes()?;
            if moved.contains(&keyrotor_core::ChangeDomain::Signing) {
                state.sync_issuer()?;
            }
            Ok(())
        },
        |()| {},
        "change sequences could not be read; will retry",
        "change poller task failed",
    )
}

/// Runs the key rotation policies every `interval`.
pub(super) fn spawn_rotation_policies(
    core: Arc<keyrotor_core::Keyrotor>,
    interval: Duration,
) -> tokio::task::JoinHandle<()> {
    every(
        interval,
        move || Ok(core.run_rotation_policies(core.now())?),
        |done| {
            for (vault, key, version) in done {
                tracing::info!(%vault, %key, %version, "key rotated by its rotation policy");
            }
        },
        "rotation policies could not run; will retry",
        "rotation policy task failed",
    )
}

/// Removes activity-log entries older than `days` every `interval` (and at
/// start). Safe with several processes on one store: each purge is one
/// transaction that re-reads what to remove.
pub(super) fn spawn_activity_pruner(
    core: Arc<keyrotor_core::Keyrotor>,
    days: u32,
    interval: Duration,
) -> tokio::task::JoinHandle<()> {
    every(
        interval,
        move || Ok(core.prune_activity(days)?),
        move |removed| {
            if removed > 0 {
                tracing::info!(removed, days, "activity-log entries past retention removed");
            }
        },
        "the activity log could not be pruned; will retry",
        "activity-log retention task failed",
    )
}

/// Records the end of break-glass windows (keyrotor as the caller) every
/// `interval`; each window's end once, also with several processes.
pub(super) fn spawn_break_glass_recorder(
    core: Arc<keyrotor_core::Keyrotor>,
    days: u32,
    interval: Duration,
) -> tokio::task::JoinHandle<()> {
    every(
        interval,
        move || Ok(core.record_break_glass_expiries(days)?),
        |recorded| {
            if recorded > 0 {
                tracing::info!(recorded, "break-glass windows ended");
            }
        },
        "break-glass expiries could not be recorded; will retry",
        "break-glass expiry task failed",
    )
}
