//! Wires the services together and runs the gRPC server.
//!
//! Health turns SERVING only after migrations ran and the pool is ready,
//! and NOT_SERVING as soon as shutdown begins, so load balancers stop
//! sending new calls while in-flight ones finish.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use futures_util::future::BoxFuture;
use tokio::net::TcpListener;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::transport::Server;

use crate::augment::{self, Augmenter, JobContext, JobWaker};
use crate::chat::ChatEngine;
use crate::config::Config;
use crate::embed::EmbedderCell;
use crate::grpc::admission::AdmissionLayer;
use crate::grpc::chat::ChatApi;
use crate::grpc::memory::MemoryApi;
use crate::ingest::Ingestor;
use crate::keys::KeyRing;
use crate::pb;
use crate::pb::chat_service_server::ChatServiceServer;
use crate::pb::memory_service_server::MemoryServiceServer;
use crate::providers::Router;
use crate::recall::Recaller;
use crate::recall::cache::IndexCache;
use crate::storage::Store;
use tokio_util::task::TaskTracker;

/// Connects to storage and applies pending migrations.
pub async fn open_store(config: &Config) -> anyhow::Result<Store> {
    let store = Store::connect(&config.storage)
        .await
        .context("opening storage")?;
    store.migrate().await.context("migrating storage")?;
    Ok(store)
}

/// Runs the server on `listener` until `shutdown` resolves, then drains.
pub async fn serve(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    crate::http::install_crypto_provider();
    // Unusable certificate files stop the start, before storage is touched.
    let tls = config
        .server
        .tls
        .as_ref()
        .map(crate::tls::ReloadingTls::load)
        .transpose()?;
    if let Some(listen) = config.metrics.listen {
        crate::telemetry::install(listen)?;
    }
    let router = Arc::new(Router::from_config(
        &config.providers,
        config.routing.clone(),
    )?);
    let store = open_store(&config).await?;
    let keys = KeyRing::load(&config.auth, store.clone()).await?;
    if !keys.is_enabled() {
        tracing::warn!(
            "no API keys (config, keys file or `memorid keys create`): auth is off, every caller uses namespace \"default\""
        );
    }
    let waker = JobWaker::default();
    let embedder = EmbedderCell::new(config.embeddings.clone());
    // Every background task (sweeper; augmentation's workers, gauges and
    // job listener) runs on `tasks`, which shutdown waits for before the
    // store closes; `background` stops the server's own.
    let tasks = TaskTracker::new();
    let background = tokio_util::sync::CancellationToken::new();
    tasks.spawn(sweep_abandoned_turns(
        store.clone(),
        Duration::from_secs(config.chat.abandoned_after_secs),
        background.clone(),
    ));
    keys.spawn_reloader(&tasks, background.clone());
    // Recall and augmentation share the per-entity fact indexes.
    let recaller = Recaller::new(store.clone(), embedder.clone(), &config.recall);
    let augmenter = if config.augmentation.enabled {
        Some(
            start_augmentation(
                &config,
                &store,
                &router,
                &embedder,
                recaller.indexes(),
                waker.clone(),
                &tasks,
            )
            .await?,
        )
    } else {
        tracing::info!("augmentation is off in this replica (augmentation.enabled = false)");
        None
    };

    let engine = ChatEngine::new(
        store.clone(),
        router,
        config.limits.clone(),
        config.chat.clone(),
        waker.clone(),
        recaller.clone(),
    );
    let ingestor = Ingestor::new(store.clone(), config.limits.clone(), waker);
    let max_request = config.server.max_request_bytes;
    let chat = ChatServiceServer::new(ChatApi::new(engine)).max_decoding_message_size(max_request);
    let memory = MemoryServiceServer::new(MemoryApi::new(
        crate::memories::Memories::new(store.clone(), recaller),
        ingestor,
    ))
    .max_decoding_message_size(max_request);

    let (health, health_service) = tonic_health::server::health_reporter();
    // Health is described too, so grpcurl and friends can call it.
    let reflection_v1 = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(pb::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()?;
    let reflection_v1alpha = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(pb::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1alpha()?;

    health.set_serving::<ChatServiceServer<ChatApi>>().await;
    health.set_serving::<MemoryServiceServer<MemoryApi>>().await;
    health
        .set_service_status("", tonic_health::ServingStatus::Serving)
        .await;

    let address = listener.local_addr()?;
    tracing::info!(%address, storage = store.kind(), tls = tls.is_some(), "memorid serving");

    let grace = Duration::from_secs(config.server.shutdown_grace_secs);
    let health_on_shutdown = health.clone();
    let (draining_tx, draining_rx) = tokio::sync::oneshot::channel::<()>();
    let signal = async move {
        shutdown.await;
        let _ = draining_tx.send(());
        tracing::info!("shutting down: draining in-flight calls");
        health_on_shutdown
            .set_not_serving::<ChatServiceServer<ChatApi>>()
            .await;
        health_on_shutdown
            .set_not_serving::<MemoryServiceServer<MemoryApi>>()
            .await;
        health_on_shutdown
            .set_service_status("", tonic_health::ServingStatus::NotServing)
            .await;
    };

    // The plaintext health-only port runs until the main server has
    // drained, so probes see NOT_SERVING meanwhile.
    let health_stop = tokio_util::sync::CancellationToken::new();
    if let Some(listen) = config.server.health_listen {
        let listener = TcpListener::bind(listen)
            .await
            .with_context(|| format!("server.health_listen {listen}"))?;
        tracing::info!(address = %listen, "grpc.health.v1 in plaintext");
        let server = Server::builder()
            .add_service(health_service.clone())
            .serve_with_incoming_shutdown(
                TcpListenerStream::new(listener),
                health_stop.clone().cancelled_owned(),
            );
        tasks.spawn(async move {
            if let Err(error) = server.await {
                tracing::warn!(%error, "the health port failed");
            }
        });
    }

    let router = Server::builder()
        .http2_keepalive_interval(Some(Duration::from_secs(30)))
        .layer(AdmissionLayer::new(
            keys,
            config.server.max_concurrent_calls,
        ))
        .add_service(health_service)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha)
        .add_service(chat)
        .add_service(memory);
    let server: BoxFuture<'static, Result<(), tonic::transport::Error>> = match tls {
        Some(tls) => {
            tls.spawn_reloader(&tasks, background.clone());
            Box::pin(router.serve_with_incoming_shutdown(tls.incoming(listener), signal))
        }
        None => {
            let incoming = TcpListenerStream::new(listener).map(|stream| {
                // Deltas are small writes; Nagle would hold them back.
                stream.inspect(|s| {
                    let _ = s.set_nodelay(true);
                })
            });
            Box::pin(router.serve_with_incoming_shutdown(incoming, signal))
        }
    };

    // The server drains in-flight calls on its own; the grace period caps
    // how long a stuck stream can hold the process.
    let grace_expired = async move {
        if draining_rx.await.is_ok() {
            tokio::time::sleep(grace).await;
        } else {
            std::future::pending::<()>().await;
        }
    };
    let result = tokio::select! {
        result = server => result,
        _ = grace_expired => {
            tracing::warn!(?grace, "shutdown grace period over: abandoning in-flight calls");
            Ok(())
        }
    };
    health_stop.cancel();
    background.cancel();
    if let Some(augmenter) = augmenter {
        augmenter.shutdown().await;
    }
    tasks.close();
    tasks.wait().await;
    store.close().await;
    result.context("gRPC server failed")
}

/// Marks abandoned streaming turns interrupted, now and every minute,
/// until cancelled.
async fn sweep_abandoned_turns(
    store: Store,
    older_than: Duration,
    cancel: tokio_util::sync::CancellationToken,
) {
    loop {
        match store.sweep_abandoned_turns(older_than).await {
            Ok(0) => {}
            Ok(swept) => tracing::warn!(swept, "marked abandoned streaming turns interrupted"),
            Err(error) => tracing::debug!(%error, "sweeping abandoned turns failed"),
        }
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(Duration::from_secs(60)) => {}
        }
    }
}

/// Loads the embedder (installing the built-in model on first use) and
/// starts this replica's augmentation workers.
async fn start_augmentation(
    config: &Config,
    store: &Store,
    router: &Arc<Router>,
    embedder: &EmbedderCell,
    indexes: Arc<IndexCache>,
    waker: JobWaker,
    tasks: &TaskTracker,
) -> anyhow::Result<Augmenter> {
    let embedder = embedder
        .get()
        .await
        .context("loading the embedding model")?
        .clone();
    report_other_embedding_models(store, embedder.model_name()).await?;
    let extraction = match &config.augmentation.extraction_model {
        Some(model) => Some(
            router
                .resolve(model)
                .map_err(|e| anyhow::anyhow!("augmentation.extraction_model: {e}"))?,
        ),
        None => {
            tracing::info!(
                "no augmentation.extraction_model: messages are indexed, no facts extracted"
            );
            None
        }
    };
    let context = JobContext {
        store: store.clone(),
        embedder,
        router: router.clone(),
        extraction,
        near_duplicate_threshold: config.augmentation.near_duplicate_threshold,
        closest_facts: config.augmentation.closest_facts,
        indexes,
        extraction_timeout: Duration::from_secs(config.augmentation.extraction_timeout_secs),
        owner: augment::new_owner(),
    };
    Ok(Augmenter::start(
        context,
        config.augmentation.clone(),
        waker,
        tasks,
    ))
}

/// Vectors of another model or dimension are never compared with the
/// current model's; say so at start, so a model change is not silent.
async fn report_other_embedding_models(store: &Store, current: &str) -> anyhow::Result<()> {
    for (model, dimension, count) in store.embedding_models().await? {
        if model != current {
            tracing::warn!(
                stored_model = %model,
                dimension,
                count,
                current_model = %current,
                "stored vectors come from another embedding model; they are not mixed with the \
                 current model's"
            );
        }
    }
    Ok(())
}
