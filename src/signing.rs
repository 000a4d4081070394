//! Signing keys: generation, encryption at rest under the master key, rotation, the JWKS, and
//! JWT signing and verification. The only module that uses josekit.
//!
//! Keys live in the database so every node signs and publishes the same keys. Each algorithm
//! has generations 1, 2, …; the signing key is the newest generation whose `activate_at` has
//! passed. `tessera keys rotate` adds a generation that activates only after every node has
//! reloaded it (`tokens.key_refresh_secs`), so no node signs with a key others do not publish;
//! an older key stays published until every token it signed has expired.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, RwLock};

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use josekit::jwe::{self, Dir, JweHeader};
use josekit::jwk::Jwk;
use josekit::jwk::alg::ec::EcCurve;
use josekit::jwk::alg::ed::EdCurve;
use josekit::jws::{self, ES256, EdDSA, JwsHeader, JwsSigner, JwsVerifier, RS256};
use rand::RngCore;
use serde_json::{Map, Value};

use crate::clock::SharedClock;
use crate::config::SigningAlg;
use crate::store::{Db, KeyRow, StoreError};

/// Why keys could not be loaded or used.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The master key file is missing, unreadable or malformed.
    #[error("master key: {0}")]
    MasterKey(String),
    /// A stored key could not be decrypted or parsed.
    #[error("signing key {kid}: {reason}")]
    Corrupt {
        /// Key id.
        kid: String,
        /// What went wrong.
        reason: String,
    },
    /// No usable key for an algorithm.
    #[error("no active {0} signing key")]
    NoKey(&'static str),
    /// The crypto library failed.
    #[error("crypto: {0}")]
    Crypto(String),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn crypto(e: impl std::fmt::Display) -> KeyError {
    KeyError::Crypto(e.to_string())
}

/// Why a token did not verify.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct VerifyError(pub String);

/// A verified JWS: its header fields of interest and its claims.
#[derive(Debug, Clone)]
pub struct VerifiedJwt {
    /// Header `typ`.
    pub typ: Option<String>,
    /// Header `alg`.
    pub alg: String,
    /// The claims.
    pub claims: Map<String, Value>,
}

/// The 32-byte key that encrypts private keys at rest.
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
        std::fs::create_dir_all(keys_dir).map_err(|e| {
            KeyError::MasterKey(format!("cannot create {}: {e}", keys_dir.display()))
        })?;
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        match write_private_file(&path, &STANDARD.encode(bytes)) {
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

    fn encrypt(&self, plaintext: &[u8]) -> Result<String, KeyError> {
        let encrypter = Dir.encrypter_from_bytes(self.0).map_err(crypto)?;
        let mut header = JweHeader::new();
        header.set_content_encryption("A256GCM");
        jwe::serialize_compact(plaintext, &header, &encrypter).map_err(crypto)
    }

    fn decrypt(&self, jwe_text: &str) -> Result<Vec<u8>, KeyError> {
        let decrypter = Dir.decrypter_from_bytes(self.0).map_err(crypto)?;
        jwe::deserialize_compact(jwe_text, &decrypter)
            .map(|(plain, _)| plain)
            .map_err(crypto)
    }
}

/// Writes a new file readable only by its owner; fails if it exists.
pub fn write_private_file(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(contents.as_bytes())?;
    file.write_all(b"\n")
}

/// One key, ready to sign and verify.
struct LoadedKey {
    kid: String,
    alg: SigningAlg,
    generation: i64,
    activate_at: i64,
    created_at: i64,
    public_jwk: Value,
    signer: Box<dyn JwsSigner>,
    verifier: Box<dyn JwsVerifier>,
}

/// What `keys list` shows about a key.
#[derive(Debug, Clone, serde::Serialize)]
pub struct KeyInfo {
    /// Key id.
    pub kid: String,
    /// Algorithm.
    pub alg: &'static str,
    /// Generation.
    pub generation: i64,
    /// `next`, `active` or `retired`.
    pub state: &'static str,
    /// Creation time.
    pub created_at: i64,
    /// From when it signs.
    pub activate_at: i64,
}

/// A consistent snapshot of the loaded keys.
struct KeySet {
    keys: Vec<LoadedKey>,
    jwks: Arc<[u8]>,
}

/// The node's view of the signing keys, reloaded from the database periodically.
#[derive(Clone)]
pub struct KeyRing {
    db: Db,
    master: MasterKey,
    clock: SharedClock,
    /// How long a superseded key stays published (the longest token lifetime).
    publish_grace: i64,
    current: Arc<RwLock<Arc<KeySet>>>,
}

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyRing").finish_non_exhaustive()
    }
}

fn generate_jwk(alg: SigningAlg) -> Result<Jwk, KeyError> {
    match alg {
        SigningAlg::RS256 => Jwk::generate_rsa_key(2048),
        SigningAlg::ES256 => Jwk::generate_ec_key(EcCurve::P256),
        SigningAlg::EdDSA => Jwk::generate_ed_key(EdCurve::Ed25519),
    }
    .map_err(crypto)
}

fn signer_for(alg: SigningAlg, jwk: &Jwk) -> Result<Box<dyn JwsSigner>, KeyError> {
    Ok(match alg {
        SigningAlg::RS256 => Box::new(RS256.signer_from_jwk(jwk).map_err(crypto)?),
        SigningAlg::ES256 => Box::new(ES256.signer_from_jwk(jwk).map_err(crypto)?),
        SigningAlg::EdDSA => Box::new(EdDSA.signer_from_jwk(jwk).map_err(crypto)?),
    })
}

fn verifier_for(alg: SigningAlg, jwk: &Jwk) -> Result<Box<dyn JwsVerifier>, KeyError> {
    Ok(match alg {
        SigningAlg::RS256 => Box::new(RS256.verifier_from_jwk(jwk).map_err(crypto)?),
        SigningAlg::ES256 => Box::new(ES256.verifier_from_jwk(jwk).map_err(crypto)?),
        SigningAlg::EdDSA => Box::new(EdDSA.verifier_from_jwk(jwk).map_err(crypto)?),
    })
}

impl KeyRing {
    /// Loads keys, creating the first key of each algorithm when none exists.
    pub async fn open(
        db: Db,
        master: MasterKey,
        clock: SharedClock,
        publish_grace: i64,
    ) -> Result<KeyRing, KeyError> {
        let ring = KeyRing {
            db,
            master,
            clock,
            publish_grace,
            current: Arc::new(RwLock::new(Arc::new(KeySet {
                keys: Vec::new(),
                jwks: Arc::from(&b"{\"keys\":[]}"[..]),
            }))),
        };
        let rows = ring.db.list_keys().await?;
        for alg in SigningAlg::ALL {
            if !rows.iter().any(|r| r.alg == alg.as_str()) {
                let now = ring.clock.now();
                if ring.insert_generation(alg, 1, now).await?.is_some() {
                    tracing::info!(alg = alg.as_str(), "generated the first signing key");
                }
            }
        }
        ring.reload().await?;
        Ok(ring)
    }

    /// Stores a new key as `generation` of `alg`; `None` when another node stored that
    /// generation first.
    async fn insert_generation(
        &self,
        alg: SigningAlg,
        generation: i64,
        activate_at: i64,
    ) -> Result<Option<String>, KeyError> {
        let jwk = generate_jwk(alg)?;
        let kid = uuid::Uuid::new_v4().simple().to_string();
        let mut public = jwk.to_public_key().map_err(crypto)?;
        public.set_key_id(&kid);
        public.set_key_use("sig");
        public.set_algorithm(alg.as_str());
        let row = KeyRow {
            kid: kid.clone(),
            alg: alg.as_str().to_string(),
            generation,
            private_jwe: self.master.encrypt(jwk.to_string().as_bytes())?,
            public_jwk: public.to_string(),
            created_at: self.clock.now(),
            activate_at,
        };
        Ok(self.db.insert_key(&row).await?.then_some(kid))
    }

    /// Re-reads keys from the database and rebuilds the JWKS document.
    pub async fn reload(&self) -> Result<(), KeyError> {
        let rows = self.db.list_keys().await?;
        let mut keys = Vec::with_capacity(rows.len());
        for row in rows {
            let Some(alg) = SigningAlg::parse(&row.alg) else {
                continue;
            };
            let corrupt = |reason: String| KeyError::Corrupt {
                kid: row.kid.clone(),
                reason,
            };
            let private = self.master.decrypt(&row.private_jwe).map_err(|_| {
                corrupt(
                    "cannot decrypt: the master key differs from the one that encrypted it".into(),
                )
            })?;
            let jwk = Jwk::from_bytes(&private).map_err(|e| corrupt(e.to_string()))?;
            let public_jwk: Value =
                serde_json::from_str(&row.public_jwk).map_err(|e| corrupt(e.to_string()))?;
            keys.push(LoadedKey {
                signer: signer_for(alg, &jwk)?,
                verifier: verifier_for(alg, &jwk)?,
                kid: row.kid,
                alg,
                generation: row.generation,
                activate_at: row.activate_at,
                created_at: row.created_at,
                public_jwk,
            });
        }
        let now = self.clock.now();
        let published: Vec<&Value> = keys
            .iter()
            .filter(|k| self.state_of(&keys, k, now) != "expired")
            .map(|k| &k.public_jwk)
            .collect();
        let jwks = serde_json::to_vec(&serde_json::json!({ "keys": published })).map_err(crypto)?;
        let set = KeySet {
            keys,
            jwks: Arc::from(jwks),
        };
        if let Ok(mut current) = self.current.write() {
            *current = Arc::new(set);
        }
        Ok(())
    }

    fn snapshot(&self) -> Arc<KeySet> {
        match self.current.read() {
            Ok(guard) => Arc::clone(&guard),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    /// `next` (published, not yet signing), `active`, `retired` (published for verification)
    /// or `expired` (no token it signed can still be valid).
    fn state_of(&self, keys: &[LoadedKey], key: &LoadedKey, now: i64) -> &'static str {
        if key.activate_at > now {
            return "next";
        }
        let successor = keys
            .iter()
            .filter(|k| k.alg == key.alg && k.generation > key.generation && k.activate_at <= now)
            .map(|k| k.activate_at)
            .min();
        match successor {
            None => "active",
            Some(at) if at + self.publish_grace > now => "retired",
            Some(_) => "expired",
        }
    }

    /// The JWKS document (serialised once per reload).
    pub fn jwks(&self) -> Arc<[u8]> {
        self.snapshot().jwks.clone()
    }

    /// Whether every algorithm has a key that signs now.
    pub fn is_ready(&self) -> bool {
        let set = self.snapshot();
        let now = self.clock.now();
        SigningAlg::ALL.iter().all(|alg| {
            set.keys
                .iter()
                .any(|k| k.alg == *alg && k.activate_at <= now)
        })
    }

    /// Signs `claims` as a compact JWS with the current key of `alg`.
    pub fn sign(&self, alg: SigningAlg, typ: &str, claims: &Value) -> Result<String, KeyError> {
        let set = self.snapshot();
        let now = self.clock.now();
        let key = set
            .keys
            .iter()
            .filter(|k| k.alg == alg && k.activate_at <= now)
            .max_by_key(|k| k.generation)
            .ok_or(KeyError::NoKey(alg.as_str()))?;
        let mut header = JwsHeader::new();
        header.set_token_type(typ);
        header.set_key_id(&key.kid);
        let payload = serde_json::to_vec(claims).map_err(crypto)?;
        jws::serialize_compact(&payload, &header, key.signer.as_ref()).map_err(crypto)
    }

    /// Verifies a compact JWS signed by one of our keys and returns its claims. Time-based
    /// claims are the caller's to check.
    pub fn verify(&self, token: &str) -> Result<VerifiedJwt, VerifyError> {
        if token.len() > 16 * 1024 {
            return Err(VerifyError("token too large".into()));
        }
        let set = self.snapshot();
        let (payload, header) = jws::deserialize_compact_with_selector(token, |header| {
            let kid = header.key_id();
            let alg = header.algorithm();
            Ok(set
                .keys
                .iter()
                .find(|k| Some(k.kid.as_str()) == kid && Some(k.alg.as_str()) == alg)
                .map(|k| k.verifier.as_ref()))
        })
        .map_err(|e| VerifyError(format!("signature check failed: {e}")))?;
        let claims: Map<String, Value> = serde_json::from_slice(&payload)
            .map_err(|_| VerifyError("claims are not a JSON object".into()))?;
        Ok(VerifiedJwt {
            typ: header.token_type().map(str::to_string),
            alg: header.algorithm().unwrap_or_default().to_string(),
            claims,
        })
    }

    /// Adds a new generation of each algorithm in `algs`, signing from
    /// `now + activation_delay`. Returns the new key ids.
    pub async fn rotate(
        &self,
        algs: &[SigningAlg],
        activation_delay: i64,
    ) -> Result<Vec<String>, KeyError> {
        let rows = self.db.list_keys().await?;
        let mut newest: HashMap<&str, i64> = HashMap::new();
        for row in &rows {
            let entry = newest.entry(row.alg.as_str()).or_insert(0);
            *entry = (*entry).max(row.generation);
        }
        let now = self.clock.now();
        let mut created = Vec::new();
        for alg in algs {
            let generation = newest.get(alg.as_str()).copied().unwrap_or(0) + 1;
            if let Some(kid) = self
                .insert_generation(*alg, generation, now + activation_delay)
                .await?
            {
                created.push(kid);
            }
        }
        self.reload().await?;
        Ok(created)
    }

    /// Every loaded key with its state.
    pub fn list(&self) -> Vec<KeyInfo> {
        let set = self.snapshot();
        let now = self.clock.now();
        set.keys
            .iter()
            .map(|k| KeyInfo {
                kid: k.kid.clone(),
                alg: k.alg.as_str(),
                generation: k.generation,
                state: self.state_of(&set.keys, k, now),
                created_at: k.created_at,
                activate_at: k.activate_at,
            })
            .collect()
    }

    /// Deletes keys no token can need any more.
    pub async fn delete_expired(&self) -> Result<(), KeyError> {
        let expired: Vec<String> = self
            .list()
            .into_iter()
            .filter(|k| k.state == "expired")
            .map(|k| k.kid)
            .collect();
        if !expired.is_empty() {
            self.db.delete_keys(&expired).await?;
            self.reload().await?;
        }
        Ok(())
    }
}
