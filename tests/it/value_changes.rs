//! Facts whose values changed are never merged away, whatever the batching:
//! pairs of statements as consecutive turns through Attribute, a fake
//! extraction model that proposes each as a new fact and answers memorid's
//! replacement question per pair ("replaces", "both hold", or nothing), the
//! real built-in embedder, 4 workers and 128.

use std::collections::HashMap;

use memorid::pb;
use memorid::pb::recall_response::Hit;
use tokio_stream::StreamExt;

use crate::augmentation::enable_augmentation;
use crate::on_both_backends;
use crate::support::fake_openai::FakeOpenAi;
use crate::support::*;

on_both_backends!(
    changed_values_are_kept_or_superseded_never_merged_with_4_workers,
    changed_values_are_kept_or_superseded_never_merged_with_128_workers,
);

/// What the fake model answers when asked whether the second statement of
/// a pair replaces the first.
#[derive(Clone, Copy, PartialEq, Debug)]
enum Answer {
    Replaces,
    Adds,
    Nothing,
}

const PAIRS: &[(&str, &str, Answer)] = &[
    (
        "The user's locker code is 4471",
        "The user's locker code is 4472",
        Answer::Replaces,
    ),
    (
        "The user flies to Berlin on Monday",
        "The user flies to Berlin on Tuesday",
        Answer::Replaces,
    ),
    (
        "The user owns gadget 27",
        "The user owns gadget 28",
        Answer::Adds,
    ),
    (
        "The user is vegetarian",
        "The user is not vegetarian",
        Answer::Replaces,
    ),
    (
        "The user's daughter is 7 years old",
        "The user's daughter is 8 years old",
        Answer::Nothing,
    ),
];

/// A true paraphrase among them still merges into one fact.
const PARAPHRASE: (&str, &str) = (
    "The user prefers async Python",
    "The user prefers asynchronous Python",
);

async fn changed_values_are_kept_or_superseded_never_merged_with_4_workers(backend: Backend) {
    changed_values_are_kept_or_superseded_never_merged(backend, 4).await;
}

async fn changed_values_are_kept_or_superseded_never_merged_with_128_workers(backend: Backend) {
    changed_values_are_kept_or_superseded_never_merged(backend, 128).await;
}

async fn changed_values_are_kept_or_superseded_never_merged(backend: Backend, workers: usize) {
    let extractor = FakeOpenAi::echoing_facts().await;
    let answers: Vec<(&str, bool)> = PAIRS
        .iter()
        .filter_map(|(_, second, answer)| match answer {
            Answer::Replaces => Some((*second, true)),
            Answer::Adds => Some((*second, false)),
            Answer::Nothing => None,
        })
        .collect();
    extractor.answer_replacements(&answers);
    let upstream = FakeOpenAi::start().await;
    let (mut config, dir) = test_config(backend, Some(upstream.base_url())).await;
    enable_augmentation(&mut config, &extractor);
    config.augmentation.workers = workers;
    let server = TestServer::start(config, dir).await;

    // Every first statement, then every second one, a minute apart: the
    // pairs are consecutive turns of one entity, as a user would say them.
    let mut statements: Vec<&str> = PAIRS.iter().map(|p| p.0).collect();
    statements.push(PARAPHRASE.0);
    statements.extend(PAIRS.iter().map(|p| p.1));
    statements.push(PARAPHRASE.1);
    let start = chrono::Utc::now() - chrono::Duration::hours(1);
    let requests: Vec<pb::AttributeRequest> = statements
        .iter()
        .enumerate()
        .map(|(i, text)| pb::AttributeRequest {
            attribution: attribution("u1", "s1"),
            messages: vec![user(text), assistant("Noted.")],
            occurred_at: Some(prost_types::Timestamp {
                seconds: (start + chrono::Duration::minutes(i as i64)).timestamp(),
                nanos: 0,
            }),
            idempotency_key: format!("turn-{i}"),
            ..Default::default()
        })
        .collect();
    let mut memory = server.memory().await;
    let stored: Vec<_> = memory
        .attribute(tokio_stream::iter(requests))
        .await
        .unwrap()
        .into_inner()
        .collect::<Result<Vec<_>, _>>()
        .await
        .unwrap();
    assert_eq!(stored.len(), statements.len());
    let done = memory
        .wait_for_augmentation(pb::WaitForAugmentationRequest {
            attribution: whole_entity("u1"),
            turn_ids: vec![],
            timeout: Some(prost_types::Duration {
                seconds: 120,
                nanos: 0,
            }),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(done.completed && done.dead_jobs == 0, "{done:?}");

    let facts: Vec<pb::Fact> = memory
        .list_facts(pb::ListFactsRequest {
            attribution: whole_entity("u1"),
            page_size: 100,
            include_superseded: true,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .facts;
    let by_text: HashMap<&str, &pb::Fact> = facts.iter().map(|f| (f.content.as_str(), f)).collect();
    for (first, second, answer) in PAIRS {
        let old = by_text
            .get(first)
            .unwrap_or_else(|| panic!("{first:?} was merged away: {facts:#?}"));
        let new = by_text
            .get(second)
            .unwrap_or_else(|| panic!("{second:?} was merged away: {facts:#?}"));
        assert!(new.valid_until.is_none(), "{second:?} is current: {new:?}");
        if *answer == Answer::Replaces {
            assert_eq!(old.superseded_by, new.id, "{first:?} is replaced: {old:?}");
            assert!(old.valid_until.is_some());
        } else {
            assert!(
                old.valid_until.is_none() && old.superseded_by.is_empty(),
                "{first:?} stays current ({answer:?}): {old:?}"
            );
        }
        assert_eq!((old.mention_count, new.mention_count), (1, 1));
    }
    // Either wording stands for both (turns may be augmented out of order).
    let python: Vec<&&pb::Fact> = [PARAPHRASE.0, PARAPHRASE.1]
        .iter()
        .filter_map(|text| by_text.get(text))
        .collect();
    assert_eq!(python.len(), 1, "the paraphrase merged: {facts:#?}");
    assert_eq!(python[0].mention_count, 2, "{facts:#?}");
    assert_eq!(facts.len(), PAIRS.len() * 2 + 1, "{facts:#?}");

    // Recall ranks the new code first and leaves the replaced one out
    // unless history is asked for.
    let hits = |include_superseded: bool| {
        let mut memory = memory.clone();
        async move {
            memory
                .recall(pb::RecallRequest {
                    attribution: attribution("u1", ""),
                    query: "locker code".into(),
                    limit: 3,
                    include_superseded,
                    ..Default::default()
                })
                .await
                .unwrap()
                .into_inner()
                .collect::<Result<Vec<_>, _>>()
                .await
                .unwrap()
                .into_iter()
                .map(|hit| match hit.hit {
                    Some(Hit::Fact(fact)) => fact.content,
                    other => panic!("{other:?}"),
                })
                .collect::<Vec<String>>()
        }
    };
    let current = hits(false).await;
    assert_eq!(current[0], "The user's locker code is 4472", "{current:?}");
    assert!(!current.iter().any(|c| c.contains("4471")), "{current:?}");
    assert!(hits(true).await.iter().any(|c| c.contains("4471")));

    // Chat injects the new code, with its date, and not the old one.
    let mut chat = server.chat().await;
    let response = chat
        .chat(chat_request("u1", "s2", "What is my locker code?"))
        .await
        .unwrap();
    let (_, status) = collect(response.into_inner()).await;
    assert!(status.is_none(), "{status:?}");
    let sent = upstream.requests().pop().unwrap();
    let block = sent["messages"][0]["content"].as_str().unwrap().to_string();
    assert!(block.contains("locker code is 4472"), "{block}");
    assert!(!block.contains("4471"), "{block}");
    let day = (start + chrono::Duration::minutes(PAIRS.len() as i64 + 1))
        .format("%Y-%m-%d")
        .to_string();
    assert!(block.contains(&day), "dated: {block}");
    server.stop().await;
}
