//! Keys and tenancy.

use reqwest::Method;
use serde_json::json;

use crate::on_both_backends;
use crate::support::{Backend, Server, expect, expect_error};

fn secret_of(key: &str) -> String {
    use base64::Engine;
    let raw = base64::engine::general_purpose::STANDARD
        .decode(key)
        .unwrap();
    String::from_utf8(raw)
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_owned()
}

async fn credentials(backend: Backend) {
    let s = Server::start(backend).await;
    let url = s.tasks_url();
    let resp = s.raw(Method::GET, &url).send().await.unwrap();
    let body = expect_error(resp, 401, "client_error", "not_authenticated").await;
    assert_eq!(
        body,
        json!({"type": "client_error", "errors": [{"code": "not_authenticated",
               "detail": "Authentication credentials were not provided.", "attr": null}]})
    );
    let resp = s
        .raw(Method::GET, &url)
        .bearer_auth("wrong")
        .send()
        .await
        .unwrap();
    let body = expect_error(resp, 401, "client_error", "authentication_failed").await;
    assert_eq!(
        body["errors"][0]["detail"],
        "Incorrect authentication credentials."
    );
    // The whole key and its secret part (what the official SDK sends) both work.
    for token in [s.key.clone(), secret_of(&s.key)] {
        let resp = s
            .raw(Method::GET, &url)
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        expect(resp, 200).await;
    }
    // A failed request writes nothing.
    let resp = s
        .raw(Method::POST, &url)
        .bearer_auth("wrong")
        .json(&json!({"name": "x"}))
        .send()
        .await
        .unwrap();
    expect_error(resp, 401, "client_error", "authentication_failed").await;
    let resp = s.req(Method::GET, &url).send().await.unwrap();
    assert_eq!(expect(resp, 200).await["results"], json!([]));
}

async fn tenancy(backend: Backend) {
    let s = Server::start(backend).await;
    let other_key = s.create_key("acme", "billing");
    let mine = s.create(json!({"name": "mine"})).await;
    let id = mine["id"].as_str().unwrap();
    // Another project's key on this project's URL: 403.
    let resp = s
        .raw(Method::GET, &s.tasks_url())
        .bearer_auth(&other_key)
        .send()
        .await
        .unwrap();
    expect_error(resp, 403, "client_error", "permission_denied").await;
    // On its own URL, this project's task id is unknown: 404.
    let resp = s
        .raw(
            Method::GET,
            &s.url(&format!("/api/acme/billing/tasks/{id}/")),
        )
        .bearer_auth(&other_key)
        .send()
        .await
        .unwrap();
    expect_error(resp, 404, "client_error", "not_found").await;
    let resp = s
        .raw(Method::GET, &s.url("/api/acme/billing/tasks/"))
        .bearer_auth(&other_key)
        .send()
        .await
        .unwrap();
    assert_eq!(expect(resp, 200).await["results"], json!([]));
}

/// The id of the key of `project` in a `list-keys` listing.
fn key_id_of(listing: &str, project: &str) -> String {
    listing
        .lines()
        .find(|l| l.contains(&format!(" {project} ")))
        .and_then(|l| l.split_whitespace().next())
        .unwrap()
        .to_owned()
}

async fn admin_keys(backend: Backend) {
    // Without the key cache a revocation takes effect at once (with it, within its lifetime).
    let s = Server::start_with_env(backend, &[("RATEL_KEY_CACHE_SECS", "0")]).await;
    let key = s.create_key("acme", "ops");
    let (ok, listing) = s.admin(&["list-keys"]);
    assert!(ok);
    assert!(listing.contains("acme") && listing.contains("ops"));
    assert!(
        !listing.contains(&secret_of(&key)),
        "list-keys never shows a secret"
    );
    let id = key_id_of(&listing, "ops");
    let url = s.url("/api/acme/ops/tasks/");
    let resp = s
        .raw(Method::GET, &url)
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    expect(resp, 200).await;
    assert!(s.admin(&["revoke-key", &id]).0);
    let resp = s
        .raw(Method::GET, &url)
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    expect_error(resp, 401, "client_error", "authentication_failed").await;
    assert!(!s.admin(&["revoke-key", &id]).0, "revoking twice fails");
    let (ok, _) = s.admin(&["create-key", "--org", "Bad_Slug", "--project", "x"]);
    assert!(!ok, "invalid slugs are refused");
}

/// With the key cache on (its default 5 s), a key revoked by `admin revoke-key` from another
/// process stops working within a second.
async fn revocation_beats_the_key_cache(backend: Backend) {
    let s = Server::start(backend).await;
    let key = s.create_key("acme", "ops");
    let id = key_id_of(&s.admin(&["list-keys"]).1, "ops");
    let url = s.url("/api/acme/ops/tasks/");
    let get = || s.raw(Method::GET, &url).bearer_auth(&key).send();
    // Used twice: the second request is served from the cache.
    expect(get().await.unwrap(), 200).await;
    expect(get().await.unwrap(), 200).await;
    assert!(s.admin(&["revoke-key", &id]).0);
    let revoked = std::time::Instant::now();
    loop {
        let status = get().await.unwrap().status().as_u16();
        if status == 401 {
            break;
        }
        assert_eq!(status, 200);
        assert!(
            revoked.elapsed() < std::time::Duration::from_secs(1),
            "the revoked key still worked after a second"
        );
        tokio::task::yield_now().await;
    }
    // Other keys keep working.
    expect(
        s.req(Method::GET, &s.tasks_url()).send().await.unwrap(),
        200,
    )
    .await;
}

async fn rate_limit(backend: Backend) {
    let s = Server::start_with(backend, &["--rate-limit", "1"]).await;
    let url = s.tasks_url();
    let first = s.req(Method::GET, &url).send().await.unwrap();
    expect(first, 200).await;
    // One request per second: a quick burst is throttled (a few tries, in case the machine
    // stalls for a second between two of them).
    let mut second = s.req(Method::GET, &url).send().await.unwrap();
    for _ in 0..20 {
        if second.status().as_u16() == 429 {
            break;
        }
        second = s.req(Method::GET, &url).send().await.unwrap();
    }
    let retry_after: u64 = second.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry_after >= 1);
    expect_error(second, 429, "client_error", "throttled").await;
}

on_both_backends!(
    credentials,
    tenancy,
    admin_keys,
    rate_limit,
    revocation_beats_the_key_cache
);
