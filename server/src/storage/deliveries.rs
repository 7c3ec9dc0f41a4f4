//! The outbox: deliveries (one event through one integration) and their attempts.
//!
//! Deliveries are inserted in the transaction of the task write that fired them. Dispatchers
//! claim due ones under a lease: on PostgreSQL with `FOR UPDATE SKIP LOCKED`, so replicas
//! share the work and a replica that dies mid-delivery has its claims taken by another when
//! the lease expires; on SQLite (one process, one writer) with the same `UPDATE … RETURNING`
//! without the lock clause.

use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseBackend, EntityTrait, FromQueryResult,
    QueryFilter, QueryOrder, QuerySelect, QueryTrait, Set, Statement, Value,
};

use super::batch::WriteJob;
use super::entities::{delivery, delivery_attempt, organization, project};
use super::tasks::Seek;
use super::{StorageResult, Store};

pub const PENDING: &str = "pending";
pub const DELIVERED: &str = "delivered";
pub const FAILED: &str = "failed";

/// Delivery-log filters.
#[derive(Clone, Debug, Default)]
pub struct DeliveryFilter {
    pub task: Option<String>,
    pub status: Option<String>,
}

/// How an attempt ended, as recorded.
#[derive(Clone, Debug)]
pub struct AttemptRecord {
    pub at: chrono::DateTime<chrono::Utc>,
    pub status_code: Option<i32>,
    pub error: Option<String>,
    pub duration_ms: i64,
    /// The delivery's state after it.
    pub status: &'static str,
    pub next_attempt_ms: i64,
}

/// Inserts fired deliveries inside the caller's transaction.
pub async fn insert_deliveries(
    conn: &impl ConnectionTrait,
    rows: Vec<delivery::ActiveModel>,
) -> StorageResult<()> {
    if let Some(insert) = insert_statement(conn.get_database_backend(), rows) {
        conn.execute_raw(insert).await?;
    }
    Ok(())
}

/// The statement of `insert_deliveries`, for a batch (none for no rows).
pub fn insert_statement(
    backend: DatabaseBackend,
    rows: Vec<delivery::ActiveModel>,
) -> Option<Statement> {
    if rows.is_empty() {
        return None;
    }
    Some(delivery::Entity::insert_many(rows).build(backend))
}

/// `$n` placeholders as SQLite's `?n`.
fn placeholders(backend: DatabaseBackend, sql: &str) -> String {
    match backend {
        DatabaseBackend::Sqlite => sql.replace('$', "?"),
        _ => sql.to_owned(),
    }
}

impl Store {
    /// Claims up to `limit` due deliveries until `lease_until` (Unix ms).
    pub async fn claim_deliveries(
        &self,
        now_ms: i64,
        lease_until: i64,
        limit: u64,
    ) -> StorageResult<Vec<delivery::Model>> {
        let stmt = self.claim_statement(now_ms, lease_until, limit);
        let rows = self.write_returning_all(stmt).await?;
        rows.iter()
            .map(|row| delivery::Model::from_query_result(row, "").map_err(Into::into))
            .collect()
    }

    /// The claim: due, pending, not leased (or the lease expired), earliest first; on
    /// PostgreSQL rows another replica is claiming are skipped, not waited for.
    pub fn claim_statement(&self, now_ms: i64, lease_until: i64, limit: u64) -> Statement {
        let backend = self.backend();
        let lock = if backend == DatabaseBackend::Postgres {
            " FOR UPDATE SKIP LOCKED"
        } else {
            ""
        };
        let sql = format!(
            "UPDATE delivery SET lease_until = $1 WHERE id IN (SELECT id FROM delivery \
             WHERE status = 'pending' AND next_attempt_ms <= $2 \
             AND (lease_until IS NULL OR lease_until < $2) \
             ORDER BY next_attempt_ms LIMIT $3{lock}) RETURNING *"
        );
        Statement::from_sql_and_values(
            backend,
            placeholders(backend, &sql),
            [
                Value::from(lease_until),
                Value::from(now_ms),
                Value::from(limit as i64),
            ],
        )
    }

    /// Forgets every lease (SQLite at start: no other process can hold one).
    pub async fn release_all_leases(&self) -> StorageResult<u64> {
        let w = self.begin_write().await?;
        let res = delivery::Entity::update_many()
            .col_expr(
                delivery::Column::LeaseUntil,
                Expr::value(Option::<i64>::None),
            )
            .filter(delivery::Column::LeaseUntil.is_not_null())
            .exec(&w.txn)
            .await?;
        w.commit().await?;
        Ok(res.rows_affected)
    }

    /// The earliest next attempt of a pending delivery, for the dispatcher's sleep.
    pub async fn next_due_delivery(&self) -> StorageResult<Option<i64>> {
        let row: Option<i64> = delivery::Entity::find()
            .select_only()
            .column(delivery::Column::NextAttemptMs)
            .filter(delivery::Column::Status.eq(PENDING))
            .order_by_asc(delivery::Column::NextAttemptMs)
            .limit(1)
            .into_tuple()
            .one(self.conn())
            .await?;
        Ok(row)
    }

    /// Records an attempt and the delivery's new state, releasing the lease. It needs no
    /// read, so on SQLite it joins the group commit of task writes.
    pub async fn record_attempt(&self, id: &str, a: AttemptRecord) -> StorageResult<()> {
        let backend = self.backend();
        let attempt = delivery_attempt::Entity::insert(delivery_attempt::ActiveModel {
            delivery_id: Set(id.to_owned()),
            at: Set(a.at),
            status_code: Set(a.status_code),
            error: Set(a.error.clone()),
            duration_ms: Set(a.duration_ms),
            ..Default::default()
        })
        .build(backend);
        let update = delivery::Entity::update_many()
            .col_expr(delivery::Column::Status, Expr::value(a.status))
            .col_expr(
                delivery::Column::AttemptCount,
                Expr::col(delivery::Column::AttemptCount).add(1),
            )
            .col_expr(
                delivery::Column::NextAttemptMs,
                Expr::value(a.next_attempt_ms),
            )
            .col_expr(
                delivery::Column::LeaseUntil,
                Expr::value(Option::<i64>::None),
            )
            .col_expr(delivery::Column::LastError, Expr::value(a.error))
            .col_expr(delivery::Column::Updated, Expr::value(a.at))
            .filter(delivery::Column::Id.eq(id))
            .build(backend);
        self.write(WriteJob {
            statements: vec![attempt, update],
            returns: None,
            after: None,
            unwatched: None,
        })
        .await?;
        Ok(())
    }

    /// Fails every pending delivery through `integration` in the project (its web hook was
    /// deleted or answered 410), recording `reason` as a final attempt on each.
    pub async fn fail_pending_deliveries(
        &self,
        project_id: i64,
        integration: &str,
        reason: &str,
    ) -> StorageResult<u64> {
        let now = crate::domain::tasks::now();
        let w = self.begin_write().await?;
        let ids: Vec<String> = delivery::Entity::find()
            .select_only()
            .column(delivery::Column::Id)
            .filter(delivery::Column::ProjectId.eq(project_id))
            .filter(delivery::Column::Integration.eq(integration))
            .filter(delivery::Column::Status.eq(PENDING))
            .into_tuple()
            .all(&w.txn)
            .await?;
        for id in &ids {
            delivery_attempt::ActiveModel {
                delivery_id: Set(id.clone()),
                at: Set(now),
                status_code: Set(None),
                error: Set(Some(reason.to_owned())),
                duration_ms: Set(0),
                ..Default::default()
            }
            .insert(&w.txn)
            .await?;
        }
        delivery::Entity::update_many()
            .col_expr(delivery::Column::Status, Expr::value(FAILED))
            .col_expr(delivery::Column::LastError, Expr::value(reason))
            .col_expr(
                delivery::Column::LeaseUntil,
                Expr::value(Option::<i64>::None),
            )
            .col_expr(delivery::Column::Updated, Expr::value(now))
            .filter(delivery::Column::Id.is_in(ids.clone()))
            .exec(&w.txn)
            .await?;
        w.commit().await?;
        Ok(ids.len() as u64)
    }

    /// The organization and project slugs of a project.
    pub async fn project_slugs(&self, project_id: i64) -> StorageResult<Option<(String, String)>> {
        let Some(p) = project::Entity::find_by_id(project_id)
            .one(self.conn())
            .await?
        else {
            return Ok(None);
        };
        let org = organization::Entity::find_by_id(p.organization_id)
            .one(self.conn())
            .await?;
        Ok(org.map(|o| (o.slug, p.slug)))
    }

    pub async fn get_delivery(
        &self,
        project_id: i64,
        id: &str,
    ) -> StorageResult<Option<delivery::Model>> {
        Ok(delivery::Entity::find_by_id(id.to_owned())
            .filter(delivery::Column::ProjectId.eq(project_id))
            .one(self.conn())
            .await?)
    }

    pub async fn list_attempts(&self, id: &str) -> StorageResult<Vec<delivery_attempt::Model>> {
        Ok(delivery_attempt::Entity::find()
            .filter(delivery_attempt::Column::DeliveryId.eq(id))
            .order_by_asc(delivery_attempt::Column::Id)
            .all(self.conn())
            .await?)
    }

    /// A keyset page of the project's deliveries, newest first (as `list_tasks`).
    pub async fn list_deliveries(
        &self,
        project_id: i64,
        filter: &DeliveryFilter,
        seek: &Seek,
        limit: u64,
    ) -> StorageResult<(Vec<delivery::Model>, bool)> {
        use delivery::Column as C;
        let mut q = delivery::Entity::find().filter(C::ProjectId.eq(project_id));
        if let Some(task) = &filter.task {
            q = q.filter(C::TaskId.eq(task.as_str()));
        }
        if let Some(status) = &filter.status {
            q = q.filter(C::Status.eq(status.as_str()));
        }
        q = match seek {
            Seek::First => q.order_by_desc(C::Id),
            Seek::Older { anchor, ceiling } => q
                .filter(C::Id.lt(anchor.as_str()))
                .filter(C::Id.lte(ceiling.as_str()))
                .order_by_desc(C::Id),
            Seek::Newer { anchor, ceiling } => q
                .filter(C::Id.gt(anchor.as_str()))
                .filter(C::Id.lte(ceiling.as_str()))
                .order_by_asc(C::Id),
        };
        let mut rows = q.limit(limit + 1).all(self.conn()).await?;
        let more = rows.len() as u64 > limit;
        rows.truncate(limit as usize);
        if matches!(seek, Seek::Newer { .. }) {
            rows.reverse();
        }
        Ok((rows, more))
    }

    /// Queues a delivery again, due now; `None` when it is not the project's.
    pub async fn requeue_delivery(
        &self,
        project_id: i64,
        id: &str,
        now_ms: i64,
    ) -> StorageResult<Option<delivery::Model>> {
        let w = self.begin_write().await?;
        // A delivery being attempted right now keeps its lease: it is not sent twice.
        let lease = Expr::case(
            Expr::col(delivery::Column::LeaseUntil).gt(now_ms),
            Expr::col(delivery::Column::LeaseUntil),
        )
        .finally(Expr::value(Option::<i64>::None));
        let res = delivery::Entity::update_many()
            .col_expr(delivery::Column::Status, Expr::value(PENDING))
            .col_expr(delivery::Column::NextAttemptMs, Expr::value(now_ms))
            .col_expr(
                delivery::Column::LeaseUntil,
                sea_orm::sea_query::SimpleExpr::Case(Box::new(lease)),
            )
            .col_expr(
                delivery::Column::Updated,
                Expr::value(crate::domain::tasks::now()),
            )
            .filter(delivery::Column::Id.eq(id))
            .filter(delivery::Column::ProjectId.eq(project_id))
            .exec(&w.txn)
            .await?;
        w.commit().await?;
        if res.rows_affected == 0 {
            return Ok(None);
        }
        self.get_delivery(project_id, id).await
    }
}
