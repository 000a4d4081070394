//! Two-factor authentication in a real browser (headless Chromium): set up TOTP from the QR
//! page, keep the recovery codes, and sign in again with a code, with screenshots under
//! `test-output/browser/two-factor-*.png`.

use crate::browser::{Shots, browser_or_skip, click, element, start_browser, text};
use crate::browser_accounts::{type_into, wait_text};
use crate::helpers::spawn_app_with;
use crate::two_factor::totp;

const PASSWORD: &str = "lamp orbit velvet cactus 42";

#[tokio::test]
async fn a_person_sets_up_totp_and_signs_in_with_a_code_in_the_browser() {
    let Some((driver, chromium)) = browser_or_skip() else {
        return;
    };
    let app = spawn_app_with(|_| {}).await;
    app.create_user("olga", PASSWORD, &["user"]).await;
    let profile = crate::browser::profile();
    let (_driver, browser) = start_browser(&driver, &chromium, profile.path()).await;
    let mut shots = Shots::with_prefix("two-factor-");

    browser.goto(&app.url("/login")).await.unwrap();
    type_into(&browser, "#username", "olga").await;
    type_into(&browser, "#password", PASSWORD).await;
    click(&browser, "form button[type=submit]").await;
    wait_text(&browser, "main", "olga@example.com").await;

    browser.goto(&app.url("/account/security")).await.unwrap();
    element(&browser, "#totp-qr svg").await;
    shots.take(&browser, "setup-qr").await;
    let secret = text(&browser, "#totp-secret").await;
    type_into(&browser, "#code", "000000").await;
    click(&browser, "form button[type=submit]").await;
    wait_text(&browser, "[role=alert]", "not right").await;
    shots.take(&browser, "setup-wrong-code").await;
    type_into(&browser, "#code", &totp(&secret, app.clock_now())).await;
    click(&browser, "form button[type=submit]").await;
    wait_text(&browser, "#recovery-codes", "-").await;
    shots.take(&browser, "recovery-codes").await;
    let codes = text(&browser, "#recovery-codes").await;
    assert_eq!(
        codes.lines().filter(|l| l.trim().len() == 11).count(),
        10,
        "{codes}"
    );
    click(&browser, "#continue").await;
    wait_text(&browser, "#codes-left", "10").await;
    shots.take(&browser, "enabled").await;

    // Signed out: the password now leads to the code page.
    browser.delete_all_cookies().await.unwrap();
    app.clock.advance(30);
    browser.goto(&app.url("/login")).await.unwrap();
    type_into(&browser, "#username", "olga").await;
    type_into(&browser, "#password", PASSWORD).await;
    click(&browser, "form button[type=submit]").await;
    wait_text(&browser, "h1", "Two-factor authentication").await;
    shots.take(&browser, "code").await;
    type_into(&browser, "#code", "123456").await;
    click(&browser, "form button[type=submit]").await;
    wait_text(&browser, "[role=alert]", "tries left").await;
    shots.take(&browser, "code-wrong").await;
    type_into(&browser, "#code", &totp(&secret, app.clock_now())).await;
    click(&browser, "form button[type=submit]").await;
    wait_text(&browser, "main", "olga@example.com").await;
    shots.take(&browser, "signed-in").await;
}
