//! `/device` (RFC 8628 §3.3): where a signed-in person types the code a device shows, sees
//! which app asks for what, and allows or denies it. `?user_code=` (the
//! `verification_uri_complete`) opens the approval at once. A signed-out visitor signs in
//! first and comes back here.

use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use serde_json::json;

use crate::domain::Session;
use crate::error::AppError;
use crate::oidc::device_flow;
use crate::services::Caller;
use crate::services::device::WrongCode;
use crate::state::AppState;
use crate::web::csrf::CheckedForm;
use crate::web::html::{form_page, notice};
use crate::web::{form, session};

/// The page to enter a code, with `error` when the last one led nowhere.
fn entry(
    state: &AppState,
    jar: CookieJar,
    status: StatusCode,
    typed: &str,
    error: Option<&str>,
) -> Result<Response, AppError> {
    form_page(
        state,
        jar,
        status,
        "device.html",
        json!({ "user_code": typed, "error": error }),
    )
}

/// The approval page of a typed code, or the entry page saying why there is none.
async fn prompt(
    state: &AppState,
    caller: &Caller,
    jar: CookieJar,
    current: &Session,
    typed: &str,
) -> Result<Response, AppError> {
    match state.services.device_prompt(caller, current, typed).await? {
        Ok(prompt) => {
            let user = state.services.user(&current.user_id).await?;
            let scopes: Vec<_> = prompt
                .scopes
                .iter()
                .map(|(name, description)| json!({ "name": name, "description": description }))
                .collect();
            form_page(
                state,
                jar,
                StatusCode::OK,
                "device_confirm.html",
                json!({
                    "user_code": prompt.user_code,
                    "client_name": prompt.client_name,
                    "username": user.username,
                    "scopes": scopes,
                }),
            )
        }
        Err(wrong) => wrong_code(state, jar, typed, wrong),
    }
}

/// The entry page saying why a typed code led nowhere.
fn wrong_code(
    state: &AppState,
    jar: CookieJar,
    typed: &str,
    wrong: WrongCode,
) -> Result<Response, AppError> {
    match wrong {
        WrongCode::Unknown => entry(
            state,
            jar,
            StatusCode::BAD_REQUEST,
            typed,
            Some("That code is not valid, or it has expired. Check the code your device shows."),
        ),
        WrongCode::TooMany => {
            let page = entry(
                state,
                jar,
                StatusCode::TOO_MANY_REQUESTS,
                typed,
                Some("Too many wrong codes. Wait a few minutes, then try again."),
            )?;
            Ok(super::login::with_retry_after(page, 60))
        }
        WrongCode::NeedsSecondFactor => entry(
            state,
            jar,
            StatusCode::FORBIDDEN,
            typed,
            Some(
                "This app needs a sign-in with your second factor. Sign out, sign in again with your authenticator code, then enter the code once more.",
            ),
        ),
    }
}

/// `GET /device[?user_code=…]`.
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    jar: CookieJar,
    uri: Uri,
) -> Result<Response, AppError> {
    let params = form::query(&uri).unwrap_or_default();
    let typed = params.get("user_code").unwrap_or_default();
    let Some(current) = session::current(&state, &jar).await? else {
        // Only a well-formed code travels through the sign-in, so the way back is ours.
        let back = match device_flow::normalise(typed) {
            Some(code) => format!("/device?user_code={}", device_flow::display(&code)),
            None => "/device".to_string(),
        };
        let jar = session::remember_return(&state, jar, &back);
        return Ok((jar, Redirect::to("/login")).into_response());
    };
    if typed.is_empty() {
        return entry(&state, jar, StatusCode::OK, "", None);
    }
    prompt(&state, &caller, jar, &current, typed).await
}

/// `POST /device`: the typed code.
pub async fn post(
    State(state): State<AppState>,
    caller: Caller,
    session::SignedIn(current): session::SignedIn,
    jar: CookieJar,
    CheckedForm(params): CheckedForm,
) -> Result<Response, AppError> {
    let typed = params.get("user_code").unwrap_or_default();
    prompt(&state, &caller, jar, &current, typed).await
}

/// `POST /device/decision`: allow or deny.
pub async fn decide(
    State(state): State<AppState>,
    caller: Caller,
    session::SignedIn(current): session::SignedIn,
    jar: CookieJar,
    CheckedForm(params): CheckedForm,
) -> Result<Response, AppError> {
    let typed = params.get("user_code").unwrap_or_default();
    let approve = params.get("decision") == Some("approve");
    let answered = match state
        .services
        .answer_device(&caller, &current, typed, approve)
        .await?
    {
        Ok(answered) => answered,
        Err(wrong) => return wrong_code(&state, jar, typed, wrong),
    };
    let (status, title, message, success) = match (answered, approve) {
        (true, true) => (
            StatusCode::OK,
            "Device connected",
            "You can go back to your device; it continues on its own.",
            true,
        ),
        (true, false) => (
            StatusCode::OK,
            "Request denied",
            "The device was not given access. You can close this page.",
            false,
        ),
        (false, _) => (
            StatusCode::BAD_REQUEST,
            "This code can no longer be used",
            "It was answered already or it expired. Start again on your device.",
            false,
        ),
    };
    notice(
        &state,
        jar,
        status,
        json!({ "title": title, "message": message, "success": success }),
    )
}
