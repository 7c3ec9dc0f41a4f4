//! The outermost middleware: request ids, the Accept check, logging, and turning every error
//! (poem's, poem-openapi's or ours) into the documented JSON body.

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use poem::error::{MethodNotAllowedError, NotFoundError, ReadBodyError};
use poem::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use poem::{Body, Endpoint, IntoResponse, Request, Response};
use poem_openapi::error::{ContentTypeError, ParseParamError, ParsePathError};
use tokio::io::{AsyncRead, AsyncReadExt, ReadBuf};
use tracing::Instrument;

use super::error::{ApiError, ErrorCause};

const REQUEST_ID: &str = "x-request-id";

/// Whether the Accept header admits JSON (absent, `*/*`, `application/*`, `application/json`,
/// with any parameters; a range with `q=0` does not count).
pub fn accepts_json(headers: &HeaderMap) -> bool {
    let values: Vec<&str> = headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    if values.is_empty() {
        return true;
    }
    values
        .iter()
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|range| !range.is_empty())
        .any(|range| {
            let Ok(mime) = range.parse::<mime::Mime>() else {
                return false;
            };
            let q_zero = mime
                .get_param("q")
                .and_then(|q| q.as_str().parse::<f32>().ok())
                .is_some_and(|q| q <= 0.0);
            let matches = matches!(
                (mime.type_(), mime.subtype()),
                (mime::STAR, mime::STAR)
                    | (mime::APPLICATION, mime::STAR)
                    | (mime::APPLICATION, mime::JSON)
            );
            matches && !q_zero
        })
}

/// The methods a path of the API answers, for the `Allow` header of a 405.
fn allowed_methods(path: &str) -> Option<&'static str> {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    match segments.as_slice() {
        ["api", _, _, "tasks"] | ["api", _, _, "tasks", _, "actions"] => Some("GET, POST"),
        ["api", _, _, "tasks", _] | ["api", _, _, "tasks", _, "actions", _] => {
            Some("GET, PUT, PATCH, DELETE")
        }
        _ => None,
    }
}

/// Maps an error that is not already one of ours to the documented body.
fn error_response(err: poem::Error, method: &Method, path: &str) -> Response {
    if let Some(e) = err.downcast_ref::<ParseParamError>() {
        return ApiError::<()>::field(e.name, "invalid", e.reason.clone()).into_response();
    }
    // A path segment that does not decode (invalid UTF-8 after percent-decoding) names
    // nothing that can exist: the 404 of any unknown id.
    if err.is::<ParsePathError>()
        || err.is::<poem::error::ParsePathError>()
        || err.is::<NotFoundError>()
    {
        return ApiError::<()>::not_found().into_response();
    }
    if let Some(e) = err.downcast_ref::<ContentTypeError>() {
        let ct = match e {
            ContentTypeError::NotSupported { content_type } => content_type.as_str(),
            ContentTypeError::ExpectContentType => "",
        };
        return ApiError::<()>::unsupported_media_type(ct).into_response();
    }
    if err.is::<MethodNotAllowedError>() {
        return ApiError::<()>::method_not_allowed(
            method.as_str(),
            allowed_methods(path).map(str::to_owned),
        )
        .into_response();
    }
    if let Some(ReadBodyError::PayloadTooLarge) = err.downcast_ref::<ReadBodyError>() {
        return ApiError::<()>::payload_too_large(None).into_response();
    }
    let resp = err.into_response();
    if is_json(&resp) {
        return resp;
    }
    let status = resp.status();
    if status.is_server_error() {
        return ApiError::<()>::internal().into_response();
    }
    let code = match status {
        StatusCode::NOT_FOUND => return ApiError::<()>::not_found().into_response(),
        StatusCode::BAD_REQUEST => "parse_error",
        _ => "client_error",
    };
    ApiError::<()>::client(
        status,
        code,
        status.canonical_reason().unwrap_or("Client error."),
    )
    .into_response()
}

fn is_json(resp: &Response) -> bool {
    resp.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/json"))
}

/// Runs a request: assigns its id, checks Accept, logs it, and shapes every error.
/// The request body, shared between the endpoint and this middleware: what an endpoint that
/// refused the request leaves unread is read and discarded here, so that the client's next
/// request on the connection is read from where it starts.
#[derive(Clone)]
struct SharedBody(Arc<Mutex<Pin<Box<dyn AsyncRead + Send>>>>);

impl AsyncRead for SharedBody {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let mut inner = self.0.lock().unwrap_or_else(|e| e.into_inner());
        inner.as_mut().poll_read(cx, buf)
    }
}

/// How long a refused request's body may take to arrive before the connection is closed.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

fn has_body(headers: &HeaderMap) -> bool {
    headers.contains_key(header::TRANSFER_ENCODING)
        || headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim() != "0")
}

/// Reads and discards the rest of a body, up to `limit` bytes; false when it is longer or
/// does not arrive in time (the connection must then close).
async fn drain(rest: SharedBody, limit: usize) -> bool {
    let mut sink = tokio::io::sink();
    let mut rest = rest.take(limit as u64 + 1);
    let copy = tokio::io::copy(&mut rest, &mut sink);
    matches!(tokio::time::timeout(DRAIN_TIMEOUT, copy).await, Ok(Ok(n)) if n <= limit as u64)
}

pub async fn handle<E: Endpoint>(
    next: E,
    req: Request,
    body_limit: usize,
) -> poem::Result<Response> {
    let mut req = req;
    let unread = has_body(req.headers()).then(|| {
        let shared = SharedBody(Arc::new(Mutex::new(Box::pin(
            req.take_body().into_async_read(),
        ))));
        req.set_body(Body::from_async_read(shared.clone()));
        shared
    });
    let request_id = req
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 64)
        .map_or_else(|| ulid::Ulid::new().to_string(), str::to_owned);
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    // A debug-level span: free unless debug logging is on. Failures are logged below with the
    // request id and their cause in one line, whatever the level.
    let span = tracing::debug_span!("request", id = %request_id, method = %method, path = %path);
    let started = Instant::now();
    let mut cause: Option<String> = None;

    let mut resp = async {
        if path.starts_with("/api/")
            && !path.starts_with("/api/docs")
            && !accepts_json(req.headers())
        {
            return ApiError::<()>::not_acceptable().into_response();
        }
        match next.call(req).await {
            Ok(resp) => {
                let resp = resp.into_response();
                if resp.status().is_client_error() && !is_json(&resp) && path.starts_with("/api/") {
                    // A bare status from poem (e.g. a route miss); give it the JSON body.
                    error_response(poem::Error::from_status(resp.status()), &method, &path)
                } else {
                    resp
                }
            }
            Err(err) => {
                if err.status().is_server_error() {
                    cause = Some(err.to_string());
                }
                error_response(err, &method, &path)
            }
        }
    }
    .instrument(span.clone())
    .await;
    if let Some(rest) = unread
        && resp.status().is_client_error()
        && !drain(rest, body_limit).await
    {
        resp.headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }

    let status = resp.status();
    let elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
    if status.is_server_error() {
        let cause = resp
            .extensions_mut()
            .remove::<ErrorCause>()
            .map(|c| c.0)
            .or(cause)
            .unwrap_or_default();
        tracing::error!(
            request_id = %request_id,
            method = %method,
            path = %path,
            status = status.as_u16(),
            elapsed_ms,
            cause = %cause,
            "request failed"
        );
    } else {
        span.in_scope(|| tracing::debug!(status = status.as_u16(), elapsed_ms, "request"));
    }
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        resp.headers_mut().insert(REQUEST_ID, value);
    }
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(v: &str) -> bool {
        let mut h = HeaderMap::new();
        h.insert(header::ACCEPT, HeaderValue::from_str(v).unwrap());
        accepts_json(&h)
    }

    #[test]
    fn accept_header() {
        assert!(accepts_json(&HeaderMap::new()));
        for ok in [
            "*/*",
            "application/*",
            "application/json",
            "application/json; charset=utf-8",
            "text/html, application/json;q=0.9",
            "text/html;q=1, */*;q=0.1",
        ] {
            assert!(accept(ok), "{ok}");
        }
        for bad in [
            "text/html",
            "application/xml",
            "application/json;q=0",
            "garbage",
        ] {
            assert!(!accept(bad), "{bad}");
        }
    }

    #[test]
    fn allow_lists() {
        assert_eq!(allowed_methods("/api/o/p/tasks"), Some("GET, POST"));
        assert_eq!(
            allowed_methods("/api/o/p/tasks/x/actions/1"),
            Some("GET, PUT, PATCH, DELETE")
        );
        assert_eq!(allowed_methods("/nope"), None);
    }
}
