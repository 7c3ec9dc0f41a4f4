//! Monitor queries: the CRUD of the API, the row lock that check-ins, edits and the sweep
//! take, the due-time query, and the monitored runs awaiting their outcome.
//!
//! Replica safety: a due monitor is changed under its row lock (`lock_monitor`) only if it
//! still has the revision the due query saw, and every write raises the revision
//! (`save_monitor`), so of several sweeping replicas exactly one makes each transition; a run
//! is concluded by whoever deletes its `monitor_run` row (`take_monitor_run`), once.

use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter,
    QueryOrder, QuerySelect, Set, Statement, Value,
};

use super::entities::{monitor, monitor_run, task};
use super::{StorageResult, Store, WriteTxn};

/// The statuses that end a monitored run.
pub const RUN_ENDING_STATUSES: [&str; 4] = ["success", "error", "stale", "cancelled"];

/// A monitored run ready to be concluded: its task ended, was deleted, or outlived the
/// monitor's `max_runtime`.
#[derive(Clone, Debug)]
pub struct EndedRun {
    pub task_id: String,
    pub monitor_id: String,
    pub deadline_ms: Option<i64>,
    /// The task as it is now; `None` when it was deleted.
    pub task: Option<task::Model>,
}

impl Store {
    pub async fn list_monitors(&self, project_id: i64) -> StorageResult<Vec<monitor::Model>> {
        Ok(monitor::Entity::find()
            .filter(monitor::Column::ProjectId.eq(project_id))
            .order_by_asc(monitor::Column::Created)
            .order_by_asc(monitor::Column::Id)
            .all(self.conn())
            .await?)
    }

    pub async fn get_monitor(
        &self,
        project_id: i64,
        id: &str,
    ) -> StorageResult<Option<monitor::Model>> {
        Ok(monitor::Entity::find_by_id(id)
            .filter(monitor::Column::ProjectId.eq(project_id))
            .one(self.conn())
            .await?)
    }

    pub async fn insert_monitor(&self, model: monitor::Model) -> StorageResult<monitor::Model> {
        let w = self.begin_write().await?;
        let row = model.into_active_model().insert(&w.txn).await?;
        w.commit().await?;
        Ok(row)
    }

    /// Deletes a monitor and its pending runs; its tasks keep their link (an id that no
    /// longer resolves).
    pub async fn delete_monitor(&self, id: &str) -> StorageResult<()> {
        let w = self.begin_write().await?;
        monitor_run::Entity::delete_many()
            .filter(monitor_run::Column::MonitorId.eq(id))
            .exec(&w.txn)
            .await?;
        monitor::Entity::delete_by_id(id).exec(&w.txn).await?;
        w.commit().await
    }

    /// Up to `limit` monitors whose due time has come at `now_ms`, earliest first, with the
    /// revision read (the compare-and-set's expected value).
    pub async fn due_monitors(&self, now_ms: i64, limit: u64) -> StorageResult<Vec<(String, i64)>> {
        Ok(monitor::Entity::find()
            .select_only()
            .column(monitor::Column::Id)
            .column(monitor::Column::Revision)
            .filter(monitor::Column::DueMs.lte(now_ms))
            .order_by_asc(monitor::Column::DueMs)
            .limit(limit)
            .into_tuple()
            .all(self.conn())
            .await?)
    }

    /// The statement of `due_monitors`, for query-plan inspection.
    pub fn due_monitors_statement(&self, now_ms: i64) -> Statement {
        use sea_orm::QueryTrait;
        monitor::Entity::find()
            .select_only()
            .column(monitor::Column::Id)
            .column(monitor::Column::Revision)
            .filter(monitor::Column::DueMs.lte(now_ms))
            .order_by_asc(monitor::Column::DueMs)
            .limit(100)
            .build(self.backend())
    }

    /// Up to `limit` monitored runs that can be concluded at `now_ms`.
    pub async fn ended_runs(&self, now_ms: i64, limit: u64) -> StorageResult<Vec<EndedRun>> {
        let backend = self.backend();
        let statuses = RUN_ENDING_STATUSES
            .iter()
            .map(|s| format!("'{s}'"))
            .collect::<Vec<_>>()
            .join(", ");
        let p = |n: u8| match backend {
            sea_orm::DatabaseBackend::Postgres => format!("${n}"),
            _ => "?".to_owned(),
        };
        let sql = format!(
            "SELECT r.task_id, r.monitor_id, r.deadline_ms \
             FROM monitor_run r LEFT JOIN task t ON t.id = r.task_id \
             WHERE t.id IS NULL OR t.status IN ({statuses}) OR r.deadline_ms <= {} \
             ORDER BY r.task_id LIMIT {}",
            p(1),
            p(2)
        );
        let stmt = Statement::from_sql_and_values(
            backend,
            sql,
            [Value::from(now_ms), Value::from(limit as i64)],
        );
        let rows = self.conn().query_all_raw(stmt).await?;
        let mut runs = Vec::with_capacity(rows.len());
        for row in rows {
            runs.push(EndedRun {
                task_id: row.try_get("", "task_id")?,
                monitor_id: row.try_get("", "monitor_id")?,
                deadline_ms: row.try_get("", "deadline_ms")?,
                task: None,
            });
        }
        let ids: Vec<String> = runs.iter().map(|r| r.task_id.clone()).collect();
        if !ids.is_empty() {
            let tasks = task::Entity::find()
                .filter(task::Column::Id.is_in(ids))
                .all(self.conn())
                .await?;
            for t in tasks {
                if let Some(run) = runs.iter_mut().find(|r| r.task_id == t.id) {
                    run.task = Some(t);
                }
            }
        }
        Ok(runs)
    }
}

/// The monitor, read for update inside the caller's transaction (a row lock on PostgreSQL;
/// SQLite's writer is already exclusive).
pub async fn lock_monitor(w: &WriteTxn<'_>, id: &str) -> StorageResult<Option<monitor::Model>> {
    Ok(monitor::Entity::find_by_id(id)
        .lock_exclusive()
        .one(&w.txn)
        .await?)
}

/// Writes a monitor read under `lock_monitor`, raising its revision.
pub async fn save_monitor(
    w: &WriteTxn<'_>,
    mut row: monitor::Model,
) -> StorageResult<monitor::Model> {
    row.revision += 1;
    monitor::Entity::update(row.clone().into_active_model().reset_all())
        .exec(&w.txn)
        .await?;
    Ok(row)
}

/// Records a monitored run awaiting its outcome.
pub async fn insert_monitor_run(
    w: &WriteTxn<'_>,
    task_id: &str,
    monitor_id: &str,
    deadline_ms: Option<i64>,
) -> StorageResult<()> {
    monitor_run::ActiveModel {
        task_id: Set(task_id.to_owned()),
        monitor_id: Set(monitor_id.to_owned()),
        deadline_ms: Set(deadline_ms),
    }
    .insert(&w.txn)
    .await?;
    Ok(())
}

/// Claims a run for concluding by deleting it: `false` when another replica took it first.
pub async fn take_monitor_run(w: &WriteTxn<'_>, task_id: &str) -> StorageResult<bool> {
    let res = monitor_run::Entity::delete_many()
        .filter(monitor_run::Column::TaskId.eq(task_id))
        .exec(&w.txn)
        .await?;
    Ok(res.rows_affected == 1)
}
