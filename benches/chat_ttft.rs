//! Chat time-to-first-token: what memorid adds over calling the upstream
//! directly, with the same fake OpenAI-compatible upstream in the same run.
//!
//! `cargo bench --bench chat_ttft` (ITERATIONS=n to change the sample size).
//! The baseline is an HTTP client reading the fake's SSE stream up to the
//! first content frame; through memorid it is a gRPC client reading up to
//! the first `delta` event, with the turn stored in SQLite or PostgreSQL
//! before the upstream call. Everything runs on one machine and runtime, so
//! the figures are relative, not absolute.

#[allow(dead_code)]
#[path = "../tests/it/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use memorid::pb;
use support::fake_openai::FakeOpenAi;
use support::{Backend, TestServer, chat_request};

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[rank]
}

struct Summary {
    p50: Duration,
    p99: Duration,
    mean: Duration,
}

fn summarize(mut samples: Vec<Duration>) -> Summary {
    samples.sort();
    let mean = samples.iter().sum::<Duration>() / samples.len() as u32;
    Summary {
        p50: percentile(&samples, 0.50),
        p99: percentile(&samples, 0.99),
        mean,
    }
}

fn ms(d: Duration) -> String {
    format!("{:.3}", d.as_secs_f64() * 1e3)
}

async fn direct(upstream: &FakeOpenAi, n: usize) -> Vec<Duration> {
    let client = reqwest::Client::builder()
        .tcp_nodelay(true)
        .build()
        .unwrap();
    let url = format!("{}/chat/completions", upstream.base_url());
    let body = serde_json::json!({
        "model": "gpt-test", "stream": true, "stream_options": {"include_usage": true},
        "messages": [{"role": "user", "content": "hi"}],
    });
    let mut samples = Vec::with_capacity(n);
    for _ in 0..n {
        let start = Instant::now();
        let response = client.post(&url).json(&body).send().await.unwrap();
        let mut stream = response.bytes_stream();
        let mut seen = Vec::new();
        let mut first = None;
        while let Some(bytes) = stream.next().await {
            seen.extend_from_slice(&bytes.unwrap());
            if first.is_none()
                && seen.windows(9).any(|w| w == b"\"content\"")
                && seen.windows(7).any(|w| w == b"\"Hello\"")
            {
                first = Some(start.elapsed());
            }
        }
        samples.push(first.expect("no content frame"));
    }
    samples
}

async fn through_memorid(server: &TestServer, n: usize) -> Vec<Duration> {
    let mut chat = server.chat().await;
    let mut samples = Vec::with_capacity(n);
    for i in 0..n {
        let start = Instant::now();
        let mut stream = chat
            .chat(chat_request("bench-user", &format!("s{}", i % 10), "hi"))
            .await
            .unwrap()
            .into_inner();
        let mut first = None;
        while let Some(response) = stream.message().await.unwrap() {
            if first.is_none() && matches!(response.event, Some(pb::chat_response::Event::Delta(_)))
            {
                first = Some(start.elapsed());
            }
        }
        samples.push(first.expect("no delta"));
    }
    samples
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    memorid::http::install_crypto_provider();
    let n: usize = std::env::var("ITERATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300);
    let warmup = n / 10 + 1;
    let upstream = FakeOpenAi::start().await;

    direct(&upstream, warmup).await;
    let baseline = summarize(direct(&upstream, n).await);
    println!("chat time-to-first-token, {n} sequential calls each (ms)");
    println!("{:<28} {:>9} {:>9} {:>9}", "path", "p50", "p99", "mean");
    println!(
        "{:<28} {:>9} {:>9} {:>9}",
        "upstream direct (baseline)",
        ms(baseline.p50),
        ms(baseline.p99),
        ms(baseline.mean)
    );

    for backend in [Backend::Sqlite, Backend::Postgres] {
        let server = TestServer::with_upstream(backend, &upstream).await;
        through_memorid(&server, warmup).await;
        let via = summarize(through_memorid(&server, n).await);
        let label = format!("via memorid ({backend:?})");
        println!(
            "{:<28} {:>9} {:>9} {:>9}",
            label,
            ms(via.p50),
            ms(via.p99),
            ms(via.mean)
        );
        println!(
            "{:<28} {:>9} {:>9} {:>9}",
            "  added by memorid",
            ms(via.p50.saturating_sub(baseline.p50)),
            ms(via.p99.saturating_sub(baseline.p99)),
            ms(via.mean.saturating_sub(baseline.mean)),
        );
        server.stop().await;
    }
}
