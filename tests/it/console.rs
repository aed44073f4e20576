//! `memorid chat`, `recall` and `facts`: the real binary against a real
//! server on a socket, as an operator runs them.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::time::Duration;

use memorid::pb;
use serde_json::Value;
use tokio::sync::Semaphore;

use crate::augmentation::enable_augmentation;
use crate::support::fake_openai::{FakeOpenAi, Script};
use crate::support::*;

fn memorid(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_memorid"));
    command
        .args(args)
        .env("RUST_LOG", "warn")
        .env_remove("MEMORID_API_KEY")
        .env_remove("MEMORID_ADDRESS");
    command
}

fn run(args: &[&str]) -> Output {
    memorid(args).output().expect("running memorid")
}

fn stdout(output: &Output) -> String {
    assert!(
        output.status.success(),
        "memorid failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout.clone()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_prints_each_token_as_it_arrives_and_keeps_the_session() {
    let upstream = FakeOpenAi::start().await;
    let gate = Arc::new(Semaphore::new(0));
    upstream.set_script(Script {
        pieces: vec!["piece0 ".into(), "piece1 ".into(), "piece2".into()],
        gate: Some(gate.clone()),
        ..Script::default()
    });
    let server = TestServer::with_upstream(Backend::Sqlite, &upstream).await;
    let url = server.url();

    // The upstream holds its second piece until the first is on screen.
    let mut child = memorid(&[
        "chat", "--server", &url, "--entity", "u1", "--model", "fake/m", "hello",
    ])
    .stdout(Stdio::piped())
    .spawn()
    .unwrap();
    let mut out = child.stdout.take().unwrap();
    let seen = tokio::task::spawn_blocking(move || {
        let mut seen = Vec::new();
        let mut byte = [0u8; 1];
        while !String::from_utf8_lossy(&seen).contains("piece0") {
            if out.read(&mut byte).unwrap() == 0 {
                break;
            }
            seen.push(byte[0]);
        }
        (seen, out)
    });
    let (seen, mut out) = tokio::time::timeout(Duration::from_secs(20), seen)
        .await
        .expect("the first token was held back")
        .unwrap();
    assert!(String::from_utf8_lossy(&seen).contains("piece0"));
    gate.add_permits(10);
    let mut rest = String::new();
    tokio::task::spawn_blocking(move || out.read_to_string(&mut rest).map(|_| rest))
        .await
        .unwrap()
        .map(|rest| {
            assert_eq!(
                format!("{}{rest}", String::from_utf8_lossy(&seen)),
                "piece0 piece1 piece2\n"
            )
        })
        .unwrap();
    assert!(child.wait().unwrap().success());

    // --json: one event a line.
    let lines = stdout(&run(&[
        "chat", "--server", &url, "--entity", "u1", "--model", "fake/m", "--json", "hi",
    ]));
    let events: Vec<Value> = lines
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(events[0]["started"]["session_id"].is_string(), "{lines}");
    assert_eq!(events[1]["delta"]["text"], "piece0 ");
    assert_eq!(
        events.last().unwrap()["completed"]["finish_reason"],
        "FINISH_REASON_STOP"
    );

    // Without a question: a conversation on stdin, in one session.
    let mut child = memorid(&[
        "chat", "--server", &url, "--entity", "u2", "--model", "fake/m", "--json",
    ])
    .stdin(Stdio::piped())
    .stdout(Stdio::piped())
    .spawn()
    .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"first question\nsecond question\n")
        .unwrap();
    let output = tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    let sessions: Vec<String> = BufReader::new(&output.stdout[..])
        .lines()
        .map(|l| serde_json::from_str::<Value>(&l.unwrap()).unwrap())
        .filter_map(|e| e["started"]["session_id"].as_str().map(String::from))
        .collect();
    assert_eq!(sessions.len(), 2);
    assert_eq!(sessions[0], sessions[1], "the session is kept");
    let session = get_session(&server, "u2", &sessions[0]).await.unwrap();
    assert_eq!(session.turns.len(), 2);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recall_and_facts_print_tables_and_json() {
    let extractor = FakeOpenAi::echoing_facts().await;
    let (mut config, dir) = test_config(Backend::Sqlite, None).await;
    enable_augmentation(&mut config, &extractor);
    let server = TestServer::start(config, dir).await;
    let mut memory = server.memory().await;
    let turns = ["I am allergic to peanuts", "My flight number is LX1612"]
        .iter()
        .enumerate()
        .map(|(i, text)| pb::AttributeRequest {
            attribution: attribution("u1", "s1"),
            messages: vec![user(text), assistant("Noted.")],
            idempotency_key: format!("k{i}"),
            ..Default::default()
        })
        .collect::<Vec<_>>();
    let mut stored = memory
        .attribute(tokio_stream::iter(turns))
        .await
        .unwrap()
        .into_inner();
    let mut turn_ids = Vec::new();
    while let Some(answer) = stored.message().await.unwrap() {
        turn_ids.push(answer.turn_id);
    }
    let done = memory
        .wait_for_augmentation(pb::WaitForAugmentationRequest {
            attribution: whole_entity("u1"),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(done.completed);
    let url = server.url();

    let table = stdout(&run(&[
        "recall",
        "--server",
        &url,
        "--entity",
        "u1",
        "--limit",
        "1",
        "peanut allergy",
    ]));
    let lines: Vec<&str> = table.lines().collect();
    assert!(
        lines[0].starts_with("SCORE") && lines[0].contains("SOURCE TURNS"),
        "{table}"
    );
    assert_eq!(lines.len(), 2, "{table}");
    assert!(
        lines[1].contains("fact") && lines[1].contains("I am allergic to peanuts"),
        "{table}"
    );
    assert!(lines[1].contains(&turn_ids[0]), "the source turn: {table}");

    let json = stdout(&run(&[
        "facts", "--server", &url, "--entity", "u1", "--json",
    ]));
    let facts: Vec<Value> = json
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let mut contents: Vec<&str> = facts
        .iter()
        .map(|f| f["content"].as_str().unwrap())
        .collect();
    contents.sort();
    assert_eq!(
        contents,
        ["I am allergic to peanuts", "My flight number is LX1612"]
    );
    assert!(
        facts
            .iter()
            .all(|f| f["source_turn_ids"].as_array().unwrap().len() == 1)
    );

    let none = stdout(&run(&["facts", "--server", &url, "--entity", "nobody"]));
    assert_eq!(none, "(no memories)\n");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_down_or_a_wrong_key_is_one_clear_line() {
    // Nothing listens on a port just released.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let down = run(&[
        "facts",
        "--server",
        &format!("http://127.0.0.1:{port}"),
        "--entity",
        "u1",
    ]);
    assert!(!down.status.success());
    let error = String::from_utf8_lossy(&down.stderr);
    assert!(
        error.contains("cannot reach memorid at http://127.0.0.1:"),
        "{error}"
    );

    let upstream = FakeOpenAi::start().await;
    let (mut config, dir) = test_config(Backend::Sqlite, Some(upstream.base_url())).await;
    config.auth.keys = vec![hashed_key("acme", "key-acme")];
    let server = TestServer::start(config, dir).await;
    let url = server.url();
    let refused = run(&[
        "chat",
        "--server",
        &url,
        "--api-key",
        "wrong",
        "--entity",
        "u1",
        "--model",
        "fake/m",
        "hi",
    ]);
    assert!(!refused.status.success());
    let error = String::from_utf8_lossy(&refused.stderr);
    assert!(error.contains("refused the API key"), "{error}");
    // The right key, from the environment.
    let output = memorid(&[
        "chat", "--server", &url, "--entity", "u1", "--model", "fake/m", "hi",
    ])
    .env("MEMORID_API_KEY", "key-acme")
    .output()
    .unwrap();
    assert_eq!(stdout(&output), "Hello, world\n");
    // A bad request names the field.
    let bad = run(&[
        "recall",
        "--server",
        &url,
        "--api-key",
        "key-acme",
        "--entity",
        "",
        "x",
    ]);
    assert!(!bad.status.success());
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("attribution.entity_id"),
        "{}",
        String::from_utf8_lossy(&bad.stderr)
    );
    server.stop().await;
}
