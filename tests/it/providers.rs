//! Provider behaviour across the three wire formats: Gemini streaming,
//! non-streaming completions, retries and fallbacks before the first token
//! (never after it), and usage that was not reported.

use std::time::Duration;

use memorid::config::{Config, ProviderKind};
use memorid::domain::{ChatMessage, FinishReason, Role};
use memorid::pb;
use memorid::pb::chat_response::Event;
use memorid::providers::{ChatRequest, Provider};
use serde_json::json;
use tonic::Code;
use tonic_types::StatusExt;

use crate::on_both_backends;
use crate::support::fake_anthropic::{self, FakeAnthropic};
use crate::support::fake_gemini::{self, FakeGemini};
use crate::support::fake_openai::{FakeOpenAi, Reject, Script};
use crate::support::*;

on_both_backends!(
    streams_and_stores_a_gemini_turn,
    transient_failures_are_retried_before_the_first_token,
    nothing_is_retried_after_the_first_token,
    an_alias_falls_back_to_the_next_model,
    a_stream_without_usage_reports_none,
);

/// A config with the OpenAI fake as `fake`, and the others as `claude` and
/// `gem` when given; retries on with short backoffs.
async fn config_with(
    backend: Backend,
    openai: &FakeOpenAi,
    anthropic: Option<&FakeAnthropic>,
    gemini: Option<&FakeGemini>,
) -> (Config, Option<tempfile::TempDir>) {
    let (mut config, dir) = test_config(backend, Some(openai.base_url())).await;
    if let Some(anthropic) = anthropic {
        config.providers.insert(
            "claude".into(),
            provider(ProviderKind::Anthropic, anthropic.base_url()),
        );
    }
    if let Some(gemini) = gemini {
        config.providers.insert(
            "gem".into(),
            provider(ProviderKind::Gemini, gemini.base_url()),
        );
    }
    config.routing.max_attempts = 3;
    config.routing.initial_backoff_ms = 10;
    config.routing.max_backoff_ms = 50;
    (config, dir)
}

fn unavailable() -> Script {
    Script {
        reject: Some(Reject {
            status: 503,
            headers: vec![],
            body: json!({"error": {"message": "The engine is currently overloaded", "type": "server_error"}}),
        }),
        ..Script::default()
    }
}

async fn streams_and_stores_a_gemini_turn(backend: Backend) {
    let openai = FakeOpenAi::start().await;
    let gemini = FakeGemini::start().await;
    let (config, dir) = config_with(backend, &openai, None, Some(&gemini)).await;
    let server = TestServer::start(config, dir).await;
    let mut request = chat_request("u1", "s", "Say hello in German");
    request.model = "gem/gemini-test".into();
    request.messages.insert(
        0,
        pb::Message {
            role: pb::Role::System.into(),
            content: "Be brief.".into(),
            ..Default::default()
        },
    );
    let (events, status) = collect(
        server
            .chat()
            .await
            .chat(request)
            .await
            .unwrap()
            .into_inner(),
    )
    .await;
    assert!(status.is_none(), "{status:?}");
    assert_eq!(text_of(&events), fake_gemini::PIECES.concat());
    let Some(Event::Completed(completed)) = events.last() else {
        panic!("{events:?}")
    };
    let usage = completed.usage.unwrap();
    assert_eq!(
        (
            usage.input_tokens,
            usage.output_tokens,
            usage.cached_input_tokens
        ),
        (9, 3, 2)
    );

    let (call, _, body) = gemini.last_request();
    assert_eq!(call, "gemini-test:streamGenerateContent");
    assert_eq!(body["systemInstruction"]["parts"][0]["text"], "Be brief.");
    assert_eq!(body["contents"][0]["role"], "user");
    let turn = &get_session(&server, "u1", "s").await.unwrap().turns[0];
    assert_eq!(turn.model, "gem/gemini-test");
    assert_eq!(turn.messages[2].content, fake_gemini::PIECES.concat());
    server.stop().await;
}

async fn transient_failures_are_retried_before_the_first_token(backend: Backend) {
    let openai = FakeOpenAi::start().await;
    openai.queue_scripts(vec![unavailable(), unavailable()]);
    let (config, dir) = config_with(backend, &openai, None, None).await;
    let server = TestServer::start(config, dir).await;
    let mut chat = server.chat().await;
    let (events, status) = collect(
        chat.chat(chat_request("u1", "s", "hi"))
            .await
            .unwrap()
            .into_inner(),
    )
    .await;
    assert!(status.is_none(), "{status:?}");
    assert_eq!(text_of(&events), "Hello, world");
    assert_eq!(openai.requests().len(), 3, "two failures, then the answer");

    // An upstream that asks to wait longer than the configured cap is not
    // retried; the caller gets its retry-after as RetryInfo.
    openai.queue_scripts(vec![Script {
        reject: Some(Reject {
            status: 429,
            headers: vec![("retry-after", "600")],
            body: json!({"error": {"message": "Rate limit reached", "type": "requests"}}),
        }),
        ..Script::default()
    }]);
    let status = chat.chat(chat_request("u1", "s2", "hi")).await.unwrap_err();
    assert_eq!(status.code(), Code::ResourceExhausted);
    assert_eq!(
        status.get_error_details().retry_info().unwrap().retry_delay,
        Some(Duration::from_secs(600))
    );
    assert_eq!(openai.requests().len(), 4);
    server.stop().await;
}

async fn nothing_is_retried_after_the_first_token(backend: Backend) {
    let openai = FakeOpenAi::start().await;
    openai.set_script(Script {
        error_after: Some(1),
        ..Script::default()
    });
    let (config, dir) = config_with(backend, &openai, None, None).await;
    let server = TestServer::start(config, dir).await;
    let response = server
        .chat()
        .await
        .chat(chat_request("u1", "s", "hi"))
        .await
        .unwrap();
    let (events, status) = collect(response.into_inner()).await;
    assert_eq!(text_of(&events), "Hello");
    assert_eq!(status.unwrap().code(), Code::Unavailable);
    assert_eq!(openai.requests().len(), 1);
    server.stop().await;
}

async fn an_alias_falls_back_to_the_next_model(backend: Backend) {
    let openai = FakeOpenAi::start().await;
    openai.set_script(unavailable());
    let anthropic = FakeAnthropic::start().await;
    let (mut config, dir) = config_with(backend, &openai, Some(&anthropic), None).await;
    config.routing.aliases.insert(
        "smart".into(),
        vec!["fake/gpt-test".into(), "claude/claude-test".into()],
    );
    let server = TestServer::start(config, dir).await;
    let mut request = chat_request("u1", "s", "hi");
    request.model = "smart".into();
    let (events, status) = collect(
        server
            .chat()
            .await
            .chat(request)
            .await
            .unwrap()
            .into_inner(),
    )
    .await;
    assert!(status.is_none(), "{status:?}");
    let Event::Started(started) = &events[0] else {
        panic!("{events:?}")
    };
    assert_eq!(started.model, "claude/claude-test");
    assert_eq!(text_of(&events), fake_anthropic::PIECES.concat());
    assert_eq!(
        openai.requests().len(),
        3,
        "the primary was tried with retries first"
    );
    let turn = &get_session(&server, "u1", "s").await.unwrap().turns[0];
    assert_eq!(turn.model, "claude/claude-test");
    server.stop().await;
}

async fn a_stream_without_usage_reports_none(backend: Backend) {
    let openai = FakeOpenAi::start().await;
    openai.set_script(Script {
        usage: None,
        ..Script::default()
    });
    let server = TestServer::with_upstream(backend, &openai).await;
    let (events, status) = collect(
        server
            .chat()
            .await
            .chat(chat_request("u1", "s", "hi"))
            .await
            .unwrap()
            .into_inner(),
    )
    .await;
    assert!(status.is_none(), "{status:?}");
    let Some(Event::Completed(completed)) = events.last() else {
        panic!("{events:?}")
    };
    assert!(
        completed.usage.is_none(),
        "usage must be absent, not guessed"
    );
    let turn = &get_session(&server, "u1", "s").await.unwrap().turns[0];
    assert!(turn.usage.is_none());
    server.stop().await;
}

#[tokio::test]
async fn every_provider_completes_without_streaming() {
    memorid::http::install_crypto_provider();
    let openai = FakeOpenAi::start().await;
    let anthropic = FakeAnthropic::start().await;
    let gemini = FakeGemini::start().await;
    let cases = [
        (
            ProviderKind::Openai,
            openai.base_url(),
            "Hello, world",
            (11, 3, 0),
        ),
        (
            ProviderKind::Anthropic,
            anthropic.base_url(),
            "Bonjour, monde",
            (27, 4, 7),
        ),
        (
            ProviderKind::Gemini,
            gemini.base_url(),
            "Hallo Welt",
            (9, 3, 2),
        ),
    ];
    for (kind, base_url, text, (input, output, cached)) in cases {
        let provider = Provider::from_config("p", &provider(kind, base_url)).unwrap();
        let request = ChatRequest::new("m", vec![ChatMessage::text(Role::User, "hi")]);
        let completion = provider
            .complete(&request, Some(Duration::from_secs(5)))
            .await
            .unwrap();
        assert_eq!(completion.text, text, "{kind:?}");
        assert_eq!(
            completion.finish_reason,
            Some(FinishReason::Stop),
            "{kind:?}"
        );
        let usage = completion.usage.unwrap();
        assert_eq!(
            (
                usage.input_tokens,
                usage.output_tokens,
                usage.cached_input_tokens
            ),
            (input, output, cached),
            "{kind:?}"
        );
    }
    assert_eq!(openai.requests()[0]["stream"], serde_json::Value::Null);
    assert_eq!(gemini.last_request().0, "m:generateContent");
}
