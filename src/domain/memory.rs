//! What memory is made of, as every layer sees it: the turns augmentation
//! reads, facts and message memories with their vectors, the per-entity
//! memory version that keeps indexes current, and the writes one
//! augmentation job produces. Plain data: no SQL, no gRPC, no I/O.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::Role;

/// A message of a turn, as augmentation sees it.
#[derive(Debug, Clone)]
pub struct IndexedMessage {
    pub message_id: Uuid,
    pub role: Role,
    /// The speaker, when the message names one.
    pub name: Option<String>,
    pub content: String,
    pub embedded: bool,
}

/// A message as its lexical index reads it: `Name: text` when a speaker is
/// named, so "what did Caroline say" finds what Caroline said, not only
/// what was said to her. (Whether its vector is of this or of the text
/// alone depends on the model: `Embedder::message_text`.)
pub fn spoken<'a>(name: Option<&str>, content: &'a str) -> std::borrow::Cow<'a, str> {
    match name {
        Some(name) if !name.trim().is_empty() => format!("{}: {content}", name.trim()).into(),
        _ => content.into(),
    }
}

/// A turn to augment.
#[derive(Debug, Clone)]
pub struct TurnToAugment {
    pub turn_id: Uuid,
    pub session_id: String,
    pub process_id: Option<String>,
    pub occurred_at: DateTime<Utc>,
    pub messages: Vec<IndexedMessage>,
    /// The session's summary so far, if any.
    pub summary: Option<String>,
}

/// What a fact is about; stored by its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FactCategory {
    Preference,
    Attribute,
    Skill,
    Event,
    Relationship,
    Rule,
    Other,
}

impl FactCategory {
    pub const ALL: [FactCategory; 7] = [
        FactCategory::Preference,
        FactCategory::Attribute,
        FactCategory::Skill,
        FactCategory::Event,
        FactCategory::Relationship,
        FactCategory::Rule,
        FactCategory::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FactCategory::Preference => "preference",
            FactCategory::Attribute => "attribute",
            FactCategory::Skill => "skill",
            FactCategory::Event => "event",
            FactCategory::Relationship => "relationship",
            FactCategory::Rule => "rule",
            FactCategory::Other => "other",
        }
    }

    /// The category a name (any case, surrounding space) stands for;
    /// `Other` for a name that is none of them.
    pub fn parse(name: &str) -> FactCategory {
        let name = name.trim().to_lowercase();
        Self::ALL
            .into_iter()
            .find(|c| c.as_str() == name)
            .unwrap_or(FactCategory::Other)
    }
}

/// A stored fact.
#[derive(Debug, Clone, PartialEq)]
pub struct FactRecord {
    pub fact_id: Uuid,
    pub content: String,
    pub category: FactCategory,
    pub mention_count: i64,
    pub first_seen_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    pub valid_until: Option<DateTime<Utc>>,
    pub superseded_by: Option<Uuid>,
    pub embedding: Option<Vec<f32>>,
}

/// A stored message, as recall sees it.
#[derive(Debug, Clone)]
pub struct MessageMemory {
    pub message_id: Uuid,
    pub turn_id: Uuid,
    pub session_id: String,
    /// The process of the message's turn.
    pub process_id: Option<String>,
    pub role: Role,
    pub content: String,
    /// The speaker, when the message named one.
    pub name: Option<String>,
    pub occurred_at: DateTime<Utc>,
}

/// Something recall can return.
#[derive(Debug, Clone)]
pub enum Memory {
    Fact(FactRecord),
    Message(MessageMemory),
}

impl Memory {
    pub fn id(&self) -> Uuid {
        match self {
            Memory::Fact(fact) => fact.fact_id,
            Memory::Message(message) => message.message_id,
        }
    }

    pub fn text(&self) -> &str {
        match self {
            Memory::Fact(fact) => &fact.content,
            Memory::Message(message) => &message.content,
        }
    }

    /// The text the index's terms come from: a message with its speaker
    /// (see [`spoken`]), a fact as it is.
    pub fn indexed_text(&self) -> std::borrow::Cow<'_, str> {
        match self {
            Memory::Fact(fact) => fact.content.as_str().into(),
            Memory::Message(message) => spoken(message.name.as_deref(), &message.content),
        }
    }

    /// When it was last true: a fact's last mention, a message's turn.
    pub fn seen_at(&self) -> DateTime<Utc> {
        match self {
            Memory::Fact(fact) => fact.last_seen_at,
            Memory::Message(message) => message.occurred_at,
        }
    }

    pub fn mentions(&self) -> i64 {
        match self {
            Memory::Fact(fact) => fact.mention_count,
            Memory::Message(_) => 1,
        }
    }
}

/// The two kinds of memory recall searches, each indexed on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MemoryKind {
    Facts,
    Messages,
}

/// Where an entity's memories are: `version` grows with every write to
/// its facts or message vectors (each written row records the version
/// that wrote it), and `reset` is the latest version at which memories
/// were removed, which no incremental refresh can follow. Both are 0 for
/// an entity that never had a memory written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MemoryVersion {
    pub version: i64,
    pub reset: i64,
}

/// A fact to create.
#[derive(Debug, Clone)]
pub struct NewFact {
    pub fact_id: Uuid,
    pub content: String,
    pub normalized: String,
    pub category: FactCategory,
    pub embedding: Vec<f32>,
}

/// Everything one job learned, applied in one transaction.
#[derive(Debug, Clone, Default)]
pub struct AugmentationWrites {
    /// The embedding model's name; recorded with every vector.
    pub embedding_model: String,
    pub message_embeddings: Vec<(Uuid, Vec<f32>)>,
    pub new_facts: Vec<NewFact>,
    /// Existing current facts the turn mentioned again.
    pub mentioned: Vec<Uuid>,
    /// (old, new): the new fact replaces the old, which stays as history.
    pub superseded: Vec<(Uuid, Uuid)>,
    pub triples: Vec<(String, String, String)>,
    pub process_attributes: Vec<String>,
    pub summary: Option<String>,
}

/// Lower-cased with runs of white space folded: what "the same text" means
/// for facts, triples and process attributes.
pub fn normalize(text: &str) -> String {
    text.split_whitespace()
        .map(str::to_lowercase)
        .collect::<Vec<_>>()
        .join(" ")
        .trim_end_matches(['.', '!'])
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn categories_round_trip_by_name_and_unknown_names_are_other() {
        for category in FactCategory::ALL {
            assert_eq!(FactCategory::parse(category.as_str()), category);
        }
        assert_eq!(
            FactCategory::parse(" Preference "),
            FactCategory::Preference
        );
        assert_eq!(FactCategory::parse("pets"), FactCategory::Other);
    }

    #[test]
    fn normalization_folds_case_space_and_final_stops() {
        assert_eq!(
            normalize("  Prefers   Async Python. "),
            "prefers async python"
        );
        assert_eq!(normalize("Likes tea!"), "likes tea");
    }
}
