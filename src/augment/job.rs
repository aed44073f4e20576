//! Augmentation jobs, run in batches: index the turns' messages, extract
//! memories with the configured model, plan the writes, and apply them
//! together with each job's completion (see `Store::apply_augmentations`).
//!
//! The entity's known facts come from recall's per-entity index (shared
//! with `Recaller`, brought up to date by version like a recall), so a
//! batch reads only the facts written since the entity's last batch.
//!
//! Planning is the same whatever the batching: a batch plans each entity's
//! jobs in turn order, each seeing the facts the earlier ones learned and
//! not those they replaced; a value change is settled (by asking the
//! extraction model, see `memory::replacement`) before the next job of the
//! entity is planned. The batch is applied only if no other batch wrote
//! facts related to its plan (see `memory::plan::plan_depends_on`) since it
//! was planned; otherwise it is planned again against what is now known
//! (the extraction answers and the model's replacement answers are kept,
//! so nothing is asked twice).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use uuid::Uuid;

use crate::domain::jobs::ClaimedJob;
use crate::domain::memory::{
    AugmentationWrites, FactRecord, IndexedMessage, MemoryKind, MemoryVersion, NewFact,
    TurnToAugment, normalize,
};
use crate::domain::{Role, Scope};
use crate::embed::Embedder;
use crate::error::{Error, Result};
use crate::memory::extraction::{self, Extraction};
use crate::memory::index::MemoryIndex;
use crate::memory::plan::{
    Decisions, ValueChange, WithEarlier, plan_depends_on, plan_facts, settle,
};
use crate::memory::replacement;
use crate::providers::{Plan, Router};
use crate::recall::cache::IndexCache;
use crate::storage::{Applied, PlannedAt, Store};
use crate::telemetry;

/// How often a batch is planned again when other batches keep writing its
/// entities; the last plan is then applied without the check (its value
/// changes against those writes are kept as distinct facts, never merged).
const MAX_PLANS: usize = 8;

/// The model's replacement answers of one entity: (old fact, normalized
/// new text) → replaces.
type Answers = HashMap<(Uuid, String), bool>;

/// What a worker needs to run jobs; shared by all of a replica's workers.
pub struct JobContext {
    pub store: Store,
    pub embedder: Embedder,
    pub router: Arc<Router>,
    /// The extraction model's routes; `None` when extraction is off.
    pub extraction: Option<Plan>,
    pub near_duplicate_threshold: f32,
    pub closest_facts: usize,
    /// The entities' fact indexes (the same cache recall uses).
    pub indexes: Arc<IndexCache>,
    /// Bound on one extraction call (the lease is renewed meanwhile).
    pub extraction_timeout: Duration,
    /// This replica's lease owner id.
    pub owner: Uuid,
}

/// One job's state while its batch is processed.
struct Work<'a> {
    job: &'a ClaimedJob,
    turn: TurnToAugment,
    writes: AugmentationWrites,
    /// The extraction's answer, kept for planning (again).
    extracted: Option<Extracted>,
    /// How the job's facts were placed by the latest plan.
    decisions: Decisions,
    /// Set when this job failed; its writes are then not applied.
    error: Option<Error>,
}

/// What the extraction model proposed for one turn.
struct Extracted {
    extraction: Extraction,
    /// One vector per proposed fact.
    vectors: Vec<Vec<f32>>,
    /// The known facts the model was shown (its references point here).
    shown: Vec<FactRecord>,
}

impl JobContext {
    /// Runs a batch of jobs together: their turns are loaded with three
    /// queries, all their texts embedded in one call, the extraction calls
    /// made concurrently, and every job's writes applied in one transaction.
    /// Returns one outcome per job, in order: Ok(false) when the job's
    /// turn is gone or its lease was lost meanwhile (nothing written).
    pub async fn run_batch(&self, jobs: &[ClaimedJob]) -> Vec<Result<bool>> {
        match self.try_run_batch(jobs).await {
            Ok(outcomes) => outcomes,
            Err(error) => {
                let message = error.to_string();
                jobs.iter()
                    .map(|_| Err(Error::Internal(message.clone())))
                    .collect()
            }
        }
    }

    async fn try_run_batch(&self, jobs: &[ClaimedJob]) -> Result<Vec<Result<bool>>> {
        let wanted: Vec<(Scope, Uuid)> =
            jobs.iter().map(|j| (j.scope.clone(), j.turn_id)).collect();
        let mut turns = self.store.turns_to_augment(&wanted).await?;
        let mut work: Vec<Work> = jobs
            .iter()
            .filter_map(|job| {
                // A missing turn was deleted (ForgetEntity); its job went too.
                let turn = turns.remove(&job.turn_id)?;
                Some(Work {
                    job,
                    turn,
                    writes: AugmentationWrites {
                        embedding_model: self.embedder.model_name().to_string(),
                        ..AugmentationWrites::default()
                    },
                    extracted: None,
                    decisions: Decisions::default(),
                    error: None,
                })
            })
            .collect();

        // The message index: one embedding call for the whole batch.
        let extracting = self.extraction.is_some();
        let mut texts = Vec::new();
        for item in &work {
            texts.extend(unindexed(&item.turn).map(|m| {
                self.embedder
                    .message_text(m.name.as_deref(), &m.content)
                    .into_owned()
            }));
        }
        let mut vectors = self.embedder.embed(texts).await?.into_iter();
        for item in &mut work {
            let ids: Vec<Uuid> = unindexed(&item.turn).map(|m| m.message_id).collect();
            item.writes.message_embeddings = ids.into_iter().zip(vectors.by_ref()).collect();
        }
        // Each turn's direction, for choosing the known facts to show the
        // extraction model: the sum of its user messages' vectors (search
        // normalizes it; a short reply like "Noted." would otherwise count
        // as much as what the user said), which saves embedding the turn's
        // text once more.
        let turn_vectors: Vec<Vec<f32>> = if extracting {
            work.iter().map(|item| direction(item)).collect()
        } else {
            Vec::new()
        };

        if let Some(plan) = &self.extraction {
            self.extract(plan, &mut work, &turn_vectors).await?;
        }
        let mut answers: HashMap<Scope, Answers> = HashMap::new();
        let mut round = 1;
        let applied = loop {
            let planned_at = match &self.extraction {
                Some(plan) => self.plan_facts(plan, &mut work, &mut answers).await?,
                None => Vec::new(),
            };
            let check = if round < MAX_PLANS {
                &planned_at[..]
            } else {
                &[]
            };
            match self.apply(&work, check).await? {
                Applied::Done(applied) => break applied,
                Applied::Moved(scopes) => {
                    tracing::debug!(entities = scopes.len(), round, "planning again");
                    metrics::counter!(telemetry::REPLANS).increment(1);
                    round += 1;
                }
            }
        };
        for (item, owned) in work.iter().filter(|w| w.error.is_none()).zip(&applied) {
            if *owned {
                record(item.decisions);
            }
        }
        let mut applied = applied.into_iter();
        let mut by_job: HashMap<Uuid, Result<bool>> = HashMap::new();
        for item in work {
            let outcome = match item.error {
                Some(error) => Err(error),
                None => Ok(applied.next().unwrap_or(false)),
            };
            by_job.insert(item.job.job_id, outcome);
        }
        Ok(jobs
            .iter()
            .map(|job| by_job.remove(&job.job_id).unwrap_or(Ok(false)))
            .collect())
    }

    /// The entities' fact indexes, at least as new as `versions` (read
    /// with one query for all that are not).
    async fn fact_indexes(
        &self,
        scopes: &[Scope],
        versions: &HashMap<Scope, MemoryVersion>,
    ) -> Result<HashMap<Scope, Arc<MemoryIndex>>> {
        let wanted: Vec<(&Scope, MemoryVersion)> = scopes
            .iter()
            .map(|scope| (scope, versions[scope]))
            .collect();
        let indexes = self
            .indexes
            .indexes(&wanted, MemoryKind::Facts, self.embedder.model_name())
            .await?;
        Ok(scopes
            .iter()
            .cloned()
            .zip(indexes.into_iter().map(|(index, _)| index))
            .collect())
    }

    /// Extraction for every job of the batch: the entity's facts are read
    /// once per entity, the model calls run concurrently, and the new facts
    /// are embedded in one call.
    async fn extract(
        &self,
        plan: &Plan,
        work: &mut [Work<'_>],
        turn_vectors: &[Vec<f32>],
    ) -> Result<()> {
        let mut scopes: Vec<Scope> = work.iter().map(|w| w.job.scope.clone()).collect();
        scopes.sort_by(|a, b| (&a.namespace, &a.entity_id).cmp(&(&b.namespace, &b.entity_id)));
        scopes.dedup();
        let versions = self.store.memory_versions(&scopes).await?;
        // The indexes are held only while read, not across the model calls:
        // an index nobody holds is brought up to date in place by the next
        // batch, one that is held must be copied.
        let current = self.fact_indexes(&scopes, &versions).await?;
        let shown: Vec<Vec<FactRecord>> = work
            .iter()
            .zip(turn_vectors)
            .map(|(item, vector)| {
                current[&item.job.scope]
                    .closest_facts(vector, self.closest_facts)
                    .into_iter()
                    .cloned()
                    .collect()
            })
            .collect();
        drop(current);
        let shown: Vec<Vec<&FactRecord>> = shown.iter().map(|s| s.iter().collect()).collect();
        let calls = work.iter().zip(&shown).map(|(item, shown)| {
            let messages: Vec<_> = item
                .turn
                .messages
                .iter()
                .map(|m| (m.role, m.content.clone()))
                .collect();
            let request = extraction::request("", &messages, shown, item.turn.summary.as_deref());
            async move {
                let started = std::time::Instant::now();
                let answer = self
                    .router
                    .complete(plan, &request, self.extraction_timeout)
                    .await;
                metrics::histogram!(telemetry::EXTRACTION_SECONDS)
                    .record(started.elapsed().as_secs_f64());
                answer.and_then(|a| {
                    extraction::parse(&a.text, shown.len()).map_err(Error::UpstreamUnavailable)
                })
            }
        });
        let extractions = futures_util::future::join_all(calls).await;

        let mut contents = Vec::new();
        for extracted in extractions.iter().flatten() {
            contents.extend(extracted.facts.iter().map(|f| f.content.clone()));
        }
        let mut fact_vectors = self.embedder.embed(contents).await?.into_iter();
        for ((item, extracted), shown) in work.iter_mut().zip(extractions).zip(shown) {
            let extraction = match extracted {
                Ok(extraction) => extraction,
                Err(error) => {
                    item.error = Some(error);
                    continue;
                }
            };
            let vectors: Vec<Vec<f32>> =
                fact_vectors.by_ref().take(extraction.facts.len()).collect();
            item.writes.triples = extraction.triples.clone();
            item.writes.process_attributes = extraction.process_attributes.clone();
            item.writes.summary = extraction.summary.clone();
            item.extracted = Some(Extracted {
                extraction,
                vectors,
                shown: shown.into_iter().cloned().collect(),
            });
        }
        Ok(())
    }

    /// Plans every extracted job's facts against the entities' current
    /// facts, settling value changes with the model as it goes; returns
    /// the memory version each entity was planned at.
    async fn plan_facts(
        &self,
        plan: &Plan,
        work: &mut [Work<'_>],
        answers: &mut HashMap<Scope, Answers>,
    ) -> Result<Vec<(Scope, i64)>> {
        let mut groups: HashMap<Scope, Vec<&mut Work>> = HashMap::new();
        for item in work.iter_mut().filter(|w| w.extracted.is_some()) {
            groups.entry(item.job.scope.clone()).or_default().push(item);
        }
        let scopes: Vec<Scope> = groups.keys().cloned().collect();
        let versions = self.store.memory_versions(&scopes).await?;
        let indexes = self.fact_indexes(&scopes, &versions).await?;
        let plans = groups.into_iter().map(|(scope, mut items)| {
            let index = Arc::clone(&indexes[&scope]);
            let mut known = answers.remove(&scope).unwrap_or_default();
            async move {
                items.sort_by_key(|w| (w.turn.occurred_at, w.turn.turn_id));
                self.plan_entity(plan, &index, &mut items, &mut known).await;
                (scope, known)
            }
        });
        for (scope, known) in futures_util::future::join_all(plans).await {
            answers.insert(scope, known);
        }
        Ok(scopes
            .into_iter()
            .map(|scope| {
                let version = versions[&scope].version;
                (scope, version)
            })
            .collect())
    }

    /// One entity's jobs, in turn order: each sees the facts the earlier
    /// ones learned, and not the ones they replaced.
    async fn plan_entity(
        &self,
        plan: &Plan,
        index: &MemoryIndex,
        items: &mut [&mut Work<'_>],
        answers: &mut Answers,
    ) {
        let mut earlier: Vec<NewFact> = Vec::new();
        let mut replaced: Vec<Uuid> = Vec::new();
        for item in items.iter_mut() {
            let Some(extracted) = &item.extracted else {
                continue;
            };
            let writes = &mut item.writes;
            writes.new_facts.clear();
            writes.mentioned.clear();
            writes.superseded.clear();
            let shown: Vec<&FactRecord> = extracted.shown.iter().collect();
            let known = WithEarlier {
                known: index,
                earlier: &earlier,
                replaced: &replaced,
            };
            let facts = plan_facts(
                &extracted.extraction,
                &extracted.vectors,
                &shown,
                &known,
                self.near_duplicate_threshold,
                item.turn.occurred_at,
                writes,
            );
            let unanswered: Vec<ValueChange> = facts
                .questions
                .iter()
                .filter(|q| !answers.contains_key(&(q.old, normalize(&q.new_content))))
                .cloned()
                .collect();
            if !unanswered.is_empty() {
                for (question, answer) in unanswered
                    .iter()
                    .zip(self.ask(plan, &item.turn, &unanswered).await)
                {
                    if let Some(replaces) = answer {
                        answers.insert((question.old, normalize(&question.new_content)), replaces);
                    }
                }
            }
            item.decisions = settle(&facts, answers, &mut item.writes);
            earlier.extend(item.writes.new_facts.iter().cloned());
            replaced.extend(item.writes.superseded.iter().map(|(old, _)| *old));
        }
    }

    /// Whether each new fact replaces the known one it differs from by a
    /// value; `None` where the model gave no answer (both facts then stay).
    async fn ask(
        &self,
        plan: &Plan,
        turn: &TurnToAugment,
        pairs: &[ValueChange],
    ) -> Vec<Option<bool>> {
        let messages: Vec<_> = turn
            .messages
            .iter()
            .map(|m| (m.role, m.content.clone()))
            .collect();
        let request = replacement::request("", &messages, pairs);
        let started = std::time::Instant::now();
        let answer = self
            .router
            .complete(plan, &request, self.extraction_timeout)
            .await;
        metrics::histogram!(telemetry::EXTRACTION_SECONDS).record(started.elapsed().as_secs_f64());
        match answer {
            Ok(answer) => replacement::parse(&answer.text, pairs.len()),
            Err(error) => {
                tracing::warn!(error = %error.for_log(), pairs = pairs.len(), "the replacement question failed; keeping both facts");
                vec![None; pairs.len()]
            }
        }
    }

    /// Applies the jobs that did not fail, unless facts written since
    /// `planned_at` change their plan.
    async fn apply(&self, work: &[Work<'_>], planned_at: &[(Scope, i64)]) -> Result<Applied> {
        let ready: Vec<(&ClaimedJob, &TurnToAugment, &AugmentationWrites)> = work
            .iter()
            .filter(|w| w.error.is_none())
            .map(|w| (w.job, &w.turn, &w.writes))
            .collect();
        let threshold = self.near_duplicate_threshold;
        let changes_plan = |scope: &Scope, written: &[FactRecord]| {
            ready
                .iter()
                .filter(|(job, _, _)| job.scope == *scope)
                .any(|(_, _, writes)| plan_depends_on(writes, written, threshold))
        };
        let planned = PlannedAt {
            versions: planned_at,
            changes_plan: &changes_plan,
        };
        self.store
            .apply_augmentations(self.owner, &ready, Some(&planned))
            .await
    }
}

/// Counts how a job's facts were placed.
fn record(decisions: Decisions) {
    let Decisions {
        repeated,
        merged,
        superseded,
        kept_distinct,
    } = decisions;
    for (decision, count) in [
        ("repeated", repeated),
        ("merged", merged),
        ("superseded", superseded),
        ("kept_distinct", kept_distinct),
    ] {
        if count > 0 {
            metrics::counter!(telemetry::FACT_DECISIONS, "decision" => decision).increment(count);
        }
    }
}

fn unindexed(turn: &TurnToAugment) -> impl Iterator<Item = &IndexedMessage> {
    turn.messages
        .iter()
        .filter(|m| !m.embedded && !m.content.trim().is_empty())
}

/// The sum of the turn's user message vectors, or of all its message
/// vectors when it has no user message. Empty when none were embedded now
/// (all were indexed before); the facts shown are then any `k`.
fn direction(item: &Work) -> Vec<f32> {
    let vectors = &item.writes.message_embeddings;
    let from_user: Vec<&Vec<f32>> = vectors
        .iter()
        .filter(|(id, _)| {
            item.turn
                .messages
                .iter()
                .any(|m| m.message_id == *id && m.role == Role::User)
        })
        .map(|(_, v)| v)
        .collect();
    let chosen = if from_user.is_empty() {
        vectors.iter().map(|(_, v)| v).collect()
    } else {
        from_user
    };
    let mut total: Vec<f32> = Vec::new();
    for vector in chosen {
        if total.is_empty() {
            total = vector.clone();
        } else {
            total.iter_mut().zip(vector).for_each(|(t, v)| *t += v);
        }
    }
    total
}
