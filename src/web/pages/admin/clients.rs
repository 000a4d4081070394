//! The console's clients: list, register and edit with every field the CLI has, rotate the
//! secret (shown once) and delete.

use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use serde_json::{Value, json};

use super::{Confirmation, Console, checked, confirm, confirmed, lines, notice_of, refusal, show};
use crate::error::AppError;
use crate::oidc::params::Params;
use crate::services::clients::{ClientOptions, ClientSpec, ClientView};
use crate::state::AppState;
use crate::web::csrf::CheckedForm;

const LIST: (&str, &str, &str) = ("admin_clients.html", "clients", "Clients");
const FORM: (&str, &str, &str) = ("admin_client.html", "clients", "Client");
const SECRET: (&str, &str, &str) = ("admin_client_secret.html", "clients", "New client secret");

/// A client's page: its id may be a URL (a Client ID Metadata Document), so it is encoded.
fn client_path(id: &str) -> String {
    format!("/admin/clients/{}", crate::web::path_segment(id))
}

/// The confirmation of the change `action` to a client, its question still to be set.
fn asking(id: &str, action: &str, consequence: &'static str) -> Confirmation<'static> {
    Confirmation {
        question: String::new(),
        consequence,
        action: format!("{}/{action}", client_path(id)),
        fields: Vec::new(),
        back: client_path(id),
    }
}

const GRANT_TYPES: [&str; 4] = [
    "authorization_code",
    "refresh_token",
    "client_credentials",
    "urn:ietf:params:oauth:grant-type:device_code",
];
const ALGORITHMS: [&str; 3] = ["RS256", "ES256", "EdDSA"];

/// `GET /admin/clients`.
pub async fn list(
    State(state): State<AppState>,
    _console: Console,
    jar: CookieJar,
    uri: Uri,
) -> Result<Response, AppError> {
    let clients: Vec<Value> = state
        .services
        .list_clients()
        .await?
        .iter()
        .map(|c| json!({ "path": client_path(&c.id), "client": ClientView::from(c) }))
        .collect();
    show(
        &state,
        jar,
        StatusCode::OK,
        LIST,
        json!({ "clients": clients, "notice": notice_of(&uri) }),
    )
}

/// The form's values for a registered client.
fn form_of(c: &ClientView) -> Value {
    json!({
        "client_id": c.client_id, "name": c.name, "public": c.public,
        "redirect_uris": c.redirect_uris.join("\n"),
        "post_logout_redirect_uris": c.post_logout_redirect_uris.join("\n"),
        "grant_types": c.grant_types, "scopes": c.scopes, "roles": c.roles,
        "skip_consent": c.skip_consent, "require_mfa": c.require_mfa, "id_token_alg": c.id_token_alg,
        "allow_no_pkce": c.allow_no_pkce, "introspect_any": c.introspect_any,
        "require_par": c.require_par, "require_dpop": c.require_dpop,
        "resources": c.resources.join("\n"),
        "backchannel_logout_uri": c.backchannel_logout_uri,
        "backchannel_logout_session_required": c.backchannel_logout_session_required,
        "current_jwks": c.jwks.as_ref().map(|j| j.to_string()), "jwks_uri": c.jwks_uri,
        "enabled": c.enabled, "auth_method": c.token_endpoint_auth_method,
        "self_registered": c.self_registered, "path": client_path(&c.client_id),
    })
}

/// The form's values as typed, to show again with the reason they were refused.
fn form_typed(params: &Params, existing: Option<&ClientView>) -> Value {
    let text = |name| params.get(name).unwrap_or_default();
    let on = |name| params.get(name).is_some();
    json!({
        "client_id": existing.map_or(text("client_id"), |c| c.client_id.as_str()),
        "public": existing.map_or(on("public"), |c| c.public),
        "name": text("name"), "redirect_uris": text("redirect_uris"),
        "post_logout_redirect_uris": text("post_logout_redirect_uris"),
        "grant_types": checked(params, "grant"), "scopes": checked(params, "scope"),
        "roles": checked(params, "role"), "skip_consent": on("skip_consent"),
        "require_mfa": on("require_mfa"), "id_token_alg": text("id_token_alg"),
        "allow_no_pkce": on("allow_no_pkce"), "introspect_any": on("introspect_any"),
        "require_par": on("require_par"), "require_dpop": on("require_dpop"),
        "resources": text("resources"), "backchannel_logout_uri": text("backchannel_logout_uri"),
        "backchannel_logout_session_required": on("backchannel_logout_session_required"),
        "current_jwks": existing.and_then(|c| c.jwks.as_ref()).map(|j| j.to_string()),
        "jwks": text("jwks"), "jwks_uri": text("jwks_uri"), "enabled": on("enabled"),
        "auth_method": existing.map(|c| c.token_endpoint_auth_method.as_str()),
        "self_registered": existing.is_some_and(|c| c.self_registered),
        "path": existing.map(|c| client_path(&c.client_id)),
    })
}

/// Every setting the form carries; an empty key field keeps the keys a client has.
fn options_of(params: &Params) -> ClientOptions {
    let on = |name| Some(params.get(name).is_some());
    let given = |name| {
        params
            .get(name)
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_string)
    };
    ClientOptions {
        name: Some(params.get("name").unwrap_or_default().to_string()),
        redirect_uris: Some(lines(params.get("redirect_uris"))),
        post_logout_redirect_uris: Some(lines(params.get("post_logout_redirect_uris"))),
        grant_types: Some(checked(params, "grant")),
        scopes: Some(checked(params, "scope")),
        roles: Some(checked(params, "role")),
        skip_consent: on("skip_consent"),
        require_mfa: on("require_mfa"),
        id_token_alg: given("id_token_alg"),
        allow_no_pkce: on("allow_no_pkce"),
        introspect_any: on("introspect_any"),
        require_par: on("require_par"),
        require_dpop: on("require_dpop"),
        resources: Some(lines(params.get("resources"))),
        backchannel_logout_uri: Some(given("backchannel_logout_uri").unwrap_or_default()),
        backchannel_logout_session_required: on("backchannel_logout_session_required"),
        jwks: given("jwks"),
        jwks_uri: given("jwks_uri"),
    }
}

/// `options` without the lists and keys the form sent back as they were: what the admin
/// did not touch is not validated again, so a self-registered app's native redirect URIs
/// or its published key address stay as registered.
fn unchanged_left_out(mut options: ClientOptions, current: &ClientView) -> ClientOptions {
    let same = |new: &Option<Vec<String>>, old: &[String]| new.as_deref() == Some(old);
    if same(&options.redirect_uris, &current.redirect_uris) {
        options.redirect_uris = None;
    }
    if same(
        &options.post_logout_redirect_uris,
        &current.post_logout_redirect_uris,
    ) {
        options.post_logout_redirect_uris = None;
    }
    if options.jwks_uri.is_some() && options.jwks_uri == current.jwks_uri {
        options.jwks_uri = None;
    }
    options
}

/// The client form: a new client (`editing` false) or a registered one.
async fn form_page(
    state: &AppState,
    jar: CookieJar,
    status: StatusCode,
    (form, editing): (Value, bool),
    (notice, error): (Option<&str>, Option<String>),
) -> Result<Response, AppError> {
    let scopes: Vec<String> = state
        .services
        .list_scopes()
        .await?
        .into_iter()
        .map(|s| s.name)
        .collect();
    let roles: Vec<String> = state
        .services
        .list_roles()
        .await?
        .into_iter()
        .map(|r| r.name)
        .collect();
    let title = if editing {
        format!("Client {}", form["name"].as_str().unwrap_or_default())
    } else {
        "New client".to_string()
    };
    show(
        state,
        jar,
        status,
        FORM,
        json!({
            "title": title, "form": form, "editing": editing, "catalogue_scopes": scopes,
            "catalogue_roles": roles, "grant_types": GRANT_TYPES, "algorithms": ALGORITHMS,
            "notice": notice, "error": error,
        }),
    )
}

/// `GET /admin/clients/new`.
pub async fn new_get(
    State(state): State<AppState>,
    _console: Console,
    jar: CookieJar,
) -> Result<Response, AppError> {
    let blank = json!({
        "grant_types": ["authorization_code", "refresh_token"],
        "scopes": crate::oidc::scopes::DEFAULT_CLIENT_SCOPES.split(' ').collect::<Vec<_>>(),
        "id_token_alg": "RS256", "enabled": true,
    });
    form_page(&state, jar, StatusCode::OK, (blank, false), (None, None)).await
}

/// `POST /admin/clients/new`: registers the client; a secret is shown this once.
pub async fn new_post(
    State(state): State<AppState>,
    console: Console,
    jar: CookieJar,
    CheckedForm(params): CheckedForm,
) -> Result<Response, AppError> {
    let mut options = options_of(&params);
    let spec = ClientSpec {
        client_id: params
            .get("client_id")
            .map(str::trim)
            .filter(|id| !id.is_empty())
            .map(str::to_string),
        public: params.get("public").is_some(),
        name: options.name.take().unwrap_or_default(),
        redirect_uris: options.redirect_uris.take().unwrap_or_default(),
        post_logout_redirect_uris: options.post_logout_redirect_uris.take().unwrap_or_default(),
        grant_types: options.grant_types.take().unwrap_or_default(),
        scopes: options.scopes.take().unwrap_or_default(),
        roles: options.roles.take().unwrap_or_default(),
        skip_consent: options.skip_consent.take().unwrap_or_default(),
        require_mfa: options.require_mfa.take().unwrap_or_default(),
        id_token_alg: options.id_token_alg.take(),
        options,
    };
    match state.services.register_client(&console.caller, spec).await {
        Ok(registered) => match registered.secret {
            Some(secret) => show_secret(&state, jar, &registered.client.id, &secret),
            None => Ok(Redirect::to(&format!(
                "{}?done=created",
                client_path(&registered.client.id)
            ))
            .into_response()),
        },
        Err(e) => {
            let error = refusal(e)?;
            form_page(
                &state,
                jar,
                StatusCode::UNPROCESSABLE_ENTITY,
                (form_typed(&params, None), false),
                (None, Some(error)),
            )
            .await
        }
    }
}

/// The page showing a client's secret, once.
fn show_secret(
    state: &AppState,
    jar: CookieJar,
    client_id: &str,
    secret: &str,
) -> Result<Response, AppError> {
    let mut page = show(
        state,
        jar,
        StatusCode::OK,
        SECRET,
        json!({ "client_id": client_id, "secret": secret, "path": client_path(client_id) }),
    )?;
    // The secret must not linger in caches or the browser's history.
    page.headers_mut().insert(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    Ok(page)
}

/// `GET /admin/clients/{id}`: the edit form.
pub async fn get(
    State(state): State<AppState>,
    _console: Console,
    jar: CookieJar,
    Path(id): Path<String>,
    uri: Uri,
) -> Result<Response, AppError> {
    let client = ClientView::from(&state.services.client(&id).await?);
    form_page(
        &state,
        jar,
        StatusCode::OK,
        (form_of(&client), true),
        (notice_of(&uri), None),
    )
    .await
}

/// `POST /admin/clients/{id}`: saves every field of the form.
pub async fn save(
    State(state): State<AppState>,
    console: Console,
    jar: CookieJar,
    Path(id): Path<String>,
    CheckedForm(params): CheckedForm,
) -> Result<Response, AppError> {
    let current = ClientView::from(&state.services.client(&id).await?);
    let enabled = params.get("enabled").is_some();
    // Switching a client off must work even when its other settings do not save.
    let mut saved = Ok(());
    if enabled != current.enabled {
        saved = state
            .services
            .set_client_enabled(&console.caller, &id, enabled)
            .await
            .map(drop);
    }
    if saved.is_ok() {
        saved = state
            .services
            .update_client(
                &console.caller,
                &id,
                unchanged_left_out(options_of(&params), &current),
            )
            .await
            .map(drop);
    }
    match saved {
        Ok(()) => Ok(Redirect::to(&format!("{}?done=saved", client_path(&id))).into_response()),
        Err(e) => {
            let error = refusal(e)?;
            form_page(
                &state,
                jar,
                StatusCode::UNPROCESSABLE_ENTITY,
                (form_typed(&params, Some(&current)), true),
                (None, Some(error)),
            )
            .await
        }
    }
}

/// `POST /admin/clients/{id}/secret`: a new secret, after confirmation; shown once.
pub async fn rotate_secret(
    State(state): State<AppState>,
    console: Console,
    jar: CookieJar,
    Path(id): Path<String>,
    CheckedForm(params): CheckedForm,
) -> Result<Response, AppError> {
    let client = state.services.client(&id).await?;
    if !confirmed(&params) {
        return confirm(
            &state,
            jar,
            Confirmation {
                question: format!("Replace the secret of {}?", client.name),
                ..asking(
                    &client.id,
                    "secret",
                    "The current secret stops working at once: the application needs the new one to get tokens.",
                )
            },
        );
    }
    match state
        .services
        .rotate_client_secret(&console.caller, &client.id)
        .await
    {
        Ok(secret) => show_secret(&state, jar, &client.id, &secret),
        Err(e) => {
            let error = refusal(e)?;
            form_page(
                &state,
                jar,
                StatusCode::UNPROCESSABLE_ENTITY,
                (form_of(&ClientView::from(&client)), true),
                (None, Some(error)),
            )
            .await
        }
    }
}

/// `POST /admin/clients/{id}/delete`: after confirmation.
pub async fn delete(
    State(state): State<AppState>,
    console: Console,
    jar: CookieJar,
    Path(id): Path<String>,
    CheckedForm(params): CheckedForm,
) -> Result<Response, AppError> {
    let client = state.services.client(&id).await?;
    if !confirmed(&params) {
        return confirm(
            &state,
            jar,
            Confirmation {
                question: format!("Delete the client {}?", client.name),
                ..asking(
                    &client.id,
                    "delete",
                    "Its grants, tokens and consents go with it; the application can no longer sign anyone in. This cannot be undone.",
                )
            },
        );
    }
    state
        .services
        .delete_client(&console.caller, &client.id)
        .await?;
    Ok(Redirect::to("/admin/clients?done=deleted").into_response())
}
