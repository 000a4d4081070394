//! Resource indicators (RFC 8707), PKCE for every client (RFC 9700 §2.1.1), and
//! introspection answered only to the token's client or a resource server.

use reqwest::StatusCode;

use crate::helpers::{TestApp, jwt_parts, spawn_app};
use crate::rp::{self, Consent, Landing, Rp};

const ALICE: (&str, &str) = ("alice", "lamp orbit velvet cactus 42");
const API: &str = "https://api.example/";

async fn setup(
    app: &TestApp,
    adjust: impl FnOnce(&mut tessera::services::clients::ClientSpec),
) -> Rp {
    app.create_user(ALICE.0, ALICE.1, &["user"]).await;
    let mut spec = rp::spec("Resourceful App");
    spec.skip_consent = true;
    spec.options.resources = Some(vec![API.into(), "https://other.example/".into()]);
    adjust(&mut spec);
    Rp::register(app, spec).await
}

#[tokio::test]
async fn client_credentials_tokens_name_the_resource_asked_for() {
    let app = spawn_app().await;
    let rp = setup(&app, |_| {}).await;
    let plain = rp
        .token(&app, &[("grant_type", "client_credentials")])
        .await;
    let (_, claims) = jwt_parts(plain.body["access_token"].as_str().unwrap());
    assert_eq!(claims["aud"], rp.client_id.as_str());

    let aimed = rp
        .token(
            &app,
            &[("grant_type", "client_credentials"), ("resource", API)],
        )
        .await;
    assert_eq!(aimed.status, StatusCode::OK, "{:?}", aimed.body);
    let (_, claims) = jwt_parts(aimed.body["access_token"].as_str().unwrap());
    assert_eq!(claims["aud"], API);

    for bad in [
        "https://unregistered.example/",
        "not a uri",
        "https://api.example/#frag",
    ] {
        rp.token(
            &app,
            &[("grant_type", "client_credentials"), ("resource", bad)],
        )
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_target");
    }
}

#[tokio::test]
async fn a_code_flow_with_a_resource_gives_tokens_for_it_only() {
    let app = spawn_app().await;
    let rp = setup(&app, |_| {}).await;
    let pending = rp.authorize(&[], &[("resource", API)]);
    let landing = rp::browse(&app, pending.url.as_str(), ALICE, Consent::Approve).await;
    let tokens = rp
        .exchange(&landing.code(), pending.verifier)
        .await
        .unwrap();
    let at = openidconnect::OAuth2TokenResponse::access_token(&tokens)
        .secret()
        .clone();
    let (_, claims) = jwt_parts(&at);
    assert_eq!(claims["aud"], API);
    let info = app.userinfo(&at).await;
    assert_eq!(
        info.status,
        StatusCode::UNAUTHORIZED,
        "a token for another resource"
    );

    let pending = rp.authorize(&[], &[("resource", "https://unregistered.example/")]);
    let landing = rp::browse(&app, pending.url.as_str(), ALICE, Consent::Approve).await;
    assert!(matches!(landing, Landing::Callback(_)), "{landing:?}");
    assert_eq!(landing.param("error").as_deref(), Some("invalid_target"));

    // At the token endpoint, a resource outside the grant is refused.
    let pending = rp.authorize(&[], &[("resource", API)]);
    let landing = rp::browse(&app, pending.url.as_str(), ALICE, Consent::Approve).await;
    let code = landing.code();
    rp.token(
        &app,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", rp::REDIRECT_URI),
            ("code_verifier", pending.verifier.secret()),
            ("resource", "https://other.example/"),
        ],
    )
    .await
    .assert_error(StatusCode::BAD_REQUEST, "invalid_target");
}

#[tokio::test]
async fn every_client_must_use_pkce_unless_an_admin_opted_it_out() {
    let app = spawn_app().await;
    let rp = setup(&app, |_| {}).await;
    let pending = rp.authorize(&[], &[]);
    let mut url = pending.url.clone();
    let kept: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(k, _)| !k.starts_with("code_challenge"))
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    url.query_pairs_mut().clear().extend_pairs(kept);
    let landing = rp::browse(&app, url.as_str(), ALICE, Consent::Approve).await;
    assert_eq!(landing.param("error").as_deref(), Some("invalid_request"));

    let (ok, out, err) = app
        .cli(
            &[
                "client",
                "update",
                &rp.client_id,
                "--allow-no-pkce",
                "true",
                "--json",
            ],
            None,
        )
        .await;
    assert!(ok, "{err}");
    let client: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(client["allow_no_pkce"], true);
    let (ok, out, err) = app
        .cli(
            &[
                "client",
                "update",
                &rp.client_id,
                "--name",
                "Renamed app",
                "--require-mfa",
                "false",
                "--json",
            ],
            None,
        )
        .await;
    assert!(ok, "{err}");
    let renamed: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(renamed["name"], "Renamed app");
    assert_eq!(
        renamed["redirect_uris"], client["redirect_uris"],
        "others stay"
    );
    let (ok, _, err) = app
        .cli(
            &[
                "client",
                "update",
                &rp.client_id,
                "--redirect-uri",
                "https://*.example/cb",
            ],
            None,
        )
        .await;
    assert!(!ok && err.contains("wildcard"), "{err}");
    // The change reaches this node at once (or within the client cache's few seconds).
    app.clock.advance(5);
    let landing = rp::browse(&app, url.as_str(), ALICE, Consent::Approve).await;
    assert!(landing.param("code").is_some(), "opted out: {landing:?}");
    let audit = app.audit(&["--type", "client_updated"]).await;
    let outcomes: Vec<&str> = audit.iter().filter_map(|e| e["outcome"].as_str()).collect();
    assert_eq!(outcomes, ["failure", "success", "success"], "newest first");

    let (ok, _, err) = app
        .cli(
            &[
                "client",
                "add",
                "--name",
                "Spa",
                "--public",
                "--redirect-uri",
                "https://spa.example/cb",
                "--allow-no-pkce",
            ],
            None,
        )
        .await;
    assert!(!ok, "a public client cannot opt out");
    assert!(err.contains("PKCE"), "{err}");
}

#[tokio::test]
async fn introspection_tells_only_the_tokens_client_or_a_resource_server() {
    let app = spawn_app().await;
    let owner = setup(&app, |_| {}).await;
    let token = owner
        .token(&app, &[("grant_type", "client_credentials")])
        .await;
    let at = token.body["access_token"].as_str().unwrap();
    let stranger = Rp::register(&app, rp::spec("Stranger")).await;
    let mut server_spec = rp::spec("Resource Server");
    server_spec.options.introspect_any = Some(true);
    let server = Rp::register(&app, server_spec).await;

    let own = app
        .post_form("/introspect", owner.basic(), &[("token", at)])
        .await;
    assert_eq!(own.body["active"], true);
    let other = app
        .post_form("/introspect", stranger.basic(), &[("token", at)])
        .await;
    assert_eq!(other.status, StatusCode::OK);
    assert_eq!(other.body, serde_json::json!({ "active": false }));
    let rs = app
        .post_form("/introspect", server.basic(), &[("token", at)])
        .await;
    assert_eq!(rs.body["active"], true);
    assert_eq!(rs.body["client_id"], owner.client_id.as_str());
}
