//! Back-Channel Logout 1.0: when a session ends, each client that received tokens in it and
//! registered a logout URI gets a signed logout token by POST; delivery survives a receiver
//! that is down.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Form, State};
use axum::http::StatusCode;
use axum::routing::post;
use josekit::jwk::Jwk;
use josekit::jws::RS256;

use crate::helpers::{TestApp, jwt_parts, spawn_app_with};
use crate::rp::{self, Rp};

const ALICE: (&str, &str) = ("alice", "lamp orbit velvet cactus 42");

/// A client's back-channel logout endpoint, run by the test: it records every logout token
/// and answers 503 to the first `fail_first` deliveries.
struct Receiver {
    url: String,
    tokens: Arc<Mutex<Vec<String>>>,
    _server: tokio::task::JoinHandle<()>,
}

#[derive(Clone)]
struct ReceiverState {
    tokens: Arc<Mutex<Vec<String>>>,
    failures_left: Arc<AtomicUsize>,
}

async fn receive(
    State(state): State<ReceiverState>,
    Form(form): Form<std::collections::HashMap<String, String>>,
) -> StatusCode {
    if state
        .failures_left
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok()
    {
        return StatusCode::SERVICE_UNAVAILABLE;
    }
    let token = form.get("logout_token").cloned().unwrap_or_default();
    state.tokens.lock().unwrap().push(token);
    StatusCode::OK
}

impl Receiver {
    async fn start(fail_first: usize) -> Receiver {
        Receiver::start_on("127.0.0.1:0", fail_first).await
    }

    async fn start_on(address: &str, fail_first: usize) -> Receiver {
        let listener = tokio::net::TcpListener::bind(address).await.unwrap();
        let url = format!(
            "http://{}/backchannel-logout",
            listener.local_addr().unwrap()
        );
        let tokens = Arc::new(Mutex::new(Vec::new()));
        let state = ReceiverState {
            tokens: tokens.clone(),
            failures_left: Arc::new(AtomicUsize::new(fail_first)),
        };
        let router = axum::Router::new()
            .route("/backchannel-logout", post(receive))
            .with_state(state);
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Receiver {
            url,
            tokens,
            _server: server,
        }
    }

    /// Waits (a few seconds at most) until `n` tokens arrived.
    async fn wait_for(&self, n: usize) -> Vec<String> {
        // Up to 10 s: deliveries run in the background of a possibly loaded machine.
        for _ in 0..400 {
            let tokens = self.tokens.lock().unwrap().clone();
            if tokens.len() >= n {
                return tokens;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!(
            "expected {n} logout token(s), got {:?}",
            self.tokens.lock().unwrap()
        );
    }

    fn count(&self) -> usize {
        self.tokens.lock().unwrap().len()
    }
}

async fn quick_app() -> TestApp {
    spawn_app_with(|s| s.backchannel.poll_interval_ms = 20).await
}

async fn listening_client(app: &TestApp, receiver: &Receiver, name: &str) -> Rp {
    let mut spec = rp::spec(name);
    spec.skip_consent = true;
    spec.options.backchannel_logout_uri = Some(receiver.url.clone());
    spec.options.backchannel_logout_session_required = Some(true);
    Rp::register(app, spec).await
}

/// Verifies a logout token's signature with the JWKS and returns its claims.
async fn verified_claims(app: &TestApp, token: &str) -> serde_json::Value {
    let (header, claims) = jwt_parts(token);
    assert_eq!(header["typ"], "logout+jwt");
    let jwks: serde_json::Value = app.get("/jwks").await.json().await.unwrap();
    let key = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == header["kid"])
        .expect("the signing key is published");
    let jwk = Jwk::from_map(key.as_object().unwrap().clone()).unwrap();
    let verifier = RS256.verifier_from_jwk(&jwk).unwrap();
    josekit::jws::deserialize_compact(token, &verifier).expect("signature verifies");
    claims
}

#[tokio::test]
async fn signing_out_sends_each_listening_client_a_logout_token() {
    let app = quick_app().await;
    let receiver = Receiver::start(0).await;
    let listening = listening_client(&app, &receiver, "Listening App").await;
    let deaf = Rp::register(&app, {
        let mut spec = rp::spec("Deaf App");
        spec.skip_consent = true;
        spec
    })
    .await;
    let user_id = app.create_user(ALICE.0, ALICE.1, &["user"]).await;
    let (tokens, nonce) = rp::sign_in(&app, &listening, &[], ALICE).await;
    listening.verify_id_token(&tokens, &nonce);
    let raw_id_token = openidconnect::TokenResponse::id_token(&tokens)
        .unwrap()
        .to_string();
    let (_, id_token) = jwt_parts(&raw_id_token);
    rp::sign_in(&app, &deaf, &[], ALICE).await;
    assert_eq!(
        receiver.count(),
        0,
        "nothing is sent while the session lives"
    );

    let logout = app
        .get(&format!(
            "/end-session?id_token_hint={}&post_logout_redirect_uri={}",
            raw_id_token,
            tessera::web::urlencode(rp::POST_LOGOUT_URI)
        ))
        .await;
    assert_eq!(logout.status(), reqwest::StatusCode::SEE_OTHER);

    let delivered = receiver.wait_for(1).await;
    assert_eq!(delivered.len(), 1, "one token for the one listening client");
    let claims = verified_claims(&app, &delivered[0]).await;
    assert_eq!(claims["iss"], app.address.as_str());
    assert_eq!(claims["aud"], listening.client_id.as_str());
    assert_eq!(claims["sub"], user_id.as_str());
    assert_eq!(claims["sid"], id_token["sid"]);
    assert!(claims["events"]["http://schemas.openid.net/event/backchannel-logout"].is_object());
    assert!(claims.get("nonce").is_none());
    assert!(claims["jti"].as_str().is_some_and(|j| j.len() >= 32));
    assert!(claims["exp"].as_i64().unwrap() > claims["iat"].as_i64().unwrap());
    let doc = app.discovery().await;
    assert_eq!(doc["backchannel_logout_supported"], true);
    assert_eq!(doc["backchannel_logout_session_supported"], true);
}

#[tokio::test]
async fn a_receiver_that_is_down_gets_the_token_on_a_later_try() {
    let app = quick_app().await;
    let receiver = Receiver::start(2).await;
    let rp = listening_client(&app, &receiver, "Flaky App").await;
    app.create_user(ALICE.0, ALICE.1, &["user"]).await;
    rp::sign_in(&app, &rp, &[], ALICE).await;
    let (ok, _, err) = app.cli(&["user", "disable", "alice"], None).await;
    assert!(ok, "{err}");
    // Two refusals: retried after 1 s, then 2 s, of the server's clock.
    for _ in 0..50 {
        if receiver.count() > 0 {
            break;
        }
        app.clock.advance(1);
        tokio::time::sleep(Duration::from_millis(60)).await;
    }
    let delivered = receiver.wait_for(1).await;
    let claims = verified_claims(&app, &delivered[0]).await;
    assert_eq!(claims["aud"], rp.client_id.as_str());
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(receiver.count(), 1, "delivered once, then done");
}

#[tokio::test]
async fn a_receiver_that_was_not_listening_gets_the_token_once_it_is() {
    let app = quick_app().await;
    let address = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap()
    };
    let mut spec = rp::spec("Late App");
    spec.skip_consent = true;
    spec.options.backchannel_logout_uri = Some(format!("http://{address}/backchannel-logout"));
    let rp = Rp::register(&app, spec).await;
    app.create_user(ALICE.0, ALICE.1, &["user"]).await;
    rp::sign_in(&app, &rp, &[], ALICE).await;
    let (ok, _, err) = app.cli(&["user", "disable", "alice"], None).await;
    assert!(ok, "{err}");
    // The first attempt meets a closed port; then the app comes up.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let receiver = Receiver::start_on(&address.to_string(), 0).await;
    for _ in 0..50 {
        if receiver.count() > 0 {
            break;
        }
        app.clock.advance(1);
        tokio::time::sleep(Duration::from_millis(60)).await;
    }
    let delivered = receiver.wait_for(1).await;
    let claims = verified_claims(&app, &delivered[0]).await;
    assert_eq!(claims["aud"], rp.client_id.as_str());
}

#[tokio::test]
async fn only_https_or_loopback_logout_uris_are_registered() {
    let app = quick_app().await;
    let (ok, _, err) = app
        .cli(
            &[
                "client",
                "add",
                "--name",
                "Plain",
                "--redirect-uri",
                "https://app.example/cb",
                "--backchannel-logout-uri",
                "http://app.example/logout",
            ],
            None,
        )
        .await;
    assert!(!ok);
    assert!(err.contains("https"), "{err}");
    let (ok, out, err) = app
        .cli(
            &[
                "client",
                "add",
                "--name",
                "Secure",
                "--redirect-uri",
                "https://app.example/cb",
                "--backchannel-logout-uri",
                "https://app.example/logout",
                "--json",
            ],
            None,
        )
        .await;
    assert!(ok, "{err}");
    let client: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        client["backchannel_logout_uri"],
        "https://app.example/logout"
    );
}
