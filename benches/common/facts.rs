//! Facts for the benchmarks: one entity's turns, each learned as one fact
//! through the storage steps augmentation uses (turns stored, their jobs
//! claimed, one fact per turn applied with its provenance and message
//! vector). Extraction and planning, which no benchmark here measures, are
//! left out.

use std::time::Duration;

use chrono::Utc;
use memorid::domain::memory::{AugmentationWrites, FactCategory, NewFact, normalize};
use memorid::domain::{Attribution, ChatMessage, NewTurn, Role, Scope, TurnSource};
use memorid::embed::Embedder;
use memorid::storage::Store;
use uuid::Uuid;

pub const TOPICS: [&str; 10] = [
    "sailing",
    "tax law",
    "jazz piano",
    "rust compilers",
    "green tea",
    "marathons",
    "bonsai",
    "chess openings",
    "sourdough",
    "astronomy",
];

/// The namespace a server without API keys uses, so Chat reaches the facts.
pub const NAMESPACE: &str = "default";
pub const ENTITY: &str = "u";

pub fn scope() -> Scope {
    Scope {
        namespace: NAMESPACE.into(),
        entity_id: ENTITY.into(),
    }
}

/// The `i`th fact's turn.
pub fn fact_turn(i: usize) -> NewTurn {
    let topic = TOPICS[i % TOPICS.len()];
    NewTurn {
        namespace: NAMESPACE.into(),
        attribution: Attribution {
            entity_id: ENTITY.into(),
            process_id: None,
            session_id: Some(format!("s{}", i % 50)),
        },
        source: TurnSource::Attribute,
        messages: vec![ChatMessage::text(
            Role::User,
            format!("fact {i}: the user cares about {topic} (note {})", i * 31),
        )],
        model: None,
        metadata: Default::default(),
        occurred_at: Utc::now(),
        idempotency_key: None,
        augment: true,
    }
}

/// Writes every pending turn's text as a fact of its entity, its vector
/// from `embedder` stored under `embedding_model` (a latency benchmark may
/// stand in an instant endpoint's vectors for a real model's).
pub async fn learn_pending(store: &Store, embedder: &Embedder, embedding_model: &str) {
    let owner = Uuid::now_v7();
    loop {
        let jobs = store
            .claim_jobs(owner, 500, Duration::from_secs(600))
            .await
            .unwrap();
        if jobs.is_empty() {
            return;
        }
        let wanted: Vec<(Scope, Uuid)> =
            jobs.iter().map(|j| (j.scope.clone(), j.turn_id)).collect();
        let turns = store.turns_to_augment(&wanted).await.unwrap();
        let texts: Vec<String> = jobs
            .iter()
            .map(|j| turns[&j.turn_id].messages[0].content.clone())
            .collect();
        let vectors = embedder.embed(texts.clone()).await.unwrap();
        let writes: Vec<AugmentationWrites> = jobs
            .iter()
            .zip(texts.into_iter().zip(vectors))
            .map(|(job, (text, vector))| AugmentationWrites {
                embedding_model: embedding_model.to_string(),
                message_embeddings: vec![(
                    turns[&job.turn_id].messages[0].message_id,
                    vector.clone(),
                )],
                new_facts: vec![NewFact {
                    fact_id: Uuid::now_v7(),
                    normalized: normalize(&text),
                    content: text,
                    category: FactCategory::Preference,
                    embedding: vector,
                }],
                ..AugmentationWrites::default()
            })
            .collect();
        let items: Vec<_> = jobs
            .iter()
            .zip(&writes)
            .map(|(job, writes)| (job, &turns[&job.turn_id], writes))
            .collect();
        store
            .apply_augmentations(owner, &items, None)
            .await
            .unwrap();
    }
}
