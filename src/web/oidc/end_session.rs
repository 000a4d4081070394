//! RP-Initiated Logout 1.0: `GET|POST /end-session` and the confirmation form. With an
//! `id_token_hint` naming the current session the user is signed out at once; otherwise
//! they are asked first. Afterwards they go to the registered post-logout URI, or see a page.

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use serde_json::json;

use crate::error::AppError;
use crate::oidc::end_session::EndSessionRequest;
use crate::oidc::params::Params;
use crate::services::Caller;
use crate::services::sessions::SignOutBy;
use crate::state::AppState;
use crate::web::csrf::{self, CheckedForm};
use crate::web::html::page;
use crate::web::{form, session};

/// Parameters carried from the request to the confirmation form.
const CARRIED: [&str; 4] = [
    "id_token_hint",
    "client_id",
    "post_logout_redirect_uri",
    "state",
];

/// `GET /end-session`.
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    jar: CookieJar,
    uri: Uri,
) -> Result<Response, AppError> {
    let params = form::query(&uri).map_err(AppError::from)?;
    handle(&state, &caller, jar, params).await
}

/// `POST /end-session`.
pub async fn post(
    State(state): State<AppState>,
    caller: Caller,
    jar: CookieJar,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, AppError> {
    let params = form::body(&headers, body).await.map_err(AppError::from)?;
    handle(&state, &caller, jar, params).await
}

async fn validated(state: &AppState, params: &Params) -> Result<EndSessionRequest, AppError> {
    state
        .services
        .check_end_session(params)
        .await
        .map_err(|e| match e.code {
            crate::oidc::ErrorCode::InvalidRequest => AppError::BadRequest {
                title: "This sign-out request is not valid".into(),
                message: format!(
                    "{}. You are still signed in.",
                    crate::error::sentence(&e.description)
                ),
                code: Some(e.code.as_str().into()),
            },
            _ => e.into(),
        })
}

async fn handle(
    state: &AppState,
    caller: &Caller,
    jar: CookieJar,
    params: Params,
) -> Result<Response, AppError> {
    let request = validated(state, &params).await?;
    let Some(current) = session::current(state, &jar).await? else {
        return finish(state, jar, &request);
    };
    if request.hint_matches(&current.user_id, &current.id) {
        state
            .services
            .sign_out(
                caller,
                &current,
                SignOutBy::Application,
                request.client_id.as_deref(),
            )
            .await?;
        return finish(state, session::clear(state, jar), &request);
    }
    let (jar, csrf_token) = csrf::token(jar, &state.csrf);
    let fields: Vec<_> = CARRIED
        .iter()
        .filter_map(|name| {
            params
                .get(name)
                .map(|value| json!({ "name": name, "value": value }))
        })
        .collect();
    let confirm = page(
        state,
        "end_session.html",
        json!({ "csrf_token": csrf_token, "client_name": request.client_name, "fields": fields }),
    )?;
    Ok((jar, confirm).into_response())
}

/// `POST /end-session/confirm`: the user's answer.
pub async fn confirm(
    State(state): State<AppState>,
    caller: Caller,
    jar: CookieJar,
    CheckedForm(params): CheckedForm,
) -> Result<Response, AppError> {
    let request = validated(&state, &params).await?;
    if params.get("decision") != Some("logout") {
        return Ok(Redirect::to("/account").into_response());
    }
    if let Some(current) = session::current(&state, &jar).await? {
        state
            .services
            .sign_out(
                &caller,
                &current,
                SignOutBy::Application,
                request.client_id.as_deref(),
            )
            .await?;
    }
    finish(&state, session::clear(&state, jar), &request)
}

fn finish(
    state: &AppState,
    jar: CookieJar,
    request: &EndSessionRequest,
) -> Result<Response, AppError> {
    if let Some(target) = request.redirect_target() {
        return Ok((jar, Redirect::to(&target)).into_response());
    }
    let done = page(
        state,
        "signed_out.html",
        json!({ "message": "You have signed out of Tessera.", "link": { "href": "/login", "text": "Sign in again" } }),
    )?;
    Ok((jar, done).into_response())
}
