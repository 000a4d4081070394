//! Signing keys: generation, rotation, the JWKS, and JWT signing and verification; with
//! [`sealed`] (encryption at rest under the master key), [`foreign`] (verification with
//! keys that clients and upstream providers bring) and `es256` (ES256 signing by ring). The
//! only module that uses josekit.
//!
//! Keys live in the database so every node signs and publishes the same keys. Each algorithm
//! has generations 1, 2, …; the signing key is the newest generation whose `activate_at` has
//! passed. `tessera keys rotate` adds a generation that activates only after every node has
//! reloaded it (`tokens.key_refresh_secs`), so no node signs with a key others do not publish;
//! an older key stays published until every token it signed has expired.

use std::sync::{Arc, RwLock};

use josekit::jwk::Jwk;
use josekit::jwk::alg::ec::EcCurve;
use josekit::jwk::alg::ed::EdCurve;
use josekit::jws::{self, ES256, EdDSA, JwsHeader, JwsSigner, JwsVerifier, RS256};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::clock::SharedClock;
use crate::domain::SigningAlg;

mod es256;
pub mod foreign;
mod sealed;

pub use sealed::MasterKey;

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
}

pub(crate) fn crypto(e: impl std::fmt::Display) -> KeyError {
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

/// A key as stored: its private part sealed under the master key. The key use cases read
/// and write these; the keyring only turns them into signers.
#[derive(Debug, Clone)]
pub struct StoredKey {
    /// Key id.
    pub kid: String,
    /// Algorithm (JOSE name).
    pub alg: String,
    /// Generation within the algorithm.
    pub generation: i64,
    /// The private JWK, sealed (compact JWE).
    pub private_jwe: String,
    /// The public JWK as JSON.
    pub public_jwk: String,
    /// Creation time.
    pub created_at: i64,
    /// From when it signs.
    pub activate_at: i64,
}

/// Where a key is in its life (see the module header).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyState {
    /// Published, not yet signing.
    Next,
    /// Signing.
    Active,
    /// Superseded, still published for verification.
    Retired,
    /// No token it signed can still be valid: removed at the next cleanup.
    Expired,
}

impl KeyState {
    /// The state's name as `keys list` shows it.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyState::Next => "next",
            KeyState::Active => "active",
            KeyState::Retired => "retired",
            KeyState::Expired => "expired",
        }
    }
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
    /// Where the key is in its life.
    pub state: KeyState,
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

/// The node's view of the signing keys. It never reads the database: the key use cases hand
/// it the stored rows ([`KeyRing::load`]) and store the rows it makes ([`KeyRing::new_key`]).
#[derive(Clone)]
pub struct KeyRing {
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
        SigningAlg::ES256 => Box::new(es256::Es256Signer::from_jwk(jwk).map_err(crypto)?),
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
    /// An empty ring; [`KeyRing::load`] fills it.
    pub fn new(master: MasterKey, clock: SharedClock, publish_grace: i64) -> KeyRing {
        KeyRing {
            master,
            clock,
            publish_grace,
            current: Arc::new(RwLock::new(Arc::new(KeySet {
                keys: Vec::new(),
                jwks: Arc::from(&b"{\"keys\":[]}"[..]),
            }))),
        }
    }

    /// The master key, for the other secrets encrypted at rest.
    pub fn master_key(&self) -> &MasterKey {
        &self.master
    }

    /// Generates a key as `generation` of `alg`, signing from `activate_at`: the row to
    /// store, its private part sealed under the master key.
    pub fn new_key(
        &self,
        alg: SigningAlg,
        generation: i64,
        activate_at: i64,
    ) -> Result<StoredKey, KeyError> {
        let jwk = generate_jwk(alg)?;
        let kid = uuid::Uuid::new_v4().simple().to_string();
        let mut public = jwk.to_public_key().map_err(crypto)?;
        public.set_key_id(&kid);
        public.set_key_use("sig");
        public.set_algorithm(alg.as_str());
        Ok(StoredKey {
            kid,
            alg: alg.as_str().to_string(),
            generation,
            private_jwe: self.master.seal(jwk.to_string().as_bytes())?,
            public_jwk: public.to_string(),
            created_at: self.clock.now(),
            activate_at,
        })
    }

    /// Replaces the loaded keys with `rows` (every stored key) and rebuilds the JWKS document.
    pub fn load(&self, rows: Vec<StoredKey>) -> Result<(), KeyError> {
        let mut keys = Vec::with_capacity(rows.len());
        for row in rows {
            let Some(alg) = SigningAlg::parse(&row.alg) else {
                continue;
            };
            let corrupt = |reason: String| KeyError::Corrupt {
                kid: row.kid.clone(),
                reason,
            };
            let private = self.master.open(&row.private_jwe).map_err(|_| {
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
            .filter(|k| self.state_of(&keys, k, now) != KeyState::Expired)
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
    fn state_of(&self, keys: &[LoadedKey], key: &LoadedKey, now: i64) -> KeyState {
        if key.activate_at > now {
            return KeyState::Next;
        }
        let successor = keys
            .iter()
            .filter(|k| k.alg == key.alg && k.generation > key.generation && k.activate_at <= now)
            .map(|k| k.activate_at)
            .min();
        match successor {
            None => KeyState::Active,
            Some(at) if at + self.publish_grace > now => KeyState::Retired,
            Some(_) => KeyState::Expired,
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
    pub fn sign<C: Serialize + ?Sized>(
        &self,
        alg: SigningAlg,
        typ: &str,
        claims: &C,
    ) -> Result<String, KeyError> {
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

    /// The ids of keys no token can need any more.
    pub fn expired_kids(&self) -> Vec<String> {
        self.list()
            .into_iter()
            .filter(|k| k.state == KeyState::Expired)
            .map(|k| k.kid)
            .collect()
    }
}
