//! Per-RPC metrics, recorded by the admission layer for every call:
//! requests by method and gRPC code, duration by method (until the
//! response body ends, so a Chat stream counts whole), and calls in flight
//! by method.
//!
//! The code comes from the `grpc-status` of a trailers-only answer (an
//! early error) or of the trailers at the end of the body; a body dropped
//! before its end is a call the client cancelled. Method labels are
//! bounded: only the services memorid serves are named, and a method tonic
//! did not know (answered UNIMPLEMENTED by the router) is `unknown`.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use bytes::Bytes;
use http_body::{Frame, SizeHint};
use tonic::body::Body;
use tonic::{Code, Status};
use tracing::Span;

use super::admission::Permits;
use crate::telemetry::{RPC_DURATION, RPC_IN_FLIGHT, RPC_REQUESTS};

const SERVICES: &[&str] = &[
    "memori.v1.ChatService",
    "memori.v1.MemoryService",
    "grpc.health.v1.Health",
    "grpc.reflection.v1.ServerReflection",
    "grpc.reflection.v1alpha.ServerReflection",
];

/// `service/method` for the services memorid serves, `unknown` otherwise.
pub fn method_label(path: &str) -> String {
    let Some((service, method)) = path.trim_start_matches('/').split_once('/') else {
        return "unknown".into();
    };
    let plausible = !method.is_empty()
        && method.len() <= 64
        && method
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if SERVICES.contains(&service) && plausible {
        format!("{service}/{method}")
    } else {
        "unknown".into()
    }
}

/// One call being measured and traced.
#[derive(Debug)]
pub struct Call {
    method: String,
    started: Instant,
    /// The call's span: open until the response body ends.
    span: Span,
}

impl Call {
    /// Starts measuring a call; memori.v1 calls get a span that continues
    /// the caller's trace (health probes and reflection would only be
    /// noise in traces).
    pub fn start(method: String, headers: &http::HeaderMap) -> Call {
        metrics::gauge!(RPC_IN_FLIGHT, "method" => method.clone()).increment(1.0);
        let span = match method.split_once('/') {
            Some((service, name)) if service.starts_with("memori.v1.") => {
                let span = tracing::info_span!(
                    "rpc",
                    otel.name = %method,
                    otel.kind = "server",
                    otel.status_code = tracing::field::Empty,
                    rpc.system = "grpc",
                    rpc.service = service,
                    rpc.method = name,
                    rpc.grpc.status_code = tracing::field::Empty,
                    trace_id = tracing::field::Empty,
                );
                crate::traces::continue_caller_trace(&span, headers);
                span
            }
            _ => Span::none(),
        };
        Call {
            method,
            started: Instant::now(),
            span,
        }
    }

    /// The span the call's work runs in.
    pub fn span(&self) -> &Span {
        &self.span
    }

    fn finish(self, code: Code) {
        self.span.record("rpc.grpc.status_code", code as i32);
        // Server errors by the gRPC semantic conventions; the others are
        // the caller's (a bad argument, a missing key, a limit).
        if matches!(
            code,
            Code::Unknown
                | Code::DeadlineExceeded
                | Code::Unimplemented
                | Code::Internal
                | Code::Unavailable
                | Code::DataLoss
        ) {
            self.span.record("otel.status_code", "ERROR");
        }
        metrics::gauge!(RPC_IN_FLIGHT, "method" => self.method.clone()).decrement(1.0);
        // The router's answer to a method it does not serve.
        let method = if code == Code::Unimplemented && !self.method.starts_with("memori.v1.") {
            "unknown".to_string()
        } else {
            self.method
        };
        metrics::histogram!(RPC_DURATION, "method" => method.clone())
            .record(self.started.elapsed().as_secs_f64());
        metrics::counter!(RPC_REQUESTS, "method" => method, "code" => code_name(code)).increment(1);
    }
}

/// The response body of a measured call: passes frames through, notes the
/// final code, and on its end (or drop) records the call and releases its
/// permits.
#[derive(Debug)]
pub struct MeteredBody {
    inner: Body,
    call: Option<Call>,
    code: Option<Code>,
    permits: Option<Permits>,
}

impl MeteredBody {
    /// `headers` are the response's: a trailers-only answer carries its
    /// code there.
    pub fn new(headers: &http::HeaderMap, inner: Body, call: Call, permits: Permits) -> Self {
        MeteredBody {
            inner,
            call: Some(call),
            code: headers
                .get("grpc-status")
                .map(|v| Code::from_bytes(v.as_bytes())),
            permits: Some(permits),
        }
    }

    fn finish(&mut self, code: Code) {
        self.permits.take();
        if let Some(call) = self.call.take() {
            call.finish(self.code.unwrap_or(code));
        }
    }
}

impl http_body::Body for MeteredBody {
    type Data = Bytes;
    type Error = Status;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Status>>> {
        let this = self.get_mut();
        let mut polled = Pin::new(&mut this.inner).poll_frame(cx);
        if let Poll::Ready(Some(Ok(frame))) = &mut polled
            && let Some(trailers) = frame.trailers_mut()
        {
            oversized_as_exhausted(trailers);
        }
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(trailers) = frame.trailers_ref() {
                    this.code = trailers
                        .get("grpc-status")
                        .map(|status| Code::from_bytes(status.as_bytes()));
                }
            }
            Poll::Ready(Some(Err(status))) => {
                this.code = Some(status.code());
                this.finish(status.code());
            }
            // A body that ends without a code broke the protocol.
            Poll::Ready(None) => this.finish(Code::Unknown),
            Poll::Pending => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for MeteredBody {
    fn drop(&mut self) {
        // Dropped before its end: the client went away.
        self.finish(Code::Cancelled);
    }
}

/// tonic answers a request message over the size limit `OUT_OF_RANGE`;
/// gRPC specifies `RESOURCE_EXHAUSTED` for it. Applied to the headers of a
/// trailers-only answer and to trailers.
pub fn oversized_as_exhausted(headers: &mut http::HeaderMap) {
    let out_of_range = headers
        .get("grpc-status")
        .is_some_and(|v| v.as_bytes() == b"11");
    let oversized = headers
        .get("grpc-message")
        .and_then(|v| v.to_str().ok())
        // grpc-message is percent-encoded.
        .is_some_and(|m| m.replace("%20", " ").contains("message length too large"));
    if out_of_range && oversized {
        headers.insert("grpc-status", http::HeaderValue::from_static("8"));
    }
}

/// The code's name as gRPC spells it (`OK`, `RESOURCE_EXHAUSTED`, …).
pub fn code_name(code: Code) -> &'static str {
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn method_labels_are_bounded() {
        assert_eq!(
            method_label("/memori.v1.ChatService/Chat"),
            "memori.v1.ChatService/Chat"
        );
        assert_eq!(
            method_label("/grpc.health.v1.Health/Check"),
            "grpc.health.v1.Health/Check"
        );
        assert_eq!(method_label("/evil.Service/Chat"), "unknown");
        assert_eq!(method_label("/memori.v1.ChatService/a-b"), "unknown");
        assert_eq!(method_label("/"), "unknown");
        assert_eq!(
            method_label(&format!("/memori.v1.ChatService/{}", "x".repeat(65))),
            "unknown"
        );
    }
}
