//! An in-process fake of the Anthropic Messages API streaming endpoint: the
//! typed SSE events (`event:` and `data:` lines) in the order the real API
//! sends them, pings included, with a knob for an `error` event mid-stream.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Response};
use axum::routing::post;
use serde_json::{Value, json};

#[derive(Clone, Default)]
pub struct AnthropicScript {
    /// Send an overloaded `error` event after this many text deltas.
    pub error_after: Option<usize>,
}

#[derive(Default)]
struct State {
    script: Mutex<AnthropicScript>,
    requests: Mutex<Vec<(HeaderMap, Value)>>,
}

pub struct FakeAnthropic {
    pub addr: SocketAddr,
    state: Arc<State>,
}

pub const PIECES: [&str; 3] = ["Bonjour", ", ", "monde"];

impl FakeAnthropic {
    pub async fn start() -> FakeAnthropic {
        let state = Arc::new(State::default());
        let app = Router::new()
            .route("/v1/messages", post(messages))
            .with_state(state.clone());
        let addr = super::serve_fake(app).await;
        FakeAnthropic { addr, state }
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn set_script(&self, script: AnthropicScript) {
        *self.state.script.lock().unwrap() = script;
    }

    /// Headers and JSON body of the last request.
    pub fn last_request(&self) -> (HeaderMap, Value) {
        self.state.requests.lock().unwrap().last().cloned().unwrap()
    }
}

fn event(name: &str, data: Value) -> Result<Bytes, Infallible> {
    Ok(Bytes::from(format!("event: {name}\ndata: {data}\n\n")))
}

async fn messages(
    axum::extract::State(state): axum::extract::State<Arc<State>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response<Body> {
    let request: Value = serde_json::from_slice(&body).expect("memorid sent invalid JSON");
    let streaming = request["stream"] == true;
    state.requests.lock().unwrap().push((headers, request));
    let script = state.script.lock().unwrap().clone();
    if !streaming {
        let whole = json!({"id": "msg_fake", "type": "message", "role": "assistant",
            "model": "claude-test", "content": [{"type": "text", "text": PIECES.concat()}],
            "stop_reason": "end_turn", "stop_sequence": null,
            "usage": {"input_tokens": 20, "cache_read_input_tokens": 7, "output_tokens": 4}});
        return Response::builder()
            .header("content-type", "application/json")
            .body(Body::from(whole.to_string()))
            .unwrap();
    }

    let mut events = vec![
        event(
            "message_start",
            json!({"type": "message_start", "message": {
            "id": "msg_fake", "type": "message", "role": "assistant", "content": [],
            "model": "claude-test", "stop_reason": null, "stop_sequence": null,
            "usage": {"input_tokens": 20, "cache_creation_input_tokens": 0,
                      "cache_read_input_tokens": 7, "output_tokens": 1}}}),
        ),
        event(
            "content_block_start",
            json!({"type": "content_block_start", "index": 0,
            "content_block": {"type": "text", "text": ""}}),
        ),
        event("ping", json!({"type": "ping"})),
    ];
    for (n, piece) in PIECES.iter().enumerate() {
        if script.error_after == Some(n) {
            events.push(event(
                "error",
                json!({"type": "error",
                "error": {"type": "overloaded_error", "message": "Overloaded"}}),
            ));
            return sse(events);
        }
        events.push(event(
            "content_block_delta",
            json!({"type": "content_block_delta",
            "index": 0, "delta": {"type": "text_delta", "text": piece}}),
        ));
    }
    events.extend([
        event(
            "content_block_stop",
            json!({"type": "content_block_stop", "index": 0}),
        ),
        event(
            "message_delta",
            json!({"type": "message_delta",
            "delta": {"stop_reason": "end_turn", "stop_sequence": null},
            "usage": {"output_tokens": 4}}),
        ),
        event("message_stop", json!({"type": "message_stop"})),
    ]);
    sse(events)
}

fn sse(events: Vec<Result<Bytes, Infallible>>) -> Response<Body> {
    Response::builder()
        .status(200)
        .header("content-type", "text/event-stream; charset=utf-8")
        .body(Body::from_stream(tokio_stream::iter(events)))
        .unwrap()
}
