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
