//! Task operations: route → handler. Each handler reads its inputs, calls the domain and
//! shapes the response.

use chrono::{DateTime, Utc};
use poem::web::Data;
use poem_openapi::param::{Header, Path, Query};
use poem_openapi::{ApiResponse, OpenApi};

use super::AppState;
use super::auth::Authorized;
use super::body::JsonBody;
use super::error::{ApiError, List, Read, Write};
use super::json::JsonOut;
use super::models::{Links, PaginatedTaskList, PatchedTaskRequest, StatusEnum, Task, TaskRequest};
use super::tags::ApiTags;
use crate::domain::tasks::{self, ListRequest, Status, TaskInput, TaskPatch};
use crate::domain::{DomainError, FieldError};
use crate::storage::tasks::TaskFilter;

pub struct TaskApi;

#[derive(ApiResponse)]
pub enum Created {
    /// The created task.
    #[oai(status = 201)]
    Created(JsonOut<Task>),
}

#[derive(ApiResponse)]
pub enum Cancelled {
    /// The task is cancelled.
    #[oai(status = 204)]
    NoContent,
}

fn links<'a>(state: &'a AppState, auth: &'a Authorized) -> Links<'a> {
    Links {
        base: &state.public_url,
        organization: &auth.0.organization,
        project: &auth.0.project,
    }
}

/// `tag=ns:value` filters.
fn parse_tags(tags: Vec<String>) -> Result<Vec<(String, String)>, DomainError> {
    tags.into_iter()
        .map(|t| match t.split_once(':') {
            Some((ns, value)) if !ns.is_empty() && !value.is_empty() => {
                Ok((ns.to_owned(), value.to_owned()))
            }
            _ => Err(DomainError::Validation(vec![FieldError::new(
                "tag",
                "invalid",
                format!("\"{t}\" is not a tag filter: use namespace:value."),
            )])),
        })
        .collect()
}

#[OpenApi(tag = "ApiTags::TaskEndpoints")]
impl TaskApi {
    /// List Tasks
    #[oai(
        path = "/api/:organization_slug/:project_slug/tasks",
        method = "get",
        operation_id = "task_list"
    )]
    #[allow(clippy::too_many_arguments)]
    async fn task_list(
        &self,
        auth: Authorized,
        state: Data<&AppState>,
        /// Slug for your organization
        organization_slug: Path<String>,
        /// Slug for your project
        project_slug: Path<String>,
        /// The pagination cursor value.
        cursor: Query<Option<String>>,
        /// Number of results to return per page (default 100; larger values are capped at 1000).
        #[oai(validator(minimum(value = "1")))]
        page_size: Query<Option<i64>>,
        /// Only tasks in one of these statuses (repeatable).
        #[oai(default)]
        status: Query<Vec<StatusEnum>>,
        /// Only tasks with exactly this name.
        name: Query<Option<String>>,
        /// Only the children of this task.
        parent: Query<Option<String>>,
        /// Only tasks with exactly this external id.
        external_id: Query<Option<String>>,
        /// Only tasks carrying this tag, written `namespace:value` (repeatable).
        #[oai(default)]
        tag: Query<Vec<String>>,
        /// Only tasks created at or after this instant.
        created_after: Query<Option<DateTime<Utc>>>,
        /// Only tasks created strictly before this instant.
        created_before: Query<Option<DateTime<Utc>>>,
    ) -> Result<JsonOut<PaginatedTaskList>, ApiError<List>> {
        let _ = (organization_slug, project_slug);
        let filter = TaskFilter {
            statuses: status
                .0
                .into_iter()
                .map(|s| Status::from(s).as_str().to_owned())
                .collect(),
            name: name.0,
            parent: parent.0,
            external_id: external_id.0,
            tags: parse_tags(tag.0)?,
            created_after: created_after.0,
            created_before: created_before.0,
            ..TaskFilter::default()
        };
        let query_filter = filter.clone();
        let page = tasks::list(
            &state.store,
            &auth.0,
            ListRequest {
                cursor: cursor.0.filter(|c| !c.is_empty()),
                page_size: page_size.0.map(|n| n.max(1) as u64),
                filter,
            },
        )
        .await?;
        let page_url = |cursor: Option<String>| {
            cursor.map(|c| state.page_url(&auth.0, &query_filter, page.page_size, &c))
        };
        let links = links(&state, &auth);
        Ok(JsonOut(PaginatedTaskList {
            next: page_url(page.next),
            previous: page_url(page.previous),
            results: page
                .tasks
                .into_iter()
                .map(|row| Task::from_row(row, &links))
                .collect(),
        }))
    }

    /// Create Task
    #[oai(
        path = "/api/:organization_slug/:project_slug/tasks",
        method = "post",
        operation_id = "task_create"
    )]
    async fn task_create(
        &self,
        auth: Authorized,
        state: Data<&AppState>,
        /// Slug for your organization
        organization_slug: Path<String>,
        /// Slug for your project
        project_slug: Path<String>,
        /// Associate this task with a monitor.
        #[oai(name = "X-TASKBADGER-MONITOR")]
        monitor: Header<Option<uuid::Uuid>>,
        body: JsonBody<TaskRequest>,
    ) -> Result<Created, ApiError<Write>> {
        let _ = (organization_slug, project_slug);
        let input = TaskInput::from_json(body.json())?;
        let row = tasks::create(
            &state.store,
            &auth.0,
            input,
            monitor.0.map(|m| m.to_string()),
        )
        .await?;
        Ok(Created::Created(JsonOut(Task::from_row(
            row,
            &links(&state, &auth),
        ))))
    }

    /// Get Task
    #[oai(
        path = "/api/:organization_slug/:project_slug/tasks/:id",
        method = "get",
        operation_id = "task_get"
    )]
    async fn task_get(
        &self,
        auth: Authorized,
        state: Data<&AppState>,
        /// Slug for your organization
        organization_slug: Path<String>,
        /// Slug for your project
        project_slug: Path<String>,
        /// ID of the task
        id: Path<String>,
    ) -> Result<JsonOut<Task>, ApiError<Read>> {
        let _ = (organization_slug, project_slug);
        let row = tasks::get(&state.store, &auth.0, &id.0).await?;
        Ok(JsonOut(Task::from_row(row, &links(&state, &auth))))
    }

    /// Update Task
    #[oai(
        path = "/api/:organization_slug/:project_slug/tasks/:id",
        method = "put",
        operation_id = "task_update"
    )]
    async fn task_update(
        &self,
        auth: Authorized,
        state: Data<&AppState>,
        /// Slug for your organization
        organization_slug: Path<String>,
        /// Slug for your project
        project_slug: Path<String>,
        /// ID of the task
        id: Path<String>,
        body: JsonBody<TaskRequest>,
    ) -> Result<JsonOut<Task>, ApiError<Write>> {
        let _ = (organization_slug, project_slug);
        let input = TaskInput::from_json(body.json())?;
        let row = tasks::replace(&state.store, &auth.0, &id.0, input).await?;
        Ok(JsonOut(Task::from_row(row, &links(&state, &auth))))
    }

    /// Update Task (partial)
    #[oai(
        path = "/api/:organization_slug/:project_slug/tasks/:id",
        method = "patch",
        operation_id = "task_partial_update"
    )]
    async fn task_partial_update(
        &self,
        auth: Authorized,
        state: Data<&AppState>,
        /// Slug for your organization
        organization_slug: Path<String>,
        /// Slug for your project
        project_slug: Path<String>,
        /// ID of the task
        id: Path<String>,
        body: JsonBody<PatchedTaskRequest, false>,
    ) -> Result<JsonOut<Task>, ApiError<Write>> {
        let _ = (organization_slug, project_slug);
        let patch = TaskPatch::from_json(body.value.as_ref())?;
        let row = tasks::patch(&state.store, &auth.0, &id.0, patch).await?;
        Ok(JsonOut(Task::from_row(row, &links(&state, &auth))))
    }

    /// Cancel Task
    #[oai(
        path = "/api/:organization_slug/:project_slug/tasks/:id",
        method = "delete",
        operation_id = "task_cancel"
    )]
    async fn task_cancel(
        &self,
        auth: Authorized,
        state: Data<&AppState>,
        /// Slug for your organization
        organization_slug: Path<String>,
        /// Slug for your project
        project_slug: Path<String>,
        /// ID of the task
        id: Path<String>,
    ) -> Result<Cancelled, ApiError<Read>> {
        let _ = (organization_slug, project_slug);
        tasks::cancel(&state.store, &auth.0, &id.0).await?;
        Ok(Cancelled::NoContent)
    }
}
