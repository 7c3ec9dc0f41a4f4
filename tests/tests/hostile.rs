//! Hostile input, as an attacker would send it: every field of every request body crossed with
//! NUL characters, lone surrogates, over-long strings, wrong types and numbers past int64;
//! then whole bodies nested 10,000 deep, with duplicate keys, in the wrong content type, or
//! with a lying Content-Length. Each gets its documented 4xx (the body checked against
//! openapi.yaml), never a 5xx, and nothing changes: the project reads back the same after.

use reqwest::Method;
use serde_json::{Value, json};

use crate::on_both_backends;
use crate::support::{Backend, Server, expect};

/// What a field holds, and so which values are wrong for it.
#[derive(Clone, Copy)]
enum Kind {
    /// Text with a length limit.
    Text,
    /// Text that must also parse (a status, a time, a trigger, a URL, a slug).
    Choice,
    Int,
    Duration,
    Tags,
    Actions,
    Bool,
    /// Any JSON (`data`, `config`): only what no store can hold is wrong.
    Free,
}

/// Raw JSON texts that no field of `kind` accepts.
fn bad_values(kind: Kind) -> Vec<String> {
    let nul = r#""a\u0000b""#.to_owned();
    let lone_surrogate = r#""\ud800""#.to_owned();
    let long = format!("\"{}\"", "x".repeat(10_000));
    let deep_nul = r#"{"k": ["a\u0000b"]}"#.to_owned();
    let past_int64 = [
        "9223372036854775808",
        "-9223372036854775809",
        "123456789012345678901234567890",
        "1e400",
    ]
    .map(str::to_owned);
    let mut v = vec![lone_surrogate];
    match kind {
        Kind::Text | Kind::Choice => {
            v.extend([
                nul,
                long,
                "1".into(),
                "true".into(),
                "[]".into(),
                "{}".into(),
            ]);
            if matches!(kind, Kind::Choice) {
                v.push(r#""not one of them at all""#.into());
            }
        }
        Kind::Int => {
            v.extend(past_int64);
            v.extend([nul, r#""1x""#.into(), "true".into(), "[]".into()]);
            v.extend(["{}".into(), "1.5".into(), "-1".into()]);
        }
        Kind::Duration => {
            v.extend([
                nul,
                r#""soon""#.into(),
                "true".into(),
                "[]".into(),
                "-1".into(),
            ]);
        }
        Kind::Tags => {
            v.extend([
                r#"{"env": "a\u0000b"}"#.into(),
                r#"{"a\u0000b": "v"}"#.into(),
            ]);
            v.push(format!(r#"{{"env": {long}}}"#));
            v.push(format!(r#"{{{long}: "v"}}"#));
            v.extend([r#"{"env": 1}"#.into(), r#"{"": "v"}"#.into(), "[]".into()]);
            v.extend(["\"env:x\"".into(), "1".into(), "null".into()]);
        }
        Kind::Actions => {
            v.extend(["{}".into(), "\"error\"".into(), "[1]".into(), "null".into()]);
            v.push(r#"[{"trigger": "a\u0000b", "integration": "email", "config": {}}]"#.into());
            v.push(
                r#"[{"trigger": "error", "integration": "email", "config": {"to": "a\u0000b"}}]"#
                    .into(),
            );
            v.push(r#"[{"trigger": 1, "integration": "email"}]"#.into());
            v.push(r#"[{"trigger": "999999999999999999999", "integration": "email"}]"#.into());
            v.push(r#"[{"trigger": "error", "integration": "webhook:nope"}]"#.into());
        }
        Kind::Bool => {
            v.extend([
                nul,
                "1".into(),
                "\"true\"".into(),
                "[]".into(),
                "null".into(),
            ]);
        }
        Kind::Free => v.push(deep_nul),
    }
    v
}

/// One refused request.
struct Case {
    method: Method,
    path: String,
    content_type: &'static str,
    body: Vec<u8>,
    status: u16,
    what: String,
}

/// A JSON object text from `(key, raw JSON)` entries (raw, so that invalid JSON can be sent).
fn object(entries: &[(&str, &str)]) -> String {
    let fields: Vec<String> = entries
        .iter()
        .map(|(k, v)| format!("{}: {v}", Value::from(*k)))
        .collect();
    format!("{{{}}}", fields.join(", "))
}

/// The status a bad value gets: a lone surrogate or a number past f64 is not JSON at all
/// (400 parse_error), anything else a 400 validation_error; both are 400.
const BAD_REQUEST: u16 = 400;

/// Every field × every bad value, for one body: `base` is what the body needs besides the
/// field under test (a create's `name`).
fn field_cases(
    method: Method,
    path: &str,
    base: &[(&str, &str)],
    fields: &[(&str, Kind)],
) -> Vec<Case> {
    let mut cases = Vec::new();
    for (field, kind) in fields {
        for bad in bad_values(*kind) {
            let mut entries: Vec<(&str, &str)> =
                base.iter().filter(|(k, _)| k != field).copied().collect();
            entries.push((field, &bad));
            let body = object(&entries);
            cases.push(Case {
                method: method.clone(),
                path: path.to_owned(),
                content_type: "application/json",
                what: format!("{method} {path} {field}={}", &bad[..bad.len().min(60)]),
                body: body.into_bytes(),
                status: BAD_REQUEST,
            });
        }
    }
    cases
}

/// Whole-body attacks on one write endpoint.
fn body_cases(method: Method, path: &str, valid: &str) -> Vec<Case> {
    let deep = format!(
        r#"{{"name": "x", "data": {}{}}}"#,
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    let deep_objects = format!(
        r#"{{"name": "x", "data": {}1{}}}"#,
        r#"{"a":"#.repeat(10_000),
        "}".repeat(10_000)
    );
    let mut bodies: Vec<(&str, Vec<u8>, u16)> = vec![
        ("application/json", deep.into_bytes(), 400),
        ("application/json", deep_objects.into_bytes(), 400),
        (
            "application/json",
            br#"{"name": "x", "name": "y"}"#.to_vec(),
            400,
        ),
        (
            "application/json",
            br#"{"name": "x", "data": {"a": {"b": 1, "b": 2}}}"#.to_vec(),
            400,
        ),
        ("application/json", b"[]".to_vec(), 400),
        ("application/json", b"\"task\"".to_vec(), 400),
        ("application/json", b"42".to_vec(), 400),
        (
            "application/json",
            b"{\"name\": \"\xff\xfe\"}".to_vec(),
            400,
        ),
        (
            "application/json",
            b"{\"name\": \"x\"} trailing".to_vec(),
            400,
        ),
        ("application/json", b"{\"name\": \"x\",}".to_vec(), 400),
        ("application/json", b"{'name': 'x'}".to_vec(), 400),
        (
            "application/json",
            b"\xef\xbb\xbf{\"name\": \"x\"".to_vec(),
            400,
        ),
        ("application/json", vec![b' '; 2 * 1024 * 1024], 413),
        ("text/plain", valid.as_bytes().to_vec(), 415),
        ("application/xml", b"<task name=\"x\"/>".to_vec(), 415),
        ("application/x-www-form-urlencoded", b"name=x".to_vec(), 415),
        (
            "multipart/form-data; boundary=b",
            valid.as_bytes().to_vec(),
            415,
        ),
        ("application/jsonx", valid.as_bytes().to_vec(), 415),
    ];
    if method == Method::POST || method == Method::PUT {
        bodies.push(("application/json", b"null".to_vec(), 400));
    }
    bodies
        .into_iter()
        .map(|(content_type, body, status)| Case {
            what: format!(
                "{method} {path} {content_type} {:?}",
                String::from_utf8_lossy(&body[..body.len().min(40)])
            ),
            method: method.clone(),
            path: path.to_owned(),
            content_type,
            body,
            status,
        })
        .collect()
}

/// Everything the project holds, as the API shows it.
async fn snapshot(s: &Server, task: &str, webhook: &str) -> Value {
    let get = |path: String| async move {
        expect(s.req(Method::GET, &s.url(&path)).send().await.unwrap(), 200).await
    };
    let p = "/api/default/default";
    json!({
        "tasks": get(format!("{p}/tasks/?page_size=100")).await,
        "task": get(format!("{p}/tasks/{task}/")).await,
        "actions": get(format!("{p}/tasks/{task}/actions/")).await,
        "webhooks": get(format!("{p}/webhooks/")).await,
        "webhook": get(format!("{p}/webhooks/{webhook}/")).await,
        "deliveries": get(format!("{p}/deliveries/")).await,
    })
}

async fn hostile_corpus(backend: Backend) {
    let s = Server::start(backend).await;
    s.add_webhook("hook-1", "https://hooks.example.com/1").await;
    let t = s
        .create(json!({"name": "kept", "value": 1, "tags": {"env": "prod"},
            "actions": [{"trigger": "error", "integration": "webhook:hook-1"}]}))
        .await;
    let id = t["id"].as_str().unwrap().to_owned();
    let actions = expect(
        s.req(Method::GET, &format!("{}actions/", s.task_url(&id)))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    let action = actions[0]["id"].as_i64().unwrap();
    let before = snapshot(&s, &id, "hook-1").await;

    let task_fields = [
        ("name", Kind::Text),
        ("status", Kind::Choice),
        ("value", Kind::Int),
        ("value_max", Kind::Int),
        ("data", Kind::Free),
        ("max_runtime", Kind::Int),
        ("stale_timeout", Kind::Int),
        ("start_time", Kind::Choice),
        ("end_time", Kind::Choice),
        ("time_to_start", Kind::Duration),
        ("tags", Kind::Tags),
        ("queue", Kind::Text),
        ("external_id", Kind::Text),
        ("parent", Kind::Choice),
        ("actions", Kind::Actions),
    ];
    let action_fields = [
        ("trigger", Kind::Choice),
        ("integration", Kind::Choice),
        ("config", Kind::Free),
    ];
    let webhook_fields = [
        ("slug", Kind::Choice),
        ("url", Kind::Choice),
        ("description", Kind::Text),
        ("enabled", Kind::Bool),
    ];
    let p = "/api/default/default";
    let tasks = format!("{p}/tasks/");
    let task = format!("{p}/tasks/{id}/");
    let task_actions = format!("{p}/tasks/{id}/actions/");
    let action_path = format!("{p}/tasks/{id}/actions/{action}/");
    let webhooks = format!("{p}/webhooks/");
    let webhook = format!("{p}/webhooks/hook-1/");
    let action_base = [
        ("trigger", "\"error\""),
        ("integration", "\"webhook:hook-1\""),
    ];
    let webhook_base = [("slug", "\"hook-2\""), ("url", "\"https://example.com/h\"")];
    let mut cases = Vec::new();
    cases.extend(field_cases(
        Method::POST,
        &tasks,
        &[("name", "\"x\"")],
        &task_fields,
    ));
    cases.extend(field_cases(
        Method::PUT,
        &task,
        &[("name", "\"x\"")],
        &task_fields,
    ));
    cases.extend(field_cases(Method::PATCH, &task, &[], &task_fields));
    cases.extend(field_cases(
        Method::POST,
        &task_actions,
        &action_base,
        &action_fields,
    ));
    cases.extend(field_cases(
        Method::PUT,
        &action_path,
        &action_base,
        &action_fields,
    ));
    cases.extend(field_cases(
        Method::PATCH,
        &action_path,
        &[],
        &action_fields,
    ));
    cases.extend(field_cases(
        Method::POST,
        &webhooks,
        &webhook_base,
        &webhook_fields,
    ));
    cases.extend(field_cases(
        Method::PATCH,
        &webhook,
        &[],
        &webhook_fields[1..],
    ));
    for (method, path) in [
        (Method::POST, &tasks),
        (Method::PUT, &task),
        (Method::PATCH, &task),
        (Method::POST, &task_actions),
        (Method::POST, &webhooks),
    ] {
        cases.extend(body_cases(method, path, r#"{"name": "x"}"#));
    }
    // Query values: impossible filters are an empty page, bad parameters a 400, a cursor this
    // server did not issue the 404 "Invalid cursor." of Django REST framework's pagination.
    let mut queries = Vec::new();
    for (query, status) in [
        ("page_size=-1", 400),
        ("page_size=99999999999999999999", 400),
        ("page_size=1e400", 400),
        ("page_size=%00", 400),
        ("cursor=%00", 404),
        ("cursor=not-a-cursor", 404),
        ("cursor=%ff%fe", 404),
        ("status=%00", 400),
        ("status=processing%00", 400),
        ("tag=%00", 400),
    ] {
        queries.push((format!("{tasks}?{query}"), status));
    }
    for (query, status) in [
        ("status=nope", 400),
        ("task=%00", 200),
        ("cursor=%ff%fe", 404),
        ("page_size=0", 400),
    ] {
        queries.push((format!("{p}/deliveries/?{query}"), status));
    }
    let long_id = "A".repeat(5000);
    for path in [
        format!("{p}/tasks/{long_id}/"),
        format!("{p}/tasks/%ff%fe/"),
        format!("{p}/tasks/{id}/actions/99999999999999999999/"),
        format!("{p}/tasks/{id}/actions/-1/"),
        format!("{p}/tasks/{id}/actions/%00/"),
        format!("{p}/webhooks/%00/"),
        format!("{p}/webhooks/{long_id}/"),
        format!("{p}/deliveries/%00/"),
        format!("{p}/deliveries/99999999999999999999/"),
    ] {
        queries.push((path, 404));
    }

    let mut failures = Vec::new();
    let mut sent = 0;
    for case in &cases {
        sent += 1;
        let resp = s
            .req(case.method.clone(), &s.url(&case.path))
            .header("content-type", case.content_type)
            .body(case.body.clone())
            .send()
            .await
            .unwrap();
        check(resp, case.status, &case.what, &mut failures).await;
    }
    for (url, status) in &queries {
        sent += 1;
        let resp = s.req(Method::GET, &s.url(url)).send().await.unwrap();
        check(resp, *status, &format!("GET {url}"), &mut failures).await;
    }
    sent += lying_content_length(&s, &tasks, &mut failures).await;
    assert!(
        failures.is_empty(),
        "{} of {sent} hostile requests were not refused as documented:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(sent >= 350, "the corpus is {sent} requests");
    assert_eq!(snapshot(&s, &id, "hook-1").await, before, "nothing changed");
}

/// Records a failure unless the response has `status` and (for an error) the documented
/// error body; a 5xx is always a failure.
async fn check(resp: reqwest::Response, status: u16, what: &str, failures: &mut Vec<String>) {
    let got = resp.status().as_u16();
    let json = resp
        .headers()
        .get("content-type")
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    let path = resp.url().path().to_owned();
    let text = resp.text().await.unwrap_or_default();
    let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    let conforms = crate::support::contract().check_any_method(&path, got, &body);
    if got != status || !json || conforms.is_err() {
        failures.push(format!(
            "{what}: {got} (expected {status}) {:?} {}",
            conforms.err(),
            &text[..text.len().min(300)]
        ));
    }
}

/// A Content-Length that promises more than is sent (then the client stops writing), and one
/// that promises less (the rest is not a request): the first is a 400, the second a 400 for
/// the truncated JSON; neither creates anything.
async fn lying_content_length(s: &Server, path: &str, failures: &mut Vec<String>) -> usize {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = s.base.trim_start_matches("http://").to_owned();
    let body = r#"{"name": "liar"}"#;
    let mut sent = 0;
    for length in [body.len() + 100, 5] {
        sent += 1;
        let mut conn = tokio::net::TcpStream::connect(&addr).await.unwrap();
        let head = format!(
            "POST {path} HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {}\r\ncontent-type: application/json\r\ncontent-length: {length}\r\nconnection: close\r\n\r\n",
            s.key
        );
        conn.write_all(head.as_bytes()).await.unwrap();
        conn.write_all(body.as_bytes()).await.unwrap();
        conn.shutdown().await.unwrap();
        let mut answer = Vec::new();
        let _ = conn.read_to_end(&mut answer).await;
        let answer = String::from_utf8_lossy(&answer);
        let status = answer.split(' ').nth(1).unwrap_or("none");
        let documented = answer.contains("\"type\"") && answer.contains("\"errors\"");
        if status != "400" || !documented {
            failures.push(format!(
                "content-length {length} for {} bytes: {answer}",
                body.len()
            ));
        }
    }
    sent
}

/// The largest values each field documents are stored alike on both stores (a timeout near
/// int32's limit once overflowed PostgreSQL's integer arithmetic for the due times).
async fn extreme_values_are_accepted(backend: Backend) {
    let s = Server::start(backend).await;
    let long = "x".repeat(255);
    let max = json!({"name": long, "value": i64::MAX, "value_max": i64::MAX,
        "stale_timeout": i32::MAX, "max_runtime": i32::MAX, "status": "processing",
        "tags": {long.clone(): long.clone()}, "queue": long, "external_id": long});
    let t = s.create(max.clone()).await;
    let id = t["id"].as_str().unwrap();
    for field in [
        "name",
        "value",
        "value_max",
        "stale_timeout",
        "max_runtime",
        "tags",
    ] {
        assert_eq!(t[field], max[field], "{field}");
    }
    let plain = s.create(json!({"name": "plain"})).await;
    for body in [
        json!({"status": "processing", "value": 42, "stale_timeout": 2_147_483_646}),
        json!({"max_runtime": i32::MAX, "start_time": "2026-01-01T00:00:00Z"}),
        json!({"value": i64::MAX, "stale_timeout": i32::MAX}),
    ] {
        for id in [id, plain["id"].as_str().unwrap()] {
            let got = s.patch(id, body.clone()).await;
            for (k, v) in body.as_object().unwrap() {
                if k != "start_time" {
                    assert_eq!(&got[k], v, "PATCH {body}");
                }
            }
        }
    }
}

on_both_backends!(hostile_corpus, extreme_values_are_accepted);
