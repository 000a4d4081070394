//! Upgrading a database that already holds data: the migrations that rebuild tables keep
//! their rows, and what was issued before the upgrade works after it.

use std::sync::Arc;

use reqwest::StatusCode;
use sqlx::AnyPool;
use tessera::auth::secret;
use tessera::config::DatabaseSettings;
use tessera::store::{AuditFilter, Db, NewAuditEvent};

use crate::helpers::{fresh_database, spawn_node, test_settings};
use crate::rp::REDIRECT_URI;

/// The last schema version before audit events and codes were rebuilt.
const BEFORE_REBUILD: i64 = 12;
const CODE: &str = "a-code-issued-before-the-upgrade";
const VERIFIER: &str = "a-pkce-verifier-of-the-code-issued-before-the-upgrade";

#[tokio::test]
async fn an_upgrade_keeps_audit_events_and_codes_not_yet_redeemed() {
    let dir = Arc::new(tempfile::tempdir().unwrap());
    let (url, database) = fresh_database(dir.path()).await;
    let now = {
        use tessera::clock::Clock;
        tessera::clock::SystemClock.now()
    };

    // The database as an older Tessera left it: a public client, a user, an unredeemed code,
    // and two events, one of them a failure that identical ones count into.
    let creates_file = Db::connect(&url, &DatabaseSettings::default())
        .await
        .unwrap();
    sqlx::any::install_default_drivers();
    let pool = AnyPool::connect(&url).await.unwrap();
    let migrator = if url.starts_with("sqlite") {
        sqlx::migrate!("./migrations/sqlite")
    } else {
        sqlx::migrate!("./migrations/postgres")
    };
    migrator.run_to(BEFORE_REBUILD, &pool).await.unwrap();
    let challenge = {
        use base64::Engine;
        let digest = secret::digest(VERIFIER);
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest)
    };
    let statements = [
        "INSERT INTO clients (id, name, public, redirect_uris, post_logout_redirect_uris, grant_types, \
         scopes, roles, skip_consent, id_token_alg, created_at, updated_at) \
         VALUES ('old-app', 'Old App', 1, $2, '', 'authorization_code', 'openid profile', '', 1, 'RS256', $1, $1)",
        "INSERT INTO users (id, username, username_normalized, email, email_normalized, password_hash, \
         created_at, updated_at) VALUES ('u-old', 'olduser', 'olduser', 'old@example.com', \
         'old@example.com', '!', $1, $1)",
        "INSERT INTO grants (id, client_id, user_id, session_id, scope, auth_time, amr, created_at, expires_at) \
         VALUES ('g-old', 'old-app', 'u-old', NULL, 'openid profile', $1, 'pwd', $1, $1 + 3600)",
        "INSERT INTO codes (code_hash, grant_id, redirect_uri, code_challenge, nonce, expires_at) \
         VALUES ($3, 'g-old', $2, $4, NULL, $1 + 600)",
        "INSERT INTO audit_events (time, type, outcome, actor_kind, details, count) \
         VALUES ($1, 'old_success', 'success', 'cli', '{}', 1)",
        "INSERT INTO audit_events (time, type, outcome, actor_kind, details, count, dedupe_key) \
         VALUES ($1, 'old_failure', 'failure', 'anonymous', '{}', 3, 'old-key')",
    ];
    // Each statement takes the arguments its highest `$n` asks for, from the same list.
    let code_hash = secret::hash(CODE);
    let arguments: [&str; 3] = [REDIRECT_URI, &code_hash, &challenge];
    for sql in statements {
        let wanted = (2..=4)
            .filter(|n| sql.contains(&format!("${n}")))
            .max()
            .unwrap_or(1);
        let mut query = sqlx::query(sql).bind(now);
        for argument in &arguments[..wanted - 1] {
            query = query.bind(argument.to_string());
        }
        query.execute(&pool).await.unwrap();
    }
    pool.close().await;
    creates_file.close().await;

    // This Tessera starts on it and migrates it.
    let settings = test_settings(dir.path(), &url);
    crate::shared_keys::install(&settings.keys_dir, &url).await;
    let app = spawn_node(settings, dir).await;

    let token = app
        .http
        .post(app.url("/token"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", CODE),
            ("redirect_uri", REDIRECT_URI),
            ("client_id", "old-app"),
            ("code_verifier", VERIFIER),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(
        token.status(),
        StatusCode::OK,
        "{}",
        token.text().await.unwrap()
    );
    let body: serde_json::Value = token.json().await.unwrap();
    assert!(body["id_token"].is_string(), "{body}");

    let db = app.state.services.db();
    let mut tx = db.write().await.unwrap();
    tx.insert_audit_event(&NewAuditEvent {
        time: now,
        kind: "old_failure".into(),
        outcome: "failure",
        actor_kind: "anonymous",
        actor_id: None,
        user_id: None,
        user_name: None,
        username: None,
        client_id: None,
        ip: None,
        user_agent: None,
        details: "{}".into(),
        dedupe_key: Some("old-key".into()),
    })
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let mut reads = db.read().await.unwrap();
    let events = reads
        .list_audit_events(&AuditFilter {
            limit: 100,
            ..AuditFilter::default()
        })
        .await
        .unwrap();
    let kinds: Vec<(&str, i64)> = events.iter().map(|e| (e.kind.as_str(), e.count)).collect();
    assert!(kinds.contains(&("old_success", 1)), "{kinds:?}");
    assert!(kinds.contains(&("old_failure", 4)), "{kinds:?}");
    assert!(kinds.contains(&("code_redeemed", 1)), "{kinds:?}");
    let id_of = |kind: &str| events.iter().find(|e| e.kind == kind).map(|e| e.id);
    assert!(id_of("code_redeemed") > id_of("old_failure"), "{kinds:?}");
    drop(database);
}
