//! OpenAI Chat Completions, and every server that speaks it (Ollama, vLLM,
//! llama.cpp, Groq, DeepSeek, Together, ...).
//!
//! Streams with `stream_options.include_usage`, so the last data frame
//! before `[DONE]` carries the usage. A stream that ends without `[DONE]`
//! and without a finish reason was cut off and is reported as an error.

mod request;

use serde::Deserialize;

use super::sse::{Frame, FrameParser};
use super::wire::Wire;
use super::{ChatRequest, Chunk, Completion, ToolCallDelta};
use crate::domain::{FinishReason, Usage};
use crate::error::Result;
use crate::http::ApiKey;

/// The Azure OpenAI `api-version` used when the config names none.
pub const AZURE_API_VERSION: &str = "2024-10-21";

#[derive(Debug, Clone)]
enum Endpoint {
    /// `{base}/chat/completions` with `Authorization: Bearer`.
    Standard { completions_url: String },
    /// `{base}/openai/deployments/{model}/chat/completions?api-version=…`
    /// with an `api-key` header.
    Azure {
        base_url: String,
        api_version: String,
    },
}

#[derive(Debug, Clone)]
pub struct OpenAi {
    name: String,
    client: reqwest::Client,
    endpoint: Endpoint,
    api_key: Option<ApiKey>,
}

impl OpenAi {
    pub fn new(
        name: &str,
        client: reqwest::Client,
        base_url: &str,
        api_key: Option<ApiKey>,
    ) -> Self {
        OpenAi {
            name: name.to_string(),
            client,
            endpoint: Endpoint::Standard {
                completions_url: format!("{base_url}/chat/completions"),
            },
            api_key,
        }
    }

    /// Whether this is an Azure OpenAI deployment.
    pub fn is_azure(&self) -> bool {
        matches!(self.endpoint, Endpoint::Azure { .. })
    }

    pub fn azure(
        name: &str,
        client: reqwest::Client,
        base_url: &str,
        api_version: &str,
        api_key: Option<ApiKey>,
    ) -> Self {
        OpenAi {
            name: name.to_string(),
            client,
            endpoint: Endpoint::Azure {
                base_url: base_url.to_string(),
                api_version: api_version.to_string(),
            },
            api_key,
        }
    }
}

impl Wire for OpenAi {
    type Parser = StreamParser;
    type Answer = WireCompletion;

    fn name(&self) -> &str {
        &self.name
    }

    fn request(&self, request: &ChatRequest, stream: bool) -> reqwest::RequestBuilder {
        match &self.endpoint {
            Endpoint::Standard { completions_url } => {
                let http = self
                    .client
                    .post(completions_url)
                    .json(&request::body(request, stream, true));
                match &self.api_key {
                    Some(key) => http.header(reqwest::header::AUTHORIZATION, key.header("Bearer ")),
                    None => http,
                }
            }
            Endpoint::Azure {
                base_url,
                api_version,
            } => {
                // The deployment in the URL names the model.
                let url = format!(
                    "{base_url}/openai/deployments/{}/chat/completions?api-version={api_version}",
                    request.model
                );
                let http = self
                    .client
                    .post(url)
                    .json(&request::body(request, stream, false));
                match &self.api_key {
                    Some(key) => http.header("api-key", key.header("")),
                    None => http,
                }
            }
        }
    }

    fn completion(&self, answer: WireCompletion) -> Result<Completion> {
        Ok(completion(answer))
    }
}

/// Maps the data frames of one stream; the stream is complete at `[DONE]`
/// or, for servers that send no marker, after a finish reason.
#[derive(Default)]
pub(super) struct StreamParser {
    saw_finish_reason: bool,
}

impl FrameParser for StreamParser {
    fn parse(&mut self, data: &str) -> std::result::Result<Frame, String> {
        if data.trim() == "[DONE]" {
            return Ok(Frame::End);
        }
        Ok(match parse_chunk(data)? {
            Some(chunk) => {
                self.saw_finish_reason |= chunk.finish_reason.is_some();
                Frame::Chunk(chunk)
            }
            None => Frame::Skip,
        })
    }

    fn may_end(&self) -> bool {
        self.saw_finish_reason
    }
}

#[derive(Deserialize)]
struct StreamFrame {
    #[serde(default)]
    choices: Vec<StreamChoice>,
    #[serde(default)]
    usage: Option<WireUsage>,
    #[serde(default)]
    error: Option<WireError>,
}

#[derive(Deserialize)]
struct StreamChoice {
    #[serde(default)]
    delta: Option<WireDelta>,
    #[serde(default)]
    finish_reason: Option<String>,
}

#[derive(Deserialize, Default)]
struct WireDelta {
    #[serde(default)]
    content: Option<String>,
    /// DeepSeek, vLLM and others send reasoning under one of these names.
    #[serde(default, alias = "reasoning")]
    reasoning_content: Option<String>,
    #[serde(default)]
    tool_calls: Vec<WireToolCallDelta>,
}

#[derive(Deserialize)]
struct WireToolCallDelta {
    #[serde(default)]
    index: u32,
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    function: Option<WireFunctionDelta>,
}

#[derive(Deserialize)]
struct WireFunctionDelta {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    arguments: Option<String>,
}

#[derive(Deserialize)]
struct WireUsage {
    #[serde(default)]
    prompt_tokens: u32,
    #[serde(default)]
    completion_tokens: u32,
    #[serde(default)]
    prompt_tokens_details: Option<PromptDetails>,
    #[serde(default)]
    completion_tokens_details: Option<CompletionDetails>,
}

impl WireUsage {
    fn into_usage(self) -> Usage {
        Usage {
            input_tokens: self.prompt_tokens,
            output_tokens: self.completion_tokens,
            cached_input_tokens: self.prompt_tokens_details.map_or(0, |d| d.cached_tokens),
            reasoning_tokens: self
                .completion_tokens_details
                .map_or(0, |d| d.reasoning_tokens),
        }
    }
}

/// A non-streaming answer.
#[derive(Deserialize)]
pub(super) struct WireCompletion {
    #[serde(default)]
    choices: Vec<WireChoice>,
    #[serde(default)]
    usage: Option<WireUsage>,
}

#[derive(Deserialize)]
struct WireChoice {
    #[serde(default)]
    message: WireMessage,
    #[serde(default)]
    finish_reason: Option<String>,
}

#[derive(Deserialize, Default)]
struct WireMessage {
    #[serde(default)]
    content: Option<String>,
    #[serde(default, alias = "reasoning")]
    reasoning_content: Option<String>,
    #[serde(default)]
    tool_calls: Vec<WireToolCall>,
}

#[derive(Deserialize)]
struct WireToolCall {
    #[serde(default)]
    id: String,
    function: WireFunction,
}

#[derive(Deserialize)]
struct WireFunction {
    name: String,
    #[serde(default)]
    arguments: String,
}

fn completion(body: WireCompletion) -> Completion {
    let mut chunk = Chunk {
        usage: body.usage.map(WireUsage::into_usage),
        ..Chunk::default()
    };
    if let Some(choice) = body.choices.into_iter().next() {
        chunk.text = choice.message.content.unwrap_or_default();
        chunk.reasoning = choice.message.reasoning_content.unwrap_or_default();
        chunk.tool_calls = choice
            .message
            .tool_calls
            .into_iter()
            .enumerate()
            .map(|(index, call)| ToolCallDelta {
                index: index as u32,
                id: call.id,
                name: call.function.name,
                arguments: call.function.arguments,
            })
            .collect();
        chunk.finish_reason = choice.finish_reason.as_deref().map(FinishReason::parse);
    }
    Completion::from_chunk(&chunk)
}

#[derive(Deserialize)]
struct PromptDetails {
    #[serde(default)]
    cached_tokens: u32,
}

#[derive(Deserialize)]
struct CompletionDetails {
    #[serde(default)]
    reasoning_tokens: u32,
}

#[derive(Deserialize)]
struct WireError {
    #[serde(default)]
    message: String,
}

/// Maps one SSE data frame to a chunk; `Ok(None)` for frames with nothing
/// in them (e.g. the first frame that only announces the role).
fn parse_chunk(data: &str) -> std::result::Result<Option<Chunk>, String> {
    let frame: StreamFrame =
        serde_json::from_str(data).map_err(|e| format!("unparseable stream frame: {e}"))?;
    if let Some(error) = frame.error {
        return Err(format!(
            "error in stream{}{}",
            crate::error::UPSTREAM_SAID,
            error.message
        ));
    }
    let mut chunk = Chunk {
        usage: frame.usage.map(|u| Usage {
            input_tokens: u.prompt_tokens,
            output_tokens: u.completion_tokens,
            cached_input_tokens: u.prompt_tokens_details.map_or(0, |d| d.cached_tokens),
            reasoning_tokens: u
                .completion_tokens_details
                .map_or(0, |d| d.reasoning_tokens),
        }),
        ..Chunk::default()
    };
    // memorid never asks for n > 1, so only the first choice matters.
    if let Some(choice) = frame.choices.into_iter().next() {
        let delta = choice.delta.unwrap_or_default();
        chunk.text = delta.content.unwrap_or_default();
        chunk.reasoning = delta.reasoning_content.unwrap_or_default();
        chunk.tool_calls = delta
            .tool_calls
            .into_iter()
            .map(|call| {
                let function = call.function;
                ToolCallDelta {
                    index: call.index,
                    id: call.id.unwrap_or_default(),
                    name: function
                        .as_ref()
                        .and_then(|f| f.name.clone())
                        .unwrap_or_default(),
                    arguments: function.and_then(|f| f.arguments).unwrap_or_default(),
                }
            })
            .collect();
        chunk.finish_reason = choice.finish_reason.as_deref().map(FinishReason::parse);
    }
    let empty = !chunk.has_delta() && chunk.usage.is_none() && chunk.finish_reason.is_none();
    Ok((!empty).then_some(chunk))
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::domain::{ChatMessage, Role, ToolCall};
    use crate::providers::ToolChoice;

    #[test]
    fn text_delta_frames_map_to_chunks() {
        let frame = r#"{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"Hel"},"logprobs":null,"finish_reason":null}],"usage":null}"#;
        let chunk = parse_chunk(frame).unwrap().unwrap();
        assert_eq!(chunk.text, "Hel");
        assert_eq!(chunk.finish_reason, None);
    }

    #[test]
    fn role_only_frames_are_skipped() {
        let frame = r#"{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}"#;
        assert_eq!(parse_chunk(frame).unwrap(), None);
    }

    #[test]
    fn usage_frame_reports_cached_and_reasoning_tokens() {
        let frame = r#"{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[],"usage":{"prompt_tokens":12,"completion_tokens":5,"total_tokens":17,"prompt_tokens_details":{"cached_tokens":4},"completion_tokens_details":{"reasoning_tokens":2}}}"#;
        let usage = parse_chunk(frame).unwrap().unwrap().usage.unwrap();
        assert_eq!(
            usage,
            Usage {
                input_tokens: 12,
                output_tokens: 5,
                cached_input_tokens: 4,
                reasoning_tokens: 2
            }
        );
    }

    #[test]
    fn tool_call_pieces_keep_their_index() {
        let frame = r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"id":"call_9","type":"function","function":{"name":"get_weather","arguments":"{\"ci"}}]},"finish_reason":null}]}"#;
        let chunk = parse_chunk(frame).unwrap().unwrap();
        assert_eq!(
            chunk.tool_calls,
            vec![ToolCallDelta {
                index: 1,
                id: "call_9".into(),
                name: "get_weather".into(),
                arguments: "{\"ci".into()
            }]
        );
    }

    #[test]
    fn error_frames_are_errors() {
        let frame = r#"{"error":{"message":"overloaded","type":"server_error"}}"#;
        assert!(parse_chunk(frame).unwrap_err().contains("overloaded"));
    }

    #[test]
    fn request_body_carries_tools_and_usage_option() {
        let mut assistant = ChatMessage::text(Role::Assistant, "");
        assistant.tool_calls.push(ToolCall {
            id: "call_1".into(),
            name: "f".into(),
            arguments: "{}".into(),
        });
        let mut tool = ChatMessage::text(Role::Tool, "42");
        tool.tool_call_id = Some("call_1".into());
        let mut request = ChatRequest::new(
            "gpt-x",
            vec![ChatMessage::text(Role::User, "hi"), assistant, tool],
        );
        request.params.max_tokens = Some(7);
        request.params.tool_choice = Some(ToolChoice::Function("f".into()));
        let body = serde_json::to_value(request::body(&request, true, true)).unwrap();
        assert_eq!(body["stream_options"]["include_usage"], json!(true));
        assert_eq!(body["max_tokens"], json!(7));
        assert_eq!(body["messages"][1]["content"], Value::Null);
        assert_eq!(
            body["messages"][1]["tool_calls"][0]["function"]["name"],
            json!("f")
        );
        assert_eq!(body["messages"][2]["tool_call_id"], json!("call_1"));
        assert_eq!(body["tool_choice"]["function"]["name"], json!("f"));
    }

    #[test]
    fn azure_uses_the_deployment_url_and_api_key_header() {
        crate::http::install_crypto_provider();
        let azure = OpenAi::azure(
            "azure",
            reqwest::Client::new(),
            "https://example.openai.azure.com",
            AZURE_API_VERSION,
            Some(ApiKey("k".into())),
        );
        let request = ChatRequest::new("my-deployment", vec![ChatMessage::text(Role::User, "hi")]);
        let built = azure.request(&request, true).build().unwrap();
        assert_eq!(
            built.url().as_str(),
            "https://example.openai.azure.com/openai/deployments/my-deployment/chat/completions?api-version=2024-10-21"
        );
        assert_eq!(built.headers()["api-key"], "k");
        assert!(built.headers().get("authorization").is_none());
        let body: Value =
            serde_json::from_slice(built.body().unwrap().as_bytes().unwrap()).unwrap();
        assert!(
            body.get("model").is_none(),
            "the deployment names the model"
        );
    }

    #[test]
    fn non_streaming_answers_map_to_a_completion() {
        let body = r#"{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"f","arguments":"{\"x\":1}"}}],"refusal":null},"logprobs":null,"finish_reason":"tool_calls"}],"usage":{"prompt_tokens":9,"completion_tokens":4,"total_tokens":13}}"#;
        let completion = completion(serde_json::from_str(body).unwrap());
        assert_eq!(completion.finish_reason, Some(FinishReason::ToolCalls));
        assert_eq!(completion.tool_calls[&0].arguments, "{\"x\":1}");
        assert_eq!(completion.usage.unwrap().input_tokens, 9);
        assert!(completion.text.is_empty());
    }
}
