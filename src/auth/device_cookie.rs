//! Device cookies (OWASP "Slow Down Online Guessing Attacks with Device Cookies"): after a
//! successful sign-in the browser keeps a tag per account it proved. A tag is a random nonce
//! and a keyed hash of the account id, the account's device epoch and that nonce, so only the
//! server can make or check one, and the cookie names no account to anyone who reads it.
//! Bumping the epoch ("This wasn't me") disowns every device of the account at once.

use crate::auth::secret;

/// At most this many accounts are remembered per browser; the oldest gives way.
const MAX_ACCOUNTS: usize = 5;
/// Characters of the keyed hash kept in a tag (128 bits).
const TAG_LEN: usize = 32;

/// The device tags a browser presented.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeviceCookie {
    tags: Vec<(String, String)>,
}

fn tag(key: &[u8; 32], user_id: &str, epoch: i64, nonce: &str) -> String {
    let mut mac = secret::keyed_hash(key, &["device", user_id, &epoch.to_string(), nonce]);
    mac.truncate(TAG_LEN);
    mac
}

impl DeviceCookie {
    /// Reads a cookie value; anything malformed is ignored, never an error.
    pub fn parse(value: Option<&str>) -> DeviceCookie {
        let tags = value
            .unwrap_or_default()
            .split('~')
            .filter_map(|entry| entry.split_once('.'))
            .filter(|(nonce, mac)| nonce.len() == 43 && mac.len() == TAG_LEN)
            .take(MAX_ACCOUNTS)
            .map(|(nonce, mac)| (nonce.to_string(), mac.to_string()))
            .collect();
        DeviceCookie { tags }
    }

    /// Whether this browser signed in to the account `user_id` (at device epoch `epoch`).
    pub fn knows(&self, key: &[u8; 32], user_id: &str, epoch: i64) -> bool {
        self.tags
            .iter()
            .any(|(nonce, mac)| secret::constant_time_eq(&tag(key, user_id, epoch, nonce), mac))
    }

    /// The cookie value after a sign-in to `user_id`: a fresh tag for it first, the tags of
    /// other accounts after it.
    pub fn remember(&self, key: &[u8; 32], user_id: &str, epoch: i64) -> String {
        let nonce = secret::generate();
        let fresh = format!("{nonce}.{}", tag(key, user_id, epoch, &nonce));
        std::iter::once(fresh)
            .chain(
                self.tags
                    .iter()
                    .filter(|(nonce, mac)| {
                        !secret::constant_time_eq(&tag(key, user_id, epoch, nonce), mac)
                    })
                    .take(MAX_ACCOUNTS - 1)
                    .map(|(nonce, mac)| format!("{nonce}.{mac}")),
            )
            .collect::<Vec<_>>()
            .join("~")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: [u8; 32] = [7; 32];

    #[test]
    fn a_cookie_knows_only_the_accounts_it_proved() {
        let value = DeviceCookie::default().remember(&KEY, "alice", 0);
        let cookie = DeviceCookie::parse(Some(&value));
        assert!(cookie.knows(&KEY, "alice", 0));
        assert!(!cookie.knows(&KEY, "bob", 0));
        assert!(!cookie.knows(&KEY, "alice", 1), "a new epoch disowns it");
        assert!(
            !cookie.knows(&[8; 32], "alice", 0),
            "another key cannot check it"
        );
        assert!(!value.contains("alice"));
    }

    #[test]
    fn several_accounts_share_one_cookie_up_to_a_limit() {
        let mut value = String::new();
        for user in ["a", "b", "c", "d", "e", "f"] {
            value = DeviceCookie::parse(Some(&value)).remember(&KEY, user, 0);
        }
        let cookie = DeviceCookie::parse(Some(&value));
        assert!(!cookie.knows(&KEY, "a", 0), "the oldest gave way");
        assert!(
            ["b", "c", "d", "e", "f"]
                .iter()
                .all(|u| cookie.knows(&KEY, u, 0))
        );
        let again = DeviceCookie::parse(Some(&cookie.remember(&KEY, "c", 0)));
        assert_eq!(again.tags.len(), 5, "a repeat sign-in replaces its tag");
    }

    #[test]
    fn garbage_is_ignored() {
        for junk in ["", "~~", "x.y", "a.b~c", &"z".repeat(5000)] {
            assert_eq!(DeviceCookie::parse(Some(junk)), DeviceCookie::default());
        }
    }
}
