//! Several nodes on one database: any node serves any step of a sign-in, and nodes starting
//! together agree on one schema and one key per algorithm. Redemptions racing across nodes are
//! in `races.rs`.

use openidconnect::core::CoreTokenResponse;
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{ADMIN_PASSWORD, TestApp, location, spawn_app, spawn_node, test_settings};
use crate::rp::{Consent, POST_LOGOUT_URI, REDIRECT_URI, Rp, browse, spec};

async fn token_request(node: &TestApp, rp: &Rp, form: &[(&str, &str)]) -> (StatusCode, Value) {
    let response = reqwest::Client::new()
        .post(node.url("/token"))
        .basic_auth(&rp.client_id, rp.secret.as_deref())
        .form(form)
        .send()
        .await
        .unwrap();
    (response.status(), response.json().await.unwrap())
}

/// The token request that redeems `code`.
fn code_form<'a>(code: &'a str, pending: &'a crate::rp::Pending) -> [(&'static str, &'a str); 4] {
    [
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", REDIRECT_URI),
        ("code_verifier", pending.verifier.secret()),
    ]
}

async fn code_for(a: &TestApp, rp: &Rp) -> (String, crate::rp::Pending) {
    let pending = rp.authorize(&["roles", "offline_access"], &[]);
    let landing = browse(
        a,
        pending.url.as_str(),
        ("admin", ADMIN_PASSWORD),
        Consent::Approve,
    )
    .await;
    (landing.code(), pending)
}

#[tokio::test]
async fn a_sign_in_can_hop_between_nodes() {
    let a = spawn_app().await;
    let b = a.second_node().await;
    assert_eq!(
        a.get("/jwks").await.text().await.unwrap(),
        b.get("/jwks").await.text().await.unwrap()
    );

    let rp = Rp::register(&a, spec("Multi Node App")).await;
    let (code, pending) = code_for(&a, &rp).await;
    let (status, body) = token_request(&b, &rp, &code_form(&code, &pending)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let tokens: CoreTokenResponse = serde_json::from_value(body.clone()).unwrap();
    rp.verify_id_token(&tokens, &pending.nonce);
    let id_token = body["id_token"].as_str().unwrap().to_string();

    let (status, refreshed) = token_request(
        &a,
        &rp,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", body["refresh_token"].as_str().unwrap()),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{refreshed}");
    let access_token = refreshed["access_token"].as_str().unwrap();

    let info = reqwest::Client::new()
        .get(b.url("/userinfo"))
        .bearer_auth(access_token)
        .send()
        .await
        .unwrap();
    assert_eq!(info.status(), StatusCode::OK);

    // Log out at B with the session cookie the browser got from A.
    let logout = a
        .http
        .get(b.url("/end-session"))
        .query(&[
            ("id_token_hint", id_token.as_str()),
            ("post_logout_redirect_uri", POST_LOGOUT_URI),
            ("state", "bye"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status(), StatusCode::SEE_OTHER);
    assert!(location(logout.headers()).starts_with(POST_LOGOUT_URI));
    assert_eq!(
        a.get("/account").await.status(),
        StatusCode::SEE_OTHER,
        "the session is gone at A too"
    );
    let info = reqwest::Client::new()
        .get(a.url("/userinfo"))
        .bearer_auth(access_token)
        .send()
        .await
        .unwrap();
    assert_eq!(
        info.status(),
        StatusCode::UNAUTHORIZED,
        "logout revoked the grant everywhere"
    );
}

#[tokio::test]
async fn nodes_starting_together_share_one_schema_and_one_key_per_algorithm() {
    let dir = std::sync::Arc::new(tempfile::tempdir().unwrap());
    let (database_url, _guard) = crate::helpers::fresh_database(dir.path()).await;
    let settings = || test_settings(dir.path(), &database_url);
    let (a, b, c) = tokio::join!(
        spawn_node(settings(), dir.clone()),
        spawn_node(settings(), dir.clone()),
        spawn_node(settings(), dir.clone())
    );
    let keys = a.state.services.list_keys();
    assert_eq!(keys.len(), 3, "one key per algorithm: {keys:?}");
    let jwks = a.get("/jwks").await.text().await.unwrap();
    for node in [&b, &c] {
        node.state.services.reload_keys().await.unwrap();
        assert_eq!(node.get("/jwks").await.text().await.unwrap(), jwks);
    }
    assert_eq!(
        a.state.services.count_users().await.unwrap(),
        1,
        "one bootstrap admin"
    );

    // A rotation made on one node is published by the others at their next reload.
    let created = a
        .state
        .services
        .rotate_keys(
            &tessera::services::Caller::cli(),
            &[tessera::domain::SigningAlg::ES256],
            60,
        )
        .await
        .unwrap();
    b.state.services.reload_keys().await.unwrap();
    let published = b.get("/jwks").await.text().await.unwrap();
    assert!(
        published.contains(&created[0]),
        "node B publishes the key node A made"
    );
}

#[tokio::test]
async fn a_client_changed_on_one_node_takes_effect_on_every_node_within_five_seconds() {
    let a = spawn_app().await;
    let b = a.second_node().await;
    let rp = Rp::register(&a, spec("Changing App")).await;
    let grant = [("grant_type", "client_credentials")];
    let (status, body) = token_request(&b, &rp, &grant).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let cli = tessera::services::Caller::cli();
    let new_secret = a
        .state
        .services
        .rotate_client_secret(&cli, &rp.client_id)
        .await
        .unwrap();
    let rotated = Rp {
        secret: Some(new_secret),
        ..Rp::discover(&a, rp.client_id.clone(), None).await
    };
    for node in [&a, &b] {
        let (status, body) = token_request(node, &rotated, &grant).await;
        assert_eq!(
            status,
            StatusCode::OK,
            "the new secret works at once: {body}"
        );
    }
    refused_here_at_once_and_there_within_five_seconds(&a, &b, &rp, "the old secret").await;

    a.state
        .services
        .delete_client(&cli, &rp.client_id)
        .await
        .unwrap();
    refused_here_at_once_and_there_within_five_seconds(&a, &b, &rotated, "a deleted client").await;
    let authorize = b.get(rotated.authorize(&[], &[]).url.as_str()).await;
    assert_eq!(
        authorize.status(),
        StatusCode::BAD_REQUEST,
        "and its authorization requests are refused"
    );
}

/// A `client_credentials` request of `rp` is refused on `changed`, where its client changed,
/// at once, and on `other` once five seconds have passed there.
async fn refused_here_at_once_and_there_within_five_seconds(
    changed: &TestApp,
    other: &TestApp,
    rp: &Rp,
    what: &str,
) {
    let grant = [("grant_type", "client_credentials")];
    let (status, body) = token_request(changed, rp, &grant).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "{what}, where it changed: {body}"
    );
    other.clock.advance(5);
    let (status, body) = token_request(other, rp, &grant).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "{what}, everywhere within 5 s: {body}"
    );
}
