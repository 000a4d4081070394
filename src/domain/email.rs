//! E-mail addresses.

use std::fmt;

/// An e-mail address with one `@`, a non-empty local part and a dotted domain; compared
/// case-insensitively.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    /// Validates an address (a shape check: only a delivered message proves an address).
    pub fn parse(input: &str) -> Result<Self, String> {
        let trimmed = input.trim();
        if trimmed.len() > 254 {
            return Err("an email address may have at most 254 characters".into());
        }
        let (local, domain) = trimmed
            .split_once('@')
            .ok_or_else(|| "an email address needs an '@'".to_string())?;
        let shaped = !local.is_empty()
            && local.len() <= 64
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains('@')
            && !trimmed.chars().any(|c| c.is_whitespace() || c.is_control());
        if !shaped {
            return Err(format!("'{trimmed}' is not a valid email address"));
        }
        Ok(Self(trimmed.to_string()))
    }

    /// The address as entered.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The lower-cased form that uniqueness and look-ups use.
    pub fn normalized(&self) -> String {
        self.0.to_lowercase()
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shape_checks() {
        assert!(Email::parse("alice@example.com").is_ok());
        assert!(Email::parse("alice").is_err());
        assert!(Email::parse("@example.com").is_err());
        assert!(Email::parse("alice@localhost").is_err());
        assert!(Email::parse("a b@example.com").is_err());
        assert!(Email::parse("a@b@example.com").is_err());
    }
}
