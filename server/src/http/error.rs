//! The HTTP layer's error type: a status plus the documented JSON error body.
//!
//! `ApiError<S>` is generic over a marker that names which statuses an operation documents, so
//! the emitted OpenAPI document lists exactly the error responses of the canonical spec.

use std::fmt;
use std::marker::PhantomData;

use poem::http::{HeaderValue, StatusCode, header};
use poem::{IntoResponse, Response};
use poem_openapi::registry::{MetaMediaType, MetaResponse, MetaResponses, Registry};
use poem_openapi::types::{ToJSON, Type};
use poem_openapi::{ApiResponse, Enum, Object};

use crate::domain::{DomainError, FieldError};
use crate::storage::StorageError;

/// `type` of an error body.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
#[oai(rename_all = "snake_case")]
pub enum ErrorTypeEnum {
    ValidationError,
    ClientError,
    ServerError,
}

#[derive(Object, Clone, Debug)]
pub struct ErrorDetail {
    pub code: String,
    pub detail: String,
    #[oai(nullable)]
    pub attr: Option<String>,
}

/// The body of every non-2xx response.
#[derive(Object, Clone, Debug)]
pub struct ErrorResponse {
    #[oai(rename = "type")]
    pub ty: ErrorTypeEnum,
    #[oai(validator(min_items = 1))]
    pub errors: Vec<ErrorDetail>,
}

/// Which error statuses an operation documents.
pub trait ErrorStatuses: Send + Sync + 'static {
    const STATUSES: &'static [u16];
}

const COMMON: [u16; 8] = [401, 403, 404, 405, 406, 429, 500, 503];

/// get / delete: no body, no query.
pub struct Read;
/// list: query parameters can be invalid.
pub struct List;
/// create / update: a JSON body.
pub struct Write;

impl ErrorStatuses for Read {
    const STATUSES: &'static [u16] = &COMMON;
}
impl ErrorStatuses for List {
    const STATUSES: &'static [u16] = &[400, 401, 403, 404, 405, 406, 429, 500, 503];
}
impl ErrorStatuses for Write {
    const STATUSES: &'static [u16] = &[400, 401, 403, 404, 405, 406, 413, 415, 429, 500, 503];
}

/// The internal cause of a 5xx, carried to the logging middleware in the response's
/// extensions (never in the body).
#[derive(Clone, Debug)]
pub struct ErrorCause(pub String);

/// An error response. Build it with the constructors or from a `DomainError`.
pub struct ApiError<S = Write> {
    pub status: StatusCode,
    pub body: ErrorResponse,
    pub retry_after: Option<u64>,
    pub allow: Option<String>,
    /// Logged, never sent.
    pub cause: Option<String>,
    _statuses: PhantomData<fn() -> S>,
}

impl<S> fmt::Debug for ApiError<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiError")
            .field("status", &self.status)
            .field("body", &self.body)
            .finish()
    }
}

impl<S> fmt::Display for ApiError<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let first = self.body.errors.first();
        write!(
            f,
            "{} {}",
            self.status.as_u16(),
            first.map_or("", |e| e.code.as_str())
        )?;
        // Display is for logs only (bodies are built from `body`), so the cause may show.
        match &self.cause {
            Some(cause) => write!(f, ": {cause}"),
            None => Ok(()),
        }
    }
}

impl<S> std::error::Error for ApiError<S> {}

impl<S> ApiError<S> {
    fn one(status: StatusCode, ty: ErrorTypeEnum, code: &str, detail: impl Into<String>) -> Self {
        Self {
            status,
            body: ErrorResponse {
                ty,
                errors: vec![ErrorDetail {
                    code: code.to_owned(),
                    detail: detail.into(),
                    attr: None,
                }],
            },
            retry_after: None,
            allow: None,
            cause: None,
            _statuses: PhantomData,
        }
    }

    /// Re-labels the error for another operation (same response).
    pub fn cast<T>(self) -> ApiError<T> {
        ApiError {
            status: self.status,
            body: self.body,
            retry_after: self.retry_after,
            allow: self.allow,
            cause: self.cause,
            _statuses: PhantomData,
        }
    }

    pub fn client(status: StatusCode, code: &str, detail: impl Into<String>) -> Self {
        Self::one(status, ErrorTypeEnum::ClientError, code, detail)
    }

    pub fn validation(errors: Vec<FieldError>) -> Self {
        let mut err = Self::one(
            StatusCode::BAD_REQUEST,
            ErrorTypeEnum::ValidationError,
            "",
            "",
        );
        err.body.errors = errors
            .into_iter()
            .map(|e| ErrorDetail {
                code: e.code.to_owned(),
                detail: e.detail,
                attr: (!e.attr.is_empty()).then_some(e.attr),
            })
            .collect();
        err
    }

    pub fn field(attr: &str, code: &str, detail: impl Into<String>) -> Self {
        let mut err = Self::one(
            StatusCode::BAD_REQUEST,
            ErrorTypeEnum::ValidationError,
            code,
            detail,
        );
        err.body.errors[0].attr = Some(attr.to_owned());
        err
    }

    pub fn parse_error(detail: impl Into<String>) -> Self {
        Self::client(StatusCode::BAD_REQUEST, "parse_error", detail)
    }

    pub fn not_found() -> Self {
        Self::client(StatusCode::NOT_FOUND, "not_found", "Not found.")
    }

    pub fn method_not_allowed(method: &str, allow: Option<String>) -> Self {
        let mut err = Self::client(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            format!(
                "Method \u{201c}{}\u{201d} not allowed.",
                method.to_lowercase()
            ),
        );
        err.allow = allow;
        err
    }

    pub fn not_acceptable() -> Self {
        Self::client(
            StatusCode::NOT_ACCEPTABLE,
            "not_acceptable",
            "Could not satisfy the request Accept header.",
        )
    }

    /// 413; `limit` (bytes) is named in the detail when known.
    pub fn payload_too_large(limit: Option<usize>) -> Self {
        let detail = match limit {
            Some(limit) => format!("Request body is larger than {limit} bytes."),
            None => "Request body is too large.".to_owned(),
        };
        Self::client(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", detail)
    }

    pub fn unsupported_media_type(content_type: &str) -> Self {
        Self::client(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            // api.md documents this code for 415 (not DRF's `unsupported_media_type`).
            "not_acceptable",
            format!("Unsupported media type \u{201c}{content_type}\u{201d} in request."),
        )
    }

    pub fn throttled(wait_secs: u64) -> Self {
        let mut err = Self::client(
            StatusCode::TOO_MANY_REQUESTS,
            "throttled",
            format!("Request was throttled. Expected available in {wait_secs} seconds."),
        );
        err.retry_after = Some(wait_secs);
        err
    }

    pub fn unavailable() -> Self {
        Self::one(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorTypeEnum::ServerError,
            "service_unavailable",
            "Service temporarily unavailable, try again later.",
        )
    }

    /// Attaches the internal cause (logged with the request id, never sent).
    pub fn with_cause(mut self, cause: String) -> Self {
        self.cause = Some(cause);
        self
    }

    /// The one body a 500 ever has; the cause is logged, never sent.
    pub fn internal() -> Self {
        Self::one(
            StatusCode::INTERNAL_SERVER_ERROR,
            ErrorTypeEnum::ServerError,
            "error",
            "A server error occurred.",
        )
    }
}

impl<S> From<DomainError> for ApiError<S> {
    fn from(err: DomainError) -> Self {
        match err {
            DomainError::Validation(errors) => Self::validation(errors),
            DomainError::NotAuthenticated => Self::client(
                StatusCode::UNAUTHORIZED,
                "not_authenticated",
                "Authentication credentials were not provided.",
            ),
            DomainError::AuthenticationFailed => Self::client(
                StatusCode::UNAUTHORIZED,
                "authentication_failed",
                "Incorrect authentication credentials.",
            ),
            DomainError::PermissionDenied => Self::client(
                StatusCode::FORBIDDEN,
                "permission_denied",
                "You do not have permission to perform this action.",
            ),
            DomainError::NotFound => Self::not_found(),
            DomainError::InvalidCursor => {
                Self::client(StatusCode::NOT_FOUND, "not_found", "Invalid cursor.")
            }
            DomainError::Storage(StorageError::Unavailable(cause)) => {
                Self::unavailable().with_cause(cause.to_string())
            }
            DomainError::Storage(cause) => Self::internal().with_cause(cause.to_string()),
        }
    }
}

impl<S> IntoResponse for ApiError<S> {
    fn into_response(self) -> Response {
        let body = self
            .body
            .to_json()
            .map(|v| v.to_string())
            .unwrap_or_default();
        let mut resp = Response::builder()
            .status(self.status)
            .content_type("application/json")
            .body(body);
        if let Some(secs) = self.retry_after {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if let Some(allow) = self.allow.and_then(|a| HeaderValue::from_str(&a).ok()) {
            resp.headers_mut().insert(header::ALLOW, allow);
        }
        if let Some(cause) = self.cause {
            resp.extensions_mut().insert(ErrorCause(cause));
        }
        resp
    }
}

impl<S: Send + Sync + 'static> poem::error::ResponseError for ApiError<S> {
    fn status(&self) -> StatusCode {
        self.status
    }

    fn as_response(&self) -> Response {
        ApiError::<S> {
            status: self.status,
            body: self.body.clone(),
            retry_after: self.retry_after,
            allow: self.allow.clone(),
            cause: self.cause.clone(),
            _statuses: PhantomData,
        }
        .into_response()
    }
}

impl<S: ErrorStatuses> ApiResponse for ApiError<S> {
    fn meta() -> MetaResponses {
        MetaResponses {
            responses: S::STATUSES
                .iter()
                .map(|status| MetaResponse {
                    description: "An error; see ErrorResponse.",
                    status: Some(*status),
                    status_range: None,
                    content: vec![MetaMediaType {
                        content_type: "application/json",
                        schema: ErrorResponse::schema_ref(),
                    }],
                    headers: vec![],
                })
                .collect(),
        }
    }

    fn register(registry: &mut Registry) {
        ErrorResponse::register(registry);
    }
}
