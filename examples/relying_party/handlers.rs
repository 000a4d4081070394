//! The app's routes and their handlers: each reads the request, asks the
//! session store and the OpenID Connect client, and answers with a page or
//! a redirect.

use std::sync::Arc;

use axum::extract::rejection::FormRejection;
use axum::extract::{Form, RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Router, middleware};
use axum_extra::extract::cookie::CookieJar;
use openidconnect::core::CoreResponseType;
use openidconnect::{
    AuthenticationFlow, AuthorizationCode, CsrfToken, Nonce, PkceCodeChallenge, PkceCodeVerifier,
    Scope,
};

use crate::App;
use crate::errors::ErrorPage;
use crate::html::{
    STYLESHEET, admin_page, forbidden_page, home_signed_in, home_signed_out, layout, profile_page,
};
use crate::oidc::{CallbackParams, PendingLogin, has_role};
use crate::session::{CsrfForm, removal_cookie, session_id};

/// Scopes asked for besides `openid`, which the library adds itself.
const EXTRA_SCOPES: [&str; 4] = ["profile", "email", "roles", "offline_access"];

/// The app's routes, with security headers on every response.
pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/", get(home))
        .route("/login", get(login))
        .route("/callback", get(callback))
        .route("/profile", get(profile))
        .route("/admin", get(admin))
        .route("/refresh", post(refresh))
        .route("/logout", post(logout))
        .route("/backchannel-logout", post(backchannel_logout))
        .route("/style.css", get(stylesheet))
        .fallback(not_found)
        .layer(middleware::map_response(security_headers))
        .with_state(app)
}

/// `POST /backchannel-logout`: Tessera says a user's session ended there
/// (Back-Channel Logout 1.0 §2.8: 200 when done, 400 for a bad token).
async fn backchannel_logout(
    State(app): State<Arc<App>>,
    form: Result<Form<std::collections::HashMap<String, String>>, FormRejection>,
) -> Response {
    let token = form
        .ok()
        .and_then(|Form(mut f)| f.remove("logout_token"))
        .unwrap_or_default();
    let provider = app.provider();
    let verified = crate::backchannel::verify(
        &token,
        &provider.jwks,
        &provider.issuer,
        app.settings.client_id.as_str(),
    );
    match verified {
        Ok(of) => {
            let ended = app
                .sessions
                .end_signed_in(of.sid.as_deref(), of.sub.as_deref());
            tracing::info!(target: env!("CARGO_CRATE_NAME"), ended, "signed out by Tessera (back-channel logout)");
            StatusCode::OK.into_response()
        }
        Err(reason) => {
            tracing::warn!(target: env!("CARGO_CRATE_NAME"), %reason, "logout token refused");
            (
                StatusCode::BAD_REQUEST,
                [(header::CONTENT_TYPE, "application/json")],
                r#"{"error":"invalid_request"}"#,
            )
                .into_response()
        }
    }
}

/// Adds headers that make the pages harder to misuse.
async fn security_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    // No scripts, styles only from /style.css, no framing (clickjacking).
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; \
             frame-ancestors 'none'",
        ),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    // The callback URL carries a code: never leak it in a Referer.
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    if !headers.contains_key(header::CACHE_CONTROL) {
        // Pages show personal data and tokens.
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// `GET /`: sign-in button, or greeting and actions.
async fn home(State(app): State<Arc<App>>, jar: CookieJar) -> Html<String> {
    let body = match app.sessions.current_user(&jar) {
        Some((user, csrf)) => home_signed_in(&user, &csrf),
        None => home_signed_out(),
    };
    Html(layout("Home", &body))
}

/// `GET /login`: starts the authorization code flow; `GET /login?create=1` asks Tessera to
/// show its sign-up page first (`prompt=create`, Initiating User Registration 1.0).
async fn login(State(app): State<Arc<App>>, jar: CookieJar, RawQuery(query): RawQuery) -> Response {
    let provider = app.provider();
    let (pkce_challenge, pkce_verifier) = PkceCodeChallenge::new_random_sha256();
    let create = query
        .as_deref()
        .is_some_and(|q| q.split('&').any(|p| p == "create=1"));
    let mut request = provider
        .client
        .authorize_url(
            AuthenticationFlow::<CoreResponseType>::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scopes(EXTRA_SCOPES.map(|scope| Scope::new(scope.to_owned())))
        .set_pkce_challenge(pkce_challenge);
    if create {
        request = request.add_extra_param("prompt", "create");
    }
    let (auth_url, state, nonce) = request.url();
    let pending = PendingLogin {
        state: state.secret().clone(),
        nonce,
        pkce_verifier: pkce_verifier.secret().clone(),
    };
    let new_id = app
        .sessions
        .store_pending(session_id(&jar).as_deref(), pending);
    let jar = match new_id {
        Some(new_id) => jar.add(app.sessions.cookie(new_id)),
        None => jar,
    };
    (jar, Redirect::to(auth_url.as_str())).into_response()
}

/// `GET /callback`: finishes the flow and signs the user in.
async fn callback(
    State(app): State<Arc<App>>,
    jar: CookieJar,
    RawQuery(query): RawQuery,
) -> Result<Response, ErrorPage> {
    let params = CallbackParams::parse(query.as_deref().unwrap_or_default());
    let old_id = session_id(&jar);
    // Take the one-time values out whatever happens next, so that this
    // callback URL cannot be replayed.
    let pending = old_id
        .as_deref()
        .and_then(|id| app.sessions.take_pending(id));
    if let Some(error) = &params.error {
        return Err(ErrorPage::authorization(
            error,
            params.error_description.as_deref(),
        ));
    }
    let pending = pending.ok_or_else(ErrorPage::no_login_in_progress)?;
    app.check_callback(&params, &pending)?;
    let code = params.code.ok_or_else(ErrorPage::missing_code)?;

    let provider = app.provider();
    let tokens = provider
        .client
        .exchange_code(AuthorizationCode::new(code))
        .set_pkce_verifier(PkceCodeVerifier::new(pending.pkce_verifier))
        .request_async(&app.http)
        .await
        .map_err(|err| ErrorPage::token_endpoint(&err, "sign you in"))?;
    let user = app.user_from_tokens(&tokens, pending.nonce).await?;
    let jar = app.sessions.sign_in(jar, old_id.as_deref(), user);
    Ok((jar, Redirect::to("/profile")).into_response())
}

/// `GET /profile`: claims, userinfo, access token and the API's answer.
async fn profile(State(app): State<Arc<App>>, jar: CookieJar) -> Response {
    let Some((user, csrf)) = app.sessions.current_user(&jar) else {
        return Redirect::to("/").into_response();
    };
    let api = app.call_api("/api/me", &user.access_token).await;
    Html(layout("Profile", &profile_page(&user, &api, &csrf))).into_response()
}

/// `GET /admin`: only for users whose ID token has the `admin` role.
async fn admin(State(app): State<Arc<App>>, jar: CookieJar) -> Response {
    let Some((user, _)) = app.sessions.current_user(&jar) else {
        return Redirect::to("/").into_response();
    };
    if !has_role(&user.claims, "admin") {
        let page = layout("Forbidden", &forbidden_page(&user.claims));
        return (StatusCode::FORBIDDEN, Html(page)).into_response();
    }
    let api = app.call_api("/api/admin", &user.access_token).await;
    Html(layout("Admin area", &admin_page(&api))).into_response()
}

/// `POST /refresh`: uses the refresh token to get fresh tokens.
async fn refresh(
    State(app): State<Arc<App>>,
    jar: CookieJar,
    form: Result<Form<CsrfForm>, FormRejection>,
) -> Result<Response, ErrorPage> {
    let Some((id, user)) = app.sessions.authorize_post(&jar, form)? else {
        return Ok(Redirect::to("/").into_response());
    };
    let refresh_token = user
        .refresh_token
        .clone()
        .ok_or_else(ErrorPage::no_refresh_token)?;
    let provider = app.provider();
    let tokens = provider
        .client
        .exchange_refresh_token(&refresh_token)
        .request_async(&app.http)
        .await
        .map_err(|err| ErrorPage::token_endpoint(&err, "refresh your tokens"))?;
    let updated = app.refreshed_user(user, &tokens).await?;
    app.sessions.update_user(&id, updated);
    Ok(Redirect::to("/profile").into_response())
}

/// `POST /logout`: forgets the session and asks Tessera to end its own.
async fn logout(
    State(app): State<Arc<App>>,
    jar: CookieJar,
    form: Result<Form<CsrfForm>, FormRejection>,
) -> Result<Response, ErrorPage> {
    let signed_in = app.sessions.authorize_post(&jar, form)?;
    if let Some(id) = session_id(&jar) {
        app.sessions.remove(&id);
    }
    let jar = jar.remove(removal_cookie());
    let target = signed_in
        .and_then(|(_, user)| app.end_session_url(&user))
        .unwrap_or_else(|| "/".to_owned());
    Ok((jar, Redirect::to(&target)).into_response())
}

/// `GET /style.css`.
async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        STYLESHEET,
    )
        .into_response()
}

/// Any other path.
async fn not_found() -> ErrorPage {
    ErrorPage::new(
        StatusCode::NOT_FOUND,
        "not_found",
        "Page not found",
        "There is no page at this address.",
    )
}
