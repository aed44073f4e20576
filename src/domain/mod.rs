//! Domain types shared by the chat path, ingestion, storage and providers,
//! and the validation of caller input against them: here the chat-level
//! types (ids, attribution, messages, usage, a new turn); in `memory` what
//! memories are made of, in `turns` stored turns and sessions, in `jobs`
//! augmentation jobs, in `keys` stored API keys.
//!
//! Validation runs before anything is written, so a bad request leaves no
//! trace; every error names the offending field by its request path.

pub mod jobs;
pub mod keys;
pub mod memory;
pub mod turns;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::config::LimitsConfig;
use crate::error::{Error, Result};

/// Longest accepted id (entity, process, session, idempotency key), in bytes.
pub const MAX_ID_BYTES: usize = 128;

/// Who a turn belongs to, inside the caller's namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribution {
    pub entity_id: String,
    pub process_id: Option<String>,
    /// `None` asks for a new session.
    pub session_id: Option<String>,
}

/// The hard isolation boundary: every memory read and write is filtered by
/// both parts.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Scope {
    pub namespace: String,
    pub entity_id: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    System,
    User,
    Assistant,
    Tool,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::System => "system",
            Role::User => "user",
            Role::Assistant => "assistant",
            Role::Tool => "tool",
        }
    }

    pub fn parse(text: &str) -> Option<Role> {
        Some(match text {
            "system" => Role::System,
            "user" => Role::User,
            "assistant" => Role::Assistant,
            "tool" => Role::Tool,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolCall {
    pub id: String,
    pub name: String,
    /// JSON text exactly as the model produced it.
    pub arguments: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatMessage {
    pub role: Role,
    pub content: String,
    pub name: Option<String>,
    pub tool_calls: Vec<ToolCall>,
    pub tool_call_id: Option<String>,
}

impl ChatMessage {
    pub fn text(role: Role, content: impl Into<String>) -> Self {
        ChatMessage {
            role,
            content: content.into(),
            name: None,
            tool_calls: Vec::new(),
            tool_call_id: None,
        }
    }
}

/// Token usage exactly as the provider reported it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    pub input_tokens: u32,
    pub output_tokens: u32,
    pub cached_input_tokens: u32,
    pub reasoning_tokens: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FinishReason {
    Stop,
    Length,
    ToolCalls,
    ContentFilter,
    Other,
}

impl FinishReason {
    pub fn as_str(self) -> &'static str {
        match self {
            FinishReason::Stop => "stop",
            FinishReason::Length => "length",
            FinishReason::ToolCalls => "tool_calls",
            FinishReason::ContentFilter => "content_filter",
            FinishReason::Other => "other",
        }
    }

    pub fn parse(text: &str) -> FinishReason {
        match text {
            "stop" => FinishReason::Stop,
            "length" => FinishReason::Length,
            "tool_calls" => FinishReason::ToolCalls,
            "content_filter" => FinishReason::ContentFilter,
            _ => FinishReason::Other,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TurnStatus {
    /// The user's messages are stored; the upstream is answering.
    Streaming,
    Completed,
    /// The stream ended early; what had arrived is stored.
    Interrupted,
    /// The upstream failed before answering.
    Failed,
}

impl TurnStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            TurnStatus::Streaming => "streaming",
            TurnStatus::Completed => "completed",
            TurnStatus::Interrupted => "interrupted",
            TurnStatus::Failed => "failed",
        }
    }

    pub fn parse(text: &str) -> Option<TurnStatus> {
        Some(match text {
            "streaming" => TurnStatus::Streaming,
            "completed" => TurnStatus::Completed,
            "interrupted" => TurnStatus::Interrupted,
            "failed" => TurnStatus::Failed,
            _ => return None,
        })
    }
}

/// Where a turn came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TurnSource {
    Chat,
    Attribute,
}

impl TurnSource {
    pub fn as_str(self) -> &'static str {
        match self {
            TurnSource::Chat => "chat",
            TurnSource::Attribute => "attribute",
        }
    }
}

pub type Metadata = BTreeMap<String, String>;

/// Checks an id: required ones non-empty, all at most [`MAX_ID_BYTES`].
pub fn validate_id(field: &str, value: &str, required: bool) -> Result<()> {
    if value.is_empty() {
        if required {
            return Err(Error::invalid(field, "is required"));
        }
        return Ok(());
    }
    if value.len() > MAX_ID_BYTES {
        return Err(Error::invalid(
            field,
            format!(
                "is {} bytes; at most {MAX_ID_BYTES} are allowed",
                value.len()
            ),
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(Error::invalid(field, "must not contain control characters"));
    }
    Ok(())
}

/// Checks an attribution: entity required, every id bounded.
pub fn validate_attribution(attribution: &Attribution) -> Result<()> {
    validate_id("attribution.entity_id", &attribution.entity_id, true)?;
    let optional = [
        ("attribution.process_id", &attribution.process_id),
        ("attribution.session_id", &attribution.session_id),
    ];
    for (field, value) in optional {
        validate_id(field, value.as_deref().unwrap_or(""), false)?;
    }
    Ok(())
}

/// Checks the messages of a turn against the configured limits.
pub fn validate_messages(
    field: &str,
    messages: &[ChatMessage],
    limits: &LimitsConfig,
) -> Result<()> {
    if messages.is_empty() {
        return Err(Error::invalid(field, "at least one message is required"));
    }
    if messages.len() > limits.max_messages {
        return Err(Error::invalid(
            field,
            format!(
                "has {} messages; at most {} are allowed",
                messages.len(),
                limits.max_messages
            ),
        ));
    }
    for (i, message) in messages.iter().enumerate() {
        let path = format!("{field}[{i}]");
        if message.content.len() > limits.max_content_bytes {
            return Err(Error::invalid(
                format!("{path}.content"),
                format!(
                    "is {} bytes; at most {} are allowed",
                    message.content.len(),
                    limits.max_content_bytes
                ),
            ));
        }
        let empty = message.content.trim().is_empty();
        match message.role {
            Role::Assistant if empty && message.tool_calls.is_empty() => {
                return Err(Error::invalid(
                    format!("{path}.content"),
                    "an assistant message needs content or tool calls",
                ));
            }
            Role::Tool if message.tool_call_id.as_deref().unwrap_or("").is_empty() => {
                return Err(Error::invalid(
                    format!("{path}.tool_call_id"),
                    "is required on a tool message",
                ));
            }
            Role::System | Role::User if empty => {
                return Err(Error::invalid(
                    format!("{path}.content"),
                    "must not be empty",
                ));
            }
            _ => {}
        }
        if message.role != Role::Assistant && !message.tool_calls.is_empty() {
            return Err(Error::invalid(
                format!("{path}.tool_calls"),
                "only assistant messages may carry tool calls",
            ));
        }
        for (j, call) in message.tool_calls.iter().enumerate() {
            if call.name.is_empty() {
                return Err(Error::invalid(
                    format!("{path}.tool_calls[{j}].name"),
                    "is required",
                ));
            }
        }
    }
    Ok(())
}

/// Checks a turn's metadata against the configured limits.
pub fn validate_metadata(field: &str, metadata: &Metadata, limits: &LimitsConfig) -> Result<()> {
    if metadata.len() > limits.max_metadata_entries {
        return Err(Error::invalid(
            field,
            format!(
                "has {} entries; at most {} are allowed",
                metadata.len(),
                limits.max_metadata_entries
            ),
        ));
    }
    for (key, value) in metadata {
        if key.is_empty() || key.len() > MAX_ID_BYTES {
            return Err(Error::invalid(
                field,
                format!("keys must be 1 to {MAX_ID_BYTES} bytes"),
            ));
        }
        if value.len() > limits.max_content_bytes {
            return Err(Error::invalid(
                format!("{field}[{key}]"),
                format!("is longer than {} bytes", limits.max_content_bytes),
            ));
        }
    }
    Ok(())
}

/// A new turn to store, already validated.
#[derive(Debug, Clone)]
pub struct NewTurn {
    pub namespace: String,
    pub attribution: Attribution,
    pub source: TurnSource,
    pub messages: Vec<ChatMessage>,
    /// The resolved `provider/model`, if known.
    pub model: Option<String>,
    pub metadata: Metadata,
    pub occurred_at: DateTime<Utc>,
    pub idempotency_key: Option<String>,
    /// Whether the completed turn should be queued for augmentation.
    pub augment: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> LimitsConfig {
        LimitsConfig {
            max_content_bytes: 16,
            max_messages: 2,
            max_metadata_entries: 1,
        }
    }

    fn field_of(result: Result<()>) -> String {
        match result {
            Err(Error::InvalidArgument { field, .. }) => field,
            other => panic!("expected InvalidArgument, got {other:?}"),
        }
    }

    #[test]
    fn ids_are_bounded_and_required_where_needed() {
        assert_eq!(
            field_of(validate_id("attribution.entity_id", "", true)),
            "attribution.entity_id"
        );
        validate_id("attribution.process_id", "", false).unwrap();
        let long = "x".repeat(MAX_ID_BYTES + 1);
        assert_eq!(field_of(validate_id("a.b", &long, true)), "a.b");
        validate_id("a.b", &"x".repeat(MAX_ID_BYTES), true).unwrap();
    }

    #[test]
    fn messages_name_the_offending_field() {
        let ok = ChatMessage::text(Role::User, "hi");
        validate_messages("messages", std::slice::from_ref(&ok), &limits()).unwrap();
        assert_eq!(
            field_of(validate_messages("messages", &[], &limits())),
            "messages"
        );
        let big = ChatMessage::text(Role::User, "x".repeat(17));
        assert_eq!(
            field_of(validate_messages("messages", &[ok.clone(), big], &limits())),
            "messages[1].content"
        );
        let three = vec![ok.clone(), ok.clone(), ok.clone()];
        assert_eq!(
            field_of(validate_messages("messages", &three, &limits())),
            "messages"
        );
        let tool = ChatMessage::text(Role::Tool, "42");
        assert_eq!(
            field_of(validate_messages("messages", &[tool], &limits())),
            "messages[0].tool_call_id"
        );
        let blank = ChatMessage::text(Role::User, "  ");
        assert_eq!(
            field_of(validate_messages("messages", &[blank], &limits())),
            "messages[0].content"
        );
    }

    #[test]
    fn metadata_is_bounded() {
        let mut metadata = Metadata::new();
        metadata.insert("a".into(), "1".into());
        validate_metadata("metadata", &metadata, &limits()).unwrap();
        metadata.insert("b".into(), "2".into());
        assert_eq!(
            field_of(validate_metadata("metadata", &metadata, &limits())),
            "metadata"
        );
    }
}
