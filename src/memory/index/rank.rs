//! Ranking over one or more indexes: the filter, BM25 with statistics of
//! the filtered set, the scaled score parts and their fusion, and the
//! top-k selection (see the index module's docs for the scales).

use chrono::{DateTime, Utc};

use super::vector::{dots, unit};
use super::{MemoryIndex, Summary, terms};
use crate::domain::memory::Memory;

/// How the dense and lexical lists are put on one scale before their
/// weighted sum.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fusion {
    /// Each list scaled per query to [0, 1] between its weakest and its
    /// strongest candidate, so the two weigh as configured whatever their
    /// raw spreads (cosines of one model crowd into a narrow band).
    MinMax,
    /// The absolute parts as they are (cosine; BM25 over a full match).
    Absolute,
}

/// Fusion weights, prior shapes and BM25's parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Weights {
    pub dense: f64,
    pub lexical: f64,
    pub recency: f64,
    pub mentions: f64,
    pub recency_half_life_days: f64,
    pub fusion: Fusion,
    /// BM25 term-frequency saturation.
    pub k1: f64,
    /// BM25 length normalization (0 = none, 1 = full).
    pub b: f64,
    /// The cosine at and below which the model's pairs are unrelated: the
    /// dense part is `(cosine - floor) / (1 - floor)`, clamped at 0 (see
    /// `embed::similarity_floor`).
    pub dense_floor: f64,
    /// A message's window (itself and up to two earlier messages of its
    /// session, see `sessions`): its share of the dense cosine, 0–1.
    pub context: f64,
    /// The share of the stronger neighbouring message's relevance a
    /// message gets on top of its own.
    pub neighbours: f64,
}

impl Default for Weights {
    fn default() -> Self {
        Weights {
            dense: 0.6,
            lexical: 0.3,
            recency: 0.05,
            mentions: 0.05,
            recency_half_life_days: 30.0,
            fusion: Fusion::Absolute,
            k1: 0.9,
            b: 0.4,
            dense_floor: 0.0,
            context: 0.0,
            neighbours: 0.0,
        }
    }
}

/// A cosine as a dense part: 0 up to the model's floor, 1 at identity.
fn dense_part(cosine: f64, floor: f64) -> f64 {
    ((cosine - floor) / (1.0 - floor)).max(0.0)
}

/// Each memory's cosine with the query blended with its window's, the
/// mean cosine of the window's messages (see `sessions`).
fn with_window(part: &MemoryIndex, dots: &[f32], context: f64) -> Vec<f64> {
    if context <= 0.0 || !part.holds_messages() {
        return dots.iter().map(|&d| f64::from(d)).collect();
    }
    let places = part.places();
    dots.iter()
        .zip(places)
        .map(|(&own, place)| {
            let earlier = place.earlier.iter().flatten();
            let count = 1 + earlier.clone().count();
            let sum = own + earlier.map(|&e| dots[e as usize]).sum::<f32>();
            let window = f64::from(sum) / count as f64;
            (1.0 - context) * f64::from(own) + context * window
        })
        .collect()
}

/// A hit's score: `total` ranks (the fused relevance, on the fusion's
/// scale, plus the priors); the parts are absolute (the cosine above the
/// model's floor, BM25 over a full match of the query), as callers see
/// them.
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
/// query; the best `limit`, best first, of those whose *absolute* score
/// (the absolute parts weighted, plus the priors) is at least `min_score`
/// — a threshold that means the same whatever the other candidates are,
/// which a per-query scale could not give.
pub fn search(parts: &[&MemoryIndex], search: &Search) -> Vec<Found> {
    let weights = search.weights;
    let (k1, b) = (weights.k1, weights.b);
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

    // BM25 through the postings of the query's terms.
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
                    idf * tf * (k1 + 1.0) / (tf + k1 * (1.0 - b + b * length / average_length));
            }
        }
    }

    let query = unit(search.vector);
    let dense: Vec<Vec<f64>> = parts
        .iter()
        .map(|part| {
            let mut out = Vec::new();
            if query.len() == part.dimension {
                dots(&query, &part.vectors, &mut out);
            } else {
                out.resize(part.len(), 0.0);
            }
            with_window(part, &out, weights.context)
                .into_iter()
                .map(|cosine| dense_part(cosine, weights.dense_floor))
                .collect()
        })
        .collect();
    // The spread of each list over the candidates, for min-max fusion
    // (absolute fusion, the default, needs no extra pass).
    let (mut dense_low, mut dense_high, mut lexical_high) = (f64::INFINITY, 0.0f64, 0.0f64);
    if weights.fusion == Fusion::MinMax {
        for (p, part) in parts.iter().enumerate() {
            for position in (0..part.len()).filter(|&position| chosen(p, position)) {
                let d = dense[p][position];
                dense_low = dense_low.min(d);
                dense_high = dense_high.max(d);
                lexical_high = lexical_high.max(lexical[p][position]);
            }
        }
    }
    let on_scale = |dense: f64, bm25: f64| -> (f64, f64) {
        match weights.fusion {
            Fusion::Absolute => (dense, absolute_lexical(bm25, ceiling)),
            Fusion::MinMax => (
                if dense_high > dense_low {
                    (dense - dense_low) / (dense_high - dense_low)
                } else {
                    f64::from(u8::from(dense > 0.0))
                },
                if lexical_high > 0.0 {
                    bm25 / lexical_high
                } else {
                    0.0
                },
            ),
        }
    };

    let now = search.now.timestamp_micros();
    // recency = 0.5^(age / half-life) = exp(-age · ln 2 / half-life)
    let decay_per_micro =
        std::f64::consts::LN_2 / (weights.recency_half_life_days.max(1e-9) * 86_400e6);
    let mention_scale = ((most_mentions as f64) + 1.0).ln();
    // A candidate's relevance (on the fusion's scale) and absolute
    // relevance, before neighbours share theirs.
    let own = |p: usize, position: usize| -> (f64, f64) {
        let dense = dense[p][position];
        let bm25 = lexical[p][position];
        let (dense_ranked, lexical_ranked) = on_scale(dense, bm25);
        (
            weights.dense * dense_ranked + weights.lexical * lexical_ranked,
            weights.dense * dense + weights.lexical * absolute_lexical(bm25, ceiling),
        )
    };
    let mut kept: std::collections::BinaryHeap<Candidate> =
        std::collections::BinaryHeap::with_capacity(search.limit.min(count) + 1);
    for (p, part) in parts.iter().enumerate() {
        let places = (weights.neighbours > 0.0 && part.holds_messages()).then(|| part.places());
        for (position, summary) in part.summaries.iter().enumerate() {
            if !chosen(p, position) {
                continue;
            }
            let dense = dense[p][position];
            let lexical = absolute_lexical(lexical[p][position], ceiling);
            let (mut relevance, mut absolute) = own(p, position);
            if let Some(places) = places {
                // The stronger of the previous and the next message of the
                // session, if it passed the filter.
                let place = &places[position];
                let (shared, shared_absolute) = [place.earlier[0], place.later]
                    .into_iter()
                    .flatten()
                    .map(|n| n as usize)
                    .filter(|&n| chosen(p, n))
                    .map(|n| own(p, n))
                    .fold((0.0f64, 0.0f64), |(r, a), (nr, na)| (r.max(nr), a.max(na)));
                relevance += weights.neighbours * shared;
                absolute += weights.neighbours * shared_absolute;
            }
            // The priors are at most 1 each: a memory that cannot pass the
            // threshold or beat the weakest one kept even with full priors
            // needs no more work.
            let full_priors = weights.recency + weights.mentions;
            let weakest = (kept.len() == search.limit)
                .then(|| kept.peek().map(|c| c.0.score.total))
                .flatten();
            if absolute + full_priors < search.min_score
                || weakest.is_some_and(|w| relevance + full_priors <= w)
            {
                continue;
            }
            let age = (now - summary.seen_at).max(0) as f64;
            let recency = (-age * decay_per_micro).exp();
            let mentions = summary.log_mentions / mention_scale;
            let priors = weights.recency * recency + weights.mentions * mentions;
            if absolute + priors < search.min_score {
                continue;
            }
            let total = relevance + priors;
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

/// BM25 over the score of a full match of the query (each of its terms
/// once, in a memory of average length), capped at 1: a lone common word
/// stays a weak match.
fn absolute_lexical(bm25: f64, ceiling: f64) -> f64 {
    if ceiling > 0.0 {
        (bm25 / ceiling).min(1.0)
    } else {
        0.0
    }
}
