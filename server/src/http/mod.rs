//! The HTTP layer: poem-openapi operations, the request-body and auth extractors, the error
//! body, and the plain routes beside the API (docs, schema, health).

pub mod actions;
pub mod auth;
pub mod body;
pub mod deliveries;
pub mod docs;
pub mod error;
pub mod json;
pub mod middleware;
pub mod models;
pub mod monitors;
pub mod present;
pub mod project_actions;
mod strict_json;
pub mod tags;
pub mod tasks;
pub mod webhooks;

use std::sync::Arc;

use governor::DefaultKeyedRateLimiter;
use poem::middleware::{NormalizePath, TrailingSlash};
use poem::{Endpoint, EndpointExt, Route, get};
use poem_openapi::OpenApiService;

use crate::domain::auth::{KeyCache, ProjectScope};
use crate::storage::Store;
use crate::storage::tasks::TaskFilter;

/// What every handler can reach (poem `Data`). Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    /// Base of `url`, `public_url` and pagination links, without a trailing slash.
    pub public_url: String,
    pub body_limit: usize,
    /// Recently authenticated keys.
    pub keys: KeyCache,
    pub limiter: Option<Arc<DefaultKeyedRateLimiter<i64>>>,
    /// The API document as served (`servers` = `public_url`).
    pub schema: Arc<docs::ServedSchema>,
}

impl AppState {
    /// A full URL of a list page with the same filters and page size.
    fn page_url(
        &self,
        scope: &ProjectScope,
        filter: &TaskFilter,
        page_size: u64,
        cursor: &str,
    ) -> String {
        let base = format!(
            "{}/api/{}/{}/tasks/",
            self.public_url, scope.organization, scope.project
        );
        let mut url = url::Url::parse(&base)
            .unwrap_or_else(|_| url::Url::parse("http://invalid/").expect("static URL parses"));
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("cursor", cursor);
            q.append_pair("page_size", &page_size.to_string());
            for status in &filter.statuses {
                q.append_pair("status", status);
            }
            for (key, value) in [
                ("name", &filter.name),
                ("parent", &filter.parent),
                ("external_id", &filter.external_id),
            ] {
                if let Some(value) = value {
                    q.append_pair(key, value);
                }
            }
            for (ns, value) in &filter.tags {
                q.append_pair("tag", &format!("{ns}:{value}"));
            }
            for (key, value) in [
                ("created_after", filter.created_after),
                ("created_before", filter.created_before),
            ] {
                if let Some(value) = value {
                    q.append_pair(
                        key,
                        &value.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
                    );
                }
            }
        }
        url.into()
    }
}

/// The poem-openapi service holding every operation of the canonical spec.
pub type Apis = (
    tasks::TaskApi,
    actions::ActionApi,
    webhooks::WebhookApi,
    project_actions::ProjectActionApi,
    monitors::MonitorApi,
    deliveries::DeliveryApi,
);

pub fn api_service() -> OpenApiService<Apis, ()> {
    OpenApiService::new(
        (
            tasks::TaskApi,
            actions::ActionApi,
            webhooks::WebhookApi,
            project_actions::ProjectActionApi,
            monitors::MonitorApi,
            deliveries::DeliveryApi,
        ),
        "Ratel API",
        "0.1",
    )
}

/// The whole application: API, docs, health, with the middleware stack.
pub fn app(state: AppState) -> impl Endpoint {
    let api = api_service();
    let body_limit = state.body_limit;
    Route::new()
        .nest("/api/docs", docs::swagger_ui())
        .at("/api/schema.json", get(docs::schema_json))
        .at("/api/schema.yaml", get(docs::schema_yaml))
        .at("/healthz", get(docs::healthz))
        .at("/readyz", get(docs::readyz))
        .nest("/", api)
        .with(NormalizePath::new(TrailingSlash::Trim))
        .data(state)
        .around(move |next, req| middleware::handle(next, req, body_limit))
}
