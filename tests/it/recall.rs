//! MemoryService.Recall over memories made by the real pipeline: turns in
//! through Attribute, facts from a fake extraction model, vectors from the
//! real built-in embedder.

use std::collections::HashMap;

use memorid::pb;
use memorid::pb::recall_response::Hit;
use tokio_stream::StreamExt;

use crate::augmentation::enable_augmentation;
use crate::on_both_backends;
use crate::support::fake_openai::FakeOpenAi;
use crate::support::*;

on_both_backends!(
    recall_finds_the_right_fact_message_and_nothing_of_others,
    chat_injects_recalled_facts_into_the_prompt,
);

const TURNS: [&str; 5] = [
    "I write backend services in async Python",
    "My daughter Ada plays the violin",
    "I am allergic to peanuts",
    "We spent last summer in Lisbon",
    "My flight number is LX1612 on Monday",
];

/// Stores one turn per text through Attribute and waits until they are
/// augmented; the turns' ids, in order.
async fn remember(server: &TestServer, entity: &str, texts: &[&str]) -> Vec<String> {
    let requests: Vec<pb::AttributeRequest> = texts
        .iter()
        .enumerate()
        .map(|(i, text)| pb::AttributeRequest {
            attribution: attribution(entity, "s1"),
            messages: vec![user(text), assistant("Noted.")],
            occurred_at: None,
            idempotency_key: format!("{entity}-{i}-{}", uuid::Uuid::new_v4()),
            metadata: HashMap::new(),
            model: String::new(),
        })
        .collect();
    let mut memory = server.memory().await;
    let mut answers = memory
        .attribute(tokio_stream::iter(requests))
        .await
        .unwrap()
        .into_inner();
    let mut turn_ids = Vec::new();
    while let Some(answer) = answers.next().await {
        turn_ids.push(answer.unwrap().turn_id);
    }
    let done = memory
        .wait_for_augmentation(pb::WaitForAugmentationRequest {
            attribution: whole_entity(entity),
            turn_ids: vec![],
            timeout: None,
        })
        .await
        .unwrap()
        .into_inner();
    assert!(done.completed && done.dead_jobs == 0, "{done:?}");
    turn_ids
}

pub async fn recall(
    server: &TestServer,
    entity: &str,
    query: &str,
    kinds: Vec<pb::MemoryKind>,
) -> Vec<pb::RecallResponse> {
    server
        .memory()
        .await
        .recall(pb::RecallRequest {
            attribution: attribution(entity, ""),
            query: query.into(),
            limit: 3,
            kinds: kinds.into_iter().map(|k| k as i32).collect(),
            include_score_parts: true,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .collect::<Result<Vec<_>, _>>()
        .await
        .unwrap()
}

fn text(hit: &pb::RecallResponse) -> &str {
    match hit.hit.as_ref().unwrap() {
        Hit::Fact(fact) => &fact.content,
        Hit::Message(message) => &message.content,
    }
}

async fn recall_finds_the_right_fact_message_and_nothing_of_others(backend: Backend) {
    let extractor = FakeOpenAi::echoing_facts().await;
    let (mut config, dir) = test_config(backend, None).await;
    enable_augmentation(&mut config, &extractor);
    config.augmentation.near_duplicate_threshold = 1.0;
    let server = TestServer::start(config, dir).await;
    let turn_ids = remember(&server, "u1", &TURNS).await;
    remember(
        &server,
        "u2",
        &["I write backend services in async Python too"],
    )
    .await;

    let hits = recall(
        &server,
        "u1",
        "which language are the user's backend services written in?",
        vec![],
    )
    .await;
    assert_eq!(text(&hits[0]), TURNS[0], "{hits:?}");
    assert!(hits.len() <= 3);
    assert!(
        hits.windows(2).all(|w| w[0].score >= w[1].score),
        "best first"
    );
    let parts = hits[0].score_parts.unwrap();
    assert!(parts.dense > 0.0 && parts.recency > 0.0, "{parts:?}");
    let Some(Hit::Fact(fact)) = &hits[0].hit else {
        panic!("{hits:?}")
    };
    assert_eq!(fact.source_turn_ids, [turn_ids[0].clone()], "provenance");

    let hits = recall(&server, "u1", "food allergy", vec![]).await;
    assert_eq!(text(&hits[0]), TURNS[2], "{hits:?}");

    // A code no embedding knows is found by its exact term.
    let hits = recall(&server, "u1", "LX1612", vec![]).await;
    assert_eq!(text(&hits[0]), TURNS[4], "{hits:?}");
    assert!(hits[0].score_parts.unwrap().lexical > 0.5, "{hits:?}");

    // Messages of past turns, when asked for.
    let hits = recall(
        &server,
        "u1",
        "violin lessons",
        vec![pb::MemoryKind::Message],
    )
    .await;
    match hits[0].hit.as_ref().unwrap() {
        Hit::Message(message) => {
            assert_eq!(message.content, TURNS[1]);
            assert_eq!(message.role, pb::Role::User as i32);
            assert_eq!(message.session_id, "s1");
        }
        other => panic!("expected a message, got {other:?}"),
    }

    // Another entity's memories never come back.
    let hits = recall(
        &server,
        "u2",
        "daughter violin allergy Lisbon flight",
        vec![pb::MemoryKind::Fact, pb::MemoryKind::Message],
    )
    .await;
    assert!(
        hits.iter()
            .all(|h| text(h).contains("too") || text(h) == "Noted."),
        "{hits:?}"
    );

    // A minimum score filters.
    let strict = server
        .memory()
        .await
        .recall(pb::RecallRequest {
            attribution: attribution("u1", ""),
            query: "food allergy".into(),
            min_score: 0.99,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .collect::<Result<Vec<_>, _>>()
        .await
        .unwrap();
    assert!(strict.is_empty(), "{strict:?}");
    server.stop().await;
}

async fn chat_injects_recalled_facts_into_the_prompt(backend: Backend) {
    let upstream = FakeOpenAi::start().await;
    let extractor = FakeOpenAi::echoing_facts().await;
    let (mut config, dir) = test_config(backend, Some(upstream.base_url())).await;
    enable_augmentation(&mut config, &extractor);
    config.augmentation.near_duplicate_threshold = 1.0;
    let server = TestServer::start(config, dir).await;
    remember(
        &server,
        "u1",
        &[
            "I am allergic to peanuts",
            "My daughter Ada plays the violin",
        ],
    )
    .await;
    let facts = server
        .memory()
        .await
        .list_facts(pb::ListFactsRequest {
            attribution: whole_entity("u1"),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .facts;
    let allergy = facts
        .iter()
        .find(|f| f.content.contains("peanuts"))
        .unwrap();

    let mut chat = server.chat().await;
    let response = chat
        .chat(chat_request("u1", "s2", "Can I eat peanut butter cookies?"))
        .await
        .unwrap();
    let (events, status) = collect(response.into_inner()).await;
    assert!(status.is_none(), "{status:?}");
    let pb::chat_response::Event::Started(started) = &events[0] else {
        panic!("{events:?}")
    };
    assert!(
        started.recalled_memory_ids.contains(&allergy.id),
        "{started:?}"
    );

    let sent = upstream.requests().pop().unwrap();
    let messages = sent["messages"].as_array().unwrap();
    assert_eq!(messages[0]["role"], "system");
    let block = messages[0]["content"].as_str().unwrap();
    assert!(
        block.contains("<memories>") && block.contains("I am allergic to peanuts"),
        "{block}"
    );
    assert_eq!(messages[1]["content"], "Can I eat peanut butter cookies?");
    // The caller's messages are stored as they were sent, without the block.
    let turn = &get_session(&server, "u1", "s2").await.unwrap().turns[0];
    assert_eq!(turn.messages.len(), 2);
    assert_eq!(turn.messages[0].content, "Can I eat peanut butter cookies?");

    // Recall can be switched off per request.
    let mut request = chat_request("u1", "s3", "Can I eat peanut butter cookies?");
    request.memory = Some(pb::MemoryOptions {
        recall: Some(false),
        ..Default::default()
    });
    let (events, _) = collect(chat.chat(request).await.unwrap().into_inner()).await;
    let pb::chat_response::Event::Started(started) = &events[0] else {
        panic!()
    };
    assert!(started.recalled_memory_ids.is_empty());
    let sent = upstream.requests().pop().unwrap();
    assert_eq!(sent["messages"][0]["role"], "user");
    server.stop().await;
}

/// Two replicas on one PostgreSQL: the reader caches the entity's index,
/// the writer learns, forgets a fact, forgets the entity; every change is
/// seen by the reader's next recall.
#[tokio::test]
async fn replicas_sharing_postgres_see_each_others_writes() {
    let extractor = FakeOpenAi::echoing_facts().await;
    let url = crate::support::postgres::fresh_database().await;
    let (mut writer_config, _) = test_config(Backend::Postgres, None).await;
    writer_config.storage.url = url.clone();
    enable_augmentation(&mut writer_config, &extractor);
    writer_config.augmentation.near_duplicate_threshold = 1.0;
    let (mut reader_config, _) = test_config(Backend::Postgres, None).await;
    reader_config.storage.url = url;
    let writer = TestServer::start(writer_config, None).await;
    let reader = TestServer::start(reader_config, None).await;
    let all_kinds = || vec![pb::MemoryKind::Fact, pb::MemoryKind::Message];

    assert!(recall(&reader, "u1", "tea", all_kinds()).await.is_empty());
    remember(&writer, "u1", &["I drink green tea every morning"]).await;
    let hits = recall(&reader, "u1", "what does the user drink", all_kinds()).await;
    assert_eq!(
        text(&hits[0]),
        "I drink green tea every morning",
        "{hits:?}"
    );

    // Learned after the reader cached the entity: found without a restart.
    remember(&writer, "u1", &["My flight number is LX1612 on Monday"]).await;
    let hits = recall(&reader, "u1", "LX1612", vec![]).await;
    assert_eq!(text(&hits[0]), "My flight number is LX1612 on Monday");
    let Hit::Fact(flight) = hits[0].hit.clone().unwrap() else {
        panic!("{hits:?}")
    };

    // Deleted through the writer: gone from the reader's recall.
    writer
        .memory()
        .await
        .delete_fact(pb::DeleteFactRequest {
            attribution: whole_entity("u1"),
            fact_id: flight.id.clone(),
        })
        .await
        .unwrap();
    let hits = recall(&reader, "u1", "LX1612", vec![]).await;
    assert!(
        hits.iter().all(|h| match h.hit.as_ref().unwrap() {
            Hit::Fact(fact) => fact.id != flight.id,
            Hit::Message(_) => true,
        }),
        "{hits:?}"
    );
    assert!(!hits.is_empty(), "the tea fact is still there");

    // The entity forgotten: nothing left for the reader either.
    writer
        .memory()
        .await
        .forget_entity(pb::ForgetEntityRequest {
            attribution: whole_entity("u1"),
        })
        .await
        .unwrap();
    assert!(recall(&reader, "u1", "tea", all_kinds()).await.is_empty());
    reader.stop().await;
    writer.stop().await;
}

/// `memorid eval recall` against a real server: a small dataset whose
/// questions each have one clear answer; the harness stores, waits, asks,
/// scores, and forgets the entities afterwards.
#[tokio::test]
async fn the_eval_harness_scores_a_dataset_end_to_end() {
    let extractor = FakeOpenAi::echoing_facts().await;
    let (mut config, dir) = test_config(Backend::Sqlite, None).await;
    enable_augmentation(&mut config, &extractor);
    let server = TestServer::start(config, dir).await;

    let turns = [
        ("a1", "I adopted a grey cat called Pixel"),
        ("a2", "Work was busy, lots of meetings today"),
        ("a3", "My train booking reference is QX7-42B"),
        ("a4", "We had pasta for dinner again"),
    ];
    let mut lines: Vec<String> = turns
        .iter()
        .enumerate()
        .map(|(i, (id, text))| {
            serde_json::json!({
                "type": "turn", "conversation": "c", "id": id, "session": "s1",
                "occurred_at": format!("2026-03-0{}T10:00:00Z", i + 1),
                "messages": [{"role": "user", "content": text}, {"role": "assistant", "content": "I see."}],
            })
            .to_string()
        })
        .collect();
    for (id, category, question, evidence) in [
        ("q1", "single-hop", "What pet did I get?", "a1"),
        ("q2", "lexical", "What was QX7-42B for?", "a3"),
    ] {
        lines.push(
            serde_json::json!({
                "type": "question", "conversation": "c", "id": id, "category": category,
                "question": question, "evidence": [evidence],
            })
            .to_string(),
        );
    }
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), lines.join("\n")).unwrap();

    let evaluation = memorid::eval::run(memorid::eval::Options {
        dataset: file.path().to_path_buf(),
        server: server.url(),
        api_key: None,
        entity_prefix: "eval-test".into(),
        keep: false,
        wait_timeout: std::time::Duration::from_secs(120),
    })
    .await
    .unwrap();
    let report = evaluation.defaults();
    let (questions, overall) = report.overall();
    assert_eq!(questions, 2);
    assert_eq!(overall.reciprocal_rank, 1.0, "{report}");
    assert_eq!(overall.recall_at, [1.0; 3], "{report}");
    assert!(report.to_string().contains("lexical"), "{report}");
    // Every stage is scored, each part alone too.
    let stages: Vec<&str> = evaluation.stages.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        stages,
        [
            "server's ranking",
            "lexical only",
            "dense only",
            "fused, absolute scales",
            "fused, min-max scales",
            "fused + context",
            "fused + context + neighbours"
        ]
    );
    for (name, stage) in &evaluation.stages {
        assert_eq!(stage.overall().0, 2, "{name}");
    }
    assert!(
        evaluation.to_string().contains("dense only"),
        "{evaluation}"
    );

    // The run cleaned up after itself.
    assert!(
        recall(&server, "eval-test-c", "cat", vec![])
            .await
            .is_empty()
    );
    server.stop().await;
}

/// The same entity id in two namespaces is two entities: a recall (and the
/// cached index behind it) never crosses over.
#[tokio::test]
async fn recall_never_crosses_namespaces() {
    let extractor = FakeOpenAi::echoing_facts().await;
    let (mut config, dir) = test_config(Backend::Sqlite, None).await;
    enable_augmentation(&mut config, &extractor);
    config.auth.keys = ["acme", "globex"]
        .into_iter()
        .map(|namespace| hashed_key(namespace, &format!("key-{namespace}")))
        .collect();
    let server = TestServer::start(config, dir).await;
    fn keyed<T>(key: &str, message: T) -> tonic::Request<T> {
        let mut request = tonic::Request::new(message);
        request
            .metadata_mut()
            .insert("authorization", format!("Bearer {key}").parse().unwrap());
        request
    }
    let mut memory = server.memory().await;
    let store = pb::AttributeRequest {
        attribution: attribution("u1", "s1"),
        messages: vec![
            user("My flight number is LX1612 on Monday"),
            assistant("Noted."),
        ],
        idempotency_key: "k1".into(),
        ..Default::default()
    };
    let mut answers = memory
        .attribute(keyed("key-acme", tokio_stream::iter(vec![store])))
        .await
        .unwrap()
        .into_inner();
    while let Some(answer) = answers.next().await {
        answer.unwrap();
    }
    let done = memory
        .wait_for_augmentation(keyed(
            "key-acme",
            pb::WaitForAugmentationRequest {
                attribution: whole_entity("u1"),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(done.completed, "{done:?}");

    let mut ask = async |key: &str| {
        memory
            .recall(keyed(
                key,
                pb::RecallRequest {
                    attribution: attribution("u1", ""),
                    query: "LX1612".into(),
                    kinds: vec![pb::MemoryKind::Fact.into(), pb::MemoryKind::Message.into()],
                    ..Default::default()
                },
            ))
            .await
            .unwrap()
            .into_inner()
            .collect::<Result<Vec<_>, _>>()
            .await
            .unwrap()
    };
    let own = ask("key-acme").await;
    assert!(
        own.iter().any(|hit| text(hit).contains("LX1612")),
        "{own:?}"
    );
    assert!(ask("key-globex").await.is_empty());
    // Asked again after the other namespace's index was cached: still apart.
    assert!(!ask("key-acme").await.is_empty());
    assert!(ask("key-globex").await.is_empty());
    server.stop().await;
}
