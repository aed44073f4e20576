//! Turns and sessions as stored and read back: what storing a turn
//! returned, how a turn ended, a stored turn and session, and what
//! forgetting an entity removed. Plain data.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{ChatMessage, FinishReason, Metadata, TurnStatus, Usage};

/// The outcome of storing a new turn.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InsertedTurn {
    pub turn_id: Uuid,
    pub session_id: String,
    /// True when the idempotency key was stored before: nothing was written.
    pub duplicate: bool,
}

/// How a streamed turn ended.
#[derive(Debug, Clone)]
pub struct TurnOutcome {
    pub status: TurnStatus,
    /// The `provider/model` that answered, when it differs from the one
    /// stored at the start (a fallback answered).
    pub model: Option<String>,
    /// The assistant's reply as far as it arrived (none if nothing did).
    pub reply: Option<ChatMessage>,
    pub finish_reason: Option<FinishReason>,
    pub usage: Option<Usage>,
    pub error: Option<String>,
    /// Queue the turn for augmentation (in the same transaction).
    pub enqueue_augmentation: bool,
}

/// A stored turn with its messages in order.
#[derive(Debug, Clone)]
pub struct TurnRecord {
    pub turn_id: Uuid,
    pub status: TurnStatus,
    pub process_id: Option<String>,
    pub model: Option<String>,
    pub finish_reason: Option<FinishReason>,
    pub usage: Option<Usage>,
    pub error: Option<String>,
    pub metadata: Metadata,
    pub occurred_at: DateTime<Utc>,
    pub messages: Vec<ChatMessage>,
}

/// A session with its turns, oldest first.
#[derive(Debug, Clone)]
pub struct SessionRecord {
    pub session_id: String,
    pub entity_id: String,
    pub process_id: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub turns: Vec<TurnRecord>,
}

/// What `forget_entity` deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ForgetCounts {
    pub sessions: u64,
    pub turns: u64,
    pub messages: u64,
    pub facts: u64,
    pub jobs: u64,
}
