//! `GET /account`: who is signed in, with roles and session details. `GET /` leads there.

use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use serde_json::json;

use crate::clock::format_time;
use crate::error::AppError;
use crate::services::ServiceError;
use crate::state::AppState;
use crate::web::{csrf, session};

/// The home page sends people to their account.
pub async fn home() -> Redirect {
    Redirect::to("/account")
}

/// Shows the signed-in account, or sends the visitor to sign in.
pub async fn get(State(state): State<AppState>, jar: CookieJar) -> Result<Response, AppError> {
    let Some(current) = session::current(&state, &jar).await? else {
        return Ok(Redirect::to("/login").into_response());
    };
    let user = match state.services.user(&current.user_id).await {
        Ok(user) => user,
        Err(ServiceError::NotFound(_)) => return Ok(Redirect::to("/login").into_response()),
        Err(e) => return Err(e.into()),
    };
    let (jar, csrf_token) = csrf::token(jar, &state.csrf);

    let page = super::page(
        &state,
        "account.html",
        json!({
            "csrf_token": csrf_token,
            "user": { "id": user.id, "username": user.username, "email": user.email, "name": user.name, "roles": user.roles },
            "session": { "auth_time": format_time(current.auth_time), "remember": current.remember, "methods": current.amr },
        }),
    )?;
    Ok((jar, page).into_response())
}
