//! The wire types of the API, as poem-openapi objects. Their schemas mirror the components of
//! the canonical openapi.yaml. Request schemas are registered for the document; request bodies
//! themselves are read by the domain (`domain::input`) so that every error names its field.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use poem_openapi::{Enum, Object};
use serde::Serialize;
use serde_json::Value;

use crate::domain::monitors::shown_state;
use crate::domain::tasks::{Status, format_duration, time_to_start, value_percent};
use crate::storage::entities::{
    action, delivery, delivery_attempt, monitor, project_action, task, webhook,
};

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
    #[oai(nullable, read_only)]
    pub monitor: Option<String>,
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
            monitor: row.monitor_id,
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

/// A project-wide action.
#[derive(Object, Serialize, Clone, Debug)]
pub struct ProjectAction {
    #[oai(read_only)]
    pub id: i64,
    #[oai(validator(max_length = 255))]
    pub name: String,
    #[oai(validator(max_length = 1000))]
    pub name_filter: String,
    #[oai(validator(max_length = 255))]
    pub trigger: String,
    #[oai(validator(max_length = 50))]
    pub integration: String,
    pub config: Value,
    pub enabled: bool,
    #[oai(read_only)]
    pub created: DateTime<Utc>,
    #[oai(read_only)]
    pub updated: DateTime<Utc>,
}

impl From<project_action::Model> for ProjectAction {
    fn from(row: project_action::Model) -> Self {
        ProjectAction {
            id: row.id,
            name: row.name,
            name_filter: row.name_filter,
            trigger: row.trigger,
            integration: row.integration,
            config: row.config,
            enabled: row.enabled,
            created: row.created,
            updated: row.updated,
        }
    }
}

#[derive(Object, Clone, Debug)]
pub struct ProjectActionRequest {
    #[oai(validator(min_length = 1, max_length = 255))]
    pub name: String,
    #[oai(validator(max_length = 1000))]
    pub name_filter: Option<String>,
    #[oai(validator(min_length = 1, max_length = 255))]
    pub trigger: String,
    #[oai(validator(min_length = 1, max_length = 50))]
    pub integration: String,
    pub config: Option<Value>,
    pub enabled: Option<bool>,
}

#[derive(Object, Clone, Debug)]
pub struct PatchedProjectActionRequest {
    #[oai(validator(min_length = 1, max_length = 255))]
    pub name: Option<String>,
    #[oai(validator(max_length = 1000))]
    pub name_filter: Option<String>,
    #[oai(validator(min_length = 1, max_length = 255))]
    pub trigger: Option<String>,
    #[oai(validator(min_length = 1, max_length = 50))]
    pub integration: Option<String>,
    pub config: Option<Value>,
    pub enabled: Option<bool>,
}

#[derive(Object, Serialize, Clone, Debug)]
pub struct Webhook {
    #[oai(validator(max_length = 50))]
    pub slug: String,
    #[oai(validator(max_length = 2048))]
    pub url: String,
    #[oai(validator(max_length = 1000))]
    pub description: String,
    pub enabled: bool,
    #[oai(read_only)]
    pub created: DateTime<Utc>,
    #[oai(read_only)]
    pub updated: DateTime<Utc>,
}

impl From<webhook::Model> for Webhook {
    fn from(row: webhook::Model) -> Self {
        Webhook {
            slug: row.slug,
            url: row.url,
            description: row.description,
            enabled: row.enabled,
            created: row.created,
            updated: row.updated,
        }
    }
}

/// A created web hook: the endpoint and its signing secret, shown only here.
#[derive(Object, Serialize, Clone, Debug)]
pub struct WebhookWithSecret {
    #[oai(validator(max_length = 50))]
    pub slug: String,
    #[oai(validator(max_length = 2048))]
    pub url: String,
    #[oai(validator(max_length = 1000))]
    pub description: String,
    pub enabled: bool,
    #[oai(read_only)]
    pub created: DateTime<Utc>,
    #[oai(read_only)]
    pub updated: DateTime<Utc>,
    #[oai(read_only)]
    pub secret: String,
}

impl From<webhook::Model> for WebhookWithSecret {
    fn from(row: webhook::Model) -> Self {
        WebhookWithSecret {
            secret: row.secret.clone(),
            slug: row.slug,
            url: row.url,
            description: row.description,
            enabled: row.enabled,
            created: row.created,
            updated: row.updated,
        }
    }
}

#[derive(Object, Serialize, Clone, Debug)]
pub struct WebhookSecret {
    pub secret: String,
}

#[derive(Object, Clone, Debug)]
pub struct WebhookRequest {
    #[oai(validator(min_length = 1, max_length = 50))]
    pub slug: String,
    #[oai(validator(min_length = 1, max_length = 2048))]
    pub url: String,
    #[oai(validator(max_length = 1000))]
    pub description: Option<String>,
    pub enabled: Option<bool>,
}

#[derive(Object, Clone, Debug)]
pub struct PatchedWebhookRequest {
    #[oai(validator(min_length = 1, max_length = 2048))]
    pub url: Option<String>,
    #[oai(validator(max_length = 1000))]
    pub description: Option<String>,
    pub enabled: Option<bool>,
}

#[derive(Enum, Serialize, Clone, Copy, Debug, PartialEq, Eq)]
#[oai(rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatusEnum {
    Pending,
    Delivered,
    Failed,
}

impl DeliveryStatusEnum {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatusEnum::Pending => "pending",
            DeliveryStatusEnum::Delivered => "delivered",
            DeliveryStatusEnum::Failed => "failed",
        }
    }

    fn parse(s: &str) -> Self {
        match s {
            "delivered" => DeliveryStatusEnum::Delivered,
            "failed" => DeliveryStatusEnum::Failed,
            _ => DeliveryStatusEnum::Pending,
        }
    }
}

#[derive(Object, Serialize, Clone, Debug)]
pub struct Delivery {
    pub id: String,
    pub event_id: String,
    #[oai(nullable)]
    pub task: Option<String>,
    #[oai(nullable)]
    pub action: Option<i64>,
    #[oai(nullable)]
    pub project_action: Option<i64>,
    #[oai(nullable)]
    pub monitor: Option<String>,
    pub trigger: String,
    pub integration: String,
    pub status: DeliveryStatusEnum,
    pub attempt_count: i32,
    #[oai(nullable)]
    pub next_attempt_at: Option<DateTime<Utc>>,
    #[oai(nullable)]
    pub last_error: Option<String>,
    pub created: DateTime<Utc>,
    pub updated: DateTime<Utc>,
}

impl From<delivery::Model> for Delivery {
    fn from(row: delivery::Model) -> Self {
        let status = DeliveryStatusEnum::parse(&row.status);
        Delivery {
            next_attempt_at: (status == DeliveryStatusEnum::Pending)
                .then(|| DateTime::from_timestamp_millis(row.next_attempt_ms))
                .flatten(),
            id: row.id,
            event_id: row.event_id,
            task: (!row.task_id.is_empty()).then_some(row.task_id),
            action: row.action_id,
            project_action: row.project_action_id,
            monitor: row.monitor_id,
            trigger: row.trigger,
            integration: row.integration,
            status,
            attempt_count: row.attempt_count,
            last_error: row.last_error,
            created: row.created,
            updated: row.updated,
        }
    }
}

#[derive(Object, Serialize, Clone, Debug)]
pub struct DeliveryAttempt {
    pub at: DateTime<Utc>,
    #[oai(nullable)]
    pub status_code: Option<i32>,
    #[oai(nullable)]
    pub error: Option<String>,
    pub duration_ms: i64,
}

/// A delivery with every attempt, oldest first.
#[derive(Object, Serialize, Clone, Debug)]
pub struct DeliveryDetail {
    pub id: String,
    pub event_id: String,
    #[oai(nullable)]
    pub task: Option<String>,
    #[oai(nullable)]
    pub action: Option<i64>,
    #[oai(nullable)]
    pub project_action: Option<i64>,
    #[oai(nullable)]
    pub monitor: Option<String>,
    pub trigger: String,
    pub integration: String,
    pub status: DeliveryStatusEnum,
    pub attempt_count: i32,
    #[oai(nullable)]
    pub next_attempt_at: Option<DateTime<Utc>>,
    #[oai(nullable)]
    pub last_error: Option<String>,
    pub created: DateTime<Utc>,
    pub updated: DateTime<Utc>,
    pub attempts: Vec<DeliveryAttempt>,
}

impl DeliveryDetail {
    pub fn new(row: delivery::Model, attempts: Vec<delivery_attempt::Model>) -> Self {
        let d = Delivery::from(row);
        DeliveryDetail {
            id: d.id,
            event_id: d.event_id,
            task: d.task,
            action: d.action,
            project_action: d.project_action,
            monitor: d.monitor,
            trigger: d.trigger,
            integration: d.integration,
            status: d.status,
            attempt_count: d.attempt_count,
            next_attempt_at: d.next_attempt_at,
            last_error: d.last_error,
            created: d.created,
            updated: d.updated,
            attempts: attempts
                .into_iter()
                .map(|a| DeliveryAttempt {
                    at: a.at,
                    status_code: a.status_code,
                    error: a.error,
                    duration_ms: a.duration_ms,
                })
                .collect(),
        }
    }
}

#[derive(Object, Serialize, Clone, Debug)]
pub struct PaginatedDeliveryList {
    #[oai(nullable)]
    pub next: Option<String>,
    #[oai(nullable)]
    pub previous: Option<String>,
    pub results: Vec<Delivery>,
}

#[derive(Enum, Serialize, Clone, Copy, Debug, PartialEq, Eq)]
#[oai(rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum MonitorKindEnum {
    Interval,
    Cron,
}

#[derive(Enum, Serialize, Clone, Copy, Debug, PartialEq, Eq)]
#[oai(rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum MonitorStateEnum {
    New,
    Up,
    Late,
    Down,
    Paused,
}

/// A monitor of a scheduled job.
#[derive(Object, Serialize, Clone, Debug)]
pub struct Monitor {
    #[oai(read_only)]
    pub id: String,
    #[oai(validator(max_length = 255))]
    pub name: String,
    pub kind: MonitorKindEnum,
    #[oai(nullable)]
    pub interval: Option<i64>,
    #[oai(nullable, validator(max_length = 255))]
    pub schedule: Option<String>,
    #[oai(validator(max_length = 64))]
    pub timezone: String,
    pub grace: i64,
    #[oai(nullable)]
    pub max_runtime: Option<i64>,
    #[oai(nullable, validator(max_length = 60))]
    pub alert_integration: Option<String>,
    pub alert_config: Value,
    pub enabled: bool,
    pub state: MonitorStateEnum,
    #[oai(nullable, read_only)]
    pub last_task: Option<String>,
    #[oai(nullable, read_only)]
    pub last_run_at: Option<DateTime<Utc>>,
    #[oai(nullable, read_only)]
    pub next_expected_at: Option<DateTime<Utc>>,
    #[oai(read_only)]
    pub created: DateTime<Utc>,
    #[oai(read_only)]
    pub updated: DateTime<Utc>,
}

impl From<monitor::Model> for Monitor {
    fn from(row: monitor::Model) -> Self {
        let state = match shown_state(&row) {
            "paused" => MonitorStateEnum::Paused,
            "up" => MonitorStateEnum::Up,
            "late" => MonitorStateEnum::Late,
            "down" => MonitorStateEnum::Down,
            _ => MonitorStateEnum::New,
        };
        Monitor {
            kind: if row.kind == "cron" {
                MonitorKindEnum::Cron
            } else {
                MonitorKindEnum::Interval
            },
            state,
            id: row.id,
            name: row.name,
            interval: row.interval_secs,
            schedule: row.schedule,
            timezone: row.timezone,
            grace: row.grace,
            max_runtime: row.max_runtime,
            alert_integration: row.alert_integration,
            alert_config: row.alert_config,
            enabled: row.enabled,
            last_task: row.last_task,
            last_run_at: row.last_run_at,
            next_expected_at: row.next_expected_at,
            created: row.created,
            updated: row.updated,
        }
    }
}

#[derive(Object, Clone, Debug)]
pub struct MonitorRequest {
    #[oai(validator(min_length = 1, max_length = 255))]
    pub name: String,
    pub kind: MonitorKindEnum,
    #[oai(nullable)]
    pub interval: Option<i64>,
    #[oai(nullable, validator(min_length = 1, max_length = 255))]
    pub schedule: Option<String>,
    #[oai(validator(min_length = 1, max_length = 64))]
    pub timezone: Option<String>,
    pub grace: Option<i64>,
    #[oai(nullable)]
    pub max_runtime: Option<i64>,
    #[oai(nullable, validator(min_length = 1, max_length = 60))]
    pub alert_integration: Option<String>,
    #[oai(nullable)]
    pub alert_config: Option<Value>,
    pub enabled: Option<bool>,
}

#[derive(Object, Clone, Debug)]
pub struct PatchedMonitorRequest {
    #[oai(validator(min_length = 1, max_length = 255))]
    pub name: Option<String>,
    pub kind: Option<MonitorKindEnum>,
    #[oai(nullable)]
    pub interval: Option<i64>,
    #[oai(nullable, validator(min_length = 1, max_length = 255))]
    pub schedule: Option<String>,
    #[oai(validator(min_length = 1, max_length = 64))]
    pub timezone: Option<String>,
    pub grace: Option<i64>,
    #[oai(nullable)]
    pub max_runtime: Option<i64>,
    #[oai(nullable, validator(min_length = 1, max_length = 60))]
    pub alert_integration: Option<String>,
    #[oai(nullable)]
    pub alert_config: Option<Value>,
    pub enabled: Option<bool>,
}
