//! Actions: CRUD, validation, scoping, and inline actions on task writes.

use reqwest::Method;
use serde_json::json;

use crate::on_both_backends;
use crate::support::{Backend, Server, expect, expect_error};

async fn action_crud(backend: Backend) {
    let s = Server::start(backend).await;
    s.add_webhook("hook-1", "https://hooks.example.com/1").await;
    let t = s.create(json!({"name": "with actions"})).await;
    let tid = t["id"].as_str().unwrap();
    let base = s.url(&format!("/api/default/default/tasks/{tid}/actions/"));
    let resp = s
        .req(Method::POST, &base)
        .json(&json!({"trigger": "error,*/25%", "integration": "email",
                      "config": {"to": "ops@example.com, dev@example.com"}}))
        .send()
        .await
        .unwrap();
    let a = expect(resp, 201).await;
    assert_eq!(a["task"], tid);
    assert_eq!(a["status"], "active");
    let aid = a["id"].as_i64().unwrap();
    let item = format!("{base}{aid}/");
    let list = expect(s.req(Method::GET, &base).send().await.unwrap(), 200).await;
    assert_eq!(list, json!([a.clone()]));
    assert_eq!(
        expect(s.req(Method::GET, &item).send().await.unwrap(), 200).await,
        a
    );
    let patched = expect(
        s.req(Method::PATCH, &item)
            .json(&json!({"trigger": "success"}))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(patched["trigger"], "success");
    assert_eq!(patched["integration"], "email");
    let put = expect(
        s.req(Method::PUT, &item)
            .json(&json!({"trigger": "max_runtime_exceeded", "integration": "webhook:hook-1"}))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(put["integration"], "webhook:hook-1");
    let resp = s
        .req(Method::PATCH, &item)
        .json(&json!({"integration": "carrier-pigeon"}))
        .send()
        .await
        .unwrap();
    let body = expect_error(resp, 400, "validation_error", "invalid").await;
    assert_eq!(body["errors"][0]["attr"], "integration");
    let resp = s.req(Method::DELETE, &item).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 204);
    assert_eq!(
        expect(s.req(Method::GET, &item).send().await.unwrap(), 200).await["status"],
        "cancelled"
    );
    // An action id under another task is not found; so is a non-numeric id.
    let other = s.create(json!({"name": "other"})).await;
    let foreign = s.url(&format!(
        "/api/default/default/tasks/{}/actions/{aid}/",
        other["id"].as_str().unwrap()
    ));
    expect_error(
        s.req(Method::GET, &foreign).send().await.unwrap(),
        404,
        "client_error",
        "not_found",
    )
    .await;
    expect_error(
        s.req(Method::GET, &format!("{base}abc/"))
            .send()
            .await
            .unwrap(),
        404,
        "client_error",
        "not_found",
    )
    .await;
}

async fn action_validation(backend: Backend) {
    let s = Server::start(backend).await;
    let t = s.create(json!({"name": "v"})).await;
    let base = s.url(&format!(
        "/api/default/default/tasks/{}/actions/",
        t["id"].as_str().unwrap()
    ));
    for (body, attr) in [
        (
            json!({"trigger": "50%%", "integration": "email", "config": {"to": "a@b.co"}}),
            "trigger",
        ),
        (
            json!({"trigger": "success", "integration": "sms"}),
            "integration",
        ),
        (
            json!({"trigger": "success", "integration": "email", "config": {"to": "a@b.co,b@b.co,c@b.co,d@b.co,e@b.co,f@b.co"}}),
            "config.to",
        ),
        (
            json!({"trigger": "success", "integration": "email", "config": {"to": "nobody"}}),
            "config.to",
        ),
        (json!({"integration": "email"}), "trigger"),
    ] {
        let resp = s.req(Method::POST, &base).json(&body).send().await.unwrap();
        let err = expect(resp, 400).await;
        assert_eq!(err["type"], "validation_error");
        assert_eq!(err["errors"][0]["attr"], attr, "{body}");
    }
    assert_eq!(
        expect(s.req(Method::GET, &base).send().await.unwrap(), 200).await,
        json!([])
    );
}

async fn inline_actions_are_transactional(backend: Backend) {
    let s = Server::start(backend).await;
    s.add_webhook("x", "https://hooks.example.com/x").await;
    let t = s
        .create(json!({"name": "inline", "actions": [
            {"trigger": "success", "integration": "email", "config": {"to": "a@example.com"}}]}))
        .await;
    let tid = t["id"].as_str().unwrap();
    let base = s.url(&format!("/api/default/default/tasks/{tid}/actions/"));
    assert_eq!(
        expect(s.req(Method::GET, &base).send().await.unwrap(), 200)
            .await
            .as_array()
            .unwrap()
            .len(),
        1
    );
    // PATCH adds actions.
    s.patch(
        tid,
        json!({"actions": [{"trigger": "error", "integration": "webhook:x"}]}),
    )
    .await;
    assert_eq!(
        expect(s.req(Method::GET, &base).send().await.unwrap(), 200)
            .await
            .as_array()
            .unwrap()
            .len(),
        2
    );
    // One bad action: neither the task nor any action is written.
    let resp = s
        .req(Method::POST, &s.tasks_url())
        .json(&json!({"name": "half", "actions": [
            {"trigger": "success", "integration": "email", "config": {"to": "a@example.com"}},
            {"trigger": "never", "integration": "email", "config": {"to": "a@example.com"}}]}))
        .send()
        .await
        .unwrap();
    let body = expect_error(resp, 400, "validation_error", "invalid").await;
    assert_eq!(body["errors"][0]["attr"], "actions.1.trigger");
    let list = expect(
        s.req(Method::GET, &s.tasks_url()).send().await.unwrap(),
        200,
    )
    .await;
    assert_eq!(list["results"].as_array().unwrap().len(), 1);
}

on_both_backends!(
    action_crud,
    action_validation,
    inline_actions_are_transactional
);
