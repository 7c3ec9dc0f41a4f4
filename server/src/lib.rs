//! Ratel's server: a self-hosted task-monitoring service whose HTTP API is wire-compatible
//! with Task Badger's.
//!
//! Request flow: `http` (routes, handlers, extractors) → `domain` (rules and operations) →
//! `storage` (sea-orm). Each layer has one error type, converted explicitly at the boundary.

pub mod alerting;
pub mod cli;
pub mod config;
pub mod domain;
pub mod http;
pub mod serve;
pub mod storage;
pub mod telemetry;
