//! `spawn_app()`: the whole server on port 0 with a fresh database (a temporary SQLite file,
//! or a fresh PostgreSQL database per test when `TEST_DATABASE_URL` is set), a test clock,
//! and a cookie-keeping HTTP client that does not follow redirects.

use std::sync::Arc;

use reqwest::StatusCode;
use reqwest::header::{HeaderMap, LOCATION};
use tessera::clock::TestClock;
use tessera::config::Settings;
use tessera::startup::Application;
use tessera::state::AppState;

/// The admin password every test server starts with.
pub const ADMIN_PASSWORD: &str = "correct horse battery staple";

/// A running test server.
pub struct TestApp {
    /// Base URL, also the issuer.
    pub address: String,
    /// The server's clock; tests move it instead of sleeping.
    pub clock: TestClock,
    /// The server's state (database, keys).
    pub state: AppState,
    /// A browser-like client: keeps cookies, does not follow redirects.
    pub http: reqwest::Client,
    /// The database URL, for a second node or the CLI.
    pub database_url: String,
    /// Temporary directory with the keys and the SQLite file.
    pub dir: Arc<tempfile::TempDir>,
    _database: Option<PgDatabase>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// A PostgreSQL database made for one test and dropped after it.
pub struct PgDatabase {
    admin_url: String,
    name: String,
}

impl PgDatabase {
    /// Creates a database; returns its guard and URL.
    pub async fn create(admin_url: &str) -> (PgDatabase, String) {
        use sqlx::Connection;
        let name = format!("tessera_test_{}", uuid::Uuid::new_v4().simple());
        let mut conn = sqlx::PgConnection::connect(admin_url)
            .await
            .expect("connect to TEST_DATABASE_URL");
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut conn)
            .await
            .expect("create test database");
        let url = with_database(admin_url, &name);
        (
            PgDatabase {
                admin_url: admin_url.to_string(),
                name,
            },
            url,
        )
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let admin_url = self.admin_url.clone();
        let name = self.name.clone();
        // Drop runs outside async context; a short-lived runtime on its own thread does it.
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async {
                use sqlx::Connection;
                if let Ok(mut conn) = sqlx::PgConnection::connect(&admin_url).await {
                    let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                    )))
                    .execute(&mut conn)
                    .await;
                }
            });
        })
        .join();
    }
}

fn with_database(url: &str, name: &str) -> String {
    let mut parsed = url::Url::parse(url).expect("TEST_DATABASE_URL is a URL");
    parsed.set_path(&format!("/{name}"));
    parsed.to_string()
}

/// The PostgreSQL server to test against, if any.
pub fn postgres_url() -> Option<String> {
    std::env::var("TEST_DATABASE_URL")
        .ok()
        .filter(|u| !u.is_empty())
}

/// Settings every test server uses: cheap-but-valid argon2 and a known admin password.
pub fn test_settings(dir: &std::path::Path, database_url: &str) -> Settings {
    let mut settings = Settings {
        database_url: database_url.to_string(),
        keys_dir: dir.join("keys"),
        admin_password: Some(ADMIN_PASSWORD.into()),
        ..Settings::default()
    };
    settings.password.memory_kib = 8192;
    settings.password.iterations = 1;
    settings
}

/// A fresh database URL (and its guard) for one test.
pub async fn fresh_database(dir: &std::path::Path) -> (String, Option<PgDatabase>) {
    match postgres_url() {
        Some(admin) => {
            let (guard, url) = PgDatabase::create(&admin).await;
            (url, Some(guard))
        }
        None => (
            format!("sqlite://{}", dir.join("tessera.db").display()),
            None,
        ),
    }
}

/// Starts a server with default test settings.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Starts a server after `adjust` has changed its settings.
pub async fn spawn_app_with(adjust: impl FnOnce(&mut Settings)) -> TestApp {
    let dir = Arc::new(tempfile::tempdir().expect("temp dir"));
    let (database_url, guard) = fresh_database(dir.path()).await;
    let mut settings = test_settings(dir.path(), &database_url);
    adjust(&mut settings);
    if settings.master_key_file.is_none() {
        crate::shared_keys::install(&settings.keys_dir, &database_url).await;
    }
    let mut app = spawn_node(settings, dir).await;
    app._database = guard;
    app
}

/// Starts a server with exactly these settings (a second node shares the first's database
/// and keys directory).
pub async fn spawn_node(mut settings: Settings, dir: Arc<tempfile::TempDir>) -> TestApp {
    // The server binds a free port itself, as `tessera serve` does with port 0; an issuer left
    // at its default then names that port, while a node joining another keeps that node's
    // issuer, as nodes behind one load balancer do.
    settings.listen = "127.0.0.1:0".into();
    let database_url = settings.database_url.clone();
    let config = settings.validate().expect("valid test settings");
    let clock = TestClock::new();
    let app = Application::build(config, Arc::new(clock.clone()))
        .await
        .expect("application builds");
    let address = format!("http://127.0.0.1:{}", app.port());
    serve(app, address, clock, database_url, dir)
}

/// Runs a built server in the background.
fn serve(
    app: Application,
    address: String,
    clock: TestClock,
    database_url: String,
    dir: Arc<tempfile::TempDir>,
) -> TestApp {
    let state = app.state().clone();
    let server = tokio::spawn(async move {
        let _ = app.run_until_stopped(std::future::pending()).await;
    });
    TestApp {
        address,
        clock,
        state,
        http: browser(),
        database_url,
        dir,
        _database: None,
        server,
    }
}

impl TestApp {
    /// A second node on this node's database, keys directory and issuer, as nodes behind one
    /// load balancer run.
    pub async fn second_node(&self) -> TestApp {
        let mut settings = test_settings(self.dir.path(), &self.database_url);
        settings.issuer = self.address.clone();
        spawn_node(settings, self.dir.clone()).await
    }
}

/// A new cookie-keeping client that does not follow redirects.
pub fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("http client")
}

/// The `value` of the hidden input named `name` in an HTML page.
pub fn hidden_input(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker)? + marker.len();
    let end = html[start..].find('"')?;
    Some(
        html[start..start + end]
            .replace("&#x2f;", "/")
            .replace("&amp;", "&"),
    )
}

/// The Location header of a redirect.
pub fn location(headers: &HeaderMap) -> String {
    headers
        .get(LOCATION)
        .and_then(|v| v.to_str().ok())
        .expect("a Location header")
        .to_string()
}

impl TestApp {
    /// An absolute URL on this server.
    pub fn url(&self, path: &str) -> String {
        if path.starts_with("http") {
            path.to_string()
        } else {
            format!("{}{path}", self.address)
        }
    }

    /// GET with the test browser.
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.http.get(self.url(path)).send().await.expect("GET")
    }

    /// The CSRF token of the login page (also sets the CSRF cookie).
    pub async fn login_form(&self, query: &str) -> String {
        let page = self
            .get(&format!("/login{query}"))
            .await
            .text()
            .await
            .expect("body");
        hidden_input(&page, "csrf_token").expect("csrf token on the login page")
    }

    /// Submits the login form.
    pub async fn post_login(
        &self,
        username: &str,
        password: &str,
        remember: bool,
        interaction: Option<&str>,
    ) -> reqwest::Response {
        self.post_login_in(&self.http, username, password, remember, interaction)
            .await
    }

    /// Submits the login form from the browser `client`.
    pub async fn post_login_in(
        &self,
        client: &reqwest::Client,
        username: &str,
        password: &str,
        remember: bool,
        interaction: Option<&str>,
    ) -> reqwest::Response {
        let query = interaction
            .map(|i| format!("?interaction={i}"))
            .unwrap_or_default();
        let page = client
            .get(self.url(&format!("/login{query}")))
            .send()
            .await
            .expect("GET /login")
            .text()
            .await
            .expect("body");
        let csrf = hidden_input(&page, "csrf_token").expect("csrf token on the login page");
        let mut form = vec![
            ("csrf_token", csrf),
            ("username", username.into()),
            ("password", password.into()),
        ];
        if remember {
            form.push(("remember_me", "on".into()));
        }
        if let Some(i) = interaction {
            form.push(("interaction", i.into()));
        }
        client
            .post(self.url("/login"))
            .form(&form)
            .send()
            .await
            .expect("POST /login")
    }

    /// Signs in as the bootstrap admin.
    pub async fn login_admin(&self) {
        let response = self.post_login("admin", ADMIN_PASSWORD, false, None).await;
        assert_eq!(
            response.status(),
            StatusCode::SEE_OTHER,
            "admin login should succeed"
        );
    }

    /// Creates a user through the same code the CLI uses.
    pub async fn create_user(&self, username: &str, password: &str, roles: &[&str]) -> String {
        let account = tessera::services::accounts::NewAccount {
            username: username.into(),
            email: format!("{username}@example.com"),
            name: Some(format!("{username} Example")),
            password: password.into(),
            roles: roles.iter().map(|r| r.to_string()).collect(),
        };
        self.state
            .services
            .create_user(&tessera::services::Caller::cli(), account)
            .await
            .expect("user created")
            .id
    }

    /// Registers a client; returns (client_id, secret).
    pub async fn create_client(
        &self,
        spec: tessera::services::clients::ClientSpec,
    ) -> (String, Option<String>) {
        let registered = self
            .state
            .services
            .register_client(&tessera::services::Caller::cli(), spec)
            .await
            .expect("client registered");
        (registered.client.id, registered.secret)
    }

    /// Runs the `tessera` binary against this server's database and keys; returns success,
    /// stdout and stderr. Async, so the server on this runtime keeps serving meanwhile.
    pub async fn cli(&self, args: &[&str], stdin: Option<&str>) -> (bool, String, String) {
        use std::process::Stdio;
        use tokio::io::AsyncWriteExt;
        let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
            .args(args)
            .current_dir(self.dir.path())
            .env("TESSERA_DATABASE_URL", &self.database_url)
            .env("TESSERA_KEYS_DIR", self.dir.path().join("keys"))
            .env("TESSERA_ISSUER", &self.address)
            .env("TESSERA_PASSWORD__MEMORY_KIB", "8192")
            .env("TESSERA_PASSWORD__ITERATIONS", "1")
            .env_remove("TESSERA_CONFIG")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("tessera binary runs");
        let mut input = child.stdin.take().expect("stdin");
        if let Some(text) = stdin {
            input.write_all(text.as_bytes()).await.expect("write stdin");
        }
        drop(input);
        let out = child.wait_with_output().await.expect("tessera finishes");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into(),
            String::from_utf8_lossy(&out.stderr).into(),
        )
    }

    /// `tessera audit list --json` with extra `args`, newest first.
    pub async fn audit(&self, args: &[&str]) -> Vec<serde_json::Value> {
        let mut all = vec!["audit", "list", "--json"];
        all.extend_from_slice(args);
        let (ok, out, err) = self.cli(&all, None).await;
        assert!(ok, "audit list failed: {err}");
        serde_json::from_str(out.trim()).expect("audit list prints a JSON array")
    }

    /// The server's current time.
    pub fn clock_now(&self) -> i64 {
        use tessera::clock::Clock;
        self.clock.now()
    }
}

/// A JSON answer (token, introspection, revocation, userinfo) with its status and headers.
#[derive(Debug)]
pub struct JsonReply {
    /// HTTP status.
    pub status: StatusCode,
    /// Response headers.
    pub headers: HeaderMap,
    /// The body as JSON (`Null` when it was not JSON).
    pub body: serde_json::Value,
}

impl JsonReply {
    /// Reads a response.
    pub async fn read(response: reqwest::Response) -> JsonReply {
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap_or_default();
        JsonReply {
            status,
            headers,
            body: serde_json::from_str(&text).unwrap_or(serde_json::Value::Null),
        }
    }

    /// The `error` member.
    pub fn error(&self) -> Option<&str> {
        self.body["error"].as_str()
    }

    /// A header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts an RFC 6749 §5.2 error: the status, the code, a JSON body, and no caching.
    #[track_caller]
    pub fn assert_error(&self, status: StatusCode, code: &str) {
        assert_eq!(self.status, status, "{:?}", self.body);
        assert_eq!(self.error(), Some(code), "{:?}", self.body);
        assert!(
            self.header("content-type")
                .is_some_and(|c| c.starts_with("application/json")),
            "errors are JSON: {:?}",
            self.headers
        );
        assert_eq!(self.header("cache-control"), Some("no-store"));
    }
}

/// The decoded header and claims of a compact JWS, unverified.
pub fn jwt_parts(token: &str) -> (serde_json::Value, serde_json::Value) {
    use base64::Engine;
    let decode = |part: &str| -> serde_json::Value {
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(part)
            .expect("base64url JWT part");
        serde_json::from_slice(&bytes).expect("JSON JWT part")
    };
    let mut parts = token.split('.');
    let header = decode(parts.next().expect("JWT header"));
    let claims = decode(parts.next().expect("JWT claims"));
    (header, claims)
}

impl TestApp {
    /// POSTs a form to an endpoint, with HTTP Basic credentials when given.
    pub async fn post_form(
        &self,
        path: &str,
        basic: Option<(&str, &str)>,
        form: &[(&str, &str)],
    ) -> JsonReply {
        let mut request = self.http.post(self.url(path)).form(form);
        if let Some((id, secret)) = basic {
            request = request.basic_auth(id, Some(secret));
        }
        JsonReply::read(request.send().await.expect("POST")).await
    }

    /// Calls userinfo with a bearer token.
    pub async fn userinfo(&self, access_token: &str) -> JsonReply {
        let response = self
            .http
            .get(self.url("/userinfo"))
            .bearer_auth(access_token)
            .send()
            .await
            .expect("GET /userinfo");
        JsonReply::read(response).await
    }

    /// The discovery document.
    pub async fn discovery(&self) -> serde_json::Value {
        self.get("/.well-known/openid-configuration")
            .await
            .json()
            .await
            .expect("discovery JSON")
    }
}
