//! Schema migrations (sea-orm-migration), applied on start and by `ratel-server migrate`.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![Box::new(Initial)]
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
