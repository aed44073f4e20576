//! Ingestion of finished turns that a caller ran against a model itself
//! (MemoryService.Attribute).
//!
//! A turn is validated whole before anything is written, stored with its
//! augmentation job in one transaction, and deduplicated by idempotency key.

use chrono::{DateTime, Utc};

use crate::augment::JobWaker;
use crate::config::LimitsConfig;
use crate::domain::turns::InsertedTurn;
use crate::domain::{self, Attribution, ChatMessage, Metadata, NewTurn, TurnSource, TurnStatus};
use crate::error::Result;
use crate::storage::Store;

/// A finished turn as the caller sent it.
#[derive(Debug, Clone)]
pub struct AttributedTurn {
    pub attribution: Attribution,
    pub messages: Vec<ChatMessage>,
    pub occurred_at: Option<DateTime<Utc>>,
    pub idempotency_key: Option<String>,
    pub metadata: Metadata,
    pub model: Option<String>,
}

#[derive(Clone)]
pub struct Ingestor {
    store: Store,
    limits: LimitsConfig,
    waker: JobWaker,
}

impl Ingestor {
    pub fn new(store: Store, limits: LimitsConfig, waker: JobWaker) -> Self {
        Ingestor {
            store,
            limits,
            waker,
        }
    }

    /// Validates and durably stores one turn; returns once it is committed.
    pub async fn ingest(&self, namespace: &str, turn: AttributedTurn) -> Result<InsertedTurn> {
        self.validate(&turn)?;
        let new_turn = NewTurn {
            namespace: namespace.to_string(),
            attribution: turn.attribution,
            source: TurnSource::Attribute,
            messages: turn.messages,
            model: turn.model,
            metadata: turn.metadata,
            occurred_at: turn.occurred_at.unwrap_or_else(Utc::now),
            idempotency_key: turn.idempotency_key,
            augment: true,
        };
        let stored = self
            .store
            .insert_turn(&new_turn, TurnStatus::Completed)
            .await?;
        if !stored.duplicate {
            self.waker.wake();
        }
        Ok(stored)
    }

    fn validate(&self, turn: &AttributedTurn) -> Result<()> {
        domain::validate_attribution(&turn.attribution)?;
        domain::validate_id(
            "idempotency_key",
            turn.idempotency_key.as_deref().unwrap_or(""),
            false,
        )?;
        domain::validate_id("model", turn.model.as_deref().unwrap_or(""), false)?;
        domain::validate_messages("messages", &turn.messages, &self.limits)?;
        domain::validate_metadata("metadata", &turn.metadata, &self.limits)?;
        Ok(())
    }
}
