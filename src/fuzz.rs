//! Test-only input generators for the property tests that feed arbitrary
//! input to every parser (provider stream frames, the extraction answer,
//! the keys file) and to request conversion: raw strings, and JSON built
//! from the parser's own vocabulary of keys and values (so the tests get
//! past the first `{` and into the interesting branches), sometimes cut
//! short or with a byte flipped.
//!
//! Case counts bound how long each runs (`PROPTEST_CASES` raises them for
//! a longer local run); a failing input proptest finds is written to
//! `proptest-regressions/` and committed, so it is replayed on every run.

use proptest::prelude::*;
use serde_json::Value;

/// Cases per property in a normal test run.
pub const CASES: u32 = 1024;

pub fn config() -> ProptestConfig {
    ProptestConfig {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(CASES),
        ..ProptestConfig::default()
    }
}

/// Scalars a parser may meet where it expects something else.
fn scalar(words: &'static [&'static str]) -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        prop::sample::select(words).prop_map(|w| Value::String(w.to_string())),
        any::<String>().prop_map(Value::String),
    ]
}

/// A JSON value of objects keyed from `keys`, with scalars from `words`.
pub fn json(
    keys: &'static [&'static str],
    words: &'static [&'static str],
) -> impl Strategy<Value = Value> {
    scalar(words).prop_recursive(4, 48, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((prop::sample::select(keys), inner), 0..6).prop_map(|pairs| {
                Value::Object(pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
            }),
        ]
    })
}

/// Text a parser may be handed: arbitrary, or JSON from the vocabulary,
/// whole, cut short, or with one character replaced.
pub fn text(
    keys: &'static [&'static str],
    words: &'static [&'static str],
) -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        json(keys, words).prop_map(|v| v.to_string()),
        (json(keys, words), any::<prop::sample::Index>()).prop_map(|(v, cut)| {
            let text = v.to_string();
            let at = cut.index(text.len() + 1);
            let at = (0..=at)
                .rev()
                .find(|&i| text.is_char_boundary(i))
                .unwrap_or(0);
            text[..at].to_string()
        }),
        (
            json(keys, words),
            any::<prop::sample::Index>(),
            any::<char>()
        )
            .prop_map(|(v, at, c)| {
                let mut chars: Vec<char> = v.to_string().chars().collect();
                let i = at.index(chars.len().max(1));
                if i < chars.len() {
                    chars[i] = c;
                }
                chars.into_iter().collect()
            }),
    ]
}
