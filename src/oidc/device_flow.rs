//! The Device Authorization Grant's rules (RFC 8628): user codes people can type, and what a
//! device's poll of the token endpoint gets.

use rand::Rng;

use super::{ErrorCode, OAuthError};

/// RFC 8628 §6.1: consonants only, so no code spells a word and none looks like another.
const ALPHABET: &[u8] = b"BCDFGHJKLMNPQRSTVWXZ";
/// Characters of a user code (20^8 ≈ 2^34.6 codes).
pub const USER_CODE_LEN: usize = 8;
/// What `slow_down` adds to the interval (RFC 8628 §3.5).
pub const SLOW_DOWN_SECS: i64 = 5;

/// A fresh user code, stored without its dash.
pub fn new_user_code() -> String {
    let mut rng = rand::rng();
    (0..USER_CODE_LEN)
        .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
        .collect()
}

/// The code as shown: `XXXX-XXXX`.
pub fn display(code: &str) -> String {
    let (a, b) = code.split_at(code.len().min(USER_CODE_LEN / 2));
    format!("{a}-{b}")
}

/// What a person typed, as stored: case, spaces and dashes do not matter. `None` when it
/// cannot be a code.
pub fn normalise(typed: &str) -> Option<String> {
    let code: String = typed
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| c.to_ascii_uppercase())
        .collect();
    (code.len() == USER_CODE_LEN && code.bytes().all(|b| ALPHABET.contains(&b))).then_some(code)
}

/// Where a device code stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Waiting for the user.
    Pending,
    /// The user allowed it; tokens go out at the next poll.
    Approved,
    /// The user refused it.
    Denied,
    /// Tokens went out.
    Used,
}

impl State {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Pending => "pending",
            State::Approved => "approved",
            State::Denied => "denied",
            State::Used => "used",
        }
    }

    /// A stored name's state (anything unknown counts as used up).
    pub fn parse(stored: &str) -> State {
        match stored {
            "pending" => State::Pending,
            "approved" => State::Approved,
            "denied" => State::Denied,
            _ => State::Used,
        }
    }
}

/// What a poll finds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Poll {
    /// The code's state.
    pub state: State,
    /// When it expires.
    pub expires_at: i64,
    /// The previous poll, if any.
    pub last_poll_at: Option<i64>,
    /// The interval in force.
    pub interval: i64,
}

/// RFC 8628 §3.5: the answer to a poll at `now`: `Ok(())` means issue the tokens. A device
/// polling sooner than `interval` after its previous poll is told to slow down (the caller
/// adds [`SLOW_DOWN_SECS`]); the first poll may come at any time.
pub fn answer(poll: Poll, now: i64) -> Result<(), OAuthError> {
    if now >= poll.expires_at {
        return Err(OAuthError::new(
            ErrorCode::ExpiredToken,
            "the device code expired; start again",
        ));
    }
    match poll.state {
        State::Used => Err(OAuthError::invalid_grant(
            "the device code was already used",
        )),
        State::Denied => Err(OAuthError::new(
            ErrorCode::AccessDenied,
            "the user denied the request",
        )),
        _ if poll
            .last_poll_at
            .is_some_and(|last| now - last < poll.interval) =>
        {
            Err(OAuthError::new(ErrorCode::SlowDown, "poll less often"))
        }
        State::Pending => Err(OAuthError::new(
            ErrorCode::AuthorizationPending,
            "the user has not answered yet",
        )),
        State::Approved => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_typed_forgivingly_and_shown_with_a_dash() {
        let code = new_user_code();
        assert_eq!(code.len(), 8);
        assert_eq!(normalise(&display(&code)).as_deref(), Some(code.as_str()));
        assert_eq!(normalise(" bcdf-ghjk ").as_deref(), Some("BCDFGHJK"));
        assert_eq!(
            normalise("BCDF-GHJA"),
            None,
            "vowels are not in the alphabet"
        );
        assert_eq!(normalise("BCDF"), None);
    }

    #[test]
    fn polls_are_answered_per_rfc8628() {
        let poll = Poll {
            state: State::Pending,
            expires_at: 1600,
            last_poll_at: None,
            interval: 5,
        };
        let code = |p: Poll, now| answer(p, now).unwrap_err().code;
        assert_eq!(code(poll, 1000), ErrorCode::AuthorizationPending);
        let recent = Poll {
            last_poll_at: Some(998),
            ..poll
        };
        assert_eq!(code(recent, 1000), ErrorCode::SlowDown);
        assert_eq!(code(recent, 1003), ErrorCode::AuthorizationPending);
        assert_eq!(code(poll, 1600), ErrorCode::ExpiredToken);
        let denied = Poll {
            state: State::Denied,
            ..poll
        };
        assert_eq!(code(denied, 1000), ErrorCode::AccessDenied);
        let approved = Poll {
            state: State::Approved,
            ..poll
        };
        assert!(answer(approved, 1000).is_ok());
        let used = Poll {
            state: State::Used,
            ..poll
        };
        assert_eq!(code(used, 1000), ErrorCode::InvalidGrant);
    }
}
