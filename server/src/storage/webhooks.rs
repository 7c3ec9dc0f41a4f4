//! Web hook endpoint queries.

use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder,
};

use super::entities::webhook;
use super::{StorageResult, Store};

impl Store {
    pub async fn list_webhooks(&self, project_id: i64) -> StorageResult<Vec<webhook::Model>> {
        Ok(webhook::Entity::find()
            .filter(webhook::Column::ProjectId.eq(project_id))
            .order_by_asc(webhook::Column::Slug)
            .all(self.conn())
            .await?)
    }

    pub async fn get_webhook(
        &self,
        project_id: i64,
        slug: &str,
    ) -> StorageResult<Option<webhook::Model>> {
        Ok(webhook::Entity::find()
            .filter(webhook::Column::ProjectId.eq(project_id))
            .filter(webhook::Column::Slug.eq(slug))
            .one(self.conn())
            .await?)
    }

    /// Inserts a web hook; a duplicate slug is `StorageError::Conflict`.
    pub async fn insert_webhook(
        &self,
        model: webhook::ActiveModel,
    ) -> StorageResult<webhook::Model> {
        let w = self.begin_write().await?;
        let row = model.insert(&w.txn).await?;
        w.commit().await?;
        Ok(row)
    }

    pub async fn update_webhook(&self, model: webhook::Model) -> StorageResult<webhook::Model> {
        let w = self.begin_write().await?;
        webhook::Entity::update(model.clone().into_active_model().reset_all())
            .exec(&w.txn)
            .await?;
        w.commit().await?;
        Ok(model)
    }

    pub async fn delete_webhook(&self, id: i64) -> StorageResult<()> {
        let w = self.begin_write().await?;
        webhook::Entity::delete_by_id(id).exec(&w.txn).await?;
        w.commit().await
    }
}
