//! An in-memory search index over one entity's memories of one kind, and
//! the hybrid ranking recall runs on it.
//!
//! The index keeps what ranking needs ready: every vector scaled to unit
//! length in one contiguous block (so dense similarity is one dot product
//! per memory), each memory's length in terms, and postings (term → the
//! memories holding it, with counts) so BM25 touches only the memories
//! that share a term with the query.
//!
//! Ranking scores *every* memory that passes the filter — there is no cap
//! on how many are reachable — and BM25's statistics (document count,
//! document frequencies, average length) come from that same filtered set,
//! across all the parts searched together (facts and messages). Each part
//! of the score is scaled to [0, 1] before fusion: dense is the cosine
//! (blended with the message's session window's, `recall.context_weight`)
//! scaled from the model's floor and clamped at 0; lexical is BM25 divided by the score of a full match of
//! the query (capped at 1), so a lone common word stays a weak match;
//! recency halves every `recency_half_life_days`; mentions are log-scaled
//! against the most mentioned memory.

//!
//! Layout: this module holds the index and its postings; `vector` the
//! vector math (unit scaling, the fast dot products, cosine); `sessions`
//! each message's place in its session (window and neighbours); `rank` the
//! filtering, BM25 and fusion that `search` runs over one or more indexes.

mod rank;
mod sessions;
mod terms;
mod vector;

use std::collections::HashMap;

use uuid::Uuid;

pub use rank::{Filter, Found, Fusion, Score, Search, Weights, search};
pub use terms::terms;
pub use vector::cosine;
use vector::{dots, unit};

use crate::domain::memory::{FactRecord, Memory, normalize};
use crate::memory::plan::{KnownFacts, SimilarFact};

/// What ranking and filtering read of each memory, kept compact and apart
/// from the records so a search streams through little memory.
#[derive(Debug, Clone, Copy)]
struct Summary {
    /// Unix microseconds of `Memory::seen_at`.
    seen_at: i64,
    mentions: i64,
    /// ln(mentions + 1), the mention prior before scaling.
    log_mentions: f64,
    current: bool,
    /// Terms in the text.
    length: u32,
}

impl Summary {
    fn of(memory: &Memory, length: u32) -> Summary {
        Summary {
            seen_at: memory.seen_at().timestamp_micros(),
            mentions: memory.mentions(),
            log_mentions: ((memory.mentions().max(0) as f64) + 1.0).ln(),
            current: match memory {
                Memory::Fact(fact) => fact.valid_until.is_none(),
                Memory::Message(_) => true,
            },
            length,
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct MemoryIndex {
    dimension: usize,
    memories: Vec<Memory>,
    summaries: Vec<Summary>,
    /// `memories.len() * dimension` floats, each vector of unit length (or
    /// all zeros).
    vectors: Vec<f32>,
    /// term → (position, times the term occurs there).
    postings: HashMap<String, Vec<(u32, u32)>>,
    positions: HashMap<Uuid, usize>,
    /// Bytes of text and postings held, for the cache's bound.
    heap_bytes: usize,
    /// Each message's place in its session, worked out on the first search
    /// that wants it and dropped on every change.
    places: std::sync::OnceLock<Vec<sessions::Place>>,
}

impl MemoryIndex {
    pub fn len(&self) -> usize {
        self.memories.len()
    }

    pub fn is_empty(&self) -> bool {
        self.memories.is_empty()
    }

    pub fn dimension(&self) -> usize {
        self.dimension
    }

    pub fn memory(&self, position: usize) -> &Memory {
        &self.memories[position]
    }

    /// About how many bytes the index holds.
    pub fn bytes(&self) -> usize {
        self.vectors.len() * 4
            + self.memories.len()
                * (std::mem::size_of::<Memory>() + std::mem::size_of::<Summary>() + 64)
            + self.heap_bytes
    }

    /// An index holds one kind of memory: messages have sessions.
    fn holds_messages(&self) -> bool {
        matches!(self.memories.first(), Some(Memory::Message(_)))
    }

    fn places(&self) -> &[sessions::Place] {
        self.places.get_or_init(|| sessions::places(&self.memories))
    }

    /// Adds a memory, or replaces the one with the same id. The first
    /// vector sets the index's dimension; one of another is refused.
    pub fn upsert(&mut self, mut memory: Memory, vector: &[f32]) -> Result<(), String> {
        self.places = Default::default();
        if self.memories.is_empty() {
            self.dimension = vector.len();
        }
        if vector.len() != self.dimension {
            return Err(format!(
                "memory {} has a {}-d vector, the index holds {}-d ones",
                memory.id(),
                vector.len(),
                self.dimension
            ));
        }
        if let Memory::Fact(fact) = &mut memory {
            // The index holds the vector itself, once.
            fact.embedding = None;
        }
        let vector = unit(vector);
        match self.positions.get(&memory.id()).copied() {
            Some(position) => {
                let mut length = self.summaries[position].length;
                if self.memories[position].text() != memory.text() {
                    self.unindex_terms(position);
                    length = self.index_terms(position, &memory.indexed_text());
                    self.heap_bytes = (self.heap_bytes + memory.text().len())
                        .saturating_sub(self.memories[position].text().len());
                }
                self.vectors[position * self.dimension..(position + 1) * self.dimension]
                    .copy_from_slice(&vector);
                self.summaries[position] = Summary::of(&memory, length);
                self.memories[position] = memory;
            }
            None => {
                let position = self.memories.len();
                self.positions.insert(memory.id(), position);
                self.vectors.extend_from_slice(&vector);
                let length = self.index_terms(position, &memory.indexed_text());
                self.summaries.push(Summary::of(&memory, length));
                self.heap_bytes += memory.text().len();
                self.memories.push(memory);
            }
        }
        Ok(())
    }

    /// Adds the text's terms to the postings; its length in terms.
    fn index_terms(&mut self, position: usize, text: &str) -> u32 {
        let mut counts: HashMap<String, u32> = HashMap::new();
        let mut length = 0;
        for term in terms(text) {
            length += 1;
            *counts.entry(term).or_default() += 1;
        }
        for (term, count) in counts {
            if !self.postings.contains_key(&term) {
                self.heap_bytes += term.len() + 48;
            }
            self.postings
                .entry(term)
                .or_default()
                .push((position as u32, count));
            self.heap_bytes += 8;
        }
        length
    }

    fn unindex_terms(&mut self, position: usize) {
        let text = self.memories[position].indexed_text().into_owned();
        for term in terms(&text) {
            if let Some(list) = self.postings.get_mut(&term) {
                list.retain(|(p, _)| *p as usize != position);
            }
        }
    }
}

impl MemoryIndex {
    /// The `k` current facts most similar to `vector` (dense only).
    pub fn closest_facts(&self, vector: &[f32], k: usize) -> Vec<&FactRecord> {
        let weights = Weights {
            dense: 1.0,
            lexical: 0.0,
            recency: 0.0,
            mentions: 0.0,
            ..Weights::default()
        };
        search(
            &[self],
            &Search {
                text: "",
                vector,
                filter: &Filter::default(),
                weights: &weights,
                now: chrono::Utc::now(),
                min_score: f64::NEG_INFINITY,
                limit: k,
            },
        )
        .into_iter()
        .filter_map(|found| match &self.memories[found.position] {
            Memory::Fact(fact) => Some(fact),
            Memory::Message(_) => None,
        })
        .collect()
    }

    fn current_fact(&self, position: usize) -> Option<&FactRecord> {
        match &self.memories[position] {
            Memory::Fact(fact) if self.summaries[position].current => Some(fact),
            _ => None,
        }
    }
}

impl KnownFacts for MemoryIndex {
    fn with_text(&self, normalized: &str) -> Option<Uuid> {
        // Only memories holding every term of the text can have it: the
        // shortest postings list of its terms is the candidate set.
        let mut shortest: Option<&Vec<(u32, u32)>> = None;
        for term in terms(normalized) {
            let list = self.postings.get(&term)?;
            if shortest.is_none_or(|s| list.len() < s.len()) {
                shortest = Some(list);
            }
        }
        let candidates: Box<dyn Iterator<Item = usize>> = match shortest {
            Some(list) => Box::new(list.iter().map(|(position, _)| *position as usize)),
            None => Box::new(0..self.len()),
        };
        candidates
            .filter_map(|position| self.current_fact(position))
            .find(|fact| normalize(&fact.content) == normalized)
            .map(|fact| fact.fact_id)
    }

    fn similar(&self, vector: &[f32], threshold: f32) -> Vec<SimilarFact<'_>> {
        if vector.len() != self.dimension || self.is_empty() {
            return Vec::new();
        }
        let query = unit(vector);
        let mut similarities = Vec::new();
        dots(&query, &self.vectors, &mut similarities);
        let mut similar: Vec<SimilarFact> = similarities
            .into_iter()
            .enumerate()
            .filter(|(_, similarity)| *similarity >= threshold)
            .filter_map(|(position, similarity)| {
                self.current_fact(position).map(|fact| SimilarFact {
                    fact_id: fact.fact_id,
                    content: &fact.content,
                    similarity,
                    seen_at: Some(fact.last_seen_at),
                })
            })
            .collect();
        similar.sort_by(|a, b| b.similarity.total_cmp(&a.similarity));
        similar
    }
}

#[cfg(test)]
mod tests;
