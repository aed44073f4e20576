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
mod queue;
mod reembed;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Notify, Semaphore};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use uuid::Uuid;

pub use job::JobContext;
pub use queue::{Failure, JobQueue};

use crate::config::AugmentationConfig;
use crate::domain::jobs::ClaimedJob;
use crate::{telemetry, traces};
use opentelemetry::trace::TraceContextExt;
use tracing::{Instrument, Span};
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// Wakes the workers when a job was committed. Cheap to clone.
#[derive(Clone, Default)]
pub struct JobWaker(Arc<Notify>);

impl JobWaker {
    pub fn wake(&self) {
        self.0.notify_one();
    }
}

/// A running worker pool, with the queue's gauges and wake-ups; `shutdown`
/// drains it.
pub struct Augmenter {
    cancel: CancellationToken,
    tasks: TaskTracker,
}

impl Augmenter {
    /// Starts the workers, the queue gauges and the job listener as tasks
    /// of `tasks`, which shutdown waits for.
    pub fn start(
        context: JobContext,
        config: AugmentationConfig,
        waker: JobWaker,
        tasks: &TaskTracker,
    ) -> Augmenter {
        let cancel = CancellationToken::new();
        let queue = JobQueue::new(context.store.clone(), context.owner, &config);
        let gauges = queue.clone();
        let stop = cancel.clone();
        tasks.spawn(async move { gauges.report_gauges(Duration::from_secs(5), stop).await });
        // Jobs committed by any replica wake this one's workers at once.
        let listener = queue.clone();
        let (wake, stop) = (waker.clone(), cancel.clone());
        tasks.spawn(async move { listener.listen(move || wake.wake(), stop).await });
        // Vectors of an earlier model are replaced in the background.
        tasks.spawn(reembed::run(
            context.store.clone(),
            context.embedder.clone(),
            cancel.clone(),
        ));
        tasks.spawn(run(Arc::new(context), queue, config, waker, cancel.clone()));
        Augmenter {
            cancel,
            tasks: tasks.clone(),
        }
    }

    /// Stops claiming, lets in-flight jobs finish within the drain timeout,
    /// releases the leases of any that did not, and waits for every task of
    /// the tracker the stage was started on.
    pub async fn shutdown(self) {
        self.cancel.cancel();
        self.tasks.close();
        self.tasks.wait().await;
    }
}

async fn run(
    context: Arc<JobContext>,
    queue: JobQueue,
    config: AugmentationConfig,
    waker: JobWaker,
    cancel: CancellationToken,
) {
    let slots = Arc::new(Semaphore::new(config.workers));
    let mut running = JoinSet::new();
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
            let jobs = match queue.claim(want).await {
                Ok(jobs) => jobs,
                Err(error) => {
                    tracing::warn!(error = %error.for_log(), "claiming augmentation jobs failed; will retry");
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
            let (context, queue) = (context.clone(), queue.clone());
            running.spawn(async move {
                handle(&context, &queue, jobs).await;
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
    match queue.release().await {
        Ok(0) => {}
        Ok(released) => tracing::info!(released, "released augmentation leases"),
        Err(error) => {
            tracing::warn!(error = %error.for_log(), "releasing augmentation leases failed")
        }
    }
    tracing::info!("augmentation stopped");
}

/// Runs one batch. Traced as a batch span linked to every turn's trace,
/// and a span per job inside the trace of the call that stored its turn
/// (linked back to the batch), so a turn's extraction shows in its trace.
async fn handle(context: &JobContext, queue: &JobQueue, jobs: Vec<ClaimedJob>) {
    let started = std::time::Instant::now();
    let batch =
        tracing::info_span!(parent: None, "augmentation_batch", memorid.jobs = jobs.len() as i64);
    for job in &jobs {
        if let Some(turn) = job
            .trace_parent
            .as_deref()
            .and_then(traces::parse_traceparent)
        {
            batch.add_link(turn);
        }
    }
    let job_spans: Vec<Span> = jobs.iter().map(|job| job_span(job, &batch)).collect();
    let outcomes = tokio::select! {
        outcomes = context.run_batch(&jobs).instrument(batch.clone()) => outcomes,
        never = keep_leases(queue, &jobs) => match never {},
    };
    metrics::histogram!(telemetry::BATCH_SECONDS).record(started.elapsed().as_secs_f64());
    for ((job, outcome), span) in jobs.iter().zip(outcomes).zip(job_spans) {
        record(queue, job, outcome).instrument(span).await;
    }
}

/// A job's span: a child of the stored turn's trace when it has one.
fn job_span(job: &ClaimedJob, batch: &Span) -> Span {
    let span = tracing::info_span!(
        parent: None,
        "augmentation_job",
        memorid.turn_id = %job.turn_id,
        memorid.job.attempt = job.attempts,
        memorid.job.outcome = tracing::field::Empty,
        trace_id = tracing::field::Empty,
    );
    traces::continue_stored(&span, job.trace_parent.as_deref());
    span.add_link(batch.context().span().span_context().clone());
    span
}

/// Renews the jobs' leases every third of the lease, for as long as it is
/// polled. A failed renewal is retried at the next tick: the lease has
/// two more thirds to run.
async fn keep_leases(queue: &JobQueue, jobs: &[ClaimedJob]) -> std::convert::Infallible {
    let ids: Vec<Uuid> = jobs.iter().map(|job| job.job_id).collect();
    let mut ticks = tokio::time::interval(queue.lease() / 3);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // The first tick is now, when the lease is fresh.
    ticks.tick().await;
    loop {
        ticks.tick().await;
        match queue.renew(&ids).await {
            Ok(held) if held < ids.len() as u64 => {
                tracing::warn!(
                    held,
                    jobs = ids.len(),
                    "some augmentation leases were lost; their writes will be dropped"
                );
            }
            Ok(_) => {}
            Err(error) => {
                tracing::warn!(error = %error.for_log(), "renewing augmentation leases failed; will retry")
            }
        }
    }
}

/// Counts a job's outcome and, if it failed, schedules its retry or buries
/// it.
async fn record(queue: &JobQueue, job: &ClaimedJob, outcome: crate::error::Result<bool>) {
    let error = match outcome {
        Ok(applied) => {
            let outcome = if applied { "done" } else { "lost_lease" };
            Span::current().record("memorid.job.outcome", outcome);
            metrics::counter!(telemetry::JOBS, "outcome" => outcome).increment(1);
            tracing::debug!(job_id = %job.job_id, applied, "augmentation job done");
            return;
        }
        Err(error) => error.to_string(),
    };
    match queue.fail(job, &error).await {
        Ok(Failure::Dead) => {
            Span::current().record("memorid.job.outcome", "dead");
            metrics::counter!(telemetry::JOBS, "outcome" => "dead").increment(1);
            tracing::error!(job_id = %job.job_id, attempts = job.attempts, error = %crate::error::loggable(&error), "augmentation job is dead");
        }
        Ok(Failure::Retried(delay)) => {
            Span::current().record("memorid.job.outcome", "retried");
            metrics::counter!(telemetry::JOBS, "outcome" => "retried").increment(1);
            tracing::warn!(job_id = %job.job_id, attempts = job.attempts, ?delay, error = %crate::error::loggable(&error), "augmentation job failed; will retry");
        }
        // The lease runs out and another attempt happens anyway.
        Err(store_error) => {
            tracing::warn!(job_id = %job.job_id, %store_error, error = %crate::error::loggable(&error), "could not record the job's failure");
        }
    }
}

/// A fresh lease owner id for this replica's pool.
pub fn new_owner() -> Uuid {
    Uuid::new_v4()
}
