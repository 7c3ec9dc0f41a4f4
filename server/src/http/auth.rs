//! `Authorized`: the extractor that authenticates a request against the project in its URL
//! and applies the per-key rate limit. Handlers that take it never run unauthenticated.

use poem::http::header;
use poem::{FromRequest, Request, RequestBody};

use super::AppState;
use super::error::ApiError;
use crate::domain::auth::{self, ProjectScope};

pub struct Authorized(pub ProjectScope);

impl<'a> FromRequest<'a> for Authorized {
    async fn from_request(req: &'a Request, _body: &mut RequestBody) -> poem::Result<Self> {
        let state = req
            .data::<AppState>()
            .ok_or_else(|| poem::Error::from(ApiError::<()>::internal()))?;
        let token = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                let (scheme, token) = v.trim().split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
            });
        // Every operation's path starts `/api/{organization_slug}/{project_slug}/`. (The
        // router's own parameter names are positional, so read the URL itself.)
        let mut segments = req.uri().path().split('/').skip(2);
        let org = segments.next().unwrap_or_default();
        let project = segments.next().unwrap_or_default();
        let scope = auth::authorize(&state.store, &state.keys, token, org, project)
            .await
            .map_err(ApiError::<()>::from)?;
        if let Some(limiter) = &state.limiter
            && let Err(not_until) = limiter.check_key(&scope.key_id)
        {
            let wait = not_until.wait_time_from(governor::clock::Clock::now(
                &governor::clock::DefaultClock::default(),
            ));
            return Err(ApiError::<()>::throttled(wait.as_secs().max(1)).into());
        }
        Ok(Authorized(scope))
    }
}
