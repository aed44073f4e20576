//! One augmentation job: index the turn's messages, extract memories with
//! the configured model, plan the writes, and apply them together with the
//! job's completion (see `Store::apply_augmentation`).

use std::sync::Arc;
use std::time::Duration;

use uuid::Uuid;

use crate::embed::{Embedder, cosine};
use crate::error::{Error, Result};
use crate::memory::extraction;
use crate::memory::plan::plan_facts;
use crate::providers::{Plan, Router};
use crate::storage::Store;
use crate::storage::jobs::ClaimedJob;
use crate::storage::memory::{AugmentationWrites, FactRecord};
use crate::telemetry;

/// What a worker needs to run jobs; shared by all of a replica's workers.
pub struct JobContext {
    pub store: Store,
    pub embedder: Embedder,
    pub router: Arc<Router>,
    /// The extraction model's routes; `None` when extraction is off.
    pub extraction: Option<Plan>,
    pub near_duplicate_threshold: f32,
    pub closest_facts: usize,
    /// Bound on the extraction call; well within the job's lease.
    pub extraction_timeout: Duration,
    /// This replica's lease owner id.
    pub owner: Uuid,
}

impl JobContext {
    /// Runs one job; Ok(false) when the lease was lost meanwhile (another
    /// replica has the job now) and nothing was written.
    pub async fn run(&self, job: &ClaimedJob) -> Result<bool> {
        let Some(turn) = self.store.turn_to_augment(&job.scope, job.turn_id).await? else {
            // The turn was deleted (ForgetEntity); its job went with it.
            return Ok(false);
        };
        let mut writes = AugmentationWrites {
            embedding_model: self.embedder.model_name().to_string(),
            ..AugmentationWrites::default()
        };
        let unindexed: Vec<_> = turn
            .messages
            .iter()
            .filter(|m| !m.embedded && !m.content.trim().is_empty())
            .collect();
        let mut texts: Vec<String> = unindexed.iter().map(|m| m.content.clone()).collect();
        let turn_text: String = turn
            .messages
            .iter()
            .map(|m| m.content.as_str())
            .collect::<Vec<_>>()
            .join("\n");
        if self.extraction.is_some() {
            texts.push(turn_text);
        }
        let mut vectors = self.embedder.embed(texts).await?;
        let turn_vector = self.extraction.is_some().then(|| vectors.pop()).flatten();
        writes.message_embeddings = unindexed
            .iter()
            .map(|m| m.message_id)
            .zip(vectors)
            .collect();

        if let (Some(plan), Some(turn_vector)) = (&self.extraction, turn_vector) {
            let current = self.store.current_facts(&job.scope).await?;
            let shown = closest(&current, &turn_vector, self.closest_facts);
            let messages: Vec<_> = turn
                .messages
                .iter()
                .map(|m| (m.role, m.content.clone()))
                .collect();
            let request = extraction::request("", &messages, &shown, turn.summary.as_deref());
            let started = std::time::Instant::now();
            let answer = self
                .router
                .complete(plan, &request, self.extraction_timeout)
                .await;
            metrics::histogram!(telemetry::EXTRACTION_SECONDS)
                .record(started.elapsed().as_secs_f64());
            let answer = answer?;
            let extracted =
                extraction::parse(&answer.text, shown.len()).map_err(Error::UpstreamUnavailable)?;
            let contents = extracted.facts.iter().map(|f| f.content.clone()).collect();
            let fact_vectors = self.embedder.embed(contents).await?;
            plan_facts(
                &extracted,
                &fact_vectors,
                &shown,
                &current,
                self.near_duplicate_threshold,
                &mut writes,
            );
            writes.triples = extracted.triples;
            writes.process_attributes = extracted.process_attributes;
            writes.summary = extracted.summary;
        }
        self.store
            .apply_augmentation(job, self.owner, &turn, &writes)
            .await
    }
}

/// The `k` current facts closest to the turn (facts embedded with another
/// model or dimension are not comparable and are left out).
fn closest<'a>(facts: &'a [FactRecord], query: &[f32], k: usize) -> Vec<&'a FactRecord> {
    let mut scored: Vec<(f32, &FactRecord)> = facts
        .iter()
        .filter_map(|f| {
            let embedding = f.embedding.as_ref()?;
            (embedding.len() == query.len()).then(|| (cosine(embedding, query), f))
        })
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0));
    scored.into_iter().take(k).map(|(_, f)| f).collect()
}
