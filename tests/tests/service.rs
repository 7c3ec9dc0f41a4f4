//! Running the service: bootstrap, docs, health, shutdown.

use reqwest::Method;

use crate::support::{Backend, Server, TestDb, expect};

#[tokio::test]
async fn docs_schema_and_health() {
    let s = Server::start(Backend::Sqlite).await;
    assert!(!s.key.is_empty(), "a first start prints a key");
    let json = expect(
        s.raw(Method::GET, &s.url("/api/schema.json"))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(json["openapi"], "3.0.3");
    assert!(json["paths"]["/api/{organization_slug}/{project_slug}/tasks/"].is_object());
    let yaml = s
        .raw(Method::GET, &s.url("/api/schema.yaml"))
        .send()
        .await
        .unwrap();
    assert_eq!(yaml.status().as_u16(), 200);
    assert!(yaml.text().await.unwrap().starts_with("openapi: 3.0.3"));
    let ui = s
        .raw(Method::GET, &s.url("/api/docs/"))
        .send()
        .await
        .unwrap();
    assert_eq!(ui.status().as_u16(), 200);
    assert!(ui.text().await.unwrap().contains("swagger"));
    let init = s
        .raw(Method::GET, &s.url("/api/docs/swagger-initializer.js"))
        .send()
        .await
        .unwrap();
    assert!(
        init.text().await.unwrap().contains("/api/schema.json"),
        "Swagger UI shows the canonical document"
    );
    for path in ["/healthz", "/readyz"] {
        let resp = s.raw(Method::GET, &s.url(path)).send().await.unwrap();
        assert_eq!(resp.status().as_u16(), 200, "{path}");
    }
}

/// Deployed behind a public URL, the served documents name that URL as their server, so
/// Swagger UI's "Try it out" reaches this server and not the canonical file's local default.
#[tokio::test]
async fn served_schema_names_the_public_url() {
    let s = Server::start_with_env(
        Backend::Sqlite,
        &[("RATEL_PUBLIC_URL", "https://ratel.example.com/")],
    )
    .await;
    let json = expect(
        s.raw(Method::GET, &s.url("/api/schema.json"))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    let servers = serde_json::json!([{
        "url": "https://ratel.example.com",
        "description": "This Ratel server",
    }]);
    assert_eq!(json["servers"], servers);
    let yaml = s
        .raw(Method::GET, &s.url("/api/schema.yaml"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        yaml.starts_with("openapi: 3.0.3"),
        "the canonical text, in order"
    );
    let yaml: serde_json::Value = serde_norway::from_str(&yaml).unwrap();
    assert_eq!(yaml["servers"], servers);
    assert_eq!(yaml, json, "JSON and YAML serve one document");
    // A task's links use the same base.
    let t = s.create(serde_json::json!({"name": "linked"})).await;
    assert!(
        t["public_url"]
            .as_str()
            .unwrap()
            .starts_with("https://ratel.example.com/public/tasks/")
    );
}

#[tokio::test]
async fn second_start_keeps_the_data_and_prints_no_key() {
    let first = Server::start_on(TestDb::new(Backend::Sqlite).await, &[]);
    let key = first.key.clone();
    let t = first.create(serde_json::json!({"name": "kept"})).await;
    let (status, db) = first.shutdown();
    assert!(status.success(), "SIGTERM stops the server cleanly");
    let mut second = Server::start_on(db, &[]);
    assert!(second.key.is_empty(), "no new key when keys exist");
    second.key = key;
    assert_eq!(
        second.get_task(t["id"].as_str().unwrap()).await["name"],
        "kept"
    );
}

#[tokio::test]
async fn migrate_subcommand() {
    let s = Server::start(Backend::Postgres).await;
    let out = std::process::Command::new(crate::support::server_bin())
        .arg("migrate")
        .env("DATABASE_URL", &s.db().url)
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("migrations applied"));
}

/// SIGTERM while a request is in flight: the request completes, then the server exits 0.
/// The request is held inside its handler by a row lock taken from outside the server.
#[tokio::test]
async fn graceful_shutdown_finishes_in_flight_requests() {
    use sea_orm::{ConnectionTrait, TransactionTrait};

    let s = Server::start(Backend::Postgres).await;
    let task = s.create(serde_json::json!({"name": "in flight"})).await;
    let id = task["id"].as_str().unwrap().to_owned();
    let db = sea_orm::Database::connect(&s.db().url).await.unwrap();
    let lock = db.begin().await.unwrap();
    lock.execute_unprepared(&format!("SELECT id FROM task WHERE id = '{id}' FOR UPDATE"))
        .await
        .unwrap();
    let patch = s
        .req(Method::PATCH, &s.task_url(&id))
        .json(&serde_json::json!({"value": 1}))
        .send();
    let in_flight = tokio::spawn(patch);
    // Wait until the PATCH is blocked on the lock, inside the server.
    let waiting = "SELECT count(*) AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock'";
    let mut blocked = false;
    for _ in 0..500 {
        let row = db
            .query_one_raw(sea_orm::Statement::from_string(
                db.get_database_backend(),
                waiting,
            ))
            .await
            .unwrap()
            .unwrap();
        if row.try_get::<i64>("", "n").unwrap() > 0 {
            blocked = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert!(blocked, "the PATCH reached the database");
    s.sigterm();
    let addr = s.base.trim_start_matches("http://").to_owned();
    tokio::time::timeout(std::time::Duration::from_secs(10), async {
        while tokio::net::TcpStream::connect(&addr).await.is_ok() {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("the listener closes after SIGTERM");
    lock.rollback().await.unwrap();
    let resp = in_flight
        .await
        .unwrap()
        .expect("the in-flight request got its response");
    assert_eq!(expect(resp, 200).await["value"], 1);
    let (status, _db) = s.shutdown();
    assert!(status.success());
}

/// A server fault: the generic 500 body, nothing leaked, and a JSON log line with the
/// request id.
#[tokio::test]
async fn server_fault_is_a_generic_500_logged_with_the_request_id() {
    use sea_orm::ConnectionTrait;

    let dir = crate::support::temp_dir();
    let log = dir.0.join("server.log");
    let s = Server::start_logging(
        TestDb::new(Backend::Sqlite).await,
        &log,
        &[("RATEL_LOG_FORMAT", "json")],
    );
    let t = s.create(serde_json::json!({"name": "victim"})).await;
    // Break the schema behind the server's back.
    let db = sea_orm::Database::connect(&s.db().url).await.unwrap();
    db.execute_unprepared("DROP TABLE action").await.unwrap();
    let url = s.url(&format!(
        "/api/default/default/tasks/{}/actions/",
        t["id"].as_str().unwrap()
    ));
    let resp = s.req(Method::GET, &url).send().await.unwrap();
    let request_id = resp.headers()["x-request-id"].to_str().unwrap().to_owned();
    let body = expect(resp, 500).await;
    assert_eq!(
        body,
        serde_json::json!({"type": "server_error", "errors": [
            {"code": "error", "detail": "A server error occurred.", "attr": null}]})
    );
    let logs = std::fs::read_to_string(&log).unwrap();
    let line = logs
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|l| l.to_string().contains(&request_id) && l["level"] == "ERROR")
        .unwrap_or_else(|| panic!("no JSON error line with {request_id} in:\n{logs}"));
    assert!(
        line.to_string().contains("no such table"),
        "the cause is logged: {line}"
    );
}
