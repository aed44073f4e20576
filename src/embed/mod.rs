//! Embedding backends: a built-in model on CPU (e5-small-v2 by default,
//! or all-MiniLM-L6-v2) or any OpenAI-compatible `/embeddings` endpoint.
//!
//! Every stored vector records the model's name and dimension, so vectors
//! of different models are never compared with each other.

mod batcher;
pub mod e5;
pub mod install;
pub mod minilm;
pub mod openai;

use crate::config::{BuiltinModel, EmbeddingBackend, EmbeddingsConfig};
use crate::error::{Error, Result};

/// What a text is embedded as: models trained with roles (e5) embed what
/// is searched for differently from what is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Query,
    Passage,
}

/// The name a built-in model's vectors are recorded with.
pub fn builtin_model_name(model: BuiltinModel) -> &'static str {
    match model {
        BuiltinModel::E5SmallV2 => e5::MODEL_NAME,
        BuiltinModel::AllMiniLmL6V2 => minilm::MODEL_NAME,
    }
}

/// The cosine at and below which `model`'s vectors are of unrelated texts,
/// so recall scales its dense part from there (`memory::index::rank`).
/// e5's cosines crowd into a high band: on the tuning split, question and
/// unrelated turn measured p1 0.67, p10 0.70, median 0.75, and question
/// and evidence p10 0.80, median 0.84; from 0.7 its dense parts spread like
/// MiniLM's raw cosines, so `min_score` thresholds (chat's 0.3) keep their
/// meaning. Other models' cosines are used as they are.
pub fn similarity_floor(model: &str) -> f64 {
    if model == e5::MODEL_NAME { 0.7 } else { 0.0 }
}

/// Loads a built-in model into a batcher: e5 as two ONNX Runtime
/// sessions (one per batcher thread), MiniLM as one set of shared weights.
fn start_builtin(model: BuiltinModel, dir: &std::path::Path) -> anyhow::Result<batcher::Batcher> {
    match model {
        BuiltinModel::E5SmallV2 => {
            // Queries are single sentences someone waits for: one thread
            // keeps their latency steady under load. Background batches
            // are split over one single-threaded session per core (up to
            // two).
            let cores = std::thread::available_parallelism()
                .map_or(1, |n| n.get())
                .min(2);
            batcher::Batcher::start(
                Box::new(e5::E5::load(dir, 1)?),
                Box::new(e5::E5Pool::load(dir, cores)?),
            )
        }
        BuiltinModel::AllMiniLmL6V2 => {
            let weights = std::sync::Arc::new(minilm::MiniLm::load(dir)?);
            batcher::Batcher::start(Box::new(weights.clone()), Box::new(weights))
        }
    }
}

#[derive(Clone)]
pub enum Embedder {
    /// The model's recorded name and its batcher.
    Builtin(&'static str, batcher::Batcher),
    OpenAi(openai::OpenAiEmbedder),
}

impl Embedder {
    /// Builds the configured backend; the built-in model is installed on
    /// first use if `auto_install` is set.
    pub fn from_config(config: &EmbeddingsConfig) -> anyhow::Result<Embedder> {
        match config.backend {
            EmbeddingBackend::Builtin => {
                let model = config.builtin_model;
                let dir = config
                    .model_dir
                    .clone()
                    .unwrap_or_else(|| install::default_model_dir(model));
                if !install::is_installed(model, &dir) {
                    if !config.auto_install {
                        anyhow::bail!(
                            "the embedding model is not in {}; run `memorid install-model` \
                             (or set embeddings.auto_install = true)",
                            dir.display()
                        );
                    }
                    install::ensure_installed(model, &dir)?;
                }
                Ok(Embedder::Builtin(
                    builtin_model_name(model),
                    start_builtin(model, &dir)?,
                ))
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
            Embedder::Builtin(name, _) => name,
            Embedder::OpenAi(e) => e.model(),
        }
    }

    /// The text a message's vector is of. e5 gets the speaker in front
    /// (`Name: text`): on the tuning split that raised its dense-only MRR
    /// from 0.46 to 0.64, while MiniLM's dense recall@10 fell from 0.73 to
    /// 0.62 with it, so MiniLM embeds the text alone. Endpoint models get
    /// the name, like e5.
    pub fn message_text<'a>(
        &self,
        name: Option<&str>,
        content: &'a str,
    ) -> std::borrow::Cow<'a, str> {
        match self {
            Embedder::Builtin(minilm::MODEL_NAME, _) => content.into(),
            _ => crate::domain::memory::spoken(name, content),
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
            Embedder::Builtin(_, batcher) => batcher
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
            Embedder::Builtin(_, batcher) => batcher
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
            EmbeddingBackend::Builtin => Ok(builtin_model_name(self.config.builtin_model)),
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
