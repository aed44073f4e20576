//! The service as operators and tooling see it: health, reflection, auth,
//! namespaces, and honest UNIMPLEMENTED answers.

use memorid::pb;
use tokio_stream::StreamExt;
use tonic::Code;

use crate::support::fake_openai::FakeOpenAi;
use crate::support::*;

#[tokio::test]
async fn health_reports_each_service_serving() {
    use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};
    let (config, dir) = test_config(Backend::Sqlite, None).await;
    let server = TestServer::start(config, dir).await;
    let mut health = HealthClient::new(server.channel().await);
    for service in ["", "memori.v1.ChatService", "memori.v1.MemoryService"] {
        let status = health
            .check(HealthCheckRequest {
                service: service.into(),
            })
            .await
            .unwrap()
            .into_inner()
            .status;
        assert_eq!(status, 1, "{service:?} is not SERVING");
    }
    server.stop().await;
}

#[tokio::test]
async fn reflection_lists_the_services_in_v1_and_v1alpha() {
    let (config, dir) = test_config(Backend::Sqlite, None).await;
    let server = TestServer::start(config, dir).await;

    use tonic_reflection::pb::v1::{
        ServerReflectionRequest, server_reflection_client::ServerReflectionClient,
        server_reflection_request::MessageRequest, server_reflection_response::MessageResponse,
    };
    let mut client = ServerReflectionClient::new(server.channel().await);
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut responses = client
        .server_reflection_info(tokio_stream::iter(vec![request]))
        .await
        .unwrap()
        .into_inner();
    let response = responses.next().await.unwrap().unwrap();
    let Some(MessageResponse::ListServicesResponse(list)) = response.message_response else {
        panic!("{response:?}")
    };
    let names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
    assert!(
        names.contains(&"memori.v1.ChatService".to_string()),
        "{names:?}"
    );
    assert!(
        names.contains(&"memori.v1.MemoryService".to_string()),
        "{names:?}"
    );
    // Health is described too, so grpcurl can call it by name.
    assert!(
        names.contains(&"grpc.health.v1.Health".to_string()),
        "{names:?}"
    );

    use tonic_reflection::pb::v1alpha::{
        ServerReflectionRequest as AlphaRequest,
        server_reflection_client::ServerReflectionClient as AlphaClient,
        server_reflection_request::MessageRequest as AlphaMessageRequest,
        server_reflection_response::MessageResponse as AlphaMessageResponse,
    };
    let mut alpha = AlphaClient::new(server.channel().await);
    let request = AlphaRequest {
        host: String::new(),
        message_request: Some(AlphaMessageRequest::FileContainingSymbol(
            "memori.v1.MemoryService".into(),
        )),
    };
    let mut responses = alpha
        .server_reflection_info(tokio_stream::iter(vec![request]))
        .await
        .unwrap()
        .into_inner();
    let response = responses.next().await.unwrap().unwrap();
    assert!(
        matches!(
            response.message_response,
            Some(AlphaMessageResponse::FileDescriptorResponse(_))
        ),
        "{response:?}"
    );
    server.stop().await;
}

#[tokio::test]
async fn bad_recall_requests_name_the_field() {
    let (config, dir) = test_config(Backend::Sqlite, None).await;
    let server = TestServer::start(config, dir).await;
    let mut memory = server.memory().await;
    let cases = [
        (
            "query",
            pb::RecallRequest {
                attribution: attribution("u1", ""),
                query: " ".into(),
                ..Default::default()
            },
        ),
        (
            "attribution.entity_id",
            pb::RecallRequest {
                attribution: attribution("", ""),
                query: "x".into(),
                ..Default::default()
            },
        ),
        (
            "kinds[1]",
            pb::RecallRequest {
                attribution: attribution("u1", ""),
                query: "x".into(),
                kinds: vec![pb::MemoryKind::Fact as i32, 7],
                ..Default::default()
            },
        ),
    ];
    for (field, request) in cases {
        let status = memory.recall(request).await.unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{field}: {status:?}");
        assert!(status.message().contains(field), "{field}: {status:?}");
    }
    server.stop().await;
}

#[tokio::test]
async fn api_keys_select_isolated_namespaces() {
    let upstream = FakeOpenAi::start().await;
    let (mut config, dir) = test_config(Backend::Sqlite, Some(upstream.base_url())).await;
    config.auth.keys = vec![
        hashed_key("acme", "key-acme"),
        hashed_key("globex", "key-globex"),
    ];
    let server = TestServer::start(config, dir).await;
    let mut chat = server.chat().await;
    let mut memory = server.memory().await;

    let status = chat.chat(chat_request("u1", "s1", "hi")).await.unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    let status = chat
        .chat(with_key(chat_request("u1", "s1", "hi"), "wrong"))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);

    let response = chat
        .chat(with_key(
            chat_request("u1", "s1", "acme secret"),
            "key-acme",
        ))
        .await
        .unwrap();
    let (_, status) = collect(response.into_inner()).await;
    assert!(status.is_none(), "{status:?}");

    let get = |key: &str| {
        with_key(
            pb::GetSessionRequest {
                attribution: attribution("u1", "s1"),
            },
            key,
        )
    };
    let own = memory
        .get_session(get("key-acme"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(own.turns[0].messages[0].content, "acme secret");
    // The same entity and session ids in another namespace are another
    // entity altogether.
    let other = memory.get_session(get("key-globex")).await.unwrap_err();
    assert_eq!(other.code(), Code::NotFound);
    let forgot = memory
        .forget_entity(with_key(
            pb::ForgetEntityRequest {
                attribution: whole_entity("u1"),
            },
            "key-globex",
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(forgot.turns_deleted, 0);
    assert!(memory.get_session(get("key-acme")).await.is_ok());
    server.stop().await;
}

#[tokio::test]
async fn prometheus_metrics_are_served_when_configured() {
    let upstream = FakeOpenAi::start().await;
    let (mut config, dir) = test_config(Backend::Sqlite, Some(upstream.base_url())).await;
    let listen = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    // The recorder is process-wide: this is the only test that installs it.
    config.metrics.listen = Some(listen);
    let extractor = FakeOpenAi::echoing_facts().await;
    crate::augmentation::enable_augmentation(&mut config, &extractor);
    let server = TestServer::start(config, dir).await;
    // A fact and its paraphrase: the merge is counted.
    let turns = ["The user likes tea", "The user enjoys tea"]
        .iter()
        .enumerate()
        .map(|(i, text)| pb::AttributeRequest {
            attribution: attribution("u2", "s"),
            messages: vec![user(text), assistant("Noted.")],
            idempotency_key: format!("k{i}"),
            ..Default::default()
        })
        .collect::<Vec<_>>();
    let mut memory = server.memory().await;
    let mut stored = memory
        .attribute(tokio_stream::iter(turns))
        .await
        .unwrap()
        .into_inner();
    while stored.message().await.unwrap().is_some() {}
    let done = memory
        .wait_for_augmentation(pb::WaitForAugmentationRequest {
            attribution: whole_entity("u2"),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(done.completed, "{done:?}");
    let response = server
        .chat()
        .await
        .chat(chat_request("u1", "s", "hi"))
        .await
        .unwrap();
    let (_, status) = collect(response.into_inner()).await;
    assert!(status.is_none());
    let body = reqwest::get(format!("http://{listen}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        body.contains("memorid_chat_turns_total{status=\"completed\"}"),
        "{body}"
    );
    // Per-RPC metrics from the admission layer, a Chat stream counted once
    // it ended.
    assert!(
        body.contains(
            "memorid_grpc_requests_total{method=\"memori.v1.ChatService/Chat\",code=\"OK\"} 1"
        ),
        "{body}"
    );
    assert!(
        body.contains(
            "memorid_grpc_request_duration_seconds_bucket{method=\"memori.v1.MemoryService/Attribute\""
        ),
        "{body}"
    );
    assert!(
        body.contains("memorid_grpc_requests_in_flight{method=\"memori.v1.ChatService/Chat\"} 0"),
        "{body}"
    );
    assert!(
        body.contains("memorid_chat_time_to_first_token_seconds_bucket"),
        "{body}"
    );
    assert!(
        body.contains("memorid_chat_tokens_total{direction=\"output\"}"),
        "{body}"
    );
    assert!(
        body.contains("memorid_augmentation_fact_decisions_total{decision=\"merged\"}"),
        "{body}"
    );
    server.stop().await;
}
