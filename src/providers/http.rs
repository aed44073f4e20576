//! HTTP plumbing shared by the providers: the client, credentials, and the
//! mapping of upstream HTTP failures onto [`Error`].

use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{HeaderMap, RETRY_AFTER};

use crate::config::ProviderConfig;
use crate::error::Error;

/// Longest upstream error message passed on to the caller.
const MAX_UPSTREAM_MESSAGE: usize = 300;

pub(super) fn client(config: &ProviderConfig) -> anyhow::Result<reqwest::Client> {
    // reqwest is built without a default TLS provider; building a client
    // without one installed would panic.
    crate::server::install_crypto_provider();
    Ok(reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(config.connect_timeout_secs))
        .tcp_nodelay(true)
        .pool_idle_timeout(Duration::from_secs(90))
        .build()?)
}

/// Reads the provider's API key from its file or environment variable. A
/// provider without either has no key (fine for local servers).
pub(super) fn read_api_key(name: &str, config: &ProviderConfig) -> anyhow::Result<Option<String>> {
    if let Some(path) = &config.api_key_file {
        let key = std::fs::read_to_string(path).map_err(|e| {
            anyhow::anyhow!("providers.{name}.api_key_file {}: {e}", path.display())
        })?;
        return Ok(Some(key.trim().to_string()).filter(|k| !k.is_empty()));
    }
    Ok(config
        .api_key_env
        .as_deref()
        .and_then(|var| std::env::var(var).ok())
        .map(|key| key.trim().to_string())
        .filter(|key| !key.is_empty()))
}

/// The delay an upstream asked for in `Retry-After` (seconds form).
pub(super) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
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
pub(super) fn status_error(
    provider: &str,
    status: StatusCode,
    headers: &HeaderMap,
    message: Option<&str>,
) -> Error {
    let said = message
        .map(shorten)
        .unwrap_or_else(|| status.canonical_reason().unwrap_or("").to_string());
    let described = format!("{provider} answered HTTP {}: {said}", status.as_u16());
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

/// Maps a transport failure onto an error.
pub(super) fn transport_error(provider: &str, error: &reqwest::Error) -> Error {
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
    fn retry_after_seconds_are_read() {
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, HeaderValue::from_static("3"));
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(3)));
        headers.insert(RETRY_AFTER, HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&headers), None);
    }
}
