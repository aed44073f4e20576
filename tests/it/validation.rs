//! Bad input gets INVALID_ARGUMENT naming the field, and nothing is written
//! or sent upstream.

use memorid::pb;
use tonic::Code;
use tonic_types::StatusExt;

use crate::on_both_backends;
use crate::support::fake_openai::FakeOpenAi;
use crate::support::*;

on_both_backends!(bad_chat_requests_name_the_field_and_write_nothing);

type Mutation = Box<dyn Fn(&mut pb::ChatRequest)>;

async fn bad_chat_requests_name_the_field_and_write_nothing(backend: Backend) {
    let upstream = FakeOpenAi::start().await;
    let (mut config, dir) = test_config(backend, Some(upstream.base_url())).await;
    config.limits.max_content_bytes = 1000;
    let server = TestServer::start(config, dir).await;
    let mut chat = server.chat().await;

    let long_id = "e".repeat(129);
    let cases: Vec<(&str, Mutation)> = vec![
        ("attribution", Box::new(|r| r.attribution = None)),
        (
            "attribution.entity_id",
            Box::new(|r| r.attribution.as_mut().unwrap().entity_id.clear()),
        ),
        (
            "attribution.entity_id",
            Box::new(move |r| r.attribution.as_mut().unwrap().entity_id = long_id.clone()),
        ),
        (
            "attribution.session_id",
            Box::new(|r| r.attribution.as_mut().unwrap().session_id = "s".repeat(200)),
        ),
        ("messages", Box::new(|r| r.messages.clear())),
        ("messages[0].role", Box::new(|r| r.messages[0].role = 99)),
        ("messages[0].role", Box::new(|r| r.messages[0].role = 0)),
        (
            "messages[0].content",
            Box::new(|r| r.messages[0].content = "x".repeat(1001)),
        ),
        (
            "messages[0].content",
            Box::new(|r| r.messages[0].content.clear()),
        ),
        ("model", Box::new(|r| r.model.clear())),
        ("model", Box::new(|r| r.model = "nosuchprovider/x".into())),
        ("temperature", Box::new(|r| r.temperature = Some(f64::NAN))),
    ];
    for (field, mutate) in cases {
        let mut request = chat_request("u1", "s-bad", "hello");
        mutate(&mut request);
        let status = chat.chat(request).await.expect_err(field);
        assert_eq!(status.code(), Code::InvalidArgument, "{field}: {status:?}");
        let details = status.get_error_details();
        let violations = &details
            .bad_request()
            .expect("a BadRequest detail")
            .field_violations;
        assert_eq!(violations[0].field, field, "{status:?}");
        assert!(status.message().contains(field), "{status:?}");
    }
    assert!(
        get_session(&server, "u1", "s-bad").await.is_none(),
        "nothing was stored"
    );
    assert!(upstream.requests().is_empty(), "nothing was sent upstream");

    let mut memory = server.memory().await;
    let status = memory
        .get_session(pb::GetSessionRequest {
            attribution: attribution("", "s"),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(status.message().contains("entity_id"));

    // Calls over a whole entity refuse an attribution that looks narrower,
    // and GetSession needs its session; each names the field.
    let narrowed = |process: &str, session: &str| {
        Some(pb::Attribution {
            entity_id: "u1".into(),
            process_id: process.into(),
            session_id: session.into(),
        })
    };
    let statuses = [
        (
            memory
                .forget_entity(pb::ForgetEntityRequest {
                    attribution: narrowed("", "s1"),
                })
                .await
                .map(drop),
            "attribution.session_id",
        ),
        (
            memory
                .list_facts(pb::ListFactsRequest {
                    attribution: narrowed("bot", ""),
                    ..Default::default()
                })
                .await
                .map(drop),
            "attribution.process_id",
        ),
        (
            memory
                .get_session(pb::GetSessionRequest {
                    attribution: narrowed("", ""),
                })
                .await
                .map(drop),
            "attribution.session_id",
        ),
        (
            memory
                .wait_for_augmentation(pb::WaitForAugmentationRequest::default())
                .await
                .map(drop),
            "attribution",
        ),
    ];
    for (result, field) in statuses {
        let status = result.unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
        let details = status.get_error_details();
        let violations = &details
            .bad_request()
            .expect("a BadRequest")
            .field_violations;
        assert_eq!(violations[0].field, field, "{status:?}");
    }
    server.stop().await;
}
