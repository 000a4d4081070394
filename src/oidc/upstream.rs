//! Tessera as the relying party of an upstream OpenID Connect provider: what the upstream's
//! discovery document must say (Discovery 1.0 §4.3), the authorization request it gets
//! (code flow, PKCE S256, `state`, `nonce`, `response_mode=query`), and the checks of its
//! ID token (Core 1.0 §3.1.3.7) once the signature is verified. No HTTP here.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::domain::RedirectUri;

/// How far the upstream's clock may be from ours, in seconds.
pub const LEEWAY_SECS: i64 = 60;

/// What Tessera uses of an upstream's discovery document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderMetadata {
    /// The issuer, identical to the configured one.
    pub issuer: String,
    /// Where browsers are sent.
    pub authorization_endpoint: String,
    /// Where codes are exchanged.
    pub token_endpoint: String,
    /// The upstream's signing keys.
    pub jwks_uri: String,
    /// RP-Initiated Logout, when offered.
    pub end_session_endpoint: Option<String>,
}

fn endpoint(doc: &Value, name: &str) -> Result<String, String> {
    let value = doc
        .get(name)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("the discovery document has no {name}"))?;
    RedirectUri::parse(value)
        .map(|u| u.as_str().to_string())
        .map_err(|m| format!("{name}: {m}"))
}

impl ProviderMetadata {
    /// The endpoints of `doc`, fetched from `expected_issuer`'s well-known address; its
    /// `issuer` must be exactly that issuer, or an impostor's document would be believed.
    pub fn parse(doc: &Value, expected_issuer: &str) -> Result<ProviderMetadata, String> {
        let issuer = doc
            .get("issuer")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if issuer != expected_issuer {
            return Err(format!(
                "the discovery document names the issuer '{issuer}', not '{expected_issuer}'"
            ));
        }
        Ok(ProviderMetadata {
            issuer: issuer.to_string(),
            authorization_endpoint: endpoint(doc, "authorization_endpoint")?,
            token_endpoint: endpoint(doc, "token_endpoint")?,
            jwks_uri: endpoint(doc, "jwks_uri")?,
            end_session_endpoint: endpoint(doc, "end_session_endpoint").ok(),
        })
    }
}

/// The PKCE S256 challenge of a verifier (RFC 7636 §4.2).
pub fn s256(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// An authorization request to an upstream.
#[derive(Debug, Clone)]
pub struct AuthorizationRequest<'a> {
    /// The upstream's authorization endpoint.
    pub endpoint: &'a str,
    /// Tessera's client_id there.
    pub client_id: &'a str,
    /// `{issuer}/upstream/{id}/callback`.
    pub redirect_uri: &'a str,
    /// Scopes asked for.
    pub scopes: &'a [String],
    /// Binds the answer to the browser.
    pub state: &'a str,
    /// Binds the ID token to the request.
    pub nonce: &'a str,
    /// The PKCE verifier (its S256 challenge is sent).
    pub verifier: &'a str,
    /// The client asked for a fresh sign-in (`prompt=login`): the upstream is asked too.
    pub prompt_login: bool,
    /// The client's `max_age`, passed on.
    pub max_age: Option<i64>,
}

impl AuthorizationRequest<'_> {
    /// The URL the browser is sent to.
    pub fn url(&self) -> Result<String, String> {
        let mut url =
            url::Url::parse(self.endpoint).map_err(|e| format!("authorization_endpoint: {e}"))?;
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", self.client_id)
            .append_pair("redirect_uri", self.redirect_uri)
            .append_pair("scope", &self.scopes.join(" "))
            .append_pair("state", self.state)
            .append_pair("nonce", self.nonce)
            .append_pair("code_challenge", &s256(self.verifier))
            .append_pair("code_challenge_method", "S256")
            // A SameSite=Lax cookie is not sent with a cross-site form_post: query it is.
            .append_pair("response_mode", "query");
        if self.prompt_login {
            url.query_pairs_mut().append_pair("prompt", "login");
        }
        if let Some(max_age) = self.max_age {
            url.query_pairs_mut()
                .append_pair("max_age", &max_age.to_string());
        }
        Ok(url.into())
    }
}

/// What the ID token must say.
#[derive(Debug, Clone)]
pub struct Expected<'a> {
    /// The upstream's issuer.
    pub issuer: &'a str,
    /// Tessera's client_id there.
    pub client_id: &'a str,
    /// The nonce sent with the request.
    pub nonce: &'a str,
    /// Now, Unix seconds.
    pub now: i64,
    /// `max_age` sent: `auth_time` must be present and no older.
    pub max_age: Option<i64>,
    /// `prompt=login` sent at this time: `auth_time` must be present and no earlier.
    pub login_since: Option<i64>,
}

/// Who the upstream says signed in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamIdentity {
    /// The upstream's issuer.
    pub issuer: String,
    /// The user's `sub` there.
    pub subject: String,
    /// `email`, when sent.
    pub email: Option<String>,
    /// Whether the upstream says it verified that address.
    pub email_verified: bool,
    /// `preferred_username`, when sent.
    pub preferred_username: Option<String>,
    /// `name`, when sent.
    pub name: Option<String>,
    /// The upstream's RFC 8176 `amr` values.
    pub amr: Vec<&'static str>,
    /// The values of the mapped roles claim.
    pub groups: Vec<String>,
    /// When the user authenticated at the upstream (`auth_time`), when it says.
    pub auth_time: Option<i64>,
}

impl UpstreamIdentity {
    /// Whether the upstream says it used more than one factor.
    pub fn used_mfa(&self) -> bool {
        self.amr.contains(&"mfa")
    }
}

fn text(claims: &Map<String, Value>, name: &str) -> Option<String> {
    claims
        .get(name)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.chars().take(256).collect())
}

/// A claim's strings: an array of strings, or one string as one value (never split: a
/// user-editable string must not smuggle in a second value).
fn strings(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        Some(Value::String(s)) => vec![s.clone()],
        _ => Vec::new(),
    }
}

/// Checks the claims of a verified ID token (Core 1.0 §3.1.3.7): issuer, audience (and
/// `azp` when there are several), expiry, issue time, nonce and subject; then reads the
/// identity, with the values of `roles_claim`.
pub fn check_id_token(
    claims: &Map<String, Value>,
    expected: &Expected<'_>,
    roles_claim: Option<&str>,
) -> Result<UpstreamIdentity, String> {
    if claims.get("iss").and_then(Value::as_str) != Some(expected.issuer) {
        return Err("the ID token comes from another issuer".into());
    }
    let audiences = strings(claims.get("aud"));
    if !audiences.iter().any(|a| a == expected.client_id) {
        return Err("the ID token is for another client".into());
    }
    let azp = claims.get("azp").and_then(Value::as_str);
    if (audiences.len() > 1 || azp.is_some()) && azp != Some(expected.client_id) {
        return Err("the ID token was issued to another party (azp)".into());
    }
    let exp = claims.get("exp").and_then(Value::as_i64);
    if exp.is_none_or(|exp| exp + LEEWAY_SECS <= expected.now) {
        return Err("the ID token has expired".into());
    }
    let iat = claims.get("iat").and_then(Value::as_i64);
    if iat.is_none_or(|iat| iat > expected.now + LEEWAY_SECS) {
        return Err("the ID token has no plausible issue time".into());
    }
    let nonce = claims
        .get("nonce")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if !crate::auth::secret::constant_time_eq(nonce, expected.nonce) {
        return Err("the ID token does not carry this sign-in's nonce".into());
    }
    let auth_time = claims.get("auth_time").and_then(Value::as_i64);
    if let Some(max_age) = expected.max_age
        && auth_time.is_none_or(|at| expected.now - at > max_age + LEEWAY_SECS)
    {
        return Err("the sign-in at the provider is older than max_age allows".into());
    }
    if let Some(since) = expected.login_since
        && auth_time.is_none_or(|at| at + LEEWAY_SECS < since)
    {
        return Err("the provider did not sign the user in again (prompt=login)".into());
    }
    let subject = claims
        .get("sub")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty() && s.len() <= 255)
        .ok_or("the ID token names no subject")?;
    // Only RFC 8176's registered values, whose meaning is known, reach our tokens.
    let amr = strings(claims.get("amr"))
        .iter()
        .filter_map(|v| crate::auth::session::amr_value(v))
        .collect();
    Ok(UpstreamIdentity {
        issuer: expected.issuer.to_string(),
        subject: subject.to_string(),
        email: text(claims, "email").map(|e| e.to_lowercase()),
        email_verified: claims.get("email_verified") == Some(&Value::Bool(true)),
        preferred_username: text(claims, "preferred_username"),
        name: text(claims, "name"),
        amr,
        groups: roles_claim
            .map(|claim| strings(claims.get(claim)))
            .unwrap_or_default(),
        auth_time,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NOW: i64 = 1_800_000_000;

    fn expected() -> Expected<'static> {
        Expected {
            issuer: "https://id.corp.example",
            client_id: "tessera",
            nonce: "n-0S6_WzA2Mj",
            now: NOW,
            max_age: None,
            login_since: None,
        }
    }

    fn claims(extra: Value) -> Map<String, Value> {
        let mut base = json!({
            "iss": "https://id.corp.example", "aud": "tessera", "sub": "248289761001",
            "exp": NOW + 300, "iat": NOW, "nonce": "n-0S6_WzA2Mj",
            "email": "Jane@Corp.example", "email_verified": true, "amr": ["pwd", "otp", "mfa", "x-custom"],
            "groups": ["corp-admins", "staff"],
        });
        if let (Some(base), Value::Object(extra)) = (base.as_object_mut(), extra) {
            base.extend(extra);
        }
        base.as_object().cloned().unwrap()
    }

    #[test]
    fn a_good_token_gives_the_identity() {
        let identity = check_id_token(&claims(json!({})), &expected(), Some("groups")).unwrap();
        assert_eq!(identity.subject, "248289761001");
        assert_eq!(identity.email.as_deref(), Some("jane@corp.example"));
        assert!(identity.email_verified && identity.used_mfa());
        assert_eq!(
            identity.amr,
            vec!["pwd", "otp", "mfa"],
            "unknown values dropped"
        );
        assert_eq!(identity.groups, vec!["corp-admins", "staff"]);
    }

    #[test]
    fn each_rule_refuses_its_token() {
        for (extra, why) in [
            (json!({ "iss": "https://evil.example" }), "another issuer"),
            (json!({ "aud": "someone-else" }), "another client"),
            (json!({ "aud": ["tessera", "other"] }), "azp"),
            (
                json!({ "aud": ["tessera", "other"], "azp": "other" }),
                "azp",
            ),
            (json!({ "exp": NOW - LEEWAY_SECS - 1 }), "expired"),
            (json!({ "iat": NOW + 3600 }), "issue time"),
            (json!({ "nonce": "replayed" }), "nonce"),
            (json!({ "sub": "" }), "subject"),
        ] {
            let refused = check_id_token(&claims(extra.clone()), &expected(), None).unwrap_err();
            assert!(refused.contains(why), "{extra}: {refused}");
        }
        let mut no_nonce = claims(json!({}));
        no_nonce.remove("nonce");
        assert!(check_id_token(&no_nonce, &expected(), None).is_err());
        let ok = claims(json!({ "aud": ["tessera", "other"], "azp": "tessera" }));
        assert!(check_id_token(&ok, &expected(), None).is_ok());
    }

    #[test]
    fn max_age_and_prompt_login_need_a_recent_auth_time() {
        let fresh = Expected {
            max_age: Some(300),
            login_since: Some(NOW - 10),
            ..expected()
        };
        let missing = check_id_token(&claims(json!({})), &fresh, None).unwrap_err();
        assert!(missing.contains("max_age"), "{missing}");
        let old = claims(json!({ "auth_time": NOW - 3600 }));
        assert!(check_id_token(&old, &fresh, None).is_err());
        let ok = claims(json!({ "auth_time": NOW - 5 }));
        assert_eq!(
            check_id_token(&ok, &fresh, None).unwrap().auth_time,
            Some(NOW - 5)
        );
        let reused = Expected {
            max_age: None,
            ..fresh
        };
        let earlier = claims(json!({ "auth_time": NOW - 200 }));
        assert!(
            check_id_token(&earlier, &reused, None)
                .unwrap_err()
                .contains("prompt=login")
        );
    }

    #[test]
    fn a_single_string_claim_is_one_value() {
        let identity = check_id_token(
            &claims(json!({ "groups": "x corp-admins" })),
            &expected(),
            Some("groups"),
        )
        .unwrap();
        assert_eq!(identity.groups, vec!["x corp-admins"]);
    }

    #[test]
    fn discovery_must_name_the_configured_issuer() {
        let doc = json!({
            "issuer": "https://id.corp.example",
            "authorization_endpoint": "https://id.corp.example/authorize",
            "token_endpoint": "https://id.corp.example/token",
            "jwks_uri": "https://id.corp.example/jwks",
        });
        let meta = ProviderMetadata::parse(&doc, "https://id.corp.example").unwrap();
        assert_eq!(meta.end_session_endpoint, None);
        assert!(ProviderMetadata::parse(&doc, "https://id.other.example").is_err());
        let mut plain = doc.clone();
        plain["token_endpoint"] = json!("http://id.corp.example/token");
        assert!(ProviderMetadata::parse(&plain, "https://id.corp.example").is_err());
    }

    #[test]
    fn the_request_carries_pkce_state_and_nonce() {
        let scopes = vec!["openid".to_string(), "email".to_string()];
        let url = AuthorizationRequest {
            endpoint: "https://id.corp.example/authorize?tenant=1",
            client_id: "tessera",
            redirect_uri: "https://tessera.example/upstream/corp/callback",
            scopes: &scopes,
            state: "st",
            nonce: "no",
            verifier: "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
            prompt_login: true,
            max_age: Some(0),
        }
        .url()
        .unwrap();
        assert!(url.starts_with("https://id.corp.example/authorize?tenant=1&response_type=code"));
        assert!(url.contains("code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"));
        assert!(url.contains("scope=openid+email") && url.contains("response_mode=query"));
        assert!(url.ends_with("&prompt=login&max_age=0"), "{url}");
    }
}
