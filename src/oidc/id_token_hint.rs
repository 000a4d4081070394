//! `id_token_hint` (OpenID Connect Core §3.1.2.1, RP-Initiated Logout §2): an ID token this
//! server issued, accepted even after it expired.

use serde_json::Value;

use crate::signing::KeyRing;

/// The facts a valid hint carries.
#[derive(Debug, Clone)]
pub struct IdTokenHint {
    /// The user.
    pub sub: String,
    /// The clients it was issued to.
    pub aud: Vec<String>,
    /// The session it was issued under.
    pub sid: Option<String>,
}

impl IdTokenHint {
    /// Verifies the signature and issuer of a hint; `None` when it is not ours.
    pub fn verify(hint: &str, keys: &KeyRing, issuer: &str) -> Option<IdTokenHint> {
        let jwt = keys.verify(hint).ok()?;
        // Our access tokens are JWTs too; only ID tokens (typ JWT) are hints.
        if jwt
            .typ
            .as_deref()
            .is_some_and(|t| !t.eq_ignore_ascii_case("JWT"))
        {
            return None;
        }
        let claims = jwt.claims;
        if claims.get("iss").and_then(Value::as_str) != Some(issuer) {
            return None;
        }
        let aud = match claims.get("aud") {
            Some(Value::String(a)) => vec![a.clone()],
            Some(Value::Array(list)) => list
                .iter()
                .filter_map(|a| a.as_str().map(str::to_string))
                .collect(),
            _ => return None,
        };
        Some(IdTokenHint {
            sub: claims.get("sub")?.as_str()?.to_string(),
            sid: claims
                .get("sid")
                .and_then(Value::as_str)
                .map(str::to_string),
            aud,
        })
    }

    /// Whether the hint was issued to `client_id`.
    pub fn issued_to(&self, client_id: &str) -> bool {
        self.aud.iter().any(|a| a == client_id)
    }
}
