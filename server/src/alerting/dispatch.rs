//! The dispatcher: claims due deliveries under a lease, attempts them through their channel,
//! and records each attempt with the delivery's next state. It runs in every server process;
//! a commit that queued deliveries wakes its own process's dispatcher at once, and every
//! dispatcher also looks for due work each sweep interval (other replicas' events, retries).
//! Delivery is at least once: a process that dies mid-attempt has the delivery retried by
//! whoever claims it when the lease expires.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use sea_orm::DatabaseBackend;
use serde_json::json;
use tokio::sync::Semaphore;

use super::email::{Mail, Mailer};
use super::webhook::{Request, Sender};
use super::{EngineSettings, Presenter};
use crate::domain::tasks::{format_duration, now, value_percent};
use crate::storage::Store;
use crate::storage::deliveries::{AttemptRecord, DELIVERED, FAILED, PENDING};
use crate::storage::entities::{action, delivery, monitor, project_action, task, webhook};
use crate::storage::tasks::ms;

/// Deliveries attempted at once by one process.
const CONCURRENCY: usize = 64;
/// While fewer slots than this are free, the dispatcher waits up to `GATHER` for more
/// before claiming.
const CLAIM_BATCH: usize = CONCURRENCY / 4;
const GATHER: Duration = Duration::from_millis(5);

/// How an attempt ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Accepted (a 2xx, or the mail server took the message).
    Delivered(Option<i32>),
    /// Failed; try again per the schedule (with the receiver's `Retry-After`, if any).
    Retry(Option<i32>, String, Option<Duration>),
    /// Failed for good: nothing more will be tried.
    Final(Option<i32>, String),
    /// 410 Gone: the endpoint asked to receive nothing more.
    Gone(Option<i32>),
}

pub struct Dispatcher {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    settings: EngineSettings,
    webhooks: Sender,
    email: Mailer,
    presenter: Arc<dyn Presenter>,
}

impl Dispatcher {
    pub fn new(
        store: Store,
        settings: EngineSettings,
        webhooks: Sender,
        email: Mailer,
        presenter: Arc<dyn Presenter>,
    ) -> Dispatcher {
        Dispatcher {
            inner: Arc::new(Inner {
                store,
                settings,
                webhooks,
                email,
                presenter,
            }),
        }
    }

    /// On SQLite only this process can have held leases: take its claims back at once.
    pub async fn prepare(&self) -> anyhow::Result<()> {
        if self.inner.store.backend() == DatabaseBackend::Sqlite {
            let released = self.inner.store.release_all_leases().await?;
            if released > 0 {
                tracing::info!(released, "resuming deliveries claimed before a restart");
            }
        }
        Ok(())
    }

    pub async fn run(self) {
        let inner = self.inner;
        let slots = Arc::new(Semaphore::new(CONCURRENCY));
        let signal = inner.store.outbox_signal().clone();
        let poll = inner.settings.sweep_interval;
        loop {
            let free = slots.available_permits();
            if free == 0 {
                // Every slot is busy: wait for one to free.
                drop(slots.acquire().await);
                continue;
            }
            if free < CLAIM_BATCH {
                // Each claim is a write: while most slots are busy, let more of them free
                // first (briefly, so that a few slow receivers do not hold others up).
                let _ = tokio::time::timeout(GATHER, slots.acquire_many(CLAIM_BATCH as u32)).await;
            }
            let free = slots.available_permits();
            let now_ms = ms(Utc::now());
            let lease = now_ms + inner.settings.lease.as_millis() as i64;
            let claimed = match inner
                .store
                .claim_deliveries(now_ms, lease, free as u64)
                .await
            {
                Ok(claimed) => claimed,
                Err(err) => {
                    tracing::warn!(error = %err, "claiming deliveries failed");
                    tokio::time::sleep(poll).await;
                    continue;
                }
            };
            if claimed.is_empty() {
                let wait = match inner.store.next_due_delivery().await {
                    Ok(Some(due)) => Duration::from_millis((due - now_ms).max(1) as u64).min(poll),
                    _ => poll,
                };
                tokio::select! {
                    _ = signal.notified() => {}
                    _ = tokio::time::sleep(wait) => {}
                }
                continue;
            }
            let lookups = Arc::new(Lookups::read(&inner.store, &claimed).await);
            for d in claimed {
                let Ok(permit) = slots.clone().acquire_owned().await else {
                    return;
                };
                let inner = inner.clone();
                let lookups = lookups.clone();
                tokio::spawn(async move {
                    inner.attempt(d, &lookups).await;
                    drop(permit);
                });
            }
        }
    }
}

/// What the deliveries of one claim need to read, read once for all of them: their
/// projects' slugs and their web hooks (as they are at the claim).
struct Lookups {
    projects: HashMap<i64, Option<(String, String)>>,
    webhooks: HashMap<(i64, String), Result<Option<webhook::Model>, String>>,
}

impl Lookups {
    async fn read(store: &Store, claimed: &[delivery::Model]) -> Lookups {
        let mut lookups = Lookups {
            projects: HashMap::new(),
            webhooks: HashMap::new(),
        };
        for d in claimed {
            if let Entry::Vacant(slot) = lookups.projects.entry(d.project_id) {
                slot.insert(store.project_slugs(d.project_id).await.ok().flatten());
            }
            if let Some(slug) = d.integration.strip_prefix("webhook:")
                && let Entry::Vacant(slot) = lookups.webhooks.entry((d.project_id, slug.to_owned()))
            {
                let endpoint = store.get_webhook(d.project_id, slug).await;
                slot.insert(endpoint.map_err(|e| e.to_string()));
            }
        }
        lookups
    }
}

impl Inner {
    async fn attempt(&self, d: delivery::Model, lookups: &Lookups) {
        let started = Instant::now();
        let at = now();
        let outcome = self.send(&d, at, lookups).await;
        let duration_ms = started.elapsed().as_millis() as i64;
        let attempts = u32::try_from(d.attempt_count).unwrap_or(0) + 1;
        let (status, code, error, next) = match &outcome {
            Outcome::Delivered(code) => (DELIVERED, *code, None, None),
            Outcome::Final(code, error) => (FAILED, *code, Some(error.clone()), None),
            Outcome::Gone(code) => (
                FAILED,
                *code,
                Some("HTTP 410 Gone: the web hook is now disabled".to_owned()),
                None,
            ),
            Outcome::Retry(code, error, retry_after) => {
                match self
                    .settings
                    .retry_schedule
                    .next_delay(attempts, *retry_after)
                {
                    Some(delay) => (PENDING, *code, Some(error.clone()), Some(delay)),
                    None => (FAILED, *code, Some(error.clone()), None),
                }
            }
        };
        let next_attempt_ms = match next {
            Some(delay) => ms(Utc::now()) + delay.as_millis() as i64,
            None => d.next_attempt_ms,
        };
        let record = AttemptRecord {
            at,
            status_code: code,
            error,
            duration_ms,
            status,
            next_attempt_ms,
        };
        if let Err(err) = self.store.record_attempt(&d.id, record).await {
            // The lease expires and the delivery is attempted again: at least once.
            tracing::warn!(delivery = %d.id, error = %err, "recording a delivery attempt failed");
            return;
        }
        if outcome == Outcome::Gone(code) {
            self.disable_gone(&d).await;
        }
    }

    async fn disable_gone(&self, d: &delivery::Model) {
        let Some(slug) = d.integration.strip_prefix("webhook:") else {
            return;
        };
        let result = async {
            if let Some(mut endpoint) = self.store.get_webhook(d.project_id, slug).await? {
                endpoint.enabled = false;
                endpoint.updated = now();
                self.store.update_webhook(endpoint).await?;
            }
            self.store
                .fail_pending_deliveries(
                    d.project_id,
                    &d.integration,
                    "the web hook answered 410 Gone and is disabled",
                )
                .await
        }
        .await;
        if let Err(err) = result {
            tracing::warn!(error = %err, "disabling a web hook after 410 failed");
        }
    }

    /// The action an event came from, from its payload: its config, and its representation.
    fn fired_by(&self, d: &delivery::Model) -> Option<(serde_json::Value, serde_json::Value)> {
        if let Some(row) = d.payload.get("project_action") {
            let row: project_action::Model = serde_json::from_value(row.clone()).ok()?;
            return Some((row.config.clone(), self.presenter.project_action(row)));
        }
        let row: action::Model = serde_json::from_value(d.payload["action"].clone()).ok()?;
        Some((row.config.clone(), self.presenter.action(row)))
    }

    /// What a delivery's payload is about, read back.
    fn event_of(&self, d: &delivery::Model) -> Option<Event> {
        let task: Option<task::Model> = serde_json::from_value(d.payload["task"].clone()).ok();
        if d.monitor_id.is_some() {
            let monitor: monitor::Model =
                serde_json::from_value(d.payload["monitor"].clone()).ok()?;
            return Some(Event::Monitor {
                monitor: Box::new(monitor),
                task,
            });
        }
        let (config, action) = self.fired_by(d)?;
        Some(Event::Task {
            task: task?,
            config,
            action,
        })
    }

    async fn send(&self, d: &delivery::Model, at: DateTime<Utc>, lookups: &Lookups) -> Outcome {
        let Some(Some((organization, project))) = lookups.projects.get(&d.project_id) else {
            return Outcome::Retry(None, "could not read the project".into(), None);
        };
        let Some(event) = self.event_of(d) else {
            return Outcome::Final(None, "the event's payload is unreadable".into());
        };
        if d.integration == "email" {
            let mail = match &event {
                Event::Task { task, config, .. } => {
                    mail(task, config, d, &self.presenter, organization, project)
                }
                Event::Monitor { monitor, task } => monitor_mail(
                    monitor,
                    task.as_ref(),
                    d,
                    &self.presenter,
                    organization,
                    project,
                ),
            };
            return self.email.send(mail).await;
        }
        let Some(slug) = d.integration.strip_prefix("webhook:") else {
            return Outcome::Final(None, format!("unknown integration {}", d.integration));
        };
        let endpoint = match lookups.webhooks.get(&(d.project_id, slug.to_owned())) {
            Some(Ok(Some(endpoint))) => endpoint,
            Some(Ok(None)) => {
                return Outcome::Final(None, format!("web hook {slug} does not exist"));
            }
            Some(Err(err)) => {
                return Outcome::Retry(None, format!("could not read the web hook: {err}"), None);
            }
            None => return Outcome::Retry(None, "the web hook was not read".into(), None),
        };
        if !endpoint.enabled {
            return Outcome::Final(None, format!("web hook {slug} is disabled"));
        }
        let body = match event {
            Event::Task { task, action, .. } => json!({
                "id": d.event_id,
                "type": d.payload["type"],
                "timestamp": d.payload["timestamp"],
                "trigger": d.trigger,
                "task": self.presenter.task(task, organization, project),
                "action": action,
            }),
            Event::Monitor { monitor, task } => json!({
                "id": d.event_id,
                "type": d.payload["type"],
                "timestamp": d.payload["timestamp"],
                "monitor": self.presenter.monitor(*monitor),
                "task": task.map(|t| self.presenter.task(t, organization, project)),
            }),
        };
        let body = serde_json::to_vec(&body).unwrap_or_default();
        self.webhooks
            .send(Request {
                endpoint,
                event_id: &d.event_id,
                body,
                now: at,
            })
            .await
    }
}

/// What an event is about: a task's fired point (with the action's config and how it is
/// shown), or a monitor's transition (with the linked task, if any).
enum Event {
    Task {
        task: task::Model,
        config: serde_json::Value,
        action: serde_json::Value,
    },
    Monitor {
        monitor: Box<monitor::Model>,
        task: Option<task::Model>,
    },
}

/// The message of a monitor event's email (to the monitor's `alert_config.to`).
fn monitor_mail(
    monitor: &monitor::Model,
    task: Option<&task::Model>,
    d: &delivery::Model,
    presenter: &Arc<dyn Presenter>,
    organization: &str,
    project: &str,
) -> Mail {
    let what = match d.trigger.as_str() {
        "monitor.missed" => "missed a run",
        "monitor.failed" => "had a failed run",
        "monitor.recovered" => "recovered",
        other => other,
    };
    let time = |t: Option<DateTime<Utc>>| t.map_or("-".to_owned(), |t| t.to_rfc3339());
    let expectation = match (&monitor.interval_secs, &monitor.schedule) {
        (Some(secs), _) => format!("every {secs} s"),
        (_, Some(schedule)) => format!("{schedule} ({})", monitor.timezone),
        _ => "-".to_owned(),
    };
    let mut body = vec![
        format!("Monitor:       {}", monitor.name),
        format!("Event:         {}", d.trigger),
        format!("Expected:      {expectation}, grace {} s", monitor.grace),
        format!("Last run:      {}", time(monitor.last_run_at)),
        format!("Next expected: {}", time(monitor.next_expected_at)),
    ];
    if let Some(task) = task {
        let shown = presenter.task(task.clone(), organization, project);
        body.push(format!("Task:          {} ({})", task.name, task.status));
        body.push(format!(
            "Task page:     {}",
            shown["url"].as_str().unwrap_or("")
        ));
    }
    body.push(String::new());
    body.push(format!(
        "Project {organization}/{project}, monitor {}, event {}.",
        monitor.id, d.event_id
    ));
    Mail {
        to: recipients(&monitor.alert_config),
        subject: format!("[Ratel] monitor {} {what}", monitor.name),
        body: body.join("\n"),
    }
}

/// The addresses of an email integration's `config.to`.
fn recipients(config: &serde_json::Value) -> Vec<String> {
    config["to"]
        .as_str()
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The message of an email delivery (`config` is the action's).
fn mail(
    task: &task::Model,
    config: &serde_json::Value,
    d: &delivery::Model,
    presenter: &Arc<dyn Presenter>,
    organization: &str,
    project: &str,
) -> Mail {
    let shown = presenter.task(task.clone(), organization, project);
    let text = |key: &str| shown[key].as_str().unwrap_or("").to_owned();
    let to = recipients(config);
    let progress = match (task.value, value_percent(task.value, task.value_max)) {
        (Some(v), Some(pct)) => format!("{v} of {} ({pct}%)", task.value_max),
        (Some(v), None) => format!("{v} of {}", task.value_max),
        _ => "not reported".to_owned(),
    };
    let time = |t: Option<DateTime<Utc>>| t.map_or("-".to_owned(), |t| t.to_rfc3339());
    let duration = match (task.start_time, task.end_time) {
        (Some(s), Some(e)) => (e - s).num_microseconds().map(format_duration),
        _ => None,
    };
    let body = [
        format!("Task:     {}", task.name),
        format!("Status:   {}", task.status),
        format!("Trigger:  {}", d.trigger),
        format!("Progress: {progress}"),
        format!("Created:  {}", task.created.to_rfc3339()),
        format!("Started:  {}", time(task.start_time)),
        format!("Ended:    {}", time(task.end_time)),
        format!("Duration: {}", duration.unwrap_or_else(|| "-".into())),
        String::new(),
        format!("Task page:   {}", text("url")),
        format!("Public page: {}", text("public_url")),
        String::new(),
        format!("Project {organization}/{project}, event {}.", d.event_id),
    ]
    .join("\n");
    Mail {
        to,
        subject: format!("[Ratel] {}: {} ({})", task.name, task.status, d.trigger),
        body,
    }
}
