//! `GET|POST /authorize` (RFC 6749 §4.1.1, OpenID Connect Core §3.1.2) and
//! `GET /authorize/resume`, where a parked request continues after login. The decisions are
//! the authorization use cases'; this module turns their outcome into a page or a redirect.

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;

use super::respond;
use crate::error::AppError;
use crate::oidc::{ErrorCode, OAuthError};
use crate::services::authorization::{AuthorizeOutcome, InteractionPage};
use crate::state::AppState;
use crate::web::{form, session, urlencode};

/// An authorization request whose client cannot be trusted: a page, never a redirect.
fn untrusted(error: OAuthError) -> AppError {
    match error.code {
        ErrorCode::TemporarilyUnavailable | ErrorCode::ServerError => error.into(),
        _ => AppError::BadRequest {
            title: "This sign-in request is not valid".into(),
            message: format!(
                "{}. The application that sent you here may be misconfigured; Tessera did not send you back to it.",
                crate::error::sentence(&error.description)
            ),
            code: Some(error.code.as_str().into()),
        },
    }
}

/// The page for a parked request that is gone.
pub fn expired() -> AppError {
    AppError::bad_request(
        "This sign-in request has expired",
        "Go back to the application you came from and start signing in again.",
    )
}

/// `GET /authorize`.
pub async fn get(
    State(state): State<AppState>,
    jar: CookieJar,
    uri: Uri,
) -> Result<Response, AppError> {
    let params = form::query(&uri).map_err(untrusted)?;
    let session = session::current(&state, &jar).await?;
    let outcome = state.services.authorize(&params, session).await?;
    answer(&state, outcome)
}

/// `POST /authorize` (OpenID Connect Core §3.1.2.1 allows form posts).
pub async fn post(
    State(state): State<AppState>,
    jar: CookieJar,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, AppError> {
    let params = form::body(&headers, body).await.map_err(untrusted)?;
    let session = session::current(&state, &jar).await?;
    let outcome = state.services.authorize(&params, session).await?;
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

/// Renders what the use case decided: an error page, the response to the client, or the
/// page the user must see.
pub fn answer(state: &AppState, outcome: AuthorizeOutcome) -> Result<Response, AppError> {
    match outcome {
        AuthorizeOutcome::Untrusted(error) => Err(untrusted(error)),
        AuthorizeOutcome::Respond { target, result } => {
            respond::authorization_response(state, &target, result.as_deref())
        }
        AuthorizeOutcome::Interact { page, interaction } => {
            let path = match page {
                InteractionPage::Login => "/login",
                InteractionPage::Consent => "/consent",
            };
            Ok(
                Redirect::to(&format!("{path}?interaction={}", urlencode(&interaction)))
                    .into_response(),
            )
        }
    }
}
