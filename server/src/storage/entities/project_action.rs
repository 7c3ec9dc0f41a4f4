use sea_orm::entity::prelude::*;

/// A project-wide action: applies to every task of its project whose name matches
/// `name_filter` (a regular expression; empty matches all), beside the tasks' own actions.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "project_action")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub project_id: i64,
    pub name: String,
    pub name_filter: String,
    pub trigger: String,
    pub integration: String,
    pub config: Json,
    pub enabled: bool,
    pub created: DateTimeUtc,
    pub updated: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
