//! Role names: data, not code. `admin`, `user` and `guest` exist from the first migration.

use std::fmt;

/// A role name of 1 to 64 lower-case letters, digits, `_`, `-` or `:`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct RoleName(String);

impl RoleName {
    /// Validates a role name.
    pub fn parse(input: &str) -> Result<Self, String> {
        let name = input.trim();
        let ok = (1..=64).contains(&name.len())
            && name.chars().all(|c| {
                c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '-' | ':')
            });
        if !ok {
            return Err(format!(
                "'{name}' is not a valid role name (1 to 64 of a-z, 0-9, '_', '-', ':')"
            ));
        }
        Ok(Self(name.to_string()))
    }

    /// The role name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RoleName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_names() {
        assert!(RoleName::parse("admin").is_ok());
        assert!(RoleName::parse("billing:read").is_ok());
        assert!(RoleName::parse("Admin").is_err());
        assert!(RoleName::parse("").is_err());
        assert!(RoleName::parse("a b").is_err());
    }
}
