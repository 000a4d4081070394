//! What a new password must be (NIST SP 800-63B-4 §3.1.1.2, OWASP ASVS 2.1): long enough,
//! not too long to hash, not the account's own name or address, not a commonly used
//! password, and hard enough to guess by zxcvbn's estimate. The same rules apply wherever a
//! password is set: sign-up, reset, change, the CLI and the admin API. No composition rules
//! (NIST advises against them); the message says what to do instead.

use zxcvbn::feedback::Warning;

/// The longest password accepted; longer ones are refused rather than truncated.
pub const MAX_LENGTH: usize = 128;

/// Why a password was refused, in words a person can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Weak {
    /// What is wrong and what to do.
    pub message: String,
}

/// The password rules in force.
#[derive(Debug, Clone, Copy)]
pub struct PasswordPolicy {
    /// Fewest characters.
    pub min_length: usize,
    /// Lowest zxcvbn score (0–4).
    pub min_score: u8,
}

impl PasswordPolicy {
    /// Checks `password` for the account `username` / `email`.
    pub fn check(&self, password: &str, username: &str, email: &str) -> Result<(), Weak> {
        let weak = |message: String| Err(Weak { message });
        let length = password.chars().count();
        if length < self.min_length {
            return weak(format!(
                "Use at least {} characters. A few unrelated words make a long password that is easy to remember.",
                self.min_length
            ));
        }
        if length > MAX_LENGTH {
            return weak(format!("Use at most {MAX_LENGTH} characters."));
        }
        let lowered = password.to_lowercase();
        let local_part = email.split('@').next().unwrap_or_default();
        if [username, email, local_part]
            .iter()
            .any(|own| !own.is_empty() && lowered.trim() == own.to_lowercase())
        {
            return weak("Do not use your username or e-mail address as your password.".into());
        }
        let estimate = zxcvbn::zxcvbn(password, &[username, email, local_part]);
        // zxcvbn ships a list of common passwords; a password that is one whole entry of it
        // is named as such, whatever else its estimate says.
        let common = matches!(
            estimate.feedback().and_then(|f| f.warning()),
            Some(
                Warning::ThisIsATop10Password
                    | Warning::ThisIsATop100Password
                    | Warning::ThisIsACommonPassword
            )
        );
        if common {
            return weak("This is a commonly used password. Choose another.".into());
        }
        if (estimate.score() as u8) < self.min_score {
            let mut message = String::from("This password is too easy to guess.");
            if let Some(feedback) = estimate.feedback() {
                if let Some(warning) = feedback.warning() {
                    message.push_str(&format!(" {warning}"));
                }
                for suggestion in feedback.suggestions() {
                    message.push_str(&format!(" {suggestion}"));
                }
            }
            return weak(message);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: PasswordPolicy = PasswordPolicy {
        min_length: 15,
        min_score: 3,
    };

    #[test]
    fn accepts_a_long_unpredictable_passphrase() {
        assert_eq!(
            POLICY.check("lamp orbit velvet cactus 42", "alice", "alice@example.com"),
            Ok(())
        );
    }

    #[test]
    fn refuses_short_long_own_name_common_and_guessable() {
        let refused = |p: &str| {
            POLICY
                .check(p, "alice.smith.1984", "alice@example.com")
                .unwrap_err()
                .message
        };
        assert!(refused("short pass").contains("at least 15"));
        assert!(refused(&"x".repeat(129)).contains("at most 128"));
        assert!(refused("Alice.Smith.1984").contains("username"));
        assert!(
            refused("passwordpassword").contains("easy to guess")
                || refused("passwordpassword").contains("common")
        );
        assert!(refused("aaaaaaaaaaaaaaaaaaaa").contains("easy to guess"));
        let common = PasswordPolicy {
            min_length: 8,
            min_score: 0,
        };
        assert!(
            common
                .check("password1", "bob", "bob@example.com")
                .unwrap_err()
                .message
                .contains("common")
        );
    }
}
