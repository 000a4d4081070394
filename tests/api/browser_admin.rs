//! The admin console in a real browser (headless Chromium; the console's pages carry no
//! script): sign in as the admin, walk every console page and make changes through its forms
//! with the confirmation step, with a screenshot of each page under
//! `test-output/browser/admin-*.png` (desktop and phone widths), the API reference included.

use crate::browser::{Shots, browser_or_skip, click, element, profile, start_browser, text};
use crate::browser_accounts::{type_into, wait_text};
use crate::helpers::{ADMIN_PASSWORD, spawn_app};

#[tokio::test]
async fn an_admin_walks_the_console_in_the_browser() {
    let Some((driver, chromium)) = browser_or_skip() else {
        return;
    };
    let app = spawn_app().await;
    for (name, roles) in [
        ("mallory", &["user"][..]),
        ("trent", &["user", "guest"][..]),
    ] {
        app.create_user(name, "lamp orbit velvet cactus 42", roles)
            .await;
    }
    let attacker = crate::helpers::browser();
    for _ in 0..6 {
        app.post_login_in(&attacker, "trent", "guessing wrong again", false, None)
            .await;
    }
    let profile = profile();
    let (_driver, browser) = start_browser(&driver, &chromium, profile.path()).await;
    let mut shots = Shots::with_prefix("admin-");

    browser.goto(&app.url("/admin")).await.unwrap();
    type_into(&browser, "#username", "admin").await;
    type_into(&browser, "#password", ADMIN_PASSWORD).await;
    // The sign-in lands on the account page; navigating before it has answered would cancel
    // the sign-in on a slow machine.
    click(&browser, "form button[type=submit]").await;
    element(&browser, "#account-title").await;
    browser.goto(&app.url("/admin/users")).await.unwrap();
    element(&browser, "#users").await;
    assert!(text(&browser, "#users").await.contains("mallory"));
    shots.take(&browser, "users").await;

    click(&browser, "#users a[href*='admin/users/']").await;
    element(&browser, "#roles-form").await;
    shots.take(&browser, "user").await;
    browser.goto(&app.url("/admin/users/new")).await.unwrap();
    element(&browser, "#new-user-form").await;
    shots.take(&browser, "user-new").await;

    browser.goto(&app.url("/admin/roles")).await.unwrap();
    type_into(&browser, "#name", "auditor").await;
    type_into(&browser, "#description", "Reads the audit log").await;
    click(&browser, "#new-entry button[type=submit]").await;
    wait_text(&browser, ".alert-success", "Created.").await;
    shots.take(&browser, "roles").await;
    click(&browser, "#delete-auditor").await;
    wait_text(&browser, ".alert-warning", "Delete the role auditor?").await;
    shots.take(&browser, "confirm").await;
    click(&browser, "#confirm").await;
    wait_text(&browser, ".alert-success", "Deleted.").await;

    browser.goto(&app.url("/admin/scopes")).await.unwrap();
    element(&browser, "#entries").await;
    shots.take(&browser, "scopes").await;
    browser.goto(&app.url("/admin/clients")).await.unwrap();
    element(&browser, "#clients").await;
    shots.take(&browser, "clients").await;
    browser.goto(&app.url("/admin/clients/new")).await.unwrap();
    type_into(&browser, "#name", "Reports").await;
    type_into(&browser, "#redirect_uris", "https://reports.example.com/cb").await;
    shots.take(&browser, "client-new").await;
    click(&browser, "#save-client").await;
    element(&browser, "#client-secret").await;
    assert_eq!(text(&browser, "#client-secret").await.len(), 43);
    shots.take(&browser, "client-secret").await;
    click(&browser, ".actions a.btn-primary").await;
    element(&browser, "#client-form").await;
    shots.take(&browser, "client").await;

    browser.goto(&app.url("/admin/keys")).await.unwrap();
    element(&browser, "#keys").await;
    shots.take(&browser, "keys").await;
    browser.goto(&app.url("/admin/audit")).await.unwrap();
    element(&browser, "svg.chart").await;
    assert!(
        text(&browser, "#events").await.contains("client_created"),
        "the console's own changes are in the log"
    );
    shots.take(&browser, "audit").await;

    browser.set_window_size(390, 844).await.unwrap();
    browser.goto(&app.url("/admin/audit")).await.unwrap();
    element(&browser, "svg.chart").await;
    shots.take(&browser, "audit-phone").await;
    browser.goto(&app.url("/admin/users")).await.unwrap();
    element(&browser, "#users").await;
    shots.take(&browser, "users-phone").await;
    browser.set_window_size(1280, 900).await.unwrap();

    browser.goto(&app.url("/admin/api/docs/")).await.unwrap();
    element(&browser, ".swagger-ui .info").await;
    shots.take(&browser, "api-docs").await;
    browser.close().await.unwrap();
}
