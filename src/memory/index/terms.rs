//! The terms BM25 counts: the alphanumeric words of a text, lower-cased,
//! English stopwords left out and the rest reduced to their Snowball
//! (Porter 2) stems, so "moved", "moving" and "moves" are one term and
//! "what did she" is none.
//!
//! Invariant: a text and its `normalize`d form give the same terms (both go
//! through the same lower-casing and splitting), so exact-text lookups over
//! the postings stay sound.

use std::sync::LazyLock;

use rust_stemmers::{Algorithm, Stemmer};

static STEMMER: LazyLock<Stemmer> = LazyLock::new(|| Stemmer::create(Algorithm::English));

/// Words too common to tell memories apart: articles, pronouns, auxiliary
/// verbs, prepositions and question words. Kept short on purpose: "not",
/// "never" and numbers stay, they change what a text says.
const STOPWORDS: &[&str] = &[
    "a",
    "about",
    "after",
    "again",
    "all",
    "am",
    "an",
    "and",
    "any",
    "are",
    "as",
    "at",
    "be",
    "been",
    "before",
    "being",
    "both",
    "but",
    "by",
    "can",
    "could",
    "did",
    "do",
    "does",
    "doing",
    "for",
    "from",
    "had",
    "has",
    "have",
    "having",
    "he",
    "her",
    "here",
    "hers",
    "herself",
    "him",
    "himself",
    "his",
    "how",
    "i",
    "if",
    "in",
    "into",
    "is",
    "it",
    "its",
    "itself",
    "just",
    "me",
    "my",
    "myself",
    "of",
    "on",
    "or",
    "our",
    "ours",
    "ourselves",
    "s",
    "she",
    "should",
    "so",
    "some",
    "such",
    "t",
    "than",
    "that",
    "the",
    "their",
    "theirs",
    "them",
    "themselves",
    "then",
    "there",
    "these",
    "they",
    "this",
    "those",
    "to",
    "too",
    "us",
    "very",
    "was",
    "we",
    "were",
    "what",
    "when",
    "where",
    "which",
    "while",
    "who",
    "whom",
    "why",
    "will",
    "with",
    "would",
    "you",
    "your",
    "yours",
    "yourself",
    "yourselves",
];

fn is_stopword(word: &str) -> bool {
    STOPWORDS.binary_search(&word).is_ok()
}

/// The text's terms, in order, repeats kept.
pub fn terms(text: &str) -> impl Iterator<Item = String> {
    let lower = text.to_lowercase();
    let words: Vec<String> = lower
        .split(|c: char| !c.is_alphanumeric())
        .filter(|word| !word.is_empty() && !is_stopword(word))
        .map(|word| STEMMER.stem(word).into_owned())
        .collect();
    words.into_iter()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stopword_list_is_sorted_for_its_binary_search() {
        assert!(STOPWORDS.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn inflections_share_a_stem_and_stopwords_go() {
        let moved: Vec<String> = terms("She moved to Lisbon").collect();
        let moving: Vec<String> = terms("moving to lisbon?").collect();
        assert_eq!(moved, moving);
        assert_eq!(moved, ["move", "lisbon"]);
        assert_eq!(terms("What did she do?").count(), 0);
        // Negations and numbers carry meaning.
        assert_eq!(terms("not 2 cats").collect::<Vec<_>>(), ["not", "2", "cat"]);
    }
}
