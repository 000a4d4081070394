//! Tessera behind a real nginx that terminates TLS, configured by the very file the docs give
//! operators (`docs/deploy/nginx.conf`) with a self-signed certificate: an https issuer,
//! `__Host-` cookies and HSTS, the client address taken from `X-Forwarded-For` only when the
//! peer is a trusted proxy, and a whole code flow with the `openidconnect` crate through it.
//! Without nginx (`apt-get install nginx-light`) the test says so and skips, unless
//! `TESSERA_REQUIRE_NGINX` is set (as CI sets it), when a missing nginx is a failure.

use std::net::{IpAddr, Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use openidconnect::{OAuth2TokenResponse, TokenResponse};
use reqwest::StatusCode;
use reqwest::cookie::CookieStore;

use crate::helpers::{ADMIN_PASSWORD, spawn_app_with};
use crate::rp::{Rp, sign_in, spec};

/// The address the test's "browser" connects from: not the proxy's, so the audit log shows
/// whether Tessera took the client address from the proxy's header.
const CLIENT_IP: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));
/// A client that reaches Tessera directly, around the proxy.
const DIRECT_IP: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 3));
/// What a client claims in its own `X-Forwarded-For`, which must never be believed.
const SPOOFED_IP: &str = "198.51.100.9";

/// A running nginx, stopped on drop.
struct Nginx {
    child: Child,
    https_port: u16,
    http_port: u16,
    certificate: Vec<u8>,
    _dir: tempfile::TempDir,
}

impl Drop for Nginx {
    /// Asks the master to stop (TERM): it stops its worker first. A KILL would leave the
    /// worker running as an orphan, still holding the test's ports.
    fn drop(&mut self) {
        let pid = libc::pid_t::try_from(self.child.id()).expect("a pid fits pid_t");
        // SAFETY: kill(2) with a valid signal number has no memory effects; the pid is our
        // own child, not yet waited for, so it cannot name another process.
        if unsafe { libc::kill(pid, libc::SIGTERM) } != 0 {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

fn nginx_or_skip() -> Option<PathBuf> {
    let found = ["/usr/sbin/nginx", "/usr/bin/nginx"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists());
    if found.is_none() {
        if std::env::var_os("TESSERA_REQUIRE_NGINX").is_some() {
            panic!("TESSERA_REQUIRE_NGINX is set but nginx is not installed");
        }
        eprintln!("skipped: nginx is not installed (apt-get install nginx-light)");
    }
    found
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// A self-signed certificate for `localhost` that is not a CA, as a server certificate must
/// be for rustls to accept it as its own trust anchor.
fn make_certificate(dir: &Path) {
    let config = dir.join("cert.cnf");
    std::fs::write(
        &config,
        "[req]\ndistinguished_name = dn\nx509_extensions = leaf\nprompt = no\n\
         [dn]\nCN = localhost\n\
         [leaf]\nsubjectAltName = DNS:localhost\nbasicConstraints = critical,CA:FALSE\n\
         keyUsage = critical,digitalSignature\nextendedKeyUsage = serverAuth\n",
    )
    .unwrap();
    let status = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "ec", "-pkeyopt"])
        .args(["ec_paramgen_curve:prime256v1", "-nodes", "-days", "2"])
        .arg("-config")
        .arg(&config)
        .arg("-keyout")
        .arg(dir.join("key.pem"))
        .arg("-out")
        .arg(dir.join("cert.pem"))
        .stderr(Stdio::null())
        .status()
        .expect("openssl runs");
    assert!(status.success(), "openssl made the certificate");
}

/// `docs/deploy/nginx.conf` with this machine's ports and certificate in place of the
/// documented ones. Each replaced line must be there, so the docs cannot drift from the test.
fn site_config(dir: &Path, tessera_port: u16, https_port: u16, http_port: u16) -> String {
    let documented = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/deploy/nginx.conf"),
    )
    .expect("docs/deploy/nginx.conf");
    let replacements = [
        (
            "server 127.0.0.1:8080;".to_string(),
            format!("server 127.0.0.1:{tessera_port};"),
        ),
        (
            "listen 80;".to_string(),
            format!("listen 127.0.0.1:{http_port};"),
        ),
        (
            "listen 443 ssl http2;".to_string(),
            format!("listen 127.0.0.1:{https_port} ssl http2;"),
        ),
        (
            "/etc/letsencrypt/live/id.example.com/fullchain.pem".to_string(),
            dir.join("cert.pem").display().to_string(),
        ),
        (
            "/etc/letsencrypt/live/id.example.com/privkey.pem".to_string(),
            dir.join("key.pem").display().to_string(),
        ),
    ];
    replacements
        .iter()
        .fold(documented, |config, (documented, here)| {
            assert!(
                config.contains(documented.as_str()),
                "docs/deploy/nginx.conf no longer contains `{documented}`"
            );
            config.replace(documented.as_str(), here)
        })
}

/// Starts nginx in front of the Tessera listening on `tessera_port`, on the ports given (the
/// issuer names the https one before Tessera starts).
fn start_nginx(binary: &Path, tessera_port: u16, https_port: u16, http_port: u16) -> Nginx {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path();
    make_certificate(path);
    std::fs::write(
        path.join("tessera.conf"),
        site_config(path, tessera_port, https_port, http_port),
    )
    .unwrap();
    // Workers run as `nobody` under a root master; they must reach the temp folders here.
    let running_as_root = std::fs::metadata("/proc/self").is_ok_and(|m| {
        use std::os::unix::fs::MetadataExt;
        m.uid() == 0
    });
    let user = if running_as_root { "user root;" } else { "" };
    let dir_path = path.display();
    std::fs::write(
        path.join("nginx.conf"),
        format!(
            "{user}\nworker_processes 1;\npid {dir_path}/nginx.pid;\n\
             events {{ worker_connections 128; }}\n\
             http {{\n  access_log off;\n\
               client_body_temp_path {dir_path}/body;\n  proxy_temp_path {dir_path}/proxy;\n\
               fastcgi_temp_path {dir_path}/fastcgi;\n  uwsgi_temp_path {dir_path}/uwsgi;\n\
               scgi_temp_path {dir_path}/scgi;\n\
               include {dir_path}/tessera.conf;\n}}\n"
        ),
    )
    .unwrap();
    // Everything nginx reads or writes stays in this folder.
    let nginx = || {
        let mut command = Command::new(binary);
        command
            .arg("-p")
            .arg(path)
            .arg("-e")
            .arg(path.join("error.log"))
            .arg("-c")
            .arg(path.join("nginx.conf"));
        command
    };
    let check = nginx().args(["-t", "-q"]).output().expect("nginx -t runs");
    assert!(
        check.status.success(),
        "nginx accepts the documented configuration: {}",
        String::from_utf8_lossy(&check.stderr)
    );
    let child = nginx()
        .args(["-g", "daemon off;"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("nginx starts");
    let certificate = std::fs::read(path.join("cert.pem")).unwrap();
    Nginx {
        child,
        https_port,
        http_port,
        certificate,
        _dir: dir,
    }
}

/// A browser-like client that trusts the test certificate, resolves `localhost` to the proxy,
/// keeps cookies in `jar` and connects from `CLIENT_IP`.
fn proxied_client(nginx: &Nginx, jar: Arc<reqwest::cookie::Jar>) -> reqwest::Client {
    reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(&nginx.certificate).unwrap())
        .resolve("localhost", ([127, 0, 0, 1], nginx.https_port).into())
        .local_address(CLIENT_IP)
        .cookie_provider(jar)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn wait_for(client: &reqwest::Client, url: &str) {
    for _ in 0..100 {
        if client.get(url).send().await.is_ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{url} did not answer");
}

/// Fails one client authentication on `/token` from `client`, claiming `SPOOFED_IP`.
async fn fail_client_authentication(client: &reqwest::Client, url: &str) {
    let status = client
        .post(url)
        .header("x-forwarded-for", SPOOFED_IP)
        .basic_auth("no-such-client", Some("wrong"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .expect("POST /token")
        .status();
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

fn recorded_ips(events: &[serde_json::Value], kind: &str) -> Vec<String> {
    events
        .iter()
        .filter(|e| e["type"] == kind)
        .filter_map(|e| e["ip"].as_str().map(str::to_string))
        .collect()
}

#[tokio::test]
async fn a_whole_sign_in_works_through_nginx_terminating_tls() {
    let Some(binary) = nginx_or_skip() else {
        return;
    };
    let (https_port, http_port) = (free_port(), free_port());
    let issuer = format!("https://localhost:{https_port}");
    let mut app = spawn_app_with(|s| {
        s.issuer = issuer.clone();
        s.trusted_proxies = vec!["127.0.0.1/32".into()];
    })
    .await;
    let direct = app.address.clone();
    let tessera_port: u16 = direct.rsplit(':').next().unwrap().parse().unwrap();
    let nginx = start_nginx(&binary, tessera_port, https_port, http_port);
    let jar = Arc::new(reqwest::cookie::Jar::default());
    let browser = proxied_client(&nginx, jar.clone());
    wait_for(&browser, &format!("{issuer}/healthz")).await;
    // From here on every request of the helpers goes through nginx.
    app.address = issuer.clone();
    app.http = browser.clone();

    // Plain http only redirects to https.
    let plain = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let redirect = plain
        .get(format!("http://127.0.0.1:{}/login", nginx.http_port))
        .send()
        .await
        .unwrap();
    assert_eq!(redirect.status(), StatusCode::MOVED_PERMANENTLY);
    assert!(
        crate::helpers::location(redirect.headers()).starts_with("https://"),
        "http is sent to https"
    );

    // Discovery names https endpoints; pages carry HSTS and __Host- cookies.
    let discovery = app.discovery().await;
    assert_eq!(discovery["issuer"], issuer);
    assert_eq!(
        discovery["token_endpoint"],
        format!("{issuer}/token"),
        "endpoints are on the public https URL"
    );
    let login = app.get("/login").await;
    assert_eq!(login.status(), StatusCode::OK);
    assert_eq!(
        login.headers()["strict-transport-security"],
        "max-age=31536000",
        "HSTS behind an https issuer"
    );
    let set_cookie = login.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(
        set_cookie.starts_with("__Host-tessera_csrf="),
        "the CSRF cookie is __Host- prefixed: {set_cookie}"
    );
    for attribute in ["Secure", "HttpOnly", "Path=/", "SameSite="] {
        assert!(
            set_cookie.contains(attribute),
            "{attribute} in {set_cookie}"
        );
    }
    assert!(
        !set_cookie.contains("Domain="),
        "a __Host- cookie names no domain"
    );

    // The whole code flow with the openidconnect crate as the app, through the proxy.
    let (client_id, secret) = app.create_client(spec("Proxied App")).await;
    let backchannel = openidconnect::reqwest::ClientBuilder::new()
        .add_root_certificate(reqwest::Certificate::from_pem(&nginx.certificate).unwrap())
        .resolve("localhost", ([127, 0, 0, 1], https_port).into())
        .redirect(openidconnect::reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let rp = Rp::discover_with(&app, client_id, secret, backchannel).await;
    let (tokens, nonce) = sign_in(
        &app,
        &rp,
        &["profile", "email", "roles"],
        ("admin", ADMIN_PASSWORD),
    )
    .await;
    let claims = rp.verify_id_token(&tokens, &nonce);
    assert_eq!(claims.issuer().as_str(), issuer);
    assert!(tokens.id_token().is_some());
    let info = rp.userinfo(tokens.access_token()).await.expect("userinfo");
    assert_eq!(info.subject(), claims.subject());
    let cookies = jar
        .cookies(&issuer.parse().unwrap())
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    assert!(
        cookies.contains("__Host-tessera_session="),
        "the session cookie is __Host- prefixed: {cookies}"
    );

    // nginx appends the peer's address to X-Forwarded-For; Tessera believes it because nginx
    // is a trusted proxy, and not the address the client claimed itself.
    fail_client_authentication(&browser, &format!("{issuer}/token")).await;
    // A client that goes around the proxy is not believed at all.
    let around = reqwest::Client::builder()
        .local_address(DIRECT_IP)
        .build()
        .unwrap();
    fail_client_authentication(&around, &format!("{direct}/token")).await;

    let proxied_ip = CLIENT_IP.to_string();
    let direct_ip = DIRECT_IP.to_string();
    let sign_ins = app.audit(&["--type", "sign_in"]).await;
    assert_eq!(
        recorded_ips(&sign_ins, "sign_in"),
        vec![proxied_ip.clone()],
        "the sign-in through the proxy is recorded with the browser's address"
    );
    let failures = app.audit(&["--type", "client_auth_failed"]).await;
    let mut ips = recorded_ips(&failures, "client_auth_failed");
    ips.sort();
    assert_eq!(
        ips,
        vec![proxied_ip, direct_ip],
        "through the proxy: the peer nginx saw; around it: the TCP peer; never {SPOOFED_IP}"
    );
}
