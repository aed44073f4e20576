//! The augmentation stage: a fixed number of workers per replica that claim
//! jobs from the outbox table and turn completed turns into memories.
//!
//! Invariants:
//! - bounded: at most `workers` jobs run at once (a semaphore; claimed in
//!   batches of up to `batch_size` that share loads, embedding passes and
//!   one write transaction), and the
//!   hand-off from the chat path is a single wake-up permit (`JobWaker`):
//!   waking never blocks or allocates, and when many turns arrive at once
//!   the jobs simply wait in the table until a worker is free;
//! - durable: the table is the queue; a poll every `poll_interval_ms` finds
//!   jobs no wake-up announced (another replica's, or after a restart);
//! - exactly once in effect: a job's writes commit with its completion,
//!   under its lease (see `storage::jobs`); failures retry with exponential
//!   backoff and end as `dead` with the last error after `max_attempts`;
//! - leased while alive: a running batch renews its jobs' leases every
//!   third of `lease_secs`, so a slow model never loses them, and a dead
//!   replica's jobs are retaken within `lease_secs`;
//! - graceful: on shutdown no new jobs are claimed, in-flight jobs get
//!   `drain_timeout_secs`, and leases still held are released.

mod job;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Notify, Semaphore};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

pub use job::JobContext;

use crate::config::AugmentationConfig;
use crate::domain::jobs::ClaimedJob;
use crate::storage::Store;
use crate::telemetry;

/// Wakes the workers when a job was committed. Cheap to clone.
#[derive(Clone, Default)]
pub struct JobWaker(Arc<Notify>);

impl JobWaker {
    pub fn wake(&self) {
        self.0.notify_one();
    }
}

/// A running worker pool; `shutdown` drains it.
pub struct Augmenter {
    cancel: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

impl Augmenter {
    pub fn start(context: JobContext, config: AugmentationConfig, waker: JobWaker) -> Augmenter {
        let cancel = CancellationToken::new();
        let task = tokio::spawn(run(Arc::new(context), config, waker, cancel.clone()));
        Augmenter { cancel, task }
    }

    /// Stops claiming, lets in-flight jobs finish within the drain timeout,
    /// and releases the leases of any that did not.
    pub async fn shutdown(self) {
        self.cancel.cancel();
        if let Err(error) = self.task.await {
            tracing::error!(%error, "the augmentation loop failed");
        }
    }
}

/// Refreshes the queue gauges (depth, lag, dead jobs) from the database
/// every `every`: the stage owns its gauges, telemetry only names them.
pub fn spawn_queue_gauges(store: Store, every: Duration, cancel: CancellationToken) {
    tokio::spawn(async move {
        loop {
            match store.queue_stats().await {
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
    });
}

/// The retry delay after `attempts` failed attempts.
fn backoff(config: &AugmentationConfig, attempts: i32) -> Duration {
    let exponent = u32::try_from(attempts.saturating_sub(1))
        .unwrap_or(0)
        .min(16);
    Duration::from_millis(config.retry_backoff_ms)
        .saturating_mul(2u32.pow(exponent))
        .min(Duration::from_secs(300))
}

async fn run(
    context: Arc<JobContext>,
    config: AugmentationConfig,
    waker: JobWaker,
    cancel: CancellationToken,
) {
    let slots = Arc::new(Semaphore::new(config.workers));
    let mut running = JoinSet::new();
    let lease = Duration::from_secs(config.lease_secs);
    let poll = Duration::from_millis(config.poll_interval_ms);
    tracing::info!(workers = config.workers, owner = %context.owner, "augmentation started");
    'outer: loop {
        // Claim while there are free workers and ready jobs.
        loop {
            while running.try_join_next().is_some() {}
            let free = slots.available_permits();
            if free == 0 {
                break;
            }
            let want = free.min(config.batch_size);
            let jobs = match context.store.claim_jobs(context.owner, want, lease).await {
                Ok(jobs) => jobs,
                Err(error) => {
                    tracing::warn!(%error, "claiming augmentation jobs failed; will retry");
                    break;
                }
            };
            if jobs.is_empty() {
                break;
            }
            // `want` permits were free and only this loop takes them.
            let Ok(permits) = slots.clone().try_acquire_many_owned(jobs.len() as u32) else {
                break;
            };
            let context = context.clone();
            let config = config.clone();
            running.spawn(async move {
                handle(&context, &config, jobs).await;
                drop(permits);
            });
        }
        tokio::select! {
            _ = cancel.cancelled() => break 'outer,
            _ = waker.0.notified() => {}
            _ = tokio::time::sleep(poll) => {}
            Some(_) = running.join_next(), if !running.is_empty() => {}
        }
    }

    let drain = Duration::from_secs(config.drain_timeout_secs);
    let drained = tokio::time::timeout(drain, async {
        while running.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            ?drain,
            "augmentation drain timed out; abandoning in-flight jobs"
        );
        running.abort_all();
    }
    match context.store.release_jobs(context.owner).await {
        Ok(0) => {}
        Ok(released) => tracing::info!(released, "released augmentation leases"),
        Err(error) => tracing::warn!(%error, "releasing augmentation leases failed"),
    }
    tracing::info!("augmentation stopped");
}

async fn handle(context: &JobContext, config: &AugmentationConfig, jobs: Vec<ClaimedJob>) {
    let started = std::time::Instant::now();
    let outcomes = tokio::select! {
        outcomes = context.run_batch(&jobs) => outcomes,
        never = keep_leases(context, config, &jobs) => match never {},
    };
    metrics::histogram!(telemetry::BATCH_SECONDS).record(started.elapsed().as_secs_f64());
    for (job, outcome) in jobs.iter().zip(outcomes) {
        record(context, config, job, outcome).await;
    }
}

/// Renews the jobs' leases every third of the lease, for as long as it is
/// polled. A failed renewal is retried at the next tick: the lease has
/// two more thirds to run.
async fn keep_leases(
    context: &JobContext,
    config: &AugmentationConfig,
    jobs: &[ClaimedJob],
) -> std::convert::Infallible {
    let lease = Duration::from_secs(config.lease_secs);
    let ids: Vec<Uuid> = jobs.iter().map(|job| job.job_id).collect();
    let mut ticks = tokio::time::interval(lease / 3);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // The first tick is now, when the lease is fresh.
    ticks.tick().await;
    loop {
        ticks.tick().await;
        match context.store.renew_leases(context.owner, &ids, lease).await {
            Ok(held) if held < ids.len() as u64 => {
                tracing::warn!(
                    held,
                    jobs = ids.len(),
                    "some augmentation leases were lost; their writes will be dropped"
                );
            }
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, "renewing augmentation leases failed; will retry"),
        }
    }
}

/// Counts a job's outcome and, if it failed, schedules its retry or buries
/// it.
async fn record(
    context: &JobContext,
    config: &AugmentationConfig,
    job: &ClaimedJob,
    outcome: crate::error::Result<bool>,
) {
    let error = match outcome {
        Ok(applied) => {
            let outcome = if applied { "done" } else { "lost_lease" };
            metrics::counter!(telemetry::JOBS, "outcome" => outcome).increment(1);
            tracing::debug!(job_id = %job.job_id, applied, "augmentation job done");
            return;
        }
        Err(error) => error.to_string(),
    };
    let dead = job.attempts >= config.max_attempts as i32;
    let outcome = if dead { "dead" } else { "retried" };
    metrics::counter!(telemetry::JOBS, "outcome" => outcome).increment(1);
    let result = if dead {
        tracing::error!(job_id = %job.job_id, attempts = job.attempts, %error, "augmentation job is dead");
        context.store.bury_job(job, context.owner, &error).await
    } else {
        let delay = backoff(config, job.attempts);
        tracing::warn!(job_id = %job.job_id, attempts = job.attempts, ?delay, %error, "augmentation job failed; will retry");
        context
            .store
            .retry_job_later(job, context.owner, &error, delay)
            .await
    };
    if let Err(store_error) = result {
        // The lease runs out and another attempt happens anyway.
        tracing::warn!(job_id = %job.job_id, %store_error, "could not record the job's failure");
    }
}

/// A fresh lease owner id for this replica's pool.
pub fn new_owner() -> Uuid {
    Uuid::new_v4()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_caps() {
        let config = AugmentationConfig {
            retry_backoff_ms: 100,
            ..AugmentationConfig::default()
        };
        assert_eq!(backoff(&config, 1), Duration::from_millis(100));
        assert_eq!(backoff(&config, 3), Duration::from_millis(400));
        assert_eq!(backoff(&config, 40), Duration::from_secs(300));
    }
}
