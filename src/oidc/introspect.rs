//! Token introspection responses (RFC 7662 §2.2). Both access tokens (our JWTs) and refresh
//! tokens can be introspected; an unknown, expired or revoked token is simply inactive.

use serde_json::{Map, Value, json};

use super::tokens::AccessTokenClaims;
use crate::store::GrantFacts;

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
    ] {
        if let Some(v) = at.claims.get(name) {
            body.insert(name.into(), v.clone());
        }
    }
    body.insert("token_type".into(), json!("Bearer"));
    if let Some(username) = username {
        body.insert("username".into(), json!(username));
    }
    body
}

/// The answer for a live refresh token of `grant`.
pub fn refresh_token(grant: &GrantFacts, expires_at: i64, issuer: &str) -> Map<String, Value> {
    let mut body = Map::new();
    body.insert("active".into(), json!(true));
    body.insert("scope".into(), json!(grant.scope));
    body.insert("client_id".into(), json!(grant.client_id));
    body.insert("sub".into(), json!(grant.user_id));
    body.insert("exp".into(), json!(expires_at));
    body.insert("iss".into(), json!(issuer));
    body.insert("token_type".into(), json!("refresh_token"));
    body
}
