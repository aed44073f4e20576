//! Test support: the real server started in-process on a real socket,
//! against a throwaway PostgreSQL or a SQLite file, with fake upstreams.

pub mod fake_anthropic;
pub mod fake_gemini;
pub mod fake_openai;
pub mod local_llm;
pub mod postgres;
pub mod process;

use std::net::SocketAddr;
use std::time::Duration;

use memorid::config::{Config, ProviderConfig, ProviderKind};
use memorid::pb;
use memorid::pb::chat_service_client::ChatServiceClient;
use memorid::pb::memory_service_client::MemoryServiceClient;
use tempfile::TempDir;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tonic::transport::Channel;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Generates `mod name { sqlite(), postgres() }` running `name(Backend)`.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name($crate::support::Backend::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name($crate::support::Backend::Postgres).await
            }
        }
    )*};
}

/// A storage URL for a new, empty store; the TempDir keeps a SQLite file.
pub async fn fresh_storage(backend: Backend) -> (String, Option<TempDir>) {
    match backend {
        Backend::Sqlite => {
            let dir = tempfile::tempdir().unwrap();
            let url = format!("sqlite://{}", dir.path().join("memorid.db").display());
            (url, Some(dir))
        }
        Backend::Postgres => (postgres::fresh_database().await, None),
    }
}

pub struct TestServer {
    pub addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    handle: Option<JoinHandle<anyhow::Result<()>>>,
    _dir: Option<TempDir>,
}

/// Serves a fake upstream on a free loopback port. Like real APIs'
/// servers, it sends small SSE frames at once (TCP_NODELAY), not after
/// Nagle's algorithm waits for an ACK.
pub async fn serve_fake(app: axum::Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        let _ = tcp.set_nodelay(true);
    });
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

/// A provider of `kind` at `base_url`, without a key.
pub fn provider(kind: ProviderKind, base_url: String) -> ProviderConfig {
    ProviderConfig {
        kind,
        base_url,
        api_key_env: None,
        api_key_file: None,
        api_version: None,
        connect_timeout_secs: 2,
    }
}

/// A config for tests: fresh storage, the fake upstream as provider `fake`.
pub async fn test_config(
    backend: Backend,
    upstream_base_url: Option<String>,
) -> (Config, Option<TempDir>) {
    let (url, dir) = fresh_storage(backend).await;
    let mut config = Config::default();
    config.storage.url = url;
    config.storage.max_connections = 8;
    config.server.shutdown_grace_secs = 5;
    // Tests that exercise retries turn them on with short backoffs.
    config.routing.max_attempts = 1;
    // Tests of the augmentation stage turn it on (it loads the model).
    config.augmentation.enabled = false;
    if let Some(base_url) = upstream_base_url {
        config
            .providers
            .insert("fake".into(), provider(ProviderKind::Openai, base_url));
    }
    (config, dir)
}

impl TestServer {
    pub async fn start(config: Config, dir: Option<TempDir>) -> TestServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = oneshot::channel();
        let handle = tokio::spawn(memorid::server::serve(config, listener, async {
            let _ = rx.await;
        }));
        let server = TestServer {
            addr,
            shutdown: Some(tx),
            handle: Some(handle),
            _dir: dir,
        };
        server.wait_until_serving().await;
        server
    }

    /// Starts a server on `backend` whose provider `fake` is `upstream`.
    pub async fn with_upstream(backend: Backend, upstream: &fake_openai::FakeOpenAi) -> TestServer {
        let (config, dir) = test_config(backend, Some(upstream.base_url())).await;
        TestServer::start(config, dir).await
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub async fn channel(&self) -> Channel {
        Channel::from_shared(self.url())
            .unwrap()
            .connect()
            .await
            .unwrap()
    }

    pub async fn chat(&self) -> ChatServiceClient<Channel> {
        ChatServiceClient::new(self.channel().await)
    }

    pub async fn memory(&self) -> MemoryServiceClient<Channel> {
        MemoryServiceClient::new(self.channel().await)
    }

    async fn wait_until_serving(&self) {
        use tonic_health::pb::health_client::HealthClient;
        for _ in 0..200 {
            if let Ok(channel) = Channel::from_shared(self.url()).unwrap().connect().await {
                let mut health = HealthClient::new(channel);
                let request = tonic_health::pb::HealthCheckRequest {
                    service: String::new(),
                };
                if let Ok(response) = health.check(request).await
                    && response.into_inner().status == 1
                {
                    return;
                }
            }
            if self.handle.as_ref().unwrap().is_finished() {
                panic!("the server stopped while starting");
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("the server did not become SERVING");
    }

    /// Shuts the server down and waits for it to drain.
    pub async fn stop(mut self) {
        let _ = self.shutdown.take().unwrap().send(());
        let handle = self.handle.take().unwrap();
        tokio::time::timeout(Duration::from_secs(10), handle)
            .await
            .expect("the server did not stop")
            .unwrap()
            .unwrap();
    }
}

/// `message` carrying `authorization: Bearer <key>`.
pub fn with_key<T>(message: T, key: &str) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request.metadata_mut().insert(
        "authorization",
        tonic::metadata::MetadataValue::try_from(format!("Bearer {key}")).unwrap(),
    );
    request
}

/// A configured key for `namespace`, given as the hash of `key`.
pub fn hashed_key(namespace: &str, key: &str) -> memorid::config::ApiKeyConfig {
    memorid::config::ApiKeyConfig {
        namespace: namespace.into(),
        key: None,
        key_sha256: Some(memorid::keys::secret::KeyHash::of(key).hex()),
        name: Some(format!("{namespace}-key")),
        requests_per_second: None,
        max_concurrent_calls: None,
    }
}

pub fn attribution(entity: &str, session: &str) -> Option<pb::Attribution> {
    Some(pb::Attribution {
        entity_id: entity.into(),
        process_id: String::new(),
        session_id: session.into(),
    })
}

/// The attribution of a call that covers a whole entity.
pub fn whole_entity(entity: &str) -> Option<pb::Attribution> {
    attribution(entity, "")
}

pub fn user(content: &str) -> pb::Message {
    pb::Message {
        role: pb::Role::User.into(),
        content: content.into(),
        ..Default::default()
    }
}

pub fn assistant(content: &str) -> pb::Message {
    pb::Message {
        role: pb::Role::Assistant.into(),
        content: content.into(),
        ..Default::default()
    }
}

/// A chat request for `fake/gpt-test` with one user message.
pub fn chat_request(entity: &str, session: &str, text: &str) -> pb::ChatRequest {
    pb::ChatRequest {
        attribution: attribution(entity, session),
        model: "fake/gpt-test".into(),
        messages: vec![user(text)],
        ..Default::default()
    }
}

/// The events of a chat stream until it ends, and the status it ended with.
pub async fn collect(
    mut stream: tonic::Streaming<pb::ChatResponse>,
) -> (Vec<pb::chat_response::Event>, Option<tonic::Status>) {
    let mut events = Vec::new();
    loop {
        match tokio::time::timeout(Duration::from_secs(20), stream.message()).await {
            Err(_) => panic!("the chat stream stalled"),
            Ok(Ok(Some(response))) => events.push(response.event.expect("an event")),
            Ok(Ok(None)) => return (events, None),
            Ok(Err(status)) => return (events, Some(status)),
        }
    }
}

/// The concatenated delta text of a list of events.
pub fn text_of(events: &[pb::chat_response::Event]) -> String {
    events
        .iter()
        .filter_map(|e| match e {
            pb::chat_response::Event::Delta(d) => Some(d.text.as_str()),
            _ => None,
        })
        .collect()
}

/// Reads a session back; panics on errors other than NOT_FOUND.
pub async fn get_session(
    server: &TestServer,
    entity: &str,
    session: &str,
) -> Option<pb::GetSessionResponse> {
    let mut memory = server.memory().await;
    let request = pb::GetSessionRequest {
        attribution: attribution(entity, session),
    };
    match memory.get_session(request).await {
        Ok(response) => Some(response.into_inner()),
        Err(status) if status.code() == tonic::Code::NotFound => None,
        Err(status) => panic!("GetSession failed: {status:?}"),
    }
}

/// Polls until the session's only turn has left the streaming state.
pub async fn wait_for_turn_end(server: &TestServer, entity: &str, session: &str) -> pb::Turn {
    for _ in 0..400 {
        if let Some(session) = get_session(server, entity, session).await
            && let Some(turn) = session.turns.last()
            && turn.status != pb::TurnStatus::Streaming as i32
        {
            return turn.clone();
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("the turn never ended");
}
