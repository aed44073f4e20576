//! Model routing: `provider/model` names and aliases, fallbacks, and
//! retries — all strictly before the first token.
//!
//! A request resolves to a [`Plan`]: one route for `provider/model`, or an
//! alias's routes in order. Opening a plan tries each route; a route that
//! fails with a retryable error (429, 5xx, connection) is retried with
//! exponential backoff and jitter, honouring the upstream's `retry-after`,
//! then the next route is tried. Once a first chunk has arrived nothing is
//! retried: the caller may already have seen tokens.

use std::collections::BTreeMap;
use std::time::Duration;

use futures_util::StreamExt;
use tokio::time::Instant;
use tracing::{Instrument, Span};

use super::{ChatRequest, Chunk, ChunkStream, Completion, Provider};
use crate::config::{ProviderConfig, RoutingConfig};
use crate::error::{Error, Result};
use crate::retry::RetryPolicy;

/// All configured providers and aliases.
#[derive(Debug, Clone)]
pub struct Router {
    providers: BTreeMap<String, Provider>,
    config: RoutingConfig,
}

/// One model at one provider.
#[derive(Debug, Clone)]
pub struct Route {
    pub provider_name: String,
    pub model: String,
}

impl Route {
    /// The `provider/model` name reported to callers and stored with turns.
    pub fn qualified_name(&self) -> String {
        format!("{}/{}", self.provider_name, self.model)
    }
}

/// The routes a model name resolved to, in the order they are tried.
#[derive(Debug, Clone)]
pub struct Plan {
    pub routes: Vec<Route>,
}

impl Plan {
    /// The name of the first route (what is stored until one answers).
    pub fn primary_name(&self) -> String {
        self.routes[0].qualified_name()
    }
}

/// A stream that has produced its first chunk.
pub struct Opened {
    /// The `provider/model` that answered.
    pub model: String,
    pub stream: ChunkStream,
    pub first: Chunk,
    /// The upstream call's span (see [`gen_ai_span`]), for the caller to
    /// record how the stream ended and to drop when it has.
    pub span: Span,
}

/// A client span for one call to one model, by the OpenTelemetry GenAI
/// conventions; usage and finish reasons are recorded when known.
fn gen_ai_span(provider: &Provider, route: &Route) -> Span {
    tracing::info_span!(
        "gen_ai",
        otel.name = format!("chat {}", route.model),
        otel.kind = "client",
        otel.status_code = tracing::field::Empty,
        gen_ai.operation.name = "chat",
        gen_ai.system = provider.system(),
        gen_ai.request.model = %route.model,
        gen_ai.response.model = tracing::field::Empty,
        gen_ai.response.finish_reasons = tracing::field::Empty,
        gen_ai.usage.input_tokens = tracing::field::Empty,
        gen_ai.usage.output_tokens = tracing::field::Empty,
        memorid.provider = %route.provider_name,
        memorid.time_to_first_token_ms = tracing::field::Empty,
        error.type = tracing::field::Empty,
    )
}

/// Records a finished call's usage and finish reason on its span.
/// (Counts go in as i64: OpenTelemetry has no unsigned integers, and a
/// u64 would be exported as a string.)
pub fn record_completion(span: &Span, completion: &Completion) {
    if let Some(usage) = completion.usage {
        span.record("gen_ai.usage.input_tokens", i64::from(usage.input_tokens));
        span.record("gen_ai.usage.output_tokens", i64::from(usage.output_tokens));
    }
    if let Some(reason) = completion.finish_reason {
        span.record("gen_ai.response.finish_reasons", reason.as_str());
    }
}

/// Marks a call's span failed, naming the kind of error (never its text,
/// which may quote the upstream).
pub fn record_failure(span: &Span, error: &Error) {
    span.record("otel.status_code", "ERROR");
    span.record("error.type", error.kind());
}

impl Router {
    pub fn from_config(
        providers: &BTreeMap<String, ProviderConfig>,
        config: RoutingConfig,
    ) -> anyhow::Result<Router> {
        let providers = providers
            .iter()
            .map(|(name, config)| Ok((name.clone(), Provider::from_config(name, config)?)))
            .collect::<anyhow::Result<_>>()?;
        let router = Router { providers, config };
        for (alias, targets) in &router.config.aliases {
            for target in targets {
                router.resolve_direct(target).map_err(|e| {
                    anyhow::anyhow!("routing.aliases.{alias}: {target:?} does not resolve: {e}")
                })?;
            }
        }
        Ok(router)
    }

    /// Resolves a model name or alias; errors name the `model` field.
    pub fn resolve(&self, model: &str) -> Result<Plan> {
        if model.is_empty() {
            return Err(Error::invalid("model", "is required"));
        }
        if let Some(targets) = self.config.aliases.get(model) {
            let routes = targets
                .iter()
                .map(|target| self.resolve_direct(target))
                .collect::<Result<Vec<_>>>()?;
            return Ok(Plan { routes });
        }
        Ok(Plan {
            routes: vec![self.resolve_direct(model)?],
        })
    }

    fn resolve_direct(&self, model: &str) -> Result<Route> {
        let (provider_name, model_name) = match model.split_once('/') {
            Some((provider, name)) if self.providers.contains_key(provider) => (provider, name),
            _ => match &self.config.default_provider {
                Some(default) => (default.as_str(), model),
                None => {
                    let known: Vec<&str> = self.providers.keys().map(String::as_str).collect();
                    return Err(Error::invalid(
                        "model",
                        format!(
                            "{model:?} is no alias and names no configured provider; \
                             use provider/model with one of: {}",
                            known.join(", ")
                        ),
                    ));
                }
            },
        };
        if model_name.is_empty() {
            return Err(Error::invalid(
                "model",
                "the model name after the provider is empty",
            ));
        }
        if !self.providers.contains_key(provider_name) {
            return Err(Error::invalid(
                "model",
                format!("provider {provider_name:?} is not configured"),
            ));
        }
        Ok(Route {
            provider_name: provider_name.to_string(),
            model: model_name.to_string(),
        })
    }

    /// Opens the plan's first route that answers, retrying and falling back
    /// as configured, within `deadline`.
    pub async fn open(
        &self,
        plan: &Plan,
        request: &ChatRequest,
        deadline: Option<Instant>,
    ) -> Result<Opened> {
        let mut last_error = None;
        for route in &plan.routes {
            let provider = &self.providers[&route.provider_name];
            let mut request = request.clone();
            request.model.clone_from(&route.model);
            let span = gen_ai_span(provider, route);
            let started = std::time::Instant::now();
            let opened = self
                .open_route(provider, &request, deadline)
                .instrument(span.clone())
                .await;
            if let Err(error) = &opened {
                record_failure(&span, error);
            }
            match opened {
                Ok((stream, first)) => {
                    span.record("gen_ai.response.model", route.model.as_str());
                    span.record(
                        "memorid.time_to_first_token_ms",
                        started.elapsed().as_secs_f64() * 1e3,
                    );
                    return Ok(Opened {
                        model: route.qualified_name(),
                        stream,
                        first,
                        span,
                    });
                }
                // Out of time: no other route can do better.
                Err(error @ Error::DeadlineExceeded(_)) => return Err(error),
                Err(error) => {
                    tracing::warn!(model = %route.qualified_name(), error = %error.for_log(), "route failed");
                    last_error = Some(error);
                }
            }
        }
        Err(last_error.unwrap_or_else(|| Error::Internal("an empty routing plan".into())))
    }

    /// A whole (non-streaming) answer from the plan's first route that
    /// gives one. No retries here: the caller (a job) is retried as a whole.
    pub async fn complete(
        &self,
        plan: &Plan,
        request: &ChatRequest,
        timeout: Duration,
    ) -> Result<Completion> {
        let mut last_error = None;
        for route in &plan.routes {
            let provider = &self.providers[&route.provider_name];
            let mut request = request.clone();
            request.model.clone_from(&route.model);
            let span = gen_ai_span(provider, route);
            let answered = provider
                .complete(&request, Some(timeout))
                .instrument(span.clone())
                .await;
            match answered {
                Ok(completion) => {
                    span.record("gen_ai.response.model", route.model.as_str());
                    record_completion(&span, &completion);
                    return Ok(completion);
                }
                Err(error) => {
                    record_failure(&span, &error);
                    tracing::warn!(model = %route.qualified_name(), error = %error.for_log(), "route failed");
                    last_error = Some(error);
                }
            }
        }
        Err(last_error.unwrap_or_else(|| Error::Internal("an empty routing plan".into())))
    }

    /// Opens one route, retrying retryable failures with backoff.
    async fn open_route(
        &self,
        provider: &Provider,
        request: &ChatRequest,
        deadline: Option<Instant>,
    ) -> Result<(ChunkStream, Chunk)> {
        let mut attempt = 0;
        loop {
            let error = match open_once(provider, request, deadline).await {
                Ok(opened) => return Ok(opened),
                Err(error) => error,
            };
            attempt += 1;
            let Some(delay) = self.retry_delay(&error, attempt) else {
                return Err(error);
            };
            if let Some(deadline) = deadline
                && Instant::now() + delay >= deadline
            {
                return Err(error);
            }
            tracing::info!(error = %error.for_log(), attempt, ?delay, "retrying the upstream");
            tokio::time::sleep(delay).await;
        }
    }

    /// How long to wait before retry number `attempt` (1-based), or `None`
    /// when the error is not worth retrying or attempts are used up.
    fn retry_delay(&self, error: &Error, attempt: u32) -> Option<Duration> {
        if attempt >= self.config.max_attempts {
            return None;
        }
        let asked = match error {
            Error::UpstreamRateLimited { retry_after, .. } => *retry_after,
            Error::UpstreamUnavailable(_) => None,
            _ => return None,
        };
        let backoff = RetryPolicy {
            initial: Duration::from_millis(self.config.initial_backoff_ms),
            max: Duration::from_millis(self.config.max_backoff_ms),
            jitter: true,
        }
        .next_delay(attempt);
        match asked {
            // An upstream that asks for longer than we are willing to wait
            // gets no retry; the caller sees its RetryInfo instead.
            Some(asked) if asked > Duration::from_secs(self.config.max_retry_after_secs) => None,
            Some(asked) => Some(asked.max(backoff)),
            None => Some(backoff),
        }
    }
}

/// Calls the upstream and waits for its first chunk, within the deadline;
/// the remaining budget is also the upstream request's timeout.
async fn open_once(
    provider: &Provider,
    request: &ChatRequest,
    deadline: Option<Instant>,
) -> Result<(ChunkStream, Chunk)> {
    let timeout = deadline.map(|d| d.saturating_duration_since(Instant::now()));
    let opening = async {
        let mut stream = provider.stream(request, timeout).await?;
        match stream.next().await {
            Some(Ok(first)) => Ok((stream, first)),
            Some(Err(error)) => Err(error),
            None => Err(Error::UpstreamUnavailable(
                "the upstream ended the stream without answering".into(),
            )),
        }
    };
    match deadline {
        Some(deadline) => tokio::time::timeout_at(deadline, opening)
            .await
            .unwrap_or_else(|_| Err(deadline_error())),
        None => opening.await,
    }
}

/// The error for a call whose deadline passed.
pub fn deadline_error() -> Error {
    Error::DeadlineExceeded("the call's deadline passed before the answer completed".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn router() -> Router {
        let mut config = Config::default();
        config.routing.aliases.insert(
            "smart".into(),
            vec!["anthropic/claude-x".into(), "openai/gpt-x".into()],
        );
        Router::from_config(&config.providers, config.routing).unwrap()
    }

    #[test]
    fn names_and_aliases_resolve_in_order() {
        let router = router();
        let plan = router.resolve("openai/gpt-4o").unwrap();
        assert_eq!(plan.primary_name(), "openai/gpt-4o");
        let plan = router.resolve("smart").unwrap();
        let names: Vec<String> = plan.routes.iter().map(Route::qualified_name).collect();
        assert_eq!(names, vec!["anthropic/claude-x", "openai/gpt-x"]);
        // A model name with slashes of its own keeps them.
        let plan = router.resolve("openai/meta-llama/Llama-3").unwrap();
        assert_eq!(plan.routes[0].model, "meta-llama/Llama-3");
    }

    #[test]
    fn unknown_models_name_the_field() {
        for bad in ["", "nosuch/model", "bare-model", "openai/"] {
            match router().resolve(bad) {
                Err(Error::InvalidArgument { field, .. }) => assert_eq!(field, "model"),
                other => panic!("{bad:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn aliases_to_unknown_providers_fail_at_start() {
        let mut config = Config::default();
        config
            .routing
            .aliases
            .insert("broken".into(), vec!["nosuch/x".into()]);
        let error = Router::from_config(&config.providers, config.routing).unwrap_err();
        assert!(
            error.to_string().contains("routing.aliases.broken"),
            "{error}"
        );
    }

    #[test]
    fn only_transient_upstream_errors_are_retried() {
        let router = router();
        let unavailable = Error::UpstreamUnavailable("503".into());
        assert!(router.retry_delay(&unavailable, 1).is_some());
        assert!(
            router
                .retry_delay(&unavailable, router.config.max_attempts)
                .is_none()
        );
        let rejected = Error::UpstreamRejected {
            message: "bad".into(),
            not_found: false,
        };
        assert!(router.retry_delay(&rejected, 1).is_none());
        let polite = Error::UpstreamRateLimited {
            message: "slow".into(),
            retry_after: Some(Duration::from_secs(2)),
        };
        assert!(router.retry_delay(&polite, 1).unwrap() >= Duration::from_secs(2));
        let rude = Error::UpstreamRateLimited {
            message: "slow".into(),
            retry_after: Some(Duration::from_secs(3600)),
        };
        assert!(router.retry_delay(&rude, 1).is_none());
    }
}
