//! Recall latency over one entity's facts, and the Chat time-to-first-token
//! that memory adds — `cargo bench --bench recall`.
//!
//! Facts are made by the real pipeline (instant fake extraction model and
//! instant fake embeddings endpoint, so vectors are 384-d like the built-in
//! model's), on PostgreSQL. Per size it prints:
//! - cold: the first recall of a new recaller (the entity's index loaded
//!   from the database, the query embedded by the instant endpoint);
//! - warm: repeated queries on a loaded index (query vectors cached, so
//!   this is the recall itself, query embedding excluded);
//! - refresh: the first recall after one more turn was augmented (the
//!   index brought up to date with the new rows only).
//!
//! The built-in model's query-embedding time is measured on its own;
//! recall including it is at most warm + that. At CHAT_AT facts (default
//! 10000) a memorid server on the same database answers Chat calls with
//! memory (recall + history + injection) and without, alternating, against
//! the same fake upstream: the difference is what memory adds to the time
//! to first token (the query embedded by the instant endpoint each time).
//!
//! SIZES (default "1000,10000,100000"), QUERIES (default 200) and CHAT_AT
//! change the run.

#[allow(dead_code)]
#[path = "../tests/it/support/mod.rs"]
mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use memorid::augment::{self, Augmenter, JobContext, JobWaker};
use memorid::config::{
    AugmentationConfig, Config, EmbeddingBackend, EmbeddingsConfig, ProviderKind, RecallConfig,
    StorageConfig,
};
use memorid::domain::{Attribution, ChatMessage, NewTurn, Role, Scope, TurnSource, TurnStatus};
use memorid::embed::{Embedder, EmbedderCell};
use memorid::pb;
use memorid::providers::Router;
use memorid::recall::{RecallQuery, Recaller};
use memorid::storage::Store;
use support::fake_openai::{FakeOpenAi, Script};
use support::{Backend, TestServer, chat_request};

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

fn summary(mut samples: Vec<Duration>) -> (Duration, Duration) {
    samples.sort();
    (percentile(&samples, 0.5), percentile(&samples, 0.99))
}

fn scope() -> Scope {
    Scope {
        namespace: NAMESPACE.into(),
        entity_id: ENTITY.into(),
    }
}

/// The namespace a server without API keys uses, so Chat reaches the facts.
const NAMESPACE: &str = "default";
const ENTITY: &str = "u";

fn fact_turn(i: usize) -> NewTurn {
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

fn query(q: usize) -> RecallQuery {
    RecallQuery {
        scope: scope(),
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
    }
}

async fn drained(store: &Store) {
    while store.queue_stats().await.unwrap().open > 0 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

async fn timed(recaller: &Recaller, query: RecallQuery) -> Duration {
    let start = Instant::now();
    let hits = recaller.recall(query).await.unwrap();
    let elapsed = start.elapsed();
    assert!(!hits.is_empty());
    elapsed
}

/// Time to the first delta of one Chat call.
async fn first_token(
    chat: &mut pb::chat_service_client::ChatServiceClient<tonic::transport::Channel>,
    request: pb::ChatRequest,
) -> Duration {
    let start = Instant::now();
    let mut stream = chat.chat(request).await.unwrap().into_inner();
    let mut first = None;
    while let Some(response) = stream.message().await.unwrap() {
        if first.is_none() && matches!(response.event, Some(pb::chat_response::Event::Delta(_))) {
            first = Some(start.elapsed());
        }
    }
    first.expect("no delta")
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    memorid::server::install_crypto_provider();
    let sizes: Vec<usize> = std::env::var("SIZES")
        .unwrap_or_else(|_| "1000,10000,100000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let queries: usize = std::env::var("QUERIES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let chat_at: usize = std::env::var("CHAT_AT")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);

    let fake = FakeOpenAi::start().await;
    fake.set_script(Script {
        echo_user_as_fact: true,
        ..Script::default()
    });
    let upstream = FakeOpenAi::start().await;
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

    println!("recall latency, one entity, top 10 (ms)");
    println!(
        "{:>8} {:>10} {:>10} {:>10} {:>12} {:>12}",
        "facts", "cold p50", "warm p50", "warm p99", "refresh p50", "refresh p99"
    );
    let mut chat_lines = Vec::new();
    for size in sizes {
        let url = support::postgres::fresh_database().await;
        let store = Store::connect(&StorageConfig {
            url: url.clone(),
            max_connections: 16,
            acquire_timeout_secs: 10,
        })
        .await
        .unwrap();
        store.migrate().await.unwrap();
        let waker = JobWaker::default();
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
                poll_interval_ms: 5,
                ..AugmentationConfig::default()
            },
            waker.clone(),
        );
        let mut inserts = tokio::task::JoinSet::new();
        for chunk in 0..16 {
            let store = store.clone();
            inserts.spawn(async move {
                for i in (chunk..size).step_by(16) {
                    store
                        .insert_turn(&fact_turn(i), TurnStatus::Completed)
                        .await
                        .unwrap();
                }
            });
        }
        inserts.join_all().await;
        waker.wake();
        drained(&store).await;

        let recall_config = RecallConfig::default();
        let cell = EmbedderCell::new(instant_config.clone());
        let mut cold = Vec::new();
        for q in 0..5 {
            let recaller = Recaller::new(store.clone(), cell.clone(), &recall_config);
            cold.push(timed(&recaller, query(q)).await);
        }
        let recaller = Recaller::new(store.clone(), cell.clone(), &recall_config);
        let mut warm = Vec::with_capacity(queries);
        for q in 0..queries + 10 {
            let elapsed = timed(&recaller, query(q)).await;
            if q >= 10 {
                warm.push(elapsed);
            }
        }
        let mut refresh = Vec::new();
        for round in 0..20 {
            store
                .insert_turn(&fact_turn(size + round), TurnStatus::Completed)
                .await
                .unwrap();
            waker.wake();
            drained(&store).await;
            refresh.push(timed(&recaller, query(round)).await);
        }
        augmenter.shutdown().await;
        let (cold_p50, _) = summary(cold);
        let (warm_p50, warm_p99) = summary(warm);
        let (refresh_p50, refresh_p99) = summary(refresh);
        println!(
            "{size:>8} {:>10} {:>10} {:>10} {:>12} {:>12}",
            ms(cold_p50),
            ms(warm_p50),
            ms(warm_p99),
            ms(refresh_p50),
            ms(refresh_p99)
        );

        if size == chat_at {
            let (mut server_config, _) =
                support::test_config(Backend::Postgres, Some(upstream.base_url())).await;
            server_config.storage.url = url;
            server_config.embeddings = instant_config.clone();
            let server = TestServer::start(server_config, None).await;
            let mut chat = server.chat().await;
            let (mut with, mut without) = (Vec::new(), Vec::new());
            for i in 0..queries + 10 {
                let text = format!("any tips on {} for me? ({i})", TOPICS[i % TOPICS.len()]);
                let remembering = chat_request(ENTITY, "s1", &text);
                let mut forgetful = chat_request(ENTITY, "s1", &text);
                forgetful.memory = Some(pb::MemoryOptions {
                    recall: Some(false),
                    history: Some(false),
                    ..Default::default()
                });
                let on = first_token(&mut chat, remembering).await;
                let off = first_token(&mut chat, forgetful).await;
                if i >= 10 {
                    with.push(on);
                    without.push(off);
                }
            }
            server.stop().await;
            let (with_p50, with_p99) = summary(with);
            let (without_p50, without_p99) = summary(without);
            chat_lines.push(format!(
                "chat TTFT at {size} facts (PostgreSQL, {queries} calls each): memory off p50 {} / p99 {} ms, \
                 memory on p50 {} / p99 {} ms, added p50 {} / p99 {} ms",
                ms(without_p50),
                ms(without_p99),
                ms(with_p50),
                ms(with_p99),
                ms(with_p50.saturating_sub(without_p50)),
                ms(with_p99.saturating_sub(without_p99)),
            ));
        }
        store.close().await;
    }
    for line in chat_lines {
        println!("{line}");
    }

    // The built-in model's time for one query (on its query thread), which
    // a recall of a query not seen before adds on top.
    let builtin =
        tokio::task::spawn_blocking(|| Embedder::from_config(&EmbeddingsConfig::default()))
            .await
            .unwrap()
            .unwrap();
    let mut samples = Vec::new();
    for q in 0..110 {
        let start = Instant::now();
        builtin
            .embed_query(format!(
                "what does the user think about {} ({q})",
                TOPICS[q % 10]
            ))
            .await
            .unwrap();
        if q >= 10 {
            samples.push(start.elapsed());
        }
    }
    let (p50, p99) = summary(samples);
    println!(
        "built-in query embedding: p50 {} ms, p99 {} ms",
        ms(p50),
        ms(p99)
    );
}
