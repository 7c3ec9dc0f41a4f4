//! The alerting engine: trigger evaluation on every task write, the outbox those writes fill
//! in the same transaction, the dispatcher that delivers it (web hooks, email) with retries,
//! the sweeps that make tasks stale and fire `max_runtime_exceeded`, and monitors (their
//! state machine, their schedules and the sweep that moves them).
//!
//! The domain calls `outbox` inside its write transactions; `serve.rs` starts `Engine`, which
//! runs the dispatcher and the sweeps in every server process. All SQL is in `storage`.

pub mod dispatch;
pub mod email;
pub mod monitor;
pub mod monitor_sweep;
pub mod outbox;
pub mod project;
pub mod retry;
pub mod schedule;
pub mod state;
pub mod sweep;
pub mod trigger;
pub mod webhook;

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use crate::storage::Store;
use crate::storage::entities::{action, project_action, task};

/// How events become the documents receivers get: the task and action as the API shows them.
/// The HTTP layer provides it (`serve.rs`), so the engine does not depend on it.
pub trait Presenter: Send + Sync {
    fn task(&self, row: task::Model, organization: &str, project: &str) -> Value;
    fn action(&self, row: action::Model) -> Value;
    fn project_action(&self, row: project_action::Model) -> Value;
    fn monitor(&self, row: crate::storage::entities::monitor::Model) -> Value;
}

/// The engine's settings (a slice of `config::Settings`).
#[derive(Clone, Debug)]
pub struct EngineSettings {
    pub retry_schedule: retry::Schedule,
    pub lease: Duration,
    pub webhook_timeout: Duration,
    pub allow_private_networks: bool,
    /// How often the sweeps run and the dispatcher looks for work queued by other replicas.
    pub sweep_interval: Duration,
    pub smtp_url: Option<String>,
    pub mail_from: String,
}

/// The running engine: dropping it does not stop the background tasks (they end with the
/// process; what they held is retried after its lease).
pub struct Engine;

impl Engine {
    /// Starts the dispatcher and the sweeps.
    pub async fn start(
        store: Store,
        settings: EngineSettings,
        presenter: Arc<dyn Presenter>,
    ) -> anyhow::Result<Engine> {
        let email = email::Mailer::new(settings.smtp_url.as_deref(), &settings.mail_from)?;
        if !email.configured() {
            tracing::warn!("smtp_url is not set: email actions will fail until it is");
        }
        let webhooks = webhook::Sender::new(&settings)?;
        let dispatcher =
            dispatch::Dispatcher::new(store.clone(), settings.clone(), webhooks, email, presenter);
        dispatcher.prepare().await?;
        store.refresh_watched_projects().await?;
        tokio::spawn(project::watch(store.clone()));
        tokio::spawn(dispatcher.run());
        tokio::spawn(sweep::run(store, settings.sweep_interval));
        Ok(Engine)
    }
}
