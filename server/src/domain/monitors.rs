//! Monitors: stored and validated here; the check-in of a task created with the
//! `X-TASKBADGER-MONITOR` header happens in the task's create transaction. What states mean
//! and when events fire is `alerting::monitor`; the sweep that moves them is
//! `alerting::monitor_sweep`.

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::json;

use super::actions::check_alert;
use super::auth::ProjectScope;
use super::input::MonitorPatch;
use super::{DomainError, DomainResult, FieldError, tasks};
use crate::alerting::monitor::{self as machine, check_in as record_check_in};
use crate::alerting::schedule::Schedule;
use crate::storage::entities::{monitor, task};
use crate::storage::monitors::{insert_monitor_run, lock_monitor, save_monitor};
use crate::storage::tasks::ms;
use crate::storage::{Store, WriteTxn};

/// A new monitor's grace period: five minutes.
pub const DEFAULT_GRACE: i64 = 300;
/// The header a task create links its monitor with (and the attr of its errors).
pub const MONITOR_HEADER: &str = "X-TASKBADGER-MONITOR";

/// A monitor id in its canonical form (lower-case hyphenated UUID); `None` if not a UUID.
pub fn canonical_id(id: &str) -> Option<String> {
    uuid::Uuid::parse_str(id)
        .ok()
        .map(|u| u.hyphenated().to_string())
}

pub async fn list(store: &Store, scope: &ProjectScope) -> DomainResult<Vec<monitor::Model>> {
    Ok(store.list_monitors(scope.project_id).await?)
}

pub async fn get(store: &Store, scope: &ProjectScope, id: &str) -> DomainResult<monitor::Model> {
    let id = canonical_id(id).ok_or(DomainError::NotFound)?;
    store
        .get_monitor(scope.project_id, &id)
        .await?
        .ok_or(DomainError::NotFound)
}

/// Merges `patch` into `row` and validates the result as a whole.
async fn apply(
    store: &Store,
    scope: &ProjectScope,
    row: &mut monitor::Model,
    patch: MonitorPatch,
) -> DomainResult<()> {
    let mut errors = Vec::new();
    if let Some(kind) = patch.kind {
        row.kind = kind;
    }
    let cron = row.kind == "cron";
    match patch.interval {
        Some(Some(_)) if cron => errors.push(FieldError::new(
            "interval",
            "invalid",
            "A cron monitor has a schedule, not an interval.",
        )),
        Some(interval) => row.interval_secs = interval,
        None => {}
    }
    match patch.schedule {
        Some(Some(_)) if !cron => errors.push(FieldError::new(
            "schedule",
            "invalid",
            "An interval monitor has an interval, not a schedule.",
        )),
        Some(schedule) => row.schedule = schedule,
        None => {}
    }
    match patch.timezone {
        Some(_) if !cron => errors.push(FieldError::new(
            "timezone",
            "invalid",
            "Only cron monitors have a time zone.",
        )),
        Some(timezone) => row.timezone = timezone,
        None => {}
    }
    // A monitor that changed kind forgets the other kind's fields.
    if cron {
        row.interval_secs = None;
    } else {
        row.schedule = None;
        row.timezone = "UTC".to_owned();
    }
    let checked = match (cron, row.interval_secs, row.schedule.as_deref()) {
        (false, Some(secs), _) => Schedule::interval(secs).map(drop),
        (true, _, Some(pattern)) => Schedule::cron(pattern, &row.timezone).map(drop),
        (false, None, _) => Err(required("interval")),
        (true, _, None) => Err(required("schedule")),
    };
    if let Err(e) = checked {
        errors.push(FieldError::new(e.attr, "invalid", e.detail));
    }
    if let Some(name) = patch.name {
        row.name = name;
    }
    if let Some(grace) = patch.grace {
        row.grace = grace;
    }
    if let Some(max_runtime) = patch.max_runtime {
        row.max_runtime = max_runtime;
    }
    if let Some(integration) = patch.alert_integration {
        row.alert_integration = integration;
    }
    if let Some(config) = patch.alert_config {
        row.alert_config = config.unwrap_or_else(|| json!({}));
    }
    if let Some(integration) = row.alert_integration.clone() {
        match check_alert(&integration, row.alert_config.clone(), "alert_") {
            Ok(config) => row.alert_config = config,
            Err(e) => errors.push(e),
        }
    }
    if !errors.is_empty() {
        return Err(DomainError::Validation(errors));
    }
    if let Some(slug) = row
        .alert_integration
        .as_deref()
        .and_then(|i| i.strip_prefix("webhook:"))
        && store.get_webhook(scope.project_id, slug).await?.is_none()
    {
        return Err(DomainError::field(
            "alert_integration",
            "does_not_exist",
            format!("There is no web hook \"{slug}\" in this project."),
        ));
    }
    Ok(())
}

fn required(attr: &'static str) -> crate::alerting::schedule::ScheduleError {
    crate::alerting::schedule::ScheduleError {
        attr,
        detail: "This field is required.".to_owned(),
    }
}

pub async fn create(
    store: &Store,
    scope: &ProjectScope,
    patch: MonitorPatch,
) -> DomainResult<monitor::Model> {
    let now = tasks::now();
    let mut row = monitor::Model {
        id: uuid::Uuid::new_v4().hyphenated().to_string(),
        project_id: scope.project_id,
        name: String::new(),
        kind: String::new(),
        interval_secs: None,
        schedule: None,
        timezone: "UTC".to_owned(),
        grace: DEFAULT_GRACE,
        max_runtime: None,
        alert_integration: None,
        alert_config: json!({}),
        enabled: patch.enabled.unwrap_or(true),
        state: machine::State::New.as_str().to_owned(),
        last_task: None,
        last_run_at: None,
        next_expected_at: None,
        due_ms: None,
        revision: 0,
        created: now,
        updated: now,
    };
    apply(store, scope, &mut row, patch).await?;
    Ok(store.insert_monitor(row).await?)
}

/// PATCH: validated as a whole first, then applied to the monitor under its row lock (the
/// sweep and check-ins may be changing its state meanwhile). `enabled: false` pauses it;
/// `enabled: true` on a paused one resumes it as `new`; a new schedule moves the expectation.
pub async fn update(
    store: &Store,
    scope: &ProjectScope,
    id: &str,
    patch: MonitorPatch,
) -> DomainResult<monitor::Model> {
    let current = get(store, scope, id).await?;
    let enabled = patch.enabled;
    let mut checked = current.clone();
    apply(store, scope, &mut checked, patch).await?;
    let now = tasks::now();
    let w = store.begin_write().await?;
    let mut row = lock_monitor(&w, &current.id)
        .await?
        .ok_or(DomainError::NotFound)?;
    let rescheduled = checked.kind != row.kind
        || checked.interval_secs != row.interval_secs
        || checked.schedule != row.schedule
        || checked.timezone != row.timezone
        || checked.grace != row.grace;
    row.name = checked.name;
    row.kind = checked.kind;
    row.interval_secs = checked.interval_secs;
    row.schedule = checked.schedule;
    row.timezone = checked.timezone;
    row.grace = checked.grace;
    row.max_runtime = checked.max_runtime;
    row.alert_integration = checked.alert_integration;
    row.alert_config = checked.alert_config;
    let was_enabled = row.enabled;
    row.enabled = enabled.unwrap_or(row.enabled);
    if row.enabled && !was_enabled {
        machine::resumed(&mut row);
    } else if rescheduled || row.enabled != was_enabled {
        machine::rescheduled(&mut row, now);
    }
    row.updated = now;
    let row = save_monitor(&w, row).await?;
    w.commit().await?;
    Ok(row)
}

pub async fn delete(store: &Store, scope: &ProjectScope, id: &str) -> DomainResult<()> {
    let row = get(store, scope, id).await?;
    Ok(store.delete_monitor(&row.id).await?)
}

fn header_error(code: &'static str, detail: impl Into<String>) -> DomainError {
    DomainError::field(MONITOR_HEADER, code, detail)
}

/// The monitor a task create names in its header, in canonical form: a 400 naming the
/// header when it is not a monitor of this project (checked before anything is written).
pub async fn check_header(
    store: &Store,
    scope: &ProjectScope,
    header: Option<&str>,
) -> DomainResult<Option<String>> {
    let Some(value) = header else {
        return Ok(None);
    };
    let Some(id) = canonical_id(value) else {
        return Err(header_error("invalid", "Must be a valid UUID."));
    };
    if store.get_monitor(scope.project_id, &id).await?.is_none() {
        return Err(header_error(
            "does_not_exist",
            format!("There is no monitor \"{id}\" in this project."),
        ));
    }
    Ok(Some(id))
}

/// Links a task just inserted to its monitor, inside the create's transaction: the run is
/// counted (the next one is expected from it) and, unless the monitor is paused, its outcome
/// awaited, with the monitor's `max_runtime` as its deadline.
pub async fn check_in(w: &WriteTxn<'_>, task: &task::Model) -> DomainResult<()> {
    let Some(id) = task.monitor_id.as_deref() else {
        return Ok(());
    };
    let Some(mut m) = lock_monitor(w, id).await? else {
        // Deleted since the header was checked.
        return Err(header_error(
            "does_not_exist",
            format!("There is no monitor \"{id}\" in this project."),
        ));
    };
    let at = task.created;
    let tracked = record_check_in(&mut m, &task.id, at);
    let deadline = m.max_runtime.and_then(|secs| deadline_ms(at, secs));
    m.updated = at;
    save_monitor(w, m).await?;
    if tracked {
        insert_monitor_run(w, &task.id, id, deadline).await?;
    }
    Ok(())
}

fn deadline_ms(start: DateTime<Utc>, secs: i64) -> Option<i64> {
    start.checked_add_signed(TimeDelta::seconds(secs)).map(ms)
}

/// The state the API shows (`paused` while disabled).
pub fn shown_state(m: &monitor::Model) -> &str {
    machine::shown_state(m)
}
