//! Registering clients (used by the CLI and the development start): validation of every
//! field, and a 256-bit secret shown once and stored only as its SHA-256.

use super::client::GrantType;
use super::scopes;
use crate::auth::accounts::{AccountError, checked_roles};
use crate::auth::secret;
use crate::config::SigningAlg;
use crate::domain::{RedirectUri, ScopeSet};
use crate::store::{ClientRow, Db, NewClient, StoreError};

/// What a new client needs.
#[derive(Debug, Clone, Default)]
pub struct ClientSpec {
    /// Fixed client_id (default: random).
    pub client_id: Option<String>,
    /// Display name.
    pub name: String,
    /// Redirect URIs (at least one unless only client_credentials).
    pub redirect_uris: Vec<String>,
    /// Post-logout redirect URIs.
    pub post_logout_redirect_uris: Vec<String>,
    /// Public client (no secret, PKCE required).
    pub public: bool,
    /// Grant types (default: authorization_code and refresh_token).
    pub grant_types: Vec<String>,
    /// Allowed scopes (default: all standard ones).
    pub scopes: Vec<String>,
    /// The client's own roles.
    pub roles: Vec<String>,
    /// Skip the consent page.
    pub skip_consent: bool,
    /// ID token algorithm (default RS256).
    pub id_token_alg: Option<String>,
}

/// A registered client and its secret (shown once).
#[derive(Debug, Clone)]
pub struct Registered {
    /// The stored row.
    pub row: ClientRow,
    /// The plain secret of a confidential client.
    pub secret: Option<String>,
}

fn invalid(message: impl Into<String>) -> AccountError {
    AccountError::Invalid(message.into())
}

fn uris(values: &[String]) -> Result<Vec<String>, AccountError> {
    let mut out = Vec::new();
    for value in values {
        let uri = RedirectUri::parse(value).map_err(invalid)?;
        if !out.contains(&uri.as_str().to_string()) {
            out.push(uri.as_str().to_string());
        }
    }
    Ok(out)
}

/// Validates and stores a client.
pub async fn register(db: &Db, spec: ClientSpec, now: i64) -> Result<Registered, AccountError> {
    let name = spec.name.trim().to_string();
    if name.is_empty() || name.chars().count() > 128 {
        return Err(invalid("a client name needs 1 to 128 characters"));
    }
    let id = match spec.client_id {
        Some(id) => {
            let ok = (3..=128).contains(&id.len())
                && id
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
            if !ok {
                return Err(invalid(
                    "a client id needs 3 to 128 letters, digits, '-', '_' or '.'",
                ));
            }
            id
        }
        None => uuid::Uuid::new_v4().simple().to_string(),
    };
    let grant_names: Vec<String> = if spec.grant_types.is_empty() {
        vec!["authorization_code".into(), "refresh_token".into()]
    } else {
        spec.grant_types
            .iter()
            .map(|g| g.trim().to_string())
            .collect()
    };
    let mut grants = Vec::new();
    for g in &grant_names {
        let grant = GrantType::parse(g).ok_or_else(|| {
            invalid(format!("unknown grant type '{g}' (use authorization_code, refresh_token, client_credentials)"))
        })?;
        if !grants.contains(&grant) {
            grants.push(grant);
        }
    }
    if spec.public && grants.contains(&GrantType::ClientCredentials) {
        return Err(invalid("a public client cannot use client_credentials"));
    }
    let redirect_uris = uris(&spec.redirect_uris)?;
    if grants.contains(&GrantType::AuthorizationCode) && redirect_uris.is_empty() {
        return Err(invalid(
            "the authorization_code grant needs at least one --redirect-uri",
        ));
    }
    let post_logout = uris(&spec.post_logout_redirect_uris)?;
    let scope_text = if spec.scopes.is_empty() {
        scopes::DEFAULT_CLIENT_SCOPES.to_string()
    } else {
        spec.scopes.join(" ")
    };
    let scope = ScopeSet::parse(&scope_text).map_err(invalid)?;
    let alg = match spec.id_token_alg.as_deref() {
        None => SigningAlg::RS256,
        Some(a) => SigningAlg::parse(a)
            .ok_or_else(|| invalid(format!("unknown algorithm '{a}' (RS256, ES256, EdDSA)")))?,
    };
    let roles = checked_roles(db, &spec.roles).await?;
    let secret = (!spec.public).then(secret::generate);
    let row = ClientRow {
        id,
        name,
        secret_hash: secret.as_deref().map(secret::hash),
        public: i64::from(spec.public),
        redirect_uris: redirect_uris.join(" "),
        post_logout_redirect_uris: post_logout.join(" "),
        grant_types: grants
            .iter()
            .map(|g| g.as_str())
            .collect::<Vec<_>>()
            .join(" "),
        scopes: scope.to_string(),
        roles: roles.join(" "),
        skip_consent: i64::from(spec.skip_consent),
        id_token_alg: alg.as_str().to_string(),
        created_at: now,
    };
    db.insert_client(&NewClient { row: row.clone() })
        .await
        .map_err(|e| match e {
            StoreError::Conflict(_) => invalid(format!("client id '{}' is taken", row.id)),
            other => other.into(),
        })?;
    Ok(Registered { row, secret })
}

/// Replaces a confidential client's secret; returns the new one.
pub async fn rotate_secret(db: &Db, client_id: &str, now: i64) -> Result<String, AccountError> {
    let secret = secret::generate();
    if !db
        .set_client_secret(client_id, &secret::hash(&secret), now)
        .await?
    {
        return Err(AccountError::NotFound(format!(
            "confidential client '{client_id}'"
        )));
    }
    Ok(secret)
}
