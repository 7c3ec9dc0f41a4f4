//! Project-wide action queries, and the per-task marks of their fired points.

use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter,
    QueryOrder, QuerySelect, Set,
};

use super::entities::{project_action, project_action_mark};
use super::{StorageResult, Store, WriteTxn};

impl Store {
    pub async fn list_project_actions(
        &self,
        project_id: i64,
    ) -> StorageResult<Vec<project_action::Model>> {
        Ok(project_action::Entity::find()
            .filter(project_action::Column::ProjectId.eq(project_id))
            .order_by_asc(project_action::Column::Id)
            .all(self.conn())
            .await?)
    }

    pub async fn get_project_action(
        &self,
        project_id: i64,
        id: i64,
    ) -> StorageResult<Option<project_action::Model>> {
        Ok(project_action::Entity::find_by_id(id)
            .filter(project_action::Column::ProjectId.eq(project_id))
            .one(self.conn())
            .await?)
    }

    pub async fn insert_project_action(
        &self,
        model: project_action::ActiveModel,
    ) -> StorageResult<project_action::Model> {
        let w = self.begin_write().await?;
        let row = model.insert(&w.txn).await?;
        w.commit().await?;
        Ok(row)
    }

    pub async fn update_project_action(
        &self,
        model: project_action::Model,
    ) -> StorageResult<project_action::Model> {
        let w = self.begin_write().await?;
        project_action::Entity::update(model.clone().into_active_model().reset_all())
            .exec(&w.txn)
            .await?;
        w.commit().await?;
        Ok(model)
    }

    /// Re-reads which projects have enabled project-wide actions (at start, after a local
    /// change, and on a short poll for other processes' changes).
    pub async fn refresh_watched_projects(&self) -> StorageResult<()> {
        let rows = project_action::Entity::find()
            .select_only()
            .column(project_action::Column::ProjectId)
            .filter(project_action::Column::Enabled.eq(true))
            .distinct()
            .into_tuple::<i64>()
            .all(self.conn())
            .await?;
        self.set_watched_projects(rows.into_iter().collect());
        Ok(())
    }

    /// Deletes a project-wide action and its marks.
    pub async fn delete_project_action(&self, id: i64) -> StorageResult<()> {
        let w: WriteTxn<'_> = self.begin_write().await?;
        project_action_mark::Entity::delete_many()
            .filter(project_action_mark::Column::ActionId.eq(id))
            .exec(&w.txn)
            .await?;
        project_action::Entity::delete_by_id(id)
            .exec(&w.txn)
            .await?;
        w.commit().await
    }
}

/// The enabled project-wide actions of a project, read inside the caller's transaction (so a
/// disabled one stops at once).
pub async fn enabled_project_actions(
    conn: &impl ConnectionTrait,
    project_id: i64,
) -> StorageResult<Vec<project_action::Model>> {
    Ok(project_action::Entity::find()
        .filter(project_action::Column::ProjectId.eq(project_id))
        .filter(project_action::Column::Enabled.eq(true))
        .order_by_asc(project_action::Column::Id)
        .all(conn)
        .await?)
}

/// The marks of `actions` on one task.
pub async fn project_action_marks(
    conn: &impl ConnectionTrait,
    task_id: &str,
    actions: &[i64],
) -> StorageResult<Vec<project_action_mark::Model>> {
    if actions.is_empty() {
        return Ok(Vec::new());
    }
    Ok(project_action_mark::Entity::find()
        .filter(project_action_mark::Column::TaskId.eq(task_id))
        .filter(project_action_mark::Column::ActionId.is_in(actions.iter().copied()))
        .all(conn)
        .await?)
}

/// Writes the marks of one (action, task).
pub async fn set_project_action_mark(
    conn: &impl ConnectionTrait,
    mark: project_action_mark::Model,
) -> StorageResult<()> {
    let row = project_action_mark::ActiveModel {
        action_id: Set(mark.action_id),
        task_id: Set(mark.task_id),
        value: Set(mark.value),
        percent: Set(mark.percent),
    };
    project_action_mark::Entity::insert(row)
        .on_conflict(
            OnConflict::columns([
                project_action_mark::Column::ActionId,
                project_action_mark::Column::TaskId,
            ])
            .update_columns([
                project_action_mark::Column::Value,
                project_action_mark::Column::Percent,
            ])
            .to_owned(),
        )
        .exec(conn)
        .await?;
    Ok(())
}
