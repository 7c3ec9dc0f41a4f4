//! Tasks: the lifecycle rules and the operations on them.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, SubsecRound, TimeDelta, Utc};
use serde_json::Value;

use super::actions::{self, ActionInput};
use super::auth::ProjectScope;
use super::cursor;
use super::input::Nullable;
use super::monitors;
use super::{DomainError, DomainResult};
use crate::alerting::outbox::{OnUpdate, deliveries_for, project_deliveries_for, wake};
use crate::alerting::state::{Alert, alerts_of, evaluate_all, set_alerts, snapshot};
use crate::alerting::trigger::{Change, Snapshot};
use crate::storage::deliveries::insert_deliveries;
use crate::storage::entities::task;
use crate::storage::tasks::ms;
use crate::storage::tasks::{Lifecycle, Seek, TaskChanges, TaskFilter};
use crate::storage::{Store, WriteTxn};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Pending,
    PreProcessing,
    Processing,
    PostProcessing,
    Success,
    Error,
    Cancelled,
    Stale,
}

impl Status {
    pub const ALL: [Status; 8] = [
        Status::Pending,
        Status::PreProcessing,
        Status::Processing,
        Status::PostProcessing,
        Status::Success,
        Status::Error,
        Status::Cancelled,
        Status::Stale,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::PreProcessing => "pre_processing",
            Status::Processing => "processing",
            Status::PostProcessing => "post_processing",
            Status::Success => "success",
            Status::Error => "error",
            Status::Cancelled => "cancelled",
            Status::Stale => "stale",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|st| st.as_str() == s)
    }

    pub fn is_running(self) -> bool {
        matches!(
            self,
            Status::PreProcessing | Status::Processing | Status::PostProcessing
        )
    }

    pub fn is_terminal(self) -> bool {
        matches!(self, Status::Success | Status::Error | Status::Cancelled)
    }
}

/// A whole task as written by create and PUT.
#[derive(Clone, Debug)]
pub struct TaskInput {
    pub name: String,
    pub status: Status,
    pub value: Option<i64>,
    pub value_max: i64,
    pub data: Option<Value>,
    pub max_runtime: Option<i32>,
    pub stale_timeout: Option<i32>,
    /// The automatic fields (`start_time`, `end_time`, `time_to_start`) and `parent` are
    /// `None` when the body did not mention them: they then keep their current value.
    pub start_time: Nullable<DateTime<Utc>>,
    pub end_time: Nullable<DateTime<Utc>>,
    pub time_to_start: Nullable<i64>,
    pub tags: BTreeMap<String, String>,
    pub queue: Option<String>,
    pub external_id: Option<String>,
    pub parent: Nullable<String>,
    pub actions: Vec<ActionInput>,
}

/// A partial update: `None` leaves a field alone, `Some(None)` clears a nullable one.
#[derive(Clone, Debug, Default)]
pub struct TaskPatch {
    pub name: Option<String>,
    pub status: Option<Status>,
    pub value: Nullable<i64>,
    pub value_max: Option<i64>,
    pub data: Nullable<Value>,
    pub max_runtime: Nullable<i32>,
    pub stale_timeout: Nullable<i32>,
    pub start_time: Nullable<DateTime<Utc>>,
    pub end_time: Nullable<DateTime<Utc>>,
    pub time_to_start: Nullable<i64>,
    pub tags: Option<BTreeMap<String, String>>,
    pub queue: Nullable<String>,
    pub external_id: Nullable<String>,
    pub parent: Nullable<String>,
    pub actions: Vec<ActionInput>,
}

pub const DEFAULT_VALUE_MAX: i64 = 100;

impl TaskInput {
    /// Fills the defaults of a full write from the fields that were given.
    pub fn from_patch(p: TaskPatch) -> Option<TaskInput> {
        Some(TaskInput {
            name: p.name?,
            status: p.status.unwrap_or(Status::Pending),
            value: p.value.flatten(),
            value_max: p.value_max.unwrap_or(DEFAULT_VALUE_MAX),
            data: p.data.flatten(),
            max_runtime: p.max_runtime.flatten(),
            stale_timeout: p.stale_timeout.flatten(),
            start_time: p.start_time,
            end_time: p.end_time,
            time_to_start: p.time_to_start,
            tags: p.tags.unwrap_or_default(),
            queue: p.queue.flatten(),
            external_id: p.external_id.flatten(),
            parent: p.parent,
            actions: p.actions,
        })
    }

    /// As a patch that sets every field (what PUT does to an existing task).
    fn into_patch(self) -> TaskPatch {
        TaskPatch {
            name: Some(self.name),
            status: Some(self.status),
            value: Some(self.value),
            value_max: Some(self.value_max),
            data: Some(self.data),
            max_runtime: Some(self.max_runtime),
            stale_timeout: Some(self.stale_timeout),
            start_time: self.start_time,
            end_time: self.end_time,
            time_to_start: self.time_to_start,
            tags: Some(self.tags),
            queue: Some(self.queue),
            external_id: Some(self.external_id),
            parent: self.parent,
            actions: self.actions,
        }
    }
}

/// A new task id: a ULID (48-bit millisecond time, 80 random bits) of `at`, strictly greater
/// than the previous id of this process, so "newest first" also orders tasks created in the
/// same millisecond. Within one millisecond the next id is the previous plus a random step of up
/// to 2^64: ids stay unguessable from their neighbours (the ulid crate's monotonic generator
/// steps by 1).
fn new_task_id(at: DateTime<Utc>) -> String {
    use rand::Rng;
    const RANDOM_BITS: u32 = 80;
    static LAST: std::sync::Mutex<(u64, u128)> = std::sync::Mutex::new((0, 0));
    let ms = u64::try_from(at.timestamp_millis()).unwrap_or(0);
    let mut rng = rand::rng();
    let fresh = rng.random::<u128>() >> (128 - RANDOM_BITS);
    let mut last = LAST.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let next = if ms > last.0 {
        (ms, fresh)
    } else {
        // The same millisecond (or the clock stepped back): stay after the previous id.
        let step = u128::from(rng.random::<u64>()) + 1;
        match last.1.checked_add(step).filter(|r| *r >> RANDOM_BITS == 0) {
            Some(random) => (last.0, random),
            None => (last.0 + 1, fresh),
        }
    };
    *last = next;
    ulid::Ulid::from_parts(next.0, next.1).to_string()
}

/// The current time at the precision the databases keep (microseconds), so what a write
/// returns equals what a later read returns.
pub fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

/// `100 * value / value_max`, rounded down; null when value is null or value_max is 0.
pub fn value_percent(value: Option<i64>, value_max: i64) -> Option<i64> {
    let value = value?;
    if value_max == 0 {
        return None;
    }
    let pct = i128::from(value) * 100 / i128::from(value_max);
    Some(i64::try_from(pct).unwrap_or(i64::MAX))
}

/// Formats microseconds as `[D ]HH:MM:SS[.ffffff]` (the format Task Badger's API uses).
pub fn format_duration(micros: i64) -> String {
    let (sign, micros) = if micros < 0 {
        ("-", micros.unsigned_abs())
    } else {
        ("", micros as u64)
    };
    let (secs, frac) = (micros / 1_000_000, micros % 1_000_000);
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (h, m, s) = (rem / 3600, rem % 3600 / 60, rem % 60);
    let mut out = String::from(sign);
    if days > 0 {
        out.push_str(&format!("{days} "));
    }
    out.push_str(&format!("{h:02}:{m:02}:{s:02}"));
    if frac > 0 {
        out.push_str(&format!(".{frac:06}"));
    }
    out
}

/// Parses seconds (`"90"`, `"1.5"`) or `[D ]HH:MM:SS[.ffffff]` / `MM:SS` into microseconds.
pub fn parse_duration(s: &str) -> Option<i64> {
    let s = s.trim();
    let (days, clock) = match s.split_once(' ') {
        Some((d, rest)) => (d.parse::<i64>().ok()?, rest.trim()),
        None => (0, s),
    };
    let parts: Vec<&str> = clock.split(':').collect();
    if parts.len() > 3 || parts.iter().any(|p| p.is_empty()) {
        return None;
    }
    let seconds: f64 = parts.last()?.parse().ok().filter(|f: &f64| *f >= 0.0)?;
    let mut whole: i64 = 0;
    for (i, unit) in parts.iter().rev().skip(1).zip([60_i64, 3600]) {
        whole += i.parse::<u32>().ok().map(i64::from)? * unit;
    }
    let total = (days * 86_400 + whole) as f64 * 1e6 + (seconds * 1e6).round();
    (total.is_finite() && (0.0..9.2e18).contains(&total)).then_some(total as i64)
}

/// Applies the automatic timestamps after a write changed `row` at `now`.
/// The automatic timestamps a write sets at `now`: `start_time` when the write moves the task to
/// a running state, `end_time` when it moves it to a terminal one (each only if not already set
/// and not given by the write). `time_to_start` is derived from them when read.
fn lifecycle(patch: &TaskPatch, now: DateTime<Utc>) -> Lifecycle {
    let status = patch.status;
    Lifecycle {
        start_if_unset: (status.is_some_and(Status::is_running) && patch.start_time.is_none())
            .then_some(now),
        end_if_unset: (status.is_some_and(Status::is_terminal) && patch.end_time.is_none())
            .then_some(now),
        updated: now,
    }
}

fn apply_lifecycle(row: &mut task::Model, lifecycle: &Lifecycle) {
    if row.start_time.is_none() {
        row.start_time = lifecycle.start_if_unset;
    }
    if row.end_time.is_none() {
        row.end_time = lifecycle.end_if_unset;
    }
    row.updated = lifecycle.updated;
}

/// Time from creation to start, in microseconds: the stored override or the difference.
pub fn time_to_start(row: &task::Model) -> Option<i64> {
    row.time_to_start.or_else(|| {
        row.start_time
            .and_then(|s| (s - row.created).num_microseconds())
    })
}

fn apply_patch(row: &mut task::Model, p: &TaskPatch) -> bool {
    macro_rules! set {
        ($($field:ident),*) => {$(
            if let Some(v) = &p.$field { row.$field = v.clone(); }
        )*};
    }
    if let Some(name) = &p.name {
        row.name = name.clone();
    }
    if let Some(status) = p.status {
        row.status = status.as_str().to_owned();
    }
    if let Some(value_max) = p.value_max {
        row.value_max = value_max;
    }
    set!(
        value,
        max_runtime,
        stale_timeout,
        start_time,
        end_time,
        time_to_start,
        queue,
        external_id
    );
    if let Some(data) = &p.data {
        row.data = data.clone();
    }
    p.tags.is_some()
}

/// The due times of the sweeps, from the row as it will be written (the in-place update
/// computes the same in SQL: `storage::tasks::due_columns`).
pub fn recompute_due(row: &mut task::Model) {
    let status = Status::parse(&row.status).unwrap_or(Status::Pending);
    row.stale_due = match row.stale_timeout {
        Some(timeout) if !status.is_terminal() && status != Status::Stale => {
            Some(ms(row.updated) + i64::from(timeout) * 1000)
        }
        _ => None,
    };
    row.start_ms = row.start_time.map(ms);
    row.runtime_due = match (row.max_runtime, row.start_ms) {
        (Some(max), Some(start)) if status.is_running() && !row.runtime_fired => {
            Some(start + i64::from(max) * 1000)
        }
        _ => None,
    };
}

/// Adds a write's inline actions to the row's alerts, evaluates them all against the
/// write, and returns the deliveries to insert. Inline actions see the write that created
/// them.
fn evaluate_write(
    row: &mut task::Model,
    before: Snapshot,
    added: Vec<crate::storage::entities::action::Model>,
    now: DateTime<Utc>,
) -> Vec<crate::storage::entities::delivery::ActiveModel> {
    let mut alerts = alerts_of(row);
    alerts.extend(added.into_iter().map(|action| Alert {
        action,
        marks: Default::default(),
    }));
    if alerts.is_empty() {
        return Vec::new();
    }
    let change = Change::Write {
        before,
        after: snapshot(row),
    };
    let (fired, _) = evaluate_all(&mut alerts, change);
    set_alerts(row, &alerts);
    deliveries_for(row, fired, now)
}

/// The project-wide actions' deliveries for a write (`alerting::project`), in its
/// transaction.
async fn evaluate_project_actions(
    w: &crate::storage::WriteTxn<'_>,
    row: &task::Model,
    before: Snapshot,
    now: DateTime<Utc>,
) -> DomainResult<Vec<crate::storage::entities::delivery::ActiveModel>> {
    let change = Change::Write {
        before,
        after: snapshot(row),
    };
    let fired = crate::alerting::project::evaluate(&w.txn, row, change).await?;
    Ok(project_deliveries_for(row, fired, now))
}

fn tags_of(row: &task::Model) -> BTreeMap<String, String> {
    serde_json::from_value(row.tags.clone()).unwrap_or_default()
}

/// Checks a parent assignment: same project, not itself a child, not the task itself, and the
/// task must not already have another parent or children of its own.
async fn check_parent(
    store: &Store,
    w: &WriteTxn<'_>,
    scope: &ProjectScope,
    task_id: &str,
    current: Option<&str>,
    requested: &Nullable<String>,
) -> DomainResult<Option<String>> {
    let Some(requested) = requested else {
        return Ok(current.map(str::to_owned));
    };
    if let Some(current) = current {
        return if requested.as_deref() == Some(current) {
            Ok(Some(current.to_owned()))
        } else {
            Err(DomainError::field(
                "parent",
                "invalid",
                "A task's parent cannot be changed once set.",
            ))
        };
    }
    let Some(parent_id) = requested else {
        return Ok(None);
    };
    if parent_id == task_id {
        return Err(DomainError::field(
            "parent",
            "invalid",
            "A task cannot be its own parent.",
        ));
    }
    let parent = store.get_task_in(w, scope.project_id, parent_id).await?;
    match parent {
        None => Err(DomainError::field(
            "parent",
            "does_not_exist",
            format!("Invalid pk \"{parent_id}\" - object does not exist."),
        )),
        Some(parent) if parent.parent_id.is_some() => Err(DomainError::field(
            "parent",
            "invalid",
            "Tasks can only be nested one level deep: the parent is itself a child.",
        )),
        Some(_) if store.has_children(w, scope.project_id, task_id).await? => {
            Err(DomainError::field(
                "parent",
                "invalid",
                "Tasks can only be nested one level deep: this task has children.",
            ))
        }
        Some(parent) => Ok(Some(parent.id)),
    }
}

pub async fn create(
    store: &Store,
    scope: &ProjectScope,
    input: TaskInput,
    monitor: Option<String>,
) -> DomainResult<task::Model> {
    let monitor = monitors::check_header(store, scope, monitor.as_deref()).await?;
    let now = now();
    let id = new_task_id(now);
    let patch = input.into_patch();
    let tags = patch.tags.clone().unwrap_or_default();
    let mut row = task::Model {
        id: id.clone(),
        project_id: scope.project_id,
        name: String::new(),
        status: Status::Pending.as_str().to_owned(),
        value: None,
        value_max: DEFAULT_VALUE_MAX,
        data: None,
        max_runtime: None,
        stale_timeout: None,
        start_time: None,
        end_time: None,
        time_to_start: None,
        tags: serde_json::to_value(&tags).unwrap_or(Value::Null),
        queue: None,
        external_id: None,
        parent_id: None,
        monitor_id: monitor,
        created: now,
        updated: now,
        prior_value: None,
        prior_value_max: None,
        prior_status: None,
        alerts: None,
        stale_due: None,
        start_ms: None,
        runtime_due: None,
        runtime_fired: false,
    };
    apply_patch(&mut row, &patch);
    apply_lifecycle(&mut row, &lifecycle(&patch, now));
    recompute_due(&mut row);
    let watched = store.watches_project(scope.project_id);
    if patch.parent.is_none() && patch.actions.is_empty() && !watched && row.monitor_id.is_none() {
        // The common case: nothing to read first, so the write can join a group commit.
        return Ok(store.create_task(row, &tags).await?);
    }
    actions::check_integrations(store, scope, &patch.actions, "actions.").await?;
    let w = store.begin_write().await?;
    row.parent_id = check_parent(store, &w, scope, &id, None, &patch.parent).await?;
    let mut row = store.insert_task(&w, row, &tags).await?;
    monitors::check_in(&w, &row).await?;
    let added = actions::insert_all(store, &w, &row.id, patch.actions, now).await?;
    let mut deliveries = evaluate_write(&mut row, Snapshot::default(), added, now);
    deliveries.extend(evaluate_project_actions(&w, &row, Snapshot::default(), now).await?);
    crate::storage::tasks::set_task_alerts(&w.txn, &row.id, row.alerts.clone()).await?;
    let queued = !deliveries.is_empty();
    insert_deliveries(&w.txn, deliveries).await?;
    w.commit().await?;
    if queued {
        wake(store);
    }
    Ok(row)
}

/// An id that cannot be a task's (a NUL, over-long, not a canonical ULID) is unknown like
/// any other, and never reaches the store (PostgreSQL refuses a NUL in text).
pub fn known_id(id: &str) -> DomainResult<()> {
    if cursor::is_task_id(id) {
        Ok(())
    } else {
        Err(DomainError::NotFound)
    }
}

pub async fn get(store: &Store, scope: &ProjectScope, id: &str) -> DomainResult<task::Model> {
    known_id(id)?;
    store
        .get_task(scope.project_id, id)
        .await?
        .ok_or(DomainError::NotFound)
}

/// PUT: every writable field is replaced.
pub async fn replace(
    store: &Store,
    scope: &ProjectScope,
    id: &str,
    input: TaskInput,
) -> DomainResult<task::Model> {
    update(store, scope, id, input.into_patch(), false).await
}

/// PATCH: only the given fields change; tags are merged.
pub async fn patch(
    store: &Store,
    scope: &ProjectScope,
    id: &str,
    patch: TaskPatch,
) -> DomainResult<task::Model> {
    update(store, scope, id, patch, true).await
}

async fn update(
    store: &Store,
    scope: &ProjectScope,
    id: &str,
    mut patch: TaskPatch,
    merge_tags: bool,
) -> DomainResult<task::Model> {
    known_id(id)?;
    let now = now();
    if patch.tags.is_none()
        && patch.parent.is_none()
        && patch.actions.is_empty()
        && !store.watches_project(scope.project_id)
    {
        // The common case (progress, status, data): one UPDATE ... RETURNING, no read first.
        let lifecycle = lifecycle(&patch, now);
        let changes = TaskChanges {
            name: patch.name,
            status: patch.status.map(|s| s.as_str().to_owned()),
            value: patch.value,
            value_max: patch.value_max,
            data: patch.data,
            max_runtime: patch.max_runtime,
            stale_timeout: patch.stale_timeout,
            start_time: patch.start_time,
            end_time: patch.end_time,
            time_to_start: patch.time_to_start,
            queue: patch.queue,
            external_id: patch.external_id,
            lifecycle,
        };
        let evaluation = Arc::new(OnUpdate::default());
        let row = store
            .update_task_in_place(scope.project_id, id, changes, evaluation.clone())
            .await?
            .ok_or(DomainError::NotFound)?;
        if evaluation.queued() {
            wake(store);
        }
        return Ok(row);
    }
    actions::check_integrations(store, scope, &patch.actions, "actions.").await?;
    let w = store.begin_write().await?;
    let mut row = store
        .get_task_for_update(&w, scope.project_id, id)
        .await?
        .ok_or(DomainError::NotFound)?;
    row.parent_id = check_parent(
        store,
        &w,
        scope,
        id,
        row.parent_id.as_deref(),
        &patch.parent,
    )
    .await?;
    let before = snapshot(&row);
    if merge_tags && let Some(new) = patch.tags.take() {
        let mut tags = tags_of(&row);
        tags.extend(new);
        patch.tags = Some(tags);
    }
    let tags_changed = apply_patch(&mut row, &patch);
    if let Some(tags) = &patch.tags {
        row.tags = serde_json::to_value(tags).unwrap_or(Value::Null);
    }
    apply_lifecycle(&mut row, &lifecycle(&patch, now));
    recompute_due(&mut row);
    let added =
        actions::insert_all(store, &w, &row.id, std::mem::take(&mut patch.actions), now).await?;
    let mut deliveries = evaluate_write(&mut row, before, added, now);
    deliveries.extend(evaluate_project_actions(&w, &row, before, now).await?);
    let row = store
        .update_task(&w, row, patch.tags.as_ref().filter(|_| tags_changed))
        .await?;
    let queued = !deliveries.is_empty();
    insert_deliveries(&w.txn, deliveries).await?;
    w.commit().await?;
    if queued {
        wake(store);
    }
    Ok(row)
}

/// DELETE: the task becomes cancelled (and stays readable).
pub async fn cancel(store: &Store, scope: &ProjectScope, id: &str) -> DomainResult<()> {
    let patch = TaskPatch {
        status: Some(Status::Cancelled),
        ..TaskPatch::default()
    };
    update(store, scope, id, patch, true).await.map(|_| ())
}

/// Whether a filter asks for text no task can hold (a NUL) or a parent that cannot exist.
fn matches_nothing(f: &TaskFilter) -> bool {
    let nul = |s: &str| s.contains('\0');
    f.name.as_deref().is_some_and(nul)
        || f.external_id.as_deref().is_some_and(nul)
        || f.parent.as_deref().is_some_and(|p| !cursor::is_task_id(p))
        || f.tags.iter().any(|(k, v)| nul(k) || nul(v))
}

/// A list request after parsing.
#[derive(Clone, Debug, Default)]
pub struct ListRequest {
    pub cursor: Option<String>,
    pub page_size: Option<u64>,
    pub filter: TaskFilter,
}

pub const DEFAULT_PAGE_SIZE: u64 = 100;
pub const MAX_PAGE_SIZE: u64 = 1000;

pub struct ListPage {
    pub tasks: Vec<task::Model>,
    pub next: Option<String>,
    pub previous: Option<String>,
    pub page_size: u64,
}

pub async fn list(
    store: &Store,
    scope: &ProjectScope,
    mut req: ListRequest,
) -> DomainResult<ListPage> {
    let page_size = req
        .page_size
        .unwrap_or(DEFAULT_PAGE_SIZE)
        .clamp(1, MAX_PAGE_SIZE);
    let seek = match &req.cursor {
        Some(c) => cursor::decode(c)?,
        None => Seek::First,
    };
    if matches_nothing(&req.filter) {
        return Ok(ListPage {
            tasks: Vec::new(),
            next: None,
            previous: None,
            page_size,
        });
    }
    // Ids are ULIDs of the creation instant: a created-at bound is also an id bound.
    if let Some(after) = req.filter.created_after {
        req.filter.id_at_least = Some(ulid_floor(after));
    }
    if let Some(before) = req.filter.created_before {
        req.filter.id_below = Some(ulid_floor(before + TimeDelta::milliseconds(1)));
    }
    let page = store
        .list_tasks(scope.project_id, &req.filter, &seek, page_size)
        .await?;
    let (first, last) = match (page.tasks.first(), page.tasks.last()) {
        (Some(f), Some(l)) => (f.id.clone(), l.id.clone()),
        _ => {
            return Ok(ListPage {
                tasks: page.tasks,
                next: None,
                previous: None,
                page_size,
            });
        }
    };
    let (more_older, more_newer, ceiling) = match &seek {
        Seek::First => (page.more, false, first.clone()),
        // We came from a newer page, so newer tasks exist.
        Seek::Older { ceiling, .. } => (page.more, true, ceiling.clone()),
        // We came from an older page (the anchor), so older tasks exist.
        Seek::Newer { ceiling, .. } => (true, page.more, ceiling.clone()),
    };
    let next = more_older.then(|| Seek::Older {
        anchor: last,
        ceiling: ceiling.clone(),
    });
    let previous = more_newer.then_some(Seek::Newer {
        anchor: first,
        ceiling,
    });
    Ok(ListPage {
        tasks: page.tasks,
        next: next.as_ref().and_then(cursor::encode),
        previous: previous.as_ref().and_then(cursor::encode),
        page_size,
    })
}

/// The smallest id a task created at `t` can have (millisecond precision, as ULIDs).
fn ulid_floor(t: DateTime<Utc>) -> String {
    let ms = u64::try_from(t.timestamp_millis()).unwrap_or(0);
    ulid::Ulid::from_parts(ms.min((1 << 48) - 1), 0).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_rounds_down_and_handles_zero_max() {
        assert_eq!(value_percent(Some(42), 200), Some(21));
        assert_eq!(value_percent(Some(1), 3), Some(33));
        assert_eq!(value_percent(None, 100), None);
        assert_eq!(value_percent(Some(5), 0), None);
        assert_eq!(value_percent(Some(i64::MAX), 1), Some(i64::MAX));
    }

    #[test]
    fn ids_increase_within_a_millisecond() {
        let at = now();
        let ids: Vec<String> = (0..100).map(|_| new_task_id(at)).collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
        assert!(ids.iter().all(|id| id.len() == 26));
    }

    #[test]
    fn durations_round_trip() {
        assert_eq!(format_duration(1_500_000), "00:00:01.500000");
        assert_eq!(format_duration(90_061_000_000), "1 01:01:01");
        assert_eq!(parse_duration("00:00:01.500000"), Some(1_500_000));
        assert_eq!(parse_duration("1 01:01:01"), Some(90_061_000_000));
        assert_eq!(parse_duration("90"), Some(90_000_000));
        assert_eq!(parse_duration("01:30"), Some(90_000_000));
        assert_eq!(parse_duration("x"), None);
        assert_eq!(parse_duration("1:2:3:4"), None);
        assert_eq!(parse_duration("-5"), None);
    }
}
