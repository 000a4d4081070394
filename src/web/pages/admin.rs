//! The admin console (`/admin`): hosted pages over the same use cases as the CLI and the
//! admin API, for signed-in users with the `admin` role (and a two-factor sign-in when
//! `mfa.required_roles` names `admin`). Others get a 403 page, signed-out visitors the login
//! page.

use axum::extract::State;
use axum::http::Uri;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use serde_json::json;

use crate::auth::session::ACR_MFA;
use crate::domain::Session;
use crate::error::AppError;
use crate::services::admin::ADMIN_ROLE;
use crate::state::AppState;
use crate::web::{form, session};

/// Users listed per page.
const PAGE: usize = 50;

/// The signed-in admin, or the answer for anyone else.
async fn admin(state: &AppState, jar: &CookieJar) -> Result<Result<Session, Response>, AppError> {
    let Some(current) = session::current(state, jar).await? else {
        return Ok(Err(Redirect::to("/login").into_response()));
    };
    let user = state.services.user(&current.user_id).await?;
    if !user.roles.iter().any(|r| r == ADMIN_ROLE) {
        return Err(AppError::Forbidden(
            "The admin console is for users with the admin role.".into(),
        ));
    }
    let mfa_required = state
        .config
        .settings
        .mfa
        .required_roles
        .iter()
        .any(|r| r == ADMIN_ROLE);
    if mfa_required && current.acr != ACR_MFA {
        return Err(AppError::Forbidden(
            "The admin console needs a sign-in with your second factor: sign out, then sign in again with your authenticator code.".into(),
        ));
    }
    Ok(Ok(current))
}

/// `GET /admin`: the console starts with the users.
pub async fn home(State(state): State<AppState>, jar: CookieJar) -> Result<Response, AppError> {
    if let Err(answer) = admin(&state, &jar).await? {
        return Ok(answer);
    }
    Ok(Redirect::to("/admin/users").into_response())
}

/// `GET /admin/users[?q=…&cursor=…]`: users with search and paging.
pub async fn users(
    State(state): State<AppState>,
    jar: CookieJar,
    uri: Uri,
) -> Result<Response, AppError> {
    if let Err(answer) = admin(&state, &jar).await? {
        return Ok(answer);
    }
    let params = form::query(&uri).unwrap_or_default();
    let q = params.get("q").unwrap_or_default();
    let (users, next) = state
        .services
        .users_page(Some(q), params.get("cursor"), PAGE)
        .await?;
    let users: Vec<_> = users
        .iter()
        .map(|u| {
            json!({
                "username": u.username, "email": u.email, "email_verified": u.email_verified,
                "name": u.name, "roles": u.roles, "enabled": u.enabled,
            })
        })
        .collect();
    let next_page = next.map(|cursor| {
        format!(
            "/admin/users?q={}&cursor={}",
            crate::web::urlencode(q),
            crate::web::urlencode(&cursor)
        )
    });
    super::page(
        &state,
        "admin_users.html",
        json!({ "users": users, "q": q, "next_page": next_page }),
    )
}
