use sea_orm::entity::prelude::*;

/// One event to deliver through one integration: the outbox row, written in the transaction
/// of the task write that fired it.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "delivery")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// `evt_` + a ULID: the `webhook-id` header, the same on every attempt.
    pub event_id: String,
    pub project_id: i64,
    /// The task the event is about; empty for a `monitor.missed` event, which has none.
    pub task_id: String,
    pub action_id: Option<i64>,
    /// The project-wide action the event came from (then `action_id` is null).
    pub project_action_id: Option<i64>,
    /// The monitor the event came from (`monitor.*` events; then both action ids are null).
    pub monitor_id: Option<String>,
    /// The point that fired, in the trigger's notation (`50%`, `error`, ...).
    pub trigger: String,
    pub integration: String,
    /// What the event is about, as it was when it fired (see `alerting::event`).
    pub payload: Json,
    /// `pending`, `delivered` or `failed`.
    pub status: String,
    pub attempt_count: i32,
    /// Unix ms of the next attempt (pending deliveries).
    pub next_attempt_ms: i64,
    /// Unix ms until which a dispatcher holds the delivery.
    pub lease_until: Option<i64>,
    pub last_error: Option<String>,
    pub created: DateTimeUtc,
    pub updated: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
