//! Project-wide actions: CRUD and validation, and firing for the tasks whose name matches,
//! once per point per task, through the engine's outbox, signed like task actions.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use crate::on_both_backends;
use crate::support::receiver::{Answer, Receiver};
use crate::support::{Backend, Server, expect, expect_error};

const FAST: &[(&str, &str)] = &[
    ("RATEL_WEBHOOK_ALLOW_PRIVATE_NETWORKS", "true"),
    ("RATEL_DELIVERY_RETRY_SCHEDULE", "0.2,0.2"),
    ("RATEL_SWEEP_INTERVAL_MS", "100"),
];

fn actions_url(s: &Server) -> String {
    s.url("/api/default/default/actions/")
}

async fn post(s: &Server, body: Value) -> reqwest::Response {
    s.req(Method::POST, &actions_url(s))
        .json(&body)
        .send()
        .await
        .unwrap()
}

/// Every delivery of the project, newest first.
async fn deliveries(s: &Server) -> Vec<Value> {
    let page = expect(
        s.req(
            Method::GET,
            &s.url("/api/default/default/deliveries/?page_size=100"),
        )
        .send()
        .await
        .unwrap(),
        200,
    )
    .await;
    page["results"].as_array().unwrap().clone()
}

/// The points that fired on `task`, oldest first.
async fn fired_on(s: &Server, task: &Value) -> Vec<String> {
    let mut points: Vec<String> = deliveries(s)
        .await
        .iter()
        .filter(|d| d["task"] == task["id"])
        .map(|d| d["trigger"].as_str().unwrap().to_owned())
        .collect();
    points.reverse();
    points
}

async fn crud_and_validation(backend: Backend) {
    let s = Server::start(backend).await;
    s.add_webhook("ops", "https://hooks.example.com/ops").await;
    let created = expect(
        post(
            &s,
            json!({"name": "Failed exports", "name_filter": "^export-", "trigger": "error",
                "integration": "webhook:ops"}),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(created["enabled"], true);
    assert_eq!(created["config"], json!({}));
    let id = created["id"].as_i64().unwrap();
    let item = format!("{}{id}/", actions_url(&s));
    let bare = expect(
        post(
            &s,
            json!({"name": "All errors", "trigger": "error", "integration": "email",
                "config": {"to": "ops@example.com"}}),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(bare["name_filter"], "");
    let list = expect(
        s.req(Method::GET, &actions_url(&s)).send().await.unwrap(),
        200,
    )
    .await;
    assert_eq!(list, json!([created.clone(), bare]));
    let patched = expect(
        s.req(Method::PATCH, &item)
            .json(&json!({"enabled": false, "trigger": "error,stale"}))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(
        (&patched["enabled"], &patched["trigger"], &patched["name"]),
        (
            &json!(false),
            &json!("error,stale"),
            &json!("Failed exports")
        )
    );
    assert_eq!(
        expect(s.req(Method::GET, &item).send().await.unwrap(), 200).await,
        patched
    );

    // Refusals name their field and change nothing.
    let long = "a".repeat(1001);
    for (body, attr) in [
        (json!({"trigger": "error", "integration": "email"}), "name"),
        (
            json!({"name": "x", "name_filter": "(unclosed", "trigger": "error", "integration": "webhook:ops"}),
            "name_filter",
        ),
        (
            json!({"name": "x", "name_filter": long, "trigger": "error", "integration": "webhook:ops"}),
            "name_filter",
        ),
        (
            json!({"name": "x", "trigger": "sometimes", "integration": "webhook:ops"}),
            "trigger",
        ),
        (
            json!({"name": "x", "trigger": "error", "integration": "webhook:nope"}),
            "integration",
        ),
        (
            json!({"name": "x", "trigger": "error", "integration": "email", "config": {"to": "nobody"}}),
            "config.to",
        ),
        (
            json!({"name": "", "trigger": "error", "integration": "webhook:ops"}),
            "name",
        ),
    ] {
        let resp = post(&s, body.clone()).await;
        let err = expect(resp, 400).await;
        assert_eq!(err["errors"][0]["attr"], attr, "{body}");
    }
    let resp = s
        .req(Method::PATCH, &item)
        .json(&json!({"name_filter": "[z-a]"}))
        .send()
        .await
        .unwrap();
    let err = expect(resp, 400).await;
    assert_eq!(err["errors"][0]["attr"], "name_filter");
    let list = expect(
        s.req(Method::GET, &actions_url(&s)).send().await.unwrap(),
        200,
    )
    .await;
    assert_eq!(list.as_array().unwrap().len(), 2, "nothing was created");

    // Tenancy: another project's URL is 403; another project's action is 404 here.
    let other_key = s.create_key("acme", "billing");
    let resp = s
        .raw(Method::GET, &s.url("/api/acme/billing/actions/"))
        .bearer_auth(&s.key)
        .send()
        .await
        .unwrap();
    expect_error(resp, 403, "client_error", "permission_denied").await;
    let resp = s
        .raw(
            Method::GET,
            &s.url(&format!("/api/acme/billing/actions/{id}/")),
        )
        .bearer_auth(&other_key)
        .send()
        .await
        .unwrap();
    expect_error(resp, 404, "client_error", "not_found").await;

    let resp = s.req(Method::DELETE, &item).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 204);
    let resp = s.req(Method::GET, &item).send().await.unwrap();
    expect_error(resp, 404, "client_error", "not_found").await;
}

async fn fires_for_matching_tasks_once_per_point(backend: Backend) {
    let s = Server::start_with_env(backend, FAST).await;
    let receiver = Receiver::start(Answer::Status(200)).await;
    let secret = s.add_webhook("ops", &receiver.url()).await;
    let action = expect(
        post(
            &s,
            json!({"name": "Exports", "name_filter": "^export-", "trigger": "*/50%,error",
                "integration": "webhook:ops"}),
        )
        .await,
        201,
    )
    .await;
    // Matching tasks fire; others do not. The create is evaluated too (0%).
    let a = s.create(json!({"name": "export-a", "value": 0})).await;
    let b = s.create(json!({"name": "import-b", "value": 0})).await;
    let id_a = a["id"].as_str().unwrap();
    let id_b = b["id"].as_str().unwrap();
    s.patch(id_a, json!({"value": 50})).await;
    s.patch(id_b, json!({"value": 50})).await;
    // The value drops and returns: 50% does not fire again for this task.
    s.patch(id_a, json!({"value": 20})).await;
    s.patch(id_a, json!({"value": 60})).await;
    s.patch(id_a, json!({"status": "error"})).await;
    s.patch(id_b, json!({"status": "error"})).await;
    assert_eq!(fired_on(&s, &a).await, ["0%", "50%", "error"]);
    assert!(fired_on(&s, &b).await.is_empty());
    // Points are kept per task: a second matching task fires its own 0% and 50%.
    let c = s.create(json!({"name": "export-c", "value": 0})).await;
    s.patch(c["id"].as_str().unwrap(), json!({"value": 100}))
        .await;
    assert_eq!(fired_on(&s, &c).await, ["0%", "100%"]);
    // A rename into the filter counts from the write that makes it match.
    s.patch(id_b, json!({"name": "export-b", "value": 100}))
        .await;
    assert_eq!(fired_on(&s, &b).await, ["100%"]);

    let log = deliveries(&s).await;
    assert!(log.iter().all(|d| d["project_action"] == action["id"]
        && d["action"].is_null()
        && d["integration"] == "webhook:ops"));
    let received = receiver.wait_for(log.len(), Duration::from_secs(20)).await;
    for r in &received {
        standardwebhooks::Webhook::new(&secret)
            .unwrap()
            .verify(&r.body, &r.headers)
            .expect("signed");
        let event = r.json();
        assert_eq!(event["type"], "task.triggered");
        assert_eq!(
            event["action"], action,
            "the event carries the project-wide action"
        );
    }

    // Disabled: stops at once. Edited: the new trigger applies to later writes only.
    let item = format!("{}{}/", actions_url(&s), action["id"]);
    let before = deliveries(&s).await.len();
    expect(
        s.req(Method::PATCH, &item)
            .json(&json!({"enabled": false}))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    let d = s
        .create(json!({"name": "export-d", "status": "error"}))
        .await;
    assert!(fired_on(&s, &d).await.is_empty());
    assert_eq!(deliveries(&s).await.len(), before);
    expect(
        s.req(Method::PATCH, &item)
            .json(&json!({"enabled": true, "trigger": "success"}))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    s.patch(d["id"].as_str().unwrap(), json!({"status": "success"}))
        .await;
    assert_eq!(fired_on(&s, &d).await, ["success"]);
}

/// The stale sweep's status change fires project-wide `stale` points too.
async fn the_stale_sweep_fires_project_actions(backend: Backend) {
    let s = Server::start_with_env(backend, FAST).await;
    s.add_webhook("ops", "https://hooks.example.com/ops").await;
    expect(
        post(
            &s,
            json!({"name": "Stale", "trigger": "stale", "integration": "webhook:ops"}),
        )
        .await,
        201,
    )
    .await;
    let t = s
        .create(json!({"name": "sleepy", "status": "processing", "stale_timeout": 1}))
        .await;
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while fired_on(&s, &t).await.is_empty() {
        assert!(std::time::Instant::now() < deadline, "never went stale");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(fired_on(&s, &t).await, ["stale"]);
}

/// Two server processes on one PostgreSQL write the same tasks at once: each point of a
/// project-wide action fires once per task (the marks are read under the task's row lock).
async fn two_replicas_consume_each_point_once() {
    let a = Server::start_with_env(Backend::Postgres, FAST).await;
    let b = a.replica(FAST);
    a.add_webhook("ops", "https://hooks.example.com/ops").await;
    expect(
        post(
            &a,
            json!({"name": "Halfway", "trigger": "50,error", "integration": "webhook:ops"}),
        )
        .await,
        201,
    )
    .await;
    // Replica b learns of the project's first project-wide action within its refresh.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let probe = b.create(json!({"name": "probe", "status": "error"})).await;
        if !fired_on(&a, &probe).await.is_empty() {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "replica b never evaluated it"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut tasks = Vec::new();
    for n in 0..20 {
        tasks.push(a.create(json!({"name": format!("t{n}"), "value": 0})).await);
    }
    let writes = tasks.iter().flat_map(|t| {
        let id = t["id"].as_str().unwrap().to_owned();
        [&a, &b].map(|s| {
            let url = s.task_url(&id);
            let req = s.req(Method::PATCH, &url).json(&json!({"value": 50}));
            async move { expect(req.send().await.unwrap(), 200).await }
        })
    });
    futures_join_all(writes).await;
    for t in &tasks {
        assert_eq!(fired_on(&a, t).await, ["50"], "{}", t["name"]);
    }
}

/// Runs the futures concurrently.
async fn futures_join_all<F: std::future::Future<Output = Value> + Send + 'static>(
    futures: impl Iterator<Item = F>,
) {
    let handles: Vec<_> = futures.map(tokio::spawn).collect();
    for h in handles {
        h.await.unwrap();
    }
}

mod replicas {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        super::two_replicas_consume_each_point_once().await
    }
}

on_both_backends!(
    crud_and_validation,
    fires_for_matching_tasks_once_per_point,
    the_stale_sweep_fires_project_actions
);
