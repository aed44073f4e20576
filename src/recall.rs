//! Recall: the entity's memories that best match a query, best first.
//!
//! The query is embedded with the same model as the stored vectors (only
//! vectors of that model are read), then every candidate is ranked by
//! `memory::recall` and filtered by the caller's minimum score. Reads are
//! scoped to the caller's namespace and entity, always.

use chrono::{DateTime, Utc};

use crate::domain::{self, Scope};
use crate::embed::EmbedderCell;
use crate::error::{Error, Result};
use crate::memory::recall::{Candidate, Score, Weights, rank};
use crate::storage::Store;
use crate::storage::memory::{FactRecord, MessageMemory, RecallFilter};

/// Hits returned when the caller asks for none in particular, and at most.
pub const DEFAULT_LIMIT: usize = 10;
pub const MAX_LIMIT: usize = 100;

/// A recall request, validated.
#[derive(Debug, Clone)]
pub struct RecallQuery {
    pub scope: Scope,
    pub process_id: Option<String>,
    pub query: String,
    pub limit: usize,
    pub facts: bool,
    pub messages: bool,
    pub after: Option<DateTime<Utc>>,
    pub before: Option<DateTime<Utc>>,
    pub min_score: f64,
    pub include_superseded: bool,
}

#[derive(Debug, Clone)]
pub enum Hit {
    Fact(FactRecord),
    Message(MessageMemory),
}

#[derive(Debug, Clone)]
pub struct Ranked {
    pub hit: Hit,
    pub score: Score,
}

#[derive(Clone)]
pub struct Recaller {
    store: Store,
    embedder: EmbedderCell,
    weights: Weights,
}

impl Recaller {
    pub fn new(store: Store, embedder: EmbedderCell, weights: Weights) -> Self {
        Recaller {
            store,
            embedder,
            weights,
        }
    }

    pub async fn recall(&self, query: RecallQuery) -> Result<Vec<Ranked>> {
        domain::validate_id("attribution.entity_id", &query.scope.entity_id, true)?;
        if query.query.trim().is_empty() {
            return Err(Error::invalid("query", "must not be empty"));
        }
        if !query.min_score.is_finite() {
            return Err(Error::invalid("min_score", "must be a finite number"));
        }
        let embedder = self.embedder.get().await?;
        let query_vector = embedder
            .embed(vec![query.query.clone()])
            .await?
            .pop()
            .unwrap_or_default();
        let filter = RecallFilter {
            model: embedder.model_name().to_string(),
            process_id: query.process_id.clone(),
            after: query.after,
            before: query.before,
            include_superseded: query.include_superseded,
        };
        let facts = if query.facts {
            self.store.recall_facts(&query.scope, &filter).await?
        } else {
            Vec::new()
        };
        let messages = if query.messages {
            self.store.recall_messages(&query.scope, &filter).await?
        } else {
            Vec::new()
        };

        let candidates: Vec<Candidate> = facts
            .iter()
            .map(|f| Candidate {
                text: &f.content,
                vector: f.embedding.as_deref().unwrap_or_default(),
                seen_at: f.last_seen_at,
                mentions: f.mention_count,
            })
            .chain(messages.iter().map(|m| Candidate {
                text: &m.content,
                vector: &m.embedding,
                seen_at: m.occurred_at,
                mentions: 1,
            }))
            .collect();
        let scores = rank(
            &query.query,
            &query_vector,
            &candidates,
            &self.weights,
            Utc::now(),
        );
        let hits = facts
            .into_iter()
            .map(Hit::Fact)
            .chain(messages.into_iter().map(Hit::Message));
        let mut ranked: Vec<Ranked> = hits
            .zip(scores)
            .map(|(hit, score)| Ranked { hit, score })
            .filter(|r| r.score.total >= query.min_score)
            .collect();
        ranked.sort_by(|a, b| b.score.total.total_cmp(&a.score.total));
        ranked.truncate(query.limit);
        Ok(ranked)
    }
}
