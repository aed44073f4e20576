//! An in-process fake of the OpenAI Chat Completions API that sends SSE
//! frames exactly as the real API does (role frame, content frames, a
//! finish frame, a usage frame with `choices: []`, then `[DONE]`), with
//! knobs for errors before the first frame, errors and stalls mid-stream,
//! delays, and a gate that holds each frame until the test allows it.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Response, StatusCode};
use axum::routing::post;
use base64::Engine;
use serde_json::{Value, json};
use tokio::sync::{Notify, Semaphore};

/// An HTTP error answer: status, extra headers, JSON body.
#[derive(Clone)]
pub struct Reject {
    pub status: u16,
    pub headers: Vec<(&'static str, &'static str)>,
    pub body: Value,
}

/// How the fake answers the next requests.
#[derive(Clone)]
pub struct Script {
    /// Answer with an HTTP error instead of a stream.
    pub reject: Option<Reject>,
    /// Text pieces, one content frame each.
    pub pieces: Vec<String>,
    /// Tool call frames sent after the text: (index, id, name, arguments pieces).
    pub tool_calls: Vec<(u32, &'static str, &'static str, Vec<&'static str>)>,
    pub finish_reason: &'static str,
    /// (prompt, completion, cached) tokens; `None` sends no usage frame.
    pub usage: Option<(u32, u32, u32)>,
    pub delay: Duration,
    /// Hold content frame n (n ≥ 1) until the test adds a permit.
    pub gate: Option<Arc<Semaphore>>,
    /// After this many content frames, send an error frame and end.
    pub error_after: Option<usize>,
    /// After this many content frames, end the body without `[DONE]`.
    pub cut_after: Option<usize>,
    /// After this many content frames, stall forever.
    pub stall_after: Option<usize>,
    /// Non-streaming: answer an extraction request with one fact whose
    /// content is the turn's user text (so answers differ per turn).
    pub echo_user_as_fact: bool,
}

impl Default for Script {
    fn default() -> Self {
        Script {
            reject: None,
            pieces: vec!["Hello".into(), ", ".into(), "world".into()],
            tool_calls: Vec::new(),
            finish_reason: "stop",
            usage: Some((11, 3, 0)),
            delay: Duration::ZERO,
            gate: None,
            error_after: None,
            cut_after: None,
            stall_after: None,
            echo_user_as_fact: false,
        }
    }
}

#[derive(Default)]
struct State {
    script: Mutex<Script>,
    /// Scripts for the next requests, one each, before `script` applies.
    queue: Mutex<std::collections::VecDeque<Script>>,
    requests: Mutex<Vec<(HeaderMap, Value)>>,
    /// Set by `forget_requests`.
    forgetful: std::sync::atomic::AtomicBool,
    /// Response bodies dropped before they were sent to the end, i.e. the
    /// client (memorid) closed the connection.
    dropped_early: AtomicUsize,
    dropped: Notify,
    embeddings: Mutex<EmbeddingAnswers>,
    /// The `encoding_format` of each embeddings request ("float" if none).
    embedding_formats: Mutex<Vec<String>>,
    /// How a replacement question about a new statement is answered
    /// (replaces or not); statements not in it get no answer.
    replacements: Mutex<std::collections::HashMap<String, bool>>,
}

/// How `/v1/embeddings` treats `encoding_format`.
#[derive(Clone, Copy, Default, PartialEq, Eq)]
pub enum EmbeddingAnswers {
    /// As OpenAI does: base64 when asked, floats otherwise.
    #[default]
    AsAsked,
    /// Floats whatever was asked (a server that ignores the parameter).
    FloatsAlways,
    /// HTTP 400 when base64 is asked (a server that rejects it).
    RefuseBase64,
}

pub struct FakeOpenAi {
    pub addr: SocketAddr,
    state: Arc<State>,
}

impl FakeOpenAi {
    pub async fn start() -> FakeOpenAi {
        let state = Arc::new(State::default());
        let app = Router::new()
            .route("/v1/chat/completions", post(completions))
            .route("/v1/embeddings", post(embeddings))
            .with_state(state.clone());
        let addr = super::serve_fake(app).await;
        FakeOpenAi { addr, state }
    }

    /// An extraction model that learns each turn's user text as a fact.
    pub async fn echoing_facts() -> FakeOpenAi {
        let fake = FakeOpenAi::start().await;
        fake.set_script(Script {
            echo_user_as_fact: true,
            ..Script::default()
        });
        fake
    }

    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// Stops keeping request bodies: a benchmark sends too many to keep.
    #[allow(dead_code, reason = "used by benches/augmentation.rs")]
    pub fn forget_requests(&self) {
        self.state.forgetful.store(true, Ordering::Relaxed);
    }

    pub fn set_embedding_answers(&self, answers: EmbeddingAnswers) {
        *self.state.embeddings.lock().unwrap() = answers;
    }

    /// The `encoding_format` of each embeddings request so far.
    pub fn embedding_formats(&self) -> Vec<String> {
        self.state.embedding_formats.lock().unwrap().clone()
    }

    /// Answers replacement questions (memorid's follow-up for a changed
    /// value) by the new statement: true "replaces", false "both hold";
    /// a statement not listed gets no answer.
    pub fn answer_replacements(&self, answers: &[(&str, bool)]) {
        let mut replacements = self.state.replacements.lock().unwrap();
        for (statement, replaces) in answers {
            replacements.insert((*statement).to_string(), *replaces);
        }
    }

    pub fn set_script(&self, script: Script) {
        *self.state.script.lock().unwrap() = script;
    }

    /// Answers the next requests with these scripts, one each, in order.
    pub fn queue_scripts(&self, scripts: Vec<Script>) {
        self.state.queue.lock().unwrap().extend(scripts);
    }

    /// The JSON bodies received so far.
    pub fn requests(&self) -> Vec<Value> {
        self.state
            .requests
            .lock()
            .unwrap()
            .iter()
            .map(|(_, b)| b.clone())
            .collect()
    }

    /// The `authorization` header of the last request.
    /// The header `name` of every chat request so far, in order.
    pub fn header_of_each(&self, name: &str) -> Vec<Option<String>> {
        let requests = self.state.requests.lock().unwrap();
        requests
            .iter()
            .map(|(headers, _)| headers.get(name).map(|v| v.to_str().unwrap().to_string()))
            .collect()
    }

    pub fn last_authorization(&self) -> Option<String> {
        let requests = self.state.requests.lock().unwrap();
        let (headers, _) = requests.last()?;
        headers
            .get("authorization")
            .map(|v| v.to_str().unwrap().to_string())
    }

    /// Waits until a response body was dropped before its end.
    pub async fn wait_for_early_drop(&self, timeout: Duration) -> bool {
        let waiting = async {
            loop {
                let notified = self.state.dropped.notified();
                if self.state.dropped_early.load(Ordering::SeqCst) > 0 {
                    return;
                }
                notified.await;
            }
        };
        tokio::time::timeout(timeout, waiting).await.is_ok()
    }
}

fn frame(value: Value) -> Bytes {
    Bytes::from(format!("data: {value}\n\n"))
}

fn chunk(delta: Value, finish_reason: Option<&str>) -> Value {
    json!({
        "id": "chatcmpl-fake",
        "object": "chat.completion.chunk",
        "created": 1_764_000_000,
        "model": "fake-model-2026-01-01",
        "system_fingerprint": "fp_fake",
        "choices": [{ "index": 0, "delta": delta, "logprobs": null, "finish_reason": finish_reason }],
        "usage": null,
    })
}

/// Notes in `State` when the body is dropped before its last frame.
struct DropGuard {
    state: Arc<State>,
    finished: bool,
}

impl Drop for DropGuard {
    fn drop(&mut self) {
        if !self.finished {
            self.state.dropped_early.fetch_add(1, Ordering::SeqCst);
            self.state.dropped.notify_waiters();
        }
    }
}

/// What answering a chat completion needs of its request (read without
/// building the whole JSON tree: a benchmark sends thousands).
#[derive(serde::Deserialize)]
struct Brief {
    stream: Option<bool>,
    #[serde(default)]
    messages: Vec<BriefMessage>,
}

#[derive(serde::Deserialize)]
struct BriefMessage {
    #[serde(default)]
    content: Value,
}

async fn completions(
    axum::extract::State(state): axum::extract::State<Arc<State>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response<Body> {
    let brief: Brief = serde_json::from_slice(&body).expect("memorid sent invalid JSON");
    let streaming = brief.stream == Some(true);
    let echoed = echoed_fact(&brief);
    if !state.forgetful.load(Ordering::Relaxed) {
        let request: Value = serde_json::from_slice(&body).expect("memorid sent invalid JSON");
        state.requests.lock().unwrap().push((headers, request));
    }
    let queued = state.queue.lock().unwrap().pop_front();
    let script = queued.unwrap_or_else(|| state.script.lock().unwrap().clone());
    if let Some(Reject {
        status,
        headers: extra_headers,
        body,
    }) = script.reject
    {
        let mut response = Response::builder()
            .status(StatusCode::from_u16(status).unwrap())
            .header("content-type", "application/json");
        for (name, value) in extra_headers {
            response = response.header(name, value);
        }
        return response.body(Body::from(body.to_string())).unwrap();
    }
    if !streaming {
        if !script.delay.is_zero() {
            tokio::time::sleep(script.delay).await;
        }
        if let Some(answer) = replacement_answer(&brief, &state) {
            let mut replacement = script.clone();
            replacement.pieces = vec![answer];
            return whole_answer(&replacement);
        }
        if script.echo_user_as_fact {
            let mut echo = script.clone();
            echo.pieces = vec![echoed];
            return whole_answer(&echo);
        }
        return whole_answer(&script);
    }

    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, Infallible>>(1);
    let state_for_task = state.clone();
    tokio::spawn(async move {
        let mut guard = DropGuard {
            state: state_for_task,
            finished: false,
        };
        let send = |bytes: Bytes| {
            let tx = tx.clone();
            async move { tx.send(Ok(bytes)).await.is_ok() }
        };
        if !send(frame(chunk(
            json!({"role": "assistant", "content": "", "refusal": null}),
            None,
        )))
        .await
        {
            return;
        }
        // Servers send SSE comments as keep-alives; they carry no data.
        if !send(Bytes::from_static(b": keep-alive\n\n")).await {
            return;
        }
        for (n, piece) in script.pieces.iter().enumerate() {
            if script.stall_after == Some(n) {
                // Stall until memorid hangs up, which closes the channel.
                tx.closed().await;
                return;
            }
            if script.error_after == Some(n) {
                let error = json!({"error": {"message": "The server had an error while processing your request.", "type": "server_error", "param": null, "code": null}});
                send(frame(error)).await;
                guard.finished = true;
                return;
            }
            if script.cut_after == Some(n) {
                guard.finished = true;
                return;
            }
            if n > 0
                && let Some(gate) = &script.gate
            {
                gate.acquire().await.unwrap().forget();
            }
            if !script.delay.is_zero() {
                tokio::time::sleep(script.delay).await;
            }
            if !send(frame(chunk(json!({"content": piece}), None))).await {
                return;
            }
        }
        for (index, id, name, arguments) in &script.tool_calls {
            let opening = json!({"tool_calls": [{"index": index, "id": id, "type": "function", "function": {"name": name, "arguments": ""}}]});
            if !send(frame(chunk(opening, None))).await {
                return;
            }
            for piece in arguments {
                let more =
                    json!({"tool_calls": [{"index": index, "function": {"arguments": piece}}]});
                if !send(frame(chunk(more, None))).await {
                    return;
                }
            }
        }
        if !send(frame(chunk(json!({}), Some(script.finish_reason)))).await {
            return;
        }
        if let Some((prompt, completion, cached)) = script.usage {
            let usage = json!({
                "id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 1_764_000_000,
                "model": "fake-model-2026-01-01", "system_fingerprint": "fp_fake", "choices": [],
                "usage": {
                    "prompt_tokens": prompt, "completion_tokens": completion,
                    "total_tokens": prompt + completion,
                    "prompt_tokens_details": {"cached_tokens": cached, "audio_tokens": 0},
                    "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0,
                        "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0}
                }
            });
            if !send(frame(usage)).await {
                return;
            }
        }
        send(Bytes::from_static(b"data: [DONE]\n\n")).await;
        guard.finished = true;
    });
    Response::builder()
        .status(200)
        .header("content-type", "text/event-stream; charset=utf-8")
        .header("cache-control", "no-cache")
        .body(Body::from_stream(
            tokio_stream::wrappers::ReceiverStream::new(rx),
        ))
        .unwrap()
}

/// The non-streaming (`stream: false`) answer for a script.
fn whole_answer(script: &Script) -> Response<Body> {
    let tool_calls: Vec<Value> = script
        .tool_calls
        .iter()
        .map(|(_, id, name, pieces)| {
            json!({"id": id, "type": "function",
            "function": {"name": name, "arguments": pieces.concat()}})
        })
        .collect();
    let mut message =
        json!({"role": "assistant", "content": script.pieces.concat(), "refusal": null});
    if !tool_calls.is_empty() {
        message["tool_calls"] = Value::Array(tool_calls);
    }
    let (prompt, completion, cached) = script.usage.unwrap_or((0, 0, 0));
    let body = json!({
        "id": "chatcmpl-fake", "object": "chat.completion", "created": 1_764_000_000,
        "model": "fake-model-2026-01-01",
        "choices": [{"index": 0, "message": message, "logprobs": null, "finish_reason": script.finish_reason}],
        "usage": {"prompt_tokens": prompt, "completion_tokens": completion,
                  "total_tokens": prompt + completion,
                  "prompt_tokens_details": {"cached_tokens": cached}},
    });
    Response::builder()
        .status(200)
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap()
}

/// The answer to a replacement question (its context lists "- pN:
/// remembered: … | new: …" pairs), or `None` for any other request.
fn replacement_answer(request: &Brief, state: &State) -> Option<String> {
    let context = request.messages.get(1)?.content.as_str()?;
    let (_, pairs) = context.split_once("\nPairs:\n")?;
    let replacements = state.replacements.lock().unwrap();
    let answers: Vec<Value> = pairs
        .lines()
        .filter_map(|line| {
            let (alias, rest) = line.strip_prefix("- ")?.split_once(": ")?;
            let (_, new) = rest.split_once(" | new: ")?;
            let replaces = replacements.get(new)?;
            Some(json!({"pair": alias, "replaces": replaces}))
        })
        .collect();
    Some(json!({ "answers": answers }).to_string())
}

/// An extraction answer whose one fact is the user line of the turn shown
/// in an extraction request.
fn echoed_fact(request: &Brief) -> String {
    let context = request
        .messages
        .get(1)
        .and_then(|m| m.content.as_str())
        .unwrap_or_default();
    let user = context
        .lines()
        .find_map(|line| line.strip_prefix("user: "))
        .unwrap_or_default();
    json!({"facts": [{"content": user, "category": "other", "action": "new", "existing_id": ""}],
           "triples": [], "process_attributes": [], "summary": ""})
    .to_string()
}

/// `/v1/embeddings`: deterministic 384-dimension vectors derived from each
/// input's bytes, so different texts get unrelated vectors. Instant, for
/// measuring everything but the embedding model.
async fn embeddings(
    axum::extract::State(state): axum::extract::State<Arc<State>>,
    body: Bytes,
) -> Response<Body> {
    let request: Value = serde_json::from_slice(&body).expect("memorid sent invalid JSON");
    let format = request["encoding_format"]
        .as_str()
        .unwrap_or("float")
        .to_string();
    state.embedding_formats.lock().unwrap().push(format.clone());
    let answers = *state.embeddings.lock().unwrap();
    if answers == EmbeddingAnswers::RefuseBase64 && format == "base64" {
        let error = json!({"error": {"message": "encoding_format: unsupported value", "type": "invalid_request_error"}});
        return Response::builder()
            .status(400)
            .header("content-type", "application/json")
            .body(Body::from(error.to_string()))
            .unwrap();
    }
    let base64 = format == "base64" && answers == EmbeddingAnswers::AsAsked;
    let inputs: Vec<String> = match &request["input"] {
        Value::Array(items) => items
            .iter()
            .map(|v| v.as_str().unwrap_or_default().to_string())
            .collect(),
        Value::String(text) => vec![text.clone()],
        _ => Vec::new(),
    };
    let data: Vec<Value> = inputs
        .iter()
        .enumerate()
        .map(|(index, text)| {
            let vector = pseudo_vector(text);
            let embedding = if base64 {
                let bytes: Vec<u8> = vector.iter().flat_map(|v| v.to_le_bytes()).collect();
                json!(base64::engine::general_purpose::STANDARD.encode(bytes))
            } else {
                json!(vector)
            };
            json!({"object": "embedding", "index": index, "embedding": embedding})
        })
        .collect();
    let body = json!({"object": "list", "data": data, "model": request["model"],
                      "usage": {"prompt_tokens": 0, "total_tokens": 0}});
    Response::builder()
        .status(200)
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap()
}

/// The vector `/v1/embeddings` answers for `text`.
pub fn pseudo_vector(text: &str) -> Vec<f32> {
    let mut state: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in text.bytes() {
        state = (state ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
    }
    (0..384)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % 2001) as f32 / 1000.0 - 1.0
        })
        .collect()
}
