//! `GET /login` shows the form; `POST /login` checks the password and starts a new session.
//! One generic message for unknown user, wrong password and disabled account, and the same
//! amount of hashing work in each case, so neither words nor timing reveal which it was.

use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use serde_json::json;

use crate::auth::password::Verified;
use crate::error::AppError;
use crate::oidc::authorize::AuthorizationRequest;
use crate::oidc::client::Client;
use crate::state::AppState;
use crate::web::csrf::{self, CheckedForm};
use crate::web::{form, session};

/// What every failed sign-in says.
const FAILED: &str = "Incorrect username or password.";

/// The client name and login hint of a parked authorization request, when valid.
async fn interaction_context(
    state: &AppState,
    id: Option<&str>,
) -> Result<(Option<String>, Option<String>), AppError> {
    let Some(id) = id else {
        return Ok((None, None));
    };
    let Some(row) = state.db.find_interaction(id, state.clock.now()).await? else {
        return Ok((None, None));
    };
    let request: Option<AuthorizationRequest> = serde_json::from_str(&row.request).ok();
    let client = state
        .db
        .find_client(&row.client_id)
        .await?
        .map(Client::from_row);
    Ok((client.map(|c| c.name), request.and_then(|r| r.login_hint)))
}

fn render(
    state: &AppState,
    jar: CookieJar,
    status: StatusCode,
    interaction: Option<&str>,
    client_name: Option<String>,
    username: Option<String>,
    error: Option<&str>,
) -> Result<Response, AppError> {
    let (jar, csrf_token) = csrf::token(jar, state.config.secure_cookies);
    let page = super::page(
        state,
        "login.html",
        json!({
            "csrf_token": csrf_token,
            "interaction": interaction,
            "client_name": client_name,
            "username": username,
            "error": error,
            "remember_me_days": state.config.settings.session.remember_me_days,
        }),
    )?;
    Ok((status, jar, page).into_response())
}

/// Shows the login form.
pub async fn get(
    State(state): State<AppState>,
    jar: CookieJar,
    uri: Uri,
) -> Result<Response, AppError> {
    let params = form::query(&uri).unwrap_or_default();
    let interaction = params.get("interaction");
    let (client_name, hint) = interaction_context(&state, interaction).await?;
    render(
        &state,
        jar,
        StatusCode::OK,
        interaction,
        client_name,
        hint,
        None,
    )
}

/// Checks the credentials and starts a session.
pub async fn post(
    State(state): State<AppState>,
    jar: CookieJar,
    CheckedForm(params): CheckedForm,
) -> Result<Response, AppError> {
    let interaction = params.get("interaction");
    let login = params
        .get("username")
        .unwrap_or_default()
        .trim()
        .to_string();
    let password = params.get("password").unwrap_or_default().to_string();
    let remember = params.get("remember_me").is_some();

    let user = if login.is_empty() || login.len() > 254 {
        None
    } else {
        state.db.find_user_by_login(&login.to_lowercase()).await?
    };
    let verified = state
        .passwords
        .verify(password, user.as_ref().map(|u| u.password_hash.clone()))
        .await;
    let user = match (user, verified) {
        (Some(user), verified @ (Verified::Yes | Verified::YesRehashed(_)))
            if user.is_enabled() =>
        {
            if let Verified::YesRehashed(hash) = verified {
                state
                    .db
                    .set_password_hash(&user.id, &hash, state.clock.now())
                    .await?;
            }
            user
        }
        (user, _) => {
            let reason = match &user {
                None => "unknown user",
                Some(u) if !u.is_enabled() => "account disabled",
                Some(_) => "wrong password",
            };
            tracing::info!(login = %login, reason, "sign-in failed");
            let (client_name, _) = interaction_context(&state, interaction).await?;
            return render(
                &state,
                jar,
                StatusCode::UNAUTHORIZED,
                interaction,
                client_name,
                Some(login),
                Some(FAILED),
            );
        }
    };

    let previous = session::current(&state, &jar).await?;
    let issued = state
        .sessions
        .issue(&user.id, &["pwd"], remember, state.clock.now());
    let jar = session::start(
        &state,
        jar,
        issued,
        previous.as_ref().map(|s| s.id.as_str()),
    )
    .await?;
    tracing::info!(user_id = %user.id, remember, "signed in");
    let next = match interaction {
        Some(id) => format!("/authorize/resume?interaction={}", urlencode(id)),
        None => "/account".to_string(),
    };
    Ok((jar, Redirect::to(&next)).into_response())
}

/// Percent-encodes a value for a query string.
pub fn urlencode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}
