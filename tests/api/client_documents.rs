//! Clients identified by a metadata document (draft-ietf-oauth-client-id-metadata-document)
//! and the MCP-style flow: discover the authorization server from a protected resource
//! (RFC 9728), identify by a document URL, sign in with PKCE and `resource` (RFC 8707), and
//! call the resource with a token for it.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::children::{Output, example_binary, start, word_after};
use crate::helpers::{jwt_parts, spawn_app, spawn_app_with};
use crate::rp::{self, Consent, Landing, Rp};

const ALICE: (&str, &str) = ("alice", "lamp orbit velvet cactus 42");

/// A client's metadata document, served by the test at `url`.
struct Document {
    url: String,
    body: Arc<Mutex<Value>>,
    delay: Arc<Mutex<Duration>>,
}

#[derive(Clone)]
struct Served {
    body: Arc<Mutex<Value>>,
    delay: Arc<Mutex<Duration>>,
}

async fn serve(State(served): State<Served>) -> impl IntoResponse {
    let delay = *served.delay.lock().unwrap();
    tokio::time::sleep(delay).await;
    let body = served.body.lock().unwrap().clone();
    ([(header::CACHE_CONTROL, "max-age=300")], axum::Json(body))
}

impl Document {
    /// Serves a public client's document; `adjust` changes it (its own URL is given).
    async fn start(adjust: impl FnOnce(&str, &mut Value)) -> Document {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!(
            "http://{}/oauth/client.json",
            listener.local_addr().unwrap()
        );
        let mut body = json!({
            "client_id": url,
            "client_name": "Agent Smith",
            "redirect_uris": [rp::REDIRECT_URI],
            "grant_types": ["authorization_code"],
            "response_types": ["code"],
            "token_endpoint_auth_method": "none",
            "scope": "openid profile",
        });
        adjust(&url, &mut body);
        let served = Served {
            body: Arc::new(Mutex::new(body)),
            delay: Arc::new(Mutex::new(Duration::ZERO)),
        };
        let router = axum::Router::new()
            .route("/oauth/client.json", get(serve))
            .with_state(served.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Document {
            url,
            body: served.body,
            delay: served.delay,
        }
    }
}

#[tokio::test]
async fn a_client_named_by_its_document_signs_in_as_a_public_client() {
    let app = spawn_app().await;
    let user_id = app.create_user(ALICE.0, ALICE.1, &["user"]).await;
    let document = Document::start(|_, _| {}).await;
    let rp = Rp::discover(&app, document.url.clone(), None).await;
    let (tokens, nonce) = rp::sign_in(&app, &rp, &["profile"], ALICE).await;
    let claims = rp.verify_id_token(&tokens, &nonce);
    assert_eq!(claims.subject().as_str(), user_id);
    assert_eq!(claims.audiences()[0].as_str(), document.url);
    let (ok, out, _) = app.cli(&["client", "list"], None).await;
    assert!(
        ok && out.contains(&document.url) && out.contains("self-registered"),
        "{out}"
    );
    assert_eq!(
        app.discovery().await["client_id_metadata_document_supported"],
        true
    );
}

/// A change to a served document.
type Adjust = Box<dyn FnOnce(&str, &mut Value)>;

#[tokio::test]
async fn documents_that_break_the_rules_are_refused() {
    let app = spawn_app().await;
    app.create_user(ALICE.0, ALICE.1, &["user"]).await;
    let cases: Vec<(&str, Adjust)> = vec![
        (
            "another client_id",
            Box::new(|_, d| d["client_id"] = json!("https://other.example/c.json")),
        ),
        (
            "a client secret",
            Box::new(|_, d| d["token_endpoint_auth_method"] = json!("client_secret_basic")),
        ),
        (
            "a secret in the document",
            Box::new(|_, d| d["client_secret"] = json!("s3cret")),
        ),
        (
            "client_credentials",
            Box::new(|_, d| d["grant_types"] = json!(["client_credentials"])),
        ),
        (
            "a huge document",
            Box::new(|_, d| d["client_name"] = json!("x".repeat(6000))),
        ),
    ];
    for (case, adjust) in cases {
        let document = Document::start(adjust).await;
        let rp = Rp::discover(&app, document.url.clone(), None).await;
        let pending = rp.authorize(&[], &[]);
        match rp::browse(&app, pending.url.as_str(), ALICE, Consent::Approve).await {
            Landing::Page(status, _) => assert_eq!(status, StatusCode::BAD_REQUEST, "{case}"),
            other => panic!("{case}: {other:?}"),
        }
    }

    let document = Document::start(|_, _| {}).await;
    let unregistered = format!(
        "/authorize?client_id={}&response_type=code&scope=openid&redirect_uri={}&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256",
        tessera::web::urlencode(&document.url),
        tessera::web::urlencode("http://127.0.0.1:3999/elsewhere")
    );
    let page = app.get(&unregistered).await;
    assert_eq!(
        page.status(),
        StatusCode::BAD_REQUEST,
        "a redirect URI the document lacks"
    );
    assert!(page.headers().get("location").is_none());
}

#[tokio::test]
async fn a_document_that_does_not_come_in_time_is_refused_in_time() {
    let app = spawn_app_with(|s| s.outbound_timeout_secs = 1).await;
    let document = Document::start(|_, _| {}).await;
    *document.delay.lock().unwrap() = Duration::from_secs(8);
    let rp = Rp::discover(&app, document.url.clone(), None).await;
    let pending = rp.authorize(&[], &[]);
    let started = std::time::Instant::now();
    let page = app.get(pending.url.as_str()).await;
    assert_eq!(page.status(), StatusCode::BAD_REQUEST);
    assert!(
        started.elapsed() < Duration::from_secs(6),
        "bounded by outbound_timeout_secs"
    );
    let _ = &document.body;
}

#[tokio::test]
async fn documents_can_be_switched_off() {
    let app = spawn_app_with(|s| s.client_metadata_documents = tessera::config::Switch::Off).await;
    assert_eq!(
        app.discovery().await["client_id_metadata_document_supported"],
        false
    );
    let document = Document::start(|_, _| {}).await;
    let rp = Rp::discover(&app, document.url.clone(), None).await;
    let pending = rp.authorize(&[], &[]);
    assert_eq!(
        app.get(pending.url.as_str()).await.status(),
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test]
async fn an_mcp_style_client_finds_tessera_from_the_resource_and_calls_it() {
    // The API's address is chosen first: the administrator opens it to self-registered
    // clients (open_resources) before Tessera starts.
    let api_address = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap()
    };
    let api_resource = format!("http://{api_address}");
    let opened = api_resource.clone();
    let app = spawn_app_with(move |s| s.open_resources = vec![opened]).await;
    app.create_user(ALICE.0, ALICE.1, &["user"]).await;
    let mut api = tokio::process::Command::new(example_binary("resource_server"));
    api.env("RS_ISSUER", &app.address)
        .env("RS_LISTEN", api_address.to_string())
        .env("RS_AUDIENCE", "none-but-its-own-url")
        .env("RUST_LOG", "warn");
    let (_api, api_url) = start(api, "resource_server", Output::Stdout, |line| {
        word_after(line, "Resource server listening on ")
    })
    .await;
    assert_eq!(api_url, api_resource);

    // 1. The resource says who can give a token for it.
    let http = reqwest::Client::new();
    let refused = http.get(format!("{api_url}/api/me")).send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    let challenge = refused.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_string();
    let metadata_url = challenge
        .split("resource_metadata=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("resource_metadata in the challenge")
        .to_string();
    let resource: Value = http
        .get(&metadata_url)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(resource["resource"], api_url.as_str());
    let issuer = resource["authorization_servers"][0].as_str().unwrap();
    assert_eq!(issuer, app.address);
    let server: Value = http
        .get(format!("{issuer}/.well-known/oauth-authorization-server"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(server["client_id_metadata_document_supported"], true);
    assert!(
        server["code_challenge_methods_supported"]
            .as_array()
            .unwrap()
            .contains(&json!("S256"))
    );

    // 2. The agent identifies by its document, signs the user in with PKCE and `resource`.
    let document = Document::start(|_, _| {}).await;
    let rp = Rp::discover(&app, document.url.clone(), None).await;
    let pending = rp.authorize(&[], &[("resource", &api_url)]);
    let landing = rp::browse(&app, pending.url.as_str(), ALICE, Consent::Approve).await;
    landing.assert_from(&app, &pending);
    let tokens = app
        .post_form(
            "/token",
            None,
            &[
                ("grant_type", "authorization_code"),
                ("code", &landing.code()),
                ("redirect_uri", rp::REDIRECT_URI),
                ("code_verifier", pending.verifier.secret()),
                ("client_id", &document.url),
                ("resource", &api_url),
            ],
        )
        .await;
    assert_eq!(tokens.status, StatusCode::OK, "{:?}", tokens.body);
    let at = tokens.body["access_token"].as_str().unwrap();
    let (_, claims) = jwt_parts(at);
    assert_eq!(claims["aud"], api_url.as_str());

    // 3. The resource accepts the token minted for it.
    let me = http
        .get(format!("{api_url}/api/me"))
        .bearer_auth(at)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), StatusCode::OK);
    let me: Value = me.json().await.unwrap();
    assert_eq!(me["client_id"], document.url.as_str());

    // A resource nobody registered is refused.
    let pending = rp.authorize(&[], &[("resource", "https://unknown.example/")]);
    let landing = rp::browse(&app, pending.url.as_str(), ALICE, Consent::Approve).await;
    assert_eq!(landing.param("error").as_deref(), Some("invalid_target"));
}
