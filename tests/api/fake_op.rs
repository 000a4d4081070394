//! A small OpenID provider owned by the tests, for the failure paths of upstream sign-in: it
//! answers discovery, sends the browser straight back with a code, and at its token endpoint
//! hands out an ID token with whatever fault the test asks for (wrong issuer, audience or
//! nonce, a signature of a key it never published, an unknown `kid`), or points the token
//! endpoint at a port that refuses or a listener that never answers.

use std::sync::{Arc, Mutex};

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use axum::{Json, Router};
use josekit::jwk::Jwk;
use josekit::jwk::alg::ec::EcCurve;
use josekit::jws::{self, ES256, JwsHeader};
use serde_json::{Value, json};
use tessera::clock::{Clock, TestClock};

/// What the fake provider gets wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Nothing: a valid ID token.
    None,
    /// `iss` names another issuer.
    WrongIssuer,
    /// `aud` names another client.
    WrongAudience,
    /// `nonce` is not the one sent.
    WrongNonce,
    /// Signed by a key with a published `kid` but another secret.
    BadSignature,
    /// Signed by a key whose `kid` is never published.
    UnknownKid,
    /// The token endpoint refuses connections (the provider went down mid-flow).
    TokenDown,
    /// The token endpoint accepts the connection and never answers.
    Silent,
}

struct Behaviour {
    fault: Fault,
    /// The nonce of the last authorization request.
    nonce: String,
    /// Published keys: (kid, key).
    published: Vec<(String, Jwk)>,
    /// The key that signs, by kid.
    signer: (String, Jwk),
    /// The relying party's clock, so token times agree with it.
    clock: TestClock,
    /// The `amr` the ID token carries.
    amr: Vec<&'static str>,
    /// Whether the ID token says the address is verified.
    email_verified: bool,
}

/// The fake provider.
pub struct FakeOp {
    /// Its issuer (`http://127.0.0.1:PORT`).
    pub issuer: String,
    behaviour: Arc<Mutex<Behaviour>>,
    _server: tokio::task::JoinHandle<()>,
    _silent: tokio::task::JoinHandle<()>,
}

fn key() -> Jwk {
    Jwk::generate_ec_key(EcCurve::P256).expect("an EC key")
}

#[derive(Clone)]
struct Shared {
    issuer: String,
    silent: String,
    behaviour: Arc<Mutex<Behaviour>>,
}

async fn discovery(State(shared): State<Shared>) -> Json<Value> {
    let fault = shared.behaviour.lock().unwrap().fault;
    let token_endpoint = match fault {
        Fault::TokenDown => "http://127.0.0.1:9/token".to_string(),
        Fault::Silent => format!("{}/token", shared.silent),
        _ => format!("{}/token", shared.issuer),
    };
    Json(json!({
        "issuer": shared.issuer,
        "authorization_endpoint": format!("{}/authorize", shared.issuer),
        "token_endpoint": token_endpoint,
        "jwks_uri": format!("{}/jwks", shared.issuer),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["ES256"],
    }))
}

async fn authorize(
    State(shared): State<Shared>,
    Query(params): Query<std::collections::HashMap<String, String>>,
) -> impl IntoResponse {
    shared.behaviour.lock().unwrap().nonce = params.get("nonce").cloned().unwrap_or_default();
    let to = format!(
        "{}?code=fake-code&state={}",
        params.get("redirect_uri").cloned().unwrap_or_default(),
        params.get("state").cloned().unwrap_or_default()
    );
    Redirect::to(&to)
}

async fn token(State(shared): State<Shared>) -> Json<Value> {
    let b = shared.behaviour.lock().unwrap();
    let now = b.clock.now();
    let mut claims = json!({
        "iss": shared.issuer, "aud": "tessera", "sub": "fake-subject-1",
        "iat": now, "exp": now + 300, "nonce": b.nonce,
        "email": "frank@fake.example", "email_verified": b.email_verified, "preferred_username": "frank",
        "amr": b.amr,
    });
    match b.fault {
        Fault::WrongIssuer => claims["iss"] = json!("https://impostor.example"),
        Fault::WrongAudience => claims["aud"] = json!("someone-else"),
        Fault::WrongNonce => claims["nonce"] = json!("not-the-nonce"),
        _ => {}
    }
    let (kid, signing) = match b.fault {
        Fault::BadSignature => (b.published[0].0.clone(), key()),
        Fault::UnknownKid => ("never-published".to_string(), key()),
        _ => b.signer.clone(),
    };
    let mut header = JwsHeader::new();
    header.set_key_id(&kid);
    let signer = ES256.signer_from_jwk(&signing).unwrap();
    let id_token = jws::serialize_compact(claims.to_string().as_bytes(), &header, &signer).unwrap();
    Json(json!({ "access_token": "fake-at", "token_type": "Bearer", "id_token": id_token }))
}

async fn jwks(State(shared): State<Shared>) -> Json<Value> {
    let b = shared.behaviour.lock().unwrap();
    let keys: Vec<Value> = b
        .published
        .iter()
        .map(|(kid, k)| {
            let mut public = k.to_public_key().unwrap();
            public.set_key_id(kid);
            Value::Object(public.as_ref().clone())
        })
        .collect();
    Json(json!({ "keys": keys }))
}

impl FakeOp {
    /// Starts the provider, signing well with the key `k1`.
    pub async fn start() -> FakeOp {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let issuer = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
        let silent_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let silent = format!(
            "http://127.0.0.1:{}",
            silent_listener.local_addr().unwrap().port()
        );
        let k1 = key();
        let behaviour = Arc::new(Mutex::new(Behaviour {
            fault: Fault::None,
            nonce: String::new(),
            published: vec![("k1".into(), k1.clone())],
            signer: ("k1".into(), k1),
            clock: TestClock::new(),
            amr: vec!["pwd"],
            email_verified: true,
        }));
        let shared = Shared {
            issuer: issuer.clone(),
            silent,
            behaviour: behaviour.clone(),
        };
        let app = Router::new()
            .route("/.well-known/openid-configuration", get(discovery))
            .route("/authorize", get(authorize))
            .route("/token", post(token))
            .route("/jwks", get(jwks))
            .with_state(shared);
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        // Accepts connections and keeps them, answering nothing.
        let never = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((socket, _)) = silent_listener.accept().await {
                held.push(socket);
            }
        });
        FakeOp {
            issuer,
            behaviour,
            _server: server,
            _silent: never,
        }
    }

    /// Dates tokens by the relying party's `clock`.
    pub fn use_clock(&self, clock: TestClock) {
        self.behaviour.lock().unwrap().clock = clock;
    }

    /// The `amr` of the next ID tokens.
    pub fn set_amr(&self, amr: &[&'static str]) {
        self.behaviour.lock().unwrap().amr = amr.to_vec();
    }

    /// Whether the next ID tokens say the address is verified.
    pub fn set_email_verified(&self, verified: bool) {
        self.behaviour.lock().unwrap().email_verified = verified;
    }

    /// What the next token answer gets wrong.
    pub fn set_fault(&self, fault: Fault) {
        self.behaviour.lock().unwrap().fault = fault;
    }

    /// Rotates to a new signing key `kid`, published beside the old ones.
    pub fn rotate(&self, kid: &str) {
        let mut b = self.behaviour.lock().unwrap();
        let k = key();
        b.published.push((kid.to_string(), k.clone()));
        b.signer = (kid.to_string(), k);
    }
}
