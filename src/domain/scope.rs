//! OAuth scopes (RFC 6749 §3.3): space-delimited, case-sensitive tokens.

use std::collections::BTreeSet;
use std::fmt;

/// One scope token.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Scope(String);

impl Scope {
    /// Validates one token: 1 to 128 characters from `%x21 / %x23-5B / %x5D-7E`.
    pub fn parse(input: &str) -> Result<Self, String> {
        let ok = (1..=128).contains(&input.len())
            && input
                .bytes()
                .all(|b| b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b));
        if !ok {
            return Err(format!("'{input}' is not a valid scope"));
        }
        Ok(Self(input.to_string()))
    }

    /// The token.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A set of scopes, kept sorted so stored and compared forms are stable.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScopeSet(BTreeSet<Scope>);

impl ScopeSet {
    /// Parses a space-delimited scope string; empty input is the empty set.
    pub fn parse(input: &str) -> Result<Self, String> {
        if input.len() > 4096 {
            return Err("the scope parameter is too long".into());
        }
        input
            .split(' ')
            .filter(|s| !s.is_empty())
            .map(Scope::parse)
            .collect::<Result<BTreeSet<_>, _>>()
            .map(Self)
    }

    /// Builds a set from trusted names (stored data).
    pub fn from_stored(input: &str) -> Self {
        Self(
            input
                .split(' ')
                .filter(|s| !s.is_empty())
                .map(|s| Scope(s.to_string()))
                .collect(),
        )
    }

    /// Whether `name` is in the set.
    pub fn contains(&self, name: &str) -> bool {
        self.0.iter().any(|s| s.0 == name)
    }

    /// The scopes of `self` that are also in `other`.
    pub fn intersection(&self, other: &ScopeSet) -> ScopeSet {
        Self(self.0.intersection(&other.0).cloned().collect())
    }

    /// The scopes in either set.
    pub fn union(&self, other: &ScopeSet) -> ScopeSet {
        Self(self.0.union(&other.0).cloned().collect())
    }

    /// Whether every scope of `self` is in `other`.
    pub fn is_subset(&self, other: &ScopeSet) -> bool {
        self.0.is_subset(&other.0)
    }

    /// The set without `name`.
    pub fn without(&self, name: &str) -> ScopeSet {
        Self(self.0.iter().filter(|s| s.0 != name).cloned().collect())
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The scopes, in order.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|s| s.0.as_str())
    }
}

impl fmt::Display for ScopeSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let joined: Vec<&str> = self.iter().collect();
        f.write_str(&joined.join(" "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_orders() {
        let set = ScopeSet::parse("profile openid  email").unwrap();
        assert_eq!(set.to_string(), "email openid profile");
        assert!(ScopeSet::parse("open\"id").is_err());
        assert!(ScopeSet::parse("").unwrap().is_empty());
    }
}
