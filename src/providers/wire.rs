//! The part of an upstream call that is the same for every provider:
//! sending the request within its timeout, mapping HTTP failures, turning a
//! streamed body into chunks and reading a whole answer. A provider says
//! only what differs, by implementing [`Wire`].

use std::time::Duration;

use serde::de::DeserializeOwned;

use super::sse::{self, FrameParser};
use super::{ChatRequest, ChunkStream, Completion};
use crate::error::Result;
use crate::http;

/// What makes one provider's wire format.
pub(super) trait Wire {
    /// Reads the events of one stream; holds that stream's state.
    type Parser: FrameParser + Default;
    /// A whole (non-streaming) answer as it arrives.
    type Answer: DeserializeOwned;

    /// The configured name, for errors and logs.
    fn name(&self) -> &str;

    /// The HTTP request (address, credentials, body) for `request`.
    fn request(&self, request: &ChatRequest, stream: bool) -> reqwest::RequestBuilder;

    /// A whole answer, normalized.
    fn completion(&self, answer: Self::Answer) -> Result<Completion>;
}

/// Starts a streamed answer; see [`super::Provider::stream`].
pub(super) async fn stream<W: Wire>(
    wire: &W,
    request: &ChatRequest,
    timeout: Option<Duration>,
) -> Result<ChunkStream> {
    let response = http::send(wire.name(), wire.request(request, true), timeout).await?;
    Ok(sse::chunk_stream(
        wire.name(),
        response,
        W::Parser::default(),
    ))
}

/// A whole answer; see [`super::Provider::complete`].
pub(super) async fn complete<W: Wire>(
    wire: &W,
    request: &ChatRequest,
    timeout: Option<Duration>,
) -> Result<Completion> {
    let response = http::send(wire.name(), wire.request(request, false), timeout).await?;
    wire.completion(http::json_body(wire.name(), response).await?)
}
