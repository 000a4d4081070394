//! Resilience against the database going away (PostgreSQL only: it needs a server to lose).
//! A TCP relay stands between Tessera and PostgreSQL; closing it plays a database restart.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::StatusCode;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

use crate::examples::free_port;
use crate::helpers::{PgDatabase, postgres_url, spawn_node, test_settings};

/// Forwards a local port to PostgreSQL until stopped; stopping drops every connection.
struct Relay {
    port: u16,
    target: String,
    tasks: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl Relay {
    fn new(target: String) -> Relay {
        Relay {
            port: free_port(),
            target,
            tasks: Arc::default(),
        }
    }

    async fn start(&self) {
        let listener = TcpListener::bind(("127.0.0.1", self.port))
            .await
            .expect("relay port");
        let target = self.target.clone();
        let tasks = self.tasks.clone();
        let accept = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let target = target.clone();
                let conn = tokio::spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect(target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                tasks.lock().unwrap().push(conn);
            }
        });
        self.tasks.lock().unwrap().push(accept);
    }

    fn stop(&self) {
        for task in self.tasks.lock().unwrap().drain(..) {
            task.abort();
        }
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
    ));
    let mut relayed = real.clone();
    relayed.set_host(Some("127.0.0.1")).unwrap();
    relayed.set_port(Some(relay.port)).unwrap();

    let mut settings = test_settings(dir.path(), relayed.as_str());
    settings.database.acquire_timeout_secs = 1;
    // The database is "still coming up": the node must retry until the relay opens.
    let starting = tokio::spawn(spawn_node(settings, dir.clone()));
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(!starting.is_finished(), "the node waits for its database");
    relay.start().await;
    let node = starting
        .await
        .expect("the node starts once the database answers");
    assert_eq!(node.get("/readyz").await.status(), StatusCode::OK);

    relay.stop();
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

    relay.start().await;
    assert_eq!(
        node.get("/readyz").await.status(),
        StatusCode::OK,
        "recovered without a restart"
    );
    node.login_admin().await;
    assert_eq!(node.get("/account").await.status(), StatusCode::OK);
    relay.stop();
    drop(node);
    drop(guard);
}
