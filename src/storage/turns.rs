//! Turns, their messages and sessions: writing new turns, finishing streamed
//! ones, reading a session back, and forgetting an entity.
//!
//! A new turn's augmentation job is inserted in the same transaction that
//! makes the turn `completed` (the outbox), so a completed turn is never
//! without its job, and a job never points at a turn that was rolled back.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::types::Json;
use uuid::Uuid;

use super::{BeginWrite, Store, on_pool};
#[cfg(feature = "test-support")]
use crate::domain::jobs::JobCounts;
use crate::domain::turns::{ForgetCounts, InsertedTurn, SessionRecord, TurnOutcome, TurnRecord};
use crate::domain::{
    ChatMessage, FinishReason, Metadata, NewTurn, Role, Scope, ToolCall, TurnStatus, Usage,
};
use crate::error::{Error, Result};

const INSERT_NAMESPACE: &str =
    "INSERT INTO namespaces (name, created_at) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING";

const INSERT_ENTITY: &str = "INSERT INTO entities (namespace, entity_id, created_at) \
     VALUES ($1, $2, $3) ON CONFLICT (namespace, entity_id) DO NOTHING";

const INSERT_PROCESS: &str = "INSERT INTO processes (namespace, process_id, created_at) \
     VALUES ($1, $2, $3) ON CONFLICT (namespace, process_id) DO NOTHING";

/// Creates the session or counts one more turn in it; returns the turn's
/// sequence number within the session. The row lock it takes orders
/// concurrent turns of one session.
const UPSERT_SESSION: &str = "INSERT INTO sessions \
     (namespace, entity_id, session_id, process_id, turn_count, created_at, updated_at) \
     VALUES ($1, $2, $3, $4, 1, $5, $5) \
     ON CONFLICT (namespace, entity_id, session_id) \
     DO UPDATE SET turn_count = sessions.turn_count + 1, updated_at = excluded.updated_at \
     RETURNING turn_count";

const INSERT_TURN: &str = "INSERT INTO turns \
     (turn_id, namespace, entity_id, session_id, process_id, seq, source, status, model, \
      idempotency_key, metadata, occurred_at, created_at, completed_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) \
     ON CONFLICT (namespace, entity_id, idempotency_key) DO NOTHING \
     RETURNING turn_id";

const FIND_TURN_BY_KEY: &str = "SELECT turn_id, session_id FROM turns \
     WHERE namespace = $1 AND entity_id = $2 AND idempotency_key = $3";

const INSERT_MESSAGE: &str = "INSERT INTO messages \
     (message_id, turn_id, namespace, entity_id, session_id, position, role, content, name, \
      tool_calls, tool_call_id, occurred_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)";

/// Appends the reply after the turn's last message, scoped by namespace and
/// entity through the turn row.
const APPEND_REPLY: &str = "INSERT INTO messages \
     (message_id, turn_id, namespace, entity_id, session_id, position, role, content, name, \
      tool_calls, tool_call_id, occurred_at) \
     SELECT $1, t.turn_id, t.namespace, t.entity_id, t.session_id, \
            (SELECT COALESCE(MAX(m.position), -1) + 1 FROM messages m WHERE m.turn_id = t.turn_id), \
            $2, $3, NULL, $4, NULL, $5 \
     FROM turns t WHERE t.turn_id = $6 AND t.namespace = $7 AND t.entity_id = $8";

const FINISH_TURN: &str = "UPDATE turns SET status = $1, finish_reason = $2, input_tokens = $3, \
     output_tokens = $4, cached_input_tokens = $5, reasoning_tokens = $6, error = $7, \
     completed_at = $8, model = COALESCE($12, model) \
     WHERE turn_id = $9 AND namespace = $10 AND entity_id = $11 AND status = 'streaming'";

/// `$6` is the storing call's traceparent (`traces::current_traceparent`).
const INSERT_JOB: &str = "INSERT INTO augmentation_jobs \
     (job_id, turn_id, namespace, entity_id, status, attempts, run_after, created_at, updated_at, \
      trace_parent) \
     VALUES ($1, $2, $3, $4, 'pending', 0, $5, $5, $5, $6) \
     ON CONFLICT (turn_id) DO NOTHING";

const SELECT_SESSION: &str = "SELECT session_id, entity_id, process_id, created_at, updated_at \
     FROM sessions WHERE namespace = $1 AND entity_id = $2 AND session_id = $3";

const SELECT_SESSION_TURNS: &str = "SELECT turn_id, status, process_id, model, finish_reason, \
     input_tokens, output_tokens, cached_input_tokens, reasoning_tokens, error, metadata, \
     occurred_at \
     FROM turns WHERE namespace = $1 AND entity_id = $2 AND session_id = $3 ORDER BY seq";

const SELECT_SESSION_MESSAGES: &str = "SELECT turn_id, role, content, name, tool_calls, \
     tool_call_id \
     FROM messages WHERE namespace = $1 AND entity_id = $2 AND session_id = $3 \
     ORDER BY turn_id, position";

#[cfg(feature = "test-support")]
const COUNT_JOBS: &str = "SELECT status, COUNT(*) AS n FROM augmentation_jobs \
     WHERE namespace = $1 AND entity_id = $2 GROUP BY status";

const SWEEP_ABANDONED: &str = "UPDATE turns SET status = 'interrupted', completed_at = $1, \
     error = 'the stream was abandoned (its server stopped before the answer completed)' \
     WHERE status = 'streaming' AND created_at <= $2";

/// The session's latest completed turns, newest first (from the
/// `turns_by_session` index).
const SELECT_HISTORY_TURNS: &str = "SELECT turn_id FROM turns \
     WHERE namespace = $1 AND entity_id = $2 AND session_id = $3 AND status = 'completed' \
     ORDER BY seq DESC LIMIT $4";

/// Followed by the turn id list: only those turns' messages are read, by
/// the (turn_id, position) index. The ids come from the scoped turns query,
/// so the scope is not repeated here: with it (or as one join) the planner,
/// on tables that grew since their last ANALYZE, read every message of the
/// entity through the entity index instead (16 ms a call at 10k messages).
const SELECT_HISTORY_MESSAGES: &str = "SELECT turn_id, position, role, content, name, \
     tool_calls, tool_call_id FROM messages WHERE turn_id IN (";

/// Child tables first, so the counts are exact and no cascade hides rows.
const FORGET_STATEMENTS: [&str; 9] = [
    "DELETE FROM augmentation_jobs WHERE namespace = $1 AND entity_id = $2",
    "DELETE FROM fact_mentions WHERE fact_id IN \
     (SELECT fact_id FROM facts WHERE namespace = $1 AND entity_id = $2)",
    "DELETE FROM facts WHERE namespace = $1 AND entity_id = $2",
    "DELETE FROM messages WHERE namespace = $1 AND entity_id = $2",
    "DELETE FROM turns WHERE namespace = $1 AND entity_id = $2",
    "DELETE FROM triples WHERE namespace = $1 AND entity_id = $2",
    "DELETE FROM session_summaries WHERE namespace = $1 AND entity_id = $2",
    "DELETE FROM sessions WHERE namespace = $1 AND entity_id = $2",
    "DELETE FROM entities WHERE namespace = $1 AND entity_id = $2",
];

fn tool_calls_json(message: &ChatMessage) -> Option<Json<&[ToolCall]>> {
    (!message.tool_calls.is_empty()).then_some(Json(message.tool_calls.as_slice()))
}

fn to_i64(value: u32) -> i64 {
    i64::from(value)
}

fn usage_from(columns: [Option<i64>; 4]) -> Option<Usage> {
    let [input, output, cached, reasoning] = columns;
    let clamp = |v: Option<i64>| u32::try_from(v.unwrap_or(0)).unwrap_or(u32::MAX);
    input.map(|_| Usage {
        input_tokens: clamp(input),
        output_tokens: clamp(output),
        cached_input_tokens: clamp(cached),
        reasoning_tokens: clamp(reasoning),
    })
}

fn parse_role(text: &str) -> Result<Role> {
    Role::parse(text).ok_or_else(|| Error::Internal(format!("stored role {text:?} is unknown")))
}

fn parse_status(text: &str) -> Result<TurnStatus> {
    TurnStatus::parse(text)
        .ok_or_else(|| Error::Internal(format!("stored turn status {text:?} is unknown")))
}

impl Store {
    /// Stores a new turn with its messages, creating the entity, process and
    /// session as needed. A `completed` turn with `augment` set gets its
    /// augmentation job in the same transaction.
    ///
    /// With an idempotency key that was stored before, nothing is written
    /// and the stored turn is returned with `duplicate` set.
    pub async fn insert_turn(&self, turn: &NewTurn, status: TurnStatus) -> Result<InsertedTurn> {
        let now = Utc::now();
        let turn_id = Uuid::now_v7();
        let attribution = &turn.attribution;
        let session_id = attribution
            .session_id
            .clone()
            .unwrap_or_else(|| Uuid::now_v7().to_string());
        let completed_at = (status != TurnStatus::Streaming).then_some(now);
        let enqueue = status == TurnStatus::Completed && turn.augment;

        let inserted: bool = on_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            sqlx::query(INSERT_NAMESPACE).bind(&turn.namespace).bind(now).execute(&mut *tx).await?;
            sqlx::query(INSERT_ENTITY)
                .bind(&turn.namespace).bind(&attribution.entity_id).bind(now)
                .execute(&mut *tx).await?;
            if let Some(process_id) = &attribution.process_id {
                sqlx::query(INSERT_PROCESS)
                    .bind(&turn.namespace).bind(process_id).bind(now)
                    .execute(&mut *tx).await?;
            }
            let seq: i64 = sqlx::query(UPSERT_SESSION)
                .bind(&turn.namespace).bind(&attribution.entity_id).bind(&session_id)
                .bind(&attribution.process_id).bind(now)
                .fetch_one(&mut *tx).await?
                .try_get(0)?;
            let row = sqlx::query(INSERT_TURN)
                .bind(turn_id).bind(&turn.namespace).bind(&attribution.entity_id)
                .bind(&session_id).bind(&attribution.process_id).bind(seq)
                .bind(turn.source.as_str()).bind(status.as_str()).bind(&turn.model)
                .bind(&turn.idempotency_key).bind(Json(&turn.metadata))
                .bind(turn.occurred_at).bind(now).bind(completed_at)
                .fetch_optional(&mut *tx).await?;
            if row.is_none() {
                // The key was stored before (maybe just now, concurrently):
                // undo the session bump and report the stored turn.
                tx.rollback().await?;
                false
            } else {
                for (position, message) in turn.messages.iter().enumerate() {
                    sqlx::query(INSERT_MESSAGE)
                        .bind(Uuid::now_v7()).bind(turn_id).bind(&turn.namespace)
                        .bind(&attribution.entity_id).bind(&session_id)
                        .bind(position as i32).bind(message.role.as_str())
                        .bind(&message.content).bind(&message.name)
                        .bind(tool_calls_json(message)).bind(&message.tool_call_id)
                        .bind(turn.occurred_at)
                        .execute(&mut *tx).await?;
                }
                if enqueue {
                    sqlx::query(INSERT_JOB)
                        .bind(Uuid::now_v7()).bind(turn_id).bind(&turn.namespace)
                        .bind(&attribution.entity_id).bind(now).bind(crate::traces::current_traceparent())
                        .execute(&mut *tx).await?;
                }
                tx.commit().await?;
                true
            }
        });

        if inserted {
            return Ok(InsertedTurn {
                turn_id,
                session_id,
                duplicate: false,
            });
        }
        let key = turn.idempotency_key.as_deref().unwrap_or_default();
        let (turn_id, session_id): (Uuid, String) = on_pool!(self, pool => {
            let row = sqlx::query(FIND_TURN_BY_KEY)
                .bind(&turn.namespace).bind(&attribution.entity_id).bind(key)
                .fetch_one(pool).await?;
            (row.try_get("turn_id")?, row.try_get("session_id")?)
        });
        Ok(InsertedTurn {
            turn_id,
            session_id,
            duplicate: true,
        })
    }

    /// Records how a streamed turn ended: the reply as far as it arrived,
    /// the finish reason and usage, and (if asked) its augmentation job, in
    /// one transaction. A turn that is no longer streaming is left as it is.
    pub async fn finish_turn(
        &self,
        scope: &Scope,
        turn_id: Uuid,
        outcome: &TurnOutcome,
    ) -> Result<()> {
        let now = Utc::now();
        let usage = outcome.usage;
        let usage_column = |pick: fn(&Usage) -> u32| usage.as_ref().map(|u| to_i64(pick(u)));
        let enqueue = outcome.status == TurnStatus::Completed && outcome.enqueue_augmentation;
        on_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let updated = sqlx::query(FINISH_TURN)
                .bind(outcome.status.as_str())
                .bind(outcome.finish_reason.map(FinishReason::as_str))
                .bind(usage_column(|u| u.input_tokens))
                .bind(usage_column(|u| u.output_tokens))
                .bind(usage_column(|u| u.cached_input_tokens))
                .bind(usage_column(|u| u.reasoning_tokens))
                .bind(&outcome.error).bind(now)
                .bind(turn_id).bind(&scope.namespace).bind(&scope.entity_id)
                .bind(&outcome.model)
                .execute(&mut *tx).await?
                .rows_affected();
            if updated == 0 {
                tx.rollback().await?;
                return Ok(());
            }
            if let Some(reply) = &outcome.reply {
                sqlx::query(APPEND_REPLY)
                    .bind(Uuid::now_v7()).bind(reply.role.as_str()).bind(&reply.content)
                    .bind(tool_calls_json(reply)).bind(now)
                    .bind(turn_id).bind(&scope.namespace).bind(&scope.entity_id)
                    .execute(&mut *tx).await?;
            }
            if enqueue {
                sqlx::query(INSERT_JOB)
                    .bind(Uuid::now_v7()).bind(turn_id).bind(&scope.namespace)
                    .bind(&scope.entity_id).bind(now).bind(crate::traces::current_traceparent())
                    .execute(&mut *tx).await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// A session of the entity with all its turns and messages, or `None`.
    pub async fn get_session(
        &self,
        scope: &Scope,
        session_id: &str,
    ) -> Result<Option<SessionRecord>> {
        struct Head {
            session_id: String,
            entity_id: String,
            process_id: Option<String>,
            created_at: DateTime<Utc>,
            updated_at: DateTime<Utc>,
        }
        struct MessageRow {
            turn_id: Uuid,
            role: String,
            content: String,
            name: Option<String>,
            tool_calls: Option<Json<Vec<ToolCall>>>,
            tool_call_id: Option<String>,
        }
        struct TurnRow {
            turn_id: Uuid,
            status: String,
            process_id: Option<String>,
            model: Option<String>,
            finish_reason: Option<String>,
            usage: [Option<i64>; 4],
            error: Option<String>,
            metadata: Json<Metadata>,
            occurred_at: DateTime<Utc>,
        }

        let loaded = on_pool!(self, pool => {
            let head = sqlx::query(SELECT_SESSION)
                .bind(&scope.namespace).bind(&scope.entity_id).bind(session_id)
                .fetch_optional(pool).await?;
            let Some(head) = head else { return Ok(None) };
            let head = Head {
                session_id: head.try_get("session_id")?,
                entity_id: head.try_get("entity_id")?,
                process_id: head.try_get("process_id")?,
                created_at: head.try_get("created_at")?,
                updated_at: head.try_get("updated_at")?,
            };
            let turns = sqlx::query(SELECT_SESSION_TURNS)
                .bind(&scope.namespace).bind(&scope.entity_id).bind(session_id)
                .fetch_all(pool).await?
                .iter()
                .map(|row| Ok(TurnRow {
                    turn_id: row.try_get("turn_id")?,
                    status: row.try_get("status")?,
                    process_id: row.try_get("process_id")?,
                    model: row.try_get("model")?,
                    finish_reason: row.try_get("finish_reason")?,
                    usage: [
                        row.try_get("input_tokens")?,
                        row.try_get("output_tokens")?,
                        row.try_get("cached_input_tokens")?,
                        row.try_get("reasoning_tokens")?,
                    ],
                    error: row.try_get("error")?,
                    metadata: row.try_get("metadata")?,
                    occurred_at: row.try_get("occurred_at")?,
                }))
                .collect::<Result<Vec<_>, sqlx::Error>>()?;
            let messages = sqlx::query(SELECT_SESSION_MESSAGES)
                .bind(&scope.namespace).bind(&scope.entity_id).bind(session_id)
                .fetch_all(pool).await?
                .iter()
                .map(|row| Ok(MessageRow {
                    turn_id: row.try_get("turn_id")?,
                    role: row.try_get("role")?,
                    content: row.try_get("content")?,
                    name: row.try_get("name")?,
                    tool_calls: row.try_get("tool_calls")?,
                    tool_call_id: row.try_get("tool_call_id")?,
                }))
                .collect::<Result<Vec<_>, sqlx::Error>>()?;
            (head, turns, messages)
        });
        let (head, turn_rows, message_rows) = loaded;

        let mut messages_by_turn: HashMap<Uuid, Vec<ChatMessage>> = HashMap::new();
        for row in message_rows {
            messages_by_turn
                .entry(row.turn_id)
                .or_default()
                .push(ChatMessage {
                    role: parse_role(&row.role)?,
                    content: row.content,
                    name: row.name,
                    tool_calls: row.tool_calls.map(|j| j.0).unwrap_or_default(),
                    tool_call_id: row.tool_call_id,
                });
        }
        let turns = turn_rows
            .into_iter()
            .map(|row| {
                Ok(TurnRecord {
                    turn_id: row.turn_id,
                    status: parse_status(&row.status)?,
                    process_id: row.process_id,
                    model: row.model,
                    finish_reason: row.finish_reason.as_deref().map(FinishReason::parse),
                    usage: usage_from(row.usage),
                    error: row.error,
                    metadata: row.metadata.0,
                    occurred_at: row.occurred_at,
                    messages: messages_by_turn.remove(&row.turn_id).unwrap_or_default(),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Some(SessionRecord {
            session_id: head.session_id,
            entity_id: head.entity_id,
            process_id: head.process_id,
            created_at: head.created_at,
            updated_at: head.updated_at,
            turns,
        }))
    }

    /// Marks turns still `streaming` after `older_than` as interrupted: their
    /// replica died mid-stream (a live stream is finished by its own
    /// replica). Their messages stay; they are not augmented.
    pub async fn sweep_abandoned_turns(&self, older_than: std::time::Duration) -> Result<u64> {
        let now = Utc::now();
        let cutoff = now - chrono::Duration::from_std(older_than).unwrap_or(chrono::Duration::MAX);
        let swept = on_pool!(self, pool => {
            sqlx::query(SWEEP_ABANDONED)
                .bind(now).bind(cutoff)
                .execute(pool).await?.rows_affected()
        });
        Ok(swept)
    }

    /// The latest `limit` messages of the session's completed turns, oldest
    /// first.
    pub async fn session_history(
        &self,
        scope: &Scope,
        session_id: &str,
        limit: usize,
    ) -> Result<Vec<ChatMessage>> {
        type Row = (
            Uuid,
            i32,
            String,
            String,
            Option<String>,
            Option<Json<Vec<ToolCall>>>,
            Option<String>,
        );
        let wanted = i64::try_from(limit).unwrap_or(i64::MAX);
        let (turns, mut rows): (Vec<Uuid>, Vec<Row>) = on_pool!(self, pool => {
            // Every turn has a message: `limit` turns hold enough of them.
            let turns: Vec<Uuid> = sqlx::query(SELECT_HISTORY_TURNS)
                .bind(&scope.namespace).bind(&scope.entity_id).bind(session_id).bind(wanted)
                .fetch_all(pool).await?
                .iter()
                .map(|row| row.try_get("turn_id"))
                .collect::<Result<_, sqlx::Error>>()?;
            let rows = if turns.is_empty() {
                Vec::new()
            } else {
                let mut query = sqlx::QueryBuilder::new(SELECT_HISTORY_MESSAGES);
                let mut ids = query.separated(", ");
                for turn_id in &turns {
                    ids.push_bind(*turn_id);
                }
                query.push(")");
                query.build().fetch_all(pool).await?
                    .iter()
                    .map(|row| Ok((
                        row.try_get("turn_id")?, row.try_get("position")?,
                        row.try_get("role")?, row.try_get("content")?, row.try_get("name")?,
                        row.try_get("tool_calls")?, row.try_get("tool_call_id")?,
                    )))
                    .collect::<Result<Vec<Row>, sqlx::Error>>()?
            };
            (turns, rows)
        });
        // Newest first: by the turns' order, then by position within each.
        let newness: HashMap<Uuid, usize> =
            turns.iter().enumerate().map(|(i, id)| (*id, i)).collect();
        rows.sort_by_key(|row| (newness[&row.0], std::cmp::Reverse(row.1)));
        rows.truncate(limit);
        let rows = rows
            .into_iter()
            .map(|(_, _, role, content, name, tool_calls, tool_call_id)| {
                (role, content, name, tool_calls, tool_call_id)
            });
        let mut messages = rows
            .map(|(role, content, name, tool_calls, tool_call_id)| {
                Ok(ChatMessage {
                    role: parse_role(&role)?,
                    content,
                    name,
                    tool_calls: tool_calls.map(|j| j.0).unwrap_or_default(),
                    tool_call_id,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        messages.reverse();
        Ok(messages)
    }

    /// Deletes everything stored about the entity, in one transaction.
    pub async fn forget_entity(&self, scope: &Scope) -> Result<ForgetCounts> {
        let deleted: Vec<u64> = on_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            // First, as every memory write does: cached indexes of the
            // entity are rebuilt (here, to nothing).
            sqlx::query(super::memory::RESET_MEMORY_VERSION)
                .bind(&scope.namespace).bind(&scope.entity_id)
                .execute(&mut *tx).await?;
            let mut deleted = Vec::with_capacity(FORGET_STATEMENTS.len());
            for statement in FORGET_STATEMENTS {
                let result = sqlx::query(statement)
                    .bind(&scope.namespace).bind(&scope.entity_id)
                    .execute(&mut *tx).await?;
                deleted.push(result.rows_affected());
            }
            tx.commit().await?;
            deleted
        });
        Ok(ForgetCounts {
            jobs: deleted[0],
            facts: deleted[2],
            messages: deleted[3],
            turns: deleted[4],
            sessions: deleted[7],
        })
    }

    #[cfg(feature = "test-support")]
    /// How many of the entity's augmentation jobs are in each state.
    pub async fn count_jobs(&self, scope: &Scope) -> Result<JobCounts> {
        let rows: Vec<(String, i64)> = on_pool!(self, pool => {
            sqlx::query(COUNT_JOBS)
                .bind(&scope.namespace).bind(&scope.entity_id)
                .fetch_all(pool).await?
                .iter()
                .map(|row| Ok((row.try_get("status")?, row.try_get("n")?)))
                .collect::<Result<Vec<_>, sqlx::Error>>()?
        });
        let mut counts = JobCounts::default();
        for (status, n) in rows {
            let n = u64::try_from(n).unwrap_or(0);
            match status.as_str() {
                "pending" => counts.pending = n,
                "running" => counts.running = n,
                "dead" => counts.dead = n,
                other => {
                    return Err(Error::Internal(format!(
                        "stored job status {other:?} is unknown"
                    )));
                }
            }
        }
        Ok(counts)
    }
}
