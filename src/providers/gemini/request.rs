//! The generateContent request body, as typed wire structs borrowing from
//! the [`ChatRequest`].
//!
//! System messages become `systemInstruction`; assistant turns are role
//! `model`; tool results become `functionResponse` parts, which Gemini
//! matches by function name, so the name is looked up from the assistant
//! tool call the result answers. Consecutive turns of one role are merged.

use std::collections::HashMap;

use serde::Serialize;
use serde_json::Value;

use crate::domain::{ChatMessage, Role};
use crate::providers::{ChatRequest, ResponseFormat, ToolChoice};

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Body<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    system_instruction: Option<Content<'a>>,
    contents: Vec<Turn<'a>>,
    #[serde(skip_serializing_if = "GenerationConfig::is_empty")]
    generation_config: GenerationConfig<'a>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tools: Vec<Tools<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tool_config: Option<ToolConfig<'a>>,
}

#[derive(Serialize)]
struct Content<'a> {
    parts: Vec<Part<'a>>,
}

#[derive(Serialize)]
struct Turn<'a> {
    role: &'static str,
    parts: Vec<Part<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
enum Part<'a> {
    FunctionCall {
        name: &'a str,
        args: Value,
    },
    FunctionResponse {
        name: &'a str,
        response: Value,
    },
    #[serde(untagged)]
    Text {
        text: &'a str,
    },
}

#[derive(Serialize, Default)]
#[serde(rename_all = "camelCase")]
struct GenerationConfig<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    temperature: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    top_p: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_output_tokens: Option<u32>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    stop_sequences: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    response_mime_type: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    response_json_schema: Option<&'a Value>,
}

impl GenerationConfig<'_> {
    fn is_empty(&self) -> bool {
        self.temperature.is_none()
            && self.top_p.is_none()
            && self.max_output_tokens.is_none()
            && self.stop_sequences.is_empty()
            && self.response_mime_type.is_none()
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Tools<'a> {
    function_declarations: Vec<FunctionDeclaration<'a>>,
}

#[derive(Serialize)]
struct FunctionDeclaration<'a> {
    name: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    description: &'a str,
    parameters: &'a Value,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ToolConfig<'a> {
    function_calling_config: FunctionCallingConfig<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct FunctionCallingConfig<'a> {
    mode: &'static str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    allowed_function_names: Vec<&'a str>,
}

/// The body of a generateContent (or streamGenerateContent) request.
pub fn body(request: &ChatRequest) -> Body<'_> {
    let params = &request.params;
    let system: Vec<Part<'_>> = request
        .messages
        .iter()
        .filter(|m| m.role == Role::System)
        .map(|m| Part::Text { text: &m.content })
        .collect();
    let (response_mime_type, response_json_schema) = match &params.response_format {
        Some(ResponseFormat::JsonObject) => (Some("application/json"), None),
        Some(ResponseFormat::JsonSchema { schema, .. }) => (Some("application/json"), Some(schema)),
        Some(ResponseFormat::Text) | None => (None, None),
    };
    let declarations: Vec<FunctionDeclaration<'_>> = params
        .tools
        .iter()
        .map(|tool| FunctionDeclaration {
            name: &tool.name,
            description: &tool.description,
            parameters: &tool.parameters,
        })
        .collect();
    Body {
        system_instruction: (!system.is_empty()).then_some(Content { parts: system }),
        contents: contents(&request.messages),
        generation_config: GenerationConfig {
            temperature: params.temperature,
            top_p: params.top_p,
            max_output_tokens: params.max_tokens,
            stop_sequences: &params.stop,
            response_mime_type,
            response_json_schema,
        },
        tools: if declarations.is_empty() {
            Vec::new()
        } else {
            vec![Tools {
                function_declarations: declarations,
            }]
        },
        tool_config: params.tool_choice.as_ref().map(|choice| {
            let (mode, allowed_function_names) = match choice {
                ToolChoice::Auto => ("AUTO", Vec::new()),
                ToolChoice::None => ("NONE", Vec::new()),
                ToolChoice::Required => ("ANY", Vec::new()),
                ToolChoice::Function(name) => ("ANY", vec![name.as_str()]),
            };
            ToolConfig {
                function_calling_config: FunctionCallingConfig {
                    mode,
                    allowed_function_names,
                },
            }
        }),
    }
}

/// Non-system messages as Gemini contents, merging consecutive turns of one
/// role.
fn contents(messages: &[ChatMessage]) -> Vec<Turn<'_>> {
    let call_names: HashMap<&str, &str> = messages
        .iter()
        .flat_map(|m| &m.tool_calls)
        .map(|call| (call.id.as_str(), call.name.as_str()))
        .collect();
    let mut turns: Vec<Turn<'_>> = Vec::new();
    for message in messages {
        let (role, parts) = match message.role {
            Role::System => continue,
            Role::User => (
                "user",
                vec![Part::Text {
                    text: &message.content,
                }],
            ),
            Role::Tool => {
                let id = message.tool_call_id.as_deref().unwrap_or_default();
                let name = call_names.get(id).copied().unwrap_or(id);
                // Gemini wants an object; a result that is not a JSON
                // object is wrapped.
                let response = match serde_json::from_str::<Value>(&message.content) {
                    Ok(Value::Object(object)) => Value::Object(object),
                    _ => serde_json::json!({ "content": message.content }),
                };
                ("user", vec![Part::FunctionResponse { name, response }])
            }
            Role::Assistant => {
                let text = (!message.content.is_empty()).then_some(Part::Text {
                    text: &message.content,
                });
                let calls = message.tool_calls.iter().map(|call| Part::FunctionCall {
                    name: &call.name,
                    args: serde_json::from_str(&call.arguments)
                        .unwrap_or_else(|_| serde_json::json!({})),
                });
                ("model", text.into_iter().chain(calls).collect())
            }
        };
        match turns.last_mut() {
            Some(last) if last.role == role => last.parts.extend(parts),
            _ => turns.push(Turn { role, parts }),
        }
    }
    turns
}
