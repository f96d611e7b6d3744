//! Background tasks: polling the store's change sequences, running key
//! rotation policies.

use super::*;

/// Evaluates key rotation policies every `interval`; each rotation has its
/// audit record (written by the core) and a log line without key material.
/// Reads the store's change sequences every `interval`, so that a change
/// committed by another process on the same store (another node, later)
/// reaches this one's caches within that bound; rebuilds the token issuer
/// when the signing keys changed.
pub(super) fn spawn_change_poller(
    state: Arc<ArmState>,
    interval: Duration,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let st = state.clone();
            let polled = tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
                let moved = st.core.poll_changes()?;
                if moved.contains(&keyrotor_core::ChangeDomain::Signing) {
                    st.sync_issuer()?;
                }
                Ok(())
            })
            .await;
            match polled {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, "change sequences could not be read; will retry")
                }
                Err(e) => tracing::warn!(error = %e, "change poller task failed"),
            }
        }
    })
}

pub(super) fn spawn_rotation_policies(
    core: Arc<keyrotor_core::Keyrotor>,
    interval: Duration,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let c = core.clone();
            match tokio::task::spawn_blocking(move || c.run_rotation_policies(c.now())).await {
                Ok(Ok(done)) => {
                    for (vault, key, version) in done {
                        tracing::info!(%vault, %key, %version, "key rotated by its rotation policy");
                    }
                }
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, "rotation policies could not run; will retry")
                }
                Err(e) => tracing::warn!(error = %e, "rotation policy task failed"),
            }
        }
    })
}
