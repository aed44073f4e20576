//! Augmentation jobs as the stage and operators see them: a job leased to
//! this replica, and the counts of an entity's or the whole queue's jobs.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::Scope;

/// A job this replica holds a lease on.
#[derive(Debug, Clone)]
pub struct ClaimedJob {
    pub job_id: Uuid,
    pub turn_id: Uuid,
    pub scope: Scope,
    /// Attempts so far, this one included.
    pub attempts: i32,
    /// The traceparent of the call that stored the turn, if traced.
    pub trace_parent: Option<String>,
}

/// How many of an entity's augmentation jobs are open, and dead (a finished
/// job is deleted).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JobCounts {
    pub pending: u64,
    pub running: u64,
    pub dead: u64,
}

/// The queue as operators see it.
#[derive(Debug, Clone, Copy, Default)]
pub struct QueueStats {
    /// Jobs pending or running.
    pub open: u64,
    /// When the oldest open job was created.
    pub oldest: Option<DateTime<Utc>>,
    /// Jobs that ran out of attempts (see `retry_dead_jobs`).
    pub dead: u64,
}
