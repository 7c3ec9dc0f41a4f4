//! Web hook endpoint operations: route → handler.

use poem::web::Data;
use poem_openapi::param::Path;
use poem_openapi::{ApiResponse, OpenApi};

use super::AppState;
use super::auth::Authorized;
use super::body::JsonBody;
use super::error::{ApiError, Read, Write};
use super::json::JsonOut;
use super::models::{
    PatchedWebhookRequest, Webhook, WebhookRequest, WebhookSecret, WebhookWithSecret,
};
use super::tags::ApiTags;
use crate::domain::input::WebhookPatch;
use crate::domain::webhooks;

pub struct WebhookApi;

#[derive(ApiResponse)]
pub enum Created {
    /// The created web hook with its signing secret, shown only this once.
    #[oai(status = 201)]
    Created(JsonOut<WebhookWithSecret>),
}

#[derive(ApiResponse)]
pub enum Deleted {
    /// The web hook is deleted.
    #[oai(status = 204)]
    NoContent,
}

#[OpenApi(tag = "ApiTags::WebhookEndpoints")]
impl WebhookApi {
    /// List Web Hooks
    #[oai(
        path = "/api/:organization_slug/:project_slug/webhooks",
        method = "get",
        operation_id = "webhook_list"
    )]
    async fn webhook_list(
        &self,
        auth: Authorized,
        state: Data<&AppState>,
        /// Slug for your organization
        organization_slug: Path<String>,
        /// Slug for your project
        project_slug: Path<String>,
    ) -> Result<JsonOut<Vec<Webhook>>, ApiError<Read>> {
        let _ = (organization_slug, project_slug);
        let rows = webhooks::list(&state.store, &auth.0).await?;
        Ok(JsonOut(rows.into_iter().map(Webhook::from).collect()))
    }

    /// Create Web Hook
    #[oai(
        path = "/api/:organization_slug/:project_slug/webhooks",
        method = "post",
        operation_id = "webhook_create"
    )]
    async fn webhook_create(
        &self,
        auth: Authorized,
        state: Data<&AppState>,
        /// Slug for your organization
        organization_slug: Path<String>,
        /// Slug for your project
        project_slug: Path<String>,
        body: JsonBody<WebhookRequest>,
    ) -> Result<Created, ApiError<Write>> {
        let _ = (organization_slug, project_slug);
        let input = WebhookPatch::from_json(Some(body.json()), true)?;
        let row = webhooks::create(&state.store, &auth.0, input).await?;
        Ok(Created::Created(JsonOut(row.into())))
    }

    /// Get Web Hook
    #[oai(
        path = "/api/:organization_slug/:project_slug/webhooks/:slug",
        method = "get",
        operation_id = "webhook_get"
    )]
    async fn webhook_get(
        &self,
        auth: Authorized,
        state: Data<&AppState>,
        /// Slug for your organization
        organization_slug: Path<String>,
        /// Slug for your project
        project_slug: Path<String>,
        /// Slug of the web hook
        slug: Path<String>,
    ) -> Result<JsonOut<Webhook>, ApiError<Read>> {
        let _ = (organization_slug, project_slug);
        let row = webhooks::get(&state.store, &auth.0, &slug.0).await?;
        Ok(JsonOut(row.into()))
    }

    /// Update Web Hook
    #[oai(
        path = "/api/:organization_slug/:project_slug/webhooks/:slug",
        method = "patch",
        operation_id = "webhook_partial_update"
    )]
    async fn webhook_partial_update(
        &self,
        auth: Authorized,
        state: Data<&AppState>,
        /// Slug for your organization
        organization_slug: Path<String>,
        /// Slug for your project
        project_slug: Path<String>,
        /// Slug of the web hook
        slug: Path<String>,
        body: JsonBody<PatchedWebhookRequest, false>,
    ) -> Result<JsonOut<Webhook>, ApiError<Write>> {
        let _ = (organization_slug, project_slug);
        let patch = WebhookPatch::from_json(body.value.as_ref(), false)?;
        let row = webhooks::update(&state.store, &auth.0, &slug.0, patch).await?;
        Ok(JsonOut(row.into()))
    }

    /// Delete Web Hook
    #[oai(
        path = "/api/:organization_slug/:project_slug/webhooks/:slug",
        method = "delete",
        operation_id = "webhook_delete"
    )]
    async fn webhook_delete(
        &self,
        auth: Authorized,
        state: Data<&AppState>,
        /// Slug for your organization
        organization_slug: Path<String>,
        /// Slug for your project
        project_slug: Path<String>,
        /// Slug of the web hook
        slug: Path<String>,
    ) -> Result<Deleted, ApiError<Read>> {
        let _ = (organization_slug, project_slug);
        webhooks::delete(&state.store, &auth.0, &slug.0).await?;
        Ok(Deleted::NoContent)
    }

    /// Rotate Web Hook Secret
    #[oai(
        path = "/api/:organization_slug/:project_slug/webhooks/:slug/rotate-secret",
        method = "post",
        operation_id = "webhook_rotate_secret"
    )]
    async fn webhook_rotate_secret(
        &self,
        auth: Authorized,
        state: Data<&AppState>,
        /// Slug for your organization
        organization_slug: Path<String>,
        /// Slug for your project
        project_slug: Path<String>,
        /// Slug of the web hook
        slug: Path<String>,
    ) -> Result<JsonOut<WebhookSecret>, ApiError<Read>> {
        let _ = (organization_slug, project_slug);
        let secret = webhooks::rotate_secret(&state.store, &auth.0, &slug.0).await?;
        Ok(JsonOut(WebhookSecret { secret }))
    }
}
