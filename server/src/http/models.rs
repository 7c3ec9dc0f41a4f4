//! The wire types of the API, as poem-openapi objects. Their schemas mirror the components of
//! the canonical openapi.yaml. Request schemas are registered for the document; request bodies
//! themselves are read by the domain (`domain::input`) so that every error names its field.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use poem_openapi::{Enum, Object};
use serde::Serialize;
use serde_json::Value;

use crate::domain::tasks::{Status, format_duration, time_to_start, value_percent};
use crate::storage::entities::{action, task};

#[derive(Enum, Serialize, Clone, Copy, Debug, PartialEq, Eq)]
#[oai(rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum StatusEnum {
    Pending,
    PreProcessing,
    Processing,
    PostProcessing,
    Success,
    Error,
    Cancelled,
    Stale,
}

impl From<StatusEnum> for Status {
    fn from(s: StatusEnum) -> Self {
        match s {
            StatusEnum::Pending => Status::Pending,
            StatusEnum::PreProcessing => Status::PreProcessing,
            StatusEnum::Processing => Status::Processing,
            StatusEnum::PostProcessing => Status::PostProcessing,
            StatusEnum::Success => Status::Success,
            StatusEnum::Error => Status::Error,
            StatusEnum::Cancelled => Status::Cancelled,
            StatusEnum::Stale => Status::Stale,
        }
    }
}

impl From<Status> for StatusEnum {
    fn from(s: Status) -> Self {
        match s {
            Status::Pending => StatusEnum::Pending,
            Status::PreProcessing => StatusEnum::PreProcessing,
            Status::Processing => StatusEnum::Processing,
            Status::PostProcessing => StatusEnum::PostProcessing,
            Status::Success => StatusEnum::Success,
            Status::Error => StatusEnum::Error,
            Status::Cancelled => StatusEnum::Cancelled,
            Status::Stale => StatusEnum::Stale,
        }
    }
}

#[derive(Enum, Serialize, Clone, Copy, Debug, PartialEq, Eq)]
#[oai(rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum ActionStatusEnum {
    Active,
    Processed,
    Cancelled,
}

/// Where a task's page lives; built from the configured public base URL.
pub struct Links<'a> {
    pub base: &'a str,
    pub organization: &'a str,
    pub project: &'a str,
}

#[derive(Object, Serialize, Clone, Debug)]
pub struct Task {
    #[oai(read_only)]
    pub id: String,
    #[oai(read_only)]
    pub organization: String,
    #[oai(read_only)]
    pub project: String,
    #[oai(validator(max_length = 255))]
    pub name: String,
    pub status: StatusEnum,
    #[oai(nullable, validator(minimum(value = "0")))]
    pub value: Option<i64>,
    #[oai(validator(minimum(value = "0")))]
    pub value_max: i64,
    #[oai(nullable, read_only)]
    pub value_percent: Option<i64>,
    #[oai(nullable)]
    pub data: Option<Value>,
    #[oai(
        nullable,
        validator(minimum(value = "1"), maximum(value = "2147483647"))
    )]
    pub max_runtime: Option<i32>,
    #[oai(
        nullable,
        validator(minimum(value = "1"), maximum(value = "2147483647"))
    )]
    pub stale_timeout: Option<i32>,
    #[oai(nullable)]
    pub start_time: Option<DateTime<Utc>>,
    #[oai(nullable)]
    pub end_time: Option<DateTime<Utc>>,
    #[oai(nullable)]
    pub time_to_start: Option<String>,
    #[oai(read_only)]
    pub created: DateTime<Utc>,
    #[oai(read_only)]
    pub updated: DateTime<Utc>,
    #[oai(read_only)]
    pub url: String,
    #[oai(read_only)]
    pub public_url: String,
    pub tags: BTreeMap<String, String>,
    #[oai(nullable, validator(max_length = 255))]
    pub queue: Option<String>,
    #[oai(nullable, validator(max_length = 255))]
    pub external_id: Option<String>,
    #[oai(nullable)]
    pub parent: Option<String>,
}

impl Task {
    pub fn from_row(row: task::Model, links: &Links<'_>) -> Self {
        let status = Status::parse(&row.status).unwrap_or(Status::Pending);
        let time_to_start = time_to_start(&row).map(format_duration);
        let tags = serde_json::from_value(row.tags).unwrap_or_default();
        let base = links.base.trim_end_matches('/');
        Task {
            url: format!("{base}/a/{}/tasks/{}/", links.organization, row.id),
            public_url: format!("{base}/public/tasks/{}/", row.id),
            organization: links.organization.to_owned(),
            project: links.project.to_owned(),
            value_percent: value_percent(row.value, row.value_max),
            name: row.name,
            status: status.into(),
            value: row.value,
            value_max: row.value_max,
            data: row.data,
            max_runtime: row.max_runtime,
            stale_timeout: row.stale_timeout,
            start_time: row.start_time,
            end_time: row.end_time,
            time_to_start,
            created: row.created,
            updated: row.updated,
            tags,
            queue: row.queue,
            external_id: row.external_id,
            parent: row.parent_id,
            id: row.id,
        }
    }
}

#[derive(Object, Serialize, Clone, Debug)]
pub struct PaginatedTaskList {
    #[oai(nullable)]
    pub next: Option<String>,
    #[oai(nullable)]
    pub previous: Option<String>,
    pub results: Vec<Task>,
}

#[derive(Object, Serialize, Clone, Debug)]
pub struct Action {
    #[oai(read_only)]
    pub id: i64,
    #[oai(read_only)]
    pub task: String,
    #[oai(validator(max_length = 255))]
    pub trigger: String,
    #[oai(validator(max_length = 50))]
    pub integration: String,
    pub status: ActionStatusEnum,
    pub config: Value,
    #[oai(read_only)]
    pub created: DateTime<Utc>,
    #[oai(read_only)]
    pub updated: DateTime<Utc>,
}

impl From<action::Model> for Action {
    fn from(row: action::Model) -> Self {
        Action {
            id: row.id,
            task: row.task_id,
            trigger: row.trigger,
            integration: row.integration,
            status: match row.status.as_str() {
                "processed" => ActionStatusEnum::Processed,
                "cancelled" => ActionStatusEnum::Cancelled,
                _ => ActionStatusEnum::Active,
            },
            config: row.config,
            created: row.created,
            updated: row.updated,
        }
    }
}

/// Schema of create and PUT bodies.
#[derive(Object, Clone, Debug)]
pub struct TaskRequest {
    #[oai(validator(min_length = 1, max_length = 255))]
    pub name: String,
    pub status: Option<StatusEnum>,
    #[oai(nullable, validator(minimum(value = "0")))]
    pub value: Option<i64>,
    #[oai(validator(minimum(value = "0")))]
    pub value_max: Option<i64>,
    #[oai(nullable)]
    pub data: Option<Value>,
    #[oai(
        nullable,
        validator(minimum(value = "1"), maximum(value = "2147483647"))
    )]
    pub max_runtime: Option<i32>,
    #[oai(
        nullable,
        validator(minimum(value = "1"), maximum(value = "2147483647"))
    )]
    pub stale_timeout: Option<i32>,
    #[oai(nullable)]
    pub start_time: Option<DateTime<Utc>>,
    #[oai(nullable)]
    pub end_time: Option<DateTime<Utc>>,
    #[oai(nullable)]
    pub time_to_start: Option<String>,
    pub tags: Option<BTreeMap<String, String>>,
    #[oai(nullable, validator(max_length = 255))]
    pub queue: Option<String>,
    #[oai(nullable, validator(max_length = 255))]
    pub external_id: Option<String>,
    #[oai(nullable)]
    pub parent: Option<String>,
    #[oai(write_only)]
    pub actions: Option<Vec<ActionRequest>>,
}

/// Schema of PATCH bodies: every field optional, none defaulted.
#[derive(Object, Clone, Debug)]
pub struct PatchedTaskRequest {
    #[oai(validator(min_length = 1, max_length = 255))]
    pub name: Option<String>,
    pub status: Option<StatusEnum>,
    #[oai(nullable, validator(minimum(value = "0")))]
    pub value: Option<i64>,
    #[oai(validator(minimum(value = "0")))]
    pub value_max: Option<i64>,
    #[oai(nullable)]
    pub data: Option<Value>,
    #[oai(
        nullable,
        validator(minimum(value = "1"), maximum(value = "2147483647"))
    )]
    pub max_runtime: Option<i32>,
    #[oai(
        nullable,
        validator(minimum(value = "1"), maximum(value = "2147483647"))
    )]
    pub stale_timeout: Option<i32>,
    #[oai(nullable)]
    pub start_time: Option<DateTime<Utc>>,
    #[oai(nullable)]
    pub end_time: Option<DateTime<Utc>>,
    #[oai(nullable)]
    pub time_to_start: Option<String>,
    pub tags: Option<BTreeMap<String, String>>,
    #[oai(nullable, validator(max_length = 255))]
    pub queue: Option<String>,
    #[oai(nullable, validator(max_length = 255))]
    pub external_id: Option<String>,
    #[oai(nullable)]
    pub parent: Option<String>,
    #[oai(write_only)]
    pub actions: Option<Vec<ActionRequest>>,
}

#[derive(Object, Clone, Debug)]
pub struct ActionRequest {
    #[oai(validator(min_length = 1, max_length = 255))]
    pub trigger: String,
    #[oai(validator(min_length = 1, max_length = 50))]
    pub integration: String,
    pub config: Option<Value>,
}

#[derive(Object, Clone, Debug)]
pub struct PatchedActionRequest {
    #[oai(validator(min_length = 1, max_length = 255))]
    pub trigger: Option<String>,
    #[oai(validator(min_length = 1, max_length = 50))]
    pub integration: Option<String>,
    pub config: Option<Value>,
}
