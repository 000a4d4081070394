//! Usernames: what a person types to sign in.

use std::fmt;

/// A username of 3 to 64 letters, digits, `.`, `_` or `-`; compared case-insensitively.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Username(String);

impl Username {
    /// Validates a username.
    pub fn parse(input: &str) -> Result<Self, String> {
        let trimmed = input.trim();
        let len = trimmed.chars().count();
        if !(3..=64).contains(&len) {
            return Err("a username must have 3 to 64 characters".into());
        }
        if !trimmed
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        {
            return Err("a username may contain only letters, digits, '.', '_' and '-'".into());
        }
        Ok(Self(trimmed.to_string()))
    }

    /// The username as entered.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The lower-cased form that uniqueness and look-ups use.
    pub fn normalized(&self) -> String {
        self.0.to_ascii_lowercase()
    }
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_names_and_rejects_others() {
        assert!(Username::parse("alice").is_ok());
        assert!(Username::parse("a.b-c_d").is_ok());
        assert!(Username::parse("al").is_err());
        assert!(Username::parse("alice smith").is_err());
        assert!(Username::parse("alice@example.com").is_err());
        assert!(Username::parse(&"a".repeat(65)).is_err());
        assert_eq!(
            Username::parse("Alice").map(|u| u.normalized()),
            Ok("alice".into())
        );
    }
}
