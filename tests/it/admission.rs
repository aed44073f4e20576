//! The admission layer on a real server: keys created and revoked in
//! storage or changed in a keys file take effect without a restart, per-key
//! and global limits answer RESOURCE_EXHAUSTED with RetryInfo at once while
//! calls within limits go on, and oversized requests are
//! RESOURCE_EXHAUSTED.

use std::sync::Arc;
use std::time::{Duration, Instant};

use memorid::domain::keys::KeyLimits;
use memorid::keys::admin;
use memorid::pb;
use tokio::sync::Semaphore;
use tonic::Code;
use tonic_types::StatusExt;

use crate::on_both_backends;
use crate::support::fake_openai::{FakeOpenAi, Script};
use crate::support::*;

fn list_facts(entity: &str) -> pb::ListFactsRequest {
    pb::ListFactsRequest {
        attribution: whole_entity(entity),
        ..Default::default()
    }
}

/// Polls `call` until it answers `expected` (Ok = None), for at most 10 s.
async fn eventually<F, Fut>(expected: Option<Code>, mut call: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<(), tonic::Status>>,
{
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let got = call().await.err().map(|s| s.code());
        if got == expected {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "still {got:?}, expected {expected:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn assert_exhausted_with_retry_info(status: &tonic::Status, reason: &str) {
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    let details = status.get_error_details();
    assert_eq!(details.error_info().unwrap().reason, reason, "{status:?}");
    assert!(details.retry_info().is_some(), "{status:?}");
}

on_both_backends!(stored_keys_are_created_and_revoked_while_the_server_runs);

async fn stored_keys_are_created_and_revoked_while_the_server_runs(backend: Backend) {
    let (mut config, dir) = test_config(backend, None).await;
    config.auth.reload_secs = 1;
    let store = memorid::server::open_store(&config).await.unwrap();
    let server = TestServer::start(config, dir).await;
    let mut memory = server.memory().await;
    // No key anywhere yet: auth is off.
    memory.list_facts(list_facts("u1")).await.unwrap();

    let created = admin::create(&store, "acme", Some("ci".into()), KeyLimits::default())
        .await
        .unwrap();
    assert!(created.key.starts_with("mk_"));
    // Only the hash is stored.
    let listed = store.list_keys().await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_ne!(listed[0].key_sha256, created.key);
    assert!(!listed[0].key_sha256.contains(&created.key));
    let again = admin::create(&store, "acme", Some("ci".into()), KeyLimits::default()).await;
    assert!(again.unwrap_err().to_string().contains("\"ci\""));

    // Within a reload, auth is on and the key opens its namespace.
    eventually(Some(Code::Unauthenticated), || {
        let mut memory = memory.clone();
        async move { memory.list_facts(list_facts("u1")).await.map(|_| ()) }
    })
    .await;
    let key = created.key.clone();
    memory
        .list_facts(with_key(list_facts("u1"), &key))
        .await
        .unwrap();
    let wrong = memory
        .list_facts(with_key(list_facts("u1"), "mk_not-a-key"))
        .await
        .unwrap_err();
    assert_eq!(wrong.code(), Code::Unauthenticated);
    // Its use is recorded within a reload.
    let deadline = Instant::now() + Duration::from_secs(10);
    while store.list_keys().await.unwrap()[0].last_used_at.is_none() {
        assert!(Instant::now() < deadline, "last use never recorded");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    admin::revoke(&store, "ci").await.unwrap();
    assert!(admin::revoke(&store, "ci").await.is_err());
    eventually(Some(Code::Unauthenticated), || {
        let mut memory = memory.clone();
        let key = key.clone();
        async move {
            memory
                .list_facts(with_key(list_facts("u1"), &key))
                .await
                .map(|_| ())
        }
    })
    .await;
    // Revoking the last key does not turn auth off.
    let after = memory.list_facts(list_facts("u1")).await.unwrap_err();
    assert_eq!(after.code(), Code::Unauthenticated);
    let table = admin::table(&store.list_keys().await.unwrap());
    assert!(table.contains("ci") && table.contains("acme"), "{table}");
    assert!(!table.contains(&created.key));
    server.stop().await;
    store.close().await;
}

#[tokio::test]
async fn a_changed_keys_file_is_picked_up_without_a_restart() {
    let (mut config, dir) = test_config(Backend::Sqlite, None).await;
    let keys_dir = tempfile::tempdir().unwrap();
    let path = keys_dir.path().join("keys");
    let hash = |key: &str| memorid::keys::secret::KeyHash::of(key).hex();
    std::fs::write(
        &path,
        format!("# rotated by the operator\nacme:sha256:{}\n", hash("old")),
    )
    .unwrap();
    config.auth.keys_file = Some(path.clone());
    config.auth.reload_secs = 1;
    let server = TestServer::start(config, dir).await;
    let mut memory = server.memory().await;
    memory
        .list_facts(with_key(list_facts("u1"), "old"))
        .await
        .unwrap();

    std::fs::write(&path, format!("acme:sha256:{}\n", hash("new"))).unwrap();
    eventually(Some(Code::Unauthenticated), || {
        let mut memory = memory.clone();
        async move {
            memory
                .list_facts(with_key(list_facts("u1"), "old"))
                .await
                .map(|_| ())
        }
    })
    .await;
    memory
        .list_facts(with_key(list_facts("u1"), "new"))
        .await
        .unwrap();

    // A broken file keeps the keys loaded before.
    std::fs::write(&path, "acme:sha256:not-hex\n").unwrap();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    memory
        .list_facts(with_key(list_facts("u1"), "new"))
        .await
        .unwrap();
    server.stop().await;
}

#[tokio::test]
async fn a_key_over_its_rate_is_refused_at_once_and_others_go_on() {
    let (mut config, dir) = test_config(Backend::Sqlite, None).await;
    let mut slow = hashed_key("acme", "key-slow");
    slow.requests_per_second = Some(2.0);
    config.auth.keys = vec![slow, hashed_key("globex", "key-free")];
    let server = TestServer::start(config, dir).await;
    let mut memory = server.memory().await;
    let mut refused = Vec::new();
    for _ in 0..6 {
        let started = Instant::now();
        match memory
            .list_facts(with_key(list_facts("u1"), "key-slow"))
            .await
        {
            Ok(_) => {}
            Err(status) => refused.push((status, started.elapsed())),
        }
    }
    // A burst of one second's worth (2) passes; the rest are refused.
    assert!(refused.len() >= 3, "{refused:?}");
    for (status, took) in &refused {
        assert_exhausted_with_retry_info(status, "RATE_LIMITED");
        assert!(status.message().contains("acme-key"), "{status:?}");
        assert!(
            *took < Duration::from_secs(1),
            "refused only after {took:?}"
        );
    }
    for _ in 0..6 {
        memory
            .list_facts(with_key(list_facts("u1"), "key-free"))
            .await
            .unwrap();
    }
    server.stop().await;
}

/// Starts a Chat whose upstream holds the stream open after its first
/// delta until `gate` gets a permit; returns once the delta arrived.
async fn open_stream(
    server: &TestServer,
    key: Option<&str>,
    session: &str,
) -> Result<tonic::Streaming<pb::ChatResponse>, tonic::Status> {
    let request = chat_request("u1", session, "hi");
    let request = match key {
        Some(key) => with_key(request, key),
        None => tonic::Request::new(request),
    };
    let mut stream = server.chat().await.chat(request).await?.into_inner();
    // Started, then the first delta.
    stream.message().await?;
    stream.message().await?;
    Ok(stream)
}

fn held_streams(upstream: &FakeOpenAi) -> Arc<Semaphore> {
    let gate = Arc::new(Semaphore::new(0));
    upstream.set_script(Script {
        pieces: vec!["one ".into(), "two".into()],
        gate: Some(gate.clone()),
        ..Script::default()
    });
    gate
}

#[tokio::test]
async fn a_key_at_its_concurrency_limit_is_refused_until_a_call_ends() {
    let upstream = FakeOpenAi::start().await;
    let gate = held_streams(&upstream);
    let (mut config, dir) = test_config(Backend::Sqlite, Some(upstream.base_url())).await;
    let mut one = hashed_key("acme", "key-one");
    one.max_concurrent_calls = Some(1);
    config.auth.keys = vec![one, hashed_key("globex", "key-other")];
    let server = TestServer::start(config, dir).await;

    let held = open_stream(&server, Some("key-one"), "s1").await.unwrap();
    let refused = open_stream(&server, Some("key-one"), "s2")
        .await
        .unwrap_err();
    assert_exhausted_with_retry_info(&refused, "CONCURRENCY_LIMITED");
    // Another key is not affected.
    let other = open_stream(&server, Some("key-other"), "s3").await.unwrap();

    gate.add_permits(10);
    let (_, status) = collect(held).await;
    assert!(status.is_none(), "{status:?}");
    let (_, status) = collect(other).await;
    assert!(status.is_none(), "{status:?}");
    // The call ended, so its slot is free again.
    let again = open_stream(&server, Some("key-one"), "s4").await.unwrap();
    let (_, status) = collect(again).await;
    assert!(status.is_none(), "{status:?}");
    server.stop().await;
}

#[tokio::test]
async fn calls_over_the_global_limit_are_shed_and_health_stays_up() {
    let upstream = FakeOpenAi::start().await;
    let gate = held_streams(&upstream);
    let (mut config, dir) = test_config(Backend::Sqlite, Some(upstream.base_url())).await;
    config.server.max_concurrent_calls = 2;
    let server = TestServer::start(config, dir).await;

    let first = open_stream(&server, None, "s1").await.unwrap();
    let second = open_stream(&server, None, "s2").await.unwrap();
    let started = Instant::now();
    let shed = open_stream(&server, None, "s3").await.unwrap_err();
    assert_exhausted_with_retry_info(&shed, "OVERLOADED");
    assert!(started.elapsed() < Duration::from_secs(1));
    let shed_unary = server
        .memory()
        .await
        .list_facts(list_facts("u1"))
        .await
        .unwrap_err();
    assert_eq!(shed_unary.code(), Code::ResourceExhausted);
    // Probes are never shed.
    let mut health = tonic_health::pb::health_client::HealthClient::new(server.channel().await);
    let serving = health
        .check(tonic_health::pb::HealthCheckRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(serving.status, 1);

    gate.add_permits(10);
    for stream in [first, second] {
        let (_, status) = collect(stream).await;
        assert!(status.is_none(), "{status:?}");
    }
    server
        .memory()
        .await
        .list_facts(list_facts("u1"))
        .await
        .unwrap();
    server.stop().await;
}

#[tokio::test]
async fn an_oversized_request_is_resource_exhausted() {
    let upstream = FakeOpenAi::start().await;
    let (mut config, dir) = test_config(Backend::Sqlite, Some(upstream.base_url())).await;
    config.server.max_request_bytes = 64 * 1024;
    let server = TestServer::start(config, dir).await;
    let big = chat_request("u1", "s", &"x".repeat(100 * 1024));
    let status = server.chat().await.chat(big).await.unwrap_err();
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    // Within the limit, the same call goes through.
    let fine = server
        .chat()
        .await
        .chat(chat_request("u1", "s", &"x".repeat(10 * 1024)))
        .await
        .unwrap();
    let (_, status) = collect(fine.into_inner()).await;
    assert!(status.is_none(), "{status:?}");
    server.stop().await;
}
