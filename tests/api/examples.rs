//! The shipped examples, run as real processes against a real Tessera: the relying party
//! signs a user in over plain HTTP (no browser), shows roles, guards its admin page, refreshes
//! and signs out; the service client calls the resource server with client_credentials.

use reqwest::StatusCode;
use tokio::process::Command;

use crate::children::{Output, Process, example_binary, start, word_after};
use crate::helpers::{ADMIN_PASSWORD, TestApp, hidden_input, location, spawn_app};
use crate::rp::spec;

/// Tessera plus the example resource server and relying party, wired to each other.
pub struct ExampleStack {
    /// Tessera.
    pub app: TestApp,
    /// Base URL of the relying party.
    pub rp_url: String,
    /// Base URL of the resource server.
    pub api_url: String,
    /// The relying party's client id and secret.
    pub client: (String, String),
    _processes: [Process; 2],
}

impl ExampleStack {
    /// Starts everything. The relying party's port is known only once it runs, so its
    /// client is registered then, with the id and secret it was started with.
    pub async fn start() -> ExampleStack {
        let app = spawn_app().await;
        // Not `example-app`: a development start has registered that one already.
        let client_id = "example-rp".to_string();
        let secret = tessera::auth::secret::generate();

        let mut api = Command::new(example_binary("resource_server"));
        api.env("RS_ISSUER", &app.address)
            .env("RS_LISTEN", "127.0.0.1:0")
            .env("RS_AUDIENCE", &client_id)
            .env("RUST_LOG", "warn");
        let (api, api_url) = start(api, "resource_server", Output::Stdout, |line| {
            word_after(line, "Resource server listening on ")
        })
        .await;
        let mut rp = Command::new(example_binary("relying_party"));
        rp.env("RP_ISSUER", &app.address)
            .env("RP_CLIENT_ID", &client_id)
            .env("RP_CLIENT_SECRET", &secret)
            .env("RP_LISTEN", "127.0.0.1:0")
            .env("RP_API_URL", &api_url)
            .env("RUST_LOG", "warn");
        let (rp, rp_url) = start(rp, "relying_party", Output::Stdout, |line| {
            word_after(line, "Relying party ready: open ")
                .map(|url| url.trim_end_matches('/').to_string())
        })
        .await;

        let mut client_spec = spec("Example App");
        client_spec.client_id = Some(client_id.clone());
        client_spec.redirect_uris = vec![format!("{rp_url}/callback")];
        client_spec.post_logout_redirect_uris = vec![format!("{rp_url}/")];
        client_spec.options.backchannel_logout_uri = Some(format!("{rp_url}/backchannel-logout"));
        app.create_client(client_spec).await;
        // The example reads its secret from a file made before the client existed: store that
        // secret's hash directly, as a fixture.
        let mut tx = app.state.services.db().write().await.expect("write");
        let replaced = tx
            .set_client_secret(
                &client_id,
                &tessera::auth::secret::hash(&secret),
                app.clock_now(),
            )
            .await
            .expect("client secret stored");
        tx.commit().await.expect("committed");
        assert!(replaced, "the client exists");
        ExampleStack {
            app,
            rp_url,
            api_url,
            client: (client_id, secret),
            _processes: [api, rp],
        }
    }
}

/// Follows redirects across the relying party and Tessera like a browser, signing in and
/// approving consent when Tessera asks. Returns the final URL, status and body.
async fn follow(
    stack: &ExampleStack,
    http: &reqwest::Client,
    start: &str,
    user: (&str, &str),
) -> (String, StatusCode, String) {
    let app = &stack.app;
    let mut next = start.to_string();
    for _ in 0..15 {
        let response = http.get(&next).send().await.expect("GET");
        if !response.status().is_redirection() {
            let status = response.status();
            return (next, status, response.text().await.unwrap_or_default());
        }
        let target = location(response.headers());
        next = if target.starts_with('/') {
            let base = url::Url::parse(&next).unwrap();
            base.join(&target).unwrap().to_string()
        } else {
            target
        };
        if let Some(interaction) = next.strip_prefix(&format!("{}/login?interaction=", app.address))
        {
            let csrf = hidden_input(
                &http.get(&next).send().await.unwrap().text().await.unwrap(),
                "csrf_token",
            )
            .unwrap();
            let reply = http
                .post(app.url("/login"))
                .form(&[
                    ("csrf_token", csrf.as_str()),
                    ("username", user.0),
                    ("password", user.1),
                    ("interaction", interaction),
                ])
                .send()
                .await
                .unwrap();
            assert_eq!(reply.status(), StatusCode::SEE_OTHER, "sign-in at Tessera");
            next = app.url(&location(reply.headers()));
        } else if next.starts_with(&format!("{}/consent?", app.address)) {
            let page = http.get(&next).send().await.unwrap().text().await.unwrap();
            let form = [
                ("csrf_token", hidden_input(&page, "csrf_token").unwrap()),
                ("interaction", hidden_input(&page, "interaction").unwrap()),
                ("decision", "approve".to_string()),
            ];
            let reply = http
                .post(app.url("/consent"))
                .form(&form)
                .send()
                .await
                .unwrap();
            next = location(reply.headers());
        }
    }
    panic!("too many redirects from {start}");
}

fn text_of(html: &str, id: &str) -> Option<String> {
    let marker = format!("id=\"{id}\">");
    let start = html.find(&marker)? + marker.len();
    let end = html[start..].find('<')?;
    Some(html[start..start + end].to_string())
}

#[tokio::test]
async fn the_example_app_signs_in_shows_roles_guards_admin_refreshes_and_signs_out() {
    let stack = ExampleStack::start().await;
    let http = crate::helpers::browser();

    let (url, status, profile) = follow(
        &stack,
        &http,
        &format!("{}/login", stack.rp_url),
        ("admin", ADMIN_PASSWORD),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{url}: {profile}");
    assert!(url.ends_with("/profile"), "{url}");
    assert_eq!(text_of(&profile, "roles").as_deref(), Some("admin, user"));
    assert!(
        text_of(&profile, "userinfo-roles")
            .unwrap()
            .contains("admin")
    );
    assert!(
        profile.contains("id=\"api-me\""),
        "the profile shows the API's answer"
    );
    assert!(
        text_of(&profile, "api-me-status")
            .unwrap_or_default()
            .contains("200"),
        "{profile}"
    );

    let admin = http
        .get(format!("{}/admin", stack.rp_url))
        .send()
        .await
        .unwrap();
    assert_eq!(admin.status(), StatusCode::OK);
    assert!(admin.text().await.unwrap().contains("id=\"admin-title\""));

    let home = http
        .get(format!("{}/", stack.rp_url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = hidden_input(&home, "csrf_token").expect("home page forms carry a CSRF token");
    let refreshed = http
        .post(format!("{}/refresh", stack.rp_url))
        .form(&[("csrf_token", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(refreshed.status(), StatusCode::SEE_OTHER);
    assert!(location(refreshed.headers()).ends_with("/profile"));

    let signout = http
        .post(format!("{}/logout", stack.rp_url))
        .form(&[("csrf_token", csrf.as_str())])
        .send()
        .await
        .unwrap();
    let end_session = location(signout.headers());
    assert!(
        end_session.starts_with(&format!("{}/end-session", stack.app.address)),
        "{end_session}"
    );
    let (url, status, _) = follow(&stack, &http, &end_session, ("admin", ADMIN_PASSWORD)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        url.starts_with(&format!("{}/?state=", stack.rp_url)),
        "back at the app after signing out: {url}"
    );
    let account = stack.app.get("/account").await;
    assert_eq!(
        account.status(),
        StatusCode::SEE_OTHER,
        "the Tessera session is gone"
    );
}

#[tokio::test]
async fn signing_out_at_tessera_signs_the_user_out_of_the_example_app() {
    let stack = ExampleStack::start().await;
    let http = crate::helpers::browser();
    let (url, status, _) = follow(
        &stack,
        &http,
        &format!("{}/login", stack.rp_url),
        ("admin", ADMIN_PASSWORD),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{url}");
    let home = |http: reqwest::Client| {
        let url = format!("{}/", stack.rp_url);
        async move { http.get(url).send().await.unwrap().text().await.unwrap() }
    };
    assert!(
        home(http.clone()).await.contains("id=\"signout\""),
        "signed in at the app"
    );

    // The user signs out on Tessera's own page, not through the app.
    let page = http
        .get(stack.app.url("/logout"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = hidden_input(&page, "csrf_token").expect("sign-out form");
    let signed_out = http
        .post(stack.app.url("/logout"))
        .form(&[("csrf_token", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert!(signed_out.status().is_success() || signed_out.status().is_redirection());

    let mut app_page = String::new();
    for _ in 0..100 {
        app_page = home(http.clone()).await;
        if app_page.contains("id=\"signin\"") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(
        app_page.contains("id=\"signin\""),
        "the back-channel logout signed the user out of the app: {app_page}"
    );
}

#[tokio::test]
async fn a_plain_user_is_refused_the_admin_page_and_tampered_callbacks_sign_nobody_in() {
    let stack = ExampleStack::start().await;
    stack
        .app
        .create_user("paula", "paula password 1", &["user"])
        .await;
    let http = crate::helpers::browser();
    let (_, status, profile) = follow(
        &stack,
        &http,
        &format!("{}/login", stack.rp_url),
        ("paula", "paula password 1"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(text_of(&profile, "roles").as_deref(), Some("user"));
    let admin = http
        .get(format!("{}/admin", stack.rp_url))
        .send()
        .await
        .unwrap();
    assert_eq!(admin.status(), StatusCode::FORBIDDEN);
    assert!(admin.text().await.unwrap().contains("id=\"forbidden\""));

    let stranger = crate::helpers::browser();
    let forged = stranger
        .get(format!(
            "{}/callback?code=forged&state=forged",
            stack.rp_url
        ))
        .send()
        .await
        .unwrap();
    assert!(forged.status().is_client_error());
    assert!(forged.text().await.unwrap().contains("id=\"error-code\""));
    let profile = stranger
        .get(format!("{}/profile", stack.rp_url))
        .send()
        .await
        .unwrap();
    assert_eq!(
        profile.status(),
        StatusCode::SEE_OTHER,
        "nobody is signed in"
    );
}

#[tokio::test]
async fn the_service_client_calls_the_api_with_client_credentials() {
    let stack = ExampleStack::start().await;
    let output = Command::new(example_binary("service_client"))
        .env("SC_ISSUER", &stack.app.address)
        .env("SC_CLIENT_ID", &stack.client.0)
        .env("SC_CLIENT_SECRET", &stack.client.1)
        .env("SC_API_URL", &stack.api_url)
        .output()
        .await
        .expect("service client runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("200"), "{stdout}");
    assert!(
        stdout.contains("\"user\""),
        "the client's own role reaches the API: {stdout}"
    );

    let bound = Command::new(example_binary("service_client"))
        .env("SC_ISSUER", &stack.app.address)
        .env("SC_CLIENT_ID", &stack.client.0)
        .env("SC_CLIENT_SECRET", &stack.client.1)
        .env("SC_API_URL", &stack.api_url)
        .arg("--dpop")
        .output()
        .await
        .unwrap();
    let bound_out = String::from_utf8_lossy(&bound.stdout);
    assert!(
        bound.status.success(),
        "{bound_out}{}",
        String::from_utf8_lossy(&bound.stderr)
    );
    assert!(
        bound_out.to_lowercase().contains("token_type: dpop"),
        "{bound_out}"
    );
    assert!(
        bound_out.contains("200"),
        "the API accepts the DPoP-bound token: {bound_out}"
    );

    // The resource server holds a bound token to its key, as Tessera does.
    let prover = crate::dpop::Prover::new();
    let minted = stack
        .app
        .http
        .post(stack.app.url("/token"))
        .basic_auth(&stack.client.0, Some(&stack.client.1))
        .header("DPoP", prover.proof(&stack.app, "POST", "/token", None))
        .form(&[("grant_type", "client_credentials"), ("scope", "roles")])
        .send()
        .await
        .unwrap();
    let minted: serde_json::Value = minted.json().await.unwrap();
    let at = minted["access_token"].as_str().expect("a bound token");
    let me = format!("{}/api/me", stack.api_url);
    let now = stack.app.clock_now();
    let proof = prover.proof_at("GET", &me, Some(at), None, now);
    let call = |scheme: &'static str, proof: Option<String>| {
        let mut request = reqwest::Client::new()
            .get(&me)
            .header("Authorization", format!("{scheme} {at}"));
        if let Some(proof) = proof {
            request = request.header("DPoP", proof);
        }
        request.send()
    };
    assert_eq!(
        call("Bearer", None).await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        call("DPoP", Some(proof.clone())).await.unwrap().status(),
        StatusCode::OK
    );
    let replayed = call("DPoP", Some(proof)).await.unwrap();
    assert_eq!(replayed.status(), StatusCode::UNAUTHORIZED);
    assert!(
        replayed.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("DPoP")
    );
    let stranger = crate::dpop::Prover::new().proof_at("GET", &me, Some(at), None, now);
    assert_eq!(
        call("DPoP", Some(stranger)).await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );

    let wrong = Command::new(example_binary("service_client"))
        .env("SC_ISSUER", &stack.app.address)
        .env("SC_CLIENT_ID", &stack.client.0)
        .env("SC_CLIENT_SECRET", "wrong")
        .env("SC_API_URL", &stack.api_url)
        .output()
        .await
        .unwrap();
    assert!(!wrong.status.success(), "a wrong secret fails clearly");

    let anonymous = reqwest::get(format!("{}/api/me", stack.api_url))
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    assert!(
        anonymous.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Bearer")
    );
}
