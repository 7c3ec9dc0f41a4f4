//! Task queries: reads, keyset pages and the writes of one task with its tags and actions.

use std::collections::BTreeMap;
use std::sync::Arc;

use sea_orm::prelude::DateTimeUtc;
use sea_orm::sea_query::{Expr, Query};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseBackend, DbErr, EntityTrait,
    FromQueryResult, InsertMany, IntoActiveModel, QueryFilter, QueryOrder, QueryResult,
    QuerySelect, QueryTrait, Select, Set,
};

use super::batch::{AfterWrite, RowKey, WriteJob};
use super::entities::{action, task, task_tag};
use super::task_update;
use super::{StorageResult, Store, WriteTxn};

/// Which slice of the keyset a page is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Seek {
    /// The newest tasks.
    First,
    /// Tasks older than `anchor` (ids below it), newest first.
    Older { anchor: String, ceiling: String },
    /// Tasks newer than `anchor` but not newer than `ceiling`, read oldest first.
    Newer { anchor: String, ceiling: String },
}

/// List filters; all given ones must match.
#[derive(Clone, Debug, Default)]
pub struct TaskFilter {
    pub statuses: Vec<String>,
    pub name: Option<String>,
    pub parent: Option<String>,
    pub external_id: Option<String>,
    pub tags: Vec<(String, String)>,
    pub created_after: Option<DateTimeUtc>,
    pub created_before: Option<DateTimeUtc>,
    /// Id bounds equivalent to the created bounds (ids are time-ordered), so that the
    /// `(project_id, id)` index narrows the scan.
    pub id_at_least: Option<String>,
    pub id_below: Option<String>,
}

/// Automatic timestamps of a write (see `domain::tasks`).
#[derive(Clone, Debug)]
pub struct Lifecycle {
    /// Set `start_time` to this if it is null.
    pub start_if_unset: Option<DateTimeUtc>,
    /// Set `end_time` to this if it is null.
    pub end_if_unset: Option<DateTimeUtc>,
    pub updated: DateTimeUtc,
}

/// Column changes of an in-place update: `None` leaves a column alone; for nullable columns
/// `Some(None)` writes NULL.
#[derive(Clone, Debug)]
pub struct TaskChanges {
    pub name: Option<String>,
    pub status: Option<String>,
    pub value: Option<Option<i64>>,
    pub value_max: Option<i64>,
    pub data: Option<Option<serde_json::Value>>,
    pub max_runtime: Option<Option<i32>>,
    pub stale_timeout: Option<Option<i32>>,
    pub start_time: Option<Option<DateTimeUtc>>,
    pub end_time: Option<Option<DateTimeUtc>>,
    pub time_to_start: Option<Option<i64>>,
    pub queue: Option<Option<String>>,
    pub external_id: Option<Option<String>>,
    pub lifecycle: Lifecycle,
}

/// Unix milliseconds.
pub fn ms(t: DateTimeUtc) -> i64 {
    t.timestamp_millis()
}

/// A page as read: tasks newest first, and whether more exist beyond it in the read direction.
pub struct TaskPage {
    pub tasks: Vec<task::Model>,
    pub more: bool,
}

impl Store {
    pub async fn get_task(&self, project_id: i64, id: &str) -> StorageResult<Option<task::Model>> {
        let key = RowKey {
            id: id.to_owned(),
            project_id,
        };
        self.lookups.get(key).await
    }

    /// Reads a task inside a write transaction, locking its row on PostgreSQL.
    pub async fn get_task_for_update(
        &self,
        w: &WriteTxn<'_>,
        project_id: i64,
        id: &str,
    ) -> StorageResult<Option<task::Model>> {
        let mut query =
            task::Entity::find_by_id(id.to_owned()).filter(task::Column::ProjectId.eq(project_id));
        if self.backend() == DatabaseBackend::Postgres {
            query = query.lock_exclusive();
        }
        Ok(query.one(&w.txn).await?)
    }

    /// Reads a task (any project) inside a write transaction; used to check a parent.
    pub async fn get_task_in(
        &self,
        w: &WriteTxn<'_>,
        project_id: i64,
        id: &str,
    ) -> StorageResult<Option<task::Model>> {
        Ok(task::Entity::find_by_id(id.to_owned())
            .filter(task::Column::ProjectId.eq(project_id))
            .one(&w.txn)
            .await?)
    }

    pub async fn insert_task(
        &self,
        w: &WriteTxn<'_>,
        model: task::Model,
        tags: &BTreeMap<String, String>,
    ) -> StorageResult<task::Model> {
        let (id, project_id) = (model.id.clone(), model.project_id);
        let inserted = task::Entity::insert(model.clone().into_active_model().reset_all())
            .exec_without_returning(&w.txn)
            .await
            .map(|_| model)?;
        insert_tags(w, &id, project_id, tags).await?;
        Ok(inserted)
    }

    /// Writes every column of `model`; when `tags` is given the tag rows are replaced too.
    pub async fn update_task(
        &self,
        w: &WriteTxn<'_>,
        model: task::Model,
        tags: Option<&BTreeMap<String, String>>,
    ) -> StorageResult<task::Model> {
        let (id, project_id) = (model.id.clone(), model.project_id);
        task::Entity::update(model.clone().into_active_model().reset_all())
            .exec(&w.txn)
            .await?;
        if let Some(tags) = tags {
            task_tag::Entity::delete_many()
                .filter(task_tag::Column::TaskId.eq(id.as_str()))
                .exec(&w.txn)
                .await?;
            insert_tags(w, &id, project_id, tags).await?;
        }
        Ok(model)
    }

    /// Applies `changes` with one `UPDATE ... RETURNING`; `None` when no such task.
    pub async fn update_task_in_place(
        &self,
        project_id: i64,
        id: &str,
        changes: TaskChanges,
        after: Arc<dyn AfterWrite>,
    ) -> StorageResult<Option<task::Model>> {
        let mut job = self.update_job(project_id, id, changes);
        job.after = Some(after);
        let row = self.write(job).await?;
        Ok(row.map(|row| decode_task(&row)).transpose()?)
    }

    /// Inserts a task and its tags, all or nothing, when nothing needs reading first (no
    /// parent to check).
    pub async fn create_task(
        &self,
        model: task::Model,
        tags: &BTreeMap<String, String>,
    ) -> StorageResult<task::Model> {
        self.write(self.create_job(&model, tags)).await?;
        Ok(model)
    }

    pub(super) fn update_job(&self, project_id: i64, id: &str, c: TaskChanges) -> WriteJob {
        // On SQLite a batch's transaction is cheap; on PostgreSQL a job alone in its batch
        // tries the update of a task without actions first, in autocommit (one round trip
        // instead of a transaction's; see `batch::run_jobs`).
        let unwatched = self.backend() == DatabaseBackend::Postgres;
        let (update, unwatched) =
            task_update::update_statements(self.backend(), project_id, id, c, unwatched);
        WriteJob {
            statements: vec![update],
            returns: Some(RowKey {
                id: id.to_owned(),
                project_id,
            }),
            after: None,
            unwatched,
        }
    }

    pub(super) fn create_job(
        &self,
        model: &task::Model,
        tags: &BTreeMap<String, String>,
    ) -> WriteJob {
        let backend = self.backend();
        let mut statements = vec![
            task::Entity::insert(model.clone().into_active_model().reset_all()).build(backend),
        ];
        if let Some(insert) = tags_insert(&model.id, model.project_id, tags) {
            statements.push(insert.build(backend));
        }
        WriteJob {
            statements,
            returns: None,
            after: None,
            unwatched: None,
        }
    }

    pub async fn list_tasks(
        &self,
        project_id: i64,
        filter: &TaskFilter,
        seek: &Seek,
        limit: u64,
    ) -> StorageResult<TaskPage> {
        let query = list_query(project_id, filter, seek, limit + 1);
        let rows = self
            .conn()
            .query_all_raw(query.build(self.backend()))
            .await?;
        let mut tasks = rows
            .iter()
            .map(decode_task)
            .collect::<Result<Vec<_>, _>>()?;
        let more = tasks.len() as u64 > limit;
        tasks.truncate(limit as usize);
        if matches!(seek, Seek::Newer { .. }) {
            tasks.reverse();
        }
        Ok(TaskPage { tasks, more })
    }

    /// The statement `list_tasks` runs, for query-plan inspection.
    pub fn list_statement(
        &self,
        project_id: i64,
        filter: &TaskFilter,
        seek: &Seek,
        limit: u64,
    ) -> sea_orm::Statement {
        list_query(project_id, filter, seek, limit + 1).build(self.backend())
    }

    pub async fn insert_actions(
        &self,
        w: &WriteTxn<'_>,
        actions: Vec<action::ActiveModel>,
    ) -> StorageResult<Vec<action::Model>> {
        let mut out = Vec::with_capacity(actions.len());
        for model in actions {
            out.push(model.insert(&w.txn).await?);
        }
        Ok(out)
    }
}

async fn insert_tags(
    w: &WriteTxn<'_>,
    task_id: &str,
    project_id: i64,
    tags: &BTreeMap<String, String>,
) -> StorageResult<()> {
    if let Some(insert) = tags_insert(task_id, project_id, tags) {
        insert.exec_without_returning(&w.txn).await?;
    }
    Ok(())
}

/// The insert of a task's tag rows; `None` when it has no tags.
fn tags_insert(
    task_id: &str,
    project_id: i64,
    tags: &BTreeMap<String, String>,
) -> Option<InsertMany<task_tag::ActiveModel>> {
    if tags.is_empty() {
        return None;
    }
    let rows = tags.iter().map(|(namespace, value)| task_tag::ActiveModel {
        task_id: Set(task_id.to_owned()),
        namespace: Set(namespace.clone()),
        project_id: Set(project_id),
        value: Set(value.clone()),
    });
    Some(task_tag::Entity::insert_many(rows))
}

/// Writes a task's alerting state inside the caller's transaction.
pub async fn set_task_alerts(
    conn: &impl ConnectionTrait,
    id: &str,
    alerts: Option<serde_json::Value>,
) -> StorageResult<()> {
    conn.execute_raw(set_alerts_statement(
        conn.get_database_backend(),
        id,
        alerts,
    ))
    .await?;
    Ok(())
}

/// The statement of `set_task_alerts`, for a batch.
pub fn set_alerts_statement(
    backend: DatabaseBackend,
    id: &str,
    alerts: Option<serde_json::Value>,
) -> sea_orm::Statement {
    task::Entity::update_many()
        .col_expr(task::Column::Alerts, Expr::value(alerts))
        .filter(task::Column::Id.eq(id))
        .build(backend)
}

fn list_query(project_id: i64, f: &TaskFilter, seek: &Seek, limit: u64) -> Select<task::Entity> {
    let mut q = select_tasks().filter(task::Column::ProjectId.eq(project_id));
    if !f.statuses.is_empty() {
        q = q.filter(task::Column::Status.is_in(f.statuses.iter().cloned()));
    }
    if let Some(name) = &f.name {
        q = q.filter(task::Column::Name.eq(name.as_str()));
    }
    if let Some(parent) = &f.parent {
        q = q.filter(task::Column::ParentId.eq(parent.as_str()));
    }
    if let Some(external_id) = &f.external_id {
        q = q.filter(task::Column::ExternalId.eq(external_id.as_str()));
    }
    for (namespace, value) in &f.tags {
        let tagged = Query::select()
            .column(task_tag::Column::TaskId)
            .from(task_tag::Entity)
            .and_where(task_tag::Column::ProjectId.eq(project_id))
            .and_where(task_tag::Column::Namespace.eq(namespace.as_str()))
            .and_where(task_tag::Column::Value.eq(value.as_str()))
            .to_owned();
        q = q.filter(task::Column::Id.in_subquery(tagged));
    }
    if let Some(after) = f.created_after {
        q = q.filter(task::Column::Created.gte(after));
    }
    if let Some(before) = f.created_before {
        q = q.filter(task::Column::Created.lt(before));
    }
    if let Some(id) = &f.id_at_least {
        q = q.filter(task::Column::Id.gte(id.as_str()));
    }
    if let Some(id) = &f.id_below {
        q = q.filter(task::Column::Id.lt(id.as_str()));
    }
    q = match seek {
        Seek::First => q.order_by_desc(task::Column::Id),
        Seek::Older { anchor, ceiling } => q
            .filter(task::Column::Id.lt(anchor.as_str()))
            .filter(task::Column::Id.lte(ceiling.as_str()))
            .order_by_desc(task::Column::Id),
        Seek::Newer { anchor, ceiling } => q
            .filter(task::Column::Id.gt(anchor.as_str()))
            .filter(task::Column::Id.lte(ceiling.as_str()))
            .order_by_asc(task::Column::Id),
    };
    q.limit(limit)
}

impl Store {
    /// Whether any task of the project names `task_id` as its parent.
    pub async fn has_children(
        &self,
        w: &WriteTxn<'_>,
        project_id: i64,
        task_id: &str,
    ) -> StorageResult<bool> {
        Ok(task::Entity::find()
            .filter(task::Column::ProjectId.eq(project_id))
            .filter(task::Column::ParentId.eq(task_id))
            .one(&w.txn)
            .await?
            .is_some())
    }
}

/// The columns `decode_task` reads, in its order.
pub const TASK_COLUMNS: [task::Column; 27] = {
    use task::Column as C;
    [
        C::Id,
        C::ProjectId,
        C::Name,
        C::Status,
        C::Value,
        C::ValueMax,
        C::Data,
        C::MaxRuntime,
        C::StaleTimeout,
        C::StartTime,
        C::EndTime,
        C::TimeToStart,
        C::Tags,
        C::Queue,
        C::ExternalId,
        C::ParentId,
        C::MonitorId,
        C::Created,
        C::Updated,
        C::PriorValue,
        C::PriorValueMax,
        C::PriorStatus,
        C::Alerts,
        C::StaleDue,
        C::StartMs,
        C::RuntimeDue,
        C::RuntimeFired,
    ]
};

/// How many of `TASK_COLUMNS` an in-place update returns: the task and what the evaluation
/// of the write needs (`prior_*`, `alerts`), not the due times, which only the sweeps read.
pub const UPDATE_RETURNS: usize = 23;

/// A select of whole tasks, for `decode_task`.
pub fn select_tasks() -> Select<task::Entity> {
    task::Entity::find().select_only().columns(TASK_COLUMNS)
}

/// Decodes a row of `select_tasks` by position. sea-orm's derived decoding looks every column
/// up by a name it formats, and formats an error message for every NULL it meets (most task
/// columns are NULL): a sixth of a list request went there.
pub fn decode_task(row: &QueryResult) -> Result<task::Model, DbErr> {
    use sea_orm::sqlx::Row;
    macro_rules! decode {
        ($row:expr) => {
            (|| -> Result<task::Model, sea_orm::sqlx::Error> {
                let r = $row;
                let full = r.len() > UPDATE_RETURNS;
                Ok(task::Model {
                    id: r.try_get(0)?,
                    project_id: r.try_get(1)?,
                    name: r.try_get(2)?,
                    status: r.try_get(3)?,
                    value: r.try_get(4)?,
                    value_max: r.try_get(5)?,
                    data: r.try_get(6)?,
                    max_runtime: r.try_get(7)?,
                    stale_timeout: r.try_get(8)?,
                    start_time: r.try_get(9)?,
                    end_time: r.try_get(10)?,
                    time_to_start: r.try_get(11)?,
                    tags: r.try_get(12)?,
                    queue: r.try_get(13)?,
                    external_id: r.try_get(14)?,
                    parent_id: r.try_get(15)?,
                    monitor_id: r.try_get(16)?,
                    created: r.try_get(17)?,
                    updated: r.try_get(18)?,
                    prior_value: r.try_get(19)?,
                    prior_value_max: r.try_get(20)?,
                    prior_status: r.try_get(21)?,
                    alerts: r.try_get(22)?,
                    // Absent from an in-place update's row (see `UPDATE_RETURNS`).
                    stale_due: if full { r.try_get(23)? } else { None },
                    start_ms: if full { r.try_get(24)? } else { None },
                    runtime_due: if full { r.try_get(25)? } else { None },
                    runtime_fired: if full { r.try_get(26)? } else { false },
                })
            })()
        };
    }
    let decoded = if let Some(row) = row.try_as_sqlite_row() {
        decode!(row)
    } else if let Some(row) = row.try_as_pg_row() {
        decode!(row)
    } else {
        return task::Model::from_query_result(row, "");
    };
    decoded.map_err(|err| DbErr::Type(err.to_string()))
}
