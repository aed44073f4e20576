//! The one transaction that applies a batch of augmentation jobs' results.
//!
//! Each job's writes land only if this replica still holds its lease: jobs
//! are deleted first, conditioned on the lease, and only the jobs that
//! were are written — so a job's writes land exactly once, however often it
//! was retried. Then every entity touched takes its next memory version,
//! in one order (so two batches sharing entities queue, never deadlock),
//! and the rows written record it (see `MemoryVersion`).
//!
//! A batch whose facts were planned against the entities' memories at
//! some versions is checked before it commits: if another batch wrote
//! facts of one of its entities since, and the caller says those facts
//! change its plan (a similar fact, or one it refers to), nothing is
//! applied and the caller plans again against what is now known — so no
//! two batches decide about related facts of one entity without seeing
//! each other's. Unrelated writes (other facts, message vectors) do not
//! send a batch back. PostgreSQL checks right after the batch took its
//! next versions: that row lock queues it behind every batch that took
//! one before, whose writes are then visible, and a batch sent back rolls
//! back. SQLite checks first, its write transaction being exclusive.
//!
//! The batch's writes are first gathered into rows by `memory::batch`,
//! which merges what several jobs say about the same thing (one fact
//! learned twice is one row mentioned twice) and resolves replacements;
//! this module only writes them. PostgreSQL writes them over arrays (`UNNEST`):
//! the rows that carry no version first, then everything versioned in one
//! statement, so the versions are held for one statement and the commit
//! (`postgres.rs`); SQLite writes row by row (in-process, where a statement
//! costs microseconds, not a round trip; `sqlite.rs`).

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, Row, SqliteConnection};
use uuid::Uuid;

use super::memory::encode_vector;
use super::{Backend, BeginWrite, Store};
use crate::domain::Scope;
use crate::domain::memory::FactRecord;
use crate::error::Result;
pub use crate::memory::batch::JobWrites;
use crate::memory::batch::{
    CountedRow, FactRow, Owner, Rows, mentions_and_provenance, sorted_scopes, superseding,
};

/// Replacements are rare: one statement each, on both backends.
const SUPERSEDE_FACT: &str = "UPDATE facts SET valid_until = $1, superseded_by = $2, \
     updated_at = $1, memory_version = $6 \
     WHERE fact_id = $3 AND namespace = $4 AND entity_id = $5 AND valid_until IS NULL";

/// When a batch was planned, and what would change its plan.
pub struct PlannedAt<'a> {
    /// Each entity's memory version the batch was planned at.
    pub versions: &'a [(Scope, i64)],
    /// Whether these facts of the entity, written after its version
    /// (current or not), change the batch's plan.
    pub changes_plan: &'a (dyn Fn(&Scope, &[FactRecord]) -> bool + Sync),
}

/// What became of a batch.
#[derive(Debug, PartialEq, Eq)]
pub enum Applied {
    /// Written: for each job, in order, whether `owner` still held its
    /// lease (only those jobs' writes landed).
    Done(Vec<bool>),
    /// Nothing written: facts these entities learned since the batch was
    /// planned change its plan.
    Moved(Vec<Scope>),
}

impl Store {
    /// Applies several jobs' results in one transaction: each job's writes
    /// land only if `owner` still holds that job's lease, and only if no
    /// entity of `planned` learned facts since that change its plan.
    pub async fn apply_augmentations(
        &self,
        owner: Uuid,
        items: &[JobWrites<'_>],
        planned: Option<&PlannedAt<'_>>,
    ) -> Result<Applied> {
        if items.is_empty() {
            return Ok(Applied::Done(Vec::new()));
        }
        let scopes = sorted_scopes(items);
        let mut planned_at = planned.map(|p| p.versions.to_vec()).unwrap_or_default();
        planned_at.sort_by(|(a, _), (b, _)| {
            (&a.namespace, &a.entity_id).cmp(&(&b.namespace, &b.entity_id))
        });
        let no_change = |_: &Scope, _: &[FactRecord]| false;
        let changes_plan = planned.map_or(&no_change as _, |p| p.changes_plan);
        match &self.backend {
            Backend::Postgres(pool) => {
                // Checked after the batch took its versions (see postgres.rs):
                // a batch sent back has its transaction rolled back.
                let mut tx = pool.begin_write().await?;
                let applied =
                    postgres::apply(&mut tx, owner, items, &scopes, &planned_at, changes_plan)
                        .await?;
                if matches!(applied, Applied::Done(_)) {
                    tx.commit().await?;
                }
                Ok(applied)
            }
            Backend::Sqlite(pool) => {
                // The write transaction is exclusive: nothing moves under it.
                let mut tx = pool.begin_write().await?;
                let moved = sqlite::moved(&mut tx, &planned_at, changes_plan).await?;
                if !moved.is_empty() {
                    return Ok(Applied::Moved(moved));
                }
                let applied = sqlite::apply(&mut tx, owner, items, &scopes).await?;
                tx.commit().await?;
                Ok(Applied::Done(applied))
            }
        }
    }
}

/// Keeps the items whose job is in `done`, and says which were.
fn owned<'a>(items: &[JobWrites<'a>], done: &[Uuid]) -> (Vec<JobWrites<'a>>, Vec<bool>) {
    let applied: Vec<bool> = items
        .iter()
        .map(|(job, _, _)| done.contains(&job.job_id))
        .collect();
    let kept = items
        .iter()
        .zip(&applied)
        .filter(|(_, owned)| **owned)
        .map(|(item, _)| *item)
        .collect();
    (kept, applied)
}

mod postgres;
mod sqlite;
