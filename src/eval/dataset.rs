//! The recall evaluation dataset: JSONL, one object per line.
//!
//! ```text
//! {"type":"turn","conversation":"maya","id":"maya-017","session":"s03",
//!  "occurred_at":"2026-02-14T18:30:00Z",
//!  "messages":[{"role":"user","content":"..."},{"role":"assistant","content":"..."}]}
//! {"type":"question","conversation":"maya","id":"maya-q05","category":"single-hop",
//!  "question":"...","evidence":["maya-017"]}
//! ```
//!
//! Each conversation is one user (one entity); its turns are ingested in
//! file order. A question names the turns holding its evidence, which must
//! be turns of the same conversation. Blank lines are skipped. Parsing
//! checks all of this and names the line of the first problem.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use anyhow::{Context, bail};
use chrono::{DateTime, Utc};
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
pub struct Message {
    pub role: String,
    pub content: String,
    /// The speaker, in conversations between people (sent as the
    /// message's `name`).
    #[serde(default)]
    pub name: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Turn {
    pub conversation: String,
    pub id: String,
    #[serde(default)]
    pub session: Option<String>,
    pub occurred_at: DateTime<Utc>,
    pub messages: Vec<Message>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Question {
    pub conversation: String,
    pub id: String,
    #[serde(default = "uncategorized")]
    pub category: String,
    pub question: String,
    pub evidence: Vec<String>,
}

fn uncategorized() -> String {
    "uncategorized".into()
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
enum Line {
    Turn(Turn),
    Question(Question),
}

#[derive(Debug, Clone, Default)]
pub struct Dataset {
    pub turns: Vec<Turn>,
    pub questions: Vec<Question>,
}

impl Dataset {
    pub fn load(path: &Path) -> anyhow::Result<Dataset> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading the dataset {}", path.display()))?;
        Dataset::parse(&text).with_context(|| format!("dataset {}", path.display()))
    }

    pub fn parse(text: &str) -> anyhow::Result<Dataset> {
        let mut dataset = Dataset::default();
        let mut turn_conversation: HashMap<String, String> = HashMap::new();
        let mut question_ids = HashSet::new();
        for (index, line) in text.lines().enumerate() {
            let number = index + 1;
            if line.trim().is_empty() {
                continue;
            }
            let parsed: Line =
                serde_json::from_str(line).with_context(|| format!("line {number}"))?;
            match parsed {
                Line::Turn(turn) => {
                    if turn.id.is_empty() || turn.conversation.is_empty() {
                        bail!("line {number}: a turn needs an id and a conversation");
                    }
                    if turn.messages.is_empty() {
                        bail!("line {number}: turn {} has no messages", turn.id);
                    }
                    if let Some(bad) = turn
                        .messages
                        .iter()
                        .find(|m| !matches!(m.role.as_str(), "user" | "assistant" | "system"))
                    {
                        bail!(
                            "line {number}: turn {} has a message with role {:?} (user, assistant or system)",
                            turn.id,
                            bad.role
                        );
                    }
                    if turn_conversation
                        .insert(turn.id.clone(), turn.conversation.clone())
                        .is_some()
                    {
                        bail!("line {number}: turn id {} is used twice", turn.id);
                    }
                    dataset.turns.push(turn);
                }
                Line::Question(question) => {
                    if !question_ids.insert(question.id.clone()) {
                        bail!("line {number}: question id {} is used twice", question.id);
                    }
                    if question.question.trim().is_empty() {
                        bail!("line {number}: question {} is empty", question.id);
                    }
                    if question.evidence.is_empty() {
                        bail!("line {number}: question {} names no evidence", question.id);
                    }
                    for evidence in &question.evidence {
                        match turn_conversation.get(evidence) {
                            None => bail!(
                                "line {number}: question {} cites turn {evidence}, which no earlier line defines",
                                question.id
                            ),
                            Some(conversation) if *conversation != question.conversation => bail!(
                                "line {number}: question {} cites turn {evidence} of conversation {conversation}, not {}",
                                question.id,
                                question.conversation
                            ),
                            Some(_) => {}
                        }
                    }
                    dataset.questions.push(question);
                }
            }
        }
        if dataset.questions.is_empty() {
            bail!("it holds no questions");
        }
        Ok(dataset)
    }

    /// Conversation names in order of first appearance.
    pub fn conversations(&self) -> Vec<&str> {
        let mut seen = HashSet::new();
        self.turns
            .iter()
            .map(|t| t.conversation.as_str())
            .filter(|c| seen.insert(*c))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TURN: &str = r#"{"type":"turn","conversation":"c","id":"t1","session":"s1","occurred_at":"2026-01-02T10:00:00Z","messages":[{"role":"user","content":"I like tea"}]}"#;

    #[test]
    fn parses_turns_and_questions() {
        let text = format!(
            "{TURN}\n\n{}\n",
            r#"{"type":"question","conversation":"c","id":"q1","category":"single-hop","question":"What do I drink?","evidence":["t1"]}"#
        );
        let dataset = Dataset::parse(&text).unwrap();
        assert_eq!(dataset.turns.len(), 1);
        assert_eq!(dataset.questions[0].evidence, ["t1"]);
        assert_eq!(dataset.conversations(), ["c"]);
    }

    #[test]
    fn problems_name_their_line() {
        let unknown = format!(
            "{TURN}\n{}",
            r#"{"type":"question","conversation":"c","id":"q1","question":"?","evidence":["t9"]}"#
        );
        let error = format!("{:#}", Dataset::parse(&unknown).unwrap_err());
        assert!(error.contains("line 2") && error.contains("t9"), "{error}");

        let other = format!(
            "{TURN}\n{}",
            r#"{"type":"question","conversation":"d","id":"q1","question":"?","evidence":["t1"]}"#
        );
        let error = format!("{:#}", Dataset::parse(&other).unwrap_err());
        assert!(error.contains("conversation c"), "{error}");

        let error = format!(
            "{:#}",
            Dataset::parse(&format!("{TURN}\n{TURN}")).unwrap_err()
        );
        assert!(
            error.contains("line 2") && error.contains("twice"),
            "{error}"
        );

        let error = format!("{:#}", Dataset::parse("{\"type\":\"turn\"").unwrap_err());
        assert!(error.contains("line 1"), "{error}");

        let error = format!("{:#}", Dataset::parse(TURN).unwrap_err());
        assert!(error.contains("no questions"), "{error}");
    }
}
