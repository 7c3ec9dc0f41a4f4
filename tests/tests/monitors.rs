//! Monitors: CRUD and validation, check-ins through `X-TASKBADGER-MONITOR`, and the events
//! (missed, failed, recovered) the sweep fires through the engine's outbox, one per
//! transition, on both stores and with two replicas on one PostgreSQL.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};

use crate::on_both_backends;
use crate::support::receiver::{Answer, Receiver};
use crate::support::{Backend, Server, contract, expect, expect_error};

const FAST: &[(&str, &str)] = &[
    ("RATEL_WEBHOOK_ALLOW_PRIVATE_NETWORKS", "true"),
    ("RATEL_DELIVERY_RETRY_SCHEDULE", "0.2,0.2"),
    ("RATEL_SWEEP_INTERVAL_MS", "100"),
];

const WAIT: Duration = Duration::from_secs(30);

fn monitors_url(s: &Server) -> String {
    s.url("/api/default/default/monitors/")
}

fn monitor_url(s: &Server, id: &str) -> String {
    format!("{}{id}/", monitors_url(s))
}

async fn create_monitor(s: &Server, body: Value) -> Value {
    let resp = s
        .req(Method::POST, &monitors_url(s))
        .json(&body)
        .send()
        .await
        .unwrap();
    expect(resp, 201).await
}

async fn get_monitor(s: &Server, id: &str) -> Value {
    expect(
        s.req(Method::GET, &monitor_url(s, id))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await
}

async fn patch_monitor(s: &Server, id: &str, body: Value) -> Value {
    expect(
        s.req(Method::PATCH, &monitor_url(s, id))
            .json(&body)
            .send()
            .await
            .unwrap(),
        200,
    )
    .await
}

/// A task created as a check-in of `monitor`.
async fn check_in(s: &Server, monitor: &str, body: Value) -> Value {
    let resp = s
        .req(Method::POST, &s.tasks_url())
        .header("X-TASKBADGER-MONITOR", monitor)
        .json(&body)
        .send()
        .await
        .unwrap();
    expect(resp, 201).await
}

/// Polls the monitor until `pred` holds (or panics after `WAIT`).
async fn wait_monitor(s: &Server, id: &str, pred: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + WAIT;
    loop {
        let m = get_monitor(s, id).await;
        if pred(&m) {
            return m;
        }
        assert!(Instant::now() < deadline, "monitor never matched: {m}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The monitor's deliveries, oldest first, as (type, task).
async fn events(s: &Server, monitor: &str) -> Vec<(String, Value)> {
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
    let mut rows: Vec<(String, Value)> = page["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["monitor"] == monitor)
        .map(|d| (d["trigger"].as_str().unwrap().to_owned(), d["task"].clone()))
        .collect();
    rows.reverse();
    rows
}

async fn crud_and_validation(backend: Backend) {
    let s = Server::start(backend).await;
    s.add_webhook("ops", "https://hooks.example.com/ops").await;
    let interval = create_monitor(
        &s,
        json!({"name": "hourly-sync", "kind": "interval", "interval": 3600}),
    )
    .await;
    assert_eq!(
        (
            &interval["state"],
            &interval["grace"],
            &interval["timezone"],
            &interval["enabled"],
            &interval["schedule"],
            &interval["alert_integration"],
            &interval["next_expected_at"],
        ),
        (
            &json!("new"),
            &json!(300),
            &json!("UTC"),
            &json!(true),
            &Value::Null,
            &Value::Null,
            &Value::Null
        )
    );
    let id = interval["id"].as_str().unwrap().to_owned();
    assert!(uuid::Uuid::parse_str(&id).is_ok(), "{id}");
    let cron = create_monitor(
        &s,
        json!({"name": "nightly", "kind": "cron", "schedule": "30 2 * * *",
            "timezone": "Europe/Stockholm", "grace": 600, "max_runtime": 3600,
            "alert_integration": "webhook:ops"}),
    )
    .await;
    assert_eq!(cron["interval"], Value::Null);
    let list = expect(
        s.req(Method::GET, &monitors_url(&s)).send().await.unwrap(),
        200,
    )
    .await;
    assert_eq!(list, json!([interval.clone(), cron.clone()]));
    // The id is a UUID in any case.
    let upper = get_monitor(&s, &id.to_uppercase()).await;
    assert_eq!(upper, interval);

    let patched = patch_monitor(&s, &id, json!({"name": "sync", "grace": 60})).await;
    assert_eq!(
        (&patched["name"], &patched["grace"]),
        (&json!("sync"), &json!(60))
    );
    // Changing kind drops the other kind's fields.
    let recron = patch_monitor(
        &s,
        &id,
        json!({"kind": "cron", "schedule": "0 * * * *", "interval": null}),
    )
    .await;
    assert_eq!(
        (&recron["interval"], &recron["schedule"]),
        (&Value::Null, &json!("0 * * * *"))
    );

    // Refusals name their field and change nothing.
    for (body, attr) in [
        (json!({"kind": "interval", "interval": 60}), "name"),
        (json!({"name": "x", "interval": 60}), "kind"),
        (json!({"name": "x", "kind": "weekly"}), "kind"),
        (json!({"name": "x", "kind": "interval"}), "interval"),
        (
            json!({"name": "x", "kind": "interval", "interval": 0}),
            "interval",
        ),
        (json!({"name": "x", "kind": "cron"}), "schedule"),
        (
            json!({"name": "x", "kind": "cron", "schedule": "0 0 * * *", "interval": 60}),
            "interval",
        ),
        (
            json!({"name": "x", "kind": "interval", "interval": 60, "schedule": "0 0 * * *"}),
            "schedule",
        ),
        (
            json!({"name": "x", "kind": "interval", "interval": 60, "timezone": "Europe/Paris"}),
            "timezone",
        ),
        (
            json!({"name": "x", "kind": "cron", "schedule": "0 0 * *"}),
            "schedule",
        ),
        (
            json!({"name": "x", "kind": "cron", "schedule": "61 0 * * *"}),
            "schedule",
        ),
        (
            json!({"name": "x", "kind": "cron", "schedule": "0 0 * * *", "timezone": "Mars/Base"}),
            "timezone",
        ),
        (
            json!({"name": "x", "kind": "interval", "interval": 60, "grace": -1}),
            "grace",
        ),
        (
            json!({"name": "x", "kind": "interval", "interval": 60, "alert_integration": "webhook:nope"}),
            "alert_integration",
        ),
        (
            json!({"name": "x", "kind": "interval", "interval": 60, "alert_integration": "pager"}),
            "alert_integration",
        ),
        (
            json!({"name": "x", "kind": "interval", "interval": 60, "alert_integration": "email",
                "alert_config": {"to": "nobody"}}),
            "alert_config.to",
        ),
    ] {
        let resp = s
            .req(Method::POST, &monitors_url(&s))
            .json(&body)
            .send()
            .await
            .unwrap();
        let err = expect(resp, 400).await;
        assert_eq!(err["errors"][0]["attr"], attr, "{body}: {err}");
    }
    let resp = s
        .req(Method::PATCH, &monitor_url(&s, &id))
        .json(&json!({"schedule": "not cron"}))
        .send()
        .await
        .unwrap();
    let err = expect(resp, 400).await;
    assert_eq!(err["errors"][0]["attr"], "schedule");
    assert_eq!(
        get_monitor(&s, &id).await,
        recron,
        "the refused PATCH changed nothing"
    );
    let list = expect(
        s.req(Method::GET, &monitors_url(&s)).send().await.unwrap(),
        200,
    )
    .await;
    assert_eq!(list.as_array().unwrap().len(), 2, "nothing was created");

    // Unknown ids are 404s, whether UUIDs or not; another project's monitor is not here.
    for unknown in ["not-a-uuid", "6b1f2a52-3c7e-4f0b-9d7e-2f9c1e0a4b11"] {
        let resp = s
            .req(Method::GET, &monitor_url(&s, unknown))
            .send()
            .await
            .unwrap();
        expect_error(resp, 404, "client_error", "not_found").await;
    }
    let other_key = s.create_key("acme", "billing");
    let resp = s
        .raw(
            Method::GET,
            &s.url(&format!("/api/acme/billing/monitors/{id}/")),
        )
        .bearer_auth(&other_key)
        .send()
        .await
        .unwrap();
    expect_error(resp, 404, "client_error", "not_found").await;

    let resp = s
        .req(Method::DELETE, &monitor_url(&s, &id))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 204);
    let resp = s
        .req(Method::GET, &monitor_url(&s, &id))
        .send()
        .await
        .unwrap();
    expect_error(resp, 404, "client_error", "not_found").await;
}

async fn check_in_header(backend: Backend) {
    let s = Server::start(backend).await;
    let m = create_monitor(
        &s,
        json!({"name": "hourly", "kind": "interval", "interval": 3600}),
    )
    .await;
    let id = m["id"].as_str().unwrap();
    let task = check_in(&s, &id.to_uppercase(), json!({"name": "hourly-run"})).await;
    assert_eq!(task["monitor"], id, "linked, in canonical form");
    assert_eq!(
        s.get_task(task["id"].as_str().unwrap()).await["monitor"],
        id
    );
    let m = get_monitor(&s, id).await;
    assert_eq!(m["state"], "up");
    assert_eq!(m["last_task"], task["id"]);
    let created = chrono::DateTime::parse_from_rfc3339(task["created"].as_str().unwrap()).unwrap();
    let expected =
        chrono::DateTime::parse_from_rfc3339(m["next_expected_at"].as_str().unwrap()).unwrap();
    assert_eq!(expected - created, chrono::TimeDelta::seconds(3600));
    assert_eq!(m["last_run_at"], task["created"]);
    // A task without the header has no monitor.
    let plain = s.create(json!({"name": "plain"})).await;
    assert_eq!(plain["monitor"], Value::Null);

    // The header is read on create only: PUT and PATCH ignore it.
    let resp = s
        .req(Method::PATCH, &s.task_url(plain["id"].as_str().unwrap()))
        .header("X-TASKBADGER-MONITOR", id)
        .json(&json!({"value": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(expect(resp, 200).await["monitor"], Value::Null);
    assert_eq!(get_monitor(&s, id).await["last_task"], task["id"]);

    // Not a UUID, unknown, or another project's: a 400 naming the header, nothing written.
    let other_key = s.create_key("acme", "billing");
    let foreign = expect(
        s.raw(Method::POST, &s.url("/api/acme/billing/monitors/"))
            .bearer_auth(&other_key)
            .json(&json!({"name": "theirs", "kind": "interval", "interval": 60}))
            .send()
            .await
            .unwrap(),
        201,
    )
    .await;
    let before = expect(
        s.req(Method::GET, &s.tasks_url()).send().await.unwrap(),
        200,
    )
    .await;
    for (value, code) in [
        ("nightly", "invalid"),
        ("6b1f2a52-3c7e-4f0b-9d7e-2f9c1e0a4b11", "does_not_exist"),
        (foreign["id"].as_str().unwrap(), "does_not_exist"),
    ] {
        let resp = s
            .req(Method::POST, &s.tasks_url())
            .header("X-TASKBADGER-MONITOR", value)
            .json(&json!({"name": "refused"}))
            .send()
            .await
            .unwrap();
        let err = expect_error(resp, 400, "validation_error", code).await;
        assert_eq!(err["errors"][0]["attr"], "X-TASKBADGER-MONITOR", "{value}");
    }
    let after = expect(
        s.req(Method::GET, &s.tasks_url()).send().await.unwrap(),
        200,
    )
    .await;
    assert_eq!(before, after, "a refused check-in writes nothing");
    assert_eq!(get_monitor(&s, id).await["last_task"], task["id"]);
}

/// An interval monitor goes late, then down (one `monitor.missed`), stays down through a
/// check-in, and recovers when that run succeeds (one `monitor.recovered`); the events are
/// signed `MonitorEvent`s.
async fn interval_late_down_recovered(backend: Backend) {
    let s = Server::start_with_env(backend, FAST).await;
    let receiver = Receiver::start(Answer::Status(200)).await;
    let secret = s.add_webhook("ops", &receiver.url()).await;
    let m = create_monitor(
        &s,
        json!({"name": "every-second", "kind": "interval", "interval": 1, "grace": 1,
            "alert_integration": "webhook:ops"}),
    )
    .await;
    let id = m["id"].as_str().unwrap();
    let first = check_in(&s, id, json!({"name": "run-1", "status": "success"})).await;
    wait_monitor(&s, id, |m| m["state"] == "late").await;
    let down = wait_monitor(&s, id, |m| m["state"] == "down").await;
    assert_eq!(down["last_task"], first["id"]);
    assert_eq!(
        events(&s, id).await,
        [("monitor.missed".to_owned(), Value::Null)]
    );

    // A longer interval from now on (down stays down), so that the recovered monitor
    // expects nothing more during the test.
    let down = patch_monitor(&s, id, json!({"interval": 3600})).await;
    assert_eq!(down["state"], "down");
    // A run checks in: still down until it succeeds.
    let second = check_in(&s, id, json!({"name": "run-2", "status": "processing"})).await;
    assert_eq!(get_monitor(&s, id).await["state"], "down");
    s.patch(second["id"].as_str().unwrap(), json!({"status": "success"}))
        .await;
    wait_monitor(&s, id, |m| m["state"] == "up" || m["state"] == "late").await;
    // Pause it so that it expects nothing more, then look at what was sent.
    let paused = patch_monitor(&s, id, json!({"enabled": false})).await;
    assert_eq!(paused["state"], "paused");
    assert_eq!(
        events(&s, id).await,
        [
            ("monitor.missed".to_owned(), Value::Null),
            ("monitor.recovered".to_owned(), second["id"].clone())
        ],
        "one event per transition"
    );
    let received = receiver.wait_for(2, WAIT).await;
    let mut types = Vec::new();
    for r in &received {
        standardwebhooks::Webhook::new(&secret)
            .unwrap()
            .verify(&r.body, &r.headers)
            .expect("signed");
        let event = r.json();
        contract()
            .check_schema("MonitorEvent", &event)
            .unwrap_or_else(|e| panic!("{e}: {event}"));
        assert_eq!(event["monitor"]["id"], id);
        assert!(event["id"].as_str().unwrap().starts_with("evt_"));
        types.push((event["type"].clone(), event["task"]["id"].clone()));
    }
    types.sort_by_key(|t| t.0.to_string());
    assert_eq!(
        types,
        [
            (json!("monitor.missed"), Value::Null),
            (json!("monitor.recovered"), second["id"].clone())
        ]
    );
}

/// A cron monitor expects a run at each schedule time: after its check-in it is due at the
/// next minute, late then, and down a second later.
async fn cron_late_down_recovered(backend: Backend) {
    let s = Server::start_with_env(backend, FAST).await;
    s.add_webhook("ops", "https://hooks.example.com/ops").await;
    let m = create_monitor(
        &s,
        json!({"name": "minutely", "kind": "cron", "schedule": "* * * * *",
            "timezone": "Asia/Kolkata", "grace": 1, "alert_integration": "webhook:ops"}),
    )
    .await;
    let id = m["id"].as_str().unwrap();
    let run = check_in(&s, id, json!({"name": "run-1", "status": "success"})).await;
    let m = get_monitor(&s, id).await;
    let created = chrono::DateTime::parse_from_rfc3339(run["created"].as_str().unwrap()).unwrap();
    let next =
        chrono::DateTime::parse_from_rfc3339(m["next_expected_at"].as_str().unwrap()).unwrap();
    use chrono::Timelike;
    assert_eq!((next.second(), next.nanosecond()), (0, 0), "{next}");
    assert!(next > created && next - created <= chrono::TimeDelta::seconds(60));
    let deadline = Instant::now() + Duration::from_secs(90);
    let mut seen_late = false;
    loop {
        let m = get_monitor(&s, id).await;
        seen_late |= m["state"] == "late";
        if m["state"] == "down" {
            break;
        }
        assert!(Instant::now() < deadline, "never went down: {m}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(seen_late, "late before down");
    // A long grace from now on, so that the recovered monitor cannot go down again here.
    patch_monitor(&s, id, json!({"grace": 3600})).await;
    let again = check_in(&s, id, json!({"name": "run-2", "status": "success"})).await;
    wait_monitor(&s, id, |m| m["state"] == "up" || m["state"] == "late").await;
    patch_monitor(&s, id, json!({"enabled": false})).await;
    assert_eq!(
        events(&s, id).await,
        [
            ("monitor.missed".to_owned(), Value::Null),
            ("monitor.recovered".to_owned(), again["id"].clone())
        ]
    );
}

/// Runs that end in error, or outlive the monitor's `max_runtime`, fire `monitor.failed`
/// once per episode; `cancelled` is neither failure nor success.
async fn failed_and_overrunning_runs(backend: Backend) {
    let s = Server::start_with_env(backend, FAST).await;
    s.add_webhook("ops", "https://hooks.example.com/ops").await;
    let m = create_monitor(
        &s,
        json!({"name": "etl", "kind": "interval", "interval": 3600, "max_runtime": 2,
            "alert_integration": "webhook:ops"}),
    )
    .await;
    let id = m["id"].as_str().unwrap();
    // Still running past the monitor's max_runtime (the task has none of its own).
    let slow = check_in(&s, id, json!({"name": "slow", "status": "processing"})).await;
    wait_monitor(&s, id, |m| m["state"] == "down").await;
    assert_eq!(
        s.get_task(slow["id"].as_str().unwrap()).await["status"],
        "processing",
        "the task itself is unchanged"
    );
    // Another failure in the same episode fires nothing; a cancelled run does nothing.
    let bad = check_in(&s, id, json!({"name": "bad", "status": "processing"})).await;
    s.patch(bad["id"].as_str().unwrap(), json!({"status": "error"}))
        .await;
    let cancelled = check_in(&s, id, json!({"name": "cancelled", "status": "processing"})).await;
    s.patch(
        cancelled["id"].as_str().unwrap(),
        json!({"status": "cancelled"}),
    )
    .await;
    let good = check_in(&s, id, json!({"name": "good", "status": "processing"})).await;
    s.patch(good["id"].as_str().unwrap(), json!({"status": "success"}))
        .await;
    wait_monitor(&s, id, |m| m["state"] == "up").await;
    // A new episode: an error fires again.
    let error = check_in(&s, id, json!({"name": "error", "status": "processing"})).await;
    s.patch(error["id"].as_str().unwrap(), json!({"status": "error"}))
        .await;
    wait_monitor(&s, id, |m| m["state"] == "down").await;
    assert_eq!(
        events(&s, id).await,
        [
            ("monitor.failed".to_owned(), slow["id"].clone()),
            ("monitor.recovered".to_owned(), good["id"].clone()),
            ("monitor.failed".to_owned(), error["id"].clone()),
        ]
    );
}

/// A paused monitor links check-ins and changes no state; resumed, it starts over as new.
async fn paused_monitors(backend: Backend) {
    let s = Server::start_with_env(backend, FAST).await;
    s.add_webhook("ops", "https://hooks.example.com/ops").await;
    let m = create_monitor(
        &s,
        json!({"name": "paused", "kind": "interval", "interval": 1, "grace": 0,
            "alert_integration": "webhook:ops", "enabled": false}),
    )
    .await;
    assert_eq!(m["state"], "paused");
    let id = m["id"].as_str().unwrap();
    let run = check_in(
        &s,
        id,
        json!({"name": "while-paused", "status": "processing"}),
    )
    .await;
    assert_eq!(run["monitor"], id);
    s.patch(run["id"].as_str().unwrap(), json!({"status": "error"}))
        .await;
    let m = get_monitor(&s, id).await;
    assert_eq!(
        (&m["state"], &m["last_task"]),
        (&json!("paused"), &run["id"])
    );
    assert_eq!(m["next_expected_at"], Value::Null);
    let resumed = patch_monitor(&s, id, json!({"enabled": true})).await;
    assert_eq!(resumed["state"], "new");
    // Once a run checks in, it is watched again: it goes down when nothing follows.
    check_in(&s, id, json!({"name": "after", "status": "success"})).await;
    wait_monitor(&s, id, |m| m["state"] == "down").await;
    patch_monitor(&s, id, json!({"enabled": false})).await;
    assert_eq!(
        events(&s, id).await,
        [("monitor.missed".to_owned(), Value::Null)],
        "nothing from the paused run"
    );
}

/// A monitor whose integration is email sends one message per event.
async fn email_for_monitor_events(backend: Backend) {
    let smtp = crate::alerting::SmtpSink::start();
    let url = format!("smtp://127.0.0.1:{}", smtp.port);
    let env = [
        ("RATEL_SMTP_URL", url.as_str()),
        ("RATEL_MAIL_FROM", "Ratel <ratel@example.com>"),
        ("RATEL_SWEEP_INTERVAL_MS", "100"),
    ];
    let s = Server::start_with_env(backend, &env).await;
    let m = create_monitor(
        &s,
        json!({"name": "nightly-backup", "kind": "cron", "schedule": "0 3 * * *",
            "alert_integration": "email", "alert_config": {"to": "ops@example.com"}}),
    )
    .await;
    let id = m["id"].as_str().unwrap();
    let run = check_in(&s, id, json!({"name": "backup", "status": "processing"})).await;
    s.patch(run["id"].as_str().unwrap(), json!({"status": "error"}))
        .await;
    wait_monitor(&s, id, |m| m["state"] == "down").await;
    let deadline = Instant::now() + WAIT;
    while smtp.messages().is_empty() {
        assert!(Instant::now() < deadline, "no mail arrived");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mail = smtp.messages();
    assert_eq!(mail.len(), 1, "{mail:?}");
    assert_eq!(mail[0]["to_header"], "ops@example.com");
    assert_eq!(
        mail[0]["subject"],
        "[Ratel] monitor nightly-backup had a failed run"
    );
    let body = mail[0]["body"].as_str().unwrap();
    assert!(body.contains("Event:         monitor.failed"), "{body}");
    assert!(body.contains("0 3 * * * (UTC)"), "{body}");
    assert!(
        body.contains(&format!(
            "/a/default/tasks/{}/",
            run["id"].as_str().unwrap()
        )),
        "{body}"
    );
    assert!(body.contains(id), "{body}");
}

/// Two server processes on one PostgreSQL sweep the same monitors and take check-ins for
/// them at once: one event per transition per monitor.
async fn two_replicas_one_event_per_transition() {
    let a = Server::start_with_env(Backend::Postgres, FAST).await;
    let b = a.replica(FAST);
    a.add_webhook("ops", "https://hooks.example.com/ops").await;
    let mut ids = Vec::new();
    for n in 0..8 {
        let m = create_monitor(
            &a,
            json!({"name": format!("m{n}"), "kind": "interval", "interval": 1, "grace": 0,
                "alert_integration": "webhook:ops"}),
        )
        .await;
        let id = m["id"].as_str().unwrap().to_owned();
        let via = if n % 2 == 0 { &a } else { &b };
        check_in(via, &id, json!({"name": "first", "status": "success"})).await;
        ids.push(id);
    }
    for id in &ids {
        wait_monitor(&a, id, |m| m["state"] == "down").await;
    }
    for id in &ids {
        patch_monitor(&b, id, json!({"interval": 3600})).await;
    }
    // Each recovers by a run that checks in on one replica and succeeds through the other.
    let mut runs = Vec::new();
    for (n, id) in ids.iter().enumerate() {
        let (first, second) = if n % 2 == 0 { (&a, &b) } else { (&b, &a) };
        let run = check_in(first, id, json!({"name": "second", "status": "processing"})).await;
        second
            .patch(run["id"].as_str().unwrap(), json!({"status": "success"}))
            .await;
        runs.push(run);
    }
    for id in &ids {
        wait_monitor(&a, id, |m| m["state"] != "down").await;
        patch_monitor(&b, id, json!({"enabled": false})).await;
    }
    for (id, run) in ids.iter().zip(&runs) {
        assert_eq!(
            events(&a, id).await,
            [
                ("monitor.missed".to_owned(), Value::Null),
                ("monitor.recovered".to_owned(), run["id"].clone())
            ],
            "{id}"
        );
    }
}

mod replicas {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        super::two_replicas_one_event_per_transition().await
    }
}

on_both_backends!(
    crud_and_validation,
    check_in_header,
    interval_late_down_recovered,
    cron_late_down_recovered,
    failed_and_overrunning_runs,
    paused_monitors,
    email_for_monitor_events
);
