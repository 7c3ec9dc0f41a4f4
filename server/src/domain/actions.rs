//! Actions: what fires when a task reaches a trigger point. This module stores and validates
//! them; firing them is the job of a later component.

use chrono::{DateTime, Utc};
use email_address::EmailAddress;
use sea_orm::Set;
use serde_json::{Map, Value};

use super::auth::{ProjectScope, valid_slug};
use super::{DomainError, DomainResult, FieldError, tasks};
use crate::alerting::state::{Alert, alerts_of};
use crate::alerting::trigger::Trigger;
use crate::storage::entities::action;
use crate::storage::tasks::set_task_alerts;
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
/// `max_runtime_exceeded`, separated by commas (`alerting::trigger`).
fn check_trigger(trigger: &str) -> Result<(), String> {
    Trigger::parse(trigger).map(|_| ())
}

/// Checks that every `webhook:<slug>` names a web hook of the project; errors are reported
/// as `{prefix}{index}.integration` (or `integration` with an empty prefix and one action).
pub async fn check_integrations(
    store: &Store,
    scope: &ProjectScope,
    inputs: &[ActionInput],
    prefix: &str,
) -> DomainResult<()> {
    let mut errors = Vec::new();
    for (i, input) in inputs.iter().enumerate() {
        let Some(slug) = input.integration.strip_prefix("webhook:") else {
            continue;
        };
        if store.get_webhook(scope.project_id, slug).await?.is_none() {
            let attr = if prefix.is_empty() {
                "integration".to_owned()
            } else {
                format!("{prefix}{i}.integration")
            };
            errors.push(FieldError::new(
                attr,
                "does_not_exist",
                format!("There is no web hook \"{slug}\" in this project."),
            ));
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(DomainError::Validation(errors))
    }
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

/// Validates an integration and its config outside an action (a monitor's alert): errors
/// name `{prefix}integration` and `{prefix}config…`. Returns the config as stored.
pub fn check_alert(integration: &str, config: Value, prefix: &str) -> Result<Value, FieldError> {
    let kind = check_integration(integration)
        .map_err(|detail| FieldError::new(format!("{prefix}integration"), "invalid", detail))?;
    check_config(kind, config)
        .map_err(|(attr, detail)| FieldError::new(format!("{prefix}{attr}"), "invalid", detail))
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

/// Adds actions to a task inside the caller's transaction, returning them as stored.
pub async fn insert_all(
    store: &Store,
    w: &WriteTxn<'_>,
    task_id: &str,
    inputs: Vec<ActionInput>,
    now: DateTime<Utc>,
) -> DomainResult<Vec<action::Model>> {
    let rows = inputs
        .into_iter()
        .map(|input| new_row(task_id, input, now))
        .collect();
    Ok(store.insert_actions(w, rows).await?)
}

/// Rewrites the locked task's alerts with `change` applied to them.
async fn edit_alerts(
    w: &WriteTxn<'_>,
    task: &crate::storage::entities::task::Model,
    change: impl FnOnce(&mut Vec<Alert>),
) -> DomainResult<()> {
    let mut alerts = alerts_of(task);
    change(&mut alerts);
    let json = (!alerts.is_empty())
        .then(|| serde_json::to_value(&alerts).ok())
        .flatten();
    set_task_alerts(&w.txn, &task.id, json).await?;
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
    tasks::known_id(task_id)?;
    tasks::get(store, scope, task_id).await?;
    check_integrations(store, scope, std::slice::from_ref(&input), "").await?;
    let w = store.begin_write().await?;
    let task = store
        .get_task_for_update(&w, scope.project_id, task_id)
        .await?
        .ok_or(DomainError::NotFound)?;
    let row = store
        .insert_action(&w, new_row(task_id, input, super::tasks::now()))
        .await?;
    let added = row.clone();
    edit_alerts(&w, &task, |alerts| {
        alerts.push(Alert {
            action: added,
            marks: Default::default(),
        })
    })
    .await?;
    w.commit().await?;
    Ok(row)
}

/// The project's task `task_id` (locked) and its action `id`, read inside a write
/// transaction.
async fn action_in(
    store: &Store,
    w: &WriteTxn<'_>,
    scope: &ProjectScope,
    task_id: &str,
    id: i64,
) -> DomainResult<(crate::storage::entities::task::Model, action::Model)> {
    let task = store
        .get_task_for_update(w, scope.project_id, task_id)
        .await?
        .ok_or(DomainError::NotFound)?;
    let action = store
        .get_action_in(w, task_id, id)
        .await?
        .ok_or(DomainError::NotFound)?;
    Ok((task, action))
}

/// PUT (`replace`) and PATCH: the merged action is validated as a whole.
pub async fn update(
    store: &Store,
    scope: &ProjectScope,
    task_id: &str,
    id: i64,
    patch: ActionPatch,
) -> DomainResult<action::Model> {
    tasks::known_id(task_id)?;
    let w = store.begin_write().await?;
    let (task, mut row) = action_in(store, &w, scope, task_id, id).await?;
    let merged = ActionPatch {
        trigger: Some(patch.trigger.unwrap_or(row.trigger.clone())),
        integration: Some(patch.integration.unwrap_or(row.integration.clone())),
        config: Some(patch.config.unwrap_or(row.config.clone())),
    };
    let mut errors = Vec::new();
    let input =
        ActionInput::from_patch(merged, "", &mut errors).ok_or(DomainError::Validation(errors))?;
    check_integrations(store, scope, std::slice::from_ref(&input), "").await?;
    row.trigger = input.trigger;
    row.integration = input.integration;
    row.config = input.config;
    row.updated = super::tasks::now();
    let row = store.update_action(&w, row).await?;
    let edited = row.clone();
    // The marks stay: points already passed do not fire again.
    edit_alerts(&w, &task, |alerts| {
        for alert in alerts.iter_mut().filter(|a| a.action.id == edited.id) {
            alert.action = edited.clone();
        }
    })
    .await?;
    w.commit().await?;
    Ok(row)
}

pub async fn cancel(
    store: &Store,
    scope: &ProjectScope,
    task_id: &str,
    id: i64,
) -> DomainResult<()> {
    tasks::known_id(task_id)?;
    let w = store.begin_write().await?;
    let (task, mut row) = action_in(store, &w, scope, task_id, id).await?;
    row.status = ActionStatus::Cancelled.as_str().to_owned();
    row.updated = super::tasks::now();
    store.update_action(&w, row).await?;
    edit_alerts(&w, &task, |alerts| alerts.retain(|a| a.action.id != id)).await?;
    w.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

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
