//! Recall latency over one entity's facts — `cargo bench --bench recall`.
//!
//! Facts are made by the real pipeline (instant fake extraction model and
//! instant fake embeddings endpoint, so vectors are 384-d like the built-in
//! model's), on PostgreSQL. Recall is then timed with the same instant
//! embedder, which isolates loading and ranking; the built-in model's
//! query-embedding time is measured on its own.
//!
//! SIZES (default "1000,10000") and QUERIES (default 200) change the run.

#[allow(dead_code)]
#[path = "../tests/it/support/mod.rs"]
mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use memorid::augment::{self, Augmenter, JobContext, JobWaker};
use memorid::config::{
    AugmentationConfig, Config, EmbeddingBackend, EmbeddingsConfig, ProviderKind, StorageConfig,
};
use memorid::domain::{Attribution, ChatMessage, NewTurn, Role, Scope, TurnSource, TurnStatus};
use memorid::embed::{Embedder, EmbedderCell};
use memorid::providers::Router;
use memorid::recall::{RecallQuery, Recaller};
use memorid::storage::Store;
use support::fake_openai::{FakeOpenAi, Script};

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1e3)
}

const TOPICS: [&str; 10] = [
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

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    memorid::server::install_crypto_provider();
    let sizes: Vec<usize> = std::env::var("SIZES")
        .unwrap_or_else(|_| "1000,10000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let queries: usize = std::env::var("QUERIES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);

    let fake = FakeOpenAi::start().await;
    fake.set_script(Script {
        echo_user_as_fact: true,
        ..Script::default()
    });
    let mut config = Config::default();
    config.providers.insert(
        "extractor".into(),
        support::provider(ProviderKind::Openai, fake.base_url()),
    );
    let router = Arc::new(Router::from_config(&config.providers, config.routing.clone()).unwrap());
    let instant_config = EmbeddingsConfig {
        backend: EmbeddingBackend::Openai,
        base_url: Some(fake.base_url()),
        model: Some("pseudo-384".into()),
        ..EmbeddingsConfig::default()
    };
    let instant = Embedder::from_config(&instant_config).unwrap();

    println!("recall latency, one entity, {queries} queries each (ms; query embedding excluded)");
    println!("{:>8} {:>9} {:>9} {:>9}", "facts", "p50", "p99", "mean");
    for size in sizes {
        let url = support::postgres::fresh_database().await;
        let store = Store::connect(&StorageConfig {
            url,
            max_connections: 16,
            acquire_timeout_secs: 10,
        })
        .await
        .unwrap();
        store.migrate().await.unwrap();
        for i in 0..size {
            let topic = TOPICS[i % TOPICS.len()];
            let turn = NewTurn {
                namespace: "bench".into(),
                attribution: Attribution {
                    entity_id: "u".into(),
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
            };
            store
                .insert_turn(&turn, TurnStatus::Completed)
                .await
                .unwrap();
        }
        let context = JobContext {
            store: store.clone(),
            embedder: instant.clone(),
            router: router.clone(),
            extraction: Some(router.resolve("extractor/x").unwrap()),
            near_duplicate_threshold: 1.0,
            closest_facts: 20,
            extraction_timeout: Duration::from_secs(30),
            owner: augment::new_owner(),
        };
        let augmenter = Augmenter::start(
            context,
            AugmentationConfig {
                workers: 32,
                poll_interval_ms: 20,
                ..AugmentationConfig::default()
            },
            JobWaker::default(),
        );
        while store.queue_stats().await.unwrap().open > 0 {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        augmenter.shutdown().await;

        let cell = EmbedderCell::new(instant_config.clone());
        let recaller = Recaller::new(store.clone(), cell, &config.recall);
        let scope = Scope {
            namespace: "bench".into(),
            entity_id: "u".into(),
        };
        let mut samples = Vec::with_capacity(queries);
        for q in 0..queries + 10 {
            let query = RecallQuery {
                scope: scope.clone(),
                process_id: None,
                query: format!(
                    "what does the user think about {}",
                    TOPICS[q % TOPICS.len()]
                ),
                limit: 10,
                facts: true,
                messages: false,
                after: None,
                before: None,
                min_score: 0.0,
                include_superseded: false,
            };
            let start = Instant::now();
            let hits = recaller.recall(query).await.unwrap();
            if q >= 10 {
                samples.push(start.elapsed());
            }
            assert!(!hits.is_empty());
        }
        samples.sort();
        let mean = samples.iter().sum::<Duration>() / samples.len() as u32;
        println!(
            "{size:>8} {:>9} {:>9} {:>9}",
            ms(percentile(&samples, 0.5)),
            ms(percentile(&samples, 0.99)),
            ms(mean)
        );
        store.close().await;
    }

    // The built-in model's time for one query, which recall adds on top.
    let builtin =
        tokio::task::spawn_blocking(|| Embedder::from_config(&EmbeddingsConfig::default()))
            .await
            .unwrap()
            .unwrap();
    let mut samples = Vec::new();
    for q in 0..110 {
        let start = Instant::now();
        builtin
            .embed(vec![format!(
                "what does the user think about {}",
                TOPICS[q % 10]
            )])
            .await
            .unwrap();
        if q >= 10 {
            samples.push(start.elapsed());
        }
    }
    samples.sort();
    println!(
        "built-in query embedding: p50 {} ms, p99 {} ms",
        ms(percentile(&samples, 0.5)),
        ms(percentile(&samples, 0.99))
    );
}
