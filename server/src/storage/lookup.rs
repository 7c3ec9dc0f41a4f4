//! Coalesced reads of single tasks by id, on SQLite.
//!
//! Reading one task is one indexed row, but through sqlx it is also one round trip to a
//! connection's worker thread, and under load that hand-off costs more than the read. Lookups
//! that arrive while another is being read therefore wait in a queue, and the next read serves
//! all of them with one statement (`id IN (SELECT value FROM json_each(?))`: one SQL text
//! whatever the number of ids, so its prepared statement is reused). A lone lookup is read at
//! once, as before. Each waiter gets the row of its own id and project, or none.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use sea_orm::sea_query::Expr;
use sea_orm::{
    ConnectionTrait, DatabaseBackend, DatabaseConnection, DbErr, QueryFilter, QueryTrait, Statement,
};
use tokio::sync::{mpsc, oneshot};

use super::batch::RowKey;
use super::entities::task;
use super::tasks::{decode_task, select_tasks};
use super::{StorageError, StorageResult};

/// At most this many lookups share a read.
const MAX_IDS: usize = 256;
const QUEUE_CAPACITY: usize = 4096;

type Reply = oneshot::Sender<StorageResult<Option<task::Model>>>;

struct Pending {
    key: RowKey,
    reply: Reply,
}

/// The submitting side; the reading task runs until every clone is dropped.
#[derive(Clone)]
pub struct Lookups {
    queue: mpsc::Sender<Pending>,
    reads: Arc<AtomicU64>,
}

impl Lookups {
    /// Starts `lanes` reader tasks on `db`: one at a time takes what has queued, so while
    /// one reads, the next batch gathers.
    pub fn start(db: DatabaseConnection, lanes: usize) -> Self {
        let (lookups, rx) = Self::unstarted();
        let rx = Arc::new(tokio::sync::Mutex::new(rx));
        for _ in 0..lanes.max(1) {
            tokio::spawn(run(db.clone(), rx.clone(), lookups.reads.clone()));
        }
        lookups
    }

    fn unstarted() -> (Self, mpsc::Receiver<Pending>) {
        let (queue, rx) = mpsc::channel(QUEUE_CAPACITY);
        let reads = Arc::new(AtomicU64::new(0));
        (Self { queue, reads }, rx)
    }

    /// The task with this id in this project, if any.
    pub async fn get(&self, key: RowKey) -> StorageResult<Option<task::Model>> {
        let (reply, result) = oneshot::channel();
        self.queue
            .send(Pending { key, reply })
            .await
            .map_err(|_| stopped())?;
        result.await.map_err(|_| stopped())?
    }

    /// Statements run so far (for tests and diagnostics).
    pub fn reads(&self) -> u64 {
        self.reads.load(Ordering::Relaxed)
    }

    #[cfg(test)]
    fn queued(&self) -> usize {
        self.queue.max_capacity() - self.queue.capacity()
    }
}

fn stopped() -> StorageError {
    StorageError::Unavailable(DbErr::Custom("the lookup queue has stopped".into()))
}

async fn run(
    db: DatabaseConnection,
    rx: Arc<tokio::sync::Mutex<mpsc::Receiver<Pending>>>,
    reads: Arc<AtomicU64>,
) {
    let mut batch = Vec::with_capacity(MAX_IDS);
    loop {
        let taken = rx.lock().await.recv_many(&mut batch, MAX_IDS).await;
        if taken == 0 {
            return;
        }
        reads.fetch_add(1, Ordering::Relaxed);
        let ids: Vec<&str> = batch.iter().map(|p| p.key.id.as_str()).collect();
        match read(&db, &ids).await {
            Ok(rows) => {
                let by_id: HashMap<&str, &task::Model> =
                    rows.iter().map(|row| (row.id.as_str(), row)).collect();
                for pending in batch.drain(..) {
                    let row = by_id
                        .get(pending.key.id.as_str())
                        .filter(|row| row.project_id == pending.key.project_id)
                        .map(|row| (*row).clone());
                    let _ = pending.reply.send(Ok(row));
                }
            }
            Err(err) => {
                for pending in batch.drain(..) {
                    let _ = pending.reply.send(Err(err.duplicate()));
                }
            }
        }
    }
}

async fn read(db: &DatabaseConnection, ids: &[&str]) -> StorageResult<Vec<task::Model>> {
    let rows = db
        .query_all_raw(read_statement(db.get_database_backend(), ids))
        .await?;
    Ok(rows.iter().map(decode_task).collect::<Result<_, _>>()?)
}

/// The statement a coalesced read runs (SQLite), also for query-plan inspection.
pub fn read_statement(backend: DatabaseBackend, ids: &[&str]) -> Statement {
    let (condition, ids) = match backend {
        // `= ANY(array)`: an index lookup per id. The array is a text literal (each id quoted,
        // `"` and `\` escaped), so no array type needs binding.
        DatabaseBackend::Postgres => {
            let quoted: Vec<String> = ids
                .iter()
                .map(|id| format!("\"{}\"", id.replace('\\', "\\\\").replace('"', "\\\"")))
                .collect();
            (
                "\"task\".\"id\" = ANY($1::text[])",
                format!("{{{}}}", quoted.join(",")),
            )
        }
        _ => (
            "\"task\".\"id\" IN (SELECT value FROM json_each(?))",
            serde_json::Value::from(ids).to_string(),
        ),
    };
    select_tasks()
        .filter(Expr::cust_with_values(condition, [ids]))
        .build(backend)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::test_support::{new_task, sqlite_store};

    #[tokio::test]
    async fn waiting_lookups_share_one_read_and_keep_to_their_project() {
        let (store, _dir) = sqlite_store().await;
        let a = store.ensure_project("org", "a").await.unwrap();
        let b = store.ensure_project("org", "b").await.unwrap();
        let mut task = new_task("T1", a);
        store
            .create_task(task.clone(), &Default::default())
            .await
            .unwrap();
        task.id = "T2".into();
        store.create_task(task, &Default::default()).await.unwrap();

        let (lookups, rx) = Lookups::unstarted();
        let keys = [("T1", a), ("T2", a), ("T1", a), ("MISSING", a), ("T2", b)];
        let handles: Vec<_> = keys
            .iter()
            .map(|(id, project_id)| {
                let (lookups, key) = (
                    lookups.clone(),
                    RowKey {
                        id: id.to_string(),
                        project_id: *project_id,
                    },
                );
                tokio::spawn(async move { lookups.get(key).await })
            })
            .collect();
        while lookups.queued() < keys.len() {
            tokio::task::yield_now().await;
        }
        tokio::spawn(run(
            store.conn().clone(),
            Arc::new(tokio::sync::Mutex::new(rx)),
            lookups.reads.clone(),
        ));
        let mut found = Vec::new();
        for handle in handles {
            found.push(handle.await.unwrap().unwrap().map(|t| t.id));
        }
        assert_eq!(
            found,
            [
                Some("T1".into()),
                Some("T2".into()),
                Some("T1".into()),
                None,
                None
            ]
        );
        assert_eq!(lookups.reads(), 1);
        store.close().await;
    }
}
