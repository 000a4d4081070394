//! DPoP (RFC 9449) as the endpoints use it: a proof is verified with the key it carries,
//! checked against the request, its nonce checked when one is required or sent, and its `jti`
//! remembered in the database so that a replay is refused on every node. Server nonces are
//! stateless: a time window and its MAC under a subkey of the master key, so every node
//! accepts every node's nonces.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::Services;
use crate::auth::secret;
use crate::oidc::dpop::{self, Expected, Proof};
use crate::oidc::{ErrorCode, OAuthError};
use crate::signing::foreign;

/// The longest proof accepted (an RSA key in the header makes proofs large).
const MAX_PROOF_LEN: usize = 8 * 1024;

/// What a request carries for DPoP.
#[derive(Debug, Clone, Copy)]
pub struct DpopRequest<'a> {
    /// The `DPoP` header's value, if any.
    pub proof: Option<&'a str>,
    /// The request's method.
    pub method: &'a str,
    /// The endpoint's path below the issuer.
    pub path: &'a str,
}

impl Services {
    /// The server nonce clients should put in their next proofs.
    pub fn dpop_nonce(&self) -> String {
        self.nonce_for(self.nonce_window())
    }

    fn nonce_window(&self) -> i64 {
        self.now() / self.config.settings.dpop.nonce_lifetime_secs
    }

    fn nonce_for(&self, window: i64) -> String {
        let mac = self
            .keys
            .master_key()
            .derive_subkey(&format!("dpop-nonce {window}"))
            .unwrap_or_default();
        let mut bytes = window.to_be_bytes().to_vec();
        bytes.extend_from_slice(&mac[..16]);
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// A nonce of this window or the one before (so a nonce handed out just before the
    /// window turned still works).
    fn nonce_is_current(&self, nonce: &str) -> bool {
        let window = self.nonce_window();
        [window, window - 1]
            .iter()
            .any(|w| secret::constant_time_eq(&self.nonce_for(*w), nonce))
    }

    /// Checks the DPoP proof of a request, if it carries one; `access_token` is the token
    /// presented with it at a resource (`ath`). `None` when there is no proof.
    pub async fn dpop_proof(
        &self,
        request: DpopRequest<'_>,
        access_token: Option<&str>,
    ) -> Result<Option<Proof>, OAuthError> {
        let Some(token) = request.proof else {
            return Ok(None);
        };
        let invalid = |d: String| OAuthError::new(ErrorCode::InvalidDpopProof, d);
        if token.len() > MAX_PROOF_LEN {
            return Err(invalid("the DPoP proof is too large".into()));
        }
        let (verified, jwk) = foreign::verify_with_embedded_jwk(token, &dpop::ALGS)
            .map_err(|e| invalid(format!("the DPoP proof does not verify: {e}")))?;
        let settings = &self.config.settings.dpop;
        let url = format!("{}{}", self.config.issuer, request.path);
        let proof = dpop::check(
            verified.typ.as_deref(),
            &verified.claims,
            &jwk,
            &Expected {
                method: request.method,
                url: &url,
                access_token,
                now: self.now(),
                max_age: settings.proof_max_age_secs,
            },
        )?;
        let nonce_ok = proof
            .nonce
            .as_deref()
            .is_some_and(|n| self.nonce_is_current(n));
        if !nonce_ok && (settings.require_nonce || proof.nonce.is_some()) {
            return Err(OAuthError::new(
                ErrorCode::UseDpopNonce,
                "use the DPoP-Nonce this server provided",
            ));
        }
        let seen = secret::hash(&format!("{}.{}", proof.jkt, proof.jti));
        let mut tx = self.db.write().await?;
        if !tx.remember_jwt(&seen, proof.expires_at).await? {
            return Err(invalid("this DPoP proof was used before".into()));
        }
        tx.commit().await?;
        Ok(Some(proof))
    }
}
