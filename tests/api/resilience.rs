//! Resilience against the database going away (PostgreSQL only: it needs a server to lose).
//! A TCP relay stands between Tessera and PostgreSQL; closing it plays a database restart.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::StatusCode;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::helpers::{PgDatabase, postgres_url, spawn_node, test_settings};

/// Forwards connections to PostgreSQL while open. Closed, it has dropped the connections it
/// carried and hangs up on new ones at once, as a restarting database does. It keeps its port
/// all along, so no other test can take it.
struct Relay {
    port: u16,
    open: Arc<AtomicBool>,
    carried: Arc<Mutex<Vec<JoinHandle<()>>>>,
    /// How many connections were hung up on while closed.
    refused: watch::Receiver<usize>,
    accept: JoinHandle<()>,
}

impl Relay {
    /// A closed relay to `target`.
    async fn new(target: String) -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("relay port");
        let port = listener.local_addr().expect("relay address").port();
        let open = Arc::new(AtomicBool::new(false));
        let carried: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::default();
        let (refused_tx, refused) = watch::channel(0);
        let accept = tokio::spawn({
            let (open, carried) = (open.clone(), carried.clone());
            async move {
                while let Ok((mut inbound, _)) = listener.accept().await {
                    if !open.load(Ordering::SeqCst) {
                        drop(inbound);
                        refused_tx.send_modify(|n| *n += 1);
                        continue;
                    }
                    let target = target.clone();
                    let conn = tokio::spawn(async move {
                        if let Ok(mut outbound) = TcpStream::connect(target).await {
                            let _ =
                                tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                        }
                    });
                    carried.lock().unwrap().push(conn);
                }
            }
        });
        Relay {
            port,
            open,
            carried,
            refused,
            accept,
        }
    }

    fn open(&self) {
        self.open.store(true, Ordering::SeqCst);
    }

    fn close(&self) {
        self.open.store(false, Ordering::SeqCst);
        for conn in self.carried.lock().unwrap().drain(..) {
            conn.abort();
        }
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.close();
        self.accept.abort();
    }
}

#[tokio::test]
async fn tessera_waits_for_the_database_and_survives_its_restart() {
    let Some(admin_url) = postgres_url() else {
        eprintln!("skipped: needs PostgreSQL (set TEST_DATABASE_URL)");
        return;
    };
    let dir = Arc::new(tempfile::tempdir().unwrap());
    let (guard, real_url) = PgDatabase::create(&admin_url).await;
    let real = url::Url::parse(&real_url).unwrap();
    let relay = Relay::new(format!(
        "{}:{}",
        real.host_str().unwrap(),
        real.port().unwrap_or(5432)
    ))
    .await;
    let mut relayed = real.clone();
    relayed.set_host(Some("127.0.0.1")).unwrap();
    relayed.set_port(Some(relay.port)).unwrap();

    let mut settings = test_settings(dir.path(), relayed.as_str());
    settings.database.acquire_timeout_secs = 1;
    crate::shared_keys::install(&settings.keys_dir, &real_url).await;
    // The database is "still coming up": the node must retry until the relay opens.
    let starting = tokio::spawn(spawn_node(settings, dir.clone()));
    let mut refused = relay.refused.clone();
    tokio::time::timeout(Duration::from_secs(30), refused.wait_for(|n| *n >= 2))
        .await
        .expect("the node tries its database again")
        .unwrap();
    assert!(!starting.is_finished(), "the node waits for its database");
    relay.open();
    let node = starting
        .await
        .expect("the node starts once the database answers");
    assert_eq!(node.get("/readyz").await.status(), StatusCode::OK);
    // Several connections sit idle in the pool when the database goes away: each is broken
    // afterwards, and none may fail a request once the database is back.
    let db = node.state.services.db().clone();
    let holders: Vec<_> = (0..4).map(|_| db.read()).collect();
    let holders = futures::future::try_join_all(holders)
        .await
        .expect("four connections");
    drop(holders);
    for _ in 0..100 {
        if db.pool_state().1 >= 4 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(db.pool_state().1 >= 4, "idle: {:?}", db.pool_state());

    relay.close();
    let ready = node.get("/readyz").await;
    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: serde_json::Value = ready.json().await.unwrap();
    assert!(
        body["reason"].as_str().unwrap().contains("database"),
        "{body}"
    );
    let token = reqwest::Client::new()
        .post(node.url("/token"))
        .basic_auth("nobody", Some("secret"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(token.status(), StatusCode::SERVICE_UNAVAILABLE);
    let error: serde_json::Value = token.json().await.unwrap();
    assert_eq!(error["error"], "temporarily_unavailable");
    assert_eq!(
        node.get("/jwks").await.status(),
        StatusCode::OK,
        "keys are served from memory"
    );

    relay.open();
    assert_eq!(
        node.get("/readyz").await.status(),
        StatusCode::OK,
        "recovered without a restart"
    );
    node.login_admin().await;
    assert_eq!(node.get("/account").await.status(), StatusCode::OK);
    drop(node);
    drop(relay);
    drop(guard);
}
