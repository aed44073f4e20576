//! The load generator: streamed chats against one target, each stream
//! timed to its first delta, between deltas and to its end.
//!
//! Closed loop: `concurrency` callers, each starting its next stream when
//! the last ended (saturation shows as queueing, so its latencies are not
//! overhead). Open loop: streams start at a fixed rate whatever the answers
//! do, so latency is measured at a known load below saturation.
//!
//! A target is an OpenAI-compatible HTTP endpoint (the fake upstream
//! itself, or the LiteLLM proxy), or memorid's Chat over gRPC on the
//! generated Rust client. A stream that fails, or ends without deltas,
//! counts as an error and gives no sample.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use memorid::pb;
use memorid::pb::chat_service_client::ChatServiceClient;
use tonic::transport::Channel;

/// Where the streams go.
#[derive(Clone)]
pub enum Target {
    Http {
        client: reqwest::Client,
        url: String,
        key: Option<String>,
        model: String,
    },
    Memorid {
        /// Calls are spread over these connections, as a client pool does.
        channels: Vec<Channel>,
        /// Recall and history on (augmentation stays off: its cost is
        /// measured on its own).
        memory: bool,
        entity: String,
        /// `provider/model`.
        model: String,
    },
}

impl Target {
    pub fn http(base_url: &str, key: Option<&str>, model: &str) -> Target {
        let client = reqwest::Client::builder()
            .tcp_nodelay(true)
            .pool_max_idle_per_host(1024)
            .timeout(Duration::from_secs(60))
            .build()
            .unwrap();
        Target::Http {
            client,
            url: format!("{base_url}/chat/completions"),
            key: key.map(str::to_owned),
            model: model.to_owned(),
        }
    }

    pub async fn memorid(
        address: &str,
        model: &str,
        memory: bool,
        entity: &str,
        connections: usize,
    ) -> Target {
        let mut channels = Vec::with_capacity(connections);
        for _ in 0..connections {
            let channel = Channel::from_shared(format!("http://{address}"))
                .unwrap()
                .tcp_nodelay(true)
                .connect()
                .await
                .unwrap();
            channels.push(channel);
        }
        Target::Memorid {
            channels,
            memory,
            entity: entity.to_owned(),
            model: model.to_owned(),
        }
    }

    /// One stream; `n` makes its question (and, for memorid, picks its
    /// connection and session) unique.
    async fn stream(&self, n: u64, caller: u64) -> Result<Sample, String> {
        match self {
            Target::Http {
                client,
                url,
                key,
                model,
            } => http_stream(client, url, key.as_deref(), model, n).await,
            Target::Memorid {
                channels,
                memory,
                entity,
                model,
            } => {
                let channel = channels[(n as usize) % channels.len()].clone();
                grpc_stream(channel, model, *memory, entity, n, caller).await
            }
        }
    }
}

/// One stream's times.
#[derive(Debug, Clone)]
pub struct Sample {
    pub ttft: Duration,
    /// Between consecutive deltas.
    pub gaps: Vec<Duration>,
    pub total: Duration,
}

struct Clock {
    start: Instant,
    last: Option<Instant>,
    ttft: Option<Duration>,
    gaps: Vec<Duration>,
}

impl Clock {
    fn new() -> Clock {
        Clock {
            start: Instant::now(),
            last: None,
            ttft: None,
            gaps: Vec::with_capacity(24),
        }
    }

    fn delta(&mut self) {
        let now = Instant::now();
        match self.last {
            None => self.ttft = Some(now - self.start),
            Some(last) => self.gaps.push(now - last),
        }
        self.last = Some(now);
    }

    fn end(self) -> Result<Sample, String> {
        Ok(Sample {
            ttft: self.ttft.ok_or("no delta")?,
            gaps: self.gaps,
            total: self.start.elapsed(),
        })
    }
}

async fn http_stream(
    client: &reqwest::Client,
    url: &str,
    key: Option<&str>,
    model: &str,
    n: u64,
) -> Result<Sample, String> {
    let mut clock = Clock::new();
    let body = serde_json::json!({
        "model": model,
        "stream": true,
        "stream_options": {"include_usage": true},
        "messages": [{"role": "user", "content": format!("question {n}: what is new?")}],
    });
    let mut request = client.post(url).json(&body);
    if let Some(key) = key {
        request = request.bearer_auth(key);
    }
    let response = request.send().await.map_err(|e| e.to_string())?;
    if !response.status().is_success() {
        return Err(format!("HTTP {}", response.status()));
    }
    let mut body = response.bytes_stream();
    let mut pending: Vec<u8> = Vec::with_capacity(4096);
    let mut done = false;
    while let Some(bytes) = body.next().await {
        pending.extend_from_slice(&bytes.map_err(|e| e.to_string())?);
        // Whole SSE events only; a frame split across reads waits.
        while let Some(end) = find(&pending, b"\n\n") {
            let event = &pending[..end];
            if has_content(event) {
                clock.delta();
            }
            if find(event, b"[DONE]").is_some() {
                done = true;
            }
            pending.drain(..end + 2);
        }
    }
    if !done {
        return Err("the stream ended without [DONE]".into());
    }
    clock.end()
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// An event with a non-empty `"content":"…"` delta.
fn has_content(event: &[u8]) -> bool {
    const KEY: &[u8] = b"\"content\":\"";
    match find(event, KEY) {
        Some(at) => event.get(at + KEY.len()).is_some_and(|&b| b != b'"'),
        None => false,
    }
}

async fn grpc_stream(
    channel: Channel,
    model: &str,
    memory: bool,
    entity: &str,
    n: u64,
    caller: u64,
) -> Result<Sample, String> {
    let mut clock = Clock::new();
    let request = pb::ChatRequest {
        attribution: Some(pb::Attribution {
            entity_id: entity.to_owned(),
            process_id: String::new(),
            // One session per caller: history grows as a conversation's does.
            session_id: format!("bench-{caller}"),
        }),
        model: model.to_owned(),
        messages: vec![pb::Message {
            role: pb::Role::User as i32,
            content: format!("question {n}: any tips on sailing or green tea for me?"),
            ..Default::default()
        }],
        memory: Some(pb::MemoryOptions {
            recall: Some(memory),
            history: Some(memory),
            augment: Some(false),
            ..Default::default()
        }),
        ..Default::default()
    };
    let mut chat = ChatServiceClient::new(channel);
    let mut stream = chat
        .chat(request)
        .await
        .map_err(|s| format!("{:?}: {}", s.code(), s.message()))?
        .into_inner();
    let mut completed = false;
    while let Some(event) = stream
        .message()
        .await
        .map_err(|s| format!("{:?}: {}", s.code(), s.message()))?
    {
        match event.event {
            Some(pb::chat_response::Event::Delta(delta)) if !delta.text.is_empty() => clock.delta(),
            Some(pb::chat_response::Event::Completed(_)) => completed = true,
            _ => {}
        }
    }
    if !completed {
        return Err("the stream ended without Completed".into());
    }
    clock.end()
}

/// What one load run gave.
#[derive(Debug, Default)]
pub struct Run {
    pub samples: Vec<Sample>,
    pub errors: usize,
    pub first_error: Option<String>,
    pub elapsed: Duration,
}

impl Run {
    pub fn rate(&self) -> f64 {
        self.samples.len() as f64 / self.elapsed.as_secs_f64()
    }
}

/// `concurrency` callers, back to back, for `duration`; streams still
/// running at the end are waited for and counted.
pub async fn closed(target: &Target, concurrency: usize, duration: Duration) -> Run {
    let counter = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let mut callers = tokio::task::JoinSet::new();
    for caller in 0..concurrency as u64 {
        let target = target.clone();
        let counter = counter.clone();
        callers.spawn(async move {
            let mut run = Run::default();
            while start.elapsed() < duration {
                let n = counter.fetch_add(1, Ordering::Relaxed);
                match target.stream(n, caller).await {
                    Ok(sample) => run.samples.push(sample),
                    Err(error) => {
                        run.errors += 1;
                        run.first_error.get_or_insert(error);
                    }
                }
            }
            run
        });
    }
    let mut total = Run::default();
    while let Some(run) = callers.join_next().await {
        let run = run.unwrap();
        total.samples.extend(run.samples);
        total.errors += run.errors;
        if total.first_error.is_none() {
            total.first_error = run.first_error;
        }
    }
    total.elapsed = start.elapsed();
    total
}

/// Streams started `rate` a second for `duration`, each on its own task.
pub async fn open(target: &Target, rate: f64, duration: Duration) -> Run {
    let interval = Duration::from_secs_f64(1.0 / rate);
    let start = Instant::now();
    let mut streams = tokio::task::JoinSet::new();
    let mut n = 0u64;
    let mut ticks = tokio::time::interval(interval);
    // Late ticks fire at once: the arrival rate holds even when a tick
    // was delayed by a busy machine.
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    while start.elapsed() < duration {
        ticks.tick().await;
        let target = target.clone();
        streams.spawn(async move { target.stream(n, n % 256).await });
        n += 1;
    }
    let mut run = Run::default();
    while let Some(outcome) = streams.join_next().await {
        match outcome.unwrap() {
            Ok(sample) => run.samples.push(sample),
            Err(error) => {
                run.errors += 1;
                run.first_error.get_or_insert(error);
            }
        }
    }
    run.elapsed = start.elapsed();
    run
}
