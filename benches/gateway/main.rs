//! The gateway benchmark: what memorid costs on the way to the model, next
//! to the upstream called directly and the LiteLLM proxy, in one run
//! against the same fake upstream — `cargo bench --bench gateway`.
//!
//! Targets: (1) the fake upstream over HTTP (the baseline), (2) memorid
//! with memory off (recall, history and augmentation off; every turn still
//! stored), (3) memorid with memory on (recall and history) for an entity
//! with FACTS facts (default 10,000), (4) the LiteLLM proxy with one and
//! two workers (installed into a virtualenv by bench/litellm/setup). Each
//! under two upstreams: instant, and realistic (first token after 50 ms,
//! 20 chunks 10 ms apart); closed loop at CONCURRENCY callers (default
//! "1,16,64,256") for SECONDS each (default 5). Then, memory off on the
//! instant upstream, open-loop rates until the p99 added time to first
//! token passes 5 ms; Recall under 16 callers at FACTS facts; and
//! augmentation throughput. Prints the tables and writes BENCHMARKS.md
//! (OUT to write elsewhere). LITELLM=0 leaves LiteLLM out.
//!
//! Everything runs on this machine: the load generator and the fake
//! upstream (threads of this process), memorid, PostgreSQL (fsync off) and
//! LiteLLM share its cores, so ratios to the direct baseline are the
//! figures that carry; absolute ones come with the machine.

#[allow(dead_code)]
#[path = "../common/facts.rs"]
mod facts;
mod load;
mod procs;
mod report;
#[allow(dead_code)]
#[path = "../../tests/it/support/mod.rs"]
mod support;
mod upstream;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use memorid::config::{EmbeddingBackend, EmbeddingsConfig, StorageConfig};
use memorid::domain::TurnStatus;
use memorid::embed::Embedder;
use memorid::pb;
use memorid::pb::memory_service_client::MemoryServiceClient;
use memorid::storage::Store;

use load::{Target, closed, open};
use report::{Figures, Row, ms, percentile, table};
use support::fake_openai::FakeOpenAi;
use support::postgres::Postgres;
use support::process::ServerProcess;
use upstream::Knobs;

/// The built-in model's name: seeded facts carry it, so recall (which
/// embeds queries with the real model) reads them.
const BUILTIN_MODEL: &str = "sentence-transformers/all-MiniLM-L6-v2";

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

struct Settings {
    seconds: Duration,
    concurrency: Vec<usize>,
    facts: usize,
    litellm: bool,
    out: PathBuf,
}

impl Settings {
    fn from_env() -> Settings {
        Settings {
            seconds: Duration::from_secs_f64(env_or("SECONDS", 5.0)),
            concurrency: std::env::var("CONCURRENCY")
                .unwrap_or_else(|_| "1,16,64,256".into())
                .split(',')
                .map(|c| c.trim().parse().expect("CONCURRENCY: numbers"))
                .collect(),
            facts: env_or("FACTS", 10_000),
            litellm: std::env::var("LITELLM").map(|v| v != "0").unwrap_or(true),
            out: std::env::var("OUT")
                .map(PathBuf::from)
                .unwrap_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join("BENCHMARKS.md")),
        }
    }
}

/// A process whose CPU and memory are reported.
struct Measured {
    name: &'static str,
    pid: u32,
}

fn cpu_of(processes: &[Measured]) -> Vec<f64> {
    processes
        .iter()
        .map(|p| procs::cpu_seconds(p.pid))
        .collect()
}

/// Runs `concurrency` callers against `target`, with the CPU the
/// `processes` spent meanwhile.
async fn measure(
    target: &Target,
    concurrency: usize,
    seconds: Duration,
    processes: &[Measured],
) -> Figures {
    // A short warm-up: connections opened, caches filled.
    closed(target, concurrency, Duration::from_millis(500)).await;
    let before = cpu_of(processes);
    let run = closed(target, concurrency, seconds).await;
    let after = cpu_of(processes);
    let cpu = processes
        .iter()
        .zip(before.iter().zip(after))
        .map(|(p, (b, a))| (p.name, a - b))
        .collect();
    Figures::of(&run, cpu)
}

/// The LiteLLM proxy, started from the pinned install.
struct Litellm {
    child: Child,
    base_url: String,
    workers: usize,
}

impl Litellm {
    async fn start(workers: usize, instant: &str, realistic: &str) -> Result<Litellm, String> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("bench/litellm");
        let setup = Command::new(dir.join("setup"))
            .stderr(Stdio::inherit())
            .output()
            .map_err(|e| format!("bench/litellm/setup: {e}"))?;
        if !setup.status.success() {
            return Err(format!("bench/litellm/setup failed ({})", setup.status));
        }
        let stdout = String::from_utf8_lossy(&setup.stdout);
        let binary = stdout
            .lines()
            .last()
            .ok_or("setup printed no path")?
            .trim()
            .to_string();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let log = std::env::temp_dir().join(format!("memorid-bench-litellm-{workers}.log"));
        let file = std::fs::File::create(&log).unwrap();
        let mut command = Command::new(&binary);
        command
            .args([
                "--config",
                "config.yaml",
                "--log_config",
                "uvicorn_log.json",
            ])
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .args(["--num_workers", &workers.to_string()]);
        if workers > 1 {
            command.args(["--timeout_worker_healthcheck", "120"]);
        }
        let child = command
            .current_dir(&dir)
            .env("LITELLM_BENCH_API_BASE", instant)
            .env("LITELLM_BENCH_REALISTIC_API_BASE", realistic)
            .env("LITELLM_LOCAL_MODEL_COST_MAP", "True")
            .env("LITELLM_TELEMETRY_DISABLED", "True")
            .env("LITELLM_LOG", "ERROR")
            .env("LITELLM_MODE", "PRODUCTION")
            .stdin(Stdio::null())
            .stdout(Stdio::from(file.try_clone().unwrap()))
            .stderr(Stdio::from(file))
            .spawn()
            .map_err(|e| format!("starting {binary}: {e}"))?;
        let proxy = Litellm {
            child,
            base_url: format!("http://127.0.0.1:{port}/v1"),
            workers,
        };
        // Ready when it answers and every worker said it started.
        let started = Instant::now();
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()
            .unwrap();
        loop {
            let alive = client
                .get(format!("http://127.0.0.1:{port}/health/liveliness"))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            let up = std::fs::read_to_string(&log)
                .unwrap_or_default()
                .matches("Application startup complete")
                .count();
            if alive && up >= workers {
                return Ok(proxy);
            }
            if started.elapsed() > Duration::from_secs(240) {
                return Err(format!(
                    "LiteLLM ({workers} workers) not ready in 240 s; see {}",
                    log.display()
                ));
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Litellm {
    fn drop(&mut self) {
        // SIGTERM stops its workers too; SIGKILL would orphan them.
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        for _ in 0..100 {
            if self.child.try_wait().ok().flatten().is_some() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn memorid_env(
    database: &str,
    augmentation: bool,
    instant: &str,
    realistic: &str,
) -> Vec<(String, String)> {
    [
        ("MEMORID_STORAGE__URL", database),
        ("MEMORID_STORAGE__MAX_CONNECTIONS", "32"),
        (
            "MEMORID_AUGMENTATION__ENABLED",
            if augmentation { "true" } else { "false" },
        ),
        ("MEMORID_PROVIDERS__INSTANT__KIND", "openai"),
        ("MEMORID_PROVIDERS__INSTANT__BASE_URL", instant),
        ("MEMORID_PROVIDERS__REALISTIC__KIND", "openai"),
        ("MEMORID_PROVIDERS__REALISTIC__BASE_URL", realistic),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// Writes `facts` facts for the facts entity, vectors from an instant
/// endpoint stored as the built-in model's.
async fn seed(database: &str, facts: usize) {
    let store = Store::connect(&StorageConfig {
        url: database.to_string(),
        ..StorageConfig::default()
    })
    .await
    .unwrap();
    store.migrate().await.unwrap();
    let endpoint = FakeOpenAi::start().await;
    let embedder = Embedder::from_config(&EmbeddingsConfig {
        backend: EmbeddingBackend::Openai,
        base_url: Some(endpoint.base_url()),
        model: Some("pseudo-384".into()),
        ..EmbeddingsConfig::default()
    })
    .unwrap();
    for i in 0..facts {
        store
            .insert_turn(&facts::fact_turn(i), TurnStatus::Completed)
            .await
            .unwrap();
    }
    facts::learn_pending(&store, &embedder, BUILTIN_MODEL).await;
    store.close().await;
    // Statistics as autovacuum would have them on a database that grew to
    // this size, rather than the empty tables' (it analyzes only once a
    // minute, so the run would measure plans for empty tables).
    let pool = sqlx::PgPool::connect(database).await.unwrap();
    sqlx::query("ANALYZE").execute(&pool).await.unwrap();
    pool.close().await;
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split(':').nth(1))
        .unwrap_or("unknown CPU")
        .trim()
        .to_string();
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!("{cores} cores ({cpu})")
}

fn main() {
    let settings = Settings::from_env();
    // The load generator's runtime; the fake upstreams run on their own.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(run(settings));
}

async fn run(settings: Settings) {
    let instant = upstream::start(Knobs::INSTANT);
    let realistic = upstream::start(Knobs::REALISTIC);
    let postgres = Postgres::start();
    let database = postgres.database().await;
    let postmaster = postgres.postmaster_pid().expect("our own PostgreSQL");
    eprintln!("seeding {} facts…", settings.facts);
    let seeding = Instant::now();
    seed(&database, settings.facts).await;
    eprintln!("seeded in {:.1} s", seeding.elapsed().as_secs_f64());

    let mut doc = String::new();
    let mut notes = Vec::new();

    // Memory off: a server that never loads the embedder.
    let off = ServerProcess::start(&memorid_env(&database, false, &instant, &realistic)).await;
    let off_idle = procs::rss_mib(off.pid());
    // Memory on: augmentation running, the built-in embedder loaded.
    let on = ServerProcess::start(&memorid_env(&database, true, &instant, &realistic)).await;
    let on_idle = procs::rss_mib(on.pid());

    let mut proxies: Vec<Result<Litellm, String>> = Vec::new();
    if settings.litellm {
        for workers in [1, 2] {
            eprintln!("starting LiteLLM with {workers} worker(s)…");
            proxies.push(Litellm::start(workers, &instant, &realistic).await);
        }
    }
    for proxy in &proxies {
        if let Err(why) = proxy {
            notes.push(format!("LiteLLM left out: {why}"));
        }
    }
    let litellm_idle: Vec<(usize, f64)> = proxies
        .iter()
        .flatten()
        .map(|p| (p.workers, procs::rss_mib(p.pid())))
        .collect();

    let pg = Measured {
        name: "postgres",
        pid: postmaster,
    };
    let mut headline = String::new();
    let mut peak_off: f64 = off_idle;
    let mut peak_on: f64 = on_idle;
    for (setting, knobs, base, provider) in [
        ("instant", Knobs::INSTANT, &instant, "instant"),
        ("realistic", Knobs::REALISTIC, &realistic, "realistic"),
    ] {
        let mut rows = Vec::new();
        for &callers in &settings.concurrency {
            eprintln!("{setting} upstream, {callers} callers");
            let direct = Target::http(base, None, "bench");
            let direct_figures = measure(&direct, callers, settings.seconds, &[]).await;
            let connections = callers.clamp(1, 8);
            let mut runs: Vec<(String, Figures)> = Vec::new();
            for (name, server, memory) in [
                ("memorid, memory off", &off, false),
                ("memorid, memory on", &on, true),
            ] {
                let model = format!("{provider}/bench");
                let target = Target::memorid(
                    &server.addr.to_string(),
                    &model,
                    memory,
                    facts::ENTITY,
                    connections,
                )
                .await;
                let processes = [
                    Measured {
                        name: "memorid",
                        pid: server.pid(),
                    },
                    Measured {
                        name: pg.name,
                        pid: pg.pid,
                    },
                ];
                runs.push((
                    name.to_string(),
                    measure(&target, callers, settings.seconds, &processes).await,
                ));
                let rss = procs::rss_mib(server.pid());
                if memory {
                    peak_on = peak_on.max(rss);
                } else {
                    peak_off = peak_off.max(rss);
                }
            }
            for proxy in proxies.iter().flatten() {
                let model = if provider == "instant" {
                    "bench"
                } else {
                    "bench-realistic"
                };
                let target = Target::http(&proxy.base_url, Some("sk-bench"), model);
                let processes = [Measured {
                    name: "litellm",
                    pid: proxy.pid(),
                }];
                let figures = measure(&target, callers, settings.seconds, &processes).await;
                runs.push((
                    format!(
                        "LiteLLM, {} worker{}",
                        proxy.workers,
                        if proxy.workers > 1 { "s" } else { "" }
                    ),
                    figures,
                ));
            }
            rows.push(Row {
                target: "direct".into(),
                callers,
                figures: direct_figures.clone(),
                direct: direct_figures.clone(),
            });
            for (target, figures) in runs {
                if let Some(error) = &figures.first_error {
                    notes.push(format!(
                        "{target}, {setting}, {callers} callers: {} errors, first: {error}",
                        figures.errors
                    ));
                }
                rows.push(Row {
                    target,
                    callers,
                    figures,
                    direct: direct_figures.clone(),
                });
            }
        }
        let title = format!(
            "Streams through each target, {setting} upstream (first token after {} ms, {} chunks {} ms apart)",
            knobs.ttft.as_millis(),
            knobs.chunks,
            knobs.gap.as_millis()
        );
        let rendered = table(&rows);
        println!("\n{title}\n\n{rendered}");
        let _ = write!(doc, "### {title}\n\n{rendered}\n");
        if setting == "instant" {
            headline = report::headline(&rows);
        }
    }

    // Open loop, memory off, instant upstream: the highest arrival rate
    // whose p99 added time to first token stays under 5 ms.
    let open_rows = open_loop(&off, &instant, settings.seconds).await;
    println!("\n{open_rows}");
    let _ = write!(
        doc,
        "### Open loop: memorid memory off at fixed arrival rates, instant upstream\n\n{open_rows}\n"
    );

    let recall = recall_under_load(&on, settings.seconds).await;
    println!("\n{recall}");
    let _ = write!(
        doc,
        "### Recall at {} facts, 16 concurrent callers\n\n{recall}\n",
        settings.facts
    );

    let augmentation = augmentation_rate(&on).await;
    println!("\n{augmentation}");
    let _ = write!(doc, "### Augmentation\n\n{augmentation}\n");

    let mut memory = format!(
        "| process | idle MiB | after load MiB |\n|---|---:|---:|\n\
         | memorid, memory off (no embedder loaded) | {off_idle:.0} | {peak_off:.0} |\n\
         | memorid, memory on (built-in embedder loaded) | {on_idle:.0} | {peak_on:.0} |\n"
    );
    for proxy in proxies.iter().flatten() {
        let idle = litellm_idle
            .iter()
            .find(|(w, _)| *w == proxy.workers)
            .map_or(0.0, |(_, m)| *m);
        let _ = writeln!(
            memory,
            "| LiteLLM, {} worker(s) (all processes) | {idle:.0} | {:.0} |",
            proxy.workers,
            procs::rss_mib(proxy.pid())
        );
    }
    println!("\n{memory}");
    let _ = write!(doc, "### Resident memory\n\n{memory}\n");
    for note in &notes {
        println!("note: {note}");
    }
    println!("\n{headline}");
    write_benchmarks(
        &settings,
        &format!("### Headline: instant upstream\n\n{headline}\n{doc}"),
        &notes,
    );
}

/// Open-loop rates against the direct upstream and memorid (memory off),
/// doubling until memorid's p99 added time to first token passes 5 ms or
/// it falls behind the arrival rate.
async fn open_loop(server: &ServerProcess, instant: &str, seconds: Duration) -> String {
    let direct = Target::http(instant, None, "bench");
    let memorid = Target::memorid(
        &server.addr.to_string(),
        "instant/bench",
        false,
        facts::ENTITY,
        8,
    )
    .await;
    let mut out = String::from(
        "| arrivals/s | direct TTFT p50 / p99 ms | memorid TTFT p50 / p99 / max ms | added TTFT p50 / p99 ms | memorid streams/s | errors |\n\
         |---:|---:|---:|---:|---:|---:|\n",
    );
    let mut best = None;
    let mut rate = 100.0;
    while rate <= 12_800.0 {
        eprintln!("open loop at {rate}/s");
        let d = Figures::of(&open(&direct, rate, seconds).await, Vec::new());
        let m = Figures::of(&open(&memorid, rate, seconds).await, Vec::new());
        let added_p50 = ms(m.ttft_p50) - ms(d.ttft_p50);
        let added_p99 = ms(m.ttft_p99) - ms(d.ttft_p99);
        let _ = writeln!(
            out,
            "| {rate:.0} | {:.2} / {:.2} | {:.2} / {:.2} / {:.1} | {added_p50:+.2} / {added_p99:+.2} | {:.0} | {} |",
            ms(d.ttft_p50),
            ms(d.ttft_p99),
            ms(m.ttft_p50),
            ms(m.ttft_p99),
            ms(m.ttft_max),
            m.rate,
            m.errors
        );
        let kept_up = m.rate >= rate * 0.9 && m.errors == 0;
        if added_p99 >= 5.0 || !kept_up {
            break;
        }
        best = Some(rate);
        rate *= 2.0;
    }
    let _ = writeln!(
        out,
        "\nHighest rate tried with p99 added time to first token under 5 ms: {}.",
        best.map_or("none".to_string(), |r| format!("{r:.0} streams/s"))
    );
    out
}

/// Recall RPCs from 16 callers, each query new (so every one is embedded
/// by the built-in model), at the seeded entity.
async fn recall_under_load(server: &ServerProcess, seconds: Duration) -> String {
    let channel = server.channel().await;
    let started = Instant::now();
    let mut callers = tokio::task::JoinSet::new();
    for caller in 0..16usize {
        let mut memory = MemoryServiceClient::new(channel.clone());
        callers.spawn(async move {
            let mut times = Vec::new();
            let mut n = 0usize;
            while started.elapsed() < seconds {
                let topic = facts::TOPICS[(caller + n) % facts::TOPICS.len()];
                let request = pb::RecallRequest {
                    attribution: Some(pb::Attribution {
                        entity_id: facts::ENTITY.into(),
                        ..Default::default()
                    }),
                    query: format!("what does the user think about {topic}? (asked {caller}-{n})"),
                    limit: 10,
                    ..Default::default()
                };
                let start = Instant::now();
                let mut answers = memory.recall(request).await.unwrap().into_inner();
                let mut hits = 0;
                while answers.message().await.unwrap().is_some() {
                    hits += 1;
                }
                assert!(hits > 0, "recall found nothing");
                times.push(start.elapsed());
                n += 1;
            }
            times
        });
    }
    let mut times: Vec<Duration> = Vec::new();
    while let Some(done) = callers.join_next().await {
        times.extend(done.unwrap());
    }
    times.sort();
    format!(
        "| calls | calls/s | p50 ms | p99 ms | max ms |\n|---:|---:|---:|---:|---:|\n| {} | {:.0} | {:.2} | {:.2} | {:.2} |\n\n\
         Each query is new, so each includes embedding it with the built-in model.\n",
        times.len(),
        times.len() as f64 / started.elapsed().as_secs_f64(),
        ms(percentile(&times, 0.5)),
        ms(percentile(&times, 0.99)),
        ms(times.last().copied().unwrap_or_default()),
    )
}

/// Turns stored through Attribute, until augmentation has indexed them all
/// (the built-in embedder, no extraction model: messages indexed, no facts).
async fn augmentation_rate(server: &ServerProcess) -> String {
    const TURNS: usize = 1000;
    let mut memory = MemoryServiceClient::new(server.channel().await);
    let attribution = || {
        Some(pb::Attribution {
            entity_id: "bench-augmentation".into(),
            session_id: "s1".into(),
            ..Default::default()
        })
    };
    let requests: Vec<pb::AttributeRequest> = (0..TURNS)
        .map(|i| pb::AttributeRequest {
            attribution: attribution(),
            messages: vec![
                pb::Message {
                    role: pb::Role::User as i32,
                    content: format!(
                        "turn {i}: I moved to Lisbon and I drink green tea every morning"
                    ),
                    ..Default::default()
                },
                pb::Message {
                    role: pb::Role::Assistant as i32,
                    content: format!("Noted ({i})."),
                    ..Default::default()
                },
            ],
            idempotency_key: format!("bench-{i}"),
            ..Default::default()
        })
        .collect();
    let started = Instant::now();
    let mut stored = memory
        .attribute(tokio_stream::iter(requests))
        .await
        .unwrap()
        .into_inner();
    while stored.message().await.unwrap().is_some() {}
    let stored_in = started.elapsed();
    let waited = memory
        .wait_for_augmentation(pb::WaitForAugmentationRequest {
            attribution: Some(pb::Attribution {
                entity_id: "bench-augmentation".into(),
                ..Default::default()
            }),
            timeout: Some(prost_types::Duration {
                seconds: 600,
                nanos: 0,
            }),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(waited.completed, "augmentation did not finish in 600 s");
    let total = started.elapsed();
    format!(
        "| turns | stored in s | all augmented in s | turns/s |\n|---:|---:|---:|---:|\n| {TURNS} | {:.2} | {:.2} | {:.0} |\n\n\
         Each turn is a user and an assistant message; both are embedded by the built-in model\n\
         (no extraction model configured, so no facts are extracted).\n",
        stored_in.as_secs_f64(),
        total.as_secs_f64(),
        TURNS as f64 / total.as_secs_f64(),
    )
}

fn write_benchmarks(settings: &Settings, tables: &str, notes: &[String]) {
    let mut doc = String::new();
    let _ = write!(
        doc,
        "# Benchmarks\n\n\
         Written by `cargo bench --bench gateway` (benches/gateway/) on {machine}, {date}, at commit {commit}.\n\
         Do not edit by hand: run it again.\n\n\
         ## Method\n\n\
         One run, one machine. A fast fake OpenAI-compatible upstream (Rust, in the benchmark process,\n\
         a runtime of its own) answers every stream; the load generator (the generated Rust gRPC client\n\
         for memorid, an HTTP/1.1 client for the upstream and LiteLLM) runs in the same process. Targets:\n\n\
         - **direct**: the fake upstream over HTTP, the baseline every `added` figure subtracts\n\
           (same callers, same upstream);\n\
         - **memorid, memory off**: Chat with recall, history and augmentation off, every turn still\n\
           stored in PostgreSQL (fsync off) before its first delta is released;\n\
         - **memorid, memory on**: recall and history on, for an entity with {facts} facts (vectors\n\
           from an instant endpoint stored under the built-in model's name; each question is new, so\n\
           every call embeds it with the built-in model), augmentation off for these calls;\n\
         - **LiteLLM**: the pinned proxy (bench/litellm) with one and two workers, over its HTTP API.\n\n\
         Closed loop: each caller starts its next stream when the last ended, for {seconds} s after a\n\
         0.5 s warm-up; at saturation its latencies measure queueing, not overhead (the open-loop\n\
         table measures below saturation). TTFT is the time to the first delta; inter-chunk is the\n\
         time between deltas; CPU is user + system time of the process and its children (PostgreSQL's\n\
         backends, LiteLLM's workers) during the run, per 1,000 streams. All processes share the\n\
         machine's cores, so the ratios to direct hold better than the absolute figures.\n\n\
         ## Results\n\n{tables}",
        machine = machine(),
        date = chrono::Utc::now().format("%Y-%m-%d"),
        commit = Command::new("git")
            .args(["rev-parse", "--short", "HEAD"])
            .output()
            .ok()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .filter(|c| !c.is_empty())
            .unwrap_or_else(|| "unknown".into()),
        facts = settings.facts,
        seconds = settings.seconds.as_secs_f64(),
    );
    if !notes.is_empty() {
        doc.push_str("## Notes from this run\n\n");
        for note in notes {
            let _ = writeln!(doc, "- {note}");
        }
    }
    std::fs::write(&settings.out, doc).unwrap();
    eprintln!("wrote {}", settings.out.display());
}
