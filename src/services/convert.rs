//! Rows to domain values and back: the store keeps flags as 0/1 and lists as words; the rest
//! of Tessera sees `bool`s and typed lists, and never a password hash.

use crate::domain::{
    AuthMethod, Client, Email, GrantType, RedirectUri, ScopeSet, Session, SigningAlg, User,
    Username,
};
use crate::store::{ClientRow, NewUser, SessionRow, UserRow};

pub(crate) fn words(s: &str) -> impl Iterator<Item = &str> {
    s.split(' ').filter(|w| !w.is_empty())
}

/// A stored user with their roles.
pub fn user(row: UserRow, roles: Vec<String>) -> User {
    User {
        email_verified: row.email_verified != 0,
        enabled: row.enabled != 0,
        id: row.id,
        username: row.username,
        email: row.email,
        name: row.name,
        created_at: row.created_at,
        updated_at: row.updated_at,
        roles,
        locale: row.locale,
        time_zone: row.time_zone,
    }
}

/// A stored client; values that no longer parse are dropped rather than trusted.
pub fn client(row: ClientRow) -> Client {
    Client {
        redirect_uris: words(&row.redirect_uris)
            .filter_map(|u| RedirectUri::parse(u).ok())
            .collect(),
        post_logout_redirect_uris: words(&row.post_logout_redirect_uris)
            .filter_map(|u| RedirectUri::parse(u).ok())
            .collect(),
        grant_types: words(&row.grant_types)
            .filter_map(GrantType::parse)
            .collect(),
        scopes: ScopeSet::from_stored(&row.scopes),
        roles: words(&row.roles).map(str::to_string).collect(),
        skip_consent: row.skip_consent != 0,
        require_mfa: row.require_mfa != 0,
        id_token_alg: SigningAlg::parse(&row.id_token_alg).unwrap_or(SigningAlg::RS256),
        public: row.public != 0,
        allow_no_pkce: row.allow_no_pkce != 0,
        introspect_any: row.introspect_any != 0,
        require_par: row.require_par != 0,
        require_dpop: row.require_dpop != 0,
        resources: words(&row.resources).map(str::to_string).collect(),
        backchannel_logout_uri: row
            .backchannel_logout_uri
            .as_deref()
            .and_then(|u| RedirectUri::parse(u).ok()),
        backchannel_logout_session_required: row.backchannel_logout_session_required != 0,
        auth_method: AuthMethod::parse(&row.auth_method, row.public != 0),
        jwks: row.jwks,
        self_registered: row.self_registered != 0,
        enabled: row.enabled != 0,
        links: serde_json::from_str(&row.metadata).unwrap_or_default(),
        document_expires_at: row.document_expires_at,
        jwks_uri: row
            .jwks_uri
            .as_deref()
            .and_then(|u| RedirectUri::parse(u).ok()),
        secret_hash: row.secret_hash,
        name: row.name,
        id: row.id,
        created_at: row.created_at,
    }
}

/// The row that stores `client`.
pub fn client_row(client: &Client) -> ClientRow {
    let join = |items: Vec<&str>| items.join(" ");
    ClientRow {
        id: client.id.clone(),
        name: client.name.clone(),
        secret_hash: client.secret_hash.clone(),
        public: i64::from(client.public),
        redirect_uris: join(
            client
                .redirect_uris
                .iter()
                .map(RedirectUri::as_str)
                .collect(),
        ),
        post_logout_redirect_uris: join(
            client
                .post_logout_redirect_uris
                .iter()
                .map(RedirectUri::as_str)
                .collect(),
        ),
        grant_types: join(client.grant_types.iter().map(|g| g.as_str()).collect()),
        scopes: client.scopes.to_string(),
        roles: client.roles.join(" "),
        skip_consent: i64::from(client.skip_consent),
        require_mfa: i64::from(client.require_mfa),
        id_token_alg: client.id_token_alg.as_str().to_string(),
        created_at: client.created_at,
        allow_no_pkce: i64::from(client.allow_no_pkce),
        introspect_any: i64::from(client.introspect_any),
        require_par: i64::from(client.require_par),
        require_dpop: i64::from(client.require_dpop),
        resources: client.resources.join(" "),
        backchannel_logout_uri: client
            .backchannel_logout_uri
            .as_ref()
            .map(|u| u.as_str().to_string()),
        backchannel_logout_session_required: i64::from(client.backchannel_logout_session_required),
        auth_method: client.auth_method.as_str().to_string(),
        jwks: client.jwks.clone(),
        jwks_uri: client.jwks_uri.as_ref().map(|u| u.as_str().to_string()),
        self_registered: i64::from(client.self_registered),
        enabled: i64::from(client.enabled),
        registration_token_hash: None,
        metadata: serde_json::to_string(&client.links).unwrap_or_else(|_| "{}".into()),
        document_expires_at: client.document_expires_at,
    }
}

/// A stored session.
pub fn session(row: SessionRow) -> Session {
    Session {
        amr: words(&row.amr).map(str::to_string).collect(),
        remember: row.remember != 0,
        id: row.id,
        user_id: row.user_id,
        auth_time: row.auth_time,
        acr: row.acr,
    }
}

/// A new account's row under a fresh id: the username and address as typed and normalized.
pub(crate) fn new_user(
    username: &Username,
    email: &Email,
    name: Option<String>,
    password_hash: String,
    roles: Vec<String>,
    email_verified: bool,
    now: i64,
) -> NewUser {
    NewUser {
        id: uuid::Uuid::new_v4().to_string(),
        username: username.as_str().to_string(),
        username_normalized: username.normalized(),
        email: email.as_str().to_string(),
        email_normalized: email.normalized(),
        name,
        password_hash,
        roles,
        email_verified,
        now,
    }
}
