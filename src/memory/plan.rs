//! Turns an extraction into writes, applying the memory quality rules:
//! - the same text (normalized) as a current fact → that fact is mentioned
//!   again (count and last-seen bumped), never duplicated;
//! - a near-duplicate (cosine ≥ threshold) that is a true paraphrase (see
//!   `paraphrase`: same values, same polarity, wording alike) → merged into
//!   it the same way;
//! - a near-duplicate that differs in a value (a number, date, name, a
//!   negation) → a new fact, and a question for the extraction model:
//!   does it replace the known one? Until it answers "replaces" both stay
//!   current — two current facts are a smaller harm than a lost one;
//! - a fact the model marks as replacing a known one → a new fact, and the
//!   old one is superseded (kept as history, linked to its replacement);
//!   one it marks as the same as a known fact whose values differ is asked
//!   about like a value change, never merged.
//!
//! The rules are the same whatever else is in the batch: a batch plans its
//! jobs of one entity in turn order, each seeing the new facts of the ones
//! before it (`WithEarlier`), as a later batch sees them in the index.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::extraction::{Action, Extraction};
use super::paraphrase::{Relation, relate};
use crate::domain::memory::{AugmentationWrites, FactCategory, FactRecord, NewFact, normalize};
use crate::memory::index::cosine;

/// A current fact similar to a proposed one.
#[derive(Debug, Clone, Copy)]
pub struct SimilarFact<'a> {
    pub fact_id: Uuid,
    pub content: &'a str,
    pub similarity: f32,
    /// When a turn last said it; `None` for a fact of an earlier turn of
    /// the same batch (earlier by construction).
    pub seen_at: Option<DateTime<Utc>>,
}

/// What planning asks of the entity's current facts (all of them, however
/// many: answered by the entity's recall index, not a list scan).
pub trait KnownFacts {
    /// A current fact whose normalized text is `normalized`.
    fn with_text(&self, normalized: &str) -> Option<Uuid>;
    /// The current facts at least `threshold` similar to `vector`, most
    /// similar first.
    fn similar(&self, vector: &[f32], threshold: f32) -> Vec<SimilarFact<'_>>;
}

/// The entity's known facts plus the new facts of the batch's earlier
/// jobs of the same entity, less the facts those jobs replaced.
pub struct WithEarlier<'a, K> {
    pub known: &'a K,
    pub earlier: &'a [NewFact],
    pub replaced: &'a [Uuid],
}

impl<K: KnownFacts> KnownFacts for WithEarlier<'_, K> {
    fn with_text(&self, normalized: &str) -> Option<Uuid> {
        self.known
            .with_text(normalized)
            .filter(|id| !self.replaced.contains(id))
            .or_else(|| {
                self.earlier
                    .iter()
                    .find(|f| f.normalized == normalized)
                    .map(|f| f.fact_id)
            })
    }

    fn similar(&self, vector: &[f32], threshold: f32) -> Vec<SimilarFact<'_>> {
        let mut similar = self.known.similar(vector, threshold);
        similar.retain(|c| !self.replaced.contains(&c.fact_id));
        similar.extend(self.earlier.iter().filter_map(|fact| {
            let similarity = cosine(&fact.embedding, vector);
            (similarity >= threshold).then_some(SimilarFact {
                fact_id: fact.fact_id,
                content: &fact.content,
                similarity,
                seen_at: None,
            })
        }));
        similar.sort_by(|a, b| b.similarity.total_cmp(&a.similarity));
        similar
    }
}

/// Two facts that say the same but for a value: whether the later one
/// (`new`) replaces the earlier one (`old`) is the extraction model's call.
/// One of them is the turn's new fact; the other is known, and usually the
/// earlier — unless another batch already stored a later turn's fact, when
/// the turn's own fact is the one that may be replaced. So the question is
/// always asked in the order the user said them, whatever the order the
/// turns were augmented in.
#[derive(Debug, Clone, PartialEq)]
pub struct ValueChange {
    pub old: Uuid,
    pub old_content: String,
    pub new: Uuid,
    pub new_content: String,
}

/// How often each rule decided, for metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Decisions {
    /// The same text as a known fact.
    pub repeated: u64,
    /// A paraphrase, or the model's "same", merged into a known fact.
    pub merged: u64,
    /// A known fact replaced, by the model's "update" or its answer.
    pub superseded: u64,
    /// A near-duplicate (by cosine) kept as a fact of its own.
    pub kept_distinct: u64,
}

impl Decisions {
    pub fn add(&mut self, other: Decisions) {
        self.repeated += other.repeated;
        self.merged += other.merged;
        self.superseded += other.superseded;
        self.kept_distinct += other.kept_distinct;
    }
}

/// What planning one extraction leaves to decide.
#[derive(Debug, Default)]
pub struct FactPlan {
    pub questions: Vec<ValueChange>,
    pub decisions: Decisions,
}

/// Plans the fact writes of one extraction. `shown` are the known facts
/// the model saw (its `existing` indices point into them), `known` all
/// the entity's current facts, `vectors` one embedding per extracted fact,
/// `turn_at` when the turn happened.
pub fn plan_facts(
    extraction: &Extraction,
    vectors: &[Vec<f32>],
    shown: &[&FactRecord],
    known: &impl KnownFacts,
    threshold: f32,
    turn_at: DateTime<Utc>,
    writes: &mut AugmentationWrites,
) -> FactPlan {
    let mut plan = FactPlan::default();
    for (fact, vector) in extraction.facts.iter().zip(vectors) {
        let normalized = normalize(&fact.content);
        let referenced = fact.existing.and_then(|i| shown.get(i).copied());

        let same_text = known.with_text(&normalized).or_else(|| {
            writes
                .new_facts
                .iter()
                .find(|f| f.normalized == normalized)
                .map(|f| f.fact_id)
        });
        if let Some(fact_id) = same_text {
            mention(writes, fact_id);
            plan.decisions.repeated += 1;
            continue;
        }
        if let Some(old) = referenced {
            match fact.action {
                Action::Update => {
                    let new = push_new(writes, &fact.content, normalized, fact.category, vector);
                    writes.superseded.push((old.fact_id, new));
                    plan.decisions.superseded += 1;
                    continue;
                }
                // The model's "same" is trusted unless a value differs:
                // then merging would lose it.
                Action::Same if relate(&old.content, &fact.content) != Relation::ValueChange => {
                    mention(writes, old.fact_id);
                    plan.decisions.merged += 1;
                    continue;
                }
                Action::Same => {
                    let new = push_new(writes, &fact.content, normalized, fact.category, vector);
                    let known_at = Some(old.last_seen_at);
                    plan.questions.push(ordered(
                        (old.fact_id, &old.content, known_at),
                        (new, &fact.content),
                        turn_at,
                    ));
                    continue;
                }
                Action::New => {}
            }
        }
        // Earlier facts of this very extraction count like known ones.
        let (paraphrase, changed, any_similar) = {
            let own = WithEarlier {
                known,
                earlier: &writes.new_facts,
                replaced: &[],
            };
            let similar = own.similar(vector, threshold);
            let related: Vec<(SimilarFact, Relation)> = similar
                .iter()
                .map(|c| (*c, relate(c.content, &fact.content)))
                .collect();
            let first = |wanted: Relation| {
                related
                    .iter()
                    .find(|(_, relation)| *relation == wanted)
                    .map(|(c, _)| (c.fact_id, c.content.to_string(), c.seen_at))
            };
            (
                first(Relation::Paraphrase),
                first(Relation::ValueChange),
                !similar.is_empty(),
            )
        };
        if let Some((fact_id, _, _)) = paraphrase {
            mention(writes, fact_id);
            plan.decisions.merged += 1;
            continue;
        }
        let new = push_new(writes, &fact.content, normalized, fact.category, vector);
        match changed {
            Some((known_id, known_content, known_at)) => plan.questions.push(ordered(
                (known_id, &known_content, known_at),
                (new, &fact.content),
                turn_at,
            )),
            None if any_similar => plan.decisions.kept_distinct += 1,
            None => {}
        }
    }
    plan
}

/// Settles the questions with the model's answers (`Some(true)`: the new
/// fact replaces the old one; `Some(false)` or no answer: both hold).
pub fn settle(
    plan: &FactPlan,
    answers: &HashMap<(Uuid, String), bool>,
    writes: &mut AugmentationWrites,
) -> Decisions {
    let mut decisions = plan.decisions;
    for question in &plan.questions {
        let key = (question.old, normalize(&question.new_content));
        if answers.get(&key) == Some(&true) {
            writes.superseded.push((question.old, question.new));
            decisions.superseded += 1;
        } else {
            decisions.kept_distinct += 1;
        }
    }
    decisions
}

/// Whether facts written since a job was planned (by another batch) could
/// change its plan: one it refers to changed, or a current one is the same
/// text as, or similar enough to, a fact it is about to create.
pub fn plan_depends_on(
    writes: &AugmentationWrites,
    written: &[FactRecord],
    threshold: f32,
) -> bool {
    let referred = |id: Uuid| {
        writes.mentioned.contains(&id)
            || writes.superseded.iter().any(|(o, n)| *o == id || *n == id)
    };
    written.iter().any(|fact| {
        referred(fact.fact_id)
            || (fact.valid_until.is_none()
                && writes.new_facts.iter().any(|new| {
                    new.normalized == normalize(&fact.content)
                        || fact
                            .embedding
                            .as_deref()
                            .is_some_and(|v| cosine(v, &new.embedding) >= threshold)
                }))
    })
}

/// The question about a known fact and the turn's new one, earlier first.
fn ordered(
    (known, known_content, known_at): (Uuid, &str, Option<DateTime<Utc>>),
    (new, new_content): (Uuid, &str),
    turn_at: DateTime<Utc>,
) -> ValueChange {
    let (old, old_content, new, new_content) = if known_at.is_some_and(|at| at > turn_at) {
        (new, new_content, known, known_content)
    } else {
        (known, known_content, new, new_content)
    };
    ValueChange {
        old,
        old_content: old_content.to_string(),
        new,
        new_content: new_content.to_string(),
    }
}

fn mention(writes: &mut AugmentationWrites, fact_id: Uuid) {
    // A fact created by this very job is already mentioned by its creation.
    let created_here = writes.new_facts.iter().any(|f| f.fact_id == fact_id);
    if !created_here && !writes.mentioned.contains(&fact_id) {
        writes.mentioned.push(fact_id);
    }
}

fn push_new(
    writes: &mut AugmentationWrites,
    content: &str,
    normalized: String,
    category: FactCategory,
    vector: &[f32],
) -> Uuid {
    let fact_id = Uuid::now_v7();
    writes.new_facts.push(NewFact {
        fact_id,
        content: content.to_string(),
        normalized,
        category,
        embedding: vector.to_vec(),
    });
    fact_id
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::memory::Memory;
    use crate::memory::extraction::ExtractedFact;
    use crate::memory::index::MemoryIndex;
    use chrono::Utc;

    fn known(content: &str, embedding: Vec<f32>) -> FactRecord {
        FactRecord {
            fact_id: Uuid::now_v7(),
            content: content.into(),
            category: FactCategory::Preference,
            mention_count: 1,
            first_seen_at: Utc::now(),
            last_seen_at: Utc::now(),
            valid_until: None,
            superseded_by: None,
            embedding: Some(embedding),
        }
    }

    fn extracted(content: &str, action: Action, existing: Option<usize>) -> ExtractedFact {
        ExtractedFact {
            content: content.into(),
            category: FactCategory::Preference,
            action,
            existing,
        }
    }

    fn plan(
        facts: Vec<ExtractedFact>,
        vectors: Vec<Vec<f32>>,
        current: &[FactRecord],
    ) -> AugmentationWrites {
        plan_with_questions(facts, vectors, current).0
    }

    fn plan_with_questions(
        facts: Vec<ExtractedFact>,
        vectors: Vec<Vec<f32>>,
        current: &[FactRecord],
    ) -> (AugmentationWrites, FactPlan) {
        let extraction = Extraction {
            facts,
            ..Extraction::default()
        };
        let shown: Vec<&FactRecord> = current.iter().collect();
        let mut known = MemoryIndex::default();
        for fact in current {
            let vector = fact.embedding.clone().unwrap();
            known.upsert(Memory::Fact(fact.clone()), &vector).unwrap();
        }
        let mut writes = AugmentationWrites::default();
        let plan = plan_facts(
            &extraction,
            &vectors,
            &shown,
            &known,
            0.9,
            Utc::now(),
            &mut writes,
        );
        (writes, plan)
    }

    #[test]
    fn exact_text_is_a_mention_not_a_new_fact() {
        let tea = known("Likes tea", vec![1.0, 0.0]);
        let writes = plan(
            vec![extracted("likes  tea.", Action::New, None)],
            vec![vec![0.0, 1.0]],
            std::slice::from_ref(&tea),
        );
        assert!(writes.new_facts.is_empty());
        assert_eq!(writes.mentioned, vec![tea.fact_id]);
    }

    #[test]
    fn near_duplicates_merge_and_distinct_facts_are_new() {
        let tea = known("likes tea", vec![1.0, 0.0]);
        let writes = plan(
            vec![
                extracted("enjoys tea", Action::New, None),
                extracted("has a cat", Action::New, None),
            ],
            vec![vec![0.99, 0.05], vec![0.0, 1.0]],
            std::slice::from_ref(&tea),
        );
        assert_eq!(writes.mentioned, vec![tea.fact_id]);
        assert_eq!(writes.new_facts.len(), 1);
        assert_eq!(writes.new_facts[0].content, "has a cat");
    }

    #[test]
    fn updates_supersede_the_referenced_fact() {
        let berlin = known("lives in Berlin", vec![1.0, 0.0]);
        let writes = plan(
            vec![extracted("lives in Lisbon", Action::Update, Some(0))],
            vec![vec![0.95, 0.1]],
            std::slice::from_ref(&berlin),
        );
        assert_eq!(writes.new_facts.len(), 1);
        assert_eq!(
            writes.superseded,
            vec![(berlin.fact_id, writes.new_facts[0].fact_id)]
        );
        assert!(writes.mentioned.is_empty());
    }

    #[test]
    fn repeats_within_one_turn_are_stored_once() {
        let writes = plan(
            vec![
                extracted("has a cat", Action::New, None),
                extracted("Has a cat", Action::New, None),
            ],
            vec![vec![0.0, 1.0], vec![0.0, 1.0]],
            &[],
        );
        assert_eq!(writes.new_facts.len(), 1);
        assert!(writes.mentioned.is_empty());
    }

    #[test]
    fn a_changed_value_is_a_new_fact_and_a_question_never_a_merge() {
        let code = known("locker code is 4471", vec![1.0, 0.0]);
        let (writes, plan) = plan_with_questions(
            vec![extracted("locker code is 4472", Action::New, None)],
            vec![vec![0.999, 0.01]],
            std::slice::from_ref(&code),
        );
        assert_eq!(writes.new_facts.len(), 1, "the new value is stored");
        assert!(writes.mentioned.is_empty() && writes.superseded.is_empty());
        assert_eq!(plan.questions.len(), 1);
        assert_eq!(plan.questions[0].old, code.fact_id);
        assert_eq!(plan.questions[0].new, writes.new_facts[0].fact_id);

        // "replaces": the old one is superseded; no answer: both stay.
        let key = (code.fact_id, normalize("locker code is 4472"));
        let mut replaced = writes.clone();
        let decisions = settle(&plan, &HashMap::from([(key, true)]), &mut replaced);
        assert_eq!(
            replaced.superseded,
            vec![(code.fact_id, writes.new_facts[0].fact_id)]
        );
        assert_eq!(decisions.superseded, 1);
        let mut kept = writes.clone();
        let decisions = settle(&plan, &HashMap::new(), &mut kept);
        assert!(kept.superseded.is_empty());
        assert_eq!(decisions.kept_distinct, 1);
    }

    #[test]
    fn the_models_same_is_not_trusted_over_a_changed_value() {
        let monday = known("flies to Berlin on Monday", vec![1.0, 0.0]);
        let (writes, plan) = plan_with_questions(
            vec![extracted(
                "flies to Berlin on Tuesday",
                Action::Same,
                Some(0),
            )],
            vec![vec![0.98, 0.1]],
            std::slice::from_ref(&monday),
        );
        assert_eq!(writes.new_facts.len(), 1);
        assert!(writes.mentioned.is_empty());
        assert_eq!(plan.questions.len(), 1);
    }

    #[test]
    fn earlier_jobs_of_the_batch_count_as_known() {
        let mut earlier = AugmentationWrites::default();
        push_new(
            &mut earlier,
            "owns gadget 27",
            normalize("owns gadget 27"),
            FactCategory::Attribute,
            &[1.0, 0.0],
        );
        push_new(
            &mut earlier,
            "enjoys hiking",
            normalize("enjoys hiking"),
            FactCategory::Preference,
            &[0.0, 1.0],
        );
        let index = MemoryIndex::default();
        let known = WithEarlier {
            known: &index,
            earlier: &earlier.new_facts,
            replaced: &[],
        };
        let extraction = Extraction {
            facts: vec![
                extracted("owns gadget 28", Action::New, None),
                extracted("likes hiking", Action::New, None),
            ],
            ..Extraction::default()
        };
        let mut writes = AugmentationWrites::default();
        let plan = plan_facts(
            &extraction,
            &[vec![0.99, 0.05], vec![0.02, 0.99]],
            &[],
            &known,
            0.9,
            Utc::now(),
            &mut writes,
        );
        assert_eq!(writes.new_facts.len(), 1, "gadget 28 is stored");
        assert_eq!(plan.questions[0].old, earlier.new_facts[0].fact_id);
        assert_eq!(writes.mentioned, vec![earlier.new_facts[1].fact_id]);
        assert_eq!(plan.decisions.merged, 1);
    }

    #[test]
    fn a_known_fact_said_later_is_asked_about_as_the_later_one() {
        // Another batch already stored what the user said after this turn.
        let mut later = known("locker code is 4472", vec![1.0, 0.0]);
        later.last_seen_at = Utc::now() + chrono::Duration::minutes(5);
        let (writes, plan) = plan_with_questions(
            vec![extracted("locker code is 4471", Action::New, None)],
            vec![vec![0.999, 0.01]],
            std::slice::from_ref(&later),
        );
        let question = &plan.questions[0];
        assert_eq!(
            question.old, writes.new_facts[0].fact_id,
            "this turn's fact is the older"
        );
        assert_eq!(question.new, later.fact_id);
        assert_eq!(question.new_content, "locker code is 4472");
    }

    #[test]
    fn a_plan_depends_only_on_related_facts_written_since() {
        let mut writes = AugmentationWrites::default();
        let referred = known("likes tea", vec![0.0, 1.0]);
        writes.mentioned.push(referred.fact_id);
        push_new(
            &mut writes,
            "locker code is 4472",
            normalize("locker code is 4472"),
            FactCategory::Other,
            &[1.0, 0.0],
        );
        let unrelated = known("has a cat", vec![-1.0, 0.0]);
        let similar = known("locker code is 4471", vec![0.99, 0.05]);
        let same_text = known("Locker code is 4472", vec![-1.0, 0.0]);
        let mut similar_but_replaced = similar.clone();
        similar_but_replaced.valid_until = Some(Utc::now());
        assert!(!plan_depends_on(
            &writes,
            std::slice::from_ref(&unrelated),
            0.9
        ));
        assert!(!plan_depends_on(&writes, &[similar_but_replaced], 0.9));
        for fact in [referred, similar, same_text] {
            assert!(plan_depends_on(&writes, &[unrelated.clone(), fact], 0.9));
        }
    }
}
