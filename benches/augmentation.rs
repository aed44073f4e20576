//! Augmentation throughput on PostgreSQL, with an instant fake extraction
//! model (OpenAI wire format) — `cargo bench --bench augmentation`.
//!
//! Prints, in one run:
//! - each built-in embedder's own throughput (sentences/s, batched: e5-small-v2,
//!   the default, and all-MiniLM-L6-v2 for comparison);
//! - turns/s through the pipeline (a) with the built-in embedder and
//!   (b) with an instant fake embeddings endpoint (embedding excluded),
//!   each run with the machine's CPU time per turn and its idle and
//!   stolen shares (steadier than turns/s on a shared machine);
//! - resident memory of this process while 100k jobs are pending.
//!
//! TURNS_A and TURNS_B (2000 and 10000: (b) takes seconds, not minutes)
//! and PENDING (100000) change the sizes; WORKERS_A and WORKERS_B the
//! worker counts and BATCH the batch size (the config's defaults
//! otherwise); ONLY=a or ONLY=b runs one of the two pipelines; ENTITIES
//! (100) how many entities the turns are spread over; REPEAT_A and
//! REPEAT_B (1 and 3) how many runs of each, on fresh databases (their
//! median is printed).

#[allow(dead_code)]
#[path = "../tests/it/support/mod.rs"]
mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use memorid::augment::{self, Augmenter, JobContext, JobWaker};
use memorid::config::{
    AugmentationConfig, BuiltinModel, Config, EmbeddingBackend, EmbeddingsConfig, ProviderKind,
};
use memorid::domain::{Attribution, ChatMessage, NewTurn, Role, Scope, TurnSource, TurnStatus};
use memorid::embed::Embedder;
use memorid::providers::Router;
use memorid::recall::cache::IndexCache;
use memorid::storage::Store;
use support::fake_openai::FakeOpenAi;
use tokio_util::task::TaskTracker;

/// The allocator the server binary uses (see `src/main.rs`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// This machine's CPU time so far, from /proc/stat, in clock ticks (100 a
/// second): (busy, idle, stolen by the hypervisor).
fn cpu_ticks() -> (u64, u64, u64) {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let fields: Vec<u64> = stat
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .skip(1)
        .filter_map(|v| v.parse().ok())
        .collect();
    let at = |i: usize| fields.get(i).copied().unwrap_or(0);
    // user nice system idle iowait irq softirq steal
    let busy = at(0) + at(1) + at(2) + at(5) + at(6);
    (busy, at(3) + at(4), at(7))
}

fn resident_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .unwrap_or(0.0)
        / 1024.0
}

/// Closes the store and drops its database: each run starts on a server
/// holding nothing of the runs before.
async fn discard(store: Store, url: &str) {
    store.close().await;
    support::postgres::drop_database(url).await;
}

/// Stores `n` completed turns (each with its pending job), 16 at a time.
async fn fill(store: &Store, entities: &[String], n: usize) {
    let mut tasks = tokio::task::JoinSet::new();
    let per_task = n.div_ceil(16);
    for t in 0..16 {
        let store = store.clone();
        let entities = entities.to_vec();
        tasks.spawn(async move {
            for i in (t * per_task)..((t + 1) * per_task).min(n) {
                let turn = NewTurn {
                    namespace: "bench".into(),
                    attribution: Attribution {
                        entity_id: entities[i % entities.len()].clone(),
                        process_id: None,
                        session_id: Some(format!("s{}", i % 100)),
                    },
                    source: TurnSource::Attribute,
                    messages: vec![
                        ChatMessage::text(
                            Role::User,
                            format!("My favourite number is {i} and I like item {}", i * 7),
                        ),
                        ChatMessage::text(Role::Assistant, "Noted."),
                    ],
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
        });
    }
    tasks.join_all().await;
}

async fn drain(store: &Store, context: JobContext, workers: usize) -> Duration {
    let config = AugmentationConfig {
        workers,
        batch_size: env_usize("BATCH", AugmentationConfig::default().batch_size),
        poll_interval_ms: 20,
        ..AugmentationConfig::default()
    };
    let start = Instant::now();
    let augmenter = Augmenter::start(context, config, JobWaker::default(), &TaskTracker::new());
    // Counting the open jobs scans the queue, so it is not done too
    // often: 100 ms is about 1% of a run of 10 s or more.
    loop {
        if store.queue_stats().await.unwrap().open == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let elapsed = start.elapsed();
    augmenter.shutdown().await;
    elapsed
}

/// The built-in embedder's own rate, printed; returns turns/s when it
/// embeds what the pipeline embeds per turn.
async fn embedder_alone(builtin: &Embedder) -> f64 {
    let user_text = |i: usize| format!("My favourite number is {i} and I like item {}", i * 7);
    let sentences: Vec<String> = (0..512).map(user_text).collect();
    builtin.embed(sentences[..32].to_vec()).await.unwrap();
    let start = Instant::now();
    for batch in sentences.chunks(32) {
        builtin.embed(batch.to_vec()).await.unwrap();
    }
    let embedder_rate = sentences.len() as f64 / start.elapsed().as_secs_f64();
    println!(
        "built-in embedder alone ({}): {embedder_rate:.0} sentences/s (batches of 32, 2 cores)",
        builtin.model_name()
    );
    let shaped_turns = 160;
    let start = Instant::now();
    for first in (0..shaped_turns).step_by(16) {
        let messages: Vec<String> = (first..first + 16)
            .flat_map(|i| [user_text(i), "Noted.".to_string()])
            .collect();
        builtin.embed(messages).await.unwrap();
        builtin
            .embed((first..first + 16).map(user_text).collect())
            .await
            .unwrap();
    }
    let embedder_turns = shaped_turns as f64 / start.elapsed().as_secs_f64();
    println!(
        "built-in embedder alone, a turn's sentences (2 messages, 1 fact): {embedder_turns:.1} turns/s"
    );
    embedder_turns
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    memorid::http::install_crypto_provider();
    let pending = env_usize("PENDING", 100_000);

    let extractor = FakeOpenAi::echoing_facts().await;
    extractor.forget_requests();
    let mut config = Config::default();
    config.providers.insert(
        "extractor".into(),
        support::provider(ProviderKind::Openai, extractor.base_url()),
    );
    let router = Arc::new(Router::from_config(&config.providers, config.routing.clone()).unwrap());
    let plan = router.resolve("extractor/x").unwrap();
    let builtin =
        tokio::task::spawn_blocking(|| Embedder::from_config(&EmbeddingsConfig::default()))
            .await
            .unwrap()
            .unwrap();
    let instant = Embedder::from_config(&EmbeddingsConfig {
        backend: EmbeddingBackend::Openai,
        base_url: Some(extractor.base_url()),
        model: Some("pseudo-384".into()),
        ..EmbeddingsConfig::default()
    })
    .unwrap();

    let only = std::env::var("ONLY").ok();
    let runs = |pipeline: &str| only.as_deref().is_none_or(|o| o == pipeline);
    // The embedder alone (measured for (a) only): sentences/s in batches
    // of 32, and turns/s when it embeds just what the pipeline embeds per
    // turn, in the same calls (per 16 turns: their 32 messages, then their
    // 16 facts).
    let embedder_turns = if runs("a") {
        // The other built-in model's rate, for comparison (it is not used
        // further).
        let minilm = tokio::task::spawn_blocking(|| {
            Embedder::from_config(&EmbeddingsConfig {
                builtin_model: BuiltinModel::AllMiniLmL6V2,
                ..EmbeddingsConfig::default()
            })
        })
        .await
        .unwrap()
        .unwrap();
        embedder_alone(&minilm).await;
        drop(minilm);
        embedder_alone(&builtin).await
    } else {
        f64::NAN
    };

    let context = |store: &Store, embedder: &Embedder| JobContext {
        store: store.clone(),
        embedder: embedder.clone(),
        router: router.clone(),
        extraction: Some(plan.clone()),
        near_duplicate_threshold: 0.92,
        closest_facts: 20,
        indexes: Arc::new(IndexCache::new(store.clone(), 256 << 20)),
        extraction_timeout: Duration::from_secs(30),
        owner: augment::new_owner(),
    };
    let workers = AugmentationConfig::default().workers;
    let workers_a = env_usize("WORKERS_A", workers);
    let workers_b = env_usize("WORKERS_B", workers);
    let turns_a = env_usize("TURNS_A", 2000);
    let turns_b = env_usize("TURNS_B", 10_000);
    let users: Vec<String> = (0..env_usize("ENTITIES", 100))
        .map(|e| format!("user-{e}"))
        .collect();
    let repeats_a = env_usize("REPEAT_A", 1).max(1);
    let repeats_b = env_usize("REPEAT_B", 3).max(1);
    for (label, embedder, workers, turns, repeats) in [
        (
            "(a) built-in embedder",
            &builtin,
            workers_a,
            turns_a,
            repeats_a,
        ),
        (
            "(b) instant fake embedder",
            &instant,
            workers_b,
            turns_b,
            repeats_b,
        ),
    ] {
        if !runs(&label[1..2]) {
            continue;
        }
        // This machine varies from run to run: several runs, each on a
        // fresh database, and their median.
        let mut rates = Vec::new();
        for _ in 0..repeats {
            let (store, url) = support::postgres::fresh_store().await;
            // Turns spread over entities, as in real traffic (each job reads
            // its entity's facts).
            fill(&store, &users, turns).await;
            // Marks where the measured part starts (for a profiler).
            eprintln!("{label}: {turns} turns stored, draining");
            let ticks = cpu_ticks();
            let elapsed = drain(&store, context(&store, embedder), workers).await;
            let (busy, idle, stolen) = {
                let now = cpu_ticks();
                (now.0 - ticks.0, now.1 - ticks.1, now.2 - ticks.2)
            };
            let mut facts = 0;
            for user in &users {
                let scope = Scope {
                    namespace: "bench".into(),
                    entity_id: user.clone(),
                };
                facts += store.current_facts(&scope).await.unwrap().len();
            }
            let rate = turns as f64 / elapsed.as_secs_f64();
            println!(
                "{label}: {turns} turns in {:.2} s = {rate:.0} turns/s ({workers} workers, {facts} facts written)",
                elapsed.as_secs_f64()
            );
            // CPU time per turn is steadier than turns/s on a shared machine.
            println!(
                "    CPU: {:.2} ms busy per turn (PostgreSQL and this process), {:.0}% idle, {:.0}% stolen",
                busy as f64 * 10.0 / turns as f64,
                100.0 * idle as f64 / (busy + idle + stolen).max(1) as f64,
                100.0 * stolen as f64 / (busy + idle + stolen).max(1) as f64,
            );
            if label.starts_with("(a)") {
                println!(
                    "    = {:.0}% of the embedder's own rate on the same sentences",
                    100.0 * rate / embedder_turns
                );
            }
            rates.push(rate);
            discard(store, &url).await;
        }
        if repeats > 1 {
            rates.sort_by(f64::total_cmp);
            println!(
                "{label}: median of {repeats} runs {:.0} turns/s (range {:.0}–{:.0})",
                rates[repeats / 2],
                rates[0],
                rates[repeats - 1]
            );
        }
    }

    // Memory stays flat however far behind augmentation falls: the queue is
    // the table, and only `workers` jobs are in memory at once.
    let (store, url) = support::postgres::fresh_store().await;
    let before = resident_mib();
    let start = Instant::now();
    fill(&store, &["backlog".to_string()], pending).await;
    println!(
        "stored {pending} pending turns in {:.1} s ({:.0} turns/s through insert_turn)",
        start.elapsed().as_secs_f64(),
        pending as f64 / start.elapsed().as_secs_f64()
    );
    let config = AugmentationConfig {
        workers: 4,
        poll_interval_ms: 20,
        ..AugmentationConfig::default()
    };
    let augmenter = Augmenter::start(
        context(&store, &instant),
        config,
        JobWaker::default(),
        &TaskTracker::new(),
    );
    let mut peak = 0.0f64;
    for _ in 0..25 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        peak = peak.max(resident_mib());
    }
    let stats = store.queue_stats().await.unwrap();
    augmenter.shutdown().await;
    println!(
        "resident memory: {before:.0} MiB before the backlog, peak {peak:.0} MiB while working through it \
         ({} jobs still pending after 5 s)",
        stats.open
    );
    discard(store, &url).await;
}
