//! A fast fake OpenAI-compatible upstream: `POST /v1/chat/completions`
//! answers an SSE stream of `chunks` content frames, the first after `ttft`,
//! the next `gap` apart, then a finish frame, a usage frame and `[DONE]`,
//! as OpenAI streams them. It runs on a runtime of its own (one worker
//! thread), so it neither shares a scheduler with the load generator nor
//! counts as a process of its own.

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::response::Response;
use axum::routing::post;
use axum::serve::ListenerExt;
use bytes::Bytes;

/// How the fake answers.
#[derive(Debug, Clone, Copy)]
pub struct Knobs {
    pub ttft: Duration,
    pub chunks: usize,
    pub gap: Duration,
}

impl Knobs {
    pub const INSTANT: Knobs = Knobs {
        ttft: Duration::ZERO,
        chunks: 20,
        gap: Duration::ZERO,
    };
    /// First token after 50 ms, 20 chunks 10 ms apart.
    pub const REALISTIC: Knobs = Knobs {
        ttft: Duration::from_millis(50),
        chunks: 20,
        gap: Duration::from_millis(10),
    };
}

fn content_frame(i: usize) -> Bytes {
    Bytes::from(format!(
        "data: {{\"id\":\"chatcmpl-bench\",\"object\":\"chat.completion.chunk\",\"created\":1,\
         \"model\":\"bench\",\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\"tok{i} \"}},\
         \"finish_reason\":null}}]}}\n\n"
    ))
}

const FINISH: &str = "data: {\"id\":\"chatcmpl-bench\",\"object\":\"chat.completion.chunk\",\
    \"created\":1,\"model\":\"bench\",\"choices\":[{\"index\":0,\"delta\":{},\
    \"finish_reason\":\"stop\"}]}\n\n";
const USAGE: &str = "data: {\"id\":\"chatcmpl-bench\",\"object\":\"chat.completion.chunk\",\
    \"created\":1,\"model\":\"bench\",\"choices\":[],\
    \"usage\":{\"prompt_tokens\":12,\"completion_tokens\":20,\"total_tokens\":32}}\n\n";
const DONE: &str = "data: [DONE]\n\n";

async fn answer(knobs: Knobs) -> Response {
    let stream = futures_util::stream::unfold(0usize, move |i| async move {
        let total = knobs.chunks + 3;
        if i >= total {
            return None;
        }
        let wait = match i {
            0 => knobs.ttft,
            i if i < knobs.chunks => knobs.gap,
            _ => Duration::ZERO,
        };
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
        let frame = match i {
            i if i < knobs.chunks => content_frame(i),
            i if i == knobs.chunks => Bytes::from_static(FINISH.as_bytes()),
            i if i == knobs.chunks + 1 => Bytes::from_static(USAGE.as_bytes()),
            _ => Bytes::from_static(DONE.as_bytes()),
        };
        Some((Ok::<_, std::convert::Infallible>(frame), i + 1))
    });
    Response::builder()
        .header("content-type", "text/event-stream")
        .body(Body::from_stream(stream))
        .unwrap()
}

/// Starts the fake on a thread of its own; returns its base URL (`…/v1`).
pub fn start(knobs: Knobs) -> String {
    let (tx, rx) = std::sync::mpsc::channel::<SocketAddr>();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let app = Router::new().route("/v1/chat/completions", post(move || answer(knobs)));
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            // Small frames must leave at once: Nagle would hold each back.
            let listener = listener.tap_io(|tcp| {
                let _ = tcp.set_nodelay(true);
            });
            axum::serve(listener, app).await.unwrap();
        });
    });
    format!("http://{}/v1", rx.recv().unwrap())
}
