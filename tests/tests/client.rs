//! The Rust SDK (ratel-client) against the real server: every Task method, pagination, error
//! kinds, retries, and `track`.

use std::collections::BTreeMap;
use std::time::Duration;

use ratel_client::{
    Action, Client, Config, Error, Field, ListFilter, NewTask, ProgressLimit, RetryPolicy, Status,
    TaskUpdate, TrackOptions, track, track_safe,
};
use serde_json::json;

use crate::on_both_backends;
use crate::support::{Backend, Server};

async fn task_methods(backend: Backend) {
    let s = Server::start(backend).await;
    s.add_webhook("hook", "https://hooks.example.com/hook")
        .await;
    let client = s.sdk();
    let parent = client.create(NewTask::new("parent")).await.unwrap();
    let mut task = client
        .create(
            NewTask::new("sdk")
                .data(json!({"a": 1}))
                .tag("env", "ci")
                .queue("q1")
                .external_id("ext-1")
                .parent(parent.id())
                .max_runtime(60u32)
                .stale_timeout(120u32)
                .value_max(200)
                .action(Action::email("error", "ops@example.com")),
        )
        .await
        .unwrap();
    let d = task.data();
    assert_eq!(d.status, Status::Pending);
    assert_eq!(d.parent.as_deref(), Some(parent.id()));
    assert_eq!(d.value_max, 200);
    assert_eq!(d.tags.get("env").map(String::as_str), Some("ci"));
    let got = client.get(task.id()).await.unwrap();
    assert_eq!(got.data(), task.data());

    task.started().await.unwrap();
    assert_eq!(task.status(), Status::Processing);
    assert_eq!(task.data().value, Some(0));
    assert!(task.data().start_time.is_some());
    task.update_value(50).await.unwrap();
    assert_eq!(task.data().value_percent, Some(25));
    task.increment_value(10).await.unwrap();
    assert_eq!(task.data().value, Some(60));

    // Client-side progress limit: small steps stay local until success sends the last value.
    task.set_progress_limit(ProgressLimit {
        min_interval: None,
        min_step: Some(20),
    });
    assert!(
        !task.increment_value(5).await.unwrap(),
        "a 5-step is held back"
    );
    assert_eq!(client.get(task.id()).await.unwrap().data().value, Some(60));
    assert!(task.increment_value(20).await.unwrap());
    assert_eq!(client.get(task.id()).await.unwrap().data().value, Some(85));

    task.tag(BTreeMap::from([("team".to_owned(), "data".to_owned())]))
        .await
        .unwrap();
    assert_eq!(task.data().tags.len(), 2);
    task.add_actions(vec![Action::webhook("success", "hook")])
        .await
        .unwrap();
    let actions = client
        .api()
        .action_list("default", "default", task.id())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(actions.len(), 2);

    let before = task.data().updated;
    task.ping().await.unwrap();
    assert!(task.data().updated >= before);

    // Clearing a field sends an explicit null.
    task.update(TaskUpdate {
        queue: Field::Clear,
        ..TaskUpdate::default()
    })
    .await
    .unwrap();
    assert_eq!(task.data().queue, None);
    assert_eq!(
        task.data().external_id.as_deref().map(|s| s.as_str()),
        Some("ext-1")
    );

    task.processing().await.unwrap();
    task.success().await.unwrap();
    assert_eq!(task.status(), Status::Success);
    assert!(task.data().end_time.is_some());

    let mut failing = client
        .create(NewTask::new("failing").data(json!({"keep": true})))
        .await
        .unwrap();
    failing
        .error(Some(json!({"reason": "boom"})))
        .await
        .unwrap();
    assert_eq!(failing.status(), Status::Error);
    assert_eq!(
        failing.data().data,
        Some(json!({"keep": true, "reason": "boom"}))
    );

    let mut cancelled = client.create(NewTask::new("to cancel")).await.unwrap();
    cancelled.cancel().await.unwrap();
    assert_eq!(cancelled.status(), Status::Cancelled);
}

async fn a_partial_update_sends_only_what_was_set(backend: Backend) {
    let s = Server::start(backend).await;
    let client = s.sdk();
    let mut task = client
        .create(NewTask::new("wire").status(Status::Processing).value(3))
        .await
        .unwrap();
    // Only `value` is set: the status must not be reset to its old default.
    task.update(TaskUpdate {
        value: Field::Set(4),
        ..TaskUpdate::default()
    })
    .await
    .unwrap();
    assert_eq!(task.status(), Status::Processing);
    let body = serde_json::to_value(TaskUpdate {
        value: Field::Set(4),
        ..TaskUpdate::default()
    })
    .unwrap();
    assert_eq!(
        body,
        json!({"value": 4}),
        "exactly what the caller set goes on the wire"
    );
    let generated = ratel_client::generated::types::PatchedTaskRequest {
        value: Some(4),
        ..Default::default()
    };
    assert_eq!(
        serde_json::to_value(generated).unwrap(),
        json!({"value": 4})
    );
}

async fn pagination_to_the_end(backend: Backend) {
    let s = Server::start(backend).await;
    let client = s.sdk();
    let mut ids = Vec::new();
    for i in 0..23 {
        ids.push(
            client
                .create(NewTask::new(format!("t{i}")))
                .await
                .unwrap()
                .id()
                .to_owned(),
        );
    }
    ids.reverse();
    let all = client
        .list(ListFilter {
            page_size: Some(5),
            ..ListFilter::default()
        })
        .collect()
        .await
        .unwrap();
    let got: Vec<&str> = all.iter().map(|t| t.id()).collect();
    assert_eq!(got, ids.iter().map(String::as_str).collect::<Vec<_>>());
    let filtered = client
        .list(ListFilter {
            name: Some("t3".into()),
            ..ListFilter::default()
        })
        .collect()
        .await
        .unwrap();
    assert_eq!(filtered.len(), 1);
}

async fn error_kinds(backend: Backend) {
    let s = Server::start(backend).await;
    let client = s.sdk().with_retry(RetryPolicy {
        max_retries: 0,
        ..RetryPolicy::default()
    });
    assert!(matches!(
        client.get("01ARZ3NDEKTSV4RRFFQ69G5FAV").await,
        Err(Error::NotFound(_))
    ));
    let err = client
        .create(NewTask::new("bad").value_max(-1))
        .await
        .unwrap_err();
    match err {
        Error::Validation(fields) => assert_eq!(fields[0].attr.as_deref(), Some("value_max")),
        other => panic!("expected a validation error, got {other:?}"),
    }
    let wrong = Client::new(Config::with_parts(&s.base, "default", "default", "nope")).unwrap();
    assert!(matches!(wrong.get("x").await, Err(Error::Unauthorized(_))));
    let other_key = s.create_key("acme", "other");
    let secret = ratel_client::ProjectKey::parse(&other_key).unwrap().secret;
    let forbidden = Client::new(Config::with_parts(&s.base, "default", "default", secret)).unwrap();
    assert!(matches!(forbidden.get("x").await, Err(Error::Forbidden(_))));
    let nowhere = Client::new(Config::with_parts("http://127.0.0.1:9", "o", "p", "t"))
        .unwrap()
        .with_retry(RetryPolicy {
            max_retries: 0,
            ..RetryPolicy::default()
        });
    assert!(matches!(nowhere.get("x").await, Err(Error::Transport(_))));
}

async fn rate_limited_calls_wait_and_retry(backend: Backend) {
    let s = Server::start_with(backend, &["--rate-limit", "1"]).await;
    let no_retry = s.sdk().with_retry(RetryPolicy {
        max_retries: 0,
        ..RetryPolicy::default()
    });
    let task = no_retry.create(NewTask::new("limited")).await.unwrap();
    // One request per second: a quick burst is throttled (a few tries, in case the machine
    // stalls for a second between two of them).
    let mut outcome = no_retry.get(task.id()).await;
    for _ in 0..20 {
        if outcome.is_err() {
            break;
        }
        outcome = no_retry.get(task.id()).await;
    }
    match outcome {
        Err(Error::RateLimited { retry_after }) => {
            assert!(retry_after.unwrap() >= Duration::from_secs(1))
        }
        other => panic!("expected 429, got {other:?}"),
    }
    // With retries, the SDK honours Retry-After and gets through.
    let got = s.sdk().get(task.id()).await.unwrap();
    assert_eq!(got.id(), task.id());
}

async fn track_records_the_outcome(backend: Backend) {
    let s = Server::start(backend).await;
    let client = s.sdk();
    let ok: Result<u32, String> = track(
        &client,
        NewTask::new("ok"),
        TrackOptions::default(),
        async { Ok(7) },
    )
    .await
    .unwrap();
    assert_eq!(ok, Ok(7));
    let failed: Result<u32, String> = track(
        &client,
        NewTask::new("fails"),
        TrackOptions::default(),
        async { Err("disk full".to_owned()) },
    )
    .await
    .unwrap();
    assert_eq!(failed, Err("disk full".to_owned()));
    let tasks = client.list(ListFilter::default()).collect().await.unwrap();
    let by_name = |n: &str| {
        tasks
            .iter()
            .find(|t| t.data().name.as_str() == n)
            .unwrap()
            .clone()
    };
    assert_eq!(by_name("ok").status(), Status::Success);
    let f = by_name("fails");
    assert_eq!(f.status(), Status::Error);
    assert_eq!(f.data().data, Some(json!({"error": "disk full"})));

    // A panic is recorded, then resumed.
    let c = client.clone();
    let joined = tokio::spawn(async move {
        let _: Result<Result<(), String>, Error> =
            track(&c, NewTask::new("panics"), TrackOptions::default(), async {
                panic!("kaboom")
            })
            .await;
    })
    .await;
    assert!(joined.unwrap_err().is_panic());
    let p = client
        .list(ListFilter {
            name: Some("panics".into()),
            ..ListFilter::default()
        })
        .collect()
        .await
        .unwrap();
    assert_eq!(p[0].status(), Status::Error);
    assert_eq!(p[0].data().data, Some(json!({"error": "panicked: kaboom"})));

    // Dropping the tracked future before it finishes marks the task error.
    let never = std::future::pending::<Result<(), String>>();
    let _ = tokio::time::timeout(
        Duration::from_millis(200),
        track(
            &client,
            NewTask::new("dropped"),
            TrackOptions::default(),
            never,
        ),
    )
    .await;
    let status = wait_for(&client, "dropped", |t| t.status() == Status::Error).await;
    assert!(status, "a dropped tracked future ends in error");
}

/// Polls until a task with this name satisfies `cond` (bounded).
async fn wait_for(client: &Client, name: &str, cond: impl Fn(&ratel_client::Task) -> bool) -> bool {
    for _ in 0..200 {
        let found = client
            .list(ListFilter {
                name: Some(name.into()),
                ..ListFilter::default()
            })
            .collect()
            .await
            .unwrap();
        if found.first().is_some_and(&cond) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    false
}

async fn heartbeats_and_safe_tracking(backend: Backend) {
    let s = Server::start(backend).await;
    let client = s.sdk();
    let watcher = client.clone();
    let outcome: Result<Result<(), String>, Error> = track(
        &client,
        NewTask::new("beating"),
        TrackOptions {
            heartbeat: Some(Duration::from_millis(50)),
        },
        async move {
            // The work finishes once a heartbeat moves `updated` on the running task.
            let mut first = None;
            for _ in 0..200 {
                let found = watcher
                    .list(ListFilter {
                        name: Some("beating".into()),
                        ..ListFilter::default()
                    })
                    .collect()
                    .await
                    .unwrap();
                if let Some(t) = found.first().filter(|t| t.status() == Status::Processing) {
                    match first {
                        None => first = Some(t.data().updated),
                        Some(at) if t.data().updated > at => return Ok(()),
                        Some(_) => {}
                    }
                }
                tokio::time::sleep(Duration::from_millis(25)).await;
            }
            Err("no heartbeat".to_owned())
        },
    )
    .await;
    assert_eq!(outcome.unwrap(), Ok(()));

    // track_safe runs the work even when the server is unreachable.
    let nowhere = Client::new(Config::with_parts("http://127.0.0.1:9", "o", "p", "t"))
        .unwrap()
        .with_retry(RetryPolicy {
            max_retries: 0,
            ..RetryPolicy::default()
        });
    let value: Result<u8, String> = track_safe(
        &nowhere,
        NewTask::new("x"),
        TrackOptions::default(),
        async { Ok(5) },
    )
    .await;
    assert_eq!(value, Ok(5));
}

on_both_backends!(
    task_methods,
    a_partial_update_sends_only_what_was_set,
    pagination_to_the_end,
    error_kinds,
    rate_limited_calls_wait_and_retry,
    track_records_the_outcome,
    heartbeats_and_safe_tracking,
    generated_client_covers_every_operation,
);

/// A peer that answers 503 (then 429 with Retry-After) before a valid task: the SDK retries
/// idempotent calls through both.
#[tokio::test]
async fn retries_through_injected_503_and_429() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let hits = Arc::new(AtomicUsize::new(0));
    let task = json!({
        "id": "01ARZ3NDEKTSV4RRFFQ69G5FAV", "organization": "o", "project": "p", "name": "n",
        "status": "pending", "value_max": 100, "tags": {}, "created": "2026-01-01T00:00:00Z",
        "updated": "2026-01-01T00:00:00Z", "url": "u", "public_url": "u"
    })
    .to_string();
    let counter = hits.clone();
    tokio::spawn(async move {
        loop {
            let (mut conn, _) = listener.accept().await.unwrap();
            let n = counter.fetch_add(1, Ordering::SeqCst);
            let mut buf = [0u8; 4096];
            let _ = conn.read(&mut buf).await;
            let err = r#"{"type":"server_error","errors":[{"code":"x","detail":"x","attr":null}]}"#;
            let resp = match n {
                0 => format!(
                    "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{err}",
                    err.len()
                ),
                1 => format!(
                    "HTTP/1.1 429 Too Many Requests\r\nretry-after: 1\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{err}",
                    err.len()
                ),
                _ => format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{task}",
                    task.len()
                ),
            };
            let _ = conn.write_all(resp.as_bytes()).await;
        }
    });
    let client = Client::new(Config::with_parts(format!("http://{addr}"), "o", "p", "t"))
        .unwrap()
        .with_retry(RetryPolicy {
            max_retries: 3,
            min_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(50),
        });
    let started = std::time::Instant::now();
    let got = client.get("01ARZ3NDEKTSV4RRFFQ69G5FAV").await.unwrap();
    assert_eq!(got.id(), "01ARZ3NDEKTSV4RRFFQ69G5FAV");
    assert_eq!(hits.load(Ordering::SeqCst), 3, "503, 429, then success");
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After was honoured"
    );
}

/// The generated client drives every action operation and the task PUT/DELETE happy paths.
async fn generated_client_covers_every_operation(backend: Backend) {
    use ratel_client::generated::types;

    let s = Server::start(backend).await;
    s.add_webhook("hook", "https://hooks.example.com/hook")
        .await;
    let sdk = s.sdk();
    let api = sdk.api();
    let (org, project) = ("default", "default");
    let body: types::TaskRequest = serde_json::from_value(json!({"name": "generated"})).unwrap();
    let task = api
        .task_create(org, project, None, &body)
        .await
        .unwrap()
        .into_inner();
    let put: types::TaskRequest =
        serde_json::from_value(json!({"name": "renamed", "status": "processing"})).unwrap();
    let updated = api
        .task_update(org, project, &task.id, &put)
        .await
        .unwrap()
        .into_inner();
    assert_eq!(updated.name.as_str(), "renamed");
    assert_eq!(updated.status, Status::Processing);

    let action: types::ActionRequest = serde_json::from_value(
        json!({"trigger": "error", "integration": "email", "config": {"to": "a@example.com"}}),
    )
    .unwrap();
    let created = api
        .action_create(org, project, &task.id, &action)
        .await
        .unwrap()
        .into_inner();
    let got = api
        .action_get(org, project, &task.id, created.id)
        .await
        .unwrap()
        .into_inner();
    assert_eq!(got, created);
    let replace: types::ActionRequest =
        serde_json::from_value(json!({"trigger": "success", "integration": "webhook:hook"}))
            .unwrap();
    let replaced = api
        .action_update(org, project, &task.id, created.id, &replace)
        .await
        .unwrap()
        .into_inner();
    assert_eq!(replaced.integration.as_str(), "webhook:hook");
    let patch: types::PatchedActionRequest =
        serde_json::from_value(json!({"trigger": "50%"})).unwrap();
    let patched = api
        .action_partial_update(org, project, &task.id, created.id, &patch)
        .await
        .unwrap()
        .into_inner();
    assert_eq!(patched.trigger.as_str(), "50%");
    api.action_cancel(org, project, &task.id, created.id)
        .await
        .unwrap();
    let listed = api
        .action_list(org, project, &task.id)
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed[0].status, types::ActionStatusEnum::Cancelled);

    api.task_cancel(org, project, &task.id).await.unwrap();
    let got = api
        .task_get(org, project, &task.id)
        .await
        .unwrap()
        .into_inner();
    assert_eq!(got.status, Status::Cancelled);
    // Web hooks and the delivery log.
    let hook: types::WebhookRequest =
        serde_json::from_value(json!({"slug": "gen", "url": "https://hooks.example.com/gen"}))
            .unwrap();
    let made = api
        .webhook_create(org, project, &hook)
        .await
        .unwrap()
        .into_inner();
    assert!(made.secret.starts_with("whsec_"));
    let hooks = api.webhook_list(org, project).await.unwrap().into_inner();
    assert_eq!(hooks.len(), 2);
    let change: types::PatchedWebhookRequest =
        serde_json::from_value(json!({"description": "generated"})).unwrap();
    let changed = api
        .webhook_partial_update(org, project, "gen", &change)
        .await
        .unwrap()
        .into_inner();
    assert_eq!(changed.description.as_str(), "generated");
    let got = api
        .webhook_get(org, project, "gen")
        .await
        .unwrap()
        .into_inner();
    assert_eq!(got, changed);
    let rotated = api
        .webhook_rotate_secret(org, project, "gen")
        .await
        .unwrap()
        .into_inner();
    assert_ne!(rotated.secret, made.secret);
    api.webhook_delete(org, project, "gen").await.unwrap();
    let fired: types::TaskRequest = serde_json::from_value(json!({"name": "fires",
        "status": "error", "actions": [{"trigger": "error", "integration": "webhook:hook"}]}))
    .unwrap();
    let fired = api
        .task_create(org, project, None, &fired)
        .await
        .unwrap()
        .into_inner();
    let log = api
        .delivery_list(org, project, None, None, None, Some(&fired.id))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(log.results.len(), 1);
    let one = api
        .delivery_get(org, project, &log.results[0].id)
        .await
        .unwrap()
        .into_inner();
    assert_eq!(one.trigger, "error");
    let again = api
        .delivery_retry(org, project, &log.results[0].id)
        .await
        .unwrap()
        .into_inner();
    assert_eq!(again.status, types::DeliveryStatusEnum::Pending);

    // Project-wide actions: the generated operations, then the SDK's methods.
    let pa: types::ProjectActionRequest = serde_json::from_value(
        json!({"name": "errors", "trigger": "error", "integration": "webhook:hook"}),
    )
    .unwrap();
    let pa = api
        .project_action_create(org, project, &pa)
        .await
        .unwrap()
        .into_inner();
    let got = api
        .project_action_get(org, project, pa.id)
        .await
        .unwrap()
        .into_inner();
    assert_eq!(got, pa);
    let change: types::PatchedProjectActionRequest =
        serde_json::from_value(json!({"name_filter": "^fires"})).unwrap();
    let changed = api
        .project_action_partial_update(org, project, pa.id, &change)
        .await
        .unwrap()
        .into_inner();
    assert_eq!(changed.name_filter.as_str(), "^fires");
    api.project_action_delete(org, project, pa.id)
        .await
        .unwrap();
    let made = sdk
        .create_project_action(
            ratel_client::NewProjectAction::new("mail", "success", "email")
                .name_filter("^nightly-")
                .config(json!({"to": "ops@example.com"})),
        )
        .await
        .unwrap();
    assert!(made.enabled);
    let off = sdk
        .set_project_action_enabled(made.id, false)
        .await
        .unwrap();
    assert!(!off.enabled);
    let listed = api
        .project_action_list(org, project)
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed, sdk.project_actions().await.unwrap());
    assert_eq!(listed, vec![off]);
    sdk.delete_project_action(made.id).await.unwrap();
    assert!(sdk.project_actions().await.unwrap().is_empty());

    // Monitors: the generated operations, then the SDK's methods and a monitored task.
    let mr: types::MonitorRequest =
        serde_json::from_value(json!({"name": "hourly", "kind": "interval", "interval": 3600}))
            .unwrap();
    let m = api
        .monitor_create(org, project, &mr)
        .await
        .unwrap()
        .into_inner();
    assert_eq!(m.state, types::MonitorStateEnum::New);
    let got = api
        .monitor_get(org, project, &m.id)
        .await
        .unwrap()
        .into_inner();
    assert_eq!(got, m);
    let change: types::PatchedMonitorRequest =
        serde_json::from_value(json!({"grace": 60})).unwrap();
    let changed = api
        .monitor_partial_update(org, project, &m.id, &change)
        .await
        .unwrap()
        .into_inner();
    assert_eq!(changed.grace, 60);
    let listed = api.monitor_list(org, project).await.unwrap().into_inner();
    assert_eq!(listed, vec![changed.clone()]);
    let uuid: uuid::Uuid = m.id.parse().unwrap();
    let body: types::TaskRequest = serde_json::from_value(json!({"name": "checked-in"})).unwrap();
    let linked = api
        .task_create(org, project, Some(&uuid), &body)
        .await
        .unwrap()
        .into_inner();
    assert_eq!(linked.monitor.as_deref(), Some(m.id.as_str()));
    api.monitor_delete(org, project, &m.id).await.unwrap();
    let made = sdk
        .create_monitor(
            ratel_client::NewMonitor::cron("nightly", "30 2 * * *")
                .timezone("Europe/Stockholm")
                .grace(600)
                .max_runtime(3600)
                .alert("webhook:hook", None),
        )
        .await
        .unwrap();
    assert_eq!(made.kind, types::MonitorKindEnum::Cron);
    let run = sdk
        .create(ratel_client::NewTask::new("nightly-run").monitor(made.id.clone()))
        .await
        .unwrap();
    assert_eq!(run.data().monitor.as_deref(), Some(made.id.as_str()));
    assert_eq!(
        sdk.monitor(&made.id).await.unwrap().state,
        types::MonitorStateEnum::Up
    );
    let paused = sdk.set_monitor_enabled(&made.id, false).await.unwrap();
    assert_eq!(paused.state, types::MonitorStateEnum::Paused);
    assert_eq!(sdk.monitors().await.unwrap(), vec![paused]);
    let resumed = sdk.set_monitor_enabled(&made.id, true).await.unwrap();
    assert_eq!(resumed.state, types::MonitorStateEnum::New);
    assert!(matches!(
        sdk.create(ratel_client::NewTask::new("bad").monitor("nightly"))
            .await,
        Err(ratel_client::Error::Config(_))
    ));
    sdk.delete_monitor(&made.id).await.unwrap();
    assert!(sdk.monitors().await.unwrap().is_empty());

    // A documented error arrives typed, with its body.
    match api
        .task_get(org, project, "01ARZ3NDEKTSV4RRFFQ69G5FAV")
        .await
    {
        Err(ratel_client::generated::Error::ErrorResponse(resp)) => {
            assert_eq!(resp.status().as_u16(), 404);
            assert_eq!(resp.errors[0].code, "not_found");
        }
        other => panic!("expected a typed 404, got {other:?}"),
    }
}
