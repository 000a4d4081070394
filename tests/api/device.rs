//! The Device Authorization Grant (RFC 8628): a device gets codes, polls, and receives
//! tokens once a signed-in person allows it at /device; denial, expiry, slow_down, and
//! limits on guessing user codes.

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{JsonReply, TestApp, hidden_input, jwt_parts, location, spawn_app};
use crate::rp::{self, Rp};

const ALICE: (&str, &str) = ("alice", "lamp orbit velvet cactus 42");
const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

async fn setup(app: &TestApp) -> (Rp, String) {
    let user_id = app.create_user(ALICE.0, ALICE.1, &["user"]).await;
    let mut spec = rp::spec("TV App");
    spec.public = true;
    spec.roles = Vec::new();
    spec.grant_types = vec![DEVICE_GRANT.into(), "refresh_token".into()];
    spec.redirect_uris = Vec::new();
    (Rp::register(app, spec).await, user_id)
}

async fn start(app: &TestApp, rp: &Rp, scope: &str) -> Value {
    let reply = app
        .post_form(
            "/device_authorization",
            None,
            &[("client_id", &rp.client_id), ("scope", scope)],
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    reply.body
}

async fn poll(app: &TestApp, rp: &Rp, device_code: &str) -> JsonReply {
    app.post_form(
        "/token",
        None,
        &[
            ("grant_type", DEVICE_GRANT),
            ("device_code", device_code),
            ("client_id", &rp.client_id),
        ],
    )
    .await
}

/// Opens the approval page of `user_code` as the signed-in person and answers it.
async fn answer(app: &TestApp, user_code: &str, decision: &str) -> (StatusCode, String) {
    let page = app
        .get(&format!(
            "/device?user_code={}",
            tessera::web::urlencode(user_code)
        ))
        .await;
    assert_eq!(page.status(), StatusCode::OK);
    let page = page.text().await.unwrap();
    assert!(page.contains("TV App"), "{page}");
    assert!(
        page.contains(user_code),
        "the page shows the code to compare"
    );
    let csrf = hidden_input(&page, "csrf_token").unwrap();
    let reply = app
        .http
        .post(app.url("/device/decision"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("user_code", user_code),
            ("decision", decision),
        ])
        .send()
        .await
        .unwrap();
    (reply.status(), reply.text().await.unwrap())
}

#[tokio::test]
async fn a_device_gets_tokens_once_the_person_allows_it() {
    let app = spawn_app().await;
    let (rp, user_id) = setup(&app).await;
    let codes = start(&app, &rp, "openid profile offline_access").await;
    let user_code = codes["user_code"].as_str().unwrap().to_string();
    let device_code = codes["device_code"].as_str().unwrap().to_string();
    assert!(
        user_code.len() == 9 && user_code.as_bytes()[4] == b'-',
        "XXXX-XXXX: {user_code}"
    );
    assert_eq!(codes["verification_uri"], app.url("/device").as_str());
    assert_eq!(
        codes["verification_uri_complete"],
        format!("{}?user_code={user_code}", app.url("/device")).as_str()
    );
    assert_eq!(codes["expires_in"], 600);
    assert_eq!(codes["interval"], 5);

    // Two polls in a row must fall within one interval, also on a machine slow enough to take
    // five real seconds between them (seen on PostgreSQL in CI).
    app.clock.freeze();
    poll(&app, &rp, &device_code)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "authorization_pending");
    poll(&app, &rp, &device_code)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "slow_down");
    // Each slow_down adds 5 s to the interval (now 10 s).
    app.clock.advance(9);
    poll(&app, &rp, &device_code)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "slow_down");
    app.clock.advance(15);
    poll(&app, &rp, &device_code)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "authorization_pending");

    let signed_in = app.post_login(ALICE.0, ALICE.1, false, None).await;
    assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);
    let (status, page) = answer(&app, &user_code, "approve").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("Device connected"));

    app.clock.advance(15);
    let tokens = poll(&app, &rp, &device_code).await;
    assert_eq!(tokens.status, StatusCode::OK, "{:?}", tokens.body);
    let (_, id_token) = jwt_parts(tokens.body["id_token"].as_str().unwrap());
    assert_eq!(id_token["sub"], user_id.as_str());
    assert_eq!(id_token["aud"], rp.client_id.as_str());
    assert!(tokens.body["refresh_token"].is_string());
    let info = app
        .userinfo(tokens.body["access_token"].as_str().unwrap())
        .await;
    assert_eq!(info.body["preferred_username"], "alice");

    app.clock.advance(10);
    poll(&app, &rp, &device_code)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_grant");
    let (status, _) = {
        let page = app.get(&format!("/device?user_code={user_code}")).await;
        (page.status(), ())
    };
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "an answered code cannot be answered again"
    );
}

#[tokio::test]
async fn denial_and_expiry_end_the_polling() {
    let app = spawn_app().await;
    let (rp, _) = setup(&app).await;
    app.post_login(ALICE.0, ALICE.1, false, None).await;

    let denied = start(&app, &rp, "openid").await;
    let (status, page) = answer(&app, denied["user_code"].as_str().unwrap(), "deny").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("denied"));
    poll(&app, &rp, denied["device_code"].as_str().unwrap())
        .await
        .assert_error(StatusCode::BAD_REQUEST, "access_denied");

    let expiring = start(&app, &rp, "openid").await;
    app.clock.advance(601);
    poll(&app, &rp, expiring["device_code"].as_str().unwrap())
        .await
        .assert_error(StatusCode::BAD_REQUEST, "expired_token");
    let late = app
        .get(&format!(
            "/device?user_code={}",
            expiring["user_code"].as_str().unwrap()
        ))
        .await;
    assert_eq!(late.status(), StatusCode::BAD_REQUEST);

    poll(&app, &rp, "made-up")
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_grant");
}

#[tokio::test]
async fn a_signed_out_person_signs_in_and_comes_back_to_the_code() {
    let app = spawn_app().await;
    let (rp, _) = setup(&app).await;
    let codes = start(&app, &rp, "openid").await;
    let complete = codes["verification_uri_complete"].as_str().unwrap();
    let first = app.http.get(complete).send().await.unwrap();
    assert_eq!(first.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(first.headers()), "/login");
    let signed_in = app.post_login(ALICE.0, ALICE.1, false, None).await;
    let back = location(signed_in.headers());
    assert_eq!(
        back,
        format!("/device?user_code={}", codes["user_code"].as_str().unwrap())
    );
    let page = app.get(&back).await.text().await.unwrap();
    assert!(page.contains("id=\"approve\""), "{page}");
}

#[tokio::test]
async fn wrong_user_codes_are_refused_and_then_throttled() {
    let app = spawn_app().await;
    let (rp, _) = setup(&app).await;
    start(&app, &rp, "openid").await;
    app.post_login(ALICE.0, ALICE.1, false, None).await;
    for attempt in 0..10 {
        let wrong = app.get("/device?user_code=BBBB-BBBB").await;
        assert_eq!(wrong.status(), StatusCode::BAD_REQUEST, "attempt {attempt}");
        assert!(wrong.text().await.unwrap().contains("not valid"));
    }
    let throttled = app.get("/device?user_code=BBBB-BBBB").await;
    assert_eq!(throttled.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(throttled.headers().get("retry-after").is_some());
}

#[tokio::test]
async fn wrong_codes_on_the_decision_form_count_too() {
    let app = spawn_app().await;
    setup(&app).await;
    app.post_login(ALICE.0, ALICE.1, false, None).await;
    let page = app.get("/device").await.text().await.unwrap();
    let csrf = hidden_input(&page, "csrf_token").unwrap();
    let decide = || {
        app.http
            .post(app.url("/device/decision"))
            .form(&[
                ("csrf_token", csrf.as_str()),
                ("user_code", "BBBB-BBBB"),
                ("decision", "approve"),
            ])
            .send()
    };
    for _ in 0..10 {
        assert_eq!(decide().await.unwrap().status(), StatusCode::BAD_REQUEST);
    }
    assert_eq!(
        decide().await.unwrap().status(),
        StatusCode::TOO_MANY_REQUESTS
    );
}

#[tokio::test]
async fn a_client_that_demands_two_factors_is_not_allowed_from_a_password_session() {
    let app = spawn_app().await;
    app.create_user(ALICE.0, ALICE.1, &["user"]).await;
    let mut spec = rp::spec("TV App");
    spec.public = true;
    spec.roles = Vec::new();
    spec.grant_types = vec![DEVICE_GRANT.into()];
    spec.redirect_uris = Vec::new();
    spec.require_mfa = true;
    let rp = Rp::register(&app, spec).await;
    let codes = start(&app, &rp, "openid").await;
    app.post_login(ALICE.0, ALICE.1, false, None).await;
    let page = app
        .get(&format!(
            "/device?user_code={}",
            codes["user_code"].as_str().unwrap()
        ))
        .await;
    assert_eq!(page.status(), StatusCode::FORBIDDEN);
    assert!(page.text().await.unwrap().contains("second factor"));
}

#[tokio::test]
async fn only_clients_registered_for_the_grant_may_start_it() {
    let app = spawn_app().await;
    let other = Rp::register(&app, rp::spec("Web App")).await;
    app.post_form(
        "/device_authorization",
        other.basic(),
        &[("scope", "openid")],
    )
    .await
    .assert_error(StatusCode::BAD_REQUEST, "unauthorized_client");
    let doc = app.discovery().await;
    assert_eq!(
        doc["device_authorization_endpoint"],
        app.url("/device_authorization").as_str()
    );
    assert!(
        doc["grant_types_supported"]
            .as_array()
            .unwrap()
            .contains(&serde_json::json!(DEVICE_GRANT))
    );
}

#[tokio::test]
async fn the_device_client_example_signs_in_once_the_person_allows_it() {
    use tokio::io::{AsyncBufReadExt, BufReader};
    let app = crate::helpers::spawn_app_with(|s| s.device.interval_secs = 1).await;
    let (rp, _) = setup(&app).await;
    let mut child = tokio::process::Command::new(crate::children::example_binary("device_client"))
        .env("DC_ISSUER", &app.address)
        .env("DC_CLIENT_ID", &rp.client_id)
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("device_client starts");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut shown = Vec::new();
    let user_code = loop {
        let line = tokio::time::timeout(std::time::Duration::from_secs(20), lines.next_line())
            .await
            .expect("the example prints its code in time")
            .unwrap()
            .expect("a line");
        shown.push(line.clone());
        if let Some(code) = line
            .strip_prefix("Open ")
            .and_then(|l| l.split(" and enter ").nth(1))
        {
            break code.trim().to_string();
        }
    };
    // The device polls every second of real time; the server's clock moves along.
    let clock = app.clock.clone();
    let ticker = tokio::spawn(async move {
        loop {
            clock.advance(1);
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
    });
    app.post_login(ALICE.0, ALICE.1, false, None).await;
    let (status, _) = answer(&app, &user_code, "approve").await;
    assert_eq!(status, StatusCode::OK);
    let mut rest = String::new();
    while let Ok(Ok(Some(line))) =
        tokio::time::timeout(std::time::Duration::from_secs(20), lines.next_line()).await
    {
        rest.push_str(&line);
        rest.push('\n');
    }
    let exit = tokio::time::timeout(std::time::Duration::from_secs(20), child.wait())
        .await
        .expect("the example finishes")
        .unwrap();
    ticker.abort();
    assert!(exit.success(), "{shown:?} {rest}");
    assert!(rest.contains("Signed in: access token"), "{rest}");
    assert!(rest.contains("refresh_token: present"), "{rest}");
}
