//! Project-wide actions: stored and validated here (trigger, integration and config exactly
//! as per-task actions, plus a name filter); evaluated by `alerting::project`.

use sea_orm::Set;

use super::actions::{ActionInput, ActionPatch, check_integrations};
use super::auth::ProjectScope;
use super::input::ProjectActionPatch;
use super::{DomainError, DomainResult, FieldError, tasks};
use crate::alerting::project::compile_filter;
use crate::storage::Store;
use crate::storage::entities::project_action;

pub async fn list(store: &Store, scope: &ProjectScope) -> DomainResult<Vec<project_action::Model>> {
    Ok(store.list_project_actions(scope.project_id).await?)
}

pub async fn get(
    store: &Store,
    scope: &ProjectScope,
    id: i64,
) -> DomainResult<project_action::Model> {
    store
        .get_project_action(scope.project_id, id)
        .await?
        .ok_or(DomainError::NotFound)
}

/// The merged fields, validated as a whole.
struct Valid {
    name: String,
    name_filter: String,
    action: ActionInput,
}

async fn validate(
    store: &Store,
    scope: &ProjectScope,
    name: String,
    name_filter: String,
    action: ActionPatch,
) -> DomainResult<Valid> {
    let mut errors = Vec::new();
    if let Err(detail) = compile_filter(&name_filter) {
        errors.push(FieldError::new("name_filter", "invalid", detail));
    }
    let action = ActionInput::from_patch(action, "", &mut errors);
    let Some(action) = action.filter(|_| errors.is_empty()) else {
        return Err(DomainError::Validation(errors));
    };
    check_integrations(store, scope, std::slice::from_ref(&action), "").await?;
    Ok(Valid {
        name,
        name_filter,
        action,
    })
}

pub async fn create(
    store: &Store,
    scope: &ProjectScope,
    patch: ProjectActionPatch,
) -> DomainResult<project_action::Model> {
    let valid = validate(
        store,
        scope,
        patch.name.unwrap_or_default(),
        patch.name_filter.unwrap_or_default(),
        patch.action,
    )
    .await?;
    let now = tasks::now();
    let row = store
        .insert_project_action(project_action::ActiveModel {
            project_id: Set(scope.project_id),
            name: Set(valid.name),
            name_filter: Set(valid.name_filter),
            trigger: Set(valid.action.trigger),
            integration: Set(valid.action.integration),
            config: Set(valid.action.config),
            enabled: Set(patch.enabled.unwrap_or(true)),
            created: Set(now),
            updated: Set(now),
            ..Default::default()
        })
        .await?;
    store.refresh_watched_projects().await?;
    Ok(row)
}

/// PATCH: the merged action is validated as a whole; its marks stay (points already passed
/// on a task do not fire again), and the change applies to later writes only.
pub async fn update(
    store: &Store,
    scope: &ProjectScope,
    id: i64,
    patch: ProjectActionPatch,
) -> DomainResult<project_action::Model> {
    let mut row = get(store, scope, id).await?;
    let merged = ActionPatch {
        trigger: Some(patch.action.trigger.unwrap_or(row.trigger.clone())),
        integration: Some(patch.action.integration.unwrap_or(row.integration.clone())),
        config: Some(patch.action.config.unwrap_or(row.config.clone())),
    };
    let valid = validate(
        store,
        scope,
        patch.name.unwrap_or(row.name.clone()),
        patch.name_filter.unwrap_or(row.name_filter.clone()),
        merged,
    )
    .await?;
    row.name = valid.name;
    row.name_filter = valid.name_filter;
    row.trigger = valid.action.trigger;
    row.integration = valid.action.integration;
    row.config = valid.action.config;
    row.enabled = patch.enabled.unwrap_or(row.enabled);
    row.updated = tasks::now();
    let row = store.update_project_action(row).await?;
    store.refresh_watched_projects().await?;
    Ok(row)
}

pub async fn delete(store: &Store, scope: &ProjectScope, id: i64) -> DomainResult<()> {
    let row = get(store, scope, id).await?;
    store.delete_project_action(row.id).await?;
    store.refresh_watched_projects().await?;
    Ok(())
}
