//! Organizations, projects and their keys.

use chrono::Utc;
use sea_orm::prelude::DateTimeUtc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, JoinType, QueryFilter, QueryOrder, QuerySelect, Set,
};

use super::entities::{api_key, organization, project};
use super::{StorageResult, Store};

/// A key found by its secret's hash, with the slugs of its project.
#[derive(Clone, Debug)]
pub struct KeyOwner {
    pub key_id: i64,
    pub secret_hash: String,
    pub project_id: i64,
    pub organization: String,
    pub project: String,
}

/// One row of `admin list-keys`.
#[derive(Clone, Debug)]
pub struct KeyListing {
    pub id: i64,
    pub prefix: String,
    pub created: DateTimeUtc,
    pub revoked: Option<DateTimeUtc>,
    pub organization: String,
    pub project: String,
}

impl Store {
    /// The active key whose secret hashes to `hash`, if any, with its project's slugs (one
    /// query: this runs on every request).
    pub async fn find_key(&self, hash: &str) -> StorageResult<Option<KeyOwner>> {
        let row: Option<(i64, String, i64, String, String)> = api_key::Entity::find()
            .join(JoinType::InnerJoin, api_key_project())
            .join(JoinType::InnerJoin, project_organization())
            .select_only()
            .column(api_key::Column::Id)
            .column(api_key::Column::SecretHash)
            .column(api_key::Column::ProjectId)
            .column(organization::Column::Slug)
            .column_as(project::Column::Slug, "project_slug")
            .filter(api_key::Column::SecretHash.eq(hash))
            .filter(api_key::Column::Revoked.is_null())
            .into_tuple()
            .one(self.conn())
            .await?;
        Ok(row.map(
            |(key_id, secret_hash, project_id, organization, project)| KeyOwner {
                key_id,
                secret_hash,
                project_id,
                organization,
                project,
            },
        ))
    }

    /// Finds or creates the organization and project with these slugs; returns the project id.
    pub async fn ensure_project(&self, org_slug: &str, project_slug: &str) -> StorageResult<i64> {
        let w = self.begin_write().await?;
        let now = Utc::now();
        let org = match organization::Entity::find()
            .filter(organization::Column::Slug.eq(org_slug))
            .one(&w.txn)
            .await?
        {
            Some(org) => org,
            None => {
                organization::ActiveModel {
                    slug: Set(org_slug.to_owned()),
                    created: Set(now),
                    ..Default::default()
                }
                .insert(&w.txn)
                .await?
            }
        };
        let project = match project::Entity::find()
            .filter(project::Column::OrganizationId.eq(org.id))
            .filter(project::Column::Slug.eq(project_slug))
            .one(&w.txn)
            .await?
        {
            Some(project) => project,
            None => {
                project::ActiveModel {
                    organization_id: Set(org.id),
                    slug: Set(project_slug.to_owned()),
                    created: Set(now),
                    ..Default::default()
                }
                .insert(&w.txn)
                .await?
            }
        };
        w.commit().await?;
        Ok(project.id)
    }

    pub async fn insert_key(
        &self,
        project_id: i64,
        secret_hash: String,
        prefix: String,
    ) -> StorageResult<api_key::Model> {
        let w = self.begin_write().await?;
        let key = api_key::ActiveModel {
            project_id: Set(project_id),
            secret_hash: Set(secret_hash),
            prefix: Set(prefix),
            created: Set(Utc::now()),
            revoked: Set(None),
            ..Default::default()
        }
        .insert(&w.txn)
        .await?;
        w.commit().await?;
        Ok(key)
    }

    pub async fn list_keys(&self) -> StorageResult<Vec<KeyListing>> {
        let rows: Vec<(
            i64,
            String,
            DateTimeUtc,
            Option<DateTimeUtc>,
            String,
            String,
        )> = api_key::Entity::find()
            .join(JoinType::InnerJoin, api_key_project())
            .join(JoinType::InnerJoin, project_organization())
            .select_only()
            .column(api_key::Column::Id)
            .column(api_key::Column::Prefix)
            .column(api_key::Column::Created)
            .column(api_key::Column::Revoked)
            .column(organization::Column::Slug)
            .column_as(project::Column::Slug, "project_slug")
            .order_by_asc(api_key::Column::Id)
            .into_tuple()
            .all(self.conn())
            .await?;
        Ok(rows
            .into_iter()
            .map(
                |(id, prefix, created, revoked, organization, project)| KeyListing {
                    id,
                    prefix,
                    created,
                    revoked,
                    organization,
                    project,
                },
            )
            .collect())
    }

    /// What changes whenever a key is revoked (or deleted): the number of revoked keys and
    /// the latest revocation, with the number of keys. One small aggregate, polled by every
    /// server process to drop its key cache (see `domain::auth::KeyCache::watch`).
    pub async fn revocation_mark(&self) -> StorageResult<(i64, i64, Option<DateTimeUtc>)> {
        let mark: Option<(i64, i64, Option<DateTimeUtc>)> = api_key::Entity::find()
            .select_only()
            .column_as(api_key::Column::Id.count(), "keys")
            .column_as(api_key::Column::Revoked.count(), "revoked")
            .column_as(api_key::Column::Revoked.max(), "latest")
            .into_tuple()
            .one(self.conn())
            .await?;
        Ok(mark.unwrap_or((0, 0, None)))
    }

    /// Marks a key revoked; returns whether an active key with this id existed.
    pub async fn revoke_key(&self, key_id: i64) -> StorageResult<bool> {
        let w = self.begin_write().await?;
        let result = api_key::Entity::update_many()
            .col_expr(
                api_key::Column::Revoked,
                sea_orm::sea_query::Expr::value(Utc::now()),
            )
            .filter(api_key::Column::Id.eq(key_id))
            .filter(api_key::Column::Revoked.is_null())
            .exec(&w.txn)
            .await?;
        w.commit().await?;
        Ok(result.rows_affected == 1)
    }

    /// Whether any key was ever created (the first start creates a default one).
    pub async fn has_any_key(&self) -> StorageResult<bool> {
        Ok(api_key::Entity::find().one(self.conn()).await?.is_some())
    }
}

fn api_key_project() -> sea_orm::RelationDef {
    api_key::Entity::belongs_to(project::Entity)
        .from(api_key::Column::ProjectId)
        .to(project::Column::Id)
        .into()
}

fn project_organization() -> sea_orm::RelationDef {
    project::Entity::belongs_to(organization::Entity)
        .from(project::Column::OrganizationId)
        .to(organization::Column::Id)
        .into()
}
