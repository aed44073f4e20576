//! Embedding backends: the built-in all-MiniLM-L6-v2 on CPU (the default)
//! or any OpenAI-compatible `/embeddings` endpoint.
//!
//! Every stored vector records the model's name and dimension, so vectors
//! of different models are never compared with each other.

mod batcher;
pub mod install;
pub mod minilm;
pub mod openai;

use crate::config::{EmbeddingBackend, EmbeddingsConfig};
use crate::error::{Error, Result};

#[derive(Clone)]
pub enum Embedder {
    Builtin(batcher::Batcher),
    OpenAi(openai::OpenAiEmbedder),
}

impl Embedder {
    /// Builds the configured backend; the built-in model is installed on
    /// first use if `auto_install` is set.
    pub fn from_config(config: &EmbeddingsConfig) -> anyhow::Result<Embedder> {
        match config.backend {
            EmbeddingBackend::Builtin => {
                let dir = config
                    .model_dir
                    .clone()
                    .unwrap_or_else(install::default_model_dir);
                if !install::is_installed(&dir) {
                    if !config.auto_install {
                        anyhow::bail!(
                            "the embedding model is not in {}; run `memorid install-model` \
                             (or set embeddings.auto_install = true)",
                            dir.display()
                        );
                    }
                    install::ensure_installed(&dir)?;
                }
                Ok(Embedder::Builtin(batcher::Batcher::start(
                    minilm::MiniLm::load(&dir)?,
                )?))
            }
            EmbeddingBackend::Openai => {
                let base_url = config.base_url.as_deref().ok_or_else(|| {
                    anyhow::anyhow!("embeddings.base_url is required with backend \"openai\"")
                })?;
                let model = config.model.as_deref().ok_or_else(|| {
                    anyhow::anyhow!("embeddings.model is required with backend \"openai\"")
                })?;
                let key = config
                    .api_key_env
                    .as_deref()
                    .and_then(crate::http::ApiKey::from_env);
                Ok(Embedder::OpenAi(openai::OpenAiEmbedder::new(
                    base_url, model, key,
                )?))
            }
        }
    }

    /// The model name recorded with each vector.
    pub fn model_name(&self) -> &str {
        match self {
            Embedder::Builtin(_) => minilm::MODEL_NAME,
            Embedder::OpenAi(e) => e.model(),
        }
    }

    /// One vector per text, in order.
    pub async fn embed(&self, texts: Vec<String>) -> Result<Vec<Vec<f32>>> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        let started = std::time::Instant::now();
        let vectors = self.embed_now(texts).await;
        metrics::histogram!(crate::telemetry::EMBEDDING_SECONDS)
            .record(started.elapsed().as_secs_f64());
        vectors
    }

    /// One query's vector, ahead of background work where the backend
    /// allows it.
    pub async fn embed_query(&self, text: String) -> Result<Vec<f32>> {
        let started = std::time::Instant::now();
        let vector = match self {
            Embedder::Builtin(batcher) => batcher
                .embed_query(text)
                .await
                .map_err(|e| Error::Internal(format!("embedding: {e}"))),
            Embedder::OpenAi(e) => e.embed(&[text]).await?.pop().ok_or_else(|| {
                Error::Internal("the embeddings endpoint returned no vector".into())
            }),
        };
        metrics::histogram!(crate::telemetry::EMBEDDING_SECONDS)
            .record(started.elapsed().as_secs_f64());
        vector
    }

    async fn embed_now(&self, texts: Vec<String>) -> Result<Vec<Vec<f32>>> {
        match self {
            Embedder::Builtin(batcher) => batcher
                .embed(texts)
                .await
                .map_err(|e| Error::Internal(format!("embedding: {e}"))),
            Embedder::OpenAi(e) => e.embed(&texts).await,
        }
    }
}

/// The embedder, loaded on first use and shared: augmentation loads it at
/// start; Recall loads it on its first call when augmentation is off.
#[derive(Clone)]
pub struct EmbedderCell {
    config: EmbeddingsConfig,
    cell: std::sync::Arc<tokio::sync::OnceCell<Embedder>>,
}

impl EmbedderCell {
    pub fn new(config: EmbeddingsConfig) -> Self {
        EmbedderCell {
            config,
            cell: Default::default(),
        }
    }

    /// The name of the model vectors are recorded with, known without
    /// loading it (so a recall over nothing never loads the model).
    pub fn model_name(&self) -> Result<&str> {
        match self.config.backend {
            EmbeddingBackend::Builtin => Ok(minilm::MODEL_NAME),
            EmbeddingBackend::Openai => self.config.model.as_deref().ok_or_else(|| {
                Error::Internal("embeddings.model is required with backend \"openai\"".into())
            }),
        }
    }

    pub async fn get(&self) -> Result<&Embedder> {
        self.cell
            .get_or_try_init(|| async {
                let config = self.config.clone();
                tokio::task::spawn_blocking(move || Embedder::from_config(&config))
                    .await
                    .map_err(|e| Error::Internal(format!("loading the embedder: {e}")))?
                    .map_err(|e| Error::Internal(format!("loading the embedder: {e:#}")))
            })
            .await
    }
}
