//! Request parameters. RFC 6749 §3.1 and §3.2: parameters must not repeat, and a parameter
//! sent without a value is treated as omitted. The one exception is `resource`, which RFC 8707
//! §2 lets a client send several times.

use std::collections::HashMap;

use super::OAuthError;

/// The largest value Tessera accepts for any single parameter.
const MAX_VALUE_LEN: usize = 8 * 1024;

/// The longest parameter name Tessera accepts. Every name it understands is far shorter;
/// a longer one is garbage, refused like an oversized value rather than silently ignored.
const MAX_NAME_LEN: usize = 256;

/// Parameters that may be sent more than once (RFC 8707 §2).
const REPEATABLE: [&str; 1] = ["resource"];

/// Decoded request parameters, each present at most once except the repeatable ones.
#[derive(Debug, Clone, Default)]
pub struct Params(HashMap<String, Vec<String>>);

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
            let values: &mut Vec<String> = map.entry(name.to_string()).or_default();
            if !values.is_empty() && !REPEATABLE.contains(&name.as_ref()) {
                return Err(OAuthError::invalid_request(format!(
                    "parameter '{name}' was sent more than once"
                )));
            }
            if values.len() >= 16 {
                return Err(OAuthError::invalid_request(format!(
                    "parameter '{name}' was sent too many times"
                )));
            }
            values.push(value.into_owned());
        }
        Ok(Params(map))
    }

    /// A parameter's value (the first, for a repeatable one).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).and_then(|v| v.first()).map(String::as_str)
    }

    /// Every value of a repeatable parameter, in the order sent.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.0
            .get(name)
            .map(|v| v.iter().map(String::as_str).collect())
            .unwrap_or_default()
    }

    /// Every name and value, sorted by name.
    pub fn pairs(&self) -> Vec<(&str, &str)> {
        let mut pairs: Vec<(&str, &str)> = self
            .0
            .iter()
            .flat_map(|(k, vs)| vs.iter().map(move |v| (k.as_str(), v.as_str())))
            .collect();
        pairs.sort();
        pairs
    }

    /// Sets a parameter, replacing what was there.
    pub fn set(&mut self, name: &str, value: &str) {
        self.0.insert(name.to_string(), vec![value.to_string()]);
    }

    /// A parameter that must be present.
    pub fn require(&self, name: &str) -> Result<&str, OAuthError> {
        self.get(name).ok_or_else(|| {
            OAuthError::invalid_request(format!("the '{name}' parameter is missing"))
        })
    }

    /// Builds parameters from pairs (later values win, repeatable ones accumulate).
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Params {
        let mut map: HashMap<String, Vec<String>> = HashMap::new();
        for (k, v) in pairs.into_iter().filter(|(_, v)| !v.is_empty()) {
            let values = map.entry(k.to_string()).or_default();
            if !REPEATABLE.contains(&k) {
                values.clear();
            }
            values.push(v.to_string());
        }
        Params(map)
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
        let r = Params::parse(b"resource=https%3A%2F%2Fa&resource=https%3A%2F%2Fb").unwrap();
        assert_eq!(r.all("resource"), vec!["https://a", "https://b"]);
    }
}
