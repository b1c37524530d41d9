//! Bounded exponential backoff with full jitter (AWS's "Exponential Backoff and Jitter"): the
//! wait before retry `n` is uniform in `[0, min(cap, base * 2^n))`, so that writers who collided
//! spread out instead of colliding again in step, and the number of tries is bounded so that a
//! request always ends well inside the function's timeout.

use std::time::Duration;

/// How many times to try, and how long to wait between tries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// Tries in all, the first included (at least 1).
    pub attempts: u32,
    /// The ceiling of the first wait; each later ceiling doubles it.
    pub base: Duration,
    /// No wait is longer than this.
    pub cap: Duration,
}

impl Backoff {
    /// Transaction conflicts: four tries within about half a second in the worst case.
    pub const CONFLICTS: Backoff =
        Backoff { attempts: 4, base: Duration::from_millis(25), cap: Duration::from_millis(250) };

    /// Keys and items a batch left unprocessed (DynamoDB's throttling of batches): six tries
    /// within about two seconds in the worst case.
    pub const UNPROCESSED: Backoff =
        Backoff { attempts: 6, base: Duration::from_millis(50), cap: Duration::from_millis(800) };

    /// The ceiling of the wait before retry `retry` (0 for the first retry).
    pub fn ceiling(&self, retry: u32) -> Duration {
        let doubled = self.base.saturating_mul(1u32.checked_shl(retry.min(31)).unwrap_or(u32::MAX));
        doubled.min(self.cap)
    }

    /// A wait drawn uniformly below the ceiling of retry `retry` (full jitter).
    pub fn delay(&self, retry: u32) -> Duration {
        let ceiling = self.ceiling(retry).as_micros() as u64;
        if ceiling == 0 {
            return Duration::ZERO;
        }
        // Jitter needs no secrecy; when the OS has no randomness to give, the ceiling still
        // bounds the wait.
        let draw = getrandom::u64().unwrap_or(ceiling / 2);
        Duration::from_micros(draw % ceiling)
    }

    /// Waits before retry `retry`.
    pub async fn pause(&self, retry: u32) {
        tokio::time::sleep(self.delay(retry)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ceilings_double_up_to_the_cap_and_delays_stay_below_them() {
        let b = Backoff::CONFLICTS;
        let ceilings: Vec<u128> = (0..6).map(|r| b.ceiling(r).as_millis()).collect();
        assert_eq!(ceilings, [25, 50, 100, 200, 250, 250]);
        assert_eq!(b.ceiling(u32::MAX), b.cap, "no overflow on absurd retry numbers");
        for retry in 0..6 {
            for _ in 0..200 {
                assert!(b.delay(retry) < b.ceiling(retry));
            }
        }
    }

    #[test]
    fn delays_are_spread_not_in_step() {
        let b = Backoff::UNPROCESSED;
        let draws: std::collections::BTreeSet<Duration> = (0..50).map(|_| b.delay(3)).collect();
        assert!(draws.len() > 40, "full jitter draws differ: {draws:?}");
    }

    #[test]
    fn worst_case_total_wait_is_bounded() {
        for b in [Backoff::CONFLICTS, Backoff::UNPROCESSED] {
            let worst: Duration = (0..b.attempts - 1).map(|r| b.ceiling(r)).sum();
            assert!(worst <= Duration::from_secs(2), "{b:?}: {worst:?}");
        }
    }
}
