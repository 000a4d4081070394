//! RP-Initiated Logout 1.0 §2–§3: validating a logout request. A post-logout redirect needs a
//! known client and an exactly registered URI; otherwise the user sees a page, never a
//! redirect to an unregistered place.

use serde::{Deserialize, Serialize};

use super::OAuthError;
use super::client::Client;
use super::id_token_hint::IdTokenHint;
use super::params::Params;
use crate::signing::KeyRing;

/// A validated logout request.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EndSessionRequest {
    /// The client that asked, when known.
    pub client_id: Option<String>,
    /// The client's display name.
    pub client_name: Option<String>,
    /// The user named by a valid `id_token_hint`.
    pub hint_sub: Option<String>,
    /// The session named by the hint.
    pub hint_sid: Option<String>,
    /// Where to send the user afterwards (registered).
    pub post_logout_redirect_uri: Option<String>,
    /// Echoed to the post-logout redirect.
    pub state: Option<String>,
}

impl EndSessionRequest {
    /// Whether the hint names this session's user (and session, when it carries one).
    pub fn hint_matches(&self, user_id: &str, session_id: &str) -> bool {
        self.hint_sub.as_deref() == Some(user_id)
            && self.hint_sid.as_deref().is_none_or(|sid| sid == session_id)
    }

    /// The URL to send the user to after logout, with `state`.
    pub fn redirect_target(&self) -> Option<String> {
        let uri = self.post_logout_redirect_uri.as_ref()?;
        let mut url = url::Url::parse(uri).ok()?;
        if let Some(state) = &self.state {
            url.query_pairs_mut().append_pair("state", state);
        }
        Some(url.to_string())
    }
}

/// RP-Initiated Logout §2: verifies `id_token_hint` (our own ID token, expired or not) and
/// settles which client the request names; `client_id` must agree with the hint.
pub fn requested_client(
    params: &Params,
    keys: &KeyRing,
    issuer: &str,
) -> Result<(Option<IdTokenHint>, Option<String>), OAuthError> {
    let hint = match params.get("id_token_hint") {
        Some(h) => Some(IdTokenHint::verify(h, keys, issuer).ok_or_else(|| {
            OAuthError::invalid_request("id_token_hint is not an ID token issued by this server")
        })?),
        None => None,
    };
    let client_id = match (params.get("client_id"), &hint) {
        (Some(id), Some(h)) if !h.issued_to(id) => {
            return Err(OAuthError::invalid_request(
                "client_id does not match the id_token_hint",
            ));
        }
        (Some(id), _) => Some(id.to_string()),
        (None, Some(h)) if h.aud.len() == 1 => h.aud.first().cloned(),
        (None, _) => None,
    };
    Ok((hint, client_id))
}

/// RP-Initiated Logout §3: the validated request, given the client `client_id` named (`None`
/// when it names none; the caller refuses an unknown one).
pub fn validate(
    params: &Params,
    hint: Option<IdTokenHint>,
    client_id: Option<String>,
    client: Option<&Client>,
) -> Result<EndSessionRequest, OAuthError> {
    let post_logout_redirect_uri = match params.get("post_logout_redirect_uri") {
        None => None,
        Some(uri) => {
            let client = client.ok_or_else(|| {
                OAuthError::invalid_request(
                    "post_logout_redirect_uri needs id_token_hint or client_id",
                )
            })?;
            let registered = client.registered_post_logout_uri(uri).ok_or_else(|| {
                OAuthError::invalid_request(
                    "post_logout_redirect_uri is not registered for this client",
                )
            })?;
            Some(registered.as_str().to_string())
        }
    };
    Ok(EndSessionRequest {
        client_name: client.map(|c| c.name.clone()),
        client_id,
        hint_sub: hint.as_ref().map(|h| h.sub.clone()),
        hint_sid: hint.and_then(|h| h.sid),
        post_logout_redirect_uri,
        state: params.get("state").map(str::to_string),
    })
}
