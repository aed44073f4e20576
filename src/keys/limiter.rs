//! Per-key limits: a token bucket for calls a second and a count of calls
//! in flight. Both answer at once; nothing here waits.

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use crate::domain::keys::KeyLimits;

/// Why a call was refused.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Refusal {
    /// Over the rate; a token is back after this long.
    Rate { retry_after: Duration },
    /// Too many calls of this key in flight.
    Concurrency { limit: u32 },
}

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    refilled_at: Instant,
}

/// The live state of one key's limits.
#[derive(Debug)]
pub struct Limiter {
    limits: KeyLimits,
    bucket: Mutex<Bucket>,
    in_flight: Arc<AtomicU32>,
}

/// A call in flight; dropping it ends the call for the concurrency count.
#[derive(Debug)]
pub struct CallPermit {
    in_flight: Option<Arc<AtomicU32>>,
}

impl CallPermit {
    /// A permit of a call no limit counts.
    pub fn unlimited() -> CallPermit {
        CallPermit { in_flight: None }
    }
}

impl Drop for CallPermit {
    fn drop(&mut self) {
        if let Some(in_flight) = &self.in_flight {
            in_flight.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

impl Limiter {
    pub fn new(limits: KeyLimits) -> Limiter {
        Limiter {
            limits,
            bucket: Mutex::new(Bucket {
                tokens: burst(limits),
                refilled_at: Instant::now(),
            }),
            in_flight: Arc::new(AtomicU32::new(0)),
        }
    }

    pub fn limits(&self) -> KeyLimits {
        self.limits
    }

    /// Admits one call now, or says why not.
    pub fn try_acquire(&self, now: Instant) -> Result<CallPermit, Refusal> {
        if let Some(rate) = self.limits.requests_per_second {
            let mut bucket = self.bucket.lock().unwrap_or_else(|e| e.into_inner());
            let elapsed = now.saturating_duration_since(bucket.refilled_at);
            bucket.tokens = (bucket.tokens + elapsed.as_secs_f64() * rate).min(burst(self.limits));
            bucket.refilled_at = now;
            if bucket.tokens < 1.0 {
                let retry_after = Duration::from_secs_f64((1.0 - bucket.tokens) / rate);
                return Err(Refusal::Rate { retry_after });
            }
            bucket.tokens -= 1.0;
        }
        let Some(limit) = self.limits.max_concurrent_calls else {
            return Ok(CallPermit { in_flight: None });
        };
        let admitted = self
            .in_flight
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < limit).then_some(n + 1)
            })
            .is_ok();
        if !admitted {
            // The token taken above is not given back: a caller hammering
            // at its concurrency limit is also using up its rate.
            return Err(Refusal::Concurrency { limit });
        }
        Ok(CallPermit {
            in_flight: Some(self.in_flight.clone()),
        })
    }
}

/// A bucket holds one second's worth of calls, and at least one.
fn burst(limits: KeyLimits) -> f64 {
    limits.requests_per_second.map_or(0.0, |rate| rate.max(1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rate_allows_a_burst_then_refills() {
        let limiter = Limiter::new(KeyLimits {
            requests_per_second: Some(2.0),
            max_concurrent_calls: None,
        });
        let start = Instant::now();
        assert!(limiter.try_acquire(start).is_ok());
        assert!(limiter.try_acquire(start).is_ok());
        match limiter.try_acquire(start) {
            Err(Refusal::Rate { retry_after }) => {
                assert!(
                    retry_after > Duration::from_millis(400)
                        && retry_after <= Duration::from_millis(500)
                );
            }
            other => panic!("expected a rate refusal, got {other:?}"),
        }
        assert!(
            limiter
                .try_acquire(start + Duration::from_millis(500))
                .is_ok()
        );
    }

    #[test]
    fn concurrency_counts_permits_until_dropped() {
        let limiter = Limiter::new(KeyLimits {
            requests_per_second: None,
            max_concurrent_calls: Some(1),
        });
        let now = Instant::now();
        let first = limiter.try_acquire(now).unwrap();
        assert_eq!(
            limiter.try_acquire(now).unwrap_err(),
            Refusal::Concurrency { limit: 1 }
        );
        drop(first);
        assert!(limiter.try_acquire(now).is_ok());
    }
}
