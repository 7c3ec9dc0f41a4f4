//! Query plans of the list query: every filter and the keyset walk are served by an index, on
//! SQLite and on PostgreSQL. Run with `--nocapture` to see the plans.

use chrono::{TimeZone, Utc};
use ratel_server::storage::sweeps::Sweep;
use ratel_server::storage::tasks::{Seek, TaskFilter};
use ratel_server::storage::{DbSettings, Store};
use sea_orm::ConnectionTrait;

const PG_ADMIN: &str = "postgres://postgres@127.0.0.1:5432/postgres";

fn cases() -> Vec<(&'static str, TaskFilter, Seek)> {
    let id = ulid::Ulid::new().to_string();
    let older = Seek::Older {
        anchor: id.clone(),
        ceiling: id.clone(),
    };
    vec![
        ("first page", TaskFilter::default(), Seek::First),
        ("next page", TaskFilter::default(), older.clone()),
        (
            "previous page",
            TaskFilter::default(),
            Seek::Newer {
                anchor: id.clone(),
                ceiling: id.clone(),
            },
        ),
        (
            "status",
            TaskFilter {
                statuses: vec!["processing".into()],
                ..Default::default()
            },
            older.clone(),
        ),
        (
            "name",
            TaskFilter {
                name: Some("export".into()),
                ..Default::default()
            },
            Seek::First,
        ),
        (
            "external_id",
            TaskFilter {
                external_id: Some("e-1".into()),
                ..Default::default()
            },
            Seek::First,
        ),
        (
            "parent",
            TaskFilter {
                parent: Some(id.clone()),
                ..Default::default()
            },
            Seek::First,
        ),
        (
            "tag",
            TaskFilter {
                tags: vec![("env".into(), "prod".into())],
                ..Default::default()
            },
            Seek::First,
        ),
        (
            "created range",
            TaskFilter {
                created_after: Some(Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap()),
                id_at_least: Some(id.clone()),
                ..Default::default()
            },
            Seek::First,
        ),
    ]
}

/// The background jobs' queries: the sweeps' due tasks and monitors, and the dispatcher's
/// claim.
fn background(store: &Store) -> Vec<(&'static str, &'static str, sea_orm::Statement)> {
    vec![
        ("stale sweep", "task", store.due_statement(Sweep::Stale, 1)),
        (
            "max_runtime sweep",
            "task",
            store.due_statement(Sweep::MaxRuntime, 1),
        ),
        (
            "delivery claim",
            "delivery",
            store.claim_statement(1, 2, 64),
        ),
        ("monitor sweep", "monitor", store.due_monitors_statement(1)),
    ]
}

async fn check(store: &Store, uses_index: impl Fn(&str) -> bool) {
    for (label, table, stmt) in background(store) {
        let plan = store.explain(stmt).await.unwrap();
        println!("{label}:\n  {}", plan.join("\n  "));
        let lines: Vec<&String> = plan.iter().filter(|l| l.contains(table)).collect();
        assert!(!lines.is_empty(), "{label}: {plan:?}");
        assert!(
            lines.iter().all(|l| uses_index(l)),
            "{label}: a table is scanned without an index: {plan:?}"
        );
    }
    for (label, filter, seek) in cases() {
        let plan = store
            .explain(store.list_statement(1, &filter, &seek, 100))
            .await
            .unwrap();
        println!("{label}:\n  {}", plan.join("\n  "));
        let task_lines: Vec<&String> = plan.iter().filter(|l| l.contains("task")).collect();
        assert!(!task_lines.is_empty(), "{label}: {plan:?}");
        assert!(
            task_lines.iter().all(|l| uses_index(l)),
            "{label}: a table is scanned without an index: {plan:?}"
        );
    }
}

#[tokio::test]
async fn sqlite_list_queries_use_indexes() {
    let dir = std::env::temp_dir().join(format!("ratel-plans-{}", ulid::Ulid::new()));
    std::fs::create_dir_all(&dir).unwrap();
    let store = Store::connect(&DbSettings {
        url: format!("sqlite://{}/p.sqlite3?mode=rwc", dir.display()),
        max_connections: Some(2),
        sqlite_synchronous_full: false,
    })
    .await
    .unwrap();
    store.migrate().await.unwrap();
    // The workspace builds SQLite with the options its plans and speed rely on.
    assert_eq!(
        store.missing_sqlite_options().await.unwrap(),
        Vec::<&str>::new()
    );
    check(&store, |l| {
        !l.starts_with("SCAN") || l.contains("USING INDEX") || l.contains("COVERING INDEX")
    })
    .await;
    // Coalesced reads by id: the id list drives primary-key searches.
    let plan = store
        .explain(ratel_server::storage::lookup::read_statement(
            store.backend(),
            &["A", "B"],
        ))
        .await
        .unwrap();
    println!("coalesced read by id:\n  {}", plan.join("\n  "));
    let task_lines: Vec<&String> = plan.iter().filter(|l| l.contains("task")).collect();
    assert!(
        !task_lines.is_empty() && task_lines.iter().all(|l| l.starts_with("SEARCH")),
        "{plan:?}"
    );
    store.close().await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn postgres_list_queries_use_indexes() {
    let name = format!(
        "ratel_plans_{}",
        ulid::Ulid::new().to_string().to_lowercase()
    );
    let admin = sea_orm::Database::connect(PG_ADMIN).await.unwrap();
    admin
        .execute_unprepared(&format!("CREATE DATABASE {name}"))
        .await
        .unwrap();
    let store = Store::connect(&DbSettings {
        url: format!("postgres://postgres@127.0.0.1:5432/{name}"),
        max_connections: Some(2),
        sqlite_synchronous_full: false,
    })
    .await
    .unwrap();
    store.migrate().await.unwrap();
    check(&store, |l| !l.contains("Seq Scan")).await;
    // Coalesced reads by id: the id list drives primary-key lookups.
    let plan = store
        .explain(ratel_server::storage::lookup::read_statement(
            store.backend(),
            &["A", "B"],
        ))
        .await
        .unwrap();
    println!("coalesced read by id:\n  {}", plan.join("\n  "));
    assert!(
        plan.iter()
            .any(|l| l.contains("Index Cond: ((id)::text = ANY")),
        "{plan:?}"
    );
    store.close().await;
    admin
        .execute_unprepared(&format!("DROP DATABASE {name} WITH (FORCE)"))
        .await
        .unwrap();
}
