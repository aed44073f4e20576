//! The follow-up question for value changes: a proposed fact that matches a
//! known one except for a value (see `paraphrase`) may replace it or hold
//! beside it, and only the extraction model can tell ("locker code 4471 →
//! 4472" replaces; "owns gadget 27 → 28" adds). One small call per turn
//! asks about all of the turn's pairs, with the versioned prompt and schema
//! in `prompts/`.
//!
//! Pairs are shown under aliases (`p1`, `p2`, …); an answer for an alias
//! that was not asked, a missing answer, or an answer that is not the
//! expected JSON all mean "no answer", which keeps both facts current.

use serde::Deserialize;

use super::extraction::{json_request, json_text, turn_text};
use super::plan::ValueChange;
use crate::domain::Role;
use crate::providers::ChatRequest;

/// Which prompt and schema ask the question (bumped when either changes).
pub const PROMPT_VERSION: &str = "replacement.v1";
const PROMPT: &str = include_str!("../../prompts/replacement.v1.md");
const SCHEMA: &str = include_str!("../../prompts/replacement.v1.schema.json");

/// Longest turn text shown with the pairs, in bytes.
const MAX_TURN_BYTES: usize = 8 * 1024;

/// The question about `pairs`, with the turn that proposed the new facts.
pub fn request(model: &str, turn: &[(Role, String)], pairs: &[ValueChange]) -> ChatRequest {
    let mut context = String::from("The turn:\n");
    context.push_str(&turn_text(turn, MAX_TURN_BYTES));
    context.push_str("\nPairs:\n");
    for (i, pair) in pairs.iter().enumerate() {
        context.push_str(&format!(
            "- p{}: remembered: {} | new: {}\n",
            i + 1,
            pair.old_content,
            pair.new_content
        ));
    }
    static PARSED_SCHEMA: std::sync::LazyLock<serde_json::Value> = std::sync::LazyLock::new(|| {
        serde_json::from_str(SCHEMA).expect("the bundled schema is JSON")
    });
    json_request(
        model,
        PROMPT,
        context,
        ("replacements", &PARSED_SCHEMA),
        256,
    )
}

#[derive(Deserialize)]
struct WireAnswers {
    #[serde(default)]
    answers: Vec<WireAnswer>,
}

#[derive(Deserialize)]
struct WireAnswer {
    pair: String,
    replaces: bool,
}

/// The answer for each of `asked` pairs, in order: `None` where the model
/// gave none (or gave no usable answer at all).
pub fn parse(answer: &str, asked: usize) -> Vec<Option<bool>> {
    let mut answers = vec![None; asked];
    let Ok(wire) = serde_json::from_str::<WireAnswers>(json_text(answer)) else {
        return answers;
    };
    for answer in wire.answers {
        let index = answer
            .pair
            .trim()
            .strip_prefix('p')
            .and_then(|n| n.parse::<usize>().ok())
            .filter(|n| (1..=asked).contains(n));
        if let Some(n) = index {
            answers[n - 1] = Some(answer.replaces);
        }
    }
    answers
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::ResponseFormat;
    use uuid::Uuid;

    fn pair(old: &str, new: &str) -> ValueChange {
        ValueChange {
            old: Uuid::now_v7(),
            old_content: old.into(),
            new: Uuid::now_v7(),
            new_content: new.into(),
        }
    }

    #[test]
    fn the_request_shows_each_pair_under_an_alias() {
        let request = request(
            "m",
            &[(Role::User, "My locker code changed to 4472".into())],
            &[pair("locker code is 4471", "locker code is 4472")],
        );
        let context = &request.messages[1].content;
        assert!(context.contains("user: My locker code changed to 4472"));
        assert!(
            context.contains("- p1: remembered: locker code is 4471 | new: locker code is 4472")
        );
        assert!(matches!(
            request.params.response_format,
            Some(ResponseFormat::JsonSchema { .. })
        ));
    }

    #[test]
    fn answers_map_to_the_pairs_asked_and_anything_else_is_no_answer() {
        let answer = r#"```json
        {"answers": [{"pair": "p2", "replaces": true}, {"pair": "p1", "replaces": false},
                     {"pair": "p9", "replaces": true}]}
        ```"#;
        assert_eq!(parse(answer, 3), vec![Some(false), Some(true), None]);
        assert_eq!(parse("I am not sure.", 2), vec![None, None]);
        assert_eq!(parse(r#"{"answers": "yes"}"#, 1), vec![None]);
    }
}
