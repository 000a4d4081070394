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

    /// Like [`RedirectUri::parse`], and also a native app's private-use scheme
    /// (RFC 8252 §7.1: a reverse domain name such as `com.example.app:/callback`).
    pub fn parse_native(input: &str) -> Result<Self, String> {
        let Some((scheme, _)) = input.split_once(':') else {
            return Self::parse(input);
        };
        if matches!(scheme, "http" | "https") || !scheme.contains('.') {
            return Self::parse(input);
        }
        if input.chars().any(|c| c.is_whitespace() || c.is_control()) || input.contains('*') {
            return Err(format!("'{}' must be one exact URI", input.escape_debug()));
        }
        let url =
            Url::parse(input).map_err(|e| format!("'{input}' is not an absolute URI ({e})"))?;
        if url.fragment().is_some() || input.contains('#') {
            return Err(format!("'{input}' must not contain a fragment"));
        }
        Ok(Self(input.to_string()))
    }

    /// An https URI whose host is not a loopback, private or link-local address: a target
    /// that a stranger may make Tessera send requests to without reaching the services
    /// beside it (names are checked again when they are resolved).
    pub fn parse_public_https(input: &str) -> Result<Self, String> {
        let uri = Self::parse(input)?;
        let url = Url::parse(input).map_err(|e| format!("'{input}': {e}"))?;
        if url.scheme() != "https" {
            return Err(format!("'{input}' must use https"));
        }
        let public = match url.host() {
            Some(url::Host::Domain(name)) => !name.eq_ignore_ascii_case("localhost"),
            Some(url::Host::Ipv4(ip)) => is_public_address(std::net::IpAddr::V4(ip)),
            Some(url::Host::Ipv6(ip)) => is_public_address(std::net::IpAddr::V6(ip)),
            None => false,
        };
        if !public {
            return Err(format!(
                "'{input}' points at a loopback, private or link-local address"
            ));
        }
        Ok(uri)
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

/// Whether an address is on the public internet: not loopback, private, link-local,
/// shared (CGNAT), unique-local, multicast, unspecified or documentation space.
pub fn is_public_address(ip: std::net::IpAddr) -> bool {
    match ip {
        std::net::IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_broadcast()
                || v4.is_unspecified()
                || v4.is_multicast()
                || v4.is_documentation()
                || a == 0
                || (a == 100 && (64..128).contains(&b))
                || (a == 192 && b == 0)
                || (a == 198 && (18..20).contains(&b))
                || a >= 240)
        }
        std::net::IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public_address(std::net::IpAddr::V4(v4));
            }
            let segments = v6.segments();
            let first = segments[0];
            // IPv4-compatible (::/96) and NAT64 (64:ff9b::/96) addresses lead to IPv4 ones,
            // and 6to4 (2002::/16) embeds one: none is taken as public.
            let embeds_v4 = segments[..6].iter().all(|s| *s == 0)
                || (first == 0x64 && segments[1] == 0xff9b)
                || first == 0x2002;
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || embeds_v4
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
                || first == 0x2001 && segments[1] == 0x0db8)
        }
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
        assert!(RedirectUri::parse_native("com.example.app:/callback").is_ok());
        assert!(RedirectUri::parse_native("javascript:alert(1)").is_err());
        assert!(RedirectUri::parse_public_https("https://app.example.com/logout").is_ok());
        for private in [
            "https://127.0.0.1/x",
            "https://10.1.2.3/x",
            "https://169.254.169.254/latest",
            "https://[::1]/x",
            "https://[fd00::1]/x",
            "https://[64:ff9b::a00:1]/x",
            "https://198.18.0.1/x",
            "https://localhost/x",
            "http://app.example.com/x",
        ] {
            assert!(
                RedirectUri::parse_public_https(private).is_err(),
                "{private}"
            );
        }
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
