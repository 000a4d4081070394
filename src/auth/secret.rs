//! Random secrets (codes, tokens, session ids, client secrets) and their stored form.
//! 256 random bits need no slow hash: SHA-256 at rest and a constant-time comparison suffice,
//! which keeps the token endpoint fast.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// A fresh 256-bit secret, base64url without padding (43 characters).
pub fn generate() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The stored form of a secret: lower-case hex SHA-256.
pub fn hash(secret: &str) -> String {
    hex(&digest(secret))
}

/// SHA-256 of a secret, as bytes (a cache key that need not be stored).
pub fn digest(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        out.push(char::from(DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    out
}

/// A keyed hash (HMAC-SHA256, lower-case hex) of `parts`, each length-prefixed so no two
/// lists of parts run together into the same input. For secrets of modest entropy (recovery
/// codes) and for tags only the server can make (device cookies): a copy of the database
/// alone cannot test guesses against them.
pub fn keyed_hash(key: &[u8; 32], parts: &[&str]) -> String {
    use hmac::{Hmac, Mac};
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) else {
        unreachable!("HMAC takes keys of any length");
    };
    for part in parts {
        mac.update(&(part.len() as u64).to_be_bytes());
        mac.update(part.as_bytes());
    }
    hex(&mac.finalize().into_bytes())
}

/// Whether `presented` hashes to `stored_hash`, compared in constant time.
pub fn verify(presented: &str, stored_hash: &str) -> bool {
    hash(presented)
        .as_bytes()
        .ct_eq(stored_hash.as_bytes())
        .into()
}

/// Constant-time equality of two strings.
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_long_unique_and_verifiable() {
        let a = generate();
        let b = generate();
        assert_eq!(a.len(), 43);
        assert_ne!(a, b);
        assert!(verify(&a, &hash(&a)));
        assert!(!verify(&b, &hash(&a)));
    }
}
