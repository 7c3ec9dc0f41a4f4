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
    Storage(StorageError),
}

impl From<StorageError> for DomainError {
    /// A row deleted between the read and the write of a request is not found, as it would
    /// have been had the request come a moment later.
    fn from(err: StorageError) -> Self {
        match err {
            StorageError::Gone => DomainError::NotFound,
            other => DomainError::Storage(other),
        }
    }
}

impl DomainError {
    pub fn field(attr: impl Into<String>, code: &'static str, detail: impl Into<String>) -> Self {
        DomainError::Validation(vec![FieldError::new(attr, code, detail)])
    }
}

pub type DomainResult<T> = Result<T, DomainError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_deleted_meanwhile_is_not_found() {
        let err: StorageError = sea_orm::DbErr::RecordNotUpdated.into();
        assert!(matches!(err, StorageError::Gone));
        assert!(matches!(DomainError::from(err), DomainError::NotFound));
    }
}
