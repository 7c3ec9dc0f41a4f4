//! Helpers for the storage layer's unit tests.

use std::path::PathBuf;

use chrono::Utc;

use super::entities::task;
use super::{DbSettings, Store};

/// A directory removed when dropped.
pub struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A migrated store on a fresh SQLite file; the file goes when the guard is dropped.
pub async fn sqlite_store() -> (Store, TempDir) {
    let dir = std::env::temp_dir().join(format!("ratel-storage-{}", ulid::Ulid::new()));
    std::fs::create_dir_all(&dir).unwrap();
    let store = Store::connect(&DbSettings {
        url: format!("sqlite://{}/s.sqlite3?mode=rwc", dir.display()),
        max_connections: Some(1),
        sqlite_synchronous_full: false,
    })
    .await
    .unwrap();
    store.migrate().await.unwrap();
    (store, TempDir(dir))
}

/// A fresh PostgreSQL database on the local server, dropped (with `psql`) when the guard is.
pub struct PgDatabase(String);

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let _ = std::process::Command::new("psql")
            .args([
                "-h",
                "127.0.0.1",
                "-U",
                "postgres",
                "-d",
                "postgres",
                "-q",
                "-c",
            ])
            .arg(format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.0))
            .status();
    }
}

/// A migrated store on a fresh PostgreSQL database.
pub async fn postgres_store() -> (Store, PgDatabase) {
    use sea_orm::ConnectionTrait;
    let name = format!(
        "ratel_unit_{}",
        ulid::Ulid::new().to_string().to_lowercase()
    );
    let admin = sea_orm::Database::connect("postgres://postgres@127.0.0.1:5432/postgres")
        .await
        .unwrap();
    admin
        .execute_unprepared(&format!("CREATE DATABASE {name}"))
        .await
        .unwrap();
    let _ = admin.close().await;
    let guard = PgDatabase(name.clone());
    let store = Store::connect(&DbSettings {
        url: format!("postgres://postgres@127.0.0.1:5432/{name}"),
        max_connections: Some(4),
        sqlite_synchronous_full: false,
    })
    .await
    .unwrap();
    store.migrate().await.unwrap();
    (store, guard)
}

/// A pending task with every optional field empty.
pub fn new_task(id: &str, project_id: i64) -> task::Model {
    let now = Utc::now();
    task::Model {
        id: id.into(),
        project_id,
        name: format!("task {id}"),
        status: "pending".into(),
        value: None,
        value_max: 100,
        data: None,
        max_runtime: None,
        stale_timeout: None,
        start_time: None,
        end_time: None,
        time_to_start: None,
        tags: serde_json::json!({}),
        queue: None,
        external_id: None,
        parent_id: None,
        monitor_id: None,
        created: now,
        updated: now,
        prior_value: None,
        prior_value_max: None,
        prior_status: None,
        alerts: None,
        stale_due: None,
        start_ms: None,
        runtime_due: None,
        runtime_fired: false,
    }
}
