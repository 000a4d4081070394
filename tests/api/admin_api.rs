//! The admin REST API: who may call it (scope, role, token kind), JSON resources for users
//! and roles with problem documents for errors, the audit trail, and the OpenAPI document.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{ADMIN_PASSWORD, JsonReply, TestApp, spawn_app};
use crate::rp::{self, Rp};

const API: &str = "/admin/api/v1";

/// A `client_credentials` token of a client registered with `scopes` and `roles`.
async fn client_token(app: &TestApp, scopes: &[&str], roles: &[&str]) -> String {
    let mut spec = rp::spec("Ops Robot");
    spec.grant_types = vec!["client_credentials".into()];
    spec.redirect_uris = Vec::new();
    spec.scopes = scopes.iter().map(|s| s.to_string()).collect();
    spec.roles = roles.iter().map(|r| r.to_string()).collect();
    let rp = Rp::register(app, spec).await;
    let token = rp.token(app, &[("grant_type", "client_credentials")]).await;
    assert_eq!(token.status, StatusCode::OK, "{:?}", token.body);
    token.body["access_token"].as_str().unwrap().to_string()
}

async fn call(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> JsonReply {
    let mut request = app.http.request(method, app.url(&format!("{API}{path}")));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    JsonReply::read(request.send().await.unwrap()).await
}

#[tokio::test]
async fn an_admin_client_manages_users_and_roles() {
    let app = spawn_app().await;
    let token = client_token(&app, &["tessera:admin"], &["admin"]).await;
    let get = |path: &'static str| call(&app, reqwest::Method::GET, path, Some(&token), None);

    let users = get("/users").await;
    assert_eq!(users.status, StatusCode::OK, "{:?}", users.body);
    assert!(
        users.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u["username"] == "admin")
    );

    let created = call(
        &app,
        reqwest::Method::POST,
        "/users",
        Some(&token),
        Some(json!({ "username": "pia", "email": "pia@example.com", "password": "lamp orbit velvet cactus 42" })),
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    let id = created.body["id"].as_str().unwrap().to_string();
    assert_eq!(
        created.header("location"),
        Some(format!("{API}/users/{id}").as_str())
    );
    assert_eq!(created.body["roles"], json!(["user"]), "default roles");

    let again = call(
        &app,
        reqwest::Method::POST,
        "/users",
        Some(&token),
        Some(json!({ "username": "pia", "email": "pia2@example.com", "password": "lamp orbit velvet cactus 42" })),
    )
    .await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert_eq!(
        again.header("content-type"),
        Some("application/problem+json")
    );
    assert_eq!(again.body["field"], "username");
    let invalid = call(
        &app,
        reqwest::Method::POST,
        "/users",
        Some(&token),
        Some(json!({ "username": "quinn", "email": "not-an-address", "password": "lamp orbit velvet cactus 42" })),
    )
    .await;
    assert_eq!(invalid.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(invalid.body["field"], "email");
    let unknown = call(
        &app,
        reqwest::Method::POST,
        "/users",
        Some(&token),
        Some(json!({ "username": "quinn", "email": "q@example.com", "admin": true })),
    )
    .await;
    assert_eq!(
        unknown.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "unknown fields are refused"
    );

    let invited = call(
        &app,
        reqwest::Method::POST,
        "/users",
        Some(&token),
        Some(json!({ "username": "rosa", "email": "rosa@example.com", "roles": ["guest"] })),
    )
    .await;
    assert_eq!(
        invited.status,
        StatusCode::CREATED,
        "without a password: {:?}",
        invited.body
    );

    let roles = call(
        &app,
        reqwest::Method::PUT,
        &format!("/users/{id}/roles"),
        Some(&token),
        Some(json!(["user", "admin"])),
    )
    .await;
    assert_eq!(roles.body, json!(["admin", "user"]));
    let one = call(
        &app,
        reqwest::Method::GET,
        &format!("/users/{id}"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(one.body["roles"], json!(["admin", "user"]));

    let role = call(
        &app,
        reqwest::Method::POST,
        "/roles",
        Some(&token),
        Some(json!({ "name": "auditor", "description": "Reads the audit log" })),
    )
    .await;
    assert_eq!(role.status, StatusCode::CREATED, "{:?}", role.body);
    assert_eq!(
        role.header("location"),
        Some(format!("{API}/roles/auditor").as_str())
    );
    let listed = get("/roles").await;
    assert!(
        listed
            .body
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["name"] == "auditor")
    );
    let builtin = call(
        &app,
        reqwest::Method::DELETE,
        "/roles/user",
        Some(&token),
        None,
    )
    .await;
    assert!(builtin.status.is_client_error(), "built-in roles stay");
    let deleted = call(
        &app,
        reqwest::Method::DELETE,
        "/roles/auditor",
        Some(&token),
        None,
    )
    .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    let gone = call(
        &app,
        reqwest::Method::DELETE,
        &format!("/users/{id}"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(gone.status, StatusCode::NO_CONTENT);
    let missing = call(
        &app,
        reqwest::Method::GET,
        &format!("/users/{id}"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);

    let audit = app.audit(&["--type", "user_created"]).await;
    assert!(
        audit.iter().any(|e| e["actor"]["kind"] == "client"),
        "the API's changes are audited with the client as actor: {audit:?}"
    );
}

#[tokio::test]
async fn scopes_and_keys() {
    let app = spawn_app().await;
    let token = client_token(&app, &["tessera:admin"], &["admin"]).await;
    let scope = call(
        &app,
        reqwest::Method::POST,
        "/scopes",
        Some(&token),
        Some(json!({ "name": "invoices:read", "description": "Read your invoices" })),
    )
    .await;
    assert_eq!(scope.status, StatusCode::CREATED, "{:?}", scope.body);
    let scopes = call(&app, reqwest::Method::GET, "/scopes", Some(&token), None).await;
    let listed = scopes.body.as_array().unwrap();
    assert!(
        listed
            .iter()
            .any(|s| s["name"] == "invoices:read" && s["builtin"] == false)
    );
    assert!(
        listed
            .iter()
            .any(|s| s["name"] == "tessera:admin" && s["builtin"] == true)
    );
    let builtin = call(
        &app,
        reqwest::Method::DELETE,
        "/scopes/openid",
        Some(&token),
        None,
    )
    .await;
    assert!(builtin.status.is_client_error());
    let gone = call(
        &app,
        reqwest::Method::DELETE,
        "/scopes/invoices:read",
        Some(&token),
        None,
    )
    .await;
    assert_eq!(gone.status, StatusCode::NO_CONTENT);

    let keys = call(&app, reqwest::Method::GET, "/keys", Some(&token), None).await;
    let before = keys.body.as_array().unwrap().len();
    assert!(before >= 3);
    let rotated = call(&app, reqwest::Method::POST, "/keys", Some(&token), None).await;
    assert_eq!(rotated.status, StatusCode::CREATED, "{:?}", rotated.body);
    assert_eq!(rotated.body["created"].as_array().unwrap().len(), 3);
    let audit = app.audit(&["--type", "key_rotated"]).await;
    assert_eq!(audit.len(), 1);
}

#[tokio::test]
async fn clients_have_the_fields_of_the_cli() {
    let app = spawn_app().await;
    let token = client_token(&app, &["tessera:admin"], &["admin"]).await;
    let created = call(
        &app,
        reqwest::Method::POST,
        "/clients",
        Some(&token),
        Some(json!({
            "client_id": "billing",
            "name": "Billing",
            "redirect_uris": ["https://billing.example/cb"],
            "scopes": ["openid", "profile"],
            "require_par": true,
            "resources": ["https://api.billing.example/"],
        })),
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    assert_eq!(
        created.header("location"),
        Some(format!("{API}/clients/billing").as_str())
    );
    let secret = created.body["client_secret"].as_str().unwrap().to_string();
    assert_eq!(created.body["client"]["require_par"], true);
    let (ok, out, _) = app
        .cli(&["client", "show", "billing", "--json"], None)
        .await;
    assert!(ok);
    let from_cli: Value = serde_json::from_str(&out).unwrap();
    let from_api = call(
        &app,
        reqwest::Method::GET,
        "/clients/billing",
        Some(&token),
        None,
    )
    .await;
    assert_eq!(
        from_api.body, from_cli,
        "the CLI and the API show the same fields"
    );

    let wildcard = call(
        &app,
        reqwest::Method::POST,
        "/clients",
        Some(&token),
        Some(json!({ "name": "Bad", "redirect_uris": ["https://*.example/cb"] })),
    )
    .await;
    assert_eq!(wildcard.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(wildcard.body["field"], "redirect_uris");

    let patched = call(
        &app,
        reqwest::Method::PATCH,
        "/clients/billing",
        Some(&token),
        Some(json!({
            "enabled": false, "introspect_any": true, "name": "Billing 2",
            "scopes": ["openid"], "skip_consent": true, "id_token_alg": "EdDSA",
        })),
    )
    .await;
    assert_eq!(patched.status, StatusCode::OK, "{:?}", patched.body);
    assert_eq!(patched.body["enabled"], false);
    assert_eq!(patched.body["introspect_any"], true);
    assert_eq!(patched.body["name"], "Billing 2");
    assert_eq!(patched.body["scopes"], json!(["openid"]));
    assert_eq!(patched.body["skip_consent"], true);
    assert_eq!(patched.body["id_token_alg"], "EdDSA");
    let unknown_scope = call(
        &app,
        reqwest::Method::PATCH,
        "/clients/billing",
        Some(&token),
        Some(json!({ "scopes": ["launch-codes"] })),
    )
    .await;
    assert_eq!(unknown_scope.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(unknown_scope.body["field"], "scopes");
    app.post_form("/introspect", Some(("billing", &secret)), &[("token", "x")])
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "invalid_client");

    let rotated = call(
        &app,
        reqwest::Method::POST,
        "/clients/billing/secret",
        Some(&token),
        None,
    )
    .await;
    assert_eq!(rotated.status, StatusCode::OK);
    assert_ne!(rotated.body["client_secret"], secret.as_str());
    let deleted = call(
        &app,
        reqwest::Method::DELETE,
        "/clients/billing",
        Some(&token),
        None,
    )
    .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    let listed = call(&app, reqwest::Method::GET, "/clients", Some(&token), None).await;
    assert!(
        !listed
            .body
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["client_id"] == "billing")
    );
}

#[tokio::test]
async fn an_admin_ends_a_users_sessions_and_takes_back_an_apps_access() {
    let app = spawn_app().await;
    let token = client_token(&app, &["tessera:admin"], &["admin"]).await;
    app.create_user("vic", "lamp orbit velvet cactus 42", &["user"])
        .await;
    let rp = Rp::register(&app, rp::spec("Vic's App")).await;
    let (tokens, _) = rp::sign_in(
        &app,
        &rp,
        &["profile"],
        ("vic", "lamp orbit velvet cactus 42"),
    )
    .await;
    let at = openidconnect::OAuth2TokenResponse::access_token(&tokens)
        .secret()
        .clone();

    let sessions = call(
        &app,
        reqwest::Method::GET,
        "/users/vic/sessions",
        Some(&token),
        None,
    )
    .await;
    assert_eq!(
        sessions.body.as_array().unwrap().len(),
        1,
        "{:?}",
        sessions.body
    );
    let grants = call(
        &app,
        reqwest::Method::GET,
        "/users/vic/grants",
        Some(&token),
        None,
    )
    .await;
    assert_eq!(grants.body[0]["client_id"], rp.client_id.as_str());

    let revoked = call(
        &app,
        reqwest::Method::DELETE,
        &format!("/users/vic/grants/{}", rp.client_id),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(revoked.status, StatusCode::NO_CONTENT);
    assert_eq!(
        app.userinfo(&at).await.status,
        StatusCode::UNAUTHORIZED,
        "the app's token stops working"
    );

    let unknown = call(
        &app,
        reqwest::Method::DELETE,
        "/users/vic/sessions/nope",
        Some(&token),
        None,
    )
    .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    let ended = call(
        &app,
        reqwest::Method::DELETE,
        "/users/vic/sessions",
        Some(&token),
        None,
    )
    .await;
    assert_eq!(ended.status, StatusCode::NO_CONTENT);
    let none = call(
        &app,
        reqwest::Method::GET,
        "/users/vic/sessions",
        Some(&token),
        None,
    )
    .await;
    assert_eq!(none.body, json!([]));
    let audit = app.audit(&["--type", "session_ended"]).await;
    assert_eq!(audit[0]["actor"]["kind"], "client");
}

#[tokio::test]
async fn the_audit_log_is_filtered_and_paged() {
    let app = spawn_app().await;
    let token = client_token(&app, &["tessera:admin"], &["admin"]).await;
    for name in ["wes", "xia", "yan"] {
        app.create_user(name, "lamp orbit velvet cactus 42", &["user"])
            .await;
    }
    let bad = app
        .post_login("wes", "not the password at all", false, None)
        .await;
    assert!(bad.status().is_client_error());
    let created = call(
        &app,
        reqwest::Method::GET,
        "/audit-events?type=user_created&limit=2",
        Some(&token),
        None,
    )
    .await;
    assert_eq!(created.status, StatusCode::OK, "{:?}", created.body);
    let first: Vec<&Value> = created.body["items"].as_array().unwrap().iter().collect();
    assert_eq!(first.len(), 2);
    let cursor = created.body["next_cursor"].as_str().unwrap().to_string();
    let rest = call(
        &app,
        reqwest::Method::GET,
        &format!("/audit-events?type=user_created&limit=2&cursor={cursor}"),
        Some(&token),
        None,
    )
    .await;
    let names: Vec<String> = first
        .into_iter()
        .chain(rest.body["items"].as_array().unwrap().iter())
        .filter_map(|e| e["user"]["username"].as_str().map(str::to_string))
        .collect();
    for name in ["wes", "xia", "yan", "admin"] {
        assert!(names.iter().any(|n| n == name), "{name} in {names:?}");
    }
    let failures = call(
        &app,
        reqwest::Method::GET,
        "/audit-events?type=sign_in&outcome=failure",
        Some(&token),
        None,
    )
    .await;
    assert_eq!(failures.body["items"].as_array().unwrap().len(), 1);
    let bogus = call(
        &app,
        reqwest::Method::GET,
        "/audit-events?cursor=nonsense",
        Some(&token),
        None,
    )
    .await;
    assert_eq!(bogus.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bogus.body["field"], "cursor");
    let unknown = call(
        &app,
        reqwest::Method::GET,
        "/audit-events?colour=blue",
        Some(&token),
        None,
    )
    .await;
    assert!(unknown.status.is_client_error());
}

#[tokio::test]
async fn every_user_operation_of_the_cli_is_there() {
    let app = spawn_app().await;
    let token = client_token(&app, &["tessera:admin"], &["admin"]).await;
    app.create_user("zed", "lamp orbit velvet cactus 42", &["user"])
        .await;
    let off = call(
        &app,
        reqwest::Method::PATCH,
        "/users/zed",
        Some(&token),
        Some(json!({ "enabled": false })),
    )
    .await;
    assert_eq!(off.body["enabled"], false);
    assert!(
        app.post_login("zed", "lamp orbit velvet cactus 42", false, None)
            .await
            .status()
            .is_client_error()
    );
    let on = call(
        &app,
        reqwest::Method::PATCH,
        "/users/zed",
        Some(&token),
        Some(json!({ "enabled": true })),
    )
    .await;
    assert_eq!(on.body["enabled"], true);

    let weak = call(
        &app,
        reqwest::Method::PUT,
        "/users/zed/password",
        Some(&token),
        Some(json!({ "password": "short" })),
    )
    .await;
    assert_eq!(weak.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(weak.body["field"], "password");
    let set = call(
        &app,
        reqwest::Method::PUT,
        "/users/zed/password",
        Some(&token),
        Some(json!({ "password": "quartz meadow lantern 77 hop" })),
    )
    .await;
    assert_eq!(set.status, StatusCode::NO_CONTENT, "{:?}", set.body);
    assert_eq!(
        app.post_login("zed", "quartz meadow lantern 77 hop", false, None)
            .await
            .status(),
        StatusCode::SEE_OTHER
    );

    for (method, path, status) in [
        (
            reqwest::Method::POST,
            "/users/zed/unlock",
            StatusCode::NO_CONTENT,
        ),
        (
            reqwest::Method::DELETE,
            "/users/zed/second-factor",
            StatusCode::NO_CONTENT,
        ),
        (
            reqwest::Method::POST,
            "/users/zed/password-reset",
            StatusCode::ACCEPTED,
        ),
        (
            reqwest::Method::POST,
            "/users/nobody/unlock",
            StatusCode::NOT_FOUND,
        ),
    ] {
        let answer = call(&app, method, path, Some(&token), None).await;
        assert_eq!(answer.status, status, "{path}: {:?}", answer.body);
    }
    let invited = call(
        &app,
        reqwest::Method::POST,
        "/invitations",
        Some(&token),
        Some(json!({ "email": "new@example.com", "roles": ["guest"] })),
    )
    .await;
    assert_eq!(invited.status, StatusCode::ACCEPTED, "{:?}", invited.body);
    let taken = call(
        &app,
        reqwest::Method::POST,
        "/invitations",
        Some(&token),
        Some(json!({ "email": "zed@example.com" })),
    )
    .await;
    assert_eq!(taken.status, StatusCode::CONFLICT);
    let audit = app.audit(&["--type", "user_disabled"]).await;
    assert_eq!(audit[0]["actor"]["kind"], "client");
}

#[tokio::test]
async fn paging_and_search() {
    let app = spawn_app().await;
    for name in ["ann", "bob", "cyd"] {
        app.create_user(name, "lamp orbit velvet cactus 42", &["user"])
            .await;
    }
    let token = client_token(&app, &["tessera:admin"], &["admin"]).await;
    let first = call(
        &app,
        reqwest::Method::GET,
        "/users?limit=2",
        Some(&token),
        None,
    )
    .await;
    assert_eq!(first.body["items"].as_array().unwrap().len(), 2);
    let cursor = first.body["next_cursor"].as_str().unwrap().to_string();
    let second = call(
        &app,
        reqwest::Method::GET,
        &format!("/users?limit=2&cursor={cursor}"),
        Some(&token),
        None,
    )
    .await;
    let names: Vec<&str> = second.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["bob", "cyd"]);
    assert!(second.body["next_cursor"].is_null());
    let found = call(
        &app,
        reqwest::Method::GET,
        "/users?q=CY",
        Some(&token),
        None,
    )
    .await;
    assert_eq!(found.body["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn only_admins_with_the_scope_get_in() {
    let app = spawn_app().await;
    let none = call(&app, reqwest::Method::GET, "/users", None, None).await;
    assert_eq!(none.status, StatusCode::UNAUTHORIZED);
    assert!(
        none.header("www-authenticate")
            .unwrap()
            .starts_with("Bearer")
    );
    let garbage = call(&app, reqwest::Method::GET, "/users", Some("garbage"), None).await;
    assert_eq!(garbage.status, StatusCode::UNAUTHORIZED);

    let no_scope = client_token(&app, &["roles"], &["admin"]).await;
    let refused = call(&app, reqwest::Method::GET, "/users", Some(&no_scope), None).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(
        refused
            .header("www-authenticate")
            .unwrap()
            .contains("insufficient_scope")
    );

    let not_admin = client_token(&app, &["tessera:admin"], &["user"]).await;
    let refused = call(&app, reqwest::Method::GET, "/users", Some(&not_admin), None).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);

    // Users: the admin's own token works, a plain user's does not.
    app.create_user("uma", "lamp orbit velvet cactus 42", &["user"])
        .await;
    let mut spec = rp::spec("Admin Console Script");
    spec.skip_consent = true;
    spec.scopes = vec!["openid".into(), "tessera:admin".into()];
    let rp = Rp::register(&app, spec).await;
    let (tokens, _) = rp::sign_in(&app, &rp, &["tessera:admin"], ("admin", ADMIN_PASSWORD)).await;
    let admin_token = openidconnect::OAuth2TokenResponse::access_token(&tokens)
        .secret()
        .clone();
    let ok = call(
        &app,
        reqwest::Method::GET,
        "/users",
        Some(&admin_token),
        None,
    )
    .await;
    assert_eq!(ok.status, StatusCode::OK, "{:?}", ok.body);
    // A fresh sign-in in the same browser, as the plain user.
    let pending = rp.authorize(&["tessera:admin"], &[("prompt", "login")]);
    let landing = rp::browse(
        &app,
        pending.url.as_str(),
        ("uma", "lamp orbit velvet cactus 42"),
        rp::Consent::Approve,
    )
    .await;
    let user_tokens = rp
        .exchange(&landing.code(), pending.verifier)
        .await
        .unwrap();
    let user_token = openidconnect::OAuth2TokenResponse::access_token(&user_tokens)
        .secret()
        .clone();
    let refused = call(
        &app,
        reqwest::Method::GET,
        "/users",
        Some(&user_token),
        None,
    )
    .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn the_openapi_document_is_public_and_describes_the_api() {
    let app = spawn_app().await;
    let doc: Value = app
        .get("/admin/api/v1/openapi.json")
        .await
        .json()
        .await
        .unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    assert!(doc["paths"]["/users"]["post"].is_object());
    assert!(doc["paths"]["/users/{id}/roles"]["put"].is_object());
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
}

/// The first of these tools on the PATH, or a skip (a failure when
/// `TESSERA_REQUIRE_SCHEMATHESIS` is set, as CI sets it).
fn python_tool(name: &str) -> Option<std::path::PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(name))
            .find(|p| p.exists())
    });
    if found.is_none() {
        if std::env::var_os("TESSERA_REQUIRE_SCHEMATHESIS").is_some() {
            panic!("TESSERA_REQUIRE_SCHEMATHESIS is set but {name} is not installed");
        }
        eprintln!(
            "skipped: {name} is not installed (pip install schemathesis openapi-spec-validator)"
        );
    }
    found
}

/// The OpenAPI document validates, and a bounded property-based run against it finds no
/// server error and no answer that breaks the document.
#[tokio::test]
async fn the_openapi_document_holds_against_generated_requests() {
    let (Some(validator), Some(schemathesis)) =
        (python_tool("openapi-spec-validator"), python_tool("st"))
    else {
        return;
    };
    let app = spawn_app().await;
    let token = client_token(&app, &["tessera:admin"], &["admin"]).await;
    let document = app
        .get("/admin/api/v1/openapi.json")
        .await
        .text()
        .await
        .unwrap();
    let file = app.dir.path().join("openapi.json");
    std::fs::write(&file, document).unwrap();
    let validated = tokio::process::Command::new(validator)
        .arg(&file)
        .output()
        .await
        .unwrap();
    assert!(
        validated.status.success(),
        "{}",
        String::from_utf8_lossy(&validated.stdout)
    );
    let run = tokio::process::Command::new(schemathesis)
        .args(["run", &app.url("/admin/api/v1/openapi.json")])
        .args(["--header", &format!("Authorization: Bearer {token}")])
        .args(["--max-examples", "25", "--request-timeout", "10", "--seed", "1"])
        .args([
            "--checks",
            "not_a_server_error,response_schema_conformance,status_code_conformance,content_type_conformance",
        ])
        .env("NO_COLOR", "1")
        // Its cache belongs with the test's files, not in the project.
        .current_dir(app.dir.path())
        .output()
        .await
        .unwrap();
    assert!(
        run.status.success(),
        "{}{}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
}
