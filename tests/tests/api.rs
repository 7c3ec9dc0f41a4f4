//! Black-box tests over real HTTP. Every behaviour runs against SQLite and PostgreSQL.

mod support;

mod actions;
mod alerting;
mod auth;
pub mod cli;
mod client;
pub mod compat;
mod conformance;
mod crash;
mod errors;
mod hostile;
mod monitors;
mod pagination;
mod project_actions;
mod service;
mod tasks;
