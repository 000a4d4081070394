//! Prometheus metrics: the process-wide recorder, the names Tessera records, and the text
//! served on the separate `metrics_listen` listener (never on the public one). Without that
//! setting no recorder is installed and every recording is a no-op.

use std::sync::OnceLock;

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

/// Requests by matched route and status.
pub const HTTP_REQUESTS: &str = "tessera_http_requests_total";
/// Request latency by matched route (histogram, seconds).
pub const HTTP_DURATION: &str = "tessera_http_request_duration_seconds";
/// Sign-ins by outcome (`success`, `failure`, `refused`).
pub const SIGN_INS: &str = "tessera_sign_ins_total";
/// Tokens issued by grant type and access-token algorithm.
pub const TOKENS_ISSUED: &str = "tessera_tokens_issued_total";
/// Password hashes running now.
pub const HASHES_RUNNING: &str = "tessera_password_hashes_running";
/// Time a password check waited for a hashing slot (histogram, seconds).
pub const HASH_WAIT: &str = "tessera_password_hash_wait_seconds";
/// Database connections by state (`in_use`, `idle`).
pub const DB_CONNECTIONS: &str = "tessera_db_connections";
/// Mail waiting in the outbox.
pub const MAIL_QUEUE: &str = "tessera_mail_queue_depth";
/// Age of the oldest unsent mail, in seconds (0 when none waits).
pub const MAIL_OLDEST: &str = "tessera_mail_oldest_age_seconds";
/// Logout tokens waiting for delivery to clients (Back-Channel Logout).
pub const BACKCHANNEL_QUEUE: &str = "tessera_backchannel_queue_depth";
/// Age of the oldest undelivered logout token, in seconds (0 when none waits).
pub const BACKCHANNEL_OLDEST: &str = "tessera_backchannel_oldest_age_seconds";
/// Age of the newest signing key, in seconds.
pub const SIGNING_KEY_AGE: &str = "tessera_signing_key_age_seconds";

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the recorder (once per process) and returns the handle that renders it.
pub fn install() -> &'static PrometheusHandle {
    HANDLE.get_or_init(|| {
        let seconds = [
            0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
        ];
        // Histograms with these buckets (the list is never empty, so this cannot fail; a
        // failure would only mean summaries instead).
        let builder = PrometheusBuilder::new()
            .set_buckets(&seconds)
            .unwrap_or_else(|_| PrometheusBuilder::new());
        let recorder = builder.build_recorder();
        let handle = recorder.handle();
        // Another recorder in this process (tests) keeps its place; ours still renders.
        let _ = metrics::set_global_recorder(recorder);
        handle
    })
}
