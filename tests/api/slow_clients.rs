//! The accept loop's limits through real sockets: a client that never finishes its request
//! header is dropped after `header_read_timeout_secs`, and a graceful shutdown finishes
//! within `shutdown_timeout_secs` even while such a client holds a connection open.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tessera::clock::TestClock;
use tessera::startup::Application;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::{fresh_database, spawn_app_with, test_settings};

/// Opens a connection and sends half a request header.
async fn half_a_header(address: &str) -> TcpStream {
    let host = address.trim_start_matches("http://");
    let mut stream = TcpStream::connect(host).await.unwrap();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: tessera\r\nX-Slow: ")
        .await
        .unwrap();
    stream
}

#[tokio::test]
async fn a_client_that_never_finishes_its_header_is_dropped() {
    let app = spawn_app_with(|s| s.header_read_timeout_secs = 1).await;
    let mut stream = half_a_header(&app.address).await;
    let started = Instant::now();
    let mut buffer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut buffer)).await;
    assert!(read.is_ok(), "the connection is still open after 10 s");
    let elapsed = started.elapsed();
    assert!(
        elapsed >= Duration::from_millis(900),
        "closed too early: {elapsed:?}"
    );
    assert!(elapsed < Duration::from_secs(5), "closed late: {elapsed:?}");
    // Others are served meanwhile and after.
    assert_eq!(app.get("/healthz").await.status(), reqwest::StatusCode::OK);
}

#[tokio::test]
async fn shutdown_finishes_in_time_whatever_the_clients_do() {
    let dir = tempfile::tempdir().unwrap();
    let (database_url, _guard) = fresh_database(dir.path()).await;
    let mut settings = test_settings(dir.path(), &database_url);
    settings.listen = "127.0.0.1:0".into();
    settings.shutdown_timeout_secs = 1;
    let config = settings.validate().unwrap();
    let app = Application::build(config, Arc::new(TestClock::new()))
        .await
        .unwrap();
    let address = format!("http://127.0.0.1:{}", app.port());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until_stopped(async move {
        let _ = stopped.await;
    }));
    // One idle half-open request and one connection kept alive after a request.
    let _slow = half_a_header(&address).await;
    let client = reqwest::Client::new();
    assert!(
        client
            .get(format!("{address}/healthz"))
            .send()
            .await
            .unwrap()
            .status()
            .is_success()
    );

    let started = Instant::now();
    stop.send(()).unwrap();
    let finished = tokio::time::timeout(Duration::from_secs(8), server).await;
    assert!(finished.is_ok(), "shutdown hung");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "took {:?}",
        started.elapsed()
    );
    assert!(
        TcpStream::connect(address.trim_start_matches("http://"))
            .await
            .is_err(),
        "no longer listening"
    );
}
