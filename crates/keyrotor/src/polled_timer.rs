//! The HTTP/1 header-read timeout without a timer-wheel entry per request.
//!
//! hyper arms its header-read timeout for every request head it starts to
//! read (keep-alive connections included): with tokio's timer that is a boxed
//! `Sleep` registered in the runtime's timer wheel and removed again for each
//! request, about 700 instructions and a driver lock per request on a path
//! that otherwise costs a few thousand (measured with callgrind).
//!
//! Here a deadline is only a point in time that is compared with the clock
//! when hyper polls it (no waker is registered), and each connection is
//! driven by [`polled_every`], which polls the connection at least once per
//! tick. A connection that sends nothing, or a header slowly, is therefore
//! closed between the timeout and the timeout plus one tick, with one timer
//! per connection instead of one per request.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

/// A [`hyper::rt::Timer`] whose sleeps are deadlines checked when polled.
/// Only for connections driven by [`polled_every`].
#[derive(Debug, Clone, Copy, Default)]
pub struct PolledTimer;

/// A deadline: ready once the clock has passed it.
#[derive(Debug)]
struct Deadline(Instant);

impl Future for Deadline {
    type Output = ();

    fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
        if Instant::now() >= self.0 {
            Poll::Ready(())
        } else {
            // No waker: `polled_every` polls the connection (and so this
            // deadline) at least once per tick.
            Poll::Pending
        }
    }
}

impl hyper::rt::Sleep for Deadline {}

impl hyper::rt::Timer for PolledTimer {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn hyper::rt::Sleep>> {
        Box::pin(Deadline(Instant::now() + duration))
    }

    fn sleep_until(&self, deadline: Instant) -> Pin<Box<dyn hyper::rt::Sleep>> {
        Box::pin(Deadline(deadline))
    }

    fn reset(&self, sleep: &mut Pin<Box<dyn hyper::rt::Sleep>>, new_deadline: Instant) {
        match sleep.as_mut().downcast_mut_pin::<Deadline>() {
            Some(mut d) => d.0 = new_deadline,
            None => *sleep = self.sleep_until(new_deadline),
        }
    }
}

/// Drives `conn` to completion, polling it at least once every `tick` so
/// that its [`PolledTimer`] deadlines fire without wakers of their own.
pub async fn polled_every<F: Future>(conn: F, tick: Duration) -> F::Output {
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + tick, tick);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut conn = std::pin::pin!(conn);
    loop {
        tokio::select! {
            biased;
            out = &mut conn => return out,
            _ = ticks.tick() => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::rt::Timer as _;

    #[tokio::test]
    async fn a_deadline_fires_only_when_polled_after_it() {
        let t = PolledTimer;
        let mut s = t.sleep(Duration::from_millis(30));
        let waker = futures_noop_waker();
        let mut cx = Context::from_waker(&waker);
        assert!(s.as_mut().poll(&mut cx).is_pending());
        std::thread::sleep(Duration::from_millis(40));
        assert!(s.as_mut().poll(&mut cx).is_ready());
        // reset moves the same deadline (no new allocation needed).
        t.reset(&mut s, Instant::now() + Duration::from_secs(60));
        assert!(s.as_mut().poll(&mut cx).is_pending());
    }

    #[tokio::test]
    async fn polled_every_wakes_a_future_that_registered_no_waker() {
        // A future that is ready only after its deadline and never arranges
        // a wake-up of its own completes because the driver polls it.
        let t = PolledTimer;
        let s = t.sleep(Duration::from_millis(50));
        let started = Instant::now();
        tokio::time::timeout(
            Duration::from_secs(5),
            polled_every(s, Duration::from_millis(20)),
        )
        .await
        .unwrap_or_else(|_| panic!("the deadline never fired"));
        let took = started.elapsed();
        assert!(took >= Duration::from_millis(50), "{took:?}");
        assert!(took < Duration::from_secs(2), "{took:?}");
    }

    fn futures_noop_waker() -> std::task::Waker {
        std::task::Waker::noop().clone()
    }
}
