//! End to end with a real model: a streamed Chat through memorid to
//! SmolLM2-135M running on CPU behind an OpenAI-compatible server.

use memorid::pb;
use memorid::pb::chat_response::Event;

use crate::support::local_llm::LocalLlm;
use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_local_model_streams_through_memorid() {
    let llm = tokio::task::spawn_blocking(LocalLlm::start).await.unwrap();
    let (mut config, dir) = test_config(Backend::Sqlite, None).await;
    config.providers.insert(
        "local".into(),
        provider(memorid::config::ProviderKind::Openai, llm.base_url()),
    );
    let server = TestServer::start(config, dir).await;
    let mut request = chat_request("u1", "s", "Name three colors.");
    request.model = "local/smollm2-135m-instruct".into();
    request.max_tokens = Some(24);
    request.temperature = Some(0.0);
    let response = server.chat().await.chat(request).await.unwrap();
    let (events, status) = collect(response.into_inner()).await;
    assert!(status.is_none(), "{status:?}");

    let deltas = events
        .iter()
        .filter(|e| matches!(e, Event::Delta(_)))
        .count();
    let text = text_of(&events);
    assert!(
        deltas >= 3,
        "a real model streams token by token: {events:?}"
    );
    assert!(!text.trim().is_empty());
    let Some(Event::Completed(completed)) = events.last() else {
        panic!("{events:?}")
    };
    let usage = completed.usage.expect("the server reports usage");
    assert!(
        usage.output_tokens > 0 && usage.input_tokens > 0,
        "{usage:?}"
    );

    let turn = &get_session(&server, "u1", "s").await.unwrap().turns[0];
    assert_eq!(turn.status, pb::TurnStatus::Completed as i32);
    assert_eq!(turn.messages[1].content, text);
    server.stop().await;
}
