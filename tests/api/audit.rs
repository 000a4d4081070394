//! The audit log, read back through `tessera audit list --json`: each use case records its
//! event (success and failure) in its own transaction; identical failures from one address
//! within a minute share a row; a use case that fails part-way leaves nothing behind and is
//! still recorded.

use openidconnect::OAuth2TokenResponse;
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{ADMIN_PASSWORD, TestApp, spawn_app, spawn_app_with};
use crate::rp::{Rp, sign_in, spec};

const ADMIN: (&str, &str) = ("admin", ADMIN_PASSWORD);

/// Events of `kind` with `outcome`.
fn of<'a>(events: &'a [Value], kind: &str, outcome: &str) -> Vec<&'a Value> {
    events
        .iter()
        .filter(|e| e["type"] == kind && e["outcome"] == outcome)
        .collect()
}

#[tokio::test]
async fn a_sign_in_flow_is_recorded_with_who_what_and_where() {
    let app = spawn_app().await;
    let rp = Rp::register(&app, spec("Audited App")).await;
    let (tokens, _) = sign_in(&app, &rp, &["offline_access"], ADMIN).await;
    let events = app.audit(&[]).await;

    let sign_in = of(&events, "sign_in", "success");
    assert_eq!(sign_in.len(), 1, "{events:#?}");
    let e = sign_in[0];
    assert_eq!(e["user"]["username"], "admin");
    assert_eq!(e["actor"]["kind"], "user");
    assert_eq!(e["ip"], "127.0.0.1");
    assert!(e.get("user_agent").is_some(), "{e}");
    assert_eq!(e["details"]["amr"], serde_json::json!(["pwd"]));
    assert!(e["time"].as_str().unwrap().ends_with('Z'));

    let consent = of(&events, "consent_granted", "success");
    assert_eq!(consent[0]["client_id"], rp.client_id.as_str());
    let redeemed = of(&events, "code_redeemed", "success");
    assert_eq!(redeemed.len(), 1);
    assert_eq!(redeemed[0]["actor"]["kind"], "client");
    assert_eq!(redeemed[0]["user"]["username"], "admin");

    // Successful refreshes are counted by metrics, not written row by row.
    rp.refresh(tokens.refresh_token().unwrap(), None)
        .await
        .expect("refresh");
    let after = app.audit(&[]).await;
    assert_eq!(after.len(), events.len(), "a refresh writes no audit row");

    // Newest first, and the filters work.
    let only = app
        .audit(&["--type", "sign_in", "--user", "admin", "--since", "1h"])
        .await;
    assert!(only.iter().all(|e| e["type"] == "sign_in"));
    assert!(!only.is_empty());
    let limited = app.audit(&["--limit", "1"]).await;
    assert_eq!(limited.len(), 1);
    assert_eq!(limited[0]["type"], events[0]["type"]);
}

#[tokio::test]
async fn failed_sign_ins_are_recorded_with_what_was_typed_and_floods_share_a_row() {
    // Without account locks, so every attempt reaches the password check.
    let app = spawn_app_with(|s| s.lockout.threshold = 0).await;
    // Identical failures share a row within one calendar minute: a slow run must not cross one.
    app.clock.freeze();
    for _ in 0..5 {
        let response = app.post_login("admin", "wrong password", false, None).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    app.post_login("nobody", "whatever pass", false, None).await;
    let forged = "eve\nINFO signed in user_id=admin";
    app.post_login(forged, "whatever pass", false, None).await;

    let events = app.audit(&["--type", "sign_in"]).await;
    let failures = of(&events, "sign_in", "failure");
    let wrong: Vec<_> = failures
        .iter()
        .filter(|e| e["details"]["reason"] == "wrong_password")
        .collect();
    assert_eq!(
        wrong.len(),
        1,
        "five identical failures share a row: {failures:#?}"
    );
    assert_eq!(wrong[0]["count"], 5);
    assert_eq!(wrong[0]["username"], "admin");
    assert_eq!(wrong[0]["actor"]["kind"], "anonymous");
    let unknown: Vec<_> = failures
        .iter()
        .filter(|e| e["details"]["reason"] == "unknown_user")
        .collect();
    assert_eq!(unknown.len(), 2);
    assert!(unknown.iter().any(|e| e["username"] == "nobody"));
    // Control characters from clients are stored escaped, never as a new line.
    let escaped = unknown
        .iter()
        .find(|e| e["username"] != "nobody")
        .expect("the forged username");
    let text = escaped["username"].as_str().unwrap();
    assert!(!text.contains('\n'), "{text:?}");
    assert!(text.contains("\\n"), "{text:?}");

    // A minute later the same failure starts a new row.
    app.clock.advance(61);
    app.post_login("admin", "wrong password", false, None).await;
    let events = app.audit(&["--type", "sign_in"]).await;
    let wrong = of(&events, "sign_in", "failure")
        .into_iter()
        .filter(|e| e["details"]["reason"] == "wrong_password")
        .count();
    assert_eq!(wrong, 2);
}

#[tokio::test]
async fn token_endpoint_failures_and_code_reuse_are_recorded() {
    let app = spawn_app().await;
    let rp = Rp::register(&app, spec("Reuse App")).await;
    let (code, pending) = rp.code(&app, &[], ADMIN).await;
    let verifier = pending.verifier.secret().clone();
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", crate::rp::REDIRECT_URI),
        ("code_verifier", verifier.as_str()),
    ];
    assert_eq!(rp.token(&app, &form).await.status, StatusCode::OK);
    let again = rp.token(&app, &form).await;
    again.assert_error(StatusCode::BAD_REQUEST, "invalid_grant");
    let wrong_secret = app
        .post_form(
            "/token",
            Some((rp.client_id.as_str(), "not the secret")),
            &[("grant_type", "client_credentials")],
        )
        .await;
    wrong_secret.assert_error(StatusCode::UNAUTHORIZED, "invalid_client");

    let events = app.audit(&[]).await;
    let reuse = of(&events, "code_redeemed", "failure");
    assert_eq!(reuse.len(), 1, "{events:#?}");
    assert_eq!(reuse[0]["details"]["reason"], "code_reused");
    let auth = of(&events, "client_auth_failed", "failure");
    assert_eq!(auth.len(), 1);
    assert_eq!(auth[0]["client_id"], rp.client_id.as_str());
    assert_eq!(auth[0]["details"]["reason"], "wrong_secret");
}

#[tokio::test]
async fn admin_changes_from_the_cli_are_recorded_with_the_cli_as_actor() {
    let app = spawn_app().await;
    let (ok, _, err) = app
        .cli(
            &[
                "user",
                "add",
                "--username",
                "carol",
                "--email",
                "carol@example.com",
                "--password-stdin",
            ],
            Some("carol's long password 1\n"),
        )
        .await;
    assert!(ok, "{err}");
    let (ok, _, err) = app
        .cli(
            &["user", "set-password", "carol", "--password-stdin"],
            Some("a new long password 2\n"),
        )
        .await;
    assert!(ok, "{err}");
    let (ok, _, err) = app
        .cli(
            &[
                "client",
                "add",
                "--name",
                "Audit Client",
                "--redirect-uri",
                "https://app.example/cb",
            ],
            None,
        )
        .await;
    assert!(ok, "{err}");
    let (ok, _, err) = app.cli(&["keys", "rotate", "--alg", "ES256"], None).await;
    assert!(ok, "{err}");
    let (ok, _, _) = app.cli(&["user", "disable", "nobody-here"], None).await;
    assert!(!ok, "an unknown user is an error");

    let events = app.audit(&[]).await;
    for kind in [
        "user_created",
        "password_set",
        "client_created",
        "key_rotated",
    ] {
        let found = of(&events, kind, "success");
        // The newest is this test's; the first start created the admin and example app too.
        assert!(!found.is_empty(), "{kind}: {events:#?}");
        assert_eq!(found[0]["actor"]["kind"], "cli", "{kind}");
    }
    assert_eq!(
        of(&events, "user_created", "success")[0]["user"]["username"],
        "carol"
    );
    assert_eq!(
        of(&events, "password_set", "success")[0]["user"]["username"],
        "carol"
    );
    let failed = of(&events, "user_disabled", "failure");
    assert_eq!(failed.len(), 1, "{events:#?}");
}

/// Installs a trigger that fails every insert of the role `explode` into `user_roles`, so a
/// use case fails after its first write.
async fn inject_role_insert_failure(app: &TestApp) {
    use sqlx::Connection;
    if app.database_url.starts_with("sqlite") {
        let mut conn = sqlx::SqliteConnection::connect(&app.database_url)
            .await
            .unwrap();
        sqlx::query(
            "CREATE TRIGGER explode BEFORE INSERT ON user_roles WHEN NEW.role_name = 'explode' \
             BEGIN SELECT RAISE(ABORT, 'injected failure'); END",
        )
        .execute(&mut conn)
        .await
        .unwrap();
    } else {
        let mut conn = sqlx::PgConnection::connect(&app.database_url)
            .await
            .unwrap();
        sqlx::raw_sql(
            "CREATE FUNCTION explode() RETURNS trigger AS $$ BEGIN \
               IF NEW.role_name = 'explode' THEN RAISE EXCEPTION 'injected failure'; END IF; \
               RETURN NEW; END $$ LANGUAGE plpgsql; \
             CREATE TRIGGER explode BEFORE INSERT ON user_roles FOR EACH ROW EXECUTE FUNCTION explode();",
        )
        .execute(&mut conn)
        .await
        .unwrap();
    }
}

#[tokio::test]
async fn a_use_case_that_fails_after_its_first_write_leaves_nothing_and_is_recorded() {
    let app = spawn_app().await;
    let (ok, _, err) = app.cli(&["role", "add", "explode"], None).await;
    assert!(ok, "{err}");
    inject_role_insert_failure(&app).await;

    // The user row is written first, then the role insert fails: all of it rolls back.
    let (ok, _, _) = app
        .cli(
            &[
                "user",
                "add",
                "--username",
                "zed",
                "--email",
                "zed@example.com",
                "--role",
                "explode",
            ],
            None,
        )
        .await;
    assert!(!ok, "the injected failure surfaces");
    let (ok, out, _) = app.cli(&["user", "list", "--json"], None).await;
    assert!(ok);
    let users: Value = serde_json::from_str(out.trim()).unwrap();
    assert!(
        users
            .as_array()
            .unwrap()
            .iter()
            .all(|u| u["username"] != "zed"),
        "no half-created user: {users}"
    );
    // Nor does the username stay taken.
    let (ok, _, err) = app
        .cli(
            &[
                "user",
                "add",
                "--username",
                "zed",
                "--email",
                "zed@example.com",
                "--role",
                "user",
            ],
            None,
        )
        .await;
    assert!(ok, "{err}");

    let events = app.audit(&["--type", "user_created"]).await;
    assert_eq!(
        of(&events, "user_created", "failure").len(),
        1,
        "{events:#?}"
    );
    assert_eq!(
        of(&events, "user_created", "success").len(),
        2,
        "admin and zed"
    );
}

/// A failed sign-in sent with `X-Forwarded-For`; returns the IP the audit log recorded.
async fn recorded_ip(app: &TestApp) -> String {
    let page = app.get("/login").await.text().await.unwrap();
    let csrf = crate::helpers::hidden_input(&page, "csrf_token").unwrap();
    app.http
        .post(app.url("/login"))
        .header("x-forwarded-for", "198.51.100.23, 203.0.113.7")
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("username", "admin"),
            ("password", "not the password"),
        ])
        .send()
        .await
        .unwrap();
    let events = app.audit(&["--type", "sign_in"]).await;
    of(&events, "sign_in", "failure")[0]["ip"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn the_client_ip_comes_from_x_forwarded_for_only_behind_a_trusted_proxy() {
    let direct = crate::helpers::spawn_app().await;
    assert_eq!(
        recorded_ip(&direct).await,
        "127.0.0.1",
        "the header is ignored"
    );
    let proxied =
        crate::helpers::spawn_app_with(|s| s.trusted_proxies = vec!["127.0.0.0/8".into()]).await;
    assert_eq!(
        recorded_ip(&proxied).await,
        "203.0.113.7",
        "the right-most address the proxy did not add itself"
    );
}
