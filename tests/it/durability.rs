//! The pipeline under failure and load: a replica killed with SIGKILL while
//! jobs are in flight, and far more turns than workers.

use std::collections::HashMap;
use std::time::Duration;

use memorid::config::StorageConfig;
use memorid::domain::Scope;
use memorid::pb;
use memorid::pb::memory_service_client::MemoryServiceClient;
use memorid::storage::Store;

use crate::augmentation::enable_augmentation;
use crate::on_both_backends;
use crate::support::fake_openai::{FakeOpenAi, Script};
use crate::support::process::ServerProcess;
use crate::support::*;

fn turn(i: usize) -> pb::AttributeRequest {
    pb::AttributeRequest {
        attribution: attribution("u1", "s1"),
        messages: vec![user(&format!("remember item number {i}"))],
        occurred_at: None,
        idempotency_key: format!("k{i}"),
        metadata: HashMap::new(),
        model: String::new(),
    }
}

async fn attribute_all(memory: &mut MemoryServiceClient<tonic::transport::Channel>, n: usize) {
    let mut answers = memory
        .attribute(tokio_stream::iter((0..n).map(turn)))
        .await
        .unwrap()
        .into_inner();
    let mut count = 0;
    while answers.message().await.unwrap().is_some() {
        count += 1;
    }
    assert_eq!(count, n);
}

async fn wait_done(
    memory: &mut MemoryServiceClient<tonic::transport::Channel>,
) -> pb::WaitForAugmentationResponse {
    memory
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
        .into_inner()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_replica_loses_nothing_and_duplicates_nothing() {
    let extractor = FakeOpenAi::start().await;
    extractor.set_script(Script {
        echo_user_as_fact: true,
        delay: Duration::from_millis(300),
        ..Script::default()
    });
    let url = postgres::fresh_database().await;
    let env: Vec<(String, String)> = [
        ("MEMORID_STORAGE__URL", url.as_str()),
        ("MEMORID_PROVIDERS__EXTRACTOR__KIND", "openai"),
        (
            "MEMORID_PROVIDERS__EXTRACTOR__BASE_URL",
            &extractor.base_url(),
        ),
        ("MEMORID_AUGMENTATION__EXTRACTION_MODEL", "extractor/x"),
        ("MEMORID_AUGMENTATION__WORKERS", "4"),
        ("MEMORID_AUGMENTATION__LEASE_SECS", "2"),
        ("MEMORID_AUGMENTATION__POLL_INTERVAL_MS", "100"),
        // The turns' texts are alike; only exact repeats may merge here.
        ("MEMORID_AUGMENTATION__NEAR_DUPLICATE_THRESHOLD", "1.0"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let turns = 40;

    let first = ServerProcess::start(&env).await;
    let mut memory = MemoryServiceClient::new(first.channel().await);
    attribute_all(&mut memory, turns).await;
    // Let the workers get jobs in flight, then kill the replica outright.
    tokio::time::sleep(Duration::from_millis(700)).await;
    let before_kill = extractor.requests().len();
    first.kill();
    assert!(
        before_kill < turns,
        "the kill came too late to interrupt anything"
    );

    let second = ServerProcess::start(&env).await;
    let mut memory = MemoryServiceClient::new(second.channel().await);
    let done = wait_done(&mut memory).await;
    assert!(done.completed && done.dead_jobs == 0, "{done:?}");

    let session = memory
        .get_session(pb::GetSessionRequest {
            attribution: attribution("u1", "s1"),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(session.turns.len(), turns, "no turn is lost");
    let store = Store::connect(&StorageConfig {
        url,
        max_connections: 2,
        acquire_timeout_secs: 10,
    })
    .await
    .unwrap();
    let scope = Scope {
        namespace: "default".into(),
        entity_id: "u1".into(),
    };
    let facts = store.current_facts(&scope).await.unwrap();
    assert_eq!(facts.len(), turns, "one fact per turn, none duplicated");
    for fact in &facts {
        assert_eq!(fact.mention_count, 1, "{fact:?}");
        assert_eq!(
            store
                .fact_provenance(&scope, fact.fact_id)
                .await
                .unwrap()
                .len(),
            1
        );
    }
    assert!(
        extractor.requests().len() > turns,
        "jobs in flight at the kill were redone ({} extraction calls)",
        extractor.requests().len()
    );
    store.close().await;
}

on_both_backends!(
    many_turns_wait_in_the_table_and_all_complete,
    a_model_slower_than_the_lease_keeps_its_jobs,
);

/// A job whose extraction takes longer than the lease keeps it (renewed
/// while it runs), so the model is asked once and the fact learned once;
/// without renewals the next poll would retake the job and ask again.
async fn a_model_slower_than_the_lease_keeps_its_jobs(backend: Backend) {
    let extractor = FakeOpenAi::start().await;
    extractor.set_script(Script {
        echo_user_as_fact: true,
        delay: Duration::from_millis(3500),
        ..Script::default()
    });
    let (mut config, dir) = test_config(backend, None).await;
    enable_augmentation(&mut config, &extractor);
    config.augmentation.lease_secs = 1;
    let server = TestServer::start(config, dir).await;
    let mut memory = server.memory().await;
    attribute_all(&mut memory, 1).await;

    let done = wait_done(&mut memory).await;
    assert!(done.completed && done.dead_jobs == 0, "{done:?}");
    assert_eq!(extractor.requests().len(), 1, "the model was asked again");
    let facts = memory
        .list_facts(pb::ListFactsRequest {
            attribution: whole_entity("u1"),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .facts;
    assert_eq!(facts.len(), 1);
    assert_eq!(facts[0].mention_count, 1);
    server.stop().await;
}

async fn many_turns_wait_in_the_table_and_all_complete(backend: Backend) {
    let extractor = FakeOpenAi::start().await;
    extractor.set_script(Script {
        echo_user_as_fact: true,
        delay: Duration::from_millis(20),
        ..Script::default()
    });
    let (mut config, dir) = test_config(backend, None).await;
    enable_augmentation(&mut config, &extractor);
    config.augmentation.workers = 1;
    // The turns' texts are alike; only exact repeats may merge here.
    config.augmentation.near_duplicate_threshold = 1.0;
    let server = TestServer::start(config, dir).await;
    let mut memory = server.memory().await;
    let turns = 100;
    attribute_all(&mut memory, turns).await;
    // Every turn was acknowledged while most jobs still waited for the one
    // worker: the chat path never waits for augmentation.
    let right_after = memory
        .wait_for_augmentation(pb::WaitForAugmentationRequest {
            attribution: whole_entity("u1"),
            turn_ids: vec![],
            timeout: Some(prost_types::Duration {
                seconds: 0,
                nanos: 0,
            }),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(right_after.pending_jobs >= 50, "{right_after:?}");
    let done = wait_done(&mut memory).await;
    assert!(done.completed && done.dead_jobs == 0, "{done:?}");
    let facts = memory
        .list_facts(pb::ListFactsRequest {
            attribution: whole_entity("u1"),
            page_size: 500,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .facts;
    assert_eq!(facts.len(), turns);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pipeline_survives_a_postgres_restart() {
    // A server of its own: the shared one must not go down under other tests.
    let pg = tokio::task::spawn_blocking(postgres::Postgres::start)
        .await
        .unwrap();
    let extractor = FakeOpenAi::start().await;
    extractor.set_script(Script {
        echo_user_as_fact: true,
        delay: Duration::from_millis(100),
        ..Script::default()
    });
    let (mut config, _) = test_config(Backend::Sqlite, None).await;
    config.storage.url = pg.database().await;
    enable_augmentation(&mut config, &extractor);
    config.augmentation.lease_secs = 2;
    config.augmentation.max_attempts = 10;
    config.augmentation.near_duplicate_threshold = 1.0;
    let server = TestServer::start(config, None).await;
    let mut memory = server.memory().await;
    let turns = 30;
    attribute_all(&mut memory, turns).await;

    tokio::time::sleep(Duration::from_millis(300)).await;
    tokio::task::spawn_blocking(move || {
        pg.stop();
        std::thread::sleep(Duration::from_millis(1500));
        pg.restart();
        pg
    })
    .await
    .unwrap();

    let done = wait_done(&mut memory).await;
    assert!(done.completed && done.dead_jobs == 0, "{done:?}");
    let facts = memory
        .list_facts(pb::ListFactsRequest {
            attribution: whole_entity("u1"),
            page_size: 500,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .facts;
    assert_eq!(
        facts.len(),
        turns,
        "every turn augmented once after the restart"
    );
    assert!(facts.iter().all(|f| f.mention_count == 1));
    server.stop().await;
}
