//! Project-wide action operations: route → handler.

use poem::web::Data;
use poem_openapi::param::Path;
use poem_openapi::{ApiResponse, OpenApi};

use super::AppState;
use super::auth::Authorized;
use super::body::JsonBody;
use super::error::{ApiError, Read, Write};
use super::json::JsonOut;
use super::models::{PatchedProjectActionRequest, ProjectAction, ProjectActionRequest};
use super::tags::ApiTags;
use crate::domain::input::ProjectActionPatch;
use crate::domain::project_actions;

pub struct ProjectActionApi;

#[derive(ApiResponse)]
pub enum Created {
    /// The created project-wide action.
    #[oai(status = 201)]
    Created(JsonOut<ProjectAction>),
}

#[derive(ApiResponse)]
pub enum Deleted {
    /// The project-wide action is deleted.
    #[oai(status = 204)]
    NoContent,
}

#[OpenApi(tag = "ApiTags::ProjectActionEndpoints")]
impl ProjectActionApi {
    /// List Project-wide Actions
    #[oai(
        path = "/api/:organization_slug/:project_slug/actions",
        method = "get",
        operation_id = "project_action_list"
    )]
    async fn project_action_list(
        &self,
        auth: Authorized,
        state: Data<&AppState>,
        /// Slug for your organization
        organization_slug: Path<String>,
        /// Slug for your project
        project_slug: Path<String>,
    ) -> Result<JsonOut<Vec<ProjectAction>>, ApiError<Read>> {
        let _ = (organization_slug, project_slug);
        let rows = project_actions::list(&state.store, &auth.0).await?;
        Ok(JsonOut(rows.into_iter().map(ProjectAction::from).collect()))
    }

    /// Create Project-wide Action
    #[oai(
        path = "/api/:organization_slug/:project_slug/actions",
        method = "post",
        operation_id = "project_action_create"
    )]
    async fn project_action_create(
        &self,
        auth: Authorized,
        state: Data<&AppState>,
        /// Slug for your organization
        organization_slug: Path<String>,
        /// Slug for your project
        project_slug: Path<String>,
        body: JsonBody<ProjectActionRequest>,
    ) -> Result<Created, ApiError<Write>> {
        let _ = (organization_slug, project_slug);
        let input = ProjectActionPatch::from_json(Some(body.json()), true)?;
        let row = project_actions::create(&state.store, &auth.0, input).await?;
        Ok(Created::Created(JsonOut(row.into())))
    }

    /// Get Project-wide Action
    #[oai(
        path = "/api/:organization_slug/:project_slug/actions/:id",
        method = "get",
        operation_id = "project_action_get"
    )]
    async fn project_action_get(
        &self,
        auth: Authorized,
        state: Data<&AppState>,
        /// Slug for your organization
        organization_slug: Path<String>,
        /// Slug for your project
        project_slug: Path<String>,
        /// ID of the project-wide action
        id: Path<i64>,
    ) -> Result<JsonOut<ProjectAction>, ApiError<Read>> {
        let _ = (organization_slug, project_slug);
        let row = project_actions::get(&state.store, &auth.0, id.0).await?;
        Ok(JsonOut(row.into()))
    }

    /// Update Project-wide Action
    #[oai(
        path = "/api/:organization_slug/:project_slug/actions/:id",
        method = "patch",
        operation_id = "project_action_partial_update"
    )]
    async fn project_action_partial_update(
        &self,
        auth: Authorized,
        state: Data<&AppState>,
        /// Slug for your organization
        organization_slug: Path<String>,
        /// Slug for your project
        project_slug: Path<String>,
        /// ID of the project-wide action
        id: Path<i64>,
        body: JsonBody<PatchedProjectActionRequest, false>,
    ) -> Result<JsonOut<ProjectAction>, ApiError<Write>> {
        let _ = (organization_slug, project_slug);
        let patch = ProjectActionPatch::from_json(body.value.as_ref(), false)?;
        let row = project_actions::update(&state.store, &auth.0, id.0, patch).await?;
        Ok(JsonOut(row.into()))
    }

    /// Delete Project-wide Action
    #[oai(
        path = "/api/:organization_slug/:project_slug/actions/:id",
        method = "delete",
        operation_id = "project_action_delete"
    )]
    async fn project_action_delete(
        &self,
        auth: Authorized,
        state: Data<&AppState>,
        /// Slug for your organization
        organization_slug: Path<String>,
        /// Slug for your project
        project_slug: Path<String>,
        /// ID of the project-wide action
        id: Path<i64>,
    ) -> Result<Deleted, ApiError<Read>> {
        let _ = (organization_slug, project_slug);
        project_actions::delete(&state.store, &auth.0, id.0).await?;
        Ok(Deleted::NoContent)
    }
}
