//! The augmentation job queue as one component: this replica's side of
//! the jobs table (see `storage::jobs` for the SQL and its guarantees),
//! under one lease owner, one lease length and one retry policy — claim,
//! keep leases, settle a failure (retry later or bury), release on
//! shutdown, and the queue's gauges and wake-ups as background tasks.

use std::time::Duration;

use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::config::AugmentationConfig;
use crate::domain::jobs::ClaimedJob;
use crate::error::Result;
use crate::retry::RetryPolicy;
use crate::storage::Store;
use crate::telemetry;

/// The longest wait before a failed job is retried.
const MAX_RETRY_DELAY: Duration = Duration::from_secs(300);

#[derive(Clone)]
pub struct JobQueue {
    store: Store,
    owner: Uuid,
    lease: Duration,
    retry: RetryPolicy,
    max_attempts: u32,
}

/// What became of a failed job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// Back in the queue, ready after this delay.
    Retried(Duration),
    /// Out of attempts: dead, with its error kept.
    Dead,
}

impl JobQueue {
    pub fn new(store: Store, owner: Uuid, config: &AugmentationConfig) -> JobQueue {
        JobQueue {
            store,
            owner,
            lease: Duration::from_secs(config.lease_secs),
            retry: Self::retry_policy(config),
            max_attempts: config.max_attempts,
        }
    }

    /// Jobs retry without jitter: they wait in the table, not in callers.
    fn retry_policy(config: &AugmentationConfig) -> RetryPolicy {
        RetryPolicy {
            initial: Duration::from_millis(config.retry_backoff_ms),
            max: MAX_RETRY_DELAY,
            jitter: false,
        }
    }

    /// The lease owner id every claim and write of this replica uses.
    pub fn owner(&self) -> Uuid {
        self.owner
    }

    /// How long a claim holds a job unless renewed.
    pub fn lease(&self) -> Duration {
        self.lease
    }

    /// Leases up to `limit` ready jobs, oldest first.
    pub async fn claim(&self, limit: usize) -> Result<Vec<ClaimedJob>> {
        self.store.claim_jobs(self.owner, limit, self.lease).await
    }

    /// Renews the leases of `jobs`; how many were still held.
    pub async fn renew(&self, jobs: &[Uuid]) -> Result<u64> {
        self.store.renew_leases(self.owner, jobs, self.lease).await
    }

    /// Puts a failed job back with its backoff, or buries it once its
    /// attempts are used up; `error` is kept either way.
    pub async fn fail(&self, job: &ClaimedJob, error: &str) -> Result<Failure> {
        if job.attempts >= self.max_attempts as i32 {
            self.store.bury_job(job, self.owner, error).await?;
            return Ok(Failure::Dead);
        }
        let attempts = u32::try_from(job.attempts).unwrap_or(1);
        let delay = self.retry.delay(attempts, 0.0);
        self.store
            .retry_job_later(job, self.owner, error, delay)
            .await?;
        Ok(Failure::Retried(delay))
    }

    /// Hands back every lease this replica still holds (on shutdown).
    pub async fn release(&self) -> Result<u64> {
        self.store.release_jobs(self.owner).await
    }

    /// Refreshes the queue gauges (depth, lag, dead jobs) every `every`
    /// until cancelled.
    pub async fn report_gauges(&self, every: Duration, cancel: CancellationToken) {
        loop {
            match self.store.queue_stats().await {
                Ok(stats) => {
                    metrics::gauge!(telemetry::QUEUE_DEPTH).set(stats.open as f64);
                    let lag = stats
                        .oldest
                        .map(|t| (chrono::Utc::now() - t).num_milliseconds().max(0) as f64 / 1000.0)
                        .unwrap_or(0.0);
                    metrics::gauge!(telemetry::JOB_LAG).set(lag);
                    metrics::gauge!(telemetry::DEAD_JOBS).set(stats.dead as f64);
                }
                Err(error) => tracing::debug!(%error, "reading queue stats failed"),
            }
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = tokio::time::sleep(every) => {}
            }
        }
    }

    /// Calls `on_new_jobs` whenever any replica commits jobs (PostgreSQL
    /// LISTEN/NOTIFY; on SQLite the in-process waker suffices and this
    /// returns at once), until cancelled.
    pub async fn listen(&self, on_new_jobs: impl Fn() + Send + Sync, cancel: CancellationToken) {
        self.store.listen_for_jobs(on_new_jobs, cancel).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_double_from_the_configured_backoff_up_to_five_minutes() {
        let config = AugmentationConfig {
            retry_backoff_ms: 100,
            ..AugmentationConfig::default()
        };
        let policy = JobQueue::retry_policy(&config);
        assert_eq!(policy.delay(1, 0.0), Duration::from_millis(100));
        assert_eq!(policy.delay(3, 0.0), Duration::from_millis(400));
        assert_eq!(policy.delay(40, 0.0), Duration::from_secs(300));
    }
}
