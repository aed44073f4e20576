//! Recall latency over one entity's facts, and the Chat time-to-first-token
//! that memory adds — `cargo bench --bench recall`.
//!
//! Facts are written on PostgreSQL through the storage steps augmentation
//! uses (turns stored, their jobs claimed, one fact per turn applied with
//! its provenance and message vector); vectors come from an instant fake
//! embeddings endpoint (384-d like the built-in model's). Per size it
//! prints:
//! - cold: the first recall of a new recaller (the entity's index loaded
//!   from the database, the query embedded by the instant endpoint);
//! - warm: repeated queries on a loaded index (query vectors cached, so
//!   this is the recall itself, query embedding excluded);
//! - refresh: the first recall after one more turn was augmented (the
//!   index brought up to date with the new rows only);
//! - check: the database part of a warm recall alone (reading the entity's
//!   memory version).
//!
//! The built-in model's query-embedding time is measured on its own;
//! recall including it is at most warm + that. At CHAT_AT facts (default
//! 10000) a memorid server on the same database answers Chat calls with
//! memory (recall + history + injection), without, and with recall but no
//! history, in turn, against the same fake upstream: the differences are
//! what memory, and recall alone, add to the time to first token (the
//! query embedded by the instant endpoint each time; the one session's
//! history grows by three turns a round).
//!
//! SIZES (default "1000,10000,100000"), QUERIES (default 200) and CHAT_AT
//! change the run.

#[path = "common/facts.rs"]
mod facts;
#[allow(dead_code)]
#[path = "../tests/it/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use chrono::Utc;
use facts::{ENTITY, TOPICS, fact_turn, learn_pending, scope};
use memorid::config::{EmbeddingBackend, EmbeddingsConfig, RecallConfig};
use memorid::domain::TurnStatus;
use memorid::domain::memory::{FactCategory, FactRecord};
use memorid::embed::{Embedder, EmbedderCell};
use memorid::memory::index::{Filter, MemoryIndex, Search, Weights, search};
use memorid::pb;
use memorid::recall::{Hit, RecallQuery, Recaller};
use support::fake_openai::FakeOpenAi;
use support::{Backend, TestServer, chat_request};
use uuid::Uuid;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1e3)
}

fn summary(mut samples: Vec<Duration>) -> (Duration, Duration) {
    samples.sort();
    (percentile(&samples, 0.5), percentile(&samples, 0.99))
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
        ranking: Default::default(),
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

/// The in-memory ranking alone (no database, no embedding) over `size`
/// facts with pseudo-random 384-d vectors: p50 and p99 of 200 searches.
fn ranking_alone(size: usize) -> (Duration, Duration) {
    let mut index = MemoryIndex::default();
    let mut seed = 7u64;
    let mut next = move || {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((seed >> 33) as f32 / (1u64 << 31) as f32) - 0.5
    };
    for i in 0..size {
        let vector: Vec<f32> = (0..384).map(|_| next()).collect();
        let Hit::Fact(mut fact) = pseudo_fact(i) else {
            unreachable!()
        };
        fact.fact_id = Uuid::now_v7();
        index.upsert(Hit::Fact(fact), &vector).unwrap();
    }
    let weights = Weights::default();
    let filter = Filter::default();
    let mut samples = Vec::new();
    for q in 0..210 {
        let vector: Vec<f32> = (0..384).map(|_| next()).collect();
        let text = query(q).query;
        let start = Instant::now();
        let found = search(
            &[&index],
            &Search {
                text: &text,
                vector: &vector,
                filter: &filter,
                weights: &weights,
                now: Utc::now(),
                min_score: 0.0,
                limit: 10,
            },
        );
        if q >= 10 {
            samples.push(start.elapsed());
        }
        assert_eq!(found.len(), 10);
    }
    summary(samples)
}

fn pseudo_fact(i: usize) -> Hit {
    let turn = fact_turn(i);
    Hit::Fact(FactRecord {
        fact_id: Uuid::nil(),
        content: turn.messages[0].content.clone(),
        category: FactCategory::Preference,
        mention_count: 1,
        first_seen_at: turn.occurred_at,
        last_seen_at: turn.occurred_at,
        valid_until: None,
        superseded_by: None,
        embedding: None,
    })
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    memorid::http::install_crypto_provider();
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

    // Its embeddings endpoint gives instant pseudo-vectors.
    let fake = FakeOpenAi::start().await;
    let upstream = FakeOpenAi::start().await;
    let instant_config = EmbeddingsConfig {
        backend: EmbeddingBackend::Openai,
        base_url: Some(fake.base_url()),
        model: Some("pseudo-384".into()),
        ..EmbeddingsConfig::default()
    };
    let instant = Embedder::from_config(&instant_config).unwrap();

    println!("in-memory ranking alone, top 10 of one entity's facts (ms)");
    for &size in &sizes {
        let (p50, p99) = ranking_alone(size);
        println!("{size:>8} facts: p50 {} p99 {}", ms(p50), ms(p99));
    }
    println!("recall latency, one entity, top 10 (ms)");
    println!(
        "{:>8} {:>10} {:>10} {:>10} {:>12} {:>12} {:>10}",
        "facts", "cold p50", "warm p50", "warm p99", "refresh p50", "refresh p99", "check p50"
    );
    let mut chat_lines = Vec::new();
    for size in sizes {
        let (store, url) = support::postgres::fresh_store().await;
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
        learn_pending(&store, &instant, instant.model_name()).await;

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
        // The database part of a warm recall: the entity's version check.
        let mut checks = Vec::with_capacity(queries);
        for _ in 0..queries {
            let start = Instant::now();
            store.memory_version(&scope()).await.unwrap();
            checks.push(start.elapsed());
        }
        let mut refresh = Vec::new();
        for round in 0..20 {
            store
                .insert_turn(&fact_turn(size + round), TurnStatus::Completed)
                .await
                .unwrap();
            learn_pending(&store, &instant, instant.model_name()).await;
            refresh.push(timed(&recaller, query(round)).await);
        }
        let (cold_p50, _) = summary(cold);
        let (warm_p50, warm_p99) = summary(warm);
        let (refresh_p50, refresh_p99) = summary(refresh);
        let (check_p50, _) = summary(checks);
        println!(
            "{size:>8} {:>10} {:>10} {:>10} {:>12} {:>12} {:>10}",
            ms(cold_p50),
            ms(warm_p50),
            ms(warm_p99),
            ms(refresh_p50),
            ms(refresh_p99),
            ms(check_p50)
        );

        if size == chat_at {
            let (mut server_config, _) =
                support::test_config(Backend::Postgres, Some(upstream.base_url())).await;
            server_config.storage.url = url;
            server_config.embeddings = instant_config.clone();
            let server = TestServer::start(server_config, None).await;
            let mut chat = server.chat().await;
            let (mut with, mut without, mut recall_only) = (Vec::new(), Vec::new(), Vec::new());
            for i in 0..queries + 10 {
                let text = format!("any tips on {} for me? ({i})", TOPICS[i % TOPICS.len()]);
                let remembering = chat_request(ENTITY, "s1", &text);
                let mut forgetful = chat_request(ENTITY, "s1", &text);
                forgetful.memory = Some(pb::MemoryOptions {
                    recall: Some(false),
                    history: Some(false),
                    ..Default::default()
                });
                // Recall without the session's history, whose length grows
                // by three turns a round here.
                let mut recalling = chat_request(ENTITY, "s1", &text);
                recalling.memory = Some(pb::MemoryOptions {
                    history: Some(false),
                    ..Default::default()
                });
                let on = first_token(&mut chat, remembering).await;
                let off = first_token(&mut chat, forgetful).await;
                let recall_on = first_token(&mut chat, recalling).await;
                if i >= 10 {
                    with.push(on);
                    without.push(off);
                    recall_only.push(recall_on);
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
            let (recall_p50, recall_p99) = summary(recall_only);
            chat_lines.push(format!(
                "  of which recall alone (history off): p50 {} / p99 {} ms, added p50 {} / p99 {} ms",
                ms(recall_p50),
                ms(recall_p99),
                ms(recall_p50.saturating_sub(without_p50)),
                ms(recall_p99.saturating_sub(without_p99)),
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
