//! [`track`]: run a future as a tracked task.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::time::Duration;

use futures_util::FutureExt;

use crate::{Client, Error, NewTask, Task};

/// How [`track`] runs a future.
#[derive(Clone, Debug, Default)]
pub struct TrackOptions {
    /// Send a heartbeat this often while the future runs (keeps `stale_timeout` happy).
    pub heartbeat: Option<Duration>,
}

/// Marks the task `error` if the tracked future is dropped before it finished.
struct CancelGuard {
    task: Option<Task>,
}

impl Drop for CancelGuard {
    fn drop(&mut self) {
        if let Some(mut task) = self.task.take()
            && let Ok(handle) = tokio::runtime::Handle::try_current()
        {
            handle.spawn(async move {
                let data = serde_json::json!({"error": "cancelled before completion"});
                if let Err(e) = task.error(Some(data)).await {
                    tracing::warn!(error = %e, "could not mark a cancelled task as error");
                }
            });
        }
    }
}

/// Creates the task, marks it running, runs `work`, and ends the task in `success`, or in
/// `error` (with the error's text in `data.error`) when `work` fails, panics or is dropped
/// before finishing. Returns what `work` returned; a panic is resumed after it is recorded.
///
/// ```no_run
/// # async fn demo(client: ratel_client::Client) -> Result<(), ratel_client::Error> {
/// use ratel_client::{NewTask, TrackOptions, track};
/// let rows = track(&client, NewTask::new("import"), TrackOptions::default(), async {
///     Ok::<_, std::io::Error>(42)
/// })
/// .await?;
/// # Ok(()) }
/// ```
pub async fn track<T, E, F>(
    client: &Client,
    new: NewTask,
    options: TrackOptions,
    work: F,
) -> Result<Result<T, E>, Error>
where
    F: Future<Output = Result<T, E>>,
    E: std::fmt::Display,
{
    let mut task = Task::create(client, new).await?;
    task.started().await?;
    let mut guard = CancelGuard {
        task: Some(task.clone()),
    };
    let outcome = run_with_heartbeat(
        &task,
        options.heartbeat,
        AssertUnwindSafe(work).catch_unwind(),
    )
    .await;
    guard.task = None;
    match outcome {
        Ok(Ok(value)) => {
            task.success().await?;
            Ok(Ok(value))
        }
        Ok(Err(err)) => {
            task.error(Some(serde_json::json!({"error": err.to_string()})))
                .await?;
            Ok(Err(err))
        }
        Err(panic) => {
            let text = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "panic".to_owned());
            let _ = task
                .error(Some(
                    serde_json::json!({"error": format!("panicked: {text}")}),
                ))
                .await;
            std::panic::resume_unwind(panic)
        }
    }
}

/// [`track`] for instrumentation that must never break the job it observes: if Ratel cannot be
/// reached the work still runs, and SDK failures are logged, not returned.
pub async fn track_safe<T, E, F>(
    client: &Client,
    new: NewTask,
    options: TrackOptions,
    work: F,
) -> Result<T, E>
where
    F: Future<Output = Result<T, E>>,
    E: std::fmt::Display,
{
    let mut task = match Task::create(client, new).await {
        Ok(task) => task,
        Err(e) => {
            tracing::warn!(error = %e, "ratel: could not create the task; running untracked");
            return work.await;
        }
    };
    if let Err(e) = task.started().await {
        tracing::warn!(error = %e, "ratel: could not mark the task started");
    }
    let outcome = run_with_heartbeat(&task, options.heartbeat, work).await;
    let end = match &outcome {
        Ok(_) => task.success().await,
        Err(err) => {
            task.error(Some(serde_json::json!({"error": err.to_string()})))
                .await
        }
    };
    if let Err(e) = end {
        tracing::warn!(error = %e, "ratel: could not record the task's end");
    }
    outcome
}

async fn run_with_heartbeat<T, F: Future<Output = T>>(
    task: &Task,
    every: Option<Duration>,
    work: F,
) -> T {
    let Some(every) = every else {
        return work.await;
    };
    tokio::pin!(work);
    let mut ticker = tokio::time::interval(every);
    ticker.tick().await;
    let mut beat = task.clone();
    loop {
        tokio::select! {
            out = &mut work => return out,
            _ = ticker.tick() => {
                if let Err(e) = beat.ping().await {
                    tracing::warn!(error = %e, "ratel: heartbeat failed");
                }
            }
        }
    }
}

/// Safe variants of the [`Task`] calls: failures are logged, never returned.
pub mod safe {
    use super::*;

    /// Creates a task, or logs why not.
    pub async fn create(client: &Client, new: NewTask) -> Option<Task> {
        Task::create(client, new)
            .await
            .map_err(|e| tracing::warn!(error = %e, "ratel: could not create a task"))
            .ok()
    }

    /// Sets progress, or logs why not.
    pub async fn update_value(task: &mut Task, value: i64) {
        if let Err(e) = task.update_value(value).await {
            tracing::warn!(error = %e, "ratel: could not update progress");
        }
    }

    /// Marks success, or logs why not.
    pub async fn success(task: &mut Task) {
        if let Err(e) = task.success().await {
            tracing::warn!(error = %e, "ratel: could not mark success");
        }
    }

    /// Marks error, or logs why not.
    pub async fn error(task: &mut Task, data: Option<serde_json::Value>) {
        if let Err(e) = task.error(data).await {
            tracing::warn!(error = %e, "ratel: could not mark error");
        }
    }
}

impl Client {
    /// Creates a task (see [`Task::create`]).
    pub async fn create(&self, new: NewTask) -> Result<Task, Error> {
        Task::create(self, new).await
    }

    /// Fetches a task (see [`Task::get`]).
    pub async fn get(&self, id: &str) -> Result<Task, Error> {
        Task::get(self, id).await
    }

    /// Lists tasks, newest first, following cursors to the end.
    pub fn list(&self, filter: crate::ListFilter) -> crate::TaskPager {
        crate::TaskPager::new(self.clone(), filter)
    }
}
