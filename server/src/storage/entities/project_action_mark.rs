use sea_orm::entity::prelude::*;

/// The highest value and percent points a project-wide action has passed on one task.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "project_action_mark")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub action_id: i64,
    #[sea_orm(primary_key, auto_increment = false)]
    pub task_id: String,
    pub value: Option<i64>,
    pub percent: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
