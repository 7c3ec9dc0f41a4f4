//! Monitor operations: route → handler.

use poem::web::Data;
use poem_openapi::param::Path;
use poem_openapi::{ApiResponse, OpenApi};

use super::AppState;
use super::auth::Authorized;
use super::body::JsonBody;
use super::error::{ApiError, Read, Write};
use super::json::JsonOut;
use super::models::{Monitor, MonitorRequest, PatchedMonitorRequest};
use super::tags::ApiTags;
use crate::domain::input::MonitorPatch;
use crate::domain::monitors;

pub struct MonitorApi;

#[derive(ApiResponse)]
pub enum Created {
    /// The created monitor.
    #[oai(status = 201)]
    Created(JsonOut<Monitor>),
}

#[derive(ApiResponse)]
pub enum Deleted {
    /// The monitor is deleted (its tasks keep their link).
    #[oai(status = 204)]
    NoContent,
}

#[OpenApi(tag = "ApiTags::MonitorEndpoints")]
impl MonitorApi {
    /// List Monitors
    #[oai(
        path = "/api/:organization_slug/:project_slug/monitors",
        method = "get",
        operation_id = "monitor_list"
    )]
    async fn monitor_list(
        &self,
        auth: Authorized,
        state: Data<&AppState>,
        /// Slug for your organization
        organization_slug: Path<String>,
        /// Slug for your project
        project_slug: Path<String>,
    ) -> Result<JsonOut<Vec<Monitor>>, ApiError<Read>> {
        let _ = (organization_slug, project_slug);
        let rows = monitors::list(&state.store, &auth.0).await?;
        Ok(JsonOut(rows.into_iter().map(Monitor::from).collect()))
    }

    /// Create Monitor
    #[oai(
        path = "/api/:organization_slug/:project_slug/monitors",
        method = "post",
        operation_id = "monitor_create"
    )]
    async fn monitor_create(
        &self,
        auth: Authorized,
        state: Data<&AppState>,
        /// Slug for your organization
        organization_slug: Path<String>,
        /// Slug for your project
        project_slug: Path<String>,
        body: JsonBody<MonitorRequest>,
    ) -> Result<Created, ApiError<Write>> {
        let _ = (organization_slug, project_slug);
        let input = MonitorPatch::from_json(Some(body.json()), true)?;
        let row = monitors::create(&state.store, &auth.0, input).await?;
        Ok(Created::Created(JsonOut(row.into())))
    }

    /// Get Monitor
    #[oai(
        path = "/api/:organization_slug/:project_slug/monitors/:id",
        method = "get",
        operation_id = "monitor_get"
    )]
    async fn monitor_get(
        &self,
        auth: Authorized,
        state: Data<&AppState>,
        /// Slug for your organization
        organization_slug: Path<String>,
        /// Slug for your project
        project_slug: Path<String>,
        /// ID of the monitor (a UUID)
        id: Path<String>,
    ) -> Result<JsonOut<Monitor>, ApiError<Read>> {
        let _ = (organization_slug, project_slug);
        let row = monitors::get(&state.store, &auth.0, &id.0).await?;
        Ok(JsonOut(row.into()))
    }

    /// Update Monitor
    #[oai(
        path = "/api/:organization_slug/:project_slug/monitors/:id",
        method = "patch",
        operation_id = "monitor_partial_update"
    )]
    async fn monitor_partial_update(
        &self,
        auth: Authorized,
        state: Data<&AppState>,
        /// Slug for your organization
        organization_slug: Path<String>,
        /// Slug for your project
        project_slug: Path<String>,
        /// ID of the monitor (a UUID)
        id: Path<String>,
        body: JsonBody<PatchedMonitorRequest, false>,
    ) -> Result<JsonOut<Monitor>, ApiError<Write>> {
        let _ = (organization_slug, project_slug);
        let patch = MonitorPatch::from_json(body.value.as_ref(), false)?;
        let row = monitors::update(&state.store, &auth.0, &id.0, patch).await?;
        Ok(JsonOut(row.into()))
    }

    /// Delete Monitor
    #[oai(
        path = "/api/:organization_slug/:project_slug/monitors/:id",
        method = "delete",
        operation_id = "monitor_delete"
    )]
    async fn monitor_delete(
        &self,
        auth: Authorized,
        state: Data<&AppState>,
        /// Slug for your organization
        organization_slug: Path<String>,
        /// Slug for your project
        project_slug: Path<String>,
        /// ID of the monitor (a UUID)
        id: Path<String>,
    ) -> Result<Deleted, ApiError<Read>> {
        let _ = (organization_slug, project_slug);
        monitors::delete(&state.store, &auth.0, &id.0).await?;
        Ok(Deleted::NoContent)
    }
}
