//! RP-Initiated Logout 1.0 at the `end_session_endpoint`: an `id_token_hint` for the current
//! session signs the user out at once; otherwise they confirm first. Only registered
//! post-logout URIs are redirected to, with `state`.

use openidconnect::core::CoreTokenResponse;
use openidconnect::{OAuth2TokenResponse, TokenResponse};
use reqwest::StatusCode;
use reqwest::header::LOCATION;

use crate::helpers::{ADMIN_PASSWORD, TestApp, hidden_input, location, spawn_app};
use crate::rp::{POST_LOGOUT_URI, Rp, sign_in, spec};

const ADMIN: (&str, &str) = ("admin", ADMIN_PASSWORD);

/// The end-session endpoint as discovery advertises it.
async fn end_session_endpoint(app: &TestApp) -> String {
    let endpoint = app.discovery().await["end_session_endpoint"]
        .as_str()
        .expect("end_session_endpoint in discovery")
        .to_string();
    assert!(endpoint.starts_with(&app.address), "{endpoint}");
    endpoint
}

/// `endpoint?params`.
fn with_query(endpoint: &str, params: &[(&str, &str)]) -> String {
    let mut url = url::Url::parse(endpoint).unwrap();
    url.query_pairs_mut().extend_pairs(params);
    url.to_string()
}

/// Whether the test browser still has a Tessera session.
async fn signed_in_at_tessera(app: &TestApp) -> bool {
    let response = app.get("/account").await;
    match response.status() {
        StatusCode::OK => true,
        s if s.is_redirection() => {
            assert_eq!(location(response.headers()), "/login");
            false
        }
        other => panic!("/account answered {other}"),
    }
}

/// Asserts that the tokens of a sign-in no longer work.
async fn assert_tokens_dead(app: &TestApp, rp: &Rp, tokens: &CoreTokenResponse) {
    let info = app.userinfo(tokens.access_token().secret()).await;
    assert_eq!(info.status, StatusCode::UNAUTHORIZED, "{:?}", info.body);
    assert_eq!(
        rp.refresh(tokens.refresh_token().unwrap(), None)
            .await
            .unwrap_err(),
        "invalid_grant"
    );
}

#[tokio::test]
async fn a_hint_for_the_current_session_signs_out_and_returns_with_state() {
    let app = spawn_app().await;
    let rp = Rp::register(&app, spec("Logout App")).await;
    let (tokens, _) = sign_in(&app, &rp, &["offline_access"], ADMIN).await;
    let hint = tokens.id_token().unwrap().to_string();
    assert!(signed_in_at_tessera(&app).await);

    let endpoint = end_session_endpoint(&app).await;
    let response = app
        .get(&with_query(
            &endpoint,
            &[
                ("id_token_hint", hint.as_str()),
                ("post_logout_redirect_uri", POST_LOGOUT_URI),
                ("state", "bye-123"),
            ],
        ))
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let target = url::Url::parse(&location(response.headers())).unwrap();
    assert_eq!(&target[..url::Position::AfterPath], POST_LOGOUT_URI);
    let params: Vec<(String, String)> = target.query_pairs().into_owned().collect();
    assert_eq!(params, vec![("state".to_string(), "bye-123".to_string())]);

    assert!(!signed_in_at_tessera(&app).await, "the session is gone");
    assert_tokens_dead(&app, &rp, &tokens).await;
}

#[tokio::test]
async fn a_post_to_end_session_works_too_and_state_is_optional() {
    let app = spawn_app().await;
    let rp = Rp::register(&app, spec("Post Logout App")).await;
    let (tokens, _) = sign_in(&app, &rp, &["offline_access"], ADMIN).await;
    let hint = tokens.id_token().unwrap().to_string();
    let endpoint = end_session_endpoint(&app).await;
    let response = app
        .http
        .post(&endpoint)
        .form(&[
            ("id_token_hint", hint.as_str()),
            ("post_logout_redirect_uri", POST_LOGOUT_URI),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(response.headers()), POST_LOGOUT_URI);
    assert!(!signed_in_at_tessera(&app).await);
    assert_tokens_dead(&app, &rp, &tokens).await;
}

#[tokio::test]
async fn an_unregistered_post_logout_redirect_uri_gets_a_page_and_no_redirect() {
    let app = spawn_app().await;
    let rp = Rp::register(&app, spec("Careful App")).await;
    let other = Rp::register(&app, spec("Other App")).await;
    let (tokens, _) = sign_in(&app, &rp, &["offline_access"], ADMIN).await;
    let hint = tokens.id_token().unwrap().to_string();
    let endpoint = end_session_endpoint(&app).await;
    let mut cases: Vec<(&str, Vec<(&str, &str)>)> = Vec::new();
    let unregistered = [
        "https://attacker.example/",
        "http://127.0.0.1:3999",
        "http://127.0.0.1:3999/?x=1",
        "http://127.0.0.1:3999/elsewhere",
        "http://127.0.0.1:3999/callback",
        "http://localhost:3999/",
    ];
    for uri in unregistered {
        cases.push((
            uri,
            vec![
                ("id_token_hint", hint.as_str()),
                ("post_logout_redirect_uri", uri),
                ("state", "s"),
            ],
        ));
        cases.push((
            uri,
            vec![
                ("client_id", rp.client_id.as_str()),
                ("post_logout_redirect_uri", uri),
            ],
        ));
    }
    cases.push((
        "without hint or client_id",
        vec![("post_logout_redirect_uri", POST_LOGOUT_URI)],
    ));
    cases.push((
        "client_id that does not match the hint",
        vec![
            ("id_token_hint", hint.as_str()),
            ("client_id", other.client_id.as_str()),
            ("post_logout_redirect_uri", POST_LOGOUT_URI),
        ],
    ));
    cases.push((
        "unknown client_id",
        vec![
            ("client_id", "no-such-client"),
            ("post_logout_redirect_uri", POST_LOGOUT_URI),
        ],
    ));
    cases.push((
        "garbage hint",
        vec![
            ("id_token_hint", "garbage"),
            ("post_logout_redirect_uri", POST_LOGOUT_URI),
        ],
    ));
    cases.push((
        "an access token as hint",
        vec![
            ("id_token_hint", tokens.access_token().secret().as_str()),
            ("post_logout_redirect_uri", POST_LOGOUT_URI),
        ],
    ));
    let huge = "h".repeat(60 * 1024);
    cases.push(("huge hint", vec![("id_token_hint", huge.as_str())]));
    cases.push(("NUL in client_id", vec![("client_id", "a\0b")]));
    for (case, params) in &cases {
        let response = app.get(&with_query(&endpoint, params)).await;
        let status = response.status();
        assert!(status.is_client_error(), "{case}: answered {status}");
        assert!(
            response.headers().get(LOCATION).is_none(),
            "{case}: never redirected"
        );
        let html = response.text().await.unwrap();
        assert!(
            html.contains("<html") || html.contains("<!doctype"),
            "{case}"
        );
    }
    // The user was not signed out by any of them, and the tokens still work.
    assert!(signed_in_at_tessera(&app).await);
    assert_eq!(
        app.userinfo(tokens.access_token().secret()).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn without_a_hint_the_user_confirms_first() {
    let app = spawn_app().await;
    let rp = Rp::register(&app, spec("Confirm App")).await;
    let (tokens, _) = sign_in(&app, &rp, &["offline_access"], ADMIN).await;
    let endpoint = end_session_endpoint(&app).await;

    let page = app.get(&endpoint).await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("action=\"/end-session/confirm\""),
        "a form to the confirmation endpoint"
    );
    let csrf = hidden_input(&html, "csrf_token").expect("a CSRF token");
    assert!(
        signed_in_at_tessera(&app).await,
        "asking is not signing out"
    );

    // Staying signed in.
    let stay = app
        .http
        .post(app.url("/end-session/confirm"))
        .form(&[("csrf_token", csrf.as_str()), ("decision", "stay")])
        .send()
        .await
        .unwrap();
    assert!(stay.status().is_redirection(), "{}", stay.status());
    assert!(signed_in_at_tessera(&app).await);

    // Without the CSRF token nothing happens.
    let forged = app
        .http
        .post(app.url("/end-session/confirm"))
        .form(&[("decision", "logout")])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    assert!(signed_in_at_tessera(&app).await);

    let done = app
        .http
        .post(app.url("/end-session/confirm"))
        .form(&[("csrf_token", csrf.as_str()), ("decision", "logout")])
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), StatusCode::OK);
    assert!(done.headers().get(LOCATION).is_none());
    assert!(!signed_in_at_tessera(&app).await);
    assert_tokens_dead(&app, &rp, &tokens).await;
}

#[tokio::test]
async fn a_confirmed_logout_returns_to_the_client_with_state() {
    let app = spawn_app().await;
    let rp = Rp::register(&app, spec("Confirm Return App")).await;
    let (tokens, _) = sign_in(&app, &rp, &["offline_access"], ADMIN).await;
    let endpoint = end_session_endpoint(&app).await;
    let page = app
        .get(&with_query(
            &endpoint,
            &[
                ("client_id", rp.client_id.as_str()),
                ("post_logout_redirect_uri", POST_LOGOUT_URI),
                ("state", "s-42"),
            ],
        ))
        .await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("Confirm Return App"),
        "the page names the client"
    );
    assert!(signed_in_at_tessera(&app).await);
    let mut form = vec![("decision".to_string(), "logout".to_string())];
    for name in [
        "csrf_token",
        "client_id",
        "post_logout_redirect_uri",
        "state",
    ] {
        let value = hidden_input(&html, name).unwrap_or_else(|| panic!("{name} carried"));
        form.push((name.to_string(), value));
    }
    let done = app
        .http
        .post(app.url("/end-session/confirm"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        location(done.headers()),
        format!("{POST_LOGOUT_URI}?state=s-42")
    );
    assert!(!signed_in_at_tessera(&app).await);
    assert_tokens_dead(&app, &rp, &tokens).await;
}

#[tokio::test]
async fn a_hint_from_an_earlier_session_asks_for_confirmation() {
    let app = spawn_app().await;
    let rp = Rp::register(&app, spec("Old Hint App")).await;
    let (tokens, _) = sign_in(&app, &rp, &[], ADMIN).await;
    let old_hint = tokens.id_token().unwrap().to_string();
    // A new login starts a new session.
    app.login_admin().await;
    let endpoint = end_session_endpoint(&app).await;
    let page = app
        .get(&with_query(
            &endpoint,
            &[
                ("id_token_hint", old_hint.as_str()),
                ("post_logout_redirect_uri", POST_LOGOUT_URI),
            ],
        ))
        .await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(hidden_input(&html, "csrf_token").is_some());
    assert!(signed_in_at_tessera(&app).await, "not signed out unasked");

    // A hint for a different user does not sign this one out either.
    app.create_user("bob", "bob password 12", &["user"]).await;
    let (bob_tokens, _) = sign_in(&app, &rp, &[], ("bob", "bob password 12")).await;
    let bob_hint = bob_tokens.id_token().unwrap().to_string();
    app.login_admin().await;
    let page = app
        .get(&with_query(
            &endpoint,
            &[("id_token_hint", bob_hint.as_str())],
        ))
        .await;
    assert_eq!(page.status(), StatusCode::OK);
    assert!(hidden_input(&page.text().await.unwrap(), "csrf_token").is_some());
    assert!(signed_in_at_tessera(&app).await);
}

#[tokio::test]
async fn signed_out_visitors_are_sent_on_their_way() {
    let app = spawn_app().await;
    let rp = Rp::register(&app, spec("Already Out App")).await;
    let (tokens, _) = sign_in(&app, &rp, &[], ADMIN).await;
    let hint = tokens.id_token().unwrap().to_string();
    let endpoint = end_session_endpoint(&app).await;
    // Signed out by the first request; the second, same hint, just redirects.
    for _ in 0..2 {
        let response = app
            .get(&with_query(
                &endpoint,
                &[
                    ("id_token_hint", hint.as_str()),
                    ("post_logout_redirect_uri", POST_LOGOUT_URI),
                    ("state", "again"),
                ],
            ))
            .await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        assert_eq!(
            location(response.headers()),
            format!("{POST_LOGOUT_URI}?state=again")
        );
    }
    // An expired ID token is still a valid hint (RP-Initiated Logout §2).
    app.clock.advance(3600);
    let response = app
        .get(&with_query(
            &endpoint,
            &[
                ("id_token_hint", hint.as_str()),
                ("post_logout_redirect_uri", POST_LOGOUT_URI),
            ],
        ))
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
}
