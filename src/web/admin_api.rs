//! The admin REST API (`/admin/api/v1`): JSON resources over the same use cases as the CLI,
//! for scripts and infrastructure tools. Every call needs an access token of this Tessera
//! with the `tessera:admin` scope whose subject is an admin (see `services::admin`); errors
//! are RFC 9457 problem documents naming the field at fault. The OpenAPI 3.1 document is
//! generated from these handlers and served at `/admin/api/v1/openapi.json`.

use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{IntoParams, Modify, OpenApi, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domain::User;
use crate::error::Problem;
use crate::oidc::{ErrorCode, OAuthError};
use crate::services::accounts::NewAccount;
use crate::services::audit::{AuditEntry, AuditQuery};
use crate::services::clients::{ClientOptions, ClientSpec, ClientView};
use crate::services::dpop::DpopRequest;
use crate::services::self_service::{GrantedApp, SessionInfo};
use crate::services::tokens::Presented;
use crate::services::{Caller, ServiceError};
use crate::state::AppState;
use crate::web::oidc::dpop;

/// Where the API lives.
pub const BASE: &str = "/admin/api/v1";

/// Users listed per page at most.
const MAX_PAGE: usize = 200;

/// A problem document with the challenge a refused token gets (RFC 6750 §3, RFC 9449 §7.1).
fn refused(error: OAuthError, dpop_scheme: bool) -> Response {
    let status = match error.code {
        ErrorCode::InsufficientScope => StatusCode::FORBIDDEN,
        ErrorCode::InvalidRequest => StatusCode::BAD_REQUEST,
        ErrorCode::TemporarilyUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorCode::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
        _ => StatusCode::UNAUTHORIZED,
    };
    let scheme = if dpop_scheme || dpop::is_dpop_error(&error) {
        "DPoP"
    } else {
        "Bearer"
    };
    let challenge = format!(
        "{scheme} realm=\"tessera-admin\", error=\"{}\", scope=\"tessera:admin\"",
        error.code.as_str()
    );
    let problem = Problem {
        kind: format!("urn:tessera:problem:{}", error.code.as_str()),
        title: if status == StatusCode::FORBIDDEN {
            "Forbidden"
        } else {
            "Unauthorized"
        },
        status: status.as_u16(),
        detail: error.description.to_string(),
        field: None,
    };
    let mut response = problem.into_response();
    if let Ok(value) = HeaderValue::from_str(&challenge) {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, value);
    }
    response
}

/// The admin making the call, as the actor of what they change.
pub struct Admin(pub Caller);

impl FromRequestParts<AppState> for Admin {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let Ok(caller) = Caller::from_request_parts(parts, state).await;
        let token = match dpop::authorization(&parts.headers) {
            Ok(Some(token)) => token,
            Ok(None) => {
                let mut response = Problem {
                    kind: "urn:tessera:problem:unauthorized".into(),
                    title: "Unauthorized",
                    status: 401,
                    detail: "an access token with the tessera:admin scope is required".into(),
                    field: None,
                }
                .into_response();
                response.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static(
                        "Bearer realm=\"tessera-admin\", scope=\"tessera:admin\"",
                    ),
                );
                return Err(response);
            }
            Err(e) => return Err(refused(e, false)),
        };
        let (token, dpop_scheme) = token;
        let proof = dpop::proof_header(&parts.headers).map_err(|e| refused(e, dpop_scheme))?;
        let presented = Presented {
            token: &token,
            dpop_scheme,
            dpop: DpopRequest {
                proof,
                method: parts.method.as_str(),
                path: parts.uri.path(),
            },
        };
        state
            .services
            .admin_caller(&presented, &caller)
            .await
            .map(Admin)
            .map_err(|e| refused(e, dpop_scheme))
    }
}

/// A JSON body whose rejections are problem documents (unknown fields included).
pub struct Body<T>(pub T);

impl<T: serde::de::DeserializeOwned> FromRequest<AppState> for Body<T> {
    type Rejection = Problem;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Problem> {
        match Json::<T>::from_request(request, state).await {
            Ok(Json(value)) => Ok(Body(value)),
            Err(rejection) => {
                let (slug, title, status) = match &rejection {
                    JsonRejection::JsonDataError(_) => ("invalid", "Validation failed", 422),
                    JsonRejection::MissingJsonContentType(_) => {
                        ("unsupported-media-type", "Unsupported media type", 415)
                    }
                    _ => ("malformed", "Malformed request", 400),
                };
                Err(Problem {
                    kind: format!("urn:tessera:problem:{slug}"),
                    title,
                    status,
                    detail: rejection.body_text(),
                    field: None,
                })
            }
        }
    }
}

/// A query string whose rejections are problem documents (unknown parameters included).
pub struct Params<T>(pub T);

impl<T: serde::de::DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Params<T> {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Problem> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(value)| Params(value))
            .map_err(|rejection| Problem {
                kind: "urn:tessera:problem:invalid".into(),
                title: "Validation failed",
                status: 422,
                detail: rejection.body_text(),
                field: None,
            })
    }
}

/// A user as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserView {
    /// Stable id (the `sub` of their tokens).
    pub id: String,
    /// Username.
    pub username: String,
    /// E-mail address.
    pub email: String,
    /// Whether the address is confirmed.
    pub email_verified: bool,
    /// Display name.
    pub name: Option<String>,
    /// Whether the account may sign in.
    pub enabled: bool,
    /// Role names.
    pub roles: Vec<String>,
    /// Creation time, Unix seconds.
    pub created_at: i64,
}

impl From<User> for UserView {
    fn from(u: User) -> Self {
        UserView {
            id: u.id,
            username: u.username,
            email: u.email,
            email_verified: u.email_verified,
            name: u.name,
            enabled: u.enabled,
            roles: u.roles,
            created_at: u.created_at,
        }
    }
}

/// A page of users.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserPage {
    /// The users of this page, by username.
    pub items: Vec<UserView>,
    /// Pass as `cursor` for the next page; absent on the last one.
    pub next_cursor: Option<String>,
}

/// Paging and search of the user list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct UserQuery {
    /// Only users whose username, e-mail or name contains this (case-insensitive).
    pub q: Option<String>,
    /// Where the previous page ended (its `next_cursor`).
    pub cursor: Option<String>,
    /// Users per page (1 to 200, default 50).
    pub limit: Option<usize>,
}

/// A new user.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUserBody {
    /// Username.
    pub username: String,
    /// E-mail address.
    pub email: String,
    /// Display name.
    pub name: Option<String>,
    /// The password; without one, the user is mailed a link to choose theirs.
    pub password: Option<String>,
    /// Roles (default: `registration.default_roles`).
    pub roles: Option<Vec<String>>,
}

/// A role.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleBody {
    /// Role name.
    pub name: String,
    /// What the role is for.
    #[serde(default)]
    pub description: String,
    /// How many users hold it (ignored when creating).
    #[serde(default)]
    pub members: i64,
}

fn problem(e: ServiceError) -> Problem {
    Problem::from(e)
}

/// List users, with search and cursor paging.
#[utoipa::path(get, path = "/users", params(UserQuery),
    responses((status = 200, body = UserPage), (status = 401), (status = 403)),
    security(("bearer" = [])), tag = "users")]
async fn list_users(
    State(state): State<AppState>,
    _admin: Admin,
    Params(query): Params<UserQuery>,
) -> Result<Json<UserPage>, Problem> {
    let limit = query.limit.unwrap_or(50).clamp(1, MAX_PAGE);
    let (users, next_cursor) = state
        .services
        .users_page(query.q.as_deref(), query.cursor.as_deref(), limit)
        .await
        .map_err(problem)?;
    let items = users.into_iter().map(UserView::from).collect();
    Ok(Json(UserPage { items, next_cursor }))
}

/// Create a user (201 with `Location`); without a password the user is mailed a link.
#[utoipa::path(post, path = "/users", request_body = NewUserBody,
    responses((status = 201, body = UserView), (status = 409), (status = 422)),
    security(("bearer" = [])), tag = "users")]
async fn create_user(
    State(state): State<AppState>,
    Admin(caller): Admin,
    Body(body): Body<NewUserBody>,
) -> Result<Response, Problem> {
    let roles = body
        .roles
        .unwrap_or_else(|| state.config.settings.registration.default_roles.clone());
    let account = NewAccount {
        username: body.username,
        email: body.email,
        name: body.name,
        password: body.password.clone().unwrap_or_default(),
        roles,
    };
    let user = match body.password {
        Some(_) => state.services.create_user(&caller, account).await,
        None => {
            state
                .services
                .create_user_with_invitation(&caller, account)
                .await
        }
    }
    .map_err(problem)?;
    let location = format!("{BASE}/users/{}", user.id);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(UserView::from(user)),
    )
        .into_response())
}

/// One user, by id, username or e-mail.
#[utoipa::path(get, path = "/users/{id}", params(("id" = String, Path, description = "id, username or e-mail")),
    responses((status = 200, body = UserView), (status = 404)),
    security(("bearer" = [])), tag = "users")]
async fn get_user(
    State(state): State<AppState>,
    _admin: Admin,
    Path(id): Path<String>,
) -> Result<Json<UserView>, Problem> {
    let user = state.services.user(&id).await.map_err(problem)?;
    Ok(Json(user.into()))
}

/// Delete a user; their sessions and tokens go with them.
#[utoipa::path(delete, path = "/users/{id}", params(("id" = String, Path, description = "id, username or e-mail")),
    responses((status = 204), (status = 404)),
    security(("bearer" = [])), tag = "users")]
async fn delete_user(
    State(state): State<AppState>,
    Admin(caller): Admin,
    Path(id): Path<String>,
) -> Result<StatusCode, Problem> {
    state
        .services
        .delete_user(&caller, &id)
        .await
        .map_err(problem)?;
    Ok(StatusCode::NO_CONTENT)
}

/// A user's roles.
#[utoipa::path(get, path = "/users/{id}/roles", params(("id" = String, Path, description = "id, username or e-mail")),
    responses((status = 200, body = Vec<String>), (status = 404)),
    security(("bearer" = [])), tag = "users")]
async fn get_user_roles(
    State(state): State<AppState>,
    _admin: Admin,
    Path(id): Path<String>,
) -> Result<Json<Vec<String>>, Problem> {
    let user = state.services.user(&id).await.map_err(problem)?;
    Ok(Json(user.roles))
}

/// Replace a user's roles.
#[utoipa::path(put, path = "/users/{id}/roles", params(("id" = String, Path, description = "id, username or e-mail")),
    request_body = Vec<String>,
    responses((status = 200, body = Vec<String>), (status = 404), (status = 422)),
    security(("bearer" = [])), tag = "users")]
async fn put_user_roles(
    State(state): State<AppState>,
    Admin(caller): Admin,
    Path(id): Path<String>,
    Body(roles): Body<Vec<String>>,
) -> Result<Json<Vec<String>>, Problem> {
    let user = state
        .services
        .set_roles(&caller, &id, &roles)
        .await
        .map_err(problem)?;
    Ok(Json(user.roles))
}

/// Every role.
#[utoipa::path(get, path = "/roles",
    responses((status = 200, body = Vec<RoleBody>)),
    security(("bearer" = [])), tag = "roles")]
async fn list_roles(
    State(state): State<AppState>,
    _admin: Admin,
) -> Result<Json<Vec<RoleBody>>, Problem> {
    let roles = state.services.list_roles().await.map_err(problem)?;
    Ok(Json(
        roles
            .into_iter()
            .map(|r| RoleBody {
                name: r.name,
                description: r.description,
                members: r.members,
            })
            .collect(),
    ))
}

/// Create a role (201 with `Location`).
#[utoipa::path(post, path = "/roles", request_body = RoleBody,
    responses((status = 201, body = RoleBody), (status = 409), (status = 422)),
    security(("bearer" = [])), tag = "roles")]
async fn create_role(
    State(state): State<AppState>,
    Admin(caller): Admin,
    Body(body): Body<RoleBody>,
) -> Result<Response, Problem> {
    let role = state
        .services
        .create_role(&caller, &body.name, &body.description)
        .await
        .map_err(problem)?;
    let location = format!("{BASE}/roles/{}", role.name);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(RoleBody {
            name: role.name,
            description: role.description,
            members: 0,
        }),
    )
        .into_response())
}

/// Delete a custom role (built-in ones are kept); its holders lose it.
#[utoipa::path(delete, path = "/roles/{name}", params(("name" = String, Path, description = "role name")),
    responses((status = 204), (status = 404), (status = 422)),
    security(("bearer" = [])), tag = "roles")]
async fn delete_role(
    State(state): State<AppState>,
    Admin(caller): Admin,
    Path(name): Path<String>,
) -> Result<StatusCode, Problem> {
    state
        .services
        .delete_role(&caller, &name)
        .await
        .map_err(problem)?;
    Ok(StatusCode::NO_CONTENT)
}

/// A scope of the catalogue.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScopeBody {
    /// Scope name.
    pub name: String,
    /// What granting it shares, shown on consent pages.
    #[serde(default)]
    pub description: String,
    /// Built-in scopes cannot be deleted (ignored when creating).
    #[serde(default)]
    pub builtin: bool,
}

/// Every scope of the catalogue.
#[utoipa::path(get, path = "/scopes",
    responses((status = 200, body = Vec<ScopeBody>)),
    security(("bearer" = [])), tag = "scopes")]
async fn list_scopes(
    State(state): State<AppState>,
    _admin: Admin,
) -> Result<Json<Vec<ScopeBody>>, Problem> {
    let scopes = state.services.list_scopes().await.map_err(problem)?;
    Ok(Json(
        scopes
            .into_iter()
            .map(|s| ScopeBody {
                name: s.name,
                description: s.description,
                builtin: s.builtin != 0,
            })
            .collect(),
    ))
}

/// Add a custom scope (201 with `Location`).
#[utoipa::path(post, path = "/scopes", request_body = ScopeBody,
    responses((status = 201, body = ScopeBody), (status = 409), (status = 422)),
    security(("bearer" = [])), tag = "scopes")]
async fn create_scope(
    State(state): State<AppState>,
    Admin(caller): Admin,
    Body(body): Body<ScopeBody>,
) -> Result<Response, Problem> {
    let scope = state
        .services
        .create_scope(&caller, &body.name, &body.description)
        .await
        .map_err(problem)?;
    let location = format!("{BASE}/scopes/{}", scope.name);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(ScopeBody {
            name: scope.name,
            description: scope.description,
            builtin: false,
        }),
    )
        .into_response())
}

/// Delete a custom scope; every client registered for it loses it.
#[utoipa::path(delete, path = "/scopes/{name}", params(("name" = String, Path, description = "scope name")),
    responses((status = 204), (status = 404), (status = 422)),
    security(("bearer" = [])), tag = "scopes")]
async fn delete_scope(
    State(state): State<AppState>,
    Admin(caller): Admin,
    Path(name): Path<String>,
) -> Result<StatusCode, Problem> {
    state
        .services
        .delete_scope(&caller, &name)
        .await
        .map_err(problem)?;
    Ok(StatusCode::NO_CONTENT)
}

/// A signing key.
#[derive(Debug, Serialize, ToSchema)]
pub struct KeyView {
    /// Key id (`kid`).
    pub kid: String,
    /// Algorithm.
    pub alg: String,
    /// `next`, `active`, `retired` or `expired`.
    pub state: String,
    /// Creation time, Unix seconds.
    pub created_at: i64,
    /// When it starts signing, Unix seconds.
    pub activate_at: i64,
}

/// The signing keys this node has loaded.
#[utoipa::path(get, path = "/keys",
    responses((status = 200, body = Vec<KeyView>)),
    security(("bearer" = [])), tag = "keys")]
async fn list_keys(State(state): State<AppState>, _admin: Admin) -> Json<Vec<KeyView>> {
    Json(
        state
            .services
            .keys()
            .list()
            .into_iter()
            .map(|k| KeyView {
                kid: k.kid,
                alg: k.alg.to_string(),
                state: k.state.as_str().to_string(),
                created_at: k.created_at,
                activate_at: k.activate_at,
            })
            .collect(),
    )
}

/// New keys of every algorithm: they sign once every node loaded them.
#[derive(Debug, Serialize, ToSchema)]
pub struct Rotation {
    /// The new key ids.
    pub created: Vec<String>,
    /// Seconds until they sign (`tokens.key_refresh_secs`).
    pub activates_in_secs: i64,
}

/// Rotate the signing keys of every algorithm.
#[utoipa::path(post, path = "/keys",
    responses((status = 201, body = Rotation)),
    security(("bearer" = [])), tag = "keys")]
async fn rotate_keys(
    State(state): State<AppState>,
    Admin(caller): Admin,
) -> Result<(StatusCode, Json<Rotation>), Problem> {
    let delay = state.config.settings.tokens.key_refresh_secs as i64;
    let created = state
        .services
        .rotate_keys(&caller, &crate::domain::SigningAlg::ALL, delay)
        .await
        .map_err(problem)?;
    Ok((
        StatusCode::CREATED,
        Json(Rotation {
            created,
            activates_in_secs: delay,
        }),
    ))
}

/// A new client: the fields of `tessera client add`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct NewClientBody {
    /// Fixed client_id (default: random).
    pub client_id: Option<String>,
    /// Name shown on consent pages.
    pub name: String,
    /// Exact redirect URIs.
    pub redirect_uris: Vec<String>,
    /// Exact post-logout redirect URIs.
    pub post_logout_redirect_uris: Vec<String>,
    /// A public client (no secret, PKCE required).
    pub public: bool,
    /// Grant types (default: authorization_code, refresh_token).
    pub grant_types: Vec<String>,
    /// Scopes (default: openid profile email roles offline_access).
    pub scopes: Vec<String>,
    /// The client's own roles.
    pub roles: Vec<String>,
    /// Users are not asked for consent.
    pub skip_consent: bool,
    /// Sign-ins need two factors.
    pub require_mfa: bool,
    /// RS256, ES256 or EdDSA.
    pub id_token_alg: Option<String>,
    /// May leave PKCE out (confidential clients).
    pub allow_no_pkce: Option<bool>,
    /// A resource server that may introspect any token.
    pub introspect_any: Option<bool>,
    /// Must push authorization requests.
    pub require_par: Option<bool>,
    /// Access tokens must be DPoP-bound.
    pub require_dpop: Option<bool>,
    /// Resource indicators (replaces all).
    pub resources: Option<Vec<String>>,
    /// Back-channel logout URI ("" removes it).
    pub backchannel_logout_uri: Option<String>,
    /// Logout tokens carry `sid`.
    pub backchannel_logout_session_required: Option<bool>,
    /// A JWKS of the client's public keys: it authenticates with private_key_jwt.
    #[schema(value_type = Option<Object>)]
    pub jwks: Option<serde_json::Value>,
    /// Where its public keys are published: it authenticates with private_key_jwt.
    pub jwks_uri: Option<String>,
}

/// The settings of a request body that can change after registration.
macro_rules! client_options {
    ($body:expr) => {
        ClientOptions {
            name: None,
            redirect_uris: None,
            post_logout_redirect_uris: None,
            grant_types: None,
            scopes: None,
            roles: None,
            skip_consent: None,
            require_mfa: None,
            id_token_alg: None,
            allow_no_pkce: $body.allow_no_pkce,
            introspect_any: $body.introspect_any,
            require_par: $body.require_par,
            require_dpop: $body.require_dpop,
            resources: $body.resources,
            backchannel_logout_uri: $body.backchannel_logout_uri,
            backchannel_logout_session_required: $body.backchannel_logout_session_required,
            jwks: $body.jwks.map(|j| j.to_string()),
            jwks_uri: $body.jwks_uri,
        }
    };
}

/// A client just registered, with its secret (shown once).
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedClient {
    /// The client.
    pub client: ClientView,
    /// Its secret, for a confidential client with no keys.
    pub client_secret: Option<String>,
}

/// A client's new secret (shown once).
#[derive(Debug, Serialize, ToSchema)]
pub struct NewSecret {
    /// The new secret; the old one no longer works.
    pub client_secret: String,
}

/// Changes to a client.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct ClientPatch {
    /// Switch the client off or on.
    pub enabled: Option<bool>,
    /// Name shown on consent pages.
    pub name: Option<String>,
    /// Exact redirect URIs (replaces all).
    pub redirect_uris: Option<Vec<String>>,
    /// Exact post-logout redirect URIs (replaces all).
    pub post_logout_redirect_uris: Option<Vec<String>>,
    /// Grant types (replaces all).
    pub grant_types: Option<Vec<String>>,
    /// Scopes (replaces all).
    pub scopes: Option<Vec<String>>,
    /// The client's own roles (replaces all).
    pub roles: Option<Vec<String>>,
    /// Users are not asked for consent.
    pub skip_consent: Option<bool>,
    /// Sign-ins need two factors.
    pub require_mfa: Option<bool>,
    /// RS256, ES256 or EdDSA.
    pub id_token_alg: Option<String>,
    /// May leave PKCE out (confidential clients).
    pub allow_no_pkce: Option<bool>,
    /// A resource server that may introspect any token.
    pub introspect_any: Option<bool>,
    /// Must push authorization requests.
    pub require_par: Option<bool>,
    /// Access tokens must be DPoP-bound.
    pub require_dpop: Option<bool>,
    /// Resource indicators (replaces all).
    pub resources: Option<Vec<String>>,
    /// Back-channel logout URI ("" removes it).
    pub backchannel_logout_uri: Option<String>,
    /// Logout tokens carry `sid`.
    pub backchannel_logout_session_required: Option<bool>,
    /// A JWKS of the client's public keys: it authenticates with private_key_jwt.
    #[schema(value_type = Option<Object>)]
    pub jwks: Option<serde_json::Value>,
    /// Where its public keys are published: it authenticates with private_key_jwt.
    pub jwks_uri: Option<String>,
}

/// Every client.
#[utoipa::path(get, path = "/clients",
    responses((status = 200, body = Vec<ClientView>)),
    security(("bearer" = [])), tag = "clients")]
async fn list_clients(
    State(state): State<AppState>,
    _admin: Admin,
) -> Result<Json<Vec<ClientView>>, Problem> {
    let clients = state.services.list_clients().await.map_err(problem)?;
    Ok(Json(clients.iter().map(ClientView::from).collect()))
}

/// Register a client (201 with `Location`); its secret is shown this once.
#[utoipa::path(post, path = "/clients", request_body = NewClientBody,
    responses((status = 201, body = CreatedClient), (status = 409), (status = 422)),
    security(("bearer" = [])), tag = "clients")]
async fn create_client(
    State(state): State<AppState>,
    Admin(caller): Admin,
    Body(body): Body<NewClientBody>,
) -> Result<Response, Problem> {
    let spec = ClientSpec {
        client_id: body.client_id,
        name: body.name,
        redirect_uris: body.redirect_uris,
        post_logout_redirect_uris: body.post_logout_redirect_uris,
        public: body.public,
        grant_types: body.grant_types,
        scopes: body.scopes,
        roles: body.roles,
        skip_consent: body.skip_consent,
        require_mfa: body.require_mfa,
        id_token_alg: body.id_token_alg,
        options: client_options!(body),
    };
    let registered = state
        .services
        .register_client(&caller, spec)
        .await
        .map_err(problem)?;
    let location = format!("{BASE}/clients/{}", registered.client.id);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(CreatedClient {
            client: ClientView::from(&registered.client),
            client_secret: registered.secret,
        }),
    )
        .into_response())
}

/// One client.
#[utoipa::path(get, path = "/clients/{id}", params(("id" = String, Path, description = "client_id")),
    responses((status = 200, body = ClientView), (status = 404)),
    security(("bearer" = [])), tag = "clients")]
async fn get_client(
    State(state): State<AppState>,
    _admin: Admin,
    Path(id): Path<String>,
) -> Result<Json<ClientView>, Problem> {
    let client = state.services.client(&id).await.map_err(problem)?;
    Ok(Json(ClientView::from(&client)))
}

/// Change a client's settings or switch it off and on.
#[utoipa::path(patch, path = "/clients/{id}", params(("id" = String, Path, description = "client_id")),
    request_body = ClientPatch,
    responses((status = 200, body = ClientView), (status = 404), (status = 422)),
    security(("bearer" = [])), tag = "clients")]
async fn patch_client(
    State(state): State<AppState>,
    Admin(caller): Admin,
    Path(id): Path<String>,
    Body(patch): Body<ClientPatch>,
) -> Result<Json<ClientView>, Problem> {
    if let Some(enabled) = patch.enabled {
        state
            .services
            .set_client_enabled(&caller, &id, enabled)
            .await
            .map_err(problem)?;
    }
    let options = ClientOptions {
        name: patch.name,
        redirect_uris: patch.redirect_uris,
        post_logout_redirect_uris: patch.post_logout_redirect_uris,
        grant_types: patch.grant_types,
        scopes: patch.scopes,
        roles: patch.roles,
        skip_consent: patch.skip_consent,
        require_mfa: patch.require_mfa,
        id_token_alg: patch.id_token_alg,
        ..client_options!(patch)
    };
    let client = state
        .services
        .update_client(&caller, &id, options)
        .await
        .map_err(problem)?;
    Ok(Json(ClientView::from(&client)))
}

/// Delete a client with its grants, tokens and consents.
#[utoipa::path(delete, path = "/clients/{id}", params(("id" = String, Path, description = "client_id")),
    responses((status = 204), (status = 404)),
    security(("bearer" = [])), tag = "clients")]
async fn delete_client(
    State(state): State<AppState>,
    Admin(caller): Admin,
    Path(id): Path<String>,
) -> Result<StatusCode, Problem> {
    state
        .services
        .delete_client(&caller, &id)
        .await
        .map_err(problem)?;
    Ok(StatusCode::NO_CONTENT)
}

/// Replace a confidential client's secret; the new one is shown this once.
#[utoipa::path(post, path = "/clients/{id}/secret", params(("id" = String, Path, description = "client_id")),
    responses((status = 200, body = NewSecret), (status = 404)),
    security(("bearer" = [])), tag = "clients")]
async fn rotate_secret(
    State(state): State<AppState>,
    Admin(caller): Admin,
    Path(id): Path<String>,
) -> Result<Json<NewSecret>, Problem> {
    let client_secret = state
        .services
        .rotate_client_secret(&caller, &id)
        .await
        .map_err(problem)?;
    Ok(Json(NewSecret { client_secret }))
}

/// Changes to a user.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct UserPatch {
    /// Switch the account off (sessions end, tokens are revoked) or on.
    pub enabled: Option<bool>,
}

/// Switch a user off or on.
#[utoipa::path(patch, path = "/users/{id}", params(("id" = String, Path, description = "id, username or e-mail")),
    request_body = UserPatch,
    responses((status = 200, body = UserView), (status = 404), (status = 422)),
    security(("bearer" = [])), tag = "users")]
async fn patch_user(
    State(state): State<AppState>,
    Admin(caller): Admin,
    Path(id): Path<String>,
    Body(patch): Body<UserPatch>,
) -> Result<Json<UserView>, Problem> {
    let user = match patch.enabled {
        Some(enabled) => state.services.set_enabled(&caller, &id, enabled).await,
        None => state.services.user(&id).await,
    }
    .map_err(problem)?;
    Ok(Json(user.into()))
}

/// A new password.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordBody {
    /// The new password (the password policy applies).
    pub password: String,
}

/// Set a user's password: their sessions end and their tokens are revoked.
#[utoipa::path(put, path = "/users/{id}/password", params(("id" = String, Path, description = "id, username or e-mail")),
    request_body = PasswordBody,
    responses((status = 204), (status = 404), (status = 422)),
    security(("bearer" = [])), tag = "users")]
async fn set_password(
    State(state): State<AppState>,
    Admin(caller): Admin,
    Path(id): Path<String>,
    Body(body): Body<PasswordBody>,
) -> Result<StatusCode, Problem> {
    state
        .services
        .set_password(&caller, &id, body.password)
        .await
        .map_err(problem)?;
    Ok(StatusCode::NO_CONTENT)
}

/// Mail a user a link to choose a new password.
#[utoipa::path(post, path = "/users/{id}/password-reset", params(("id" = String, Path, description = "id, username or e-mail")),
    responses((status = 202), (status = 404)),
    security(("bearer" = [])), tag = "users")]
async fn send_password_reset(
    State(state): State<AppState>,
    Admin(caller): Admin,
    Path(id): Path<String>,
) -> Result<StatusCode, Problem> {
    let user = state.services.user(&id).await.map_err(problem)?;
    state
        .services
        .forgot_password(&caller, &user.username)
        .await
        .map_err(problem)?;
    Ok(StatusCode::ACCEPTED)
}

/// Lift a user's sign-in lock.
#[utoipa::path(post, path = "/users/{id}/unlock", params(("id" = String, Path, description = "id, username or e-mail")),
    responses((status = 204), (status = 404)),
    security(("bearer" = [])), tag = "users")]
async fn unlock_user(
    State(state): State<AppState>,
    Admin(caller): Admin,
    Path(id): Path<String>,
) -> Result<StatusCode, Problem> {
    state
        .services
        .unlock_user(&caller, &id)
        .await
        .map_err(problem)?;
    Ok(StatusCode::NO_CONTENT)
}

/// Remove a user's second factor (TOTP and recovery codes); they are told by mail.
#[utoipa::path(delete, path = "/users/{id}/second-factor", params(("id" = String, Path, description = "id, username or e-mail")),
    responses((status = 204), (status = 404)),
    security(("bearer" = [])), tag = "users")]
async fn reset_second_factor(
    State(state): State<AppState>,
    Admin(caller): Admin,
    Path(id): Path<String>,
) -> Result<StatusCode, Problem> {
    state
        .services
        .reset_mfa(&caller, &id)
        .await
        .map_err(problem)?;
    Ok(StatusCode::NO_CONTENT)
}

/// An invitation to sign up.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InvitationBody {
    /// Where the invitation goes.
    pub email: String,
    /// Roles of the account it creates (default: `registration.default_roles`).
    #[serde(default)]
    pub roles: Vec<String>,
}

/// Mail an invitation link that creates an account with the given roles.
#[utoipa::path(post, path = "/invitations", request_body = InvitationBody,
    responses((status = 202), (status = 409), (status = 422)),
    security(("bearer" = [])), tag = "users")]
async fn invite(
    State(state): State<AppState>,
    Admin(caller): Admin,
    Body(body): Body<InvitationBody>,
) -> Result<StatusCode, Problem> {
    state
        .services
        .invite(&caller, &body.email, &body.roles)
        .await
        .map_err(problem)?;
    Ok(StatusCode::ACCEPTED)
}

/// A user's live sessions.
#[utoipa::path(get, path = "/users/{id}/sessions", params(("id" = String, Path, description = "id, username or e-mail")),
    responses((status = 200, body = Vec<SessionInfo>), (status = 404)),
    security(("bearer" = [])), tag = "users")]
async fn list_sessions(
    State(state): State<AppState>,
    _admin: Admin,
    Path(id): Path<String>,
) -> Result<Json<Vec<SessionInfo>>, Problem> {
    let user = state.services.user(&id).await.map_err(problem)?;
    let sessions = state
        .services
        .sessions_of(&user.id, None)
        .await
        .map_err(problem)?;
    Ok(Json(sessions))
}

/// End every session of a user (their grants are revoked, listening apps told).
#[utoipa::path(delete, path = "/users/{id}/sessions", params(("id" = String, Path, description = "id, username or e-mail")),
    responses((status = 204), (status = 404)),
    security(("bearer" = [])), tag = "users")]
async fn end_sessions(
    State(state): State<AppState>,
    Admin(caller): Admin,
    Path(id): Path<String>,
) -> Result<StatusCode, Problem> {
    state
        .services
        .end_sessions(&caller, &id, None, None)
        .await
        .map_err(problem)?;
    Ok(StatusCode::NO_CONTENT)
}

/// End one session of a user.
#[utoipa::path(delete, path = "/users/{id}/sessions/{session}", params(
        ("id" = String, Path, description = "id, username or e-mail"),
        ("session" = String, Path, description = "session id")),
    responses((status = 204), (status = 404)),
    security(("bearer" = [])), tag = "users")]
async fn end_session(
    State(state): State<AppState>,
    Admin(caller): Admin,
    Path((id, session)): Path<(String, String)>,
) -> Result<StatusCode, Problem> {
    state
        .services
        .end_sessions(&caller, &id, Some(&session), None)
        .await
        .map_err(problem)?;
    Ok(StatusCode::NO_CONTENT)
}

/// The applications a user allowed.
#[utoipa::path(get, path = "/users/{id}/grants", params(("id" = String, Path, description = "id, username or e-mail")),
    responses((status = 200, body = Vec<GrantedApp>), (status = 404)),
    security(("bearer" = [])), tag = "users")]
async fn list_grants(
    State(state): State<AppState>,
    _admin: Admin,
    Path(id): Path<String>,
) -> Result<Json<Vec<GrantedApp>>, Problem> {
    let user = state.services.user(&id).await.map_err(problem)?;
    Ok(Json(
        state.services.apps_of(&user.id).await.map_err(problem)?,
    ))
}

/// Take an application's access to a user back (consent and tokens).
#[utoipa::path(delete, path = "/users/{id}/grants/{client_id}", params(
        ("id" = String, Path, description = "id, username or e-mail"),
        ("client_id" = String, Path, description = "the application's client_id")),
    responses((status = 204), (status = 404)),
    security(("bearer" = [])), tag = "users")]
async fn revoke_grant(
    State(state): State<AppState>,
    Admin(caller): Admin,
    Path((id, client_id)): Path<(String, String)>,
) -> Result<StatusCode, Problem> {
    state
        .services
        .revoke_app(&caller, &id, &client_id)
        .await
        .map_err(problem)?;
    Ok(StatusCode::NO_CONTENT)
}

/// Filters and paging of the audit log.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AuditParams {
    /// Events concerning this user (id or username).
    pub user: Option<String>,
    /// Events involving this client.
    pub client: Option<String>,
    /// Events of this type (`sign_in`, `client_created`, …).
    #[serde(rename = "type")]
    #[param(rename = "type")]
    pub kind: Option<String>,
    /// `success` or `failure`.
    pub outcome: Option<String>,
    /// Events at or after this time (Unix seconds).
    pub since: Option<i64>,
    /// Events before this time (Unix seconds).
    pub until: Option<i64>,
    /// The `cursor` of the last event of the previous page.
    pub cursor: Option<String>,
    /// Events per page (1 to 500, default 100).
    pub limit: Option<i64>,
}

/// A page of the audit log, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditPage {
    /// The events.
    pub items: Vec<AuditEntry>,
    /// Pass as `cursor` for the next page; absent on the last one.
    pub next_cursor: Option<String>,
}

/// The audit log, filtered and paged, newest first.
#[utoipa::path(get, path = "/audit-events", params(AuditParams),
    responses((status = 200, body = AuditPage), (status = 422)),
    security(("bearer" = [])), tag = "audit")]
async fn audit_events(
    State(state): State<AppState>,
    _admin: Admin,
    Params(params): Params<AuditParams>,
) -> Result<Json<AuditPage>, Problem> {
    let limit = params.limit.unwrap_or(100).clamp(1, 500);
    let mut items = state
        .services
        .list_audit_events(AuditQuery {
            user: params.user,
            kind: params.kind,
            since_secs: None,
            since: params.since,
            until: params.until,
            client: params.client,
            outcome: params.outcome,
            after: params.cursor,
            limit: limit + 1,
        })
        .await
        .map_err(problem)?;
    let next_cursor = if items.len() as i64 > limit {
        items.truncate(limit as usize);
        items.last().map(|e| e.cursor.clone())
    } else {
        None
    };
    Ok(Json(AuditPage { items, next_cursor }))
}

/// The bearer security scheme of every operation.
struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

/// What every operation may answer besides its own outcome: problem documents for the
/// failures any call can meet, and a description for every response.
struct Conventions;

/// The failures every operation documents.
const FAILURES: [(&str, &str); 8] = [
    ("400", "The request is malformed"),
    ("401", "No valid access token"),
    (
        "403",
        "The token lacks the tessera:admin scope, or its subject is not an admin",
    ),
    ("404", "No such object"),
    ("409", "A name or address is taken"),
    ("415", "The body is not JSON"),
    ("422", "A value is invalid; `field` names it"),
    ("503", "The database is unreachable for now"),
];

fn described(status: &str) -> &'static str {
    match status {
        "200" => "OK",
        "201" => "Created; `Location` names it",
        "202" => "Accepted; a mail goes out",
        "204" => "Done",
        _ => "See the problem document",
    }
}

impl Modify for Conventions {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};
        for item in openapi.paths.paths.values_mut() {
            let operations = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ];
            for operation in operations.into_iter().flatten() {
                let responses = &mut operation.responses.responses;
                for (status, response) in responses.iter_mut() {
                    if let RefOr::T(response) = response
                        && response.description.is_empty()
                    {
                        response.description = described(status).into();
                    }
                }
                for (status, text) in FAILURES {
                    responses.entry(status.into()).or_insert_with(|| {
                        RefOr::T(
                            ResponseBuilder::new()
                                .description(text)
                                .content(
                                    "application/problem+json",
                                    ContentBuilder::new()
                                        .schema(Some(Ref::from_schema_name("Problem")))
                                        .build(),
                                )
                                .build(),
                        )
                    });
                }
            }
        }
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Tessera admin API",
        version = "1",
        description = "Users, roles and more, for scripts. Needs an access token of this Tessera with the tessera:admin scope whose subject has the admin role."
    ),
    servers((url = "/admin/api/v1")),
    components(schemas(Problem)),
    modifiers(&BearerAuth)
)]
struct ApiDoc;

/// The API's routes (to nest at [`BASE`]) and its OpenAPI document as JSON.
pub fn router() -> (axum::Router<AppState>, Arc<[u8]>) {
    let (router, mut api) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(list_users, create_user))
        .routes(routes!(get_user, patch_user, delete_user))
        .routes(routes!(set_password))
        .routes(routes!(send_password_reset))
        .routes(routes!(unlock_user))
        .routes(routes!(reset_second_factor))
        .routes(routes!(invite))
        .routes(routes!(get_user_roles, put_user_roles))
        .routes(routes!(list_sessions, end_sessions))
        .routes(routes!(end_session))
        .routes(routes!(list_grants))
        .routes(routes!(revoke_grant))
        .routes(routes!(list_roles, create_role))
        .routes(routes!(delete_role))
        .routes(routes!(list_scopes, create_scope))
        .routes(routes!(delete_scope))
        .routes(routes!(list_keys, rotate_keys))
        .routes(routes!(list_clients, create_client))
        .routes(routes!(get_client, patch_client, delete_client))
        .routes(routes!(rotate_secret))
        .routes(routes!(audit_events))
        .split_for_parts();
    // The paths exist only now, so the conventions for their responses apply now.
    Conventions.modify(&mut api);
    let document = api.to_json().unwrap_or_else(|_| "{}".into());
    (router, Arc::from(document.into_bytes()))
}
