//! `JsonBody<T>`: the request-body extractor of every write operation.
//!
//! It documents the body with `T`'s schema, checks the content type and the size limit, and
//! parses the bytes as strict JSON (`strict_json`: no duplicate keys); the domain then reads the fields (so errors name them). A `PATCH`
//! body is optional (`REQUIRED = false`): an empty body is an empty update.

use std::marker::PhantomData;

use poem::{Request, RequestBody};
use poem_openapi::registry::{MetaMediaType, MetaRequest, Registry};
use poem_openapi::types::Type;
use poem_openapi::{ApiExtractor, ApiExtractorType, ExtractParamOptions};
use serde_json::Value;

use super::AppState;
use super::error::ApiError;

pub struct JsonBody<T, const REQUIRED: bool = true> {
    /// `None` only for an optional body that was empty.
    pub value: Option<Value>,
    _schema: PhantomData<fn() -> T>,
}

fn is_json(content_type: &str) -> bool {
    content_type.parse::<mime::Mime>().is_ok_and(|m| {
        m.type_() == mime::APPLICATION
            && (m.subtype() == mime::JSON || m.suffix() == Some(mime::JSON))
    })
}

impl<'a, T: Type, const REQUIRED: bool> ApiExtractor<'a> for JsonBody<T, REQUIRED> {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::RequestObject];

    type ParamType = ();
    type ParamRawType = ();

    fn register(registry: &mut Registry) {
        T::register(registry);
    }

    fn request_meta() -> Option<MetaRequest> {
        Some(MetaRequest {
            description: None,
            content: vec![MetaMediaType {
                content_type: "application/json",
                schema: T::schema_ref(),
            }],
            required: REQUIRED,
        })
    }

    async fn from_request(
        request: &'a Request,
        body: &mut RequestBody,
        _param_opts: ExtractParamOptions<Self::ParamType>,
    ) -> poem::Result<Self> {
        let limit = request
            .data::<AppState>()
            .map_or(1024 * 1024, |state| state.body_limit);
        let bytes = body
            .take()?
            .into_bytes_limit(limit)
            .await
            .map_err(|err| match err {
                poem::error::ReadBodyError::PayloadTooLarge => {
                    ApiError::<()>::payload_too_large(Some(limit))
                }
                other => ApiError::parse_error(format!("Could not read the body: {other}")),
            })?;
        if bytes.is_empty() && !REQUIRED {
            return Ok(Self {
                value: None,
                _schema: PhantomData,
            });
        }
        match request.content_type() {
            Some(ct) if is_json(ct) => {}
            Some(ct) => return Err(ApiError::<()>::unsupported_media_type(ct).into()),
            None => return Err(ApiError::<()>::unsupported_media_type("").into()),
        }
        let value = super::strict_json::parse(&bytes)
            .map_err(|err| ApiError::<()>::parse_error(format!("JSON parse error - {err}")))?;
        Ok(Self {
            value: Some(value),
            _schema: PhantomData,
        })
    }
}

impl<T, const R: bool> JsonBody<T, R> {
    /// The body of a required payload.
    pub fn json(&self) -> &Value {
        self.value.as_ref().unwrap_or(&Value::Null)
    }
}
