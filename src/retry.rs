//! One retry policy for everything that retries: provider routing before
//! the first token, and augmentation jobs. Exponential from `initial`,
//! doubling per failed attempt, capped at `max`; with jitter, "equal
//! jitter": half the step is fixed, half random, so many callers' retries
//! spread out.

use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    pub initial: Duration,
    pub max: Duration,
    pub jitter: bool,
}

impl RetryPolicy {
    /// The delay after `attempt` (≥ 1) failed attempts; `unit` in [0, 1)
    /// is the random share when jittered.
    pub fn delay(&self, attempt: u32, unit: f64) -> Duration {
        let doublings = attempt.saturating_sub(1).min(31);
        let step = self
            .initial
            .saturating_mul(2u32.saturating_pow(doublings))
            .min(self.max);
        if self.jitter {
            step / 2 + step.mul_f64(unit.clamp(0.0, 1.0) / 2.0)
        } else {
            step
        }
    }

    /// `delay` with a fresh random share.
    pub fn next_delay(&self, attempt: u32) -> Duration {
        self.delay(attempt, fastrand::f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_cap_and_jitter_within_bounds() {
        let jittered = RetryPolicy {
            initial: Duration::from_millis(100),
            max: Duration::from_millis(1000),
            jitter: true,
        };
        assert_eq!(jittered.delay(1, 0.0), Duration::from_millis(50));
        assert_eq!(jittered.delay(1, 1.0), Duration::from_millis(100));
        assert_eq!(jittered.delay(3, 0.0), Duration::from_millis(200));
        assert_eq!(jittered.delay(10, 1.0), Duration::from_millis(1000));
        assert_eq!(jittered.delay(40, 0.5), Duration::from_millis(750));
        let plain = RetryPolicy {
            jitter: false,
            max: Duration::from_secs(300),
            ..jittered
        };
        assert_eq!(plain.delay(1, 0.9), Duration::from_millis(100));
        assert_eq!(plain.delay(3, 0.9), Duration::from_millis(400));
        assert_eq!(plain.delay(40, 0.9), Duration::from_secs(300));
        assert_eq!(plain.delay(0, 0.9), Duration::from_millis(100));
    }
}
