//! Web hook endpoints: the destinations of `webhook:<slug>` actions, with their signing
//! secrets.

use base64::Engine;
use chrono::TimeDelta;
use rand::RngCore;
use sea_orm::Set;

use super::auth::{ProjectScope, valid_slug};
use super::input::WebhookPatch;
use super::tasks::now;
use super::{DomainError, DomainResult};
use crate::storage::StorageError;
use crate::storage::Store;
use crate::storage::entities::webhook;

/// How long the secret before a rotation keeps signing.
pub const ROTATION_OVERLAP: TimeDelta = TimeDelta::hours(24);

/// A new signing secret: `whsec_` + base64 of 32 random bytes.
pub fn new_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    )
}

fn check_url(url: &str) -> DomainResult<()> {
    let ok = url::Url::parse(url)
        .ok()
        .is_some_and(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some());
    if ok {
        Ok(())
    } else {
        Err(DomainError::field(
            "url",
            "invalid",
            "Enter a valid http or https URL.",
        ))
    }
}

fn check_slug(slug: &str) -> DomainResult<()> {
    if valid_slug(slug) {
        Ok(())
    } else {
        Err(DomainError::field(
            "slug",
            "invalid",
            "Use 1 to 50 lowercase letters, digits and hyphens.",
        ))
    }
}

/// Creates a web hook; returns it with its secret (shown only here).
pub async fn create(
    store: &Store,
    scope: &ProjectScope,
    input: WebhookPatch,
) -> DomainResult<webhook::Model> {
    let slug = input.slug.unwrap_or_default();
    let url = input.url.unwrap_or_default();
    check_slug(&slug)?;
    check_url(&url)?;
    let now = now();
    let model = webhook::ActiveModel {
        project_id: Set(scope.project_id),
        slug: Set(slug),
        url: Set(url),
        description: Set(input.description.unwrap_or_default()),
        enabled: Set(input.enabled.unwrap_or(true)),
        secret: Set(new_secret()),
        previous_secret: Set(None),
        previous_until: Set(None),
        created: Set(now),
        updated: Set(now),
        ..Default::default()
    };
    match store.insert_webhook(model).await {
        Err(StorageError::Conflict(_)) => Err(DomainError::field(
            "slug",
            "unique",
            "A web hook with this slug already exists in this project.",
        )),
        other => Ok(other?),
    }
}

/// A slug no web hook can have (a NUL, longer than a slug may be) is unknown like any other.
fn known_slug(slug: &str) -> DomainResult<()> {
    if slug.contains('\0') || slug.chars().count() > 50 {
        Err(DomainError::NotFound)
    } else {
        Ok(())
    }
}

pub async fn list(store: &Store, scope: &ProjectScope) -> DomainResult<Vec<webhook::Model>> {
    Ok(store.list_webhooks(scope.project_id).await?)
}

pub async fn get(store: &Store, scope: &ProjectScope, slug: &str) -> DomainResult<webhook::Model> {
    known_slug(slug)?;
    store
        .get_webhook(scope.project_id, slug)
        .await?
        .ok_or(DomainError::NotFound)
}

/// PATCH: url, description and enabled; the slug cannot change. Re-enabling does not replay
/// old failures (a delivery's `retry/` does).
pub async fn update(
    store: &Store,
    scope: &ProjectScope,
    slug: &str,
    patch: WebhookPatch,
) -> DomainResult<webhook::Model> {
    let mut row = get(store, scope, slug).await?;
    if patch.slug.as_deref().is_some_and(|s| s != row.slug) {
        return Err(DomainError::field(
            "slug",
            "invalid",
            "A web hook's slug cannot be changed.",
        ));
    }
    if let Some(url) = patch.url {
        check_url(&url)?;
        row.url = url;
    }
    if let Some(description) = patch.description {
        row.description = description;
    }
    if let Some(enabled) = patch.enabled {
        row.enabled = enabled;
    }
    row.updated = now();
    Ok(store.update_webhook(row).await?)
}

/// Deletes a web hook and fails its pending deliveries.
pub async fn delete(store: &Store, scope: &ProjectScope, slug: &str) -> DomainResult<()> {
    let row = get(store, scope, slug).await?;
    store.delete_webhook(row.id).await?;
    store
        .fail_pending_deliveries(
            scope.project_id,
            &format!("webhook:{slug}"),
            "web hook deleted",
        )
        .await?;
    Ok(())
}

/// A new secret; the previous one keeps signing for `ROTATION_OVERLAP`.
pub async fn rotate_secret(
    store: &Store,
    scope: &ProjectScope,
    slug: &str,
) -> DomainResult<String> {
    let mut row = get(store, scope, slug).await?;
    let now = now();
    let secret = new_secret();
    row.previous_secret = Some(std::mem::replace(&mut row.secret, secret.clone()));
    row.previous_until = Some(now + ROTATION_OVERLAP);
    row.updated = now;
    store.update_webhook(row).await?;
    Ok(secret)
}

/// `admin create-webhook`: the project's web hook, created with its org and project if
/// missing. Returns the secret.
pub async fn create_for_admin(
    store: &Store,
    organization: &str,
    project: &str,
    input: WebhookPatch,
) -> DomainResult<webhook::Model> {
    let project_id = store.ensure_project(organization, project).await?;
    let scope = ProjectScope {
        key_id: 0,
        organization: organization.to_owned(),
        project: project.to_owned(),
        project_id,
    };
    create(store, &scope, input).await
}
