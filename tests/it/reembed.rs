//! A change of embedding model: memories embedded by the old model are
//! re-embedded by the new one in the background, and recall finds them
//! with the new model's vectors.

use std::time::Duration;

use memorid::config::{Config, EmbeddingBackend, EmbeddingsConfig, StorageConfig};
use memorid::pb;
use memorid::pb::recall_response::Hit;
use memorid::storage::Store;
use memorid::storage::vectors::VectorTable;
use uuid::Uuid;

use crate::augmentation::{attribute, enable_augmentation, turn, wait};
use crate::on_both_backends;
use crate::recall::recall;
use crate::support::fake_openai::{FakeOpenAi, Script};
use crate::support::*;

const E5: &str = "intfloat/e5-small-v2-int8";

const TEXTS: [&str; 3] = [
    "I moved to Lisbon last spring for a job at a design studio.",
    "My daughter Ada started violin lessons this month.",
    "I am allergic to peanuts, so no satay for me.",
];

async fn store_of(config: &Config) -> Store {
    Store::connect(&StorageConfig {
        url: config.storage.url.clone(),
        max_connections: 2,
        acquire_timeout_secs: 10,
    })
    .await
    .unwrap()
}

on_both_backends!(a_model_change_reembeds_stored_memories_and_recall_uses_them);
async fn a_model_change_reembeds_stored_memories_and_recall_uses_them(backend: Backend) {
    let fake = FakeOpenAi::start().await;
    fake.set_script(Script {
        echo_user_as_fact: true,
        ..Script::default()
    });
    // The SQLite file outlives both servers.
    let (mut config, _dir) = test_config(backend, None).await;
    enable_augmentation(&mut config, &fake);
    config.embeddings = EmbeddingsConfig {
        backend: EmbeddingBackend::Openai,
        base_url: Some(fake.base_url()),
        model: Some("pseudo-384".into()),
        ..EmbeddingsConfig::default()
    };

    // Memories made with the old model: each turn's two messages (the
    // user's and "Noted.") and its fact.
    let old = TestServer::start(config.clone(), None).await;
    let turns = TEXTS.iter().enumerate();
    attribute(
        &old,
        turns
            .map(|(i, text)| turn("u1", &format!("k{i}"), text))
            .collect(),
    )
    .await;
    let done = wait(&old, "u1").await;
    assert!(done.completed, "{done:?}");
    old.stop().await;
    let store = store_of(&config).await;
    assert_eq!(store.count_stale_vectors(E5).await.unwrap(), 9);

    // The new model (the default, e5) replaces them in the background.
    config.embeddings = EmbeddingsConfig::default();
    let new = TestServer::start(config.clone(), None).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while store.count_stale_vectors(E5).await.unwrap() > 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "re-embedding did not finish"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let models = store.embedding_models().await.unwrap();
    assert_eq!(models, vec![(E5.to_string(), 384, 9)]);

    // Recall ranks by the new vectors: a paraphrase with no word in
    // common with the stored message (a pseudo vector could not find it).
    let hits = recall(
        &new,
        "u1",
        "which city is home now",
        vec![pb::MemoryKind::Message],
    )
    .await;
    let Some(Hit::Message(message)) = hits.first().and_then(|h| h.hit.as_ref()) else {
        panic!("no message recalled: {hits:?}");
    };
    assert_eq!(message.content, TEXTS[0]);
    let parts = hits[0].score_parts.as_ref().unwrap();
    assert!(parts.dense > 0.0 && parts.lexical == 0.0, "{parts:?}");
    new.stop().await;

    // Nothing of another model is left to read, and a replacement of
    // rows already of the current model changes nothing.
    for table in [VectorTable::Messages, VectorTable::Facts] {
        assert!(
            store
                .stale_vectors(table, E5, Uuid::nil(), 10)
                .await
                .unwrap()
                .is_empty()
        );
        let stale = store
            .stale_vectors(table, "another-model", Uuid::nil(), 10)
            .await
            .unwrap();
        let expected = match table {
            VectorTable::Messages => 6,
            VectorTable::Facts => 3,
        };
        assert_eq!(stale.len(), expected);
        let replacements: Vec<_> = stale.into_iter().map(|s| (s, vec![0.0; 384])).collect();
        assert_eq!(
            store
                .replace_vectors(table, E5, &replacements)
                .await
                .unwrap(),
            0
        );
    }
}
