//! Writes end cleanly. The code flow's are one round trip each (several statements in one
//! transaction on SQLite, one statement on PostgreSQL): one that fails midway is undone whole,
//! and the connection it ran on (SQLite's one writer) is left without a transaction open. A
//! write transaction dropped without a commit is undone before the next write begins.

use tessera::config::DatabaseSettings;
use tessera::store::{Db, GrantFacts, NewCode, NewGrant, StoreError};

use crate::helpers::spawn_app;
use crate::rp::{REDIRECT_URI, Rp, spec};

/// Far enough ahead that nothing expires during the test.
const LATER: i64 = 4_000_000_000;

#[tokio::test]
async fn a_failed_one_trip_write_is_undone_and_its_connection_stays_usable() {
    let app = spawn_app().await;
    let user_id = app
        .create_user("dora", "dora password 123", &["user"])
        .await;
    let rp = Rp::register(&app, spec("Trip App")).await;
    // One connection: whatever the failed write left on it, the next write meets.
    let settings = DatabaseSettings {
        max_connections: 1,
        ..DatabaseSettings::default()
    };
    let db = Db::connect(&app.database_url, &settings).await.unwrap();
    let grant = |id: &str| grant(id, &rp.client_id, &user_id);
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
    assert_eq!(stored.grant_id, "first");
    db.close().await;
}

#[tokio::test]
async fn a_write_dropped_without_commit_is_undone_before_the_next_one() {
    let app = spawn_app().await;
    let user_id = app
        .create_user("dora", "dora password 123", &["user"])
        .await;
    let rp = Rp::register(&app, spec("Dropped App")).await;
    let db = app.state.services.db().clone();
    {
        let mut tx = db.write().await.unwrap();
        tx.insert_grant(&grant("dropped", &rp.client_id, &user_id))
            .await
            .unwrap();
    }
    let mut tx = db.write().await.expect("the next write gets its turn");
    tx.insert_grant(&grant("dropped", &rp.client_id, &user_id))
        .await
        .expect("the dropped write left nothing behind");
    tx.commit().await.unwrap();
}

/// A grant of `client_id` to `user_id`, expiring far ahead.
fn grant(id: &str, client_id: &str, user_id: &str) -> NewGrant {
    NewGrant {
        id: id.to_string(),
        facts: GrantFacts {
            client_id: client_id.to_string(),
            user_id: user_id.to_string(),
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
    }
}
