//! The plan's `max_rps` at run time: a worker-wide [`RateLimiter`] that hands out time slots.
//! Each request reserves the next slot and only its own user sleeps until then, so no crowd of
//! waiting users is woken at once. All arithmetic saturates: no rate, however small or large,
//! and no run, however long, makes it panic.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// A worker-wide request-rate cap (see the module doc).
#[derive(Debug)]
pub struct RateLimiter {
    origin: Instant,
    /// Nanoseconds between two slots, at least 1.
    interval_ns: u64,
    /// The next free slot, in nanoseconds since `origin`.
    next_ns: AtomicU64,
}

impl RateLimiter {
    pub fn new(per_second: f64) -> RateLimiter {
        RateLimiter {
            origin: Instant::now(),
            interval_ns: interval_ns(per_second),
            next_ns: AtomicU64::new(0),
        }
    }

    /// The instant at which the caller may send its request.
    pub fn reserve(&self) -> Instant {
        let now = u64::try_from(self.origin.elapsed().as_nanos()).unwrap_or(u64::MAX);
        let mut cur = self.next_ns.load(Ordering::Relaxed);
        loop {
            let slot = cur.max(now);
            match self.next_ns.compare_exchange_weak(
                cur,
                slot.saturating_add(self.interval_ns),
                Ordering::AcqRel,
                Ordering::Relaxed,
            ) {
                Ok(_) => return self.instant_at(slot),
                Err(actual) => cur = actual,
            }
        }
    }

    /// `origin + ns`, or the latest instant the platform can represent near it.
    fn instant_at(&self, ns: u64) -> Instant {
        const CENTURY: Duration = Duration::from_secs(100 * 365 * 86_400);
        self.origin
            .checked_add(Duration::from_nanos(ns))
            .or_else(|| self.origin.checked_add(CENTURY))
            .unwrap_or(self.origin)
    }
}

/// Nanoseconds between slots for `per_second` requests a second: at least 1, at most
/// `u64::MAX` (a rate of 0 or less, or not a number, never lets a second request through soon).
fn interval_ns(per_second: f64) -> u64 {
    let ns = 1e9 / per_second;
    if ns.is_nan() || ns < 0.0 {
        u64::MAX
    } else if ns < 1.0 {
        1
    } else {
        // `as` saturates at u64::MAX (and +inf becomes u64::MAX).
        ns as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_spaced_evenly() {
        let l = RateLimiter::new(1000.0);
        let slots: Vec<_> = (0..5).map(|_| l.reserve()).collect();
        for w in slots.windows(2) {
            assert_eq!(w[1] - w[0], Duration::from_millis(1));
        }
    }

    #[test]
    fn extreme_rates_saturate_instead_of_panicking() {
        assert_eq!(interval_ns(1e12), 1);
        assert_eq!(interval_ns(f64::INFINITY), 1);
        assert_eq!(interval_ns(1e-30), u64::MAX);
        assert_eq!(interval_ns(0.0), u64::MAX);
        assert_eq!(interval_ns(-1.0), u64::MAX);
        assert_eq!(interval_ns(f64::NAN), u64::MAX);

        // A slot interval of u64::MAX ns: the next slot would overflow; it saturates.
        let slow = RateLimiter::new(1e-30);
        let first = slow.reserve();
        let second = slow.reserve();
        let third = slow.reserve();
        assert!(second >= first + Duration::from_secs(50 * 365 * 86_400));
        assert!(third >= second);
        assert_eq!(slow.next_ns.load(Ordering::Relaxed), u64::MAX);

        // A cursor already at the end stays there.
        let fast = RateLimiter::new(1e12);
        fast.next_ns.store(u64::MAX - 1, Ordering::Relaxed);
        let a = fast.reserve();
        let b = fast.reserve();
        assert!(b >= a);
        assert_eq!(fast.next_ns.load(Ordering::Relaxed), u64::MAX);
    }
}
