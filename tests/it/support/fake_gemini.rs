//! An in-process fake of the Gemini API: `streamGenerateContent?alt=sse`
//! sends `data:` frames with CRLF line ends and no end marker, as Google's
//! servers do; `generateContent` answers the whole response at once.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Response};
use axum::routing::post;
use serde_json::{Value, json};

#[derive(Default)]
struct Recorded {
    requests: Mutex<Vec<(String, HeaderMap, Value)>>,
}

pub struct FakeGemini {
    pub addr: SocketAddr,
    state: Arc<Recorded>,
}

pub const PIECES: [&str; 3] = ["Hallo", " ", "Welt"];

impl FakeGemini {
    pub async fn start() -> FakeGemini {
        let state = Arc::new(Recorded::default());
        let app = Router::new()
            .route("/v1beta/models/{*call}", post(generate))
            .with_state(state.clone());
        let addr = super::serve_fake(app).await;
        FakeGemini { addr, state }
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The path after `/v1beta/models/`, the headers and the JSON body of
    /// the last request.
    pub fn last_request(&self) -> (String, HeaderMap, Value) {
        self.state.requests.lock().unwrap().last().cloned().unwrap()
    }
}

fn frame(parts: Value, finish: Option<&str>, usage: Value) -> Value {
    let mut candidate = json!({"content": {"parts": parts, "role": "model"}, "index": 0});
    if let Some(finish) = finish {
        candidate["finishReason"] = json!(finish);
    }
    json!({"candidates": [candidate], "usageMetadata": usage, "modelVersion": "gemini-test-001",
           "responseId": "fake"})
}

async fn generate(
    State(state): State<Arc<Recorded>>,
    Path(call): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response<Body> {
    let request: Value = serde_json::from_slice(&body).expect("memorid sent invalid JSON");
    state
        .requests
        .lock()
        .unwrap()
        .push((call.clone(), headers, request));
    let partial_usage = json!({"promptTokenCount": 9, "totalTokenCount": 9});
    let final_usage = json!({"promptTokenCount": 9, "candidatesTokenCount": 3,
        "totalTokenCount": 12, "cachedContentTokenCount": 2});
    if call.ends_with(":generateContent") {
        let whole = frame(
            json!([{"text": PIECES.concat()}]),
            Some("STOP"),
            final_usage,
        );
        return Response::builder()
            .header("content-type", "application/json")
            .body(Body::from(whole.to_string()))
            .unwrap();
    }
    assert!(
        call.ends_with(":streamGenerateContent"),
        "unexpected call {call}"
    );
    let last = PIECES.len() - 1;
    let frames: Vec<Result<Bytes, std::convert::Infallible>> = PIECES
        .iter()
        .enumerate()
        .map(|(i, piece)| {
            let (finish, usage) = if i == last {
                (Some("STOP"), final_usage.clone())
            } else {
                (None, partial_usage.clone())
            };
            let data = frame(json!([{"text": piece}]), finish, usage);
            Ok(Bytes::from(format!("data: {data}\r\n\r\n")))
        })
        .collect();
    Response::builder()
        .header("content-type", "text/event-stream")
        .body(Body::from_stream(tokio_stream::iter(frames)))
        .unwrap()
}
