//! Settings: built-in defaults, then `tessera.toml`, then `TESSERA_*` environment variables.
//! Validated once at start; the rest of the program reads only the validated [`Settings`].
//! Owns no I/O beyond reading the configuration file.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Format, Serialized, Toml};
use serde::{Deserialize, Serialize};
use url::Url;

/// Top-level keys that may be set from the environment (`TESSERA_<KEY>`, sections with `__`).
const ENV_KEYS: &[&str] = &[
    "issuer",
    "listen",
    "database_url",
    "keys_dir",
    "master_key_file",
    "templates_dir",
    "log_format",
    "admin_password",
    "password",
    "session",
    "tokens",
    "database",
];

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    Pretty,
    /// One JSON object per line.
    Json,
}

/// Signature algorithms Tessera can sign with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SigningAlg {
    /// RSASSA-PKCS1-v1_5 with SHA-256 (required by OpenID Connect).
    RS256,
    /// ECDSA P-256 with SHA-256.
    ES256,
    /// Ed25519.
    EdDSA,
}

impl SigningAlg {
    /// Every supported algorithm, in the order keys are generated.
    pub const ALL: [SigningAlg; 3] = [SigningAlg::RS256, SigningAlg::ES256, SigningAlg::EdDSA];

    /// The JOSE name of the algorithm.
    pub fn as_str(self) -> &'static str {
        match self {
            SigningAlg::RS256 => "RS256",
            SigningAlg::ES256 => "ES256",
            SigningAlg::EdDSA => "EdDSA",
        }
    }

    /// Parses a JOSE algorithm name.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|alg| alg.as_str() == name)
    }
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
}

impl Default for PasswordSettings {
    fn default() -> Self {
        Self {
            memory_kib: 19_456,
            iterations: 2,
            parallelism: 1,
            max_concurrent: 4,
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
}

impl Default for SessionSettings {
    fn default() -> Self {
        Self {
            idle_timeout_secs: 3600,
            max_lifetime_secs: 12 * 3600,
            remember_me_days: 30,
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
}

impl Default for TokenSettings {
    fn default() -> Self {
        Self {
            access_token_ttl_secs: 600,
            id_token_ttl_secs: 600,
            refresh_token_ttl_secs: 30 * 24 * 3600,
            access_token_alg: SigningAlg::ES256,
            key_refresh_secs: 60,
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
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        Self {
            max_connections: 16,
            acquire_timeout_secs: 3,
            startup_timeout_secs: 60,
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
        }
    }
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
        let vars: Vec<(String, String)> = env
            .into_iter()
            .filter_map(|(k, v)| {
                let rest = k.strip_prefix("TESSERA_")?.to_ascii_lowercase();
                let top = rest.split("__").next().unwrap_or_default().to_string();
                ENV_KEYS.contains(&top.as_str()).then_some((rest, v))
            })
            .collect();
        for (key, value) in vars {
            // Top-level settings are all strings; only section values are typed.
            let value = if key.contains("__") {
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
            .map_err(|e| ConfigError::Load(e.to_string()))
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
        if let Some(pw) = &self.admin_password
            && pw.chars().count() < 8
        {
            return Err(invalid("admin_password", "must have at least 8 characters"));
        }
        let secure_cookies = issuer_url.scheme() == "https";
        Ok(Config {
            issuer,
            secure_cookies,
            listen,
            settings: self,
        })
    }
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

/// A small TOML printer for the flat-plus-sections shape of [`Settings`].
fn json_to_toml(value: &serde_json::Value) -> String {
    let mut top = String::new();
    let mut sections = String::new();
    if let Some(map) = value.as_object() {
        for (key, v) in map {
            match v {
                serde_json::Value::Object(inner) => {
                    sections.push_str(&format!("\n[{key}]\n"));
                    for (k, v) in inner {
                        sections.push_str(&format!("{k} = {v}\n"));
                    }
                }
                serde_json::Value::Null => top.push_str(&format!("# {key} is not set\n")),
                other => top.push_str(&format!("{key} = {other}\n")),
            }
        }
    }
    top + &sections
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

/// Whether a host name or address is loopback.
pub fn is_loopback_host(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    host.parse::<std::net::IpAddr>()
        .map(|ip| ip.is_loopback())
        .unwrap_or(false)
}
