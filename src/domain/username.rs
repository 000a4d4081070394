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
        // Accounts are also named by their id (a UUID); a username shaped like one could
        // stand for another account.
        if uuid::Uuid::parse_str(trimmed).is_ok() {
            return Err("a username may not look like an account id (a UUID)".into());
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
    fn an_id_shaped_username_is_refused() {
        assert!(Username::parse("3f2c6e0a-8d1b-4c55-9a77-0e6d2b1f4a90").is_err());
        assert!(Username::parse("3f2c6e0a8d1b4c559a770e6d2b1f4a90").is_err());
        assert!(Username::parse("alice-2024").is_ok());
    }

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
