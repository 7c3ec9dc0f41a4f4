//! [`Task`]: a handle on one task, with the calls a job makes as it runs.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::generated::types;
use crate::{Client, Error};

pub use crate::generated::types::StatusEnum as Status;

/// An action to add to a task: when `trigger` is reached, notify `integration`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Action {
    /// Comma-separated trigger points (`error`, `50%`, `*/10`, `max_runtime_exceeded`, ...).
    pub trigger: String,
    /// `email` or `webhook:<slug>`.
    pub integration: String,
    /// Integration settings (for email, `{"to": "a@example.com"}`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub config: Option<Value>,
}

impl Action {
    /// Email `to` (1 to 5 comma-separated addresses) when `trigger` is reached.
    pub fn email(trigger: impl Into<String>, to: impl Into<String>) -> Action {
        Action {
            trigger: trigger.into(),
            integration: "email".into(),
            config: Some(serde_json::json!({ "to": to.into() })),
        }
    }

    /// Call the web hook `slug` when `trigger` is reached.
    pub fn webhook(trigger: impl Into<String>, slug: &str) -> Action {
        Action {
            trigger: trigger.into(),
            integration: format!("webhook:{slug}"),
            config: None,
        }
    }
}

/// What to create: a name plus whatever else is set with the builder methods.
///
/// ```
/// use ratel_client::{Action, NewTask};
/// let task = NewTask::new("nightly-export")
///     .value_max(200)
///     .data(serde_json::json!({"rows": 8400}))
///     .tag("env", "production")
///     .action(Action::email("error", "ops@example.com"));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct NewTask {
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<Status>,
    #[serde(skip_serializing_if = "Option::is_none")]
    value: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    value_max: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    data: Option<Value>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    tags: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    queue: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    external_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    parent: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_runtime: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    stale_timeout: Option<u32>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    actions: Vec<Action>,
    /// Sent as the `X-TASKBADGER-MONITOR` header, not in the body.
    #[serde(skip)]
    monitor: Option<String>,
}

macro_rules! setters {
    ($($(#[$doc:meta])* $field:ident: $ty:ty),* $(,)?) => {$(
        $(#[$doc])*
        pub fn $field(mut self, value: impl Into<$ty>) -> Self {
            self.$field = Some(value.into());
            self
        }
    )*};
}

impl NewTask {
    /// A task called `name` (1 to 255 characters).
    pub fn new(name: impl Into<String>) -> NewTask {
        NewTask {
            name: name.into(),
            ..NewTask::default()
        }
    }

    setters! {
        /// Initial status (default `pending`).
        status: Status,
        /// Initial progress value.
        value: i64,
        /// The value at which the task is complete (default 100).
        value_max: i64,
        /// Any JSON data to keep with the task.
        data: Value,
        /// The queue the task came from.
        queue: String,
        /// An id from the originating system.
        external_id: String,
        /// The id of the parent task.
        parent: String,
        /// Seconds the task may run before `max_runtime_exceeded`.
        max_runtime: u32,
        /// Seconds without an update before the task is stale.
        stale_timeout: u32,
    }

    /// Adds a tag.
    pub fn tag(mut self, namespace: impl Into<String>, value: impl Into<String>) -> Self {
        self.tags.insert(namespace.into(), value.into());
        self
    }

    /// Adds tags.
    pub fn tags(mut self, tags: impl IntoIterator<Item = (String, String)>) -> Self {
        self.tags.extend(tags);
        self
    }

    /// Adds an action.
    pub fn action(mut self, action: Action) -> Self {
        self.actions.push(action);
        self
    }

    /// Checks in to a monitor (its UUID): the task counts as one of its runs.
    pub fn monitor(mut self, id: impl Into<String>) -> Self {
        self.monitor = Some(id.into());
        self
    }
}

/// One field of a partial update: left alone, cleared (`null`), or set.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum Field<T> {
    /// Not sent: the server leaves the field alone.
    #[default]
    Unchanged,
    /// Sent as `null`: the server clears the field.
    Clear,
    /// Sent with a value.
    Set(T),
}

impl<T> Field<T> {
    fn is_unchanged(&self) -> bool {
        matches!(self, Field::Unchanged)
    }
}

impl<T: Serialize> Serialize for Field<T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Field::Set(v) => v.serialize(s),
            _ => s.serialize_none(),
        }
    }
}

impl<T> From<T> for Field<T> {
    fn from(value: T) -> Self {
        Field::Set(value)
    }
}

/// A partial update: only the fields you set are sent (and `Field::Clear` sends `null`).
///
/// ```
/// use ratel_client::{Field, Status, TaskUpdate};
/// let update = TaskUpdate {
///     status: Some(Status::Processing),
///     value: Field::Set(10),
///     queue: Field::Clear,
///     ..TaskUpdate::default()
/// };
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct TaskUpdate {
    /// New name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// New status.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
    /// Progress value.
    #[serde(skip_serializing_if = "Field::is_unchanged")]
    pub value: Field<i64>,
    /// The value at which the task is complete.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value_max: Option<i64>,
    /// Custom data (replaces the stored value).
    #[serde(skip_serializing_if = "Field::is_unchanged")]
    pub data: Field<Value>,
    /// Maximum running time in seconds.
    #[serde(skip_serializing_if = "Field::is_unchanged")]
    pub max_runtime: Field<u32>,
    /// Seconds without an update before the task is stale.
    #[serde(skip_serializing_if = "Field::is_unchanged")]
    pub stale_timeout: Field<u32>,
    /// Queue the task came from.
    #[serde(skip_serializing_if = "Field::is_unchanged")]
    pub queue: Field<String>,
    /// Identifier in the originating system.
    #[serde(skip_serializing_if = "Field::is_unchanged")]
    pub external_id: Field<String>,
    /// Parent task id (can be set once).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    /// Merged into the task's tags.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
    /// Added to the task's actions.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub actions: Vec<Action>,
}

impl TaskUpdate {
    fn clears_something(&self) -> bool {
        [
            matches!(self.value, Field::Clear),
            matches!(self.data, Field::Clear),
            matches!(self.max_runtime, Field::Clear),
            matches!(self.stale_timeout, Field::Clear),
            matches!(self.queue, Field::Clear),
            matches!(self.external_id, Field::Clear),
        ]
        .contains(&true)
    }
}

/// Converts a hand-written body into the generated type (whose constructors validate).
pub(crate) fn to_generated<B: Serialize, T: DeserializeOwned>(body: &B) -> Result<T, Error> {
    let value = serde_json::to_value(body).map_err(|e| Error::Config(e.to_string()))?;
    serde_json::from_value(value).map_err(|e| {
        Error::Validation(vec![crate::FieldError {
            attr: None,
            code: "invalid".into(),
            detail: e.to_string(),
        }])
    })
}

/// Client-side limit on progress updates: send at most one per `min_interval`, and only when
/// the value moved by at least `min_step` (the final value is always sent by `success`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ProgressLimit {
    /// Least time between two progress requests.
    pub min_interval: Option<Duration>,
    /// Least change of value between two progress requests.
    pub min_step: Option<i64>,
}

/// A task on the server, and the calls that move it along.
#[derive(Clone, Debug)]
pub struct Task {
    client: Client,
    data: types::Task,
    limit: ProgressLimit,
    last_progress: Option<(Instant, i64)>,
    /// The value as the job knows it (may be ahead of the server's when limited).
    local_value: Option<i64>,
}

impl Task {
    pub(crate) fn from_data(client: &Client, data: types::Task) -> Task {
        Task {
            client: client.clone(),
            local_value: data.value,
            data,
            limit: ProgressLimit::default(),
            last_progress: None,
        }
    }

    /// Creates a task. Not retried (a create is not idempotent).
    pub async fn create(client: &Client, new: NewTask) -> Result<Task, Error> {
        let body: types::TaskRequest = to_generated(&new)?;
        let monitor = new
            .monitor
            .as_deref()
            .map(|id| {
                uuid::Uuid::parse_str(id)
                    .map_err(|_| Error::Config(format!("monitor id {id:?} is not a UUID")))
            })
            .transpose()?;
        let resp = client
            .api()
            .task_create(client.org(), client.project(), monitor.as_ref(), &body)
            .await?;
        Ok(Task::from_data(client, resp.into_inner()))
    }

    /// Fetches a task by id.
    pub async fn get(client: &Client, id: &str) -> Result<Task, Error> {
        let data = client
            .idempotent(|| async {
                Ok(client
                    .api()
                    .task_get(client.org(), client.project(), id)
                    .await?
                    .into_inner())
            })
            .await?;
        Ok(Task::from_data(client, data))
    }

    /// The task as last seen from the server.
    pub fn data(&self) -> &types::Task {
        &self.data
    }

    /// The task's id.
    pub fn id(&self) -> &str {
        &self.data.id
    }

    /// The task's status.
    pub fn status(&self) -> Status {
        self.data.status
    }

    /// The progress value as the job last set it.
    pub fn value(&self) -> Option<i64> {
        self.local_value
    }

    /// Limits how often progress (`update_value`, `increment_value`) is sent.
    pub fn set_progress_limit(&mut self, limit: ProgressLimit) {
        self.limit = limit;
    }

    /// Re-reads the task from the server.
    pub async fn refresh(&mut self) -> Result<(), Error> {
        let fresh = Task::get(&self.client, &self.data.id).await?;
        self.data = fresh.data;
        Ok(())
    }

    /// Applies a partial update (retried on transient failures: updates are idempotent).
    pub async fn update(&mut self, update: TaskUpdate) -> Result<(), Error> {
        let client = &self.client;
        let id = self.data.id.clone();
        let data = if update.clears_something() {
            // The generated type cannot say `null`; send the JSON ourselves.
            let url = client.task_url(&id);
            client
                .idempotent(|| async {
                    let resp = client.http().patch(&url).json(&update).send().await?;
                    let status = resp.status().as_u16();
                    if resp.status().is_success() {
                        Ok(resp.json::<types::Task>().await?)
                    } else {
                        let wait = resp
                            .headers()
                            .get(reqwest::header::RETRY_AFTER)
                            .and_then(|v| v.to_str().ok()?.parse().ok())
                            .map(Duration::from_secs);
                        let body: types::ErrorResponse = resp.json().await?;
                        Err(Error::from_body(status, &body, wait))
                    }
                })
                .await?
        } else {
            let body: types::PatchedTaskRequest = to_generated(&update)?;
            client
                .idempotent(|| async {
                    Ok(client
                        .api()
                        .task_partial_update(client.org(), client.project(), &id, &body)
                        .await?
                        .into_inner())
                })
                .await?
        };
        self.local_value = data.value;
        self.data = data;
        Ok(())
    }

    async fn set_status(&mut self, status: Status, value: Field<i64>) -> Result<(), Error> {
        self.update(TaskUpdate {
            status: Some(status),
            value,
            ..TaskUpdate::default()
        })
        .await
    }

    /// Marks the task running (`processing`) with value 0.
    pub async fn started(&mut self) -> Result<(), Error> {
        self.set_status(Status::Processing, Field::Set(0)).await
    }

    /// Marks the task `processing`.
    pub async fn processing(&mut self) -> Result<(), Error> {
        self.set_status(Status::Processing, Field::Unchanged).await
    }

    /// Marks the task `success`, sending the latest local value if it was held back.
    pub async fn success(&mut self) -> Result<(), Error> {
        let value = match self.local_value {
            Some(v) if Some(v) != self.data.value => Field::Set(v),
            _ => Field::Unchanged,
        };
        self.set_status(Status::Success, value).await
    }

    /// Marks the task `error`, merging `data` (if any) into the task's data.
    pub async fn error(&mut self, data: Option<Value>) -> Result<(), Error> {
        let data = match data {
            Some(extra) => Field::Set(merge(self.data.data.clone(), extra)),
            None => Field::Unchanged,
        };
        self.update(TaskUpdate {
            status: Some(Status::Error),
            data,
            ..TaskUpdate::default()
        })
        .await
    }

    /// Cancels the task (it stays readable, with status `cancelled`).
    pub async fn cancel(&mut self) -> Result<(), Error> {
        let client = self.client.clone();
        let id = self.data.id.clone();
        client
            .idempotent(|| async {
                client
                    .api()
                    .task_cancel(client.org(), client.project(), &id)
                    .await?;
                Ok(())
            })
            .await?;
        self.refresh().await
    }

    /// Sends a heartbeat: an empty update that only refreshes `updated`, so a task with a
    /// `stale_timeout` does not go stale.
    pub async fn ping(&mut self) -> Result<(), Error> {
        self.update(TaskUpdate::default()).await
    }

    /// Sets the progress value; returns whether a request was sent (see [`ProgressLimit`]).
    pub async fn update_value(&mut self, value: i64) -> Result<bool, Error> {
        self.local_value = Some(value);
        let now = Instant::now();
        if let Some((at, last)) = self.last_progress {
            let too_soon = self
                .limit
                .min_interval
                .is_some_and(|i| now.duration_since(at) < i);
            let too_small = self
                .limit
                .min_step
                .is_some_and(|step| (value - last).abs() < step);
            if too_soon || too_small {
                return Ok(false);
            }
        }
        self.update(TaskUpdate {
            value: Field::Set(value),
            ..TaskUpdate::default()
        })
        .await?;
        self.last_progress = Some((now, value));
        Ok(true)
    }

    /// Adds `by` to the progress value; returns whether a request was sent.
    pub async fn increment_value(&mut self, by: i64) -> Result<bool, Error> {
        let value = self.local_value.unwrap_or(0).saturating_add(by);
        self.update_value(value).await
    }

    /// Adds (or replaces) tags.
    pub async fn tag(&mut self, tags: BTreeMap<String, String>) -> Result<(), Error> {
        self.update(TaskUpdate {
            tags,
            ..TaskUpdate::default()
        })
        .await
    }

    /// Adds actions.
    pub async fn add_actions(&mut self, actions: Vec<Action>) -> Result<(), Error> {
        self.update(TaskUpdate {
            actions,
            ..TaskUpdate::default()
        })
        .await
    }
}

/// Shallow merge of two JSON objects (`extra` wins); a non-object `extra` replaces.
fn merge(base: Option<Value>, extra: Value) -> Value {
    match (base, extra) {
        (Some(Value::Object(mut a)), Value::Object(b)) => {
            a.extend(b);
            Value::Object(a)
        }
        (_, Value::Object(b)) => Value::Object(Map::from_iter(b)),
        (_, other) => other,
    }
}
