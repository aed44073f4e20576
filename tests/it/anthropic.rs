//! Chat through memorid to the fake Anthropic Messages API.

use std::io::Write;

use memorid::config::{ProviderConfig, ProviderKind};
use memorid::pb;
use memorid::pb::chat_response::Event;
use tonic::Code;

use crate::on_both_backends;
use crate::support::fake_anthropic::{AnthropicScript, FakeAnthropic, PIECES};
use crate::support::*;

on_both_backends!(
    streams_and_stores_an_anthropic_turn,
    anthropic_error_events_end_the_stream
);

async fn start(
    backend: Backend,
    upstream: &FakeAnthropic,
) -> (TestServer, tempfile::NamedTempFile) {
    let (mut config, dir) = test_config(backend, None).await;
    let mut key = tempfile::NamedTempFile::new().unwrap();
    writeln!(key, "sk-ant-test").unwrap();
    config.providers.insert(
        "claude".into(),
        ProviderConfig {
            kind: ProviderKind::Anthropic,
            base_url: upstream.base_url(),
            api_key_env: None,
            api_key_file: Some(key.path().to_path_buf()),
            api_version: None,
            connect_timeout_secs: 2,
        },
    );
    (TestServer::start(config, dir).await, key)
}

fn request(session: &str) -> pb::ChatRequest {
    let mut request = chat_request("u1", session, "Say hello in French");
    request.model = "claude/claude-test".into();
    request.messages.insert(
        0,
        pb::Message {
            role: pb::Role::System.into(),
            content: "Be brief.".into(),
            ..Default::default()
        },
    );
    request
}

async fn streams_and_stores_an_anthropic_turn(backend: Backend) {
    let upstream = FakeAnthropic::start().await;
    let (server, _key) = start(backend, &upstream).await;
    let response = server.chat().await.chat(request("s")).await.unwrap();
    let (events, status) = collect(response.into_inner()).await;
    assert!(status.is_none(), "{status:?}");
    assert_eq!(text_of(&events), PIECES.concat());
    let Some(Event::Completed(completed)) = events.last() else {
        panic!("{events:?}")
    };
    assert_eq!(completed.finish_reason, pb::FinishReason::Stop as i32);
    let usage = completed.usage.unwrap();
    // Anthropic reports cached reads apart from input_tokens; memorid's
    // input count includes them, as OpenAI's does.
    assert_eq!(
        (
            usage.input_tokens,
            usage.cached_input_tokens,
            usage.output_tokens
        ),
        (27, 7, 4)
    );

    let (headers, body) = upstream.last_request();
    assert_eq!(headers["x-api-key"], "sk-ant-test");
    assert_eq!(headers["anthropic-version"], "2023-06-01");
    assert_eq!(body["model"], "claude-test");
    assert_eq!(body["system"], "Be brief.");
    assert_eq!(body["stream"], true);
    assert_eq!(body["messages"][0]["role"], "user");

    let turn = &get_session(&server, "u1", "s").await.unwrap().turns[0];
    assert_eq!(turn.status, pb::TurnStatus::Completed as i32);
    assert_eq!(turn.messages.last().unwrap().content, PIECES.concat());
    server.stop().await;
}

async fn anthropic_error_events_end_the_stream(backend: Backend) {
    let upstream = FakeAnthropic::start().await;
    upstream.set_script(AnthropicScript {
        error_after: Some(1),
    });
    let (server, _key) = start(backend, &upstream).await;
    let response = server.chat().await.chat(request("s")).await.unwrap();
    let (events, status) = collect(response.into_inner()).await;
    assert_eq!(text_of(&events), PIECES[0]);
    let status = status.expect("the stream must end with a status");
    assert_eq!(status.code(), Code::Unavailable);
    assert!(status.message().contains("Overloaded"), "{status:?}");
    let turn = wait_for_turn_end(&server, "u1", "s").await;
    assert_eq!(turn.status, pb::TurnStatus::Interrupted as i32);
    server.stop().await;
}
