//! Arbitrary stream frames and whole answers to the three providers'
//! parsers: each gives a chunk, a skip, an end or an error, never a panic.

use proptest::prelude::*;

use super::sse::FrameParser;
use super::wire::Wire;
use super::{anthropic, gemini, openai};
use crate::fuzz::{config, text};

const KEYS: &[&str] = &[
    "choices",
    "delta",
    "content",
    "reasoning_content",
    "reasoning",
    "tool_calls",
    "index",
    "id",
    "function",
    "name",
    "arguments",
    "finish_reason",
    "usage",
    "prompt_tokens",
    "completion_tokens",
    "prompt_tokens_details",
    "cached_tokens",
    "completion_tokens_details",
    "reasoning_tokens",
    "error",
    "message",
    "type",
    "text",
    "thinking",
    "content_block",
    "input",
    "partial_json",
    "stop_reason",
    "input_tokens",
    "output_tokens",
    "cache_read_input_tokens",
    "cache_creation_input_tokens",
    "candidates",
    "parts",
    "functionCall",
    "args",
    "finishReason",
    "usageMetadata",
    "promptTokenCount",
    "candidatesTokenCount",
    "thoughtsTokenCount",
    "cachedContentTokenCount",
    "thought",
    "promptFeedback",
    "blockReason",
    "role",
];

const WORDS: &[&str] = &[
    "[DONE]",
    "stop",
    "length",
    "tool_calls",
    "content_filter",
    "function",
    "message_start",
    "content_block_start",
    "content_block_delta",
    "content_block_stop",
    "message_delta",
    "message_stop",
    "ping",
    "error",
    "text_delta",
    "input_json_delta",
    "thinking_delta",
    "tool_use",
    "text",
    "thinking",
    "end_turn",
    "max_tokens",
    "STOP",
    "MAX_TOKENS",
    "SAFETY",
    "model",
    "assistant",
];

fn frames() -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec(text(KEYS, WORDS), 1..8)
}

/// Feeds every frame, as the SSE reader would, until the parser ends.
fn feed(parser: &mut impl FrameParser, frames: &[String]) {
    for frame in frames {
        match parser.parse(frame) {
            Ok(super::sse::Frame::End) | Err(_) => break,
            Ok(_) => {}
        }
    }
    let _ = parser.may_end();
}

/// One of each provider, built once (a client is costly to build).
static PROVIDERS: std::sync::LazyLock<(openai::OpenAi, anthropic::Anthropic, gemini::Gemini)> =
    std::sync::LazyLock::new(|| {
        crate::http::install_crypto_provider();
        let client = reqwest::Client::new();
        let base = "http://127.0.0.1:1";
        (
            openai::OpenAi::new("fuzz", client.clone(), base, None),
            anthropic::Anthropic::new("fuzz", client.clone(), base, None),
            gemini::Gemini::new("fuzz", client, base, None),
        )
    });

proptest! {
    #![proptest_config(config())]

    #[test]
    fn openai_stream_frames_never_panic(frames in frames()) {
        feed(&mut openai::StreamParser::default(), &frames);
    }

    #[test]
    fn anthropic_stream_events_never_panic(frames in frames()) {
        feed(&mut anthropic::EventParser::default(), &frames);
    }

    #[test]
    fn gemini_stream_frames_never_panic(frames in frames()) {
        feed(&mut gemini::FrameMapper::default(), &frames);
    }

    #[test]
    fn whole_answers_never_panic(body in text(KEYS, WORDS)) {
        let (openai, anthropic, gemini) = &*PROVIDERS;
        if let Ok(answer) = serde_json::from_str(&body) {
            let _ = openai.completion(answer);
        }
        if let Ok(answer) = serde_json::from_str(&body) {
            let _ = anthropic.completion(answer);
        }
        if let Ok(answer) = serde_json::from_str(&body) {
            let _ = gemini.completion(answer);
        }
    }
}
