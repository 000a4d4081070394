//! The authorization code flow end to end with the `openidconnect` crate.

use openidconnect::OAuth2TokenResponse;
use openidconnect::TokenResponse;

use crate::helpers::{ADMIN_PASSWORD, spawn_app};
use crate::rp::{Consent, Landing, Rp, browse, sign_in, spec};

#[tokio::test]
async fn the_openidconnect_crate_completes_the_whole_flow() {
    let app = spawn_app().await;
    let rp = Rp::register(&app, spec("Flow App")).await;
    let (tokens, nonce) = sign_in(
        &app,
        &rp,
        &["profile", "email", "roles", "offline_access"],
        ("admin", ADMIN_PASSWORD),
    )
    .await;
    let claims = rp.verify_id_token(&tokens, &nonce);
    assert_eq!(claims.issuer().as_str(), app.address);
    assert!(claims.auth_time().is_some());
    assert_eq!(
        claims.additional_claims().roles,
        vec!["admin".to_string(), "user".to_string()]
    );
    assert_eq!(claims.preferred_username().unwrap().as_str(), "admin");
    assert_eq!(claims.email().unwrap().as_str(), "admin@tessera.local");
    let subject = claims.subject().as_str().to_string();
    assert_ne!(subject, "admin", "sub is stable and never the username");
    assert!(
        tokens.refresh_token().is_some(),
        "offline_access gives a refresh token"
    );
    assert!(tokens.id_token().is_some());

    let info = rp.userinfo(tokens.access_token()).await.expect("userinfo");
    assert_eq!(info.subject().as_str(), subject);
    assert_eq!(
        info.additional_claims().roles,
        vec!["admin".to_string(), "user".to_string()]
    );
    assert_eq!(info.email().unwrap().as_str(), "admin@tessera.local");
}

#[tokio::test]
async fn consent_is_remembered_and_prompt_consent_asks_again() {
    let app = spawn_app().await;
    let rp = Rp::register(&app, spec("Consent App")).await;
    sign_in(&app, &rp, &["email"], ("admin", ADMIN_PASSWORD)).await;
    // Signed in and consented: the second request goes straight back with a code.
    let pending = rp.authorize(&["email"], &[]);
    let response = app.get(pending.url.as_str()).await;
    let target = crate::helpers::location(response.headers());
    assert!(target.starts_with(crate::rp::REDIRECT_URI), "{target}");
    // prompt=consent shows the consent page again.
    let pending = rp.authorize(&["email"], &[("prompt", "consent")]);
    let response = app.get(pending.url.as_str()).await;
    assert!(crate::helpers::location(response.headers()).contains("/consent?"));
}

#[tokio::test]
async fn denying_consent_returns_access_denied_with_state_and_iss() {
    let app = spawn_app().await;
    let rp = Rp::register(&app, spec("Denied App")).await;
    let pending = rp.authorize(&["email"], &[]);
    let landing = browse(
        &app,
        pending.url.as_str(),
        ("admin", ADMIN_PASSWORD),
        Consent::Deny,
    )
    .await;
    assert_eq!(landing.param("error").as_deref(), Some("access_denied"));
    landing.assert_from(&app, &pending);
    assert!(landing.param("code").is_none());
}

#[tokio::test]
async fn skip_consent_clients_are_not_asked() {
    let app = spawn_app().await;
    let mut first_party = spec("First Party");
    first_party.skip_consent = true;
    let rp = Rp::register(&app, first_party).await;
    app.login_admin().await;
    let pending = rp.authorize(&["profile"], &[]);
    let response = app.get(pending.url.as_str()).await;
    assert!(crate::helpers::location(response.headers()).starts_with(crate::rp::REDIRECT_URI));
}

#[tokio::test]
async fn prompt_none_without_a_session_is_login_required() {
    let app = spawn_app().await;
    let rp = Rp::register(&app, spec("Silent App")).await;
    let pending = rp.authorize(&[], &[("prompt", "none")]);
    let landing = browse(
        &app,
        pending.url.as_str(),
        ("admin", ADMIN_PASSWORD),
        Consent::Approve,
    )
    .await;
    assert_eq!(landing.param("error").as_deref(), Some("login_required"));
    landing.assert_from(&app, &pending);
    // Signed in but never consented: consent_required.
    app.login_admin().await;
    let pending = rp.authorize(&[], &[("prompt", "none")]);
    let landing = browse(
        &app,
        pending.url.as_str(),
        ("admin", ADMIN_PASSWORD),
        Consent::Approve,
    )
    .await;
    assert_eq!(landing.param("error").as_deref(), Some("consent_required"));
}

#[tokio::test]
async fn max_age_forces_a_fresh_login_and_auth_time_reports_it() {
    let app = spawn_app().await;
    let rp = Rp::register(&app, spec("Max Age App")).await;
    let (tokens, nonce) = sign_in(&app, &rp, &[], ("admin", ADMIN_PASSWORD)).await;
    let first_auth = rp.verify_id_token(&tokens, &nonce).auth_time().unwrap();
    app.clock.advance(120);
    // Within max_age: no login page.
    let pending = rp.authorize(&[], &[("max_age", "600")]);
    let response = app.get(pending.url.as_str()).await;
    assert!(crate::helpers::location(response.headers()).starts_with(crate::rp::REDIRECT_URI));
    // Exceeded: the login page comes back, and auth_time moves.
    let pending = rp.authorize(&[], &[("max_age", "60")]);
    let response = app.get(pending.url.as_str()).await;
    assert!(crate::helpers::location(response.headers()).contains("/login?interaction="));
    let landing = browse(
        &app,
        pending.url.as_str(),
        ("admin", ADMIN_PASSWORD),
        Consent::Approve,
    )
    .await;
    let tokens = rp
        .exchange(&landing.code(), pending.verifier)
        .await
        .unwrap();
    let second_auth = rp
        .verify_id_token(&tokens, &pending.nonce)
        .auth_time()
        .unwrap();
    assert!(second_auth > first_auth);
}

#[tokio::test]
async fn prompt_login_asks_again_even_with_a_session() {
    let app = spawn_app().await;
    let rp = Rp::register(&app, spec("Relogin App")).await;
    sign_in(&app, &rp, &[], ("admin", ADMIN_PASSWORD)).await;
    let pending = rp.authorize(&[], &[("prompt", "login")]);
    let response = app.get(pending.url.as_str()).await;
    assert!(crate::helpers::location(response.headers()).contains("/login?interaction="));
    let landing = browse(
        &app,
        pending.url.as_str(),
        ("admin", ADMIN_PASSWORD),
        Consent::Approve,
    )
    .await;
    assert!(landing.param("code").is_some());
}

#[tokio::test]
async fn login_hint_prefills_the_login_form() {
    let app = spawn_app().await;
    let rp = Rp::register(&app, spec("Hint App")).await;
    let pending = rp.authorize(&[], &[("login_hint", "someone@example.com")]);
    let response = app.get(pending.url.as_str()).await;
    let login = crate::helpers::location(response.headers());
    let page = app.get(&login).await.text().await.unwrap();
    assert!(
        page.contains("value=\"someone@example.com\""),
        "login form is pre-filled"
    );
    assert!(page.contains("Hint App"), "the login page names the client");
}

#[tokio::test]
async fn form_post_response_mode_posts_the_code() {
    let app = spawn_app().await;
    let rp = Rp::register(&app, spec("Form Post App")).await;
    sign_in(&app, &rp, &[], ("admin", ADMIN_PASSWORD)).await;
    let pending = rp.authorize(&[], &[("response_mode", "form_post")]);
    let landing = browse(
        &app,
        pending.url.as_str(),
        ("admin", ADMIN_PASSWORD),
        Consent::Approve,
    )
    .await;
    let Landing::Page(status, html) = landing else {
        panic!("form_post answers with a page");
    };
    assert_eq!(status, reqwest::StatusCode::OK);
    let html = html.replace("&#x2f;", "/");
    assert!(html.contains(&format!("action=\"{}\"", crate::rp::REDIRECT_URI)));
    assert!(html.contains("name=\"code\""));
    assert!(html.contains(&format!("value=\"{}\"", pending.state.secret())));
    assert!(html.contains("name=\"iss\""));
}

#[tokio::test]
async fn consent_accumulates_across_requests() {
    let app = spawn_app().await;
    let rp = Rp::register(&app, spec("Growing App")).await;
    sign_in(&app, &rp, &["email"], ("admin", ADMIN_PASSWORD)).await;
    sign_in(&app, &rp, &["profile"], ("admin", ADMIN_PASSWORD)).await;
    // Both earlier consents stand: asking for either again needs no page.
    for scope in ["email", "profile"] {
        let pending = rp.authorize(&[scope], &[]);
        let response = app.get(pending.url.as_str()).await;
        let target = crate::helpers::location(response.headers());
        assert!(
            target.starts_with(crate::rp::REDIRECT_URI),
            "{scope}: {target}"
        );
    }
}
