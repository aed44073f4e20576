//! The extraction call: the versioned prompt and JSON schema in
//! `prompts/`, the request built from a turn and the entity's closest known
//! facts, and a tolerant parser of the model's answer.
//!
//! Known facts are shown to the model under short aliases (`f1`, `f2`, …)
//! rather than their ids, so the model cannot invent a plausible-looking id;
//! an alias the model did not get is treated as no reference at all.

use serde::Deserialize;
use serde_json::Value;

use crate::domain::memory::{FactCategory, FactRecord};
use crate::domain::{ChatMessage, Role};
use crate::providers::{ChatRequest, ResponseFormat};

/// Which prompt and schema produced a memory (bumped when either changes).
pub const PROMPT_VERSION: &str = "extraction.v1";
const PROMPT: &str = include_str!("../../prompts/extraction.v1.md");
const SCHEMA: &str = include_str!("../../prompts/extraction.v1.schema.json");

/// Longest turn text shown to the model, in bytes (the rest is cut).
const MAX_TURN_BYTES: usize = 16 * 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    New,
    Same,
    Update,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ExtractedFact {
    pub content: String,
    pub category: FactCategory,
    pub action: Action,
    /// The known fact this one repeats or replaces (an index into the
    /// facts that were shown).
    pub existing: Option<usize>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Extraction {
    pub facts: Vec<ExtractedFact>,
    pub triples: Vec<(String, String, String)>,
    pub process_attributes: Vec<String>,
    pub summary: Option<String>,
}

fn cut(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// The extraction request for a turn; `known` are the facts shown.
pub fn request(
    model: &str,
    messages: &[(Role, String)],
    known: &[&FactRecord],
    summary: Option<&str>,
) -> ChatRequest {
    let mut context = String::from("Known facts about the user:\n");
    if known.is_empty() {
        context.push_str("(none)\n");
    }
    for (i, fact) in known.iter().enumerate() {
        context.push_str(&format!("- f{}: {}\n", i + 1, fact.content));
    }
    context.push_str("\nPrevious session summary:\n");
    context.push_str(summary.unwrap_or("(none)"));
    context.push_str("\n\nThe turn:\n");
    context.push_str(&turn_text(messages, MAX_TURN_BYTES));
    // Parsed once: every turn's request carries it.
    static PARSED_SCHEMA: std::sync::LazyLock<Value> = std::sync::LazyLock::new(|| {
        serde_json::from_str(SCHEMA).expect("the bundled schema is JSON")
    });
    json_request(model, PROMPT, context, ("memories", &PARSED_SCHEMA), 1024)
}

/// A turn's user and assistant lines ("user: …"), cut at `max` bytes.
pub(crate) fn turn_text(messages: &[(Role, String)], max: usize) -> String {
    let mut text = String::new();
    for (role, content) in messages {
        if matches!(role, Role::User | Role::Assistant) && !content.trim().is_empty() {
            text.push_str(&format!("{}: {}\n", role.as_str(), content.trim()));
        }
    }
    cut(&text, max).to_string()
}

/// A deterministic request for an answer that follows `schema` (named).
pub(crate) fn json_request(
    model: &str,
    prompt: &str,
    context: String,
    (name, schema): (&str, &Value),
    max_tokens: u32,
) -> ChatRequest {
    let mut request = ChatRequest::new(
        model,
        vec![
            ChatMessage::text(Role::System, prompt),
            ChatMessage::text(Role::User, context),
        ],
    );
    request.params.temperature = Some(0.0);
    request.params.max_tokens = Some(max_tokens);
    request.params.response_format = Some(ResponseFormat::JsonSchema {
        name: name.into(),
        schema: schema.clone(),
        strict: true,
    });
    request
}

#[derive(Deserialize)]
struct WireExtraction {
    #[serde(default)]
    facts: Vec<WireFact>,
    #[serde(default)]
    triples: Vec<WireTriple>,
    #[serde(default)]
    process_attributes: Vec<String>,
    #[serde(default)]
    summary: Option<String>,
}

#[derive(Deserialize)]
struct WireFact {
    content: String,
    #[serde(default)]
    category: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    existing_id: Option<String>,
}

#[derive(Deserialize)]
struct WireTriple {
    subject: String,
    predicate: String,
    object: String,
}

/// The JSON object in a model's answer: the whole text, a fenced block,
/// or the outermost braces.
pub(crate) fn json_text(answer: &str) -> &str {
    let trimmed = answer.trim();
    if let Some(start) = trimmed.find("```") {
        let after = &trimmed[start + 3..];
        let body = after.strip_prefix("json").unwrap_or(after);
        if let Some(end) = body.find("```") {
            return body[..end].trim();
        }
    }
    match (trimmed.find('{'), trimmed.rfind('}')) {
        (Some(start), Some(end)) if start < end => &trimmed[start..=end],
        _ => trimmed,
    }
}

/// Parses the model's answer; `shown` is how many known facts it saw. An
/// answer that is not the expected JSON is an error (the job is retried).
pub fn parse(answer: &str, shown: usize) -> Result<Extraction, String> {
    let wire: WireExtraction = serde_json::from_str(json_text(answer))
        .map_err(|e| format!("the extraction answer is not the expected JSON: {e}"))?;
    let existing = |id: &Option<String>| -> Option<usize> {
        let id = id.as_deref()?.trim();
        let n: usize = id.strip_prefix('f')?.parse().ok()?;
        (1..=shown).contains(&n).then(|| n - 1)
    };
    let facts = wire
        .facts
        .into_iter()
        .filter(|f| !f.content.trim().is_empty())
        .map(|f| {
            let existing = existing(&f.existing_id);
            let action = match (f.action.trim(), existing) {
                ("same", Some(_)) => Action::Same,
                ("update", Some(_)) => Action::Update,
                _ => Action::New,
            };
            ExtractedFact {
                content: cut(f.content.trim(), 1000).to_string(),
                category: FactCategory::parse(&f.category),
                action,
                existing,
            }
        })
        .collect();
    let triples = wire
        .triples
        .into_iter()
        .map(|t| {
            (
                t.subject.trim().to_string(),
                t.predicate.trim().to_string(),
                t.object.trim().to_string(),
            )
        })
        .filter(|(s, p, o)| !s.is_empty() && !p.is_empty() && !o.is_empty())
        .collect();
    let process_attributes = wire
        .process_attributes
        .into_iter()
        .map(|a| a.trim().to_string())
        .filter(|a| !a.is_empty())
        .collect();
    let summary = wire
        .summary
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty());
    Ok(Extraction {
        facts,
        triples,
        process_attributes,
        summary,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_fenced_and_wrapped_answers_parse() {
        let json = r#"{"facts":[{"content":"prefers async Python","category":"preference","action":"new","existing_id":""}],"triples":[],"process_attributes":[],"summary":"Talked about Python."}"#;
        for answer in [
            json.to_string(),
            format!("```json\n{json}\n```"),
            format!("Here you go:\n{json}\nHope that helps."),
        ] {
            let parsed = parse(&answer, 0).unwrap();
            assert_eq!(parsed.facts[0].content, "prefers async Python");
            assert_eq!(parsed.summary.as_deref(), Some("Talked about Python."));
        }
    }

    #[test]
    fn references_only_count_for_facts_that_were_shown() {
        let answer = r#"{"facts":[
            {"content":"lives in Lisbon","category":"attribute","action":"update","existing_id":"f2"},
            {"content":"likes tea","category":"Preference","action":"same","existing_id":"f9"},
            {"content":"has a cat","category":"pets","action":"same","existing_id":"f1"}]}"#;
        let parsed = parse(answer, 2).unwrap();
        assert_eq!(
            (parsed.facts[0].action.clone(), parsed.facts[0].existing),
            (Action::Update, Some(1))
        );
        assert_eq!(
            (parsed.facts[1].action.clone(), parsed.facts[1].existing),
            (Action::New, None)
        );
        assert_eq!(parsed.facts[1].category, FactCategory::Preference);
        assert_eq!(parsed.facts[2].category, FactCategory::Other);
        assert_eq!(parsed.facts[2].existing, Some(0));
    }

    #[test]
    fn malformed_and_truncated_answers_are_errors() {
        assert!(parse("I could not find anything.", 0).is_err());
        assert!(parse(r#"{"facts":[{"content":"prefers"#, 0).is_err());
        assert!(parse(r#"{"facts":"none"}"#, 0).is_err());
    }

    #[test]
    fn the_request_shows_known_facts_under_aliases() {
        let fact = FactRecord {
            fact_id: uuid::Uuid::now_v7(),
            content: "likes tea".into(),
            category: FactCategory::Preference,
            mention_count: 1,
            first_seen_at: chrono::Utc::now(),
            last_seen_at: chrono::Utc::now(),
            valid_until: None,
            superseded_by: None,
            embedding: None,
        };
        let request = request(
            "m",
            &[
                (Role::User, "I switched to coffee".into()),
                (Role::Assistant, "Noted!".into()),
            ],
            &[&fact],
            Some("Earlier: drinks."),
        );
        let context = &request.messages[1].content;
        assert!(context.contains("- f1: likes tea"));
        assert!(context.contains("user: I switched to coffee"));
        assert!(context.contains("Earlier: drinks."));
        assert!(matches!(
            request.params.response_format,
            Some(ResponseFormat::JsonSchema { .. })
        ));
    }
}

#[cfg(test)]
mod fuzz_tests {
    //! Arbitrary model answers to the extraction parser: the expected
    //! facts or an error, never a panic, and nothing out of range.

    use proptest::prelude::*;

    use super::*;
    use crate::fuzz::{config, text};

    const KEYS: &[&str] = &[
        "facts",
        "content",
        "category",
        "action",
        "existing_id",
        "triples",
        "subject",
        "predicate",
        "object",
        "summary",
    ];
    const WORDS: &[&str] = &[
        "new",
        "same",
        "update",
        "f0",
        "f1",
        "f2",
        "f99",
        "preference",
        "fact",
        "event",
        "relationship",
        "skill",
        "rule",
        "```json",
        " ",
    ];

    proptest! {
        #![proptest_config(config())]

        #[test]
        fn extraction_answers_never_panic(answer in text(KEYS, WORDS), shown in 0usize..4) {
            if let Ok(extraction) = parse(&answer, shown) {
                for fact in &extraction.facts {
                    prop_assert!(!fact.content.is_empty());
                    prop_assert!(fact.content.chars().count() <= 1000);
                    prop_assert!(fact.existing.is_none_or(|i| i < shown));
                }
            }
        }
    }
}
