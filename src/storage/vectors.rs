//! Stored vectors of another embedding model: finding them and replacing
//! them with the current model's (see `memory::reembed`).
//!
//! Invariants:
//! - A pass walks each table once in primary-key order (`after` is the
//!   last key seen), so a whole pass costs one index scan however many
//!   batches it takes, and a restarted pass only re-reads rows it skips.
//! - A replacement lands only on a row that is unchanged since it was
//!   read (same `memory_version`, same model): a memory rewritten in
//!   between keeps its own newer vector.
//! - Each replacement bumps its entity's memory version in the same
//!   transaction, so cached indexes pick the new vectors up.

use sqlx::Row;
use uuid::Uuid;

use super::memory::encode_vector;
use super::{BeginWrite, Store, on_pool};
use crate::error::Result;

/// Which table a stored vector is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VectorTable {
    Messages,
    Facts,
}

/// A memory whose vector is of another model.
#[derive(Debug, Clone)]
pub struct StaleVector {
    pub id: Uuid,
    pub namespace: String,
    pub entity_id: String,
    /// The message's speaker, if named (facts have none).
    pub name: Option<String>,
    pub content: String,
    pub memory_version: i64,
}

/// A memory and its vector of the current model.
pub type Replacement = (StaleVector, Vec<f32>);

const STALE_MESSAGES: &str = "SELECT message_id AS id, namespace, entity_id, name, content, \
     memory_version FROM messages \
     WHERE message_id > $1 AND embedding_model IS NOT NULL AND embedding_model <> $2 \
     ORDER BY message_id LIMIT $3";

const STALE_FACTS: &str = "SELECT fact_id AS id, namespace, entity_id, NULL AS name, content, \
     memory_version FROM facts \
     WHERE fact_id > $1 AND embedding_model IS NOT NULL AND embedding_model <> $2 \
     ORDER BY fact_id LIMIT $3";

const COUNT_STALE: &str = "SELECT \
     (SELECT COUNT(*) FROM messages WHERE embedding_model IS NOT NULL AND embedding_model <> $1) \
     + (SELECT COUNT(*) FROM facts WHERE embedding_model IS NOT NULL AND embedding_model <> $1) \
     AS n";

const REPLACE_MESSAGE: &str = "UPDATE messages SET embedding = $1, embedding_model = $2, \
     embedding_dim = $3, memory_version = $4 \
     WHERE message_id = $5 AND memory_version = $6 \
       AND embedding_model IS NOT NULL AND embedding_model <> $2";

const REPLACE_FACT: &str = "UPDATE facts SET embedding = $1, embedding_model = $2, \
     embedding_dim = $3, memory_version = $4 \
     WHERE fact_id = $5 AND memory_version = $6 \
       AND embedding_model IS NOT NULL AND embedding_model <> $2";

impl Store {
    /// Up to `limit` memories of `table` after key `after` whose vector is
    /// not of `model`, in key order.
    pub async fn stale_vectors(
        &self,
        table: VectorTable,
        model: &str,
        after: Uuid,
        limit: i64,
    ) -> Result<Vec<StaleVector>> {
        let statement = match table {
            VectorTable::Messages => STALE_MESSAGES,
            VectorTable::Facts => STALE_FACTS,
        };
        let rows = on_pool!(self, pool => {
            sqlx::query(statement)
                .bind(after).bind(model).bind(limit)
                .fetch_all(pool).await?
                .iter()
                .map(|row| Ok(StaleVector {
                    id: row.try_get("id")?,
                    namespace: row.try_get("namespace")?,
                    entity_id: row.try_get("entity_id")?,
                    name: row.try_get("name")?,
                    content: row.try_get("content")?,
                    memory_version: row.try_get("memory_version")?,
                }))
                .collect::<std::result::Result<Vec<_>, sqlx::Error>>()?
        });
        Ok(rows)
    }

    /// How many stored vectors are not of `model`.
    pub async fn count_stale_vectors(&self, model: &str) -> Result<i64> {
        let n = on_pool!(self, pool => {
            sqlx::query(COUNT_STALE).bind(model).fetch_one(pool).await?.try_get::<i64, _>("n")?
        });
        Ok(n)
    }

    /// Replaces the vectors of `memories` (all of one table) with `model`'s,
    /// one transaction per entity; returns how many rows took the new
    /// vector (fewer when some changed since they were read).
    pub async fn replace_vectors(
        &self,
        table: VectorTable,
        model: &str,
        memories: &[Replacement],
    ) -> Result<u64> {
        let statement = match table {
            VectorTable::Messages => REPLACE_MESSAGE,
            VectorTable::Facts => REPLACE_FACT,
        };
        let mut by_entity: std::collections::BTreeMap<(&str, &str), Vec<&Replacement>> =
            Default::default();
        for memory in memories {
            let (stale, _) = memory;
            by_entity
                .entry((&stale.namespace, &stale.entity_id))
                .or_default()
                .push(memory);
        }
        let mut replaced = 0;
        for ((namespace, entity_id), group) in by_entity {
            replaced += on_pool!(self, pool => {
                let mut tx = pool.begin_write().await?;
                let version: i64 = sqlx::query(super::memory::BUMP_MEMORY_VERSION)
                    .bind(namespace).bind(entity_id)
                    .fetch_one(&mut *tx).await?.try_get("version")?;
                let mut replaced = 0;
                for (stale, vector) in group {
                    let dimension = i32::try_from(vector.len()).unwrap_or(i32::MAX);
                    replaced += sqlx::query(statement)
                        .bind(encode_vector(vector)).bind(model).bind(dimension)
                        .bind(version).bind(stale.id).bind(stale.memory_version)
                        .execute(&mut *tx).await?.rows_affected();
                }
                tx.commit().await?;
                replaced
            });
        }
        Ok(replaced)
    }
}
