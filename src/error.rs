//! The one domain error type and its single mapping onto `tonic::Status`.
//!
//! Every status carries a `google.rpc.ErrorInfo` with a stable UPPER_SNAKE
//! `reason` (AIP-193); invalid input also carries a `BadRequest` naming the
//! field, and rate limits a `RetryInfo`. Upstream response bodies never reach
//! a status: only a short message the provider gave, and not even that for
//! credential failures.

use std::time::Duration;

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

/// The `ErrorInfo.domain` of every error memorid returns.
pub const ERROR_DOMAIN: &str = "memorid";

/// Separates memorid's own words in an error message from what an
/// upstream said. The caller gets both; logs get only the first part
/// ([`Error::for_log`]), because an upstream's words may quote a key or
/// the caller's content.
pub const UPSTREAM_SAID: &str = "; the upstream said: ";

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The request is malformed; `field` is its path, e.g. `messages[2].role`.
    #[error("{field}: {message}")]
    InvalidArgument { field: String, message: String },

    #[error("{0}")]
    NotFound(String),

    #[error("{0}")]
    Unauthenticated(String),

    /// The upstream model provider answered 429.
    #[error("upstream rate limit: {message}")]
    UpstreamRateLimited {
        message: String,
        retry_after: Option<Duration>,
    },

    /// The upstream could not be reached, or answered 5xx, or broke off.
    #[error("upstream unavailable: {0}")]
    UpstreamUnavailable(String),

    /// The upstream refused memorid's credentials (an operator problem).
    #[error("upstream refused memorid's credentials for provider {provider}")]
    UpstreamUnauthenticated { provider: String },

    /// The upstream rejected the request itself (HTTP 400/404/422).
    #[error("upstream rejected the request: {message}")]
    UpstreamRejected { message: String, not_found: bool },

    #[error("deadline exceeded: {0}")]
    DeadlineExceeded(String),

    #[error("storage unavailable: {0}")]
    StorageUnavailable(String),

    #[error("internal error: {0}")]
    Internal(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// An error message as logs may carry it: cut before what an upstream said.
pub fn loggable(message: &str) -> String {
    match message.find(UPSTREAM_SAID) {
        Some(at) => format!("{} (the upstream's words are not logged)", &message[..at]),
        None => message.to_string(),
    }
}

impl Error {
    /// The kind of error as a short name, for span attributes (`error.type`)
    /// where the message, which may quote an upstream, must not go.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::InvalidArgument { .. } => "invalid_argument",
            Error::NotFound(_) => "not_found",
            Error::Unauthenticated(_) => "unauthenticated",
            Error::UpstreamRateLimited { .. } => "upstream_rate_limited",
            Error::UpstreamUnavailable(_) => "upstream_unavailable",
            Error::UpstreamUnauthenticated { .. } => "upstream_unauthenticated",
            Error::UpstreamRejected { .. } => "upstream_rejected",
            Error::DeadlineExceeded(_) => "deadline_exceeded",
            Error::StorageUnavailable(_) => "storage_unavailable",
            Error::Internal(_) => "internal",
        }
    }

    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Error::InvalidArgument {
            field: field.into(),
            message: message.into(),
        }
    }

    /// The error as logs may carry it: without anything an upstream said.
    pub fn for_log(&self) -> String {
        loggable(&self.to_string())
    }

    /// The stable `ErrorInfo.reason` of this error.
    pub fn reason(&self) -> &'static str {
        match self {
            Error::InvalidArgument { .. } => "INVALID_ARGUMENT",
            Error::NotFound(_) => "NOT_FOUND",
            Error::Unauthenticated(_) => "UNAUTHENTICATED",
            Error::UpstreamRateLimited { .. } => "UPSTREAM_RATE_LIMITED",
            Error::UpstreamUnavailable(_) => "UPSTREAM_UNAVAILABLE",
            Error::UpstreamUnauthenticated { .. } => "UPSTREAM_UNAUTHENTICATED",
            Error::UpstreamRejected {
                not_found: true, ..
            } => "UPSTREAM_NOT_FOUND",
            Error::UpstreamRejected { .. } => "UPSTREAM_REJECTED",
            Error::DeadlineExceeded(_) => "DEADLINE_EXCEEDED",
            Error::StorageUnavailable(_) => "STORAGE_UNAVAILABLE",
            Error::Internal(_) => "INTERNAL",
        }
    }

    fn code(&self) -> Code {
        match self {
            Error::InvalidArgument { .. } => Code::InvalidArgument,
            Error::NotFound(_) => Code::NotFound,
            Error::Unauthenticated(_) => Code::Unauthenticated,
            Error::UpstreamRateLimited { .. } => Code::ResourceExhausted,
            Error::UpstreamUnavailable(_) => Code::Unavailable,
            // The caller cannot fix memorid's upstream key; an operator must.
            Error::UpstreamUnauthenticated { .. } => Code::FailedPrecondition,
            Error::UpstreamRejected {
                not_found: true, ..
            } => Code::NotFound,
            Error::UpstreamRejected { .. } => Code::InvalidArgument,
            Error::DeadlineExceeded(_) => Code::DeadlineExceeded,
            Error::StorageUnavailable(_) => Code::Unavailable,
            Error::Internal(_) => Code::Internal,
        }
    }
}

impl From<sqlx::Error> for Error {
    fn from(error: sqlx::Error) -> Self {
        match error {
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
                Error::StorageUnavailable(error.to_string())
            }
            other => Error::Internal(format!("storage: {other}")),
        }
    }
}

impl From<Error> for Status {
    fn from(error: Error) -> Self {
        let mut details = ErrorDetails::with_error_info(
            error.reason(),
            ERROR_DOMAIN,
            std::collections::HashMap::new(),
        );
        match &error {
            Error::InvalidArgument { field, message } => {
                details.add_bad_request_violation(field.clone(), message.clone());
            }
            Error::UpstreamRateLimited { retry_after, .. } => {
                details.set_retry_info(*retry_after);
            }
            Error::StorageUnavailable(_) | Error::UpstreamUnavailable(_) => {
                details.set_retry_info(None);
            }
            _ => {}
        }
        if matches!(error, Error::Internal(_)) {
            tracing::error!(error = %error, "internal error");
        }
        Status::with_error_details(error.code(), error.to_string(), details)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_argument_names_the_field() {
        let status = Status::from(Error::invalid("messages[1].role", "must be set"));
        assert_eq!(status.code(), Code::InvalidArgument);
        assert!(status.message().contains("messages[1].role"));
        let details = status.get_error_details();
        let violations = &details.bad_request().unwrap().field_violations;
        assert_eq!(violations[0].field, "messages[1].role");
        assert_eq!(details.error_info().unwrap().reason, "INVALID_ARGUMENT");
    }

    #[test]
    fn rate_limit_carries_retry_info() {
        let status = Status::from(Error::UpstreamRateLimited {
            message: "slow down".into(),
            retry_after: Some(Duration::from_secs(7)),
        });
        assert_eq!(status.code(), Code::ResourceExhausted);
        let details = status.get_error_details();
        assert_eq!(
            details.retry_info().unwrap().retry_delay,
            Some(Duration::from_secs(7))
        );
    }

    #[test]
    fn upstream_credentials_are_an_operator_problem() {
        let status = Status::from(Error::UpstreamUnauthenticated {
            provider: "openai".into(),
        });
        assert_eq!(status.code(), Code::FailedPrecondition);
    }
}
