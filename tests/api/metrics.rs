//! Prometheus metrics on their own listener: the text parses, the counters move after a
//! sign-in and a token, and the public listener does not serve them.

use std::sync::Arc;

use tessera::clock::TestClock;
use tessera::startup::Application;

use crate::helpers::{ADMIN_PASSWORD, browser, fresh_database, hidden_input, test_settings};

/// The samples of a Prometheus text page: (name with labels, value).
fn samples(text: &str) -> Vec<(String, f64)> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let (name, value) = l
                .rsplit_once(' ')
                .unwrap_or_else(|| panic!("a sample: {l}"));
            (
                name.to_string(),
                value.parse().unwrap_or_else(|_| panic!("a number: {l}")),
            )
        })
        .collect()
}

/// The sum of the samples of `metric` whose labels contain every one of `labels`.
fn total(text: &str, metric: &str, labels: &[&str]) -> f64 {
    samples(text)
        .iter()
        .filter(|(name, _)| {
            (name == metric || name.starts_with(&format!("{metric}{{")))
                && labels.iter().all(|l| name.contains(l))
        })
        .map(|(_, v)| v)
        .sum()
}

#[tokio::test]
async fn metrics_are_served_apart_and_move_after_a_sign_in_and_a_token() {
    let dir = tempfile::tempdir().unwrap();
    let (database_url, _guard) = fresh_database(dir.path()).await;
    let mut settings = test_settings(dir.path(), &database_url);
    settings.listen = "127.0.0.1:0".into();
    settings.metrics_listen = Some("127.0.0.1:0".into());
    let app = Application::build(settings.validate().unwrap(), Arc::new(TestClock::new()))
        .await
        .unwrap();
    let base = format!("http://127.0.0.1:{}", app.port());
    let metrics_url = format!("http://127.0.0.1:{}/metrics", app.metrics_port().unwrap());
    let services = app.state().services.clone();
    let _server = tokio::spawn(app.run_until_stopped(std::future::pending()));
    let scrape = || async {
        let reply = reqwest::get(&metrics_url).await.unwrap();
        assert!(reply.status().is_success());
        reply.text().await.unwrap()
    };
    let before = scrape().await;

    let client = browser();
    let page = client
        .get(format!("{base}/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = hidden_input(&page, "csrf_token").unwrap();
    let signed_in = client
        .post(format!("{base}/login"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("username", "admin"),
            ("password", ADMIN_PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), reqwest::StatusCode::SEE_OTHER);
    let mut spec = crate::rp::spec("Metered");
    spec.grant_types = vec!["client_credentials".into()];
    let registered = services
        .register_client(&tessera::services::Caller::cli(), spec)
        .await
        .unwrap();
    let token = reqwest::Client::new()
        .post(format!("{base}/token"))
        .basic_auth(&registered.client.id, registered.secret.as_deref())
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert!(token.status().is_success());

    let after = scrape().await;
    let moved = |metric: &str, labels: &[&str]| {
        total(&after, metric, labels) - total(&before, metric, labels)
    };
    assert!(
        moved("tessera_sign_ins_total", &["outcome=\"success\""]) >= 1.0,
        "{after}"
    );
    assert!(
        moved(
            "tessera_tokens_issued_total",
            &["grant_type=\"client_credentials\""]
        ) >= 1.0,
        "{after}"
    );
    assert!(
        moved(
            "tessera_http_requests_total",
            &["route=\"/login\"", "status=\"303\""]
        ) >= 1.0,
        "{after}"
    );
    assert!(
        moved(
            "tessera_http_request_duration_seconds_count",
            &["route=\"/token\""]
        ) >= 1.0,
        "{after}"
    );
    for gauge in [
        "tessera_db_connections",
        "tessera_mail_queue_depth",
        "tessera_signing_key_age_seconds",
        "tessera_password_hashes_running",
    ] {
        assert!(after.contains(gauge), "{gauge} in {after}");
    }
    // The public listener has no /metrics.
    let public = reqwest::get(format!("{base}/metrics")).await.unwrap();
    assert_eq!(public.status(), reqwest::StatusCode::NOT_FOUND);
}
