//! The outbox: what a fired point writes, in the transaction of the write that fired it.

use std::sync::atomic::{AtomicBool, Ordering};

use chrono::{DateTime, SecondsFormat, Utc};
use sea_orm::{ConnectionTrait, DatabaseBackend, QueryResult, Set};
use serde_json::json;

use super::monitor::Event;
use super::project::ProjectFired;
use super::state::{Fired, evaluate_row, prior_snapshot, snapshot};
use super::trigger::Change;
use crate::storage::batch::{AfterWrite, Followup};
use crate::storage::deliveries::{PENDING, insert_deliveries, insert_statement};
use crate::storage::entities::{action, delivery, monitor, project_action, task};
use crate::storage::tasks::{decode_task, ms, set_alerts_statement, set_task_alerts};
use crate::storage::{StorageResult, Store};

/// The `type` of task events.
pub const TASK_TRIGGERED: &str = "task.triggered";

/// The delivery rows for points that fired on `row` at `now`: one per point, due at once.
pub fn deliveries_for(
    row: &task::Model,
    fired: Vec<Fired>,
    now: DateTime<Utc>,
) -> Vec<delivery::ActiveModel> {
    fired
        .into_iter()
        .map(|f| new_delivery(row, now, f.point, Source::Task(&f.action)))
        .collect()
}

/// The delivery rows for points that project-wide actions fired on `row` at `now`.
pub fn project_deliveries_for(
    row: &task::Model,
    fired: Vec<ProjectFired>,
    now: DateTime<Utc>,
) -> Vec<delivery::ActiveModel> {
    fired
        .into_iter()
        .map(|f| new_delivery(row, now, f.point, Source::Project(&f.action)))
        .collect()
}

/// What fired a point: a task's own action or a project-wide one.
enum Source<'a> {
    Task(&'a action::Model),
    Project(&'a project_action::Model),
}

/// One delivery, due at once. Its payload is the task as it was when the point fired and what
/// fired it (`action` or `project_action`, which the dispatcher reads back).
fn new_delivery(
    row: &task::Model,
    now: DateTime<Utc>,
    point: String,
    source: Source<'_>,
) -> delivery::ActiveModel {
    let mut snapshot = row.clone();
    snapshot.alerts = None;
    let mut payload = json!({
        "type": TASK_TRIGGERED,
        "timestamp": now.to_rfc3339_opts(SecondsFormat::Micros, true),
        "task": snapshot,
    });
    let (action_id, project_action_id, integration) = match source {
        Source::Task(a) => {
            payload["action"] = json!(a);
            (Some(a.id), None, a.integration.clone())
        }
        Source::Project(a) => {
            payload["project_action"] = json!(a);
            (None, Some(a.id), a.integration.clone())
        }
    };
    let id = ulid::Ulid::new().to_string();
    delivery::ActiveModel {
        event_id: Set(format!("evt_{id}")),
        id: Set(id),
        project_id: Set(row.project_id),
        task_id: Set(row.id.clone()),
        action_id: Set(action_id),
        project_action_id: Set(project_action_id),
        monitor_id: Set(None),
        trigger: Set(point),
        integration: Set(integration),
        payload: Set(payload),
        status: Set(PENDING.to_owned()),
        attempt_count: Set(0),
        next_attempt_ms: Set(ms(now)),
        lease_until: Set(None),
        last_error: Set(None),
        created: Set(now),
        updated: Set(now),
    }
}

/// Evaluates `change` on a row that is already written, and writes what follows in the
/// same transaction: the alerts' new marks and a delivery per fired point. Returns how many
/// deliveries were queued, and whether the row was written again.
pub async fn record_change(
    conn: &impl ConnectionTrait,
    row: &mut task::Model,
    change: Change,
    now: DateTime<Utc>,
) -> StorageResult<(usize, bool)> {
    let (fired, moved) = evaluate_row(row, change);
    if moved {
        set_task_alerts(conn, &row.id, row.alerts.clone()).await?;
    }
    let project_fired = super::project::evaluate(conn, row, change).await?;
    let count = fired.len() + project_fired.len();
    let mut rows = deliveries_for(row, fired, now);
    rows.extend(project_deliveries_for(row, project_fired, now));
    insert_deliveries(conn, rows).await?;
    Ok((count, moved))
}

/// The evaluation of an in-place update (`storage::batch::AfterWrite`): the update records
/// the state before it on the row, so before and after come from the returned row alone,
/// and a task without actions is done after reading one column.
#[derive(Default)]
pub struct OnUpdate {
    queued: AtomicBool,
}

impl OnUpdate {
    /// Whether a run queued deliveries (then wake the dispatcher once committed).
    pub fn queued(&self) -> bool {
        self.queued.load(Ordering::Relaxed)
    }
}

impl AfterWrite for OnUpdate {
    fn follow(
        &self,
        backend: DatabaseBackend,
        row: &QueryResult,
        rewritten: Option<&serde_json::Value>,
    ) -> StorageResult<Followup> {
        let alerts: Option<serde_json::Value> = row.try_get("", "alerts")?;
        if alerts.is_none() {
            return Ok(Followup::default());
        }
        let mut task = decode_task(row)?;
        if let Some(alerts) = rewritten {
            // An earlier write of this batch moved the marks since `row` was returned.
            task.alerts = Some(alerts.clone());
        }
        let change = Change::Write {
            before: prior_snapshot(&task),
            after: snapshot(&task),
        };
        let (fired, moved) = evaluate_row(&mut task, change);
        let mut followup = Followup::default();
        if moved {
            let alerts = task.alerts.clone();
            followup
                .statements
                .push(set_alerts_statement(backend, &task.id, alerts.clone()));
            followup.rewrote = Some(alerts.unwrap_or_default());
        }
        if !fired.is_empty() {
            self.queued.store(true, Ordering::Relaxed);
        }
        let now = task.updated;
        followup
            .statements
            .extend(insert_statement(backend, deliveries_for(&task, fired, now)));
        Ok(followup)
    }
}

/// Wakes this process's dispatcher (after a commit that queued deliveries).
pub fn wake(store: &Store) {
    store.outbox_signal().notify_one();
}

/// The delivery of a monitor event to the monitor's integration (none when it has none):
/// the monitor and the linked task (none for `monitor.missed`) as they were when it fired.
pub fn monitor_delivery(
    m: &monitor::Model,
    event: Event,
    task: Option<&task::Model>,
    now: DateTime<Utc>,
) -> Option<delivery::ActiveModel> {
    let integration = m.alert_integration.clone()?;
    let task = task.map(|t| {
        let mut t = t.clone();
        t.alerts = None;
        t
    });
    let payload = json!({
        "type": event.as_str(),
        "timestamp": now.to_rfc3339_opts(SecondsFormat::Micros, true),
        "monitor": m,
        "task": task,
    });
    let id = ulid::Ulid::new().to_string();
    Some(delivery::ActiveModel {
        event_id: Set(format!("evt_{id}")),
        id: Set(id),
        project_id: Set(m.project_id),
        task_id: Set(task.map(|t| t.id).unwrap_or_default()),
        action_id: Set(None),
        project_action_id: Set(None),
        monitor_id: Set(Some(m.id.clone())),
        trigger: Set(event.as_str().to_owned()),
        integration: Set(integration),
        payload: Set(payload),
        status: Set(PENDING.to_owned()),
        attempt_count: Set(0),
        next_attempt_ms: Set(ms(now)),
        lease_until: Set(None),
        last_error: Set(None),
        created: Set(now),
        updated: Set(now),
    })
}
