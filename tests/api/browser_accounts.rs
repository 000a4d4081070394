//! Self-service accounts in a real browser (headless Chromium): sign up, confirm the address
//! from the mail, sign in, walk every account page, and reset a forgotten password, with a
//! screenshot of each page under `test-output/browser/accounts-*.png`.

use crate::browser::{Shots, browser_or_skip, click, element, start_browser, text};
use crate::helpers::spawn_app_with;
use crate::smtp::SmtpSink;

const PASSWORD: &str = "lamp orbit velvet cactus 42";
const NEW_PASSWORD: &str = "quartz meadow lantern 97 fig";

/// Waits until the element `css` names shows `needle` (a click's navigation may still be
/// under way when the old page's element is found).
pub(crate) async fn wait_text(browser: &fantoccini::Client, css: &str, needle: &str) {
    let mut last = String::new();
    for _ in 0..300 {
        last = text(browser, css).await;
        if last.contains(needle) {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("{css} never showed {needle:?}; last: {last}");
}

pub(crate) async fn type_into(browser: &fantoccini::Client, css: &str, value: &str) {
    element(browser, css)
        .await
        .send_keys(value)
        .await
        .expect("typing");
}

#[tokio::test]
async fn a_person_signs_up_and_manages_their_account_in_the_browser() {
    let Some((driver, chromium)) = browser_or_skip() else {
        return;
    };
    let smtp = SmtpSink::start().await;
    let url = smtp.url();
    let app = spawn_app_with(move |s| {
        s.mail.smtp_url = Some(url);
        s.mail.poll_interval_ms = 50;
    })
    .await;
    let profile = crate::browser::profile();
    let (_driver, browser) = start_browser(&driver, &chromium, profile.path()).await;
    let mut shots = Shots::with_prefix("accounts-");

    browser.goto(&app.url("/login")).await.unwrap();
    click(&browser, "a[href^='/register']").await;
    type_into(&browser, "#username", "nora").await;
    type_into(&browser, "#email", "nora@example.com").await;
    type_into(&browser, "#name", "Nora Example").await;
    type_into(&browser, "#password", PASSWORD).await;
    type_into(&browser, "#confirmation", PASSWORD).await;
    shots.take(&browser, "register").await;
    click(&browser, "form button[type=submit]").await;
    wait_text(&browser, "h1", "Check your mail").await;
    shots.take(&browser, "check-your-mail").await;

    let mail = smtp.wait_for("nora@example.com", 1).await.remove(0);
    let token = mail.token(&app.address, "/verify-email").unwrap();
    browser
        .goto(&app.url(&format!("/verify-email?token={token}")))
        .await
        .unwrap();
    shots.take(&browser, "verify-email").await;
    click(&browser, "form button[type=submit]").await;
    wait_text(&browser, "h1", "confirmed").await;
    shots.take(&browser, "email-confirmed").await;

    click(&browser, "a.btn").await;
    type_into(&browser, "#username", "nora").await;
    type_into(&browser, "#password", PASSWORD).await;
    click(&browser, "form button[type=submit]").await;
    wait_text(&browser, "main", "nora@example.com").await;
    shots.take(&browser, "account").await;

    for (path, name) in [
        ("/account/profile", "profile"),
        ("/account/password", "password"),
        ("/account/sessions", "sessions"),
        ("/account/apps", "apps"),
        ("/account/activity", "activity"),
        ("/account/delete", "delete"),
    ] {
        browser.goto(&app.url(path)).await.unwrap();
        element(&browser, "nav.account-nav").await;
        shots.take(&browser, name).await;
    }
    wait_text(&browser, "main", "Delete my account").await;
    browser.goto(&app.url("/account/activity")).await.unwrap();
    wait_text(&browser, "table", "Sign-in").await;

    browser.goto(&app.url("/account/password")).await.unwrap();
    type_into(&browser, "#current_password", PASSWORD).await;
    type_into(&browser, "#password", NEW_PASSWORD).await;
    type_into(&browser, "#confirmation", NEW_PASSWORD).await;
    click(&browser, "form button[type=submit]").await;
    wait_text(&browser, "[role=status]", "password is changed").await;
    shots.take(&browser, "password-changed").await;

    // Signed out, the password forgotten: reset it through the mailed link.
    browser.delete_all_cookies().await.unwrap();
    browser.goto(&app.url("/login")).await.unwrap();
    click(&browser, "a[href='/forgot-password']").await;
    type_into(&browser, "#login", "nora@example.com").await;
    shots.take(&browser, "forgot-password").await;
    click(&browser, "form button[type=submit]").await;
    wait_text(&browser, "h1", "Check your mail").await;
    let reset = smtp
        .wait_for_subject("nora@example.com", "Set a new password")
        .await;
    let token = reset.token(&app.address, "/reset-password").unwrap();
    browser
        .goto(&app.url(&format!("/reset-password?token={token}")))
        .await
        .unwrap();
    type_into(&browser, "#password", PASSWORD).await;
    type_into(&browser, "#confirmation", PASSWORD).await;
    shots.take(&browser, "reset-password").await;
    click(&browser, "form button[type=submit]").await;
    wait_text(&browser, "main", "password is set").await;
    shots.take(&browser, "password-set").await;

    browser.close().await.unwrap();
}
