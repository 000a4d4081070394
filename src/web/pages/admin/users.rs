//! The console's users: list with search and paging, create (with or without an invitation),
//! one user's page with every change an admin makes to an account.

use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use serde_json::{Value, json};

use super::{Confirmation, Console, checked, confirm, confirmed, notice_of, refusal, show};
use crate::clock::format_time;
use crate::domain::User;
use crate::error::AppError;
use crate::services::ServiceError;
use crate::services::accounts::NewAccount;
use crate::services::audit::AuditQuery;
use crate::state::AppState;
use crate::web::csrf::CheckedForm;
use crate::web::{form, urlencode};

/// Users listed per page.
const PAGE: usize = 50;
/// Audit events shown on a user's page.
const RECENT_EVENTS: i64 = 20;

const LIST: (&str, &str, &str) = ("admin_users.html", "users", "Users");
const NEW: (&str, &str, &str) = ("admin_user_new.html", "users", "New user");
const DETAIL: (&str, &str, &str) = ("admin_user.html", "users", "User");

fn user_json(u: &User) -> Value {
    json!({
        "id": u.id, "username": u.username, "email": u.email, "email_verified": u.email_verified,
        "name": u.name, "roles": u.roles, "enabled": u.enabled,
        "created_at": format_time(u.created_at),
    })
}

/// `GET /admin/users[?q=…&cursor=…]`: users with search and paging.
pub async fn list(
    State(state): State<AppState>,
    _console: Console,
    jar: CookieJar,
    uri: Uri,
) -> Result<Response, AppError> {
    let params = form::query(&uri).unwrap_or_default();
    let q = params.get("q").unwrap_or_default();
    let (users, next) = state
        .services
        .users_page(Some(q), params.get("cursor"), PAGE)
        .await?;
    let users: Vec<Value> = users.iter().map(user_json).collect();
    let next_page = next.map(|cursor| {
        format!(
            "/admin/users?q={}&cursor={}",
            urlencode(q),
            urlencode(&cursor)
        )
    });
    show(
        &state,
        jar,
        StatusCode::OK,
        LIST,
        json!({ "users": users, "q": q, "next_page": next_page, "notice": notice_of(&uri) }),
    )
}

/// The new-user form, with what was typed and why it was refused.
async fn new_form(
    state: &AppState,
    jar: CookieJar,
    status: StatusCode,
    typed: Value,
    error: Option<String>,
) -> Result<Response, AppError> {
    let roles = state.services.list_roles().await?;
    let defaults = &state.config.settings.registration.default_roles;
    let roles: Vec<Value> = roles
        .iter()
        .map(|r| {
            let ticked = match typed.get("roles").and_then(Value::as_array) {
                Some(chosen) => chosen.iter().any(|c| c.as_str() == Some(r.name.as_str())),
                None => defaults.contains(&r.name),
            };
            json!({ "name": r.name, "checked": ticked })
        })
        .collect();
    show(
        state,
        jar,
        status,
        NEW,
        json!({ "roles": roles, "typed": typed, "error": error }),
    )
}

/// `GET /admin/users/new`.
pub async fn new_get(
    State(state): State<AppState>,
    _console: Console,
    jar: CookieJar,
) -> Result<Response, AppError> {
    new_form(&state, jar, StatusCode::OK, json!({}), None).await
}

/// `POST /admin/users/new`: without a password, the user is mailed a link to choose one.
pub async fn new_post(
    State(state): State<AppState>,
    console: Console,
    jar: CookieJar,
    CheckedForm(params): CheckedForm,
) -> Result<Response, AppError> {
    let field = |name| params.get(name).unwrap_or_default().trim().to_string();
    let roles = checked(&params, "role");
    let account = NewAccount {
        username: field("username"),
        email: field("email"),
        name: Some(field("name")).filter(|n| !n.is_empty()),
        password: params.get("password").unwrap_or_default().to_string(),
        roles: roles.clone(),
    };
    let invite = account.password.is_empty();
    let typed = json!({
        "username": account.username, "email": account.email, "name": account.name, "roles": roles,
    });
    let created = if invite {
        state
            .services
            .create_user_with_invitation(&console.caller, account)
            .await
    } else {
        state.services.create_user(&console.caller, account).await
    };
    match created {
        Ok(user) => {
            let done = if invite { "invited" } else { "created" };
            Ok(Redirect::to(&format!("/admin/users/{}?done={done}", user.id)).into_response())
        }
        Err(e) => {
            let message = refusal(e)?;
            new_form(
                &state,
                jar,
                StatusCode::UNPROCESSABLE_ENTITY,
                typed,
                Some(message),
            )
            .await
        }
    }
}

/// One user's page.
async fn detail(
    state: &AppState,
    jar: CookieJar,
    console: &Console,
    id: &str,
    status: StatusCode,
    (notice, error): (Option<&str>, Option<String>),
) -> Result<Response, AppError> {
    let services = &state.services;
    let user = services.user(id).await?;
    let catalogue = services.list_roles().await?;
    let roles: Vec<Value> = catalogue
        .iter()
        .map(|r| json!({ "name": r.name, "checked": user.roles.contains(&r.name) }))
        .collect();
    let sessions: Vec<Value> = services
        .sessions_of(&user.id, Some(&console.session.id))
        .await?
        .into_iter()
        .map(|s| {
            json!({
                "id": s.id, "device": s.device, "ip": s.ip, "current": s.current,
                "signed_in_at": format_time(s.signed_in_at), "last_used_at": format_time(s.last_used_at),
            })
        })
        .collect();
    let grants: Vec<Value> = services
        .apps_of(&user.id)
        .await?
        .into_iter()
        .map(|a| json!({ "client_id": a.client_id, "name": a.name, "scopes": a.scopes, "granted_at": format_time(a.granted_at) }))
        .collect();
    let events = services
        .list_audit_events(AuditQuery {
            user: Some(user.id.clone()),
            limit: RECENT_EVENTS,
            ..AuditQuery::default()
        })
        .await?;
    let has_totp = services.has_totp(&user.id).await?;
    show(
        state,
        jar,
        status,
        DETAIL,
        json!({
            "title": user.username, "user": user_json(&user), "roles": roles,
            "sessions": sessions, "grants": grants, "events": super::audit::rows(&events),
            "has_totp": has_totp, "notice": notice, "error": error,
        }),
    )
}

/// `GET /admin/users/{id}`.
pub async fn get(
    State(state): State<AppState>,
    console: Console,
    jar: CookieJar,
    Path(id): Path<String>,
    uri: Uri,
) -> Result<Response, AppError> {
    detail(
        &state,
        jar,
        &console,
        &id,
        StatusCode::OK,
        (notice_of(&uri), None),
    )
    .await
}

/// A change to a user, as the console's forms name it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Change {
    Roles,
    Enable,
    Disable,
    Unlock,
    ResetMail,
    SecondFactor,
    Sessions,
    Grant,
    Delete,
}

impl Change {
    fn parse(action: &str) -> Option<Change> {
        Some(match action {
            "roles" => Change::Roles,
            "enable" => Change::Enable,
            "disable" => Change::Disable,
            "unlock" => Change::Unlock,
            "password-reset" => Change::ResetMail,
            "second-factor" => Change::SecondFactor,
            "sessions" => Change::Sessions,
            "grant" => Change::Grant,
            "delete" => Change::Delete,
            _ => return None,
        })
    }

    /// What a destructive change does, for its confirmation page; `None` for the others.
    fn consequence(self) -> Option<&'static str> {
        Some(match self {
            Change::Disable => {
                "The user can no longer sign in; their sessions end and their tokens are revoked."
            }
            Change::SecondFactor => {
                "Their authenticator app and recovery codes stop working; they are told by mail."
            }
            Change::Sessions => {
                "They are signed out there; applications listening for logouts are told."
            }
            Change::Grant => "The application loses access and must ask for consent again.",
            Change::Delete => {
                "The account, its sessions and tokens are gone for good. This cannot be undone."
            }
            _ => return None,
        })
    }

    fn question(self, username: &str) -> String {
        match self {
            Change::Disable => format!("Switch off the account {username}?"),
            Change::SecondFactor => format!("Remove the second factor of {username}?"),
            Change::Sessions => format!("End sessions of {username}?"),
            Change::Grant => format!("Take an application's access to {username} back?"),
            _ => format!("Delete the user {username}?"),
        }
    }
}

/// `POST /admin/users/{id}/{change}`: one change to a user; destructive ones after a
/// confirmation page.
pub async fn change(
    State(state): State<AppState>,
    console: Console,
    jar: CookieJar,
    Path((id, action)): Path<(String, String)>,
    CheckedForm(params): CheckedForm,
) -> Result<Response, AppError> {
    let change = Change::parse(&action).ok_or(AppError::NotFound)?;
    let user = state.services.user(&id).await?;
    let back = format!("/admin/users/{}", user.id);
    if let Some(consequence) = change.consequence().filter(|_| !confirmed(&params)) {
        let carried = ["session", "client_id"]
            .into_iter()
            .filter_map(|name| Some((name, params.get(name)?)))
            .collect();
        return confirm(
            &state,
            jar,
            Confirmation {
                question: change.question(&user.username),
                consequence,
                action: format!("{back}/{action}"),
                fields: carried,
                back,
            },
        );
    }
    let services = &state.services;
    let caller = &console.caller;
    let done: Result<&str, ServiceError> = match change {
        Change::Roles => services
            .set_roles(caller, &user.id, &checked(&params, "role"))
            .await
            .map(|_| "saved"),
        Change::Enable => services
            .set_enabled(caller, &user.id, true)
            .await
            .map(|_| "enabled"),
        Change::Disable => services
            .set_enabled(caller, &user.id, false)
            .await
            .map(|_| "disabled"),
        Change::Unlock => services
            .unlock_user(caller, &user.id)
            .await
            .map(|_| "unlocked"),
        Change::ResetMail => services
            .forgot_password(caller, &user.username)
            .await
            .map(|_| "reset-mail"),
        Change::SecondFactor => services
            .reset_mfa(caller, &user.id)
            .await
            .map(|_| "second-factor"),
        Change::Sessions => services
            .end_sessions(caller, &user.id, params.get("session"), None)
            .await
            .map(|_| "sessions"),
        Change::Grant => services
            .revoke_app(
                caller,
                &user.id,
                params.get("client_id").unwrap_or_default(),
            )
            .await
            .map(|_| "grants"),
        Change::Delete => {
            return match services.delete_user(caller, &user.id).await {
                Ok(_) => Ok(Redirect::to("/admin/users?done=deleted").into_response()),
                Err(e) => Err(e.into()),
            };
        }
    };
    match done {
        Ok(done) => Ok(Redirect::to(&format!("{back}?done={done}")).into_response()),
        Err(e) => {
            let message = refusal(e)?;
            detail(
                &state,
                jar,
                &console,
                &user.id,
                StatusCode::UNPROCESSABLE_ENTITY,
                (None, Some(message)),
            )
            .await
        }
    }
}
