//! Encryption at rest under the master key: the one place that seals and opens secrets the
//! database must not hold in the clear. Any module may use it through [`MasterKey`].

use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use josekit::jwe::{self, Dir, JweHeader};
use rand::RngCore;

use super::{KeyError, crypto};

/// The 32-byte key that encrypts secrets at rest (signing keys; later TOTP secrets and
/// upstream client secrets).
#[derive(Clone)]
pub struct MasterKey([u8; 32]);

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey([redacted])")
    }
}

impl MasterKey {
    /// Reads the master key from `file`, or from `keys_dir/master.key`, generating the latter
    /// (mode 0600) on first start.
    pub fn load_or_create(file: Option<&Path>, keys_dir: &Path) -> Result<MasterKey, KeyError> {
        if let Some(file) = file {
            return Self::read(file);
        }
        let path = keys_dir.join("master.key");
        if path.exists() {
            return Self::read(&path);
        }
        crate::files::create_private_dir(keys_dir).map_err(|e| {
            KeyError::MasterKey(format!("cannot create {}: {e}", keys_dir.display()))
        })?;
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        match crate::files::write_private_file(&path, &STANDARD.encode(bytes)) {
            Ok(()) => {
                tracing::info!(path = %path.display(), "generated a new master key");
                Ok(MasterKey(bytes))
            }
            // Another process created it first: use theirs.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Self::read(&path),
            Err(e) => Err(KeyError::MasterKey(format!(
                "cannot write {}: {e}",
                path.display()
            ))),
        }
    }

    fn read(path: &Path) -> Result<MasterKey, KeyError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| KeyError::MasterKey(format!("cannot read {}: {e}", path.display())))?;
        let text = text.trim();
        let bytes = STANDARD
            .decode(text)
            .or_else(|_| URL_SAFE_NO_PAD.decode(text))
            .map_err(|_| KeyError::MasterKey(format!("{} is not base64", path.display())))?;
        let key: [u8; 32] = bytes.try_into().map_err(|_| {
            KeyError::MasterKey(format!(
                "{} must hold 32 bytes, base64-encoded (e.g. `openssl rand -base64 32`)",
                path.display()
            ))
        })?;
        Ok(MasterKey(key))
    }

    /// A 32-byte key for one `purpose`: HMAC-SHA256(master key, purpose). Every node that
    /// shares the master key derives the same subkey, so stateless nodes agree without storing
    /// it; the subkey reveals nothing about the master key or about subkeys for other purposes.
    pub fn derive_subkey(&self, purpose: &str) -> Result<[u8; 32], KeyError> {
        use hmac::{Hmac, Mac};
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(&self.0).map_err(crypto)?;
        mac.update(purpose.as_bytes());
        Ok(mac.finalize().into_bytes().into())
    }

    /// Encrypts `plaintext` (JWE compact, `dir` + A256GCM): authenticated, so a changed
    /// ciphertext fails to open rather than yielding garbage.
    pub fn seal(&self, plaintext: &[u8]) -> Result<String, KeyError> {
        let encrypter = Dir.encrypter_from_bytes(self.0).map_err(crypto)?;
        let mut header = JweHeader::new();
        header.set_content_encryption("A256GCM");
        jwe::serialize_compact(plaintext, &header, &encrypter).map_err(crypto)
    }

    /// Decrypts what [`MasterKey::seal`] produced under the same master key.
    pub fn open(&self, jwe_text: &str) -> Result<Vec<u8>, KeyError> {
        let decrypter = Dir.decrypter_from_bytes(self.0).map_err(crypto)?;
        jwe::deserialize_compact(jwe_text, &decrypter)
            .map(|(plain, _)| plain)
            .map_err(crypto)
    }
}
