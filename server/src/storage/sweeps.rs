//! The sweeps' queries: tasks whose staleness or `max_runtime` is due, found through the
//! `stale_due` and `runtime_due` indexes, and the compare-and-set updates that flip them, so
//! that with several replicas exactly one wins each flip.

use sea_orm::sea_query::{Expr, Query};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, QueryTrait};

use super::entities::task;
use super::tasks::{TASK_COLUMNS, decode_task};
use super::{StorageResult, Store, WriteTxn};

/// A task whose due time has come: its id and the due time seen (the compare-and-set's
/// expected value).
#[derive(Clone, Debug)]
pub struct Due {
    pub id: String,
    pub due: i64,
}

/// Which due time.
#[derive(Clone, Copy, Debug)]
pub enum Sweep {
    Stale,
    MaxRuntime,
}

impl Sweep {
    fn column(self) -> task::Column {
        match self {
            Sweep::Stale => task::Column::StaleDue,
            Sweep::MaxRuntime => task::Column::RuntimeDue,
        }
    }
}

impl Store {
    /// Up to `limit` tasks due at `now_ms`, earliest first.
    pub async fn due_tasks(
        &self,
        sweep: Sweep,
        now_ms: i64,
        limit: u64,
    ) -> StorageResult<Vec<Due>> {
        let col = sweep.column();
        let rows: Vec<(String, i64)> = task::Entity::find()
            .select_only()
            .column(task::Column::Id)
            .column(col)
            .filter(col.lte(now_ms))
            .order_by_asc(col)
            .limit(limit)
            .into_tuple()
            .all(self.conn())
            .await?;
        Ok(rows.into_iter().map(|(id, due)| Due { id, due }).collect())
    }

    /// The statement `due_tasks` runs, for query-plan inspection.
    pub fn due_statement(&self, sweep: Sweep, now_ms: i64) -> sea_orm::Statement {
        let col = sweep.column();
        task::Entity::find()
            .select_only()
            .column(task::Column::Id)
            .column(col)
            .filter(col.lte(now_ms))
            .order_by_asc(col)
            .limit(100)
            .build(self.backend())
    }

    /// Flips a due task, if it is still due at the same time: stale (`updated` set), or
    /// `max_runtime` fired (status unchanged). Returns the row as written, with the state
    /// before the flip in its `prior_*` columns; `None` when another write or replica got there
    /// first.
    pub async fn flip_due(
        &self,
        w: &WriteTxn<'_>,
        sweep: Sweep,
        due: &Due,
        now: chrono::DateTime<chrono::Utc>,
    ) -> StorageResult<Option<task::Model>> {
        use task::Column as C;
        let null = || Expr::value(Option::<i64>::None);
        let mut update = Query::update();
        update
            .table(task::Entity)
            .value(C::PriorValue, Expr::col(C::Value))
            .value(C::PriorValueMax, Expr::col(C::ValueMax))
            .value(C::PriorStatus, Expr::col(C::Status))
            .and_where(C::Id.eq(due.id.as_str()))
            .and_where(sweep.column().eq(due.due));
        match sweep {
            Sweep::Stale => {
                update
                    .value(C::Status, "stale")
                    .value(C::Updated, now)
                    .value(C::StaleDue, null())
                    .value(C::RuntimeDue, null());
            }
            Sweep::MaxRuntime => {
                update
                    .value(C::RuntimeFired, true)
                    .value(C::RuntimeDue, null());
            }
        }
        update.returning(Query::returning().columns(TASK_COLUMNS));
        let rows =
            sea_orm::ConnectionTrait::query_all_raw(&w.txn, self.backend().build(&update)).await?;
        Ok(rows.first().map(decode_task).transpose()?)
    }
}
