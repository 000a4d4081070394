//! Token introspection responses (RFC 7662 §2.2). Both access tokens (our JWTs) and refresh
//! tokens can be introspected; an unknown, expired or revoked token is simply inactive.

use serde_json::{Map, Value, json};

use super::tokens::AccessTokenClaims;

/// RFC 7662 §2.2: `{"active": false}` and nothing else.
pub fn inactive() -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("active".into(), json!(false));
    m
}

/// The answer for a live access token: its claims of interest, plus the username of a user
/// token.
pub fn access_token(at: &AccessTokenClaims, username: Option<&str>) -> Map<String, Value> {
    let mut body = Map::new();
    body.insert("active".into(), json!(true));
    for name in [
        "scope",
        "client_id",
        "sub",
        "aud",
        "iss",
        "exp",
        "iat",
        "jti",
        "auth_time",
        "sid",
        "roles",
        "cnf",
    ] {
        if let Some(v) = at.claims.get(name) {
            body.insert(name.into(), v.clone());
        }
    }
    let token_type = if at.jkt.is_some() { "DPoP" } else { "Bearer" };
    body.insert("token_type".into(), json!(token_type));
    if let Some(username) = username {
        body.insert("username".into(), json!(username));
    }
    body
}

/// A live refresh token: what its grant authorizes.
#[derive(Debug, Clone, Copy)]
pub struct RefreshTokenFacts<'a> {
    /// Granted scopes.
    pub scope: &'a str,
    /// The client it was issued to.
    pub client_id: &'a str,
    /// The user.
    pub user_id: &'a str,
    /// When it expires.
    pub expires_at: i64,
}

/// The answer for a live refresh token.
pub fn refresh_token(token: RefreshTokenFacts<'_>, issuer: &str) -> Map<String, Value> {
    let mut body = Map::new();
    body.insert("active".into(), json!(true));
    body.insert("scope".into(), json!(token.scope));
    body.insert("client_id".into(), json!(token.client_id));
    body.insert("sub".into(), json!(token.user_id));
    body.insert("exp".into(), json!(token.expires_at));
    body.insert("iss".into(), json!(issuer));
    body.insert("token_type".into(), json!("refresh_token"));
    body
}
