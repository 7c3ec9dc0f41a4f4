//! Project-wide actions: each applies to every task of its project whose name matches its
//! `name_filter`, beside the task's own actions, with the same trigger rules. A project that
//! has any takes the evaluating write path; the actions and their per-task marks are read
//! inside the write's transaction, so a disabled action stops at once.

use std::collections::HashMap;
use std::time::Duration;

use regex::Regex;
use sea_orm::ConnectionTrait;

use super::trigger::{Change, Marks, Trigger, evaluate as evaluate_trigger};
use crate::storage::entities::{project_action, project_action_mark, task};
use crate::storage::project_actions::{
    enabled_project_actions, project_action_marks, set_project_action_mark,
};
use crate::storage::{StorageResult, Store};

/// The longest `name_filter` accepted.
pub const MAX_FILTER_LEN: usize = 1000;

/// How often each process re-reads which projects have enabled project-wide actions (a
/// project that gets its first one on another replica is evaluated within this).
pub const WATCH_INTERVAL: Duration = Duration::from_millis(250);

/// A point a project-wide action fired on a task.
#[derive(Clone, Debug, PartialEq)]
pub struct ProjectFired {
    pub action: project_action::Model,
    pub point: String,
}

/// Compiles a name filter: an unanchored, case-sensitive search; empty matches every name.
/// The error is the user-facing reason.
pub fn compile_filter(filter: &str) -> Result<Option<Regex>, String> {
    if filter.is_empty() {
        return Ok(None);
    }
    if filter.chars().count() > MAX_FILTER_LEN {
        return Err(format!(
            "Ensure this field has no more than {MAX_FILTER_LEN} characters."
        ));
    }
    Regex::new(filter)
        .map(Some)
        .map_err(|err| format!("Not a valid regular expression: {err}"))
}

/// Whether `name` matches the action's filter.
pub fn name_matches(action: &project_action::Model, name: &str) -> bool {
    match compile_filter(&action.name_filter) {
        Ok(None) => true,
        Ok(Some(re)) => re.is_match(name),
        Err(_) => false,
    }
}

/// Evaluates the project's enabled project-wide actions against `change` of `row` (the row
/// as written), keeping their marks per (action, task) in the caller's transaction.
pub async fn evaluate(
    conn: &impl ConnectionTrait,
    row: &task::Model,
    change: Change,
) -> StorageResult<Vec<ProjectFired>> {
    let actions: Vec<project_action::Model> = enabled_project_actions(conn, row.project_id)
        .await?
        .into_iter()
        .filter(|a| name_matches(a, &row.name))
        .collect();
    if actions.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<i64> = actions.iter().map(|a| a.id).collect();
    let marks: HashMap<i64, Marks> = project_action_marks(conn, &row.id, &ids)
        .await?
        .into_iter()
        .map(|m| {
            let marks = Marks {
                value: m.value,
                percent: m.percent,
            };
            (m.action_id, marks)
        })
        .collect();
    let mut fired = Vec::new();
    for action in actions {
        let Ok(trigger) = Trigger::parse(&action.trigger) else {
            continue;
        };
        let before = marks.get(&action.id).copied().unwrap_or_default();
        let outcome = evaluate_trigger(&trigger, change, before);
        if outcome.marks != before {
            set_project_action_mark(
                conn,
                project_action_mark::Model {
                    action_id: action.id,
                    task_id: row.id.clone(),
                    value: outcome.marks.value,
                    percent: outcome.marks.percent,
                },
            )
            .await?;
        }
        if let Some(point) = outcome.fired {
            fired.push(ProjectFired { action, point });
        }
    }
    Ok(fired)
}

/// Keeps this process's view of which projects have project-wide actions fresh.
pub async fn watch(store: Store) {
    let mut ticks = tokio::time::interval(WATCH_INTERVAL);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        if let Err(err) = store.refresh_watched_projects().await {
            tracing::debug!(error = %err, "reading the projects with project-wide actions failed");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_search_unanchored_and_case_sensitive() {
        let action = |filter: &str| project_action::Model {
            id: 1,
            project_id: 1,
            name: "a".into(),
            name_filter: filter.into(),
            trigger: "error".into(),
            integration: "email".into(),
            config: serde_json::json!({}),
            enabled: true,
            created: chrono::Utc::now(),
            updated: chrono::Utc::now(),
        };
        assert!(name_matches(&action(""), "anything"));
        assert!(name_matches(&action("export"), "nightly-export-eu"));
        assert!(!name_matches(&action("Export"), "nightly-export"));
        assert!(name_matches(&action("^nightly-"), "nightly-export"));
        assert!(!name_matches(&action("^export"), "nightly-export"));
        assert!(compile_filter("(unclosed").is_err());
        assert!(compile_filter(&"a".repeat(MAX_FILTER_LEN + 1)).is_err());
        // Within the length limit but past the regex crate's compiled-size limit.
        assert!(compile_filter(&format!("(\\w{{100}}){{{}}}", 200)).is_err());
    }
}
