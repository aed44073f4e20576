//! Chat: store the caller's turn, forward it upstream, mirror every delta
//! back as it arrives, and record how the turn ended.
//!
//! Invariants:
//! - nothing of the answer reaches the caller before the caller's messages
//!   are durable: they are written while the upstream is asked (history and
//!   recall, which shape the prompt, are read before, concurrently), and
//!   the first delta waits for the commit. A write that fails fails the
//!   call, and an upstream stream already opened is dropped;
//! - a failure before the first upstream chunk is returned as an error (a
//!   clean gRPC status), never as a started stream;
//! - each delta is handed to the caller as soon as it arrives; a caller that
//!   goes away, or a deadline that passes, drops the upstream request at
//!   once and stores the turn as interrupted with what had arrived;
//! - the reply, usage and augmentation job are committed in one transaction
//!   before the `Completed` event is sent, so a caller that saw `Completed`
//!   can rely on the turn being stored.

use std::sync::Arc;

use chrono::Utc;
use futures_util::StreamExt;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_stream::wrappers::ReceiverStream;
use tracing::Instrument;
use uuid::Uuid;

use crate::augment::JobWaker;
use crate::config::{ChatConfig, LimitsConfig};
use crate::domain::turns::{InsertedTurn, TurnOutcome};
use crate::domain::{
    self, Attribution, ChatMessage, FinishReason, Metadata, NewTurn, Role, Scope, TurnSource,
    TurnStatus, Usage,
};
use crate::error::{Error, Result};
use crate::memory::history;
use crate::providers::routing::deadline_error;
use crate::providers::{self, Chunk, ChunkStream, Completion, Router, ToolCallDelta};
use crate::recall::{Hit, RecallQuery, Recaller};
use crate::storage::Store;
use crate::telemetry;

/// The block recalled facts are injected as, one dated line per fact in
/// place of `{memories}` (versioned beside the extraction prompt).
const MEMORIES_PROMPT: &str = include_str!("../prompts/memories.v1.md");

/// Per-request memory switches; `None` takes the server's default.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MemoryOptions {
    pub recall: Option<bool>,
    pub recall_limit: Option<u32>,
    pub history: Option<bool>,
    pub history_token_budget: Option<u32>,
    pub augment: Option<bool>,
}

/// A chat turn as the caller sent it.
#[derive(Debug, Clone)]
pub struct ChatTurn {
    pub attribution: Attribution,
    pub model: String,
    pub messages: Vec<ChatMessage>,
    pub params: providers::GenerationParams,
    pub memory: MemoryOptions,
    pub metadata: Metadata,
}

/// What the caller sees of a chat, in order: one `Started`, any number of
/// `Delta`s, one `Completed` (or an error that ends the stream).
#[derive(Debug, Clone, PartialEq)]
pub enum ChatEvent {
    Started {
        turn_id: Uuid,
        session_id: String,
        model: String,
        recalled_memory_ids: Vec<String>,
    },
    Delta {
        text: String,
        reasoning: String,
        tool_calls: Vec<ToolCallDelta>,
    },
    Completed {
        turn_id: Uuid,
        finish_reason: Option<FinishReason>,
        usage: Option<Usage>,
    },
}

pub type ChatEvents = ReceiverStream<Result<ChatEvent>>;

#[derive(Clone)]
pub struct ChatEngine {
    store: Store,
    router: Arc<Router>,
    limits: LimitsConfig,
    config: ChatConfig,
    waker: JobWaker,
    recaller: Recaller,
}

impl ChatEngine {
    pub fn new(
        store: Store,
        router: Arc<Router>,
        limits: LimitsConfig,
        config: ChatConfig,
        waker: JobWaker,
        recaller: Recaller,
    ) -> Self {
        ChatEngine {
            store,
            router,
            limits,
            config,
            waker,
            recaller,
        }
    }

    /// The stored history to prepend, and which of the caller's messages
    /// are new (see `memory::history`). Only an existing session has one.
    async fn history(
        &self,
        scope: &Scope,
        turn: &ChatTurn,
    ) -> Result<(Vec<ChatMessage>, Vec<ChatMessage>)> {
        let Some(session_id) = &turn.attribution.session_id else {
            return Ok((Vec::new(), turn.messages.clone()));
        };
        let wants_history = turn.memory.history.unwrap_or(true);
        let budget = turn
            .memory
            .history_token_budget
            .unwrap_or(self.config.history_token_budget) as usize;
        // A resent prefix is no longer than what the caller sent, so that
        // many turns hold it; history needs as many more as fill the
        // budget. A long session is read a window at a time, newest first,
        // until the budget is covered (a window of turns that comes back
        // short holds the whole session).
        let mut window = turn.messages.len().max(1);
        if wants_history {
            window = window.max(FIRST_HISTORY_WINDOW);
        }
        let stored = loop {
            let stored = self
                .store
                .session_history(scope, session_id, window)
                .await?;
            let covered = stored.iter().map(history::estimate_tokens).sum::<usize>() >= budget;
            if !wants_history || covered || stored.len() < window || window >= HISTORY_WINDOW {
                break stored;
            }
            window = (window * 4).min(HISTORY_WINDOW);
        };
        let resent = history::resent_prefix(&stored, &turn.messages);
        let new_messages = turn.messages[resent..].to_vec();
        if new_messages.is_empty() {
            return Err(Error::invalid(
                "messages",
                "every message was already stored in this session; send at least one new message",
            ));
        }
        if resent > 0 || !wants_history {
            // The caller manages its context itself.
            return Ok((Vec::new(), new_messages));
        }
        Ok((history::select(&stored, budget), new_messages))
    }

    /// Facts about the entity relevant to the last user message, as a
    /// system message to put before the caller's messages, and their ids.
    /// Recall failing never fails the chat: it goes on without memories.
    async fn memories(&self, scope: &Scope, turn: &ChatTurn) -> (Option<ChatMessage>, Vec<String>) {
        if !turn.memory.recall.unwrap_or(true) {
            return (None, Vec::new());
        }
        let Some(question) = turn.messages.iter().rev().find(|m| m.role == Role::User) else {
            return (None, Vec::new());
        };
        let query = RecallQuery {
            scope: scope.clone(),
            process_id: None,
            query: question.content.clone(),
            limit: turn.memory.recall_limit.unwrap_or(self.config.recall_limit) as usize,
            facts: true,
            messages: false,
            after: None,
            before: None,
            min_score: self.config.recall_min_score,
            include_superseded: false,
            ranking: Default::default(),
        };
        let ranked = match self.recaller.recall(query).await {
            Ok(ranked) => ranked,
            Err(error) => {
                tracing::warn!(error = %error.for_log(), "recall failed; answering without memories");
                return (None, Vec::new());
            }
        };
        let facts: Vec<_> = ranked
            .into_iter()
            .filter_map(|r| match r.hit {
                Hit::Fact(fact) => Some(fact),
                Hit::Message(_) => None,
            })
            .collect();
        if facts.is_empty() {
            return (None, Vec::new());
        }
        let mut lines = String::new();
        for fact in &facts {
            lines.push_str(&format!(
                "- [{}] {}\n",
                fact.last_seen_at.format("%Y-%m-%d"),
                fact.content
            ));
        }
        let block = MEMORIES_PROMPT.trim_end().replace("{memories}", &lines);
        let ids = facts.iter().map(|f| f.fact_id.to_string()).collect();
        (Some(ChatMessage::text(Role::System, block)), ids)
    }

    /// Validates and stores the turn, starts the upstream stream, and
    /// returns the caller's event stream once the first chunk arrived.
    pub async fn start(
        &self,
        namespace: String,
        turn: ChatTurn,
        deadline: Option<Instant>,
    ) -> Result<ChatEvents> {
        validate(&turn, &self.limits)?;
        let plan = self.router.resolve(&turn.model)?;
        let primary = plan.primary_name();
        let augment = turn.memory.augment.unwrap_or(true);
        let scope = Scope {
            namespace: namespace.clone(),
            entity_id: turn.attribution.entity_id.clone(),
        };

        // Both read before the first token; neither needs the other.
        let (history, (memories, recalled_memory_ids)) =
            tokio::join!(self.history(&scope, &turn), self.memories(&scope, &turn));
        let (history, new_messages) = history?;
        let upstream_request = providers::ChatRequest {
            model: String::new(), // set per route by the router
            // Memories, then the session's history, then what the caller
            // sent; every provider places system messages where its API
            // wants them. Only the caller's new messages are stored.
            messages: memories
                .into_iter()
                .chain(history)
                .chain(turn.messages.iter().cloned())
                .collect(),
            params: turn.params.clone(),
        };
        // The caller's message is written while the upstream is asked
        // (the first delta is released only once both are done, so nothing
        // reaches the caller before its message is durable). The write
        // runs as its own task: a caller hanging up cannot cut it short,
        // and the guard then marks the stored turn interrupted.
        let span = tracing::info_span!("chat", turn_id = tracing::field::Empty, model = %primary);
        let new_turn = NewTurn {
            namespace,
            attribution: turn.attribution,
            source: TurnSource::Chat,
            messages: new_messages,
            model: Some(primary.clone()),
            metadata: turn.metadata,
            occurred_at: Utc::now(),
            idempotency_key: None,
            augment,
        };
        let store = self.store.clone();
        let writing = tokio::spawn(
            async move { store.insert_turn(&new_turn, TurnStatus::Streaming).await }
                .instrument(span.clone()),
        );
        let mut guard = AbandonGuard {
            store: self.store.clone(),
            scope: scope.clone(),
            turn: GuardedTurn::Writing(writing),
        };

        let opening = std::time::Instant::now();
        let (written, opened) = tokio::join!(
            guard.written(),
            self.router
                .open(&plan, &upstream_request, deadline)
                .instrument(span.clone())
        );
        // Not written: nothing to mark, and an opened stream is dropped
        // here, which closes its upstream connection.
        let inserted = written?;
        let turn_id = inserted.turn_id;
        span.record("turn_id", tracing::field::display(turn_id));
        guard.turn = GuardedTurn::Disarmed;
        let opened = match opened {
            Ok(opened) => {
                metrics::histogram!(telemetry::CHAT_TTFT).record(opening.elapsed().as_secs_f64());
                opened
            }
            Err(error) => {
                metrics::counter!(telemetry::CHAT_TURNS, "status" => TurnStatus::Failed.as_str())
                    .increment(1);
                let outcome = TurnOutcome {
                    status: TurnStatus::Failed,
                    model: None,
                    reply: None,
                    finish_reason: None,
                    usage: None,
                    error: Some(error.to_string()),
                    enqueue_augmentation: false,
                };
                if let Err(store_error) = self.store.finish_turn(&scope, turn_id, &outcome).await {
                    tracing::warn!(%turn_id, error = %store_error, "could not mark the turn failed");
                }
                return Err(error);
            }
        };

        let (tx, rx) = mpsc::channel(self.config.stream_buffer);
        let started = ChatEvent::Started {
            turn_id,
            session_id: inserted.session_id,
            model: opened.model.clone(),
            recalled_memory_ids,
        };
        // The channel is new and has room, so this cannot wait.
        let _ = tx.try_send(Ok(started));
        let pump = Pump {
            tx,
            store: self.store.clone(),
            scope,
            turn_id,
            deadline,
            augment,
            waker: self.waker.clone(),
            // Stored only when a fallback answered instead of the primary.
            model: (opened.model != primary).then_some(opened.model),
            upstream_span: opened.span,
        };
        tokio::spawn(pump.run(opened.stream, opened.first).instrument(span));
        Ok(ReceiverStream::new(rx))
    }
}

fn validate(turn: &ChatTurn, limits: &LimitsConfig) -> Result<()> {
    domain::validate_attribution(&turn.attribution)?;
    domain::validate_messages("messages", &turn.messages, limits)?;
    domain::validate_metadata("metadata", &turn.metadata, limits)?;
    Ok(())
}

/// Marks a turn interrupted if the call is dropped before the upstream
/// answered (the caller hung up while memorid waited for the first token),
/// also when that happens while the turn is still being written.
struct AbandonGuard {
    store: Store,
    scope: Scope,
    turn: GuardedTurn,
}

enum GuardedTurn {
    /// The write is running on its own task.
    Writing(tokio::task::JoinHandle<Result<InsertedTurn>>),
    Written(Uuid),
    /// The call owns the turn's end from here (or there is no turn).
    Disarmed,
}

impl AbandonGuard {
    /// Waits for the write; the guard then holds the stored turn.
    async fn written(&mut self) -> Result<InsertedTurn> {
        let GuardedTurn::Writing(writing) = &mut self.turn else {
            return Err(Error::Internal("the turn was awaited twice".into()));
        };
        let written = match writing.await {
            Ok(written) => written,
            Err(error) => Err(Error::Internal(format!("storing the turn: {error}"))),
        };
        self.turn = match &written {
            Ok(inserted) => GuardedTurn::Written(inserted.turn_id),
            Err(_) => GuardedTurn::Disarmed,
        };
        written
    }
}

impl Drop for AbandonGuard {
    fn drop(&mut self) {
        let turn = std::mem::replace(&mut self.turn, GuardedTurn::Disarmed);
        if matches!(turn, GuardedTurn::Disarmed) {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let (store, scope) = (self.store.clone(), self.scope.clone());
        runtime.spawn(async move {
            let turn_id = match turn {
                GuardedTurn::Writing(writing) => match writing.await {
                    Ok(Ok(inserted)) => inserted.turn_id,
                    // Not written: nothing to mark.
                    _ => return,
                },
                GuardedTurn::Written(turn_id) => turn_id,
                GuardedTurn::Disarmed => return,
            };
            let outcome = TurnOutcome {
                status: TurnStatus::Interrupted,
                model: None,
                reply: None,
                finish_reason: None,
                usage: None,
                error: Some("the caller went away before the first token".into()),
                enqueue_augmentation: false,
            };
            if let Err(error) = store.finish_turn(&scope, turn_id, &outcome).await {
                tracing::warn!(%turn_id, error = %error.for_log(), "could not mark an abandoned turn");
            }
        });
    }
}

/// Stored turns considered for history at most (the token budget then
/// decides), and how many are read first.
const HISTORY_WINDOW: usize = 200;
const FIRST_HISTORY_WINDOW: usize = 16;

/// Sleeps until the deadline, or forever without one.
async fn until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

/// Why the mirroring loop stopped.
enum Ending {
    Completed,
    ClientGone,
    Deadline,
    Upstream(Error),
}

/// The task that mirrors upstream chunks to the caller and stores the end.
struct Pump {
    tx: mpsc::Sender<Result<ChatEvent>>,
    store: Store,
    scope: Scope,
    turn_id: Uuid,
    deadline: Option<Instant>,
    augment: bool,
    waker: JobWaker,
    model: Option<String>,
    /// The upstream call's span, ended with the stream.
    upstream_span: tracing::Span,
}

impl Pump {
    async fn run(self, mut upstream: ChunkStream, first: Chunk) {
        let mut reply = Completion::default();
        let mut next = Some(first);
        let ending = loop {
            let chunk = match next.take() {
                Some(chunk) => chunk,
                None => tokio::select! {
                    biased;
                    _ = self.tx.closed() => break Ending::ClientGone,
                    _ = until(self.deadline) => break Ending::Deadline,
                    item = upstream.next() => match item {
                        Some(Ok(chunk)) => chunk,
                        Some(Err(error)) => break Ending::Upstream(error),
                        None => break Ending::Completed,
                    },
                },
            };
            reply.absorb(&chunk);
            if chunk.has_delta() {
                let delta = ChatEvent::Delta {
                    text: chunk.text,
                    reasoning: chunk.reasoning,
                    tool_calls: chunk.tool_calls,
                };
                tokio::select! {
                    sent = self.tx.send(Ok(delta)) => if sent.is_err() { break Ending::ClientGone },
                    _ = until(self.deadline) => break Ending::Deadline,
                }
            }
        };
        // Dropping the stream closes the upstream connection right away.
        drop(upstream);
        self.finish(ending, reply).await;
    }

    async fn finish(self, ending: Ending, reply: Completion) {
        let (status, error) = match &ending {
            Ending::Completed => (TurnStatus::Completed, None),
            Ending::ClientGone => (
                TurnStatus::Interrupted,
                Some("the caller went away".to_string()),
            ),
            Ending::Deadline => (TurnStatus::Interrupted, Some(deadline_error().to_string())),
            Ending::Upstream(error) => (TurnStatus::Interrupted, Some(error.to_string())),
        };
        providers::record_completion(&self.upstream_span, &reply);
        match &ending {
            Ending::Upstream(error) => providers::record_failure(&self.upstream_span, error),
            Ending::Deadline => providers::record_failure(&self.upstream_span, &deadline_error()),
            Ending::Completed | Ending::ClientGone => {}
        }
        let stored_reply =
            (status == TurnStatus::Completed || !reply.is_empty()).then(|| reply.message());
        let outcome = TurnOutcome {
            status,
            model: self.model.clone(),
            reply: stored_reply,
            finish_reason: reply.finish_reason,
            usage: reply.usage,
            error,
            enqueue_augmentation: self.augment,
        };
        let stored = self
            .store
            .finish_turn(&self.scope, self.turn_id, &outcome)
            .await;
        match &stored {
            Ok(()) if outcome.status == TurnStatus::Completed && self.augment => self.waker.wake(),
            Ok(()) => {}
            Err(error) => {
                tracing::error!(turn_id = %self.turn_id, error = %error.for_log(), "could not store the end of a turn")
            }
        }
        metrics::counter!(telemetry::CHAT_TURNS, "status" => status.as_str()).increment(1);
        if let Some(usage) = reply.usage {
            metrics::counter!(telemetry::CHAT_TOKENS, "direction" => "input")
                .increment(u64::from(usage.input_tokens));
            metrics::counter!(telemetry::CHAT_TOKENS, "direction" => "output")
                .increment(u64::from(usage.output_tokens));
        }
        tracing::info!(
            turn_id = %self.turn_id,
            status = status.as_str(),
            input_tokens = reply.usage.map(|u| u.input_tokens),
            output_tokens = reply.usage.map(|u| u.output_tokens),
            "chat turn ended"
        );
        let last = match (ending, stored) {
            (Ending::ClientGone, _) => return,
            (Ending::Completed, Ok(())) => Ok(ChatEvent::Completed {
                turn_id: self.turn_id,
                finish_reason: reply.finish_reason,
                usage: reply.usage,
            }),
            (Ending::Completed, Err(error)) => Err(error),
            (Ending::Deadline, _) => Err(deadline_error()),
            (Ending::Upstream(error), _) => Err(error),
        };
        let _ = self.tx.send(last).await;
    }
}
