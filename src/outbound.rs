//! Requests Tessera makes to addresses others gave it (a client's `jwks_uri`): bounded in
//! time and size, following no redirects, so a slow or hostile address cannot stall an
//! endpoint or fill memory.

use std::time::Duration;

use serde_json::Value;

/// The HTTP client for fetching what clients publish.
#[derive(Debug, Clone)]
pub struct Outbound {
    http: reqwest::Client,
}

impl Outbound {
    /// A client whose every request ends after `timeout`.
    pub fn new(timeout: Duration) -> anyhow::Result<Outbound> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(timeout)
            .connect_timeout(timeout)
            .user_agent(concat!("Tessera/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Outbound { http })
    }

    /// GETs `url` and parses the answer as JSON, refusing a body over `max_bytes`, a
    /// redirect or an error status.
    pub async fn get_json(&self, url: &str, max_bytes: usize) -> Result<Value, String> {
        let mut response = self
            .http
            .get(url)
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| format!("{url} could not be fetched: {e}"))?;
        let status = response.status();
        if !status.is_success() {
            return Err(format!("{url} answered {status}"));
        }
        if response
            .content_length()
            .is_some_and(|length| length > max_bytes as u64)
        {
            return Err(format!("{url} is larger than {max_bytes} bytes"));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| format!("{url} could not be read: {e}"))?
        {
            body.extend_from_slice(&chunk);
            if body.len() > max_bytes {
                return Err(format!("{url} is larger than {max_bytes} bytes"));
            }
        }
        serde_json::from_slice(&body).map_err(|_| format!("{url} is not JSON"))
    }
}
