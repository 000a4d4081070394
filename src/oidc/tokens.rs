//! Minting the token response (RFC 6749 §5.1, OpenID Connect Core §3.1.3.3) and validating
//! our own JWT access tokens (RFC 9068 §4) for userinfo and introspection.

use serde::Serialize;
use serde_json::{Map, Value};

use super::claims::{self, AccessTokenFacts, IdTokenFacts};
use super::client::Client;
use super::{OAuthError, Provider};
use crate::auth::secret;
use crate::domain::ScopeSet;
use crate::domain::User;

/// The JSON body of a successful token response.
#[derive(Debug, Clone, Serialize)]
pub struct TokenResponse {
    /// The JWT access token.
    pub access_token: String,
    /// `DPoP` for a key-bound token (RFC 9449 §5), else `Bearer`.
    pub token_type: &'static str,
    /// Access token lifetime in seconds.
    pub expires_in: i64,
    /// Granted scopes.
    pub scope: String,
    /// ID token (user grants with `openid`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    /// Refresh token (when `offline_access` was granted).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
}

/// Tokens just minted, and the claims of the access token among them.
#[derive(Debug)]
pub struct Minted {
    /// What the token endpoint answers.
    pub response: TokenResponse,
    /// The access token's claims, as verifying the token would find them.
    pub access: AccessTokenClaims,
}

/// A user grant being turned into tokens.
#[derive(Debug, Clone)]
pub struct UserGrant<'a> {
    /// Grant id.
    pub grant_id: &'a str,
    /// The session the grant was made in (`sid`).
    pub session_id: Option<&'a str>,
    /// When the user authenticated.
    pub auth_time: i64,
    /// Authentication methods, space-separated.
    pub amr: &'a str,
    /// Authentication context class reached.
    pub acr: &'a str,
    /// The user, with their current roles.
    pub user: &'a User,
    /// Scopes of these tokens (the grant's, or fewer on refresh).
    pub scope: &'a ScopeSet,
    /// Nonce to echo (code exchange only).
    pub nonce: Option<&'a str>,
    /// A refresh token to return, already stored.
    pub refresh_token: Option<String>,
    /// How the access token is bound and for whom.
    pub binding: Binding<'a>,
}

/// The audience and sender constraint of an access token.
#[derive(Debug, Clone, Copy, Default)]
pub struct Binding<'a> {
    /// Resource indicators (RFC 8707); empty for the client itself.
    pub audience: &'a [String],
    /// The DPoP key thumbprint (RFC 9449).
    pub jkt: Option<&'a str>,
}

impl Binding<'_> {
    fn token_type(&self) -> &'static str {
        if self.jkt.is_some() { "DPoP" } else { "Bearer" }
    }
}

/// Claims of a valid access token.
#[derive(Debug, Clone)]
pub struct AccessTokenClaims {
    /// All claims.
    pub claims: Map<String, Value>,
    /// Subject.
    pub sub: String,
    /// Client.
    pub client_id: String,
    /// Granted scopes.
    pub scope: ScopeSet,
    /// Token id.
    pub jti: String,
    /// Expiry.
    pub exp: i64,
    /// Grant (absent for client_credentials).
    pub grant_id: Option<String>,
    /// `aud`, as a list.
    pub audience: Vec<String>,
    /// `cnf.jkt`: the DPoP key it is bound to.
    pub jkt: Option<String>,
}

impl AccessTokenClaims {
    /// Whether the token was minted for a resource other than its client (RFC 8707): such a
    /// token is not for Tessera's own endpoints.
    pub fn for_other_resource(&self) -> bool {
        self.audience.iter().any(|a| *a != self.client_id)
    }
}

/// The claims of an access token of ours, or `None` when one it must carry is missing.
fn parse_access_claims(claims: Map<String, Value>) -> Option<AccessTokenClaims> {
    Some(AccessTokenClaims {
        sub: str_claim(&claims, "sub")?,
        client_id: str_claim(&claims, "client_id")?,
        scope: ScopeSet::from_stored(&str_claim(&claims, "scope").unwrap_or_default()),
        jti: str_claim(&claims, "jti")?,
        grant_id: str_claim(&claims, "gid"),
        audience: match claims.get("aud") {
            Some(Value::String(one)) => vec![one.clone()],
            Some(Value::Array(many)) => many
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect(),
            _ => Vec::new(),
        },
        jkt: claims
            .get("cnf")
            .and_then(|c| c.get("jkt"))
            .and_then(Value::as_str)
            .map(str::to_string),
        exp: claims.get("exp").and_then(Value::as_i64)?,
        claims,
    })
}

fn str_claim(claims: &Map<String, Value>, name: &str) -> Option<String> {
    claims.get(name).and_then(Value::as_str).map(str::to_string)
}

impl Provider {
    /// Mints an access token and, with `openid`, an ID token for a user grant.
    pub fn user_tokens(&self, client: &Client, grant: UserGrant<'_>) -> Result<Minted, OAuthError> {
        let now = self.clock.now();
        let jti = secret::generate();
        let roles = grant
            .scope
            .contains("roles")
            .then_some(grant.user.roles.as_slice());
        let access_claims = claims::access_token(&AccessTokenFacts {
            issuer: &self.issuer,
            sub: &grant.user.id,
            client_id: &client.id,
            scope: grant.scope,
            jti: &jti,
            now,
            ttl: self.tokens.access_token_ttl_secs,
            auth_time: Some(grant.auth_time),
            grant_id: Some(grant.grant_id),
            sid: grant.session_id,
            roles,
            audience: grant.binding.audience,
            jkt: grant.binding.jkt,
            acr: Some(grant.acr),
        });
        let (access_token, access) = self.mint_access_token(access_claims)?;
        let id_token = if grant.scope.contains("openid") {
            let facts = IdTokenFacts {
                issuer: &self.issuer,
                sub: &grant.user.id,
                client_id: &client.id,
                now,
                ttl: self.tokens.id_token_ttl_secs,
                auth_time: grant.auth_time,
                amr: grant.amr,
                acr: grant.acr,
                nonce: grant.nonce,
                sid: grant.session_id,
                at_hash: Some(claims::at_hash(&access_token, client.id_token_alg)),
            };
            let profile = claims::user_claims(grant.user, grant.scope);
            Some(self.keys.sign(
                client.id_token_alg,
                "JWT",
                &claims::id_token(&facts, profile),
            )?)
        } else {
            None
        };
        Ok(Minted {
            response: TokenResponse {
                access_token,
                token_type: grant.binding.token_type(),
                expires_in: self.tokens.access_token_ttl_secs,
                scope: grant.scope.to_string(),
                id_token,
                refresh_token: grant.refresh_token,
            },
            access,
        })
    }

    /// Mints an access token for a client acting on its own behalf; it carries the client's
    /// own roles.
    pub fn client_token(
        &self,
        client: &Client,
        scope: &ScopeSet,
        binding: Binding<'_>,
    ) -> Result<Minted, OAuthError> {
        let now = self.clock.now();
        let jti = secret::generate();
        let access_claims = claims::access_token(&AccessTokenFacts {
            issuer: &self.issuer,
            sub: &client.id,
            client_id: &client.id,
            scope,
            jti: &jti,
            now,
            ttl: self.tokens.access_token_ttl_secs,
            auth_time: None,
            grant_id: None,
            sid: None,
            roles: Some(&client.roles),
            audience: binding.audience,
            jkt: binding.jkt,
            acr: None,
        });
        let (access_token, access) = self.mint_access_token(access_claims)?;
        Ok(Minted {
            response: TokenResponse {
                access_token,
                token_type: binding.token_type(),
                expires_in: self.tokens.access_token_ttl_secs,
                scope: scope.to_string(),
                id_token: None,
                refresh_token: None,
            },
            access,
        })
    }

    /// Signs an access token with `claims`; returns it with what verifying it would find.
    fn mint_access_token(
        &self,
        claims: Map<String, Value>,
    ) -> Result<(String, AccessTokenClaims), OAuthError> {
        let token = self
            .keys
            .sign(self.tokens.access_token_alg, "at+jwt", &claims)?;
        let parsed = parse_access_claims(claims)
            .ok_or_else(|| OAuthError::server_error("minted access token claims incomplete"))?;
        Ok((token, parsed))
    }

    /// RFC 9068 §4: signature by our key, `typ` at+jwt, our issuer, not expired. Whether its
    /// grant is still live is the caller's to check (one indexed read).
    pub fn verify_access_token(&self, token: &str) -> Result<AccessTokenClaims, OAuthError> {
        let invalid =
            || OAuthError::invalid_token("the access token is invalid, expired or revoked");
        let jwt = self.keys.verify(token).map_err(|_| invalid())?;
        let typ_ok = jwt.typ.as_deref().is_some_and(|t| {
            t.eq_ignore_ascii_case("at+jwt") || t.eq_ignore_ascii_case("application/at+jwt")
        });
        let claims = jwt.claims;
        let exp = claims
            .get("exp")
            .and_then(Value::as_i64)
            .ok_or_else(invalid)?;
        let issuer_ok = str_claim(&claims, "iss").as_deref() == Some(self.issuer.as_str());
        if !typ_ok || !issuer_ok || exp <= self.clock.now() {
            return Err(invalid());
        }
        parse_access_claims(claims).ok_or_else(invalid)
    }
}
