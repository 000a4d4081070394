//! `GET /consent` asks the signed-in user to allow a client the requested scopes;
//! `POST /consent` records the answer and finishes the authorization request.

use axum::extract::State;
use axum::http::Uri;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use serde_json::json;

use crate::domain::ScopeSet;
use crate::error::AppError;
use crate::oidc::{ErrorCode, OAuthError, scopes};
use crate::state::AppState;
use crate::web::csrf::{self, CheckedForm};
use crate::web::oidc::authorize::{issue, load_interaction};
use crate::web::oidc::respond;
use crate::web::pages::login::urlencode;
use crate::web::{form, session};

fn login_again(interaction: &str) -> Response {
    Redirect::to(&format!("/login?interaction={}", urlencode(interaction))).into_response()
}

/// Shows what the client asks for.
pub async fn get(
    State(state): State<AppState>,
    jar: CookieJar,
    uri: Uri,
) -> Result<Response, AppError> {
    let params = form::query(&uri).map_err(AppError::from)?;
    let (row, client, request) = load_interaction(&state, params.get("interaction")).await?;
    let Some(current) = session::current(&state, &jar).await? else {
        return Ok(login_again(&row.id));
    };
    let user = state
        .db
        .find_user(&current.user_id)
        .await?
        .ok_or_else(|| AppError::bad_request("Account not found", "Sign in again."))?;
    let scope_list: Vec<_> = ScopeSet::from_stored(&request.scope)
        .iter()
        .map(|s| json!({ "name": s, "description": scopes::describe(s) }))
        .collect();
    let (jar, csrf_token) = csrf::token(jar, state.config.secure_cookies);
    let page = super::page(
        &state,
        "consent.html",
        json!({
            "csrf_token": csrf_token,
            "interaction": row.id,
            "client_name": client.name,
            "username": user.username,
            "scopes": scope_list,
        }),
    )?;
    Ok((jar, page).into_response())
}

/// Records approval (and issues the code) or denial (`access_denied`).
pub async fn post(
    State(state): State<AppState>,
    jar: CookieJar,
    CheckedForm(params): CheckedForm,
) -> Result<Response, AppError> {
    let (row, client, request) = load_interaction(&state, params.get("interaction")).await?;
    let Some(current) = session::current(&state, &jar).await? else {
        return Ok(login_again(&row.id));
    };
    match params.get("decision") {
        Some("approve") => {
            // Consent accumulates: allowing new scopes keeps what was allowed before.
            let before = state.db.find_consent(&current.user_id, &client.id).await?;
            let allowed = ScopeSet::from_stored(before.as_deref().unwrap_or_default())
                .union(&ScopeSet::from_stored(&request.scope));
            state
                .db
                .save_consent(
                    &current.user_id,
                    &client.id,
                    &allowed.to_string(),
                    state.clock.now(),
                )
                .await?;
            tracing::info!(user_id = %current.user_id, client_id = %client.id, scope = %request.scope, "consent given");
            issue(&state, &request, &current, Some(&row.id)).await
        }
        Some("deny") => {
            state.db.delete_interaction(&row.id).await?;
            tracing::info!(user_id = %current.user_id, client_id = %client.id, "consent denied");
            let error = OAuthError::new(ErrorCode::AccessDenied, "the user denied the request");
            respond::authorization_response(&state, &request.target, Err(&error))
        }
        _ => Err(AppError::bad_request(
            "Choose Allow or Deny",
            "The form was submitted without a decision.",
        )),
    }
}
