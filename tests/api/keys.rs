//! Signing keys seen from outside: the JWKS, key rotation (a new key is published before it
//! signs, an old one stays published while its tokens live), and per-client ID token
//! algorithms, all verified with the `openidconnect` crate.

use openidconnect::{OAuth2TokenResponse, TokenResponse};
use reqwest::StatusCode;
use serde_json::Value;
use tessera::domain::SigningAlg;

use crate::helpers::{ADMIN_PASSWORD, TestApp, jwt_parts, spawn_app};
use crate::rp::{Rp, sign_in, spec};

const ADMIN: (&str, &str) = ("admin", ADMIN_PASSWORD);

/// Private members of RSA, EC and OKP JWKs (RFC 7518 §6, RFC 8037 §2) and symmetric keys.
const PRIVATE_MEMBERS: [&str; 8] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/// Fetches the JWKS and checks that it holds only well-formed public signing keys.
async fn public_jwks(app: &TestApp) -> Vec<Value> {
    let response = app.get("/jwks").await;
    assert_eq!(response.status(), StatusCode::OK);
    let jwks: Value = response.json().await.unwrap();
    let keys = jwks["keys"].as_array().expect("a keys array").clone();
    for key in &keys {
        for member in PRIVATE_MEMBERS {
            assert!(key.get(member).is_none(), "'{member}' published in {key}");
        }
        assert!(key["kid"].is_string(), "{key}");
        assert_eq!(key["use"], "sig", "{key}");
        match key["alg"].as_str() {
            Some("RS256") => {
                assert_eq!(key["kty"], "RSA");
                assert!(key["n"].is_string() && key["e"].is_string());
            }
            Some("ES256") => {
                assert_eq!(key["kty"], "EC");
                assert_eq!(key["crv"], "P-256");
                assert!(key["x"].is_string() && key["y"].is_string());
            }
            Some("EdDSA") => {
                assert_eq!(key["kty"], "OKP");
                assert_eq!(key["crv"], "Ed25519");
                assert!(key["x"].is_string());
            }
            other => panic!("unexpected alg {other:?} in {key}"),
        }
    }
    keys
}

fn kids(keys: &[Value]) -> Vec<String> {
    keys.iter()
        .map(|k| k["kid"].as_str().unwrap().to_string())
        .collect()
}

fn kid_of(token: &str) -> String {
    jwt_parts(token).0["kid"]
        .as_str()
        .expect("a kid")
        .to_string()
}

#[tokio::test]
async fn the_jwks_is_cacheable_and_holds_only_public_keys() {
    let app = spawn_app().await;
    let response = app.get("/jwks").await;
    let cache = response
        .headers()
        .get("cache-control")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    assert!(cache.contains("max-age="), "Cache-Control: {cache:?}");
    assert!(!cache.contains("no-store"), "{cache}");
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    assert!(
        content_type.starts_with("application/json"),
        "{content_type}"
    );

    let keys = public_jwks(&app).await;
    let mut algs: Vec<&str> = keys.iter().filter_map(|k| k["alg"].as_str()).collect();
    algs.sort_unstable();
    assert_eq!(algs, vec!["ES256", "EdDSA", "RS256"]);
    let mut unique = kids(&keys);
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), keys.len(), "key ids are unique");
    // The discovery document points here.
    assert_eq!(
        app.discovery().await["jwks_uri"],
        format!("{}/jwks", app.address)
    );
}

#[tokio::test]
async fn tokens_signed_before_a_rotation_keep_working_and_new_ones_use_the_new_keys() {
    let app = spawn_app().await;
    let rp = Rp::register(&app, spec("Rotation App")).await;
    let (old, old_nonce) = sign_in(&app, &rp, &["profile"], ADMIN).await;
    let old_id_kid = kid_of(&old.id_token().unwrap().to_string());
    let old_at_kid = kid_of(old.access_token().secret());

    let new_kids = app
        .state
        .services
        .rotate_keys(
            &tessera::services::Caller::cli(),
            &[SigningAlg::RS256, SigningAlg::ES256],
            60,
        )
        .await
        .expect("rotation");
    assert_eq!(new_kids.len(), 2);

    // Published at once, old and new side by side.
    let published = kids(&public_jwks(&app).await);
    for kid in new_kids.iter().chain([&old_id_kid, &old_at_kid]) {
        assert!(published.contains(kid), "{kid} published: {published:?}");
    }
    // Not signing yet: the new keys wait for every node (and relying party) to see them.
    let (early, _) = sign_in(&app, &rp, &["profile"], ADMIN).await;
    assert_eq!(kid_of(&early.id_token().unwrap().to_string()), old_id_kid);
    assert_eq!(kid_of(early.access_token().secret()), old_at_kid);

    // A relying party that fetched the keys after the rotation verifies the old tokens.
    let fresh = Rp::discover(&app, rp.client_id.clone(), rp.secret.clone()).await;
    fresh.verify_id_token(&old, &old_nonce);
    fresh
        .userinfo(old.access_token())
        .await
        .expect("an access token from before the rotation");

    app.clock.advance(61);
    app.state
        .services
        .reload_keys()
        .await
        .expect("periodic reload");
    let (new, new_nonce) = sign_in(&app, &fresh, &["profile"], ADMIN).await;
    let (id_header, _) = jwt_parts(&new.id_token().unwrap().to_string());
    let (at_header, _) = jwt_parts(new.access_token().secret());
    assert_eq!(id_header["alg"], "RS256");
    assert_eq!(at_header["alg"], "ES256");
    for header in [&id_header, &at_header] {
        let kid = header["kid"].as_str().unwrap().to_string();
        assert!(new_kids.contains(&kid), "{kid} is one of {new_kids:?}");
    }
    let claims = fresh.verify_id_token(&new, &new_nonce);
    assert_eq!(claims.preferred_username().unwrap().as_str(), "admin");
    fresh
        .userinfo(new.access_token())
        .await
        .expect("a token signed with the new key");

    // The old key is retired, not gone: its tokens still verify and still work.
    let published = kids(&public_jwks(&app).await);
    assert!(published.contains(&old_id_kid) && published.contains(&old_at_kid));
    fresh.verify_id_token(&old, &old_nonce);
    fresh
        .userinfo(old.access_token())
        .await
        .expect("the old access token after the new key took over");
    let later = Rp::discover(&app, rp.client_id.clone(), rp.secret.clone()).await;
    later.verify_id_token(&old, &old_nonce);

    // Once no token it signed can still be valid, the old key leaves the JWKS.
    app.clock.advance(600);
    app.state.services.reload_keys().await.unwrap();
    let published = kids(&public_jwks(&app).await);
    assert!(!published.contains(&old_id_kid), "{published:?}");
    assert!(!published.contains(&old_at_kid), "{published:?}");
    for kid in &new_kids {
        assert!(published.contains(kid));
    }
}

#[tokio::test]
async fn es256_and_eddsa_clients_get_id_tokens_the_openidconnect_crate_verifies() {
    let app = spawn_app().await;
    for alg in ["RS256", "ES256", "EdDSA"] {
        let mut client = spec(&format!("{alg} App"));
        client.id_token_alg = Some(alg.into());
        let rp = Rp::register(&app, client).await;
        let (tokens, nonce) = sign_in(&app, &rp, &["email"], ADMIN).await;
        let raw = tokens.id_token().unwrap().to_string();
        let (header, _) = jwt_parts(&raw);
        assert_eq!(header["alg"], alg);
        assert_eq!(header["typ"], "JWT");
        // Signature via the JWKS, iss, aud, exp, nonce and at_hash (SHA-512 for Ed25519).
        let claims = rp.verify_id_token(&tokens, &nonce);
        assert_eq!(claims.email().unwrap().as_str(), "admin@tessera.local");
        // The signing key is published with the same alg.
        let kid = header["kid"].as_str().unwrap();
        let keys = public_jwks(&app).await;
        let key = keys
            .iter()
            .find(|k| k["kid"] == kid)
            .unwrap_or_else(|| panic!("{alg}: {kid} published"));
        assert_eq!(key["alg"], alg);
        rp.userinfo(tokens.access_token())
            .await
            .expect("userinfo works whatever the ID token alg");
    }
}
