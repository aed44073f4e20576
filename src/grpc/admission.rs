//! The tower layer in front of every service (`Server::layer`): it lets a
//! call in or turns it away at once, and measures every call.
//!
//! For a memori.v1 call, in this order:
//! 1. **Load shedding.** At `server.max_concurrent_calls` calls in flight
//!    (Chat streams count until their last message), one more is answered
//!    `RESOURCE_EXHAUSTED` with a `RetryInfo` at once, never queued.
//! 2. **Authentication.** The key from `authorization: Bearer <key>` or
//!    `x-api-key` is looked up in the [`KeyRing`]; the caller's
//!    [`Namespace`] goes into the request's extensions, which is the only
//!    place handlers read it from.
//! 3. **Per-key limits.** Calls a second and calls in flight, answered
//!    `RESOURCE_EXHAUSTED` + `RetryInfo` when exceeded.
//!
//! Health and reflection pass without a key (probes have none) and are not
//! limited. Every call, let in or not, is counted by method and gRPC code
//! with its duration until its response body ends (see `metered`).
//!
//! A request message over `server.max_request_bytes` is answered
//! `RESOURCE_EXHAUSTED`, as gRPC specifies: tonic says `OUT_OF_RANGE`
//! there, and its status is rewritten on the way out (see `metered`).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures_util::future::BoxFuture;
use tonic::body::Body;
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};
use tower::{Layer, Service};
use tracing::Instrument;

use super::auth::Namespace;
use super::metered::{Call, MeteredBody, method_label, oversized_as_exhausted};
use crate::error::{ERROR_DOMAIN, Error};
use crate::keys::limiter::{CallPermit, Refusal};
use crate::keys::{Denied, KeyRing};

/// How long a shed caller is asked to wait before trying again.
const SHED_RETRY_AFTER: Duration = Duration::from_millis(100);

#[derive(Debug, Clone)]
pub struct AdmissionLayer {
    keys: KeyRing,
    in_flight: Arc<AtomicUsize>,
    max_in_flight: usize,
}

impl AdmissionLayer {
    /// `max_in_flight` 0 is no global limit.
    pub fn new(keys: KeyRing, max_in_flight: usize) -> Self {
        AdmissionLayer {
            keys,
            in_flight: Arc::default(),
            max_in_flight,
        }
    }
}

impl<S> Layer<S> for AdmissionLayer {
    type Service = Admission<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Admission {
            inner,
            layer: self.clone(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Admission<S> {
    inner: S,
    layer: AdmissionLayer,
}

/// One call's share of the global in-flight count.
#[derive(Debug)]
pub struct InFlight(Arc<AtomicUsize>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// What a call holds while it runs.
#[derive(Debug, Default)]
pub struct Permits {
    _global: Option<InFlight>,
    _key: Option<CallPermit>,
}

impl AdmissionLayer {
    fn take_slot(&self) -> Option<InFlight> {
        if self.max_in_flight == 0 {
            self.in_flight.fetch_add(1, Ordering::AcqRel);
            return Some(InFlight(self.in_flight.clone()));
        }
        self.in_flight
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < self.max_in_flight).then_some(n + 1)
            })
            .ok()
            .map(|_| InFlight(self.in_flight.clone()))
    }

    /// Lets a memori.v1 call in (its namespace set), or the status that
    /// turns it away.
    fn admit(&self, request: &mut http::Request<Body>) -> Result<Permits, Status> {
        let Some(global) = self.take_slot() else {
            metrics::counter!(crate::telemetry::RPC_REJECTED, "reason" => "overloaded")
                .increment(1);
            return Err(exhausted(
                "OVERLOADED",
                format!(
                    "memorid is at its limit of {} calls in flight; retry shortly",
                    self.max_in_flight
                ),
                SHED_RETRY_AFTER,
            ));
        };
        let admitted = self
            .keys
            .admit(presented_key(request.headers()), Instant::now())
            .map_err(denied)?;
        request
            .extensions_mut()
            .insert(Namespace(admitted.namespace));
        Ok(Permits {
            _global: Some(global),
            _key: Some(admitted.permit),
        })
    }
}

/// The key from `authorization: Bearer <key>` or `x-api-key: <key>`.
fn presented_key(headers: &http::HeaderMap) -> Option<&str> {
    if let Some(value) = headers.get("authorization").and_then(|v| v.to_str().ok()) {
        return value.strip_prefix("Bearer ").map(str::trim);
    }
    headers
        .get("x-api-key")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
}

fn denied(denied: Denied) -> Status {
    match denied {
        Denied::Missing => Error::Unauthenticated(
            "an API key is required: send `authorization: Bearer <key>`".into(),
        )
        .into(),
        Denied::Unknown => Error::Unauthenticated("the API key is not valid".into()).into(),
        Denied::Limited { key, refusal } => {
            let reason = match refusal {
                Refusal::Rate { .. } => "rate",
                Refusal::Concurrency { .. } => "concurrency",
            };
            metrics::counter!(crate::telemetry::RPC_REJECTED, "reason" => reason).increment(1);
            match refusal {
                Refusal::Rate { retry_after } => exhausted(
                    "RATE_LIMITED",
                    format!("API key {key} is over its limit of calls a second"),
                    retry_after,
                ),
                Refusal::Concurrency { limit } => exhausted(
                    "CONCURRENCY_LIMITED",
                    format!("API key {key} already has {limit} calls in flight, its limit"),
                    SHED_RETRY_AFTER,
                ),
            }
        }
    }
}

fn exhausted(reason: &str, message: String, retry_after: Duration) -> Status {
    let mut details =
        ErrorDetails::with_error_info(reason, ERROR_DOMAIN, std::collections::HashMap::new());
    details.set_retry_info(Some(retry_after));
    Status::with_error_details(Code::ResourceExhausted, message, details)
}

fn metered(
    response: http::Response<Body>,
    call: Call,
    permits: Permits,
) -> http::Response<MeteredBody> {
    let (parts, body) = response.into_parts();
    let body = MeteredBody::new(&parts.headers, body, call, permits);
    http::Response::from_parts(parts, body)
}

impl<S> Service<http::Request<Body>> for Admission<S>
where
    S: Service<http::Request<Body>, Response = http::Response<Body>> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = http::Response<MeteredBody>;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<Body>) -> Self::Future {
        let method = method_label(request.uri().path());
        let call = Call::start(method, request.headers());
        let span = call.span().clone();
        let permits = if request.uri().path().starts_with("/memori.v1.") {
            match self.layer.admit(&mut request) {
                Ok(permits) => permits,
                Err(status) => {
                    let response = metered(status.into_http::<Body>(), call, Permits::default());
                    return Box::pin(async move { Ok(response) });
                }
            }
        } else {
            Permits::default()
        };
        // The service that was polled ready is the one called.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        Box::pin(
            async move {
                let mut response = inner.call(request).await?;
                oversized_as_exhausted(response.headers_mut());
                Ok(metered(response, call, permits))
            }
            .instrument(span),
        )
    }
}
