//! The CLI, run as the real binary against a real database.

use std::io::Write;
use std::process::{Command, Stdio};

use crate::children::{Output, start};
use crate::helpers::{fresh_database, spawn_app};

struct Cli {
    dir: tempfile::TempDir,
    database_url: String,
    _guard: Option<crate::helpers::PgDatabase>,
}

impl Cli {
    async fn new() -> Cli {
        let dir = tempfile::tempdir().unwrap();
        let (database_url, guard) = fresh_database(dir.path()).await;
        crate::shared_keys::install(&dir.path().join("keys"), &database_url).await;
        Cli {
            dir,
            database_url,
            _guard: guard,
        }
    }

    /// The `tessera` command with `args`, on this database and keys directory.
    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_tessera"));
        command
            .args(args)
            .current_dir(self.dir.path())
            .env("TESSERA_DATABASE_URL", &self.database_url)
            .env("TESSERA_KEYS_DIR", self.dir.path().join("keys"))
            .env("TESSERA_PASSWORD__MEMORY_KIB", "8192")
            .env("TESSERA_PASSWORD__ITERATIONS", "1")
            .env_remove("TESSERA_CONFIG");
        command
    }

    fn run(&self, args: &[&str], stdin: Option<&str>) -> (bool, String, String) {
        let mut child = self
            .command(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("tessera binary runs");
        if let Some(input) = stdin {
            child
                .stdin
                .take()
                .unwrap()
                .write_all(input.as_bytes())
                .unwrap();
        } else {
            drop(child.stdin.take());
        }
        let out = child.wait_with_output().unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into(),
            String::from_utf8_lossy(&out.stderr).into(),
        )
    }

    fn json(&self, args: &[&str], stdin: Option<&str>) -> serde_json::Value {
        let (ok, out, err) = self.run(args, stdin);
        assert!(ok, "{args:?} failed: {err}");
        serde_json::from_str(out.trim())
            .unwrap_or_else(|e| panic!("{args:?} printed no JSON ({e}): {out}"))
    }
}

#[tokio::test]
async fn user_commands_create_list_change_and_delete() {
    let cli = Cli::new().await;
    let created = cli.json(
        &[
            "user",
            "add",
            "--username",
            "alice",
            "--email",
            "alice@example.com",
            "--role",
            "user",
            "--password-stdin",
            "--json",
        ],
        Some("a strong password\n"),
    );
    assert_eq!(created["username"], "alice");
    assert_eq!(created["roles"], serde_json::json!(["user"]));
    assert!(created.get("password").is_none());

    let generated = cli.json(
        &[
            "user",
            "add",
            "--username",
            "bob",
            "--email",
            "bob@example.com",
            "--json",
        ],
        None,
    );
    assert!(generated["password"].as_str().unwrap().len() >= 32);

    let (ok, _, err) = cli.run(
        &[
            "user",
            "add",
            "--username",
            "alice",
            "--email",
            "other@example.com",
        ],
        None,
    );
    assert!(!ok);
    assert!(err.contains("already taken"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "errors are one line: {err}");

    let (ok, _, err) = cli.run(
        &[
            "user",
            "add",
            "--username",
            "x y",
            "--email",
            "c@example.com",
        ],
        None,
    );
    assert!(!ok && err.contains("username"), "{err}");
    let (ok, _, err) = cli.run(
        &["user", "add", "--username", "carol", "--email", "nope"],
        None,
    );
    assert!(!ok && err.contains("email"), "{err}");
    let (ok, _, err) = cli.run(
        &[
            "user",
            "add",
            "--username",
            "carol",
            "--email",
            "c@example.com",
            "--role",
            "wizard",
        ],
        None,
    );
    assert!(!ok && err.contains("wizard"), "{err}");

    assert!(
        cli.run(
            &["role", "add", "billing", "--description", "Billing staff"],
            None
        )
        .0
    );
    assert!(
        cli.run(&["user", "set-roles", "alice", "admin", "billing"], None)
            .0
    );
    let (ok, _, err) = cli.run(
        &["user", "set-password", "alice", "--password-stdin"],
        Some("short\n"),
    );
    assert!(!ok && err.contains("at least 15"), "{err}");
    let (ok, _, err) = cli.run(
        &["user", "set-password", "alice", "--password-stdin"],
        Some("passwordpassword\n"),
    );
    assert!(!ok && err.contains("guess"), "a guessable password: {err}");
    assert_eq!(err.lines().count(), 1, "errors are one line: {err}");
    assert!(
        cli.run(
            &["user", "set-password", "ALICE", "--password-stdin"],
            Some("another long password\n")
        )
        .0
    );
    assert!(cli.run(&["user", "disable", "alice@example.com"], None).0);

    let list = cli.json(&["user", "list", "--json"], None);
    let alice = list
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["username"] == "alice")
        .unwrap();
    assert_eq!(alice["roles"], serde_json::json!(["admin", "billing"]));
    assert_eq!(alice["enabled"], false);

    assert!(cli.run(&["user", "enable", "alice"], None).0);
    assert!(cli.run(&["user", "delete", "bob"], None).0);
    let list = cli.json(&["user", "list", "--json"], None);
    assert_eq!(list.as_array().unwrap().len(), 1);
    let (ok, _, err) = cli.run(&["user", "delete", "bob"], None);
    assert!(!ok && err.contains("not found"), "{err}");
}

#[tokio::test]
async fn client_and_key_commands() {
    let cli = Cli::new().await;
    let client = cli.json(
        &[
            "client",
            "add",
            "--name",
            "My App",
            "--redirect-uri",
            "https://app.example.com/cb",
            "--scopes",
            "openid",
            "profile",
            "--json",
        ],
        None,
    );
    let id = client["client_id"].as_str().unwrap().to_string();
    assert_eq!(client["client_secret"].as_str().unwrap().len(), 43);
    assert_eq!(client["scopes"], serde_json::json!(["openid", "profile"]));

    let public = cli.json(
        &[
            "client",
            "add",
            "--name",
            "SPA",
            "--public",
            "--redirect-uri",
            "http://localhost:5173/cb",
            "--json",
        ],
        None,
    );
    assert!(public["client_secret"].is_null());

    let (ok, _, err) = cli.run(
        &[
            "client",
            "add",
            "--name",
            "Bad",
            "--redirect-uri",
            "http://evil.example.com/cb",
        ],
        None,
    );
    assert!(!ok && err.contains("https"), "{err}");
    let (ok, _, err) = cli.run(
        &[
            "client",
            "add",
            "--name",
            "Bad",
            "--redirect-uri",
            "https://a.example.com/cb",
            "--grant-types",
            "implicit",
        ],
        None,
    );
    assert!(!ok && err.contains("implicit"), "{err}");

    let rotated = cli.json(&["client", "rotate-secret", &id, "--json"], None);
    assert_ne!(rotated["client_secret"], client["client_secret"]);
    let shown = cli.json(&["client", "show", &id, "--json"], None);
    assert_eq!(shown["name"], "My App");
    assert_eq!(
        cli.json(&["client", "list", "--json"], None)
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert!(cli.run(&["client", "delete", &id], None).0);
    assert!(!cli.run(&["client", "show", &id], None).0);

    let keys = cli.json(&["keys", "list", "--json"], None);
    assert_eq!(keys.as_array().unwrap().len(), 3);
    let rotated = cli.json(&["keys", "rotate", "--alg", "RS256", "--json"], None);
    assert_eq!(rotated["created"].as_array().unwrap().len(), 1);
    let keys = cli.json(&["keys", "list", "--json"], None);
    let states: Vec<_> = keys
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["state"].as_str().unwrap().to_string())
        .collect();
    assert!(states.contains(&"next".to_string()), "{states:?}");
}

#[tokio::test]
async fn config_check_and_help() {
    let cli = Cli::new().await;
    let (ok, out, _) = cli.run(&["config", "check"], None);
    assert!(ok);
    assert!(out.contains("issuer = \"http://127.0.0.1:8080\""), "{out}");
    let (ok, out, _) = cli.run(&["--help"], None);
    assert!(
        ok && out.contains("serve") && out.contains("client"),
        "{out}"
    );
    let (ok, out, _) = cli.run(&["client", "add", "--help"], None);
    assert!(
        ok && out.contains("--redirect-uri") && out.contains("--skip-consent"),
        "{out}"
    );
    let (ok, _, err) = cli.run(&["--config", "missing.toml", "config", "check"], None);
    assert!(!ok && err.contains("missing.toml"), "{err}");
}

#[tokio::test]
async fn cli_sees_what_the_server_created() {
    let app = spawn_app().await;
    let (ok, out, err) = app.cli(&["user", "list", "--json"], None).await;
    assert!(ok, "{err}");
    let list: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(list[0]["username"], "admin");
    assert_eq!(list[0]["roles"], serde_json::json!(["admin", "user"]));
}

#[tokio::test]
async fn roles_built_in_stay_custom_ones_leave_users_and_clients_and_new_users_get_default_roles() {
    let cli = Cli::new().await;
    let (ok, _, err) = cli.run(&["role", "delete", "user"], None);
    assert!(!ok && err.contains("built-in"), "{err}");
    assert!(cli.run(&["role", "add", "billing"], None).0);
    let created = cli.json(
        &[
            "user",
            "add",
            "--username",
            "olga",
            "--email",
            "olga@example.com",
            "--json",
        ],
        None,
    );
    assert_eq!(
        created["roles"],
        serde_json::json!(["user"]),
        "default roles"
    );
    assert!(
        cli.run(&["user", "set-roles", "olga", "user", "billing"], None)
            .0
    );
    let client = cli.json(
        &[
            "client",
            "add",
            "--name",
            "Billing",
            "--grant-types",
            "client_credentials",
            "--role",
            "billing",
            "--json",
        ],
        None,
    );
    let (ok, out, err) = cli.run(&["role", "delete", "billing"], None);
    assert!(ok, "{err}");
    assert!(out.contains("1 user(s) and 1 client(s)"), "{out}");
    let shown = cli.json(
        &[
            "client",
            "show",
            client["client_id"].as_str().unwrap(),
            "--json",
        ],
        None,
    );
    assert_eq!(
        shown["roles"],
        serde_json::json!([]),
        "the client lost the role"
    );
    let (ok, out, _) = cli.run(&["config", "check"], None);
    assert!(ok && out.starts_with("# configuration is valid"));
}

#[tokio::test]
async fn a_missing_sqlite_folder_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/missing/tessera.db", dir.path().display());
    let out = Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(["user", "list"])
        .env("TESSERA_DATABASE_URL", &url)
        .env("TESSERA_KEYS_DIR", dir.path().join("keys"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("missing") && err.contains("does not exist"),
        "{err}"
    );
}

#[cfg(unix)]
#[tokio::test]
async fn the_database_and_the_keys_folder_are_private_whichever_command_creates_them() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("tessera.db");
    let keys = dir.path().join("keys");
    let out = Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(["user", "list"])
        .env("TESSERA_DATABASE_URL", format!("sqlite://{}", db.display()))
        .env("TESSERA_KEYS_DIR", &keys)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&db), 0o600, "database file");
    assert_eq!(mode(&keys), 0o700, "keys folder");
    assert_eq!(mode(&keys.join("master.key")), 0o600, "master key");
    for side in ["tessera.db-wal", "tessera.db-shm"] {
        let path = dir.path().join(side);
        if path.exists() {
            assert_eq!(mode(&path), 0o600, "{side}");
        }
    }
}

#[tokio::test]
async fn serve_on_port_0_reports_the_address_it_got_and_names_it_as_issuer() {
    let cli = Cli::new().await;
    let mut command = tokio::process::Command::from(cli.command(&["serve"]));
    command
        .env("TESSERA_LISTEN", "127.0.0.1:0")
        .env("TESSERA_LOG_FORMAT", "json")
        .env("TESSERA_LOG", "info");
    // The start-up log line names the bound address in its `listen` field.
    let (_server, listen) = start(command, "tessera serve", Output::Stderr, |line| {
        let event: serde_json::Value = serde_json::from_str(line).ok()?;
        event["fields"]["listen"].as_str().map(str::to_string)
    })
    .await;
    let base = format!("http://{listen}");
    assert_ne!(base, "http://127.0.0.1:0");
    let discovery: serde_json::Value =
        reqwest::get(format!("{base}/.well-known/openid-configuration"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    assert_eq!(discovery["issuer"], base.as_str());
    assert_eq!(discovery["token_endpoint"], format!("{base}/token"));
}

#[tokio::test]
async fn db_backup_writes_a_private_consistent_copy_while_serving() {
    let app = crate::helpers::spawn_app().await;
    app.create_user("bea", "lamp orbit velvet cactus 42", &["user"])
        .await;
    let target = app.dir.path().join("backup.db");
    let target_arg = target.to_str().unwrap();
    let (ok, stdout, stderr) = app.cli(&["db", "backup", target_arg], None).await;
    if crate::helpers::postgres_url().is_some() {
        assert!(!ok && stderr.contains("pg_dump"), "{stderr}");
        return;
    }
    assert!(ok, "{stderr}");
    assert!(stdout.contains("backed up to"));
    let bytes = std::fs::read(&target).unwrap();
    assert!(bytes.starts_with(b"SQLite format 3\0"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&target).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    // The copy is a working database: a CLI pointed at it finds the user.
    let listed = tokio::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(["user", "list", "--json"])
        .current_dir(app.dir.path())
        .env("TESSERA_DATABASE_URL", format!("sqlite://{target_arg}"))
        .env("TESSERA_KEYS_DIR", app.dir.path().join("keys"))
        .env_remove("TESSERA_CONFIG")
        .output()
        .await
        .unwrap();
    assert!(String::from_utf8_lossy(&listed.stdout).contains("\"bea\""));
    let (again, _, stderr) = app.cli(&["db", "backup", target_arg], None).await;
    assert!(!again && stderr.contains("exists already"), "{stderr}");
}

#[tokio::test]
async fn json_logs_are_json_line_by_line_from_the_first_start_banner_on() {
    let cli = Cli::new().await;
    let mut command = tokio::process::Command::from(cli.command(&["serve"]));
    command
        .env("TESSERA_LISTEN", "127.0.0.1:0")
        .env("TESSERA_LOG_FORMAT", "json")
        .env_remove("TESSERA_ADMIN_PASSWORD")
        .env("TESSERA_LOG", "info");
    let lines = std::sync::Mutex::new(Vec::new());
    let (_server, listen) = start(command, "tessera serve", Output::Stderr, |line| {
        lines.lock().unwrap().push(line.to_string());
        let event: serde_json::Value = serde_json::from_str(line).ok()?;
        event["fields"]["listen"].as_str().map(str::to_string)
    })
    .await;
    let lines = lines.into_inner().unwrap();
    for line in lines.iter().filter(|l| !l.trim().is_empty()) {
        assert!(!line.contains('\u{1b}'), "no colour codes: {line:?}");
        let parsed: Result<serde_json::Value, _> = serde_json::from_str(line);
        assert!(parsed.is_ok(), "not JSON: {line:?}");
    }
    let reply = reqwest::get(format!("http://{listen}/healthz"))
        .await
        .unwrap();
    assert!(reply.status().is_success());
}
