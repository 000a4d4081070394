//! Settings: built-in defaults, then `tessera.toml`, then `TESSERA_*` environment variables.
//! Validated once at start; the rest of the program reads only the validated [`Settings`].
//! Owns no I/O beyond reading the configuration file.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

use crate::domain::{SigningAlg, is_loopback_host};
use url::Url;

/// Top-level keys that may be set from the environment (`TESSERA_<KEY>`, sections with `__`).
/// The top-level keys of [`Settings`], which `TESSERA_*` variables may set. Read off the
/// type itself, so a new setting is reachable from the environment without a list to update.
fn setting_keys() -> Vec<String> {
    top_level_defaults().keys().cloned().collect()
}

/// The top-level settings with their default values.
fn top_level_defaults() -> serde_json::Map<String, serde_json::Value> {
    match serde_json::to_value(Settings::default()) {
        Ok(serde_json::Value::Object(map)) => map,
        _ => serde_json::Map::new(),
    }
}

/// `TESSERA_*` variables that are not settings but are read elsewhere.
const OTHER_VARIABLES: [&str; 5] = [
    "TESSERA_LOG",
    "TESSERA_CONFIG",
    "TESSERA_REQUIRE_BROWSER",
    "TESSERA_REQUIRE_NGINX",
    "TESSERA_REQUIRE_SCHEMATHESIS",
];

/// `TESSERA_*` variables in `env` that name no setting (a typo, most likely), for a warning.
pub fn unknown_variables(env: impl IntoIterator<Item = (String, String)>) -> Vec<String> {
    let keys = setting_keys();
    env.into_iter()
        .map(|(k, _)| k)
        .filter(|k| k.starts_with("TESSERA_") && !OTHER_VARIABLES.contains(&k.as_str()))
        .filter(|k| {
            let rest = k["TESSERA_".len()..].to_ascii_lowercase();
            let top = rest.split("__").next().unwrap_or_default().to_string();
            !keys.contains(&top)
        })
        .collect()
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    Pretty,
    /// One JSON object per line.
    Json,
}

/// Argon2id cost parameters and the bound on concurrent hashing.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PasswordSettings {
    /// Memory cost in KiB (OWASP: 19456).
    pub memory_kib: u32,
    /// Number of passes (OWASP: 2).
    pub iterations: u32,
    /// Degree of parallelism (OWASP: 1).
    pub parallelism: u32,
    /// How many hashes may run at once; bounds memory to `memory_kib` times this.
    pub max_concurrent: usize,
    /// How many password checks may wait for a hashing slot; beyond that a sign-in is
    /// answered 429 at once instead of queueing without bound.
    pub max_queued: usize,
    /// Nice value (0–19) of the hashing threads: above 0, requests that need no hash go
    /// first when the CPU is short, and sign-ins get what is left.
    pub niceness: u8,
    /// Fewest characters of a new password (NIST SP 800-63B-4: 15 for a single factor).
    pub min_length: usize,
    /// Lowest zxcvbn strength score (0–4) of a new password.
    pub min_score: u8,
}

impl Default for PasswordSettings {
    fn default() -> Self {
        Self {
            memory_kib: 19_456,
            iterations: 2,
            parallelism: 1,
            max_concurrent: 4,
            max_queued: 64,
            niceness: 15,
            min_length: 15,
            min_score: 3,
        }
    }
}

/// Login session lifetimes.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SessionSettings {
    /// A session without "remember me" ends after this many idle seconds.
    pub idle_timeout_secs: i64,
    /// A session without "remember me" ends this many seconds after sign-in at the latest.
    pub max_lifetime_secs: i64,
    /// How long a "remember me" session and its cookie last, in days.
    pub remember_me_days: i64,
    /// A used session's idle deadline is pushed at most this often, in seconds, so page
    /// views do not each cost a write.
    pub touch_interval_secs: i64,
    /// How long a parked authorization request (waiting for sign-in or consent) can be
    /// resumed, in seconds.
    pub request_ttl_secs: i64,
    /// Authorization requests parked for the sign-in page at once per client address; the
    /// oldest give way.
    pub pending_requests_per_ip: i64,
    /// Authorization requests parked at once in all; the oldest give way.
    pub pending_requests_total: i64,
}

impl Default for SessionSettings {
    fn default() -> Self {
        Self {
            idle_timeout_secs: 3600,
            max_lifetime_secs: 12 * 3600,
            remember_me_days: 30,
            touch_interval_secs: 60,
            request_ttl_secs: 15 * 60,
            pending_requests_per_ip: 20,
            pending_requests_total: 20_000,
        }
    }
}

/// Token lifetimes and algorithms.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TokenSettings {
    /// Access token lifetime in seconds.
    pub access_token_ttl_secs: i64,
    /// ID token lifetime in seconds.
    pub id_token_ttl_secs: i64,
    /// Refresh token lifetime in seconds (each rotation issues a fresh one).
    pub refresh_token_ttl_secs: i64,
    /// Algorithm of the JWT access tokens.
    pub access_token_alg: SigningAlg,
    /// How often each node reloads signing keys from the database, in seconds. A key made by
    /// `tessera keys rotate` is published this long before it signs anything.
    pub key_refresh_secs: u64,
    /// Authorization code lifetime in seconds (RFC 6749 §4.1.2: at most 10 minutes).
    pub code_ttl_secs: i64,
}

impl Default for TokenSettings {
    fn default() -> Self {
        Self {
            access_token_ttl_secs: 600,
            id_token_ttl_secs: 600,
            refresh_token_ttl_secs: 30 * 24 * 3600,
            access_token_alg: SigningAlg::ES256,
            key_refresh_secs: 60,
            code_ttl_secs: 60,
        }
    }
}

/// Connection pool settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseSettings {
    /// Largest number of pooled connections per node.
    pub max_connections: u32,
    /// How long a request waits for a connection before failing with 503, in seconds.
    pub acquire_timeout_secs: u64,
    /// How long start-up keeps retrying an unreachable database, in seconds.
    pub startup_timeout_secs: u64,
    /// SQLite: how often the server copies the WAL into the database file, in milliseconds.
    pub checkpoint_interval_ms: u64,
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        Self {
            max_connections: 16,
            acquire_timeout_secs: 3,
            startup_timeout_secs: 60,
            checkpoint_interval_ms: 200,
        }
    }
}

/// The audit log.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuditSettings {
    /// Events older than this many days are deleted by the cleanup task.
    pub retention_days: i64,
}

impl Default for AuditSettings {
    fn default() -> Self {
        Self { retention_days: 90 }
    }
}

/// What signing out ends.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogoutSettings {
    /// Whether signing out also revokes the offline grants (`offline_access` refresh tokens)
    /// issued in that session. Back-Channel Logout 1.0 §2.7 lets offline access outlive a
    /// sign-out; Tessera revokes it by default, so signing out of a shared computer leaves
    /// nothing behind.
    pub revoke_offline_grants: bool,
}

impl Default for LogoutSettings {
    fn default() -> Self {
        Self {
            revoke_offline_grants: true,
        }
    }
}

/// Throttling of password guessing (OWASP "Blocking brute force attacks").
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LockoutSettings {
    /// Failed sign-ins to one account from devices its owner never signed in from, within
    /// 15 minutes, that lock the account for such devices; 0 turns account locks off.
    pub threshold: u32,
    /// How long the first lock lasts, in seconds; each further lock lasts twice as long, up
    /// to a day.
    pub duration_secs: i64,
    /// Failed sign-ins from one address, across accounts, within 10 minutes, after which
    /// that address is answered 429 on the sign-in forms; 0 turns this off.
    pub ip_threshold: u32,
}

impl Default for LockoutSettings {
    fn default() -> Self {
        Self {
            threshold: 5,
            duration_secs: 900,
            ip_threshold: 50,
        }
    }
}

/// Two-factor authentication.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MfaSettings {
    /// Holders of these roles must set up and use a second factor when they sign in
    /// (comma-separated in the variable).
    #[serde(deserialize_with = "list_or_commas")]
    pub required_roles: Vec<String>,
}

/// Outgoing mail: SMTP, or `.eml` files in a folder when no server is set.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MailSettings {
    /// `smtp://host:port`, `smtp+starttls://…` or `smtps://…`, with optional
    /// `user:password@`; unset writes `.eml` files to `outbox_dir`.
    pub smtp_url: Option<String>,
    /// The From header (default `Tessera <no-reply@{issuer host}>`).
    pub from: Option<String>,
    /// Where messages go as `.eml` files when no SMTP server is set.
    pub outbox_dir: PathBuf,
    /// How often the queue is checked for messages to send, in milliseconds.
    pub poll_interval_ms: u64,
    /// The first retry after a failed send, in seconds; doubles on each further failure.
    pub retry_initial_secs: i64,
    /// The longest wait between retries, in seconds.
    pub retry_max_secs: i64,
}

impl Default for MailSettings {
    fn default() -> Self {
        Self {
            smtp_url: None,
            from: None,
            outbox_dir: PathBuf::from("./outbox"),
            poll_interval_ms: 500,
            retry_initial_secs: 1,
            retry_max_secs: 60,
        }
    }
}

/// Pushed authorization requests (RFC 9126).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ParSettings {
    /// Every client must push its authorization requests (`require_pushed_authorization_requests`).
    pub required: bool,
    /// How long a `request_uri` stays usable, in seconds.
    pub lifetime_secs: i64,
}

impl Default for ParSettings {
    fn default() -> Self {
        Self {
            required: false,
            lifetime_secs: 60,
        }
    }
}

/// DPoP proofs (RFC 9449).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DpopSettings {
    /// Every proof must carry a nonce this server handed out (`DPoP-Nonce`).
    pub require_nonce: bool,
    /// How old a proof's `iat` may be, in seconds (its `jti` is remembered that long).
    pub proof_max_age_secs: i64,
    /// How long a server nonce stays good, in seconds.
    pub nonce_lifetime_secs: i64,
}

impl Default for DpopSettings {
    fn default() -> Self {
        Self {
            require_nonce: false,
            proof_max_age_secs: 60,
            nonce_lifetime_secs: 120,
        }
    }
}

/// An upstream OpenID Connect provider people may sign in with (`[[upstream]]`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpstreamSettings {
    /// Appears in URLs (`/upstream/{id}/…`): 1 to 32 lower-case letters, digits or '-'.
    pub id: String,
    /// The button text on the login page.
    pub name: String,
    /// The upstream's issuer; its discovery document is read from there.
    pub issuer: String,
    /// Tessera's client_id at the upstream.
    pub client_id: String,
    /// Tessera's client secret at the upstream (prefer `client_secret_file`).
    #[serde(default)]
    pub client_secret: Option<String>,
    /// A file holding the client secret.
    #[serde(default)]
    pub client_secret_file: Option<PathBuf>,
    /// Scopes asked for (`openid` among them).
    #[serde(default = "upstream_scopes")]
    pub scopes: Vec<String>,
    /// Link a first sign-in to the local account with the same address when both sides have
    /// it verified.
    #[serde(default)]
    pub link_by_verified_email: bool,
    /// Create a local account on a first sign-in.
    #[serde(default = "yes")]
    pub create_users: bool,
    /// Skip Tessera's own second factor when the upstream's `amr` shows one.
    #[serde(default)]
    pub trust_upstream_mfa: bool,
    /// The upstream claim whose values map to local roles.
    #[serde(default)]
    pub roles_claim: Option<String>,
    /// Upstream claim value → local role.
    #[serde(default)]
    pub role_map: std::collections::BTreeMap<String, String>,
    /// Roles of every account created through this upstream.
    #[serde(default)]
    pub default_roles: Vec<String>,
}

fn upstream_scopes() -> Vec<String> {
    ["openid", "profile", "email"].map(String::from).to_vec()
}

fn yes() -> bool {
    true
}

/// The Device Authorization Grant (RFC 8628).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DeviceSettings {
    /// Seconds a device waits between polls at first (`interval`).
    pub interval_secs: i64,
    /// How long a device code and its user code live, in seconds (`expires_in`).
    pub lifetime_secs: i64,
}

impl Default for DeviceSettings {
    fn default() -> Self {
        Self {
            interval_secs: 5,
            lifetime_secs: 600,
        }
    }
}

/// Delivery of back-channel logout tokens (Back-Channel Logout 1.0).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BackchannelSettings {
    /// How often the queue is checked for logout tokens to deliver, in milliseconds.
    pub poll_interval_ms: u64,
    /// The first retry after a failed delivery, in seconds; doubles on each further failure.
    pub retry_initial_secs: i64,
    /// The longest wait between retries, in seconds.
    pub retry_max_secs: i64,
    /// Deliveries given up after this many failures.
    pub max_attempts: i64,
    /// How long one delivery may take, in seconds.
    pub timeout_secs: u64,
}

impl Default for BackchannelSettings {
    fn default() -> Self {
        Self {
            poll_interval_ms: 500,
            retry_initial_secs: 1,
            retry_max_secs: 60,
            max_attempts: 50,
            timeout_secs: 5,
        }
    }
}

/// Who may register a client through `POST /connect/register` (RFC 7591).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ClientRegistration {
    /// Only with an initial access token from `tessera client initial-token`.
    InitialToken,
    /// Anyone.
    Open,
}

/// A feature switch written `on` or `off`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Switch {
    /// Turned on.
    On,
    /// Turned off.
    Off,
}

/// Who may create an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RegistrationMode {
    /// Anyone may sign up.
    Open,
    /// Only with an invitation link.
    Invite,
    /// Only admins create accounts.
    Closed,
}

/// Self-service sign-up.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RegistrationSettings {
    /// `open`, `invite` or `closed`.
    pub mode: RegistrationMode,
    /// Roles a new self-registered account gets (comma-separated in the variable).
    #[serde(deserialize_with = "list_or_commas")]
    pub default_roles: Vec<String>,
    /// A self-registered account must verify its e-mail before its first sign-in completes.
    pub require_verified_email: bool,
}

impl Default for RegistrationSettings {
    fn default() -> Self {
        Self {
            mode: RegistrationMode::Open,
            default_roles: vec!["user".into()],
            require_verified_email: true,
        }
    }
}

/// The whole configuration as read from defaults, file and environment.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    /// The issuer identifier: the public base URL of this server.
    pub issuer: String,
    /// Socket address to listen on.
    pub listen: String,
    /// `sqlite://...` or `postgres://...`.
    pub database_url: String,
    /// Directory holding the generated master key (single node).
    pub keys_dir: PathBuf,
    /// File holding the master key (base64 of 32 bytes); shared by all nodes.
    pub master_key_file: Option<PathBuf>,
    /// Directory whose templates override the built-in ones.
    pub templates_dir: Option<PathBuf>,
    /// `pretty` or `json`.
    pub log_format: LogFormat,
    /// Password of the `admin` user created on first start.
    pub admin_password: Option<String>,
    /// Argon2id parameters.
    pub password: PasswordSettings,
    /// Session lifetimes.
    pub session: SessionSettings,
    /// Token lifetimes and algorithms.
    pub tokens: TokenSettings,
    /// Pool settings.
    pub database: DatabaseSettings,
    /// The audit log.
    pub audit: AuditSettings,
    /// What signing out ends.
    pub logout: LogoutSettings,
    /// Reverse proxies (CIDR blocks or addresses) whose `X-Forwarded-For` is believed; a
    /// list in the file, comma-separated in `TESSERA_TRUSTED_PROXIES`.
    #[serde(deserialize_with = "list_or_commas")]
    pub trusted_proxies: Vec<String>,
    /// Who may register clients dynamically: `initial-token` or `open`.
    pub client_registration: ClientRegistration,
    /// Whether a `client_id` that is an https URL names the client's metadata document.
    pub client_metadata_documents: Switch,
    /// Resource indicators (RFC 8707) that self-registered and metadata-document clients may
    /// ask tokens for, such as your MCP servers (comma-separated in the variable).
    #[serde(deserialize_with = "list_or_commas")]
    pub open_resources: Vec<String>,
    /// How long a request may take before it is answered 503, in seconds.
    pub request_timeout_secs: u64,
    /// How long a call Tessera makes elsewhere may take (a client's keys or metadata
    /// document, an upstream provider), in seconds.
    pub outbound_timeout_secs: u64,
    /// Address of the separate Prometheus listener serving `/metrics` (e.g. `127.0.0.1:9464`);
    /// unset opens no extra port.
    pub metrics_listen: Option<String>,
    /// One access-log line per request at info (method, path, status, latency); off logs
    /// requests at debug only.
    pub log_access: bool,
    /// How long a client may take to send a request's header before the connection is
    /// closed, in seconds (slow-header attacks).
    pub header_read_timeout_secs: u64,
    /// Connections served at once; further ones wait in the listen backlog.
    pub max_connections: usize,
    /// How long a graceful shutdown waits for in-flight requests before closing the rest, in
    /// seconds.
    pub shutdown_timeout_secs: u64,
    /// How often expired rows are removed, in seconds.
    pub cleanup_interval_secs: u64,
    /// Outgoing mail.
    pub mail: MailSettings,
    /// Self-service sign-up.
    pub registration: RegistrationSettings,
    /// Throttling of password guessing.
    pub lockout: LockoutSettings,
    /// Two-factor authentication.
    pub mfa: MfaSettings,
    /// Pushed authorization requests.
    pub par: ParSettings,
    /// DPoP proofs.
    pub dpop: DpopSettings,
    /// Back-channel logout delivery.
    pub backchannel: BackchannelSettings,
    /// The device authorization grant.
    pub device: DeviceSettings,
    /// Upstream OpenID Connect providers (`[[upstream]]` tables; file only).
    pub upstream: Vec<UpstreamSettings>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            issuer: "http://127.0.0.1:8080".into(),
            listen: "127.0.0.1:8080".into(),
            database_url: "sqlite://tessera.db".into(),
            keys_dir: PathBuf::from("./keys"),
            master_key_file: None,
            templates_dir: None,
            log_format: LogFormat::Pretty,
            admin_password: None,
            password: PasswordSettings::default(),
            session: SessionSettings::default(),
            tokens: TokenSettings::default(),
            database: DatabaseSettings::default(),
            audit: AuditSettings::default(),
            logout: LogoutSettings::default(),
            trusted_proxies: Vec::new(),
            client_registration: ClientRegistration::InitialToken,
            client_metadata_documents: Switch::On,
            open_resources: Vec::new(),
            request_timeout_secs: 30,
            outbound_timeout_secs: 5,
            log_access: true,
            metrics_listen: None,
            header_read_timeout_secs: 30,
            max_connections: 1024,
            shutdown_timeout_secs: 10,
            cleanup_interval_secs: 300,
            mail: MailSettings::default(),
            registration: RegistrationSettings::default(),
            lockout: LockoutSettings::default(),
            mfa: MfaSettings::default(),
            par: ParSettings::default(),
            dpop: DpopSettings::default(),
            backchannel: BackchannelSettings::default(),
            device: DeviceSettings::default(),
            upstream: Vec::new(),
        }
    }
}

/// A figment error in a person's words: which file key or variable, what it must be (never
/// "expected i64"), and for an unknown key the closest known one.
fn explain(error: figment::Error, from_env: &[String]) -> String {
    use figment::error::Kind;
    let Some(error) = error.into_iter().next() else {
        return "the configuration could not be read".into();
    };
    let mut path = error.path.clone();
    if let Kind::UnknownField(field, _) = &error.kind
        && path.last() != Some(field)
    {
        path.push(field.clone());
    }
    let key = path.join(".");
    let place = if from_env.contains(&key) {
        format!(
            "the variable TESSERA_{}",
            key.to_uppercase().replace('.', "__")
        )
    } else {
        match error.metadata.as_ref().and_then(|m| m.source.as_ref()) {
            Some(figment::Source::File(file)) => format!("`{key}` in {}", file.display()),
            _ => format!("`{key}`"),
        }
    };
    match &error.kind {
        Kind::UnknownField(field, expected) => {
            let closest = expected
                .iter()
                .map(|known| (edit_distance(field, known), *known))
                .filter(|(distance, _)| *distance <= 3)
                .min();
            match closest {
                Some((_, known)) => format!("{place} names no setting; did you mean `{known}`?"),
                None => format!(
                    "{place} names no setting; known here: {}",
                    expected.join(", ")
                ),
            }
        }
        Kind::InvalidType(actual, expected) | Kind::InvalidValue(actual, expected) => {
            format!("{place} must be {}, not {actual}", in_words(expected))
        }
        Kind::UnknownVariant(actual, expected) => {
            format!(
                "{place} cannot be `{actual}`; use one of: {}",
                expected.join(", ")
            )
        }
        other => format!("{place}: {other}"),
    }
}

/// A serde type name as a person would say it.
fn in_words(expected: &str) -> String {
    let integer = ["i64", "u64", "u32", "u16", "u8", "i32", "usize", "isize"];
    if integer.iter().any(|t| expected.contains(t)) {
        "a whole number".into()
    } else if expected.contains("bool") {
        "true or false".into()
    } else if expected.contains("sequence") {
        "a list".into()
    } else if expected.contains("string") {
        "text".into()
    } else {
        expected.to_string()
    }
}

/// Levenshtein distance, for suggesting the key a typo meant.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let current = row[j + 1];
            row[j + 1] = (previous + usize::from(ca != *cb))
                .min(row[j] + 1)
                .min(current + 1);
            previous = current;
        }
    }
    row[b.len()]
}

/// Why the configuration could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file or environment could not be read or has an unknown key or a wrongly typed value.
    #[error("{0}")]
    Load(String),
    /// A setting has a value that cannot work.
    #[error("invalid setting `{setting}`: {reason}")]
    Invalid {
        /// The setting's name as written in the file.
        setting: &'static str,
        /// What is wrong with it.
        reason: String,
    },
}

fn invalid(setting: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        setting,
        reason: reason.into(),
    }
}

/// The validated configuration the server runs with.
#[derive(Debug, Clone)]
pub struct Config {
    /// Raw settings (validated).
    pub settings: Settings,
    /// The issuer, without a trailing slash.
    pub issuer: String,
    /// Whether the issuer is https (cookies then get `Secure` and `__Host-`).
    pub secure_cookies: bool,
    /// The parsed listen address.
    pub listen: SocketAddr,
    /// The parsed `trusted_proxies`.
    pub trusted_proxies: Vec<ipnet::IpNet>,
}

impl Settings {
    /// Loads settings: defaults, then the file (`path`, else `./tessera.toml` when present),
    /// then `TESSERA_*` variables from `env` (nested sections use `__`).
    pub fn load(
        path: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Settings, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(Settings::default()));
        match path {
            Some(path) => {
                if !path.is_file() {
                    return Err(ConfigError::Load(format!(
                        "configuration file {} does not exist",
                        path.display()
                    )));
                }
                figment = figment.merge(Toml::file_exact(path));
            }
            None => {
                if Path::new("tessera.toml").is_file() {
                    figment = figment.merge(Toml::file_exact("tessera.toml"));
                }
            }
        }
        let keys = setting_keys();
        let vars: Vec<(String, String)> = env
            .into_iter()
            .filter_map(|(k, v)| {
                let rest = k.strip_prefix("TESSERA_")?.to_ascii_lowercase();
                let top = rest.split("__").next().unwrap_or_default().to_string();
                keys.contains(&top).then_some((rest, v))
            })
            .collect();
        let defaults = top_level_defaults();
        let from_env: Vec<String> = vars.iter().map(|(k, _)| k.replace("__", ".")).collect();
        for (key, value) in vars {
            // A top-level setting whose default is text stays text (a password of digits stays
            // a string); numbers, flags and section values are typed.
            let textual = defaults
                .get(&key)
                .is_some_and(|d| d.is_string() || d.is_null());
            let value = if !textual {
                env_value(&value)
            } else {
                figment::value::Value::from(value)
            };
            let key = key.replace("__", ".");
            let parsed = Serialized::default(&key, value);
            figment = figment.merge(parsed);
        }
        figment
            .extract::<Settings>()
            .map_err(|e| ConfigError::Load(explain(e, &from_env)))
    }

    /// Checks every value and derives the runtime configuration.
    pub fn validate(self) -> Result<Config, ConfigError> {
        let issuer_url = Url::parse(&self.issuer)
            .map_err(|e| invalid("issuer", format!("not an absolute URL ({e})")))?;
        if !matches!(issuer_url.scheme(), "http" | "https") {
            return Err(invalid(
                "issuer",
                "must use https (or http for development)",
            ));
        }
        if issuer_url.query().is_some() || issuer_url.fragment().is_some() {
            return Err(invalid("issuer", "must not have a query or fragment"));
        }
        if issuer_url.host_str().is_none() {
            return Err(invalid("issuer", "must have a host"));
        }
        let issuer = self.issuer.trim_end_matches('/').to_string();
        let listen: SocketAddr = self
            .listen
            .parse()
            .map_err(|_| invalid("listen", "expected an address like 127.0.0.1:8080"))?;
        if let Some(metrics) = &self.metrics_listen {
            metrics.parse::<SocketAddr>().map_err(|_| {
                invalid("metrics_listen", "expected an address like 127.0.0.1:9464")
            })?;
        }
        if !(self.database_url.starts_with("sqlite:")
            || self.database_url.starts_with("postgres:")
            || self.database_url.starts_with("postgresql:"))
        {
            return Err(invalid(
                "database_url",
                "expected sqlite://PATH or postgres://USER@HOST/DB",
            ));
        }
        argon2::Params::new(
            self.password.memory_kib,
            self.password.iterations,
            self.password.parallelism,
            None,
        )
        .map_err(|e| invalid("password", format!("argon2 parameters rejected: {e}")))?;
        if self.password.memory_kib < 8 * 1024 {
            return Err(invalid("password.memory_kib", "must be at least 8192"));
        }
        if self.password.max_concurrent == 0 {
            return Err(invalid("password.max_concurrent", "must be at least 1"));
        }
        positive("session.idle_timeout_secs", self.session.idle_timeout_secs)?;
        positive("lockout.duration_secs", self.lockout.duration_secs)?;
        positive(
            "session.pending_requests_per_ip",
            self.session.pending_requests_per_ip,
        )?;
        positive(
            "session.pending_requests_total",
            self.session.pending_requests_total,
        )?;
        positive("session.max_lifetime_secs", self.session.max_lifetime_secs)?;
        positive("session.remember_me_days", self.session.remember_me_days)?;
        positive(
            "tokens.access_token_ttl_secs",
            self.tokens.access_token_ttl_secs,
        )?;
        positive("tokens.id_token_ttl_secs", self.tokens.id_token_ttl_secs)?;
        positive(
            "tokens.refresh_token_ttl_secs",
            self.tokens.refresh_token_ttl_secs,
        )?;
        if self.tokens.key_refresh_secs == 0 {
            return Err(invalid("tokens.key_refresh_secs", "must be at least 1"));
        }
        if self.database.max_connections == 0 {
            return Err(invalid("database.max_connections", "must be at least 1"));
        }
        if !(10..=60_000).contains(&self.database.checkpoint_interval_ms) {
            return Err(invalid(
                "database.checkpoint_interval_ms",
                "must be between 10 and 60000",
            ));
        }
        if let Some(pw) = &self.admin_password
            && pw.chars().count() < self.password.min_length
        {
            return Err(invalid(
                "admin_password",
                format!(
                    "must have at least {} characters (password.min_length)",
                    self.password.min_length
                ),
            ));
        }
        positive(
            "session.touch_interval_secs",
            self.session.touch_interval_secs,
        )?;
        positive("session.request_ttl_secs", self.session.request_ttl_secs)?;
        positive("tokens.code_ttl_secs", self.tokens.code_ttl_secs)?;
        if self.tokens.code_ttl_secs > 600 {
            return Err(invalid(
                "tokens.code_ttl_secs",
                "must be at most 600 (RFC 6749 §4.1.2)",
            ));
        }
        positive("audit.retention_days", self.audit.retention_days)?;
        if self.outbound_timeout_secs == 0 {
            return Err(invalid("outbound_timeout_secs", "must be at least 1"));
        }
        if self.request_timeout_secs == 0 {
            return Err(invalid("request_timeout_secs", "must be at least 1"));
        }
        if self.cleanup_interval_secs == 0 {
            return Err(invalid("cleanup_interval_secs", "must be at least 1"));
        }
        if !(8..=128).contains(&self.password.min_length) {
            return Err(invalid("password.min_length", "must be between 8 and 128"));
        }
        if self.password.niceness > 19 {
            return Err(invalid("password.niceness", "must be between 0 and 19"));
        }
        if self.password.min_score > 4 {
            return Err(invalid("password.min_score", "must be between 0 and 4"));
        }
        if let Some(url) = &self.mail.smtp_url {
            check_smtp_url(url)?;
        }
        positive("par.lifetime_secs", self.par.lifetime_secs)?;
        positive("device.interval_secs", self.device.interval_secs)?;
        positive("device.lifetime_secs", self.device.lifetime_secs)?;
        positive("dpop.proof_max_age_secs", self.dpop.proof_max_age_secs)?;
        positive("dpop.nonce_lifetime_secs", self.dpop.nonce_lifetime_secs)?;
        positive(
            "backchannel.retry_initial_secs",
            self.backchannel.retry_initial_secs,
        )?;
        positive(
            "backchannel.retry_max_secs",
            self.backchannel.retry_max_secs,
        )?;
        positive("backchannel.max_attempts", self.backchannel.max_attempts)?;
        if self.backchannel.poll_interval_ms == 0 || self.backchannel.timeout_secs == 0 {
            return Err(invalid(
                "backchannel",
                "poll_interval_ms and timeout_secs must be at least 1",
            ));
        }
        if self.mail.poll_interval_ms == 0 {
            return Err(invalid("mail.poll_interval_ms", "must be at least 1"));
        }
        positive("mail.retry_initial_secs", self.mail.retry_initial_secs)?;
        positive("mail.retry_max_secs", self.mail.retry_max_secs)?;
        let trusted_proxies = parse_networks(&self.trusted_proxies)?;
        let secure_cookies = issuer_url.scheme() == "https";
        Ok(Config {
            trusted_proxies,
            issuer,
            secure_cookies,
            listen,
            settings: self,
        })
    }
}

/// `smtp://`, `smtp+starttls://` or `smtps://` with a host.
fn check_smtp_url(url: &str) -> Result<(), ConfigError> {
    let parsed =
        Url::parse(url).map_err(|e| invalid("mail.smtp_url", format!("not a URL ({e})")))?;
    if !matches!(parsed.scheme(), "smtp" | "smtp+starttls" | "smtps") {
        return Err(invalid(
            "mail.smtp_url",
            "use smtp://host:port, smtp+starttls://host:port or smtps://host:port",
        ));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(invalid("mail.smtp_url", "must name a host"));
    }
    Ok(())
}

/// A list, or one string of comma-separated items (how environment variables carry lists).
fn list_or_commas<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum ListOrString {
        List(Vec<String>),
        Text(String),
    }
    Ok(match ListOrString::deserialize(d)? {
        ListOrString::List(items) => items,
        ListOrString::Text(text) => text
            .split(',')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect(),
    })
}

/// Parses CIDR blocks, a bare address meaning just that address.
fn parse_networks(items: &[String]) -> Result<Vec<ipnet::IpNet>, ConfigError> {
    items
        .iter()
        .map(|item| {
            item.parse::<ipnet::IpNet>()
                .or_else(|_| item.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| {
                    invalid(
                        "trusted_proxies",
                        format!("'{item}' is not an address or CIDR block like 10.0.0.0/8"),
                    )
                })
        })
        .collect()
}

fn positive(setting: &'static str, value: i64) -> Result<(), ConfigError> {
    if value <= 0 {
        return Err(invalid(setting, "must be a positive number"));
    }
    Ok(())
}

/// Environment values are strings; parse them the way figment parses its own `Env` provider
/// so numbers and booleans reach typed fields.
fn env_value(value: &str) -> figment::value::Value {
    value
        .parse()
        .unwrap_or_else(|_| figment::value::Value::from(value.to_string()))
}

impl Config {
    /// The From address of outgoing mail.
    pub fn mail_from(&self) -> String {
        self.settings.mail.from.clone().unwrap_or_else(|| {
            let host = Url::parse(&self.issuer)
                .ok()
                .and_then(|u| u.host_str().map(str::to_string))
                .unwrap_or_else(|| "localhost".into());
            // An address cannot name a bare IP here; an issuer on an IP is a development
            // setup, whose mail stays local anyway.
            let domain = if host
                .trim_matches(['[', ']'])
                .parse::<std::net::IpAddr>()
                .is_ok()
            {
                "localhost".to_string()
            } else {
                host
            };
            format!("Tessera <no-reply@{domain}>")
        })
    }

    /// Takes note of the address the listener got. With `listen` on port 0 the port is known
    /// only once bound, so an issuer left at its default (which names port 8080) becomes
    /// `http://{bound}`: the server's own URLs then reach it.
    pub fn adopt_bound_address(&mut self, bound: SocketAddr) {
        if self.listen.port() == 0 && self.settings.issuer == Settings::default().issuer {
            self.issuer = format!("http://{bound}");
            self.settings.issuer = self.issuer.clone();
        }
    }

    /// Whether the issuer host is a loopback address (development).
    pub fn issuer_is_loopback(&self) -> bool {
        Url::parse(&self.issuer)
            .ok()
            .and_then(|u| u.host_str().map(is_loopback_host))
            .unwrap_or(false)
    }

    /// Warnings about insecure settings, printed loudly at start.
    pub fn warnings(&self) -> Vec<String> {
        let mut warnings = Vec::new();
        if !self.secure_cookies && !self.issuer_is_loopback() {
            warnings.push(format!(
                "issuer {} is plain http on a non-loopback host: tokens and passwords travel unencrypted; use https",
                self.issuer
            ));
        }
        if self.settings.master_key_file.is_none()
            && self.settings.database_url.starts_with("postgres")
        {
            warnings.push(
                "no master_key_file is set while using PostgreSQL: every node must share one master key (TESSERA_MASTER_KEY_FILE)".into(),
            );
        }
        if self.settings.lockout.threshold == 0 {
            warnings.push(
                "lockout.threshold is 0: password guessing against one account is not slowed"
                    .into(),
            );
        }
        if self.settings.lockout.ip_threshold == 0 {
            warnings.push(
                "lockout.ip_threshold is 0: password spraying from one address is not slowed"
                    .into(),
            );
        }
        if self.settings.password.memory_kib < 19_456 {
            warnings.push("password.memory_kib is below the OWASP minimum of 19456".into());
        }
        warnings
    }

    /// The effective settings as TOML, with secrets redacted.
    pub fn redacted_toml(&self) -> String {
        let mut settings = self.settings.clone();
        if settings.admin_password.is_some() {
            settings.admin_password = Some("[redacted]".into());
        }
        for upstream in &mut settings.upstream {
            if upstream.client_secret.is_some() {
                upstream.client_secret = Some("[redacted]".into());
            }
        }
        settings.mail.smtp_url = settings.mail.smtp_url.as_deref().map(redact_url_password);
        settings.database_url = redact_url_password(&settings.database_url);
        toml_string(&settings)
    }
}

fn toml_string(settings: &Settings) -> String {
    match serde_json::to_value(settings) {
        Ok(value) => json_to_toml(&value),
        Err(e) => format!("# could not print settings: {e}"),
    }
}

/// A small TOML printer for the shape of [`Settings`]: flat keys, `[sections]`, and arrays
/// of tables (`[[upstream]]`).
fn json_to_toml(value: &serde_json::Value) -> String {
    use serde_json::Value;
    let mut top = String::new();
    let mut sections = String::new();
    let table = |out: &mut String, inner: &serde_json::Map<String, Value>| {
        for (k, v) in inner {
            if !v.is_null() {
                out.push_str(&format!("{k} = {}\n", inline(v)));
            }
        }
    };
    if let Some(map) = value.as_object() {
        for (key, v) in map {
            match v {
                Value::Object(inner) => {
                    sections.push_str(&format!("\n[{key}]\n"));
                    table(&mut sections, inner);
                }
                Value::Array(items) if !items.is_empty() && items.iter().all(Value::is_object) => {
                    for item in items.iter().filter_map(Value::as_object) {
                        sections.push_str(&format!("\n[[{key}]]\n"));
                        table(&mut sections, item);
                    }
                }
                Value::Null => top.push_str(&format!("# {key} is not set\n")),
                other => top.push_str(&format!("{key} = {}\n", inline(other))),
            }
        }
    }
    top + &sections
}

/// A value as TOML on one line: JSON's strings, numbers, booleans and arrays are TOML's
/// too; an object becomes an inline table.
fn inline(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::Object(map) => {
            let pairs: Vec<String> = map
                .iter()
                .map(|(k, v)| format!("{} = {}", serde_json::Value::from(k.as_str()), inline(v)))
                .collect();
            format!("{{ {} }}", pairs.join(", "))
        }
        other => other.to_string(),
    }
}

/// A URL with its password replaced, for logs and printed settings.
pub fn redact_url_password(url: &str) -> String {
    match Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("redacted"));
            parsed.to_string()
        }
        _ => url.to_string(),
    }
}
