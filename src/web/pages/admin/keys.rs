//! The console's signing keys: algorithm, state and age of each, and rotation.

use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use serde_json::{Value, json};

use super::{Confirmation, Console, confirm, confirmed, notice_of, show};
use crate::clock::format_time;
use crate::domain::SigningAlg;
use crate::error::AppError;
use crate::state::AppState;
use crate::web::csrf::CheckedForm;

const KEYS: (&str, &str, &str) = ("admin_keys.html", "keys", "Signing keys");

/// How long ago, in words an admin reads at a glance.
fn age(seconds: i64) -> String {
    match seconds.max(0) {
        s if s < 3600 => format!("{} min", s / 60),
        s if s < 2 * 86_400 => format!("{} h", s / 3600),
        s => format!("{} days", s / 86_400),
    }
}

/// `GET /admin/keys`.
pub async fn list(
    State(state): State<AppState>,
    _console: Console,
    jar: CookieJar,
    uri: Uri,
) -> Result<Response, AppError> {
    let now = state.services.now();
    let keys: Vec<Value> = state
        .services
        .keys()
        .list()
        .into_iter()
        .map(|k| {
            json!({
                "kid": k.kid, "alg": k.alg.to_string(), "state": k.state.as_str(),
                "created_at": format_time(k.created_at), "age": age(now - k.created_at),
                "activate_at": format_time(k.activate_at),
            })
        })
        .collect();
    show(
        &state,
        jar,
        StatusCode::OK,
        KEYS,
        json!({ "keys": keys, "notice": notice_of(&uri) }),
    )
}

/// `POST /admin/keys/rotate`: new keys of every algorithm, after confirmation.
pub async fn rotate(
    State(state): State<AppState>,
    console: Console,
    jar: CookieJar,
    CheckedForm(params): CheckedForm,
) -> Result<Response, AppError> {
    if !confirmed(&params) {
        return confirm(
            &state,
            jar,
            Confirmation {
                question: "Rotate the signing keys?".into(),
                consequence: "New keys of every algorithm start signing once every node loaded them; tokens signed by the current keys stay valid until they expire.",
                action: "/admin/keys/rotate".into(),
                fields: Vec::new(),
                back: "/admin/keys".into(),
            },
        );
    }
    let delay = state.config.settings.tokens.key_refresh_secs as i64;
    state
        .services
        .rotate_keys(&console.caller, &SigningAlg::ALL, delay)
        .await?;
    Ok(Redirect::to("/admin/keys?done=rotated").into_response())
}
