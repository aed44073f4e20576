//! Recall: the entity's memories that best match a query, best first.
//!
//! One primary-key read gives the entity's memory version; the entity's
//! cached indexes (facts, and messages when asked) are brought to that
//! version (`cache`); if the entity has no memory of the kinds asked, the
//! query is not even embedded; otherwise the query's vector (`query_vectors`) is ranked
//! against every memory by `memory::index::search`. Only vectors of the
//! configured embedding model are ever compared with the query's. Reads
//! are scoped to the caller's namespace and entity, always.

pub mod cache;
mod query_vectors;

use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, Utc};

use crate::config::{RecallConfig, RecallFusion};
use crate::domain::memory::MemoryKind;
use crate::domain::{self, Scope};
use crate::embed::EmbedderCell;
use crate::error::{Error, Result};
use crate::memory::index::{Filter, Fusion, MemoryIndex, Score, Search, Weights, search};
use crate::storage::Store;
use crate::telemetry;
use tracing::Instrument;

pub use crate::domain::memory::Memory as Hit;
use cache::IndexCache;
use query_vectors::QueryVectors;

/// Hits returned when the caller asks for none in particular, and at most.
pub const DEFAULT_LIMIT: usize = 10;
pub const MAX_LIMIT: usize = 100;

/// From this many memories on, ranking runs on a blocking thread.
const BLOCKING_FROM: usize = 4096;

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
    /// This call's own ranking, over the configured one.
    pub ranking: RankingOverrides,
}

/// What a call changes of the configured ranking.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct RankingOverrides {
    pub dense: Option<f64>,
    pub lexical: Option<f64>,
    pub recency: Option<f64>,
    pub mentions: Option<f64>,
    pub fusion: Option<Fusion>,
    pub context: Option<f64>,
    pub neighbours: Option<f64>,
}

impl RankingOverrides {
    fn apply(&self, configured: Weights) -> Weights {
        Weights {
            dense: self.dense.unwrap_or(configured.dense),
            lexical: self.lexical.unwrap_or(configured.lexical),
            recency: self.recency.unwrap_or(configured.recency),
            mentions: self.mentions.unwrap_or(configured.mentions),
            fusion: self.fusion.unwrap_or(configured.fusion),
            context: self.context.unwrap_or(configured.context),
            neighbours: self.neighbours.unwrap_or(configured.neighbours),
            ..configured
        }
    }
}

#[derive(Debug, Clone)]
pub struct Ranked {
    pub hit: Hit,
    pub score: Score,
}

impl From<&RecallConfig> for Weights {
    fn from(config: &RecallConfig) -> Self {
        Weights {
            dense: config.dense_weight,
            lexical: config.lexical_weight,
            recency: config.recency_weight,
            mentions: config.mentions_weight,
            recency_half_life_days: config.recency_half_life_days,
            fusion: match config.fusion {
                RecallFusion::MinMax => Fusion::MinMax,
                RecallFusion::Absolute => Fusion::Absolute,
            },
            k1: config.bm25_k1,
            b: config.bm25_b,
            dense_floor: 0.0,
            context: config.context_weight,
            neighbours: config.neighbour_weight,
        }
    }
}

#[derive(Clone)]
pub struct Recaller {
    embedder: EmbedderCell,
    weights: Weights,
    indexes: Arc<IndexCache>,
    queries: Arc<QueryVectors>,
    store: Store,
}

impl Recaller {
    pub fn new(store: Store, embedder: EmbedderCell, config: &RecallConfig) -> Self {
        Recaller {
            embedder,
            weights: Weights::from(config),
            indexes: Arc::new(IndexCache::new(
                store.clone(),
                config.index_cache_mib.saturating_mul(1 << 20),
            )),
            queries: Arc::new(QueryVectors::new(config.query_cache_entries)),
            store,
        }
    }

    /// The per-entity index cache, for augmentation to share.
    pub fn indexes(&self) -> Arc<IndexCache> {
        Arc::clone(&self.indexes)
    }

    pub async fn recall(&self, query: RecallQuery) -> Result<Vec<Ranked>> {
        let span = tracing::info_span!(
            "recall",
            memorid.recall.memories = tracing::field::Empty,
            memorid.recall.hits = tracing::field::Empty,
            memorid.recall.indexes = tracing::field::Empty,
        );
        self.ranked(query, &span).instrument(span.clone()).await
    }

    /// The recall itself; `span` gets what it found and how the indexes
    /// were had (hit, refresh or load, per kind).
    async fn ranked(&self, query: RecallQuery, span: &tracing::Span) -> Result<Vec<Ranked>> {
        domain::validate_id("attribution.entity_id", &query.scope.entity_id, true)?;
        if query.query.trim().is_empty() {
            return Err(Error::invalid("query", "must not be empty"));
        }
        if !query.min_score.is_finite() {
            return Err(Error::invalid("min_score", "must be a finite number"));
        }
        let started = Instant::now();
        let model = self.embedder.model_name()?;
        let version = self.store.memory_version(&query.scope).await?;
        let mut parts: Vec<Arc<MemoryIndex>> = Vec::with_capacity(2);
        let mut indexes = Vec::with_capacity(2);
        for (wanted, kind, name) in [
            (query.facts, MemoryKind::Facts, "facts"),
            (query.messages, MemoryKind::Messages, "messages"),
        ] {
            if wanted {
                let (index, freshness) = self
                    .indexes
                    .index(&query.scope, kind, model, version)
                    .await?;
                indexes.push(format!("{name}:{}", freshness.label()));
                parts.push(index);
            }
        }
        span.record("memorid.recall.indexes", indexes.join(",").as_str());
        if parts.iter().all(|part| part.is_empty()) {
            return Ok(Vec::new());
        }

        let embedder = self.embedder.get().await?;
        let vector = self.queries.vector(embedder, &query.query).await?;
        let filter = Filter {
            include_superseded: query.include_superseded,
            process_id: query.process_id.clone(),
            after: query.after,
            before: query.before,
        };
        let weights = Weights {
            dense_floor: crate::embed::similarity_floor(model),
            ..query.ranking.apply(self.weights)
        };
        let memories: usize = parts.iter().map(|part| part.len()).sum();
        let rank = move || {
            let parts: Vec<&MemoryIndex> = parts.iter().map(Arc::as_ref).collect();
            let found = search(
                &parts,
                &Search {
                    text: &query.query,
                    vector: &vector,
                    filter: &filter,
                    weights: &weights,
                    now: Utc::now(),
                    min_score: query.min_score,
                    limit: query.limit,
                },
            );
            found
                .into_iter()
                .map(|found| Ranked {
                    hit: parts[found.part].memory(found.position).clone(),
                    score: found.score,
                })
                .collect::<Vec<_>>()
        };
        // A large scan takes milliseconds: off the async workers.
        let ranked = if memories >= BLOCKING_FROM {
            tokio::task::spawn_blocking(rank)
                .await
                .map_err(|e| Error::Internal(format!("ranking: {e}")))?
        } else {
            rank()
        };
        metrics::histogram!(telemetry::RECALL_SECONDS).record(started.elapsed().as_secs_f64());
        span.record("memorid.recall.memories", memories as i64);
        span.record("memorid.recall.hits", ranked.len() as i64);
        Ok(ranked)
    }
}
