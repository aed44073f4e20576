//! Traces from the real binary, received by an in-process OTLP collector:
//! a Chat continues the caller's `traceparent`, its spans nest (RPC → chat
//! → upstream call) with the GenAI attributes, the upstream request carries
//! the trace on, the turn's later augmentation job lands in the same trace,
//! log lines inside the call name the trace id, and no span carries
//! message content.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use memorid::pb;
use memorid::pb::chat_service_client::ChatServiceClient;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::trace::v1::Span;
use tonic::metadata::MetadataValue;

use crate::support::fake_openai::FakeOpenAi;
use crate::support::process::ServerProcess;
use crate::support::*;

const CALLER_TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CALLER_SPAN: &str = "00f067aa0ba902b7";
const USER_TEXT: &str = "trace-content-canary: my bike lock code is 5521";

/// Collects every span exported to it, with its service name.
#[derive(Default, Clone)]
struct Collector {
    spans: Arc<Mutex<Vec<(String, Span)>>>,
}

#[tonic::async_trait]
impl TraceService for Collector {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let mut spans = self.spans.lock().unwrap();
        for resource in request.into_inner().resource_spans {
            let service = resource
                .resource
                .iter()
                .flat_map(|r| &r.attributes)
                .find(|kv| kv.key == "service.name")
                .and_then(|kv| text(kv.value.as_ref()?.value.as_ref()?))
                .unwrap_or_default();
            for scope in resource.scope_spans {
                for span in scope.spans {
                    spans.push((service.clone(), span));
                }
            }
        }
        Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
    }
}

impl Collector {
    async fn start() -> (Collector, String) {
        let collector = Collector::default();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let service = TraceServiceServer::new(collector.clone());
        tokio::spawn(
            tonic::transport::Server::builder()
                .add_service(service)
                .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
        );
        (collector, format!("http://{addr}"))
    }

    fn spans(&self) -> Vec<(String, Span)> {
        self.spans.lock().unwrap().clone()
    }

    /// Waits until `wanted` holds for the spans received so far.
    async fn wait_for(&self, what: &str, wanted: impl Fn(&[(String, Span)]) -> bool) {
        for _ in 0..150 {
            if wanted(&self.spans()) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let names: Vec<String> = self.spans().iter().map(|(_, s)| s.name.clone()).collect();
        panic!("no {what} within 15 s; spans received: {names:?}");
    }
}

fn text(value: &Value) -> Option<String> {
    match value {
        Value::StringValue(s) => Some(s.clone()),
        _ => None,
    }
}

fn attribute<'a>(span: &'a Span, key: &str) -> Option<&'a Value> {
    span.attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref()?.value.as_ref())
}

fn string_attribute(span: &Span, key: &str) -> Option<String> {
    attribute(span, key).and_then(text)
}

fn int_attribute(span: &Span, key: &str) -> Option<i64> {
    match attribute(span, key)? {
        Value::IntValue(n) => Some(*n),
        _ => None,
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn named<'a>(spans: &'a [(String, Span)], name: &str) -> Vec<&'a Span> {
    spans
        .iter()
        .map(|(_, s)| s)
        .filter(|s| s.name == name)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chat_and_its_augmentation_are_one_trace_continuing_the_callers() {
    let (collector, endpoint) = Collector::start().await;
    let upstream = FakeOpenAi::echoing_facts().await;
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("memorid.log");
    let env: Vec<(String, String)> = [
        ("RUST_LOG", "info"),
        ("MEMORID_LOG__FORMAT", "json"),
        ("MEMORID_TELEMETRY__OTLP_ENDPOINT", endpoint.as_str()),
        ("MEMORID_TELEMETRY__SERVICE_NAME", "memorid-under-test"),
        ("MEMORID_TELEMETRY__EXPORT_INTERVAL_MS", "100"),
        ("MEMORID_PROVIDERS__FAKE__KIND", "openai"),
        ("MEMORID_PROVIDERS__FAKE__BASE_URL", &upstream.base_url()),
        ("MEMORID_EMBEDDINGS__BACKEND", "openai"),
        ("MEMORID_EMBEDDINGS__BASE_URL", &upstream.base_url()),
        ("MEMORID_EMBEDDINGS__MODEL", "pseudo-384"),
        (
            "MEMORID_AUGMENTATION__EXTRACTION_MODEL",
            "fake/extract-test",
        ),
        ("MEMORID_AUGMENTATION__POLL_INTERVAL_MS", "50"),
        ("MEMORID_AUGMENTATION__WORKERS", "2"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .chain([(
        "MEMORID_STORAGE__URL".to_string(),
        format!("sqlite://{}", dir.path().join("m.db").display()),
    )])
    .collect();
    let server = ServerProcess::start_logging_to(&env, Some(&log)).await;

    let mut request = tonic::Request::new(pb::ChatRequest {
        attribution: attribution("u-trace", "s1"),
        model: "fake/gpt-test".into(),
        messages: vec![user(USER_TEXT)],
        ..Default::default()
    });
    request.metadata_mut().insert(
        "traceparent",
        MetadataValue::try_from(format!("00-{CALLER_TRACE}-{CALLER_SPAN}-01")).unwrap(),
    );
    let mut chat = ChatServiceClient::new(server.channel().await);
    let (_, status) = collect(chat.chat(request).await.unwrap().into_inner()).await;
    assert!(status.is_none(), "{status:?}");

    collector
        .wait_for("augmentation job span in the caller's trace", |spans| {
            named(spans, "augmentation_job")
                .iter()
                .any(|s| hex(&s.trace_id) == CALLER_TRACE)
        })
        .await;
    let spans = collector.spans();
    assert!(
        spans
            .iter()
            .all(|(service, _)| service == "memorid-under-test")
    );

    // The RPC span continues the caller's span.
    let rpc = named(&spans, "memori.v1.ChatService/Chat");
    assert_eq!(rpc.len(), 1, "one RPC span: {rpc:?}");
    let rpc = rpc[0];
    assert_eq!(hex(&rpc.trace_id), CALLER_TRACE);
    assert_eq!(hex(&rpc.parent_span_id), CALLER_SPAN);
    assert_eq!(string_attribute(rpc, "rpc.system").as_deref(), Some("grpc"));
    assert_eq!(
        string_attribute(rpc, "rpc.service").as_deref(),
        Some("memori.v1.ChatService")
    );
    assert_eq!(string_attribute(rpc, "rpc.method").as_deref(), Some("Chat"));
    assert_eq!(int_attribute(rpc, "rpc.grpc.status_code"), Some(0));

    // The recall that shaped the prompt ran inside the call.
    let recall = named(&spans, "recall")
        .into_iter()
        .find(|s| s.parent_span_id == rpc.span_id)
        .expect("a recall span under the RPC span");
    let indexes = string_attribute(recall, "memorid.recall.indexes");
    assert!(
        indexes.as_deref().is_some_and(|i| i.contains("facts:")),
        "how the indexes were had: {indexes:?}"
    );

    // RPC → chat → the upstream call, with the GenAI attributes.
    let chat_span = named(&spans, "chat")
        .into_iter()
        .find(|s| s.parent_span_id == rpc.span_id)
        .expect("a chat span under the RPC span");
    let upstream_span = spans
        .iter()
        .map(|(_, s)| s)
        .find(|s| s.parent_span_id == chat_span.span_id && s.name == "chat gpt-test")
        .expect("an upstream span under the chat span");
    assert_eq!(
        string_attribute(upstream_span, "gen_ai.system").as_deref(),
        Some("openai")
    );
    assert_eq!(
        string_attribute(upstream_span, "gen_ai.request.model").as_deref(),
        Some("gpt-test")
    );
    assert_eq!(
        string_attribute(upstream_span, "gen_ai.response.model").as_deref(),
        Some("gpt-test")
    );
    assert_eq!(
        int_attribute(upstream_span, "gen_ai.usage.input_tokens"),
        Some(11)
    );
    assert_eq!(
        int_attribute(upstream_span, "gen_ai.usage.output_tokens"),
        Some(3)
    );
    assert_eq!(
        string_attribute(upstream_span, "gen_ai.response.finish_reasons").as_deref(),
        Some("stop")
    );
    assert!(
        attribute(upstream_span, "memorid.time_to_first_token_ms").is_some(),
        "no time to first token on {upstream_span:?}"
    );

    // The upstream request carried the trace on, from the upstream span.
    let sent = upstream.header_of_each("traceparent");
    let first = sent[0]
        .as_deref()
        .expect("the chat request had a traceparent");
    assert_eq!(
        first,
        format!("00-{CALLER_TRACE}-{}-01", hex(&upstream_span.span_id))
    );

    // The turn's augmentation job is a child of the chat span, linked to
    // its batch; the extraction call is traced under the batch.
    let job = named(&spans, "augmentation_job")
        .into_iter()
        .find(|s| hex(&s.trace_id) == CALLER_TRACE)
        .unwrap();
    assert_eq!(job.parent_span_id, chat_span.span_id);
    assert_eq!(
        string_attribute(job, "memorid.job.outcome").as_deref(),
        Some("done")
    );
    let batch = named(&spans, "augmentation_batch")
        .into_iter()
        .find(|b| job.links.iter().any(|l| l.span_id == b.span_id))
        .expect("the job links to its batch");
    assert!(
        batch.links.iter().any(|l| l.span_id == chat_span.span_id),
        "the batch links to the turn's chat span"
    );
    assert!(
        spans.iter().any(|(_, s)| s.trace_id == batch.trace_id
            && s.name == "chat extract-test"
            && string_attribute(s, "gen_ai.system").as_deref() == Some("openai")),
        "no extraction call in the batch's trace"
    );

    // No span, attribute or event carries what the user said.
    let dump = format!("{spans:?}");
    assert!(
        !dump.contains("trace-content-canary") && !dump.contains("5521"),
        "a span carries message content"
    );

    // Log lines inside the call name its trace id.
    drop(server);
    let logs = std::fs::read_to_string(&log).unwrap();
    let ended = logs
        .lines()
        .find(|l| l.contains("chat turn ended"))
        .expect("a chat turn ended line");
    assert!(ended.contains(CALLER_TRACE), "no trace id in {ended}");
}

#[tokio::test]
async fn a_dead_collector_does_not_fail_calls() {
    // Nothing listens there: every export fails.
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let upstream = FakeOpenAi::start().await;
    let dir = tempfile::tempdir().unwrap();
    let env: Vec<(String, String)> = vec![
        (
            "MEMORID_TELEMETRY__OTLP_ENDPOINT".into(),
            format!("http://{dead}"),
        ),
        ("MEMORID_TELEMETRY__EXPORT_INTERVAL_MS".into(), "50".into()),
        ("MEMORID_TELEMETRY__MAX_QUEUED_SPANS".into(), "16".into()),
        ("MEMORID_AUGMENTATION__ENABLED".into(), "false".into()),
        ("MEMORID_PROVIDERS__FAKE__KIND".into(), "openai".into()),
        (
            "MEMORID_PROVIDERS__FAKE__BASE_URL".into(),
            upstream.base_url(),
        ),
        (
            "MEMORID_STORAGE__URL".into(),
            format!("sqlite://{}", dir.path().join("m.db").display()),
        ),
    ];
    let server = ServerProcess::start(&env).await;
    let mut chat = ChatServiceClient::new(server.channel().await);
    // More spans than the queue holds: the rest are dropped, calls go on.
    for i in 0..40 {
        let request = chat_request("u-dead", &format!("s{i}"), "hello");
        let (events, status) = collect(chat.chat(request).await.unwrap().into_inner()).await;
        assert!(status.is_none(), "call {i}: {status:?}");
        assert!(!text_of(&events).is_empty());
    }
}
