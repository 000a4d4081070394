//! Calls to the example resource server with the signed-in user's access
//! token, whose answers the profile and admin pages show.

use std::fmt::Write as _;

use axum::http::header;
use openidconnect::AccessToken;

use crate::App;
use crate::errors::error_chain;

/// Result of a call to the resource server, for display.
pub struct ApiAnswer {
    /// "HTTP 200 OK", or why no answer came.
    pub summary: String,
    /// Body, pretty-printed when it is JSON.
    pub body: String,
    /// Whether the call succeeded (2xx).
    pub ok: bool,
}

impl App {
    /// Calls the resource server with the access token.
    pub async fn call_api(&self, path: &str, access_token: &AccessToken) -> ApiAnswer {
        let url = format!("{}{path}", self.settings.api_url);
        let response = match self
            .http
            .get(&url)
            .bearer_auth(access_token.secret())
            .send()
            .await
        {
            Ok(response) => response,
            Err(err) => {
                return ApiAnswer {
                    summary: "No answer".to_owned(),
                    body: format!(
                        "Could not reach the resource server at {url}: {}",
                        error_chain(&err)
                    ),
                    ok: false,
                };
            }
        };
        let status = response.status();
        let mut summary = format!("HTTP {status}");
        // The challenge says why a token was refused (RFC 6750 §3).
        if let Some(challenge) = response.headers().get(header::WWW_AUTHENTICATE)
            && let Ok(challenge) = challenge.to_str()
        {
            let _ = write!(summary, " (WWW-Authenticate: {challenge})");
        }
        let body = match response.text().await {
            Ok(text) => pretty_json(&text),
            Err(err) => format!("(could not read the answer: {})", error_chain(&err)),
        };
        ApiAnswer {
            summary,
            body,
            ok: status.is_success(),
        }
    }
}

/// Pretty-prints JSON, or returns the text unchanged when it is not JSON.
fn pretty_json(body: &str) -> String {
    serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|value| serde_json::to_string_pretty(&value).ok())
        .unwrap_or_else(|| body.to_owned())
}
