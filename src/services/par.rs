//! Pushed Authorization Requests (RFC 9126) as use cases: a client pushes its request over
//! the back channel and gets a single-use `request_uri`; the authorization endpoint trades it
//! for the pushed parameters.

use super::Services;
use super::dpop::DpopRequest;
use crate::auth::secret;
use crate::domain::Client;
use crate::oidc::authorize::{self, AuthorizeError};
use crate::oidc::discovery::paths;
use crate::oidc::params::Params;
use crate::oidc::{ErrorCode, OAuthError, par};

/// RFC 9126 §2.2: the answer to a push.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Pushed {
    /// The reference to use at the authorization endpoint.
    pub request_uri: String,
    /// Its lifetime in seconds.
    pub expires_in: i64,
}

impl Services {
    /// `POST /par` for an authenticated client: validates the request as the authorization
    /// endpoint would (RFC 9126 §2.1) and stores it. A DPoP proof binds the code to come to
    /// its key (RFC 9449 §10.1).
    pub async fn push_authorization_request(
        &self,
        client: &Client,
        params: &Params,
        dpop: Option<&str>,
    ) -> Result<Pushed, OAuthError> {
        par::check_pushable(params)?;
        if params.get("client_id").is_some_and(|id| id != client.id) {
            return Err(OAuthError::invalid_request(
                "client_id differs from the authenticated client",
            ));
        }
        let mut params = params.clone();
        params.set("client_id", &client.id);
        let proof = self
            .dpop_proof(
                DpopRequest {
                    proof: dpop,
                    method: "POST",
                    path: paths::PAR,
                },
                None,
            )
            .await?;
        if let Some(proof) = proof {
            if params.get("dpop_jkt").is_some_and(|j| j != proof.jkt) {
                return Err(OAuthError::new(
                    ErrorCode::InvalidDpopProof,
                    "dpop_jkt differs from the key of the DPoP proof",
                ));
            }
            params.set("dpop_jkt", &proof.jkt);
        }
        authorize::check_redirect_uri(&params, client)
            .and_then(|uri| {
                authorize::validate(&params, client, uri, &self.keys, &self.config.issuer)
            })
            .map_err(|e| match e {
                AuthorizeError::Page { error } | AuthorizeError::Redirect { error, .. } => error,
            })?;
        let reference = format!("{}{}", par::REQUEST_URI_PREFIX, secret::generate());
        let lifetime = self.config.settings.par.lifetime_secs;
        let mut tx = self.db.write().await?;
        tx.insert_pushed_request(
            &secret::hash(&reference),
            &client.id,
            &par::store(&params),
            self.now() + lifetime,
        )
        .await?;
        tx.commit().await?;
        Ok(Pushed {
            request_uri: reference,
            expires_in: lifetime,
        })
    }

    /// The parameters an authorization request stands for: the pushed ones when it carries
    /// one of our `request_uri`s (taken once), else its own. Refused when the client must
    /// push and did not (RFC 9126 §6), or the reference is unknown, used or expired.
    pub(crate) async fn authorization_parameters(
        &self,
        client: &Client,
        params: &Params,
    ) -> Result<Params, OAuthError> {
        let Some(reference) = params.get("request_uri").filter(|r| par::is_pushed(r)) else {
            if client.require_par || self.config.settings.par.required {
                return Err(OAuthError::invalid_request(
                    "this client must push its authorization requests to the PAR endpoint first",
                ));
            }
            return Ok(params.clone());
        };
        let taken = {
            let mut tx = self.db.write().await?;
            let taken = tx
                .take_pushed_request(&secret::hash(reference), &client.id)
                .await?;
            tx.commit().await?;
            taken
        };
        let pushed = match taken {
            Some((stored, expires_at)) if expires_at > self.now() => par::load(&stored),
            _ => {
                return Err(OAuthError::new(
                    ErrorCode::InvalidRequestUri,
                    "the request_uri is unknown, expired or already used",
                ));
            }
        };
        par::check_no_conflict(params, &pushed)?;
        Ok(pushed)
    }
}
