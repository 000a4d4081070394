//! `GET /logout` asks (a page with a sign-out button); `POST /logout` ends the session
//! server-side, revokes its grants and clears the cookie.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::CookieJar;
use serde_json::json;

use crate::error::AppError;
use crate::services::Caller;
use crate::services::sessions::SignOutBy;
use crate::state::AppState;
use crate::web::csrf::CheckedForm;
use crate::web::session;

/// Shows a sign-out button (a GET changes nothing: links and prefetches cannot sign anyone
/// out).
pub async fn get(State(state): State<AppState>, jar: CookieJar) -> Result<Response, AppError> {
    crate::web::html::notice(
        &state,
        jar,
        axum::http::StatusCode::OK,
        json!({
            "title": "Sign out of Tessera?",
            "message": "Signing out ends this session and the access of the applications you signed in to with it.",
            "form": { "action": "/logout", "button": "Sign out", "hidden": [] },
        }),
    )
}

/// Signs the user out.
pub async fn post(
    State(state): State<AppState>,
    caller: Caller,
    jar: CookieJar,
    CheckedForm(_): CheckedForm,
) -> Result<Response, AppError> {
    let mut upstreams = Vec::new();
    if let Some(current) = session::current(&state, &jar).await? {
        state
            .services
            .sign_out(&caller, &current, SignOutBy::User, None)
            .await?;
        // Signing out here ends only Tessera's session; the providers linked to the account
        // that offer RP-Initiated Logout get a link to sign out there too.
        for (name, href) in state.services.upstream_sign_outs(&current.user_id).await? {
            upstreams.push(json!({ "href": href, "name": name }));
        }
    }
    let jar = session::clear(&state, jar);
    let page = super::page(
        &state,
        "signed_out.html",
        json!({
            "message": "You have signed out of Tessera.",
            "link": { "href": "/login", "text": "Sign in again" },
            "upstreams": upstreams,
        }),
    )?;
    Ok((jar, page).into_response())
}
