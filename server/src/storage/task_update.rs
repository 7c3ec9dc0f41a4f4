//! The in-place task UPDATE of the hot path (PATCH, PUT without tags, cancel), written as
//! SQL text directly. sea-query built the same text on every request from an expression
//! tree (the due-time `CASE`s included), and allocating, cloning and walking that tree was
//! about a sixth of a PATCH's CPU; here it is a string and a vector of values.
//!
//! Besides the given columns, the update records the state before it (`prior_*`, which the
//! alerting engine compares) and recomputes the due times of the stale and max_runtime
//! sweeps (see `task::Model`): `SET` expressions read the row as it was before the update.

use std::fmt::Write as _;
use std::sync::LazyLock;

use sea_orm::prelude::DateTimeUtc;
use sea_orm::{DatabaseBackend, IdenStatic, Statement, Value};

use super::entities::task;
use super::tasks::{TASK_COLUMNS, TaskChanges, UPDATE_RETURNS, ms};

/// `"id", "project_id", …`: the columns `decode_task` reads, up to the due times.
static RETURNING: LazyLock<String> = LazyLock::new(|| {
    let names: Vec<String> = TASK_COLUMNS[..UPDATE_RETURNS]
        .iter()
        .map(|c| format!("\"{}\"", c.as_str()))
        .collect();
    names.join(", ")
});

/// Statuses after which a task can no longer go stale, as an SQL list.
const NOT_STALING: &str = "('success', 'error', 'cancelled', 'stale')";
/// Statuses in which a task is running (and `max_runtime` counts), as an SQL list.
const RUNNING: &str = "('pre_processing', 'processing', 'post_processing')";

/// The text and values of a statement being written.
struct Sql {
    backend: DatabaseBackend,
    text: String,
    values: Vec<Value>,
}

impl Sql {
    /// Binds `value` and writes its placeholder.
    fn bind(&mut self, value: impl Into<Value>) {
        self.values.push(value.into());
        match self.backend {
            DatabaseBackend::Postgres => {
                let _ = write!(self.text, "${}", self.values.len());
            }
            _ => self.text.push('?'),
        }
    }

    /// The placeholder of a value to bind, or the column itself when none is given.
    fn bind_or_column<V: Into<Value>>(&mut self, given: Option<V>, column: task::Column) {
        match given {
            Some(v) => self.bind(v),
            None => self.column(column),
        }
    }

    fn column(&mut self, column: task::Column) {
        self.text.push('"');
        self.text.push_str(column.as_str());
        self.text.push('"');
    }

    /// Starts `"column" = ` of the SET list.
    fn set(&mut self, column: task::Column) {
        if !self.text.ends_with(" SET ") {
            self.text.push_str(", ");
        }
        self.column(column);
        self.text.push_str(" = ");
    }

    /// A lifecycle time: the given value, else `at` if the column is still null, else
    /// nothing.
    fn set_time(
        &mut self,
        column: task::Column,
        given: Option<Option<DateTimeUtc>>,
        at: Option<DateTimeUtc>,
    ) {
        match (given, at) {
            (Some(v), _) => {
                self.set(column);
                self.bind(v);
            }
            (None, Some(at)) => {
                self.set(column);
                self.push("COALESCE(");
                self.column(column);
                self.push(", ");
                self.bind(at);
                self.push(")");
            }
            (None, None) => {}
        }
    }

    fn push(&mut self, sql: &str) {
        self.text.push_str(sql);
    }
}

/// The update of task `id` in `project_id`, returning the row; and the same update limited
/// to a task without actions (`alerts IS NULL`), when `unwatched` is asked for.
pub fn update_statements(
    backend: DatabaseBackend,
    project_id: i64,
    id: &str,
    c: TaskChanges,
    unwatched: bool,
) -> (Statement, Option<Statement>) {
    use task::Column as C;
    let now = ms(c.lifecycle.updated);
    let mut q = Sql {
        backend,
        text: String::with_capacity(1536),
        values: Vec::with_capacity(16),
    };
    q.push("UPDATE \"task\" SET ");
    q.set(C::Updated);
    q.bind(c.lifecycle.updated);
    // The state before the update, for the alerting engine.
    q.push(", \"prior_value\" = \"value\", \"prior_value_max\" = \"value_max\", \"prior_status\" = \"status\"");
    let status = c.status.clone();
    macro_rules! set {
        ($($field:ident => $col:expr),* $(,)?) => {$(
            if let Some(v) = c.$field {
                q.set($col);
                q.bind(v);
            }
        )*};
    }
    set!(
        name => C::Name,
        status => C::Status,
        value => C::Value,
        value_max => C::ValueMax,
        data => C::Data,
        max_runtime => C::MaxRuntime,
        stale_timeout => C::StaleTimeout,
        time_to_start => C::TimeToStart,
        queue => C::Queue,
        external_id => C::ExternalId,
    );
    q.set_time(C::StartTime, c.start_time, c.lifecycle.start_if_unset);
    q.set_time(C::EndTime, c.end_time, c.lifecycle.end_if_unset);

    // Any write counts as an update: staleness is due `stale_timeout` from now.
    q.set(C::StaleDue);
    q.push("CASE WHEN ");
    q.bind_or_column(status.clone(), C::Status);
    q.push(" IN ");
    q.push(NOT_STALING);
    q.push(" OR ");
    q.bind_or_column(c.stale_timeout, C::StaleTimeout);
    q.push(" IS NULL THEN NULL ELSE ");
    q.bind(now);
    q.push(" + ");
    q.bind_or_column(c.stale_timeout, C::StaleTimeout);
    q.push(" * CAST(1000 AS BIGINT) END");

    // max_runtime counts from the start while running; recomputed when any of them changes.
    let start_ms = match (c.start_time, c.lifecycle.start_if_unset) {
        (Some(given), _) => Some(Some(given.map(ms))),
        (None, Some(_)) => Some(None),
        (None, None) => None,
    };
    let start = |q: &mut Sql| match start_ms {
        Some(Some(given)) => q.bind(given),
        Some(None) => {
            q.push("COALESCE(\"start_ms\", ");
            q.bind(now);
            q.push(")");
        }
        None => q.column(C::StartMs),
    };
    if start_ms.is_some() {
        q.set(C::StartMs);
        start(&mut q);
    }
    if status.is_some() || c.max_runtime.is_some() || start_ms.is_some() {
        q.set(C::RuntimeDue);
        q.push("CASE WHEN \"runtime_fired\" OR ");
        q.bind_or_column(status, C::Status);
        q.push(" NOT IN ");
        q.push(RUNNING);
        q.push(" OR ");
        q.bind_or_column(c.max_runtime, C::MaxRuntime);
        q.push(" IS NULL OR ");
        start(&mut q);
        q.push(" IS NULL THEN NULL ELSE ");
        start(&mut q);
        q.push(" + ");
        q.bind_or_column(c.max_runtime, C::MaxRuntime);
        q.push(" * CAST(1000 AS BIGINT) END");
    }

    q.push(" WHERE \"id\" = ");
    q.bind(id);
    q.push(" AND \"project_id\" = ");
    q.bind(project_id);
    let unwatched = unwatched.then(|| {
        let text = format!("{} AND \"alerts\" IS NULL RETURNING {}", q.text, *RETURNING);
        Statement::from_sql_and_values(backend, text, q.values.clone())
    });
    q.push(" RETURNING ");
    q.push(&RETURNING);
    (
        Statement::from_sql_and_values(backend, q.text, q.values),
        unwatched,
    )
}
