//! The error bodies of api.md and the HTTP-level errors.

use reqwest::Method;
use serde_json::json;

use crate::on_both_backends;
use crate::support::{Backend, Server, expect, expect_error};

async fn http_errors(backend: Backend) {
    let s = Server::start(backend).await;
    // Unknown route: 404 with the JSON body.
    let resp = s
        .req(Method::GET, &s.url("/api/nothing/here"))
        .send()
        .await
        .unwrap();
    expect_error(resp, 404, "client_error", "not_found").await;
    // 405 with api.md's detail and an Allow header.
    let resp = s.req(Method::PATCH, &s.tasks_url()).send().await.unwrap();
    assert_eq!(resp.headers()["allow"], "GET, POST");
    let body = expect_error(resp, 405, "client_error", "method_not_allowed").await;
    assert_eq!(
        body["errors"][0]["detail"],
        "Method \u{201c}patch\u{201d} not allowed."
    );
    // 406 unless Accept admits JSON.
    for ok in [
        "*/*",
        "application/*",
        "application/json",
        "text/html, application/json;q=0.5",
    ] {
        let resp = s
            .req(Method::GET, &s.tasks_url())
            .header("accept", ok)
            .send()
            .await
            .unwrap();
        expect(resp, 200).await;
    }
    let resp = s
        .req(Method::GET, &s.tasks_url())
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    let body = expect_error(resp, 406, "client_error", "not_acceptable").await;
    assert_eq!(
        body["errors"][0]["detail"],
        "Could not satisfy the request Accept header."
    );
    // 415 as api.md shows it.
    let resp = s
        .req(Method::POST, &s.tasks_url())
        .header("content-type", "application/xml")
        .body("<task/>")
        .send()
        .await
        .unwrap();
    let body = expect_error(resp, 415, "client_error", "not_acceptable").await;
    assert_eq!(
        body["errors"][0]["detail"],
        "Unsupported media type \u{201c}application/xml\u{201d} in request."
    );
    // Malformed JSON.
    let resp = s
        .req(Method::POST, &s.tasks_url())
        .header("content-type", "application/json")
        .body("{\"name\": ")
        .send()
        .await
        .unwrap();
    expect_error(resp, 400, "client_error", "parse_error").await;
    // 413 over the body limit (1 MiB by default).
    let big = json!({"name": "big", "data": "x".repeat(1024 * 1024)});
    let resp = s
        .req(Method::POST, &s.tasks_url())
        .json(&big)
        .send()
        .await
        .unwrap();
    let body = expect_error(resp, 413, "client_error", "payload_too_large").await;
    assert_eq!(
        body["errors"][0]["detail"],
        "Request body is larger than 1048576 bytes."
    );
    // Invalid query parameters name themselves.
    let resp = s
        .req(Method::GET, &format!("{}?page_size=abc", s.tasks_url()))
        .send()
        .await
        .unwrap();
    let body = expect_error(resp, 400, "validation_error", "invalid").await;
    assert_eq!(body["errors"][0]["attr"], "page_size");
    let resp = s
        .req(Method::GET, &format!("{}?status=bogus", s.tasks_url()))
        .send()
        .await
        .unwrap();
    let body = expect_error(resp, 400, "validation_error", "invalid").await;
    assert_eq!(body["errors"][0]["attr"], "status");
    // Nothing above created a task.
    let resp = s.req(Method::GET, &s.tasks_url()).send().await.unwrap();
    assert_eq!(expect(resp, 200).await["results"], json!([]));
    // Every response carries a request id.
    let resp = s.req(Method::GET, &s.tasks_url()).send().await.unwrap();
    assert_eq!(resp.headers()["x-request-id"].len(), 26);
}

/// PostgreSQL going away mid-flight: requests get 503 with the documented body, and
/// `/readyz` reports it.
async fn unreachable_database_is_503(backend: Backend) {
    let s = Server::start(backend).await;
    let t = s.create(json!({"name": "before"})).await;
    let name = s.db().url.rsplit('/').next().unwrap().to_owned();
    {
        use sea_orm::ConnectionTrait;
        let admin = sea_orm::Database::connect(crate::support::PG_ADMIN_URL)
            .await
            .unwrap();
        admin
            .execute_unprepared(&format!("DROP DATABASE {name} WITH (FORCE)"))
            .await
            .unwrap();
    }
    let resp = s
        .req(Method::GET, &s.task_url(t["id"].as_str().unwrap()))
        .send()
        .await
        .unwrap();
    let body = expect_error(resp, 503, "server_error", "service_unavailable").await;
    assert_eq!(body["errors"].as_array().unwrap().len(), 1);
    let ready = s.raw(Method::GET, &s.url("/readyz")).send().await.unwrap();
    expect_error(ready, 503, "server_error", "service_unavailable").await;
}

/// The project still holds only task `id`, as created: `{"name": "kept", "value": 1}`.
async fn only_task_unchanged(s: &Server, id: &str) {
    let list = expect(
        s.req(Method::GET, &s.tasks_url()).send().await.unwrap(),
        200,
    )
    .await;
    assert_eq!(
        list["results"].as_array().unwrap().len(),
        1,
        "nothing was created"
    );
    let kept = expect(
        s.req(Method::GET, &s.task_url(id)).send().await.unwrap(),
        200,
    )
    .await;
    assert_eq!(
        (kept["name"].as_str(), kept["value"].as_i64()),
        (Some("kept"), Some(1))
    );
}

/// A NUL in any text is refused before storage, alike on both stores (PostgreSQL cannot hold
/// it in text or jsonb); an id or filter value that cannot exist is unknown, never a 500.
async fn nul_characters(backend: Backend) {
    let s = Server::start(backend).await;
    let t = s.create(json!({"name": "kept", "value": 1})).await;
    let id = t["id"].as_str().unwrap().to_owned();
    let nul = "a\u{0}b";
    let refused = [
        (json!({"name": nul}), "name"),
        (json!({"name": "x", "queue": nul}), "queue"),
        (json!({"name": "x", "external_id": nul}), "external_id"),
        (json!({"name": "x", "tags": {"env": nul}}), "tags.env"),
        (json!({"name": "x", "tags": {nul: "v"}}), "tags"),
        (json!({"name": "x", "data": {"k": nul}}), "data"),
        (json!({"name": "x", "data": {"deep": [{nul: 1}]}}), "data"),
        (
            json!({"name": "x", "actions": [{"trigger": "error", "integration": "email",
                "config": {"to": nul}}]}),
            "actions.0.config",
        ),
    ];
    for (body, attr) in &refused {
        let resp = s
            .req(Method::POST, &s.tasks_url())
            .json(body)
            .send()
            .await
            .unwrap();
        let err = expect_error(resp, 400, "validation_error", "null_characters_not_allowed").await;
        assert_eq!(err["errors"][0]["attr"], *attr, "{body}");
        // The same on PATCH, which changes nothing.
        if !attr.starts_with("actions") {
            let resp = s
                .req(Method::PATCH, &s.task_url(&id))
                .json(body)
                .send()
                .await
                .unwrap();
            let err =
                expect_error(resp, 400, "validation_error", "null_characters_not_allowed").await;
            assert_eq!(err["errors"][0]["attr"], *attr, "PATCH {body}");
        }
    }
    let resp = s
        .req(Method::POST, &format!("{}actions/", s.task_url(&id)))
        .json(&json!({"trigger": "error", "integration": "email", "config": {"to": nul}}))
        .send()
        .await
        .unwrap();
    let err = expect_error(resp, 400, "validation_error", "null_characters_not_allowed").await;
    assert_eq!(err["errors"][0]["attr"], "config");
    only_task_unchanged(&s, &id).await;

    // Ids and filters that cannot exist.
    let long = "A".repeat(300);
    for bad in [
        "abc%00def",
        "%00",
        long.as_str(),
        "01ARZ3NDEKTSV4RRFFQ69G5FA%00",
    ] {
        for method in [Method::GET, Method::PATCH, Method::DELETE] {
            let mut req = s.req(method.clone(), &s.task_url(bad));
            if method == Method::PATCH {
                req = req.json(&json!({"value": 2}));
            }
            expect_error(req.send().await.unwrap(), 404, "client_error", "not_found").await;
        }
        let actions = format!("{}actions/", s.task_url(bad));
        expect_error(
            s.req(Method::GET, &actions).send().await.unwrap(),
            404,
            "client_error",
            "not_found",
        )
        .await;
    }
    for query in ["external_id=%00", "name=a%00", "tag=env:%00", "parent=%00"] {
        let url = format!("{}?{query}", s.tasks_url());
        let page = expect(s.req(Method::GET, &url).send().await.unwrap(), 200).await;
        assert_eq!(page["results"], json!([]), "{query}");
    }
}

/// A body with the same key twice, at any depth, is a parse error naming the key, and
/// changes nothing.
async fn duplicate_keys(backend: Backend) {
    let s = Server::start(backend).await;
    let t = s.create(json!({"name": "kept", "value": 1})).await;
    let id = t["id"].as_str().unwrap().to_owned();
    let send = |method: Method, url: String, body: &'static str| {
        s.req(method, &url)
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    for (method, url, body, key) in [
        (
            Method::POST,
            s.tasks_url(),
            r#"{"name": "a", "name": "b"}"#,
            "name",
        ),
        (
            Method::POST,
            s.tasks_url(),
            r#"{"name": "a", "tags": {"env": "x", "env": "y"}}"#,
            "env",
        ),
        (
            Method::POST,
            s.tasks_url(),
            r#"{"name": "a", "actions": [{"trigger": "error", "trigger": "success", "integration": "email", "config": {"to": "a@example.com"}}]}"#,
            "trigger",
        ),
        (
            Method::PATCH,
            s.task_url(&id),
            r#"{"value": 2, "value": 3}"#,
            "value",
        ),
    ] {
        let resp = send(method, url, body).await.unwrap();
        let err = expect_error(resp, 400, "client_error", "parse_error").await;
        let detail = err["errors"][0]["detail"].as_str().unwrap();
        assert!(
            detail.contains(&format!("duplicate key \"{key}\"")),
            "{body}: {detail}"
        );
    }
    only_task_unchanged(&s, &id).await;
}

/// Reads one response from a raw connection: its status, whether it announced
/// `Connection: close`, and nothing of its body beyond its Content-Length.
async fn read_response(conn: &mut tokio::net::TcpStream) -> Option<(u16, bool)> {
    use tokio::io::AsyncReadExt;
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        match conn.read(&mut byte).await {
            Ok(1) => buf.push(byte[0]),
            _ => return None,
        }
    }
    let head = String::from_utf8_lossy(&buf).to_lowercase();
    let status = head.split(' ').nth(1)?.parse().ok()?;
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .map_or(0, |v| v.trim().parse().unwrap_or(0));
    let mut body = vec![0u8; length];
    conn.read_exact(&mut body).await.ok()?;
    Some((status, head.contains("connection: close")))
}

/// A request refused before its body is read (401, 403, 405) leaves the connection usable:
/// the body is read and discarded, so the next request on it is answered. Head and body go
/// in separate writes, as httpx and the official SDK send them.
async fn keep_alive_after_refusal(backend: Backend) {
    use tokio::io::AsyncWriteExt;
    let s = Server::start(backend).await;
    let t = s.create(json!({"name": "own"})).await;
    let own = format!(
        "GET /api/default/default/tasks/{}/ HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {}\r\n\r\n",
        t["id"].as_str().unwrap(),
        s.key
    );
    let addr = s.base.trim_start_matches("http://").to_owned();
    let refusals = [
        ("POST", "/api/default/default/tasks/", None, 401),
        ("POST", "/api/other/project/tasks/", Some(&s.key), 403),
        ("PATCH", "/api/default/default/tasks/", Some(&s.key), 405),
    ];
    for size in [1, 64 * 1024, 1024 * 1024] {
        let body = vec![b' '; size];
        for (method, path, key, expected) in &refusals {
            let mut conn = tokio::net::TcpStream::connect(&addr).await.unwrap();
            conn.set_nodelay(true).unwrap();
            let auth = key.map_or(String::new(), |k| format!("authorization: Bearer {k}\r\n"));
            let head = format!(
                "{method} {path} HTTP/1.1\r\nhost: x\r\n{auth}content-type: application/json\r\ncontent-length: {size}\r\n\r\n"
            );
            conn.write_all(head.as_bytes()).await.unwrap();
            conn.flush().await.unwrap();
            // Let the refusal be written before the body arrives (the reported race).
            tokio::task::yield_now().await;
            conn.write_all(&body).await.unwrap();
            let (status, close) = read_response(&mut conn).await.expect("the refusal");
            assert_eq!(status, *expected, "{method} {path} with {size} bytes");
            assert!(
                !close,
                "a body within the limit is drained: {method} {path} {size}"
            );
            conn.write_all(own.as_bytes()).await.unwrap();
            let next = read_response(&mut conn).await;
            assert_eq!(
                next.map(|r| r.0),
                Some(200),
                "the next request after {method} {path} {size}"
            );
        }
    }
    // A body past the limit is not read: the refusal says the connection closes.
    let mut conn = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let size = 2 * 1024 * 1024;
    let head = format!(
        "POST /api/default/default/tasks/ HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: {size}\r\n\r\n"
    );
    conn.write_all(head.as_bytes()).await.unwrap();
    let writer = tokio::spawn(async move {
        let _ = conn.write_all(&vec![b' '; size]).await;
        conn
    });
    let mut conn = writer.await.unwrap();
    let (status, close) = read_response(&mut conn).await.expect("the refusal");
    assert_eq!((status, close), (401, true));
}

on_both_backends!(
    http_errors,
    nul_characters,
    duplicate_keys,
    keep_alive_after_refusal
);

mod unreachable {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        super::unreachable_database_is_503(crate::support::Backend::Postgres).await
    }
}
