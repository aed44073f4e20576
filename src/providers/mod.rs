//! Upstream model providers behind one normalized streaming interface.
//!
//! Providers are a closed enum dispatched by `match`; each lives in its own
//! file with its own wire types and its SSE → [`Chunk`] mapping. Nothing
//! here knows about memory, sessions or storage.

pub mod anthropic;
pub mod gemini;
pub mod openai;
pub mod routing;
mod sse;
mod wire;

#[cfg(test)]
mod fuzz_tests;

pub use routing::{Opened, Plan, Router, record_completion, record_failure};

use std::collections::BTreeMap;
use std::pin::Pin;
use std::time::Duration;

use futures_util::Stream;
use serde_json::Value;

use crate::config::{ProviderConfig, ProviderKind};
use crate::domain::{ChatMessage, FinishReason, Role, ToolCall, Usage};
use crate::error::Result;
use crate::http;

/// A tool the model may call.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolSpec {
    pub name: String,
    pub description: String,
    /// JSON Schema of the arguments.
    pub parameters: Value,
    pub strict: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ToolChoice {
    Auto,
    None,
    Required,
    Function(String),
}

#[derive(Debug, Clone, PartialEq)]
pub enum ResponseFormat {
    Text,
    JsonObject,
    JsonSchema {
        name: String,
        schema: Value,
        strict: bool,
    },
}

/// Sampling and tool parameters passed through to the provider.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GenerationParams {
    pub temperature: Option<f64>,
    pub max_tokens: Option<u32>,
    pub top_p: Option<f64>,
    pub stop: Vec<String>,
    pub tools: Vec<ToolSpec>,
    pub tool_choice: Option<ToolChoice>,
    pub response_format: Option<ResponseFormat>,
}

/// A provider-neutral chat request.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatRequest {
    /// The model name as the provider knows it (without `provider/`).
    pub model: String,
    pub messages: Vec<ChatMessage>,
    pub params: GenerationParams,
}

impl ChatRequest {
    pub fn new(model: impl Into<String>, messages: Vec<ChatMessage>) -> Self {
        ChatRequest {
            model: model.into(),
            messages,
            params: GenerationParams::default(),
        }
    }
}

/// A piece of a tool call; pieces with the same `index` form one call.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ToolCallDelta {
    pub index: u32,
    pub id: String,
    pub name: String,
    pub arguments: String,
}

/// One normalized piece of a streamed answer.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Chunk {
    pub text: String,
    pub reasoning: String,
    pub tool_calls: Vec<ToolCallDelta>,
    pub usage: Option<Usage>,
    pub finish_reason: Option<FinishReason>,
}

impl Chunk {
    /// Whether the chunk carries anything for the caller to see right away.
    pub fn has_delta(&self) -> bool {
        !self.text.is_empty() || !self.reasoning.is_empty() || !self.tool_calls.is_empty()
    }
}

pub type ChunkStream = Pin<Box<dyn Stream<Item = Result<Chunk>> + Send>>;

/// A whole answer: what a non-streaming call returns, and what the chunks
/// of a stream add up to.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Completion {
    pub text: String,
    pub reasoning: String,
    /// Tool calls by their index in the answer.
    pub tool_calls: BTreeMap<u32, ToolCall>,
    /// The last usage the provider reported.
    pub usage: Option<Usage>,
    pub finish_reason: Option<FinishReason>,
}

impl Completion {
    /// Adds one chunk of a stream.
    pub fn absorb(&mut self, chunk: &Chunk) {
        self.text.push_str(&chunk.text);
        self.reasoning.push_str(&chunk.reasoning);
        for piece in &chunk.tool_calls {
            let call = self
                .tool_calls
                .entry(piece.index)
                .or_insert_with(|| ToolCall {
                    id: String::new(),
                    name: String::new(),
                    arguments: String::new(),
                });
            if !piece.id.is_empty() {
                call.id.clone_from(&piece.id);
            }
            if !piece.name.is_empty() {
                call.name.clone_from(&piece.name);
            }
            call.arguments.push_str(&piece.arguments);
        }
        if chunk.usage.is_some() {
            self.usage = chunk.usage;
        }
        if chunk.finish_reason.is_some() {
            self.finish_reason = chunk.finish_reason;
        }
    }

    /// A completion made of a single chunk.
    pub fn from_chunk(chunk: &Chunk) -> Self {
        let mut completion = Completion::default();
        completion.absorb(chunk);
        completion
    }

    /// Whether any answer text or tool call arrived.
    pub fn is_empty(&self) -> bool {
        self.text.is_empty() && self.tool_calls.is_empty()
    }

    /// The answer as an assistant message.
    pub fn message(&self) -> ChatMessage {
        let mut message = ChatMessage::text(Role::Assistant, self.text.clone());
        message.tool_calls = self.tool_calls.values().cloned().collect();
        message
    }
}

/// One configured upstream.
#[derive(Debug, Clone)]
pub enum Provider {
    OpenAi(openai::OpenAi),
    Anthropic(anthropic::Anthropic),
    Gemini(gemini::Gemini),
}

impl Provider {
    pub fn from_config(name: &str, config: &ProviderConfig) -> anyhow::Result<Provider> {
        let api_key = http::read_api_key(name, config)?;
        let client = http::client(Duration::from_secs(config.connect_timeout_secs))?;
        let base_url = config.base_url.trim_end_matches('/');
        Ok(match config.kind {
            ProviderKind::Openai => {
                Provider::OpenAi(openai::OpenAi::new(name, client, base_url, api_key))
            }
            ProviderKind::AzureOpenai => {
                let api_version = config
                    .api_version
                    .as_deref()
                    .unwrap_or(openai::AZURE_API_VERSION);
                Provider::OpenAi(openai::OpenAi::azure(
                    name,
                    client,
                    base_url,
                    api_version,
                    api_key,
                ))
            }
            ProviderKind::Anthropic => {
                Provider::Anthropic(anthropic::Anthropic::new(name, client, base_url, api_key))
            }
            ProviderKind::Gemini => {
                Provider::Gemini(gemini::Gemini::new(name, client, base_url, api_key))
            }
        })
    }

    /// `gen_ai.system` of the OpenTelemetry GenAI conventions.
    pub fn system(&self) -> &'static str {
        match self {
            Provider::OpenAi(p) if p.is_azure() => "az.ai.openai",
            Provider::OpenAi(_) => "openai",
            Provider::Anthropic(_) => "anthropic",
            Provider::Gemini(_) => "gcp.gemini",
        }
    }

    /// Starts a streamed answer. `timeout` bounds the whole upstream
    /// request, body included. Errors before the stream starts (HTTP status,
    /// connection) come back here; later ones come through the stream.
    pub async fn stream(
        &self,
        request: &ChatRequest,
        timeout: Option<Duration>,
    ) -> Result<ChunkStream> {
        match self {
            Provider::OpenAi(p) => wire::stream(p, request, timeout).await,
            Provider::Anthropic(p) => wire::stream(p, request, timeout).await,
            Provider::Gemini(p) => wire::stream(p, request, timeout).await,
        }
    }

    /// A whole answer from the provider's non-streaming endpoint.
    pub async fn complete(
        &self,
        request: &ChatRequest,
        timeout: Option<Duration>,
    ) -> Result<Completion> {
        match self {
            Provider::OpenAi(p) => wire::complete(p, request, timeout).await,
            Provider::Anthropic(p) => wire::complete(p, request, timeout).await,
            Provider::Gemini(p) => wire::complete(p, request, timeout).await,
        }
    }
}
