//! The one HTTP layer below every upstream (chat providers and the
//! embeddings endpoint): the client (with the process-wide TLS provider
//! installed before it is built), credentials that never show in logs, and
//! the one mapping of upstream HTTP and transport failures onto [`Error`].
//!
//! It imports nothing above `config` and `error`, so providers and
//! embedders depend on it and never on the server.

use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{HeaderMap, RETRY_AFTER};
use serde::Deserialize;

use crate::config::ProviderConfig;
use crate::error::{Error, Result};

/// Longest upstream error message passed on to the caller.
const MAX_UPSTREAM_MESSAGE: usize = 300;

/// Installs the process-wide TLS provider (ring) once; later calls are
/// no-ops.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// A client for one upstream.
pub fn client(connect_timeout: Duration) -> anyhow::Result<reqwest::Client> {
    // reqwest is built without a default TLS provider; building a client
    // without one installed would panic.
    install_crypto_provider();
    Ok(reqwest::Client::builder()
        .connect_timeout(connect_timeout)
        .tcp_nodelay(true)
        .pool_idle_timeout(Duration::from_secs(90))
        .build()?)
}

/// A provider credential. Its `Debug` never shows it, and the header made
/// from it is marked sensitive, so neither logs nor errors can carry it.
#[derive(Clone)]
pub struct ApiKey(pub(crate) String);

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiKey(<redacted>)")
    }
}

impl ApiKey {
    /// A key read from an environment variable, if it is set and can be
    /// sent in a header.
    pub fn from_env(var: &str) -> Option<ApiKey> {
        std::env::var(var)
            .ok()
            .map(|key| key.trim().to_string())
            .filter(|key| !key.is_empty() && reqwest::header::HeaderValue::from_str(key).is_ok())
            .map(ApiKey)
    }

    /// The key as a sensitive header value (`prefix` e.g. `"Bearer "`).
    pub fn header(&self, prefix: &str) -> reqwest::header::HeaderValue {
        let mut value = reqwest::header::HeaderValue::try_from(format!("{prefix}{}", self.0))
            .unwrap_or_else(|_| reqwest::header::HeaderValue::from_static(""));
        value.set_sensitive(true);
        value
    }
}

/// Reads the provider's API key from its file or environment variable. A
/// provider without either has no key (fine for local servers).
pub fn read_api_key(name: &str, config: &ProviderConfig) -> anyhow::Result<Option<ApiKey>> {
    if let Some(path) = &config.api_key_file {
        let key = std::fs::read_to_string(path).map_err(|e| {
            anyhow::anyhow!("providers.{name}.api_key_file {}: {e}", path.display())
        })?;
        let key = key.trim();
        if key.is_empty() {
            anyhow::bail!("providers.{name}.api_key_file {} is empty", path.display());
        }
        if reqwest::header::HeaderValue::from_str(key).is_err() {
            anyhow::bail!("providers.{name}.api_key_file holds characters a header cannot carry");
        }
        return Ok(Some(ApiKey(key.to_string())));
    }
    Ok(config.api_key_env.as_deref().and_then(ApiKey::from_env))
}

/// The delay an upstream asked for in `Retry-After` (seconds form).
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?;
    let seconds: f64 = value.trim().parse().ok()?;
    (seconds.is_finite() && seconds >= 0.0).then(|| Duration::from_secs_f64(seconds))
}

fn shorten(message: &str) -> String {
    let message = message.trim();
    match message.char_indices().nth(MAX_UPSTREAM_MESSAGE) {
        Some((cut, _)) => format!("{}…", &message[..cut]),
        None => message.to_string(),
    }
}

/// Maps a non-success upstream response onto an error. `message` is what
/// the provider's error body said, if it could be parsed; the raw body is
/// only logged at debug level by the caller.
pub fn status_error(
    provider: &str,
    status: StatusCode,
    headers: &HeaderMap,
    message: Option<&str>,
) -> Error {
    let said = message
        .map(shorten)
        .unwrap_or_else(|| status.canonical_reason().unwrap_or("").to_string());
    let described = format!(
        "{provider} answered HTTP {}{}{said}",
        status.as_u16(),
        crate::error::UPSTREAM_SAID
    );
    match status.as_u16() {
        // Never echo the upstream's words here: they may quote the key.
        401 | 403 => Error::UpstreamUnauthenticated {
            provider: provider.to_string(),
        },
        429 => Error::UpstreamRateLimited {
            message: described,
            retry_after: retry_after(headers),
        },
        408 | 504 => Error::DeadlineExceeded(described),
        404 => Error::UpstreamRejected {
            message: described,
            not_found: true,
        },
        400..=499 => Error::UpstreamRejected {
            message: described,
            not_found: false,
        },
        _ => Error::UpstreamUnavailable(described),
    }
}

/// Sends a request within `timeout` (which bounds the body too); a
/// non-success answer becomes the matching error. The raw error body is
/// logged at debug level only.
pub async fn send(
    provider: &str,
    request: reqwest::RequestBuilder,
    timeout: Option<Duration>,
) -> Result<reqwest::Response> {
    let request = match timeout {
        Some(timeout) => request.timeout(timeout),
        None => request,
    };
    // An upstream that traces continues memorid's trace.
    let mut trace = HeaderMap::new();
    crate::traces::inject_current(&mut trace);
    let request = request.headers(trace);
    let response = request
        .send()
        .await
        .map_err(|e| transport_error(provider, &e))?;
    if response.status().is_success() {
        return Ok(response);
    }
    Err(error_of(provider, response).await)
}

/// The error a non-success answer stands for; its raw body is logged at
/// debug level only.
pub async fn error_of(provider: &str, response: reqwest::Response) -> Error {
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.text().await.unwrap_or_default();
    tracing::debug!(provider, status = status.as_u16(), body = %body, "upstream error body");
    status_error(provider, status, &headers, error_message(&body).as_deref())
}

/// Reads a whole JSON answer.
pub async fn json_body<T: serde::de::DeserializeOwned>(
    provider: &str,
    response: reqwest::Response,
) -> Result<T> {
    let bytes = response
        .bytes()
        .await
        .map_err(|e| transport_error(provider, &e))?;
    serde_json::from_slice(&bytes)
        .map_err(|e| Error::UpstreamUnavailable(format!("{provider}: unparseable answer: {e}")))
}

#[derive(Deserialize)]
struct ErrorBody {
    error: ErrorField,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum ErrorField {
    Object { message: String },
    Text(String),
}

/// The message of an error body. OpenAI, Anthropic and Gemini all answer
/// `{"error": {"message": …}}` (some compatible servers a bare string).
pub fn error_message(body: &str) -> Option<String> {
    let parsed: ErrorBody = serde_json::from_str(body).ok()?;
    Some(match parsed.error {
        ErrorField::Object { message } | ErrorField::Text(message) => message,
    })
}

/// Maps a transport failure onto an error.
pub fn transport_error(provider: &str, error: &reqwest::Error) -> Error {
    if error.is_timeout() {
        Error::DeadlineExceeded(format!("{provider} did not answer in time"))
    } else if error.is_connect() {
        Error::UpstreamUnavailable(format!("cannot connect to {provider}"))
    } else {
        Error::UpstreamUnavailable(format!("{provider}: {error}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn statuses_map_to_documented_errors() {
        let headers = HeaderMap::new();
        let reason = |code: u16| {
            status_error(
                "p",
                StatusCode::from_u16(code).unwrap(),
                &headers,
                Some("m"),
            )
            .reason()
        };
        assert_eq!(reason(401), "UPSTREAM_UNAUTHENTICATED");
        assert_eq!(reason(403), "UPSTREAM_UNAUTHENTICATED");
        assert_eq!(reason(429), "UPSTREAM_RATE_LIMITED");
        assert_eq!(reason(400), "UPSTREAM_REJECTED");
        assert_eq!(reason(404), "UPSTREAM_NOT_FOUND");
        assert_eq!(reason(500), "UPSTREAM_UNAVAILABLE");
        assert_eq!(reason(503), "UPSTREAM_UNAVAILABLE");
        assert_eq!(reason(504), "DEADLINE_EXCEEDED");
    }

    #[test]
    fn credential_failures_do_not_echo_the_upstream() {
        let error = status_error(
            "p",
            StatusCode::UNAUTHORIZED,
            &HeaderMap::new(),
            Some("Incorrect API key provided: sk-abc"),
        );
        assert!(!error.to_string().contains("sk-abc"));
    }

    #[test]
    fn error_bodies_yield_their_message() {
        let openai = r#"{"error":{"message":"no such model","type":"invalid_request_error"}}"#;
        let anthropic =
            r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#;
        let gemini =
            r#"{"error":{"code":429,"message":"Quota exceeded","status":"RESOURCE_EXHAUSTED"}}"#;
        assert_eq!(error_message(openai).as_deref(), Some("no such model"));
        assert_eq!(error_message(anthropic).as_deref(), Some("Overloaded"));
        assert_eq!(error_message(gemini).as_deref(), Some("Quota exceeded"));
        assert_eq!(error_message(r#"{"error":"bad"}"#).as_deref(), Some("bad"));
        assert_eq!(error_message("<html>"), None);
    }

    #[test]
    fn api_keys_never_show_in_debug_output() {
        let key = ApiKey("sk-very-secret".into());
        assert!(!format!("{key:?}").contains("sk-very"));
        assert!(key.header("Bearer ").is_sensitive());
    }

    #[test]
    fn retry_after_seconds_are_read() {
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, HeaderValue::from_static("3"));
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(3)));
        headers.insert(RETRY_AFTER, HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&headers), None);
    }
}
