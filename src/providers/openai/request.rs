//! The Chat Completions request body, as typed wire structs that borrow
//! from the [`ChatRequest`] (nothing is copied to build a body).
//!
//! Optional fields are left out when unset, so servers that reject unknown
//! or null parameters (some OpenAI-compatible ones do) see only what the
//! caller asked for.

use serde::Serialize;

use crate::domain::{ChatMessage, Role};
use crate::providers::{ChatRequest, ResponseFormat, ToolChoice, ToolSpec};

#[derive(Serialize)]
pub struct Body<'a> {
    /// Absent for Azure, whose deployment URL names the model.
    #[serde(skip_serializing_if = "Option::is_none")]
    model: Option<&'a str>,
    messages: Vec<Message<'a>>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    stream: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    stream_options: Option<StreamOptions>,
    #[serde(skip_serializing_if = "Option::is_none")]
    temperature: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_tokens: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    top_p: Option<f64>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    stop: &'a [String],
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tools: Vec<Tool<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tool_choice: Option<WireToolChoice<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    response_format: Option<WireResponseFormat<'a>>,
}

#[derive(Serialize)]
struct StreamOptions {
    include_usage: bool,
}

#[derive(Serialize)]
struct Message<'a> {
    role: &'static str,
    /// `null` on an assistant message that only calls tools, as the API
    /// documents; the text otherwise.
    content: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tool_calls: Vec<ToolCall<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tool_call_id: Option<&'a str>,
}

#[derive(Serialize)]
struct ToolCall<'a> {
    id: &'a str,
    r#type: &'static str,
    function: FunctionCall<'a>,
}

#[derive(Serialize)]
struct FunctionCall<'a> {
    name: &'a str,
    arguments: &'a str,
}

#[derive(Serialize)]
struct Tool<'a> {
    r#type: &'static str,
    function: Function<'a>,
}

#[derive(Serialize)]
struct Function<'a> {
    name: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    description: &'a str,
    parameters: &'a serde_json::Value,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    strict: bool,
}

#[derive(Serialize)]
#[serde(untagged)]
enum WireToolChoice<'a> {
    Mode(&'static str),
    Function {
        r#type: &'static str,
        function: FunctionName<'a>,
    },
}

#[derive(Serialize)]
struct FunctionName<'a> {
    name: &'a str,
}

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum WireResponseFormat<'a> {
    Text,
    JsonObject,
    JsonSchema { json_schema: JsonSchema<'a> },
}

#[derive(Serialize)]
struct JsonSchema<'a> {
    name: &'a str,
    schema: &'a serde_json::Value,
    strict: bool,
}

/// The body of a Chat Completions request. `with_model` is false for Azure.
pub fn body(request: &ChatRequest, stream: bool, with_model: bool) -> Body<'_> {
    let params = &request.params;
    Body {
        model: with_model.then_some(request.model.as_str()),
        messages: request.messages.iter().map(message).collect(),
        stream,
        stream_options: stream.then_some(StreamOptions {
            include_usage: true,
        }),
        temperature: params.temperature,
        max_tokens: params.max_tokens,
        top_p: params.top_p,
        stop: &params.stop,
        tools: params.tools.iter().map(tool).collect(),
        tool_choice: params.tool_choice.as_ref().map(tool_choice),
        response_format: params.response_format.as_ref().map(response_format),
    }
}

fn message(message: &ChatMessage) -> Message<'_> {
    let only_calls = message.role == Role::Assistant
        && message.content.is_empty()
        && !message.tool_calls.is_empty();
    Message {
        role: message.role.as_str(),
        content: (!only_calls).then_some(message.content.as_str()),
        name: message.name.as_deref(),
        tool_calls: message
            .tool_calls
            .iter()
            .map(|call| ToolCall {
                id: &call.id,
                r#type: "function",
                function: FunctionCall {
                    name: &call.name,
                    arguments: &call.arguments,
                },
            })
            .collect(),
        tool_call_id: message.tool_call_id.as_deref(),
    }
}

fn tool(tool: &ToolSpec) -> Tool<'_> {
    Tool {
        r#type: "function",
        function: Function {
            name: &tool.name,
            description: &tool.description,
            parameters: &tool.parameters,
            strict: tool.strict,
        },
    }
}

fn tool_choice(choice: &ToolChoice) -> WireToolChoice<'_> {
    match choice {
        ToolChoice::Auto => WireToolChoice::Mode("auto"),
        ToolChoice::None => WireToolChoice::Mode("none"),
        ToolChoice::Required => WireToolChoice::Mode("required"),
        ToolChoice::Function(name) => WireToolChoice::Function {
            r#type: "function",
            function: FunctionName { name },
        },
    }
}

fn response_format(format: &ResponseFormat) -> WireResponseFormat<'_> {
    match format {
        ResponseFormat::Text => WireResponseFormat::Text,
        ResponseFormat::JsonObject => WireResponseFormat::JsonObject,
        ResponseFormat::JsonSchema {
            name,
            schema,
            strict,
        } => WireResponseFormat::JsonSchema {
            json_schema: JsonSchema {
                name,
                schema,
                strict: *strict,
            },
        },
    }
}
