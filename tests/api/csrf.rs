//! CSRF protection of the hosted forms: the token must be one the server issued for this
//! browser (an HMAC of its per-browser cookie value under the server's key), it is replaced
//! at sign-in, and a form sent from another site (by `Origin`, else `Referer`) is refused.
//! Protocol endpoints that other sites post to by design keep accepting cross-site posts.

use reqwest::StatusCode;
use reqwest::header::SET_COOKIE;

use crate::helpers::{
    ADMIN_PASSWORD, TestApp, browser, hidden_input, location, spawn_app, spawn_app_with,
    spawn_node, test_settings,
};
use crate::rp::{Consent, POST_LOGOUT_URI, Rp, browse, spec};

const EVIL: &str = "https://evil.example";

/// A client without a cookie store, so that a test states exactly which cookies it sends.
fn bare_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("http client")
}

/// The value a response sets for the cookie `name`, if it sets one.
fn set_cookie(response: &reqwest::Response, name: &str) -> Option<String> {
    let prefix = format!("{name}=");
    response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| c.strip_prefix(&prefix).map(str::to_string))
}

/// The value of a `Set-Cookie` line, without its attributes.
fn cookie_value(set_cookie: &str) -> &str {
    set_cookie.split(';').next().unwrap_or_default()
}

/// Whether the test browser is signed in at Tessera.
async fn signed_in(app: &TestApp) -> bool {
    match app.get("/account").await.status() {
        StatusCode::OK => true,
        StatusCode::SEE_OTHER => false,
        other => panic!("/account answered {other}"),
    }
}

/// Posts the admin's credentials to `/login` with `token` and extra request headers.
async fn post_login(
    http: &reqwest::Client,
    app: &TestApp,
    token: &str,
    headers: &[(&str, &str)],
) -> reqwest::Response {
    let mut request = http.post(app.url("/login")).form(&[
        ("csrf_token", token),
        ("username", "admin"),
        ("password", ADMIN_PASSWORD),
    ]);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().await.expect("POST /login")
}

/// Asserts that a response is the 403 page of a failed CSRF check and started no session.
async fn assert_refused(response: reqwest::Response, code: &str) {
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(
        set_cookie(&response, "tessera_session").is_none(),
        "no session may start"
    );
    let body = response.text().await.expect("body");
    assert!(
        body.contains(&format!("<code>{code}</code>")),
        "expected error code {code}: {body}"
    );
}

/// The CSRF token of the account page (signed in).
async fn account_token(app: &TestApp) -> String {
    let page = app.get("/account").await.text().await.expect("body");
    hidden_input(&page, "csrf_token").expect("a CSRF token on the account page")
}

#[tokio::test]
async fn a_value_planted_in_both_cookie_and_form_is_refused() {
    let app = spawn_app().await;
    let client = bare_client();
    // A made-up value of the right shape, as a cookie-tossing attacker would plant.
    let forged = "A".repeat(43);
    let response = post_login(
        &client,
        &app,
        &forged,
        &[("cookie", &format!("tessera_csrf={forged}"))],
    )
    .await;
    assert_refused(response, "csrf_failed").await;

    // A value the server really issued is still not a token: only its MAC under the
    // server's key is.
    let page = client.get(app.url("/login")).send().await.unwrap();
    let issued = set_cookie(&page, "tessera_csrf").expect("a CSRF cookie");
    let issued = cookie_value(&issued).to_string();
    let token = hidden_input(&page.text().await.unwrap(), "csrf_token").unwrap();
    assert_ne!(token, issued, "the form token is not the cookie value");
    let cookie = format!("tessera_csrf={issued}");
    let response = post_login(&client, &app, &issued, &[("cookie", &cookie)]).await;
    assert_refused(response, "csrf_failed").await;

    // The cookie with its own token is accepted.
    let response = post_login(&client, &app, &token, &[("cookie", &cookie)]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn a_token_from_another_browser_is_refused() {
    let app = spawn_app().await;
    let token_a = app.login_form("").await;

    // Browser B has a CSRF cookie of its own.
    let b = browser();
    b.get(app.url("/login")).send().await.unwrap();
    let response = post_login(&b, &app, &token_a, &[]).await;
    assert_refused(response, "csrf_failed").await;

    // Nor does copying A's token into B's cookie help.
    let cookie = format!("tessera_csrf={token_a}");
    let response = post_login(&bare_client(), &app, &token_a, &[("cookie", &cookie)]).await;
    assert_refused(response, "csrf_failed").await;

    // In browser A it works.
    let response = post_login(&app.http, &app, &token_a, &[]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn a_token_shown_before_sign_in_is_refused_after_it() {
    let app = spawn_app().await;
    let before = app.login_form("").await;
    let login = post_login(&app.http, &app, &before, &[]).await;
    assert_eq!(login.status(), StatusCode::SEE_OTHER);
    assert!(
        set_cookie(&login, "tessera_csrf").is_some(),
        "sign-in sets a new CSRF cookie"
    );

    let logout = app
        .http
        .post(app.url("/logout"))
        .form(&[("csrf_token", before.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status(), StatusCode::FORBIDDEN);
    assert!(signed_in(&app).await, "the old token signed nobody out");

    let after = account_token(&app).await;
    assert_ne!(after, before);
    let logout = app
        .http
        .post(app.url("/logout"))
        .form(&[("csrf_token", after.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status(), StatusCode::OK);
    assert!(!signed_in(&app).await);
}

#[tokio::test]
async fn a_form_sent_from_another_site_is_refused() {
    let app = spawn_app().await;
    let port = app.address.rsplit(':').next().unwrap().to_string();
    let foreign = [
        EVIL.to_string(),
        // Sandboxed frames and data: URLs send `null`.
        "null".to_string(),
        // Same host, another port or scheme, or another name for the same server: other sites.
        "http://127.0.0.1:1".to_string(),
        app.address.replace("http:", "https:"),
        format!("http://localhost:{port}"),
    ];
    for origin in &foreign {
        let token = app.login_form("").await;
        let response = post_login(&app.http, &app, &token, &[("origin", origin)]).await;
        assert_refused(response, "cross_site_form").await;
    }
    assert!(!signed_in(&app).await);

    // A signed-in form too: logout.
    app.login_admin().await;
    let token = account_token(&app).await;
    let logout = app
        .http
        .post(app.url("/logout"))
        .header("origin", EVIL)
        .form(&[("csrf_token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_refused(logout, "cross_site_form").await;
    assert!(signed_in(&app).await);
}

#[tokio::test]
async fn a_referer_from_another_site_is_refused_when_there_is_no_origin() {
    let app = spawn_app().await;
    let port = app.address.rsplit(':').next().unwrap().to_string();
    for referer in [
        format!("{EVIL}/innocent-page"),
        format!("http://localhost:{port}/login"),
    ] {
        let token = app.login_form("").await;
        let response = post_login(&app.http, &app, &token, &[("referer", &referer)]).await;
        assert_refused(response, "cross_site_form").await;
    }
    assert!(!signed_in(&app).await);
}

#[tokio::test]
async fn a_form_sent_from_the_issuer_site_is_accepted() {
    let app = spawn_app().await;
    let token = app.login_form("").await;
    let response = post_login(&app.http, &app, &token, &[("origin", &app.address)]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);

    let token = account_token(&app).await;
    let referer = format!("{}/account", app.address);
    let logout = app
        .http
        .post(app.url("/logout"))
        .header("referer", referer)
        .form(&[("csrf_token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status(), StatusCode::OK);
    assert!(!signed_in(&app).await);
}

#[tokio::test]
async fn without_origin_or_referer_the_token_decides() {
    let app = spawn_app().await;
    let token = app.login_form("").await;
    let wrong = format!("{}x", &token[1..]);
    let response = post_login(&app.http, &app, &wrong, &[]).await;
    assert_refused(response, "csrf_failed").await;
    let response = post_login(&app.http, &app, &token, &[]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(signed_in(&app).await);
}

#[tokio::test]
async fn the_protocol_endpoints_accept_posts_from_other_sites() {
    let app = spawn_app().await;
    let rp = Rp::register(&app, spec("Cross Site App")).await;

    // POST /authorize from the client's site: parked and sent to the login page.
    let pending = rp.authorize(&[], &[]);
    let params: Vec<(String, String)> = pending.url.query_pairs().into_owned().collect();
    let authorize = app
        .http
        .post(app.url("/authorize"))
        .header("origin", EVIL)
        .form(&params)
        .send()
        .await
        .unwrap();
    assert_eq!(authorize.status(), StatusCode::SEE_OTHER);
    assert!(
        location(authorize.headers()).contains("/login?interaction="),
        "{:?}",
        authorize.headers()
    );

    // POST /token from another site (a browser app's fetch).
    let pending = rp.authorize(&["offline_access"], &[]);
    let landing = browse(
        &app,
        pending.url.as_str(),
        ("admin", ADMIN_PASSWORD),
        Consent::Approve,
    )
    .await;
    let code = landing.code();
    let mut request = app.http.post(app.url("/token")).header("origin", EVIL);
    if let Some((id, secret)) = rp.basic() {
        request = request.basic_auth(id, Some(secret));
    }
    let tokens: serde_json::Value = request
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", crate::rp::REDIRECT_URI),
            ("code_verifier", pending.verifier.secret().as_str()),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let access_token = tokens["access_token"].as_str().expect("an access token");
    let id_token = tokens["id_token"].as_str().expect("an ID token");

    // POST /revoke from another site.
    let mut request = app.http.post(app.url("/revoke")).header("origin", EVIL);
    if let Some((id, secret)) = rp.basic() {
        request = request.basic_auth(id, Some(secret));
    }
    let revoke = request
        .form(&[("token", access_token)])
        .send()
        .await
        .unwrap();
    assert_eq!(revoke.status(), StatusCode::OK);

    // POST /end-session from the client's site (RP-Initiated Logout 1.0 §2 allows POST).
    assert!(signed_in(&app).await);
    let end = app
        .http
        .post(app.url("/end-session"))
        .header("origin", EVIL)
        .header("referer", format!("{EVIL}/signed-in"))
        .form(&[
            ("id_token_hint", id_token),
            ("post_logout_redirect_uri", POST_LOGOUT_URI),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(end.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(end.headers()), POST_LOGOUT_URI);
    assert!(!signed_in(&app).await);
}

#[tokio::test]
async fn every_node_accepts_the_tokens_of_the_others() {
    let a = spawn_app().await;
    let mut settings = test_settings(a.dir.path(), &a.database_url);
    settings.issuer = a.address.clone();
    let b = spawn_node(settings, a.dir.clone()).await;
    // Cookies are not port-bound: the browser sends node A's CSRF cookie to node B too.
    let token = a.login_form("").await;
    let response = post_login(&a.http, &b, &token, &[]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn behind_https_the_cookie_set_at_sign_in_is_host_prefixed_and_secure() {
    let app = spawn_app_with(|s| s.issuer = "https://id.example.test".into()).await;
    let client = bare_client();
    let page = client.get(app.url("/login")).send().await.unwrap();
    let first = set_cookie(&page, "__Host-tessera_csrf").expect("a __Host- CSRF cookie");
    let token = hidden_input(&page.text().await.unwrap(), "csrf_token").unwrap();
    let cookie = format!("__Host-tessera_csrf={}", cookie_value(&first));
    let login = post_login(&client, &app, &token, &[("cookie", &cookie)]).await;
    assert_eq!(login.status(), StatusCode::SEE_OTHER);
    let rotated = set_cookie(&login, "__Host-tessera_csrf").expect("a new CSRF cookie");
    assert_ne!(cookie_value(&rotated), cookie_value(&first));
    for attribute in ["Secure", "HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(rotated.contains(attribute), "{attribute} in {rotated}");
    }
    assert!(!rotated.contains("Domain"), "{rotated}");
}

#[tokio::test]
async fn pages_let_browsers_name_their_origin_on_same_site_posts() {
    // Under `Referrer-Policy: no-referrer` a browser sends `Origin: null` even when a page
    // posts to its own site, and every hosted form would be refused as cross-site.
    let app = spawn_app().await;
    let page = app.get("/login").await;
    assert_eq!(
        page.headers()
            .get("referrer-policy")
            .and_then(|v| v.to_str().ok()),
        Some("same-origin")
    );
}
