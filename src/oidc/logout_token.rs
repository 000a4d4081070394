//! Logout Tokens (OpenID Connect Back-Channel Logout 1.0 §2.4): the claims of the JWT a
//! client receives when a session it has tokens from ends.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// The event that marks a JWT as a logout token.
pub const EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

/// How long a logout token is valid, in seconds (§2.4 asks for a short lifetime).
pub const TTL_SECS: i64 = 120;

/// What is queued for one client when a session ends; the token is signed when it is sent.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LogoutNotice {
    /// The client (`aud`).
    pub client_id: String,
    /// The user (`sub`).
    pub sub: String,
    /// The session (`sid`).
    pub sid: String,
    /// Fixed when queued, so a client that receives a retried token can drop the repeat.
    pub jti: String,
    /// The client's ID token algorithm, which it verifies logout tokens with too.
    pub alg: String,
    /// The client registered itself: its URI is reached over public addresses only.
    #[serde(default)]
    pub public_only: bool,
}

/// §2.4: `iss`, `aud`, `iat`, `exp`, `jti`, `sub`, `sid` and `events`; never `nonce`.
pub fn claims(issuer: &str, notice: &LogoutNotice, now: i64) -> Value {
    json!({
        "iss": issuer,
        "aud": notice.client_id,
        "iat": now,
        "exp": now + TTL_SECS,
        "jti": notice.jti,
        "sub": notice.sub,
        "sid": notice.sid,
        "events": { EVENT: {} },
    })
}
