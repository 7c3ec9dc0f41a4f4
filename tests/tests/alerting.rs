//! The alerting engine end to end: actions fire through the outbox to a real HTTP receiver,
//! signed, retried and logged; the stale and max_runtime sweeps; crash recovery; replicas.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};

use crate::on_both_backends;
use crate::support::receiver::{Answer, Received, Receiver};
use crate::support::{Backend, Server, TestDb, expect, expect_error};

/// Settings for fast tests: receivers on loopback, a short schedule, quick sweeps.
const FAST: &[(&str, &str)] = &[
    ("RATEL_WEBHOOK_ALLOW_PRIVATE_NETWORKS", "true"),
    ("RATEL_DELIVERY_RETRY_SCHEDULE", "0.2,0.2"),
    ("RATEL_SWEEP_INTERVAL_MS", "100"),
    ("RATEL_WEBHOOK_TIMEOUT_SECS", "2"),
];

const WAIT: Duration = Duration::from_secs(20);

fn webhooks_url(s: &Server) -> String {
    s.url("/api/default/default/webhooks/")
}

fn deliveries_url(s: &Server) -> String {
    s.url("/api/default/default/deliveries/")
}

/// Registers a web hook; returns its secret.
async fn add_webhook(s: &Server, slug: &str, url: &str) -> String {
    let resp = s
        .req(Method::POST, &webhooks_url(s))
        .json(&json!({"slug": slug, "url": url}))
        .send()
        .await
        .unwrap();
    let body = expect(resp, 201).await;
    body["secret"].as_str().unwrap().to_owned()
}

fn verify(secret: &str, r: &Received) {
    standardwebhooks::Webhook::new(secret)
        .unwrap()
        .verify(&r.body, &r.headers)
        .unwrap_or_else(|e| panic!("signature does not verify: {e:?}"));
}

fn triggers(received: &[Received]) -> Vec<String> {
    received
        .iter()
        .map(|r| r.json()["trigger"].as_str().unwrap().to_owned())
        .collect()
}

/// Polls the delivery log until `pred` holds for its first page (or panics).
async fn wait_deliveries(s: &Server, query: &str, pred: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let deadline = Instant::now() + WAIT;
    loop {
        let resp = s
            .req(Method::GET, &format!("{}{query}", deliveries_url(s)))
            .send()
            .await
            .unwrap();
        let body = expect(resp, 200).await;
        let rows = body["results"].as_array().unwrap().clone();
        if pred(&rows) {
            return rows;
        }
        assert!(
            Instant::now() < deadline,
            "delivery log never matched: {rows:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn webhook_endpoints_and_secrets(backend: Backend) {
    let s = Server::start_with_env(backend, FAST).await;
    let secret = add_webhook(&s, "ops", "https://hooks.example.com/x").await;
    assert!(secret.starts_with("whsec_"), "{secret}");
    use base64::Engine;
    let raw = base64::engine::general_purpose::STANDARD
        .decode(&secret["whsec_".len()..])
        .unwrap();
    assert_eq!(raw.len(), 32);

    // A duplicate slug, a bad URL.
    let resp = s
        .req(Method::POST, &webhooks_url(&s))
        .json(&json!({"slug": "ops", "url": "https://x.example.com/"}))
        .send()
        .await
        .unwrap();
    let body = expect_error(resp, 400, "validation_error", "unique").await;
    assert_eq!(body["errors"][0]["attr"], "slug");
    let resp = s
        .req(Method::POST, &webhooks_url(&s))
        .json(&json!({"slug": "bad", "url": "ftp://x.example.com/"}))
        .send()
        .await
        .unwrap();
    let body = expect_error(resp, 400, "validation_error", "invalid").await;
    assert_eq!(body["errors"][0]["attr"], "url");

    // The list and the detail never show the secret.
    let list = expect(
        s.req(Method::GET, &webhooks_url(&s)).send().await.unwrap(),
        200,
    )
    .await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert!(list[0].get("secret").is_none());
    let one = s.url("/api/default/default/webhooks/ops/");
    let resp = s
        .req(Method::PATCH, &one)
        .json(&json!({"url": "https://y.example.com/", "enabled": false}))
        .send()
        .await
        .unwrap();
    let body = expect(resp, 200).await;
    assert_eq!(
        (body["url"].as_str(), body["enabled"].as_bool()),
        (Some("https://y.example.com/"), Some(false))
    );
    let resp = s
        .req(Method::PATCH, &one)
        .json(&json!({"slug": "other"}))
        .send()
        .await
        .unwrap();
    expect_error(resp, 400, "validation_error", "invalid").await;

    let resp = s
        .req(
            Method::POST,
            &s.url("/api/default/default/webhooks/ops/rotate-secret/"),
        )
        .send()
        .await
        .unwrap();
    let rotated = expect(resp, 200).await;
    assert_ne!(rotated["secret"].as_str().unwrap(), secret);

    // An action naming a web hook that does not exist.
    let resp = s
        .req(Method::POST, &s.tasks_url())
        .json(
            &json!({"name": "t", "actions": [{"trigger": "error", "integration": "webhook:nope"}]}),
        )
        .send()
        .await
        .unwrap();
    let body = expect_error(resp, 400, "validation_error", "does_not_exist").await;
    assert_eq!(body["errors"][0]["attr"], "actions.0.integration");
    let task = s.create(json!({"name": "t"})).await;
    let resp = s
        .req(
            Method::POST,
            &format!("{}actions/", s.task_url(task["id"].as_str().unwrap())),
        )
        .json(&json!({"trigger": "error", "integration": "webhook:nope"}))
        .send()
        .await
        .unwrap();
    let body = expect_error(resp, 400, "validation_error", "does_not_exist").await;
    assert_eq!(body["errors"][0]["attr"], "integration");

    // Another project's endpoints: 403 by URL.
    let other = s.create_key("acme", "billing");
    let resp = s
        .raw(Method::GET, &webhooks_url(&s))
        .bearer_auth(&other)
        .send()
        .await
        .unwrap();
    expect_error(resp, 403, "client_error", "permission_denied").await;
    let resp = s
        .raw(Method::GET, &s.url("/api/acme/billing/webhooks/ops/"))
        .bearer_auth(&other)
        .send()
        .await
        .unwrap();
    expect_error(resp, 404, "client_error", "not_found").await;

    let resp = s.req(Method::DELETE, &one).send().await.unwrap();
    expect(resp, 204).await;
    let resp = s.req(Method::GET, &one).send().await.unwrap();
    expect_error(resp, 404, "client_error", "not_found").await;
}

async fn each_point_fires_once_signed(backend: Backend) {
    let s = Server::start_with_env(backend, FAST).await;
    let receiver = Receiver::start(Answer::Status(200)).await;
    let secret = add_webhook(&s, "r", &receiver.url()).await;
    let task = s
        .create(json!({
            "name": "export",
            "value": 0,
            "actions": [{"trigger": "*/50%,error", "integration": "webhook:r"}],
        }))
        .await;
    let id = task["id"].as_str().unwrap();
    // "0%" fires at creation; then 50%, nothing for a repeat, and the status.
    receiver.wait_for(1, WAIT).await;
    s.patch(id, json!({"value": 50})).await;
    receiver.wait_for(2, WAIT).await;
    s.patch(id, json!({"value": 50})).await;
    s.patch(id, json!({"value": 20})).await;
    s.patch(id, json!({"value": 60})).await;
    s.patch(id, json!({"status": "error"})).await;
    let got = receiver.wait_for(3, WAIT).await;
    assert_eq!(triggers(&got), ["0%", "50%", "error"]);
    for r in &got {
        verify(&secret, r);
        let body = r.json();
        assert_eq!(r.header("webhook-id"), body["id"].as_str().unwrap());
        assert!(body["id"].as_str().unwrap().starts_with("evt_"));
        assert_eq!(body["type"], "task.triggered");
        assert_eq!(body["task"]["id"], id);
        assert_eq!(body["action"]["trigger"], "*/50%,error");
        assert!(r.header("user-agent").starts_with("Ratel/"));
        assert_eq!(r.header("content-type"), "application/json");
        crate::support::contract()
            .check_schema("WebhookEvent", &body)
            .unwrap_or_else(|e| panic!("{e}"));
    }
    assert_eq!(got[2].json()["task"]["status"], "error");
    // The delivery log: three delivered, one attempt each.
    let rows = wait_deliveries(&s, &format!("?task={id}"), |rows| {
        rows.len() == 3 && rows.iter().all(|r| r["status"] == "delivered")
    })
    .await;
    let detail = expect(
        s.req(
            Method::GET,
            &format!("{}{}/", deliveries_url(&s), rows[0]["id"].as_str().unwrap()),
        )
        .send()
        .await
        .unwrap(),
        200,
    )
    .await;
    assert_eq!(detail["attempts"].as_array().unwrap().len(), 1);
    assert_eq!(detail["attempts"][0]["status_code"], 200);
    // Nothing more arrives.
    assert_eq!(receiver.received().len(), 3);

    // The official SDK's update path (PATCH value) fires value points, and cancellation
    // stops an action.
    let t2 = s
        .create(json!({"name": "two", "actions": [{"trigger": "10,cancelled", "integration": "webhook:r"}]}))
        .await;
    let id2 = t2["id"].as_str().unwrap();
    s.patch(id2, json!({"value": 12})).await;
    receiver.wait_for(4, WAIT).await;
    let actions = expect(
        s.req(Method::GET, &format!("{}actions/", s.task_url(id2)))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    let action_id = actions[0]["id"].as_i64().unwrap();
    let resp = s
        .req(
            Method::DELETE,
            &format!("{}actions/{action_id}/", s.task_url(id2)),
        )
        .send()
        .await
        .unwrap();
    expect(resp, 204).await;
    let resp = s
        .req(Method::DELETE, &s.task_url(id2))
        .send()
        .await
        .unwrap();
    expect(resp, 204).await;
    // The cancelled action does not fire on the task's cancellation; DELETE itself is
    // evaluated like any write, so a live `cancelled` action fires.
    let t3 = s
        .create(json!({"name": "three", "actions": [{"trigger": "cancelled", "integration": "webhook:r"}]}))
        .await;
    let resp = s
        .req(Method::DELETE, &s.task_url(t3["id"].as_str().unwrap()))
        .send()
        .await
        .unwrap();
    expect(resp, 204).await;
    let got = receiver.wait_for(5, WAIT).await;
    assert_eq!(triggers(&got)[3..], ["10", "cancelled"]);
    assert_eq!(got[4].json()["task"]["name"], "three");
    let all = wait_deliveries(&s, "", |rows| rows.len() >= 5).await;
    assert_eq!(all.len(), 5, "{all:?}");

    // Another project: its URL is 403, our delivery under its own URL is 404.
    let other = s.create_key("acme", "billing");
    let mine = all[0]["id"].as_str().unwrap();
    let resp = s
        .raw(Method::GET, &deliveries_url(&s))
        .bearer_auth(&other)
        .send()
        .await
        .unwrap();
    expect_error(resp, 403, "client_error", "permission_denied").await;
    for (method, path) in [
        (Method::GET, format!("/api/acme/billing/deliveries/{mine}/")),
        (
            Method::POST,
            format!("/api/acme/billing/deliveries/{mine}/retry/"),
        ),
    ] {
        let resp = s
            .raw(method, &s.url(&path))
            .bearer_auth(&other)
            .send()
            .await
            .unwrap();
        expect_error(resp, 404, "client_error", "not_found").await;
    }
    let page = expect(
        s.raw(Method::GET, &s.url("/api/acme/billing/deliveries/"))
            .bearer_auth(&other)
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert!(page["results"].as_array().unwrap().is_empty());
}

async fn deleting_a_webhook_fails_its_pending_deliveries(backend: Backend) {
    let env = [
        ("RATEL_WEBHOOK_ALLOW_PRIVATE_NETWORKS", "true"),
        ("RATEL_DELIVERY_RETRY_SCHEDULE", "60"),
    ];
    let s = Server::start_with_env(backend, &env).await;
    let mut receiver = Receiver::start(Answer::Status(200)).await;
    receiver.down().await;
    add_webhook(&s, "r", &receiver.url()).await;
    s.create(json!({"name": "t", "status": "error", "actions": [{"trigger": "error", "integration": "webhook:r"}]}))
        .await;
    wait_deliveries(&s, "?status=pending", |rows| {
        rows.len() == 1 && rows[0]["attempt_count"] == 1
    })
    .await;
    let resp = s
        .req(Method::DELETE, &s.url("/api/default/default/webhooks/r/"))
        .send()
        .await
        .unwrap();
    expect(resp, 204).await;
    let rows = wait_deliveries(&s, "?status=failed", |rows| rows.len() == 1).await;
    assert_eq!(rows[0]["last_error"], "web hook deleted");
    assert_eq!(rows[0]["next_attempt_at"], Value::Null);
}

async fn retries_follow_the_schedule_and_give_up(backend: Backend) {
    let s = Server::start_with_env(backend, FAST).await;
    let receiver = Receiver::start(Answer::Status(500)).await;
    add_webhook(&s, "r", &receiver.url()).await;
    s.create(json!({"name": "t", "status": "error", "actions": [{"trigger": "error", "integration": "webhook:r"}]}))
        .await;
    // 1 + 2 attempts, then failed.
    let got = receiver.wait_for(3, WAIT).await;
    let rows = wait_deliveries(&s, "?status=failed", |rows| rows.len() == 1).await;
    assert_eq!(rows[0]["attempt_count"], 3);
    assert_eq!(rows[0]["last_error"], "HTTP 500 Internal Server Error");
    let gaps: Vec<Duration> = got.windows(2).map(|w| w[1].at - w[0].at).collect();
    for gap in &gaps {
        assert!(
            *gap >= Duration::from_millis(150),
            "retried too soon: {gaps:?}"
        );
    }
    assert_eq!(
        got.iter()
            .map(|r| r.header("webhook-id"))
            .collect::<std::collections::HashSet<_>>()
            .len(),
        1
    );
    // A manual retry after the receiver is fixed delivers it.
    receiver.answer(Answer::Status(204));
    let id = rows[0]["id"].as_str().unwrap();
    let resp = s
        .req(Method::POST, &format!("{}{id}/retry/", deliveries_url(&s)))
        .send()
        .await
        .unwrap();
    let body = expect(resp, 202).await;
    assert_eq!(body["status"], "pending");
    receiver.wait_for(4, WAIT).await;
    wait_deliveries(&s, "?status=delivered", |rows| rows.len() == 1).await;
    let detail = expect(
        s.req(Method::GET, &format!("{}{id}/", deliveries_url(&s)))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    let codes: Vec<Value> = detail["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["status_code"].clone())
        .collect();
    assert_eq!(codes, [json!(500), json!(500), json!(500), json!(204)]);
}

async fn retry_after_and_timeouts(backend: Backend) {
    let env = [
        ("RATEL_WEBHOOK_ALLOW_PRIVATE_NETWORKS", "true"),
        ("RATEL_DELIVERY_RETRY_SCHEDULE", "0.1"),
        ("RATEL_WEBHOOK_TIMEOUT_SECS", "1"),
    ];
    let s = Server::start_with_env(backend, &env).await;
    let throttled = Receiver::start(Answer::RetryAfter(429, 2)).await;
    let slow = Receiver::start(Answer::Slow(Duration::from_secs(3))).await;
    add_webhook(&s, "throttled", &throttled.url()).await;
    add_webhook(&s, "slow", &slow.url()).await;
    s.create(json!({"name": "t", "status": "error", "actions": [
        {"trigger": "error", "integration": "webhook:throttled"},
        {"trigger": "error", "integration": "webhook:slow"},
    ]}))
    .await;
    // Retry-After (2 s) replaces the shorter step (0.1 s).
    let got = throttled.wait_for(2, WAIT).await;
    let gap = got[1].at - got[0].at;
    assert!(
        gap >= Duration::from_millis(1900),
        "Retry-After ignored: {gap:?}"
    );
    // A receiver slower than webhook_timeout_secs is a failed attempt, retried.
    let rows = wait_deliveries(&s, "?status=failed", |rows| rows.len() == 2).await;
    let slow_row = rows
        .iter()
        .find(|r| r["integration"] == "webhook:slow")
        .unwrap();
    assert_eq!(slow_row["attempt_count"], 2);
    assert_eq!(slow_row["last_error"], "timed out");
    let detail = expect(
        s.req(
            Method::GET,
            &format!(
                "{}{}/",
                deliveries_url(&s),
                slow_row["id"].as_str().unwrap()
            ),
        )
        .send()
        .await
        .unwrap(),
        200,
    )
    .await;
    for attempt in detail["attempts"].as_array().unwrap() {
        assert_eq!(attempt["status_code"], Value::Null);
        assert!(attempt["duration_ms"].as_i64().unwrap() >= 900, "{attempt}");
    }
}

async fn gone_disables_and_redirects_are_not_followed(backend: Backend) {
    let s = Server::start_with_env(backend, FAST).await;
    let gone = Receiver::start(Answer::Status(410)).await;
    let moved = Receiver::start(Answer::Redirect).await;
    add_webhook(&s, "gone", &gone.url()).await;
    add_webhook(&s, "moved", &moved.url()).await;
    s.create(json!({"name": "t", "status": "error", "actions": [
        {"trigger": "error", "integration": "webhook:gone"},
        {"trigger": "error", "integration": "webhook:moved"},
    ]}))
    .await;
    gone.wait_for(1, WAIT).await;
    let rows = wait_deliveries(&s, "?status=failed", |rows| rows.len() == 2).await;
    let by: HashMap<&str, &Value> = rows
        .iter()
        .map(|r| (r["integration"].as_str().unwrap(), r))
        .collect();
    assert_eq!(by["webhook:gone"]["attempt_count"], 1);
    // The redirect was retried as a failure, never followed.
    assert_eq!(by["webhook:moved"]["attempt_count"], 3);
    assert!(
        by["webhook:moved"]["last_error"]
            .as_str()
            .unwrap()
            .contains("redirects are not followed")
    );
    assert_eq!(moved.received().len(), 3);
    let hook = expect(
        s.req(Method::GET, &s.url("/api/default/default/webhooks/gone/"))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(hook["enabled"], false);
    // A disabled endpoint gets nothing: the next event fails at once, unsent.
    s.create(json!({"name": "t2", "status": "error", "actions": [{"trigger": "error", "integration": "webhook:gone"}]}))
        .await;
    wait_deliveries(&s, "?status=failed", |rows| rows.len() == 3).await;
    assert_eq!(gone.received().len(), 1);
}

async fn private_addresses_are_refused_by_default(backend: Backend) {
    // Also: no smtp_url, so an email action fails with that reason.
    let s = Server::start_with_env(backend, &[("RATEL_DELIVERY_RETRY_SCHEDULE", "0.1")]).await;
    let receiver = Receiver::start(Answer::Status(200)).await;
    add_webhook(&s, "local", &receiver.url()).await;
    add_webhook(
        &s,
        "named",
        &format!("http://localhost:{}/hook", receiver.port),
    )
    .await;
    s.create(json!({"name": "t", "status": "error", "actions": [
        {"trigger": "error", "integration": "webhook:local"},
        {"trigger": "error", "integration": "webhook:named"},
    ]}))
    .await;
    let rows = wait_deliveries(&s, "?status=failed", |rows| rows.len() == 2).await;
    for row in &rows {
        assert_eq!(row["attempt_count"], 1, "a refusal is final: {row}");
        assert!(
            row["last_error"]
                .as_str()
                .unwrap()
                .contains("private address"),
            "{row}"
        );
    }
    assert!(receiver.received().is_empty());
}

async fn a_receiver_down_for_a_while_gets_every_event(backend: Backend) {
    let env = [
        ("RATEL_WEBHOOK_ALLOW_PRIVATE_NETWORKS", "true"),
        ("RATEL_DELIVERY_RETRY_SCHEDULE", "0.3,0.3,0.5,1,1,1,1"),
    ];
    let s = Server::start_with_env(backend, &env).await;
    let mut receiver = Receiver::start(Answer::Status(200)).await;
    receiver.down().await;
    add_webhook(&s, "r", &receiver.url()).await;
    for n in 0..5 {
        s.create(json!({"name": format!("t{n}"), "status": "error", "actions": [{"trigger": "error", "integration": "webhook:r"}]}))
            .await;
    }
    wait_deliveries(&s, "", |rows| {
        rows.len() == 5 && rows.iter().all(|r| r["attempt_count"].as_i64() >= Some(1))
    })
    .await;
    receiver.up().await;
    let got = receiver.wait_for(5, WAIT).await;
    let ids: std::collections::HashSet<&str> = got.iter().map(|r| r.header("webhook-id")).collect();
    assert_eq!(ids.len(), 5);
    wait_deliveries(&s, "?status=delivered", |rows| rows.len() == 5).await;
}

async fn stale_and_max_runtime_sweeps(backend: Backend) {
    let s = Server::start_with_env(backend, FAST).await;
    let receiver = Receiver::start(Answer::Status(200)).await;
    add_webhook(&s, "r", &receiver.url()).await;
    let stale = s
        .create(
            json!({"name": "quiet", "status": "processing", "stale_timeout": 1,
            "actions": [{"trigger": "stale", "integration": "webhook:r"}]}),
        )
        .await;
    let beat = s
        .create(
            json!({"name": "busy", "status": "processing", "stale_timeout": 2,
            "actions": [{"trigger": "stale", "integration": "webhook:r"}]}),
        )
        .await;
    let long = s
        .create(
            json!({"name": "long", "status": "processing", "max_runtime": 1,
            "actions": [{"trigger": "max_runtime_exceeded,stale", "integration": "webhook:r"}]}),
        )
        .await;
    let started = Instant::now();
    // The heartbeat: empty PATCHes (what the official SDK's Celery integration sends).
    let beat_id = beat["id"].as_str().unwrap().to_owned();
    let got = loop {
        s.patch(&beat_id, json!({})).await;
        let got = receiver.received();
        if got.len() >= 2 {
            break got;
        }
        assert!(
            started.elapsed() < WAIT,
            "sweeps did not fire: {:?}",
            triggers(&got)
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let mut fired: Vec<(String, String)> = got
        .iter()
        .map(|r| {
            (
                r.json()["task"]["name"].as_str().unwrap().to_owned(),
                r.json()["trigger"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    fired.sort();
    assert_eq!(
        fired,
        [
            ("long".into(), "max_runtime_exceeded".into()),
            ("quiet".into(), "stale".into())
        ]
    );
    let quiet = s.get_task(stale["id"].as_str().unwrap()).await;
    assert_eq!(quiet["status"], "stale");
    let long_now = s.get_task(long["id"].as_str().unwrap()).await;
    assert_eq!(
        long_now["status"], "processing",
        "max_runtime leaves the status alone"
    );
    assert_eq!(s.get_task(&beat_id).await["status"], "processing");
    // A later update moves a stale task on; it can go stale again and fire again.
    s.patch(
        stale["id"].as_str().unwrap(),
        json!({"status": "processing"}),
    )
    .await;
    let again = receiver.wait_for(3, WAIT).await;
    let names: Vec<String> = again
        .iter()
        .map(|r| r.json()["task"]["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        names.iter().filter(|n| *n == "quiet").count(),
        2,
        "{names:?}"
    );
    // max_runtime fired once only; "busy" never went stale.
    assert_eq!(
        names.iter().filter(|n| *n == "long").count(),
        1,
        "{names:?}"
    );
    assert!(!names.iter().any(|n| n == "busy"), "{names:?}");
}

async fn a_crash_loses_no_committed_event(backend: Backend) {
    let env = [
        ("RATEL_WEBHOOK_ALLOW_PRIVATE_NETWORKS", "true"),
        ("RATEL_DELIVERY_RETRY_SCHEDULE", "60"),
        // On PostgreSQL what the dead process held is taken over when its lease expires.
        ("RATEL_DELIVERY_LEASE_SECS", "1"),
    ];
    let s = Server::start_with_env(backend, &env).await;
    let mut receiver = Receiver::start(Answer::Status(200)).await;
    receiver.down().await;
    add_webhook(&s, "r", &receiver.url()).await;
    for n in 0..10 {
        s.create(json!({"name": format!("t{n}"), "status": "error", "actions": [{"trigger": "error", "integration": "webhook:r"}]}))
            .await;
    }
    // Acknowledged; attempts failed (receiver down) and the next is a minute away, or an
    // attempt was in flight when the process died.
    let key = s.key.clone();
    let db: TestDb = s.kill9();
    receiver.up().await;
    // Restarted: on SQLite leases are released at once, so what was in flight goes again.
    // Retry the rest now to skip the long step (a delivery in flight keeps its lease).
    let mut s = Server::start_on_with_env(db, &env);
    s.key = key.clone();
    let page = expect(
        s.raw(Method::GET, &deliveries_url(&s))
            .bearer_auth(&key)
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    let rows = page["results"].as_array().unwrap();
    let tasks = expect(
        s.raw(Method::GET, &s.tasks_url())
            .bearer_auth(&key)
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    let names: Vec<&str> = tasks["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names.len(),
        10,
        "every acknowledged task survived: {names:?}"
    );
    assert_eq!(
        rows.len(),
        10,
        "every committed event survived the crash: {rows:?}"
    );
    // Those whose first attempt failed wait a minute: retry them now. Those that were in
    // flight when the process died are resumed by the dispatcher itself.
    for row in rows
        .iter()
        .filter(|r| r["attempt_count"].as_i64() > Some(0) && r["status"] == "pending")
    {
        let resp = s
            .raw(
                Method::POST,
                &format!(
                    "{}{}/retry/",
                    deliveries_url(&s),
                    row["id"].as_str().unwrap()
                ),
            )
            .bearer_auth(&key)
            .send()
            .await
            .unwrap();
        expect(resp, 202).await;
    }
    wait_deliveries(&s, "?status=delivered", |rows| rows.len() == 10).await;
    let got = receiver.received();
    let ids: std::collections::HashSet<&str> = got.iter().map(|r| r.header("webhook-id")).collect();
    assert_eq!(
        (ids.len(), got.len()),
        (10, 10),
        "each event delivered, once"
    );
}

/// A real SMTP server (aiosmtpd, in the tests' virtualenv) that records what it accepts.
pub(crate) struct SmtpSink {
    child: std::process::Child,
    pub(crate) port: u16,
    out: std::path::PathBuf,
    _dir: crate::support::TempDir,
}

impl SmtpSink {
    pub(crate) fn start() -> SmtpSink {
        use std::io::BufRead;
        let dir = crate::support::temp_dir();
        let out = dir.0.join("mail.jsonl");
        let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("compat/smtp_sink.py");
        let mut child = std::process::Command::new(crate::compat::venv().join("bin/python"))
            .arg(script)
            .arg(&out)
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("the SMTP sink starts");
        let stdout = child.stdout.take().unwrap();
        let line = std::io::BufReader::new(stdout)
            .lines()
            .next()
            .unwrap()
            .unwrap();
        let port = line.strip_prefix("listening on ").unwrap().parse().unwrap();
        SmtpSink {
            child,
            port,
            out,
            _dir: dir,
        }
    }

    pub(crate) fn messages(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.out)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn email_one_message_per_event(backend: Backend) {
    let smtp = SmtpSink::start();
    let url = format!("smtp://127.0.0.1:{}", smtp.port);
    let env = [
        ("RATEL_SMTP_URL", url.as_str()),
        ("RATEL_MAIL_FROM", "Ratel <ratel@example.com>"),
        ("RATEL_DELIVERY_RETRY_SCHEDULE", "0.2,0.2,0.2"),
    ];
    let s = Server::start_with_env(backend, &env).await;
    let task = s
        .create(json!({"name": "nightly-export", "status": "processing", "value": 10, "actions": [
            {"trigger": "error", "integration": "email", "config": {"to": "ops@example.com, dev@example.com"}},
            {"trigger": "error", "integration": "email", "config": {"to": "tempfail@example.com"}},
            {"trigger": "error", "integration": "email", "config": {"to": "reject@example.com"}},
        ]}))
        .await;
    let id = task["id"].as_str().unwrap();
    s.patch(id, json!({"status": "error"})).await;
    let rows = wait_deliveries(&s, "", |rows| {
        rows.len() == 3 && rows.iter().all(|r| r["status"] != "pending")
    })
    .await;
    let mut outcome: Vec<(i64, String)> = rows
        .iter()
        .map(|r| {
            (
                r["attempt_count"].as_i64().unwrap(),
                r["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    outcome.sort();
    // Delivered at once; a 550 fails at once; two 451s are retried, then delivered.
    assert_eq!(
        outcome,
        [
            (1, "delivered".into()),
            (1, "failed".into()),
            (3, "delivered".into())
        ]
    );
    let failed = rows.iter().find(|r| r["status"] == "failed").unwrap();
    assert!(
        failed["last_error"].as_str().unwrap().contains("550"),
        "{failed}"
    );
    let mail = smtp.messages();
    assert_eq!(mail.len(), 2, "{mail:?}");
    let both = mail
        .iter()
        .find(|m| m["to"].as_array().unwrap().len() == 2)
        .unwrap();
    assert_eq!(both["from"], "ratel@example.com");
    assert_eq!(both["to_header"], "ops@example.com, dev@example.com");
    assert_eq!(both["subject"], "[Ratel] nightly-export: error (error)");
    let data = both["body"].as_str().unwrap();
    assert!(data.contains(&format!("/a/default/tasks/{id}/")), "{data}");
    assert!(data.contains(&format!("/public/tasks/{id}/")), "{data}");
    assert!(data.contains("Progress: 10 of 100 (10%)"), "{data}");
}

/// The Rust SDK, `webhook::verify`, the `ratel` CLI and `admin create-webhook`.
async fn sdk_and_cli(backend: Backend) {
    let s = Server::start_with_env(backend, FAST).await;
    let receiver = Receiver::start(Answer::Status(200)).await;
    let home = crate::support::temp_dir();
    let out = crate::cli::ratel(&s, &home.0, &["webhooks", "create", "r", &receiver.url()]);
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let secret = stdout.lines().last().unwrap().trim().to_owned();
    assert!(secret.starts_with("whsec_"), "{stdout}");
    let sdk = s.sdk();
    let hooks = sdk.webhooks().await.unwrap();
    assert_eq!(hooks.len(), 1);
    let task = sdk
        .create(
            ratel_client::NewTask::new("sdk")
                .status(ratel_client::Status::Error)
                .action(ratel_client::Action::webhook("error", "r")),
        )
        .await
        .unwrap();
    let got = receiver.wait_for(1, WAIT).await;
    let mut headers = reqwest::header::HeaderMap::new();
    for (k, v) in &got[0].headers {
        headers.insert(k.clone(), v.clone());
    }
    let event = ratel_client::webhook::verify(&secret, &headers, &got[0].body).unwrap();
    assert_eq!(event["task"]["id"], task.id());
    // A rotation: the old secret still verifies the next event (both sign for 24 h).
    let out = crate::cli::ratel(&s, &home.0, &["webhooks", "rotate-secret", "r"]);
    let new_secret = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    assert!(new_secret.starts_with("whsec_") && new_secret != secret);
    let mut again = task;
    again.processing().await.unwrap();
    again.error(None).await.unwrap();
    let got = receiver.wait_for(2, WAIT).await;
    let mut headers = reqwest::header::HeaderMap::new();
    for (k, v) in &got[1].headers {
        headers.insert(k.clone(), v.clone());
    }
    for key in [&secret, &new_secret] {
        ratel_client::webhook::verify(key, &headers, &got[1].body).unwrap();
    }
    let tampered = [&got[1].body[..], b" "].concat();
    assert!(ratel_client::webhook::verify(&new_secret, &headers, &tampered).is_err());

    wait_deliveries(&s, "?status=delivered", |rows| rows.len() == 2).await;
    let out = crate::cli::ratel(
        &s,
        &home.0,
        &["deliveries", "list", "--status", "delivered"],
    );
    let listing = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(listing.lines().count(), 2, "{listing}");
    let id = listing.split_whitespace().next().unwrap().to_owned();
    let out = crate::cli::ratel(&s, &home.0, &["deliveries", "show", &id]);
    let shown: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(shown["attempts"].as_array().unwrap().len(), 1);
    let out = crate::cli::ratel(&s, &home.0, &["deliveries", "retry", &id]);
    assert!(out.status.success(), "{out:?}");
    receiver.wait_for(3, WAIT).await;
    let detail = sdk.delivery(&id).await.unwrap();
    assert_eq!(detail.id, id);

    // admin create-webhook creates the org and project when missing; secret last.
    let (ok, out) = s.admin(&[
        "create-webhook",
        "--org",
        "acme",
        "--project",
        "ops",
        "--slug",
        "alerts",
        "--url",
        "https://hooks.example.com/a",
    ]);
    assert!(ok, "{out}");
    assert!(out.lines().last().unwrap().starts_with("whsec_"), "{out}");
    let (ok, _) = s.admin(&[
        "create-webhook",
        "--org",
        "acme",
        "--project",
        "ops",
        "--slug",
        "alerts",
        "--url",
        "https://hooks.example.com/a",
    ]);
    assert!(!ok, "a duplicate slug is refused");
    let key = s.create_key("acme", "ops");
    let resp = s
        .raw(Method::GET, &s.url("/api/acme/ops/webhooks/alerts/"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    expect(resp, 200).await;
}

on_both_backends!(
    deleting_a_webhook_fails_its_pending_deliveries,
    sdk_and_cli,
    email_one_message_per_event,
    webhook_endpoints_and_secrets,
    each_point_fires_once_signed,
    retries_follow_the_schedule_and_give_up,
    gone_disables_and_redirects_are_not_followed,
    retry_after_and_timeouts,
    private_addresses_are_refused_by_default,
    a_receiver_down_for_a_while_gets_every_event,
    stale_and_max_runtime_sweeps,
    a_crash_loses_no_committed_event,
);

/// Two replicas on one PostgreSQL: each stale flip happens once and each event is delivered
/// once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_flip_and_deliver_once() {
    let a = Server::start_with_env(Backend::Postgres, FAST).await;
    let b = a.replica(FAST);
    let receiver = Receiver::start(Answer::Status(200)).await;
    add_webhook(&a, "r", &receiver.url()).await;
    let mut ids = Vec::new();
    for n in 0..20 {
        let s = if n % 2 == 0 { &a } else { &b };
        let t = s
            .create(json!({"name": format!("t{n}"), "status": "processing", "value": 0, "stale_timeout": 1,
                "actions": [{"trigger": "*/50%,stale", "integration": "webhook:r"}]}))
            .await;
        ids.push(t["id"].as_str().unwrap().to_owned());
    }
    // 20 "0%" events at creation, then 20 stale flips, whichever replica sweeps first.
    receiver.wait_for(40, WAIT).await;
    wait_deliveries(&a, "?status=delivered&page_size=100", |rows| {
        rows.len() == 40
    })
    .await;
    let got_now = receiver.received();
    assert_eq!(got_now.len(), 40, "no extra deliveries");
    let mut per_event: HashMap<String, usize> = HashMap::new();
    for r in &got_now {
        *per_event
            .entry(r.header("webhook-id").to_owned())
            .or_default() += 1;
    }
    assert!(per_event.values().all(|n| *n == 1), "{per_event:?}");
    let stale = triggers(&got_now).iter().filter(|t| *t == "stale").count();
    assert_eq!(stale, 20);
    for id in &ids {
        assert_eq!(a.get_task(id).await["status"], "stale");
    }
}
