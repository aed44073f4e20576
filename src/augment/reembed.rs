//! Re-embedding after a model change: every stored vector of another
//! embedding model is replaced by the current model's, in the background,
//! while the service keeps serving.
//!
//! Invariants:
//! - bounded: one batch of `BATCH` memories at a time, embedded on the
//!   background embedder (never the query thread), so re-embedding adds at
//!   most one batch to the augmentation stage's load;
//! - resumable: the progress is the data itself (a row's recorded model),
//!   so a restart, or another replica, just continues with the rows still
//!   of the old model;
//! - safe with concurrent writes: a row rewritten since it was read keeps
//!   its newer vector (see `storage::vectors`);
//! - recall keeps working: memories already re-embedded are in the indexes
//!   (each batch bumps its entities' memory versions), the rest join them
//!   batch by batch; vectors of two models are never compared.
//!
//! Progress is in `memorid_reembedding_remaining` and
//! `memorid_reembedded_total`, and `memorid jobs status` counts what is
//! left.

use std::time::Duration;

use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::embed::Embedder;
use crate::storage::Store;
use crate::storage::vectors::{Replacement, StaleVector, VectorTable};
use crate::telemetry;

/// Memories per batch: one forward pass's worth on the built-in models.
const BATCH: i64 = 64;
/// Wait after a failed batch before trying it again.
const RETRY_AFTER: Duration = Duration::from_secs(5);

/// Re-embeds until no vector of another model is left, or `cancel`.
pub async fn run(store: Store, embedder: Embedder, cancel: CancellationToken) {
    let model = embedder.model_name().to_string();
    let mut remaining = loop {
        match store.count_stale_vectors(&model).await {
            Ok(n) => break n,
            Err(error) => {
                tracing::warn!(%error, "re-embedding: cannot count vectors of other models; trying again");
                if sleep_or_cancel(&cancel).await {
                    return;
                }
            }
        }
    };
    metrics::gauge!(telemetry::REEMBED_REMAINING).set(remaining as f64);
    if remaining == 0 {
        return;
    }
    tracing::info!(count = remaining, model = %model, "re-embedding stored vectors of other models");
    for table in [VectorTable::Messages, VectorTable::Facts] {
        let mut after = Uuid::nil();
        loop {
            if cancel.is_cancelled() {
                return;
            }
            match batch(&store, &embedder, &model, table, after).await {
                Ok(None) => break,
                Ok(Some((last, read, replaced))) => {
                    after = last;
                    remaining = (remaining - read).max(0);
                    metrics::counter!(telemetry::REEMBEDDED).increment(replaced);
                    metrics::gauge!(telemetry::REEMBED_REMAINING).set(remaining as f64);
                }
                Err(error) => {
                    tracing::warn!(%error, "re-embedding: a batch failed; trying it again");
                    if sleep_or_cancel(&cancel).await {
                        return;
                    }
                }
            }
        }
    }
    metrics::gauge!(telemetry::REEMBED_REMAINING).set(0.0);
    tracing::info!(model = %model, "re-embedding finished");
}

/// One batch after key `after`: its last key, how many rows it read and
/// how many took the new vector; `None` when the table has no more.
async fn batch(
    store: &Store,
    embedder: &Embedder,
    model: &str,
    table: VectorTable,
    after: Uuid,
) -> crate::error::Result<Option<(Uuid, i64, u64)>> {
    let stale = store.stale_vectors(table, model, after, BATCH).await?;
    let Some(last) = stale.last().map(|s| s.id) else {
        return Ok(None);
    };
    let texts = stale.iter().map(|s| text(embedder, table, s)).collect();
    let vectors = embedder.embed(texts).await?;
    let memories: Vec<Replacement> = stale.into_iter().zip(vectors).collect();
    let replaced = store.replace_vectors(table, model, &memories).await?;
    Ok(Some((last, memories.len() as i64, replaced)))
}

/// The text a memory's vector is of: as augmentation embeds it.
fn text(embedder: &Embedder, table: VectorTable, memory: &StaleVector) -> String {
    match table {
        VectorTable::Messages => embedder
            .message_text(memory.name.as_deref(), &memory.content)
            .into_owned(),
        VectorTable::Facts => memory.content.clone(),
    }
}

/// True if cancelled while waiting.
async fn sleep_or_cancel(cancel: &CancellationToken) -> bool {
    tokio::select! {
        _ = cancel.cancelled() => true,
        _ = tokio::time::sleep(RETRY_AFTER) => false,
    }
}
