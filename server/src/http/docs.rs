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

/// The document as this server serves it: the canonical contract with `servers` naming the
/// configured public URL, so that Swagger UI's "Try it out" reaches this server wherever it
/// is deployed (the canonical file keeps its local default). Built once at start.
pub struct ServedSchema {
    json: String,
    yaml: String,
}

impl ServedSchema {
    pub fn new(public_url: &str) -> Self {
        let mut doc: serde_json::Value =
            serde_norway::from_str(OPENAPI_YAML).expect("openapi.yaml is valid YAML (tested)");
        doc["servers"] = serde_json::json!([{
            "url": public_url,
            "description": "This Ratel server",
        }]);
        // The YAML keeps the canonical text (order, comments) with its `servers` block
        // replaced; a JSON string is a valid YAML scalar.
        let url = serde_json::Value::from(public_url);
        let yaml = OPENAPI_YAML.replacen(
            CANONICAL_SERVERS,
            &format!("servers:\n- url: {url}\n  description: This Ratel server\n"),
            1,
        );
        Self {
            json: serde_json::to_string(&doc).expect("a JSON value serialises"),
            yaml,
        }
    }
}

/// The `servers` block of the canonical file.
const CANONICAL_SERVERS: &str = "servers:\n- url: http://127.0.0.1:8000\n  description: A local Ratel server on its default address\n";

#[handler]
pub fn schema_json(state: Data<&AppState>) -> Response {
    Response::builder()
        .content_type("application/json")
        .body(state.schema.json.clone())
}

#[handler]
pub fn schema_yaml(state: Data<&AppState>) -> Response {
    Response::builder()
        .content_type("application/yaml")
        .body(state.schema.yaml.clone())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn served_documents_name_the_public_url() {
        assert!(OPENAPI_YAML.contains(CANONICAL_SERVERS));
        let served = ServedSchema::new("https://ratel.example.com/base");
        let json: serde_json::Value = serde_json::from_str(&served.json).unwrap();
        let yaml: serde_json::Value = serde_norway::from_str(&served.yaml).unwrap();
        assert_eq!(json, yaml, "both forms hold the same document");
        assert_eq!(
            json["servers"],
            serde_json::json!([{"url": "https://ratel.example.com/base",
                                "description": "This Ratel server"}])
        );
        let mut canonical: serde_json::Value = serde_norway::from_str(OPENAPI_YAML).unwrap();
        canonical["servers"] = json["servers"].clone();
        assert_eq!(json, canonical, "nothing else changes");
    }
}
