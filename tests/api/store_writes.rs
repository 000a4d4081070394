//! Writes end cleanly. The code flow's are one round trip each (several statements in one
//! transaction on SQLite, one statement on PostgreSQL): one that fails midway is undone whole,
//! and the connection it ran on (SQLite's one writer) is left without a transaction open. A
//! write transaction dropped without a commit is undone before the next write begins. On
//! SQLite, writes reach the database file itself in the background, not only its WAL.

use tessera::config::DatabaseSettings;
use tessera::store::{Db, GrantFacts, NewCode, NewGrant, StoreError};

use crate::helpers::{TestApp, postgres_url, spawn_app, spawn_app_with};
use crate::rp::{REDIRECT_URI, Rp, spec};

/// Far enough ahead that nothing expires during the test.
const LATER: i64 = 4_000_000_000;

#[tokio::test]
async fn a_failed_one_trip_write_is_undone_and_its_connection_stays_usable() {
    let (app, grant) = app_with_grants("Trip App").await;
    // One connection: whatever the failed write left on it, the next write meets.
    let settings = DatabaseSettings {
        max_connections: 1,
        ..DatabaseSettings::default()
    };
    let db = Db::connect(&app.database_url, &settings).await.unwrap();
    let code = NewCode {
        code_hash: "c0de".repeat(16),
        redirect_uri: REDIRECT_URI.into(),
        code_challenge: None,
        nonce: None,
        dpop_jkt: None,
        expires_at: LATER,
    };
    db.issue_code(&grant("first"), &code, None).await.unwrap();

    // The second grant is written before its code, whose hash is taken: the code fails.
    let refused = db.issue_code(&grant("second"), &code, None).await;
    assert!(
        matches!(refused, Err(StoreError::Conflict(_))),
        "{refused:?}"
    );

    // A new transaction starts on the same connection, and the second grant is not there:
    // inserting it again succeeds.
    let mut tx = db.write().await.expect("no transaction was left open");
    tx.insert_grant(&grant("second"))
        .await
        .expect("the failed write left no grant behind");
    tx.commit().await.unwrap();
    let stored = {
        let mut tx = db.read().await.unwrap();
        tx.find_code(&code.code_hash).await.unwrap().unwrap()
    };
    assert_eq!(stored.0.grant_id, "first");
    db.close().await;
}

#[tokio::test]
async fn a_write_dropped_without_commit_is_undone_before_the_next_one() {
    let (app, grant) = app_with_grants("Dropped App").await;
    let db = app.state.services.db().clone();
    {
        let mut tx = db.write().await.unwrap();
        tx.insert_grant(&grant("dropped")).await.unwrap();
    }
    let mut tx = db.write().await.expect("the next write gets its turn");
    tx.insert_grant(&grant("dropped"))
        .await
        .expect("the dropped write left nothing behind");
    tx.commit().await.unwrap();
}

#[tokio::test]
async fn sqlite_writes_reach_the_database_file_within_the_checkpoint_interval() {
    if postgres_url().is_some() {
        // PostgreSQL has no WAL file of ours to checkpoint.
        return;
    }
    let app = spawn_app_with(|s| s.database.checkpoint_interval_ms = 20).await;
    Rp::register(&app, spec("Checkpointed App")).await;

    // A copy of the database file alone, without its WAL, holds what was checkpointed. The
    // writer checkpoints by itself only every 10,000 pages: this one write is far from that.
    let file = app.dir.path().join("tessera.db");
    let copy = app.dir.path().join("checkpointed-copy.db");
    let mut found = 0;
    for _ in 0..250 {
        // A copy taken while a checkpoint writes may be torn: it then counts as not yet.
        std::fs::copy(&file, &copy).unwrap();
        let url = format!("sqlite://{}?immutable=true", copy.display());
        if let Ok(mut conn) = <sqlx::AnyConnection as sqlx::Connection>::connect(&url).await {
            found =
                sqlx::query_scalar("SELECT COUNT(*) FROM clients WHERE name = 'Checkpointed App'")
                    .fetch_one(&mut conn)
                    .await
                    .unwrap_or(0);
        }
        if found == 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(found, 1, "the client never reached the database file");
}

/// A server with a user and a client named `client_name`, and a maker of grants (by id) of
/// that client to that user, expiring far ahead.
async fn app_with_grants(client_name: &str) -> (TestApp, impl Fn(&str) -> NewGrant) {
    let app = spawn_app().await;
    let user_id = app
        .create_user("dora", "dora password 123", &["user"])
        .await;
    let client_id = Rp::register(&app, spec(client_name)).await.client_id;
    let grant = move |id: &str| NewGrant {
        id: id.to_string(),
        facts: GrantFacts {
            client_id: client_id.clone(),
            user_id: user_id.clone(),
            session_id: None,
            scope: "openid".into(),
            auth_time: 1,
            amr: "pwd".into(),
            acr: String::new(),
            revoked_at: None,
            resources: String::new(),
            dpop_jkt: None,
        },
        expires_at: LATER,
        now: 1,
    };
    (app, grant)
}
