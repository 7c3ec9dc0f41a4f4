//! Group commit for self-contained writes.
//!
//! SQLite has one writer, and every statement sent through sqlx is a round trip to the
//! connection's worker thread. Under load, a write that holds the writer spends most of that
//! time waiting to be scheduled (the worker thread, then the task again), not writing, so
//! writes that need no reads in between (create, the common PATCH, cancel) are queued instead.
//! One task takes whatever has queued up and runs it in one transaction, as a few
//! multi-statement chunks (see `chunks`): a few round trips and a single commit for the lot,
//! while every job still gets its own result and its own response.
//!
//! On PostgreSQL every autocommit write pays a commit and a WAL flush of its own; there a few
//! writer lanes (each on a pooled connection) take turns at the queue, and each runs what it
//! took as one transaction, statement by statement (PostgreSQL prepares one statement at a
//! time), with one commit. A batch takes its rows' locks in id order, so lanes running at once
//! never wait on each other in a cycle.
//!
//! A job's statements are all-or-nothing, as a transaction of its own would be: when a batch
//! fails it is rolled back and each job is then run on its own, so a bad job fails alone.
//! Nothing is acknowledged before its batch has committed, so the durability is that of a
//! single write (see ARCHITECTURE.md).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use sea_orm::sea_query::Values;
use sea_orm::{
    ConnectionTrait, DatabaseBackend, DatabaseConnection, DatabaseTransaction, DbErr, QueryResult,
    Statement, TransactionTrait,
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
    /// alone, returning nothing otherwise. A job alone in its batch tries it first, in
    /// autocommit: one round trip instead of a transaction's three.
    pub unwatched: Option<Statement>,
}

/// What an `after` adds to its job's transaction.
#[derive(Default)]
pub struct Followup {
    /// Statements to run after every job's own.
    pub statements: Vec<Statement>,
    /// The new value of the column that `after`s write, if this one writes it.
    pub rewrote: Option<serde_json::Value>,
}

/// Work that belongs to a job's transaction and depends on the row its statements returned
/// (the alerting engine's evaluation of a task write). It may be asked more than once (a
/// failed batch is re-run job by job), each time for a transaction that is then committed
/// or rolled back as a whole.
///
/// In a batch every job's statements run first; then every `after` is asked, in job order,
/// for its statements, and those run together. When an earlier `after` of the same
/// transaction rewrote the row's after-written column, `rewritten` holds that value, which is
/// newer than the one in `row`.
pub trait AfterWrite: Send + Sync {
    fn follow(
        &self,
        backend: DatabaseBackend,
        row: &QueryResult,
        rewritten: Option<&serde_json::Value>,
    ) -> StorageResult<Followup>;
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
    /// Starts `lanes` writer tasks on `writer`; each batch holds `gate` if there is one (on
    /// SQLite transactional writes take it too, so the two kinds of write never interleave).
    pub fn start(writer: DatabaseConnection, gate: Option<Arc<Mutex<()>>>, lanes: usize) -> Self {
        let (batcher, rx) = Self::unstarted();
        let rx = Arc::new(Mutex::new(rx));
        for _ in 0..lanes.max(1) {
            tokio::spawn(run(
                writer.clone(),
                gate.clone(),
                rx.clone(),
                batcher.stats.clone(),
            ));
        }
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
    gate: Option<Arc<Mutex<()>>>,
    rx: Arc<Mutex<mpsc::Receiver<Queued>>>,
    stats: Arc<BatchStats>,
) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    loop {
        // One lane at a time takes from the queue; the others run what they took.
        let mut queue = rx.lock().await;
        if queue.recv_many(&mut batch, MAX_BATCH).await == 0 {
            return;
        }
        let _gate = match &gate {
            Some(gate) => Some(gate.lock().await),
            None => None,
        };
        // Whatever queued while the gate was held by someone else joins this batch.
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(queued) => batch.push(queued),
                Err(_) => break,
            }
        }
        drop(queue);
        if writer.get_database_backend() == DatabaseBackend::Postgres {
            // Row locks in id order (stable: one task's writes keep their order).
            batch.sort_by(|a, b| lock_order(&a.job).cmp(&lock_order(&b.job)));
        }
        stats.batches.fetch_add(1, Ordering::Relaxed);
        stats.jobs.fetch_add(batch.len() as u64, Ordering::Relaxed);
        execute(&writer, std::mem::take(&mut batch)).await;
    }
}

/// The order in which a batch takes its rows' locks: by the id of the row a job writes.
fn lock_order(job: &WriteJob) -> Option<(&str, i64)> {
    job.returns.as_ref().map(|k| (k.id.as_str(), k.project_id))
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
/// statement and nothing to run after it. A lone job whose `unwatched` form applies is done
/// in autocommit too (on SQLite a transaction costs two more round trips to the worker).
async fn run_jobs(
    conn: &DatabaseConnection,
    jobs: &[&WriteJob],
) -> StorageResult<Vec<QueryResult>> {
    if let [job] = jobs {
        match (&job.statements[..], &job.after, &job.unwatched) {
            ([statement], None, _) => return Ok(conn.query_all_raw(statement.clone()).await?),
            (_, Some(_), Some(unwatched)) => {
                let rows = conn.query_all_raw(unwatched.clone()).await?;
                if !rows.is_empty() {
                    return Ok(rows);
                }
            }
            _ => {}
        }
    }
    let txn = conn.begin().await?;
    match run_in(&txn, jobs).await {
        Ok(rows) => {
            txn.commit().await?;
            Ok(rows)
        }
        Err(err) => {
            let _ = txn.rollback().await;
            Err(err)
        }
    }
}

/// Runs the jobs' statements, then their `after`s' statements: as multi-statement chunks on
/// SQLite, one by one on PostgreSQL.
async fn run_in(txn: &DatabaseTransaction, jobs: &[&WriteJob]) -> StorageResult<Vec<QueryResult>> {
    let backend = txn.get_database_backend();
    let units: Vec<&[Statement]> = jobs.iter().map(|job| &job.statements[..]).collect();
    let mut rows = Vec::new();
    for statement in sendable(backend, &units) {
        rows.extend(txn.query_all_raw(statement).await?);
    }
    let followups = follow_all(backend, jobs, &rows)?;
    let units: Vec<&[Statement]> = followups
        .iter()
        .map(|f| &f.statements[..])
        .filter(|statements| !statements.is_empty())
        .collect();
    for statement in sendable(backend, &units) {
        txn.execute_raw(statement).await?;
    }
    Ok(rows)
}

/// The statements as the backend takes them: chunks on SQLite; on PostgreSQL each alone,
/// except runs of the same plain INSERTs (creates), which go as multi-row INSERTs.
fn sendable(backend: DatabaseBackend, units: &[&[Statement]]) -> Vec<Statement> {
    match backend {
        DatabaseBackend::Sqlite => chunks(units),
        _ => merged_inserts(units),
    }
}

/// PostgreSQL cannot take several statements in one prepared message, but one INSERT can take
/// many rows: a run of jobs whose statements are the same plain INSERTs, position by position
/// (creates with the same number of tags), becomes one multi-row INSERT per position. Runs
/// are cut in power-of-two pieces, as on SQLite, so that the statement texts stay few and
/// prepared. Anything else is sent as it is, in order.
fn merged_inserts(units: &[&[Statement]]) -> Vec<Statement> {
    let mut out = Vec::new();
    let mut rest = units;
    while let Some(first) = rest.first() {
        let run = if first.iter().all(|s| values_clause(&s.sql).is_some()) {
            rest.iter().take_while(|unit| same_sql(unit, first)).count()
        } else {
            1
        };
        let (piece, tail) = rest.split_at(1 << run.ilog2());
        if let [unit] = piece {
            out.extend(unit.iter().cloned());
        } else {
            for position in 0..first.len() {
                out.push(multi_row(piece.iter().map(|unit| &unit[position])));
            }
        }
        rest = tail;
    }
    out
}

/// Where the rows of a plain `INSERT … VALUES (…)` begin, when its rows hold only
/// placeholders (no RETURNING, no ON CONFLICT, no literal that could hold a `$`).
fn values_clause(sql: &str) -> Option<usize> {
    if !sql.starts_with("INSERT INTO ") {
        return None;
    }
    let at = sql.find(" VALUES ")? + " VALUES ".len();
    sql[at..]
        .bytes()
        .all(|b| b.is_ascii_digit() || b" $,()".contains(&b))
        .then_some(at)
}

/// One INSERT with the rows of every statement (the same INSERT text), placeholders renumbered
/// and values concatenated.
fn multi_row<'a>(statements: impl Iterator<Item = &'a Statement>) -> Statement {
    let mut merged: Option<Statement> = None;
    let mut count = 0;
    for s in statements {
        let values = s.values.as_ref().map_or(&[][..], |v| &v.0[..]);
        match &mut merged {
            None => merged = Some(s.clone()),
            Some(m) => {
                let at = values_clause(&s.sql).unwrap_or(s.sql.len());
                m.sql.push_str(", ");
                m.sql.push_str(&renumber(&s.sql[at..], count));
                m.values
                    .get_or_insert_with(|| Values(Vec::new()))
                    .0
                    .extend(values.iter().cloned());
            }
        }
        count += values.len();
    }
    merged.expect("at least one statement")
}

/// `$n` → `$(n + offset)`.
fn renumber(rows: &str, offset: usize) -> String {
    let mut out = String::with_capacity(rows.len() + 8);
    let mut chars = rows.char_indices().peekable();
    while let Some((_, c)) = chars.next() {
        out.push(c);
        if c != '$' {
            continue;
        }
        let mut n = 0usize;
        while let Some((_, d)) = chars.next_if(|(_, d)| d.is_ascii_digit()) {
            n = n * 10 + (d as usize - '0' as usize);
        }
        out.push_str(&(n + offset).to_string());
    }
    out
}

/// Asks each job's `after` for its statements, in job order, handing on what earlier ones
/// rewrote.
fn follow_all(
    backend: DatabaseBackend,
    jobs: &[&WriteJob],
    rows: &[QueryResult],
) -> StorageResult<Vec<Followup>> {
    let mut next = rows.iter().peekable();
    let mut rewritten: HashMap<&RowKey, serde_json::Value> = HashMap::new();
    let mut out = Vec::new();
    for job in jobs {
        let Some(key) = &job.returns else { continue };
        if let Some(row) = next.next_if(|row| key.matches(row))
            && let Some(after) = &job.after
        {
            let mut followup = after.follow(backend, row, rewritten.get(key))?;
            if let Some(value) = followup.rewrote.take() {
                rewritten.insert(key, value);
            }
            out.push(followup);
        }
    }
    Ok(out)
}

/// The jobs as multi-statement chunks, in order. A run of jobs with the same SQL (the same
/// kind of write: values are bound, not inlined) is cut into chunks of power-of-two sizes, so
/// that each kind of write has a handful of distinct chunk texts, which stay prepared in the
/// writer's statement cache: preparing a fresh batch text every time cost more than the writes.
fn chunks(units: &[&[Statement]]) -> Vec<Statement> {
    let mut out = Vec::new();
    let mut rest = units;
    while let Some(first) = rest.first() {
        let run = rest.iter().take_while(|unit| same_sql(unit, first)).count();
        let (piece, tail) = rest.split_at(1 << run.ilog2());
        out.extend(combine(piece.iter().flat_map(|unit| unit.iter())));
        rest = tail;
    }
    out
}

fn same_sql(a: &[Statement], b: &[Statement]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.sql == y.sql)
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
    use sea_orm::{EntityTrait, PaginatorTrait};

    use super::*;
    use crate::storage::Store;
    use crate::storage::entities::{task, task_tag};
    use crate::storage::tasks::{Lifecycle, TaskChanges};
    use crate::storage::test_support::new_task;

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
        let gate = store.write_gate.clone();
        tokio::spawn(run(
            store.writer.clone(),
            gate,
            Arc::new(Mutex::new(rx)),
            batcher.stats.clone(),
        ));
        let mut results = Vec::new();
        for handle in handles {
            let result = handle
                .await
                .unwrap()
                .map(|row| row.map(|row| crate::storage::tasks::decode_task(&row).unwrap()));
            results.push(result);
        }
        (results, batcher.stats.clone())
    }

    #[test]
    fn runs_of_the_same_insert_become_multi_row_inserts_on_postgres() {
        let pg = |sql: &str, values: Vec<sea_orm::Value>| {
            Statement::from_sql_and_values(sea_orm::DatabaseBackend::Postgres, sql, values)
        };
        let insert = |a: i64, b: i64| {
            vec![
                pg(
                    "INSERT INTO t (a, b) VALUES ($1, $2)",
                    vec![a.into(), b.into()],
                ),
                pg(
                    "INSERT INTO u (a) VALUES ($1), ($2)",
                    vec![a.into(), b.into()],
                ),
            ]
        };
        let update = vec![pg(
            "UPDATE t SET b = $1 WHERE a = $2 RETURNING *",
            vec![0.into(), 1.into()],
        )];
        let jobs = [
            insert(1, 2),
            insert(3, 4),
            insert(5, 6),
            update.clone(),
            insert(7, 8),
        ];
        let units: Vec<&[Statement]> = jobs.iter().map(|j| &j[..]).collect();
        let sent = merged_inserts(&units);
        let texts: Vec<&str> = sent.iter().map(|s| s.sql.as_str()).collect();
        assert_eq!(
            texts,
            [
                "INSERT INTO t (a, b) VALUES ($1, $2), ($3, $4)",
                "INSERT INTO u (a) VALUES ($1), ($2), ($3), ($4)",
                "INSERT INTO t (a, b) VALUES ($1, $2)",
                "INSERT INTO u (a) VALUES ($1), ($2)",
                "UPDATE t SET b = $1 WHERE a = $2 RETURNING *",
                "INSERT INTO t (a, b) VALUES ($1, $2)",
                "INSERT INTO u (a) VALUES ($1), ($2)",
            ],
            "3 inserts (2 + 1), an update, an insert"
        );
        let values: Vec<sea_orm::Value> = sent[0].values.clone().unwrap().0;
        assert_eq!(
            values,
            vec![1i64.into(), 2i64.into(), 3i64.into(), 4i64.into()]
        );
        // Not merged: RETURNING, ON CONFLICT, literals.
        for sql in [
            "INSERT INTO t (a) VALUES ($1) RETURNING a",
            "INSERT INTO t (a) VALUES ($1) ON CONFLICT DO NOTHING",
            "INSERT INTO t (a) VALUES ('$1')",
        ] {
            assert_eq!(values_clause(sql), None, "{sql}");
        }
        assert_eq!(renumber("($1, $12), ($3)", 10), "($11, $22), ($13)");
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
        let units: Vec<&[Statement]> = jobs.iter().map(|job| &job.statements[..]).collect();
        let texts: Vec<String> = chunks(&units).into_iter().map(|s| s.sql).collect();
        assert_eq!(
            texts,
            ["A;\nA;\nA;\nA", "A;\nA", "B", "A;\nA", "A"],
            "6 A, 1 B, 3 A"
        );
    }

    /// Each test, on a fresh store of each kind (PostgreSQL sorts a batch by row before
    /// running it; the results still reach their own jobs).
    macro_rules! on_both_stores {
        ($($name:ident),*) => {$(
            mod $name {
                #[tokio::test]
                async fn sqlite() {
                    let (store, _dir) = crate::storage::test_support::sqlite_store().await;
                    super::$name(store).await;
                }

                #[tokio::test]
                async fn postgres() {
                    let (store, _db) = crate::storage::test_support::postgres_store().await;
                    super::$name(store).await;
                }
            }
        )*};
    }

    on_both_stores!(
        a_batch_gives_each_job_its_own_result,
        a_later_job_on_the_same_row_sees_the_earlier_after,
        a_failing_job_fails_alone_and_leaves_nothing_behind
    );

    async fn a_batch_gives_each_job_its_own_result(store: Store) {
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

    /// An `after` that appends "h" to the task's queue, computed from the queue it was
    /// given, as the alerting engine rewrites the marks of a row it has just updated; it
    /// records what it was handed as rewritten.
    #[derive(Default)]
    struct Append {
        seen: std::sync::Mutex<Vec<Option<serde_json::Value>>>,
    }

    impl AfterWrite for Append {
        fn follow(
            &self,
            backend: DatabaseBackend,
            row: &QueryResult,
            rewritten: Option<&serde_json::Value>,
        ) -> StorageResult<Followup> {
            self.seen.lock().unwrap().push(rewritten.cloned());
            let id: String = row.try_get("", "id")?;
            let queue = match rewritten {
                Some(queue) => queue.as_str().unwrap_or_default().to_owned(),
                None => row
                    .try_get::<Option<String>>("", "queue")?
                    .unwrap_or_default(),
            };
            let queue = format!("{queue}h");
            Ok(Followup {
                statements: vec![Statement::from_sql_and_values(
                    backend,
                    match backend {
                        DatabaseBackend::Postgres => "UPDATE task SET queue = $1 WHERE id = $2",
                        _ => "UPDATE task SET queue = ? WHERE id = ?",
                    },
                    [queue.clone().into(), id.into()],
                )],
                rewrote: Some(queue.into()),
            })
        }
    }

    async fn a_later_job_on_the_same_row_sees_the_earlier_after(store: Store) {
        let a = store.ensure_project("org", "a").await.unwrap();
        for id in ["T1", "T2"] {
            store
                .create_task(new_task(id, a), &tags(&[]))
                .await
                .unwrap();
        }
        let append = Arc::new(Append::default());
        let with_after = |id: &str, value| {
            let mut job = store.update_job(a, id, set_value(value));
            job.after = Some(append.clone());
            job
        };
        let jobs = vec![
            with_after("T1", 1),
            with_after("T2", 1),
            with_after("T1", 2),
        ];
        let (results, stats) = run_as_one_batch(&store, jobs).await;
        assert_eq!(stats.batches(), 1);
        let values: Vec<Option<i64>> = results
            .into_iter()
            .map(|r| r.unwrap().unwrap().value)
            .collect();
        assert_eq!(values, [Some(1), Some(1), Some(2)]);
        // The second `after` on T1 was handed what the first had written (on PostgreSQL the
        // batch runs T1's jobs first, so the order of the calls differs).
        let mut seen = append.seen.lock().unwrap().clone();
        seen.sort_by_key(|v| v.is_some());
        assert_eq!(seen, [None, None, Some("h".into())]);
        let queue = |id: &'static str| {
            let conn = store.conn().clone();
            async move {
                let t = task::Entity::find_by_id(id).one(&conn).await;
                t.unwrap().unwrap().queue
            }
        };
        assert_eq!(queue("T1").await.as_deref(), Some("hh"));
        assert_eq!(queue("T2").await.as_deref(), Some("h"));
        store.close().await;
    }

    async fn a_failing_job_fails_alone_and_leaves_nothing_behind(store: Store) {
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
