//! Any OpenAI-compatible `/embeddings` endpoint (OpenAI, Ollama, vLLM,
//! llama.cpp, …).
//!
//! Vectors are asked for as base64 (little-endian f32, what OpenAI's own
//! SDKs ask for): a quarter of the bytes of JSON numbers and no float
//! parsing. A server that ignores `encoding_format` and answers with
//! numbers is understood too; one that refuses the parameter (HTTP 400 or
//! 422) is asked again with plain floats, and only floats from then on.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use base64::Engine;
use serde::Deserialize;
use serde_json::json;

use crate::error::{Error, Result};
use crate::http::{self, ApiKey};

/// How errors name this upstream.
const UPSTREAM: &str = "the embeddings endpoint";

#[derive(Debug, Clone)]
pub struct OpenAiEmbedder {
    client: reqwest::Client,
    url: String,
    model: String,
    api_key: Option<ApiKey>,
    /// Set once the endpoint refused `encoding_format: base64`.
    floats_only: Arc<AtomicBool>,
}

#[derive(Deserialize)]
struct Answer {
    data: Vec<Item>,
}

#[derive(Deserialize)]
struct Item {
    index: usize,
    embedding: Encoded,
}

/// A vector as the endpoint sent it.
enum Encoded {
    Floats(Vec<f32>),
    Base64(String),
}

/// By the JSON type seen, rather than `#[serde(untagged)]`: that tried
/// the variants in turn, and each base64 string first failed as a list of
/// floats with an error message quoting all of it.
impl<'de> Deserialize<'de> for Encoded {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Either;
        impl<'de> serde::de::Visitor<'de> for Either {
            type Value = Encoded;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a list of numbers or a base64 string")
            }
            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Encoded, E> {
                Ok(Encoded::Base64(text.to_string()))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut numbers: A,
            ) -> Result<Encoded, A::Error> {
                let mut vector = Vec::with_capacity(numbers.size_hint().unwrap_or(0));
                while let Some(number) = numbers.next_element::<f32>()? {
                    vector.push(number);
                }
                Ok(Encoded::Floats(vector))
            }
        }
        deserializer.deserialize_any(Either)
    }
}

impl Encoded {
    fn decode(self) -> std::result::Result<Vec<f32>, String> {
        match self {
            Encoded::Floats(vector) => Ok(vector),
            Encoded::Base64(text) => {
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(text.as_bytes())
                    .map_err(|e| format!("a base64 embedding is not valid base64: {e}"))?;
                if bytes.len() % 4 != 0 {
                    return Err(format!(
                        "a base64 embedding has {} bytes, not a whole number of f32s",
                        bytes.len()
                    ));
                }
                Ok(bytes
                    .chunks_exact(4)
                    .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                    .collect())
            }
        }
    }
}

impl OpenAiEmbedder {
    pub fn new(base_url: &str, model: &str, api_key: Option<ApiKey>) -> anyhow::Result<Self> {
        Ok(OpenAiEmbedder {
            client: http::client(Duration::from_secs(10))?,
            url: format!("{}/embeddings", base_url.trim_end_matches('/')),
            model: model.to_string(),
            api_key,
            floats_only: Arc::default(),
        })
    }

    pub fn model(&self) -> &str {
        &self.model
    }

    pub async fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>> {
        let base64 = !self.floats_only.load(Ordering::Relaxed);
        let response = self.post(texts, base64).await?;
        let status = response.status();
        let response = if base64
            && (status == reqwest::StatusCode::BAD_REQUEST
                || status == reqwest::StatusCode::UNPROCESSABLE_ENTITY)
        {
            let retried = self.post(texts, false).await?;
            if retried.status().is_success() {
                tracing::info!(url = %self.url, "the embeddings endpoint refuses base64; asking for floats from now on");
                self.floats_only.store(true, Ordering::Relaxed);
            }
            retried
        } else {
            response
        };
        if !response.status().is_success() {
            return Err(http::error_of(UPSTREAM, response).await);
        }
        let mut answer: Answer = http::json_body(UPSTREAM, response).await?;
        if answer.data.len() != texts.len() {
            return Err(Error::UpstreamUnavailable(format!(
                "{UPSTREAM} returned {} vectors for {} inputs",
                answer.data.len(),
                texts.len()
            )));
        }
        answer.data.sort_by_key(|item| item.index);
        answer
            .data
            .into_iter()
            .map(|item| {
                item.embedding
                    .decode()
                    .map_err(|e| Error::UpstreamUnavailable(format!("{UPSTREAM}: {e}")))
            })
            .collect()
    }

    async fn post(&self, texts: &[String], base64: bool) -> Result<reqwest::Response> {
        let body = if base64 {
            json!({ "model": self.model, "input": texts, "encoding_format": "base64" })
        } else {
            json!({ "model": self.model, "input": texts })
        };
        let mut request = self
            .client
            .post(&self.url)
            .timeout(Duration::from_secs(60))
            .json(&body);
        if let Some(key) = &self.api_key {
            request = request.header(reqwest::header::AUTHORIZATION, key.header("Bearer "));
        }
        request
            .send()
            .await
            .map_err(|e| http::transport_error(UPSTREAM, &e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_vectors_decode_as_little_endian_f32() {
        let vector = [0.5f32, -1.25, 3.0];
        let bytes: Vec<u8> = vector.iter().flat_map(|v| v.to_le_bytes()).collect();
        let text = base64::engine::general_purpose::STANDARD.encode(bytes);
        assert_eq!(Encoded::Base64(text).decode().unwrap(), vector);
        assert_eq!(
            Encoded::Floats(vector.to_vec()).decode().unwrap(),
            vector.to_vec()
        );
    }

    #[test]
    fn answers_are_read_by_the_type_of_each_embedding() {
        let read = |json: &str| -> std::result::Result<Vec<f32>, String> {
            let answer: Answer = serde_json::from_str(json).map_err(|e| e.to_string())?;
            answer.data.into_iter().next().unwrap().embedding.decode()
        };
        // 0.5 as a little-endian f32 is 00 00 00 3f.
        assert_eq!(
            read(r#"{"data":[{"index":0,"embedding":"AAAAPw=="}]}"#),
            Ok(vec![0.5])
        );
        assert_eq!(
            read(r#"{"data":[{"index":0,"embedding":[0.5,-2]}]}"#),
            Ok(vec![0.5, -2.0])
        );
        let error = read(r#"{"data":[{"index":0,"embedding":7}]}"#).unwrap_err();
        assert!(
            error.contains("a list of numbers or a base64 string"),
            "{error}"
        );
    }

    #[test]
    fn a_truncated_base64_vector_is_refused() {
        let text = base64::engine::general_purpose::STANDARD.encode([0u8; 6]);
        let error = Encoded::Base64(text).decode().unwrap_err();
        assert!(error.contains("6 bytes"), "{error}");
        assert!(Encoded::Base64("not base64!".into()).decode().is_err());
    }
}
