//! Dynamic Client Registration (RFC 7591) and management (RFC 7592): initial access tokens,
//! the policy for self-registered clients, a registered client signing a user in with the
//! openidconnect crate, and admins switching clients off.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{JsonReply, TestApp, hidden_input, location, spawn_app, spawn_app_with};
use crate::rp::{self, Rp};

const ALICE: (&str, &str) = ("alice", "lamp orbit velvet cactus 42");

async fn initial_token(app: &TestApp, extra: &[&str]) -> String {
    let mut args = vec!["client", "initial-token", "--json"];
    args.extend_from_slice(extra);
    let (ok, out, err) = app.cli(&args, None).await;
    assert!(ok, "{err}");
    let token: Value = serde_json::from_str(&out).unwrap();
    token["token"].as_str().unwrap().to_string()
}

async fn register(app: &TestApp, token: Option<&str>, metadata: Value) -> JsonReply {
    let mut request = app.http.post(app.url("/connect/register")).json(&metadata);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    JsonReply::read(request.send().await.unwrap()).await
}

fn web_app() -> Value {
    json!({
        "client_name": "Self-made App",
        "redirect_uris": [rp::REDIRECT_URI],
        "grant_types": ["authorization_code", "refresh_token"],
        "scope": "openid profile email",
        "client_uri": "https://elsewhere.example/",
        "some_future_field": true,
    })
}

#[tokio::test]
async fn a_client_registers_itself_and_signs_a_user_in() {
    let app = spawn_app().await;
    let user_id = app.create_user(ALICE.0, ALICE.1, &["user"]).await;
    register(&app, None, web_app())
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "invalid_token");
    register(&app, Some("made-up"), web_app())
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "invalid_token");

    let token = initial_token(&app, &["--uses", "1"]).await;
    let registered = register(&app, Some(&token), web_app()).await;
    assert_eq!(
        registered.status,
        StatusCode::CREATED,
        "{:?}",
        registered.body
    );
    assert_eq!(registered.header("cache-control"), Some("no-store"));
    let body = &registered.body;
    let client_id = body["client_id"].as_str().unwrap().to_string();
    let secret = body["client_secret"].as_str().unwrap().to_string();
    assert_eq!(body["client_secret_expires_at"], 0);
    assert_eq!(body["token_endpoint_auth_method"], "client_secret_basic");
    assert_eq!(body["redirect_uris"], json!([rp::REDIRECT_URI]));
    assert_eq!(body["response_types"], json!(["code"]));
    assert!(body.get("some_future_field").is_none());
    register(&app, Some(&token), web_app())
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "invalid_token");

    // The consent page says no administrator vetted the app, and hides a link to another host.
    let rp = Rp::discover(&app, client_id.clone(), Some(secret)).await;
    let pending = rp.authorize(&[], &[]);
    let first = app.get(pending.url.as_str()).await;
    let interaction = location(first.headers());
    let interaction = interaction
        .split("interaction=")
        .nth(1)
        .unwrap()
        .to_string();
    let signed_in = app
        .post_login(ALICE.0, ALICE.1, false, Some(&interaction))
        .await;
    let mut next = location(signed_in.headers());
    let mut consent = String::new();
    for _ in 0..3 {
        let response = app.get(&next).await;
        if response.status().is_redirection() {
            next = location(response.headers());
            continue;
        }
        consent = response.text().await.unwrap();
        break;
    }
    assert!(consent.contains("id=\"not-verified\""), "{consent}");
    assert!(!consent.contains("elsewhere.example"));
    let csrf = hidden_input(&consent, "csrf_token").unwrap();
    let allowed = app
        .http
        .post(app.url("/consent"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("interaction", &interaction),
            ("decision", "approve"),
        ])
        .send()
        .await
        .unwrap();
    let landing = url::Url::parse(&location(allowed.headers())).unwrap();
    let code = landing
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .expect("a code");
    let tokens = rp.exchange(&code, pending.verifier).await.expect("tokens");
    let claims = rp.verify_id_token(&tokens, &pending.nonce);
    assert_eq!(claims.subject().as_str(), user_id);
}

#[tokio::test]
async fn the_policy_refuses_what_a_stranger_should_not_get() {
    let app = spawn_app().await;
    let (ok, _, err) = app
        .cli(
            &[
                "scope",
                "add",
                "invoices:read",
                "--description",
                "Read invoices",
            ],
            None,
        )
        .await;
    assert!(ok, "an admin's own scope, closed to strangers: {err}");
    let token = initial_token(&app, &[]).await;
    let with = |key: &str, value: Value| {
        let mut metadata = web_app();
        metadata[key] = value;
        metadata
    };
    let cases = [
        (
            with("grant_types", json!(["client_credentials"])),
            "invalid_client_metadata",
        ),
        (
            with("scope", json!("openid tessera:admin")),
            "invalid_client_metadata",
        ),
        (
            with("scope", json!("openid no-such-scope")),
            "invalid_client_metadata",
        ),
        (
            with("scope", json!("openid invoices:read")),
            "invalid_client_metadata",
        ),
        (
            with("client_name", json!("nul\u{0}byte")),
            "invalid_client_metadata",
        ),
        (
            with("redirect_uris", json!(["http://app.example/cb"])),
            "invalid_redirect_uri",
        ),
        (
            with("redirect_uris", json!(["https://app.example/*"])),
            "invalid_redirect_uri",
        ),
        (with("redirect_uris", json!([])), "invalid_redirect_uri"),
        (
            with("jwks_uri", json!("https://127.0.0.1/jwks")),
            "invalid_client_metadata",
        ),
        (
            with(
                "jwks_uri",
                json!("https://169.254.169.254/latest/meta-data"),
            ),
            "invalid_client_metadata",
        ),
        (
            with("backchannel_logout_uri", json!("http://127.0.0.1:9/logout")),
            "invalid_client_metadata",
        ),
        (
            with("logo_uri", json!("http://app.example/logo.png")),
            "invalid_client_metadata",
        ),
        (
            with("token_endpoint_auth_method", json!("client_secret_jwt")),
            "invalid_client_metadata",
        ),
        (
            with("token_endpoint_auth_method", json!("private_key_jwt")),
            "invalid_client_metadata",
        ),
        (json!(["not", "an", "object"]), "invalid_client_metadata"),
    ];
    for (metadata, code) in cases {
        register(&app, Some(&token), metadata.clone())
            .await
            .assert_error(StatusCode::BAD_REQUEST, code);
    }
    let garbage = app
        .http
        .post(app.url("/connect/register"))
        .bearer_auth(&token)
        .body("{not json")
        .send()
        .await
        .unwrap();
    JsonReply::read(garbage)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_client_metadata");

    let machine = initial_token(&app, &["--allow-client-credentials"]).await;
    let allowed = register(
        &app,
        Some(&machine),
        json!({ "client_name": "Batch", "grant_types": ["client_credentials"], "scope": "roles" }),
    )
    .await;
    assert_eq!(allowed.status, StatusCode::CREATED, "{:?}", allowed.body);
    let native = register(
        &app,
        Some(&token),
        json!({ "redirect_uris": ["com.example.app:/cb"], "token_endpoint_auth_method": "none" }),
    )
    .await;
    assert_eq!(native.status, StatusCode::CREATED, "{:?}", native.body);
    assert!(native.body.get("client_secret").is_none());
}

#[tokio::test]
async fn a_client_reads_replaces_and_deletes_its_own_registration() {
    let app =
        spawn_app_with(|s| s.client_registration = tessera::config::ClientRegistration::Open).await;
    let registered = register(&app, None, web_app()).await;
    assert_eq!(
        registered.status,
        StatusCode::CREATED,
        "{:?}",
        registered.body
    );
    let uri = registered.body["registration_client_uri"]
        .as_str()
        .unwrap()
        .to_string();
    let rat = registered.body["registration_access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let client_id = registered.body["client_id"].as_str().unwrap().to_string();
    assert_eq!(uri, app.url(&format!("/connect/register/{client_id}")));

    let read = JsonReply::read(app.http.get(&uri).bearer_auth(&rat).send().await.unwrap()).await;
    assert_eq!(read.status, StatusCode::OK);
    assert_eq!(read.body["client_name"], "Self-made App");
    assert_eq!(read.body["registration_access_token"], rat.as_str());
    let wrong = JsonReply::read(app.http.get(&uri).bearer_auth("nope").send().await.unwrap()).await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    let other = app.url("/connect/register/someone-else");
    let foreign =
        JsonReply::read(app.http.get(&other).bearer_auth(&rat).send().await.unwrap()).await;
    assert_eq!(foreign.status, StatusCode::UNAUTHORIZED);

    let mut changed = web_app();
    changed["client_name"] = json!("Renamed App");
    let no_id = JsonReply::read(
        app.http
            .put(&uri)
            .bearer_auth(&rat)
            .json(&changed)
            .send()
            .await
            .unwrap(),
    )
    .await;
    no_id.assert_error(StatusCode::BAD_REQUEST, "invalid_request");
    changed["client_id"] = json!(client_id);
    let put = JsonReply::read(
        app.http
            .put(&uri)
            .bearer_auth(&rat)
            .json(&changed)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(put.status, StatusCode::OK, "{:?}", put.body);
    assert_eq!(put.body["client_name"], "Renamed App");

    let deleted = app
        .http
        .delete(&uri)
        .bearer_auth(&rat)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    let gone = app.http.get(&uri).bearer_auth(&rat).send().await.unwrap();
    assert_eq!(gone.status(), StatusCode::UNAUTHORIZED);
    let audit = app.audit(&["--type", "client_deleted"]).await;
    assert_eq!(audit.len(), 1);
    let doc = app.discovery().await;
    assert_eq!(
        doc["registration_endpoint"],
        app.url("/connect/register").as_str()
    );
}

#[tokio::test]
async fn an_admin_switches_a_self_registered_client_off() {
    let app =
        spawn_app_with(|s| s.client_registration = tessera::config::ClientRegistration::Open).await;
    let registered = register(
        &app,
        None,
        json!({ "client_name": "Noisy", "grant_types": ["authorization_code"], "redirect_uris": [rp::REDIRECT_URI] }),
    )
    .await;
    let client_id = registered.body["client_id"].as_str().unwrap().to_string();
    let secret = registered.body["client_secret"]
        .as_str()
        .unwrap()
        .to_string();
    let (ok, out, _) = app.cli(&["client", "list"], None).await;
    assert!(ok);
    assert!(out.contains("self-registered"), "{out}");
    let (ok, _, err) = app.cli(&["client", "disable", &client_id], None).await;
    assert!(ok, "{err}");
    app.post_form(
        "/introspect",
        Some((&client_id, &secret)),
        &[("token", "x")],
    )
    .await
    .assert_error(StatusCode::UNAUTHORIZED, "invalid_client");
    let page = app
        .get(&format!(
            "/authorize?client_id={client_id}&response_type=code&scope=openid&redirect_uri={}",
            tessera::web::urlencode(rp::REDIRECT_URI)
        ))
        .await;
    assert_eq!(page.status(), StatusCode::BAD_REQUEST);
    assert!(page.headers().get("location").is_none());
}
