//! Actions: what fires when a task reaches a trigger point. This module stores and validates
//! them; firing them is the job of a later component.

use chrono::{DateTime, Utc};
use email_address::EmailAddress;
use sea_orm::Set;
use serde_json::{Map, Value};

use super::auth::{ProjectScope, valid_slug};
use super::tasks::Status;
use super::{DomainError, DomainResult, FieldError, tasks};
use crate::storage::entities::action;
use crate::storage::{Store, WriteTxn};

pub const MAX_EMAIL_RECIPIENTS: usize = 5;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ActionStatus {
    Active,
    Processed,
    Cancelled,
}

impl ActionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ActionStatus::Active => "active",
            ActionStatus::Processed => "processed",
            ActionStatus::Cancelled => "cancelled",
        }
    }
}

/// A validated action.
#[derive(Clone, Debug, PartialEq)]
pub struct ActionInput {
    pub trigger: String,
    pub integration: String,
    pub config: Value,
}

/// A partial action update, validated once merged with the stored action.
#[derive(Clone, Debug, Default)]
pub struct ActionPatch {
    pub trigger: Option<String>,
    pub integration: Option<String>,
    pub config: Option<Value>,
}

impl ActionInput {
    /// Validates the fields of an action; errors are reported under `prefix`.
    pub fn from_patch(
        p: ActionPatch,
        prefix: &str,
        errors: &mut Vec<FieldError>,
    ) -> Option<ActionInput> {
        let before = errors.len();
        let trigger = p.trigger?;
        let integration = p.integration?;
        if let Err(detail) = check_trigger(&trigger) {
            errors.push(FieldError::new(
                format!("{prefix}trigger"),
                "invalid",
                detail,
            ));
        }
        let config = match check_integration(&integration) {
            Err(detail) => {
                errors.push(FieldError::new(
                    format!("{prefix}integration"),
                    "invalid",
                    detail,
                ));
                None
            }
            Ok(kind) => match check_config(kind, p.config.unwrap_or(Value::Null)) {
                Ok(config) => Some(config),
                Err((attr, detail)) => {
                    errors.push(FieldError::new(
                        format!("{prefix}{attr}"),
                        "invalid",
                        detail,
                    ));
                    None
                }
            },
        };
        (errors.len() == before).then_some(ActionInput {
            trigger,
            integration,
            config: config?,
        })
    }
}

/// Trigger points: an integer value, `N%`, `*/N`, `*/N%`, a status name, or
/// `max_runtime_exceeded`, separated by commas.
fn check_trigger(trigger: &str) -> Result<(), String> {
    for point in trigger.split(',').map(str::trim) {
        let valid = if let Some(step) = point.strip_prefix("*/") {
            match step.strip_suffix('%') {
                Some(pct) => pct.parse::<u8>().is_ok_and(|n| (1..=100).contains(&n)),
                None => step.parse::<u64>().is_ok_and(|n| n >= 1),
            }
        } else if let Some(pct) = point.strip_suffix('%') {
            pct.parse::<u8>().is_ok_and(|n| n <= 100)
        } else {
            point.parse::<u64>().is_ok()
                || Status::parse(point).is_some()
                || point == "max_runtime_exceeded"
        };
        if !valid {
            return Err(format!(
                "\"{point}\" is not a valid trigger point: use a value (50), a percentage (50%), \
                 a step (*/10 or */10%), a status name or max_runtime_exceeded."
            ));
        }
    }
    Ok(())
}

#[derive(Clone, Copy)]
enum IntegrationKind {
    Email,
    Webhook,
}

fn check_integration(integration: &str) -> Result<IntegrationKind, String> {
    match integration.split_once(':') {
        None if integration == "email" => Ok(IntegrationKind::Email),
        Some(("webhook", slug)) if valid_slug(slug) => Ok(IntegrationKind::Webhook),
        _ => Err(format!(
            "\"{integration}\" is not a valid integration: use email or webhook:<slug>."
        )),
    }
}

fn check_config(kind: IntegrationKind, config: Value) -> Result<Value, (&'static str, String)> {
    let obj = match config {
        Value::Null => Map::new(),
        Value::Object(obj) => obj,
        _ => return Err(("config", "Expected an object.".to_owned())),
    };
    if let IntegrationKind::Email = kind {
        let to = obj.get("to").and_then(Value::as_str).unwrap_or("");
        let addresses: Vec<&str> = to
            .split(',')
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .collect();
        if addresses.is_empty() || addresses.len() > MAX_EMAIL_RECIPIENTS {
            return Err((
                "config.to",
                format!("Give 1 to {MAX_EMAIL_RECIPIENTS} comma-separated email addresses."),
            ));
        }
        if let Some(bad) = addresses.iter().find(|a| !EmailAddress::is_valid(a)) {
            return Err((
                "config.to",
                format!("\"{bad}\" is not a valid email address."),
            ));
        }
    }
    Ok(Value::Object(obj))
}

fn new_row(task_id: &str, input: ActionInput, now: DateTime<Utc>) -> action::ActiveModel {
    action::ActiveModel {
        task_id: Set(task_id.to_owned()),
        trigger: Set(input.trigger),
        integration: Set(input.integration),
        config: Set(input.config),
        status: Set(ActionStatus::Active.as_str().to_owned()),
        created: Set(now),
        updated: Set(now),
        ..Default::default()
    }
}

/// Adds actions to a task inside the caller's transaction.
pub async fn insert_all(
    store: &Store,
    w: &WriteTxn<'_>,
    task_id: &str,
    inputs: Vec<ActionInput>,
    now: DateTime<Utc>,
) -> DomainResult<()> {
    let rows = inputs
        .into_iter()
        .map(|input| new_row(task_id, input, now))
        .collect();
    store.insert_actions(w, rows).await?;
    Ok(())
}

pub async fn list(
    store: &Store,
    scope: &ProjectScope,
    task_id: &str,
) -> DomainResult<Vec<action::Model>> {
    tasks::get(store, scope, task_id).await?;
    Ok(store.list_actions(task_id).await?)
}

pub async fn get(
    store: &Store,
    scope: &ProjectScope,
    task_id: &str,
    id: i64,
) -> DomainResult<action::Model> {
    tasks::get(store, scope, task_id).await?;
    store
        .get_action(task_id, id)
        .await?
        .ok_or(DomainError::NotFound)
}

pub async fn create(
    store: &Store,
    scope: &ProjectScope,
    task_id: &str,
    input: ActionInput,
) -> DomainResult<action::Model> {
    let w = store.begin_write().await?;
    store
        .get_task_in(&w, scope.project_id, task_id)
        .await?
        .ok_or(DomainError::NotFound)?;
    let row = store
        .insert_action(&w, new_row(task_id, input, super::tasks::now()))
        .await?;
    w.commit().await?;
    Ok(row)
}

/// The action `id` of the project's task `task_id`, read inside a write transaction.
async fn action_in(
    store: &Store,
    w: &WriteTxn<'_>,
    scope: &ProjectScope,
    task_id: &str,
    id: i64,
) -> DomainResult<action::Model> {
    store
        .get_task_in(w, scope.project_id, task_id)
        .await?
        .ok_or(DomainError::NotFound)?;
    store
        .get_action_in(w, task_id, id)
        .await?
        .ok_or(DomainError::NotFound)
}

/// PUT (`replace`) and PATCH: the merged action is validated as a whole.
pub async fn update(
    store: &Store,
    scope: &ProjectScope,
    task_id: &str,
    id: i64,
    patch: ActionPatch,
) -> DomainResult<action::Model> {
    let w = store.begin_write().await?;
    let mut row = action_in(store, &w, scope, task_id, id).await?;
    let merged = ActionPatch {
        trigger: Some(patch.trigger.unwrap_or(row.trigger.clone())),
        integration: Some(patch.integration.unwrap_or(row.integration.clone())),
        config: Some(patch.config.unwrap_or(row.config.clone())),
    };
    let mut errors = Vec::new();
    let input =
        ActionInput::from_patch(merged, "", &mut errors).ok_or(DomainError::Validation(errors))?;
    row.trigger = input.trigger;
    row.integration = input.integration;
    row.config = input.config;
    row.updated = super::tasks::now();
    let row = store.update_action(&w, row).await?;
    w.commit().await?;
    Ok(row)
}

pub async fn cancel(
    store: &Store,
    scope: &ProjectScope,
    task_id: &str,
    id: i64,
) -> DomainResult<()> {
    let w = store.begin_write().await?;
    let mut row = action_in(store, &w, scope, task_id, id).await?;
    row.status = ActionStatus::Cancelled.as_str().to_owned();
    row.updated = super::tasks::now();
    store.update_action(&w, row).await?;
    w.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn triggers() {
        for ok in [
            "50",
            "50%",
            "*/10",
            "*/25%",
            "success",
            "error,max_runtime_exceeded",
            "0, 100%",
        ] {
            assert!(check_trigger(ok).is_ok(), "{ok}");
        }
        for bad in ["", "abc", "101%", "*/0", "*/0%", "-1", "*/", "50%%", "done"] {
            assert!(check_trigger(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn integrations_and_email_config() {
        assert!(check_integration("email").is_ok());
        assert!(check_integration("webhook:my-hook").is_ok());
        assert!(check_integration("webhook:").is_err());
        assert!(check_integration("slack").is_err());
        let cfg = |to: &str| serde_json::json!({ "to": to });
        assert!(check_config(IntegrationKind::Email, cfg("a@example.com")).is_ok());
        assert!(check_config(IntegrationKind::Email, cfg("a@x.com,b@x.com")).is_ok());
        assert!(check_config(IntegrationKind::Email, cfg("")).is_err());
        assert!(check_config(IntegrationKind::Email, cfg("not-an-address")).is_err());
        assert!(
            check_config(
                IntegrationKind::Email,
                cfg("a@x.com,b@x.com,c@x.com,d@x.com,e@x.com,f@x.com")
            )
            .is_err()
        );
        assert!(check_config(IntegrationKind::Webhook, Value::Null).is_ok());
    }
}
