//! The SSE plumbing shared by the streaming providers: turns a successful
//! HTTP response into a [`ChunkStream`] using a provider's frame parser.
//!
//! A stream that ends before the parser saw its provider's end marker (or
//! finish reason) was cut off, and is reported as an error rather than
//! passed off as a complete answer.

use eventsource_stream::{EventStreamError, Eventsource};
use futures_util::StreamExt;

use super::{Chunk, ChunkStream};
use crate::error::Error;
use crate::http::transport_error;

/// What one SSE event meant.
pub(super) enum Frame {
    /// Something to report.
    Chunk(Chunk),
    /// Nothing to report (pings, announcements).
    Skip,
    /// The provider's end marker: the answer is complete.
    End,
}

/// A provider's mapping of SSE events to chunks; holds per-stream state.
pub(super) trait FrameParser: Send + 'static {
    /// Maps one event's data; an `Err` is an error the provider reported
    /// or a frame that cannot be understood.
    fn parse(&mut self, data: &str) -> Result<Frame, String>;

    /// Whether the body may end here without an end marker (e.g. after a
    /// finish reason, for providers that send no marker).
    fn may_end(&self) -> bool;
}

type Events = std::pin::Pin<
    Box<
        dyn futures_util::Stream<
                Item = Result<eventsource_stream::Event, EventStreamError<reqwest::Error>>,
            > + Send,
    >,
>;

struct State<P> {
    events: Events,
    provider: String,
    parser: P,
    finished: bool,
}

/// The chunks of a successful streaming response.
pub(super) fn chunk_stream<P: FrameParser>(
    provider: &str,
    response: reqwest::Response,
    parser: P,
) -> ChunkStream {
    let state = State {
        events: Box::pin(response.bytes_stream().eventsource()),
        provider: provider.to_string(),
        parser,
        finished: false,
    };
    Box::pin(futures_util::stream::unfold(state, next_chunk))
}

async fn next_chunk<P: FrameParser>(
    mut state: State<P>,
) -> Option<(crate::error::Result<Chunk>, State<P>)> {
    if state.finished {
        return None;
    }
    loop {
        let error = match state.events.next().await {
            None if state.parser.may_end() => return None,
            None => Error::UpstreamUnavailable(format!(
                "{} closed the stream before it finished",
                state.provider
            )),
            Some(Err(EventStreamError::Transport(e))) => transport_error(&state.provider, &e),
            Some(Err(other)) => {
                Error::UpstreamUnavailable(format!("{}: bad SSE: {other}", state.provider))
            }
            Some(Ok(event)) => match state.parser.parse(&event.data) {
                Ok(Frame::Chunk(chunk)) => return Some((Ok(chunk), state)),
                Ok(Frame::Skip) => continue,
                Ok(Frame::End) => return None,
                Err(message) => {
                    Error::UpstreamUnavailable(format!("{}: {message}", state.provider))
                }
            },
        };
        state.finished = true;
        return Some((Err(error), state));
    }
}
