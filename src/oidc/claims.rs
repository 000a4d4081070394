//! What goes into ID tokens, access tokens and userinfo (OpenID Connect Core §2, §5.1, §5.4;
//! RFC 9068 §2.2). Pure functions of their inputs.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256, Sha512};

use crate::domain::ScopeSet;
use crate::domain::SigningAlg;
use crate::domain::User;

/// The claims a user's granted scopes release (without `sub`).
pub fn user_claims(user: &User, scope: &ScopeSet) -> Map<String, Value> {
    let mut claims = Map::new();
    if scope.contains("profile") {
        let name = user.name.clone().unwrap_or_else(|| user.username.clone());
        claims.insert("name".into(), json!(name));
        claims.insert("preferred_username".into(), json!(user.username));
        claims.insert("updated_at".into(), json!(user.updated_at));
    }
    if scope.contains("email") {
        claims.insert("email".into(), json!(user.email));
        claims.insert("email_verified".into(), json!(user.email_verified));
    }
    if scope.contains("roles") {
        claims.insert("roles".into(), json!(user.roles));
    }
    claims
}

/// OpenID Connect Core §3.1.3.6: the left half of the hash of the access token, with the
/// hash of the ID token's algorithm (SHA-512 for Ed25519).
pub fn at_hash(access_token: &str, alg: SigningAlg) -> String {
    let digest: Vec<u8> = match alg {
        SigningAlg::RS256 | SigningAlg::ES256 => Sha256::digest(access_token.as_bytes()).to_vec(),
        SigningAlg::EdDSA => Sha512::digest(access_token.as_bytes()).to_vec(),
    };
    URL_SAFE_NO_PAD.encode(&digest[..digest.len() / 2])
}

/// The parts of an ID token that do not come from the user's profile.
#[derive(Debug, Clone)]
pub struct IdTokenFacts<'a> {
    /// Issuer.
    pub issuer: &'a str,
    /// Subject.
    pub sub: &'a str,
    /// The client.
    pub client_id: &'a str,
    /// Issued at.
    pub now: i64,
    /// Lifetime.
    pub ttl: i64,
    /// Authentication time.
    pub auth_time: i64,
    /// Authentication methods.
    pub amr: &'a str,
    /// Authentication context class reached.
    pub acr: &'a str,
    /// Nonce of the authorization request.
    pub nonce: Option<&'a str>,
    /// Session id.
    pub sid: Option<&'a str>,
    /// at_hash of the access token issued alongside.
    pub at_hash: Option<String>,
}

/// The ID token claims (OpenID Connect Core §2).
pub fn id_token(facts: &IdTokenFacts<'_>, profile: Map<String, Value>) -> Value {
    let mut claims = profile;
    claims.insert("iss".into(), json!(facts.issuer));
    claims.insert("sub".into(), json!(facts.sub));
    claims.insert("aud".into(), json!(facts.client_id));
    claims.insert("azp".into(), json!(facts.client_id));
    claims.insert("iat".into(), json!(facts.now));
    claims.insert("exp".into(), json!(facts.now + facts.ttl));
    claims.insert("auth_time".into(), json!(facts.auth_time));
    let amr: Vec<&str> = facts.amr.split(' ').filter(|m| !m.is_empty()).collect();
    claims.insert("amr".into(), json!(amr));
    if !facts.acr.is_empty() {
        claims.insert("acr".into(), json!(facts.acr));
    }
    if let Some(nonce) = facts.nonce {
        claims.insert("nonce".into(), json!(nonce));
    }
    if let Some(sid) = facts.sid {
        claims.insert("sid".into(), json!(sid));
    }
    if let Some(at_hash) = &facts.at_hash {
        claims.insert("at_hash".into(), json!(at_hash));
    }
    Value::Object(claims)
}

/// The parts of a JWT access token (RFC 9068 §2.2).
#[derive(Debug, Clone)]
pub struct AccessTokenFacts<'a> {
    /// Issuer.
    pub issuer: &'a str,
    /// Subject: the user, or the client itself for client_credentials.
    pub sub: &'a str,
    /// The client.
    pub client_id: &'a str,
    /// Granted scopes.
    pub scope: &'a ScopeSet,
    /// Token id.
    pub jti: &'a str,
    /// Issued at.
    pub now: i64,
    /// Lifetime.
    pub ttl: i64,
    /// Authentication time (user tokens).
    pub auth_time: Option<i64>,
    /// The grant it belongs to (user tokens), checked for revocation.
    pub grant_id: Option<&'a str>,
    /// Session id (user tokens).
    pub sid: Option<&'a str>,
    /// Roles, when released.
    pub roles: Option<&'a [String]>,
    /// The resources it is for (RFC 8707); none means the client itself.
    pub audience: &'a [String],
    /// Thumbprint of the DPoP key it is bound to (RFC 9449 §6.1 `cnf.jkt`).
    pub jkt: Option<&'a str>,
    /// The authentication class the sign-in reached (user tokens; RFC 9068 §2.2.1).
    pub acr: Option<&'a str>,
}

/// The access token claims. `aud` is the resources asked for (RFC 8707), else the client the
/// token was issued to.
pub fn access_token(facts: &AccessTokenFacts<'_>) -> Map<String, Value> {
    let mut claims = Map::new();
    claims.insert("iss".into(), json!(facts.issuer));
    claims.insert("sub".into(), json!(facts.sub));
    let aud = match facts.audience {
        [] => json!(facts.client_id),
        [one] => json!(one),
        many => json!(many),
    };
    claims.insert("aud".into(), aud);
    claims.insert("client_id".into(), json!(facts.client_id));
    claims.insert("scope".into(), json!(facts.scope.to_string()));
    claims.insert("jti".into(), json!(facts.jti));
    claims.insert("iat".into(), json!(facts.now));
    claims.insert("exp".into(), json!(facts.now + facts.ttl));
    if let Some(t) = facts.auth_time {
        claims.insert("auth_time".into(), json!(t));
    }
    if let Some(gid) = facts.grant_id {
        claims.insert("gid".into(), json!(gid));
    }
    if let Some(sid) = facts.sid {
        claims.insert("sid".into(), json!(sid));
    }
    if let Some(roles) = facts.roles {
        claims.insert("roles".into(), json!(roles));
    }
    if let Some(jkt) = facts.jkt {
        claims.insert("cnf".into(), json!({ "jkt": jkt }));
    }
    if let Some(acr) = facts.acr.filter(|a| !a.is_empty()) {
        claims.insert("acr".into(), json!(acr));
    }
    claims
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_hash_matches_the_spec_example_shape() {
        // OpenID Connect Core A.3: at_hash of this token with SHA-256.
        assert_eq!(
            at_hash(
                "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y",
                SigningAlg::RS256
            ),
            "77QmUPtjPfzWtF2AnpK9RQ"
        );
        assert_eq!(at_hash("x", SigningAlg::EdDSA).len(), 43);
    }
}
