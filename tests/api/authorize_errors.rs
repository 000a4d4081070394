//! Authorization endpoint errors (RFC 6749 §4.1.2.1, OpenID Connect Core §3.1.2.6, RFC 9207,
//! RFC 9700 §4.11): while the client or its redirect URI cannot be trusted the user sees a
//! page and is never redirected; after that, errors go back to the registered redirect URI
//! with `error`, `state` and `iss`.

use openidconnect::{OAuth2TokenResponse, PkceCodeChallenge, TokenResponse};
use reqwest::StatusCode;
use reqwest::header::LOCATION;

use crate::helpers::{ADMIN_PASSWORD, TestApp, location, spawn_app};
use crate::rp::{Consent, REDIRECT_URI, Rp, browse, sign_in, spec};

const STATE: &str = "af0ifjsldkj";

/// A named request and the error it must produce.
type ErrorCase<'a> = (&'a str, Vec<(String, String)>, &'a str);

/// The parameters of a valid authorization request for `rp`.
fn valid_params(rp: &Rp) -> Vec<(String, String)> {
    let (challenge, _verifier) = PkceCodeChallenge::new_random_sha256();
    [
        ("client_id", rp.client_id.as_str()),
        ("redirect_uri", REDIRECT_URI),
        ("response_type", "code"),
        ("scope", "openid profile"),
        ("state", STATE),
        ("nonce", "n-0S6_WzA2Mj"),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// `params` with `name` set to `value`, or removed when `value` is `None`.
fn with(params: &[(String, String)], name: &str, value: Option<&str>) -> Vec<(String, String)> {
    let mut out: Vec<_> = params.iter().filter(|(k, _)| k != name).cloned().collect();
    if let Some(value) = value {
        out.push((name.to_string(), value.to_string()));
    }
    out
}

/// `/authorize?…` for these parameters.
fn authorize_path(params: &[(String, String)]) -> String {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params)
        .finish();
    format!("/authorize?{query}")
}

/// Asserts an error page: a 4xx status, HTML, no redirect, and the error code shown.
async fn assert_page(response: reqwest::Response, code: &str, case: &str) {
    let status = response.status();
    assert!(
        status.is_client_error(),
        "{case}: expected a 4xx page, got {status}"
    );
    assert!(
        response.headers().get(LOCATION).is_none(),
        "{case}: an untrusted request must never be redirected"
    );
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    assert!(
        content_type.starts_with("text/html"),
        "{case}: {content_type}"
    );
    let html = response.text().await.unwrap();
    assert!(html.contains(code), "{case}: the page names {code}");
    assert!(
        !html.contains("name=\"code\"") && !html.contains("name=\"error\""),
        "{case}: no auto-posting form to an untrusted place"
    );
}

/// The query parameters of a redirect back to the client.
fn callback_params(response: &reqwest::Response, case: &str) -> Vec<(String, String)> {
    assert!(
        response.status().is_redirection(),
        "{case}: expected a redirect, got {}",
        response.status()
    );
    let target = location(response.headers());
    assert!(
        target.starts_with(&format!("{REDIRECT_URI}?")),
        "{case}: redirected to {target}"
    );
    url::Url::parse(&target)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect()
}

fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// Asserts an error redirect with `code`, the request's `state` and our `iss`.
fn assert_error_redirect(app: &TestApp, response: &reqwest::Response, code: &str, case: &str) {
    let params = callback_params(response, case);
    assert_eq!(param(&params, "error"), Some(code), "{case}: {params:?}");
    assert!(
        param(&params, "error_description").is_some(),
        "{case}: {params:?}"
    );
    assert_eq!(param(&params, "state"), Some(STATE), "{case}: {params:?}");
    assert_eq!(
        param(&params, "iss"),
        Some(app.address.as_str()),
        "{case}: RFC 9207 iss"
    );
    assert!(param(&params, "code").is_none(), "{case}: no code");
}

#[tokio::test]
async fn an_untrusted_client_or_redirect_uri_gets_a_page_and_never_a_redirect() {
    let app = spawn_app().await;
    let rp = Rp::register(&app, spec("Strict App")).await;
    let valid = valid_params(&rp);
    let mut cases: Vec<(&str, Vec<(String, String)>)> = vec![
        (
            "unknown client_id",
            with(&valid, "client_id", Some("no-such-client")),
        ),
        ("missing client_id", with(&valid, "client_id", None)),
        ("empty client_id", with(&valid, "client_id", Some(""))),
        ("missing redirect_uri", with(&valid, "redirect_uri", None)),
    ];
    for other in [
        "http://127.0.0.1:3999/callback/",
        "http://127.0.0.1:3999/callback?x=1",
        "http://127.0.0.1:3999/callback?",
        "http://127.0.0.1:3999/callback#x",
        "http://127.0.0.1:3999/Callback",
        "http://127.0.0.1:3999/callback/../callback",
        "http://localhost:3999/callback",
        "http://127.0.0.1:4000/callback",
        "http://127.0.0.1:3999/",
        "https://attacker.example/callback",
        "HTTP://127.0.0.1:3999/callback",
    ] {
        cases.push((other, with(&valid, "redirect_uri", Some(other))));
    }
    for (case, params) in &cases {
        assert_page(
            app.get(&authorize_path(params)).await,
            "invalid_request",
            case,
        )
        .await;
        // Other errors in the same request do not turn it into a redirect either.
        let worse = with(params, "response_type", Some("token"));
        assert_page(
            app.get(&authorize_path(&worse)).await,
            "invalid_request",
            case,
        )
        .await;
        let silent = with(params, "prompt", Some("none"));
        let silent = with(&silent, "response_mode", Some("form_post"));
        assert_page(
            app.get(&authorize_path(&silent)).await,
            "invalid_request",
            case,
        )
        .await;
        let posted = app
            .http
            .post(app.url("/authorize"))
            .form(params)
            .send()
            .await
            .unwrap();
        assert_page(posted, "invalid_request", case).await;
    }
}

#[tokio::test]
async fn repeated_parameters_get_a_page() {
    let app = spawn_app().await;
    let rp = Rp::register(&app, spec("Repeat App")).await;
    let valid = valid_params(&rp);
    for name in [
        "client_id",
        "redirect_uri",
        "state",
        "scope",
        "response_type",
        "code_challenge",
    ] {
        let mut params = valid.clone();
        let value = param(&valid, name).unwrap().to_string();
        params.push((name.to_string(), value));
        let response = app.get(&authorize_path(&params)).await;
        assert_page(response, "invalid_request", name).await;
    }
}

#[tokio::test]
async fn errors_after_the_client_is_trusted_go_back_with_state_and_iss() {
    let app = spawn_app().await;
    let rp = Rp::register(&app, spec("Error App")).await;
    let valid = valid_params(&rp);
    let cases: Vec<ErrorCase> = vec![
        (
            "response_type=token",
            with(&valid, "response_type", Some("token")),
            "unsupported_response_type",
        ),
        (
            "response_type=id_token",
            with(&valid, "response_type", Some("id_token")),
            "unsupported_response_type",
        ),
        (
            "response_type=code id_token",
            with(&valid, "response_type", Some("code id_token")),
            "unsupported_response_type",
        ),
        (
            "missing response_type",
            with(&valid, "response_type", None),
            "invalid_request",
        ),
        (
            "no openid scope",
            with(&valid, "scope", Some("profile email")),
            "invalid_scope",
        ),
        (
            "no scope at all",
            with(&valid, "scope", None),
            "invalid_scope",
        ),
        (
            "code_challenge_method=plain",
            with(&valid, "code_challenge_method", Some("plain")),
            "invalid_request",
        ),
        (
            "code_challenge without a method",
            with(&valid, "code_challenge_method", None),
            "invalid_request",
        ),
        (
            "malformed code_challenge",
            with(&valid, "code_challenge", Some("too-short")),
            "invalid_request",
        ),
        (
            "prompt=none login",
            with(&valid, "prompt", Some("none login")),
            "invalid_request",
        ),
        (
            "prompt=none consent",
            with(&valid, "prompt", Some("none consent")),
            "invalid_request",
        ),
        (
            "unknown prompt",
            with(&valid, "prompt", Some("bogus")),
            "invalid_request",
        ),
        (
            "negative max_age",
            with(&valid, "max_age", Some("-1")),
            "invalid_request",
        ),
        (
            "non-numeric max_age",
            with(&valid, "max_age", Some("ten")),
            "invalid_request",
        ),
        (
            "request object",
            with(&valid, "request", Some("eyJhbGciOiJub25lIn0.e30.")),
            "request_not_supported",
        ),
        (
            "request_uri",
            with(
                &valid,
                "request_uri",
                Some("https://rp.example/request.jwt"),
            ),
            "request_uri_not_supported",
        ),
        (
            "unknown response_mode",
            with(&valid, "response_mode", Some("fragment")),
            "invalid_request",
        ),
        (
            "garbage id_token_hint",
            with(&valid, "id_token_hint", Some("not-a-token")),
            "invalid_request",
        ),
        (
            "JWT-shaped garbage id_token_hint",
            with(
                &valid,
                "id_token_hint",
                Some("eyJhbGciOiJSUzI1NiJ9.e30.c2ln"),
            ),
            "invalid_request",
        ),
    ];
    for (case, params, code) in &cases {
        let response = app.get(&authorize_path(params)).await;
        assert_error_redirect(&app, &response, code, case);
    }
    // Signed in or not makes no difference to validation.
    app.login_admin().await;
    for (case, params, code) in &cases {
        let response = app.get(&authorize_path(params)).await;
        assert_error_redirect(&app, &response, code, case);
    }
}

#[tokio::test]
async fn max_age_zero_always_asks_for_a_fresh_login() {
    // OpenID Connect Core §3.1.2.1: max_age=0 is equivalent to prompt=login, even in the
    // very second the user signed in.
    let app = spawn_app().await;
    let rp = Rp::register(&app, spec("Max Age Zero App")).await;
    sign_in(&app, &rp, &[], ("admin", ADMIN_PASSWORD)).await;
    let pending = rp.authorize(&[], &[("max_age", "0")]);
    let response = app.get(pending.url.as_str()).await;
    let target = location(response.headers());
    assert!(target.contains("/login?interaction="), "{target}");
    // Signing in again completes the request.
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
        .expect("code exchange");
    let claims = rp.verify_id_token(&tokens, &pending.nonce);
    assert!(claims.auth_time().is_some(), "auth_time with max_age");
}

#[tokio::test]
async fn a_public_client_without_pkce_is_refused() {
    let app = spawn_app().await;
    let mut public = spec("Public App");
    public.public = true;
    public.grant_types = vec!["authorization_code".into(), "refresh_token".into()];
    let rp = Rp::register(&app, public).await;
    assert!(rp.secret.is_none());
    let valid = valid_params(&rp);
    let without = with(&valid, "code_challenge", None);
    let without = with(&without, "code_challenge_method", None);
    let response = app.get(&authorize_path(&without)).await;
    assert_error_redirect(&app, &response, "invalid_request", "public client, no PKCE");
    // With PKCE the same public client completes the flow.
    let (tokens, nonce) = sign_in(&app, &rp, &[], ("admin", ADMIN_PASSWORD)).await;
    rp.verify_id_token(&tokens, &nonce);
}

#[tokio::test]
async fn errors_are_form_posted_when_form_post_was_asked_for() {
    let app = spawn_app().await;
    let rp = Rp::register(&app, spec("Form Error App")).await;
    let params = with(&valid_params(&rp), "response_mode", Some("form_post"));
    let params = with(&params, "response_type", Some("token"));
    let response = app.get(&authorize_path(&params)).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers().get(LOCATION).is_none());
    let html = response.text().await.unwrap().replace("&#x2f;", "/");
    assert!(html.contains(&format!("action=\"{REDIRECT_URI}\"")));
    assert!(html.contains("value=\"unsupported_response_type\""));
    assert!(html.contains(&format!("value=\"{STATE}\"")));
    assert!(html.contains("name=\"iss\""));
    assert!(!html.contains("name=\"code\""));
}

#[tokio::test]
async fn unknown_parameters_are_ignored() {
    let app = spawn_app().await;
    let rp = Rp::register(&app, spec("Lenient App")).await;
    let pending = rp.authorize(
        &["email"],
        &[
            ("foo", "bar"),
            ("display", "popup"),
            ("ui_locales", "de-CH en"),
            ("acr_values", "urn:example:loa:2"),
            ("claims_locales", "fr"),
            ("x-vendor-extension", "1"),
        ],
    );
    let landing = browse(
        &app,
        pending.url.as_str(),
        ("admin", ADMIN_PASSWORD),
        Consent::Approve,
    )
    .await;
    landing.assert_from(&app, &pending);
    let tokens = rp
        .exchange(&landing.code(), pending.verifier)
        .await
        .expect("code exchange");
    let claims = rp.verify_id_token(&tokens, &pending.nonce);
    assert_eq!(claims.email().unwrap().as_str(), "admin@tessera.local");
}

#[tokio::test]
async fn a_post_to_authorize_works_like_a_get() {
    let app = spawn_app().await;
    let rp = Rp::register(&app, spec("Post App")).await;
    let pending = rp.authorize(&["profile"], &[]);
    let form: Vec<(String, String)> = pending.url.query_pairs().into_owned().collect();
    let response = app
        .http
        .post(app.url("/authorize"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let next = location(response.headers());
    let interaction = next
        .split_once("/login?interaction=")
        .map(|(_, id)| id.to_string())
        .unwrap_or_else(|| panic!("the login page comes next, not {next}"));
    let reply = app
        .post_login("admin", ADMIN_PASSWORD, false, Some(&interaction))
        .await;
    assert_eq!(reply.status(), StatusCode::SEE_OTHER);
    let landing = browse(
        &app,
        &location(reply.headers()),
        ("admin", ADMIN_PASSWORD),
        Consent::Approve,
    )
    .await;
    landing.assert_from(&app, &pending);
    let tokens = rp
        .exchange(&landing.code(), pending.verifier)
        .await
        .expect("code exchange");
    let claims = rp.verify_id_token(&tokens, &pending.nonce);
    assert_eq!(claims.preferred_username().unwrap().as_str(), "admin");

    // Signed in and consented: a POST goes straight back with a code.
    let again = rp.authorize(&["profile"], &[]);
    let form: Vec<(String, String)> = again.url.query_pairs().into_owned().collect();
    let response = app
        .http
        .post(app.url("/authorize"))
        .form(&form)
        .send()
        .await
        .unwrap();
    let params = callback_params(&response, "POST with a session");
    assert!(param(&params, "code").is_some(), "{params:?}");

    // Errors are answered the same way as for GET.
    let bad = with(&valid_params(&rp), "response_type", Some("token"));
    let response = app
        .http
        .post(app.url("/authorize"))
        .form(&bad)
        .send()
        .await
        .unwrap();
    assert_error_redirect(
        &app,
        &response,
        "unsupported_response_type",
        "POST response_type=token",
    );
}

#[tokio::test]
async fn an_id_token_hint_for_another_user_forces_a_login() {
    let app = spawn_app().await;
    app.create_user("alice", "alice password 1", &["user"])
        .await;
    let rp = Rp::register(&app, spec("Hint App")).await;
    let (alice_tokens, nonce) = sign_in(&app, &rp, &[], ("alice", "alice password 1")).await;
    let alice_sub = rp
        .verify_id_token(&alice_tokens, &nonce)
        .subject()
        .as_str()
        .to_string();
    let alice_hint = alice_tokens.id_token().unwrap().to_string();

    // Alice's hint while she is signed in: no login page.
    let pending = rp.authorize(&[], &[("id_token_hint", &alice_hint)]);
    let response = app.get(pending.url.as_str()).await;
    let target = location(response.headers());
    assert!(target.starts_with(REDIRECT_URI), "{target}");

    // Now the browser is signed in as admin: Alice's hint asks for a login.
    app.login_admin().await;
    let pending = rp.authorize(&[], &[("id_token_hint", &alice_hint)]);
    let response = app.get(pending.url.as_str()).await;
    let target = location(response.headers());
    assert!(target.contains("/login?interaction="), "{target}");
    // With prompt=none that is login_required.
    let silent = rp.authorize(&[], &[("id_token_hint", &alice_hint), ("prompt", "none")]);
    let response = app.get(silent.url.as_str()).await;
    let params = callback_params(&response, "prompt=none with another user's hint");
    assert_eq!(param(&params, "error"), Some("login_required"));
    assert_eq!(
        param(&params, "state"),
        Some(silent.state.secret().as_str())
    );
    // Signing in as Alice completes the request for Alice.
    let landing = browse(
        &app,
        pending.url.as_str(),
        ("alice", "alice password 1"),
        Consent::Approve,
    )
    .await;
    let tokens = rp
        .exchange(&landing.code(), pending.verifier)
        .await
        .expect("code exchange");
    let claims = rp.verify_id_token(&tokens, &pending.nonce);
    assert_eq!(claims.subject().as_str(), alice_sub);

    // A hint issued to another client is not a hint for this one.
    let other = Rp::register(&app, spec("Other App")).await;
    let params = with(
        &valid_params(&other),
        "id_token_hint",
        Some(alice_hint.as_str()),
    );
    let response = app.get(&authorize_path(&params)).await;
    assert_error_redirect(
        &app,
        &response,
        "invalid_request",
        "hint issued to another client",
    );
    // An access token is not an ID token.
    let params = with(
        &valid_params(&rp),
        "id_token_hint",
        Some(tokens.access_token().secret().as_str()),
    );
    let response = app.get(&authorize_path(&params)).await;
    assert_error_redirect(&app, &response, "invalid_request", "access token as hint");
}

/// Sends a raw HTTP/1.1 request and returns the status code of the answer (for requests
/// too large for an HTTP client library to build).
async fn raw_status(app: &TestApp, request: String) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let host = app.address.trim_start_matches("http://").to_string();
    let mut stream = tokio::net::TcpStream::connect(&host).await.unwrap();
    let request = request.replace("{host}", &host);
    // The server may answer and close before reading everything: ignore write errors.
    let _ = stream.write_all(request.as_bytes()).await;
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    while !answer.windows(2).any(|w| w == b"\r\n") {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => answer.extend_from_slice(&buf[..n]),
        }
    }
    let line = String::from_utf8_lossy(&answer).to_string();
    line.split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no HTTP status line in {line:?}"))
}

#[tokio::test]
async fn huge_and_hostile_values_get_a_4xx_and_never_a_500() {
    let app = spawn_app().await;
    let rp = Rp::register(&app, spec("Huge App")).await;
    let valid = valid_params(&rp);

    // 100 KB queries: longer than HTTP libraries build, so sent by hand.
    let hundred_kb = "a".repeat(100 * 1024);
    for (case, path) in [
        (
            "100 KB state",
            authorize_path(&with(&valid, "state", Some(&hundred_kb))),
        ),
        (
            "100 KB unknown parameter",
            authorize_path(&with(&valid, "extra", Some(&hundred_kb))),
        ),
        (
            "100 KB client_id",
            format!("/authorize?client_id={}", "a".repeat(100 * 1024)),
        ),
    ] {
        let status = raw_status(
            &app,
            format!("GET {path} HTTP/1.1\r\nHost: {{host}}\r\nConnection: close\r\n\r\n"),
        )
        .await;
        assert!((400..500).contains(&status), "{case}: answered {status}");
    }

    // Large values within what a client library sends.
    let huge = "a".repeat(60 * 1024);
    let cases: Vec<(&str, Vec<(String, String)>)> = vec![
        ("huge client_id", with(&valid, "client_id", Some(&huge))),
        (
            "huge redirect_uri",
            with(&valid, "redirect_uri", Some(&huge)),
        ),
        ("huge state", with(&valid, "state", Some(&huge))),
        ("huge nonce", with(&valid, "nonce", Some(&huge))),
        ("huge scope", with(&valid, "scope", Some(&huge))),
        (
            "huge id_token_hint",
            with(&valid, "id_token_hint", Some(&huge)),
        ),
        ("huge parameter name", with(&valid, &huge, Some("1"))),
        (
            "NUL in client_id",
            with(&valid, "client_id", Some("abc\0def")),
        ),
        (
            "NUL in redirect_uri",
            with(&valid, "redirect_uri", Some("http://127.0.0.1:3999/\0")),
        ),
        ("NUL in state", with(&valid, "state", Some("a\0b"))),
    ];
    for (case, params) in &cases {
        let response = app.get(&authorize_path(params)).await;
        assert!(
            response.status().is_client_error(),
            "{case}: GET answered {}",
            response.status()
        );
        let response = app
            .http
            .post(app.url("/authorize"))
            .form(params)
            .send()
            .await
            .unwrap();
        assert!(
            response.status().is_client_error(),
            "{case}: POST answered {}",
            response.status()
        );
    }
    // A body far beyond any sane form.
    let status = raw_status(
        &app,
        format!(
            "POST /authorize HTTP/1.1\r\nHost: {{host}}\r\nConnection: close\r\n\
             Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n\
             client_id={}",
            1024 * 1024 + 10,
            "b".repeat(1024 * 1024)
        ),
    )
    .await;
    assert!((400..500).contains(&status), "1 MB body: answered {status}");
    // Bytes that are not UTF-8 once decoded.
    let response = app
        .get("/authorize?client_id=%FF%FE&redirect_uri=%C3%28&state=%E2%82&scope=%00")
        .await;
    assert!(response.status().is_client_error(), "{}", response.status());

    // Large but within the parameter limit: refused by the checks, state not echoed.
    let params = with(&valid, "state", Some(&"s".repeat(3000)));
    let response = app.get(&authorize_path(&params)).await;
    let back = callback_params(&response, "3000-character state");
    assert_eq!(param(&back, "error"), Some("invalid_request"));
    assert!(
        param(&back, "state").is_none(),
        "an oversized state is not echoed"
    );
    let params = with(&valid, "nonce", Some(&"n".repeat(600)));
    let response = app.get(&authorize_path(&params)).await;
    assert_error_redirect(&app, &response, "invalid_request", "600-character nonce");
    let params = with(&valid, "id_token_hint", Some(&"x.y.z".repeat(1500)));
    let response = app.get(&authorize_path(&params)).await;
    assert_error_redirect(&app, &response, "invalid_request", "large garbage hint");
}

#[tokio::test]
async fn anonymous_requests_from_one_address_are_capped_and_the_oldest_give_way() {
    let app = crate::helpers::spawn_app_with(|s| s.session.pending_requests_per_ip = 5).await;
    let rp = Rp::register(&app, spec("Flooded")).await;
    let mut parked = Vec::new();
    for _ in 0..12 {
        let pending = rp.authorize(&[], &[]);
        let reply = crate::helpers::browser()
            .get(pending.url.as_str())
            .send()
            .await
            .unwrap();
        let login = location(reply.headers());
        parked.push(login.split("interaction=").nth(1).unwrap().to_string());
    }
    for (i, id) in parked.iter().enumerate() {
        let page = app.get(&format!("/login?interaction={id}")).await;
        let expected = if i < 7 {
            StatusCode::BAD_REQUEST
        } else {
            StatusCode::OK
        };
        assert_eq!(page.status(), expected, "request {i}");
    }
}
