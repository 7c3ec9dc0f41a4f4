//! Action operations (per task): route → handler.

use poem::web::Data;
use poem_openapi::param::Path;
use poem_openapi::{ApiResponse, OpenApi};

use super::AppState;
use super::auth::Authorized;
use super::body::JsonBody;
use super::error::{ApiError, Read, Write};
use super::json::JsonOut;
use super::models::{Action, ActionRequest, PatchedActionRequest};
use super::tags::ApiTags;
use crate::domain::actions::{self, ActionInput, ActionPatch};

pub struct ActionApi;

#[derive(ApiResponse)]
pub enum Created {
    /// The created action.
    #[oai(status = 201)]
    Created(JsonOut<Action>),
}

#[derive(ApiResponse)]
pub enum Cancelled {
    /// The action is cancelled.
    #[oai(status = 204)]
    NoContent,
}

#[OpenApi(tag = "ApiTags::ActionEndpoints")]
impl ActionApi {
    /// List Actions
    #[oai(
        path = "/api/:organization_slug/:project_slug/tasks/:task_id/actions",
        method = "get",
        operation_id = "action_list"
    )]
    async fn action_list(
        &self,
        auth: Authorized,
        state: Data<&AppState>,
        /// Slug for your organization
        organization_slug: Path<String>,
        /// Slug for your project
        project_slug: Path<String>,
        /// ID of the task
        task_id: Path<String>,
    ) -> Result<JsonOut<Vec<Action>>, ApiError<Read>> {
        let _ = (organization_slug, project_slug);
        let rows = actions::list(&state.store, &auth.0, &task_id.0).await?;
        Ok(JsonOut(rows.into_iter().map(Action::from).collect()))
    }

    /// Create Action
    #[oai(
        path = "/api/:organization_slug/:project_slug/tasks/:task_id/actions",
        method = "post",
        operation_id = "action_create"
    )]
    async fn action_create(
        &self,
        auth: Authorized,
        state: Data<&AppState>,
        /// Slug for your organization
        organization_slug: Path<String>,
        /// Slug for your project
        project_slug: Path<String>,
        /// ID of the task
        task_id: Path<String>,
        body: JsonBody<ActionRequest>,
    ) -> Result<Created, ApiError<Write>> {
        let _ = (organization_slug, project_slug);
        let input = ActionInput::from_json(body.json())?;
        let row = actions::create(&state.store, &auth.0, &task_id.0, input).await?;
        Ok(Created::Created(JsonOut(row.into())))
    }

    /// Get Action
    #[oai(
        path = "/api/:organization_slug/:project_slug/tasks/:task_id/actions/:id",
        method = "get",
        operation_id = "action_get"
    )]
    async fn action_get(
        &self,
        auth: Authorized,
        state: Data<&AppState>,
        /// Slug for your organization
        organization_slug: Path<String>,
        /// Slug for your project
        project_slug: Path<String>,
        /// ID of the task
        task_id: Path<String>,
        /// ID of the action
        id: Path<i64>,
    ) -> Result<JsonOut<Action>, ApiError<Read>> {
        let _ = (organization_slug, project_slug);
        let row = actions::get(&state.store, &auth.0, &task_id.0, id.0).await?;
        Ok(JsonOut(row.into()))
    }

    /// Update Action
    #[oai(
        path = "/api/:organization_slug/:project_slug/tasks/:task_id/actions/:id",
        method = "put",
        operation_id = "action_update"
    )]
    #[allow(clippy::too_many_arguments)]
    async fn action_update(
        &self,
        auth: Authorized,
        state: Data<&AppState>,
        /// Slug for your organization
        organization_slug: Path<String>,
        /// Slug for your project
        project_slug: Path<String>,
        /// ID of the task
        task_id: Path<String>,
        /// ID of the action
        id: Path<i64>,
        body: JsonBody<ActionRequest>,
    ) -> Result<JsonOut<Action>, ApiError<Write>> {
        let _ = (organization_slug, project_slug);
        let input = ActionInput::from_json(body.json())?;
        let patch = ActionPatch {
            trigger: Some(input.trigger),
            integration: Some(input.integration),
            config: Some(input.config),
        };
        let row = actions::update(&state.store, &auth.0, &task_id.0, id.0, patch).await?;
        Ok(JsonOut(row.into()))
    }

    /// Update Action (partial)
    #[oai(
        path = "/api/:organization_slug/:project_slug/tasks/:task_id/actions/:id",
        method = "patch",
        operation_id = "action_partial_update"
    )]
    #[allow(clippy::too_many_arguments)]
    async fn action_partial_update(
        &self,
        auth: Authorized,
        state: Data<&AppState>,
        /// Slug for your organization
        organization_slug: Path<String>,
        /// Slug for your project
        project_slug: Path<String>,
        /// ID of the task
        task_id: Path<String>,
        /// ID of the action
        id: Path<i64>,
        body: JsonBody<PatchedActionRequest, false>,
    ) -> Result<JsonOut<Action>, ApiError<Write>> {
        let _ = (organization_slug, project_slug);
        let patch = ActionPatch::from_json(body.value.as_ref())?;
        let row = actions::update(&state.store, &auth.0, &task_id.0, id.0, patch).await?;
        Ok(JsonOut(row.into()))
    }

    /// Cancel Action
    #[oai(
        path = "/api/:organization_slug/:project_slug/tasks/:task_id/actions/:id",
        method = "delete",
        operation_id = "action_cancel"
    )]
    async fn action_cancel(
        &self,
        auth: Authorized,
        state: Data<&AppState>,
        /// Slug for your organization
        organization_slug: Path<String>,
        /// Slug for your project
        project_slug: Path<String>,
        /// ID of the task
        task_id: Path<String>,
        /// ID of the action
        id: Path<i64>,
    ) -> Result<Cancelled, ApiError<Read>> {
        let _ = (organization_slug, project_slug);
        actions::cancel(&state.store, &auth.0, &task_id.0, id.0).await?;
        Ok(Cancelled::NoContent)
    }
}
