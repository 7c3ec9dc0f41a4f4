//! How the alerting engine shows tasks, actions and monitors in the events it sends: exactly as the
//! API's `task_get` and `action_get` do.

use serde_json::Value;

use super::models::{Action, Links, Monitor, ProjectAction, Task};
use crate::alerting::Presenter;
use crate::storage::entities::{action, monitor, project_action, task};

pub struct ApiPresenter {
    /// The public base URL (of `url` and `public_url`).
    pub base: String,
}

impl Presenter for ApiPresenter {
    fn task(&self, row: task::Model, organization: &str, project: &str) -> Value {
        let links = Links {
            base: &self.base,
            organization,
            project,
        };
        serde_json::to_value(Task::from_row(row, &links)).unwrap_or(Value::Null)
    }

    fn action(&self, row: action::Model) -> Value {
        serde_json::to_value(Action::from(row)).unwrap_or(Value::Null)
    }

    fn project_action(&self, row: project_action::Model) -> Value {
        serde_json::to_value(ProjectAction::from(row)).unwrap_or(Value::Null)
    }

    fn monitor(&self, row: monitor::Model) -> Value {
        serde_json::to_value(Monitor::from(row)).unwrap_or(Value::Null)
    }
}
