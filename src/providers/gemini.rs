//! Google Gemini (`generativelanguage` API): `streamGenerateContent?alt=sse`
//! and `generateContent`.
//!
//! System messages become `systemInstruction`; assistant turns are role
//! `model`; tool results become `functionResponse` parts, which Gemini
//! matches by function name, so the name is looked up from the assistant
//! tool call the result answers. Function calls arrive whole (not in
//! pieces) and get ids `call_<n>` when Gemini sends none.
//!
//! The stream has no end marker: it is complete when the body ends after a
//! frame with a finish reason. `usageMetadata` is cumulative; the last one
//! wins.

mod request;

use serde::Deserialize;
use serde_json::Value;

use super::sse::{Frame, FrameParser};
use super::wire::Wire;
use super::{ChatRequest, Chunk, Completion, ToolCallDelta};
use crate::domain::{FinishReason, Usage};
use crate::error::Result;
use crate::http::ApiKey;

#[derive(Debug, Clone)]
pub struct Gemini {
    name: String,
    client: reqwest::Client,
    base_url: String,
    api_key: Option<ApiKey>,
}

impl Gemini {
    pub fn new(
        name: &str,
        client: reqwest::Client,
        base_url: &str,
        api_key: Option<ApiKey>,
    ) -> Self {
        Gemini {
            name: name.to_string(),
            client,
            base_url: base_url.to_string(),
            api_key,
        }
    }
}

impl Wire for Gemini {
    type Parser = FrameMapper;
    type Answer = WireResponse;

    fn name(&self) -> &str {
        &self.name
    }

    fn request(&self, request: &ChatRequest, stream: bool) -> reqwest::RequestBuilder {
        let url = if stream {
            format!(
                "{}/v1beta/models/{}:streamGenerateContent?alt=sse",
                self.base_url, request.model
            )
        } else {
            format!(
                "{}/v1beta/models/{}:generateContent",
                self.base_url, request.model
            )
        };
        let http = self.client.post(url).json(&request::body(request));
        match &self.api_key {
            Some(key) => http.header("x-goog-api-key", key.header("")),
            None => http,
        }
    }

    fn completion(&self, answer: WireResponse) -> Result<Completion> {
        let chunk = FrameMapper::default().chunk(answer).map_err(|message| {
            crate::error::Error::UpstreamUnavailable(format!("{}: {message}", self.name))
        })?;
        Ok(Completion::from_chunk(&chunk))
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct WireResponse {
    #[serde(default)]
    candidates: Vec<WireCandidate>,
    #[serde(default)]
    usage_metadata: Option<WireUsage>,
    #[serde(default)]
    prompt_feedback: Option<WirePromptFeedback>,
    #[serde(default)]
    error: Option<WireError>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireCandidate {
    #[serde(default)]
    content: Option<WireContent>,
    #[serde(default)]
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct WireContent {
    #[serde(default)]
    parts: Vec<WirePart>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WirePart {
    #[serde(default)]
    text: Option<String>,
    /// True on parts that carry the model's thoughts.
    #[serde(default)]
    thought: bool,
    #[serde(default)]
    function_call: Option<WireFunctionCall>,
}

#[derive(Deserialize)]
struct WireFunctionCall {
    #[serde(default)]
    id: Option<String>,
    name: String,
    #[serde(default)]
    args: Value,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireUsage {
    #[serde(default)]
    prompt_token_count: u32,
    #[serde(default)]
    candidates_token_count: u32,
    #[serde(default)]
    cached_content_token_count: u32,
    #[serde(default)]
    thoughts_token_count: u32,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WirePromptFeedback {
    #[serde(default)]
    block_reason: Option<String>,
}

#[derive(Deserialize)]
struct WireError {
    #[serde(default)]
    message: String,
}

fn finish_reason(reason: &str, called_tools: bool) -> FinishReason {
    match reason {
        "STOP" if called_tools => FinishReason::ToolCalls,
        "STOP" => FinishReason::Stop,
        "MAX_TOKENS" => FinishReason::Length,
        "SAFETY" | "RECITATION" | "BLOCKLIST" | "PROHIBITED_CONTENT" | "SPII" | "IMAGE_SAFETY" => {
            FinishReason::ContentFilter
        }
        _ => FinishReason::Other,
    }
}

/// Maps response frames to chunks, numbering function calls across frames.
#[derive(Default)]
pub(super) struct FrameMapper {
    calls_seen: u32,
    saw_finish_reason: bool,
}

impl FrameMapper {
    fn map(&mut self, data: &str) -> std::result::Result<Chunk, String> {
        let frame: WireResponse =
            serde_json::from_str(data).map_err(|e| format!("unparseable response frame: {e}"))?;
        self.chunk(frame)
    }

    fn chunk(&mut self, frame: WireResponse) -> std::result::Result<Chunk, String> {
        if let Some(error) = frame.error {
            return Err(format!(
                "error in stream{}{}",
                crate::error::UPSTREAM_SAID,
                error.message
            ));
        }
        let mut chunk = Chunk {
            usage: frame.usage_metadata.map(|u| Usage {
                input_tokens: u.prompt_token_count,
                output_tokens: u.candidates_token_count + u.thoughts_token_count,
                cached_input_tokens: u.cached_content_token_count,
                reasoning_tokens: u.thoughts_token_count,
            }),
            ..Chunk::default()
        };
        if let Some(reason) = frame.prompt_feedback.and_then(|f| f.block_reason) {
            tracing::debug!(%reason, "Gemini blocked the prompt");
            chunk.finish_reason = Some(FinishReason::ContentFilter);
        }
        if let Some(candidate) = frame.candidates.into_iter().next() {
            for part in candidate.content.map(|c| c.parts).unwrap_or_default() {
                if let Some(call) = part.function_call {
                    let index = self.calls_seen;
                    self.calls_seen += 1;
                    chunk.tool_calls.push(ToolCallDelta {
                        index,
                        id: call.id.unwrap_or_else(|| format!("call_{index}")),
                        name: call.name,
                        arguments: call.args.to_string(),
                    });
                } else if let Some(text) = part.text {
                    if part.thought {
                        chunk.reasoning.push_str(&text);
                    } else {
                        chunk.text.push_str(&text);
                    }
                }
            }
            if let Some(reason) = candidate.finish_reason {
                chunk.finish_reason = Some(finish_reason(&reason, self.calls_seen > 0));
            }
        }
        self.saw_finish_reason |= chunk.finish_reason.is_some();
        Ok(chunk)
    }
}

impl FrameParser for FrameMapper {
    fn parse(&mut self, data: &str) -> std::result::Result<Frame, String> {
        let chunk = self.map(data)?;
        let empty = !chunk.has_delta() && chunk.usage.is_none() && chunk.finish_reason.is_none();
        Ok(if empty {
            Frame::Skip
        } else {
            Frame::Chunk(chunk)
        })
    }

    fn may_end(&self) -> bool {
        self.saw_finish_reason
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{ChatMessage, Role, ToolCall};

    #[test]
    fn text_frames_map_to_deltas_and_usage() {
        let mut mapper = FrameMapper::default();
        let first = mapper
            .map(r#"{"candidates":[{"content":{"parts":[{"text":"Bon"}],"role":"model"},"index":0}],"usageMetadata":{"promptTokenCount":8,"totalTokenCount":8},"modelVersion":"gemini-x"}"#)
            .unwrap();
        assert_eq!(first.text, "Bon");
        assert!(!mapper.may_end());
        let last = mapper
            .map(r#"{"candidates":[{"content":{"parts":[{"text":"jour"}],"role":"model"},"finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":8,"candidatesTokenCount":2,"totalTokenCount":13,"cachedContentTokenCount":4,"thoughtsTokenCount":3},"modelVersion":"gemini-x"}"#)
            .unwrap();
        assert_eq!(last.finish_reason, Some(FinishReason::Stop));
        assert_eq!(
            last.usage,
            Some(Usage {
                input_tokens: 8,
                output_tokens: 5,
                cached_input_tokens: 4,
                reasoning_tokens: 3
            })
        );
        assert!(mapper.may_end());
    }

    #[test]
    fn function_calls_arrive_whole_and_finish_as_tool_calls() {
        let mut mapper = FrameMapper::default();
        let chunk = mapper
            .map(r#"{"candidates":[{"content":{"parts":[{"functionCall":{"name":"get_weather","args":{"city":"Paris"}}}],"role":"model"},"finishReason":"STOP","index":0}]}"#)
            .unwrap();
        assert_eq!(chunk.tool_calls[0].id, "call_0");
        assert_eq!(chunk.tool_calls[0].arguments, r#"{"city":"Paris"}"#);
        assert_eq!(chunk.finish_reason, Some(FinishReason::ToolCalls));
    }

    #[test]
    fn thoughts_are_reasoning_and_blocked_prompts_are_filtered() {
        let mut mapper = FrameMapper::default();
        let chunk = mapper
            .map(r#"{"candidates":[{"content":{"parts":[{"text":"hmm","thought":true},{"text":"Yes"}]}}]}"#)
            .unwrap();
        assert_eq!(
            (chunk.reasoning.as_str(), chunk.text.as_str()),
            ("hmm", "Yes")
        );
        let blocked = mapper
            .map(r#"{"promptFeedback":{"blockReason":"SAFETY"}}"#)
            .unwrap();
        assert_eq!(blocked.finish_reason, Some(FinishReason::ContentFilter));
    }

    #[test]
    fn request_places_system_and_names_tool_results() {
        let mut assistant = ChatMessage::text(Role::Assistant, "");
        assistant.tool_calls = vec![ToolCall {
            id: "c1".into(),
            name: "get_weather".into(),
            arguments: "{\"city\":\"Paris\"}".into(),
        }];
        let mut result = ChatMessage::text(Role::Tool, "sunny");
        result.tool_call_id = Some("c1".into());
        let mut request = ChatRequest::new(
            "gemini-x",
            vec![
                ChatMessage::text(Role::System, "Be brief."),
                ChatMessage::text(Role::User, "Weather?"),
                assistant,
                result,
            ],
        );
        request.params.max_tokens = Some(50);
        let body = serde_json::to_value(request::body(&request)).unwrap();
        assert_eq!(body["systemInstruction"]["parts"][0]["text"], "Be brief.");
        assert_eq!(body["generationConfig"]["maxOutputTokens"], 50);
        let contents = body["contents"].as_array().unwrap();
        assert_eq!(contents[1]["role"], "model");
        assert_eq!(
            contents[1]["parts"][0]["functionCall"]["args"]["city"],
            "Paris"
        );
        assert_eq!(
            contents[2]["parts"][0]["functionResponse"]["name"],
            "get_weather"
        );
        assert_eq!(
            contents[2]["parts"][0]["functionResponse"]["response"]["content"],
            "sunny"
        );
    }
}
