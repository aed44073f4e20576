//! Anthropic Messages API.
//!
//! System messages move to the top-level `system` field; tool results
//! become `tool_result` blocks in a user turn, and consecutive turns of one
//! role are merged, as the API requires alternating roles. `max_tokens` is
//! required by the API: when the caller sets none, [`DEFAULT_MAX_TOKENS`]
//! is sent.
//!
//! The stream is a sequence of typed SSE events; usage arrives in two parts
//! (input in `message_start`, output in `message_delta`) and is reported
//! once, with the finish reason, when `message_delta` arrives. Tool-use
//! blocks are numbered 0, 1, … among themselves, independent of the text
//! blocks between them.

mod request;

use std::collections::HashMap;

use serde::Deserialize;
use serde_json::Value;

use super::sse::{Frame, FrameParser};
use super::wire::Wire;
use super::{ChatRequest, Chunk, Completion, ToolCallDelta};
use crate::domain::{FinishReason, Usage};
use crate::error::Result;
use crate::http::ApiKey;

/// The `anthropic-version` header memorid speaks.
pub const API_VERSION: &str = "2023-06-01";

/// Sent as `max_tokens` when the caller set none (the API requires it).
pub const DEFAULT_MAX_TOKENS: u32 = 4096;

#[derive(Debug, Clone)]
pub struct Anthropic {
    name: String,
    client: reqwest::Client,
    messages_url: String,
    api_key: Option<ApiKey>,
}

impl Anthropic {
    pub fn new(
        name: &str,
        client: reqwest::Client,
        base_url: &str,
        api_key: Option<ApiKey>,
    ) -> Self {
        Anthropic {
            name: name.to_string(),
            client,
            messages_url: format!("{}/v1/messages", base_url.trim_end_matches('/')),
            api_key,
        }
    }
}

impl Wire for Anthropic {
    type Parser = EventParser;
    type Answer = WireMessage;

    fn name(&self) -> &str {
        &self.name
    }

    fn request(&self, request: &ChatRequest, stream: bool) -> reqwest::RequestBuilder {
        let http = self
            .client
            .post(&self.messages_url)
            .header("anthropic-version", API_VERSION)
            .json(&request::body(request, stream));
        match &self.api_key {
            Some(key) => http.header("x-api-key", key.header("")),
            None => http,
        }
    }

    fn completion(&self, answer: WireMessage) -> Result<Completion> {
        Ok(completion(answer))
    }
}

#[derive(Deserialize)]
struct ErrorDetail {
    #[serde(default)]
    message: String,
}

#[derive(Deserialize, Default)]
struct WireUsage {
    #[serde(default)]
    input_tokens: u32,
    #[serde(default)]
    output_tokens: u32,
    #[serde(default)]
    cache_read_input_tokens: u32,
    #[serde(default)]
    cache_creation_input_tokens: u32,
}

impl WireUsage {
    /// memorid counts cached prompt tokens inside the input, as OpenAI
    /// does; Anthropic reports them apart.
    fn into_usage(self, output_tokens: u32) -> Usage {
        let cached = self.cache_read_input_tokens;
        Usage {
            input_tokens: self.input_tokens + cached + self.cache_creation_input_tokens,
            output_tokens,
            cached_input_tokens: cached,
            reasoning_tokens: 0,
        }
    }
}

/// A non-streaming answer.
#[derive(Deserialize)]
pub(super) struct WireMessage {
    #[serde(default)]
    content: Vec<WireBlock>,
    #[serde(default)]
    stop_reason: Option<String>,
    #[serde(default)]
    usage: WireUsage,
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum WireBlock {
    Text {
        text: String,
    },
    Thinking {
        thinking: String,
    },
    ToolUse {
        id: String,
        name: String,
        input: Value,
    },
    #[serde(other)]
    Other,
}

fn completion(message: WireMessage) -> Completion {
    let mut chunk = Chunk::default();
    for block in message.content {
        match block {
            WireBlock::Text { text } => chunk.text.push_str(&text),
            WireBlock::Thinking { thinking } => chunk.reasoning.push_str(&thinking),
            WireBlock::ToolUse { id, name, input } => chunk.tool_calls.push(ToolCallDelta {
                index: chunk.tool_calls.len() as u32,
                id,
                name,
                arguments: input.to_string(),
            }),
            WireBlock::Other => {}
        }
    }
    let output_tokens = message.usage.output_tokens;
    chunk.usage = Some(message.usage.into_usage(output_tokens));
    chunk.finish_reason = Some(
        message
            .stop_reason
            .as_deref()
            .map_or(FinishReason::Other, finish_reason),
    );
    Completion::from_chunk(&chunk)
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Event {
    MessageStart {
        message: MessageStart,
    },
    ContentBlockStart {
        index: u32,
        content_block: BlockStart,
    },
    ContentBlockDelta {
        index: u32,
        delta: BlockDelta,
    },
    ContentBlockStop {},
    MessageDelta {
        delta: MessageDeltaBody,
        #[serde(default)]
        usage: WireUsage,
    },
    MessageStop {},
    Ping {},
    Error {
        error: ErrorDetail,
    },
    #[serde(other)]
    Unknown,
}

#[derive(Deserialize)]
struct MessageStart {
    #[serde(default)]
    usage: WireUsage,
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum BlockStart {
    ToolUse {
        id: String,
        name: String,
    },
    #[serde(other)]
    Other,
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum BlockDelta {
    TextDelta {
        text: String,
    },
    InputJsonDelta {
        partial_json: String,
    },
    ThinkingDelta {
        thinking: String,
    },
    #[serde(other)]
    Other,
}

#[derive(Deserialize)]
struct MessageDeltaBody {
    #[serde(default)]
    stop_reason: Option<String>,
}

/// The per-stream state of the event mapping.
#[derive(Default)]
pub(super) struct EventParser {
    /// Usage announced in message_start (input side).
    start_usage: Option<WireUsage>,
    /// Content block index → tool call index.
    tool_indices: HashMap<u32, u32>,
    /// Set by message_stop: the stream is complete.
    stopped: bool,
}

fn finish_reason(stop_reason: &str) -> FinishReason {
    match stop_reason {
        "end_turn" | "stop_sequence" | "pause_turn" => FinishReason::Stop,
        "max_tokens" => FinishReason::Length,
        "tool_use" => FinishReason::ToolCalls,
        "refusal" => FinishReason::ContentFilter,
        _ => FinishReason::Other,
    }
}

impl FrameParser for EventParser {
    fn may_end(&self) -> bool {
        self.stopped
    }

    fn parse(&mut self, data: &str) -> std::result::Result<Frame, String> {
        let event: Event =
            serde_json::from_str(data).map_err(|e| format!("unparseable stream event: {e}"))?;
        let mut chunk = Chunk::default();
        match event {
            Event::MessageStart { message } => {
                self.start_usage = Some(message.usage);
                return Ok(Frame::Skip);
            }
            Event::ContentBlockStart {
                index,
                content_block: BlockStart::ToolUse { id, name },
            } => {
                let tool_index = self.tool_indices.len() as u32;
                self.tool_indices.insert(index, tool_index);
                chunk.tool_calls.push(ToolCallDelta {
                    index: tool_index,
                    id,
                    name,
                    arguments: String::new(),
                });
            }
            Event::ContentBlockDelta { index, delta } => match delta {
                BlockDelta::TextDelta { text } => chunk.text = text,
                BlockDelta::ThinkingDelta { thinking } => chunk.reasoning = thinking,
                BlockDelta::InputJsonDelta { partial_json } => {
                    let Some(&tool_index) = self.tool_indices.get(&index) else {
                        return Err(format!(
                            "input_json_delta for block {index} without tool_use"
                        ));
                    };
                    chunk.tool_calls.push(ToolCallDelta {
                        index: tool_index,
                        arguments: partial_json,
                        ..ToolCallDelta::default()
                    });
                }
                BlockDelta::Other => return Ok(Frame::Skip),
            },
            Event::MessageDelta { delta, usage } => {
                // Input counts come in message_start; newer API versions
                // repeat them here, cumulatively.
                let start = self.start_usage.take().unwrap_or_default();
                let input = WireUsage {
                    input_tokens: start.input_tokens.max(usage.input_tokens),
                    output_tokens: 0,
                    cache_read_input_tokens: start
                        .cache_read_input_tokens
                        .max(usage.cache_read_input_tokens),
                    cache_creation_input_tokens: start
                        .cache_creation_input_tokens
                        .max(usage.cache_creation_input_tokens),
                };
                chunk.usage = Some(input.into_usage(usage.output_tokens));
                chunk.finish_reason = Some(
                    delta
                        .stop_reason
                        .as_deref()
                        .map_or(FinishReason::Other, finish_reason),
                );
            }
            Event::MessageStop {} => {
                self.stopped = true;
                return Ok(Frame::End);
            }
            Event::Error { error } => {
                return Err(format!(
                    "error in stream{}{}",
                    crate::error::UPSTREAM_SAID,
                    error.message
                ));
            }
            Event::ContentBlockStart { .. }
            | Event::ContentBlockStop {}
            | Event::Ping {}
            | Event::Unknown => return Ok(Frame::Skip),
        }
        Ok(Frame::Chunk(chunk))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::domain::{ChatMessage, Role, ToolCall};

    fn parse_all(events: &[&str]) -> Vec<Chunk> {
        let mut parser = EventParser::default();
        events
            .iter()
            .filter_map(|e| match parser.parse(e).unwrap() {
                Frame::Chunk(chunk) => Some(chunk),
                Frame::Skip | Frame::End => None,
            })
            .collect()
    }

    #[test]
    fn a_text_stream_maps_to_deltas_usage_and_finish() {
        let chunks = parse_all(&[
            r#"{"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","content":[],"model":"claude-x","stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":25,"cache_creation_input_tokens":0,"cache_read_input_tokens":10,"output_tokens":1}}}"#,
            r#"{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"#,
            r#"{"type":"ping"}"#,
            r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hello"}}"#,
            r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"!"}}"#,
            r#"{"type":"content_block_stop","index":0}"#,
            r#"{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":15}}"#,
            r#"{"type":"message_stop"}"#,
        ]);
        let text: String = chunks.iter().map(|c| c.text.as_str()).collect();
        assert_eq!(text, "Hello!");
        let last = chunks.last().unwrap();
        assert_eq!(last.finish_reason, Some(FinishReason::Stop));
        assert_eq!(
            last.usage,
            Some(Usage {
                input_tokens: 35,
                output_tokens: 15,
                cached_input_tokens: 10,
                reasoning_tokens: 0
            })
        );
    }

    #[test]
    fn tool_use_blocks_are_numbered_among_themselves() {
        let chunks = parse_all(&[
            r#"{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"#,
            r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Let me check."}}"#,
            r#"{"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_1","name":"get_weather","input":{}}}"#,
            r#"{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"city\": "}}"#,
            r#"{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"\"Paris\"}"}}"#,
            r#"{"type":"message_delta","delta":{"stop_reason":"tool_use"},"usage":{"output_tokens":9}}"#,
        ]);
        let calls: Vec<&ToolCallDelta> = chunks.iter().flat_map(|c| &c.tool_calls).collect();
        assert_eq!(calls[0].index, 0);
        assert_eq!(
            (calls[0].id.as_str(), calls[0].name.as_str()),
            ("toolu_1", "get_weather")
        );
        let arguments: String = calls.iter().map(|c| c.arguments.as_str()).collect();
        assert_eq!(arguments, "{\"city\": \"Paris\"}");
        assert_eq!(
            chunks.last().unwrap().finish_reason,
            Some(FinishReason::ToolCalls)
        );
    }

    #[test]
    fn error_events_are_errors() {
        let mut parser = EventParser::default();
        let Err(error) = parser.parse(
            r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#,
        ) else {
            panic!("an error event must be an error")
        };
        assert!(error.contains("Overloaded"));
    }

    #[test]
    fn non_streaming_answers_map_to_a_completion() {
        let body = r#"{"id":"msg_1","type":"message","role":"assistant","model":"claude-x","content":[{"type":"text","text":"Checking."},{"type":"tool_use","id":"toolu_1","name":"f","input":{"x":1}}],"stop_reason":"tool_use","stop_sequence":null,"usage":{"input_tokens":10,"cache_read_input_tokens":5,"output_tokens":7}}"#;
        let completion = completion(serde_json::from_str(body).unwrap());
        assert_eq!(completion.text, "Checking.");
        assert_eq!(completion.tool_calls[&0].arguments, r#"{"x":1}"#);
        assert_eq!(completion.finish_reason, Some(FinishReason::ToolCalls));
        let usage = completion.usage.unwrap();
        assert_eq!(
            (
                usage.input_tokens,
                usage.cached_input_tokens,
                usage.output_tokens
            ),
            (15, 5, 7)
        );
    }

    #[test]
    fn request_moves_system_out_and_merges_tool_results() {
        let mut assistant = ChatMessage::text(Role::Assistant, "");
        assistant.tool_calls = vec![
            ToolCall {
                id: "t1".into(),
                name: "f".into(),
                arguments: "{\"a\":1}".into(),
            },
            ToolCall {
                id: "t2".into(),
                name: "f".into(),
                arguments: "{\"a\":2}".into(),
            },
        ];
        let mut r1 = ChatMessage::text(Role::Tool, "one");
        r1.tool_call_id = Some("t1".into());
        let mut r2 = ChatMessage::text(Role::Tool, "two");
        r2.tool_call_id = Some("t2".into());
        let request = ChatRequest::new(
            "claude-x",
            vec![
                ChatMessage::text(Role::System, "Be brief."),
                ChatMessage::text(Role::User, "go"),
                assistant,
                r1,
                r2,
            ],
        );
        let body = serde_json::to_value(request::body(&request, true)).unwrap();
        assert_eq!(body["system"], "Be brief.");
        assert_eq!(body["max_tokens"], DEFAULT_MAX_TOKENS);
        let messages = body["messages"].as_array().unwrap();
        assert_eq!(messages.len(), 3);
        assert_eq!(messages[1]["content"][0]["input"], json!({"a": 1}));
        assert_eq!(messages[2]["role"], "user");
        assert_eq!(messages[2]["content"].as_array().unwrap().len(), 2);
        assert_eq!(messages[2]["content"][1]["tool_use_id"], "t2");
    }
}
