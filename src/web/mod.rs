//! HTTP adapters: axum handlers that extract a request, call one use case of `services`, and
//! render the answer. No protocol rules, no decisions and no storage here.

pub mod admin_api;
pub mod csrf;
pub mod extract;
pub mod form;
pub mod headers;
pub mod html;
pub mod middleware;
pub mod oidc;
pub mod ops;
pub mod outcome;
pub mod pages;
pub mod qr;
pub mod serve;
pub mod session;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{Method, StatusCode, header};
use axum::routing::{get, post};
use tower_http::cors::{Any, CorsLayer};
use tower_http::timeout::{RequestBodyTimeoutLayer, TimeoutLayer};

use crate::oidc::discovery::paths;
use crate::state::AppState;

/// Percent-encodes a value for a query string.
pub fn urlencode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// What a path segment may carry unencoded (RFC 3986 §2.3 unreserved characters).
const PATH_SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// `value` as one path segment: `/`, `?`, `#`, `%` and spaces encoded, so an id holding them
/// (a client id that is a URL, a scope name) names its own page.
pub fn path_segment(value: &str) -> String {
    percent_encoding::utf8_percent_encode(value, PATH_SEGMENT).to_string()
}

/// The largest request body accepted (forms and token requests are small).
const BODY_LIMIT_BYTES: usize = 64 * 1024;

/// Every route of the server, with its middleware.
pub fn router(state: AppState) -> Router {
    let request_timeout =
        std::time::Duration::from_secs(state.config.settings.request_timeout_secs);
    // Endpoints that browser apps (public clients) call with fetch: cross-origin reads are
    // allowed. None of them uses cookies, so no credentials are allowed with it.
    let cross_origin = Router::new()
        .route(
            "/.well-known/openid-configuration",
            get(oidc::discovery::metadata),
        )
        .route(
            "/.well-known/oauth-authorization-server",
            get(oidc::discovery::metadata),
        )
        .route(paths::JWKS, get(oidc::discovery::jwks))
        .route(paths::TOKEN, post(oidc::token::token))
        .route(
            paths::USERINFO,
            get(oidc::userinfo::get).post(oidc::userinfo::post),
        )
        .route(paths::REVOKE, post(oidc::introspect::revoke))
        .route(paths::PAR, post(oidc::par::push))
        .route(paths::DEVICE_AUTHORIZATION, post(oidc::device::authorize))
        .route(paths::REGISTRATION, post(oidc::registration::register))
        .route(
            "/connect/register/{client_id}",
            get(oidc::registration::read)
                .put(oidc::registration::update)
                .delete(oidc::registration::delete),
        )
        // Set before the CORS layer so that it also wraps the 405 answers, which is where
        // preflight OPTIONS requests would otherwise end.
        .method_not_allowed_fallback(ops::method_not_allowed)
        .layer(
            CorsLayer::new()
                .allow_origin(Any)
                .allow_methods([Method::GET, Method::POST, Method::PUT, Method::DELETE])
                .allow_headers([
                    header::AUTHORIZATION,
                    header::CONTENT_TYPE,
                    header::HeaderName::from_static("dpop"),
                ])
                .expose_headers([
                    header::WWW_AUTHENTICATE,
                    header::HeaderName::from_static("dpop-nonce"),
                ])
                .max_age(std::time::Duration::from_secs(3600)),
        );
    let protocol = Router::new()
        .route(
            paths::AUTHORIZE,
            get(oidc::authorize::get).post(oidc::authorize::post),
        )
        .route("/authorize/resume", get(oidc::authorize::resume))
        .route(paths::INTROSPECT, post(oidc::introspect::introspect))
        .route(
            paths::END_SESSION,
            get(oidc::end_session::get).post(oidc::end_session::post),
        )
        .route("/end-session/confirm", post(oidc::end_session::confirm));
    let pages = Router::new()
        .route("/", get(pages::account::home))
        .route("/login", get(pages::login::get).post(pages::login::post))
        .route("/logout", get(pages::logout::get).post(pages::logout::post))
        .route("/account", get(pages::account::get))
        .route(
            "/login/second-factor",
            get(pages::second_factor::get).post(pages::second_factor::post),
        )
        .route(
            "/login/second-factor/enrol",
            post(pages::second_factor::enrol),
        )
        .route("/account/security", get(pages::security::get))
        .route("/account/security/totp", post(pages::security::confirm))
        .route(
            "/account/security/recovery-codes",
            post(pages::security::regenerate),
        )
        .route(
            "/account/security/totp/disable",
            post(pages::security::disable),
        )
        .route(
            "/not-me",
            get(pages::recovery::not_me_get).post(pages::recovery::not_me_post),
        )
        .route(
            "/register",
            get(pages::register::get).post(pages::register::post),
        )
        .route("/invitation", get(pages::register::invitation))
        .route(
            "/verify-email",
            get(pages::register::verify_get).post(pages::register::verify_post),
        )
        .route("/verify-email/resend", post(pages::register::resend))
        .route(
            "/forgot-password",
            get(pages::recovery::forgot_get).post(pages::recovery::forgot_post),
        )
        .route(
            "/reset-password",
            get(pages::recovery::reset_get).post(pages::recovery::reset_post),
        )
        .route(
            "/account/profile",
            get(pages::self_service::profile_get).post(pages::self_service::profile_post),
        )
        .route("/account/email", post(pages::self_service::email_post))
        .route(
            "/account/password",
            get(pages::self_service::password_get).post(pages::self_service::password_post),
        )
        .route("/account/sessions", get(pages::self_service::sessions_get))
        .route(
            "/account/sessions/end",
            post(pages::self_service::sessions_end),
        )
        .route("/account/apps", get(pages::self_service::apps_get))
        .route(
            "/account/apps/revoke",
            post(pages::self_service::apps_revoke),
        )
        .route("/account/activity", get(pages::self_service::activity_get))
        .route(
            "/account/delete",
            get(pages::self_service::delete_get).post(pages::self_service::delete_post),
        )
        .route(
            "/consent",
            get(pages::consent::get).post(pages::consent::post),
        )
        .route(
            paths::DEVICE,
            get(pages::device::get).post(pages::device::post),
        )
        .route("/device/decision", post(pages::device::decide))
        .route("/upstream/{id}/start", get(pages::upstream::start))
        .route("/upstream/{id}/callback", get(pages::upstream::callback))
        .route("/account/providers", get(pages::upstream::providers))
        .route("/account/providers/link", post(pages::upstream::link))
        .route("/account/providers/unlink", post(pages::upstream::unlink))
        .route("/admin", get(pages::admin::home))
        .route("/admin/users", get(pages::admin::users::list))
        .route(
            "/admin/users/new",
            get(pages::admin::users::new_get).post(pages::admin::users::new_post),
        )
        .route("/admin/users/{id}", get(pages::admin::users::get))
        .route(
            "/admin/users/{id}/{change}",
            post(pages::admin::users::change),
        )
        .route(
            "/admin/roles",
            get(pages::admin::catalogue::roles).post(pages::admin::catalogue::add_role),
        )
        .route(
            "/admin/roles/{name}/delete",
            post(pages::admin::catalogue::delete_role),
        )
        .route(
            "/admin/scopes",
            get(pages::admin::catalogue::scopes).post(pages::admin::catalogue::add_scope),
        )
        .route(
            "/admin/scopes/{name}/delete",
            post(pages::admin::catalogue::delete_scope),
        )
        .route("/admin/clients", get(pages::admin::clients::list))
        .route(
            "/admin/clients/new",
            get(pages::admin::clients::new_get).post(pages::admin::clients::new_post),
        )
        .route(
            "/admin/clients/{id}",
            get(pages::admin::clients::get).post(pages::admin::clients::save),
        )
        .route(
            "/admin/clients/{id}/secret",
            post(pages::admin::clients::rotate_secret),
        )
        .route(
            "/admin/clients/{id}/delete",
            post(pages::admin::clients::delete),
        )
        .route("/admin/keys", get(pages::admin::keys::list))
        .route("/admin/keys/rotate", post(pages::admin::keys::rotate))
        .route("/admin/audit", get(pages::admin::audit::list));
    let ops = Router::new()
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/static/tessera.css", get(ops::stylesheet))
        .route("/static/form_post.js", get(ops::form_post_script));
    let (admin_api, openapi) = admin_api::router();
    let admin_api = Router::new().nest(admin_api::BASE, admin_api).route(
        "/admin/api/v1/openapi.json",
        get(move || {
            let document = openapi.clone();
            async move {
                (
                    [(header::CONTENT_TYPE, "application/json")],
                    axum::body::Bytes::from_owner(document),
                )
            }
        }),
    );
    // The reference reads the document above; it serves only its own assets.
    let docs = utoipa_swagger_ui::SwaggerUi::new("/admin/api/docs").config(
        utoipa_swagger_ui::Config::from("/admin/api/v1/openapi.json"),
    );
    let routes = protocol
        .merge(pages)
        .merge(docs)
        .merge(ops)
        .merge(admin_api)
        .method_not_allowed_fallback(ops::method_not_allowed)
        .merge(cross_origin);
    // Per-request labels cost an allocation or two: paid only when metrics are served.
    let routes = if state.config.settings.metrics_listen.is_some() {
        routes.route_layer(axum::middleware::from_fn(middleware::record_metrics))
    } else {
        routes
    };
    routes
        .fallback(ops::not_found)
        .layer(axum::middleware::from_fn(middleware::refuse_nul_paths))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            middleware::render_error_pages,
        ))
        .layer(DefaultBodyLimit::max(BODY_LIMIT_BYTES))
        .layer(RequestBodyTimeoutLayer::new(request_timeout))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            request_timeout,
        ))
        .layer(headers::security_headers(state.config.secure_cookies))
        .layer(middleware::trace_layer(state.config.settings.log_access))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(
            middleware::panic_response,
        ))
        .with_state(state)
}
