//! Monitors: the expectation that a scheduled job runs (every so often, or on a cron
//! schedule), and the SDK calls that manage them. A task created with
//! [`NewTask::monitor`](crate::NewTask::monitor) is one of its runs.

use serde::Serialize;

use crate::generated::types;
use crate::task::to_generated;
use crate::{Client, Error};

/// A new monitor.
///
/// ```no_run
/// # async fn demo(client: ratel_client::Client) -> Result<(), ratel_client::Error> {
/// use ratel_client::NewMonitor;
/// let nightly = client
///     .create_monitor(
///         NewMonitor::cron("nightly-export", "30 2 * * *")
///             .timezone("Europe/Stockholm")
///             .alert("webhook:ops", None),
///     )
///     .await?;
/// println!("check in with X-TASKBADGER-MONITOR: {}", nightly.id);
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct NewMonitor {
    name: String,
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    interval: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    schedule: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    timezone: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    grace: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_runtime: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    alert_integration: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    alert_config: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    enabled: Option<bool>,
}

impl NewMonitor {
    fn new(name: String, kind: &'static str) -> NewMonitor {
        NewMonitor {
            name,
            kind,
            interval: None,
            schedule: None,
            timezone: None,
            grace: None,
            max_runtime: None,
            alert_integration: None,
            alert_config: None,
            enabled: None,
        }
    }

    /// A monitor expecting a run within `seconds` after the previous one started.
    pub fn interval(name: impl Into<String>, seconds: u32) -> NewMonitor {
        NewMonitor {
            interval: Some(seconds),
            ..NewMonitor::new(name.into(), "interval")
        }
    }

    /// A monitor expecting a run at each time of a five-field cron `schedule` (UTC unless
    /// [`timezone`](Self::timezone) says otherwise).
    pub fn cron(name: impl Into<String>, schedule: impl Into<String>) -> NewMonitor {
        NewMonitor {
            schedule: Some(schedule.into()),
            ..NewMonitor::new(name.into(), "cron")
        }
    }

    /// The IANA time zone of a cron schedule.
    pub fn timezone(mut self, timezone: impl Into<String>) -> NewMonitor {
        self.timezone = Some(timezone.into());
        self
    }

    /// Seconds a run may be late before the monitor is down (default 300).
    pub fn grace(mut self, seconds: u32) -> NewMonitor {
        self.grace = Some(seconds);
        self
    }

    /// Seconds a run may take before it counts as failed.
    pub fn max_runtime(mut self, seconds: u32) -> NewMonitor {
        self.max_runtime = Some(seconds);
        self
    }

    /// Where its events go: `email` (with `{"to": ...}`) or `webhook:<slug>`.
    pub fn alert(
        mut self,
        integration: impl Into<String>,
        config: Option<serde_json::Value>,
    ) -> NewMonitor {
        self.alert_integration = Some(integration.into());
        self.alert_config = config;
        self
    }

    /// Created paused.
    pub fn paused(mut self) -> NewMonitor {
        self.enabled = Some(false);
        self
    }
}

impl Client {
    /// Adds a monitor; its `id` is what runs check in with.
    pub async fn create_monitor(&self, new: NewMonitor) -> Result<types::Monitor, Error> {
        let body: types::MonitorRequest = to_generated(&new)?;
        Ok(self
            .api()
            .monitor_create(self.org(), self.project(), &body)
            .await?
            .into_inner())
    }

    /// The project's monitors, oldest first.
    pub async fn monitors(&self) -> Result<Vec<types::Monitor>, Error> {
        self.idempotent(|| async {
            Ok(self
                .api()
                .monitor_list(self.org(), self.project())
                .await?
                .into_inner())
        })
        .await
    }

    /// One monitor, with its state.
    pub async fn monitor(&self, id: &str) -> Result<types::Monitor, Error> {
        self.idempotent(|| async {
            Ok(self
                .api()
                .monitor_get(self.org(), self.project(), id)
                .await?
                .into_inner())
        })
        .await
    }

    /// Pauses (`false`) or resumes (`true`) a monitor; resumed, it expects nothing until
    /// its next run.
    pub async fn set_monitor_enabled(
        &self,
        id: &str,
        enabled: bool,
    ) -> Result<types::Monitor, Error> {
        let body = types::PatchedMonitorRequest {
            enabled: Some(enabled),
            ..Default::default()
        };
        self.idempotent(|| async {
            Ok(self
                .api()
                .monitor_partial_update(self.org(), self.project(), id, &body)
                .await?
                .into_inner())
        })
        .await
    }

    /// Deletes a monitor (its tasks keep their link).
    pub async fn delete_monitor(&self, id: &str) -> Result<(), Error> {
        self.idempotent(|| async {
            self.api()
                .monitor_delete(self.org(), self.project(), id)
                .await?;
            Ok(())
        })
        .await
    }
}
