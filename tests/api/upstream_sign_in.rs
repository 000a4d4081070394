//! Signing in with an upstream provider: a second Tessera process (the real binary, its own
//! database, set up through its CLI, at `localhost` so one browser keeps the two sites'
//! cookies apart) is the upstream for the paths that work; a provider owned by the test signs bad ID tokens, or stops answering, for the paths
//! that must fail. Every failure is a clear page and an audit event, never a session.

use std::collections::BTreeMap;

use openidconnect::TokenResponse;
use reqwest::StatusCode;
use serde_json::Value;
use tessera::config::{Settings, UpstreamSettings};
use tessera::services::Caller;

use crate::children::{Output, Process, start};
use crate::fake_op::{FakeOp, Fault};
use crate::helpers::{PgDatabase, TestApp, browser, fresh_database, hidden_input, spawn_app_with};
use crate::rp::{self, Rp};

const PASSWORD: &str = "lamp orbit velvet cactus 42";

/// The upstream: `tessera serve` as a child process on its own database and keys.
struct UpstreamProcess {
    /// Its issuer, `http://localhost:PORT`.
    address: String,
    dir: tempfile::TempDir,
    database_url: String,
    _server: Option<Process>,
    _database: Option<PgDatabase>,
}

impl UpstreamProcess {
    /// The `tessera` command with `args` on the upstream's database and keys.
    fn command(&self, args: &[&str]) -> tokio::process::Command {
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_tessera"));
        command
            .args(args)
            .current_dir(self.dir.path())
            .env("TESSERA_DATABASE_URL", &self.database_url)
            .env("TESSERA_KEYS_DIR", self.dir.path().join("keys"))
            .env("TESSERA_ISSUER", &self.address)
            .env("TESSERA_PASSWORD__MEMORY_KIB", "8192")
            .env("TESSERA_PASSWORD__ITERATIONS", "1")
            .env_remove("TESSERA_CONFIG")
            .kill_on_drop(true);
        command
    }

    /// Runs a CLI command; its standard output.
    async fn cli(&self, args: &[&str], stdin: Option<&str>) -> String {
        use tokio::io::AsyncWriteExt;
        let mut child = self
            .command(args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("tessera runs");
        let mut input = child.stdin.take().unwrap();
        if let Some(text) = stdin {
            input.write_all(text.as_bytes()).await.unwrap();
        }
        drop(input);
        let out = child.wait_with_output().await.unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into()
    }

    /// Sets up the upstream with the CLI (a role, the downstream's client, jane), then
    /// serves it; the downstream's client secret.
    async fn start() -> (UpstreamProcess, String) {
        let dir = tempfile::tempdir().unwrap();
        let (database_url, guard) = fresh_database(dir.path()).await;
        crate::shared_keys::install(&dir.path().join("keys"), &database_url).await;
        // The issuer names the port, so the port is chosen first.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut upstream = UpstreamProcess {
            address: format!("http://localhost:{port}"),
            dir,
            database_url,
            _server: None,
            _database: guard,
        };
        upstream
            .cli(
                &["role", "add", "corp-staff", "--description", "Corp staff"],
                None,
            )
            .await;
        let client = upstream
            .cli(
                &[
                    "client",
                    "add",
                    "--name",
                    "Downstream",
                    "--client-id",
                    "downstream",
                    "--redirect-uri",
                    "http://127.0.0.1:9/upstream/corp/callback",
                    "--scopes",
                    "openid",
                    "profile",
                    "email",
                    "roles",
                    "--skip-consent",
                    "--json",
                ],
                None,
            )
            .await;
        let client: Value = serde_json::from_str(client.trim()).unwrap();
        let secret = client["client_secret"].as_str().unwrap().to_string();
        upstream
            .cli(
                &[
                    "user",
                    "add",
                    "--username",
                    "jane",
                    "--email",
                    "jane@example.com",
                    "--role",
                    "user",
                    "--role",
                    "corp-staff",
                    "--password-stdin",
                ],
                Some(PASSWORD),
            )
            .await;
        let mut serve = upstream.command(&["serve"]);
        serve
            .env("TESSERA_LISTEN", format!("127.0.0.1:{port}"))
            .env("TESSERA_ADMIN_PASSWORD", crate::helpers::ADMIN_PASSWORD)
            .env("TESSERA_LOG_FORMAT", "json")
            .env("TESSERA_LOG", "info");
        let (server, _) = start(serve, "upstream tessera serve", Output::Stderr, |line| {
            let event: Value = serde_json::from_str(line).ok()?;
            event["fields"]["listen"].as_str().map(str::to_string)
        })
        .await;
        upstream._server = Some(server);
        (upstream, secret)
    }
}

/// A downstream Tessera whose users sign in at an upstream Tessera.
struct Federation {
    upstream: UpstreamProcess,
    downstream: TestApp,
}

fn corp(issuer: &str, secret: &str) -> UpstreamSettings {
    UpstreamSettings {
        id: "corp".into(),
        name: "Sign in with Corp".into(),
        issuer: issuer.into(),
        client_id: "downstream".into(),
        client_secret: Some(secret.into()),
        client_secret_file: None,
        scopes: vec![
            "openid".into(),
            "profile".into(),
            "email".into(),
            "roles".into(),
        ],
        link_by_verified_email: false,
        create_users: true,
        trust_upstream_mfa: false,
        roles_claim: Some("roles".into()),
        role_map: BTreeMap::from([("corp-staff".into(), "guest".into())]),
        default_roles: vec!["user".into()],
    }
}

impl Federation {
    /// Both servers, with `adjust` applied to the downstream's `[[upstream]]` settings.
    async fn start(adjust: impl FnOnce(&mut UpstreamSettings)) -> Federation {
        let (upstream, secret) = UpstreamProcess::start().await;
        let mut settings = corp(&upstream.address, &secret);
        adjust(&mut settings);
        let downstream = spawn_app_with(|s: &mut Settings| s.upstream = vec![settings]).await;
        let callback = format!("{}/upstream/corp/callback", downstream.address);
        upstream
            .cli(
                &[
                    "client",
                    "update",
                    "downstream",
                    "--redirect-uri",
                    &callback,
                ],
                None,
            )
            .await;
        Federation {
            upstream,
            downstream,
        }
    }
}

/// Where a walk through the two sites ended.
#[derive(Debug)]
enum End {
    /// The browser was sent to this URL, which starts with the stop prefix.
    At(String),
    /// A page was shown.
    Page(StatusCode, String, String),
}

impl End {
    fn at(&self) -> &str {
        match self {
            End::At(url) => url,
            End::Page(status, body, url) => panic!("ended on a page at {url}: {status} {body}"),
        }
    }

    fn page(&self) -> (StatusCode, &str) {
        match self {
            End::Page(status, body, _) => (*status, body),
            End::At(url) => panic!("expected a page, was sent to {url}"),
        }
    }
}

/// Follows redirects from `start` in `browser` across both sites: signs in at a login page of
/// `login_at` with `credentials`, approves consent pages, and stops when sent to a URL
/// starting with `stop` or when a page is shown.
async fn walk(
    browser: &reqwest::Client,
    start: &str,
    login_at: Option<(&UpstreamProcess, &str)>,
    stop: &str,
) -> End {
    let mut url = url::Url::parse(start).unwrap();
    for _ in 0..20 {
        if url.as_str().starts_with(stop) {
            return End::At(url.into());
        }
        let response = browser.get(url.as_str()).send().await.unwrap();
        let status = response.status();
        if status.is_redirection() {
            let location = response.headers()["location"].to_str().unwrap().to_string();
            url = url.join(&location).unwrap();
            if let Some((upstream, user)) = login_at
                && url
                    .as_str()
                    .starts_with(&format!("{}/login?interaction=", upstream.address))
            {
                let interaction = url
                    .query_pairs()
                    .find(|(k, _)| k == "interaction")
                    .map(|(_, v)| v.into_owned())
                    .unwrap();
                let page = text_of(browser, url.as_str()).await;
                let reply = browser
                    .post(format!("{}/login", upstream.address))
                    .form(&[
                        ("csrf_token", hidden_input(&page, "csrf_token").unwrap()),
                        ("username", user.to_string()),
                        ("password", PASSWORD.to_string()),
                        ("interaction", interaction),
                    ])
                    .send()
                    .await
                    .unwrap();
                assert_eq!(reply.status(), StatusCode::SEE_OTHER, "upstream login");
                let location = reply.headers()["location"].to_str().unwrap().to_string();
                url = url.join(&location).unwrap();
            }
            continue;
        }
        let body = response.text().await.unwrap();
        if status == StatusCode::OK && url.path() == "/consent" {
            let reply = browser
                .post(url.join("/consent").unwrap())
                .form(&[
                    ("csrf_token", hidden_input(&body, "csrf_token").unwrap()),
                    ("interaction", hidden_input(&body, "interaction").unwrap()),
                    ("decision", "approve".into()),
                ])
                .send()
                .await
                .unwrap();
            let location = reply.headers()["location"].to_str().unwrap().to_string();
            url = url.join(&location).unwrap();
            continue;
        }
        return End::Page(status, body, url.into());
    }
    panic!("too many redirects from {start}");
}

/// A relying party of the downstream signs `user` in through the upstream: the login page's
/// button, the upstream's login, back, consent, and the code exchanged and verified.
async fn app_sign_in(
    fed: &Federation,
    rp: &Rp,
    user: &str,
) -> openidconnect::IdTokenClaims<rp::Roles, openidconnect::core::CoreGenderClaim> {
    let pending = rp.authorize(&["profile", "email", "roles"], &[]);
    let browser = browser();
    let login = walk(&browser, pending.url.as_str(), None, "\u{0}").await;
    let (status, page) = login.page();
    assert_eq!(status, StatusCode::OK);
    let button = page
        .split("id=\"upstream-corp\" href=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the login page offers Corp")
        .replace("&#x2f;", "/")
        .replace("&amp;", "&");
    assert!(page.contains("Sign in with Corp"));
    let end = walk(
        &browser,
        &fed.downstream.url(&button),
        Some((&fed.upstream, user)),
        rp::REDIRECT_URI,
    )
    .await;
    let landing = url::Url::parse(end.at()).unwrap();
    let code = landing
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .expect("a code for the app");
    let tokens = rp
        .exchange(&code, pending.verifier)
        .await
        .expect("code exchange");
    assert!(tokens.id_token().is_some());
    rp.verify_id_token(&tokens, &pending.nonce)
}

/// The body of the page at `url` in `browser`.
async fn text_of(browser: &reqwest::Client, url: impl reqwest::IntoUrl) -> String {
    browser.get(url).send().await.unwrap().text().await.unwrap()
}

async fn audit(app: &TestApp, kind: &str) -> Vec<Value> {
    app.audit(&["--type", kind]).await
}

#[tokio::test]
async fn a_first_sign_in_makes_the_account_and_later_ones_reuse_and_remap_it() {
    let fed = Federation::start(|_| {}).await;
    let rp = Rp::register(&fed.downstream, rp::spec("Reports")).await;

    let claims = app_sign_in(&fed, &rp, "jane").await;
    assert_eq!(
        claims.additional_claims().roles,
        vec!["guest", "user"],
        "mapped and default roles"
    );
    assert_eq!(
        claims.auth_context_ref().map(|a| a.as_str()),
        Some("urn:tessera:acr:upstream")
    );
    let amr: Vec<String> = claims
        .auth_method_refs()
        .unwrap()
        .iter()
        .map(|a| a.as_str().to_string())
        .collect();
    assert_eq!(amr, vec!["pwd"], "the upstream's amr");
    let jane = fed.downstream.state.services.user("jane").await.unwrap();
    assert!(jane.email_verified, "the upstream verified the address");
    assert_eq!(jane.email, "jane@example.com");
    let created = audit(&fed.downstream, "user_created").await;
    assert_eq!(created[0]["details"]["upstream"], "corp");
    let sign_ins = audit(&fed.downstream, "sign_in").await;
    assert_eq!(sign_ins[0]["outcome"], "success");
    assert_eq!(sign_ins[0]["details"]["upstream"], "corp");

    // The upstream drops the group; the downstream admin gave jane a role of their own.
    fed.upstream
        .cli(&["user", "set-roles", "jane", "user"], None)
        .await;
    fed.downstream
        .state
        .services
        .set_roles(
            &Caller::cli(),
            "jane",
            &["guest".to_string(), "user".to_string(), "admin".to_string()],
        )
        .await
        .unwrap();
    let again = app_sign_in(&fed, &rp, "jane").await;
    assert_eq!(
        again.subject().as_str(),
        claims.subject().as_str(),
        "the same account"
    );
    assert_eq!(
        again.additional_claims().roles,
        vec!["admin", "user"],
        "the mapped role is taken back, local ones stay"
    );
    let users = fed.downstream.state.services.list_users().await.unwrap();
    assert_eq!(
        users.len(),
        2,
        "admin and jane, no second account: {users:?}"
    );
}

#[tokio::test]
async fn login_hint_goes_straight_to_the_upstream() {
    let fed = Federation::start(|_| {}).await;
    let rp = Rp::register(&fed.downstream, rp::spec("Reports")).await;
    // prompt=login and max_age are passed on, and the upstream's auth_time must meet them.
    let pending = rp.authorize(
        &["profile"],
        &[
            ("login_hint", "upstream:corp"),
            ("prompt", "login"),
            ("max_age", "600"),
        ],
    );
    let browser = browser();
    let end = walk(
        &browser,
        pending.url.as_str(),
        Some((&fed.upstream, "jane")),
        rp::REDIRECT_URI,
    )
    .await;
    assert!(end.at().contains("code="), "{end:?}");
}

#[tokio::test]
async fn tampered_foreign_and_replayed_answers_are_refused() {
    let fed = Federation::start(|_| {}).await;
    let down = &fed.downstream;
    let browser = browser();
    let start = browser
        .get(down.url("/upstream/corp/start"))
        .send()
        .await
        .unwrap();
    assert_eq!(start.status(), StatusCode::SEE_OTHER);
    let flow_cookie = start
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|c| c.starts_with("tessera_upstream="))
        .expect("a flow cookie");
    assert!(flow_cookie.contains("HttpOnly") && flow_cookie.contains("SameSite=Lax"));
    let to_upstream = start.headers()["location"].to_str().unwrap().to_string();
    for part in [
        "code_challenge_method=S256",
        "response_mode=query",
        "nonce=",
        "state=",
    ] {
        assert!(to_upstream.contains(part), "{to_upstream}");
    }
    let callback = walk(
        &browser,
        &to_upstream,
        Some((&fed.upstream, "jane")),
        &down.url("/upstream/corp/callback"),
    )
    .await;
    let callback = callback.at().to_string();

    let tampered = callback.replace("state=", "state=x");
    let refused = browser.get(&tampered).send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    assert!(
        refused
            .text()
            .await
            .unwrap()
            .contains("does not belong to a sign-in")
    );

    // Another browser, without the flow cookie, cannot use the answer.
    let stranger = crate::helpers::browser();
    let refused = stranger.get(&callback).send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);

    // A tampered answer does not spend the flow: the real one, with the browser's flow
    // cookie (presented by hand, as the tampered try cleared it), still signs in, once.
    let cookie = flow_cookie.split(';').next().unwrap().to_string();
    let fresh = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let first = fresh
        .get(&callback)
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(
        first.status(),
        StatusCode::SEE_OTHER,
        "the real answer signs in"
    );
    let again = fresh
        .get(&callback)
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::BAD_REQUEST, "but only once");
    // Identical events from one address are kept as one entry with a count.
    let failures: Vec<(String, i64)> = audit(down, "sign_in")
        .await
        .iter()
        .filter(|e| e["outcome"] == "failure")
        .map(|e| {
            let reason = e["details"]["reason"].as_str().unwrap_or_default();
            (reason.to_string(), e["count"].as_i64().unwrap_or_default())
        })
        .collect();
    assert!(
        failures.iter().all(|(r, _)| r == "bad_state"),
        "{failures:?}"
    );
    let total: i64 = failures.iter().map(|(_, n)| n).sum();
    assert_eq!(total, 3, "tampered, foreign, replayed");
}

/// Signs `user` in at the downstream with a password in `browser`.
async fn local_sign_in(app: &TestApp, browser: &reqwest::Client, user: &str) {
    let reply = app
        .post_login_in(browser, user, PASSWORD, false, None)
        .await;
    assert_eq!(reply.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn an_existing_account_is_linked_only_by_its_owner() {
    let fed = Federation::start(|_| {}).await;
    let down = &fed.downstream;
    let local = down.create_user("jane", PASSWORD, &["user"]).await;

    let browser = browser();
    let end = walk(
        &browser,
        &down.url("/upstream/corp/start"),
        Some((&fed.upstream, "jane")),
        "\u{0}",
    )
    .await;
    let (status, page) = end.page();
    assert_eq!(status, StatusCode::CONFLICT, "{page}");
    assert!(page.contains("Sign in with your password first"));
    assert!(
        down.state
            .services
            .linked_identities(&local)
            .await
            .unwrap()
            .is_empty()
    );

    local_sign_in(down, &browser, "jane").await;
    let providers = text_of(&browser, down.url("/account/providers")).await;
    assert!(providers.contains("Not linked"));
    let link = browser
        .post(down.url("/account/providers/link"))
        .form(&[
            (
                "csrf_token",
                hidden_input(&providers, "csrf_token").unwrap(),
            ),
            ("upstream", "corp".into()),
        ])
        .send()
        .await
        .unwrap();
    let to_upstream = link.headers()["location"].to_str().unwrap().to_string();
    let end = walk(
        &browser,
        &to_upstream,
        Some((&fed.upstream, "jane")),
        &down.url("/account/providers?done=linked"),
    )
    .await;
    end.at();
    let linked = down.state.services.linked_identities(&local).await.unwrap();
    assert_eq!(linked.len(), 1);
    assert_eq!(audit(down, "identity_linked").await.len(), 1);

    // Now the upstream signs in to the same account.
    let other = crate::helpers::browser();
    let end = walk(
        &other,
        &down.url("/upstream/corp/start"),
        Some((&fed.upstream, "jane")),
        &down.url("/account"),
    )
    .await;
    end.at();
    let me = text_of(&other, down.url("/account")).await;
    assert!(me.contains(&local), "signed in to the local account");
    let roles = |app: &TestApp| {
        let services = app.state.services.clone();
        async move { services.user("jane").await.unwrap().roles }
    };
    assert_eq!(
        roles(down).await,
        vec!["guest", "user"],
        "the mapping granted guest"
    );
    let ask = text_of(&other, down.url("/logout")).await;
    let signed_out = other
        .post(down.url("/logout"))
        .form(&[("csrf_token", hidden_input(&ask, "csrf_token").unwrap())])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        signed_out.contains("sign out there too")
            && signed_out
                .contains(&format!("{}/end-session", fed.upstream.address).replace('/', "&#x2f;")),
        "RP-initiated logout at the upstream is offered: {signed_out}"
    );

    let page = text_of(&browser, down.url("/account/providers")).await;
    let unlinked = browser
        .post(down.url("/account/providers/unlink"))
        .form(&[
            ("csrf_token", hidden_input(&page, "csrf_token").unwrap()),
            ("upstream", "corp".into()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(
        unlinked.headers()["location"],
        "/account/providers?done=unlinked"
    );
    assert!(
        down.state
            .services
            .linked_identities(&local)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        roles(down).await,
        vec!["user"],
        "what the mapping granted went with the link"
    );
}

#[tokio::test]
async fn automatic_linking_needs_the_setting_and_verified_addresses_on_both_sides() {
    let fed = Federation::start(|u| u.link_by_verified_email = true).await;
    let down = &fed.downstream;
    // A self-registered account whose address is not confirmed yet: an upstream account with
    // that address must not take it over.
    down.state
        .services
        .sign_up(
            &Caller::cli(),
            tessera::services::registration::SignUpForm {
                username: "jane".into(),
                email: "jane@example.com".into(),
                name: None,
                password: PASSWORD.into(),
                confirmation: PASSWORD.into(),
                interaction: None,
                invitation: None,
            },
        )
        .await
        .unwrap();
    let end = walk(
        &browser(),
        &down.url("/upstream/corp/start"),
        Some((&fed.upstream, "jane")),
        "\u{0}",
    )
    .await;
    assert_eq!(end.page().0, StatusCode::CONFLICT);
    down.state
        .services
        .delete_user(&Caller::cli(), "jane")
        .await
        .unwrap();
    let local = down.create_user("jane", PASSWORD, &["user"]).await;
    let end = walk(
        &browser(),
        &down.url("/upstream/corp/start"),
        Some((&fed.upstream, "jane")),
        &down.url("/account"),
    )
    .await;
    end.at();
    assert_eq!(
        down.state
            .services
            .linked_identities(&local)
            .await
            .unwrap()
            .len(),
        1
    );
    let linked = audit(down, "identity_linked").await;
    assert_eq!(linked[0]["details"]["by"], "verified_email");
}

#[tokio::test]
async fn a_second_factor_is_still_demanded() {
    let fed = Federation::start(|u| u.link_by_verified_email = true).await;
    let down = &fed.downstream;
    down.create_user("jane", PASSWORD, &["user"]).await;
    let owner = browser();
    local_sign_in(down, &owner, "jane").await;
    crate::two_factor::enrol(down, &owner).await;

    let end = walk(
        &browser(),
        &down.url("/upstream/corp/start"),
        Some((&fed.upstream, "jane")),
        &down.url("/login/second-factor"),
    )
    .await;
    end.at();
    let passed = audit(down, "first_factor_passed").await;
    assert_eq!(passed[0]["details"]["upstream"], "corp");
}

/// A downstream whose one upstream is the test's fake provider.
async fn with_fake(fault: Fault) -> (FakeOp, TestApp) {
    with_fake_adjusted(fault, |_| {}).await
}

/// [`with_fake`], with `adjust` applied to the upstream settings.
async fn with_fake_adjusted(
    fault: Fault,
    adjust: impl FnOnce(&mut UpstreamSettings),
) -> (FakeOp, TestApp) {
    let op = FakeOp::start().await;
    op.set_fault(fault);
    let mut settings = corp(&op.issuer, "fake-secret");
    settings.id = "corp".into();
    settings.client_id = "tessera".into();
    settings.roles_claim = None;
    settings.role_map = BTreeMap::new();
    adjust(&mut settings);
    let down = spawn_app_with(|s: &mut Settings| {
        s.upstream = vec![settings];
        s.outbound_timeout_secs = 1;
    })
    .await;
    op.use_clock(down.clock.clone());
    (op, down)
}

async fn fake_sign_in(down: &TestApp) -> End {
    walk(&browser(), &down.url("/upstream/corp/start"), None, "\u{0}").await
}

#[tokio::test]
async fn bad_id_tokens_get_a_clear_page_an_audit_event_and_no_session() {
    let (op, down) = with_fake(Fault::None).await;
    let end = fake_sign_in(&down).await;
    assert_eq!(
        end.page().0,
        StatusCode::OK,
        "a good token signs in: {end:?}"
    );
    assert!(down.state.services.user("frank").await.is_ok());

    for (fault, reason) in [
        (Fault::WrongIssuer, "another issuer"),
        (Fault::WrongAudience, "another client"),
        (Fault::WrongNonce, "nonce"),
        (Fault::BadSignature, "no key"),
        (Fault::UnknownKid, "no key"),
    ] {
        op.set_fault(fault);
        // Keys fetched a while ago may be fetched again for an unknown kid.
        down.clock.advance(11);
        let end = fake_sign_in(&down).await;
        let (status, page) = end.page();
        assert_eq!(status, StatusCode::BAD_REQUEST, "{fault:?}: {page}");
        assert!(page.contains("failed a security check"), "{fault:?}");
        let failure = &audit(&down, "sign_in").await[0];
        assert_eq!(failure["outcome"], "failure");
        assert_eq!(failure["details"]["reason"], "invalid_id_token");
        assert!(
            failure["details"]["error"]
                .as_str()
                .unwrap()
                .contains(reason),
            "{fault:?}: {failure}"
        );
    }

    // A new signing key is found by fetching the keys again.
    op.set_fault(Fault::None);
    op.rotate("k2");
    down.clock.advance(11);
    let end = fake_sign_in(&down).await;
    assert_eq!(
        end.page().0,
        StatusCode::OK,
        "the rotated key is fetched: {end:?}"
    );
}

#[tokio::test]
async fn an_upstream_that_goes_down_or_never_answers_gets_a_clear_page() {
    for fault in [Fault::TokenDown, Fault::Silent] {
        let (_op, down) = with_fake(fault).await;
        let started = std::time::Instant::now();
        let end = fake_sign_in(&down).await;
        let (status, page) = end.page();
        assert_eq!(status, StatusCode::BAD_GATEWAY, "{fault:?}: {page}");
        assert!(page.contains("cannot be reached"));
        assert!(
            started.elapsed() < std::time::Duration::from_secs(5),
            "{fault:?} bounded by outbound_timeout_secs"
        );
        let failure = &audit(&down, "sign_in").await[0];
        assert_eq!(failure["details"]["reason"], "upstream_unreachable");
    }
}

#[tokio::test]
async fn an_upstream_refusal_and_an_unknown_upstream_are_pages() {
    let (_op, down) = with_fake(Fault::None).await;
    let browser = browser();
    let start = browser
        .get(down.url("/upstream/corp/start"))
        .send()
        .await
        .unwrap();
    let to = start.headers()["location"].to_str().unwrap().to_string();
    let state = url::Url::parse(&to)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "state")
        .map(|(_, v)| v.into_owned())
        .unwrap();
    let denied = browser
        .get(down.url(&format!(
            "/upstream/corp/callback?error=access_denied&state={state}"
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(denied.status(), StatusCode::BAD_REQUEST);
    assert!(denied.text().await.unwrap().contains("did not sign you in"));
    let unknown = browser
        .get(down.url("/upstream/nope/start"))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_person_signs_in_with_the_upstream_in_a_browser() {
    use crate::browser::{Shots, browser_or_skip, click, element, profile, start_browser, text};
    use crate::browser_accounts::type_into;
    let Some((driver, chromium)) = browser_or_skip() else {
        return;
    };
    let fed = Federation::start(|_| {}).await;
    let profile = profile();
    let (_driver, browser) = start_browser(&driver, &chromium, profile.path()).await;
    let mut shots = Shots::with_prefix("upstream-");

    browser.goto(&fed.downstream.url("/login")).await.unwrap();
    element(&browser, "#upstream-corp").await;
    assert_eq!(text(&browser, "#upstream-corp").await, "Sign in with Corp");
    shots.take(&browser, "login-with-buttons").await;
    click(&browser, "#upstream-corp").await;
    // The upstream's own login page, at localhost.
    element(&browser, "#username").await;
    assert!(
        browser
            .current_url()
            .await
            .unwrap()
            .as_str()
            .starts_with(&fed.upstream.address)
    );
    type_into(&browser, "#username", "jane").await;
    type_into(&browser, "#password", PASSWORD).await;
    shots.take(&browser, "upstream-login").await;
    click(&browser, "form button[type=submit]").await;
    crate::browser_accounts::wait_text(&browser, "main", "jane@example.com").await;
    shots.take(&browser, "signed-in").await;
    browser
        .goto(&fed.downstream.url("/account/providers"))
        .await
        .unwrap();
    crate::browser_accounts::wait_text(&browser, "#providers", "Linked as jane@example.com").await;
    shots.take(&browser, "linked-accounts").await;
    browser.close().await.unwrap();
}

#[tokio::test]
async fn without_create_users_a_stranger_gets_no_account() {
    let (_op, down) = with_fake_adjusted(Fault::None, |u| u.create_users = false).await;
    let end = fake_sign_in(&down).await;
    let (status, page) = end.page();
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(page.contains("No account here yet"), "{page}");
    assert!(down.state.services.user("frank").await.is_err());
    assert_eq!(
        audit(&down, "sign_in").await[0]["details"]["reason"],
        "no_account"
    );
}

#[tokio::test]
async fn the_only_way_to_sign_in_cannot_be_unlinked_and_a_trusted_upstream_mfa_counts() {
    let (op, down) = with_fake_adjusted(Fault::None, |u| u.trust_upstream_mfa = true).await;
    op.set_amr(&["pwd", "hwk", "mfa"]);
    let frank = browser();
    let end = walk(
        &frank,
        &down.url("/upstream/corp/start"),
        None,
        &down.url("/account"),
    )
    .await;
    end.at();
    let signed_in = &audit(&down, "sign_in").await[0];
    assert_eq!(
        signed_in["details"]["acr"], "urn:tessera:acr:mfa",
        "{signed_in}"
    );
    assert_eq!(
        signed_in["details"]["amr"],
        serde_json::json!(["pwd", "hwk", "mfa"])
    );

    let page = text_of(&frank, down.url("/account/providers")).await;
    assert!(page.contains("Linked as frank@fake.example"), "{page}");
    let refused = frank
        .post(down.url("/account/providers/unlink"))
        .form(&[
            ("csrf_token", hidden_input(&page, "csrf_token").unwrap()),
            ("upstream", "corp".into()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused
            .text()
            .await
            .unwrap()
            .contains("only way to sign in")
    );
    // No password was ever set: no password signs in, with the usual answer.
    let id = down.state.services.user("frank").await.unwrap().id;
    assert_eq!(
        down.state
            .services
            .linked_identities(&id)
            .await
            .unwrap()
            .len(),
        1
    );
    let guess = down
        .post_login_in(&browser(), "frank", "!", false, None)
        .await;
    assert_eq!(guess.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn an_unverified_address_finds_no_account_and_an_untrusted_mfa_is_not_claimed() {
    let (op, down) = with_fake_adjusted(Fault::None, |u| u.link_by_verified_email = true).await;
    down.create_user("frank", PASSWORD, &["user"]).await;
    // Someone at the upstream typed frank's address without proving it.
    op.set_email_verified(false);
    let end = fake_sign_in(&down).await;
    let (status, page) = end.page();
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(page.contains("not confirmed"), "{page}");
    assert_eq!(
        audit(&down, "sign_in").await[0]["details"]["reason"],
        "email_not_verified"
    );
    let id = down.state.services.user("frank").await.unwrap().id;
    assert!(
        down.state
            .services
            .linked_identities(&id)
            .await
            .unwrap()
            .is_empty()
    );

    op.set_email_verified(true);
    op.set_amr(&["pwd", "otp", "mfa"]);
    let end = fake_sign_in(&down).await;
    assert_eq!(end.page().0, StatusCode::OK);
    let signed_in = &audit(&down, "sign_in").await[0];
    assert_eq!(signed_in["details"]["acr"], "urn:tessera:acr:upstream");
    assert_eq!(
        signed_in["details"]["amr"],
        serde_json::json!(["pwd"]),
        "an upstream MFA Tessera does not trust is not passed on"
    );
}
