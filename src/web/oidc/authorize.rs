//! `GET|POST /authorize` (RFC 6749 §4.1.1, OpenID Connect Core §3.1.2) and
//! `GET /authorize/resume`, where a parked request continues after login.

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;

use super::respond;
use crate::error::AppError;
use crate::oidc::authorize::{self, AuthorizationRequest, AuthorizeError, Next, SessionView};
use crate::oidc::client::Client;
use crate::oidc::params::Params;
use crate::oidc::{ErrorCode, OAuthError};
use crate::state::AppState;
use crate::store::{InteractionRow, SessionRow};
use crate::web::pages::login::urlencode;
use crate::web::{form, session};

/// How long a parked request can be resumed.
const INTERACTION_TTL_SECS: i64 = 15 * 60;

/// An authorization request whose client cannot be trusted: a page, never a redirect.
fn untrusted(error: OAuthError) -> AppError {
    AppError::BadRequest {
        title: "This sign-in request is not valid".into(),
        message: format!(
            "{}. The application that sent you here may be misconfigured; Tessera did not send you back to it.",
            crate::error::sentence(&error.description)
        ),
        code: Some(error.code.as_str().into()),
    }
}

/// `GET /authorize`.
pub async fn get(
    State(state): State<AppState>,
    jar: CookieJar,
    uri: Uri,
) -> Result<Response, AppError> {
    let params = form::query(&uri).map_err(untrusted)?;
    start(&state, &jar, params).await
}

/// `POST /authorize` (OpenID Connect Core §3.1.2.1 allows form posts).
pub async fn post(
    State(state): State<AppState>,
    jar: CookieJar,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, AppError> {
    let params = form::body(&headers, body).await.map_err(untrusted)?;
    start(&state, &jar, params).await
}

async fn start(state: &AppState, jar: &CookieJar, params: Params) -> Result<Response, AppError> {
    let keys = &state.keys;
    let validated = async {
        let client_id = authorize::check_client_id(&params)?;
        let client = state
            .db
            .find_client(client_id)
            .await
            .map_err(|e| AuthorizeError::Page { error: e.into() })?
            .map(Client::from_row)
            .ok_or_else(|| AuthorizeError::Page {
                error: OAuthError::invalid_request("unknown client_id"),
            })?;
        let redirect_uri = authorize::check_redirect_uri(&params, &client)?;
        let request =
            authorize::validate(&params, &client, redirect_uri, keys, &state.config.issuer)?;
        Ok::<_, AuthorizeError>((client, request))
    }
    .await;
    match validated {
        Ok((client, request)) => proceed(state, jar, &client, request, None).await,
        Err(AuthorizeError::Page { error }) => match error.code {
            ErrorCode::TemporarilyUnavailable | ErrorCode::ServerError => Err(error.into()),
            _ => Err(untrusted(error)),
        },
        Err(AuthorizeError::Redirect { target, error }) => {
            respond::authorization_response(state, &target, Err(&error))
        }
    }
}

/// `GET /authorize/resume?interaction=ID`: continues a parked request.
pub async fn resume(
    State(state): State<AppState>,
    jar: CookieJar,
    uri: Uri,
) -> Result<Response, AppError> {
    let params = form::query(&uri).map_err(untrusted)?;
    let (row, client, request) = load_interaction(&state, params.get("interaction")).await?;
    proceed(&state, &jar, &client, request, Some(row)).await
}

/// Loads a parked request with its client; a missing or expired one is a friendly page.
pub async fn load_interaction(
    state: &AppState,
    id: Option<&str>,
) -> Result<(InteractionRow, Client, AuthorizationRequest), AppError> {
    let expired = || {
        AppError::bad_request(
            "This sign-in request has expired",
            "Go back to the application you came from and start signing in again.",
        )
    };
    let id = id.ok_or_else(expired)?;
    let row = state
        .db
        .find_interaction(id, state.clock.now())
        .await?
        .ok_or_else(expired)?;
    let request: AuthorizationRequest = serde_json::from_str(&row.request)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("parked request unreadable: {e}")))?;
    let client = state
        .db
        .find_client(&row.client_id)
        .await?
        .map(Client::from_row)
        .ok_or_else(expired)?;
    Ok((row, client, request))
}

/// Decides what a valid request needs next and does it: park it and show the login or
/// consent page, answer with an error, or issue the code.
async fn proceed(
    state: &AppState,
    jar: &CookieJar,
    client: &Client,
    request: AuthorizationRequest,
    parked: Option<InteractionRow>,
) -> Result<Response, AppError> {
    let now = state.clock.now();
    let current = session::current(state, jar).await?;
    let user_enabled = match &current {
        Some(s) => state
            .db
            .find_user(&s.user_id)
            .await?
            .is_some_and(|u| u.is_enabled()),
        None => false,
    };
    let current = current.filter(|_| user_enabled);
    let consent_on_file = match &current {
        Some(s) if !client.skip_consent => {
            let requested = crate::domain::ScopeSet::from_stored(&request.scope);
            state
                .db
                .find_consent(&s.user_id, &client.id)
                .await?
                .is_some_and(|given| {
                    requested.is_subset(&crate::domain::ScopeSet::from_stored(&given))
                })
        }
        _ => false,
    };
    let signed_in_during_request = match (&parked, &current) {
        (Some(row), Some(s)) => row.prior_session_id.as_deref() != Some(s.id.as_str()),
        _ => false,
    };
    let interaction = parked.map(|row| row.id);
    let view = current.as_ref().map(|s| SessionView {
        user_id: s.user_id.clone(),
        auth_time: s.auth_time,
    });
    match authorize::decide(
        &request,
        view.as_ref(),
        signed_in_during_request,
        now,
        consent_on_file,
        client.skip_consent,
    ) {
        Err(error) => {
            if let Some(id) = &interaction {
                state.db.delete_interaction(id).await?;
            }
            respond::authorization_response(state, &request.target, Err(&error))
        }
        Ok(Next::Issue) => {
            let Some(current) = current else {
                return Err(AppError::Internal(anyhow::anyhow!(
                    "issue decided without a session"
                )));
            };
            issue(state, &request, &current, interaction.as_deref()).await
        }
        Ok(next) => {
            let id = match interaction {
                Some(id) => id,
                None => park(state, &request, current.as_ref().map(|s| s.id.clone()), now).await?,
            };
            let page = if next == Next::Login {
                "/login"
            } else {
                "/consent"
            };
            Ok(Redirect::to(&format!("{page}?interaction={}", urlencode(&id))).into_response())
        }
    }
}

async fn park(
    state: &AppState,
    request: &AuthorizationRequest,
    prior_session_id: Option<String>,
    now: i64,
) -> Result<String, AppError> {
    let id = crate::auth::secret::generate();
    let row = InteractionRow {
        id: id.clone(),
        client_id: request.client_id.clone(),
        request: serde_json::to_string(request).map_err(|e| AppError::Internal(e.into()))?,
        prior_session_id,
        created_at: now,
        expires_at: now + INTERACTION_TTL_SECS,
    };
    state.db.insert_interaction(&row).await?;
    Ok(id)
}

/// Issues the code and sends it to the client; the parked request (if any) is finished.
pub async fn issue(
    state: &AppState,
    request: &AuthorizationRequest,
    session: &SessionRow,
    interaction: Option<&str>,
) -> Result<Response, AppError> {
    let code = state
        .provider
        .issue_code(request, session)
        .await
        .map_err(AppError::from)?;
    if let Some(id) = interaction {
        state.db.delete_interaction(id).await?;
    }
    respond::authorization_response(state, &request.target, Ok(&code))
}
