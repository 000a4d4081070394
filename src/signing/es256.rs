//! ES256 signatures made by ring rather than OpenSSL. Every access token is one, so they are
//! the largest single cost of the token endpoint: OpenSSL 3.0 sets up a new signing context
//! for each signature (algorithm fetches, its random generator) and returns DER that josekit
//! then unpacks, while ring signs straight into the JWS form (r ‖ s). Verification stays
//! with josekit. ring is already in the build, through rustls.

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use josekit::JoseError;
use josekit::jwk::Jwk;
use josekit::jws::{ES256, JwsAlgorithm, JwsSigner};
use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};

/// Bytes of one P-256 coordinate or private scalar.
const P256_BYTES: usize = 32;

/// An ES256 JWS signer over a P-256 private key.
#[derive(Debug, Clone)]
pub(super) struct Es256Signer {
    key: Arc<EcdsaKeyPair>,
    rng: SystemRandom,
    key_id: Option<String>,
}

impl Es256Signer {
    /// The signer of a private P-256 JWK (`crv`, `d`, `x`, `y`).
    pub(super) fn from_jwk(jwk: &Jwk) -> anyhow::Result<Es256Signer> {
        anyhow::ensure!(
            jwk.curve() == Some("P-256"),
            "an ES256 key must be on P-256"
        );
        let part = |name: &str| -> anyhow::Result<Vec<u8>> {
            let text = jwk
                .parameter(name)
                .and_then(|v| v.as_str())
                .ok_or_else(|| anyhow::anyhow!("the key has no `{name}`"))?;
            let bytes = URL_SAFE_NO_PAD.decode(text)?;
            anyhow::ensure!(
                bytes.len() == P256_BYTES,
                "`{name}` is not {P256_BYTES} bytes"
            );
            Ok(bytes)
        };
        let private = part("d")?;
        // The public key as an uncompressed point: 0x04, x, y.
        let mut public = vec![0x04];
        public.extend(part("x")?);
        public.extend(part("y")?);
        let rng = SystemRandom::new();
        let key = EcdsaKeyPair::from_private_key_and_public_key(
            &ECDSA_P256_SHA256_FIXED_SIGNING,
            &private,
            &public,
            &rng,
        )
        .map_err(|e| anyhow::anyhow!("not a valid P-256 key pair: {e}"))?;
        Ok(Es256Signer {
            key: Arc::new(key),
            rng,
            key_id: jwk.key_id().map(str::to_string),
        })
    }
}

impl JwsSigner for Es256Signer {
    fn algorithm(&self) -> &dyn JwsAlgorithm {
        &ES256
    }

    fn key_id(&self) -> Option<&str> {
        self.key_id.as_deref()
    }

    fn signature_len(&self) -> usize {
        2 * P256_BYTES
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, JoseError> {
        self.key
            .sign(&self.rng, message)
            .map(|signature| signature.as_ref().to_vec())
            .map_err(|e| JoseError::InvalidSignature(anyhow::anyhow!("ES256 signing failed: {e}")))
    }

    fn box_clone(&self) -> Box<dyn JwsSigner> {
        Box::new(self.clone())
    }
}

#[cfg(test)]
mod tests {
    use josekit::jwk::alg::ec::EcCurve;
    use josekit::jws::{self, JwsHeader};

    use super::*;

    #[test]
    fn josekit_verifies_what_ring_signs_and_refuses_a_changed_payload() {
        let jwk = Jwk::generate_ec_key(EcCurve::P256).unwrap();
        let signer = Es256Signer::from_jwk(&jwk).unwrap();
        let verifier = ES256
            .verifier_from_jwk(&jwk.to_public_key().unwrap())
            .unwrap();
        let mut header = JwsHeader::new();
        header.set_token_type("at+jwt");
        let token = jws::serialize_compact(br#"{"sub":"a"}"#, &header, &signer).unwrap();
        let (payload, read) = jws::deserialize_compact(&token, &verifier).unwrap();
        assert_eq!(payload, br#"{"sub":"a"}"#);
        assert_eq!(read.algorithm(), Some("ES256"));

        let mut parts: Vec<&str> = token.split('.').collect();
        let other = URL_SAFE_NO_PAD.encode(br#"{"sub":"b"}"#);
        parts[1] = &other;
        assert!(jws::deserialize_compact(parts.join("."), &verifier).is_err());
    }

    #[test]
    fn a_key_on_another_curve_or_without_its_private_part_is_refused() {
        let p384 = Jwk::generate_ec_key(EcCurve::P384).unwrap();
        assert!(Es256Signer::from_jwk(&p384).is_err());
        let public = Jwk::generate_ec_key(EcCurve::P256)
            .unwrap()
            .to_public_key()
            .unwrap();
        assert!(Es256Signer::from_jwk(&public).is_err());
    }
}
