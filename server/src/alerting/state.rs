//! The evaluation state a task carries: a copy of its active actions with their marks, kept
//! on the task row (`task.alerts`) so that a write learns what to evaluate from the row it
//! wrote, without another read. A task without active actions has none, and costs nothing.

use serde::{Deserialize, Serialize};

use super::trigger::{Change, Marks, Snapshot, Trigger, evaluate};
use crate::domain::tasks::{Status, value_percent};
use crate::storage::entities::{action, task};

/// One active action of a task and what it has already passed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    pub action: action::Model,
    #[serde(default)]
    pub marks: Marks,
}

/// A point that fired: which action, and the point in the trigger's notation.
#[derive(Clone, Debug, PartialEq)]
pub struct Fired {
    pub action: action::Model,
    pub point: String,
}

pub fn alerts_of(row: &task::Model) -> Vec<Alert> {
    row.alerts
        .as_ref()
        .and_then(|v| serde_json::from_value(v.clone()).ok())
        .unwrap_or_default()
}

/// Stores `alerts` on the row (null when there are none).
pub fn set_alerts(row: &mut task::Model, alerts: &[Alert]) {
    row.alerts = if alerts.is_empty() {
        None
    } else {
        serde_json::to_value(alerts).ok()
    };
}

/// What the evaluator sees of a row.
pub fn snapshot(row: &task::Model) -> Snapshot {
    Snapshot {
        value: row.value,
        percent: value_percent(row.value, row.value_max),
        status: Status::parse(&row.status),
    }
}

/// The state before an in-place update, as that update recorded it on the row.
pub fn prior_snapshot(row: &task::Model) -> Snapshot {
    let value_max = row.prior_value_max.unwrap_or(row.value_max);
    Snapshot {
        value: row.prior_value,
        percent: value_percent(row.prior_value, value_max),
        status: row.prior_status.as_deref().and_then(Status::parse),
    }
}

/// Evaluates every alert of `alerts` against `change`, updating their marks. Returns the
/// points that fired and whether any mark moved (the row then needs writing).
pub fn evaluate_all(alerts: &mut [Alert], change: Change) -> (Vec<Fired>, bool) {
    let mut fired = Vec::new();
    let mut moved = false;
    for alert in alerts.iter_mut() {
        let Ok(trigger) = Trigger::parse(&alert.action.trigger) else {
            continue;
        };
        let outcome = evaluate(&trigger, change, alert.marks);
        moved |= outcome.marks != alert.marks;
        alert.marks = outcome.marks;
        if let Some(point) = outcome.fired {
            fired.push(Fired {
                action: alert.action.clone(),
                point,
            });
        }
    }
    (fired, moved)
}

/// Evaluates the row's own alerts against `change` and keeps their new marks on the row.
pub fn evaluate_row(row: &mut task::Model, change: Change) -> (Vec<Fired>, bool) {
    let mut alerts = alerts_of(row);
    if alerts.is_empty() {
        return (Vec::new(), false);
    }
    let (fired, moved) = evaluate_all(&mut alerts, change);
    if moved {
        set_alerts(row, &alerts);
    }
    (fired, moved)
}
