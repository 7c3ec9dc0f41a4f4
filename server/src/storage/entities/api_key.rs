use sea_orm::entity::prelude::*;

/// A project key. Only the SHA-256 of the secret is stored; `prefix` (the first characters of
/// the secret) lets an operator recognise a key in listings without revealing it.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "api_key")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub project_id: i64,
    #[sea_orm(unique)]
    pub secret_hash: String,
    pub prefix: String,
    pub created: DateTimeUtc,
    pub revoked: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
