//! OpenTelemetry traces over OTLP/gRPC, and the trace context memorid
//! carries: from a caller's `traceparent` into its RPC span, from there into
//! upstream HTTP requests, and through storage to the augmentation job that
//! later works on the same turn.
//!
//! Invariants:
//! - with no `telemetry.otlp_endpoint` nothing is exported, but every RPC
//!   still has a trace id for its log lines (the caller's, or a new one);
//! - export is batched on our own runtime and bounded
//!   (`telemetry.max_queued_spans`): a dead or slow collector drops spans,
//!   it never slows a call nor grows memory;
//! - span attributes never carry message content, keys or upstream bodies:
//!   only names, models, counts, codes and ids.

use std::time::Duration;

use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry::trace::{SpanContext, TraceContextExt, TraceId, TracerProvider as _};
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::span_processor_with_async_runtime::BatchSpanProcessor;
use opentelemetry_sdk::trace::{BatchConfigBuilder, Sampler, SdkTracerProvider};
use tracing::Span;
use tracing_opentelemetry::{OpenTelemetryLayer, OpenTelemetrySpanExt};
use tracing_subscriber::registry::LookupSpan;

use crate::config::TelemetryConfig;

/// The exporting side, kept to flush what is queued at exit.
pub struct Exporter {
    provider: SdkTracerProvider,
}

impl Exporter {
    /// Sends what is still queued, waiting at most the export timeout.
    pub fn shutdown(self) {
        if let Err(error) = self.provider.shutdown() {
            tracing::warn!(%error, "flushing traces at exit failed");
        }
    }
}

/// The tracing layer that turns spans into OpenTelemetry spans, and its
/// exporter; `None` when `telemetry.otlp_endpoint` is unset. Must run on
/// the Tokio runtime (the exporter's channel and batches live there).
pub fn layer<S>(
    config: &TelemetryConfig,
) -> anyhow::Result<
    Option<(
        OpenTelemetryLayer<S, opentelemetry_sdk::trace::Tracer>,
        Exporter,
    )>,
>
where
    S: tracing::Subscriber + for<'span> LookupSpan<'span>,
{
    let Some(endpoint) = &config.otlp_endpoint else {
        return Ok(None);
    };
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_tonic()
        .with_endpoint(endpoint.clone())
        .with_timeout(Duration::from_secs(config.export_timeout_secs))
        .build()
        .map_err(|e| anyhow::anyhow!("telemetry.otlp_endpoint {endpoint}: {e}"))?;
    let batches = BatchConfigBuilder::default()
        .with_max_queue_size(config.max_queued_spans)
        .with_scheduled_delay(Duration::from_millis(config.export_interval_ms))
        .with_max_export_timeout(Duration::from_secs(config.export_timeout_secs))
        .build();
    let processor = BatchSpanProcessor::builder(exporter, opentelemetry_sdk::runtime::Tokio)
        .with_batch_config(batches)
        .build();
    let provider = SdkTracerProvider::builder()
        .with_span_processor(processor)
        // A caller's sampling decision wins; our own roots are sampled at
        // the configured ratio.
        .with_sampler(Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(
            config.sampling_ratio,
        ))))
        .with_resource(
            Resource::builder()
                .with_service_name(config.service_name.clone())
                .build(),
        )
        .build();
    let tracer = provider.tracer("memorid");
    let layer = tracing_opentelemetry::layer()
        .with_tracer(tracer)
        // Source locations and thread names are noise in a trace.
        .with_location(false)
        .with_threads(false)
        // Busy/idle time per span costs two clock reads per poll.
        .with_tracked_inactivity(false);
    Ok(Some((layer, Exporter { provider })))
}

/// Makes `span` continue the trace of the caller's `traceparent` (when it
/// sent a valid one) and records its trace id in the span's `trace_id`
/// field, which every log line inside the span carries; returns that id.
pub fn continue_caller_trace(span: &Span, headers: &http::HeaderMap) -> TraceId {
    let parent = TraceContextPropagator::new().extract(&HeaderExtractor(headers));
    let remote = parent.span().span_context().clone();
    if remote.is_valid() {
        let _ = span.set_parent(parent);
    }
    let exported = span.context().span().span_context().trace_id();
    let trace_id = if exported != TraceId::INVALID {
        exported
    } else if remote.is_valid() {
        remote.trace_id()
    } else {
        // Not exported: an id that still ties one call's log lines together.
        TraceId::from(fastrand::u128(1..))
    };
    span.record("trace_id", tracing::field::display(trace_id));
    trace_id
}

/// Adds the current span's `traceparent` to an outgoing request, so an
/// upstream that traces continues memorid's trace. Nothing without export.
pub fn inject_current(headers: &mut http::HeaderMap) {
    let context = Span::current().context();
    if context.span().span_context().is_valid() {
        TraceContextPropagator::new().inject_context(&context, &mut HeaderInjector(headers));
    }
}

/// The current span's context as a `traceparent` value, for work that
/// continues later elsewhere (an augmentation job); None without export.
pub fn current_traceparent() -> Option<String> {
    let context = Span::current().context();
    if !context.span().span_context().is_valid() {
        return None;
    }
    let mut headers = http::HeaderMap::new();
    TraceContextPropagator::new().inject_context(&context, &mut HeaderInjector(&mut headers));
    headers
        .get("traceparent")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// The span context a stored `traceparent` names, if it is valid.
pub fn parse_traceparent(traceparent: &str) -> Option<SpanContext> {
    let mut headers = http::HeaderMap::new();
    headers.insert("traceparent", traceparent.parse().ok()?);
    let context = TraceContextPropagator::new().extract(&HeaderExtractor(&headers));
    let span = context.span().span_context().clone();
    span.is_valid().then_some(span)
}

/// Makes `span` a child of the span a stored `traceparent` names (the
/// call that stored the turn a job works on) and records that trace's id
/// for the span's log lines; a span without one stays a root.
pub fn continue_stored(span: &Span, traceparent: Option<&str>) {
    let Some(context) = traceparent.and_then(parse_traceparent) else {
        return;
    };
    span.record("trace_id", tracing::field::display(context.trace_id()));
    let _ = span.set_parent(opentelemetry::Context::new().with_remote_span_context(context));
}

struct HeaderExtractor<'a>(&'a http::HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(http::HeaderName::as_str).collect()
    }
}

struct HeaderInjector<'a>(&'a mut http::HeaderMap);

impl Injector for HeaderInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        if let (Ok(name), Ok(value)) = (
            http::HeaderName::from_bytes(key.as_bytes()),
            http::HeaderValue::from_str(&value),
        ) {
            self.0.insert(name, value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_traceparent_parses_and_garbage_does_not() {
        let parsed = parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
            .expect("a valid traceparent");
        assert_eq!(
            parsed.trace_id().to_string(),
            "4bf92f3577b34da6a3ce929d0e0e4736"
        );
        for bad in [
            "",
            "garbage",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
        ] {
            assert!(parse_traceparent(bad).is_none(), "{bad:?} parsed");
        }
    }

    #[test]
    fn without_export_a_call_still_gets_the_callers_trace_id_or_a_new_one() {
        let _guard = tracing::subscriber::set_default(tracing_subscriber::registry());
        let mut headers = http::HeaderMap::new();
        headers.insert(
            "traceparent",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
                .parse()
                .unwrap(),
        );
        let span = tracing::info_span!("rpc", trace_id = tracing::field::Empty);
        let continued = continue_caller_trace(&span, &headers);
        assert_eq!(continued.to_string(), "4bf92f3577b34da6a3ce929d0e0e4736");
        let first = continue_caller_trace(&span, &http::HeaderMap::new());
        let second = continue_caller_trace(&span, &http::HeaderMap::new());
        assert!(
            first != TraceId::INVALID && first != second,
            "{first} {second}"
        );
        // With no layer there is no exported context and nothing injected.
        assert!(current_traceparent().is_none());
        let mut outgoing = http::HeaderMap::new();
        span.in_scope(|| inject_current(&mut outgoing));
        assert!(outgoing.is_empty());
    }
}
