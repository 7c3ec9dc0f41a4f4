use sea_orm::entity::prelude::*;

/// A monitored run whose outcome is not yet known: the task a check-in linked, and when the
/// monitor's `max_runtime` runs out (Unix ms). The monitor sweep concludes it and deletes it.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "monitor_run")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub task_id: String,
    pub monitor_id: String,
    pub deadline_ms: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
