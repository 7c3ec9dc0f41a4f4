//! Schema migrations (sea-orm-migration), applied on start and by `ratel-server migrate`.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(Initial),
            Box::new(Alerting),
            Box::new(PartialDueIndexes),
            Box::new(ProjectActions),
            Box::new(Monitors),
        ]
    }
}

#[derive(DeriveMigrationName)]
struct Initial;

#[derive(DeriveIden)]
enum Organization {
    Table,
    Id,
    Slug,
    Created,
}

#[derive(DeriveIden)]
enum Project {
    Table,
    Id,
    OrganizationId,
    Slug,
    Created,
}

#[derive(DeriveIden)]
enum ApiKey {
    Table,
    Id,
    ProjectId,
    SecretHash,
    Prefix,
    Created,
    Revoked,
}

#[derive(DeriveIden)]
enum Task {
    Table,
    Id,
    ProjectId,
    Name,
    Status,
    Value,
    ValueMax,
    Data,
    MaxRuntime,
    StaleTimeout,
    StartTime,
    EndTime,
    TimeToStart,
    Tags,
    Queue,
    ExternalId,
    ParentId,
    MonitorId,
    Created,
    Updated,
}

#[derive(DeriveIden)]
enum TaskTag {
    Table,
    TaskId,
    Namespace,
    ProjectId,
    Value,
}

#[derive(DeriveIden)]
enum Action {
    Table,
    Id,
    TaskId,
    Trigger,
    Integration,
    Config,
    Status,
    Created,
    Updated,
}

fn fk(
    name: &str,
    from: (impl IntoIden, impl IntoIden),
    to: (impl IntoIden, impl IntoIden),
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(name)
        .from(from.0, from.1)
        .to(to.0, to.1)
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Initial {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Organization::Table)
                .col(big_pk_auto(Organization::Id))
                .col(string_len_uniq(Organization::Slug, 50))
                .col(timestamp_with_time_zone(Organization::Created))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(Project::Table)
                .col(big_pk_auto(Project::Id))
                .col(big_integer(Project::OrganizationId))
                .col(string_len(Project::Slug, 50))
                .col(timestamp_with_time_zone(Project::Created))
                .foreign_key(&mut fk(
                    "fk_project_organization",
                    (Project::Table, Project::OrganizationId),
                    (Organization::Table, Organization::Id),
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ux_project_org_slug")
                .table(Project::Table)
                .col(Project::OrganizationId)
                .col(Project::Slug)
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(ApiKey::Table)
                .col(big_pk_auto(ApiKey::Id))
                .col(big_integer(ApiKey::ProjectId))
                .col(string_len_uniq(ApiKey::SecretHash, 64))
                .col(string_len(ApiKey::Prefix, 16))
                .col(timestamp_with_time_zone(ApiKey::Created))
                .col(timestamp_with_time_zone_null(ApiKey::Revoked))
                .foreign_key(&mut fk(
                    "fk_api_key_project",
                    (ApiKey::Table, ApiKey::ProjectId),
                    (Project::Table, Project::Id),
                ))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(Task::Table)
                .col(string_len(Task::Id, 26).primary_key())
                .col(big_integer(Task::ProjectId))
                .col(string_len(Task::Name, 255))
                .col(string_len(Task::Status, 20))
                .col(big_integer_null(Task::Value))
                .col(big_integer(Task::ValueMax))
                .col(json_binary_null(Task::Data))
                .col(integer_null(Task::MaxRuntime))
                .col(integer_null(Task::StaleTimeout))
                .col(timestamp_with_time_zone_null(Task::StartTime))
                .col(timestamp_with_time_zone_null(Task::EndTime))
                .col(big_integer_null(Task::TimeToStart))
                .col(json_binary(Task::Tags))
                .col(string_len_null(Task::Queue, 255))
                .col(string_len_null(Task::ExternalId, 255))
                .col(string_len_null(Task::ParentId, 26))
                .col(string_len_null(Task::MonitorId, 36))
                .col(timestamp_with_time_zone(Task::Created))
                .col(timestamp_with_time_zone(Task::Updated))
                .foreign_key(&mut fk(
                    "fk_task_project",
                    (Task::Table, Task::ProjectId),
                    (Project::Table, Project::Id),
                ))
                .foreign_key(&mut fk(
                    "fk_task_parent",
                    (Task::Table, Task::ParentId),
                    (Task::Table, Task::Id),
                ))
                .to_owned(),
        )
        .await?;
        // Keyset pagination walks (project_id, id); every filter has an index that ends in id so
        // the filtered walk is an index range scan too.
        for (name, cols) in [
            ("ix_task_project_id", vec![Task::ProjectId, Task::Id]),
            (
                "ix_task_status",
                vec![Task::ProjectId, Task::Status, Task::Id],
            ),
            ("ix_task_name", vec![Task::ProjectId, Task::Name, Task::Id]),
            (
                "ix_task_external_id",
                vec![Task::ProjectId, Task::ExternalId, Task::Id],
            ),
            (
                "ix_task_parent",
                vec![Task::ProjectId, Task::ParentId, Task::Id],
            ),
        ] {
            let mut index = Index::create();
            index.name(name).table(Task::Table);
            for col in cols {
                index.col(col);
            }
            m.create_index(index.to_owned()).await?;
        }
        m.create_table(
            Table::create()
                .table(TaskTag::Table)
                .col(string_len(TaskTag::TaskId, 26))
                .col(string_len(TaskTag::Namespace, 255))
                .col(big_integer(TaskTag::ProjectId))
                .col(string_len(TaskTag::Value, 255))
                .primary_key(Index::create().col(TaskTag::TaskId).col(TaskTag::Namespace))
                .foreign_key(&mut fk(
                    "fk_task_tag_task",
                    (TaskTag::Table, TaskTag::TaskId),
                    (Task::Table, Task::Id),
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_task_tag_lookup")
                .table(TaskTag::Table)
                .col(TaskTag::ProjectId)
                .col(TaskTag::Namespace)
                .col(TaskTag::Value)
                .col(TaskTag::TaskId)
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(Action::Table)
                .col(big_pk_auto(Action::Id))
                .col(string_len(Action::TaskId, 26))
                .col(string_len(Action::Trigger, 255))
                .col(string_len(Action::Integration, 50))
                .col(json_binary(Action::Config))
                .col(string_len(Action::Status, 20))
                .col(timestamp_with_time_zone(Action::Created))
                .col(timestamp_with_time_zone(Action::Updated))
                .foreign_key(&mut fk(
                    "fk_action_task",
                    (Action::Table, Action::TaskId),
                    (Task::Table, Task::Id),
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_action_task")
                .table(Action::Table)
                .col(Action::TaskId)
                .col(Action::Id)
                .to_owned(),
        )
        .await
    }
}

/// The alerting engine: evaluation state on tasks, web hook endpoints, and the outbox
/// (deliveries and their attempts).
struct Alerting;

impl MigrationName for Alerting {
    fn name(&self) -> &str {
        "m0002_alerting"
    }
}

#[derive(DeriveIden)]
enum TaskAlerting {
    #[sea_orm(iden = "task")]
    Table,
    PriorValue,
    PriorValueMax,
    PriorStatus,
    Alerts,
    StaleDue,
    StartMs,
    RuntimeDue,
    RuntimeFired,
}

#[derive(DeriveIden)]
enum Webhook {
    Table,
    Id,
    ProjectId,
    Slug,
    Url,
    Description,
    Enabled,
    Secret,
    PreviousSecret,
    PreviousUntil,
    Created,
    Updated,
}

#[derive(DeriveIden)]
enum Delivery {
    Table,
    Id,
    EventId,
    ProjectId,
    TaskId,
    ActionId,
    Trigger,
    Integration,
    Payload,
    Status,
    AttemptCount,
    NextAttemptMs,
    LeaseUntil,
    LastError,
    Created,
    Updated,
}

#[derive(DeriveIden)]
enum DeliveryAttempt {
    Table,
    Id,
    DeliveryId,
    At,
    StatusCode,
    Error,
    DurationMs,
}

#[async_trait::async_trait]
impl MigrationTrait for Alerting {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // SQLite adds one column per ALTER TABLE.
        let columns = [
            big_integer_null(TaskAlerting::PriorValue),
            big_integer_null(TaskAlerting::PriorValueMax),
            string_len_null(TaskAlerting::PriorStatus, 20),
            json_binary_null(TaskAlerting::Alerts),
            big_integer_null(TaskAlerting::StaleDue),
            big_integer_null(TaskAlerting::StartMs),
            big_integer_null(TaskAlerting::RuntimeDue),
            boolean(TaskAlerting::RuntimeFired)
                .default(false)
                .to_owned(),
        ];
        for mut column in columns {
            m.alter_table(
                Table::alter()
                    .table(TaskAlerting::Table)
                    .add_column(&mut column)
                    .to_owned(),
            )
            .await?;
        }
        // The sweeps' due-time queries: a range scan of what is due, nothing else.
        for (name, col) in [
            ("ix_task_stale_due", TaskAlerting::StaleDue),
            ("ix_task_runtime_due", TaskAlerting::RuntimeDue),
        ] {
            m.create_index(
                Index::create()
                    .name(name)
                    .table(TaskAlerting::Table)
                    .col(col)
                    .to_owned(),
            )
            .await?;
        }
        m.create_table(
            Table::create()
                .table(Webhook::Table)
                .col(big_pk_auto(Webhook::Id))
                .col(big_integer(Webhook::ProjectId))
                .col(string_len(Webhook::Slug, 50))
                .col(string_len(Webhook::Url, 2048))
                .col(string_len(Webhook::Description, 1000))
                .col(boolean(Webhook::Enabled))
                .col(string_len(Webhook::Secret, 100))
                .col(string_len_null(Webhook::PreviousSecret, 100))
                .col(timestamp_with_time_zone_null(Webhook::PreviousUntil))
                .col(timestamp_with_time_zone(Webhook::Created))
                .col(timestamp_with_time_zone(Webhook::Updated))
                .foreign_key(&mut fk(
                    "fk_webhook_project",
                    (Webhook::Table, Webhook::ProjectId),
                    (Project::Table, Project::Id),
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ux_webhook_project_slug")
                .table(Webhook::Table)
                .col(Webhook::ProjectId)
                .col(Webhook::Slug)
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(Delivery::Table)
                .col(string_len(Delivery::Id, 26).primary_key())
                .col(string_len(Delivery::EventId, 40))
                .col(big_integer(Delivery::ProjectId))
                .col(string_len(Delivery::TaskId, 26))
                .col(big_integer_null(Delivery::ActionId))
                .col(string_len(Delivery::Trigger, 255))
                .col(string_len(Delivery::Integration, 60))
                .col(json_binary(Delivery::Payload))
                .col(string_len(Delivery::Status, 20))
                .col(integer(Delivery::AttemptCount))
                .col(big_integer(Delivery::NextAttemptMs))
                .col(big_integer_null(Delivery::LeaseUntil))
                .col(text_null(Delivery::LastError))
                .col(timestamp_with_time_zone(Delivery::Created))
                .col(timestamp_with_time_zone(Delivery::Updated))
                .foreign_key(&mut fk(
                    "fk_delivery_project",
                    (Delivery::Table, Delivery::ProjectId),
                    (Project::Table, Project::Id),
                ))
                .to_owned(),
        )
        .await?;
        for (name, cols) in [
            // The dispatcher's claim: pending deliveries by due time.
            (
                "ix_delivery_due",
                vec![Delivery::Status, Delivery::NextAttemptMs],
            ),
            // The delivery log: newest first per project, optionally per task or status.
            (
                "ix_delivery_project",
                vec![Delivery::ProjectId, Delivery::Id],
            ),
            (
                "ix_delivery_task",
                vec![Delivery::ProjectId, Delivery::TaskId, Delivery::Id],
            ),
            (
                "ix_delivery_status",
                vec![Delivery::ProjectId, Delivery::Status, Delivery::Id],
            ),
        ] {
            let mut index = Index::create();
            index.name(name).table(Delivery::Table);
            for col in cols {
                index.col(col);
            }
            m.create_index(index.to_owned()).await?;
        }
        m.create_table(
            Table::create()
                .table(DeliveryAttempt::Table)
                .col(big_pk_auto(DeliveryAttempt::Id))
                .col(string_len(DeliveryAttempt::DeliveryId, 26))
                .col(timestamp_with_time_zone(DeliveryAttempt::At))
                .col(integer_null(DeliveryAttempt::StatusCode))
                .col(text_null(DeliveryAttempt::Error))
                .col(big_integer(DeliveryAttempt::DurationMs))
                .foreign_key(&mut fk(
                    "fk_attempt_delivery",
                    (DeliveryAttempt::Table, DeliveryAttempt::DeliveryId),
                    (Delivery::Table, Delivery::Id),
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_attempt_delivery")
                .table(DeliveryAttempt::Table)
                .col(DeliveryAttempt::DeliveryId)
                .col(DeliveryAttempt::Id)
                .to_owned(),
        )
        .await
    }
}

/// The sweeps' due-time indexes become partial (`WHERE … IS NOT NULL`): most tasks have no
/// `stale_timeout` or `max_runtime`, and an update of such a task then touches neither index
/// (a full index took a delete and an insert in each on every PATCH).
struct PartialDueIndexes;

impl MigrationName for PartialDueIndexes {
    fn name(&self) -> &str {
        "m0003_partial_due_indexes"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for PartialDueIndexes {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        for (name, column) in [
            ("ix_task_stale_due", "stale_due"),
            ("ix_task_runtime_due", "runtime_due"),
        ] {
            db.execute_unprepared(&format!("DROP INDEX {name}")).await?;
            db.execute_unprepared(&format!(
                "CREATE INDEX {name} ON task ({column}) WHERE {column} IS NOT NULL"
            ))
            .await?;
        }
        Ok(())
    }
}

/// Project-wide actions, their fired-point marks per task, and the delivery column naming
/// the project-wide action an event came from.
struct ProjectActions;

impl MigrationName for ProjectActions {
    fn name(&self) -> &str {
        "m0004_project_actions"
    }
}

#[derive(DeriveIden)]
enum ProjectAction {
    Table,
    Id,
    ProjectId,
    Name,
    NameFilter,
    Trigger,
    Integration,
    Config,
    Enabled,
    Created,
    Updated,
}

#[derive(DeriveIden)]
enum ProjectActionMark {
    Table,
    ActionId,
    TaskId,
    Value,
    Percent,
}

#[derive(DeriveIden)]
enum DeliveryProjectAction {
    #[sea_orm(iden = "delivery")]
    Table,
    ProjectActionId,
}

#[async_trait::async_trait]
impl MigrationTrait for ProjectActions {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(ProjectAction::Table)
                .col(big_pk_auto(ProjectAction::Id))
                .col(big_integer(ProjectAction::ProjectId))
                .col(string_len(ProjectAction::Name, 255))
                .col(string_len(ProjectAction::NameFilter, 1000))
                .col(string_len(ProjectAction::Trigger, 255))
                .col(string_len(ProjectAction::Integration, 60))
                .col(json_binary(ProjectAction::Config))
                .col(boolean(ProjectAction::Enabled))
                .col(timestamp_with_time_zone(ProjectAction::Created))
                .col(timestamp_with_time_zone(ProjectAction::Updated))
                .foreign_key(&mut fk(
                    "fk_project_action_project",
                    (ProjectAction::Table, ProjectAction::ProjectId),
                    (Project::Table, Project::Id),
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_project_action_project")
                .table(ProjectAction::Table)
                .col(ProjectAction::ProjectId)
                .col(ProjectAction::Id)
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(ProjectActionMark::Table)
                .col(big_integer(ProjectActionMark::ActionId))
                .col(string_len(ProjectActionMark::TaskId, 26))
                .col(big_integer_null(ProjectActionMark::Value))
                .col(big_integer_null(ProjectActionMark::Percent))
                .primary_key(
                    Index::create()
                        .col(ProjectActionMark::ActionId)
                        .col(ProjectActionMark::TaskId),
                )
                .foreign_key(&mut fk(
                    "fk_project_action_mark_action",
                    (ProjectActionMark::Table, ProjectActionMark::ActionId),
                    (ProjectAction::Table, ProjectAction::Id),
                ))
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(DeliveryProjectAction::Table)
                .add_column(big_integer_null(DeliveryProjectAction::ProjectActionId))
                .to_owned(),
        )
        .await
    }
}

/// Monitors (scheduled-task expectations), their in-flight runs, and the delivery column
/// naming the monitor an event came from.
struct Monitors;

impl MigrationName for Monitors {
    fn name(&self) -> &str {
        "m0005_monitors"
    }
}

#[derive(DeriveIden)]
enum Monitor {
    Table,
    Id,
    ProjectId,
    Name,
    Kind,
    IntervalSecs,
    Schedule,
    Timezone,
    Grace,
    MaxRuntime,
    AlertIntegration,
    AlertConfig,
    Enabled,
    State,
    LastTask,
    LastRunAt,
    NextExpectedAt,
    DueMs,
    Revision,
    Created,
    Updated,
}

#[derive(DeriveIden)]
enum MonitorRun {
    Table,
    TaskId,
    MonitorId,
    DeadlineMs,
}

#[derive(DeriveIden)]
enum DeliveryMonitor {
    #[sea_orm(iden = "delivery")]
    Table,
    MonitorId,
}

#[async_trait::async_trait]
impl MigrationTrait for Monitors {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Monitor::Table)
                .col(string_len(Monitor::Id, 36).primary_key())
                .col(big_integer(Monitor::ProjectId))
                .col(string_len(Monitor::Name, 255))
                .col(string_len(Monitor::Kind, 16))
                .col(big_integer_null(Monitor::IntervalSecs))
                .col(string_len_null(Monitor::Schedule, 255))
                .col(string_len(Monitor::Timezone, 64))
                .col(big_integer(Monitor::Grace))
                .col(big_integer_null(Monitor::MaxRuntime))
                .col(string_len_null(Monitor::AlertIntegration, 60))
                .col(json_binary(Monitor::AlertConfig))
                .col(boolean(Monitor::Enabled))
                .col(string_len(Monitor::State, 16))
                .col(string_len_null(Monitor::LastTask, 26))
                .col(timestamp_with_time_zone_null(Monitor::LastRunAt))
                .col(timestamp_with_time_zone_null(Monitor::NextExpectedAt))
                .col(big_integer_null(Monitor::DueMs))
                .col(big_integer(Monitor::Revision))
                .col(timestamp_with_time_zone(Monitor::Created))
                .col(timestamp_with_time_zone(Monitor::Updated))
                .foreign_key(&mut fk(
                    "fk_monitor_project",
                    (Monitor::Table, Monitor::ProjectId),
                    (Project::Table, Project::Id),
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_monitor_project")
                .table(Monitor::Table)
                .col(Monitor::ProjectId)
                .col(Monitor::Created)
                .to_owned(),
        )
        .await?;
        m.get_connection()
            .execute_unprepared(
                "CREATE INDEX ix_monitor_due ON monitor (due_ms) WHERE due_ms IS NOT NULL",
            )
            .await?;
        m.create_table(
            Table::create()
                .table(MonitorRun::Table)
                .col(string_len(MonitorRun::TaskId, 26).primary_key())
                .col(string_len(MonitorRun::MonitorId, 36))
                .col(big_integer_null(MonitorRun::DeadlineMs))
                .foreign_key(&mut fk(
                    "fk_monitor_run_monitor",
                    (MonitorRun::Table, MonitorRun::MonitorId),
                    (Monitor::Table, Monitor::Id),
                ))
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(DeliveryMonitor::Table)
                .add_column(string_len_null(DeliveryMonitor::MonitorId, 36))
                .to_owned(),
        )
        .await
    }
}
