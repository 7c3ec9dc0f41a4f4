//! The error type of the SDK.

use std::time::Duration;

use crate::generated::types;

/// One invalid field reported by the server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    /// The field (`name`, `tags.env`, `actions.0.trigger`), if the error is about one.
    pub attr: Option<String>,
    /// Machine-readable code (`required`, `max_length`, ...).
    pub code: String,
    /// Human-readable message.
    pub detail: String,
}

/// Everything an SDK call can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Missing or incorrect credentials (401).
    #[error("unauthorized: {0}")]
    Unauthorized(String),
    /// The key does not open this project (403).
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// No such task or action (404).
    #[error("not found: {0}")]
    NotFound(String),
    /// The request was invalid (400); one entry per field.
    #[error("invalid request: {}", describe(.0))]
    Validation(Vec<FieldError>),
    /// Throttled (429); `retry_after` is the server's hint.
    #[error("rate limited")]
    RateLimited {
        /// How long the server asked to wait.
        retry_after: Option<Duration>,
    },
    /// The server failed (5xx).
    #[error("server error {status}: {detail}")]
    Server {
        /// HTTP status.
        status: u16,
        /// The server's message.
        detail: String,
    },
    /// Any other refusal (405, 406, 413, 415, ...).
    #[error("request refused ({status}): {detail}")]
    Refused {
        /// HTTP status.
        status: u16,
        /// The server's message.
        detail: String,
    },
    /// The server could not be reached or the response could not be read.
    #[error("transport error: {0}")]
    Transport(String),
    /// The SDK is not configured.
    #[error("configuration error: {0}")]
    Config(String),
}

fn describe(errors: &[FieldError]) -> String {
    errors
        .iter()
        .map(|e| match &e.attr {
            Some(attr) => format!("{attr}: {}", e.detail),
            None => e.detail.clone(),
        })
        .collect::<Vec<_>>()
        .join("; ")
}

impl Error {
    /// Whether retrying the same idempotent request may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Error::RateLimited { .. } | Error::Transport(_) | Error::Server { status: 503, .. }
        )
    }

    /// The delay the server asked for, if any.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::RateLimited { retry_after } => *retry_after,
            _ => None,
        }
    }

    pub(crate) fn from_body(
        status: u16,
        body: &types::ErrorResponse,
        retry_after: Option<Duration>,
    ) -> Error {
        let detail = body
            .errors
            .first()
            .map(|e| e.detail.clone())
            .unwrap_or_default();
        match status {
            400 => Error::Validation(
                body.errors
                    .iter()
                    .map(|e| FieldError {
                        attr: e.attr.clone(),
                        code: e.code.clone(),
                        detail: e.detail.clone(),
                    })
                    .collect(),
            ),
            401 => Error::Unauthorized(detail),
            403 => Error::Forbidden(detail),
            404 => Error::NotFound(detail),
            429 => Error::RateLimited { retry_after },
            s if s >= 500 => Error::Server { status: s, detail },
            s => Error::Refused { status: s, detail },
        }
    }
}

fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
}

impl From<progenitor_client::Error<types::ErrorResponse>> for Error {
    fn from(err: progenitor_client::Error<types::ErrorResponse>) -> Self {
        use progenitor_client::Error as E;
        match err {
            E::ErrorResponse(resp) => {
                let status = resp.status().as_u16();
                let wait = retry_after(resp.headers());
                Error::from_body(status, resp.as_ref(), wait)
            }
            E::UnexpectedResponse(resp) => {
                let status = resp.status().as_u16();
                let wait = retry_after(resp.headers());
                match status {
                    429 => Error::RateLimited { retry_after: wait },
                    s if s >= 500 => Error::Server {
                        status: s,
                        detail: "unexpected response".into(),
                    },
                    s => Error::Refused {
                        status: s,
                        detail: "unexpected response".into(),
                    },
                }
            }
            E::CommunicationError(e) => Error::Transport(e.to_string()),
            other => Error::Transport(other.to_string()),
        }
    }
}

impl From<reqwest::Error> for Error {
    fn from(err: reqwest::Error) -> Self {
        Error::Transport(err.to_string())
    }
}
