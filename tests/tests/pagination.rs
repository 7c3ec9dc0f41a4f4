//! Cursor pagination and list filters.

use std::collections::HashSet;

use reqwest::Method;
use serde_json::{Value, json};

use crate::on_both_backends;
use crate::support::{Backend, Server, expect, expect_error};

async fn page(s: &Server, url: &str) -> Value {
    let resp = s.req(Method::GET, url).send().await.unwrap();
    expect(resp, 200).await
}

fn ids(page: &Value) -> Vec<String> {
    page["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap().to_owned())
        .collect()
}

async fn walk_is_stable_under_inserts(backend: Backend) {
    let s = Server::start(backend).await;
    let mut created = Vec::new();
    for i in 0..25 {
        created.push(
            s.create(json!({"name": format!("t{i}")})).await["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    let first = page(&s, &format!("{}?page_size=10", s.tasks_url())).await;
    assert_eq!(first["previous"], json!(null));
    let mut pages = vec![first.clone()];
    let mut seen: Vec<String> = ids(&first);
    let mut next = first["next"].as_str().map(str::to_owned);
    while let Some(url) = next {
        assert!(url.starts_with(&s.base), "next is a full URL: {url}");
        // Tasks created during the walk neither shift nor join it.
        s.create(json!({"name": "during the walk"})).await;
        let p = page(&s, &url).await;
        seen.extend(ids(&p));
        next = p["next"].as_str().map(str::to_owned);
        pages.push(p);
    }
    assert_eq!(pages.len(), 3);
    let mut expected = created.clone();
    expected.reverse();
    assert_eq!(seen, expected, "newest first, nothing repeated or skipped");
    // Walking back with `previous` returns the same pages.
    let mut back = pages.last().unwrap()["previous"]
        .as_str()
        .map(str::to_owned);
    let mut index = pages.len() - 1;
    while let Some(url) = back {
        index -= 1;
        let p = page(&s, &url).await;
        assert_eq!(ids(&p), ids(&pages[index]), "page {index}");
        back = p["previous"].as_str().map(str::to_owned);
    }
    assert_eq!(index, 0);
}

async fn page_size_and_cursor_errors(backend: Backend) {
    let s = Server::start(backend).await;
    for _ in 0..3 {
        s.create(json!({"name": "x"})).await;
    }
    let p = page(&s, &s.tasks_url()).await;
    assert_eq!(ids(&p).len(), 3);
    assert_eq!(p["next"], json!(null));
    let p = page(&s, &format!("{}?page_size=5000", s.tasks_url())).await;
    assert_eq!(ids(&p).len(), 3);
    let p = page(&s, &format!("{}?page_size=1", s.tasks_url())).await;
    let next = p["next"].as_str().unwrap();
    assert!(next.contains("page_size=1"));
    for bad in ["garbage", "bzAxLnh4", "", "%00"] {
        let resp = s
            .req(Method::GET, &format!("{}?cursor={bad}", s.tasks_url()))
            .send()
            .await
            .unwrap();
        if bad.is_empty() {
            expect(resp, 200).await;
            continue;
        }
        let body = expect_error(resp, 404, "client_error", "not_found").await;
        assert_eq!(body["errors"][0]["detail"], "Invalid cursor.");
    }
}

async fn filters(backend: Backend) {
    let s = Server::start(backend).await;
    let a = s.create(json!({"name": "alpha", "status": "processing", "tags": {"env": "prod"}, "external_id": "e-1"})).await;
    let b = s
        .create(json!({"name": "beta", "status": "error", "tags": {"env": "dev"}}))
        .await;
    let child = s.create(json!({"name": "alpha", "parent": a["id"]})).await;
    let id = |v: &Value| v["id"].as_str().unwrap().to_owned();
    let list = |q: String| {
        let s = &s;
        async move { ids(&page(s, &format!("{}?{q}", s.tasks_url())).await) }
    };
    assert_eq!(list("status=processing".into()).await, vec![id(&a)]);
    let both: HashSet<String> = list("status=processing&status=error".into())
        .await
        .into_iter()
        .collect();
    assert_eq!(both, HashSet::from([id(&a), id(&b)]));
    assert_eq!(list("name=alpha".into()).await, vec![id(&child), id(&a)]);
    assert_eq!(list("external_id=e-1".into()).await, vec![id(&a)]);
    assert_eq!(list("tag=env:dev".into()).await, vec![id(&b)]);
    assert_eq!(list("tag=env:prod&name=alpha".into()).await, vec![id(&a)]);
    assert_eq!(list(format!("parent={}", id(&a))).await, vec![id(&child)]);
    let created_b = b["created"].as_str().unwrap();
    let enc = |t: &str| t.replace('+', "%2B");
    assert_eq!(
        list(format!("created_after={}", enc(created_b))).await,
        vec![id(&child), id(&b)]
    );
    assert_eq!(
        list(format!("created_before={}", enc(created_b))).await,
        vec![id(&a)]
    );
    let resp = s
        .req(Method::GET, &format!("{}?tag=novalue", s.tasks_url()))
        .send()
        .await
        .unwrap();
    let body = expect_error(resp, 400, "validation_error", "invalid").await;
    assert_eq!(body["errors"][0]["attr"], "tag");
}

on_both_backends!(
    walk_is_stable_under_inserts,
    page_size_and_cursor_errors,
    filters
);
