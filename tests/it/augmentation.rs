//! The augmentation stage end to end: turns in through Attribute and Chat,
//! a fake extraction model answering canned JSON over the OpenAI wire
//! format, the real built-in embedding model, facts out through ListFacts.

use memorid::config::{Config, ProviderKind};
use memorid::domain::Scope;
use memorid::pb;
use memorid::storage::Store;
use serde_json::{Value, json};
use std::collections::HashMap;
use tonic::Code;

use crate::on_both_backends;
use crate::support::fake_openai::{FakeOpenAi, Script};
use crate::support::*;

on_both_backends!(
    facts_land_with_embeddings_and_provenance,
    exact_and_near_duplicates_bump_instead_of_piling_up,
    contradictions_supersede_and_keep_history,
    malformed_model_output_is_retried_then_dead_without_writes,
    dead_jobs_come_back_when_an_operator_retries_them,
    reaugment_derives_an_entitys_facts_again_from_its_turns,
    streamed_chat_turns_are_augmented,
    delete_fact_and_pagination,
    messages_are_indexed_without_an_extraction_model,
    the_known_facts_shown_are_those_closest_to_what_the_user_said,
);

/// An extraction answer with these facts (content, category, action, existing_id).
fn answer(facts: &[(&str, &str, &str, &str)]) -> Script {
    let facts: Vec<Value> = facts
        .iter()
        .map(|(content, category, action, existing)| {
            json!({"content": content, "category": category, "action": action, "existing_id": existing})
        })
        .collect();
    let body = json!({
        "facts": facts,
        "triples": [{"subject": "user", "predicate": "prefers", "object": "async Python"}],
        "process_attributes": ["helps with programming"],
        "summary": "The user talked about their preferences.",
    });
    Script {
        pieces: vec![body.to_string()],
        ..Script::default()
    }
}

struct Setup {
    server: TestServer,
    extractor: FakeOpenAi,
    store: Store,
}

async fn setup(backend: Backend, chat_upstream: Option<&FakeOpenAi>) -> Setup {
    let extractor = FakeOpenAi::start().await;
    let (mut config, dir) = test_config(backend, chat_upstream.map(|u| u.base_url())).await;
    enable_augmentation(&mut config, &extractor);
    let store = Store::connect(&config.storage).await.unwrap();
    let server = TestServer::start(config, dir).await;
    Setup {
        server,
        extractor,
        store,
    }
}

pub fn enable_augmentation(config: &mut Config, extractor: &FakeOpenAi) {
    config.providers.insert(
        "extractor".into(),
        provider(ProviderKind::Openai, extractor.base_url()),
    );
    config.augmentation.enabled = true;
    config.augmentation.extraction_model = Some("extractor/extract-test".into());
    config.augmentation.workers = 2;
    config.augmentation.poll_interval_ms = 50;
    config.augmentation.retry_backoff_ms = 20;
    config.augmentation.max_attempts = 3;
}

pub fn turn(entity: &str, key: &str, user_text: &str) -> pb::AttributeRequest {
    pb::AttributeRequest {
        attribution: Some(pb::Attribution {
            entity_id: entity.into(),
            process_id: "assistant-1".into(),
            session_id: "s1".into(),
        }),
        messages: vec![user(user_text), assistant("Noted.")],
        occurred_at: None,
        idempotency_key: key.into(),
        metadata: HashMap::new(),
        model: String::new(),
    }
}

pub async fn attribute(
    server: &TestServer,
    requests: Vec<pb::AttributeRequest>,
) -> Vec<pb::AttributeResponse> {
    let mut memory = server.memory().await;
    let mut answers = memory
        .attribute(tokio_stream::iter(requests))
        .await
        .unwrap()
        .into_inner();
    let mut out = Vec::new();
    while let Some(answer) = answers.message().await.unwrap() {
        out.push(answer);
    }
    out
}

pub async fn wait(server: &TestServer, entity: &str) -> pb::WaitForAugmentationResponse {
    server
        .memory()
        .await
        .wait_for_augmentation(pb::WaitForAugmentationRequest {
            attribution: whole_entity(entity),
            turn_ids: vec![],
            timeout: Some(prost_types::Duration {
                seconds: 60,
                nanos: 0,
            }),
        })
        .await
        .unwrap()
        .into_inner()
}

async fn facts(server: &TestServer, entity: &str, include_superseded: bool) -> Vec<pb::Fact> {
    server
        .memory()
        .await
        .list_facts(pb::ListFactsRequest {
            attribution: whole_entity(entity),
            page_size: 100,
            page_token: String::new(),
            include_superseded,
        })
        .await
        .unwrap()
        .into_inner()
        .facts
}

fn scope(entity: &str) -> Scope {
    Scope {
        namespace: "default".into(),
        entity_id: entity.into(),
    }
}

async fn facts_land_with_embeddings_and_provenance(backend: Backend) {
    let s = setup(backend, None).await;
    s.extractor.queue_scripts(vec![answer(&[
        ("prefers async Python", "preference", "new", ""),
        ("has a daughter named Ada", "relationship", "new", ""),
    ])]);
    let stored = attribute(
        &s.server,
        vec![turn(
            "u1",
            "k1",
            "I love async Python. My daughter Ada is 7.",
        )],
    )
    .await;
    let done = wait(&s.server, "u1").await;
    assert!(
        done.completed && done.pending_jobs == 0 && done.dead_jobs == 0,
        "{done:?}"
    );

    let mut listed = facts(&s.server, "u1", false).await;
    listed.sort_by(|a, b| a.content.cmp(&b.content));
    let summary: Vec<(&str, i32, u32)> = listed
        .iter()
        .map(|f| (f.content.as_str(), f.category, f.mention_count))
        .collect();
    assert_eq!(
        summary,
        vec![
            (
                "has a daughter named Ada",
                pb::FactCategory::Relationship as i32,
                1
            ),
            (
                "prefers async Python",
                pb::FactCategory::Preference as i32,
                1
            ),
        ]
    );

    let current = s.store.current_facts(&scope("u1")).await.unwrap();
    assert!(
        current
            .iter()
            .all(|f| f.embedding.as_ref().map(Vec::len) == Some(384))
    );
    let fact_id = current[0].fact_id;
    let provenance = s
        .store
        .fact_provenance(&scope("u1"), fact_id)
        .await
        .unwrap();
    assert_eq!(
        provenance,
        vec![stored[0].turn_id.parse::<uuid::Uuid>().unwrap()]
    );
    // Every message of the turn is indexed too.
    let turn = s
        .store
        .turn_to_augment(&scope("u1"), provenance[0])
        .await
        .unwrap()
        .unwrap();
    assert!(turn.messages.iter().all(|m| m.embedded));
    assert_eq!(
        turn.summary.as_deref(),
        Some("The user talked about their preferences.")
    );

    // The extraction request asked for structured output.
    let request = s.extractor.requests().pop().unwrap();
    assert_eq!(request["response_format"]["type"], "json_schema");
    assert!(request["stream"].is_null());
    s.server.stop().await;
}

async fn exact_and_near_duplicates_bump_instead_of_piling_up(backend: Backend) {
    let s = setup(backend, None).await;
    s.extractor.queue_scripts(vec![
        answer(&[("prefers async Python", "preference", "new", "")]),
        answer(&[("Prefers async Python.", "preference", "new", "")]),
        answer(&[("prefers asynchronous Python", "preference", "new", "")]),
    ]);
    for (key, text) in [
        ("k1", "async python!"),
        ("k2", "async python again"),
        ("k3", "asynchronous python"),
    ] {
        attribute(&s.server, vec![turn("u1", key, text)]).await;
        assert!(wait(&s.server, "u1").await.completed);
    }
    let listed = facts(&s.server, "u1", true).await;
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0].mention_count, 3);
    let provenance = s
        .store
        .fact_provenance(&scope("u1"), listed[0].id.parse().unwrap())
        .await
        .unwrap();
    assert_eq!(provenance.len(), 3);
    // The second and third extractions saw the known fact under an alias.
    let request = s.extractor.requests().pop().unwrap();
    assert!(
        request["messages"][1]["content"]
            .as_str()
            .unwrap()
            .contains("- f1: prefers async Python")
    );
    s.server.stop().await;
}

/// With more known facts than `closest_facts`, the extraction model is
/// shown the ones nearest to the turn's user messages.
async fn the_known_facts_shown_are_those_closest_to_what_the_user_said(backend: Backend) {
    let extractor = FakeOpenAi::start().await;
    let (mut config, dir) = test_config(backend, None).await;
    enable_augmentation(&mut config, &extractor);
    config.augmentation.closest_facts = 1;
    let server = TestServer::start(config, dir).await;
    extractor.queue_scripts(vec![
        answer(&[
            ("works as a nurse in Oslo", "attribute", "new", ""),
            ("has a dog named Rex", "relationship", "new", ""),
            ("plays the cello in an orchestra", "skill", "new", ""),
        ]),
        answer(&[]),
    ]);
    attribute(
        &server,
        vec![turn(
            "u1",
            "k1",
            "I'm a nurse in Oslo, I play cello, and Rex is my dog.",
        )],
    )
    .await;
    assert!(wait(&server, "u1").await.completed);
    attribute(
        &server,
        vec![turn("u1", "k2", "Rex the puppy chewed my shoes again")],
    )
    .await;
    assert!(wait(&server, "u1").await.completed);

    let request = extractor.requests().pop().unwrap();
    let context = request["messages"][1]["content"].as_str().unwrap();
    let shown: Vec<&str> = context
        .lines()
        .filter(|line| line.starts_with("- f"))
        .collect();
    assert_eq!(shown, ["- f1: has a dog named Rex"], "{context}");
    server.stop().await;
}

async fn contradictions_supersede_and_keep_history(backend: Backend) {
    let s = setup(backend, None).await;
    s.extractor.queue_scripts(vec![
        answer(&[("lives in Berlin", "attribute", "new", "")]),
        answer(&[("lives in Lisbon", "attribute", "update", "f1")]),
    ]);
    attribute(&s.server, vec![turn("u1", "k1", "I live in Berlin")]).await;
    assert!(wait(&s.server, "u1").await.completed);
    attribute(&s.server, vec![turn("u1", "k2", "I moved to Lisbon")]).await;
    assert!(wait(&s.server, "u1").await.completed);

    let current = facts(&s.server, "u1", false).await;
    assert_eq!(current.len(), 1);
    assert_eq!(current[0].content, "lives in Lisbon");
    let all = facts(&s.server, "u1", true).await;
    let berlin = all.iter().find(|f| f.content == "lives in Berlin").unwrap();
    assert!(berlin.valid_until.is_some());
    assert_eq!(berlin.superseded_by, current[0].id);
    s.server.stop().await;
}

async fn malformed_model_output_is_retried_then_dead_without_writes(backend: Backend) {
    let s = setup(backend, None).await;
    s.extractor.set_script(Script {
        pieces: vec![r#"{"facts": [{"content": "prefers"#.into()],
        ..Script::default()
    });
    let stored = attribute(&s.server, vec![turn("u1", "k1", "something")]).await;
    let done = wait(&s.server, "u1").await;
    assert!(done.completed, "{done:?}");
    assert_eq!(done.dead_jobs, 1);
    assert_eq!(s.extractor.requests().len(), 3, "max_attempts = 3");
    let error = s
        .store
        .job_error(&scope("u1"), stored[0].turn_id.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(error.contains("not the expected JSON"), "{error}");
    assert!(facts(&s.server, "u1", true).await.is_empty());
    // Nothing of the failed job was written, not even the message index.
    let turn = s
        .store
        .turn_to_augment(&scope("u1"), stored[0].turn_id.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(turn.messages.iter().all(|m| !m.embedded));
    s.server.stop().await;
}

/// Runs `memorid jobs ARGS` against the setup's storage; its stdout.
fn jobs_command(storage_url: &str, args: &[&str]) -> String {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_memorid"))
        .arg("jobs")
        .args(args)
        .env("MEMORID_STORAGE__URL", storage_url)
        .env("RUST_LOG", "warn")
        .output()
        .expect("running memorid jobs");
    assert!(
        output.status.success(),
        "memorid jobs {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// A model that failed every attempt leaves dead jobs; once it is fixed,
/// `memorid jobs retry-dead` puts them back and they are learned — only
/// those asked for.
async fn dead_jobs_come_back_when_an_operator_retries_them(backend: Backend) {
    let extractor = FakeOpenAi::start().await;
    let (mut config, dir) = test_config(backend, None).await;
    enable_augmentation(&mut config, &extractor);
    let url = config.storage.url.clone();
    let server = TestServer::start(config, dir).await;
    extractor.set_script(Script {
        pieces: vec!["not JSON".into()],
        ..Script::default()
    });
    attribute(&server, vec![turn("u1", "k1", "I keep bees")]).await;
    attribute(&server, vec![turn("u2", "k2", "I play the oboe")]).await;
    assert_eq!(wait(&server, "u1").await.dead_jobs, 1);
    assert_eq!(wait(&server, "u2").await.dead_jobs, 1);
    let status = jobs_command(&url, &["status"]);
    assert!(status.contains("open 0\ndead 2\n"), "{status}");

    extractor.set_script(answer(&[("keeps bees", "attribute", "new", "")]));
    let retried = jobs_command(
        &url,
        &["retry-dead", "--namespace", "default", "--entity", "u1"],
    );
    assert!(retried.starts_with("1 dead jobs"), "{retried}");
    let done = wait(&server, "u1").await;
    assert!(done.completed && done.dead_jobs == 0, "{done:?}");
    let learned: Vec<String> = facts(&server, "u1", false)
        .await
        .into_iter()
        .map(|f| f.content)
        .collect();
    assert_eq!(learned, ["keeps bees"]);
    // u2 was not asked for.
    assert_eq!(wait(&server, "u2").await.dead_jobs, 1);
    server.stop().await;
}

/// Facts derived wrongly (here: by a model that learned one fixed fact
/// from every turn) are derived again from the stored turns by `memorid
/// jobs reaugment`, in turn order; other entities are left alone.
async fn reaugment_derives_an_entitys_facts_again_from_its_turns(backend: Backend) {
    let extractor = FakeOpenAi::start().await;
    let (mut config, dir) = test_config(backend, None).await;
    enable_augmentation(&mut config, &extractor);
    let url = config.storage.url.clone();
    let server = TestServer::start(config, dir).await;
    extractor.set_script(answer(&[("owns a gadget", "attribute", "new", "")]));
    let texts = ["The user owns gadget 27", "The user owns gadget 28"];
    for (i, text) in texts.iter().enumerate() {
        attribute(&server, vec![turn("u1", &format!("k{i}"), text)]).await;
    }
    attribute(&server, vec![turn("u2", "k9", "The user owns gadget 99")]).await;
    assert!(wait(&server, "u1").await.completed);
    assert!(wait(&server, "u2").await.completed);
    let before = facts(&server, "u1", true).await;
    assert_eq!(before.len(), 1, "{before:?}");
    assert_eq!(before[0].mention_count, 2);

    extractor.set_script(Script {
        echo_user_as_fact: true,
        ..Script::default()
    });
    let queued = jobs_command(
        &url,
        &["reaugment", "--namespace", "default", "--entity", "u1"],
    );
    assert!(queued.starts_with("2 turns of u1 queued"), "{queued}");
    // Running servers hear of jobs by polling (and, on PostgreSQL, NOTIFY).
    let done = wait(&server, "u1").await;
    assert!(done.completed && done.dead_jobs == 0, "{done:?}");
    let mut learned: Vec<String> = facts(&server, "u1", true)
        .await
        .into_iter()
        .map(|f| f.content)
        .collect();
    learned.sort();
    assert_eq!(learned, texts);
    let other = facts(&server, "u2", true).await;
    assert_eq!(other.len(), 1);
    assert_eq!(other[0].content, "owns a gadget");
    server.stop().await;
}

async fn streamed_chat_turns_are_augmented(backend: Backend) {
    let upstream = FakeOpenAi::start().await;
    let s = setup(backend, Some(&upstream)).await;
    s.extractor.queue_scripts(vec![answer(&[(
        "prefers answers in French",
        "preference",
        "new",
        "",
    )])]);
    let response = s
        .server
        .chat()
        .await
        .chat(chat_request("u1", "s", "Answer in French please"))
        .await
        .unwrap();
    let (events, status) = collect(response.into_inner()).await;
    assert!(status.is_none(), "{status:?}");
    let Some(pb::chat_response::Event::Completed(completed)) = events.last() else {
        panic!()
    };
    let waited = s
        .server
        .memory()
        .await
        .wait_for_augmentation(pb::WaitForAugmentationRequest {
            attribution: whole_entity("u1"),
            turn_ids: vec![completed.turn_id.clone()],
            timeout: None,
        })
        .await
        .unwrap()
        .into_inner();
    assert!(waited.completed);
    let listed = facts(&s.server, "u1", false).await;
    assert_eq!(listed[0].content, "prefers answers in French");
    s.server.stop().await;
}

async fn delete_fact_and_pagination(backend: Backend) {
    let s = setup(backend, None).await;
    let many: Vec<(String, &str, &str, &str)> = (0..5)
        .map(|i| {
            (
                format!(
                    "distinct fact number {i} about topic {}",
                    ["cats", "tax law", "jazz", "rust", "tea"][i]
                ),
                "other",
                "new",
                "",
            )
        })
        .collect();
    let borrowed: Vec<(&str, &str, &str, &str)> = many
        .iter()
        .map(|(c, a, b, d)| (c.as_str(), *a, *b, *d))
        .collect();
    s.extractor.queue_scripts(vec![answer(&borrowed)]);
    attribute(&s.server, vec![turn("u1", "k1", "lots")]).await;
    assert!(wait(&s.server, "u1").await.completed);

    let mut memory = s.server.memory().await;
    let mut seen = Vec::new();
    let mut token = String::new();
    loop {
        let page = memory
            .list_facts(pb::ListFactsRequest {
                attribution: whole_entity("u1"),
                page_size: 2,
                page_token: token.clone(),
                include_superseded: false,
            })
            .await
            .unwrap()
            .into_inner();
        assert!(page.facts.len() <= 2);
        seen.extend(page.facts.into_iter().map(|f| f.id));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(seen.len(), 5);
    let unique: std::collections::HashSet<_> = seen.iter().collect();
    assert_eq!(unique.len(), 5);

    memory
        .delete_fact(pb::DeleteFactRequest {
            attribution: whole_entity("u1"),
            fact_id: seen[0].clone(),
        })
        .await
        .unwrap();
    assert_eq!(facts(&s.server, "u1", true).await.len(), 4);
    let again = memory
        .delete_fact(pb::DeleteFactRequest {
            attribution: whole_entity("u1"),
            fact_id: seen[0].clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(again.code(), Code::NotFound);
    // Another entity cannot delete it.
    let other = memory
        .delete_fact(pb::DeleteFactRequest {
            attribution: whole_entity("u2"),
            fact_id: seen[1].clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(other.code(), Code::NotFound);
    let bad = memory
        .delete_fact(pb::DeleteFactRequest {
            attribution: whole_entity("u1"),
            fact_id: "nope".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(bad.code(), Code::InvalidArgument);
    s.server.stop().await;
}

async fn messages_are_indexed_without_an_extraction_model(backend: Backend) {
    let extractor = FakeOpenAi::start().await;
    let (mut config, dir) = test_config(backend, None).await;
    enable_augmentation(&mut config, &extractor);
    config.augmentation.extraction_model = None;
    let store = Store::connect(&config.storage).await.unwrap();
    let server = TestServer::start(config, dir).await;
    let stored = attribute(&server, vec![turn("u1", "k1", "I like sailing")]).await;
    assert!(wait(&server, "u1").await.completed);
    let turn_id = stored[0].turn_id.parse().unwrap();
    let turn = store
        .turn_to_augment(&scope("u1"), turn_id)
        .await
        .unwrap()
        .unwrap();
    assert!(turn.messages.iter().all(|m| m.embedded));
    assert!(facts(&server, "u1", true).await.is_empty());
    assert!(extractor.requests().is_empty(), "no model was called");
    let models = store.embedding_models().await.unwrap();
    assert_eq!(
        models,
        vec![("intfloat/e5-small-v2-int8".to_string(), 384, 2)]
    );
    server.stop().await;
}

/// A replica that only ingests and one that only augments, on one
/// PostgreSQL: the worker hears of new jobs at once (LISTEN/NOTIFY), not at
/// its next poll, which here is ten minutes away.
#[tokio::test]
async fn new_jobs_wake_the_workers_of_other_replicas() {
    let extractor = FakeOpenAi::echoing_facts().await;
    let url = crate::support::postgres::fresh_database().await;
    let (mut worker_config, _) = test_config(Backend::Postgres, None).await;
    worker_config.storage.url = url.clone();
    enable_augmentation(&mut worker_config, &extractor);
    worker_config.augmentation.poll_interval_ms = 600_000;
    let (mut ingest_config, _) = test_config(Backend::Postgres, None).await;
    ingest_config.storage.url = url;
    let worker = TestServer::start(worker_config, None).await;
    let ingest = TestServer::start(ingest_config, None).await;

    for round in 0..2 {
        let key = format!("k{round}");
        attribute(&ingest, vec![turn("u1", &key, "I drink green tea")]).await;
        let done = ingest
            .memory()
            .await
            .wait_for_augmentation(pb::WaitForAugmentationRequest {
                attribution: whole_entity("u1"),
                turn_ids: vec![],
                timeout: Some(prost_types::Duration {
                    seconds: 30,
                    nanos: 0,
                }),
            })
            .await
            .unwrap()
            .into_inner();
        assert!(done.completed, "round {round}, woken, not polled: {done:?}");
    }
    ingest.stop().await;
    worker.stop().await;
}
