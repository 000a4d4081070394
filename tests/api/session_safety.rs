//! Defects a security review found, each shown fixed: a demanded re-authentication cannot be
//! skipped through the consent form or the resume URL; a password set by someone else ends
//! the user's sessions and tokens; signing out reaches the grants of a session that a later
//! sign-in in the same browser replaced; a code dies with its session; offline grants survive
//! sign-out only when configured.

use openidconnect::{OAuth2TokenResponse, TokenResponse};
use reqwest::StatusCode;

use crate::helpers::{
    ADMIN_PASSWORD, TestApp, browser, hidden_input, location, spawn_app, spawn_app_with,
};
use crate::rp::{REDIRECT_URI, Rp, sign_in, spec};

const ADMIN: (&str, &str) = ("admin", ADMIN_PASSWORD);

/// The interaction id of a redirect to the login page.
fn parked_at_login(response: &reqwest::Response) -> String {
    let to = location(response.headers());
    to.split("/login?interaction=")
        .nth(1)
        .unwrap_or_else(|| panic!("expected the login page, got {to}"))
        .to_string()
}

/// POSTs "approve" to the consent form for `interaction` with this browser's CSRF token.
async fn approve(app: &TestApp, interaction: &str) -> reqwest::Response {
    let page = app.get("/account").await.text().await.unwrap();
    let csrf = hidden_input(&page, "csrf_token").expect("a form with a CSRF token");
    app.http
        .post(app.url("/consent"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("interaction", interaction),
            ("decision", "approve"),
        ])
        .send()
        .await
        .unwrap()
}

fn issued_a_code(response: &reqwest::Response) -> bool {
    let to = location(response.headers());
    to.starts_with(REDIRECT_URI) && to.contains("code=")
}

#[tokio::test]
async fn prompt_login_cannot_be_skipped_by_posting_consent_or_resuming() {
    let app = spawn_app().await;
    let rp = Rp::register(&app, spec("Strict App")).await;
    sign_in(&app, &rp, &[], ADMIN).await;

    for extra in [
        vec![("prompt", "login")],
        vec![("max_age", "0")],
        vec![("max_age", "1")],
    ] {
        app.clock.advance(5);
        let pending = rp.authorize(&[], &extra);
        let response = app.get(pending.url.as_str()).await;
        let interaction = parked_at_login(&response);

        let consent = approve(&app, &interaction).await;
        assert!(
            !issued_a_code(&consent),
            "{extra:?}: consent POST issued a code"
        );
        assert!(location(consent.headers()).contains("/login?interaction="));

        let resumed = app
            .get(&format!("/authorize/resume?interaction={interaction}"))
            .await;
        assert!(!issued_a_code(&resumed), "{extra:?}: resume issued a code");
        assert!(location(resumed.headers()).contains("/login?interaction="));
    }
}

#[tokio::test]
async fn an_older_session_cannot_finish_a_request_parked_without_one() {
    let app = spawn_app().await;
    let rp = Rp::register(&app, spec("Strict App")).await;
    // The test browser has an older session.
    sign_in(&app, &rp, &[], ADMIN).await;
    app.clock.advance(30);
    // A request demanding a fresh sign-in is parked by a browser without any session...
    let pending = rp.authorize(&[], &[("prompt", "login")]);
    let stranger = browser();
    let response = stranger.get(pending.url.as_str()).send().await.unwrap();
    let interaction = parked_at_login(&response);
    // ...and the old session cannot complete it.
    let resumed = app
        .get(&format!("/authorize/resume?interaction={interaction}"))
        .await;
    assert!(
        !issued_a_code(&resumed),
        "resume with an old session issued a code"
    );
    let consent = approve(&app, &interaction).await;
    assert!(
        !issued_a_code(&consent),
        "consent with an old session issued a code"
    );
}

#[tokio::test]
async fn an_id_token_hint_for_another_user_cannot_be_answered_by_the_current_one() {
    let app = spawn_app().await;
    app.create_user("alice", "alice password 1", &["user"])
        .await;
    let rp = Rp::register(&app, spec("Hint App")).await;
    // Alice's ID token; then the admin signs in in the same browser.
    let (alice_tokens, _) = sign_in(&app, &rp, &[], ("alice", "alice password 1")).await;
    let hint = alice_tokens.id_token().unwrap().to_string();
    let admin = app.post_login("admin", ADMIN_PASSWORD, false, None).await;
    assert_eq!(admin.status(), StatusCode::SEE_OTHER);
    let pending = rp.authorize(&[], &[("id_token_hint", hint.as_str())]);
    let response = app.get(pending.url.as_str()).await;
    let interaction = parked_at_login(&response);
    let consent = approve(&app, &interaction).await;
    assert!(!issued_a_code(&consent), "a code for the wrong user");
    let resumed = app
        .get(&format!("/authorize/resume?interaction={interaction}"))
        .await;
    assert!(!issued_a_code(&resumed), "a code for the wrong user");
}

#[tokio::test]
async fn a_password_set_by_an_admin_ends_sessions_and_revokes_tokens() {
    let app = spawn_app().await;
    app.create_user("bob", "bob password 123", &["user"]).await;
    let rp = Rp::register(&app, spec("Bob App")).await;
    let (tokens, _) = sign_in(&app, &rp, &["offline_access"], ("bob", "bob password 123")).await;
    assert_eq!(app.get("/account").await.status(), StatusCode::OK);

    let (ok, _, err) = app
        .cli(
            &["user", "set-password", "bob", "--password-stdin"],
            Some("a brand new password 9\n"),
        )
        .await;
    assert!(ok, "{err}");

    let account = app.get("/account").await;
    assert!(account.status().is_redirection(), "the session ended");
    let info = app.userinfo(tokens.access_token().secret()).await;
    assert_eq!(info.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        rp.refresh(tokens.refresh_token().unwrap(), None)
            .await
            .unwrap_err(),
        "invalid_grant"
    );
    // The new password works.
    let response = app
        .post_login("bob", "a brand new password 9", false, None)
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
}

/// Signs out with the hosted form.
async fn sign_out(app: &TestApp) {
    let page = app.get("/account").await.text().await.unwrap();
    let csrf = hidden_input(&page, "csrf_token").expect("the account page's form");
    let response = app
        .http
        .post(app.url("/logout"))
        .form(&[("csrf_token", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn signing_out_reaches_grants_of_a_session_replaced_by_a_later_sign_in() {
    let app = spawn_app().await;
    let rp = Rp::register(&app, spec("Replaced App")).await;
    let (first, _) = sign_in(&app, &rp, &["offline_access"], ADMIN).await;
    // Signing in again in the same browser replaces the session.
    let again = app.post_login("admin", ADMIN_PASSWORD, false, None).await;
    assert_eq!(again.status(), StatusCode::SEE_OTHER);
    let (second, _) = sign_in(&app, &rp, &["offline_access"], ADMIN).await;
    sign_out(&app).await;
    for tokens in [&first, &second] {
        assert_eq!(
            rp.refresh(tokens.refresh_token().unwrap(), None)
                .await
                .unwrap_err(),
            "invalid_grant"
        );
    }
}

#[tokio::test]
async fn a_code_dies_with_the_session_it_was_issued_under() {
    let app = spawn_app().await;
    let rp = Rp::register(&app, spec("Slow App")).await;
    let (code, pending) = rp.code(&app, &["profile"], ADMIN).await;
    sign_out(&app).await;
    let refused = rp.exchange(&code, pending.verifier).await.unwrap_err();
    assert!(refused.contains("invalid_grant"), "{refused}");
    // The next sign-in's code works: the refusal left nothing behind.
    let (tokens, _) = sign_in(&app, &rp, &["profile"], ADMIN).await;
    let info = app.userinfo(tokens.access_token().secret()).await;
    assert_eq!(info.status, StatusCode::OK);
}

#[tokio::test]
async fn offline_grants_survive_sign_out_only_when_configured() {
    let app = spawn_app_with(|s| s.logout.revoke_offline_grants = false).await;
    let rp = Rp::register(&app, spec("Offline App")).await;
    let (offline, _) = sign_in(&app, &rp, &["offline_access"], ADMIN).await;
    let (online, _) = sign_in(&app, &rp, &["profile"], ADMIN).await;
    sign_out(&app).await;
    let refreshed = rp.refresh(offline.refresh_token().unwrap(), None).await;
    assert!(
        refreshed.is_ok(),
        "offline access outlives sign-out: {refreshed:?}"
    );
    let info = app.userinfo(online.access_token().secret()).await;
    assert_eq!(info.status, StatusCode::UNAUTHORIZED, "online grants end");
}

#[tokio::test]
async fn redirect_uris_with_spaces_or_wildcards_are_refused() {
    let app = spawn_app().await;
    for bad in [
        "https://app.example/cb https://evil.example/cb",
        "https://*.example.com/cb",
    ] {
        let (ok, _, err) = app
            .cli(
                &["client", "add", "--name", "Bad", "--redirect-uri", bad],
                None,
            )
            .await;
        assert!(!ok, "{bad} accepted");
        assert!(
            err.contains("space") || err.contains("wildcard"),
            "a clear error: {err}"
        );
    }
    let (ok, out, _) = app.cli(&["client", "list", "--json"], None).await;
    assert!(ok);
    assert!(!out.contains("evil.example"));
}

#[tokio::test]
async fn scopes_are_data_with_descriptions_on_the_consent_page() {
    let app = spawn_app().await;
    let (ok, out, err) = app
        .cli(
            &[
                "scope",
                "add",
                "invoices:read",
                "--description",
                "Read your invoices",
                "--json",
            ],
            None,
        )
        .await;
    assert!(ok, "{err}");
    assert!(out.contains("invoices:read"));
    let (ok, _, err) = app
        .cli(
            &[
                "client",
                "add",
                "--name",
                "Typo",
                "--redirect-uri",
                REDIRECT_URI,
                "--scopes",
                "openid invoice:read",
            ],
            None,
        )
        .await;
    assert!(!ok && err.contains("unknown scope"), "{err}");
    let (ok, _, err) = app.cli(&["scope", "delete", "openid"], None).await;
    assert!(!ok && err.contains("built-in"), "{err}");

    let mut custom = spec("Invoices App");
    custom.scopes = vec!["openid".into(), "invoices:read".into()];
    let rp = Rp::register(&app, custom).await;
    app.login_admin().await;
    let pending = rp.authorize(&["invoices:read"], &[]);
    let response = app.get(pending.url.as_str()).await;
    let consent = location(response.headers());
    assert!(consent.contains("/consent?"), "{consent}");
    let page = app.get(&consent).await.text().await.unwrap();
    assert!(page.contains("Read your invoices"), "{page}");

    let (ok, out, err) = app.cli(&["scope", "list", "--json"], None).await;
    assert!(ok, "{err}");
    let scopes: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert!(scopes.as_array().unwrap().len() >= 6);
    let (ok, _, err) = app.cli(&["scope", "delete", "invoices:read"], None).await;
    assert!(ok, "{err}");
    let (ok, out, _) = app
        .cli(&["client", "show", &rp.client_id, "--json"], None)
        .await;
    assert!(ok);
    assert!(
        !out.contains("invoices:read"),
        "the client lost the deleted scope: {out}"
    );
}
