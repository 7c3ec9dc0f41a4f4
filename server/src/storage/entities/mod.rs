//! sea-orm entities: one module per table. They mirror the schema the migrations create.

pub mod action;
pub mod api_key;
pub mod delivery;
pub mod delivery_attempt;
pub mod monitor;
pub mod monitor_run;
pub mod organization;
pub mod project;
pub mod project_action;
pub mod project_action_mark;
pub mod task;
pub mod task_tag;
pub mod webhook;
