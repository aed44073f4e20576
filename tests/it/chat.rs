//! ChatService.Chat through memorid to the fake OpenAI-compatible upstream.

use std::sync::Arc;
use std::time::Duration;

use memorid::pb;
use memorid::pb::chat_response::Event;
use tokio::sync::Semaphore;
use tonic::Code;
use tonic_types::StatusExt;

use crate::on_both_backends;
use crate::support::fake_openai::{FakeOpenAi, Reject, Script};
use crate::support::*;

on_both_backends!(
    mirrors_each_delta_before_the_upstream_sends_the_next,
    stores_the_completed_turn_with_usage,
    forwards_the_request_faithfully,
    continues_a_given_session,
    upstream_errors_before_the_first_token_are_statuses,
    mid_stream_error_ends_the_stream_and_keeps_the_partial_reply,
    cancelling_the_call_closes_the_upstream_connection,
    deadline_bounds_the_whole_stream,
    tool_call_deltas_pass_through_and_are_stored,
    unreachable_upstream_is_unavailable,
    a_slow_reader_gets_every_delta_in_order,
    a_caller_gone_before_the_first_token_leaves_an_interrupted_turn,
    the_server_keeps_the_history_and_never_stores_it_twice,
    a_long_session_is_read_until_the_history_budget_is_full,
);

async fn mirrors_each_delta_before_the_upstream_sends_the_next(backend: Backend) {
    let upstream = FakeOpenAi::start().await;
    let gate = Arc::new(Semaphore::new(0));
    let pieces: Vec<String> = (0..6).map(|i| format!("piece{i} ")).collect();
    upstream.set_script(Script {
        pieces: pieces.clone(),
        gate: Some(gate.clone()),
        ..Script::default()
    });
    let server = TestServer::with_upstream(backend, &upstream).await;
    let mut stream = server
        .chat()
        .await
        .chat(chat_request("u1", "", "hi"))
        .await
        .unwrap()
        .into_inner();

    let first = stream.message().await.unwrap().unwrap().event.unwrap();
    assert!(matches!(first, Event::Started(_)), "{first:?}");
    // The upstream holds piece n+1 until the test has received piece n, so
    // this only finishes if memorid forwards each delta as it arrives.
    for expected in &pieces {
        let next = tokio::time::timeout(Duration::from_secs(10), stream.message())
            .await
            .expect("a delta was held back")
            .unwrap()
            .unwrap();
        match next.event.unwrap() {
            Event::Delta(delta) => assert_eq!(&delta.text, expected),
            other => panic!("expected a delta, got {other:?}"),
        }
        gate.add_permits(1);
    }
    let (rest, status) = collect(stream).await;
    assert!(status.is_none(), "{status:?}");
    assert!(matches!(rest.last(), Some(Event::Completed(_))), "{rest:?}");
    server.stop().await;
}

async fn stores_the_completed_turn_with_usage(backend: Backend) {
    let upstream = FakeOpenAi::start().await;
    upstream.set_script(Script {
        usage: Some((21, 3, 8)),
        ..Script::default()
    });
    let server = TestServer::with_upstream(backend, &upstream).await;
    let response = server
        .chat()
        .await
        .chat(chat_request("u1", "", "Say hello"))
        .await
        .unwrap();
    let (events, status) = collect(response.into_inner()).await;
    assert!(status.is_none(), "{status:?}");

    let Event::Started(started) = &events[0] else {
        panic!("{events:?}")
    };
    assert_eq!(started.model, "fake/gpt-test");
    assert!(!started.session_id.is_empty());
    assert_eq!(text_of(&events), "Hello, world");
    let Some(Event::Completed(completed)) = events.last() else {
        panic!("{events:?}")
    };
    assert_eq!(completed.turn_id, started.turn_id);
    assert_eq!(completed.finish_reason, pb::FinishReason::Stop as i32);
    let usage = completed.usage.unwrap();
    assert_eq!(
        (
            usage.input_tokens,
            usage.output_tokens,
            usage.cached_input_tokens
        ),
        (21, 3, 8)
    );

    // Completed is sent only after the turn is stored, so no polling here.
    let session = get_session(&server, "u1", &started.session_id)
        .await
        .unwrap();
    assert_eq!(session.turns.len(), 1);
    let turn = &session.turns[0];
    assert_eq!(turn.turn_id, started.turn_id);
    assert_eq!(turn.status, pb::TurnStatus::Completed as i32);
    assert_eq!(turn.model, "fake/gpt-test");
    assert_eq!(turn.usage.unwrap().input_tokens, 21);
    let stored: Vec<(i32, &str)> = turn
        .messages
        .iter()
        .map(|m| (m.role, m.content.as_str()))
        .collect();
    assert_eq!(
        stored,
        vec![
            (pb::Role::User as i32, "Say hello"),
            (pb::Role::Assistant as i32, "Hello, world")
        ]
    );
    server.stop().await;
}

async fn forwards_the_request_faithfully(backend: Backend) {
    let upstream = FakeOpenAi::start().await;
    let server = TestServer::with_upstream(backend, &upstream).await;
    let mut request = chat_request("u1", "", "hi");
    request.messages.insert(
        0,
        pb::Message {
            role: pb::Role::System.into(),
            content: "Be brief.".into(),
            ..Default::default()
        },
    );
    request.temperature = Some(0.25);
    request.max_tokens = Some(64);
    request.stop = vec!["\n\n".into()];
    let (_, status) = collect(
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

    let sent = upstream.requests().pop().unwrap();
    assert_eq!(sent["model"], "gpt-test");
    assert_eq!(sent["stream"], true);
    assert_eq!(sent["stream_options"]["include_usage"], true);
    assert_eq!(sent["temperature"], 0.25);
    assert_eq!(sent["max_tokens"], 64);
    assert_eq!(sent["stop"], serde_json::json!(["\n\n"]));
    assert_eq!(
        sent["messages"],
        serde_json::json!([
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "hi"}
        ])
    );
    // The fake provider has no key configured, so none is sent.
    assert_eq!(upstream.last_authorization(), None);
    server.stop().await;
}

async fn continues_a_given_session(backend: Backend) {
    let upstream = FakeOpenAi::start().await;
    let server = TestServer::with_upstream(backend, &upstream).await;
    let mut chat = server.chat().await;
    for text in ["first", "second"] {
        let (_, status) = collect(
            chat.chat(chat_request("u1", "s-1", text))
                .await
                .unwrap()
                .into_inner(),
        )
        .await;
        assert!(status.is_none(), "{status:?}");
    }
    let session = get_session(&server, "u1", "s-1").await.unwrap();
    let firsts: Vec<&str> = session
        .turns
        .iter()
        .map(|t| t.messages[0].content.as_str())
        .collect();
    assert_eq!(firsts, vec!["first", "second"]);
    // Sessions belong to their entity: another entity sees nothing.
    assert!(get_session(&server, "u2", "s-1").await.is_none());
    server.stop().await;
}

async fn upstream_errors_before_the_first_token_are_statuses(backend: Backend) {
    let upstream = FakeOpenAi::start().await;
    let server = TestServer::with_upstream(backend, &upstream).await;
    let mut chat = server.chat().await;
    let cases: Vec<(Reject, Code, &str)> = vec![
        (
            Reject {
                status: 429,
                headers: vec![("retry-after", "2")],
                body: serde_json::json!({"error": {"message": "Rate limit reached for gpt-test", "type": "requests", "code": "rate_limit_exceeded"}}),
            },
            Code::ResourceExhausted,
            "UPSTREAM_RATE_LIMITED",
        ),
        (
            Reject {
                status: 500,
                headers: vec![],
                body: serde_json::json!({"error": {"message": "The server had an error", "type": "server_error"}}),
            },
            Code::Unavailable,
            "UPSTREAM_UNAVAILABLE",
        ),
        (
            Reject {
                status: 401,
                headers: vec![],
                body: serde_json::json!({"error": {"message": "Incorrect API key provided: sk-secret-123", "type": "invalid_request_error", "code": "invalid_api_key"}}),
            },
            Code::FailedPrecondition,
            "UPSTREAM_UNAUTHENTICATED",
        ),
        (
            Reject {
                status: 404,
                headers: vec![],
                body: serde_json::json!({"error": {"message": "The model `gpt-test` does not exist", "type": "invalid_request_error", "code": "model_not_found"}}),
            },
            Code::NotFound,
            "UPSTREAM_NOT_FOUND",
        ),
    ];
    for (i, (reject, code, reason)) in cases.into_iter().enumerate() {
        let http_status = reject.status;
        upstream.set_script(Script {
            reject: Some(reject),
            ..Script::default()
        });
        let session = format!("err-{i}");
        let status = chat
            .chat(chat_request("u1", &session, "hi"))
            .await
            .expect_err("an upstream error must fail the call before streaming");
        assert_eq!(status.code(), code, "HTTP {http_status}: {status:?}");
        let details = status.get_error_details();
        assert_eq!(details.error_info().unwrap().reason, reason);
        assert!(!status.message().contains("sk-secret"), "{status:?}");
        if http_status == 429 {
            assert_eq!(
                details.retry_info().unwrap().retry_delay,
                Some(Duration::from_secs(2))
            );
        }
        // The user's message was stored before the call, and the turn
        // records the failure.
        let turn = &get_session(&server, "u1", &session).await.unwrap().turns[0];
        assert_eq!(turn.status, pb::TurnStatus::Failed as i32);
        assert_eq!(turn.messages.len(), 1);
        assert!(!turn.error.is_empty());
    }
    server.stop().await;
}

/// An error frame after two deltas, or a body cut off after one: either
/// way the stream ends with UNAVAILABLE and the partial reply is kept.
async fn mid_stream_error_ends_the_stream_and_keeps_the_partial_reply(backend: Backend) {
    let upstream = FakeOpenAi::start().await;
    let server = TestServer::with_upstream(backend, &upstream).await;
    let cases = [
        (
            "error",
            Script {
                error_after: Some(2),
                ..Script::default()
            },
            "Hello, ",
        ),
        (
            "cut",
            Script {
                cut_after: Some(1),
                ..Script::default()
            },
            "Hello",
        ),
    ];
    for (session, script, partial) in cases {
        upstream.set_script(script);
        let response = server
            .chat()
            .await
            .chat(chat_request("u1", session, "hi"))
            .await
            .unwrap();
        let (events, status) = collect(response.into_inner()).await;
        assert_eq!(text_of(&events), partial, "{session}");
        assert!(!events.iter().any(|e| matches!(e, Event::Completed(_))));
        let status = status.expect("the stream must end with a status");
        assert_eq!(status.code(), Code::Unavailable, "{session}: {status:?}");

        let turn = wait_for_turn_end(&server, "u1", session).await;
        assert_eq!(turn.status, pb::TurnStatus::Interrupted as i32);
        assert_eq!(turn.messages[1].content, partial);
    }
    server.stop().await;
}

async fn cancelling_the_call_closes_the_upstream_connection(backend: Backend) {
    let upstream = FakeOpenAi::start().await;
    upstream.set_script(Script {
        stall_after: Some(1),
        ..Script::default()
    });
    let server = TestServer::with_upstream(backend, &upstream).await;
    let mut stream = server
        .chat()
        .await
        .chat(chat_request("u1", "s", "hi"))
        .await
        .unwrap()
        .into_inner();
    let _started = stream.message().await.unwrap().unwrap();
    let delta = stream.message().await.unwrap().unwrap();
    assert!(matches!(delta.event, Some(Event::Delta(_))));
    drop(stream);

    assert!(
        upstream.wait_for_early_drop(Duration::from_secs(5)).await,
        "memorid kept the upstream request open after the caller left"
    );
    let turn = wait_for_turn_end(&server, "u1", "s").await;
    assert_eq!(turn.status, pb::TurnStatus::Interrupted as i32);
    assert_eq!(turn.messages[1].content, "Hello");
    server.stop().await;
}

async fn deadline_bounds_the_whole_stream(backend: Backend) {
    let upstream = FakeOpenAi::start().await;
    upstream.set_script(Script {
        stall_after: Some(1),
        ..Script::default()
    });
    let server = TestServer::with_upstream(backend, &upstream).await;
    let mut request = tonic::Request::new(chat_request("u1", "s", "hi"));
    request.set_timeout(Duration::from_millis(700));
    let response = server.chat().await.chat(request).await.unwrap();
    let (events, status) = collect(response.into_inner()).await;
    assert_eq!(text_of(&events), "Hello");
    assert_eq!(status.expect("a status").code(), Code::DeadlineExceeded);
    assert!(upstream.wait_for_early_drop(Duration::from_secs(5)).await);
    let turn = wait_for_turn_end(&server, "u1", "s").await;
    assert_eq!(turn.status, pb::TurnStatus::Interrupted as i32);
    server.stop().await;
}

async fn tool_call_deltas_pass_through_and_are_stored(backend: Backend) {
    let upstream = FakeOpenAi::start().await;
    upstream.set_script(Script {
        pieces: vec![],
        tool_calls: vec![(
            0,
            "call_abc",
            "get_weather",
            vec!["{\"city\":", "\"Paris\"}"],
        )],
        finish_reason: "tool_calls",
        ..Script::default()
    });
    let server = TestServer::with_upstream(backend, &upstream).await;
    let mut request = chat_request("u1", "s", "Weather in Paris?");
    let parameters = serde_json::json!({"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]});
    request.tools = vec![pb::Tool {
        name: "get_weather".into(),
        description: "Current weather".into(),
        parameters: Some(json_to_struct(parameters.clone())),
        strict: false,
    }];
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
    let pieces: Vec<pb::ToolCallDelta> = events
        .iter()
        .filter_map(|e| match e {
            Event::Delta(d) => Some(d.tool_calls.clone()),
            _ => None,
        })
        .flatten()
        .collect();
    assert_eq!(pieces[0].id, "call_abc");
    assert_eq!(pieces[0].name, "get_weather");
    let arguments: String = pieces.iter().map(|p| p.arguments.as_str()).collect();
    assert_eq!(arguments, "{\"city\":\"Paris\"}");
    let Some(Event::Completed(completed)) = events.last() else {
        panic!()
    };
    assert_eq!(completed.finish_reason, pb::FinishReason::ToolCalls as i32);

    let sent = upstream.requests().pop().unwrap();
    assert_eq!(sent["tools"][0]["function"]["parameters"], parameters);

    let turn = &get_session(&server, "u1", "s").await.unwrap().turns[0];
    let call = &turn.messages[1].tool_calls[0];
    assert_eq!(
        (
            call.id.as_str(),
            call.name.as_str(),
            call.arguments.as_str()
        ),
        ("call_abc", "get_weather", "{\"city\":\"Paris\"}")
    );
    server.stop().await;
}

async fn unreachable_upstream_is_unavailable(backend: Backend) {
    // A port that was just free: nothing listens there.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let (config, dir) = test_config(backend, Some(format!("http://{closed}/v1"))).await;
    let server = TestServer::start(config, dir).await;
    let status = server
        .chat()
        .await
        .chat(chat_request("u1", "s", "hi"))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    server.stop().await;
}

async fn a_slow_reader_gets_every_delta_in_order(backend: Backend) {
    let upstream = FakeOpenAi::start().await;
    let pieces: Vec<String> = (0..40).map(|i| format!("{i} ")).collect();
    upstream.set_script(Script {
        pieces: pieces.clone(),
        ..Script::default()
    });
    let (mut config, dir) = test_config(backend, Some(upstream.base_url())).await;
    // A tiny buffer, so the slow reader holds back the upstream reader.
    config.chat.stream_buffer = 2;
    let server = TestServer::start(config, dir).await;
    let mut stream = server
        .chat()
        .await
        .chat(chat_request("u1", "s", "count"))
        .await
        .unwrap()
        .into_inner();
    let mut texts = Vec::new();
    while let Some(response) = stream.message().await.unwrap() {
        if let Some(Event::Delta(delta)) = response.event {
            texts.push(delta.text);
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    assert_eq!(texts, pieces);
    let turn = wait_for_turn_end(&server, "u1", "s").await;
    assert_eq!(turn.status, pb::TurnStatus::Completed as i32);
    server.stop().await;
}

async fn a_caller_gone_before_the_first_token_leaves_an_interrupted_turn(backend: Backend) {
    let upstream = FakeOpenAi::start().await;
    upstream.set_script(Script {
        delay: Duration::from_secs(3),
        ..Script::default()
    });
    let server = TestServer::with_upstream(backend, &upstream).await;
    let mut chat = server.chat().await;
    let call = chat.chat(chat_request("u1", "s", "hi"));
    assert!(
        tokio::time::timeout(Duration::from_millis(300), call)
            .await
            .is_err()
    );
    let turn = wait_for_turn_end(&server, "u1", "s").await;
    assert_eq!(turn.status, pb::TurnStatus::Interrupted as i32);
    assert!(turn.error.contains("before the first token"), "{turn:?}");
    assert!(upstream.wait_for_early_drop(Duration::from_secs(5)).await);
    server.stop().await;
}

async fn the_server_keeps_the_history_and_never_stores_it_twice(backend: Backend) {
    let upstream = FakeOpenAi::start().await;
    let server = TestServer::with_upstream(backend, &upstream).await;
    let mut chat = server.chat().await;
    let sent_contents = |upstream: &FakeOpenAi| -> Vec<(String, String)> {
        let request = upstream.requests().pop().unwrap();
        request["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| {
                (
                    m["role"].as_str().unwrap().to_string(),
                    m["content"].as_str().unwrap_or("").to_string(),
                )
            })
            .collect()
    };
    let pair = |role: &str, content: &str| (role.to_string(), content.to_string());

    let (_, status) = collect(
        chat.chat(chat_request("u1", "h", "My name is Ada"))
            .await
            .unwrap()
            .into_inner(),
    )
    .await;
    assert!(status.is_none());
    // Only the new message is sent by the caller; the server adds the rest.
    let (_, status) = collect(
        chat.chat(chat_request("u1", "h", "What is my name?"))
            .await
            .unwrap()
            .into_inner(),
    )
    .await;
    assert!(status.is_none());
    assert_eq!(
        sent_contents(&upstream),
        vec![
            pair("user", "My name is Ada"),
            pair("assistant", "Hello, world"),
            pair("user", "What is my name?")
        ]
    );

    // A caller that resends the whole history: nothing is prepended, and
    // only the new message is stored.
    let mut resend = chat_request("u1", "h", "My name is Ada");
    resend.messages = vec![
        user("My name is Ada"),
        assistant("Hello, world"),
        user("What is my name?"),
        assistant("Hello, world"),
        user("Thanks"),
    ];
    let (_, status) = collect(chat.chat(resend.clone()).await.unwrap().into_inner()).await;
    assert!(status.is_none());
    assert_eq!(sent_contents(&upstream).len(), 5);
    let session = get_session(&server, "u1", "h").await.unwrap();
    let stored: Vec<usize> = session.turns.iter().map(|t| t.messages.len()).collect();
    assert_eq!(
        stored,
        vec![2, 2, 2],
        "each turn holds its own user message and reply"
    );
    assert_eq!(session.turns[2].messages[0].content, "Thanks");

    // Resending only what is stored adds nothing: it is refused.
    resend.messages.truncate(4);
    resend.messages.push(user("Thanks"));
    resend.messages.push(assistant("Hello, world"));
    let status = chat.chat(resend).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");

    // History can be switched off per request.
    let mut alone = chat_request("u1", "h", "Fresh start");
    alone.memory = Some(pb::MemoryOptions {
        history: Some(false),
        ..Default::default()
    });
    let (_, status) = collect(chat.chat(alone).await.unwrap().into_inner()).await;
    assert!(status.is_none());
    assert_eq!(sent_contents(&upstream), vec![pair("user", "Fresh start")]);
    server.stop().await;
}

/// History is read a window of turns at a time; a session longer than the
/// first window still fills the budget, newest first, and no more.
async fn a_long_session_is_read_until_the_history_budget_is_full(backend: Backend) {
    let upstream = FakeOpenAi::start().await;
    let server = TestServer::with_upstream(backend, &upstream).await;
    let mut memory = server.memory().await;
    let turns: Vec<pb::AttributeRequest> = (0..60)
        .map(|i| pb::AttributeRequest {
            attribution: attribution("u-long", "long"),
            messages: vec![user(&format!("note {i}")), assistant(&format!("ok {i}"))],
            idempotency_key: format!("long-{i}"),
            ..Default::default()
        })
        .collect();
    let mut stored = memory
        .attribute(tokio_stream::iter(turns))
        .await
        .unwrap()
        .into_inner();
    while stored.message().await.unwrap().is_some() {}

    let mut chat = server.chat().await;
    let ask = |budget: u32| {
        let mut request = chat_request("u-long", "long", "what did I note?");
        request.memory = Some(pb::MemoryOptions {
            recall: Some(false),
            history_token_budget: budget,
            ..Default::default()
        });
        request
    };
    let sent = |upstream: &FakeOpenAi| -> Vec<String> {
        let request = upstream.requests().pop().unwrap();
        request["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["content"].as_str().unwrap_or("").to_string())
            .collect()
    };
    // Every stored message fits a large budget: all 120, oldest first.
    let (_, status) = collect(chat.chat(ask(100_000)).await.unwrap().into_inner()).await;
    assert!(status.is_none(), "{status:?}");
    let all = sent(&upstream);
    assert_eq!(all.len(), 121, "{all:?}");
    assert_eq!(all[0], "note 0");
    assert_eq!(all[119], "ok 59");
    // A small one: only the newest messages that fit (each ~6 tokens).
    let (_, status) = collect(chat.chat(ask(30)).await.unwrap().into_inner()).await;
    assert!(status.is_none(), "{status:?}");
    let few = sent(&upstream);
    assert!(few.len() > 1 && few.len() <= 6, "{few:?}");
    assert_eq!(few[few.len() - 1], "what did I note?");
    server.stop().await;
}

fn json_to_struct(value: serde_json::Value) -> prost_types::Struct {
    fn convert(value: serde_json::Value) -> prost_types::Value {
        use prost_types::value::Kind;
        let kind = match value {
            serde_json::Value::Null => Kind::NullValue(0),
            serde_json::Value::Bool(b) => Kind::BoolValue(b),
            serde_json::Value::Number(n) => Kind::NumberValue(n.as_f64().unwrap()),
            serde_json::Value::String(s) => Kind::StringValue(s),
            serde_json::Value::Array(a) => Kind::ListValue(prost_types::ListValue {
                values: a.into_iter().map(convert).collect(),
            }),
            serde_json::Value::Object(_) => Kind::StructValue(json_to_struct(value)),
        };
        prost_types::Value { kind: Some(kind) }
    }
    let serde_json::Value::Object(map) = value else {
        panic!("not an object")
    };
    prost_types::Struct {
        fields: map.into_iter().map(|(k, v)| (k, convert(v))).collect(),
    }
}
