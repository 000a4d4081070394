//! `GET|POST /authorize` (RFC 6749 §4.1.1, OpenID Connect Core §3.1.2) and
//! `GET /authorize/resume`, where a parked request continues after login. The decisions are
//! the authorization use cases'; this module turns their outcome into a page or a redirect.

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, Uri};
use axum::response::Response;
use axum_extra::extract::CookieJar;

use crate::error::AppError;
use crate::services::Caller;
use crate::state::AppState;
use crate::web::outcome::{answer, expired, untrusted};
use crate::web::{form, session};

/// `GET /authorize`.
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    jar: CookieJar,
    uri: Uri,
) -> Result<Response, AppError> {
    let params = form::query(&uri).map_err(untrusted)?;
    let session = session::current(&state, &jar).await?;
    let outcome = state.services.authorize(&caller, &params, session).await?;
    answer(&state, outcome)
}

/// `POST /authorize` (OpenID Connect Core §3.1.2.1 allows form posts).
pub async fn post(
    State(state): State<AppState>,
    caller: Caller,
    jar: CookieJar,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, AppError> {
    let params = form::body(&headers, body).await.map_err(untrusted)?;
    let session = session::current(&state, &jar).await?;
    let outcome = state.services.authorize(&caller, &params, session).await?;
    answer(&state, outcome)
}

/// `GET /authorize/resume?interaction=ID`: continues a parked request.
pub async fn resume(
    State(state): State<AppState>,
    jar: CookieJar,
    uri: Uri,
) -> Result<Response, AppError> {
    let params = form::query(&uri).map_err(untrusted)?;
    let id = params.get("interaction").ok_or_else(expired)?;
    let session = session::current(&state, &jar).await?;
    let outcome = state
        .services
        .resume_authorization(id, session)
        .await?
        .ok_or_else(expired)?;
    answer(&state, outcome)
}
