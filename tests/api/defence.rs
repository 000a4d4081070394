//! Sign-in defence through real HTTP, a real database and a real SMTP server: account locks
//! that spare the owner's known devices and say nothing about whether an account exists,
//! address throttling with `Retry-After`, the lock and new-device mails, "This wasn't me",
//! and floods that leave the cheap endpoints answering.

use reqwest::StatusCode;

use crate::accounts::{mail_app, submit};
use crate::helpers::{TestApp, browser, spawn_app_with};
use crate::rp::{Rp, sign_in, spec};

const STRONG: &str = "lamp orbit velvet cactus 42";

/// The text of the page's alert, which is what a person reads.
fn alert(html: &str) -> String {
    let start = html.find("role=\"alert\"").expect("an alert on the page");
    let start = start + html[start..].find('>').unwrap() + 1;
    let end = start + html[start..].find('<').unwrap();
    html[start..end].trim().to_string()
}

async fn try_password(
    app: &TestApp,
    client: &reqwest::Client,
    user: &str,
    password: &str,
) -> reqwest::Response {
    app.post_login_in(client, user, password, false, None).await
}

#[tokio::test]
async fn a_lock_stops_unknown_devices_but_not_the_owners() {
    let (app, smtp) = mail_app(|_| {}).await;
    app.create_user("carol", STRONG, &["user"]).await;
    let owner = browser();
    let first = try_password(&app, &owner, "carol", STRONG).await;
    assert_eq!(first.status(), StatusCode::SEE_OTHER);
    let notice = smtp.wait_for("carol@example.com", 1).await;
    assert!(
        notice[0].subject().contains("New sign-in"),
        "{}",
        notice[0].subject()
    );
    assert!(
        notice[0].token(&app.address, "/not-me").is_some(),
        "a This wasn't me link"
    );

    let attacker = browser();
    for _ in 0..5 {
        let reply = try_password(&app, &attacker, "carol", "wrong password guess").await;
        assert_eq!(reply.status(), StatusCode::UNAUTHORIZED);
    }
    // Locked: even the right password is refused from this device, before any check.
    let locked = try_password(&app, &attacker, "carol", STRONG).await;
    assert_eq!(locked.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: i64 = locked.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=900).contains(&retry), "Retry-After {retry}");
    let locked_text = alert(&locked.text().await.unwrap());
    assert!(locked_text.contains("reset your password"), "{locked_text}");

    // The owner is mailed once, with the attempts, the address and a reset link.
    let mails = smtp.wait_for("carol@example.com", 2).await;
    let lock_mail = &mails[1];
    assert!(
        lock_mail.subject().contains("locked"),
        "{}",
        lock_mail.subject()
    );
    assert!(
        lock_mail.data.contains("5 failed attempts"),
        "{}",
        lock_mail.data
    );
    assert!(lock_mail.data.contains("127.0.0.1"));
    assert!(lock_mail.token(&app.address, "/reset-password").is_some());

    // The owner's known device still signs in.
    let again = try_password(&app, &owner, "carol", STRONG).await;
    assert_eq!(
        again.status(),
        StatusCode::SEE_OTHER,
        "the owner is never locked out"
    );

    // An unknown username gets the very same answer after the same failures.
    for _ in 0..5 {
        try_password(&app, &attacker, "nobody-here", "wrong password guess").await;
    }
    let ghost = try_password(&app, &attacker, "nobody-here", STRONG).await;
    assert_eq!(ghost.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(alert(&ghost.text().await.unwrap()), locked_text);

    let locks = app.audit(&["--type", "account_locked"]).await;
    assert_eq!(locks.len(), 2, "{locks:?}");
    let refusals = app.audit(&["--type", "sign_in", "--user", "carol"]).await;
    assert!(
        refusals.iter().any(|e| e["details"]["reason"] == "locked"),
        "{refusals:?}"
    );
    assert_eq!(smtp.to("carol@example.com").len(), 2, "one mail per lock");

    // An admin lifts the lock.
    let (ok, stdout, _) = app.cli(&["user", "unlock", "carol"], None).await;
    assert!(ok && stdout.contains("unlocked carol"), "{stdout}");
    let after = try_password(&app, &attacker, "carol", STRONG).await;
    assert_eq!(after.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.audit(&["--type", "account_unlocked"]).await.len(), 1);
}

#[tokio::test]
async fn locks_end_on_time_and_the_next_lasts_twice_as_long() {
    let app = spawn_app_with(|s| s.lockout.duration_secs = 60).await;
    // Retry-After is read against the lock's end: real seconds passing between the requests
    // of a slow run must not count.
    app.clock.freeze();
    app.create_user("dan", STRONG, &["user"]).await;
    let attacker = browser();
    let lock = |expected: i64| {
        let app = &app;
        let attacker = &attacker;
        async move {
            for _ in 0..5 {
                try_password(app, attacker, "dan", "wrong password guess").await;
            }
            let reply = try_password(app, attacker, "dan", STRONG).await;
            assert_eq!(reply.status(), StatusCode::TOO_MANY_REQUESTS);
            let retry: i64 = reply.headers()["retry-after"]
                .to_str()
                .unwrap()
                .parse()
                .unwrap();
            assert!(
                retry <= expected && retry > expected - 5,
                "{retry} vs {expected}"
            );
        }
    };
    lock(60).await;
    app.clock.advance(61);
    lock(120).await;
    app.clock.advance(121);
    let reply = try_password(&app, &attacker, "dan", STRONG).await;
    assert_eq!(reply.status(), StatusCode::SEE_OTHER, "the lock ended");
}

#[tokio::test]
async fn one_address_failing_across_accounts_is_throttled_with_retry_after() {
    let app = spawn_app_with(|s| s.lockout.ip_threshold = 6).await;
    app.create_user("erin", STRONG, &["user"]).await;
    let sprayer = browser();
    for i in 0..6 {
        let reply = try_password(&app, &sprayer, &format!("user{i}"), "Winter2026!").await;
        assert_eq!(reply.status(), StatusCode::UNAUTHORIZED);
    }
    let throttled = try_password(&app, &sprayer, "erin", STRONG).await;
    assert_eq!(throttled.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: i64 = throttled.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=600).contains(&retry), "Retry-After {retry}");
    assert!(alert(&throttled.text().await.unwrap()).contains("your network"));
    // Another browser from the same address is throttled too.
    let other = try_password(&app, &browser(), "erin", STRONG).await;
    assert_eq!(other.status(), StatusCode::TOO_MANY_REQUESTS);
    let events = app.audit(&["--type", "sign_in"]).await;
    assert!(
        events
            .iter()
            .any(|e| e["details"]["reason"] == "ip_throttled")
    );
    app.clock.advance(retry + 1);
    let later = try_password(&app, &sprayer, "erin", STRONG).await;
    assert_eq!(later.status(), StatusCode::SEE_OTHER, "the throttle lifts");
}

#[tokio::test]
async fn this_wasnt_me_ends_sessions_revokes_tokens_and_starts_a_reset() {
    let (app, smtp) = mail_app(|_| {}).await;
    app.create_user("fay", STRONG, &["user"]).await;
    let rp = Rp::register(&app, spec("Notes")).await;
    let (tokens, _) = sign_in(&app, &rp, &["offline_access"], ("fay", STRONG)).await;
    use openidconnect::OAuth2TokenResponse;
    let refresh = tokens.refresh_token().expect("a refresh token").clone();
    let mail = smtp.wait_for("fay@example.com", 1).await;
    let link = mail[0]
        .link(&format!("{}/not-me?token=", app.address))
        .expect("link");

    let page = app.get(&link).await;
    assert_eq!(page.status(), StatusCode::OK, "GET only shows the page");
    assert_eq!(
        app.get("/account").await.status(),
        StatusCode::OK,
        "still signed in"
    );
    let path = link.strip_prefix(&app.address).unwrap();
    let token = path.split("token=").nth(1).unwrap();
    let done = submit(&app, &browser(), path, "/not-me", &[("token", token)]).await;
    assert_eq!(done.status(), StatusCode::OK);
    assert!(done.text().await.unwrap().contains("secured"));

    assert_eq!(
        app.get("/account").await.status(),
        StatusCode::SEE_OTHER,
        "signed out"
    );
    assert_eq!(
        rp.refresh(&refresh, None).await.unwrap_err(),
        "invalid_grant"
    );
    let old = try_password(&app, &browser(), "fay", STRONG).await;
    assert_eq!(
        old.status(),
        StatusCode::UNAUTHORIZED,
        "the old password is dead"
    );
    let mails = smtp.wait_for("fay@example.com", 2).await;
    assert!(mails[1].token(&app.address, "/reset-password").is_some());
    assert_eq!(app.audit(&["--type", "sign_in_disowned"]).await.len(), 1);

    let again = app.get(path).await;
    assert_eq!(again.status(), StatusCode::BAD_REQUEST, "single use");
    assert!(again.text().await.unwrap().contains("used already"));
}

#[tokio::test]
async fn a_guessing_flood_leaves_discovery_answering_and_never_fails_the_server() {
    let app = spawn_app_with(|_| {}).await;
    app.create_user("gus", STRONG, &["user"]).await;
    let flood = async {
        let mut statuses = Vec::new();
        for round in 0..10 {
            let batch = (0..30).map(|i| {
                let client = browser();
                let app = &app;
                async move {
                    let user = if i % 2 == 0 {
                        "gus".to_string()
                    } else {
                        format!("guess{round}{i}")
                    };
                    try_password(app, &client, &user, "not the password")
                        .await
                        .status()
                }
            });
            statuses.extend(futures::future::join_all(batch).await);
        }
        statuses
    };
    let probe = async {
        let mut answered = 0;
        for _ in 0..20 {
            let reply = app.get("/.well-known/openid-configuration").await;
            assert_eq!(reply.status(), StatusCode::OK);
            answered += 1;
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        answered
    };
    let (statuses, answered) = tokio::join!(flood, probe);
    assert_eq!(answered, 20);
    assert_eq!(statuses.len(), 300);
    assert!(
        statuses
            .iter()
            .all(|s| *s == StatusCode::UNAUTHORIZED || *s == StatusCode::TOO_MANY_REQUESTS),
        "{statuses:?}"
    );
    assert!(
        statuses.contains(&StatusCode::TOO_MANY_REQUESTS),
        "the flood was throttled"
    );
}

#[tokio::test]
async fn a_full_hashing_queue_answers_429_at_once() {
    let app = spawn_app_with(|s| {
        s.lockout.threshold = 0;
        s.lockout.ip_threshold = 0;
        s.password.max_concurrent = 1;
        s.password.max_queued = 0;
    })
    .await;
    let batch = (0..12).map(|i| {
        let app = &app;
        async move {
            let reply = try_password(app, &browser(), &format!("u{i}"), "not the password").await;
            (reply.status(), reply.headers().contains_key("retry-after"))
        }
    });
    let replies = futures::future::join_all(batch).await;
    assert!(
        replies
            .iter()
            .all(|(s, _)| *s == StatusCode::UNAUTHORIZED || *s == StatusCode::TOO_MANY_REQUESTS)
    );
    assert!(
        replies
            .iter()
            .any(|(s, retry)| *s == StatusCode::TOO_MANY_REQUESTS && *retry),
        "{replies:?}"
    );
}
