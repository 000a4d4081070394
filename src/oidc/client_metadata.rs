//! Client metadata that a client states about itself (RFC 7591 §2), checked against the
//! policy for clients no administrator vetted: no consent skipping, no roles, no privileged
//! scopes, no `client_credentials` unless allowed, redirect URIs that are https, loopback
//! http or a native app's private-use scheme, and outbound targets (`jwks_uri`,
//! `backchannel_logout_uri`) that are https on public addresses only.

use serde::Deserialize;
use serde_json::Value;

use super::{ErrorCode, OAuthError};
use crate::domain::{
    AuthMethod, ClientLinks, GrantType, RedirectUri, ScopeSet, SigningAlg, parse_jwks,
};

/// Scopes a self-registered client may never hold.
pub const PRIVILEGED_SCOPES: [&str; 1] = ["tessera:admin"];

/// Whether a scope of the catalogue is open to self-registered clients: the built-in ones
/// but the privileged; scopes an administrator added guard their own APIs, and the
/// administrator gives them.
pub fn is_open_scope(name: &str, builtin: bool) -> bool {
    builtin && !PRIVILEGED_SCOPES.contains(&name)
}

/// The scopes a client that names none gets.
pub const DEFAULT_SCOPE: &str = "openid profile email";

/// What the metadata may contain; anything else is ignored (RFC 7591 §2).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Raw {
    redirect_uris: Option<Vec<String>>,
    post_logout_redirect_uris: Option<Vec<String>>,
    client_name: Option<String>,
    grant_types: Option<Vec<String>>,
    response_types: Option<Vec<String>>,
    token_endpoint_auth_method: Option<String>,
    scope: Option<String>,
    jwks: Option<Value>,
    jwks_uri: Option<String>,
    id_token_signed_response_alg: Option<String>,
    backchannel_logout_uri: Option<String>,
    client_uri: Option<String>,
    logo_uri: Option<String>,
    policy_uri: Option<String>,
    tos_uri: Option<String>,
}

/// What the policy lets a client state.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    /// The client may use `client_credentials` (its initial access token allows it).
    pub allow_client_credentials: bool,
    /// The client may hold a secret (not so for metadata documents).
    pub allow_secret: bool,
}

/// Metadata that passed the policy.
#[derive(Debug, Clone)]
pub struct Metadata {
    /// `client_name` (default: "Unnamed application").
    pub name: String,
    /// Exact redirect URIs.
    pub redirect_uris: Vec<RedirectUri>,
    /// Exact post-logout redirect URIs.
    pub post_logout_redirect_uris: Vec<RedirectUri>,
    /// Grant types (default: authorization_code).
    pub grant_types: Vec<GrantType>,
    /// How it authenticates (default: client_secret_basic).
    pub auth_method: AuthMethod,
    /// Requested scopes (default [`DEFAULT_SCOPE`]); the catalogue is checked by the caller.
    pub scope: ScopeSet,
    /// Inline keys.
    pub jwks: Option<String>,
    /// Published keys.
    pub jwks_uri: Option<RedirectUri>,
    /// ID token algorithm (default RS256).
    pub id_token_alg: SigningAlg,
    /// Back-channel logout URI.
    pub backchannel_logout_uri: Option<RedirectUri>,
    /// About the client.
    pub links: ClientLinks,
}

/// Whether any string in `value` (keys included) holds a control character, which no
/// metadata value admits and PostgreSQL cannot store (NUL).
fn has_control_characters(value: &Value) -> bool {
    match value {
        Value::String(s) => s.chars().any(char::is_control),
        Value::Array(items) => items.iter().any(has_control_characters),
        Value::Object(map) => map
            .iter()
            .any(|(k, v)| k.chars().any(char::is_control) || has_control_characters(v)),
        _ => false,
    }
}

fn metadata_error(description: impl Into<String>) -> OAuthError {
    OAuthError::new(ErrorCode::InvalidClientMetadata, description.into())
}

fn https_link(field: &str, value: Option<String>) -> Result<Option<String>, OAuthError> {
    value
        .map(|v| {
            RedirectUri::parse_public_https(&v)
                .map(|u| u.as_str().to_string())
                .map_err(|e| metadata_error(format!("{field}: {e}")))
        })
        .transpose()
}

/// Checks `document` against `policy`.
pub fn validate(document: &Value, policy: Policy) -> Result<Metadata, OAuthError> {
    if !document.is_object() {
        return Err(metadata_error("the metadata must be a JSON object"));
    }
    if has_control_characters(document) {
        return Err(metadata_error(
            "the metadata must not contain control characters",
        ));
    }
    let raw: Raw = serde_json::from_value(document.clone())
        .map_err(|e| metadata_error(format!("the metadata has a value of the wrong type: {e}")))?;
    let mut grant_types = Vec::new();
    for name in raw
        .grant_types
        .unwrap_or_else(|| vec!["authorization_code".into()])
    {
        let grant = GrantType::parse(&name)
            .ok_or_else(|| metadata_error(format!("grant type '{name}' is not supported")))?;
        if grant == GrantType::ClientCredentials && !policy.allow_client_credentials {
            return Err(metadata_error(
                "client_credentials needs an initial access token that allows it",
            ));
        }
        if !grant_types.contains(&grant) {
            grant_types.push(grant);
        }
    }
    if let Some(types) = &raw.response_types
        && types.iter().any(|t| t != "code")
    {
        return Err(metadata_error("only the response type 'code' is supported"));
    }
    let mut redirect_uris = Vec::new();
    for uri in raw.redirect_uris.unwrap_or_default() {
        let uri = RedirectUri::parse_native(&uri)
            .map_err(|e| OAuthError::new(ErrorCode::InvalidRedirectUri, e))?;
        if !redirect_uris.contains(&uri) {
            redirect_uris.push(uri);
        }
    }
    if grant_types.contains(&GrantType::AuthorizationCode) && redirect_uris.is_empty() {
        return Err(OAuthError::new(
            ErrorCode::InvalidRedirectUri,
            "the authorization_code grant needs redirect_uris",
        ));
    }
    let mut post_logout_redirect_uris = Vec::new();
    for uri in raw.post_logout_redirect_uris.unwrap_or_default() {
        post_logout_redirect_uris.push(
            RedirectUri::parse_native(&uri)
                .map_err(|e| metadata_error(format!("post_logout_redirect_uris: {e}")))?,
        );
    }
    let auth_method = match raw.token_endpoint_auth_method.as_deref() {
        None | Some("client_secret_basic") | Some("client_secret_post") if policy.allow_secret => {
            AuthMethod::ClientSecret
        }
        // A client that may hold no secret and names no method is public.
        None | Some("none") => AuthMethod::None,
        Some("private_key_jwt") => AuthMethod::PrivateKeyJwt,
        Some(other) => {
            return Err(metadata_error(format!(
                "token_endpoint_auth_method '{other}' is not accepted here"
            )));
        }
    };
    if auth_method == AuthMethod::None && grant_types.contains(&GrantType::ClientCredentials) {
        return Err(metadata_error(
            "a public client cannot use client_credentials",
        ));
    }
    if raw.jwks.is_some() && raw.jwks_uri.is_some() {
        return Err(metadata_error("give jwks or jwks_uri, not both"));
    }
    let jwks = raw
        .jwks
        .map(|j| parse_jwks(&j.to_string()).map_err(|e| metadata_error(format!("jwks: {e}"))))
        .transpose()?;
    let jwks_uri = raw
        .jwks_uri
        .map(|u| {
            RedirectUri::parse_public_https(&u)
                .map_err(|e| metadata_error(format!("jwks_uri: {e}")))
        })
        .transpose()?;
    if auth_method == AuthMethod::PrivateKeyJwt && jwks.is_none() && jwks_uri.is_none() {
        return Err(metadata_error("private_key_jwt needs jwks or jwks_uri"));
    }
    let scope = ScopeSet::parse(raw.scope.as_deref().unwrap_or(DEFAULT_SCOPE))
        .map_err(|e| metadata_error(format!("scope: {e}")))?;
    if let Some(privileged) = PRIVILEGED_SCOPES.iter().find(|s| scope.contains(s)) {
        return Err(metadata_error(format!(
            "the scope '{privileged}' is only for clients an administrator registers"
        )));
    }
    let id_token_alg = match raw.id_token_signed_response_alg.as_deref() {
        None => SigningAlg::RS256,
        Some(a) => SigningAlg::parse(a).ok_or_else(|| {
            metadata_error(format!(
                "id_token_signed_response_alg '{a}' is not supported (RS256, ES256, EdDSA)"
            ))
        })?,
    };
    let backchannel_logout_uri = raw
        .backchannel_logout_uri
        .map(|u| {
            RedirectUri::parse_public_https(&u)
                .map_err(|e| metadata_error(format!("backchannel_logout_uri: {e}")))
        })
        .transpose()?;
    let name = raw
        .client_name
        .map(|n| n.trim().to_string())
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "Unnamed application".into());
    if name.chars().count() > 128 {
        return Err(metadata_error("client_name has more than 128 characters"));
    }
    Ok(Metadata {
        name,
        redirect_uris,
        post_logout_redirect_uris,
        grant_types,
        auth_method,
        scope,
        jwks,
        jwks_uri,
        id_token_alg,
        backchannel_logout_uri,
        links: ClientLinks {
            client_uri: https_link("client_uri", raw.client_uri)?,
            logo_uri: https_link("logo_uri", raw.logo_uri)?,
            policy_uri: https_link("policy_uri", raw.policy_uri)?,
            tos_uri: https_link("tos_uri", raw.tos_uri)?,
        },
    })
}

/// RFC 7591 §3.2.1: the metadata of a registered client as the registration endpoint shows
/// it (without secrets; the caller adds those it may show).
pub fn describe(client: &crate::domain::Client) -> serde_json::Map<String, Value> {
    use serde_json::json;
    fn uris(list: &[RedirectUri]) -> Vec<&str> {
        list.iter().map(RedirectUri::as_str).collect()
    }
    let mut body = serde_json::Map::new();
    body.insert("client_id".into(), json!(client.id));
    body.insert("client_id_issued_at".into(), json!(client.created_at));
    body.insert("client_name".into(), json!(client.name));
    body.insert("redirect_uris".into(), json!(uris(&client.redirect_uris)));
    body.insert(
        "post_logout_redirect_uris".into(),
        json!(uris(&client.post_logout_redirect_uris)),
    );
    let grants: Vec<&str> = client.grant_types.iter().map(|g| g.as_str()).collect();
    body.insert("grant_types".into(), json!(grants));
    let response_types: Vec<&str> = if client.allows(GrantType::AuthorizationCode) {
        vec!["code"]
    } else {
        Vec::new()
    };
    body.insert("response_types".into(), json!(response_types));
    body.insert(
        "token_endpoint_auth_method".into(),
        json!(client.auth_method.as_str()),
    );
    body.insert("scope".into(), json!(client.scopes.to_string()));
    body.insert(
        "id_token_signed_response_alg".into(),
        json!(client.id_token_alg.as_str()),
    );
    if let Some(jwks) = client
        .jwks
        .as_deref()
        .and_then(|j| serde_json::from_str::<Value>(j).ok())
    {
        body.insert("jwks".into(), jwks);
    }
    if let Some(uri) = &client.jwks_uri {
        body.insert("jwks_uri".into(), json!(uri.as_str()));
    }
    if let Some(uri) = &client.backchannel_logout_uri {
        body.insert("backchannel_logout_uri".into(), json!(uri.as_str()));
    }
    if let Value::Object(links) = json!(client.links) {
        body.extend(links);
    }
    body
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const OPEN: Policy = Policy {
        allow_client_credentials: false,
        allow_secret: true,
    };

    #[test]
    fn the_policy_refuses_what_a_stranger_should_not_get() {
        let base = json!({ "redirect_uris": ["https://app.example/cb"] });
        let ok = validate(&base, OPEN).unwrap();
        assert_eq!(ok.auth_method, AuthMethod::ClientSecret);
        assert_eq!(ok.scope, ScopeSet::parse(DEFAULT_SCOPE).unwrap());
        let with = |key: &str, value: Value| {
            let mut doc = base.clone();
            doc[key] = value;
            validate(&doc, OPEN).map(|_| ()).unwrap_err().code
        };
        assert_eq!(
            with("grant_types", json!(["client_credentials"])),
            ErrorCode::InvalidClientMetadata
        );
        assert_eq!(
            with("scope", json!("openid tessera:admin")),
            ErrorCode::InvalidClientMetadata
        );
        assert_eq!(
            with("redirect_uris", json!(["http://app.example/cb"])),
            ErrorCode::InvalidRedirectUri
        );
        assert_eq!(
            with("jwks_uri", json!("https://10.0.0.1/jwks")),
            ErrorCode::InvalidClientMetadata
        );
        assert_eq!(
            with("backchannel_logout_uri", json!("http://127.0.0.1/x")),
            ErrorCode::InvalidClientMetadata
        );
        assert_eq!(
            with("response_types", json!(["token"])),
            ErrorCode::InvalidClientMetadata
        );
        assert_eq!(
            with("token_endpoint_auth_method", json!("client_secret_jwt")),
            ErrorCode::InvalidClientMetadata
        );
        assert!(validate(&json!({ "redirect_uris": ["com.example.app:/cb"] }), OPEN).is_ok());
        assert_eq!(
            with("client_name", json!("a\u{0}b")),
            ErrorCode::InvalidClientMetadata
        );
    }
}
