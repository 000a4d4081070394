//! `POST /logout`: ends the session server-side, revokes its grants, clears the cookie.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::CookieJar;
use serde_json::json;

use crate::error::AppError;
use crate::state::AppState;
use crate::web::csrf::CheckedForm;
use crate::web::session;

/// Signs the user out.
pub async fn post(
    State(state): State<AppState>,
    jar: CookieJar,
    CheckedForm(_): CheckedForm,
) -> Result<Response, AppError> {
    let jar = match session::current(&state, &jar).await? {
        Some(current) => {
            tracing::info!(user_id = %current.user_id, "signed out");
            session::end(&state, jar, &current).await?
        }
        None => session::clear(&state, jar),
    };
    let page = super::page(
        &state,
        "signed_out.html",
        json!({ "message": "You have signed out of Tessera.", "link": { "href": "/login", "text": "Sign in again" } }),
    )?;
    Ok((jar, page).into_response())
}
