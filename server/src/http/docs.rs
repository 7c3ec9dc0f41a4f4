//! The routes beside the API: the canonical document (JSON and YAML), Swagger UI over it, and
//! the health probes.

use std::sync::{Arc, LazyLock};

use poem::http::StatusCode;
use poem::web::{Data, Path, Redirect};
use poem::{Endpoint, IntoResponse, Response, Route, get, handler};

use super::AppState;
use super::error::ApiError;

/// The canonical contract, compiled into the binary.
pub const OPENAPI_YAML: &str = include_str!("../../../openapi.yaml");

static OPENAPI_JSON: LazyLock<String> = LazyLock::new(|| {
    let doc: serde_json::Value =
        serde_norway::from_str(OPENAPI_YAML).expect("openapi.yaml is valid YAML (tested)");
    serde_json::to_string(&doc).expect("a JSON value serialises")
});

#[handler]
pub fn schema_json() -> Response {
    Response::builder()
        .content_type("application/json")
        .body(OPENAPI_JSON.as_str())
}

#[handler]
pub fn schema_yaml() -> Response {
    Response::builder()
        .content_type("application/yaml")
        .body(OPENAPI_YAML)
}

#[handler]
pub fn healthz() -> &'static str {
    "ok"
}

#[handler]
pub async fn readyz(state: Data<&AppState>) -> Response {
    match state.store.ping().await {
        Ok(()) => "ready".into_response(),
        Err(err) => {
            tracing::warn!(error = %err, "readiness check failed");
            ApiError::<()>::unavailable().into_response()
        }
    }
}

static SWAGGER_CONFIG: LazyLock<Arc<utoipa_swagger_ui::Config<'static>>> =
    LazyLock::new(|| Arc::new(utoipa_swagger_ui::Config::new(["/api/schema.json"])));

/// One Swagger UI asset (`index.html`, `swagger-initializer.js` pointing at the canonical
/// document, ...), served from the vendored distribution.
#[handler]
fn swagger_file(Path(path): Path<String>) -> Response {
    match utoipa_swagger_ui::serve(&path, SWAGGER_CONFIG.clone()) {
        Ok(Some(file)) => {
            let mut resp = Response::builder()
                .content_type(file.content_type)
                .body(file.bytes.into_owned());
            if file.gzpipped {
                resp.headers_mut().insert(
                    poem::http::header::CONTENT_ENCODING,
                    poem::http::HeaderValue::from_static("gzip"),
                );
            }
            resp
        }
        Ok(None) => StatusCode::NOT_FOUND.into_response(),
        Err(err) => {
            tracing::error!(error = %err, "swagger ui asset");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

#[handler]
fn swagger_redirect() -> Redirect {
    Redirect::see_other("/api/docs/index.html")
}

/// Swagger UI under `/api/docs/`.
pub fn swagger_ui() -> impl Endpoint {
    Route::new()
        .at("/", get(swagger_redirect))
        .at("/*path", get(swagger_file))
}
