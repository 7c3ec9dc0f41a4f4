//! Group commit for self-contained SQLite writes.
//!
//! SQLite has one writer, and every statement sent through sqlx is a round trip to the
//! connection's worker thread. Under load, a write that holds the writer spends most of that
//! time waiting to be scheduled (the worker thread, then the task again), not writing, so
//! writes that need no reads in between (create, the common PATCH, cancel) are queued instead.
//! One task takes whatever has queued up and runs it in one transaction, as a few
//! multi-statement chunks (see `chunks`): a few round trips and a single commit for the lot,
//! while every job still gets its own result and its own response.
//!
//! A job's statements are all-or-nothing, as a transaction of its own would be: when a batch
//! fails it is rolled back and each job is then run on its own, so a bad job fails alone.
//! Nothing is acknowledged before its batch has committed, so the durability is that of a
//! single write (see ARCHITECTURE.md).

use std::collections::HashSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use sea_orm::sea_query::Values;
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbErr, QueryResult, Statement,
    TransactionTrait,
};
use tokio::sync::{Mutex, mpsc, oneshot};

use super::{StorageError, StorageResult};

/// At most this many jobs share a batch.
pub(super) const MAX_BATCH: usize = 128;
/// Jobs waiting for the writer before submitters wait too (back-pressure).
const QUEUE_CAPACITY: usize = 4096;

/// A write that needs no reads between its statements.
pub struct WriteJob {
    pub statements: Vec<Statement>,
    /// The row the statements return (`UPDATE ... RETURNING`), if any.
    pub returns: Option<RowKey>,
    /// Runs in the same transaction, right after the statements, with the row they returned
    /// (the alerting engine's evaluation of a task write).
    pub after: Option<Arc<dyn AfterWrite>>,
    /// A single statement equivalent to `statements` for rows that `after` would leave
    /// alone, returning nothing otherwise. Where writes are not batched (PostgreSQL) it is
    /// tried first, in autocommit: one round trip instead of a transaction's three.
    pub unwatched: Option<Statement>,
}

/// The future an `AfterWrite` returns.
pub type AfterFuture<'a> = Pin<Box<dyn Future<Output = StorageResult<()>> + Send + 'a>>;

/// Work that belongs to a job's transaction and depends on the row its statements returned.
/// It may run more than once (a failed batch is re-run job by job), each time in a
/// transaction that is then committed or rolled back as a whole.
pub trait AfterWrite: Send + Sync {
    fn run<'a>(&'a self, txn: &'a DatabaseTransaction, row: &'a QueryResult) -> AfterFuture<'a>;
}

/// Identifies a returned task row: batched jobs' rows arrive in one stream, in job order.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RowKey {
    pub id: String,
    pub project_id: i64,
}

impl RowKey {
    fn matches(&self, row: &QueryResult) -> bool {
        row.try_get::<String>("", "id")
            .is_ok_and(|id| id == self.id)
            && row
                .try_get::<i64>("", "project_id")
                .is_ok_and(|p| p == self.project_id)
    }
}

/// How many batches and jobs the writer has run (read by tests).
#[derive(Debug, Default)]
pub struct BatchStats {
    batches: AtomicU64,
    jobs: AtomicU64,
}

impl BatchStats {
    pub fn batches(&self) -> u64 {
        self.batches.load(Ordering::Relaxed)
    }

    pub fn jobs(&self) -> u64 {
        self.jobs.load(Ordering::Relaxed)
    }
}

type Reply = oneshot::Sender<StorageResult<Option<QueryResult>>>;

struct Queued {
    job: WriteJob,
    reply: Reply,
}

/// The submitting side of the queue; the writer task runs until every clone is dropped.
#[derive(Clone)]
pub struct Batcher {
    queue: mpsc::Sender<Queued>,
    stats: Arc<BatchStats>,
}

impl Batcher {
    /// Starts the writer task on `writer`; each batch holds `gate`, which transactional
    /// writes also take, so the two kinds of write never interleave.
    pub fn start(writer: DatabaseConnection, gate: Arc<Mutex<()>>) -> Self {
        let (batcher, rx) = Self::unstarted();
        tokio::spawn(run(writer, gate, rx, batcher.stats.clone()));
        batcher
    }

    /// The queue alone; jobs wait in it until `run` takes the receiver.
    fn unstarted() -> (Self, mpsc::Receiver<Queued>) {
        let (queue, rx) = mpsc::channel(QUEUE_CAPACITY);
        let stats = Arc::new(BatchStats::default());
        (Self { queue, stats }, rx)
    }

    /// Queues `job` and waits until its batch has committed (or failed).
    pub async fn submit(&self, job: WriteJob) -> StorageResult<Option<QueryResult>> {
        let (reply, result) = oneshot::channel();
        self.queue
            .send(Queued { job, reply })
            .await
            .map_err(|_| stopped())?;
        result.await.map_err(|_| stopped())?
    }

    /// Jobs queued and not yet taken by the writer.
    #[cfg(test)]
    fn queued(&self) -> usize {
        self.queue.max_capacity() - self.queue.capacity()
    }
}

fn stopped() -> StorageError {
    StorageError::Unavailable(DbErr::Custom("the write queue has stopped".into()))
}

async fn run(
    writer: DatabaseConnection,
    gate: Arc<Mutex<()>>,
    mut rx: mpsc::Receiver<Queued>,
    stats: Arc<BatchStats>,
) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let _gate = gate.lock().await;
        // Whatever queued while the gate was held by someone else joins this batch.
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(queued) => batch.push(queued),
                Err(_) => break,
            }
        }
        stats.batches.fetch_add(1, Ordering::Relaxed);
        stats.jobs.fetch_add(batch.len() as u64, Ordering::Relaxed);
        execute(&writer, std::mem::take(&mut batch)).await;
    }
}

async fn execute(conn: &DatabaseConnection, batch: Vec<Queued>) {
    let jobs: Vec<&WriteJob> = batch.iter().map(|q| &q.job).collect();
    match run_jobs(conn, &jobs).await {
        Ok(rows) => deliver(batch, rows),
        Err(err) if batch.len() == 1 => {
            let _ = batch.into_iter().next().map(|q| q.reply.send(Err(err)));
        }
        Err(_) => {
            // Find the culprit: each job on its own.
            for queued in batch {
                match run_jobs(conn, &[&queued.job]).await {
                    Ok(rows) => deliver(vec![queued], rows),
                    Err(err) => {
                        let _ = queued.reply.send(Err(err));
                    }
                }
            }
        }
    }
}

/// Runs the jobs in order, all or nothing: in one transaction, unless there is just one
/// statement and nothing to run after it.
async fn run_jobs(
    conn: &DatabaseConnection,
    jobs: &[&WriteJob],
) -> StorageResult<Vec<QueryResult>> {
    if let [job] = jobs
        && job.statements.len() == 1
        && job.after.is_none()
    {
        return Ok(conn.query_all_raw(job.statements[0].clone()).await?);
    }
    let txn = conn.begin().await?;
    let mut rows = Vec::new();
    for segment in segments(jobs) {
        match run_segment(&txn, segment).await {
            Ok(segment_rows) => rows.extend(segment_rows),
            Err(err) => {
                let _ = txn.rollback().await;
                return Err(err);
            }
        }
    }
    txn.commit().await?;
    Ok(rows)
}

/// Runs a segment's statements as chunks, then each job's `after` with its row.
async fn run_segment(
    txn: &DatabaseTransaction,
    jobs: &[&WriteJob],
) -> StorageResult<Vec<QueryResult>> {
    let mut rows = Vec::new();
    for chunk in chunks(jobs) {
        rows.extend(txn.query_all_raw(chunk).await?);
    }
    let mut next = rows.iter().peekable();
    for job in jobs {
        let Some(key) = &job.returns else { continue };
        if let Some(row) = next.next_if(|row| key.matches(row))
            && let Some(after) = &job.after
        {
            after.run(txn, row).await?;
        }
    }
    Ok(rows)
}

/// The jobs cut where a job returns a row that an earlier job of the same segment with an
/// `after` also returned: that `after` may write the row again, so the later statement must
/// run after it to see its write.
fn segments<'a, 'j>(jobs: &'a [&'j WriteJob]) -> Vec<&'a [&'j WriteJob]> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut seen: HashSet<&RowKey> = HashSet::new();
    for (i, job) in jobs.iter().enumerate() {
        let Some(key) = &job.returns else { continue };
        if seen.contains(key) {
            out.push(&jobs[start..i]);
            start = i;
            seen.clear();
        }
        if job.after.is_some() {
            seen.insert(key);
        }
    }
    out.push(&jobs[start..]);
    out
}

/// The jobs as multi-statement chunks, in order. A run of jobs with the same SQL (the same
/// kind of write: values are bound, not inlined) is cut into chunks of power-of-two sizes, so
/// that each kind of write has a handful of distinct chunk texts, which stay prepared in the
/// writer's statement cache: preparing a fresh batch text every time cost more than the writes.
fn chunks(jobs: &[&WriteJob]) -> Vec<Statement> {
    let mut out = Vec::new();
    let mut rest = jobs;
    while let Some(first) = rest.first() {
        let run = rest.iter().take_while(|job| same_sql(job, first)).count();
        let (piece, tail) = rest.split_at(1 << run.ilog2());
        out.extend(combine(piece.iter().flat_map(|job| job.statements.iter())));
        rest = tail;
    }
    out
}

fn same_sql(a: &WriteJob, b: &WriteJob) -> bool {
    a.statements.len() == b.statements.len()
        && a.statements
            .iter()
            .zip(&b.statements)
            .all(|(x, y)| x.sql == y.sql)
}

/// One multi-statement `Statement`: the SQL joined by `;`, the values concatenated (SQLite
/// binds anonymous parameters across the statements in order).
fn combine<'a>(statements: impl Iterator<Item = &'a Statement>) -> Option<Statement> {
    let mut combined: Option<Statement> = None;
    for s in statements {
        match &mut combined {
            None => combined = Some(s.clone()),
            Some(c) => {
                c.sql.push_str(";\n");
                c.sql.push_str(&s.sql);
                if let Some(Values(values)) = &s.values {
                    c.values
                        .get_or_insert_with(|| Values(Vec::new()))
                        .0
                        .extend(values.iter().cloned());
                }
            }
        }
    }
    combined
}

/// Hands each job its row: rows arrive in job order, at most one per job, so a job whose key
/// does not match the next row returned nothing (no such task in its project).
fn deliver(batch: Vec<Queued>, rows: Vec<QueryResult>) {
    let mut rows = rows.into_iter().peekable();
    for queued in batch {
        let row = match &queued.job.returns {
            Some(key) => rows.next_if(|row| key.matches(row)),
            None => None,
        };
        let _ = queued.reply.send(Ok(row));
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use chrono::Utc;
    use sea_orm::{EntityTrait, FromQueryResult, PaginatorTrait};

    use super::*;
    use crate::storage::Store;
    use crate::storage::entities::{task, task_tag};
    use crate::storage::tasks::{Lifecycle, TaskChanges};
    use crate::storage::test_support::{new_task, sqlite_store};

    fn set_value(value: i64) -> TaskChanges {
        TaskChanges {
            name: None,
            status: None,
            value: Some(Some(value)),
            value_max: None,
            data: None,
            max_runtime: None,
            stale_timeout: None,
            start_time: None,
            end_time: None,
            time_to_start: None,
            queue: None,
            external_id: None,
            lifecycle: Lifecycle {
                start_if_unset: None,
                end_if_unset: None,
                updated: Utc::now(),
            },
        }
    }

    fn tags(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    /// Submits every job while the writer is not running, then starts it: the jobs are
    /// certain to share one batch.
    async fn run_as_one_batch(
        store: &Store,
        jobs: Vec<WriteJob>,
    ) -> (Vec<StorageResult<Option<task::Model>>>, Arc<BatchStats>) {
        let (batcher, rx) = Batcher::unstarted();
        let count = jobs.len();
        let handles: Vec<_> = jobs
            .into_iter()
            .map(|job| {
                let batcher = batcher.clone();
                tokio::spawn(async move { batcher.submit(job).await })
            })
            .collect();
        while batcher.queued() < count {
            tokio::task::yield_now().await;
        }
        let gate = store.write_gate.clone().unwrap();
        tokio::spawn(run(store.writer.clone(), gate, rx, batcher.stats.clone()));
        let mut results = Vec::new();
        for handle in handles {
            let result = handle
                .await
                .unwrap()
                .map(|row| row.map(|row| task::Model::from_query_result(&row, "").unwrap()));
            results.push(result);
        }
        (results, batcher.stats.clone())
    }

    #[test]
    fn runs_of_the_same_write_are_cut_in_power_of_two_chunks() {
        let job = |sql: &str| WriteJob {
            statements: vec![Statement::from_string(
                sea_orm::DatabaseBackend::Sqlite,
                sql.to_owned(),
            )],
            returns: None,
            after: None,
            unwatched: None,
        };
        let jobs: Vec<WriteJob> = "AAAAAABAAA".chars().map(|c| job(&c.to_string())).collect();
        let refs: Vec<&WriteJob> = jobs.iter().collect();
        let texts: Vec<String> = chunks(&refs).into_iter().map(|s| s.sql).collect();
        assert_eq!(
            texts,
            ["A;\nA;\nA;\nA", "A;\nA", "B", "A;\nA", "A"],
            "6 A, 1 B, 3 A"
        );
    }

    #[tokio::test]
    async fn a_batch_gives_each_job_its_own_result() {
        let (store, _dir) = sqlite_store().await;
        let a = store.ensure_project("org", "a").await.unwrap();
        let b = store.ensure_project("org", "b").await.unwrap();
        for id in ["T1", "T2"] {
            store
                .create_task(new_task(id, a), &tags(&[]))
                .await
                .unwrap();
        }

        let jobs = vec![
            store.update_job(a, "T1", set_value(1)),
            store.update_job(a, "MISSING", set_value(1)),
            // Another project's task: no row, even though the id exists.
            store.update_job(b, "T2", set_value(7)),
            store.update_job(a, "T2", set_value(5)),
            store.update_job(a, "T1", set_value(2)),
            store.create_job(&new_task("T3", a), &tags(&[("env", "prod")])),
        ];
        let (results, stats) = run_as_one_batch(&store, jobs).await;
        assert_eq!((stats.batches(), stats.jobs()), (1, 6));
        let values: Vec<Option<(String, Option<i64>)>> = results
            .into_iter()
            .map(|r| r.unwrap().map(|t| (t.id, t.value)))
            .collect();
        assert_eq!(
            values,
            vec![
                Some(("T1".into(), Some(1))),
                None,
                None,
                Some(("T2".into(), Some(5))),
                Some(("T1".into(), Some(2))),
                None,
            ]
        );
        let t3 = task::Entity::find_by_id("T3").one(store.conn()).await;
        assert_eq!(t3.unwrap().unwrap().project_id, a);
        assert_eq!(
            task_tag::Entity::find().count(store.conn()).await.unwrap(),
            1
        );
        store.close().await;
    }

    /// An `after` that appends "h" to the task's queue, as the alerting engine rewrites a row
    /// it has just updated.
    struct Append;

    impl AfterWrite for Append {
        fn run<'a>(
            &'a self,
            txn: &'a DatabaseTransaction,
            row: &'a QueryResult,
        ) -> AfterFuture<'a> {
            Box::pin(async move {
                let id: String = row.try_get("", "id")?;
                txn.execute_raw(Statement::from_sql_and_values(
                    sea_orm::DatabaseBackend::Sqlite,
                    "UPDATE task SET queue = COALESCE(queue, '') || 'h' WHERE id = ?",
                    [id.into()],
                ))
                .await?;
                Ok(())
            })
        }
    }

    #[tokio::test]
    async fn a_later_job_on_the_same_row_sees_the_earlier_after() {
        let (store, _dir) = sqlite_store().await;
        let a = store.ensure_project("org", "a").await.unwrap();
        for id in ["T1", "T2"] {
            store
                .create_task(new_task(id, a), &tags(&[]))
                .await
                .unwrap();
        }
        let with_after = |id: &str, value| {
            let mut job = store.update_job(a, id, set_value(value));
            job.after = Some(Arc::new(Append));
            job
        };
        let jobs = vec![
            with_after("T1", 1),
            with_after("T2", 1),
            with_after("T1", 2),
        ];
        let (results, stats) = run_as_one_batch(&store, jobs).await;
        assert_eq!(stats.batches(), 1);
        let queues: Vec<Option<String>> = results
            .into_iter()
            .map(|r| r.unwrap().unwrap().queue)
            .collect();
        // The third job ran after the first one's `after`; T2 shared the first segment.
        assert_eq!(queues, [None, None, Some("h".to_owned())]);
        let t1 = task::Entity::find_by_id("T1").one(store.conn()).await;
        assert_eq!(t1.unwrap().unwrap().queue.as_deref(), Some("hh"));
        assert_eq!(
            segments(&[
                &with_after("X", 1),
                &with_after("Y", 1),
                &with_after("X", 1)
            ])
            .iter()
            .map(|s| s.len())
            .collect::<Vec<_>>(),
            [2, 1]
        );
        store.close().await;
    }

    #[tokio::test]
    async fn a_failing_job_fails_alone_and_leaves_nothing_behind() {
        let (store, _dir) = sqlite_store().await;
        let a = store.ensure_project("org", "a").await.unwrap();
        store
            .create_task(new_task("T1", a), &tags(&[]))
            .await
            .unwrap();
        // A job whose first statements succeed and whose last violates the primary key.
        let mut partly_failing = store.create_job(&new_task("T9", a), &tags(&[("dup", "yes")]));
        partly_failing
            .statements
            .extend(store.create_job(&new_task("T1", a), &tags(&[])).statements);

        let jobs = vec![
            store.update_job(a, "T1", set_value(3)),
            partly_failing,
            store.create_job(&new_task("T2", a), &tags(&[("env", "a"), ("os", "b")])),
        ];
        let (results, stats) = run_as_one_batch(&store, jobs).await;
        assert_eq!(stats.batches(), 1);
        let mut results = results.into_iter();
        assert_eq!(results.next().unwrap().unwrap().unwrap().value, Some(3));
        assert!(matches!(
            results.next().unwrap(),
            Err(StorageError::Conflict(_))
        ));
        assert!(results.next().unwrap().unwrap().is_none());
        let tag_rows = task_tag::Entity::find().all(store.conn()).await.unwrap();
        let mut namespaces: Vec<_> = tag_rows.iter().map(|t| t.namespace.as_str()).collect();
        namespaces.sort();
        assert_eq!(namespaces, ["env", "os"]);
        assert_eq!(task::Entity::find().count(store.conn()).await.unwrap(), 2);
        store.close().await;
    }
}
