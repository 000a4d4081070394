//! `GET /consent` asks the signed-in user to allow a client the requested scopes;
//! `POST /consent` hands the answer to the consent use case, which records it and runs the
//! authorization decision again before anything is issued.

use axum::extract::State;
use axum::http::Uri;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::CookieJar;
use serde_json::json;

use crate::error::AppError;
use crate::services::Caller;
use crate::state::AppState;
use crate::web::csrf::{self, CheckedForm};
use crate::web::outcome::{answer, expired};
use crate::web::{form, session};

/// Shows the consent page of a parked request.
pub async fn get(
    State(state): State<AppState>,
    jar: CookieJar,
    uri: Uri,
) -> Result<Response, AppError> {
    let params = form::query(&uri).map_err(AppError::from)?;
    let id = params.get("interaction").ok_or_else(expired)?;
    let current = session::current(&state, &jar).await?;
    let prompt = match state
        .services
        .consent_prompt(id, current.as_ref())
        .await?
        .ok_or_else(expired)?
    {
        Ok(prompt) => prompt,
        Err(outcome) => return answer(&state, outcome),
    };
    let scope_list: Vec<_> = prompt
        .scopes
        .iter()
        .map(|(name, description)| json!({ "name": name, "description": description }))
        .collect();
    let (jar, csrf_token) = csrf::token(jar, &state.csrf);
    let page = super::page(
        &state,
        "consent.html",
        json!({
            "csrf_token": csrf_token,
            "interaction": prompt.interaction,
            "client_name": prompt.client_name,
            "username": prompt.username,
            "scopes": scope_list,
            "verified": prompt.verified,
            "links": prompt.links.iter().map(|(label, href)| json!({ "label": label, "href": href })).collect::<Vec<_>>(),
        }),
    )?;
    Ok((jar, page).into_response())
}

/// Records the decision and continues the authorization request.
pub async fn post(
    State(state): State<AppState>,
    caller: Caller,
    jar: CookieJar,
    CheckedForm(params): CheckedForm,
) -> Result<Response, AppError> {
    let id = params.get("interaction").ok_or_else(expired)?;
    let approve = match params.get("decision") {
        Some("approve") => true,
        Some("deny") => false,
        _ => {
            return Err(AppError::bad_request(
                "Choose Allow or Deny",
                "The form was submitted without a decision.",
            ));
        }
    };
    let current = session::current(&state, &jar).await?;
    let outcome = state
        .services
        .decide_consent(&caller, id, current, approve)
        .await?
        .ok_or_else(expired)?;
    answer(&state, outcome)
}
