//! Concurrent redemption: one authorization code, or one refresh token, sent by many clients
//! at the same instant, to one node or to two nodes sharing a database. Exactly one request
//! wins; every other one gets `invalid_grant`. A second use means the secret leaked, so the
//! grant is revoked with everything the winner got (RFC 6749 §4.1.2, RFC 9700 §4.2.4 and
//! §4.14.2).
//!
//! These tests must be able to fail, and racers that merely start together do not make them:
//! the window between a request reading the code and writing it spent is one database round
//! trip, and on a busy two-core machine the first request is often through it before the next
//! one reads (sixteen racers released by a barrier let a missing guard pass in up to half of
//! the runs on SQLite). So the test also holds the door: it takes the write lock of the table
//! the racers will write, releases the racers (connections open, behind a barrier), lets them
//! read and queue on their writes, and only then lets go. The writes then run one after
//! another against a code or token the racers have all seen unspent: the interleaving the
//! store's single-use guards (`AND consumed_at IS NULL`, `AND used_at IS NULL`) exist for.
//! With a guard one write matches; without it every one does.

use std::sync::Arc;
use std::time::Duration;

use openidconnect::OAuth2TokenResponse;
use openidconnect::core::CoreTokenResponse;
use reqwest::StatusCode;
use sqlx::{AssertSqlSafe, Connection, Executor, PgConnection, SqliteConnection};
use tokio::sync::Barrier;

use crate::helpers::{ADMIN_PASSWORD, JsonReply, TestApp, spawn_app};
use crate::rp::{REDIRECT_URI, Rp, spec};

/// Requests sent at once.
const RACERS: usize = 16;

/// How long the door is held on SQLite, which cannot show who waits for its write lock: long
/// enough for every racer to have read and queued many times over.
const SQLITE_HOLD: Duration = Duration::from_millis(300);

/// The write lock of one table (of the whole database on SQLite), taken on a connection of
/// the test's own. Readers go on; writers queue until it is released.
enum Door {
    Sqlite(SqliteConnection),
    Postgres(PgConnection),
}

impl Door {
    /// Takes the write lock of `table` in the database at `database_url`.
    async fn hold(database_url: &str, table: &str) -> Door {
        if database_url.starts_with("sqlite:") {
            let mut conn = SqliteConnection::connect(database_url)
                .await
                .expect("test connection");
            conn.execute("BEGIN IMMEDIATE")
                .await
                .expect("SQLite write lock");
            Door::Sqlite(conn)
        } else {
            let mut conn = PgConnection::connect(database_url)
                .await
                .expect("test connection");
            conn.execute(AssertSqlSafe(format!(
                "BEGIN; LOCK TABLE {table} IN EXCLUSIVE MODE"
            )))
            .await
            .expect("PostgreSQL table lock");
            Door::Postgres(conn)
        }
    }

    /// Waits until `writers` requests queue for the lock (on SQLite, for [`SQLITE_HOLD`]),
    /// then releases it.
    async fn release_when_queued(self, writers: usize) {
        match self {
            Door::Sqlite(mut conn) => {
                tokio::time::sleep(SQLITE_HOLD).await;
                conn.execute("ROLLBACK").await.expect("lock released");
            }
            Door::Postgres(mut conn) => {
                let queued = async {
                    loop {
                        // Statistics views are a snapshot per transaction, and this
                        // connection is in one: ask for a fresh look each time.
                        conn.execute("SELECT pg_stat_clear_snapshot()")
                            .await
                            .expect("fresh statistics");
                        let (waiting,): (i64,) = sqlx::query_as(
                            "SELECT count(*) FROM pg_stat_activity \
                             WHERE datname = current_database() AND wait_event_type = 'Lock'",
                        )
                        .fetch_one(&mut conn)
                        .await
                        .expect("lock waits");
                        if waiting as usize >= writers {
                            break;
                        }
                        tokio::time::sleep(Duration::from_millis(5)).await;
                    }
                };
                tokio::time::timeout(Duration::from_secs(30), queued)
                    .await
                    .unwrap_or_else(|_| panic!("{writers} racers never queued for the lock"));
                conn.execute("ROLLBACK").await.expect("lock released");
            }
        }
    }
}

/// Sends the token request `form` as `rp` from [`RACERS`] clients at once, spread over
/// `nodes` in turn, while the door to `table` is held; returns every reply.
async fn race(nodes: &[&TestApp], rp: &Rp, form: &[(&str, &str)], table: &str) -> Vec<JsonReply> {
    let door = Door::hold(&nodes[0].database_url, table).await;
    let barrier = Arc::new(Barrier::new(RACERS));
    let mut racers = Vec::with_capacity(RACERS);
    for i in 0..RACERS {
        let node = nodes[i % nodes.len()];
        let http = reqwest::Client::new();
        let warm_up = http.get(node.url("/healthz"));
        let request = http
            .post(node.url("/token"))
            .basic_auth(&rp.client_id, rp.secret.as_deref())
            .form(form)
            .build()
            .expect("token request");
        let barrier = barrier.clone();
        racers.push(tokio::spawn(async move {
            // Opens the connection, so that after the barrier only the request is left.
            warm_up
                .send()
                .await
                .and_then(|r| r.error_for_status())
                .expect("warm-up")
                .bytes()
                .await
                .expect("warm-up body");
            barrier.wait().await;
            JsonReply::read(http.execute(request).await.expect("token request sent")).await
        }));
    }
    door.release_when_queued(RACERS).await;
    let mut replies = Vec::with_capacity(RACERS);
    for racer in racers {
        replies.push(racer.await.expect("racer finished"));
    }
    replies
}

/// Asserts that exactly one reply is a success and every other one `invalid_grant`;
/// returns the winner's tokens.
fn single_winner(replies: Vec<JsonReply>) -> CoreTokenResponse {
    let statuses: Vec<u16> = replies.iter().map(|r| r.status.as_u16()).collect();
    let (winners, losers): (Vec<_>, Vec<_>) = replies
        .into_iter()
        .partition(|r| r.status == StatusCode::OK);
    assert_eq!(
        winners.len(),
        1,
        "exactly one of {RACERS} concurrent redemptions may succeed; statuses: {statuses:?}"
    );
    for loser in &losers {
        loser.assert_error(StatusCode::BAD_REQUEST, "invalid_grant");
    }
    let winner = winners.into_iter().next().expect("one winner");
    serde_json::from_value(winner.body).expect("a token response")
}

/// Asserts that the winner's tokens died with their grant: userinfo refuses the access
/// token, introspection calls it inactive, and its refresh token is `invalid_grant`.
async fn assert_grant_revoked(app: &TestApp, rp: &Rp, tokens: &CoreTokenResponse) {
    let access = tokens.access_token().secret();
    let info = app.userinfo(access).await;
    assert_eq!(info.status, StatusCode::UNAUTHORIZED, "{:?}", info.body);
    assert!(
        info.header("www-authenticate")
            .is_some_and(|h| h.contains("error=\"invalid_token\"")),
        "{:?}",
        info.headers
    );
    let introspection = app
        .post_form("/introspect", rp.basic(), &[("token", access)])
        .await;
    assert_eq!(introspection.body, serde_json::json!({ "active": false }));
    let refresh = tokens
        .refresh_token()
        .expect("offline_access gives a refresh token");
    rp.token(
        app,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh.secret()),
        ],
    )
    .await
    .assert_error(StatusCode::BAD_REQUEST, "invalid_grant");
}

/// A client and a fresh code for it (with a refresh token to come).
async fn client_and_code(app: &TestApp, name: &str) -> (Rp, String, String) {
    let rp = Rp::register(app, spec(name)).await;
    let (code, pending) = rp
        .code(app, &["offline_access"], ("admin", ADMIN_PASSWORD))
        .await;
    (rp, code, pending.verifier.secret().clone())
}

/// Races a code on `nodes` (the first node issued it) and checks the outcome.
async fn race_a_code(nodes: &[&TestApp]) {
    let (rp, code, verifier) = client_and_code(nodes[0], "Code Race App").await;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT_URI),
        ("code_verifier", verifier.as_str()),
    ];
    let winner = single_winner(race(nodes, &rp, &form, "codes").await);
    for node in nodes {
        assert_grant_revoked(node, &rp, &winner).await;
    }
}

/// Races a refresh token on `nodes` (the first node issued it) and checks the outcome.
async fn race_a_refresh_token(nodes: &[&TestApp]) {
    let (rp, code, verifier) = client_and_code(nodes[0], "Refresh Race App").await;
    let issued = rp
        .exchange(&code, openidconnect::PkceCodeVerifier::new(verifier))
        .await
        .expect("code exchange");
    let refresh = issued.refresh_token().expect("a refresh token").secret();
    let form = [("grant_type", "refresh_token"), ("refresh_token", refresh)];
    let winner = single_winner(race(nodes, &rp, &form, "refresh_tokens").await);
    for node in nodes {
        assert_grant_revoked(node, &rp, &winner).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_code_raced_on_one_node_is_redeemed_once_and_its_grant_revoked() {
    let app = spawn_app().await;
    race_a_code(&[&app]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_code_raced_on_two_nodes_is_redeemed_once_and_its_grant_revoked() {
    let a = spawn_app().await;
    let b = a.second_node().await;
    race_a_code(&[&a, &b]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refresh_token_raced_on_one_node_rotates_once_and_its_grant_is_revoked() {
    let app = spawn_app().await;
    race_a_refresh_token(&[&app]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refresh_token_raced_on_two_nodes_rotates_once_and_its_grant_is_revoked() {
    let a = spawn_app().await;
    let b = a.second_node().await;
    race_a_refresh_token(&[&a, &b]).await;
}
