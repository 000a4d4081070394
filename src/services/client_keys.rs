//! `private_key_jwt` (RFC 7523, OpenID Connect Core §9): a client assertion is verified with
//! one of the client's registered keys (inline, or fetched from its `jwks_uri` with a
//! timeout, a size limit and a cache that is refreshed when no key fits), its claims checked,
//! and its `jti` remembered in the database so that it works once on any node.

use std::sync::Arc;

use serde_json::{Map, Value};

use super::Services;
use crate::auth::secret;
use crate::domain::Client;
use crate::oidc::client_assertion::{self, Audience};
use crate::oidc::client_auth::invalid_client;
use crate::oidc::discovery::paths;
use crate::oidc::{OAuthError, dpop};
use crate::signing::foreign;

/// The largest key set fetched from a `jwks_uri`.
const MAX_JWKS_BYTES: usize = 32 * 1024;
/// How long fetched keys are used before they are fetched again, in seconds.
const JWKS_CACHE_SECS: i64 = 300;
/// Keys fetched this recently are not fetched again for an assertion that fits none.
const JWKS_REFETCH_SECS: i64 = 10;

/// A fetched key set and when it was fetched.
pub(crate) type FetchedKeys = (Arc<Vec<Map<String, Value>>>, i64);

fn refused(description: String) -> OAuthError {
    let mut error = invalid_client(false);
    error.description = description.into();
    error
}

fn keys_of(jwks: &Value) -> Vec<Map<String, Value>> {
    jwks.get("keys")
        .and_then(Value::as_array)
        .map(|keys| keys.iter().filter_map(|k| k.as_object().cloned()).collect())
        .unwrap_or_default()
}

impl Services {
    /// Checks a client assertion of `client`: signature, claims, single use.
    pub(crate) async fn verify_client_assertion(
        &self,
        client: &Client,
        assertion: &str,
    ) -> Result<(), OAuthError> {
        let verified = match (&client.jwks, &client.jwks_uri) {
            (Some(jwks), _) => {
                let jwks: Value = serde_json::from_str(jwks).unwrap_or_default();
                signed_by(assertion, &keys_of(&jwks))
            }
            (None, Some(uri)) => {
                let (keys, fetched_at) = self
                    .client_published_keys(uri.as_str(), client.self_registered, false)
                    .await?;
                match signed_by(assertion, &keys) {
                    Some(v) => Some(v),
                    // The client may have rotated its keys since they were fetched.
                    None if fetched_at < self.now() - JWKS_REFETCH_SECS => {
                        let (keys, _) = self
                            .client_published_keys(uri.as_str(), client.self_registered, true)
                            .await?;
                        signed_by(assertion, &keys)
                    }
                    None => None,
                }
            }
            (None, None) => None,
        };
        let claims = verified.ok_or_else(|| {
            refused("client assertion refused: no registered key of the client verifies it".into())
        })?;
        let now = self.now();
        let token_endpoint = format!("{}{}", self.config.issuer, paths::TOKEN);
        let (jti, exp) = client_assertion::check(
            &claims,
            &client.id,
            Audience {
                issuer: &self.config.issuer,
                token_endpoint: &token_endpoint,
            },
            now,
        )?;
        let seen = secret::hash(&format!("assertion.{}.{jti}", client.id));
        let mut tx = self.db.write().await?;
        if !tx.remember_jwt(&seen, exp).await? {
            return Err(refused(
                "client assertion refused: this jti was used before".into(),
            ));
        }
        tx.commit().await?;
        Ok(())
    }

    /// The keys published at `uri` (a client's or an upstream provider's), from the cache
    /// unless `refresh` or stale; with `public_only`, fetched only from public addresses.
    pub(crate) async fn published_keys(
        &self,
        uri: &str,
        public_only: bool,
        refresh: bool,
    ) -> Result<FetchedKeys, String> {
        let now = self.now();
        if !refresh && let Some(cached) = self.client_keys.get(uri, now) {
            return Ok(cached);
        }
        let jwks = self
            .outbound
            .get_json(uri, MAX_JWKS_BYTES, public_only)
            .await?
            .body;
        let fetched = (Arc::new(keys_of(&jwks)), now);
        self.client_keys
            .insert(uri.to_string(), fetched.clone(), now + JWKS_CACHE_SECS, now);
        Ok(fetched)
    }

    /// A client's published keys; a failure to fetch them refuses the assertion.
    async fn client_published_keys(
        &self,
        uri: &str,
        self_registered: bool,
        refresh: bool,
    ) -> Result<FetchedKeys, OAuthError> {
        // Keys an administrator registered may live beside Tessera; a stranger's may not.
        self.published_keys(uri, self_registered, refresh)
            .await
            .map_err(|e| {
                tracing::warn!(jwks_uri = %uri, error = %e, "client keys could not be fetched");
                refused(format!(
                    "client assertion refused: the client's jwks_uri failed ({e})"
                ))
            })
    }
}

/// The claims of `assertion` if one of `keys` (the one its `kid` names, or any when it names
/// none) verifies it.
pub(crate) fn signed_by(
    assertion: &str,
    keys: &[Map<String, Value>],
) -> Option<Map<String, Value>> {
    let kid = foreign::header_kid(assertion);
    keys.iter()
        .filter(|k| match &kid {
            Some(kid) => k.get("kid").and_then(Value::as_str) == Some(kid.as_str()),
            None => true,
        })
        .find_map(|key| foreign::verify_with_jwk(assertion, key, &dpop::ALGS).ok())
        .map(|v| v.claims)
}
