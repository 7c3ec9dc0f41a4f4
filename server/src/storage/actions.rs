//! Action queries.

use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder,
};

use super::entities::action;
use super::{StorageResult, Store, WriteTxn};

impl Store {
    pub async fn list_actions(&self, task_id: &str) -> StorageResult<Vec<action::Model>> {
        Ok(action::Entity::find()
            .filter(action::Column::TaskId.eq(task_id))
            .order_by_asc(action::Column::Id)
            .all(self.conn())
            .await?)
    }

    pub async fn get_action(&self, task_id: &str, id: i64) -> StorageResult<Option<action::Model>> {
        Ok(action::Entity::find_by_id(id)
            .filter(action::Column::TaskId.eq(task_id))
            .one(self.conn())
            .await?)
    }

    pub async fn insert_action(
        &self,
        w: &WriteTxn<'_>,
        model: action::ActiveModel,
    ) -> StorageResult<action::Model> {
        Ok(model.insert(&w.txn).await?)
    }

    pub async fn get_action_in(
        &self,
        w: &WriteTxn<'_>,
        task_id: &str,
        id: i64,
    ) -> StorageResult<Option<action::Model>> {
        Ok(action::Entity::find_by_id(id)
            .filter(action::Column::TaskId.eq(task_id))
            .one(&w.txn)
            .await?)
    }

    pub async fn update_action(
        &self,
        w: &WriteTxn<'_>,
        model: action::Model,
    ) -> StorageResult<action::Model> {
        action::Entity::update(model.clone().into_active_model().reset_all())
            .exec(&w.txn)
            .await?;
        Ok(model)
    }
}
