//! Recall's per-entity indexes, kept in memory between recalls.
//!
//! Each (entity, kind, embedding model) has at most one cached index,
//! tagged with the entity's memory version it reflects. Before a search the
//! caller reads the entity's current version from the database (one
//! primary-key lookup) and asks for the index at that version:
//! - same version: the cached index is used as it is;
//! - newer version, no removal since: only the rows written after the
//!   cached version are read and applied (an augmented turn costs one
//!   small query, not a reload);
//! - otherwise (never loaded, evicted, or memories removed): a full load.
//!
//! Because every replica checks the version in the shared database, a
//! fact written through one replica is seen by recalls on every other.
//! Memory is bounded by `index_cache_mib`: the least recently used
//! entities are dropped first; an entity too large for the whole budget is
//! searched but not kept.

use std::sync::{Arc, Mutex};

use crate::domain::Scope;
use crate::domain::memory::{MemoryKind, MemoryVersion};
use crate::error::Result;
use crate::lru::Lru;
use crate::memory::index::MemoryIndex;
use crate::storage::Store;
use crate::telemetry;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    namespace: String,
    entity_id: String,
    kind: MemoryKind,
    model: String,
}

struct Cached {
    index: Arc<MemoryIndex>,
    version: i64,
}

pub struct IndexCache {
    store: Store,
    indexes: Mutex<Lru<Key, Cached>>,
}

/// How an index was obtained, for metrics and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Freshness {
    Cached,
    Refreshed,
    Loaded,
}

impl Freshness {
    pub(crate) fn label(self) -> &'static str {
        match self {
            Freshness::Cached => "hit",
            Freshness::Refreshed => "refresh",
            Freshness::Loaded => "load",
        }
    }
}

impl IndexCache {
    pub fn new(store: Store, max_bytes: usize) -> Self {
        IndexCache {
            store,
            indexes: Mutex::new(Lru::new(max_bytes)),
        }
    }

    /// The index of the entity's memories of `kind` embedded with `model`,
    /// as of `at` (the version just read from the database) or later.
    pub async fn index(
        &self,
        scope: &Scope,
        kind: MemoryKind,
        model: &str,
        at: MemoryVersion,
    ) -> Result<(Arc<MemoryIndex>, Freshness)> {
        let mut found = self.indexes(&[(scope, at)], kind, model).await?;
        Ok(found.remove(0))
    }

    /// Like `index`, for several distinct entities at once: whatever must
    /// be read from the database for them is read with one `load_memories`
    /// call.
    pub async fn indexes(
        &self,
        wanted: &[(&Scope, MemoryVersion)],
        kind: MemoryKind,
        model: &str,
    ) -> Result<Vec<(Arc<MemoryIndex>, Freshness)>> {
        let key = |scope: &Scope| Key {
            namespace: scope.namespace.clone(),
            entity_id: scope.entity_id.clone(),
            kind,
            model: model.to_string(),
        };
        // Each entity's index as far as the cache goes, and what must be
        // read to bring it to its version.
        let mut found: Vec<Option<(Arc<MemoryIndex>, Freshness)>> = Vec::new();
        let mut stale: Vec<(usize, MemoryIndex, Option<i64>)> = Vec::new();
        for (n, (scope, at)) in wanted.iter().enumerate() {
            let cached = self
                .lock()
                .get(&key(scope))
                .map(|c| (Arc::clone(&c.index), c.version));
            match cached {
                // Written by a recall that read a later version: also current.
                Some((index, version)) if version >= at.version => {
                    found.push(Some(Self::counted(index, Freshness::Cached)));
                    continue;
                }
                Some((index, version)) if version >= at.reset => {
                    // Taken out so that, unless a search still holds it,
                    // the index is updated in place rather than copied.
                    self.lock().remove(&key(scope));
                    stale.push((n, Arc::unwrap_or_clone(index), Some(version)));
                }
                _ => stale.push((n, MemoryIndex::default(), None)),
            }
            found.push(None);
        }
        let reads: Vec<(&Scope, Option<i64>)> = stale
            .iter()
            .map(|(n, _, since)| (wanted[*n].0, *since))
            .collect();
        let written = self.store.load_memories(&reads, kind, model).await?;
        for ((n, mut index, since), written) in stale.into_iter().zip(written) {
            apply(&mut index, written);
            let freshness = match since {
                Some(_) => Freshness::Refreshed,
                None => Freshness::Loaded,
            };
            let index = Arc::new(index);
            let bytes = index.bytes();
            let mut indexes = self.lock();
            indexes.insert(
                key(wanted[n].0),
                Cached {
                    index: Arc::clone(&index),
                    version: wanted[n].1.version,
                },
                bytes,
            );
            metrics::gauge!(telemetry::RECALL_CACHE_BYTES).set(indexes.weight() as f64);
            drop(indexes);
            found[n] = Some(Self::counted(index, freshness));
        }
        Ok(found.into_iter().flatten().collect())
    }

    fn counted(index: Arc<MemoryIndex>, freshness: Freshness) -> (Arc<MemoryIndex>, Freshness) {
        metrics::counter!(telemetry::RECALL_CACHE, "result" => freshness.label()).increment(1);
        (index, freshness)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Lru<Key, Cached>> {
        // The map is consistent after every call; a panic elsewhere while
        // it was held leaves nothing half-done.
        self.indexes
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

fn apply(index: &mut MemoryIndex, written: Vec<(crate::domain::memory::Memory, Vec<f32>)>) {
    for (memory, vector) in written {
        if let Err(problem) = index.upsert(memory, &vector) {
            tracing::warn!(%problem, "memory left out of recall");
        }
    }
}
