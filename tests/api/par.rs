//! Pushed Authorization Requests (RFC 9126): push, use once, expiry, conflicts, and clients
//! (or servers) that demand pushing.

use reqwest::StatusCode;

use crate::helpers::{JsonReply, TestApp, spawn_app, spawn_app_with};
use crate::rp::{self, Consent, Landing, Rp};

const ALICE: (&str, &str) = ("alice", "lamp orbit velvet cactus 42");

async fn setup(
    app: &TestApp,
    adjust: impl FnOnce(&mut tessera::services::clients::ClientSpec),
) -> Rp {
    app.create_user(ALICE.0, ALICE.1, &["user"]).await;
    let mut spec = rp::spec("Pushing App");
    spec.skip_consent = true;
    adjust(&mut spec);
    Rp::register(app, spec).await
}

/// The authorization parameters of a pending request, as a form.
fn authorization_form(pending: &rp::Pending) -> Vec<(String, String)> {
    pending
        .url
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

async fn push(app: &TestApp, rp: &Rp, form: &[(String, String)]) -> JsonReply {
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    app.post_form("/par", rp.basic(), &form).await
}

fn authorize_url(app: &TestApp, rp: &Rp, request_uri: &str) -> String {
    format!(
        "{}/authorize?client_id={}&request_uri={}",
        app.address,
        rp.client_id,
        tessera::web::urlencode(request_uri)
    )
}

#[tokio::test]
async fn a_pushed_request_signs_in_once_and_only_once() {
    let app = spawn_app().await;
    let rp = setup(&app, |_| {}).await;
    let pending = rp.authorize(&[], &[]);
    let pushed = push(&app, &rp, &authorization_form(&pending)).await;
    assert_eq!(pushed.status, StatusCode::CREATED, "{:?}", pushed.body);
    assert_eq!(pushed.header("cache-control"), Some("no-store"));
    assert_eq!(pushed.body["expires_in"], 60);
    let request_uri = pushed.body["request_uri"].as_str().unwrap().to_string();
    assert!(request_uri.starts_with("urn:ietf:params:oauth:request_uri:"));

    let url = authorize_url(&app, &rp, &request_uri);
    let landing = rp::browse(&app, &url, ALICE, Consent::Approve).await;
    landing.assert_from(&app, &pending);
    let tokens = rp.exchange(&landing.code(), pending.verifier).await;
    assert!(tokens.is_ok(), "the pushed request's PKCE and nonce hold");

    match rp::browse(&app, &url, ALICE, Consent::Approve).await {
        Landing::Page(status, body) => {
            assert_eq!(status, StatusCode::BAD_REQUEST);
            assert!(
                body.contains("invalid_request_uri") || body.contains("request_uri"),
                "{body}"
            );
        }
        other => panic!("a used request_uri must not work again: {other:?}"),
    }
}

#[tokio::test]
async fn an_expired_or_foreign_request_uri_is_refused_without_redirect() {
    let app = spawn_app().await;
    let rp = setup(&app, |_| {}).await;
    let other = Rp::register(&app, rp::spec("Other App")).await;
    let pending = rp.authorize(&[], &[]);
    let pushed = push(&app, &rp, &authorization_form(&pending)).await;
    let request_uri = pushed.body["request_uri"].as_str().unwrap().to_string();

    let foreign = app.get(&authorize_url(&app, &other, &request_uri)).await;
    assert_eq!(
        foreign.status(),
        StatusCode::BAD_REQUEST,
        "another client's request_uri"
    );

    let pushed = push(&app, &rp, &authorization_form(&pending)).await;
    let request_uri = pushed.body["request_uri"].as_str().unwrap().to_string();
    app.clock.advance(61);
    let expired = app.get(&authorize_url(&app, &rp, &request_uri)).await;
    assert_eq!(
        expired.status(),
        StatusCode::BAD_REQUEST,
        "an expired request_uri"
    );
    assert!(expired.headers().get("location").is_none());
}

#[tokio::test]
async fn parameters_that_contradict_the_pushed_request_are_refused() {
    let app = spawn_app().await;
    let rp = setup(&app, |_| {}).await;
    let pending = rp.authorize(&[], &[]);
    let pushed = push(&app, &rp, &authorization_form(&pending)).await;
    let request_uri = pushed.body["request_uri"].as_str().unwrap().to_string();
    let url = format!(
        "{}&redirect_uri={}",
        authorize_url(&app, &rp, &request_uri),
        tessera::web::urlencode("http://127.0.0.1:3999/elsewhere")
    );
    let response = app.get(&url).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.headers().get("location").is_none());
}

#[tokio::test]
async fn bad_pushes_get_token_endpoint_errors() {
    let app = spawn_app().await;
    let rp = setup(&app, |_| {}).await;
    let pending = rp.authorize(&[], &[]);
    let form = authorization_form(&pending);
    let plain: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();

    app.post_form("/par", None, &plain)
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "invalid_client");
    app.post_form("/par", Some((&rp.client_id, "wrong")), &plain)
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "invalid_client");

    let mut unregistered = form.clone();
    for (k, v) in unregistered.iter_mut() {
        if k == "redirect_uri" {
            *v = "https://evil.example/cb".into();
        }
    }
    push(&app, &rp, &unregistered)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_request");

    let mut nested = form.clone();
    nested.push((
        "request_uri".into(),
        "urn:ietf:params:oauth:request_uri:x".into(),
    ));
    push(&app, &rp, &nested)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_request");

    let mut no_pkce = form.clone();
    no_pkce.retain(|(k, _)| !k.starts_with("code_challenge"));
    push(&app, &rp, &no_pkce)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_request");

    let mut other_client = form.clone();
    for (k, v) in other_client.iter_mut() {
        if k == "client_id" {
            *v = "someone-else".into();
        }
    }
    push(&app, &rp, &other_client)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_request");
}

#[tokio::test]
async fn a_client_that_must_push_cannot_skip_it() {
    let app = spawn_app().await;
    let rp = setup(&app, |spec| spec.options.require_par = Some(true)).await;
    let pending = rp.authorize(&[], &[]);
    let direct = app.get(pending.url.as_str()).await;
    assert_eq!(direct.status(), StatusCode::BAD_REQUEST);
    assert!(direct.headers().get("location").is_none());

    let pushed = push(&app, &rp, &authorization_form(&pending)).await;
    let request_uri = pushed.body["request_uri"].as_str().unwrap().to_string();
    let landing = rp::browse(
        &app,
        &authorize_url(&app, &rp, &request_uri),
        ALICE,
        Consent::Approve,
    )
    .await;
    landing.assert_from(&app, &pending);
}

#[tokio::test]
async fn par_required_for_everyone_is_advertised_and_enforced() {
    let app = spawn_app_with(|s| s.par.required = true).await;
    let doc = app.discovery().await;
    assert_eq!(doc["require_pushed_authorization_requests"], true);
    assert_eq!(
        doc["pushed_authorization_request_endpoint"],
        format!("{}/par", app.address)
    );
    let rp = setup(&app, |_| {}).await;
    let pending = rp.authorize(&[], &[]);
    let direct = app.get(pending.url.as_str()).await;
    assert_eq!(direct.status(), StatusCode::BAD_REQUEST);
}
