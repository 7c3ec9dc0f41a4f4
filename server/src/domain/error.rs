//! The domain's error type.

use crate::storage::StorageError;

/// One invalid field of a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    /// Dotted path of the field (`name`, `tags.env`, `actions.0.trigger`).
    pub attr: String,
    /// Machine-readable code (`required`, `invalid`, `max_length`, ...).
    pub code: &'static str,
    pub detail: String,
}

impl FieldError {
    pub fn new(attr: impl Into<String>, code: &'static str, detail: impl Into<String>) -> Self {
        Self {
            attr: attr.into(),
            code,
            detail: detail.into(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DomainError {
    #[error("invalid input")]
    Validation(Vec<FieldError>),
    #[error("no credentials")]
    NotAuthenticated,
    #[error("bad credentials")]
    AuthenticationFailed,
    #[error("permission denied")]
    PermissionDenied,
    #[error("not found")]
    NotFound,
    #[error("invalid cursor")]
    InvalidCursor,
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl DomainError {
    pub fn field(attr: impl Into<String>, code: &'static str, detail: impl Into<String>) -> Self {
        DomainError::Validation(vec![FieldError::new(attr, code, detail)])
    }
}

pub type DomainResult<T> = Result<T, DomainError>;
