//! Any OpenAI-compatible `/embeddings` endpoint (OpenAI, Ollama, vLLM,
//! llama.cpp, …).

use std::time::Duration;

use serde::Deserialize;
use serde_json::json;

use crate::error::{Error, Result};

#[derive(Debug, Clone)]
pub struct OpenAiEmbedder {
    client: reqwest::Client,
    url: String,
    model: String,
    api_key: Option<String>,
}

#[derive(Deserialize)]
struct Answer {
    data: Vec<Item>,
}

#[derive(Deserialize)]
struct Item {
    index: usize,
    embedding: Vec<f32>,
}

impl OpenAiEmbedder {
    pub fn new(base_url: &str, model: &str, api_key: Option<String>) -> anyhow::Result<Self> {
        crate::server::install_crypto_provider();
        Ok(OpenAiEmbedder {
            client: reqwest::Client::builder()
                .connect_timeout(Duration::from_secs(10))
                .timeout(Duration::from_secs(60))
                .build()?,
            url: format!("{}/embeddings", base_url.trim_end_matches('/')),
            model: model.to_string(),
            api_key,
        })
    }

    pub fn model(&self) -> &str {
        &self.model
    }

    pub async fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>> {
        let mut request = self
            .client
            .post(&self.url)
            .json(&json!({ "model": self.model, "input": texts }));
        if let Some(key) = &self.api_key {
            request = request.bearer_auth(key);
        }
        let response = request
            .send()
            .await
            .map_err(|e| Error::UpstreamUnavailable(format!("embeddings endpoint: {e}")))?;
        let status = response.status();
        if !status.is_success() {
            return Err(Error::UpstreamUnavailable(format!(
                "embeddings endpoint answered HTTP {}",
                status.as_u16()
            )));
        }
        let mut answer: Answer = response
            .json()
            .await
            .map_err(|e| Error::UpstreamUnavailable(format!("embeddings endpoint: {e}")))?;
        if answer.data.len() != texts.len() {
            return Err(Error::UpstreamUnavailable(format!(
                "embeddings endpoint returned {} vectors for {} inputs",
                answer.data.len(),
                texts.len()
            )));
        }
        answer.data.sort_by_key(|item| item.index);
        Ok(answer.data.into_iter().map(|item| item.embedding).collect())
    }
}
