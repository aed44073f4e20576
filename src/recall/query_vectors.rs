//! Query embeddings kept for repeated queries.
//!
//! Embedding the query is usually the slowest step of a recall (the
//! built-in model takes milliseconds per sentence), and applications ask
//! the same things again and again. Vectors are keyed by model and exact
//! text and bounded by count, least recently used first out.

use std::sync::{Arc, Mutex};

use crate::embed::Embedder;
use crate::error::Result;
use crate::lru::Lru;
use crate::telemetry;

/// (model, query text) → vector.
type Vectors = Lru<(String, String), Arc<[f32]>>;

pub struct QueryVectors {
    vectors: Mutex<Vectors>,
}

impl QueryVectors {
    pub fn new(entries: usize) -> Self {
        QueryVectors {
            vectors: Mutex::new(Lru::new(entries)),
        }
    }

    /// The query's vector, from the cache or embedded now.
    pub async fn vector(&self, embedder: &Embedder, query: &str) -> Result<Arc<[f32]>> {
        let key = (embedder.model_name().to_string(), query.to_string());
        if let Some(vector) = self.lock().get(&key) {
            metrics::counter!(telemetry::QUERY_VECTOR_CACHE, "result" => "hit").increment(1);
            return Ok(Arc::clone(vector));
        }
        metrics::counter!(telemetry::QUERY_VECTOR_CACHE, "result" => "miss").increment(1);
        let vector: Arc<[f32]> = embedder
            .embed_query(query.to_string())
            .await?
            .into_boxed_slice()
            .into();
        self.lock().insert(key, Arc::clone(&vector), 1);
        Ok(vector)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vectors> {
        self.vectors
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
