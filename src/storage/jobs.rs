//! The augmentation job queue (the outbox written with each turn).
//!
//! Jobs are claimed in batches under a lease owned by one replica: on
//! PostgreSQL with `FOR UPDATE SKIP LOCKED`, so replicas never claim the
//! same job; on SQLite the single writer serializes claims. A job whose
//! lease ran out (its replica died) is claimable again. A job is finished
//! only by the lease's owner, in the same transaction as its writes (see
//! `storage::apply`), which makes every job take effect exactly once; a
//! finished job's row is deleted then, so the table holds open and dead
//! jobs only. While a job runs, its lease is renewed (`renew_leases`).

use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::Row;
use uuid::Uuid;

use super::{Backend, BeginWrite, Store, on_pool};
use crate::domain::Scope;
use crate::domain::jobs::{ClaimedJob, QueueStats};
use crate::error::Result;

/// Expires the leases that ran out (their replica died or stalled), then
/// claims, in one statement: see migration 0006 for the function.
const CLAIM_POSTGRES: &str = "SELECT job_id, turn_id, namespace, entity_id, attempts, \
     trace_parent FROM memorid_claim_jobs($1, $2, $3, $4)";

/// The same as `memorid_claim_jobs` in two statements, for SQLite: jobs
/// whose lease ran out go back to the queue, to be claimed like any pending
/// job...
const EXPIRE_LEASES_SQLITE: &str = "UPDATE augmentation_jobs SET status = 'pending', \
     lease_owner = NULL, lease_until = NULL, updated_at = $1 \
     WHERE status = 'running' AND lease_until < $1";

/// ...then the oldest ready jobs are leased.
const CLAIM_SQLITE: &str = "UPDATE augmentation_jobs SET status = 'running', \
     attempts = attempts + 1, lease_owner = $1, lease_until = $2, updated_at = $3 \
     WHERE job_id IN ( \
       SELECT job_id FROM augmentation_jobs WHERE status = 'pending' AND run_after <= $3 \
       ORDER BY run_after LIMIT $4) \
     RETURNING job_id, turn_id, namespace, entity_id, attempts, trace_parent";

const RENEW_LEASES: &str = "UPDATE augmentation_jobs SET lease_until = $1 \
     WHERE job_id = ANY($2) AND lease_owner = $3 AND status = 'running'";

/// SQLite has no arrays: followed by the job id list.
const RENEW_LEASES_SQLITE: &str = "UPDATE augmentation_jobs SET lease_until = ";

const RETRY_LATER: &str = "UPDATE augmentation_jobs SET status = 'pending', lease_owner = NULL, \
     lease_until = NULL, run_after = $1, last_error = $2, updated_at = $3 \
     WHERE job_id = $4 AND lease_owner = $5 AND status = 'running'";

const BURY: &str = "UPDATE augmentation_jobs SET status = 'dead', lease_owner = NULL, \
     lease_until = NULL, last_error = $1, updated_at = $2 \
     WHERE job_id = $3 AND lease_owner = $4 AND status = 'running'";

const RELEASE: &str = "UPDATE augmentation_jobs SET status = 'pending', lease_owner = NULL, \
     lease_until = NULL, attempts = attempts - 1, updated_at = $1 \
     WHERE lease_owner = $2 AND status = 'running'";

/// What augmentation derived for an entity (facts take their mentions
/// with them).
const FORGET_DERIVED: [&str; 3] = [
    "DELETE FROM facts WHERE namespace = $1 AND entity_id = $2",
    "DELETE FROM triples WHERE namespace = $1 AND entity_id = $2",
    "DELETE FROM session_summaries WHERE namespace = $1 AND entity_id = $2",
];

/// A job per completed turn of the entity, ready in turn order; the
/// backends differ only in how a job id is made.
const REAUGMENT_POSTGRES: &str = "INSERT INTO augmentation_jobs \
     (job_id, turn_id, namespace, entity_id, status, attempts, run_after, created_at, updated_at) \
     SELECT gen_random_uuid(), turn_id, namespace, entity_id, 'pending', 0, occurred_at, $3, $3 \
     FROM turns WHERE namespace = $1 AND entity_id = $2 AND status = 'completed' \
     ON CONFLICT (turn_id) DO UPDATE SET status = 'pending', attempts = 0, last_error = NULL, \
       run_after = excluded.run_after, updated_at = excluded.updated_at \
     WHERE augmentation_jobs.status = 'dead'";

const REAUGMENT_SQLITE: &str = "INSERT INTO augmentation_jobs \
     (job_id, turn_id, namespace, entity_id, status, attempts, run_after, created_at, updated_at) \
     SELECT randomblob(16), turn_id, namespace, entity_id, 'pending', 0, occurred_at, $3, $3 \
     FROM turns WHERE namespace = $1 AND entity_id = $2 AND status = 'completed' \
     ON CONFLICT (turn_id) DO UPDATE SET status = 'pending', attempts = 0, last_error = NULL, \
       run_after = excluded.run_after, updated_at = excluded.updated_at \
     WHERE augmentation_jobs.status = 'dead'";

/// The table holds open and dead jobs only (finished ones are deleted).
const QUEUE_STATS: &str = "SELECT \
     SUM(CASE WHEN status IN ('pending', 'running') THEN 1 ELSE 0 END) AS open, \
     SUM(CASE WHEN status = 'dead' THEN 1 ELSE 0 END) AS dead, \
     MIN(CASE WHEN status IN ('pending', 'running') THEN created_at END) AS oldest \
     FROM augmentation_jobs";

/// Dead jobs back to the queue as new; followed by optional filters.
const RETRY_DEAD: &str = "UPDATE augmentation_jobs SET status = 'pending', attempts = 0, \
     lease_owner = NULL, lease_until = NULL, run_after = ";

/// Followed by the namespace, entity and optional turn filters.
const ENTITY_JOB_COUNTS: &str = "SELECT \
     SUM(CASE WHEN status IN ('pending', 'running') THEN 1 ELSE 0 END) AS open, \
     SUM(CASE WHEN status = 'dead' THEN 1 ELSE 0 END) AS dead \
     FROM augmentation_jobs WHERE namespace = ";

#[cfg(feature = "test-support")]
const LAST_ERROR: &str = "SELECT last_error FROM augmentation_jobs \
     WHERE namespace = $1 AND entity_id = $2 AND turn_id = $3";

impl Store {
    /// Claims up to `limit` ready jobs for `owner` until `lease` has passed.
    pub async fn claim_jobs(
        &self,
        owner: Uuid,
        limit: usize,
        lease: Duration,
    ) -> Result<Vec<ClaimedJob>> {
        let now = Utc::now();
        let until = now + chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::MAX);
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        macro_rules! claimed {
            ($rows:expr) => {
                $rows
                    .iter()
                    .map(|row| {
                        Ok(ClaimedJob {
                            job_id: row.try_get("job_id")?,
                            turn_id: row.try_get("turn_id")?,
                            scope: Scope {
                                namespace: row.try_get("namespace")?,
                                entity_id: row.try_get("entity_id")?,
                            },
                            attempts: row.try_get("attempts")?,
                            trace_parent: row.try_get("trace_parent")?,
                        })
                    })
                    .collect::<Result<Vec<_>, sqlx::Error>>()?
            };
        }
        let jobs = match &self.backend {
            Backend::Postgres(pool) => {
                let rows = sqlx::query(CLAIM_POSTGRES)
                    .bind(owner)
                    .bind(until)
                    .bind(now)
                    .bind(limit)
                    .fetch_all(pool)
                    .await?;
                claimed!(rows)
            }
            Backend::Sqlite(pool) => {
                let mut tx = pool.begin_write().await?;
                sqlx::query(EXPIRE_LEASES_SQLITE)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                let rows = sqlx::query(CLAIM_SQLITE)
                    .bind(owner)
                    .bind(until)
                    .bind(now)
                    .bind(limit)
                    .fetch_all(&mut *tx)
                    .await?;
                tx.commit().await?;
                claimed!(rows)
            }
        };
        Ok(jobs)
    }

    /// Extends `owner`'s leases on these jobs to `lease` from now; returns
    /// how many it still held.
    pub async fn renew_leases(&self, owner: Uuid, jobs: &[Uuid], lease: Duration) -> Result<u64> {
        let until = Utc::now() + chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::MAX);
        let renewed = match &self.backend {
            Backend::Postgres(pool) => sqlx::query(RENEW_LEASES)
                .bind(until)
                .bind(jobs)
                .bind(owner)
                .execute(pool)
                .await?
                .rows_affected(),
            Backend::Sqlite(pool) => {
                let mut query = sqlx::QueryBuilder::new(RENEW_LEASES_SQLITE);
                query
                    .push_bind(until)
                    .push(" WHERE lease_owner = ")
                    .push_bind(owner);
                query.push(" AND status = 'running' AND job_id IN (");
                let mut ids = query.separated(", ");
                for id in jobs {
                    ids.push_bind(*id);
                }
                ids.push_unseparated(")");
                query.build().execute(pool).await?.rows_affected()
            }
        };
        Ok(renewed)
    }

    /// Gives a failed job back to the queue, to run again after `delay`.
    pub async fn retry_job_later(
        &self,
        job: &ClaimedJob,
        owner: Uuid,
        error: &str,
        delay: Duration,
    ) -> Result<()> {
        let now = Utc::now();
        let run_after = now + chrono::Duration::from_std(delay).unwrap_or(chrono::Duration::MAX);
        on_pool!(self, pool => {
            sqlx::query(RETRY_LATER)
                .bind(run_after).bind(error).bind(now).bind(job.job_id).bind(owner)
                .execute(pool).await?;
        });
        Ok(())
    }

    /// Marks a job dead for good, keeping its last error.
    pub async fn bury_job(&self, job: &ClaimedJob, owner: Uuid, error: &str) -> Result<()> {
        let now = Utc::now();
        on_pool!(self, pool => {
            sqlx::query(BURY)
                .bind(error).bind(now).bind(job.job_id).bind(owner)
                .execute(pool).await?;
        });
        Ok(())
    }

    /// Hands every job `owner` still holds back to the queue (on shutdown);
    /// the attempt is not counted.
    pub async fn release_jobs(&self, owner: Uuid) -> Result<u64> {
        let now = Utc::now();
        let released = on_pool!(self, pool => {
            sqlx::query(RELEASE).bind(now).bind(owner).execute(pool).await?.rows_affected()
        });
        Ok(released)
    }

    /// Open jobs and the age of the oldest, over all namespaces.
    pub async fn queue_stats(&self) -> Result<QueueStats> {
        let stats = on_pool!(self, pool => {
            let row = sqlx::query(QUEUE_STATS).fetch_one(pool).await?;
            // SUM of no rows is NULL.
            let open: Option<i64> = row.try_get("open")?;
            let dead: Option<i64> = row.try_get("dead")?;
            let oldest: Option<DateTime<Utc>> = row.try_get("oldest")?;
            let count = |n: Option<i64>| u64::try_from(n.unwrap_or(0)).unwrap_or(0);
            QueueStats { open: count(open), oldest, dead: count(dead) }
        });
        Ok(stats)
    }

    /// Puts dead jobs back in the queue as new ones (their attempts start
    /// again from zero), e.g. once the extraction model that failed them is
    /// fixed: all of them, or a namespace's, or one entity's. Returns how
    /// many. Running replicas find them at their next poll.
    pub async fn retry_dead_jobs(
        &self,
        namespace: Option<&str>,
        entity_id: Option<&str>,
    ) -> Result<u64> {
        let now = Utc::now();
        let retried = on_pool!(self, pool => {
            let mut query = sqlx::QueryBuilder::new(RETRY_DEAD);
            query.push_bind(now).push(", updated_at = ").push_bind(now);
            query.push(" WHERE status = 'dead'");
            if let Some(namespace) = namespace {
                query.push(" AND namespace = ").push_bind(namespace);
            }
            if let Some(entity_id) = entity_id {
                query.push(" AND entity_id = ").push_bind(entity_id);
            }
            query.build().execute(pool).await?.rows_affected()
        });
        Ok(retried)
    }

    /// Re-derives an entity's memories from its stored turns: its facts,
    /// triples and session summaries are deleted and every completed turn
    /// gets a pending augmentation job again (oldest turn first; a dead
    /// job is revived, an open one kept), in one transaction. Workers of
    /// any replica then redo them like any job: bounded by the queue and
    /// resumable after a restart. Returns the jobs queued.
    pub async fn reaugment_entity(&self, scope: &Scope) -> Result<u64> {
        let now = Utc::now();
        let queued = on_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            sqlx::query(super::memory::RESET_MEMORY_VERSION)
                .bind(&scope.namespace).bind(&scope.entity_id)
                .execute(&mut *tx).await?;
            for statement in FORGET_DERIVED {
                sqlx::query(statement)
                    .bind(&scope.namespace).bind(&scope.entity_id)
                    .execute(&mut *tx).await?;
            }
            let requeue = match self.backend {
                Backend::Postgres(_) => REAUGMENT_POSTGRES,
                Backend::Sqlite(_) => REAUGMENT_SQLITE,
            };
            let queued = sqlx::query(requeue)
                .bind(&scope.namespace).bind(&scope.entity_id).bind(now)
                .execute(&mut *tx).await?.rows_affected();
            tx.commit().await?;
            queued
        });
        Ok(queued)
    }

    /// (open, dead) jobs of an entity, or of some of its turns.
    pub async fn open_jobs(&self, scope: &Scope, turn_ids: &[Uuid]) -> Result<(u64, u64)> {
        let (open, dead): (Option<i64>, Option<i64>) = on_pool!(self, pool => {
            let mut query = sqlx::QueryBuilder::new(ENTITY_JOB_COUNTS);
            query.push_bind(&scope.namespace).push(" AND entity_id = ").push_bind(&scope.entity_id);
            if !turn_ids.is_empty() {
                query.push(" AND turn_id IN (");
                let mut ids = query.separated(", ");
                for id in turn_ids {
                    ids.push_bind(*id);
                }
                ids.push_unseparated(")");
            }
            let row = query.build().fetch_one(pool).await?;
            (row.try_get("open")?, row.try_get("dead")?)
        });
        let count = |n: Option<i64>| u64::try_from(n.unwrap_or(0)).unwrap_or(0);
        Ok((count(open), count(dead)))
    }

    #[cfg(feature = "test-support")]
    /// The last error of a turn's job, if it failed.
    pub async fn job_error(&self, scope: &Scope, turn_id: Uuid) -> Result<Option<String>> {
        let error = on_pool!(self, pool => {
            sqlx::query(LAST_ERROR)
                .bind(&scope.namespace).bind(&scope.entity_id).bind(turn_id)
                .fetch_optional(pool).await?
                .map(|row| row.try_get::<Option<String>, _>("last_error"))
                .transpose()?
                .flatten()
        });
        Ok(error)
    }
}

/// The channel new jobs are announced on (see migration 0004).
const JOBS_CHANNEL: &str = "memorid_jobs";

impl Store {
    /// Calls `on_new_jobs` whenever another replica (or this one) commits
    /// new augmentation jobs, until `cancel`. PostgreSQL only: a SQLite
    /// database has one process, which wakes its workers itself. Losing
    /// the connection costs nothing but latency: workers still poll, and
    /// the listener reconnects.
    /// Calls `on_new_jobs` whenever any replica commits jobs, until
    /// cancelled (PostgreSQL LISTEN, reconnecting after errors; SQLite has
    /// no other replicas and returns at once).
    pub async fn listen_for_jobs(
        &self,
        on_new_jobs: impl Fn() + Send + Sync,
        cancel: tokio_util::sync::CancellationToken,
    ) {
        let Backend::Postgres(pool) = &self.backend else {
            return;
        };
        loop {
            let error = tokio::select! {
                _ = cancel.cancelled() => return,
                error = listen_until_error(pool, &on_new_jobs) => error,
            };
            tracing::debug!(%error, "job notifications interrupted; reconnecting");
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
        }
    }
}

async fn listen_until_error(pool: &sqlx::PgPool, on_new_jobs: &impl Fn()) -> sqlx::Error {
    let mut listener = match sqlx::postgres::PgListener::connect_with(pool).await {
        Ok(listener) => listener,
        Err(error) => return error,
    };
    if let Err(error) = listener.listen(JOBS_CHANNEL).await {
        return error;
    }
    // Jobs committed while nobody listened (at start, or before a
    // reconnect) were announced to no one.
    on_new_jobs();
    loop {
        if let Err(error) = listener.recv().await {
            return error;
        }
        on_new_jobs();
    }
}
