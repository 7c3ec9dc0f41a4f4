use sea_orm::entity::prelude::*;

/// A task row. `tags` is a denormalised copy of the task's `task_tag` rows (so reads need no
/// join); `task_tag` exists to make tag filters index-served.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "task")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub project_id: i64,
    pub name: String,
    pub status: String,
    pub value: Option<i64>,
    pub value_max: i64,
    pub data: Option<Json>,
    pub max_runtime: Option<i32>,
    pub stale_timeout: Option<i32>,
    pub start_time: Option<DateTimeUtc>,
    pub end_time: Option<DateTimeUtc>,
    /// Microseconds.
    pub time_to_start: Option<i64>,
    pub tags: Json,
    pub queue: Option<String>,
    pub external_id: Option<String>,
    pub parent_id: Option<String>,
    pub monitor_id: Option<String>,
    pub created: DateTimeUtc,
    pub updated: DateTimeUtc,
    /// The value, value_max and status before the latest in-place update (set by that
    /// update itself, so the alerting engine sees before and after without a read).
    pub prior_value: Option<i64>,
    pub prior_value_max: Option<i64>,
    pub prior_status: Option<String>,
    /// The task's active actions with their evaluation marks (see `alerting::state`); null
    /// when it has none, so tasks without actions cost nothing to evaluate.
    pub alerts: Option<Json>,
    /// When the task goes stale (Unix ms): `updated + stale_timeout` while it is neither
    /// terminal nor stale.
    pub stale_due: Option<i64>,
    /// `start_time` in Unix ms, for the due-time arithmetic done in SQL.
    pub start_ms: Option<i64>,
    /// When `max_runtime_exceeded` fires (Unix ms), while running and not yet fired.
    pub runtime_due: Option<i64>,
    pub runtime_fired: bool,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
