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
//! clamped at 0; lexical is BM25 divided by the score of a full match of
//! the query (capped at 1), so a lone common word stays a weak match;
//! recency halves every `recency_half_life_days`; mentions are log-scaled
//! against the most mentioned memory.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::memory::plan::{KnownFacts, SimilarFact};
use crate::storage::memory::{FactRecord, Memory, normalize};

/// Fusion weights and prior shapes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Weights {
    pub dense: f64,
    pub lexical: f64,
    pub recency: f64,
    pub mentions: f64,
    pub recency_half_life_days: f64,
}

impl Default for Weights {
    fn default() -> Self {
        Weights {
            dense: 0.6,
            lexical: 0.3,
            recency: 0.05,
            mentions: 0.05,
            recency_half_life_days: 30.0,
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Score {
    pub total: f64,
    pub dense: f64,
    pub lexical: f64,
    pub recency: f64,
    pub mentions: f64,
}

/// Which memories a search considers.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub include_superseded: bool,
    /// Messages of other processes are left out (facts belong to the
    /// entity, not to a process).
    pub process_id: Option<String>,
    pub after: Option<DateTime<Utc>>,
    pub before: Option<DateTime<Utc>>,
}

impl Filter {
    fn accepts(&self, summary: &Summary, memory: &Memory) -> bool {
        let process_matches = match (&self.process_id, memory) {
            (Some(wanted), Memory::Message(message)) => {
                message.process_id.as_deref() == Some(wanted.as_str())
            }
            _ => true,
        };
        (summary.current || self.include_superseded)
            && self
                .after
                .is_none_or(|after| summary.seen_at >= after.timestamp_micros())
            && self
                .before
                .is_none_or(|before| summary.seen_at < before.timestamp_micros())
            && process_matches
    }
}

/// A search: the query as text and as a vector, and what to return.
pub struct Search<'a> {
    pub text: &'a str,
    pub vector: &'a [f32],
    pub filter: &'a Filter,
    pub weights: &'a Weights,
    pub now: DateTime<Utc>,
    pub min_score: f64,
    pub limit: usize,
}

/// One result: which part searched, which memory in it, and its score.
#[derive(Debug, Clone, Copy)]
pub struct Found {
    pub part: usize,
    pub position: usize,
    pub score: Score,
}

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
}

/// The alphanumeric words of the text, lower-cased — the whole text first,
/// as `normalize` does, so a text and its normalized form share terms.
pub fn terms(text: &str) -> impl Iterator<Item = String> {
    let lower = text.to_lowercase();
    let words: Vec<String> = lower
        .split(|c: char| !c.is_alphanumeric())
        .filter(|t| !t.is_empty())
        .map(String::from)
        .collect();
    words.into_iter()
}

fn unit(vector: &[f32]) -> Vec<f32> {
    let norm = dot_portable(vector, vector).sqrt();
    if norm > 0.0 && norm.is_finite() {
        vector.iter().map(|v| v / norm).collect()
    } else {
        vec![0.0; vector.len()]
    }
}

/// A dot product written so the compiler vectorizes it: 32 running sums
/// (four AVX registers) instead of one, since a float reduction otherwise
/// forces one long chain of dependent additions.
#[inline(always)]
fn dot_portable(a: &[f32], b: &[f32]) -> f32 {
    let (a_chunks, a_rest) = a.as_chunks::<32>();
    let (b_chunks, b_rest) = b.as_chunks::<32>();
    let mut sums = [0f32; 32];
    for (x, y) in a_chunks.iter().zip(b_chunks) {
        for lane in 0..32 {
            sums[lane] += x[lane] * y[lane];
        }
    }
    let rest: f32 = a_rest.iter().zip(b_rest).map(|(x, y)| x * y).sum();
    sums.iter().sum::<f32>() + rest
}

/// From this many vectors on, a scan is split across threads: it is bound
/// by memory bandwidth, which one core alone does not use up.
const PARALLEL_FROM: usize = 4096;

/// Dot products of `query` with each of the vectors laid end to end in
/// `vectors`, into `out`.
fn dots(query: &[f32], vectors: &[f32], out: &mut Vec<f32>) {
    out.clear();
    if query.is_empty() {
        return;
    }
    let count = vectors.len() / query.len();
    static THREADS: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    let threads = *THREADS.get_or_init(|| {
        std::thread::available_parallelism()
            .map_or(1, usize::from)
            .min(4)
    });
    if count < PARALLEL_FROM || threads < 2 {
        dots_serial(query, vectors, out);
        return;
    }
    let per_thread = count.div_ceil(threads) * query.len();
    let mut pieces: Vec<Vec<f32>> = Vec::new();
    pieces.resize_with(threads, Vec::new);
    std::thread::scope(|scope| {
        let mut slices = vectors.chunks(per_thread).zip(pieces.iter_mut());
        // The first slice is done by this thread, the rest by helpers.
        let first = slices.next();
        for (slice, piece) in slices {
            scope.spawn(move || dots_serial(query, slice, piece));
        }
        if let Some((slice, piece)) = first {
            dots_serial(query, slice, piece);
        }
    });
    for piece in pieces {
        out.extend(piece);
    }
}

fn dots_serial(query: &[f32], vectors: &[f32], out: &mut Vec<f32>) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
        // SAFETY: the CPU was just checked to have both features.
        unsafe { dots_avx2(query, vectors, out) };
        return;
    }
    out.extend(
        vectors
            .chunks_exact(query.len())
            .map(|v| dot_portable(query, v)),
    );
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn dots_avx2(query: &[f32], vectors: &[f32], out: &mut Vec<f32>) {
    out.extend(
        vectors
            .chunks_exact(query.len())
            .map(|v| dot_portable(query, v)),
    );
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

    /// Adds a memory, or replaces the one with the same id. The first
    /// vector sets the index's dimension; one of another is refused.
    pub fn upsert(&mut self, mut memory: Memory, vector: &[f32]) -> Result<(), String> {
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
                    length = self.index_terms(position, memory.text());
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
                let length = self.index_terms(position, memory.text());
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
        for term in terms(self.memories[position].text()) {
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

/// A candidate for the result, ordered by score for the top-k heap.
struct Candidate(Found);

impl PartialEq for Candidate {
    fn eq(&self, other: &Self) -> bool {
        self.0.score.total.total_cmp(&other.0.score.total).is_eq()
    }
}
impl Eq for Candidate {}
impl PartialOrd for Candidate {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Candidate {
    /// Reversed, so the heap's top is the weakest of those kept.
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        other.0.score.total.total_cmp(&self.0.score.total)
    }
}

/// Ranks the memories of every part that pass the filter against the
/// query; the best `limit` scoring at least `min_score`, best first.
pub fn search(parts: &[&MemoryIndex], search: &Search) -> Vec<Found> {
    const K1: f64 = 1.2;
    const B: f64 = 0.75;
    let filter = search.filter;
    let selected: Vec<Vec<bool>> = parts
        .iter()
        .map(|part| {
            part.summaries
                .iter()
                .zip(&part.memories)
                .map(|(summary, memory)| filter.accepts(summary, memory))
                .collect()
        })
        .collect();
    let chosen = |part: usize, position: usize| selected[part][position];
    let mut count = 0usize;
    let mut total_length = 0u64;
    let mut most_mentions = 1i64;
    for (p, part) in parts.iter().enumerate() {
        for (position, summary) in part.summaries.iter().enumerate() {
            if chosen(p, position) {
                count += 1;
                total_length += u64::from(summary.length);
                most_mentions = most_mentions.max(summary.mentions);
            }
        }
    }
    if count == 0 || search.limit == 0 {
        return Vec::new();
    }
    let n = count as f64;
    let average_length = (total_length as f64 / n).max(1e-9);

    // BM25 (k1 = 1.2, b = 0.75) through the postings of the query's terms.
    let mut query_terms: Vec<String> = terms(search.text).collect();
    query_terms.sort();
    query_terms.dedup();
    let mut lexical: Vec<Vec<f64>> = parts.iter().map(|p| vec![0.0; p.len()]).collect();
    // What a memory of average length holding each query term once
    // scores; more repeats or a shorter memory can exceed it slightly.
    let mut ceiling = 0.0;
    for term in &query_terms {
        let lists: Vec<(usize, &Vec<(u32, u32)>)> = parts
            .iter()
            .enumerate()
            .filter_map(|(p, part)| part.postings.get(term).map(|list| (p, list)))
            .collect();
        let df = lists
            .iter()
            .map(|(p, list)| {
                list.iter()
                    .filter(|(pos, _)| chosen(*p, *pos as usize))
                    .count()
            })
            .sum::<usize>() as f64;
        let idf = ((n - df + 0.5) / (df + 0.5) + 1.0).ln();
        ceiling += idf;
        for (p, list) in lists {
            for &(position, tf) in list {
                let position = position as usize;
                if !chosen(p, position) {
                    continue;
                }
                let tf = f64::from(tf);
                let length = f64::from(parts[p].summaries[position].length);
                lexical[p][position] +=
                    idf * tf * (K1 + 1.0) / (tf + K1 * (1.0 - B + B * length / average_length));
            }
        }
    }

    let query = unit(search.vector);
    let weights = search.weights;
    let now = search.now.timestamp_micros();
    // recency = 0.5^(age / half-life) = exp(-age · ln 2 / half-life)
    let decay_per_micro =
        std::f64::consts::LN_2 / (weights.recency_half_life_days.max(1e-9) * 86_400e6);
    let mention_scale = ((most_mentions as f64) + 1.0).ln();
    let mut kept: std::collections::BinaryHeap<Candidate> =
        std::collections::BinaryHeap::with_capacity(search.limit.min(count) + 1);
    let mut dense = Vec::new();
    for (p, part) in parts.iter().enumerate() {
        if query.len() == part.dimension {
            dots(&query, &part.vectors, &mut dense);
        } else {
            dense.clear();
            dense.resize(part.len(), 0.0);
        }
        for (position, summary) in part.summaries.iter().enumerate() {
            if !chosen(p, position) {
                continue;
            }
            let dense = f64::from(dense[position]).max(0.0);
            let lexical = if ceiling > 0.0 {
                (lexical[p][position] / ceiling).min(1.0)
            } else {
                0.0
            };
            let relevance = weights.dense * dense + weights.lexical * lexical;
            // The priors are at most 1 each: a memory that cannot beat the
            // weakest one kept even with full priors needs no more work.
            let best_possible = relevance + weights.recency + weights.mentions;
            let weakest = (kept.len() == search.limit)
                .then(|| kept.peek().map(|c| c.0.score.total))
                .flatten();
            if best_possible < search.min_score || weakest.is_some_and(|w| best_possible <= w) {
                continue;
            }
            let age = (now - summary.seen_at).max(0) as f64;
            let recency = (-age * decay_per_micro).exp();
            let mentions = summary.log_mentions / mention_scale;
            let total = relevance + weights.recency * recency + weights.mentions * mentions;
            if total < search.min_score {
                continue;
            }
            if let Some(weakest) = weakest {
                if weakest >= total {
                    continue;
                }
                kept.pop();
            }
            kept.push(Candidate(Found {
                part: p,
                position,
                score: Score {
                    total,
                    dense,
                    lexical,
                    recency,
                    mentions,
                },
            }));
        }
    }
    // Ascending by the reversed order is best first.
    kept.into_sorted_vec().into_iter().map(|c| c.0).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Role;
    use crate::storage::memory::{FactRecord, MessageMemory};

    fn fact(text: &str, days_ago: i64, mentions: i64) -> Memory {
        let seen = Utc::now() - chrono::Duration::days(days_ago);
        Memory::Fact(FactRecord {
            fact_id: Uuid::new_v4(),
            content: text.into(),
            category: "other".into(),
            mention_count: mentions,
            first_seen_at: seen,
            last_seen_at: seen,
            valid_until: None,
            superseded_by: None,
            embedding: None,
        })
    }

    fn message(text: &str, process: &str) -> Memory {
        Memory::Message(MessageMemory {
            message_id: Uuid::new_v4(),
            turn_id: Uuid::new_v4(),
            session_id: "s".into(),
            process_id: Some(process.into()),
            role: Role::User,
            content: text.into(),
            occurred_at: Utc::now(),
        })
    }

    fn index_of(memories: Vec<(Memory, [f32; 2])>) -> MemoryIndex {
        let mut index = MemoryIndex::default();
        for (memory, vector) in memories {
            index.upsert(memory, &vector).unwrap();
        }
        index
    }

    fn weights(dense: f64, lexical: f64) -> Weights {
        Weights {
            dense,
            lexical,
            recency: 0.0,
            mentions: 0.0,
            ..Weights::default()
        }
    }

    /// Scores in the index's order (every memory, no threshold).
    fn scores(index: &MemoryIndex, text: &str, vector: &[f32], weights: &Weights) -> Vec<Score> {
        scores_filtered(index, text, vector, weights, &Filter::default())
    }

    fn scores_filtered(
        index: &MemoryIndex,
        text: &str,
        vector: &[f32],
        weights: &Weights,
        filter: &Filter,
    ) -> Vec<Score> {
        let mut found = search(
            &[index],
            &Search {
                text,
                vector,
                filter,
                weights,
                now: Utc::now(),
                min_score: f64::NEG_INFINITY,
                limit: usize::MAX,
            },
        );
        found.sort_by_key(|f| f.position);
        found.into_iter().map(|f| f.score).collect()
    }

    #[test]
    fn bm25_prefers_rare_terms_and_shorter_memories() {
        let zero = [0.0, 0.0];
        let index = index_of(vec![
            (fact("planning a trip", 0, 1), zero),
            (fact("a trip to zanzibar next may", 0, 1), zero),
            (fact("zanzibar", 0, 1), zero),
            (fact("nothing related", 0, 1), zero),
        ]);
        let s = scores(&index, "zanzibar trip", &zero, &weights(0.0, 1.0));
        assert_eq!(s[3].lexical, 0.0);
        assert!(s[2].lexical > s[0].lexical, "rare beats common: {s:?}");
        assert!(s[1].lexical > s[0].lexical, "both terms beat one: {s:?}");
    }

    #[test]
    fn lexical_only_finds_what_vectors_miss() {
        let zero = [0.0, 0.0];
        let index = index_of(vec![
            (fact("likes tea", 0, 1), zero),
            (fact("flight AB1234 on Monday", 0, 1), zero),
        ]);
        let s = scores(&index, "AB1234", &[1.0, 0.0], &weights(0.0, 1.0));
        assert!(s[1].total > 0.5, "{s:?}");
        assert_eq!(s[0].total, 0.0);
    }

    #[test]
    fn dense_only_ranks_by_cosine_and_ignores_negative_similarity() {
        let index = index_of(vec![
            (fact("x", 0, 1), [0.6, 0.8]),
            (fact("y", 0, 1), [2.0, 0.0]),
            (fact("z", 0, 1), [-1.0, 0.0]),
        ]);
        let s = scores(&index, "q", &[3.0, 0.0], &weights(1.0, 0.0));
        assert!((s[1].total - 1.0).abs() < 1e-6, "lengths do not matter");
        assert!((s[0].total - 0.6).abs() < 1e-6);
        assert_eq!(s[2].total, 0.0);
    }

    #[test]
    fn priors_break_ties_toward_recent_and_often_mentioned() {
        let v = [1.0, 0.0];
        let index = index_of(vec![
            (fact("same", 90, 1), v),
            (fact("same", 0, 1), v),
            (fact("same", 90, 9), v),
        ]);
        let s = scores(&index, "same", &v, &Weights::default());
        assert!(s[1].total > s[0].total, "recent wins: {s:?}");
        assert!(s[2].total > s[0].total, "mentioned wins: {s:?}");
        assert!((s[1].recency - 1.0).abs() < 1e-3);
        assert!((s[0].recency - 0.125).abs() < 1e-3, "three half-lives");
        assert!((s[2].mentions - 1.0).abs() < 1e-9);
    }

    #[test]
    fn a_common_word_alone_is_a_weak_lexical_match() {
        let zero = [0.0, 0.0];
        let index = index_of(vec![
            (fact("my daughter plays the violin", 0, 1), zero),
            (fact("likes tea", 0, 1), zero),
            (fact("lives in Lisbon", 0, 1), zero),
        ]);
        let s = scores(
            &index,
            "which language does the user like",
            &[1.0, 0.0],
            &Weights::default(),
        );
        assert!(s[0].lexical < 0.2, "{s:?}");
    }

    #[test]
    fn fusion_combines_both_signals() {
        let index = index_of(vec![
            (fact("prefers async Python", 0, 1), [0.9, 0.436]),
            (fact("python python python", 0, 1), [0.0, 1.0]),
        ]);
        let s = scores(&index, "async python", &[1.0, 0.0], &Weights::default());
        assert!(s[0].total > s[1].total, "{s:?}");
        assert!(s[0].lexical > 0.0 && s[1].lexical > 0.0);
    }

    #[test]
    fn filters_leave_out_superseded_facts_other_processes_and_other_times() {
        let v = [1.0, 0.0];
        let mut old = fact("lived in Porto", 10, 1);
        if let Memory::Fact(f) = &mut old {
            f.valid_until = Some(Utc::now());
        }
        let facts = index_of(vec![(old, v), (fact("lives in Lisbon", 1, 1), v)]);
        let messages = index_of(vec![
            (message("moving to Lisbon", "app-a"), v),
            (message("Lisbon flat hunting", "app-b"), v),
        ]);
        let run = |filter: Filter| {
            let found = search(
                &[&facts, &messages],
                &Search {
                    text: "lisbon",
                    vector: &v,
                    filter: &filter,
                    weights: &Weights::default(),
                    now: Utc::now(),
                    min_score: 0.0,
                    limit: 10,
                },
            );
            let mut texts: Vec<String> = found
                .iter()
                .map(|f| {
                    [&facts, &messages][f.part]
                        .memory(f.position)
                        .text()
                        .to_string()
                })
                .collect();
            texts.sort();
            texts
        };
        assert_eq!(
            run(Filter::default()),
            ["Lisbon flat hunting", "lives in Lisbon", "moving to Lisbon"]
        );
        assert!(
            run(Filter {
                include_superseded: true,
                ..Filter::default()
            })
            .contains(&"lived in Porto".to_string())
        );
        assert_eq!(
            run(Filter {
                process_id: Some("app-a".into()),
                ..Filter::default()
            }),
            ["lives in Lisbon", "moving to Lisbon"]
        );
        assert_eq!(
            run(Filter {
                before: Some(Utc::now() - chrono::Duration::hours(1)),
                ..Filter::default()
            }),
            ["lives in Lisbon"]
        );
    }

    #[test]
    fn limit_and_min_score_cut_the_list_best_first() {
        let index = index_of(
            (0..20)
                .map(|i| {
                    let angle = i as f32 * 0.07;
                    (fact(&format!("m{i}"), 0, 1), [angle.cos(), angle.sin()])
                })
                .collect(),
        );
        let run = |min_score: f64, limit: usize| {
            search(
                &[&index],
                &Search {
                    text: "q",
                    vector: &[1.0, 0.0],
                    filter: &Filter::default(),
                    weights: &weights(1.0, 0.0),
                    now: Utc::now(),
                    min_score,
                    limit,
                },
            )
        };
        let top = run(0.0, 5);
        let positions: Vec<usize> = top.iter().map(|f| f.position).collect();
        assert_eq!(positions, [0, 1, 2, 3, 4]);
        let above = run(0.95, 100);
        assert!(above.iter().all(|f| f.score.total >= 0.95));
        assert_eq!(above.len(), 5, "cos(0.28) ≥ 0.95 > cos(0.35)");
    }

    #[test]
    fn replacing_a_memory_updates_its_terms_and_vector() {
        let mut index = index_of(vec![(fact("likes tea", 0, 1), [1.0, 0.0])]);
        let Memory::Fact(mut changed) = index.memory(0).clone() else {
            unreachable!()
        };
        changed.content = "likes coffee".into();
        changed.mention_count = 3;
        index.upsert(Memory::Fact(changed), &[0.0, 1.0]).unwrap();
        assert_eq!(index.len(), 1);
        let s = scores(&index, "tea", &[0.0, 1.0], &weights(0.5, 0.5));
        assert_eq!(s[0].lexical, 0.0, "the old text is gone");
        assert!((s[0].dense - 1.0).abs() < 1e-6, "the new vector is used");
        let s = scores(&index, "coffee", &[1.0, 0.0], &weights(0.0, 1.0));
        assert!(s[0].lexical > 0.0);
        assert!(index.upsert(fact("x", 0, 1), &[1.0]).is_err());
    }

    #[test]
    fn dot_products_match_plain_sums_also_when_split_across_threads() {
        let dimension = 387;
        let count = PARALLEL_FROM + 3;
        let query: Vec<f32> = (0..dimension).map(|i| (i as f32 * 0.37).sin()).collect();
        let vectors: Vec<f32> = (0..dimension * count)
            .map(|i| (i as f32 * 0.11).cos())
            .collect();
        let mut out = Vec::new();
        dots(&query, &vectors, &mut out);
        assert_eq!(out.len(), count);
        for (i, value) in out.iter().enumerate() {
            let plain: f32 = query
                .iter()
                .zip(&vectors[i * dimension..(i + 1) * dimension])
                .map(|(x, y)| x * y)
                .sum();
            assert!(
                (value - plain).abs() < 1e-2,
                "vector {i}: {value} vs {plain}"
            );
        }
    }
}
