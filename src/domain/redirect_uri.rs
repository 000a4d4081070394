//! Redirect URIs registered by clients. RFC 6749 §3.1.2 and RFC 9700 §4.1: compared by exact
//! string, never by prefix or pattern; plain http only towards the client's own machine.

use std::fmt;

use url::Url;

/// An absolute redirect URI without fragment: https, or http on a loopback host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedirectUri(String);

impl RedirectUri {
    /// Validates a URI for registration.
    pub fn parse(input: &str) -> Result<Self, String> {
        // Stored lists are space-separated, and matching is exact: neither a space nor a
        // pattern can mean anything in a registered URI.
        if input.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(format!(
                "'{}' contains a space or control character; register each redirect URI exactly, one per flag",
                input.escape_debug()
            ));
        }
        if input.contains('*') {
            return Err(format!(
                "'{input}' contains a wildcard; redirect URIs match exactly, so register each one in full"
            ));
        }
        let url =
            Url::parse(input).map_err(|e| format!("'{input}' is not an absolute URI ({e})"))?;
        if url.fragment().is_some() || input.contains('#') {
            return Err(format!("'{input}' must not contain a fragment"));
        }
        match url.scheme() {
            "https" => {}
            "http" if url.host_str().map(is_loopback_host).unwrap_or(false) => {}
            "http" => {
                return Err(format!(
                    "'{input}' uses http on a non-loopback host; use https"
                ));
            }
            other => return Err(format!("'{input}' has unsupported scheme '{other}'")),
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(format!("'{input}' has no host"));
        }
        Ok(Self(input.to_string()))
    }

    /// The URI exactly as registered.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// RFC 9700 §4.1.3: exact string comparison.
    pub fn matches_exactly(&self, candidate: &str) -> bool {
        self.0 == candidate
    }
}

impl fmt::Display for RedirectUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Whether a host name or address is loopback.
pub fn is_loopback_host(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    host.parse::<std::net::IpAddr>()
        .map(|ip| ip.is_loopback())
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registration_rules() {
        assert!(RedirectUri::parse("https://app.example.com/cb").is_ok());
        assert!(RedirectUri::parse("http://127.0.0.1:3000/callback").is_ok());
        assert!(RedirectUri::parse("http://localhost/cb").is_ok());
        assert!(RedirectUri::parse("http://app.example.com/cb").is_err());
        assert!(RedirectUri::parse("https://app.example.com/cb#x").is_err());
        assert!(RedirectUri::parse("javascript:alert(1)").is_err());
        assert!(RedirectUri::parse("/relative").is_err());
    }

    #[test]
    fn spaces_and_wildcards_are_refused() {
        assert!(RedirectUri::parse("https://app.example/cb https://evil.example/cb").is_err());
        assert!(RedirectUri::parse("https://app.example/cb\n").is_err());
        assert!(RedirectUri::parse("https://*.example.com/cb").is_err());
        assert!(RedirectUri::parse("https://app.example/*").is_err());
    }

    #[test]
    fn exact_match_only() {
        let uri = RedirectUri::parse("https://app.example.com/cb").unwrap();
        assert!(uri.matches_exactly("https://app.example.com/cb"));
        assert!(!uri.matches_exactly("https://app.example.com/cb/"));
        assert!(!uri.matches_exactly("https://app.example.com/cb?x=1"));
        assert!(!uri.matches_exactly("https://APP.example.com/cb"));
    }
}
