//! MemoryService.Attribute: finished turns streamed in by callers that run
//! the model themselves.

use std::collections::HashMap;

use memorid::pb;
use prost::Message;
use tokio_stream::StreamExt;
use tonic::Code;
use tonic_types::StatusExt;

use crate::on_both_backends;
use crate::support::*;

on_both_backends!(
    answers_each_turn_once_it_is_stored,
    same_idempotency_key_stores_once,
    a_bad_turn_ends_the_stream_naming_the_field,
    invalid_utf8_metadata_is_invalid_argument,
    forget_entity_removes_everything,
);

fn turn(entity: &str, session: &str, key: &str, text: &str) -> pb::AttributeRequest {
    pb::AttributeRequest {
        attribution: attribution(entity, session),
        messages: vec![user(text), assistant(&format!("re: {text}"))],
        occurred_at: Some(prost_types::Timestamp {
            seconds: 1_750_000_000,
            nanos: 0,
        }),
        idempotency_key: key.into(),
        metadata: HashMap::from([("channel".to_string(), "web".to_string())]),
        model: "openai/gpt-4o-mini".into(),
    }
}

async fn attribute_all(
    server: &TestServer,
    requests: Vec<pb::AttributeRequest>,
) -> (Vec<pb::AttributeResponse>, Option<tonic::Status>) {
    let mut memory = server.memory().await;
    let mut answers = memory
        .attribute(tokio_stream::iter(requests))
        .await
        .unwrap()
        .into_inner();
    let mut out = Vec::new();
    loop {
        match answers.next().await {
            Some(Ok(answer)) => out.push(answer),
            Some(Err(status)) => return (out, Some(status)),
            None => return (out, None),
        }
    }
}

async fn answers_each_turn_once_it_is_stored(backend: Backend) {
    let (config, dir) = test_config(backend, None).await;
    let server = TestServer::start(config, dir).await;
    let requests = (0..5)
        .map(|i| turn("u1", "s1", &format!("k{i}"), &format!("message {i}")))
        .collect();
    let (answers, status) = attribute_all(&server, requests).await;
    assert!(status.is_none(), "{status:?}");
    let keys: Vec<&str> = answers.iter().map(|a| a.idempotency_key.as_str()).collect();
    assert_eq!(keys, vec!["k0", "k1", "k2", "k3", "k4"]);
    assert!(answers.iter().all(|a| !a.duplicate && a.session_id == "s1"));

    let session = get_session(&server, "u1", "s1").await.unwrap();
    assert_eq!(session.turns.len(), 5);
    let turn = &session.turns[2];
    assert_eq!(turn.turn_id, answers[2].turn_id);
    assert_eq!(turn.status, pb::TurnStatus::Completed as i32);
    assert_eq!(turn.model, "openai/gpt-4o-mini");
    assert_eq!(turn.metadata["channel"], "web");
    assert_eq!(turn.occurred_at.unwrap().seconds, 1_750_000_000);
    assert_eq!(turn.messages[0].content, "message 2");
    assert_eq!(turn.messages[1].content, "re: message 2");
    server.stop().await;
}

async fn same_idempotency_key_stores_once(backend: Backend) {
    let (config, dir) = test_config(backend, None).await;
    let server = TestServer::start(config, dir).await;
    let requests = vec![
        turn("u1", "s1", "same", "hello"),
        turn("u1", "s1", "same", "hello"),
        turn("u1", "s1", "other", "bye"),
    ];
    let (answers, status) = attribute_all(&server, requests).await;
    assert!(status.is_none(), "{status:?}");
    assert_eq!(answers[0].turn_id, answers[1].turn_id);
    assert!(!answers[0].duplicate);
    assert!(answers[1].duplicate);
    assert_ne!(answers[2].turn_id, answers[0].turn_id);

    // A resend on a new stream is a duplicate too.
    let (again, _) = attribute_all(&server, vec![turn("u1", "s1", "same", "hello")]).await;
    assert!(again[0].duplicate);
    assert_eq!(again[0].turn_id, answers[0].turn_id);

    let session = get_session(&server, "u1", "s1").await.unwrap();
    assert_eq!(session.turns.len(), 2);
    server.stop().await;
}

async fn a_bad_turn_ends_the_stream_naming_the_field(backend: Backend) {
    let (config, dir) = test_config(backend, None).await;
    let server = TestServer::start(config, dir).await;
    let mut bad = turn("u1", "s1", "k1", "x");
    bad.messages[1].role = pb::Role::Unspecified.into();
    let requests = vec![
        turn("u1", "s1", "k0", "fine"),
        bad,
        turn("u1", "s1", "k2", "never"),
    ];
    let (answers, status) = attribute_all(&server, requests).await;
    assert_eq!(answers.len(), 1);
    let status = status.expect("the bad turn must end the stream");
    assert_eq!(status.code(), Code::InvalidArgument);
    let details = status.get_error_details();
    let violation = &details.bad_request().unwrap().field_violations[0];
    assert_eq!(violation.field, "messages[1].role");
    let session = get_session(&server, "u1", "s1").await.unwrap();
    assert_eq!(
        session.turns.len(),
        1,
        "the bad turn and later ones are not stored"
    );
    server.stop().await;
}

/// The same fields as AttributeRequest, but the metadata values are bytes,
/// so that a test can send what no proto3 string may hold.
#[derive(Clone, PartialEq, prost::Message)]
struct RawAttributeRequest {
    #[prost(message, optional, tag = "1")]
    attribution: Option<pb::Attribution>,
    #[prost(message, repeated, tag = "2")]
    messages: Vec<pb::Message>,
    #[prost(map = "string, bytes", tag = "5")]
    metadata: HashMap<String, Vec<u8>>,
}

async fn invalid_utf8_metadata_is_invalid_argument(backend: Backend) {
    let (config, dir) = test_config(backend, None).await;
    let server = TestServer::start(config, dir).await;
    let raw = RawAttributeRequest {
        attribution: attribution("u1", "s1"),
        messages: vec![user("hi")],
        metadata: HashMap::from([("k".to_string(), vec![0xff, 0xfe, 0x41])]),
    };
    // Check the bytes really are not a valid AttributeRequest.
    assert!(pb::AttributeRequest::decode(raw.encode_to_vec().as_slice()).is_err());

    let mut grpc = tonic::client::Grpc::new(server.channel().await);
    grpc.ready().await.unwrap();
    let codec = tonic_prost::ProstCodec::<RawAttributeRequest, pb::AttributeResponse>::default();
    let path = http::uri::PathAndQuery::from_static("/memori.v1.MemoryService/Attribute");
    let response = grpc
        .streaming(
            tonic::Request::new(tokio_stream::iter(vec![raw])),
            path,
            codec,
        )
        .await;
    let status = match response {
        Err(status) => status,
        Ok(response) => {
            let mut answers = response.into_inner();
            answers
                .next()
                .await
                .expect("an answer")
                .expect_err("must be rejected")
        }
    };
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    assert!(status.message().contains("metadata"), "{status:?}");
    assert!(
        get_session(&server, "u1", "s1").await.is_none(),
        "nothing is written"
    );
    server.stop().await;
}

async fn forget_entity_removes_everything(backend: Backend) {
    let (config, dir) = test_config(backend, None).await;
    let server = TestServer::start(config, dir).await;
    let requests = vec![
        turn("gone", "s1", "a", "one"),
        turn("gone", "s2", "b", "two"),
        turn("kept", "s1", "c", "three"),
    ];
    let (_, status) = attribute_all(&server, requests).await;
    assert!(status.is_none());
    let mut memory = server.memory().await;
    let counts = memory
        .forget_entity(pb::ForgetEntityRequest {
            attribution: whole_entity("gone"),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (
            counts.sessions_deleted,
            counts.turns_deleted,
            counts.messages_deleted,
            counts.jobs_deleted
        ),
        (2, 2, 4, 2)
    );
    assert!(get_session(&server, "gone", "s1").await.is_none());
    assert!(get_session(&server, "gone", "s2").await.is_none());
    assert_eq!(
        get_session(&server, "kept", "s1")
            .await
            .unwrap()
            .turns
            .len(),
        1
    );

    // The same idempotency key can be used again after forgetting.
    let (answers, _) = attribute_all(&server, vec![turn("gone", "s1", "a", "one")]).await;
    assert!(!answers[0].duplicate);
    server.stop().await;
}
