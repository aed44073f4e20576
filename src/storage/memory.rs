//! Memories: facts (with embeddings and provenance), triples, process
//! attributes, session summaries and the message index, as augmentation
//! and recall read them (`apply` writes them).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sqlx::Row;
use uuid::Uuid;

use super::{BeginWrite, Store, on_pool};
use crate::domain::memory::{
    FactCategory, FactRecord, IndexedMessage, Memory, MemoryKind, MemoryVersion, MessageMemory,
    TurnToAugment,
};
use crate::domain::{Role, Scope};
use crate::error::{Error, Result};

/// Vectors are stored as little-endian f32 bytes.
pub fn encode_vector(vector: &[f32]) -> Vec<u8> {
    vector.iter().flat_map(|v| v.to_le_bytes()).collect()
}

pub fn decode_vector(bytes: &[u8]) -> Vec<f32> {
    bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

/// Followed by a turn id filter.
const SELECT_TURNS: &str =
    "SELECT turn_id, namespace, entity_id, session_id, process_id, occurred_at FROM turns";

/// Followed by a turn id filter; only the rows of turns kept are used.
const SELECT_MESSAGES: &str = "SELECT turn_id, message_id, role, name, content, \
     embedding IS NOT NULL AS embedded FROM messages";

/// Followed by a (namespace, entity_id, session_id) filter.
const SELECT_SUMMARIES: &str =
    "SELECT namespace, entity_id, session_id, summary FROM session_summaries";

const FACT_COLUMNS: &str = "fact_id, content, category, mention_count, first_seen_at, \
     last_seen_at, valid_until, superseded_by, embedding";

#[cfg(feature = "test-support")]
const SELECT_CURRENT_FACTS: &str = "SELECT fact_id, content, category, mention_count, first_seen_at, \
     last_seen_at, valid_until, superseded_by, embedding \
     FROM facts WHERE namespace = $1 AND entity_id = $2 AND valid_until IS NULL";

const EMBEDDING_MODELS: &str = "SELECT embedding_model, embedding_dim, COUNT(*) AS n FROM ( \
       SELECT embedding_model, embedding_dim FROM facts WHERE embedding_model IS NOT NULL \
       UNION ALL \
       SELECT embedding_model, embedding_dim FROM messages WHERE embedding_model IS NOT NULL \
     ) AS vectors GROUP BY embedding_model, embedding_dim";

/// Followed by the entity id and a fact id list.
const FACT_PROVENANCE: &str = "SELECT m.fact_id, m.turn_id FROM fact_mentions m \
     JOIN facts f ON f.fact_id = m.fact_id WHERE f.namespace = ";

const SELECT_MEMORY_VERSION: &str =
    "SELECT version, reset_version FROM memory_versions WHERE namespace = $1 AND entity_id = $2";

/// The entity's next version, for a write that adds or changes memories.
pub(super) const BUMP_MEMORY_VERSION: &str = "INSERT INTO memory_versions (namespace, entity_id, version, reset_version) \
     VALUES ($1, $2, 1, 0) ON CONFLICT (namespace, entity_id) \
     DO UPDATE SET version = memory_versions.version + 1 RETURNING version";

/// As above, for a write that removes memories.
pub(super) const RESET_MEMORY_VERSION: &str = "INSERT INTO memory_versions (namespace, entity_id, version, reset_version) \
     VALUES ($1, $2, 1, 1) ON CONFLICT (namespace, entity_id) \
     DO UPDATE SET version = memory_versions.version + 1, \
       reset_version = memory_versions.version + 1";

/// Reads for more entities than this take several statements (SQLite
/// allows 500 parts in a `UNION ALL`).
const READS_PER_STATEMENT: usize = 64;

/// One entity's facts: columns, then tables; `load_memories` adds the
/// entity's conditions on `f`.
const LOAD_FACTS: (&str, &str) = (
    "f.fact_id, f.content, f.category, f.mention_count, f.first_seen_at, f.last_seen_at, \
     f.valid_until, f.superseded_by, f.embedding",
    "FROM facts f",
);

/// One entity's message index, likewise (its conditions on `m`).
const LOAD_MESSAGES: (&str, &str) = (
    "m.message_id, m.turn_id, m.session_id, t.process_id, m.role, m.content, m.name, \
     m.occurred_at, m.embedding",
    "FROM messages m JOIN turns t ON t.turn_id = m.turn_id \
       AND t.namespace = m.namespace AND t.entity_id = m.entity_id",
);

const DELETE_FACT: &str =
    "DELETE FROM facts WHERE fact_id = $1 AND namespace = $2 AND entity_id = $3";

fn parse_role(text: &str) -> Result<Role> {
    Role::parse(text).ok_or_else(|| Error::Internal(format!("stored role {text:?} is unknown")))
}

macro_rules! fact_from_row {
    ($row:expr) => {{
        let row = $row;
        let embedding: Option<Vec<u8>> = row.try_get("embedding")?;
        FactRecord {
            fact_id: row.try_get("fact_id")?,
            content: row.try_get("content")?,
            category: FactCategory::parse(&row.try_get::<String, _>("category")?),
            mention_count: row.try_get("mention_count")?,
            first_seen_at: row.try_get("first_seen_at")?,
            last_seen_at: row.try_get("last_seen_at")?,
            valid_until: row.try_get("valid_until")?,
            superseded_by: row.try_get("superseded_by")?,
            embedding: embedding.as_deref().map(decode_vector),
        }
    }};
}

/// Followed by nothing: an entity's facts (current or not) written after
/// a memory version, for a batch's check at commit.
const FACTS_WRITTEN_SINCE: &str = "SELECT fact_id, content, category, mention_count, \
     first_seen_at, last_seen_at, valid_until, superseded_by, embedding FROM facts \
     WHERE namespace = $1 AND entity_id = $2 AND memory_version > $3";

/// A PostgreSQL row with the fact columns, as a fact record.
pub(super) fn fact_from_row(row: &sqlx::postgres::PgRow) -> Result<FactRecord> {
    let fact: Result<FactRecord, sqlx::Error> = (|| Ok(fact_from_row!(row)))();
    Ok(fact?)
}

/// An entity's facts written after `version`, in a SQLite transaction.
pub(super) async fn facts_written_since_sqlite(
    conn: &mut sqlx::SqliteConnection,
    scope: &Scope,
    version: i64,
) -> Result<Vec<FactRecord>> {
    Ok(sqlx::query(FACTS_WRITTEN_SINCE)
        .bind(&scope.namespace)
        .bind(&scope.entity_id)
        .bind(version)
        .fetch_all(conn)
        .await?
        .iter()
        .map(|row| Ok(fact_from_row!(row)))
        .collect::<Result<Vec<FactRecord>, sqlx::Error>>()?)
}

/// A row of one of the LOAD_ queries: the memory and its vector (decoded
/// once; an index keeps it apart from the fact record).
macro_rules! memory_from_row {
    ($row:expr, $kind:expr) => {{
        let row = $row;
        match $kind {
            MemoryKind::Facts => {
                let mut fact = fact_from_row!(row);
                let vector = fact.embedding.take().unwrap_or_default();
                (Memory::Fact(fact), vector)
            }
            MemoryKind::Messages => {
                let embedding: Vec<u8> = row.try_get("embedding")?;
                let role: String = row.try_get("role")?;
                let message = MessageMemory {
                    message_id: row.try_get("message_id")?,
                    turn_id: row.try_get("turn_id")?,
                    session_id: row.try_get("session_id")?,
                    process_id: row.try_get("process_id")?,
                    role: Role::parse(&role).ok_or_else(|| {
                        sqlx::Error::Decode(format!("stored role {role:?} is unknown").into())
                    })?,
                    content: row.try_get("content")?,
                    name: row.try_get("name")?,
                    occurred_at: row.try_get("occurred_at")?,
                };
                (Memory::Message(message), decode_vector(&embedding))
            }
        }
    }};
}

impl Store {
    #[cfg(feature = "test-support")]
    /// A turn with its messages and its session's summary, or `None` if it
    /// is gone (e.g. the entity was forgotten).
    pub async fn turn_to_augment(
        &self,
        scope: &Scope,
        turn_id: Uuid,
    ) -> Result<Option<TurnToAugment>> {
        let mut turns = self.turns_to_augment(&[(scope.clone(), turn_id)]).await?;
        Ok(turns.remove(&turn_id))
    }

    /// Several turns at once (three queries whatever their number), by id;
    /// turns that are gone are missing from the map.
    pub async fn turns_to_augment(
        &self,
        wanted: &[(Scope, Uuid)],
    ) -> Result<HashMap<Uuid, TurnToAugment>> {
        if wanted.is_empty() {
            return Ok(HashMap::new());
        }
        type TurnRow = (Uuid, String, String, String, Option<String>, DateTime<Utc>);
        type MessageRow = (Uuid, Uuid, String, Option<String>, String, bool);
        type SummaryRow = (String, String, String, String);
        let (turn_rows, message_rows, summaries): (Vec<TurnRow>, Vec<MessageRow>, Vec<SummaryRow>) = on_pool!(self, pool => {
            // Rows are found by turn id alone, so the planner always takes
            // the turn-id indexes (with no statistics yet it would rather
            // scan the entity's index); the scope is checked below.
            let by_turn = |sql: &str| {
                let mut query = sqlx::QueryBuilder::new(sql);
                query.push(" WHERE turn_id IN (");
                let mut ids = query.separated(", ");
                for (_, turn_id) in wanted {
                    ids.push_bind(*turn_id);
                }
                ids.push_unseparated(")");
                query
            };
            let mut query = by_turn(SELECT_TURNS);
            let turn_rows = query.build().fetch_all(pool).await?
                .iter()
                .map(|row| Ok((
                    row.try_get("turn_id")?, row.try_get("namespace")?, row.try_get("entity_id")?,
                    row.try_get("session_id")?, row.try_get("process_id")?, row.try_get("occurred_at")?,
                )))
                .collect::<Result<Vec<TurnRow>, sqlx::Error>>()?;
            // A job can only ever read its own entity's turn.
            let turn_rows: Vec<TurnRow> = turn_rows
                .into_iter()
                .filter(|(turn_id, namespace, entity_id, ..)| {
                    wanted.iter().any(|(scope, id)| {
                        id == turn_id && scope.namespace == *namespace && scope.entity_id == *entity_id
                    })
                })
                .collect();
            let mut query = by_turn(SELECT_MESSAGES);
            query.push(" ORDER BY turn_id, position");
            let message_rows = query.build().fetch_all(pool).await?
                .iter()
                .map(|row| Ok((
                    row.try_get("turn_id")?, row.try_get("message_id")?, row.try_get("role")?,
                    row.try_get("name")?, row.try_get("content")?, row.try_get("embedded")?,
                )))
                .collect::<Result<Vec<MessageRow>, sqlx::Error>>()?;
            let summaries = if turn_rows.is_empty() {
                Vec::new()
            } else {
                let mut query = sqlx::QueryBuilder::new(SELECT_SUMMARIES);
                query.push(" WHERE (namespace, entity_id, session_id) IN (VALUES ");
                let mut rows = query.separated(", ");
                for (_, namespace, entity_id, session_id, _, _) in &turn_rows {
                    rows.push("(");
                    rows.push_bind_unseparated(namespace.clone());
                    rows.push_unseparated(", ");
                    rows.push_bind_unseparated(entity_id.clone());
                    rows.push_unseparated(", ");
                    rows.push_bind_unseparated(session_id.clone());
                    rows.push_unseparated(")");
                }
                query.push(")");
                query.build().fetch_all(pool).await?
                    .iter()
                    .map(|row| Ok((
                        row.try_get("namespace")?, row.try_get("entity_id")?,
                        row.try_get("session_id")?, row.try_get("summary")?,
                    )))
                    .collect::<Result<Vec<_>, sqlx::Error>>()?
            };
            (turn_rows, message_rows, summaries)
        });

        let summaries: HashMap<(String, String, String), String> = summaries
            .into_iter()
            .map(|(namespace, entity, session, summary)| ((namespace, entity, session), summary))
            .collect();
        let mut turns: HashMap<Uuid, TurnToAugment> = turn_rows
            .into_iter()
            .map(
                |(turn_id, namespace, entity_id, session_id, process_id, occurred_at)| {
                    let summary = summaries
                        .get(&(namespace, entity_id, session_id.clone()))
                        .cloned();
                    (
                        turn_id,
                        TurnToAugment {
                            turn_id,
                            session_id,
                            process_id,
                            occurred_at,
                            messages: Vec::new(),
                            summary,
                        },
                    )
                },
            )
            .collect();
        for (turn_id, message_id, role, name, content, embedded) in message_rows {
            if let Some(turn) = turns.get_mut(&turn_id) {
                turn.messages.push(IndexedMessage {
                    message_id,
                    role: parse_role(&role)?,
                    name,
                    content,
                    embedded,
                });
            }
        }
        Ok(turns)
    }

    #[cfg(feature = "test-support")]
    /// The entity's current facts, with their embeddings.
    pub async fn current_facts(&self, scope: &Scope) -> Result<Vec<FactRecord>> {
        let facts = on_pool!(self, pool => {
            sqlx::query(SELECT_CURRENT_FACTS)
                .bind(&scope.namespace).bind(&scope.entity_id)
                .fetch_all(pool).await?
                .iter()
                .map(|row| Ok(fact_from_row!(row)))
                .collect::<Result<Vec<_>, sqlx::Error>>()?
        });
        Ok(facts)
    }

    /// A page of the entity's facts, newest first, after `after` (a fact
    /// id from the previous page).
    pub async fn list_facts(
        &self,
        scope: &Scope,
        include_superseded: bool,
        after: Option<Uuid>,
        limit: usize,
    ) -> Result<Vec<FactRecord>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let facts = on_pool!(self, pool => {
            let mut query = sqlx::QueryBuilder::new(format!("SELECT {FACT_COLUMNS} FROM facts WHERE namespace = "));
            query.push_bind(&scope.namespace).push(" AND entity_id = ").push_bind(&scope.entity_id);
            if !include_superseded {
                query.push(" AND valid_until IS NULL");
            }
            if let Some(after) = after {
                query.push(" AND fact_id < ").push_bind(after);
            }
            query.push(" ORDER BY fact_id DESC LIMIT ").push_bind(limit);
            query.build().fetch_all(pool).await?
                .iter()
                .map(|row| Ok(fact_from_row!(row)))
                .collect::<Result<Vec<_>, sqlx::Error>>()?
        });
        Ok(facts)
    }

    /// (model, dimension, count) of every kind of stored vector.
    pub async fn embedding_models(&self) -> Result<Vec<(String, i32, i64)>> {
        let models = on_pool!(self, pool => {
            sqlx::query(EMBEDDING_MODELS)
                .fetch_all(pool).await?
                .iter()
                .map(|row| Ok((row.try_get("embedding_model")?, row.try_get("embedding_dim")?, row.try_get("n")?)))
                .collect::<Result<Vec<_>, sqlx::Error>>()?
        });
        Ok(models)
    }

    #[cfg(feature = "test-support")]
    /// The turns that mentioned a fact, oldest first.
    pub async fn fact_provenance(&self, scope: &Scope, fact_id: Uuid) -> Result<Vec<Uuid>> {
        let mut all = self.facts_provenance(scope, &[fact_id]).await?;
        Ok(all.remove(&fact_id).unwrap_or_default())
    }

    /// The turns that mentioned each of the facts, oldest first (one query
    /// whatever their number); facts of other entities have none.
    pub async fn facts_provenance(
        &self,
        scope: &Scope,
        fact_ids: &[Uuid],
    ) -> Result<HashMap<Uuid, Vec<Uuid>>> {
        if fact_ids.is_empty() {
            return Ok(HashMap::new());
        }
        let rows: Vec<(Uuid, Uuid)> = on_pool!(self, pool => {
            let mut query = sqlx::QueryBuilder::new(FACT_PROVENANCE);
            query.push_bind(&scope.namespace).push(" AND f.entity_id = ").push_bind(&scope.entity_id);
            query.push(" AND m.fact_id IN (");
            let mut ids = query.separated(", ");
            for id in fact_ids {
                ids.push_bind(*id);
            }
            query.push(") ORDER BY m.fact_id, m.turn_id");
            query.build().fetch_all(pool).await?
                .iter()
                .map(|row| Ok((row.try_get("fact_id")?, row.try_get("turn_id")?)))
                .collect::<Result<Vec<_>, sqlx::Error>>()?
        });
        let mut provenance: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
        for (fact_id, turn_id) in rows {
            provenance.entry(fact_id).or_default().push(turn_id);
        }
        Ok(provenance)
    }

    /// The entity's memory version (a primary-key read: recall checks it
    /// before every search to know whether its cached index is current).
    pub async fn memory_version(&self, scope: &Scope) -> Result<MemoryVersion> {
        let row: Option<(i64, i64)> = on_pool!(self, pool => {
            sqlx::query_as(SELECT_MEMORY_VERSION)
                .bind(&scope.namespace).bind(&scope.entity_id)
                .fetch_optional(pool).await?
        });
        Ok(row
            .map(|(version, reset)| MemoryVersion { version, reset })
            .unwrap_or_default())
    }

    /// The memory versions of several entities at once (one query).
    pub async fn memory_versions(&self, scopes: &[Scope]) -> Result<HashMap<Scope, MemoryVersion>> {
        let mut versions: HashMap<Scope, MemoryVersion> = scopes
            .iter()
            .map(|s| (s.clone(), MemoryVersion::default()))
            .collect();
        if scopes.is_empty() {
            return Ok(versions);
        }
        let rows: Vec<(String, String, i64, i64)> = on_pool!(self, pool => {
            let mut query = sqlx::QueryBuilder::new(
                "SELECT namespace, entity_id, version, reset_version FROM memory_versions \
                 WHERE (namespace, entity_id) IN (VALUES ");
            let mut rows = query.separated(", ");
            for scope in scopes {
                rows.push("(");
                rows.push_bind_unseparated(scope.namespace.clone());
                rows.push_unseparated(", ");
                rows.push_bind_unseparated(scope.entity_id.clone());
                rows.push_unseparated(")");
            }
            query.push(")");
            query.build().fetch_all(pool).await?
                .iter()
                .map(|row| Ok((
                    row.try_get("namespace")?, row.try_get("entity_id")?,
                    row.try_get("version")?, row.try_get("reset_version")?,
                )))
                .collect::<Result<Vec<_>, sqlx::Error>>()?
        });
        for (namespace, entity_id, version, reset) in rows {
            versions.insert(
                Scope {
                    namespace,
                    entity_id,
                },
                MemoryVersion { version, reset },
            );
        }
        Ok(versions)
    }

    /// Memories of one kind with vectors of `model` (facts superseded or
    /// not), each with its vector, for several entities at once: for each
    /// (entity, since) read, in order, those written by a version after
    /// `since`, or all of them when `since` is `None`.
    ///
    /// One statement for up to `READS_PER_STATEMENT` entities: a `UNION ALL`
    /// of the one-entity query, so that each part is planned with its own
    /// entity and version, as a query of its own would be (a join with an
    /// array of them was planned blind, and re-read an entity's 100,000
    /// facts to find the one new).
    pub async fn load_memories(
        &self,
        reads: &[(&Scope, Option<i64>)],
        kind: MemoryKind,
        model: &str,
    ) -> Result<Vec<Vec<(Memory, Vec<f32>)>>> {
        let mut loaded: Vec<Vec<(Memory, Vec<f32>)>> = reads.iter().map(|_| Vec::new()).collect();
        let ((columns, tables), table) = match kind {
            MemoryKind::Facts => (LOAD_FACTS, "f"),
            MemoryKind::Messages => (LOAD_MESSAGES, "m"),
        };
        for (chunk, chunk_reads) in reads.chunks(READS_PER_STATEMENT).enumerate() {
            let first = chunk * READS_PER_STATEMENT;
            on_pool!(self, pool => {
                let mut query = sqlx::QueryBuilder::new("");
                for (i, (scope, since)) in chunk_reads.iter().enumerate() {
                    if i > 0 {
                        query.push(" UNION ALL ");
                    }
                    // `n` is this code's own counter, not input.
                    let n = first + i;
                    query.push(format!(
                        "SELECT CAST({n} AS BIGINT) AS n, {columns} {tables} WHERE {table}.namespace = "
                    ));
                    query.push_bind(scope.namespace.as_str());
                    query.push(format!(" AND {table}.entity_id = "));
                    query.push_bind(scope.entity_id.as_str());
                    query.push(format!(" AND {table}.memory_version > "));
                    query.push_bind(since.unwrap_or(i64::MIN));
                    query.push(format!(" AND {table}.embedding_model = "));
                    query.push_bind(model);
                }
                for row in query.build().fetch_all(pool).await? {
                    let n: i64 = row.try_get("n")?;
                    let memory = memory_from_row!(&row, kind);
                    if let Some(entity) = usize::try_from(n).ok().and_then(|n| loaded.get_mut(n)) {
                        entity.push(memory);
                    }
                }
            });
        }
        Ok(loaded)
    }

    /// Deletes one fact; false if the entity has no such fact.
    pub async fn delete_fact(&self, scope: &Scope, fact_id: Uuid) -> Result<bool> {
        let deleted = on_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            sqlx::query(RESET_MEMORY_VERSION)
                .bind(&scope.namespace).bind(&scope.entity_id)
                .execute(&mut *tx).await?;
            let deleted = sqlx::query(DELETE_FACT)
                .bind(fact_id).bind(&scope.namespace).bind(&scope.entity_id)
                .execute(&mut *tx).await?.rows_affected();
            // Nothing removed, nothing to rebuild: the version stays.
            if deleted > 0 {
                tx.commit().await?;
            }
            deleted
        });
        Ok(deleted > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vectors_round_trip() {
        let v = vec![0.25f32, -1.5, 3.0e-7];
        assert_eq!(decode_vector(&encode_vector(&v)), v);
    }
}
