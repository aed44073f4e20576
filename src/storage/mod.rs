//! Storage: the only code that speaks SQL.
//!
//! Two backends pass the same test suite: PostgreSQL (production, shared by
//! stateless replicas) and SQLite (the embedded default). Most statements
//! are written once and run on both: `on_pool!` expands a body once per
//! backend, so each copy is type-checked against its own driver. Where the
//! dialects differ, the difference is spelled out at that statement.
//!
//! Invariants: every statement that touches memory filters by namespace and
//! entity; a write that spans rows runs in one transaction, so a failure
//! leaves nothing half-written.
//!
//! A few reads exist only so tests and benches can check what was written
//! (`turn_to_augment`, `current_facts`, `fact_provenance`, `job_error`,
//! `count_jobs`); they are compiled with the `test-support` feature, which
//! the crate's own dev-dependency turns on, and are not part of the
//! service's API.

mod apply;
pub mod jobs;
mod keys;
pub mod memory;
mod turns;
pub mod vectors;

use std::str::FromStr;
use std::time::Duration;

use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, Postgres, Sqlite, SqlitePool, Transaction};

use crate::config::StorageConfig;
use crate::error::{Error, Result};

pub use apply::{Applied, PlannedAt};

/// A connection pool to one of the two backends.
#[derive(Clone, Debug)]
pub enum Backend {
    Postgres(PgPool),
    Sqlite(SqlitePool),
}

/// The storage handle; cheap to clone.
#[derive(Clone, Debug)]
pub struct Store {
    backend: Backend,
}

/// Runs `$body` with `$pool` bound to the concrete pool of `$store`.
macro_rules! on_pool {
    ($store:expr, $pool:ident => $body:expr) => {
        match &$store.backend {
            $crate::storage::Backend::Postgres($pool) => $body,
            $crate::storage::Backend::Sqlite($pool) => $body,
        }
    };
}
pub(crate) use on_pool;

/// Opens a write transaction the right way for each backend.
pub(crate) trait BeginWrite {
    type Db: sqlx::Database;
    fn begin_write(
        &self,
    ) -> impl Future<Output = Result<Transaction<'static, Self::Db>, sqlx::Error>> + Send;
}

impl BeginWrite for PgPool {
    type Db = Postgres;
    fn begin_write(
        &self,
    ) -> impl Future<Output = Result<Transaction<'static, Postgres>, sqlx::Error>> + Send {
        self.begin()
    }
}

impl BeginWrite for SqlitePool {
    type Db = Sqlite;
    // A deferred SQLite transaction that reads first and writes later can
    // fail with SQLITE_BUSY without waiting; IMMEDIATE takes the write lock
    // up front, so concurrent writers queue on busy_timeout instead.
    fn begin_write(
        &self,
    ) -> impl Future<Output = Result<Transaction<'static, Sqlite>, sqlx::Error>> + Send {
        self.begin_with("BEGIN IMMEDIATE")
    }
}

const POSTGRES_MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "init",
        include_str!("../../migrations/postgres/0001_init.sql"),
    ),
    (
        2,
        "augmentation",
        include_str!("../../migrations/postgres/0002_augmentation.sql"),
    ),
    (
        3,
        "memory versions",
        include_str!("../../migrations/postgres/0003_memory_versions.sql"),
    ),
    (
        4,
        "job notifications",
        include_str!("../../migrations/postgres/0004_job_notify.sql"),
    ),
    (
        5,
        "job queue",
        include_str!("../../migrations/postgres/0005_job_queue.sql"),
    ),
    (
        6,
        "claim function",
        include_str!("../../migrations/postgres/0006_claim_function.sql"),
    ),
    (
        7,
        "message indexes",
        include_str!("../../migrations/postgres/0007_message_indexes.sql"),
    ),
    (
        8,
        "api keys",
        include_str!("../../migrations/postgres/0008_api_keys.sql"),
    ),
    (
        9,
        "job trace context",
        include_str!("../../migrations/postgres/0009_job_trace_context.sql"),
    ),
];

const SQLITE_MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "init",
        include_str!("../../migrations/sqlite/0001_init.sql"),
    ),
    (
        2,
        "augmentation",
        include_str!("../../migrations/sqlite/0002_augmentation.sql"),
    ),
    (
        3,
        "memory versions",
        include_str!("../../migrations/sqlite/0003_memory_versions.sql"),
    ),
    // 4 (job notifications) is PostgreSQL's only.
    (
        5,
        "job queue",
        include_str!("../../migrations/sqlite/0005_job_queue.sql"),
    ),
    // 6 (the claim function) is PostgreSQL's only: SQLite runs the same
    // two statements in a transaction.
    (
        7,
        "message indexes",
        include_str!("../../migrations/sqlite/0007_message_indexes.sql"),
    ),
    (
        8,
        "api keys",
        include_str!("../../migrations/sqlite/0008_api_keys.sql"),
    ),
    (
        9,
        "job trace context",
        include_str!("../../migrations/sqlite/0009_job_trace_context.sql"),
    ),
];

/// The migrations are compiled into the binary, so a deployed server needs
/// no files next to it.
fn migrator(migrations: &[(i64, &'static str, &'static str)]) -> Migrator {
    Migrator::with_migrations(
        migrations
            .iter()
            .map(|(version, description, sql)| {
                Migration::new(
                    *version,
                    (*description).into(),
                    MigrationType::Simple,
                    sqlx::SqlSafeStr::into_sql_str(*sql),
                    false,
                )
            })
            .collect(),
    )
}

impl Store {
    /// Connects to `config.url` (`postgres://…` or `sqlite:…`). A SQLite
    /// file is created if missing.
    pub async fn connect(config: &StorageConfig) -> Result<Store> {
        let acquire_timeout = Duration::from_secs(config.acquire_timeout_secs);
        let url = config.url.as_str();
        let backend = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let options = PgConnectOptions::from_str(url)
                .map_err(|e| Error::invalid("storage.url", e.to_string()))?;
            let pool = PgPoolOptions::new()
                .max_connections(config.max_connections)
                .acquire_timeout(acquire_timeout)
                .connect_with(options)
                .await
                .map_err(|e| Error::StorageUnavailable(format!("connecting to PostgreSQL: {e}")))?;
            Backend::Postgres(pool)
        } else {
            let options = SqliteConnectOptions::from_str(url)
                .map_err(|e| Error::invalid("storage.url", e.to_string()))?
                .create_if_missing(true)
                .foreign_keys(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(10));
            let pool = SqlitePoolOptions::new()
                .max_connections(config.max_connections)
                .acquire_timeout(acquire_timeout)
                .connect_with(options)
                .await
                .map_err(|e| Error::StorageUnavailable(format!("opening SQLite: {e}")))?;
            Backend::Sqlite(pool)
        };
        Ok(Store { backend })
    }

    /// `postgres` or `sqlite`.
    pub fn kind(&self) -> &'static str {
        match self.backend {
            Backend::Postgres(_) => "postgres",
            Backend::Sqlite(_) => "sqlite",
        }
    }

    /// Applies the pending migrations of this backend.
    pub async fn migrate(&self) -> Result<()> {
        let result = match &self.backend {
            Backend::Postgres(pool) => migrator(POSTGRES_MIGRATIONS).run(pool).await,
            Backend::Sqlite(pool) => migrator(SQLITE_MIGRATIONS).run(pool).await,
        };
        result.map_err(|e| Error::StorageUnavailable(format!("migrating: {e}")))
    }

    /// Closes the pool, waiting for connections in use to be returned.
    pub async fn close(&self) {
        on_pool!(self, pool => pool.close().await)
    }
}
