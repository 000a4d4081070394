//! Request parameters. RFC 6749 §3.1 and §3.2: parameters must not repeat, and a parameter
//! sent without a value is treated as omitted.

use std::collections::HashMap;

use super::OAuthError;

/// The largest value Tessera accepts for any single parameter.
const MAX_VALUE_LEN: usize = 8 * 1024;

/// The longest parameter name Tessera accepts. Every name it understands is far shorter;
/// a longer one is garbage, refused like an oversized value rather than silently ignored.
const MAX_NAME_LEN: usize = 256;

/// Decoded request parameters, each present at most once.
#[derive(Debug, Clone, Default)]
pub struct Params(HashMap<String, String>);

impl Params {
    /// Parses `application/x-www-form-urlencoded` data (a query string or a form body).
    pub fn parse(input: &[u8]) -> Result<Params, OAuthError> {
        let mut map = HashMap::new();
        for (name, value) in url::form_urlencoded::parse(input) {
            if name.len() > MAX_NAME_LEN {
                // Not echoed: the description would be as large as the name.
                return Err(OAuthError::invalid_request("a parameter name is too long"));
            }
            if value.is_empty() {
                continue;
            }
            // RFC 6749 Appendix A: no parameter's syntax admits %x00, and PostgreSQL cannot
            // store or even compare text containing it (a lookup would fail with a 500).
            if name.contains('\0') || value.contains('\0') {
                return Err(OAuthError::invalid_request(
                    "parameters must not contain NUL characters",
                ));
            }
            if value.len() > MAX_VALUE_LEN {
                return Err(OAuthError::invalid_request(format!(
                    "parameter '{name}' is too long"
                )));
            }
            if map.insert(name.to_string(), value.into_owned()).is_some() {
                return Err(OAuthError::invalid_request(format!(
                    "parameter '{name}' was sent more than once"
                )));
            }
        }
        Ok(Params(map))
    }

    /// A parameter's value.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// A parameter that must be present.
    pub fn require(&self, name: &str) -> Result<&str, OAuthError> {
        self.get(name).ok_or_else(|| {
            OAuthError::invalid_request(format!("the '{name}' parameter is missing"))
        })
    }

    /// Builds parameters from pairs (later values win).
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Params {
        Params(
            pairs
                .into_iter()
                .filter(|(_, v)| !v.is_empty())
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_parameters_are_refused_and_empty_ones_ignored() {
        assert!(Params::parse(b"a=1&a=2").is_err());
        let p = Params::parse(b"a=1&b=&c=%20x").unwrap();
        assert_eq!(p.get("a"), Some("1"));
        assert_eq!(p.get("b"), None);
        assert_eq!(p.get("c"), Some(" x"));
        assert!(Params::parse(b"bad=%ZZ%").is_ok());
        assert!(Params::parse(b"a=x%00y").is_err());
        assert!(Params::parse(&[b'a'; 300]).is_err());
    }
}
