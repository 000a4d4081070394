//! TOTP two-factor authentication and recovery codes through real HTTP: set-up on the account
//! page with codes computed here from the secret, the second step of a sign-in, `amr` and
//! `acr` in ID tokens read by the `openidconnect` crate, step-up through `acr_values`, set-up
//! demanded by a role, replays, wrong codes, recovery codes, reset and turning it off.

use openidconnect::TokenResponse;
use reqwest::StatusCode;

use crate::accounts::{mail_app, submit};
use crate::helpers::{TestApp, browser, hidden_input, location, spawn_app_with};
use crate::rp::{Consent, Landing, Rp, browse, spec};

const STRONG: &str = "lamp orbit velvet cactus 42";
const MFA: &str = "urn:tessera:acr:mfa";

/// The current code of a base32 TOTP secret at `now`, computed independently of the server.
pub(crate) fn totp(secret: &str, now: i64) -> String {
    let secret = totp_rs::Secret::try_from_base32(secret).expect("base32 secret");
    totp_rs::Builder::new()
        .with_secret(secret)
        .build()
        .expect("totp")
        .generate(now as u64)
        .to_string()
}

fn between<'a>(html: &'a str, start: &str, end: &str) -> &'a str {
    let from = html
        .find(start)
        .unwrap_or_else(|| panic!("{start} in {html}"))
        + start.len();
    let to = from + html[from..].find(end).unwrap();
    &html[from..to]
}

fn recovery_codes(html: &str) -> Vec<String> {
    let list = between(html, "id=\"recovery-codes\">", "</ul>");
    list.split("<code>")
        .skip(1)
        .map(|part| part.split("</code>").next().unwrap().to_string())
        .collect()
}

async fn text(app: &TestApp, client: &reqwest::Client, path: &str) -> String {
    client
        .get(app.url(path))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// Sets up TOTP from the account page of the signed-in `client`; returns the secret, the
/// recovery codes and the code that confirmed the set-up.
pub(crate) async fn enrol(
    app: &TestApp,
    client: &reqwest::Client,
) -> (String, Vec<String>, String) {
    let page = text(app, client, "/account/security").await;
    assert!(page.contains("<svg"), "a QR code drawn by Tessera");
    let secret = between(&page, "id=\"totp-secret\">", "<").to_string();
    let wrong = submit(
        app,
        client,
        "/account/security",
        "/account/security/totp",
        &[("code", "12345x")],
    )
    .await;
    assert_eq!(wrong.status(), StatusCode::BAD_REQUEST);
    let code = totp(&secret, app.clock_now());
    let done = submit(
        app,
        client,
        "/account/security",
        "/account/security/totp",
        &[("code", &code)],
    )
    .await;
    assert_eq!(done.status(), StatusCode::OK);
    let codes = recovery_codes(&done.text().await.unwrap());
    assert_eq!(codes.len(), 10);
    for c in &codes {
        assert!(
            c.len() == 11
                && &c[5..6] == "-"
                && c.chars()
                    .all(|ch| ch == '-' || ch.is_ascii_lowercase() || ch.is_ascii_digit()),
            "{c}"
        );
    }
    // The enrolment's code is spent: the next one must come from a later step.
    app.clock.advance(30);
    (secret, codes, code)
}

/// Posts `code` on the second-factor page at `path` in `client`.
async fn second_factor(
    app: &TestApp,
    client: &reqwest::Client,
    path: &str,
    code: &str,
) -> reqwest::Response {
    let page = text(app, client, path).await;
    let csrf = hidden_input(&page, "csrf_token").unwrap_or_else(|| panic!("a form: {page}"));
    let mut form = vec![("csrf_token", csrf), ("code", code.to_string())];
    if let Some(i) = hidden_input(&page, "interaction") {
        form.push(("interaction", i));
    }
    let action = if page.contains("action=\"&#x2f;login&#x2f;second-factor&#x2f;enrol\"") {
        "/login/second-factor/enrol"
    } else {
        "/login/second-factor"
    };
    client
        .post(app.url(action))
        .form(&form)
        .send()
        .await
        .unwrap()
}

fn path_of(app: &TestApp, url: &str) -> String {
    url.strip_prefix(&app.address).unwrap_or(url).to_string()
}

async fn amr_and_acr(
    rp: &Rp,
    landing: &Landing,
    pending: crate::rp::Pending,
) -> (Vec<String>, Option<String>) {
    let nonce = pending.nonce.clone();
    let tokens = rp
        .exchange(&landing.code(), pending.verifier)
        .await
        .expect("exchange");
    assert!(tokens.id_token().is_some());
    let claims = rp.verify_id_token(&tokens, &nonce);
    let amr = claims
        .auth_method_refs()
        .map(|v| v.iter().map(|a| a.as_str().to_string()).collect())
        .unwrap_or_default();
    (
        amr,
        claims.auth_context_ref().map(|a| a.as_str().to_string()),
    )
}

fn first_party() -> tessera::services::clients::ClientSpec {
    let mut spec = spec("Dashboard");
    spec.skip_consent = true;
    spec
}

#[tokio::test]
async fn totp_sign_in_puts_otp_and_mfa_in_the_id_token_and_codes_work_once() {
    let (app, smtp) = mail_app(|_| {}).await;
    app.create_user("hana", STRONG, &["user"]).await;
    assert_eq!(
        app.post_login("hana", STRONG, false, None).await.status(),
        StatusCode::SEE_OTHER
    );
    let (secret, codes, confirming) = enrol(&app, &app.http).await;
    assert_eq!(app.audit(&["--type", "mfa_enrolled"]).await.len(), 1);

    // A new browser: the password alone gives a half-signed-in session that serves nothing.
    let rp = Rp::register(&app, first_party()).await;
    let laptop = browser();
    let pending = rp.authorize(&[], &[]);
    let start = laptop.get(pending.url.as_str()).send().await.unwrap();
    let login = location(start.headers());
    let interaction = login.split("interaction=").nth(1).unwrap().to_string();
    let reply = app
        .post_login_in(&laptop, "hana", STRONG, false, Some(&interaction))
        .await;
    assert_eq!(reply.status(), StatusCode::SEE_OTHER);
    let step = path_of(&app, &location(reply.headers()));
    assert!(
        step.starts_with("/login/second-factor?interaction="),
        "{step}"
    );
    let account = laptop.get(app.url("/account")).send().await.unwrap();
    assert_eq!(
        location(account.headers()),
        "/login",
        "half signed in is not signed in"
    );

    // Wrong and malformed codes are refused with a clear message.
    for bad in ["000000x", "999999"] {
        let reply = second_factor(&app, &laptop, &step, bad).await;
        assert_eq!(reply.status(), StatusCode::UNAUTHORIZED);
        assert!(reply.text().await.unwrap().contains("tries left"));
    }
    // The code the enrolment used is a replay (refused whatever step the wall clock is in).
    let replay = second_factor(&app, &laptop, &step, &confirming).await;
    assert_eq!(
        replay.status(),
        StatusCode::UNAUTHORIZED,
        "a code works once"
    );
    let code = totp(&secret, app.clock_now());
    let done = second_factor(&app, &laptop, &step, &code).await;
    assert_eq!(done.status(), StatusCode::SEE_OTHER);
    let resume = path_of(&app, &location(done.headers()));
    // Continue as a browser would (the laptop's cookies carry the new session).
    let resumed = laptop.get(app.url(&resume)).send().await.unwrap();
    let callback = location(resumed.headers());
    let url = url::Url::parse(&callback).unwrap();
    let landing = Landing::Callback(
        url.query_pairs()
            .map(|(k, v)| (k.into(), v.into()))
            .collect(),
    );
    let (amr, acr) = amr_and_acr(&rp, &landing, pending).await;
    assert_eq!(amr, ["pwd", "otp", "mfa"]);
    assert_eq!(acr.as_deref(), Some(MFA));

    // A recovery code signs in once, and the owner is told.
    let phone = browser();
    let reply = app.post_login_in(&phone, "hana", STRONG, false, None).await;
    let step = path_of(&app, &location(reply.headers()));
    let reply = second_factor(&app, &phone, &step, &codes[0].to_uppercase()).await;
    assert_eq!(reply.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(reply.headers()), "/account");
    smtp.wait_for_subject("hana@example.com", "recovery code")
        .await;
    let tablet = browser();
    let reply = app
        .post_login_in(&tablet, "hana", STRONG, false, None)
        .await;
    let step = path_of(&app, &location(reply.headers()));
    let reply = second_factor(&app, &tablet, &step, &codes[0]).await;
    assert_eq!(
        reply.status(),
        StatusCode::UNAUTHORIZED,
        "a recovery code works once"
    );

    // Five wrong codes end the half-signed-in session.
    for _ in 0..3 {
        second_factor(&app, &tablet, &step, "111111").await;
    }
    let last = second_factor(&app, &tablet, &step, "111111").await;
    assert_eq!(last.status(), StatusCode::UNAUTHORIZED);
    assert!(last.text().await.unwrap().contains("Too many wrong codes"));
    let gone = tablet.get(app.url(&step)).send().await.unwrap();
    assert!(location(gone.headers()).starts_with("/login"));
    let failures = app.audit(&["--type", "sign_in", "--user", "hana"]).await;
    assert!(
        failures
            .iter()
            .any(|e| e["details"]["session_ended"] == true),
        "{failures:?}"
    );
}

#[tokio::test]
async fn acr_values_steps_a_password_session_up_to_two_factors() {
    let app = spawn_app_with(|_| {}).await;
    app.create_user("ivan", STRONG, &["user"]).await;
    assert_eq!(
        app.post_login("ivan", STRONG, false, None).await.status(),
        StatusCode::SEE_OTHER
    );
    let rp = Rp::register(&app, first_party()).await;

    // Without a demand, the password session is enough, and says so.
    let pending = rp.authorize(&[], &[]);
    let landing = browse(
        &app,
        pending.url.as_str(),
        ("ivan", STRONG),
        Consent::Approve,
    )
    .await;
    let (amr, acr) = amr_and_acr(&rp, &landing, pending).await;
    assert_eq!(
        (amr, acr.as_deref()),
        (vec!["pwd".to_string()], Some("urn:tessera:acr:pwd"))
    );

    // prompt=none cannot step up.
    let pending = rp.authorize(&[], &[("acr_values", MFA), ("prompt", "none")]);
    let landing = browse(
        &app,
        pending.url.as_str(),
        ("ivan", STRONG),
        Consent::Approve,
    )
    .await;
    assert_eq!(landing.param("error").as_deref(), Some("login_required"));

    // A user without a second factor is asked to set one up, and the set-up completes the
    // step-up.
    let pending = rp.authorize(&[], &[("acr_values", MFA)]);
    let Landing::Page(status, page) = browse(
        &app,
        pending.url.as_str(),
        ("ivan", STRONG),
        Consent::Approve,
    )
    .await
    else {
        panic!("expected the set-up page");
    };
    assert_eq!(status, StatusCode::OK);
    let secret = between(&page, "id=\"totp-secret\">", "<").to_string();
    let interaction = hidden_input(&page, "interaction").expect("the request travels along");
    let step = format!("/login/second-factor?interaction={interaction}");
    let reply = second_factor(&app, &app.http, &step, &totp(&secret, app.clock_now())).await;
    assert_eq!(reply.status(), StatusCode::OK);
    let body = reply.text().await.unwrap();
    assert_eq!(recovery_codes(&body).len(), 10);
    let end = body.find("\" id=\"continue\"").expect("a continue link");
    let start = body[..end].rfind("href=\"").unwrap() + "href=\"".len();
    let next = body[start..end]
        .replace("&#x2f;", "/")
        .replace("&amp;", "&");
    let landing = browse(&app, &next, ("ivan", STRONG), Consent::Approve).await;
    let (amr, acr) = amr_and_acr(&rp, &landing, pending).await;
    assert_eq!(amr, ["pwd", "otp", "mfa"]);
    assert_eq!(acr.as_deref(), Some(MFA));

    // A client registered with --require-mfa demands it without asking.
    let (ok, stdout, stderr) = app
        .cli(
            &[
                "client",
                "add",
                "--name",
                "Vault",
                "--redirect-uri",
                crate::rp::REDIRECT_URI,
                "--require-mfa",
                "--json",
            ],
            None,
        )
        .await;
    assert!(ok, "{stderr}");
    let created: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(created["require_mfa"], true);
}

#[tokio::test]
async fn a_role_in_mfa_required_roles_must_set_up_a_second_factor() {
    let app = spawn_app_with(|s| s.mfa.required_roles = vec!["admin".into()]).await;
    app.create_user("jolene", STRONG, &["admin"]).await;
    app.create_user("kim", STRONG, &["user"]).await;
    let reply = app
        .post_login_in(&browser(), "kim", STRONG, false, None)
        .await;
    assert_eq!(
        location(reply.headers()),
        "/account",
        "other roles sign in as before"
    );

    let reply = app.post_login("jolene", STRONG, false, None).await;
    let step = path_of(&app, &location(reply.headers()));
    assert_eq!(step, "/login/second-factor");
    assert_eq!(location(app.get("/account").await.headers()), "/login");
    let page = text(&app, &app.http, &step).await;
    assert!(page.contains("Set up two-factor authentication") && page.contains("<svg"));
    let secret = between(&page, "id=\"totp-secret\">", "<").to_string();
    let reply = second_factor(&app, &app.http, &step, &totp(&secret, app.clock_now())).await;
    assert_eq!(reply.status(), StatusCode::OK);
    assert_eq!(
        app.get("/account").await.status(),
        StatusCode::OK,
        "signed in with two factors"
    );

    // The admin resets it; the next sign-in asks for a new set-up.
    let (ok, stdout, _) = app.cli(&["user", "reset-mfa", "jolene"], None).await;
    assert!(
        ok && stdout.contains("removed the second factor"),
        "{stdout}"
    );
    assert_eq!(app.audit(&["--type", "mfa_reset"]).await.len(), 1);
    let again = browser();
    let reply = app
        .post_login_in(&again, "jolene", STRONG, false, None)
        .await;
    let step = path_of(&app, &location(reply.headers()));
    assert!(
        text(&app, &again, &step)
            .await
            .contains("Set up two-factor authentication")
    );
}

#[tokio::test]
async fn turning_totp_off_needs_the_password_and_a_code() {
    let app = spawn_app_with(|_| {}).await;
    app.create_user("lee", STRONG, &["user"]).await;
    app.post_login("lee", STRONG, false, None).await;
    let (secret, _, _) = enrol(&app, &app.http).await;
    let page = text(&app, &app.http, "/account/security").await;
    assert!(page.contains("id=\"codes-left\">10<"), "{page}");
    let code = totp(&secret, app.clock_now());
    let refused = submit(
        &app,
        &app.http,
        "/account/security",
        "/account/security/totp/disable",
        &[("password", "not my password at all"), ("code", &code)],
    )
    .await;
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    let regenerated = submit(
        &app,
        &app.http,
        "/account/security",
        "/account/security/recovery-codes",
        &[],
    )
    .await;
    assert_eq!(recovery_codes(&regenerated.text().await.unwrap()).len(), 10);
    let off = submit(
        &app,
        &app.http,
        "/account/security",
        "/account/security/totp/disable",
        &[("password", STRONG), ("code", &code)],
    )
    .await;
    assert_eq!(off.status(), StatusCode::SEE_OTHER);
    let reply = app
        .post_login_in(&browser(), "lee", STRONG, false, None)
        .await;
    assert_eq!(
        location(reply.headers()),
        "/account",
        "no second step any more"
    );
    let events = app.audit(&["--type", "mfa_disabled"]).await;
    let outcomes: Vec<_> = events
        .iter()
        .map(|e| e["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, ["success", "failure"], "newest first");
}
