use sea_orm::entity::prelude::*;

/// A task row. `tags` is a denormalised copy of the task's `task_tag` rows (so reads need no
/// join); `task_tag` exists to make tag filters index-served.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
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
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
