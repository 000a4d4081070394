//! DPoP (RFC 9449): key-bound access tokens at the token endpoint and at userinfo, replay on
//! one node and across two, the server nonce, bound refresh tokens of public clients, codes
//! bound with `dpop_jkt`, and clients that must use it.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use josekit::jwk::Jwk;
use josekit::jwk::alg::ec::EcCurve;
use josekit::jws::{self, ES256, JwsHeader};
use reqwest::StatusCode;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::helpers::{JsonReply, TestApp, jwt_parts, spawn_app, spawn_app_with};
use crate::rp::{self, Consent, Rp};

const ALICE: (&str, &str) = ("alice", "lamp orbit velvet cactus 42");

/// A client's DPoP key and the proofs it signs.
pub struct Prover {
    key: Jwk,
}

impl Prover {
    /// A fresh P-256 key.
    pub fn new() -> Prover {
        Prover {
            key: Jwk::generate_ec_key(EcCurve::P256).expect("EC key"),
        }
    }

    /// A proof for `method` on `url`, with `ath` of `token` and `nonce` when given.
    pub fn proof_at(
        &self,
        method: &str,
        url: &str,
        token: Option<&str>,
        nonce: Option<&str>,
        iat: i64,
    ) -> String {
        let mut header = JwsHeader::new();
        header.set_token_type("dpop+jwt");
        header.set_jwk(self.key.to_public_key().expect("public key"));
        let mut claims = json!({
            "jti": uuid::Uuid::new_v4().to_string(),
            "htm": method,
            "htu": url,
            "iat": iat,
        });
        if let Some(token) = token {
            claims["ath"] = json!(URL_SAFE_NO_PAD.encode(Sha256::digest(token.as_bytes())));
        }
        if let Some(nonce) = nonce {
            claims["nonce"] = json!(nonce);
        }
        let signer = ES256.signer_from_jwk(&self.key).expect("signer");
        jws::serialize_compact(claims.to_string().as_bytes(), &header, &signer).expect("proof")
    }

    /// A proof made now on `app`'s clock.
    pub fn proof(&self, app: &TestApp, method: &str, path: &str, token: Option<&str>) -> String {
        self.proof_at(method, &app.url(path), token, None, app.clock_now())
    }
}

/// POSTs a form to the token endpoint with an optional DPoP proof.
async fn token_request(
    app: &TestApp,
    rp: &Rp,
    form: &[(&str, &str)],
    proof: Option<&str>,
) -> JsonReply {
    let mut request = app.http.post(app.url("/token")).form(form);
    if let Some((id, secret)) = rp.basic() {
        request = request.basic_auth(id, Some(secret));
    }
    if let Some(proof) = proof {
        request = request.header("DPoP", proof);
    }
    JsonReply::read(request.send().await.expect("POST /token")).await
}

/// Calls userinfo with `scheme` and an optional proof.
async fn userinfo(app: &TestApp, scheme: &str, token: &str, proof: Option<&str>) -> JsonReply {
    let mut request = app
        .http
        .get(app.url("/userinfo"))
        .header("Authorization", format!("{scheme} {token}"));
    if let Some(proof) = proof {
        request = request.header("DPoP", proof);
    }
    JsonReply::read(request.send().await.expect("GET /userinfo")).await
}

/// Signs alice in and exchanges the code with a proof by `prover`.
async fn user_tokens(
    app: &TestApp,
    rp: &Rp,
    prover: Option<&Prover>,
    scopes: &[&str],
    extra: &[(&str, &str)],
) -> JsonReply {
    let pending = rp.authorize(scopes, extra);
    let landing = rp::browse(app, pending.url.as_str(), ALICE, Consent::Approve).await;
    let code = landing.code();
    let proof = prover.map(|p| p.proof(app, "POST", "/token", None));
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", rp::REDIRECT_URI),
        ("code_verifier", pending.verifier.secret().as_str()),
    ];
    if rp.secret.is_none() {
        form.push(("client_id", rp.client_id.as_str()));
    }
    token_request(app, rp, &form, proof.as_deref()).await
}

async fn setup(
    app: &TestApp,
    adjust: impl FnOnce(&mut tessera::services::clients::ClientSpec),
) -> Rp {
    app.create_user(ALICE.0, ALICE.1, &["user"]).await;
    let mut spec = rp::spec("DPoP App");
    spec.skip_consent = true;
    adjust(&mut spec);
    Rp::register(app, spec).await
}

#[tokio::test]
async fn a_bound_token_works_only_with_a_fresh_proof_of_its_key() {
    let app = spawn_app().await;
    let rp = setup(&app, |_| {}).await;
    let prover = Prover::new();
    let tokens = user_tokens(&app, &rp, Some(&prover), &[], &[]).await;
    assert_eq!(tokens.status, StatusCode::OK, "{:?}", tokens.body);
    assert_eq!(tokens.body["token_type"], "DPoP");
    let at = tokens.body["access_token"].as_str().unwrap();
    let (_, claims) = jwt_parts(at);
    let jkt = claims["cnf"]["jkt"].as_str().expect("cnf.jkt").to_string();
    assert_eq!(jkt.len(), 43);

    let proof = prover.proof(&app, "GET", "/userinfo", Some(at));
    let ok = userinfo(&app, "DPoP", at, Some(&proof)).await;
    assert_eq!(ok.status, StatusCode::OK, "{:?}", ok.body);
    assert!(ok.body["sub"].is_string());

    let replay = userinfo(&app, "DPoP", at, Some(&proof)).await;
    assert_eq!(replay.status, StatusCode::UNAUTHORIZED);
    assert_eq!(replay.error(), Some("invalid_dpop_proof"));
    assert!(
        replay
            .header("www-authenticate")
            .unwrap()
            .starts_with("DPoP ")
    );

    let as_bearer = userinfo(&app, "Bearer", at, None).await;
    assert_eq!(as_bearer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(as_bearer.error(), Some("invalid_token"));

    let now = app.clock_now();
    let userinfo_url = app.url("/userinfo");
    let cases = [
        (
            "wrong htu",
            prover.proof_at("GET", &app.url("/token"), Some(at), None, now),
        ),
        (
            "wrong htm",
            prover.proof_at("POST", &userinfo_url, Some(at), None, now),
        ),
        (
            "wrong ath",
            prover.proof_at("GET", &userinfo_url, Some("other"), None, now),
        ),
        (
            "no ath",
            prover.proof_at("GET", &userinfo_url, None, None, now),
        ),
        (
            "stale iat",
            prover.proof_at("GET", &userinfo_url, Some(at), None, now - 600),
        ),
        (
            "other key",
            Prover::new().proof(&app, "GET", "/userinfo", Some(at)),
        ),
        ("garbage", "not.a.proof".to_string()),
    ];
    for (case, proof) in cases {
        let refused = userinfo(&app, "DPoP", at, Some(&proof)).await;
        assert_eq!(refused.status, StatusCode::UNAUTHORIZED, "{case}");
        assert_eq!(refused.error(), Some("invalid_dpop_proof"), "{case}");
    }
    let missing = userinfo(&app, "DPoP", at, None).await;
    assert_eq!(missing.error(), Some("invalid_dpop_proof"));

    let introspected = app
        .post_form("/introspect", rp.basic(), &[("token", at)])
        .await;
    assert_eq!(introspected.body["active"], true);
    assert_eq!(introspected.body["cnf"]["jkt"], jkt.as_str());
    assert_eq!(introspected.body["token_type"], "DPoP");
}

#[tokio::test]
async fn a_proof_replayed_on_another_node_is_refused() {
    let app = spawn_app().await;
    let other = app.second_node().await;
    let rp = setup(&app, |_| {}).await;
    let prover = Prover::new();
    let proof = prover.proof(&app, "POST", "/token", None);
    let form = [("grant_type", "client_credentials")];
    let first = token_request(&app, &rp, &form, Some(&proof)).await;
    assert_eq!(first.status, StatusCode::OK, "{:?}", first.body);
    assert_eq!(first.body["token_type"], "DPoP");
    // Nodes behind one load balancer share the issuer, so the proof's htu fits both.
    let replayed = {
        let request = other
            .http
            .post(app.url("/token").replace(&app.address, &other.address))
            .form(&form)
            .basic_auth(&rp.client_id, rp.secret.as_deref())
            .header("DPoP", &proof);
        JsonReply::read(request.send().await.unwrap()).await
    };
    assert_eq!(
        replayed.status,
        StatusCode::BAD_REQUEST,
        "{:?}",
        replayed.body
    );
    assert_eq!(replayed.error(), Some("invalid_dpop_proof"));
}

#[tokio::test]
async fn a_required_nonce_is_handed_out_and_then_accepted() {
    let app = spawn_app_with(|s| s.dpop.require_nonce = true).await;
    let rp = setup(&app, |_| {}).await;
    let prover = Prover::new();
    let form = [("grant_type", "client_credentials")];
    let first = token_request(
        &app,
        &rp,
        &form,
        Some(&prover.proof(&app, "POST", "/token", None)),
    )
    .await;
    first.assert_error(StatusCode::BAD_REQUEST, "use_dpop_nonce");
    let nonce = first.header("dpop-nonce").expect("DPoP-Nonce").to_string();
    let proof = prover.proof_at(
        "POST",
        &app.url("/token"),
        None,
        Some(&nonce),
        app.clock_now(),
    );
    let second = token_request(&app, &rp, &form, Some(&proof)).await;
    assert_eq!(second.status, StatusCode::OK, "{:?}", second.body);
    assert!(second.header("dpop-nonce").is_some());
    let forged = prover.proof_at(
        "POST",
        &app.url("/token"),
        None,
        Some("AAAAAAAA"),
        app.clock_now(),
    );
    token_request(&app, &rp, &form, Some(&forged))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "use_dpop_nonce");
    app.clock.advance(3600);
    let stale = prover.proof_at(
        "POST",
        &app.url("/token"),
        None,
        Some(&nonce),
        app.clock_now(),
    );
    token_request(&app, &rp, &form, Some(&stale))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "use_dpop_nonce");
}

#[tokio::test]
async fn a_public_clients_refresh_token_is_bound_to_its_key() {
    let app = spawn_app().await;
    let rp = setup(&app, |spec| {
        spec.public = true;
        spec.grant_types = vec!["authorization_code".into(), "refresh_token".into()];
        spec.roles = Vec::new();
    })
    .await;
    let prover = Prover::new();
    let tokens = user_tokens(&app, &rp, Some(&prover), &["offline_access"], &[]).await;
    assert_eq!(tokens.status, StatusCode::OK, "{:?}", tokens.body);
    let refresh = tokens.body["refresh_token"]
        .as_str()
        .expect("refresh token");
    let form = [
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh),
        ("client_id", rp.client_id.as_str()),
    ];
    token_request(&app, &rp, &form, None)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_dpop_proof");
    let stranger = Prover::new().proof(&app, "POST", "/token", None);
    token_request(&app, &rp, &form, Some(&stranger))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_dpop_proof");
    let own = prover.proof(&app, "POST", "/token", None);
    let renewed = token_request(&app, &rp, &form, Some(&own)).await;
    assert_eq!(renewed.status, StatusCode::OK, "{:?}", renewed.body);
    assert_eq!(renewed.body["token_type"], "DPoP");
}

#[tokio::test]
async fn a_code_bound_with_dpop_jkt_needs_that_key() {
    let app = spawn_app().await;
    let rp = setup(&app, |_| {}).await;
    let prover = Prover::new();
    let jkt = {
        let proof = prover.proof(&app, "POST", "/token", None);
        let probe = token_request(
            &app,
            &rp,
            &[("grant_type", "client_credentials")],
            Some(&proof),
        )
        .await;
        let (_, claims) = jwt_parts(probe.body["access_token"].as_str().unwrap());
        claims["cnf"]["jkt"].as_str().unwrap().to_string()
    };
    let without = user_tokens(&app, &rp, None, &[], &[("dpop_jkt", &jkt)]).await;
    without.assert_error(StatusCode::BAD_REQUEST, "invalid_dpop_proof");
    let stranger = Prover::new();
    let other_key = user_tokens(&app, &rp, Some(&stranger), &[], &[("dpop_jkt", &jkt)]).await;
    other_key.assert_error(StatusCode::BAD_REQUEST, "invalid_dpop_proof");
    let right = user_tokens(&app, &rp, Some(&prover), &[], &[("dpop_jkt", &jkt)]).await;
    assert_eq!(right.status, StatusCode::OK, "{:?}", right.body);
}

#[tokio::test]
async fn a_client_that_must_use_dpop_gets_no_bearer_tokens() {
    let app = spawn_app().await;
    let rp = setup(&app, |spec| spec.options.require_dpop = Some(true)).await;
    let form = [("grant_type", "client_credentials")];
    token_request(&app, &rp, &form, None)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_dpop_proof");
    let bound = token_request(
        &app,
        &rp,
        &form,
        Some(&Prover::new().proof(&app, "POST", "/token", None)),
    )
    .await;
    assert_eq!(bound.body["token_type"], "DPoP");
    let doc = app.discovery().await;
    assert_eq!(
        doc["dpop_signing_alg_values_supported"],
        json!(["ES256", "EdDSA", "RS256"])
    );
}

#[tokio::test]
async fn a_proof_on_the_pushed_request_binds_the_code() {
    let app = spawn_app().await;
    let rp = setup(&app, |_| {}).await;
    let prover = Prover::new();
    let pending = rp.authorize(&[], &[]);
    let form: Vec<(String, String)> = pending
        .url
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let (id, secret) = rp.basic().unwrap();
    let pushed = app
        .http
        .post(app.url("/par"))
        .basic_auth(id, Some(secret))
        .header("DPoP", prover.proof(&app, "POST", "/par", None))
        .form(&form)
        .send()
        .await
        .unwrap();
    let pushed = JsonReply::read(pushed).await;
    assert_eq!(pushed.status, StatusCode::CREATED, "{:?}", pushed.body);
    let url = format!(
        "{}/authorize?client_id={}&request_uri={}",
        app.address,
        rp.client_id,
        tessera::web::urlencode(pushed.body["request_uri"].as_str().unwrap())
    );
    let landing = rp::browse(&app, &url, ALICE, Consent::Approve).await;
    let code = landing.code();
    let exchange = |proof: Option<String>| {
        let form = [
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", rp::REDIRECT_URI),
            ("code_verifier", pending.verifier.secret().as_str()),
        ];
        let rp = &rp;
        let app = &app;
        async move { token_request(app, rp, &form, proof.as_deref()).await }
    };
    exchange(Some(Prover::new().proof(&app, "POST", "/token", None)))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_dpop_proof");
    let bound = exchange(Some(prover.proof(&app, "POST", "/token", None))).await;
    assert_eq!(bound.status, StatusCode::OK, "{:?}", bound.body);
    assert_eq!(bound.body["token_type"], "DPoP");
}

#[tokio::test]
async fn malformed_proofs_at_the_token_endpoint_are_invalid_dpop_proof() {
    let app = spawn_app().await;
    let rp = setup(&app, |_| {}).await;
    let prover = Prover::new();
    let now = app.clock_now();
    let token_url = app.url("/token");
    let cases = [
        "garbage".to_string(),
        "a.b.c".to_string(),
        prover.proof_at("GET", &token_url, None, None, now),
        prover.proof_at("POST", &app.url("/userinfo"), None, None, now),
        prover.proof_at("POST", &token_url, None, None, now + 3600),
    ];
    let form = [("grant_type", "client_credentials")];
    for proof in cases {
        token_request(&app, &rp, &form, Some(&proof))
            .await
            .assert_error(StatusCode::BAD_REQUEST, "invalid_dpop_proof");
    }
    let twice = app
        .http
        .post(app.url("/token"))
        .basic_auth(&rp.client_id, rp.secret.as_deref())
        .header("DPoP", prover.proof(&app, "POST", "/token", None))
        .header("DPoP", prover.proof(&app, "POST", "/token", None))
        .form(&form)
        .send()
        .await
        .unwrap();
    JsonReply::read(twice)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_dpop_proof");
}
