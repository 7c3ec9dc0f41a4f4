//! Persistence: the connection pool, migrations, entities and the queries the domain needs.
//!
//! SQLite allows one writer at a time; a deferred transaction that reads and then writes can
//! fail with `SQLITE_BUSY` when another connection wrote in between. Writes on SQLite therefore
//! go through one dedicated connection, behind an in-process gate so they queue fairly, while
//! reads use a pool and stay concurrent (WAL). One writer connection also keeps its page cache
//! valid between writes. PostgreSQL needs none of this: one pool serves both, and row locks
//! (`SELECT ... FOR UPDATE`) order concurrent writes to the same task.

pub mod actions;
pub mod batch;
pub mod deliveries;
pub mod entities;
pub mod keys;
pub mod lookup;
pub mod migration;
pub mod monitors;
pub mod project_actions;
pub mod sweeps;
pub mod task_update;
pub mod tasks;
#[cfg(test)]
mod test_support;
pub mod webhooks;

use std::sync::Arc;
use std::time::Duration;

use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseBackend, DatabaseConnection,
    DatabaseTransaction, DbErr, RuntimeErr, TransactionTrait,
};
use sea_orm_migration::MigratorTrait;
use tokio::sync::{Mutex, MutexGuard, Notify};

use batch::{Batcher, WriteJob};
use lookup::Lookups;

/// Errors of the storage layer.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The database cannot be reached (connection refused, pool exhausted, ...).
    #[error("database unavailable: {0}")]
    Unavailable(#[source] DbErr),
    /// A uniqueness constraint was violated.
    #[error("conflict: {0}")]
    Conflict(String),
    /// The row to update is gone (deleted by a concurrent request since it was read).
    #[error("the row was deleted meanwhile")]
    Gone,
    /// Anything else the database reported.
    #[error("database error: {0}")]
    Database(#[source] DbErr),
}

impl From<DbErr> for StorageError {
    fn from(err: DbErr) -> Self {
        if let DbErr::ConnectionAcquire(_) | DbErr::Conn(_) = &err {
            return StorageError::Unavailable(err);
        }
        if let DbErr::RecordNotUpdated = &err {
            return StorageError::Gone;
        }
        if let Some(sea_orm::SqlErr::UniqueConstraintViolation(msg)) = err.sql_err() {
            return StorageError::Conflict(msg);
        }
        if let DbErr::Query(RuntimeErr::SqlxError(cause))
        | DbErr::Exec(RuntimeErr::SqlxError(cause)) = &err
            && lost_connection(cause)
        {
            return StorageError::Unavailable(err);
        }
        StorageError::Database(err)
    }
}

/// Whether a query failed because the database went away rather than because of the query:
/// I/O on a dead connection, a closed or exhausted pool, or PostgreSQL ending the session
/// (SQLSTATE classes 08, connection exception, and 57P, operator intervention).
fn lost_connection(err: &sea_orm::sqlx::Error) -> bool {
    use sea_orm::sqlx::Error as E;
    match err {
        E::Io(_) | E::PoolTimedOut | E::PoolClosed | E::WorkerCrashed => true,
        E::Database(db) => db
            .code()
            .is_some_and(|code| code.starts_with("08") || code.starts_with("57P")),
        _ => false,
    }
}

impl StorageError {
    /// The same kind of error, for a second recipient (a shared read failed for all its
    /// waiters); the cause survives as text.
    pub(crate) fn duplicate(&self) -> StorageError {
        let custom = |err: &DbErr| DbErr::Custom(err.to_string());
        match self {
            StorageError::Unavailable(err) => StorageError::Unavailable(custom(err)),
            StorageError::Conflict(msg) => StorageError::Conflict(msg.clone()),
            StorageError::Gone => StorageError::Gone,
            StorageError::Database(err) => StorageError::Database(custom(err)),
        }
    }
}

pub type StorageResult<T> = Result<T, StorageError>;

/// Prepared statements kept per read connection (sqlx's default).
const READ_STATEMENT_CACHE: usize = 100;
/// Prepared statements kept by the SQLite writer: group-commit chunks of up to
/// `batch::MAX_BATCH` statements, in power-of-two sizes (8 per kind of write), so room for a few
/// kinds of write without holding tens of MiB of programs.
const WRITE_STATEMENT_CACHE: usize = 32;

/// Database settings the storage layer needs (a slice of the server configuration).
#[derive(Clone, Debug)]
pub struct DbSettings {
    pub url: String,
    /// Read-pool size; `None` picks the backend's default.
    pub max_connections: Option<u32>,
    /// SQLite `synchronous`: `true` = FULL (survives power loss), `false` = NORMAL.
    pub sqlite_synchronous_full: bool,
}

/// The store: a connection pool plus, on SQLite, the write gate.
#[derive(Clone)]
pub struct Store {
    db: DatabaseConnection,
    /// The connection writes use: the same pool as `db` on PostgreSQL, a single connection on
    /// SQLite.
    writer: DatabaseConnection,
    write_gate: Option<Arc<Mutex<()>>>,
    /// Group commit of self-contained writes, on SQLite.
    batcher: Batcher,
    /// Coalesced reads of single tasks, on SQLite.
    lookups: Lookups,
    /// Raised after a commit that queued deliveries, so that this process's dispatcher
    /// starts on them at once.
    outbox: Arc<Notify>,
    /// The projects that have enabled project-wide actions (`project_actions`): their task
    /// writes take the evaluating path. Kept fresh by `refresh_watched_projects`.
    watched: Arc<std::sync::RwLock<std::collections::HashSet<i64>>>,
}

/// A write transaction; on SQLite it also holds the write gate until dropped.
pub struct WriteTxn<'a> {
    pub txn: DatabaseTransaction,
    _gate: Option<MutexGuard<'a, ()>>,
}

impl WriteTxn<'_> {
    pub async fn commit(self) -> StorageResult<()> {
        self.txn.commit().await.map_err(Into::into)
    }
}

/// The default PostgreSQL pool: four connections per core, 8 to 32. A quarter of it are
/// writer lanes and a quarter reader lanes (see `batch`, `lookup`). On the 2-core development
/// machine 8 beat 16 and 32 side by side with the bench's bare server (README, Performance):
/// more connections than that only have PostgreSQL's backends compete for the same cores.
fn postgres_pool(cores: usize) -> u32 {
    (4 * cores).clamp(8, 32) as u32
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

impl Store {
    /// Connects (creating a SQLite file when missing) without touching the schema.
    pub async fn connect(settings: &DbSettings) -> StorageResult<Self> {
        let sqlite = settings.url.starts_with("sqlite:");
        let pool =
            settings
                .max_connections
                .unwrap_or(if sqlite { 4 } else { postgres_pool(cores()) });
        let db = Database::connect(Self::options(settings, pool, READ_STATEMENT_CACHE)).await?;
        if db.get_database_backend() != DatabaseBackend::Sqlite {
            // Group commit and coalesced reads over the pool: a quarter of it each at most.
            let lanes = (pool as usize / 4).max(1);
            return Ok(Self {
                writer: db.clone(),
                batcher: Batcher::start(db.clone(), None, lanes),
                lookups: Lookups::start(db.clone(), lanes),
                db,
                write_gate: None,
                outbox: Arc::default(),
                watched: Arc::default(),
            });
        }
        let writer = Database::connect(Self::options(settings, 1, WRITE_STATEMENT_CACHE)).await?;
        let gate = Arc::new(Mutex::new(()));
        Ok(Self {
            lookups: Lookups::start(db.clone(), 1),
            db,
            batcher: Batcher::start(writer.clone(), Some(gate.clone()), 1),
            writer,
            write_gate: Some(gate),
            outbox: Arc::default(),
            watched: Arc::default(),
        })
    }

    fn options(
        settings: &DbSettings,
        max_connections: u32,
        statement_cache: usize,
    ) -> ConnectOptions {
        let mut opts = ConnectOptions::new(settings.url.clone());
        opts.max_connections(max_connections)
            .min_connections(1)
            .connect_timeout(Duration::from_secs(5))
            .acquire_timeout(Duration::from_secs(5))
            .sqlx_logging(false);
        if settings.url.starts_with("sqlite:") {
            // An in-process database cannot have gone away: pinging it before every query
            // would cost a round trip to the connection's worker thread each time.
            opts.test_before_acquire(false);
        } else {
            // Check only connections that sat idle long enough for a server or a proxy to
            // have closed them; a fresh one goes straight to work.
            opts.test_before_acquire_if_idle_for(Duration::from_secs(30));
        }
        let full = settings.sqlite_synchronous_full;
        opts.map_sqlx_sqlite_opts(move |o| {
            o.create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(if full {
                    SqliteSynchronous::Full
                } else {
                    SqliteSynchronous::Normal
                })
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(5))
                .statement_cache_capacity(statement_cache)
                // Room for a whole page of rows, so that the connection's worker thread hands
                // a list over without waiting for the reader to drain it.
                .row_buffer_size(1024)
        });
        opts
    }

    /// Applies every pending migration.
    pub async fn migrate(&self) -> StorageResult<()> {
        let _gate = self.gate().await;
        migration::Migrator::up(&self.writer, None).await?;
        Ok(())
    }

    /// Whether the project has enabled project-wide actions (as of the last refresh).
    pub fn watches_project(&self, project_id: i64) -> bool {
        self.watched
            .read()
            .is_ok_and(|set| set.contains(&project_id))
    }

    pub(crate) fn set_watched_projects(&self, projects: std::collections::HashSet<i64>) {
        if let Ok(mut set) = self.watched.write() {
            *set = projects;
        }
    }

    /// The signal raised when deliveries were committed (see `alerting::dispatch`).
    pub fn outbox_signal(&self) -> &Arc<Notify> {
        &self.outbox
    }

    pub fn conn(&self) -> &DatabaseConnection {
        &self.db
    }

    pub fn backend(&self) -> DatabaseBackend {
        self.db.get_database_backend()
    }

    async fn gate(&self) -> Option<MutexGuard<'_, ()>> {
        match &self.write_gate {
            Some(gate) => Some(gate.lock().await),
            None => None,
        }
    }

    /// Begins a write transaction (serialised with other writes on SQLite).
    pub async fn begin_write(&self) -> StorageResult<WriteTxn<'_>> {
        let gate = self.gate().await;
        let txn = self.writer.begin().await?;
        Ok(WriteTxn { txn, _gate: gate })
    }

    /// Runs a write that needs no reads between its statements, all or nothing, and returns the
    /// row its statements return, if any. It joins the group commit (see `batch`).
    pub async fn write(&self, job: WriteJob) -> StorageResult<Option<sea_orm::QueryResult>> {
        self.batcher.submit(job).await
    }

    /// Runs one statement on its own, in autocommit, and returns every row it returns (on
    /// SQLite between batches, like any write).
    pub async fn write_returning_all(
        &self,
        statement: sea_orm::Statement,
    ) -> StorageResult<Vec<sea_orm::QueryResult>> {
        let _gate = self.gate().await;
        Ok(self.writer.query_all_raw(statement).await?)
    }

    /// Compile options of the linked SQLite that Ratel's performance relies on and that are
    /// missing (see `.cargo/config.toml`); empty on PostgreSQL. A build that links another
    /// SQLite still works, slower: the server warns at start.
    pub async fn missing_sqlite_options(&self) -> StorageResult<Vec<&'static str>> {
        if self.backend() != DatabaseBackend::Sqlite {
            return Ok(Vec::new());
        }
        let rows = self
            .db
            .query_all_raw(sea_orm::Statement::from_string(
                DatabaseBackend::Sqlite,
                "SELECT compile_options FROM pragma_compile_options",
            ))
            .await?;
        let present: Vec<String> = rows
            .iter()
            .filter_map(|row| row.try_get_by_index::<String>(0).ok())
            .collect();
        Ok(["ENABLE_QPSG", "DEFAULT_MEMSTATUS=0"]
            .into_iter()
            .filter(|option| !present.iter().any(|p| p == option))
            .collect())
    }

    /// A cheap round trip, for readiness checks.
    pub async fn ping(&self) -> StorageResult<()> {
        self.db.ping().await.map_err(Into::into)
    }

    pub async fn close(self) {
        // A batch in progress holds the gate: let it finish.
        let gate = self.write_gate.clone();
        let _held = match &gate {
            Some(gate) => Some(gate.lock().await),
            None => None,
        };
        let _ = self.db.close().await;
        if self.write_gate.is_some() {
            let _ = self.writer.close().await;
        }
    }

    /// `EXPLAIN` output for a statement, used by tests and docs to show index use. On
    /// PostgreSQL sequential scans are disabled for the statement, so that the plan shows which
    /// index serves it even on a table too small for the planner to bother.
    pub async fn explain(&self, stmt: sea_orm::Statement) -> StorageResult<Vec<String>> {
        let prefix = match self.backend() {
            DatabaseBackend::Sqlite => "EXPLAIN QUERY PLAN ",
            _ => "EXPLAIN ",
        };
        let stmt = sea_orm::Statement {
            sql: format!("{prefix}{}", stmt.sql),
            ..stmt
        };
        let txn = self.db.begin().await?;
        if self.backend() == DatabaseBackend::Postgres {
            txn.execute_unprepared("SET LOCAL enable_seqscan = off")
                .await?;
        }
        let rows = txn.query_all_raw(stmt).await?;
        txn.rollback().await?;
        let mut out = Vec::new();
        for row in rows {
            let line = match self.backend() {
                DatabaseBackend::Sqlite => row.try_get::<String>("", "detail")?,
                _ => row.try_get::<String>("", "QUERY PLAN")?,
            };
            out.push(line);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_postgres_pool_follows_the_cores() {
        assert_eq!([1, 2, 4, 8, 16].map(postgres_pool), [8, 8, 16, 32, 32]);
    }

    #[test]
    fn a_duplicated_error_keeps_its_kind() {
        let unavailable = StorageError::Unavailable(DbErr::Custom("gone".into()));
        assert!(matches!(
            unavailable.duplicate(),
            StorageError::Unavailable(DbErr::Custom(m)) if m.contains("gone")
        ));
        let conflict = StorageError::Conflict("dup".into());
        assert!(matches!(conflict.duplicate(), StorageError::Conflict(m) if m == "dup"));
        let other = StorageError::Database(DbErr::Custom("bad".into()));
        assert!(matches!(other.duplicate(), StorageError::Database(_)));
    }
}
