//! `private_key_jwt` (RFC 7523, OpenID Connect Core §9): clients that authenticate with a
//! signed assertion instead of a secret, with keys registered inline or at a `jwks_uri`.

use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::routing::get;
use josekit::jwk::Jwk;
use josekit::jwk::alg::ec::EcCurve;
use josekit::jws::{self, ES256, JwsHeader};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{JsonReply, TestApp, spawn_app};

const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// A client's signing key.
struct ClientKey {
    key: Jwk,
    kid: String,
}

impl ClientKey {
    fn new(kid: &str) -> ClientKey {
        ClientKey {
            key: Jwk::generate_ec_key(EcCurve::P256).unwrap(),
            kid: kid.into(),
        }
    }

    /// The public key as a JWK object.
    fn public(&self) -> Value {
        let mut public = self.key.to_public_key().unwrap();
        public.set_key_id(&self.kid);
        Value::Object(public.as_ref().clone())
    }

    /// An assertion by `client_id` for `aud`, expiring `ttl` seconds after `now`.
    fn assertion(&self, client_id: &str, aud: Value, now: i64, ttl: i64) -> String {
        let mut header = JwsHeader::new();
        header.set_key_id(&self.kid);
        let claims = json!({
            "iss": client_id,
            "sub": client_id,
            "aud": aud,
            "iat": now,
            "exp": now + ttl,
            "jti": uuid::Uuid::new_v4().to_string(),
        });
        let signer = ES256.signer_from_jwk(&self.key).unwrap();
        jws::serialize_compact(claims.to_string().as_bytes(), &header, &signer).unwrap()
    }
}

/// Registers a client_credentials client with `--jwks-file` or `--jwks-uri`.
async fn register(app: &TestApp, keys: &[&str]) -> String {
    let mut args = vec![
        "client",
        "add",
        "--name",
        "Keyed Service",
        "--grant-types",
        "client_credentials",
        "--json",
    ];
    args.extend_from_slice(keys);
    let (ok, out, err) = app.cli(&args, None).await;
    assert!(ok, "{err}");
    let client: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(client["token_endpoint_auth_method"], "private_key_jwt");
    assert!(
        client["client_secret"].is_null(),
        "no secret for a keyed client"
    );
    client["client_id"].as_str().unwrap().to_string()
}

async fn with_assertion(
    app: &TestApp,
    path: &str,
    assertion: &str,
    extra: &[(&str, &str)],
) -> JsonReply {
    let mut form = vec![
        ("client_assertion_type", JWT_BEARER),
        ("client_assertion", assertion),
    ];
    form.extend_from_slice(extra);
    app.post_form(path, None, &form).await
}

#[tokio::test]
async fn a_client_with_registered_keys_authenticates_with_an_assertion_once() {
    let app = spawn_app().await;
    let key = ClientKey::new("k1");
    let file = app.dir.path().join("client-jwks.json");
    std::fs::write(&file, json!({ "keys": [key.public()] }).to_string()).unwrap();
    let client_id = register(&app, &["--jwks-file", file.to_str().unwrap()]).await;
    let now = app.clock_now();
    let issuer = json!(app.address);
    let cc = [("grant_type", "client_credentials")];

    let assertion = key.assertion(&client_id, issuer.clone(), now, 60);
    let first = with_assertion(&app, "/token", &assertion, &cc).await;
    assert_eq!(first.status, StatusCode::OK, "{:?}", first.body);
    let at = first.body["access_token"].as_str().unwrap().to_string();
    with_assertion(&app, "/token", &assertion, &cc)
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "invalid_client");

    let token_endpoint = json!(app.url("/token"));
    let legacy = key.assertion(&client_id, token_endpoint.clone(), now, 60);
    assert_eq!(
        with_assertion(&app, "/token", &legacy, &cc).await.status,
        StatusCode::OK
    );
    let legacy_list = key.assertion(&client_id, json!([app.url("/token")]), now, 60);
    assert_eq!(
        with_assertion(&app, "/token", &legacy_list, &cc)
            .await
            .status,
        StatusCode::OK
    );

    let refusals = [
        (
            "another audience",
            key.assertion(&client_id, json!("https://elsewhere.example"), now, 60),
        ),
        (
            "issuer in a list",
            key.assertion(&client_id, json!([app.address]), now, 60),
        ),
        (
            "expired",
            key.assertion(&client_id, issuer.clone(), now - 120, 60),
        ),
        (
            "long-lived",
            key.assertion(&client_id, issuer.clone(), now, 3600),
        ),
        (
            "another key",
            ClientKey::new("k1").assertion(&client_id, issuer.clone(), now, 60),
        ),
        ("garbage", "not-a-jwt".to_string()),
    ];
    for (case, assertion) in refusals {
        let refused = with_assertion(&app, "/token", &assertion, &cc).await;
        assert_eq!(
            refused.status,
            StatusCode::UNAUTHORIZED,
            "{case}: {:?}",
            refused.body
        );
        assert_eq!(refused.error(), Some("invalid_client"), "{case}");
    }
    app.post_form("/token", Some((&client_id, "a-guessed-secret")), &cc)
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "invalid_client");

    let introspection = key.assertion(&client_id, issuer.clone(), now, 60);
    let answer = with_assertion(&app, "/introspect", &introspection, &[("token", &at)]).await;
    assert_eq!(answer.body["active"], true, "{:?}", answer.body);
    let revocation = key.assertion(&client_id, issuer.clone(), now, 60);
    let revoked = with_assertion(&app, "/revoke", &revocation, &[("token", &at)]).await;
    assert_eq!(revoked.status, StatusCode::OK, "{:?}", revoked.body);

    let doc = app.discovery().await;
    assert!(
        doc["token_endpoint_auth_methods_supported"]
            .as_array()
            .unwrap()
            .contains(&json!("private_key_jwt"))
    );
    assert!(
        !doc["token_endpoint_auth_methods_supported"]
            .as_array()
            .unwrap()
            .contains(&json!("client_secret_jwt"))
    );
    assert_eq!(
        doc["token_endpoint_auth_signing_alg_values_supported"],
        json!(["ES256", "EdDSA", "RS256"])
    );
}

/// A key set served by the test, whose keys it can change.
async fn serve_jwks(keys: Arc<Mutex<Value>>) -> String {
    async fn jwks(State(keys): State<Arc<Mutex<Value>>>) -> axum::Json<Value> {
        axum::Json(keys.lock().unwrap().clone())
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/jwks.json", listener.local_addr().unwrap());
    let router = axum::Router::new()
        .route("/jwks.json", get(jwks))
        .with_state(keys);
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    url
}

#[tokio::test]
async fn keys_at_a_jwks_uri_are_fetched_and_fetched_again_after_a_rotation() {
    let app = spawn_app().await;
    let old = ClientKey::new("old");
    let keys = Arc::new(Mutex::new(json!({ "keys": [old.public()] })));
    let uri = serve_jwks(keys.clone()).await;
    let client_id = register(&app, &["--jwks-uri", &uri]).await;
    let cc = [("grant_type", "client_credentials")];
    let issuer = json!(app.address);

    let signed = old.assertion(&client_id, issuer.clone(), app.clock_now(), 60);
    let ok = with_assertion(&app, "/token", &signed, &cc).await;
    assert_eq!(ok.status, StatusCode::OK, "{:?}", ok.body);

    let new = ClientKey::new("new");
    *keys.lock().unwrap() = json!({ "keys": [new.public()] });
    app.clock.advance(11);
    let rotated = new.assertion(&client_id, issuer.clone(), app.clock_now(), 60);
    let ok = with_assertion(&app, "/token", &rotated, &cc).await;
    assert_eq!(
        ok.status,
        StatusCode::OK,
        "the new key is fetched: {:?}",
        ok.body
    );

    *keys.lock().unwrap() = json!("junk");
    app.clock.advance(400);
    let after_junk = new.assertion(&client_id, issuer, app.clock_now(), 60);
    with_assertion(&app, "/token", &after_junk, &cc)
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "invalid_client");
}

#[tokio::test]
async fn key_registration_is_checked() {
    let app = spawn_app().await;
    let private = Jwk::generate_ec_key(EcCurve::P256).unwrap();
    let file = app.dir.path().join("private.json");
    std::fs::write(
        &file,
        json!({ "keys": [Value::Object(private.as_ref().clone())] }).to_string(),
    )
    .unwrap();
    let (ok, _, err) = app
        .cli(
            &[
                "client",
                "add",
                "--name",
                "Leaky",
                "--grant-types",
                "client_credentials",
                "--jwks-file",
                file.to_str().unwrap(),
            ],
            None,
        )
        .await;
    assert!(!ok);
    assert!(err.contains("private"), "{err}");
    let (ok, _, err) = app
        .cli(
            &[
                "client",
                "add",
                "--name",
                "Plain",
                "--grant-types",
                "client_credentials",
                "--jwks-uri",
                "http://keys.example/jwks",
            ],
            None,
        )
        .await;
    assert!(!ok);
    assert!(err.contains("https"), "{err}");
}
