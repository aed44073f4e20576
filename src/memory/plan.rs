//! Turns an extraction into writes, applying the memory quality rules:
//! - the same text (normalized) as a current fact → that fact is mentioned
//!   again (count and last-seen bumped), never duplicated;
//! - a near-duplicate (cosine ≥ threshold) of a current fact → merged into
//!   it the same way;
//! - a fact the model marks as replacing a known one → a new fact, and the
//!   old one is superseded (kept as history, linked to its replacement).

use uuid::Uuid;

use super::extraction::{Action, Extraction};
use crate::embed::cosine;
use crate::storage::memory::{AugmentationWrites, FactRecord, NewFact, normalize};

/// What planning asks of the entity's current facts (all of them, however
/// many: answered by the entity's recall index, not a list scan).
pub trait KnownFacts {
    /// A current fact whose normalized text is `normalized`.
    fn with_text(&self, normalized: &str) -> Option<Uuid>;
    /// The current fact most similar to `vector`, and its cosine.
    fn nearest(&self, vector: &[f32]) -> Option<(Uuid, f32)>;
}

/// Plans the fact writes of one extraction. `shown` are the known facts
/// the model saw (its `existing` indices point into them), `known` all
/// the entity's current facts, `vectors` one embedding per extracted fact.
pub fn plan_facts(
    extraction: &Extraction,
    vectors: &[Vec<f32>],
    shown: &[&FactRecord],
    known: &impl KnownFacts,
    threshold: f32,
    writes: &mut AugmentationWrites,
) {
    for (fact, vector) in extraction.facts.iter().zip(vectors) {
        let normalized = normalize(&fact.content);
        let referenced = fact.existing.and_then(|i| shown.get(i)).map(|f| f.fact_id);

        let same_text = known.with_text(&normalized).or_else(|| {
            writes
                .new_facts
                .iter()
                .find(|f| f.normalized == normalized)
                .map(|f| f.fact_id)
        });
        if let Some(fact_id) = same_text {
            mention(writes, fact_id);
            continue;
        }
        if fact.action == Action::Same
            && let Some(fact_id) = referenced
        {
            mention(writes, fact_id);
            continue;
        }
        if fact.action == Action::Update
            && let Some(old) = referenced
        {
            let new = push_new(writes, &fact.content, normalized, &fact.category, vector);
            writes.superseded.push((old, new));
            continue;
        }
        let nearest = known
            .nearest(vector)
            .into_iter()
            .chain(
                writes
                    .new_facts
                    .iter()
                    .map(|f| (f.fact_id, cosine(&f.embedding, vector))),
            )
            .max_by(|a, b| a.1.total_cmp(&b.1));
        match nearest {
            Some((fact_id, similarity)) if similarity >= threshold => mention(writes, fact_id),
            _ => {
                push_new(writes, &fact.content, normalized, &fact.category, vector);
            }
        }
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
    category: &str,
    vector: &[f32],
) -> Uuid {
    let fact_id = Uuid::now_v7();
    writes.new_facts.push(NewFact {
        fact_id,
        content: content.to_string(),
        normalized,
        category: category.to_string(),
        embedding: vector.to_vec(),
    });
    fact_id
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::extraction::ExtractedFact;
    use crate::memory::index::MemoryIndex;
    use crate::storage::memory::Memory;
    use chrono::Utc;

    fn known(content: &str, embedding: Vec<f32>) -> FactRecord {
        FactRecord {
            fact_id: Uuid::now_v7(),
            content: content.into(),
            category: "preference".into(),
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
            category: "preference".into(),
            action,
            existing,
        }
    }

    fn plan(
        facts: Vec<ExtractedFact>,
        vectors: Vec<Vec<f32>>,
        current: &[FactRecord],
    ) -> AugmentationWrites {
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
        plan_facts(&extraction, &vectors, &shown, &known, 0.9, &mut writes);
        writes
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
                extracted("enjoys drinking tea", Action::New, None),
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
}
