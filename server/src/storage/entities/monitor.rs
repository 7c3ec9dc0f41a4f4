use sea_orm::entity::prelude::*;

/// A monitor: when runs of a scheduled job are expected, and what it saw of them. `state` is
/// `new`, `up`, `late` or `down` (a disabled monitor is shown as `paused` and keeps its
/// state); `due_ms` is when the sweep must look at it next (null when nothing is expected).
#[derive(Clone, Debug, PartialEq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "monitor")]
pub struct Model {
    /// A UUID, as the `X-TASKBADGER-MONITOR` header carries it.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub project_id: i64,
    pub name: String,
    /// `interval` or `cron`.
    pub kind: String,
    pub interval_secs: Option<i64>,
    pub schedule: Option<String>,
    pub timezone: String,
    pub grace: i64,
    pub max_runtime: Option<i64>,
    pub alert_integration: Option<String>,
    pub alert_config: Json,
    pub enabled: bool,
    pub state: String,
    pub last_task: Option<String>,
    pub last_run_at: Option<DateTimeUtc>,
    pub next_expected_at: Option<DateTimeUtc>,
    pub due_ms: Option<i64>,
    /// Raised by every write: the sweep's compare-and-set expects the revision it read.
    pub revision: i64,
    pub created: DateTimeUtc,
    pub updated: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
