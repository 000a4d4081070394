//! An upstream OpenID Connect provider people may sign in with (identity brokering): what
//! Tessera, as its relying party, asks for and how its identities become local accounts.

use std::collections::BTreeMap;

/// Where an upstream's settings live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpstreamSource {
    /// The configuration file: written again at every start, removed when it leaves the file.
    File,
    /// `tessera upstream add`.
    Cli,
}

impl UpstreamSource {
    /// The stored word.
    pub fn as_str(self) -> &'static str {
        match self {
            UpstreamSource::File => "file",
            UpstreamSource::Cli => "cli",
        }
    }

    /// The source a stored word names (anything but `file` is the CLI's).
    pub fn parse(word: &str) -> UpstreamSource {
        if word == "file" {
            UpstreamSource::File
        } else {
            UpstreamSource::Cli
        }
    }
}

/// An upstream provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upstream {
    /// Appears in URLs: `/upstream/{id}/…`.
    pub id: String,
    /// The button text.
    pub name: String,
    /// The issuer, whose discovery document describes the provider.
    pub issuer: String,
    /// Tessera's client_id there.
    pub client_id: String,
    /// Whether a client secret is stored (sealed) for it.
    pub has_secret: bool,
    /// Scopes asked for; `openid` among them.
    pub scopes: Vec<String>,
    /// Link a first sign-in to the local account with the same verified address.
    pub link_by_verified_email: bool,
    /// Create local accounts on first sign-in.
    pub create_users: bool,
    /// The upstream's own second factor stands for Tessera's.
    pub trust_upstream_mfa: bool,
    /// The upstream claim mapped to roles.
    pub roles_claim: Option<String>,
    /// Claim value → local role.
    pub role_map: BTreeMap<String, String>,
    /// Roles of accounts created through it.
    pub default_roles: Vec<String>,
    /// Where its settings live.
    pub source: UpstreamSource,
}

/// An upstream id: 1 to 32 lower-case ASCII letters, digits or '-', not starting with '-'.
pub fn parse_upstream_id(id: &str) -> Result<String, String> {
    let ok = (1..=32).contains(&id.len())
        && !id.starts_with('-')
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if ok {
        Ok(id.to_string())
    } else {
        Err(format!(
            "'{id}' is not an upstream id: use 1 to 32 lower-case letters, digits or '-' (it appears in URLs)"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upstream_ids_fit_in_a_url_segment() {
        assert!(parse_upstream_id("corp").is_ok());
        assert!(parse_upstream_id("corp-2").is_ok());
        for bad in ["", "Corp", "-corp", "corp/x", "corp id", &"x".repeat(33)] {
            assert!(parse_upstream_id(bad).is_err(), "{bad}");
        }
    }
}
