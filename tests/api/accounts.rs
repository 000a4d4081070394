//! Self-service accounts through real HTTP and a real SMTP server: sign-up and verification,
//! `prompt=create`, password reset and change, the account pages, invitations and the
//! registration modes, and mail that waits out a mail server that is down.

use openidconnect::{OAuth2TokenResponse, TokenResponse};
use reqwest::StatusCode;

use crate::helpers::{TestApp, browser, hidden_input, location, spawn_app_with};
use crate::rp::{Consent, Rp, browse, sign_in, spec};
use crate::smtp::SmtpSink;

const STRONG: &str = "lamp orbit velvet cactus 42";
const STRONGER: &str = "quartz meadow lantern 97 fig";

/// A server that sends its mail to a test SMTP server, polling the queue every 50 ms.
pub(crate) async fn mail_app(
    adjust: impl FnOnce(&mut tessera::config::Settings),
) -> (TestApp, SmtpSink) {
    let smtp = SmtpSink::start().await;
    let url = smtp.url();
    let app = spawn_app_with(move |s| {
        s.mail.smtp_url = Some(url);
        s.mail.poll_interval_ms = 50;
        adjust(s);
    })
    .await;
    (app, smtp)
}

/// GETs `page` in `client` and POSTs `fields` to `action` with the page's CSRF token.
pub(crate) async fn submit(
    app: &TestApp,
    client: &reqwest::Client,
    page: &str,
    action: &str,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let html = client
        .get(app.url(page))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf =
        hidden_input(&html, "csrf_token").unwrap_or_else(|| panic!("a form on {page}: {html}"));
    let mut form = vec![("csrf_token", csrf.as_str())];
    form.extend_from_slice(fields);
    client
        .post(app.url(action))
        .form(&form)
        .send()
        .await
        .unwrap()
}

async fn sign_up(
    app: &TestApp,
    username: &str,
    email: &str,
    password: &str,
    query: &str,
) -> reqwest::Response {
    let mut fields = vec![
        ("username", username),
        ("email", email),
        ("password", password),
        ("confirmation", password),
    ];
    let interaction = query.strip_prefix("?interaction=").map(str::to_string);
    if let Some(id) = &interaction {
        fields.push(("interaction", id.as_str()));
    }
    submit(
        app,
        &app.http,
        &format!("/register{query}"),
        "/register",
        &fields,
    )
    .await
}

/// Confirms the address with the link of the newest verification mail to `email`.
async fn verify(app: &TestApp, smtp: &SmtpSink, email: &str, count: usize) -> reqwest::Response {
    let mail = smtp.wait_for(email, count).await.pop().unwrap();
    let token = mail
        .token(&app.address, "/verify-email")
        .expect("a verification link");
    let page = app.get(&format!("/verify-email?token={token}")).await;
    assert_eq!(page.status(), StatusCode::OK);
    submit(
        app,
        &app.http,
        &format!("/verify-email?token={token}"),
        "/verify-email",
        &[("token", &token)],
    )
    .await
}

#[tokio::test]
async fn sign_up_verify_and_sign_in() {
    let (app, smtp) = mail_app(|_| {}).await;
    let response = sign_up(&app, "carol", "carol@example.com", STRONG, "").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.text().await.unwrap().contains("Check your mail"));

    // Not yet: the password is right but the address is unconfirmed.
    let early = app.post_login("carol", STRONG, false, None).await;
    assert_eq!(early.status(), StatusCode::FORBIDDEN);
    assert!(early.text().await.unwrap().contains("Send the link again"));

    let mail = smtp.wait_for("carol@example.com", 1).await.remove(0);
    assert!(mail.subject().contains("Confirm"), "{}", mail.subject());
    assert!(mail.data.contains(&app.address));
    // A GET on the link changes nothing (mail scanners prefetch links).
    let token = mail.token(&app.address, "/verify-email").unwrap();
    app.get(&format!("/verify-email?token={token}")).await;
    let still = app.post_login("carol", STRONG, false, None).await;
    assert_eq!(still.status(), StatusCode::FORBIDDEN);

    let confirmed = verify(&app, &smtp, "carol@example.com", 1).await;
    assert_eq!(confirmed.status(), StatusCode::OK);
    let response = app.post_login("carol", STRONG, false, None).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    // A used link says so.
    let again = verify(&app, &smtp, "carol@example.com", 1).await;
    assert_eq!(again.status(), StatusCode::BAD_REQUEST);
    assert!(again.text().await.unwrap().contains("used already"));
    // The new user has the default roles and a verified address in the ID token.
    let rp = Rp::register(&app, spec("Sign-up App")).await;
    let (tokens, nonce) = sign_in(&app, &rp, &["email", "roles"], ("carol", STRONG)).await;
    let claims = rp.verify_id_token(&tokens, &nonce);
    assert_eq!(claims.email_verified(), Some(true));
    assert_eq!(claims.additional_claims().roles, vec!["user".to_string()]);
}

#[tokio::test]
async fn prompt_create_signs_up_and_returns_to_the_client() {
    let (app, smtp) = mail_app(|_| {}).await;
    assert!(
        app.discovery().await["prompt_values_supported"]
            .as_array()
            .unwrap()
            .contains(&"create".into())
    );
    let rp = Rp::register(&app, spec("Create App")).await;
    let pending = rp.authorize(&[], &[("prompt", "create")]);
    let response = app.get(pending.url.as_str()).await;
    let to = location(response.headers());
    let interaction = to
        .split("/register?interaction=")
        .nth(1)
        .unwrap_or_else(|| panic!("sign-up page expected, got {to}"))
        .to_string();
    let query = format!("?interaction={interaction}");
    assert_eq!(
        sign_up(&app, "dave", "dave@example.com", STRONG, &query)
            .await
            .status(),
        StatusCode::OK
    );
    // The request waits out the verification: a day later it is still there.
    app.clock.advance(3600);
    let confirmed = verify(&app, &smtp, "dave@example.com", 1).await;
    let page = confirmed.text().await.unwrap();
    assert!(
        page.contains(&interaction),
        "the way back into the request: {page}"
    );
    let signed = app
        .post_login("dave", STRONG, false, Some(&interaction))
        .await;
    assert_eq!(signed.status(), StatusCode::SEE_OTHER);
    let landing = browse(
        &app,
        &app.url(&location(signed.headers())),
        ("dave", STRONG),
        Consent::Approve,
    )
    .await;
    landing.assert_from(&app, &pending);
    let tokens = rp
        .exchange(&landing.code(), pending.verifier)
        .await
        .expect("tokens");
    assert!(tokens.id_token().is_some());
}

#[tokio::test]
async fn signing_up_with_a_known_address_answers_the_same_and_mails_the_owner() {
    let (app, smtp) = mail_app(|_| {}).await;
    let fresh = sign_up(&app, "erin", "erin@example.com", STRONG, "").await;
    let fresh_status = fresh.status();
    let fresh_body = fresh.text().await.unwrap();
    let taken = sign_up(&app, "erin2", "admin@tessera.local", STRONG, "").await;
    assert_eq!(taken.status(), fresh_status);
    let strip = |html: &str| html.replace(|c: char| c.is_whitespace(), "");
    let taken_body = taken.text().await.unwrap();
    let main = |html: &str| {
        strip(html)
            .split("<main")
            .nth(1)
            .unwrap_or_default()
            .split("</main>")
            .next()
            .unwrap_or_default()
            .to_string()
    };
    assert_eq!(main(&taken_body), main(&fresh_body), "the same page");
    let mail = smtp.wait_for("admin@tessera.local", 1).await.remove(0);
    assert!(
        mail.subject().contains("tried to sign up"),
        "{}",
        mail.subject()
    );
    assert!(mail.token(&app.address, "/reset-password").is_some());
    let (ok, out, _) = app.cli(&["user", "list", "--json"], None).await;
    assert!(ok && !out.contains("erin2"), "no second account: {out}");
}

#[tokio::test]
async fn weak_passwords_are_refused_with_a_reason() {
    let (app, _smtp) = mail_app(|_| {}).await;
    for (password, reason) in [
        ("short pass", "at least 15"),
        ("frank.example.99", "username"),
        ("passwordpassword", "guess"),
    ] {
        let response = sign_up(&app, "frank.example.99", "frank@example.com", password, "").await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{password}");
        let body = response.text().await.unwrap();
        assert!(body.contains(reason), "{password}: {body}");
    }
    let mismatch = submit(
        &app,
        &app.http,
        "/register",
        "/register",
        &[
            ("username", "frank"),
            ("email", "frank@example.com"),
            ("password", STRONG),
            ("confirmation", STRONGER),
        ],
    )
    .await;
    assert_eq!(mismatch.status(), StatusCode::BAD_REQUEST);
    let (_, out, _) = app.cli(&["user", "list", "--json"], None).await;
    assert!(!out.contains("frank"), "nothing saved: {out}");
}

#[tokio::test]
async fn a_reset_sets_a_new_password_and_ends_every_session_and_token() {
    let (app, smtp) = mail_app(|_| {}).await;
    app.create_user("gina", STRONG, &["user"]).await;
    let rp = Rp::register(&app, spec("Reset App")).await;
    let (tokens, _) = sign_in(&app, &rp, &["offline_access"], ("gina", STRONG)).await;

    let other = browser();
    let asked = submit(
        &app,
        &other,
        "/forgot-password",
        "/forgot-password",
        &[("login", "gina@example.com")],
    )
    .await;
    assert_eq!(asked.status(), StatusCode::OK);
    let unknown = submit(
        &app,
        &other,
        "/forgot-password",
        "/forgot-password",
        &[("login", "nobody@example.com")],
    )
    .await;
    assert_eq!(
        unknown.status(),
        StatusCode::OK,
        "the same answer for an unknown address"
    );
    let mail = smtp
        .wait_for_subject("gina@example.com", "Set a new password")
        .await;
    let token = mail
        .token(&app.address, "/reset-password")
        .expect("a reset link");
    // The GET shows a form and uses nothing.
    let form = other
        .get(app.url(&format!("/reset-password?token={token}")))
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), StatusCode::OK);
    let page = format!("/reset-password?token={token}");
    let weak = submit(
        &app,
        &other,
        &page,
        "/reset-password",
        &[
            ("token", &token),
            ("password", "short"),
            ("confirmation", "short"),
        ],
    )
    .await;
    assert_eq!(weak.status(), StatusCode::BAD_REQUEST);
    let done = submit(
        &app,
        &other,
        &page,
        "/reset-password",
        &[
            ("token", &token),
            ("password", STRONGER),
            ("confirmation", STRONGER),
        ],
    )
    .await;
    assert_eq!(done.status(), StatusCode::OK);

    assert!(
        app.get("/account").await.status().is_redirection(),
        "old session ended"
    );
    assert_eq!(
        rp.refresh(tokens.refresh_token().unwrap(), None)
            .await
            .unwrap_err(),
        "invalid_grant"
    );
    assert_eq!(
        app.post_login("gina", STRONG, false, None).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.post_login("gina", STRONGER, false, None).await.status(),
        StatusCode::SEE_OTHER
    );
    smtp.wait_for_subject("gina@example.com", "password was changed")
        .await;
    // Used once only.
    let reused = other.get(app.url(&page)).send().await.unwrap();
    assert_eq!(reused.status(), StatusCode::BAD_REQUEST);
    assert!(reused.text().await.unwrap().contains("used already"));
}

#[tokio::test]
async fn reset_links_expire_and_are_limited_per_address() {
    let (app, smtp) = mail_app(|_| {}).await;
    app.create_user("hank", STRONG, &["user"]).await;
    for _ in 0..5 {
        submit(
            &app,
            &app.http,
            "/forgot-password",
            "/forgot-password",
            &[("login", "hank")],
        )
        .await;
    }
    let mails = smtp.wait_for("hank@example.com", 3).await;
    // Give the sender a moment to show that no fourth message follows.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(
        smtp.to("hank@example.com").len(),
        3,
        "at most three links in 15 minutes"
    );
    let token = mails[2].token(&app.address, "/reset-password").unwrap();
    app.clock.advance(31 * 60);
    let expired = app.get(&format!("/reset-password?token={token}")).await;
    assert_eq!(expired.status(), StatusCode::BAD_REQUEST);
    assert!(expired.text().await.unwrap().contains("expired"));
    // An older link of the same account was retired by the newer one.
    let older = mails[0].token(&app.address, "/reset-password").unwrap();
    let retired = app.get(&format!("/reset-password?token={older}")).await;
    assert_eq!(retired.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn changing_the_password_keeps_this_session_and_ends_the_others() {
    let (app, _smtp) = mail_app(|_| {}).await;
    app.create_user("ivy", STRONG, &["user"]).await;
    let other = browser();
    let form = other
        .get(app.url("/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = hidden_input(&form, "csrf_token").unwrap();
    let signed = other
        .post(app.url("/login"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("username", "ivy"),
            ("password", STRONG),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(signed.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        app.post_login("ivy", STRONG, false, None).await.status(),
        StatusCode::SEE_OTHER
    );

    let wrong = submit(
        &app,
        &app.http,
        "/account/password",
        "/account/password",
        &[
            ("current_password", "not it at all 123"),
            ("password", STRONGER),
            ("confirmation", STRONGER),
        ],
    )
    .await;
    assert_eq!(wrong.status(), StatusCode::BAD_REQUEST);
    let changed = submit(
        &app,
        &app.http,
        "/account/password",
        "/account/password",
        &[
            ("current_password", STRONG),
            ("password", STRONGER),
            ("confirmation", STRONGER),
        ],
    )
    .await;
    assert_eq!(changed.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        app.get("/account").await.status(),
        StatusCode::OK,
        "this session stays"
    );
    let theirs = other.get(app.url("/account")).send().await.unwrap();
    assert!(theirs.status().is_redirection(), "the other session ended");
}

#[tokio::test]
async fn sessions_apps_profile_activity_and_deletion_from_the_account_pages() {
    let (app, smtp) = mail_app(|_| {}).await;
    app.create_user("jack", STRONG, &["user"]).await;
    let rp = Rp::register(&app, spec("Jack's App")).await;
    let (tokens, _) = sign_in(&app, &rp, &["offline_access"], ("jack", STRONG)).await;
    // A second session, from another browser, ended from this one.
    let other = browser();
    let form = other
        .get(app.url("/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = hidden_input(&form, "csrf_token").unwrap();
    other
        .post(app.url("/login"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("username", "jack"),
            ("password", STRONG),
        ])
        .send()
        .await
        .unwrap();
    let sessions = app.get("/account/sessions").await.text().await.unwrap();
    assert_eq!(
        sessions.matches("name=\"session\"").count(),
        1,
        "{sessions}"
    );
    let ended = submit(
        &app,
        &app.http,
        "/account/sessions",
        "/account/sessions/end",
        &[],
    )
    .await;
    assert_eq!(ended.status(), StatusCode::SEE_OTHER);
    assert!(
        other
            .get(app.url("/account"))
            .send()
            .await
            .unwrap()
            .status()
            .is_redirection()
    );

    // Revoking the app kills its refresh token.
    let apps = app.get("/account/apps").await.text().await.unwrap();
    assert!(
        apps.contains("Jack&#x27;s App") || apps.contains("Jack's App"),
        "{apps}"
    );
    let revoked = submit(
        &app,
        &app.http,
        "/account/apps",
        "/account/apps/revoke",
        &[("client_id", &rp.client_id)],
    )
    .await;
    assert_eq!(revoked.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        rp.refresh(tokens.refresh_token().unwrap(), None)
            .await
            .unwrap_err(),
        "invalid_grant"
    );

    // Profile, and an e-mail change confirmed through the new address.
    let saved = submit(
        &app,
        &app.http,
        "/account/profile",
        "/account/profile",
        &[
            ("name", "Jack Example"),
            ("locale", "en-GB"),
            ("time_zone", "Europe/London"),
        ],
    )
    .await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    let profile = app.get("/account/profile").await.text().await.unwrap();
    assert!(
        profile.contains("London") && profile.contains("en-GB"),
        "{profile}"
    );
    submit(
        &app,
        &app.http,
        "/account/profile",
        "/account/email",
        &[("email", "jack.new@example.com")],
    )
    .await;
    smtp.wait_for_subject("jack@example.com", "was requested")
        .await;
    let confirmed = verify(&app, &smtp, "jack.new@example.com", 1).await;
    assert_eq!(confirmed.status(), StatusCode::OK);
    smtp.wait_for_subject("jack@example.com", "was changed")
        .await;

    let activity = app.get("/account/activity").await.text().await.unwrap();
    assert!(
        activity.contains("Sign-in") && activity.contains("Email changed"),
        "{activity}"
    );

    let refused = submit(
        &app,
        &app.http,
        "/account/delete",
        "/account/delete",
        &[("password", "wrong password here")],
    )
    .await;
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    let deleted = submit(
        &app,
        &app.http,
        "/account/delete",
        "/account/delete",
        &[("password", STRONG)],
    )
    .await;
    assert_eq!(deleted.status(), StatusCode::OK);
    assert_eq!(
        app.post_login("jack", STRONG, false, None).await.status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn mail_waits_for_a_mail_server_that_is_down() {
    let (app, smtp) = mail_app(|s| {
        s.mail.retry_initial_secs = 1;
        s.mail.retry_max_secs = 4;
    })
    .await;
    app.create_user("kim", STRONG, &["user"]).await;
    smtp.stop();
    submit(
        &app,
        &app.http,
        "/forgot-password",
        "/forgot-password",
        &[("login", "kim")],
    )
    .await;
    // Attempts fail while the server is down; retries back off on the server's clock.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    app.clock.advance(2);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let smtp = smtp.restart().await;
    assert!(smtp.to("kim@example.com").is_empty());
    app.clock.advance(10);
    let mail = smtp.wait_for("kim@example.com", 1).await.remove(0);
    assert!(mail.subject().contains("new password"));
}

#[tokio::test]
async fn closed_and_invite_only_registration() {
    let (closed, _smtp) =
        mail_app(|s| s.registration.mode = tessera::config::RegistrationMode::Closed).await;
    assert_eq!(
        closed.get("/register").await.status(),
        StatusCode::FORBIDDEN
    );
    let login = closed.get("/login").await.text().await.unwrap();
    assert!(!login.contains("Create an account"));
    assert!(
        !closed.discovery().await["prompt_values_supported"]
            .as_array()
            .unwrap()
            .contains(&"create".into())
    );

    let (app, smtp) =
        mail_app(|s| s.registration.mode = tessera::config::RegistrationMode::Invite).await;
    assert_eq!(app.get("/register").await.status(), StatusCode::FORBIDDEN);
    let (ok, out, err) = app
        .cli(
            &[
                "user",
                "invite",
                "--email",
                "lena@example.com",
                "--role",
                "guest",
                "--json",
            ],
            None,
        )
        .await;
    assert!(ok, "{err}");
    let printed: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    let mail = smtp.wait_for("lena@example.com", 1).await.remove(0);
    let token = mail
        .token(&app.address, "/invitation")
        .expect("an invitation link");
    assert!(printed["link"].as_str().unwrap().ends_with(&token));
    let opened = app.get(&format!("/invitation?token={token}")).await;
    let register = location(opened.headers());
    let page = app.get(&register).await.text().await.unwrap();
    assert!(page.contains("lena@example.com") && page.contains("readonly"));
    let created = submit(
        &app,
        &app.http,
        &register,
        "/register",
        &[
            ("invitation", &token),
            ("username", "lena"),
            ("email", "someone.else@example.com"),
            ("password", STRONG),
            ("confirmation", STRONG),
        ],
    )
    .await;
    assert_eq!(
        created.status(),
        StatusCode::SEE_OTHER,
        "an invited account is ready at once"
    );
    assert_eq!(
        app.post_login("lena", STRONG, false, None).await.status(),
        StatusCode::SEE_OTHER
    );
    let (_, out, _) = app.cli(&["user", "list", "--json"], None).await;
    let users: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    let lena = users
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["username"] == "lena")
        .unwrap();
    assert_eq!(
        lena["email"], "lena@example.com",
        "the invitation fixes the address"
    );
    assert_eq!(lena["roles"], serde_json::json!(["guest"]));
    let reused = app.get(&format!("/register?invitation={token}")).await;
    assert_eq!(reused.status(), StatusCode::BAD_REQUEST);
}
