//! The Messages request body, as typed wire structs borrowing from the
//! [`ChatRequest`].
//!
//! System messages (and, when JSON is asked for, the instruction to answer
//! in JSON, since the API has no JSON mode) go to `system`; tool results
//! become `tool_result` blocks in a user turn; consecutive turns of one
//! role are merged, as the API requires alternating roles.

use serde::Serialize;
use serde_json::Value;

use super::DEFAULT_MAX_TOKENS;
use crate::domain::{ChatMessage, Role};
use crate::providers::{ChatRequest, ResponseFormat, ToolChoice, ToolSpec};

#[derive(Serialize)]
pub struct Body<'a> {
    model: &'a str,
    max_tokens: u32,
    #[serde(skip_serializing_if = "String::is_empty")]
    system: String,
    messages: Vec<Turn<'a>>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    stream: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    temperature: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    top_p: Option<f64>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    stop_sequences: &'a [String],
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tools: Vec<Tool<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tool_choice: Option<WireToolChoice<'a>>,
}

#[derive(Serialize)]
struct Turn<'a> {
    role: &'static str,
    content: Vec<Block<'a>>,
}

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Block<'a> {
    Text {
        text: &'a str,
    },
    ToolUse {
        id: &'a str,
        name: &'a str,
        input: Value,
    },
    ToolResult {
        tool_use_id: &'a str,
        content: &'a str,
    },
}

#[derive(Serialize)]
struct Tool<'a> {
    name: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    description: &'a str,
    input_schema: &'a Value,
}

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum WireToolChoice<'a> {
    Auto,
    None,
    Any,
    Tool { name: &'a str },
}

/// The body of a Messages request.
pub fn body(request: &ChatRequest, stream: bool) -> Body<'_> {
    let params = &request.params;
    Body {
        model: &request.model,
        max_tokens: params.max_tokens.unwrap_or(DEFAULT_MAX_TOKENS),
        system: system(request),
        messages: turns(&request.messages),
        stream,
        temperature: params.temperature,
        top_p: params.top_p,
        stop_sequences: &params.stop,
        tools: params.tools.iter().map(tool).collect(),
        tool_choice: params.tool_choice.as_ref().map(|choice| match choice {
            ToolChoice::Auto => WireToolChoice::Auto,
            ToolChoice::None => WireToolChoice::None,
            ToolChoice::Required => WireToolChoice::Any,
            ToolChoice::Function(name) => WireToolChoice::Tool { name },
        }),
    }
}

/// The system messages, joined, and the JSON instruction when JSON is
/// asked for (the documented way to ask the Messages API for JSON).
fn system(request: &ChatRequest) -> String {
    let mut parts: Vec<String> = request
        .messages
        .iter()
        .filter(|m| m.role == Role::System)
        .map(|m| m.content.clone())
        .collect();
    match &request.params.response_format {
        Some(ResponseFormat::JsonSchema { schema, .. }) => parts.push(format!(
            "Answer with a single JSON value that follows this JSON Schema, and nothing else: {schema}"
        )),
        Some(ResponseFormat::JsonObject) => {
            parts.push("Answer with a single JSON object and nothing else.".to_string())
        }
        Some(ResponseFormat::Text) | None => {}
    }
    parts.join("\n\n")
}

fn tool(tool: &ToolSpec) -> Tool<'_> {
    Tool {
        name: &tool.name,
        description: &tool.description,
        input_schema: &tool.parameters,
    }
}

/// The content blocks of one message.
fn blocks(message: &ChatMessage) -> Vec<Block<'_>> {
    if message.role == Role::Tool {
        return vec![Block::ToolResult {
            tool_use_id: message.tool_call_id.as_deref().unwrap_or_default(),
            content: &message.content,
        }];
    }
    let text = (!message.content.is_empty()).then_some(Block::Text {
        text: &message.content,
    });
    let calls = message.tool_calls.iter().map(|call| Block::ToolUse {
        id: &call.id,
        name: &call.name,
        // Arguments that are not JSON are passed as a string value rather
        // than dropped.
        input: serde_json::from_str(&call.arguments)
            .unwrap_or_else(|_| serde_json::json!({ "arguments": call.arguments })),
    });
    text.into_iter().chain(calls).collect()
}

/// Non-system messages as alternating user/assistant turns.
fn turns(messages: &[ChatMessage]) -> Vec<Turn<'_>> {
    let mut turns: Vec<Turn<'_>> = Vec::new();
    for message in messages {
        let role = match message.role {
            Role::System => continue,
            Role::User | Role::Tool => "user",
            Role::Assistant => "assistant",
        };
        let content = blocks(message);
        match turns.last_mut() {
            Some(last) if last.role == role => last.content.extend(content),
            _ => turns.push(Turn { role, content }),
        }
    }
    turns
}
