//! One-time codes: TOTP (RFC 6238: HMAC-SHA1, 6 digits, 30-second steps, one step of clock
//! drift either way) and recovery codes. A TOTP code is accepted at most once: only a step
//! later than the last accepted one counts. Recovery codes are 10 lowercase letters and
//! digits (about 52 bits), shown as `xxxxx-xxxxx` and stored as keyed hashes.

use rand::Rng;
use totp_rs::{Algorithm, Builder, Totp};

/// Bytes of a TOTP secret (160 bits, RFC 4226 §4's recommendation).
const SECRET_BYTES: usize = 20;
/// How many recovery codes a set holds.
pub const RECOVERY_CODES: usize = 10;
const RECOVERY_ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
const RECOVERY_LEN: usize = 10;

/// A fresh random TOTP secret.
pub fn new_secret() -> Vec<u8> {
    let mut bytes = vec![0u8; SECRET_BYTES];
    rand::rng().fill(&mut bytes[..]);
    bytes
}

fn totp(secret: &[u8], issuer: &str, account: &str) -> Option<Totp> {
    // The otpauth label separates issuer and account with a colon.
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(6)
        .with_skew(1)
        .with_step_duration(30)
        .with_secret(secret.to_vec())
        .with_issuer(Some(issuer.replace(':', " ")))
        .with_account_name(account.replace(':', " "))
        .build()
        .ok()
}

/// The secret as base32 text, for typing into an authenticator app.
pub fn base32(secret: &[u8]) -> String {
    totp_rs::Secret::from(secret.to_vec()).to_base32()
}

/// The `otpauth://totp/…` URI an authenticator app reads from the QR code.
pub fn otpauth_uri(secret: &[u8], issuer: &str, account: &str) -> Option<String> {
    totp(secret, issuer, account)?.to_url().ok()
}

/// Whether `typed` is shaped like a TOTP code (6 digits, spaces allowed).
pub fn is_totp_shaped(typed: &str) -> bool {
    let digits: String = typed.chars().filter(|c| !c.is_whitespace()).collect();
    digits.len() == 6 && digits.bytes().all(|b| b.is_ascii_digit())
}

/// The time step whose code `typed` is, if it is the code of a step within one of `now`'s
/// and later than `last_step` (so no code works twice).
pub fn matching_step(secret: &[u8], typed: &str, now: i64, last_step: i64) -> Option<i64> {
    if !is_totp_shaped(typed) || now < 0 {
        return None;
    }
    let typed: String = typed.chars().filter(|c| !c.is_whitespace()).collect();
    let totp = totp(secret, "t", "t")?;
    let current = now / 30;
    (current - 1..=current + 1)
        .filter(|step| *step > last_step && *step >= 0)
        .find(|step| {
            let code = totp.generate((*step * 30) as u64);
            crate::auth::secret::constant_time_eq(&code.to_string(), &typed)
        })
}

/// A new set of recovery codes, formatted `xxxxx-xxxxx`.
pub fn new_recovery_codes() -> Vec<String> {
    let mut rng = rand::rng();
    (0..RECOVERY_CODES)
        .map(|_| {
            let raw: String = (0..RECOVERY_LEN)
                .map(|_| RECOVERY_ALPHABET[rng.random_range(0..RECOVERY_ALPHABET.len())] as char)
                .collect();
            format!("{}-{}", &raw[..5], &raw[5..])
        })
        .collect()
}

/// A typed recovery code in its canonical form (lowercase, no dash or spaces), if it is
/// shaped like one.
pub fn canonical_recovery_code(typed: &str) -> Option<String> {
    let canonical: String = typed
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| c.to_ascii_lowercase())
        .collect();
    (canonical.len() == RECOVERY_LEN && canonical.bytes().all(|b| RECOVERY_ALPHABET.contains(&b)))
        .then_some(canonical)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 Appendix B, SHA-1 rows (the 8-digit values, last six digits).
    #[test]
    fn rfc_6238_vectors() {
        let secret = b"12345678901234567890";
        for (time, code) in [
            (59, "287082"),
            (1_111_111_109, "081804"),
            (1_234_567_890, "005924"),
        ] {
            assert_eq!(matching_step(secret, code, time, -1), Some(time / 30));
        }
    }

    #[test]
    fn drift_of_one_step_and_no_replay() {
        let secret = new_secret();
        let t = totp(&secret, "t", "t").unwrap();
        let now = 1_800_000_000;
        let previous = t.generate((now - 30) as u64).to_string();
        let next = t.generate((now + 30) as u64).to_string();
        let old = t.generate((now - 60) as u64).to_string();
        assert_eq!(
            matching_step(&secret, &previous, now, 0),
            Some(now / 30 - 1)
        );
        assert_eq!(matching_step(&secret, &next, now, 0), Some(now / 30 + 1));
        assert_eq!(matching_step(&secret, &old, now, 0), None);
        assert_eq!(matching_step(&secret, &previous, now, now / 30 - 1), None);
        assert_eq!(matching_step(&secret, "12345", now, 0), None);
        assert_eq!(matching_step(&secret, "abcdef", now, 0), None);
    }

    #[test]
    fn recovery_codes_are_shaped_and_canonical() {
        let codes = new_recovery_codes();
        assert_eq!(codes.len(), 10);
        for code in &codes {
            assert_eq!(code.len(), 11);
            assert_eq!(&code[5..6], "-");
            let canonical = canonical_recovery_code(&code.to_uppercase()).unwrap();
            assert_eq!(canonical, code.replace('-', ""));
        }
        assert_eq!(canonical_recovery_code("short"), None);
        assert_eq!(canonical_recovery_code("abcde-fghi!"), None);
    }

    #[test]
    fn the_uri_names_issuer_and_account() {
        let uri = otpauth_uri(&new_secret(), "Tessera", "alice").unwrap();
        assert!(uri.starts_with("otpauth://totp/Tessera:alice?"), "{uri}");
        assert!(uri.contains("secret="));
    }
}
