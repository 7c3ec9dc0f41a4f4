//! Task create / get / PUT / PATCH / DELETE and the field rules.

use reqwest::Method;
use serde_json::json;

use crate::on_both_backends;
use crate::support::{Backend, Server, expect, expect_error};

async fn create_and_get(backend: Backend) {
    let s = Server::start(backend).await;
    let t = s
        .create(
            json!({"name": "export", "data": {"rows": 3}, "tags": {"env": "prod"},
                       "queue": "default", "external_id": "celery-1",
                       "max_runtime": 60, "stale_timeout": 120, "value_max": 200, "value": 42}),
        )
        .await;
    let id = t["id"].as_str().unwrap();
    assert_eq!(id.len(), 26);
    assert!(id.bytes().all(|b| b.is_ascii_alphanumeric()));
    assert_eq!(t["status"], "pending");
    assert_eq!(t["value_percent"], 21);
    assert_eq!(t["organization"], "default");
    assert_eq!(t["project"], "default");
    assert_eq!(t["tags"], json!({"env": "prod"}));
    assert_eq!(t["url"], s.url(&format!("/a/default/tasks/{id}/")));
    assert_eq!(t["public_url"], s.url(&format!("/public/tasks/{id}/")));
    assert_eq!(t["parent"], json!(null));
    assert_eq!(t["start_time"], json!(null));
    let got = s.get_task(id).await;
    assert_eq!(got, t, "a read returns what the write returned");

    let defaults = s.create(json!({"name": "bare"})).await;
    assert_eq!(defaults["value_max"], 100);
    assert_eq!(defaults["value"], json!(null));
    assert_eq!(defaults["value_percent"], json!(null));
    assert_eq!(defaults["data"], json!(null));
    assert_eq!(defaults["tags"], json!({}));
}

async fn value_max_zero_has_no_percent(backend: Backend) {
    let s = Server::start(backend).await;
    let t = s
        .create(json!({"name": "z", "value": 5, "value_max": 0}))
        .await;
    assert_eq!(t["value_percent"], json!(null));
    let t = s
        .create(json!({"name": "over", "value": 250, "value_max": 100}))
        .await;
    assert_eq!(t["value_percent"], 250);
}

async fn trailing_slash_is_optional(backend: Backend) {
    let s = Server::start(backend).await;
    let t = s.create(json!({"name": "a"})).await;
    let id = t["id"].as_str().unwrap();
    for url in [
        s.url("/api/default/default/tasks"),
        s.url("/api/default/default/tasks/"),
    ] {
        let resp = s.req(Method::GET, &url).send().await.unwrap();
        assert_eq!(expect(resp, 200).await["results"][0]["id"], id);
    }
    for url in [
        s.url(&format!("/api/default/default/tasks/{id}")),
        s.task_url(id),
    ] {
        let resp = s.req(Method::GET, &url).send().await.unwrap();
        assert_eq!(expect(resp, 200).await["id"], id);
    }
    let resp = s
        .req(Method::POST, &s.url("/api/default/default/tasks"))
        .json(&json!({"name": "no slash"}))
        .send()
        .await
        .unwrap();
    expect(resp, 201).await;
}

async fn patch_is_partial_and_null_clears(backend: Backend) {
    let s = Server::start(backend).await;
    let t = s
        .create(
            json!({"name": "p", "data": {"a": 1}, "queue": "q", "value": 1, "max_runtime": 5,
                       "tags": {"a": "1"}}),
        )
        .await;
    let id = t["id"].as_str().unwrap();
    let p = s.patch(id, json!({"value": 7})).await;
    assert_eq!(p["value"], 7);
    assert_eq!(p["name"], "p");
    assert_eq!(p["data"], json!({"a": 1}));
    assert_eq!(p["queue"], "q");
    assert_eq!(p["max_runtime"], 5);
    assert_eq!(p["status"], "pending", "an absent status is untouched");
    let p = s
        .patch(
            id,
            json!({"data": null, "queue": null, "max_runtime": null, "value": null}),
        )
        .await;
    assert_eq!(p["data"], json!(null));
    assert_eq!(p["queue"], json!(null));
    assert_eq!(p["max_runtime"], json!(null));
    assert_eq!(p["value"], json!(null));
    assert_eq!(p["value_percent"], json!(null));
    // Tags merge on PATCH (the SDK's Task.tag adds tags).
    let p = s.patch(id, json!({"tags": {"b": "2"}})).await;
    assert_eq!(p["tags"], json!({"a": "1", "b": "2"}));
    // An empty body is a heartbeat: only `updated` moves.
    let resp = s.req(Method::PATCH, &s.task_url(id)).send().await.unwrap();
    let beat = expect(resp, 200).await;
    assert!(beat["updated"].as_str() >= p["updated"].as_str());
    assert_eq!(beat["tags"], p["tags"]);
    // Not-nullable fields refuse null.
    let resp = s
        .req(Method::PATCH, &s.task_url(id))
        .json(&json!({"name": null}))
        .send()
        .await
        .unwrap();
    let body = expect_error(resp, 400, "validation_error", "null").await;
    assert_eq!(body["errors"][0]["attr"], "name");
}

async fn put_replaces_fields(backend: Backend) {
    let s = Server::start(backend).await;
    let t = s
        .create(json!({"name": "p", "data": {"a": 1}, "queue": "q", "tags": {"a": "1"}, "value_max": 10}))
        .await;
    let id = t["id"].as_str().unwrap();
    let resp = s
        .req(Method::PUT, &s.task_url(id))
        .json(&json!({"name": "renamed", "status": "processing", "value": 3}))
        .send()
        .await
        .unwrap();
    let p = expect(resp, 200).await;
    assert_eq!(p["name"], "renamed");
    assert_eq!(p["data"], json!(null));
    assert_eq!(p["queue"], json!(null));
    assert_eq!(p["tags"], json!({}));
    assert_eq!(p["value_max"], 100);
    assert_eq!(p["created"], t["created"]);
    let resp = s
        .req(Method::PUT, &s.task_url(id))
        .json(&json!({"status": "success"}))
        .send()
        .await
        .unwrap();
    let body = expect_error(resp, 400, "validation_error", "required").await;
    assert_eq!(body["errors"][0]["attr"], "name");
    assert_eq!(
        s.get_task(id).await["name"],
        "renamed",
        "a rejected PUT changes nothing"
    );
}

async fn delete_cancels_and_keeps_the_task(backend: Backend) {
    let s = Server::start(backend).await;
    let t = s.create(json!({"name": "c", "status": "processing"})).await;
    let id = t["id"].as_str().unwrap();
    let resp = s.req(Method::DELETE, &s.task_url(id)).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 204);
    assert!(resp.text().await.unwrap().is_empty());
    let got = s.get_task(id).await;
    assert_eq!(got["status"], "cancelled");
    assert!(got["end_time"].is_string());
    let resp = s
        .req(Method::DELETE, &s.task_url("01ARZ3NDEKTSV4RRFFQ69G5FAV"))
        .send()
        .await
        .unwrap();
    expect_error(resp, 404, "client_error", "not_found").await;
}

async fn lifecycle_sets_times(backend: Backend) {
    let s = Server::start(backend).await;
    let t = s.create(json!({"name": "l"})).await;
    let id = t["id"].as_str().unwrap();
    assert_eq!(t["start_time"], json!(null));
    let p = s
        .patch(id, json!({"status": "processing", "value": 1}))
        .await;
    let start = p["start_time"]
        .as_str()
        .expect("start_time set on running")
        .to_owned();
    assert!(p["time_to_start"].is_string());
    let p = s.patch(id, json!({"status": "post_processing"})).await;
    assert_eq!(
        p["start_time"], start,
        "start_time is set only the first time"
    );
    assert_eq!(p["end_time"], json!(null));
    let p = s.patch(id, json!({"status": "success"})).await;
    assert!(p["end_time"].is_string());

    let given = s
        .create(
            json!({"name": "g", "status": "processing", "start_time": "2020-01-02T03:04:05Z",
                       "time_to_start": "00:00:02"}),
        )
        .await;
    assert!(
        given["start_time"]
            .as_str()
            .unwrap()
            .starts_with("2020-01-02T03:04:05")
    );
    assert_eq!(given["time_to_start"], "00:00:02");
    let direct = s.create(json!({"name": "d", "status": "error"})).await;
    assert!(direct["end_time"].is_string());
    assert_eq!(direct["start_time"], json!(null));
}

async fn validation_names_each_field(backend: Backend) {
    let s = Server::start(backend).await;
    let resp = s
        .req(Method::POST, &s.tasks_url())
        .json(
            &json!({"name": "", "value": -1, "status": "nope", "max_runtime": 0,
                      "stale_timeout": 2147483648_i64, "tags": {"env": ""},
                      "start_time": "yesterday", "queue": "q".repeat(256),
                      "actions": [{"trigger": "sometimes", "integration": "email"}]}),
        )
        .send()
        .await
        .unwrap();
    let body = expect_error(resp, 400, "validation_error", "blank").await;
    let attrs: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["attr"].as_str().unwrap())
        .collect();
    for attr in [
        "name",
        "value",
        "status",
        "max_runtime",
        "stale_timeout",
        "tags.env",
        "start_time",
        "queue",
        "actions.0.trigger",
        "actions.0.config.to",
    ] {
        assert!(attrs.contains(&attr), "{attr} missing from {body}");
    }
    let list = s.req(Method::GET, &s.tasks_url()).send().await.unwrap();
    assert_eq!(
        expect(list, 200).await["results"],
        json!([]),
        "nothing was created"
    );

    let long = "n".repeat(256);
    let resp = s
        .req(Method::POST, &s.tasks_url())
        .json(&json!({"name": long}))
        .send()
        .await
        .unwrap();
    let body = expect_error(resp, 400, "validation_error", "max_length").await;
    assert_eq!(body["errors"][0]["attr"], "name");
    let resp = s
        .req(Method::POST, &s.tasks_url())
        .json(&json!(["not", "an", "object"]))
        .send()
        .await
        .unwrap();
    expect_error(resp, 400, "validation_error", "invalid").await;
}

async fn parent_rules(backend: Backend) {
    let s = Server::start(backend).await;
    let parent = s.create(json!({"name": "parent"})).await;
    let pid = parent["id"].as_str().unwrap();
    let child = s.create(json!({"name": "child", "parent": pid})).await;
    assert_eq!(child["parent"], pid);
    let cid = child["id"].as_str().unwrap();
    // Two levels deep is refused.
    let resp = s
        .req(Method::POST, &s.tasks_url())
        .json(&json!({"name": "grandchild", "parent": cid}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        expect_error(resp, 400, "validation_error", "invalid").await["errors"][0]["attr"],
        "parent"
    );
    // A parent cannot change once set.
    let other = s.create(json!({"name": "other"})).await;
    let resp = s
        .req(Method::PATCH, &s.task_url(cid))
        .json(&json!({"parent": other["id"]}))
        .send()
        .await
        .unwrap();
    expect_error(resp, 400, "validation_error", "invalid").await;
    // Setting the same parent again is fine.
    s.patch(cid, json!({"parent": pid})).await;
    // A task with children cannot become a child.
    let resp = s
        .req(Method::PATCH, &s.task_url(pid))
        .json(&json!({"parent": other["id"]}))
        .send()
        .await
        .unwrap();
    expect_error(resp, 400, "validation_error", "invalid").await;
    // A parent from another project does not exist here.
    let key = s.create_key("acme", "other");
    let secret_project_task = s
        .raw(Method::POST, &s.url("/api/acme/other/tasks/"))
        .bearer_auth(&key)
        .json(&json!({"name": "elsewhere"}))
        .send()
        .await
        .unwrap();
    let foreign = expect(secret_project_task, 201).await;
    let resp = s
        .req(Method::POST, &s.tasks_url())
        .json(&json!({"name": "x", "parent": foreign["id"]}))
        .send()
        .await
        .unwrap();
    expect_error(resp, 400, "validation_error", "does_not_exist").await;
}

on_both_backends!(
    create_and_get,
    value_max_zero_has_no_percent,
    trailing_slash_is_optional,
    patch_is_partial_and_null_clears,
    put_replaces_fields,
    delete_cancels_and_keeps_the_task,
    lifecycle_sets_times,
    validation_names_each_field,
    parent_rules,
);
