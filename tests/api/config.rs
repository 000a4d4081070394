//! Configuration layering and errors.

use std::io::Write;

use tessera::config::{ConfigError, Settings};

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn file(contents: &str) -> tempfile::NamedTempFile {
    let mut f = tempfile::NamedTempFile::new().unwrap();
    f.write_all(contents.as_bytes()).unwrap();
    f
}

#[test]
fn defaults_apply_without_file_or_environment() {
    let settings = Settings::load(None, env(&[])).unwrap();
    assert_eq!(settings.issuer, "http://127.0.0.1:8080");
    assert_eq!(settings.listen, "127.0.0.1:8080");
    assert_eq!(settings.database_url, "sqlite://tessera.db");
    assert_eq!(settings.password.memory_kib, 19456);
    assert_eq!(settings.password.iterations, 2);
    assert_eq!(settings.session.remember_me_days, 30);
    settings.validate().unwrap();
}

#[test]
fn file_overrides_defaults_and_environment_overrides_file() {
    let f = file(
        "issuer = \"https://id.example.com\"\nlisten = \"0.0.0.0:9000\"\n[password]\nmemory_kib = 32768\n",
    );
    let settings = Settings::load(Some(f.path()), env(&[])).unwrap();
    assert_eq!(settings.issuer, "https://id.example.com");
    assert_eq!(settings.password.memory_kib, 32768);
    let settings = Settings::load(
        Some(f.path()),
        env(&[
            ("TESSERA_ISSUER", "https://login.example.org"),
            ("TESSERA_PASSWORD__MEMORY_KIB", "65536"),
            ("TESSERA_DATABASE_URL", "postgres://tessera@db/tessera"),
            ("TESSERA_KEYS_DIR", "/var/lib/tessera/keys"),
            ("UNRELATED", "x"),
        ]),
    )
    .unwrap();
    assert_eq!(settings.issuer, "https://login.example.org");
    assert_eq!(settings.listen, "0.0.0.0:9000");
    assert_eq!(settings.password.memory_kib, 65536);
    assert_eq!(settings.database_url, "postgres://tessera@db/tessera");
    assert_eq!(settings.keys_dir.to_str(), Some("/var/lib/tessera/keys"));
    let config = settings.validate().unwrap();
    assert!(config.secure_cookies);
}

#[test]
fn unknown_key_in_file_is_an_error_naming_the_key() {
    let f = file("isser = \"https://typo.example.com\"\n");
    let err = Settings::load(Some(f.path()), env(&[])).unwrap_err();
    assert!(err.to_string().contains("isser"), "{err}");
    let f = file("[password]\nmemory = 1\n");
    let err = Settings::load(Some(f.path()), env(&[])).unwrap_err();
    assert!(err.to_string().contains("memory"), "{err}");
}

#[test]
fn invalid_values_name_the_setting() {
    let cases = [
        ("TESSERA_ISSUER", "not a url", "issuer"),
        ("TESSERA_LISTEN", "localhost", "listen"),
        ("TESSERA_DATABASE_URL", "mysql://x", "database_url"),
        ("TESSERA_PASSWORD__MEMORY_KIB", "1024", "password"),
        (
            "TESSERA_SESSION__REMEMBER_ME_DAYS",
            "0",
            "session.remember_me_days",
        ),
        ("TESSERA_ADMIN_PASSWORD", "short", "admin_password"),
        (
            "TESSERA_DATABASE__CHECKPOINT_INTERVAL_MS",
            "0",
            "database.checkpoint_interval_ms",
        ),
    ];
    for (key, value, setting) in cases {
        let result = Settings::load(None, env(&[(key, value)])).and_then(Settings::validate);
        match result {
            Err(ConfigError::Invalid { setting: named, .. }) => {
                assert!(named.starts_with(setting), "{key}: {named}")
            }
            Err(ConfigError::Load(message)) => {
                panic!("{key} should be a validation error, got load error {message}")
            }
            Ok(_) => panic!("{key}={value} should be refused"),
        }
    }
    let err = Settings::load(None, env(&[("TESSERA_PASSWORD__ITERATIONS", "many")])).unwrap_err();
    assert!(
        err.to_string().contains("TESSERA_PASSWORD__ITERATIONS"),
        "{err}"
    );
}

#[test]
fn missing_config_file_is_an_error() {
    let err = Settings::load(
        Some(std::path::Path::new("/nonexistent/tessera.toml")),
        env(&[]),
    )
    .unwrap_err();
    assert!(err.to_string().contains("does not exist"));
}

#[test]
fn insecure_settings_are_warned_about_and_secrets_redacted() {
    let settings = Settings::load(
        None,
        env(&[
            ("TESSERA_ISSUER", "http://id.example.com"),
            ("TESSERA_ADMIN_PASSWORD", "super secret password"),
            ("TESSERA_DATABASE_URL", "postgres://u:hunter2@db/tessera"),
        ]),
    )
    .unwrap();
    let config = settings.validate().unwrap();
    assert!(config.warnings().iter().any(|w| w.contains("plain http")));
    let printed = config.redacted_toml();
    assert!(!printed.contains("super secret password"));
    assert!(!printed.contains("hunter2"));
}

#[test]
fn on_port_0_a_default_issuer_follows_the_bound_address_and_a_chosen_one_stays() {
    let bound: std::net::SocketAddr = "127.0.0.1:41234".parse().unwrap();
    let config_with = |pairs: &[(&str, &str)]| {
        Settings::load(None, env(pairs))
            .unwrap()
            .validate()
            .unwrap()
    };

    let mut config = config_with(&[("TESSERA_LISTEN", "127.0.0.1:0")]);
    config.adopt_bound_address(bound);
    assert_eq!(config.issuer, "http://127.0.0.1:41234");
    assert_eq!(config.settings.issuer, "http://127.0.0.1:41234");

    let mut config = config_with(&[
        ("TESSERA_LISTEN", "127.0.0.1:0"),
        ("TESSERA_ISSUER", "https://id.example.com"),
    ]);
    config.adopt_bound_address(bound);
    assert_eq!(
        config.issuer, "https://id.example.com",
        "a chosen issuer stays"
    );

    let mut config = config_with(&[]);
    config.adopt_bound_address("127.0.0.1:8080".parse().unwrap());
    assert_eq!(config.issuer, "http://127.0.0.1:8080");
}

#[test]
fn every_setting_is_reachable_from_the_environment() {
    let settings = Settings::load(
        None,
        env(&[
            ("TESSERA_MAIL__SMTP_URL", "smtp://127.0.0.1:2525"),
            ("TESSERA_MAIL__FROM", "Login <login@example.com>"),
            ("TESSERA_REGISTRATION__MODE", "invite"),
            ("TESSERA_REGISTRATION__DEFAULT_ROLES", "user,guest"),
            ("TESSERA_REGISTRATION__REQUIRE_VERIFIED_EMAIL", "false"),
            ("TESSERA_TRUSTED_PROXIES", "10.0.0.0/8, 127.0.0.1"),
            ("TESSERA_AUDIT__RETENTION_DAYS", "30"),
            ("TESSERA_LOGOUT__REVOKE_OFFLINE_GRANTS", "false"),
            ("TESSERA_REQUEST_TIMEOUT_SECS", "12"),
            ("TESSERA_CLEANUP_INTERVAL_SECS", "60"),
            ("TESSERA_DATABASE__CHECKPOINT_INTERVAL_MS", "500"),
            ("TESSERA_PASSWORD__MIN_LENGTH", "20"),
            ("TESSERA_ADMIN_PASSWORD", "123456789012345678901234"),
        ]),
    )
    .unwrap();
    assert_eq!(
        settings.mail.smtp_url.as_deref(),
        Some("smtp://127.0.0.1:2525")
    );
    assert_eq!(
        settings.mail.from.as_deref(),
        Some("Login <login@example.com>")
    );
    assert_eq!(
        settings.registration.mode,
        tessera::config::RegistrationMode::Invite
    );
    assert_eq!(settings.registration.default_roles, vec!["user", "guest"]);
    assert!(!settings.registration.require_verified_email);
    assert_eq!(settings.trusted_proxies, vec!["10.0.0.0/8", "127.0.0.1"]);
    assert_eq!(settings.audit.retention_days, 30);
    assert!(!settings.logout.revoke_offline_grants);
    assert_eq!(settings.request_timeout_secs, 12);
    assert_eq!(settings.cleanup_interval_secs, 60);
    assert_eq!(settings.database.checkpoint_interval_ms, 500);
    assert_eq!(settings.password.min_length, 20);
    assert_eq!(
        settings.admin_password.as_deref(),
        Some("123456789012345678901234")
    );
    let config = settings.validate().unwrap();
    assert_eq!(config.trusted_proxies.len(), 2);
}

#[test]
fn unknown_tessera_variables_are_named_for_a_warning() {
    let unknown = tessera::config::unknown_variables(env(&[
        ("TESSERA_ISUER", "x"),
        ("TESSERA_MAIL__SMTP_URL", "smtp://h"),
        ("TESSERA_LOG", "debug"),
        ("PATH", "/bin"),
    ]));
    assert_eq!(unknown, vec!["TESSERA_ISUER".to_string()]);
}

#[test]
fn a_bad_trusted_proxy_or_smtp_url_names_its_setting() {
    let bad = |pairs: &[(&str, &str)]| {
        Settings::load(None, env(pairs))
            .unwrap()
            .validate()
            .unwrap_err()
            .to_string()
    };
    assert!(bad(&[("TESSERA_TRUSTED_PROXIES", "not-an-ip")]).contains("trusted_proxies"));
    assert!(bad(&[("TESSERA_MAIL__SMTP_URL", "http://mail")]).contains("mail.smtp_url"));
}

#[test]
fn defence_settings_come_from_their_variables_and_zero_is_warned_about() {
    let settings = Settings::load(
        None,
        env(&[
            ("TESSERA_LOCKOUT__THRESHOLD", "0"),
            ("TESSERA_LOCKOUT__DURATION_SECS", "120"),
            ("TESSERA_LOCKOUT__IP_THRESHOLD", "0"),
            ("TESSERA_MFA__REQUIRED_ROLES", "admin,auditor"),
            ("TESSERA_MAX_CONNECTIONS", "64"),
            ("TESSERA_HEADER_READ_TIMEOUT_SECS", "5"),
            ("TESSERA_SESSION__PENDING_REQUESTS_PER_IP", "7"),
        ]),
    )
    .unwrap();
    assert_eq!(settings.lockout.threshold, 0);
    assert_eq!(settings.lockout.duration_secs, 120);
    assert_eq!(settings.mfa.required_roles, ["admin", "auditor"]);
    assert_eq!(settings.max_connections, 64);
    assert_eq!(settings.header_read_timeout_secs, 5);
    assert_eq!(settings.session.pending_requests_per_ip, 7);
    let single = Settings::load(None, env(&[("TESSERA_MFA__REQUIRED_ROLES", "admin")])).unwrap();
    assert_eq!(single.mfa.required_roles, ["admin"]);
    let warnings = settings.validate().unwrap().warnings();
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("lockout.threshold is 0")),
        "{warnings:?}"
    );
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("lockout.ip_threshold is 0")),
        "{warnings:?}"
    );
}

#[test]
fn configuration_errors_name_the_key_or_variable_in_words_and_suggest_the_closest_key() {
    let f = file("isuer = \"https://typo.example.com\"\n");
    let err = Settings::load(Some(f.path()), env(&[]))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("`isuer`") && err.contains("did you mean `issuer`?"),
        "{err}"
    );
    assert!(
        err.contains(f.path().to_str().unwrap()),
        "names the file: {err}"
    );
    let f = file("[lockout]\nthreshhold = 3\n");
    let err = Settings::load(Some(f.path()), env(&[]))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("`lockout.threshhold`") && err.contains("`threshold`"),
        "{err}"
    );
    let err = Settings::load(None, env(&[("TESSERA_LOCKOUT__THRESHOLD", "many")]))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("TESSERA_LOCKOUT__THRESHOLD"),
        "names the variable: {err}"
    );
    assert!(err.contains("a whole number"), "{err}");
    assert!(
        !err.contains("i64") && !err.contains("u32") && !err.contains("src/"),
        "{err}"
    );
    let err = Settings::load(None, env(&[("TESSERA_REGISTRATION__MODE", "sometimes")]))
        .unwrap_err()
        .to_string();
    assert!(err.contains("open, invite, closed"), "{err}");
}

#[test]
fn upstream_providers_are_read_from_the_file_and_their_secrets_redacted() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tessera.toml");
    std::fs::write(
        &path,
        r#"
[[upstream]]
id = "corp"
name = "Sign in with Corp"
issuer = "https://id.corp.example"
client_id = "tessera"
client_secret = "corp-secret-value"
scopes = ["openid", "profile", "email"]
link_by_verified_email = false
create_users = true
roles_claim = "groups"
role_map = { "corp-admins" = "admin", "staff" = "user" }
default_roles = ["user"]
"#,
    )
    .unwrap();
    let settings = Settings::load(Some(&path), env(&[])).unwrap();
    let corp = &settings.upstream[0];
    assert_eq!(corp.role_map["corp-admins"], "admin");
    assert!(corp.create_users && !corp.trust_upstream_mfa);
    let printed = settings.validate().unwrap().redacted_toml();
    assert!(!printed.contains("corp-secret-value"), "{printed}");
    assert!(
        printed.contains("[[upstream]]") && printed.contains("Sign in with Corp"),
        "{printed}"
    );

    std::fs::write(
        &path,
        "[[upstream]]\nid = \"corp\"\nname = \"Corp\"\nisuer = \"x\"\n",
    )
    .unwrap();
    let err = Settings::load(Some(&path), env(&[]))
        .unwrap_err()
        .to_string();
    assert!(err.contains("isuer"), "{err}");
}
