//! The logs of a real run: JSON lines (`log.format = "json"`) that, at
//! info level, carry no message content, no API key (callers' or
//! upstreams') and no upstream body, even when calls fail.

use std::time::Duration;

use memorid::pb;
use memorid::pb::chat_service_client::ChatServiceClient;
use memorid::pb::memory_service_client::MemoryServiceClient;
use serde_json::{Value, json};
use tonic::metadata::MetadataValue;

use crate::support::fake_openai::{FakeOpenAi, Reject, Script};
use crate::support::process::ServerProcess;
use crate::support::*;

const CALLER_KEY: &str = "mk_caller-secret-canary-3f9a1c";
const UPSTREAM_KEY: &str = "sk-upstream-secret-canary-77d2";
const USER_TEXT: &str = "user-content-canary: my locker code is 8812";
const ANSWER_TEXT: &str = "answer-canary-b41";
const UPSTREAM_ERROR: &str = "upstream-body-canary-e55 quoting sk-upstream-secret-canary-77d2";

fn with_key<T>(message: T) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request.metadata_mut().insert(
        "authorization",
        MetadataValue::try_from(format!("Bearer {CALLER_KEY}")).unwrap(),
    );
    request
}

#[tokio::test]
async fn info_logs_are_json_and_carry_no_content_keys_or_upstream_bodies() {
    let upstream = FakeOpenAi::start().await;
    upstream.queue_scripts(vec![
        Script {
            pieces: vec![ANSWER_TEXT.into()],
            ..Script::default()
        },
        Script {
            reject: Some(Reject {
                status: 400,
                headers: Vec::new(),
                body: json!({ "error": { "message": UPSTREAM_ERROR, "type": "invalid_request_error" } }),
            }),
            ..Script::default()
        },
    ]);
    let dir = tempfile::tempdir().unwrap();
    // A plain-text key in the keys file: its deprecation warning must name
    // the line, not the key.
    let keys = dir.path().join("keys");
    std::fs::write(&keys, format!("acme:{CALLER_KEY}\n")).unwrap();
    let log = dir.path().join("memorid.log");
    let env: Vec<(String, String)> = [
        ("RUST_LOG", "info".to_string()),
        ("MEMORID_LOG__FORMAT", "json".to_string()),
        (
            "MEMORID_STORAGE__URL",
            format!("sqlite://{}", dir.path().join("m.db").display()),
        ),
        ("MEMORID_AUTH__KEYS_FILE", keys.display().to_string()),
        ("MEMORID_AUGMENTATION__ENABLED", "false".to_string()),
        ("MEMORID_PROVIDERS__FAKE__KIND", "openai".to_string()),
        ("MEMORID_PROVIDERS__FAKE__BASE_URL", upstream.base_url()),
        (
            "MEMORID_PROVIDERS__FAKE__API_KEY_ENV",
            "FAKE_UPSTREAM_KEY".to_string(),
        ),
        ("FAKE_UPSTREAM_KEY", UPSTREAM_KEY.to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let server = ServerProcess::start_logging_to(&env, Some(&log)).await;
    let channel = server.channel().await;
    let mut chat = ChatServiceClient::new(channel.clone());

    let request = || pb::ChatRequest {
        attribution: attribution("u1", "s1"),
        model: "fake/gpt-test".into(),
        messages: vec![user(USER_TEXT)],
        ..Default::default()
    };
    let answered = chat.chat(with_key(request())).await.unwrap();
    let (events, status) = collect(answered.into_inner()).await;
    assert!(status.is_none(), "{status:?}");
    assert!(text_of(&events).contains(ANSWER_TEXT));
    // The upstream refuses, quoting its key: the caller gets an error.
    let refused = match chat.chat(with_key(request())).await {
        Err(status) => Some(status),
        Ok(stream) => collect(stream.into_inner()).await.1,
    };
    assert!(refused.is_some());
    // A wrong key and a bad request are refused too.
    let mut wrong = tonic::Request::new(request());
    wrong.metadata_mut().insert(
        "authorization",
        MetadataValue::try_from("Bearer mk_wrong-key-canary-0c1").unwrap(),
    );
    assert!(chat.chat(wrong).await.is_err());
    let mut memory = MemoryServiceClient::new(channel);
    let stored = memory
        .attribute(with_key(tokio_stream::iter(vec![pb::AttributeRequest {
            attribution: attribution("u1", "s2"),
            messages: vec![user(USER_TEXT), assistant(ANSWER_TEXT)],
            idempotency_key: "t1".into(),
            ..Default::default()
        }])))
        .await
        .unwrap();
    let mut stored = stored.into_inner();
    while stored.message().await.unwrap().is_some() {}
    tokio::time::sleep(Duration::from_millis(300)).await;
    server.kill();

    let text = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(lines.len() >= 3, "too few log lines to judge:\n{text}");
    for line in &lines {
        let parsed: Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("a log line is not JSON ({e}): {line}"));
        assert!(parsed.get("level").is_some(), "{line}");
    }
    assert!(
        text.contains("deprecated"),
        "the plain-text key was not warned about:\n{text}"
    );
    for secret in [
        CALLER_KEY,
        UPSTREAM_KEY,
        "mk_wrong-key-canary-0c1",
        "user-content-canary",
        "8812",
        ANSWER_TEXT,
        "upstream-body-canary",
    ] {
        assert!(
            !text.contains(secret),
            "the logs contain {secret:?}:\n{text}"
        );
    }
}
