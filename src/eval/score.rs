//! Retrieval scores of an evaluation run.
//!
//! A recall returns memories; each maps to the turns it came from (a
//! message to its turn, a fact to the turns that mentioned it). The ranked
//! list of *distinct* turns, in order of first appearance, is what is
//! scored against the question's evidence:
//! - recall@k: the share of the evidence turns among the first k turns;
//! - reciprocal rank: 1 / the rank of the first evidence turn (0 if none).
//!
//! Scores are averaged per category and over all questions.

use std::collections::{BTreeMap, HashSet};
use std::fmt;

/// The cut-offs reported.
pub const KS: [usize; 3] = [5, 10, 25];

#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Scores {
    pub recall_at: [f64; 3],
    pub reciprocal_rank: f64,
}

/// Distinct turns in order of first appearance.
pub fn distinct_turns<I: IntoIterator<Item = String>>(turns: I) -> Vec<String> {
    let mut seen = HashSet::new();
    turns
        .into_iter()
        .filter(|t| seen.insert(t.clone()))
        .collect()
}

pub fn score(ranked_turns: &[String], evidence: &[String]) -> Scores {
    let evidence: HashSet<&str> = evidence.iter().map(String::as_str).collect();
    let mut recall_at = [0.0; 3];
    for (slot, k) in KS.iter().enumerate() {
        let found = ranked_turns
            .iter()
            .take(*k)
            .filter(|t| evidence.contains(t.as_str()))
            .count();
        recall_at[slot] = found as f64 / evidence.len().max(1) as f64;
    }
    let reciprocal_rank = ranked_turns
        .iter()
        .position(|t| evidence.contains(t.as_str()))
        .map_or(0.0, |rank| 1.0 / (rank + 1) as f64);
    Scores {
        recall_at,
        reciprocal_rank,
    }
}

/// Mean scores per category and overall.
#[derive(Debug, Default)]
pub struct Report {
    by_category: BTreeMap<String, (usize, Scores)>,
}

impl Report {
    pub fn add(&mut self, category: &str, scores: Scores) {
        let (count, sum) = self.by_category.entry(category.to_string()).or_default();
        *count += 1;
        for (total, value) in sum.recall_at.iter_mut().zip(scores.recall_at) {
            *total += value;
        }
        sum.reciprocal_rank += scores.reciprocal_rank;
    }

    fn mean(count: usize, sum: &Scores) -> Scores {
        let n = count.max(1) as f64;
        Scores {
            recall_at: sum.recall_at.map(|v| v / n),
            reciprocal_rank: sum.reciprocal_rank / n,
        }
    }

    /// (questions, mean scores) over every category.
    pub fn overall(&self) -> (usize, Scores) {
        let mut count = 0;
        let mut sum = Scores::default();
        for (n, s) in self.by_category.values() {
            count += n;
            for (total, value) in sum.recall_at.iter_mut().zip(s.recall_at) {
                *total += value;
            }
            sum.reciprocal_rank += s.reciprocal_rank;
        }
        (count, Self::mean(count, &sum))
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{:<20} {:>5} {:>7} {:>7} {:>7} {:>7}",
            "category", "n", "R@5", "R@10", "R@25", "MRR"
        )?;
        let row = |f: &mut fmt::Formatter<'_>, name: &str, n: usize, s: Scores| {
            writeln!(
                f,
                "{name:<20} {n:>5} {:>7.3} {:>7.3} {:>7.3} {:>7.3}",
                s.recall_at[0], s.recall_at[1], s.recall_at[2], s.reciprocal_rank
            )
        };
        for (category, (count, sum)) in &self.by_category {
            row(f, category, *count, Self::mean(*count, sum))?;
        }
        let (count, overall) = self.overall();
        row(f, "overall", count, overall)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn recall_counts_the_share_of_evidence_found_within_k() {
        let mut ranked: Vec<String> = (0..30).map(|i| format!("t{i}")).collect();
        ranked[2] = "e1".into();
        ranked[7] = "e2".into();
        let s = score(&ranked, &ids(&["e1", "e2"]));
        assert_eq!(s.recall_at, [0.5, 1.0, 1.0]);
        assert!((s.reciprocal_rank - 1.0 / 3.0).abs() < 1e-12);

        let s = score(&ranked, &ids(&["missing"]));
        assert_eq!(s, Scores::default());
    }

    #[test]
    fn turns_count_once_at_their_first_place() {
        let turns = distinct_turns(ids(&["a", "b", "a", "c", "b"]));
        assert_eq!(turns, ["a", "b", "c"]);
    }

    #[test]
    fn the_report_averages_per_category_and_overall() {
        let mut report = Report::default();
        let hit = Scores {
            recall_at: [1.0; 3],
            reciprocal_rank: 1.0,
        };
        report.add("single-hop", hit);
        report.add("single-hop", Scores::default());
        report.add("temporal", hit);
        let (n, overall) = report.overall();
        assert_eq!(n, 3);
        assert!((overall.reciprocal_rank - 2.0 / 3.0).abs() < 1e-12);
        let table = report.to_string();
        assert!(
            table.contains("single-hop               2   0.500"),
            "{table}"
        );
        assert!(
            table.contains("overall                  3   0.667"),
            "{table}"
        );
    }
}
