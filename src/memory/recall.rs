//! Recall ranking: dense similarity fused with BM25 over all of the
//! entity's candidate memories, plus recency and mention-count priors.
//!
//! Every candidate is scored — there is no cap on how many facts are
//! reachable — and BM25's statistics come from the same full candidate set,
//! not from a dense shortlist. Each part is scaled to [0, 1] before fusion:
//! dense is the cosine clamped at 0, lexical is BM25 divided by the score
//! of a full match of the query (capped at 1), recency halves every `recency_half_life_days`, and
//! mentions are log-scaled against the most mentioned candidate.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use crate::embed::cosine;

/// Fusion weights and prior shapes.
#[derive(Debug, Clone, Copy)]
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

/// What ranking needs of one memory.
pub struct Candidate<'a> {
    pub text: &'a str,
    pub vector: &'a [f32],
    pub seen_at: DateTime<Utc>,
    pub mentions: i64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Score {
    pub total: f64,
    pub dense: f64,
    pub lexical: f64,
    pub recency: f64,
    pub mentions: f64,
}

/// Lower-cased alphanumeric words.
fn terms(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|t| !t.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// Okapi BM25 (k1 = 1.2, b = 0.75) of the query against every document,
/// and the score of a full match (every query term once, in a document of
/// average length), which scales the scores to about [0, 1].
pub fn bm25(query: &str, documents: &[&str]) -> (Vec<f64>, f64) {
    const K1: f64 = 1.2;
    const B: f64 = 0.75;
    let docs: Vec<Vec<String>> = documents.iter().map(|d| terms(d)).collect();
    let n = docs.len() as f64;
    if docs.is_empty() {
        return (Vec::new(), 0.0);
    }
    let average = docs.iter().map(Vec::len).sum::<usize>() as f64 / n;
    let mut query_terms = terms(query);
    query_terms.sort();
    query_terms.dedup();
    let idf: HashMap<&str, f64> = query_terms
        .iter()
        .map(|t| {
            let df = docs.iter().filter(|d| d.iter().any(|w| w == t)).count() as f64;
            (t.as_str(), ((n - df + 0.5) / (df + 0.5) + 1.0).ln())
        })
        .collect();
    // What a document of average length holding each query term once
    // scores; more repeats or a shorter document can exceed it slightly.
    let ceiling = idf.values().sum();
    let scores = docs
        .iter()
        .map(|doc| {
            let length = doc.len() as f64;
            query_terms
                .iter()
                .map(|t| {
                    let tf = doc.iter().filter(|w| *w == t).count() as f64;
                    if tf == 0.0 {
                        return 0.0;
                    }
                    idf[t.as_str()] * tf * (K1 + 1.0)
                        / (tf + K1 * (1.0 - B + B * length / average.max(1e-9)))
                })
                .sum()
        })
        .collect();
    (scores, ceiling)
}

/// Scores every candidate against the query (text and vector).
pub fn rank(
    query: &str,
    query_vector: &[f32],
    candidates: &[Candidate],
    weights: &Weights,
    now: DateTime<Utc>,
) -> Vec<Score> {
    let texts: Vec<&str> = candidates.iter().map(|c| c.text).collect();
    let (lexical, ceiling) = bm25(query, &texts);
    let most_mentions = candidates
        .iter()
        .map(|c| c.mentions)
        .max()
        .unwrap_or(0)
        .max(1);
    candidates
        .iter()
        .zip(lexical)
        .map(|(candidate, lexical)| {
            let dense = f64::from(cosine(query_vector, candidate.vector)).max(0.0);
            // Against a full match, not the best hit: a match on a common
            // word alone stays a weak match.
            let lexical = if ceiling > 0.0 {
                (lexical / ceiling).min(1.0)
            } else {
                0.0
            };
            let age_days = (now - candidate.seen_at).num_seconds().max(0) as f64 / 86_400.0;
            let recency = 0.5f64.powf(age_days / weights.recency_half_life_days.max(1e-9));
            let mentions = ((candidate.mentions.max(0) as f64) + 1.0).ln()
                / ((most_mentions as f64) + 1.0).ln();
            Score {
                total: weights.dense * dense
                    + weights.lexical * lexical
                    + weights.recency * recency
                    + weights.mentions * mentions,
                dense,
                lexical,
                recency,
                mentions,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn candidate<'a>(
        text: &'a str,
        vector: &'a [f32],
        days_ago: i64,
        mentions: i64,
    ) -> Candidate<'a> {
        Candidate {
            text,
            vector,
            seen_at: Utc::now() - chrono::Duration::days(days_ago),
            mentions,
        }
    }

    #[test]
    fn bm25_prefers_rare_terms_and_shorter_documents() {
        let (scores, ceiling) = bm25(
            "zanzibar trip",
            &[
                "planning a trip",
                "a trip to zanzibar next may",
                "zanzibar",
                "nothing related",
            ],
        );
        assert!(scores.iter().all(|s| *s <= ceiling * 1.5));
        assert_eq!(scores[3], 0.0);
        assert!(
            scores[2] > scores[0],
            "a rare term outweighs a common one: {scores:?}"
        );
        assert!(scores[1] > scores[0]);
    }

    #[test]
    fn lexical_only_finds_what_vectors_miss() {
        let zero = [0.0f32, 0.0];
        let candidates = [
            candidate("likes tea", &zero, 0, 1),
            candidate("flight AB1234 on Monday", &zero, 0, 1),
        ];
        let weights = Weights {
            dense: 0.0,
            lexical: 1.0,
            recency: 0.0,
            mentions: 0.0,
            ..Weights::default()
        };
        let scores = rank("AB1234", &[1.0, 0.0], &candidates, &weights, Utc::now());
        assert!(scores[1].total > 0.5, "{scores:?}");
        assert_eq!(scores[0].total, 0.0);
    }

    #[test]
    fn dense_only_ranks_by_cosine_and_ignores_negative_similarity() {
        let a = [1.0f32, 0.0];
        let b = [0.6f32, 0.8];
        let c = [-1.0f32, 0.0];
        let candidates = [
            candidate("x", &b, 0, 1),
            candidate("y", &a, 0, 1),
            candidate("z", &c, 0, 1),
        ];
        let weights = Weights {
            dense: 1.0,
            lexical: 0.0,
            recency: 0.0,
            mentions: 0.0,
            ..Weights::default()
        };
        let scores = rank("q", &[1.0, 0.0], &candidates, &weights, Utc::now());
        assert!((scores[1].total - 1.0).abs() < 1e-6);
        assert!((scores[0].total - 0.6).abs() < 1e-6);
        assert_eq!(scores[2].total, 0.0);
    }

    #[test]
    fn priors_break_ties_toward_recent_and_often_mentioned() {
        let v = [1.0f32, 0.0];
        let candidates = [
            candidate("same", &v, 90, 1),
            candidate("same", &v, 0, 1),
            candidate("same", &v, 90, 9),
        ];
        let scores = rank("same", &v, &candidates, &Weights::default(), Utc::now());
        assert!(scores[1].total > scores[0].total, "recent wins: {scores:?}");
        assert!(
            scores[2].total > scores[0].total,
            "mentioned wins: {scores:?}"
        );
        assert!((scores[1].recency - 1.0).abs() < 1e-3);
        assert!((scores[0].recency - 0.125).abs() < 1e-3, "three half-lives");
        assert!((scores[2].mentions - 1.0).abs() < 1e-9);
    }

    #[test]
    fn a_common_word_alone_is_a_weak_lexical_match() {
        let zero = [0.0f32, 0.0];
        let candidates = [
            candidate("my daughter plays the violin", &zero, 0, 1),
            candidate("likes tea", &zero, 0, 1),
            candidate("lives in Lisbon", &zero, 0, 1),
        ];
        let scores = rank(
            "which language does the user like",
            &[1.0, 0.0],
            &candidates,
            &Weights::default(),
            Utc::now(),
        );
        assert!(scores[0].lexical < 0.2, "{scores:?}");
    }

    #[test]
    fn fusion_combines_both_signals() {
        let close = [0.9f32, 0.436];
        let far = [0.0f32, 1.0];
        let candidates = [
            candidate("prefers async Python", &close, 0, 1),
            candidate("python python python", &far, 0, 1),
        ];
        let scores = rank(
            "async python",
            &[1.0, 0.0],
            &candidates,
            &Weights::default(),
            Utc::now(),
        );
        assert!(scores[0].total > scores[1].total, "{scores:?}");
        assert!(scores[0].lexical > 0.0 && scores[1].lexical > 0.0);
    }
}
