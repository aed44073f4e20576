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

use crate::storage::memory::Memory;

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
    fn accepts(&self, memory: &Memory) -> bool {
        let seen_at = memory.seen_at();
        let current = match memory {
            Memory::Fact(fact) => fact.valid_until.is_none(),
            Memory::Message(_) => true,
        };
        let process_matches = match (memory, &self.process_id) {
            (Memory::Message(message), Some(wanted)) => {
                message.process_id.as_deref() == Some(wanted.as_str())
            }
            _ => true,
        };
        (current || self.include_superseded)
            && process_matches
            && self.after.is_none_or(|after| seen_at >= after)
            && self.before.is_none_or(|before| seen_at < before)
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

#[derive(Debug, Clone, Default)]
pub struct MemoryIndex {
    dimension: usize,
    memories: Vec<Memory>,
    /// `memories.len() * dimension` floats, each vector of unit length (or
    /// all zeros).
    vectors: Vec<f32>,
    lengths: Vec<u32>,
    /// term → (position, times the term occurs there).
    postings: HashMap<String, Vec<(u32, u32)>>,
    positions: HashMap<Uuid, usize>,
    /// Bytes of text and postings held, for the cache's bound.
    heap_bytes: usize,
}

/// Lower-cased alphanumeric words.
pub fn terms(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|t| !t.is_empty())
        .map(str::to_lowercase)
}

fn unit(vector: &[f32]) -> Vec<f32> {
    let norm = dot(vector, vector).sqrt();
    if norm > 0.0 && norm.is_finite() {
        vector.iter().map(|v| v / norm).collect()
    } else {
        vec![0.0; vector.len()]
    }
}

/// A dot product written so the compiler vectorizes it (eight running
/// sums instead of one, which a float reduction otherwise forces).
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let (a_chunks, a_rest) = a.as_chunks::<8>();
    let (b_chunks, b_rest) = b.as_chunks::<8>();
    let mut sums = [0f32; 8];
    for (x, y) in a_chunks.iter().zip(b_chunks) {
        for lane in 0..8 {
            sums[lane] += x[lane] * y[lane];
        }
    }
    let rest: f32 = a_rest.iter().zip(b_rest).map(|(x, y)| x * y).sum();
    sums.iter().sum::<f32>() + rest
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
            + self.memories.len() * (std::mem::size_of::<Memory>() + 64)
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
                if self.memories[position].text() != memory.text() {
                    self.unindex_terms(position);
                    self.index_terms(position, memory.text());
                }
                self.vectors[position * self.dimension..(position + 1) * self.dimension]
                    .copy_from_slice(&vector);
                self.memories[position] = memory;
            }
            None => {
                let position = self.memories.len();
                self.positions.insert(memory.id(), position);
                self.vectors.extend_from_slice(&vector);
                self.lengths.push(0);
                self.index_terms(position, memory.text());
                self.heap_bytes += memory.text().len();
                self.memories.push(memory);
            }
        }
        Ok(())
    }

    fn index_terms(&mut self, position: usize, text: &str) {
        let mut counts: HashMap<String, u32> = HashMap::new();
        let mut length = 0;
        for term in terms(text) {
            length += 1;
            *counts.entry(term).or_default() += 1;
        }
        self.lengths[position] = length;
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
    }

    fn unindex_terms(&mut self, position: usize) {
        for term in terms(self.memories[position].text()) {
            if let Some(list) = self.postings.get_mut(&term) {
                list.retain(|(p, _)| *p as usize != position);
            }
        }
        self.lengths[position] = 0;
    }
}

/// Ranks the memories of every part that pass the filter against the
/// query; the best `limit` scoring at least `min_score`, best first.
pub fn search(parts: &[&MemoryIndex], search: &Search) -> Vec<Found> {
    const K1: f64 = 1.2;
    const B: f64 = 0.75;
    let selected: Vec<Vec<bool>> = parts
        .iter()
        .map(|part| {
            part.memories
                .iter()
                .map(|m| search.filter.accepts(m))
                .collect()
        })
        .collect();
    let chosen = |part: usize, position: usize| selected[part][position];
    let count = selected.iter().flatten().filter(|s| **s).count();
    if count == 0 || search.limit == 0 {
        return Vec::new();
    }
    let n = count as f64;
    let mut total_length = 0u64;
    let mut most_mentions = 1i64;
    for (p, part) in parts.iter().enumerate() {
        for (position, memory) in part.memories.iter().enumerate() {
            if chosen(p, position) {
                total_length += u64::from(part.lengths[position]);
                most_mentions = most_mentions.max(memory.mentions());
            }
        }
    }
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
                let length = f64::from(parts[p].lengths[position]);
                lexical[p][position] +=
                    idf * tf * (K1 + 1.0) / (tf + K1 * (1.0 - B + B * length / average_length));
            }
        }
    }

    let query = unit(search.vector);
    let weights = search.weights;
    let half_life = weights.recency_half_life_days.max(1e-9);
    let mention_scale = ((most_mentions as f64) + 1.0).ln();
    let mut found = Vec::new();
    for (p, part) in parts.iter().enumerate() {
        let comparable = query.len() == part.dimension;
        for (position, memory) in part.memories.iter().enumerate() {
            if !chosen(p, position) {
                continue;
            }
            let dense = if comparable {
                let start = position * part.dimension;
                f64::from(dot(&query, &part.vectors[start..start + part.dimension])).max(0.0)
            } else {
                0.0
            };
            let lexical = if ceiling > 0.0 {
                (lexical[p][position] / ceiling).min(1.0)
            } else {
                0.0
            };
            let age_days = (search.now - memory.seen_at()).num_seconds().max(0) as f64 / 86_400.0;
            let recency = 0.5f64.powf(age_days / half_life);
            let mentions = ((memory.mentions().max(0) as f64) + 1.0).ln() / mention_scale;
            let total = weights.dense * dense
                + weights.lexical * lexical
                + weights.recency * recency
                + weights.mentions * mentions;
            if total >= search.min_score {
                found.push(Found {
                    part: p,
                    position,
                    score: Score {
                        total,
                        dense,
                        lexical,
                        recency,
                        mentions,
                    },
                });
            }
        }
    }
    let best_first = |a: &Found, b: &Found| b.score.total.total_cmp(&a.score.total);
    if found.len() > search.limit {
        found.select_nth_unstable_by(search.limit - 1, best_first);
        found.truncate(search.limit);
    }
    found.sort_by(best_first);
    found
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
    fn the_dot_product_matches_a_plain_sum() {
        let a: Vec<f32> = (0..387).map(|i| (i as f32 * 0.37).sin()).collect();
        let b: Vec<f32> = (0..387).map(|i| (i as f32 * 0.11).cos()).collect();
        let plain: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
        assert!((dot(&a, &b) - plain).abs() < 1e-3);
    }
}
