//! Ratel's Rust SDK: report the status and progress of jobs to a Ratel (or Task Badger)
//! server.
//!
//! ```no_run
//! use ratel_client::{Client, NewTask};
//!
//! # async fn demo() -> Result<(), ratel_client::Error> {
//! // TASKBADGER_HOST / TASKBADGER_API_KEY (or RATEL_HOST / RATEL_API_KEY)
//! let client = Client::from_env()?;
//! let mut task = client.create(NewTask::new("nightly-export").value_max(200)).await?;
//! task.started().await?;
//! for row in 0..200 {
//!     task.increment_value(1).await?;
//! }
//! task.success().await?;
//! # Ok(()) }
//! ```
//!
//! [`generated`] is the low-level client, generated from openapi.yaml by `cargo xtask codegen`
//! (never edited by hand); everything else is the hand-written layer over it.

#![warn(missing_docs)]

mod alerting;
mod client;
mod config;
mod error;
mod list;
mod monitor;
mod task;
mod track;

pub mod webhook;

#[allow(
    clippy::all,
    clippy::pedantic,
    missing_docs,
    unused_imports,
    irrefutable_let_patterns
)]
#[rustfmt::skip]
pub mod generated;

pub use alerting::{DeliveryFilter, NewProjectAction, NewWebhook};
pub use client::{Client, RetryPolicy};
pub use config::{Config, ProjectKey};
pub use error::{Error, FieldError};
pub use list::{ListFilter, TaskPager};
pub use monitor::NewMonitor;
pub use task::{Action, Field, NewTask, ProgressLimit, Status, Task, TaskUpdate};
pub use track::{TrackOptions, safe, track, track_safe};
