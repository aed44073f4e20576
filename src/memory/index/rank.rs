//! Ranking over one or more indexes: the filter, BM25 with statistics of
//! the filtered set, the scaled score parts and their fusion, and the
//! top-k selection (see the index module's docs for the scales).

use chrono::{DateTime, Utc};

use super::vector::{dots, unit};
use super::{MemoryIndex, Summary, terms};
use crate::domain::memory::Memory;

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
