//! Conversions between the memori.v1 messages and the domain types.
//!
//! Incoming messages are destructured field by field, so a new proto field
//! fails to build until it is mapped here; each error names the field by its
//! path in the request.

use chrono::{DateTime, Utc};
use prost_types::value::Kind;
use serde_json::Value;

use crate::chat::{ChatEvent, ChatTurn, MemoryOptions};
use crate::domain::memory::{FactCategory, FactRecord};
use crate::domain::turns::{ForgetCounts, SessionRecord, TurnRecord};
use crate::domain::{
    Attribution, ChatMessage, FinishReason, Role, Scope, ToolCall, TurnStatus, Usage,
};
use crate::error::{Error, Result};
use crate::ingest::AttributedTurn;
use crate::memory::index::Fusion;
use crate::pb;
use crate::providers::{GenerationParams, ResponseFormat, ToolCallDelta, ToolChoice, ToolSpec};
use crate::recall::{Hit, Ranked, RankingOverrides, RecallQuery};

fn non_empty(value: String) -> Option<String> {
    (!value.is_empty()).then_some(value)
}

pub fn attribution(field: &str, value: Option<pb::Attribution>) -> Result<Attribution> {
    let pb::Attribution {
        entity_id,
        process_id,
        session_id,
    } = value.ok_or_else(|| Error::invalid(field, "is required"))?;
    Ok(Attribution {
        entity_id,
        process_id: non_empty(process_id),
        session_id: non_empty(session_id),
    })
}

/// The scope of an RPC that works on a whole entity (or, with
/// `session_required`, on one of its sessions, whose id is returned too).
/// Any other part of the attribution set is refused by name: these RPCs
/// cannot narrow by it, and a caller must never believe it forgot, listed
/// or waited for less than it did.
pub fn entity_scope(
    namespace: String,
    value: Option<pb::Attribution>,
    session_required: bool,
) -> Result<(Scope, Option<String>)> {
    let attribution = attribution("attribution", value)?;
    crate::domain::validate_attribution(&attribution)?;
    let Attribution {
        entity_id,
        process_id,
        session_id,
    } = attribution;
    if process_id.is_some() {
        return Err(Error::invalid(
            "attribution.process_id",
            "must be empty: this call is not narrowed by process",
        ));
    }
    if session_required && session_id.is_none() {
        return Err(Error::invalid("attribution.session_id", "is required"));
    }
    if !session_required && session_id.is_some() {
        return Err(Error::invalid(
            "attribution.session_id",
            "must be empty: this call covers the whole entity",
        ));
    }
    Ok((
        Scope {
            namespace,
            entity_id,
        },
        session_id,
    ))
}

fn role(field: String, value: i32) -> Result<Role> {
    match pb::Role::try_from(value) {
        Ok(pb::Role::System) => Ok(Role::System),
        Ok(pb::Role::User) => Ok(Role::User),
        Ok(pb::Role::Assistant) => Ok(Role::Assistant),
        Ok(pb::Role::Tool) => Ok(Role::Tool),
        Ok(pb::Role::Unspecified) => Err(Error::invalid(field, "must be set")),
        Err(_) => Err(Error::invalid(
            field,
            format!("{value} is not a known role"),
        )),
    }
}

pub fn messages(field: &str, values: Vec<pb::Message>) -> Result<Vec<ChatMessage>> {
    values
        .into_iter()
        .enumerate()
        .map(|(i, message)| {
            let pb::Message {
                role: role_value,
                content,
                name,
                tool_calls,
                tool_call_id,
            } = message;
            Ok(ChatMessage {
                role: role(format!("{field}[{i}].role"), role_value)?,
                content,
                name: non_empty(name),
                tool_calls: tool_calls
                    .into_iter()
                    .map(
                        |pb::ToolCall {
                             id,
                             name,
                             arguments,
                         }| ToolCall {
                            id,
                            name,
                            arguments,
                        },
                    )
                    .collect(),
                tool_call_id: non_empty(tool_call_id),
            })
        })
        .collect()
}

fn role_to_proto(role: Role) -> pb::Role {
    match role {
        Role::System => pb::Role::System,
        Role::User => pb::Role::User,
        Role::Assistant => pb::Role::Assistant,
        Role::Tool => pb::Role::Tool,
    }
}

fn message_to_proto(message: ChatMessage) -> pb::Message {
    let ChatMessage {
        role,
        content,
        name,
        tool_calls,
        tool_call_id,
    } = message;
    pb::Message {
        role: role_to_proto(role).into(),
        content,
        name: name.unwrap_or_default(),
        tool_calls: tool_calls
            .into_iter()
            .map(
                |ToolCall {
                     id,
                     name,
                     arguments,
                 }| pb::ToolCall {
                    id,
                    name,
                    arguments,
                },
            )
            .collect(),
        tool_call_id: tool_call_id.unwrap_or_default(),
    }
}

/// A protobuf `Struct` as JSON. Whole numbers become JSON integers, since a
/// JSON Schema's `"minimum": 1` must not turn into `1.0`.
pub fn struct_to_json(value: prost_types::Struct) -> Value {
    Value::Object(
        value
            .fields
            .into_iter()
            .map(|(key, value)| (key, value_to_json(value)))
            .collect(),
    )
}

fn value_to_json(value: prost_types::Value) -> Value {
    match value.kind {
        None | Some(Kind::NullValue(_)) => Value::Null,
        Some(Kind::BoolValue(b)) => Value::Bool(b),
        Some(Kind::NumberValue(n)) => {
            if n.fract() == 0.0 && n.abs() < 9.0e15 {
                Value::from(n as i64)
            } else {
                serde_json::Number::from_f64(n).map_or(Value::Null, Value::Number)
            }
        }
        Some(Kind::StringValue(s)) => Value::String(s),
        Some(Kind::ListValue(list)) => {
            Value::Array(list.values.into_iter().map(value_to_json).collect())
        }
        Some(Kind::StructValue(s)) => struct_to_json(s),
    }
}

fn tool(index: usize, tool: pb::Tool) -> Result<ToolSpec> {
    let pb::Tool {
        name,
        description,
        parameters,
        strict,
    } = tool;
    if name.is_empty() {
        return Err(Error::invalid(
            format!("tools[{index}].name"),
            "is required",
        ));
    }
    Ok(ToolSpec {
        name,
        description,
        parameters: parameters
            .map(struct_to_json)
            .unwrap_or_else(|| serde_json::json!({ "type": "object", "properties": {} })),
        strict,
    })
}

fn tool_choice(value: Option<pb::ToolChoice>) -> Result<Option<ToolChoice>> {
    let Some(pb::ToolChoice { choice }) = value else {
        return Ok(None);
    };
    Ok(match choice {
        None => None,
        Some(pb::tool_choice::Choice::FunctionName(name)) if name.is_empty() => {
            return Err(Error::invalid(
                "tool_choice.function_name",
                "must not be empty",
            ));
        }
        Some(pb::tool_choice::Choice::FunctionName(name)) => Some(ToolChoice::Function(name)),
        Some(pb::tool_choice::Choice::Mode(mode)) => match pb::ToolChoiceMode::try_from(mode) {
            Ok(pb::ToolChoiceMode::Unspecified) => None,
            Ok(pb::ToolChoiceMode::Auto) => Some(ToolChoice::Auto),
            Ok(pb::ToolChoiceMode::None) => Some(ToolChoice::None),
            Ok(pb::ToolChoiceMode::Required) => Some(ToolChoice::Required),
            Err(_) => {
                return Err(Error::invalid(
                    "tool_choice.mode",
                    format!("{mode} is not a known mode"),
                ));
            }
        },
    })
}

fn response_format(value: Option<pb::ResponseFormat>) -> Result<Option<ResponseFormat>> {
    let Some(pb::ResponseFormat {
        r#type,
        schema_name,
        schema,
        strict,
    }) = value
    else {
        return Ok(None);
    };
    Ok(match pb::ResponseFormatType::try_from(r#type) {
        Ok(pb::ResponseFormatType::Unspecified) => None,
        Ok(pb::ResponseFormatType::Text) => Some(ResponseFormat::Text),
        Ok(pb::ResponseFormatType::JsonObject) => Some(ResponseFormat::JsonObject),
        Ok(pb::ResponseFormatType::JsonSchema) => {
            let schema = schema.ok_or_else(|| {
                Error::invalid("response_format.schema", "is required with JSON_SCHEMA")
            })?;
            Some(ResponseFormat::JsonSchema {
                name: non_empty(schema_name).unwrap_or_else(|| "response".into()),
                schema: struct_to_json(schema),
                strict,
            })
        }
        Err(_) => {
            return Err(Error::invalid(
                "response_format.type",
                format!("{type} is not a known format", type = r#type),
            ));
        }
    })
}

fn memory_options(value: Option<pb::MemoryOptions>) -> MemoryOptions {
    let pb::MemoryOptions {
        recall,
        recall_limit,
        history,
        history_token_budget,
        augment,
    } = value.unwrap_or_default();
    MemoryOptions {
        recall,
        recall_limit: (recall_limit > 0).then_some(recall_limit),
        history,
        history_token_budget: (history_token_budget > 0).then_some(history_token_budget),
        augment,
    }
}

fn finite(field: &str, value: Option<f64>) -> Result<Option<f64>> {
    match value {
        Some(v) if !v.is_finite() => Err(Error::invalid(field, "must be a finite number")),
        other => Ok(other),
    }
}

impl TryFrom<pb::ChatRequest> for ChatTurn {
    type Error = Error;

    fn try_from(request: pb::ChatRequest) -> Result<Self> {
        let pb::ChatRequest {
            attribution: attribution_value,
            model,
            messages: message_values,
            temperature,
            max_tokens,
            top_p,
            stop,
            tools,
            tool_choice: tool_choice_value,
            response_format: response_format_value,
            memory,
            metadata,
        } = request;
        Ok(ChatTurn {
            attribution: attribution("attribution", attribution_value)?,
            model,
            messages: messages("messages", message_values)?,
            params: GenerationParams {
                temperature: finite("temperature", temperature)?,
                max_tokens,
                top_p: finite("top_p", top_p)?,
                stop,
                tools: tools
                    .into_iter()
                    .enumerate()
                    .map(|(i, t)| tool(i, t))
                    .collect::<Result<_>>()?,
                tool_choice: tool_choice(tool_choice_value)?,
                response_format: response_format(response_format_value)?,
            },
            memory: memory_options(memory),
            metadata: metadata.into_iter().collect(),
        })
    }
}

fn finish_reason_to_proto(reason: Option<FinishReason>) -> pb::FinishReason {
    match reason {
        None => pb::FinishReason::Unspecified,
        Some(FinishReason::Stop) => pb::FinishReason::Stop,
        Some(FinishReason::Length) => pb::FinishReason::Length,
        Some(FinishReason::ToolCalls) => pb::FinishReason::ToolCalls,
        Some(FinishReason::ContentFilter) => pb::FinishReason::ContentFilter,
        Some(FinishReason::Other) => pb::FinishReason::Other,
    }
}

fn usage_to_proto(usage: Usage) -> pb::Usage {
    let Usage {
        input_tokens,
        output_tokens,
        cached_input_tokens,
        reasoning_tokens,
    } = usage;
    pb::Usage {
        input_tokens,
        output_tokens,
        cached_input_tokens,
        reasoning_tokens,
    }
}

impl From<ChatEvent> for pb::ChatResponse {
    fn from(event: ChatEvent) -> Self {
        use pb::chat_response::Event;
        let event = match event {
            ChatEvent::Started {
                turn_id,
                session_id,
                model,
                recalled_memory_ids,
            } => Event::Started(pb::ChatStarted {
                turn_id: turn_id.to_string(),
                session_id,
                model,
                recalled_memory_ids,
            }),
            ChatEvent::Delta {
                text,
                reasoning,
                tool_calls,
            } => Event::Delta(pb::ChatDelta {
                text,
                reasoning,
                tool_calls: tool_calls
                    .into_iter()
                    .map(
                        |ToolCallDelta {
                             index,
                             id,
                             name,
                             arguments,
                         }| pb::ToolCallDelta {
                            index,
                            id,
                            name,
                            arguments,
                        },
                    )
                    .collect(),
            }),
            ChatEvent::Completed {
                turn_id,
                finish_reason,
                usage,
            } => Event::Completed(pb::ChatCompleted {
                turn_id: turn_id.to_string(),
                finish_reason: finish_reason_to_proto(finish_reason).into(),
                usage: usage.map(usage_to_proto),
            }),
        };
        pb::ChatResponse { event: Some(event) }
    }
}

fn timestamp(value: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: value.timestamp(),
        nanos: value.timestamp_subsec_nanos() as i32,
    }
}

fn from_timestamp(field: &str, value: prost_types::Timestamp) -> Result<DateTime<Utc>> {
    u32::try_from(value.nanos)
        .ok()
        .and_then(|nanos| DateTime::from_timestamp(value.seconds, nanos))
        .ok_or_else(|| Error::invalid(field, "is not a valid timestamp"))
}

impl TryFrom<pb::AttributeRequest> for AttributedTurn {
    type Error = Error;

    fn try_from(request: pb::AttributeRequest) -> Result<Self> {
        let pb::AttributeRequest {
            attribution: attribution_value,
            messages: message_values,
            occurred_at,
            idempotency_key,
            metadata,
            model,
        } = request;
        Ok(AttributedTurn {
            attribution: attribution("attribution", attribution_value)?,
            messages: messages("messages", message_values)?,
            occurred_at: occurred_at
                .map(|t| from_timestamp("occurred_at", t))
                .transpose()?,
            idempotency_key: non_empty(idempotency_key),
            metadata: metadata.into_iter().collect(),
            model: non_empty(model),
        })
    }
}

fn turn_status_to_proto(status: TurnStatus) -> pb::TurnStatus {
    match status {
        TurnStatus::Streaming => pb::TurnStatus::Streaming,
        TurnStatus::Completed => pb::TurnStatus::Completed,
        TurnStatus::Interrupted => pb::TurnStatus::Interrupted,
        TurnStatus::Failed => pb::TurnStatus::Failed,
    }
}

fn turn_to_proto(turn: TurnRecord) -> pb::Turn {
    let TurnRecord {
        turn_id,
        status,
        process_id,
        model,
        finish_reason,
        usage,
        error,
        metadata,
        occurred_at,
        messages,
    } = turn;
    pb::Turn {
        turn_id: turn_id.to_string(),
        status: turn_status_to_proto(status).into(),
        model: model.unwrap_or_default(),
        finish_reason: finish_reason_to_proto(finish_reason).into(),
        usage: usage.map(usage_to_proto),
        messages: messages.into_iter().map(message_to_proto).collect(),
        occurred_at: Some(timestamp(occurred_at)),
        error: error.unwrap_or_default(),
        process_id: process_id.unwrap_or_default(),
        metadata: metadata.into_iter().collect(),
    }
}

impl From<SessionRecord> for pb::GetSessionResponse {
    fn from(record: SessionRecord) -> Self {
        let SessionRecord {
            session_id,
            entity_id,
            process_id,
            created_at,
            updated_at,
            turns,
        } = record;
        pb::GetSessionResponse {
            session: Some(pb::Session {
                session_id,
                entity_id,
                process_id: process_id.unwrap_or_default(),
                created_at: Some(timestamp(created_at)),
                updated_at: Some(timestamp(updated_at)),
            }),
            turns: turns.into_iter().map(turn_to_proto).collect(),
        }
    }
}

impl From<ForgetCounts> for pb::ForgetEntityResponse {
    fn from(counts: ForgetCounts) -> Self {
        let ForgetCounts {
            sessions,
            turns,
            messages,
            facts,
            jobs,
        } = counts;
        pb::ForgetEntityResponse {
            sessions_deleted: sessions,
            turns_deleted: turns,
            messages_deleted: messages,
            facts_deleted: facts,
            jobs_deleted: jobs,
        }
    }
}

fn fact_category(category: FactCategory) -> pb::FactCategory {
    match category {
        FactCategory::Preference => pb::FactCategory::Preference,
        FactCategory::Attribute => pb::FactCategory::Attribute,
        FactCategory::Skill => pb::FactCategory::Skill,
        FactCategory::Event => pb::FactCategory::Event,
        FactCategory::Relationship => pb::FactCategory::Relationship,
        FactCategory::Rule => pb::FactCategory::Rule,
        FactCategory::Other => pb::FactCategory::Other,
    }
}

impl From<FactRecord> for pb::Fact {
    fn from(fact: FactRecord) -> Self {
        let FactRecord {
            fact_id,
            content,
            category,
            mention_count,
            first_seen_at,
            last_seen_at,
            valid_until,
            superseded_by,
            embedding: _,
        } = fact;
        pb::Fact {
            id: fact_id.to_string(),
            content,
            category: fact_category(category).into(),
            first_seen_at: Some(timestamp(first_seen_at)),
            last_seen_at: Some(timestamp(last_seen_at)),
            mention_count: u32::try_from(mention_count).unwrap_or(u32::MAX),
            valid_until: valid_until.map(timestamp),
            superseded_by: superseded_by.map(|id| id.to_string()).unwrap_or_default(),
            // Provenance is a separate read, filled in by the handlers.
            source_turn_ids: Vec::new(),
        }
    }
}

/// A call's ranking overrides: weights finite and at least 0, a known
/// fusion.
fn ranking_overrides(ranking: Option<pb::Ranking>) -> Result<RankingOverrides> {
    let Some(ranking) = ranking else {
        return Ok(RankingOverrides::default());
    };
    let weight = |name: &str, value: Option<f64>| match value {
        Some(w) if !(w.is_finite() && w >= 0.0) => Err(Error::invalid(
            format!("ranking.{name}"),
            "must be a finite number of at least 0",
        )),
        other => Ok(other),
    };
    let fusion = match pb::Fusion::try_from(ranking.fusion) {
        Ok(pb::Fusion::Unspecified) => None,
        Ok(pb::Fusion::MinMax) => Some(Fusion::MinMax),
        Ok(pb::Fusion::Absolute) => Some(Fusion::Absolute),
        Err(_) => {
            return Err(Error::invalid(
                "ranking.fusion",
                "must be FUSION_MIN_MAX, FUSION_ABSOLUTE or unset",
            ));
        }
    };
    let context = match ranking.context_weight {
        Some(c) if !(0.0..=1.0).contains(&c) => {
            return Err(Error::invalid(
                "ranking.context_weight",
                "must be a number from 0 to 1",
            ));
        }
        other => other,
    };
    Ok(RankingOverrides {
        dense: weight("dense_weight", ranking.dense_weight)?,
        lexical: weight("lexical_weight", ranking.lexical_weight)?,
        recency: weight("recency_weight", ranking.recency_weight)?,
        mentions: weight("mentions_weight", ranking.mentions_weight)?,
        fusion,
        context,
        neighbours: weight("neighbour_weight", ranking.neighbour_weight)?,
    })
}

/// A Recall request as a query, and whether score parts were asked for.
pub fn recall_query(namespace: String, request: pb::RecallRequest) -> Result<(RecallQuery, bool)> {
    let pb::RecallRequest {
        attribution: attribution_value,
        query,
        limit,
        kinds,
        occurred_after,
        occurred_before,
        min_score,
        include_score_parts,
        include_superseded,
        ranking,
    } = request;
    let attribution = attribution("attribution", attribution_value)?;
    crate::domain::validate_attribution(&attribution)?;
    let (mut facts, mut messages) = (false, false);
    for (i, kind) in kinds.iter().enumerate() {
        match pb::MemoryKind::try_from(*kind) {
            Ok(pb::MemoryKind::Fact) => facts = true,
            Ok(pb::MemoryKind::Message) => messages = true,
            _ => {
                return Err(Error::invalid(
                    format!("kinds[{i}]"),
                    "must be MEMORY_KIND_FACT or MEMORY_KIND_MESSAGE",
                ));
            }
        }
    }
    if kinds.is_empty() {
        facts = true;
    }
    let limit = match limit as usize {
        0 => crate::recall::DEFAULT_LIMIT,
        n => n.min(crate::recall::MAX_LIMIT),
    };
    let query = RecallQuery {
        scope: Scope {
            namespace,
            entity_id: attribution.entity_id,
        },
        process_id: attribution.process_id,
        query,
        limit,
        facts,
        messages,
        after: occurred_after
            .map(|t| from_timestamp("occurred_after", t))
            .transpose()?,
        before: occurred_before
            .map(|t| from_timestamp("occurred_before", t))
            .transpose()?,
        min_score,
        include_superseded,
        ranking: ranking_overrides(ranking)?,
    };
    Ok((query, include_score_parts))
}

/// A fact and the turns that mentioned it.
pub fn fact_with_sources(fact: FactRecord, sources: Vec<uuid::Uuid>) -> pb::Fact {
    let mut fact = pb::Fact::from(fact);
    fact.source_turn_ids = sources.iter().map(ToString::to_string).collect();
    fact
}

/// A recall hit; a fact's `sources` are the turns that mentioned it.
pub fn recall_response(
    ranked: Ranked,
    sources: Vec<uuid::Uuid>,
    include_parts: bool,
) -> pb::RecallResponse {
    let Ranked { hit, score } = ranked;
    let hit = match hit {
        Hit::Fact(fact) => pb::recall_response::Hit::Fact(fact_with_sources(fact, sources)),
        Hit::Message(message) => pb::recall_response::Hit::Message(pb::MessageHit {
            turn_id: message.turn_id.to_string(),
            session_id: message.session_id,
            role: role_to_proto(message.role).into(),
            content: message.content,
            occurred_at: Some(timestamp(message.occurred_at)),
        }),
    };
    pb::RecallResponse {
        score: score.total,
        score_parts: include_parts.then_some(pb::ScoreParts {
            dense: score.dense,
            lexical: score.lexical,
            recency: score.recency,
            mentions: score.mentions,
        }),
        hit: Some(hit),
    }
}

/// Parses an id field that must be a UUID.
pub fn uuid_field(field: &str, value: &str) -> Result<uuid::Uuid> {
    uuid::Uuid::parse_str(value)
        .map_err(|_| Error::invalid(field, format!("{value:?} is not a valid id")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_roles_name_their_message() {
        let request = pb::ChatRequest {
            attribution: Some(pb::Attribution {
                entity_id: "u".into(),
                ..Default::default()
            }),
            model: "openai/m".into(),
            messages: vec![
                pb::Message {
                    role: pb::Role::User.into(),
                    content: "hi".into(),
                    ..Default::default()
                },
                pb::Message {
                    role: 42,
                    content: "x".into(),
                    ..Default::default()
                },
            ],
            ..Default::default()
        };
        match ChatTurn::try_from(request) {
            Err(Error::InvalidArgument { field, .. }) => assert_eq!(field, "messages[1].role"),
            other => panic!("expected InvalidArgument, got {other:?}"),
        }
    }

    #[test]
    fn session_context_overrides_are_checked_by_field() {
        let refused = |ranking: pb::Ranking| match ranking_overrides(Some(ranking)) {
            Err(Error::InvalidArgument { field, .. }) => field,
            other => panic!("expected InvalidArgument, got {other:?}"),
        };
        let context = |c: f64| pb::Ranking {
            context_weight: Some(c),
            ..Default::default()
        };
        assert_eq!(refused(context(1.5)), "ranking.context_weight");
        assert_eq!(refused(context(f64::NAN)), "ranking.context_weight");
        assert_eq!(
            refused(pb::Ranking {
                neighbour_weight: Some(-0.1),
                ..Default::default()
            }),
            "ranking.neighbour_weight"
        );
        let taken = ranking_overrides(Some(pb::Ranking {
            context_weight: Some(0.0),
            neighbour_weight: Some(0.3),
            ..Default::default()
        }))
        .unwrap();
        assert_eq!((taken.context, taken.neighbours), (Some(0.0), Some(0.3)));
        let unset = ranking_overrides(Some(pb::Ranking::default())).unwrap();
        assert_eq!((unset.context, unset.neighbours), (None, None));
    }

    #[test]
    fn struct_numbers_keep_integers_whole() {
        let mut fields = std::collections::BTreeMap::new();
        fields.insert(
            "minimum".to_string(),
            prost_types::Value {
                kind: Some(Kind::NumberValue(1.0)),
            },
        );
        fields.insert(
            "step".to_string(),
            prost_types::Value {
                kind: Some(Kind::NumberValue(0.5)),
            },
        );
        let json = struct_to_json(prost_types::Struct { fields });
        assert_eq!(json.to_string(), r#"{"minimum":1,"step":0.5}"#);
    }
}
