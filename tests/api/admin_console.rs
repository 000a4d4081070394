//! The admin console's pages through real HTTP: for admins only (a 403 page for others, the
//! login page for signed-out visitors); users, roles, scopes, clients, keys and the audit log,
//! each change's effect and its audit event with the admin as actor; confirmation before
//! destructive changes; CSRF on every form.

use reqwest::StatusCode;
use serde_json::Value;
use tessera::services::audit::AuditQuery;

use crate::helpers::{TestApp, hidden_input, location, spawn_app};

const PASSWORD: &str = "lamp orbit velvet cactus 42";

/// Posts a console form with the CSRF token of the page at `page`.
async fn submit(
    app: &TestApp,
    page: &str,
    action: &str,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let html = app.get(page).await.text().await.unwrap();
    let token = hidden_input(&html, "csrf_token").expect("a CSRF token on the page");
    let mut form: Vec<(&str, &str)> = vec![("csrf_token", &token)];
    form.extend_from_slice(fields);
    app.http
        .post(app.url(action))
        .form(&form)
        .send()
        .await
        .expect("POST")
}

/// The newest audit events of `kind`, newest first.
async fn events(app: &TestApp, kind: &str, limit: i64) -> Vec<Value> {
    let events = app
        .state
        .services
        .list_audit_events(AuditQuery {
            kind: Some(kind.into()),
            limit,
            ..AuditQuery::default()
        })
        .await
        .unwrap();
    events
        .iter()
        .map(|e| serde_json::to_value(e).unwrap())
        .collect()
}

/// The newest audit event of `kind`.
async fn last_event(app: &TestApp, kind: &str) -> Value {
    events(app, kind, 1).await.remove(0)
}

/// The admin's user id.
async fn admin_id(app: &TestApp) -> String {
    app.state.services.user("admin").await.unwrap().id
}

async fn assert_by_admin(app: &TestApp, kind: &str) -> Value {
    let event = last_event(app, kind).await;
    assert_eq!(event["outcome"], "success", "{event}");
    assert_eq!(event["actor"]["kind"], "admin", "{event}");
    assert_eq!(
        event["actor"]["id"],
        admin_id(app).await.as_str(),
        "{event}"
    );
    event
}

#[tokio::test]
async fn only_admins_see_the_console() {
    let app = spawn_app().await;
    let signed_out = app.get("/admin").await;
    assert_eq!(signed_out.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(signed_out.headers()), "/login");

    let admin = admin_id(&app).await;
    app.create_user("pat", PASSWORD, &["user"]).await;
    app.post_login("pat", PASSWORD, false, None).await;
    for page in [
        "/admin/users".to_string(),
        "/admin/users/new".into(),
        format!("/admin/users/{admin}"),
        "/admin/roles".into(),
        "/admin/scopes".into(),
        "/admin/clients".into(),
        "/admin/clients/example-app".into(),
        "/admin/keys".into(),
        "/admin/audit".into(),
    ] {
        let refused = app.get(&page).await;
        assert_eq!(refused.status(), StatusCode::FORBIDDEN, "{page}");
        assert!(
            refused.text().await.unwrap().contains("admin role"),
            "{page}"
        );
    }
    let refused = submit(
        &app,
        "/account",
        &format!("/admin/users/{admin}/delete"),
        &[("confirmed", "yes")],
    )
    .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert!(app.state.services.user("admin").await.is_ok());
}

#[tokio::test]
async fn an_admin_lists_searches_and_pages_through_users() {
    let app = spawn_app().await;
    for n in 0..55 {
        app.create_user(&format!("user{n:02}"), PASSWORD, &["user"])
            .await;
    }
    app.login_admin().await;
    let home = app.get("/admin").await;
    assert_eq!(location(home.headers()), "/admin/users");
    let first = app.get("/admin/users").await;
    assert_eq!(first.status(), StatusCode::OK);
    let page = first.text().await.unwrap();
    assert!(page.contains(">admin</a></td>"), "{page}");
    assert!(page.contains("id=\"next-page\""));
    let next = page
        .split("id=\"next-page\" href=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .replace("&#x2f;", "/")
        .replace("&amp;", "&");
    let second = app.get(&next).await.text().await.unwrap();
    assert!(second.contains(">user54</a></td>"), "{second}");
    assert!(!second.contains("id=\"next-page\""));

    let found = app.get("/admin/users?q=USER07").await.text().await.unwrap();
    assert!(found.contains(">user07</a></td>"));
    assert!(!found.contains(">user08</a></td>"));
    let none = app
        .get("/admin/users?q=nobody-like-this")
        .await
        .text()
        .await
        .unwrap();
    assert!(none.contains("No user matches."));
    let wildcard = app.get("/admin/users?q=%25").await.text().await.unwrap();
    assert!(
        wildcard.contains("No user matches."),
        "% is matched literally"
    );
    let by_name = app
        .get("/admin/users?q=07+EXAM")
        .await
        .text()
        .await
        .unwrap();
    assert!(by_name.contains(">user07</a></td>"), "{by_name}");
    let by_mail = app
        .get("/admin/users?q=user08%40example")
        .await
        .text()
        .await
        .unwrap();
    assert!(by_mail.contains(">user08</a></td>") && !by_mail.contains(">user07</a></td>"));
}

#[tokio::test]
async fn an_admin_creates_changes_and_deletes_a_user() {
    let app = spawn_app().await;
    app.login_admin().await;

    let refused = submit(
        &app,
        "/admin/users/new",
        "/admin/users/new",
        &[
            ("username", "nora"),
            ("email", "not-an-address"),
            ("password", PASSWORD),
        ],
    )
    .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = refused.text().await.unwrap();
    assert!(page.contains("alert-error"), "{page}");
    assert!(
        page.contains("value=\"nora\""),
        "what was typed is kept: {page}"
    );

    let created = submit(
        &app,
        "/admin/users/new",
        "/admin/users/new",
        &[
            ("username", "nora"),
            ("email", "nora@example.com"),
            ("name", "Nora North"),
            ("password", PASSWORD),
            ("role:user", "on"),
        ],
    )
    .await;
    assert_eq!(created.status(), StatusCode::SEE_OTHER);
    let nora = app.state.services.user("nora").await.unwrap();
    assert_eq!(nora.roles, vec!["user"]);
    assert_eq!(
        location(created.headers()),
        format!("/admin/users/{}?done=created", nora.id)
    );
    assert_by_admin(&app, "user_created").await;
    let detail = app
        .get(&format!("/admin/users/{}?done=created", nora.id))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        detail.contains("Nora North") && detail.contains("Created."),
        "{detail}"
    );
    assert!(detail.contains("user_created"), "recent events: {detail}");

    let invited = submit(
        &app,
        "/admin/users/new",
        "/admin/users/new",
        &[
            ("username", "otto"),
            ("email", "otto@example.com"),
            ("role:guest", "on"),
        ],
    )
    .await;
    assert!(location(invited.headers()).ends_with("?done=invited"));
    assert_eq!(
        app.state.services.user("otto").await.unwrap().roles,
        vec!["guest"]
    );

    let page = format!("/admin/users/{}", nora.id);
    let roles = submit(
        &app,
        &page,
        &format!("{page}/roles"),
        &[("role:user", "on"), ("role:guest", "on")],
    )
    .await;
    assert_eq!(location(roles.headers()), format!("{page}?done=saved"));
    assert_eq!(
        app.state.services.user("nora").await.unwrap().roles,
        vec!["guest", "user"]
    );
    assert_by_admin(&app, "roles_set").await;

    let unknown = submit(
        &app,
        &page,
        &format!("{page}/roles"),
        &[("role:wizard", "on")],
    )
    .await;
    assert_eq!(unknown.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(unknown.text().await.unwrap().contains("wizard"));

    let asked = submit(&app, &page, &format!("{page}/disable"), &[]).await;
    assert_eq!(asked.status(), StatusCode::OK);
    let question = asked.text().await.unwrap();
    assert!(
        question.contains("Switch off the account nora?"),
        "{question}"
    );
    assert!(question.contains("name=\"confirmed\" value=\"yes\""));
    assert!(
        app.state.services.user("nora").await.unwrap().enabled,
        "not before confirming"
    );
    let disabled = submit(
        &app,
        &page,
        &format!("{page}/disable"),
        &[("confirmed", "yes")],
    )
    .await;
    assert_eq!(
        location(disabled.headers()),
        format!("{page}?done=disabled")
    );
    assert!(!app.state.services.user("nora").await.unwrap().enabled);
    assert_by_admin(&app, "user_disabled").await;
    submit(&app, &page, &format!("{page}/enable"), &[]).await;
    assert!(app.state.services.user("nora").await.unwrap().enabled);

    let mail = submit(&app, &page, &format!("{page}/password-reset"), &[]).await;
    assert_eq!(location(mail.headers()), format!("{page}?done=reset-mail"));
    assert_eq!(
        last_event(&app, "password_reset_requested").await["outcome"],
        "success"
    );

    let nonsense = submit(&app, &page, &format!("{page}/promote"), &[]).await;
    assert_eq!(nonsense.status(), StatusCode::NOT_FOUND);

    let deleted = submit(
        &app,
        &page,
        &format!("{page}/delete"),
        &[("confirmed", "yes")],
    )
    .await;
    assert_eq!(location(deleted.headers()), "/admin/users?done=deleted");
    assert!(app.state.services.user("nora").await.is_err());
    assert_by_admin(&app, "user_deleted").await;
    assert_eq!(app.get(&page).await.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn an_admin_ends_sessions_and_takes_back_access() {
    let app = spawn_app().await;
    let id = app.create_user("sam", PASSWORD, &["user"]).await;
    let sam = crate::helpers::browser();
    app.post_login_in(&sam, "sam", PASSWORD, false, None).await;
    assert_eq!(
        sam.get(app.url("/account")).send().await.unwrap().status(),
        StatusCode::OK
    );
    app.login_admin().await;
    let page = format!("/admin/users/{id}");
    let detail = app.get(&page).await.text().await.unwrap();
    let session = hidden_input(&detail, "session").expect("sam's session is listed");
    let ended = submit(
        &app,
        &page,
        &format!("{page}/sessions"),
        &[("session", &session), ("confirmed", "yes")],
    )
    .await;
    assert_eq!(location(ended.headers()), format!("{page}?done=sessions"));
    let signed_out = sam.get(app.url("/account")).send().await.unwrap();
    assert_eq!(
        signed_out.status(),
        StatusCode::SEE_OTHER,
        "sam's session is over"
    );
    assert_by_admin(&app, "session_ended").await;
}

#[tokio::test]
async fn an_admin_revokes_an_apps_access_unlocks_and_removes_a_second_factor() {
    let app = spawn_app().await;
    let id = app.create_user("sam", PASSWORD, &["user"]).await;
    let rp = crate::rp::Rp::register(&app, crate::rp::spec("Reports")).await;
    crate::rp::sign_in(&app, &rp, &["profile"], ("sam", PASSWORD)).await;
    let services = &app.state.services;
    assert_eq!(services.apps_of(&id).await.unwrap().len(), 1);
    let own = crate::helpers::browser();
    app.post_login_in(&own, "sam", PASSWORD, false, None).await;
    crate::two_factor::enrol(&app, &own).await;
    app.login_admin().await;
    let page = format!("/admin/users/{id}");
    let detail = app.get(&page).await.text().await.unwrap();
    assert!(detail.contains("Reports"), "the granted app is listed");

    let asked = submit(
        &app,
        &page,
        &format!("{page}/grant"),
        &[("client_id", &rp.client_id)],
    )
    .await;
    let question = asked.text().await.unwrap();
    assert!(question.contains("Take an application"), "{question}");
    assert_eq!(
        hidden_input(&question, "client_id").as_deref(),
        Some(rp.client_id.as_str()),
        "carried to the confirmation"
    );
    let revoked = submit(
        &app,
        &page,
        &format!("{page}/grant"),
        &[("client_id", &rp.client_id), ("confirmed", "yes")],
    )
    .await;
    assert_eq!(location(revoked.headers()), format!("{page}?done=grants"));
    assert!(services.apps_of(&id).await.unwrap().is_empty());
    assert_by_admin(&app, "consent_revoked").await;

    let unlocked = submit(&app, &page, &format!("{page}/unlock"), &[]).await;
    assert_eq!(
        location(unlocked.headers()),
        format!("{page}?done=unlocked")
    );
    assert_by_admin(&app, "account_unlocked").await;

    assert!(detail.contains("authenticator app") && detail.contains("id=\"second-factor\""));
    let removed = submit(
        &app,
        &page,
        &format!("{page}/second-factor"),
        &[("confirmed", "yes")],
    )
    .await;
    assert_eq!(
        location(removed.headers()),
        format!("{page}?done=second-factor")
    );
    assert!(!services.has_totp(&id).await.unwrap());
    assert_by_admin(&app, "mfa_reset").await;
}

#[tokio::test]
async fn roles_and_scopes_are_added_counted_and_deleted() {
    let app = spawn_app().await;
    app.login_admin().await;
    let added = submit(
        &app,
        "/admin/roles",
        "/admin/roles",
        &[("name", "auditor"), ("description", "Reads the audit log")],
    )
    .await;
    assert_eq!(location(added.headers()), "/admin/roles?done=created");
    assert_by_admin(&app, "role_created").await;
    app.create_user("ada", PASSWORD, &["auditor"]).await;
    let listed = app.get("/admin/roles").await.text().await.unwrap();
    let row = listed.split("<td>auditor").nth(1).unwrap();
    assert!(
        row.contains("Reads the audit log") && row.contains("<td>1</td>"),
        "{row}"
    );
    assert!(
        !listed.contains("id=\"delete-user\""),
        "built-in roles have no delete button"
    );

    let taken = submit(&app, "/admin/roles", "/admin/roles", &[("name", "auditor")]).await;
    assert_eq!(taken.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(taken.text().await.unwrap().contains("already exists"));
    let builtin = submit(
        &app,
        "/admin/roles",
        "/admin/roles/user/delete",
        &[("confirmed", "yes")],
    )
    .await;
    assert_eq!(builtin.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        app.state
            .services
            .user("admin")
            .await
            .unwrap()
            .roles
            .contains(&"user".to_string())
    );

    let asked = submit(&app, "/admin/roles", "/admin/roles/auditor/delete", &[]).await;
    assert!(
        asked
            .text()
            .await
            .unwrap()
            .contains("Delete the role auditor?")
    );
    let deleted = submit(
        &app,
        "/admin/roles",
        "/admin/roles/auditor/delete",
        &[("confirmed", "yes")],
    )
    .await;
    assert_eq!(location(deleted.headers()), "/admin/roles?done=deleted");
    assert!(
        app.state
            .services
            .user("ada")
            .await
            .unwrap()
            .roles
            .is_empty()
    );
    assert_by_admin(&app, "role_deleted").await;

    let scope = submit(
        &app,
        "/admin/scopes",
        "/admin/scopes",
        &[
            ("name", "reports:read"),
            ("description", "Read your reports"),
        ],
    )
    .await;
    assert_eq!(location(scope.headers()), "/admin/scopes?done=created");
    let listed = app.get("/admin/scopes").await.text().await.unwrap();
    assert!(listed.contains("Read your reports"));
    let builtin = submit(
        &app,
        "/admin/scopes",
        "/admin/scopes/openid/delete",
        &[("confirmed", "yes")],
    )
    .await;
    assert_eq!(builtin.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let gone = submit(
        &app,
        "/admin/scopes",
        "/admin/scopes/reports:read/delete",
        &[("confirmed", "yes")],
    )
    .await;
    assert_eq!(location(gone.headers()), "/admin/scopes?done=deleted");
    assert_by_admin(&app, "scope_deleted").await;
}

/// The secret a "shown once" page shows.
fn shown_secret(html: &str) -> String {
    html.split("id=\"client-secret\">")
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .expect("a secret on the page")
        .to_string()
}

async fn client_credentials(app: &TestApp, secret: &str) -> StatusCode {
    app.http
        .post(app.url("/token"))
        .basic_auth("reports", Some(secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test]
async fn an_admin_registers_edits_rotates_and_deletes_a_client() {
    let app = spawn_app().await;
    app.login_admin().await;
    let refused = submit(
        &app,
        "/admin/clients/new",
        "/admin/clients/new",
        &[("name", "Reports"), ("grant:authorization_code", "on")],
    )
    .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.text().await.unwrap().contains("redirect URI"));
    let wildcard = submit(
        &app,
        "/admin/clients/new",
        "/admin/clients/new",
        &[
            ("name", "Reports"),
            ("redirect_uris", "https://*.example.com/cb"),
        ],
    )
    .await;
    assert_eq!(wildcard.status(), StatusCode::UNPROCESSABLE_ENTITY);

    let created = submit(
        &app,
        "/admin/clients/new",
        "/admin/clients/new",
        &[
            ("client_id", "reports"),
            ("name", "Reports"),
            ("grant:client_credentials", "on"),
            ("scope:openid", "on"),
            ("role:user", "on"),
            ("id_token_alg", "ES256"),
        ],
    )
    .await;
    assert_eq!(created.status(), StatusCode::OK);
    assert_eq!(created.headers()["cache-control"], "no-store");
    let secret = shown_secret(&created.text().await.unwrap());
    assert_eq!(client_credentials(&app, &secret).await, StatusCode::OK);
    assert_by_admin(&app, "client_created").await;
    let client = app.state.services.client("reports").await.unwrap();
    assert_eq!(client.roles, vec!["user"]);
    assert_eq!(client.id_token_alg.as_str(), "ES256");

    let listed = app.get("/admin/clients").await.text().await.unwrap();
    assert!(
        listed.contains("href=\"&#x2f;admin&#x2f;clients&#x2f;reports\""),
        "{listed}"
    );
    let form = app
        .get("/admin/clients/reports")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        form.contains("name=\"grant:client_credentials\" checked"),
        "{form}"
    );

    let saved = submit(
        &app,
        "/admin/clients/reports",
        "/admin/clients/reports",
        &[
            ("name", "Quarterly reports"),
            ("grant:client_credentials", "on"),
            (
                "redirect_uris",
                "https://reports.example.com/cb\nhttps://reports.example.com/other",
            ),
            ("require_dpop", "on"),
        ],
    )
    .await;
    assert_eq!(
        location(saved.headers()),
        "/admin/clients/reports?done=saved"
    );
    let client = app.state.services.client("reports").await.unwrap();
    assert_eq!(client.name, "Quarterly reports");
    assert_eq!(client.redirect_uris.len(), 2);
    assert!(
        client.require_dpop && !client.enabled,
        "the unticked box switched it off"
    );
    assert!(client.roles.is_empty(), "unticked roles are removed");
    assert_by_admin(&app, "client_updated").await;
    let updates = events(&app, "client_updated", 2).await;
    assert!(
        updates
            .iter()
            .any(|e| e["details"]["name"] == "Quarterly reports"),
        "{updates:?}"
    );
    assert_ne!(client_credentials(&app, &secret).await, StatusCode::OK);

    let switched_on = submit(
        &app,
        "/admin/clients/reports",
        "/admin/clients/reports",
        &[
            ("name", "Quarterly reports"),
            ("grant:client_credentials", "on"),
            ("enabled", "on"),
        ],
    )
    .await;
    assert_eq!(switched_on.status(), StatusCode::SEE_OTHER);
    assert!(app.state.services.client("reports").await.unwrap().enabled);
    assert_eq!(client_credentials(&app, &secret).await, StatusCode::OK);

    let asked = submit(
        &app,
        "/admin/clients/reports",
        "/admin/clients/reports/secret",
        &[],
    )
    .await;
    assert!(
        asked
            .text()
            .await
            .unwrap()
            .contains("Replace the secret of Quarterly reports?")
    );
    assert_eq!(
        client_credentials(&app, &secret).await,
        StatusCode::OK,
        "not before confirming"
    );
    let rotated = submit(
        &app,
        "/admin/clients/reports",
        "/admin/clients/reports/secret",
        &[("confirmed", "yes")],
    )
    .await;
    let new_secret = shown_secret(&rotated.text().await.unwrap());
    assert_ne!(client_credentials(&app, &secret).await, StatusCode::OK);
    assert_eq!(client_credentials(&app, &new_secret).await, StatusCode::OK);
    assert_by_admin(&app, "client_secret_rotated").await;

    let deleted = submit(
        &app,
        "/admin/clients/reports",
        "/admin/clients/reports/delete",
        &[("confirmed", "yes")],
    )
    .await;
    assert_eq!(location(deleted.headers()), "/admin/clients?done=deleted");
    assert!(app.state.services.client("reports").await.is_err());
    assert_by_admin(&app, "client_deleted").await;
}

#[tokio::test]
async fn an_admin_rotates_keys_and_reads_the_audit_log_with_its_chart() {
    let app = spawn_app().await;
    // The chart's bars are hours: the three failures must not straddle two.
    app.clock.freeze();
    app.create_user("eve", PASSWORD, &["user"]).await;
    let stranger = crate::helpers::browser();
    for _ in 0..3 {
        app.post_login_in(&stranger, "eve", "not her password at all", false, None)
            .await;
    }
    app.login_admin().await;

    let keys = app.state.services.keys().list().len();
    let listed = app.get("/admin/keys").await.text().await.unwrap();
    assert!(
        listed.contains("ES256") && listed.contains("active"),
        "{listed}"
    );
    let rotated = submit(
        &app,
        "/admin/keys",
        "/admin/keys/rotate",
        &[("confirmed", "yes")],
    )
    .await;
    assert_eq!(location(rotated.headers()), "/admin/keys?done=rotated");
    assert_eq!(app.state.services.keys().list().len(), keys + 3);
    assert_by_admin(&app, "key_rotated").await;

    let audit = app.get("/admin/audit").await;
    assert_eq!(audit.status(), StatusCode::OK);
    let page = audit.text().await.unwrap();
    assert!(page.contains("<svg class=\"chart\""), "{page}");
    assert!(
        page.contains("1 succeeded, 3 failed"),
        "the chart counts sign-ins: {page}"
    );
    assert!(page.contains("3 failed sign-ins"));

    let failures = app
        .get("/admin/audit?type=sign_in&outcome=failure")
        .await
        .text()
        .await
        .unwrap();
    let table = failures.split("id=\"events\"").nth(1).unwrap();
    assert!(
        table.contains("sign_in") && table.contains("eve"),
        "{table}"
    );
    assert!(!table.contains(">success<"), "{table}");
    let by_user = app
        .get("/admin/audit?user=admin")
        .await
        .text()
        .await
        .unwrap();
    let table = by_user.split("id=\"events\"").nth(1).unwrap();
    assert!(
        table.contains("user_created") && !table.contains(">eve<"),
        "{table}"
    );

    let bad_date = app.get("/admin/audit?since=last-week").await;
    assert_eq!(bad_date.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad_date.text().await.unwrap().contains("2026-12-07"));
    let empty = app
        .get("/admin/audit?since=2000-01-01&until=2000-01-02")
        .await;
    assert!(empty.text().await.unwrap().contains("No event."));
}

#[tokio::test]
async fn console_forms_need_the_csrf_token_and_the_same_site() {
    let app = spawn_app().await;
    app.login_admin().await;
    app.get("/admin/roles").await;
    let without = app
        .http
        .post(app.url("/admin/roles"))
        .form(&[("name", "forged")])
        .send()
        .await
        .unwrap();
    assert_eq!(without.status(), StatusCode::FORBIDDEN);
    let html = app.get("/admin/roles").await.text().await.unwrap();
    let token = hidden_input(&html, "csrf_token").unwrap();
    let cross_site = app
        .http
        .post(app.url("/admin/roles"))
        .header("Origin", "https://evil.example")
        .form(&[("csrf_token", token.as_str()), ("name", "forged")])
        .send()
        .await
        .unwrap();
    assert_eq!(cross_site.status(), StatusCode::FORBIDDEN);
    let roles = app.state.services.list_roles().await.unwrap();
    assert!(roles.iter().all(|r| r.name != "forged"));
}

#[tokio::test]
async fn the_api_reference_is_served_from_the_binary() {
    let app = spawn_app().await;
    let docs = app.get("/admin/api/docs/").await;
    assert_eq!(docs.status(), StatusCode::OK);
    let html = docs.text().await.unwrap();
    assert!(html.contains("swagger-ui"), "{html}");
    assert!(!html.contains("https://"), "no outside assets: {html}");
    let init = app
        .get("/admin/api/docs/swagger-initializer.js")
        .await
        .text()
        .await
        .unwrap();
    assert!(init.contains("/admin/api/v1/openapi.json"), "{init}");
    let bundle = app.get("/admin/api/docs/swagger-ui-bundle.js").await;
    assert_eq!(bundle.status(), StatusCode::OK);
}

#[tokio::test]
async fn odd_names_keys_and_cursors_do_not_break_the_console() {
    let app = spawn_app().await;
    app.login_admin().await;
    // A scope name with characters that mean something in a path.
    let added = submit(
        &app,
        "/admin/scopes",
        "/admin/scopes",
        &[("name", "reports/read?x#1%"), ("description", "Odd")],
    )
    .await;
    assert_eq!(added.status(), StatusCode::SEE_OTHER);
    let page = app.get("/admin/scopes").await.text().await.unwrap();
    let action = page
        .split("<form method=\"post\" action=\"")
        .find(|part| part.starts_with("&#x2f;admin&#x2f;scopes&#x2f;reports"))
        .and_then(|part| part.split('"').next())
        .expect("a delete form for the odd scope")
        .replace("&#x2f;", "/")
        .replace("&amp;", "&");
    assert!(
        action.contains("%2F") && action.contains("%3F") && action.contains("%23"),
        "{action}"
    );
    let deleted = submit(&app, "/admin/scopes", &action, &[("confirmed", "yes")]).await;
    assert_eq!(location(deleted.headers()), "/admin/scopes?done=deleted");
    let left = app.state.services.list_scopes().await.unwrap();
    assert!(left.iter().all(|s| s.name != "reports/read?x#1%"));

    // A NUL in a path names nothing, on every database.
    for path in [
        "/admin/users/%00",
        "/admin/clients/a%00b",
        "/admin/api/v1/users/%00",
    ] {
        assert_eq!(
            app.get(path).await.status(),
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }

    // A cursor that is not ours starts from the newest event.
    let audit = app.get("/admin/audit?cursor=not-a-cursor").await;
    assert_eq!(audit.status(), StatusCode::OK);
    assert!(audit.text().await.unwrap().contains("sign_in"));

    // A client with keys saved from the form keeps its keys and gets no secret.
    let key = serde_json::json!({ "keys": [{
        "kty": "EC", "crv": "P-256", "kid": "k1",
        "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
        "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0",
    }]});
    app.state
        .services
        .register_client(
            &tessera::services::Caller::cli(),
            tessera::services::clients::ClientSpec {
                client_id: Some("signer".into()),
                name: "Signer".into(),
                grant_types: vec!["client_credentials".into()],
                options: tessera::services::clients::ClientOptions {
                    jwks: Some(key.to_string()),
                    ..Default::default()
                },
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let form = app.get("/admin/clients/signer").await.text().await.unwrap();
    assert!(
        form.contains("id=\"current-jwks\""),
        "the keys are shown, not re-sent"
    );
    assert!(
        !form.contains("id=\"rotate-secret\""),
        "no secret to replace"
    );
    let saved = submit(
        &app,
        "/admin/clients/signer",
        "/admin/clients/signer",
        &[
            ("name", "Signer 2"),
            ("grant:client_credentials", "on"),
            ("enabled", "on"),
        ],
    )
    .await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    let client = app.state.services.client("signer").await.unwrap();
    assert_eq!(client.name, "Signer 2");
    assert!(client.jwks.is_some() && client.secret_hash.is_none());
    let forged = submit(
        &app,
        "/admin/clients/signer",
        "/admin/clients/signer/secret",
        &[("confirmed", "yes")],
    )
    .await;
    assert_eq!(
        forged.status(),
        StatusCode::NOT_FOUND,
        "a client with keys gets no secret"
    );
    assert!(
        app.state
            .services
            .client("signer")
            .await
            .unwrap()
            .secret_hash
            .is_none()
    );
}
