//! The domain: task and action rules, key handling, pagination cursors and the operations the
//! HTTP layer calls. It knows nothing of HTTP and talks to storage only through `Store`.

pub mod actions;
pub mod auth;
pub mod cursor;
pub mod deliveries;
pub mod error;
pub mod input;
pub mod keys;
pub mod monitors;
pub mod project_actions;
pub mod tasks;
pub mod webhooks;

pub use error::{DomainError, DomainResult, FieldError};
