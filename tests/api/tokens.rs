//! The token endpoint (RFC 6749 §4.1.3, §5.1, §5.2, §6; RFC 7636 §4.6; RFC 9700 §2.1.1,
//! §4.14): code redemption, client authentication, refresh token rotation with replay
//! detection, the client credentials grant, and malformed requests.

use oauth2::basic::BasicClient;
use oauth2::{ClientId, ClientSecret, TokenUrl};
use openidconnect::core::CoreTokenResponse;
use openidconnect::{AuthType, AuthorizationCode, OAuth2TokenResponse, TokenResponse};
use reqwest::StatusCode;

use crate::helpers::{ADMIN_PASSWORD, JsonReply, TestApp, jwt_parts, spawn_app};
use crate::rp::{REDIRECT_URI, Rp, sign_in, spec};

const ADMIN: (&str, &str) = ("admin", ADMIN_PASSWORD);

/// A named raw request: Content-Type, Authorization and body.
type RawRequest<'a> = (&'a str, Option<&'a str>, Option<String>, Vec<u8>);

/// The form of a code redemption.
fn code_form<'a>(code: &'a str, verifier: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", REDIRECT_URI),
        ("code_verifier", verifier),
    ]
}

/// Asserts that the tokens of a grant no longer work: userinfo refuses the access token
/// and the refresh token is `invalid_grant`.
async fn assert_grant_dead(app: &TestApp, rp: &Rp, tokens: &CoreTokenResponse) {
    let info = app.userinfo(tokens.access_token().secret()).await;
    assert_eq!(info.status, StatusCode::UNAUTHORIZED, "{:?}", info.body);
    assert!(
        info.header("www-authenticate")
            .is_some_and(|h| h.contains("error=\"invalid_token\"")),
        "{:?}",
        info.headers
    );
    let refresh = tokens.refresh_token().expect("a refresh token");
    assert_eq!(
        rp.refresh(refresh, None).await.unwrap_err(),
        "invalid_grant"
    );
}

#[tokio::test]
async fn a_reused_code_is_refused_and_revokes_what_its_first_use_issued() {
    let app = spawn_app().await;
    let rp = Rp::register(&app, spec("Reuse App")).await;
    let (code, pending) = rp.code(&app, &["offline_access"], ADMIN).await;
    let verifier = pending.verifier.secret().clone();
    let first = rp.token(&app, &code_form(&code, &verifier)).await;
    assert_eq!(first.status, StatusCode::OK, "{:?}", first.body);
    let tokens: CoreTokenResponse = serde_json::from_value(first.body).unwrap();
    assert_eq!(
        app.userinfo(tokens.access_token().secret()).await.status,
        StatusCode::OK
    );

    let second = rp.token(&app, &code_form(&code, &verifier)).await;
    second.assert_error(StatusCode::BAD_REQUEST, "invalid_grant");
    assert!(second.body.get("access_token").is_none());
    assert_grant_dead(&app, &rp, &tokens).await;
}

#[tokio::test]
async fn pkce_failures_are_invalid_grant() {
    let app = spawn_app().await;
    let rp = Rp::register(&app, spec("PKCE App")).await;
    let (code, _) = rp.code(&app, &[], ADMIN).await;
    let wrong = "x".repeat(43);
    rp.token(&app, &code_form(&code, &wrong))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_grant");
    let malformed = "short";
    rp.token(&app, &code_form(&code, malformed))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_grant");

    let (code, _) = rp.code(&app, &[], ADMIN).await;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT_URI),
    ];
    rp.token(&app, &form)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_grant");
}

#[tokio::test]
async fn a_code_older_than_60_seconds_is_invalid_grant() {
    let app = spawn_app().await;
    let rp = Rp::register(&app, spec("Slow App")).await;
    let (code, pending) = rp.code(&app, &[], ADMIN).await;
    app.clock.advance(61);
    rp.token(&app, &code_form(&code, pending.verifier.secret()))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_grant");
}

#[tokio::test]
async fn a_different_redirect_uri_is_invalid_grant() {
    let app = spawn_app().await;
    let rp = Rp::register(&app, spec("Redirect App")).await;
    let (code, pending) = rp.code(&app, &[], ADMIN).await;
    for other in [
        "http://127.0.0.1:3999/callback/",
        "http://127.0.0.1:3999/callback?x=1",
        "http://127.0.0.1:3999/other",
    ] {
        let form = [
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", other),
            ("code_verifier", pending.verifier.secret().as_str()),
        ];
        rp.token(&app, &form)
            .await
            .assert_error(StatusCode::BAD_REQUEST, "invalid_grant");
    }
}

#[tokio::test]
async fn a_code_redeemed_by_another_client_is_invalid_grant() {
    let app = spawn_app().await;
    let rp = Rp::register(&app, spec("Victim App")).await;
    let thief = Rp::register(&app, spec("Thief App")).await;
    let (code, pending) = rp.code(&app, &[], ADMIN).await;
    let reply = thief
        .token(&app, &code_form(&code, pending.verifier.secret()))
        .await;
    reply.assert_error(StatusCode::BAD_REQUEST, "invalid_grant");
    assert!(reply.body.get("access_token").is_none());
}

#[tokio::test]
async fn failed_client_authentication_is_401_invalid_client() {
    let app = spawn_app().await;
    let rp = Rp::register(&app, spec("Auth App")).await;
    let form = [("grant_type", "client_credentials")];

    // HTTP Basic: 401 with a Basic challenge (RFC 6749 §5.2).
    for basic in [
        (rp.client_id.as_str(), "wrong secret"),
        (rp.client_id.as_str(), ""),
        ("no-such-client", "whatever"),
    ] {
        let reply = app.post_form("/token", Some(basic), &form).await;
        reply.assert_error(StatusCode::UNAUTHORIZED, "invalid_client");
        let challenge = reply.header("www-authenticate").unwrap_or_default();
        assert!(
            challenge.to_ascii_lowercase().starts_with("basic"),
            "{basic:?}: WWW-Authenticate is {challenge:?}"
        );
    }

    // client_secret_post.
    let id = rp.client_id.as_str();
    for form in [
        vec![
            ("grant_type", "client_credentials"),
            ("client_id", id),
            ("client_secret", "wrong secret"),
        ],
        // A confidential client that sends no secret at all.
        vec![("grant_type", "client_credentials"), ("client_id", id)],
        vec![
            ("grant_type", "client_credentials"),
            ("client_id", "no-such-client"),
            ("client_secret", "whatever"),
        ],
        // No client authentication at all.
        vec![("grant_type", "client_credentials")],
    ] {
        app.post_form("/token", None, &form)
            .await
            .assert_error(StatusCode::UNAUTHORIZED, "invalid_client");
    }
}

#[tokio::test]
async fn basic_and_a_client_secret_in_the_body_together_are_invalid_request() {
    let app = spawn_app().await;
    let rp = Rp::register(&app, spec("Both App")).await;
    let secret = rp.secret.clone().unwrap();
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", rp.client_id.as_str()),
        ("client_secret", secret.as_str()),
    ];
    let reply = app.post_form("/token", rp.basic(), &form).await;
    reply.assert_error(StatusCode::BAD_REQUEST, "invalid_request");
    assert!(reply.body.get("access_token").is_none());
}

#[tokio::test]
async fn client_secret_post_works() {
    let app = spawn_app().await;
    let rp = Rp::register(&app, spec("Post Secret App")).await;
    let (code, pending) = rp.code(&app, &["profile"], ADMIN).await;
    // The openidconnect crate, told to put the secret in the body.
    let client = rp.client.clone().set_auth_type(AuthType::RequestBody);
    let tokens = client
        .exchange_code(AuthorizationCode::new(code))
        .expect("token endpoint")
        .set_pkce_verifier(pending.verifier)
        .request_async(&rp.http)
        .await
        .expect("client_secret_post exchange");
    let claims = rp.verify_id_token(&tokens, &pending.nonce);
    assert_eq!(claims.preferred_username().unwrap().as_str(), "admin");

    // And by hand, with client_credentials.
    let secret = rp.secret.clone().unwrap();
    let reply = app
        .post_form(
            "/token",
            None,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", rp.client_id.as_str()),
                ("client_secret", secret.as_str()),
            ],
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    assert!(reply.body["access_token"].is_string());
}

#[tokio::test]
async fn unknown_grant_types_are_unsupported_grant_type() {
    let app = spawn_app().await;
    let rp = Rp::register(&app, spec("Grant App")).await;
    for grant_type in [
        "password",
        "implicit",
        "urn:ietf:params:oauth:grant-type:jwt-bearer",
        "AUTHORIZATION_CODE",
    ] {
        rp.token(&app, &[("grant_type", grant_type)])
            .await
            .assert_error(StatusCode::BAD_REQUEST, "unsupported_grant_type");
    }
    rp.token(&app, &[("scope", "openid")])
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_request");
    // Supported, but this client is not registered for it.
    rp.token(
        &app,
        &[("grant_type", "urn:ietf:params:oauth:grant-type:device_code")],
    )
    .await
    .assert_error(StatusCode::BAD_REQUEST, "unauthorized_client");
}

#[tokio::test]
async fn a_client_not_registered_for_a_grant_is_unauthorized_client() {
    let app = spawn_app().await;
    let mut code_only = spec("Code Only App");
    code_only.grant_types = vec!["authorization_code".into()];
    let rp = Rp::register(&app, code_only).await;
    rp.token(&app, &[("grant_type", "client_credentials")])
        .await
        .assert_error(StatusCode::BAD_REQUEST, "unauthorized_client");
    rp.token(
        &app,
        &[("grant_type", "refresh_token"), ("refresh_token", "x")],
    )
    .await
    .assert_error(StatusCode::BAD_REQUEST, "unauthorized_client");
    // Without the refresh_token grant, offline_access gives no refresh token.
    let (tokens, _) = sign_in(&app, &rp, &["offline_access"], ADMIN).await;
    assert!(tokens.refresh_token().is_none());
}

#[tokio::test]
async fn refresh_tokens_rotate_and_a_replay_revokes_the_whole_grant() {
    let app = spawn_app().await;
    let rp = Rp::register(&app, spec("Rotate App")).await;
    let (first, nonce) = sign_in(&app, &rp, &["offline_access", "profile"], ADMIN).await;
    let subject = rp.verify_id_token(&first, &nonce).subject().clone();
    let original = first.refresh_token().expect("refresh token").clone();

    let second = rp.refresh(&original, None).await.expect("refresh");
    let rotated = second.refresh_token().expect("a new refresh token").clone();
    assert_ne!(rotated.secret(), original.secret(), "refresh tokens rotate");
    assert_ne!(
        second.access_token().secret(),
        first.access_token().secret()
    );
    // The refreshed ID token is for the same user.
    let raw_id_token = second.id_token().expect("an ID token").to_string();
    let (_, claims) = jwt_parts(&raw_id_token);
    let (_, first_claims) = jwt_parts(&first.id_token().unwrap().to_string());
    // OpenID Connect Core §12.2: same iss, sub, aud, and the original auth_time.
    for claim in ["iss", "sub", "aud", "auth_time"] {
        assert_eq!(claims[claim], first_claims[claim], "{claim}");
    }
    assert_eq!(claims["sub"], subject.as_str());
    let info = rp
        .userinfo(second.access_token())
        .await
        .expect("new access token works");
    assert_eq!(info.subject(), &subject);

    // The spent token comes back: refused, and the grant is gone with everything in it.
    assert_eq!(
        rp.refresh(&original, None).await.unwrap_err(),
        "invalid_grant"
    );
    assert_grant_dead(&app, &rp, &second).await;
    let info = app.userinfo(first.access_token().secret()).await;
    assert_eq!(info.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_refresh_may_narrow_the_scope_but_not_widen_it() {
    let app = spawn_app().await;
    let rp = Rp::register(&app, spec("Scope App")).await;
    let (tokens, _) = sign_in(&app, &rp, &["offline_access", "profile"], ADMIN).await;
    let refresh = tokens.refresh_token().unwrap().clone();

    let narrowed = rp
        .refresh(&refresh, Some(&["openid"]))
        .await
        .expect("narrower scope");
    let scopes: Vec<String> = narrowed
        .scopes()
        .expect("the scope is returned when it differs")
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(scopes, vec!["openid".to_string()]);
    let (_, claims) = jwt_parts(narrowed.access_token().secret());
    assert_eq!(claims["scope"], "openid");
    let info = app.userinfo(narrowed.access_token().secret()).await;
    assert_eq!(info.status, StatusCode::OK);
    assert!(
        info.body.get("preferred_username").is_none(),
        "profile was not asked for: {:?}",
        info.body
    );

    let latest = narrowed.refresh_token().unwrap().clone();
    // email is allowed for the client but was never granted.
    assert_eq!(
        rp.refresh(&latest, Some(&["openid", "email"]))
            .await
            .unwrap_err(),
        "invalid_scope"
    );
    assert_eq!(
        rp.refresh(&latest, Some(&["openid", "admin"]))
            .await
            .unwrap_err(),
        "invalid_scope"
    );
    // Asking for the original grant again is not widening it.
    let restored = rp
        .refresh(&latest, Some(&["openid", "profile", "offline_access"]))
        .await
        .expect("the originally granted scope");
    assert!(restored.refresh_token().is_some());
}

#[tokio::test]
async fn client_credentials_with_the_oauth2_crate() {
    let app = spawn_app().await;
    let rp = Rp::register(&app, spec("Service App")).await;
    let client = BasicClient::new(ClientId::new(rp.client_id.clone()))
        .set_client_secret(ClientSecret::new(rp.secret.clone().unwrap()))
        .set_token_uri(TokenUrl::new(app.url("/token")).unwrap());
    let http = oauth2::reqwest::ClientBuilder::new()
        .redirect(oauth2::reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let tokens = client
        .exchange_client_credentials()
        .request_async(&http)
        .await
        .expect("client credentials");
    assert!(
        tokens.refresh_token().is_none(),
        "no refresh token (RFC 6749 §4.4.3)"
    );
    assert_eq!(tokens.token_type(), &oauth2::basic::BasicTokenType::Bearer);
    assert!(tokens.expires_in().is_some());

    let (header, claims) = jwt_parts(tokens.access_token().secret());
    assert_eq!(header["typ"], "at+jwt", "RFC 9068 §2.1");
    assert!(header["kid"].is_string());
    assert_eq!(claims["roles"], serde_json::json!(["user"]));
    assert_eq!(claims["client_id"], rp.client_id.as_str());
    assert_eq!(claims["sub"], rp.client_id.as_str());
    assert_eq!(claims["iss"], app.address.as_str());
    assert!(claims["exp"].as_i64().unwrap() > app.clock_now());
    assert!(claims.get("gid").is_none());
    let scope = claims["scope"].as_str().unwrap_or_default();
    for user_only in ["openid", "offline_access", "profile", "email"] {
        assert!(
            !scope.split(' ').any(|s| s == user_only),
            "{user_only} in {scope}"
        );
    }

    // The crate's scope parameter is honoured, and user scopes are refused.
    let narrowed = client
        .exchange_client_credentials()
        .add_scope(oauth2::Scope::new("roles".into()))
        .request_async(&http)
        .await
        .expect("client credentials with a scope");
    let (_, claims) = jwt_parts(narrowed.access_token().secret());
    assert_eq!(claims["scope"], "roles");
    let refused = client
        .exchange_client_credentials()
        .add_scope(oauth2::Scope::new("openid".into()))
        .request_async(&http)
        .await
        .unwrap_err();
    match refused {
        oauth2::RequestTokenError::ServerResponse(r) => {
            assert_eq!(r.error().to_string(), "invalid_scope")
        }
        other => panic!("expected invalid_scope, got {other:?}"),
    }
}

#[tokio::test]
async fn every_token_response_is_no_store() {
    let app = spawn_app().await;
    let rp = Rp::register(&app, spec("Cache App")).await;
    let (code, pending) = rp.code(&app, &["offline_access"], ADMIN).await;
    let mut replies: Vec<(&str, JsonReply)> = Vec::new();
    let exchanged = rp
        .token(&app, &code_form(&code, pending.verifier.secret()))
        .await;
    assert_eq!(exchanged.status, StatusCode::OK);
    let refresh = exchanged.body["refresh_token"]
        .as_str()
        .unwrap()
        .to_string();
    replies.push(("code exchange", exchanged));
    replies.push((
        "refresh",
        rp.token(
            &app,
            &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
        )
        .await,
    ));
    replies.push((
        "client credentials",
        rp.token(&app, &[("grant_type", "client_credentials")])
            .await,
    ));
    replies.push((
        "invalid_grant",
        rp.token(&app, &code_form(&code, pending.verifier.secret()))
            .await,
    ));
    replies.push((
        "invalid_client",
        app.post_form(
            "/token",
            Some((&rp.client_id, "nope")),
            &[("grant_type", "client_credentials")],
        )
        .await,
    ));
    replies.push((
        "unsupported_grant_type",
        rp.token(&app, &[("grant_type", "password")]).await,
    ));
    let wrong_type = app
        .http
        .post(app.url("/token"))
        .header("content-type", "application/json")
        .body("{\"grant_type\":\"client_credentials\"}")
        .send()
        .await
        .unwrap();
    replies.push(("wrong content type", JsonReply::read(wrong_type).await));
    for (case, reply) in &replies {
        assert_eq!(
            reply.header("cache-control"),
            Some("no-store"),
            "{case}: {:?}",
            reply.headers
        );
        assert!(
            reply
                .header("content-type")
                .is_some_and(|c| c.starts_with("application/json")),
            "{case}"
        );
    }
    for (case, reply) in &replies[..3] {
        assert_eq!(reply.status, StatusCode::OK, "{case}: {:?}", reply.body);
        assert_eq!(reply.body["token_type"], "Bearer", "{case}");
    }
}

#[tokio::test]
async fn malformed_token_requests_get_a_4xx_json_error_and_never_a_500() {
    let app = spawn_app().await;
    let rp = Rp::register(&app, spec("Garbage App")).await;
    let secret = rp.secret.clone().unwrap();
    let url = app.url("/token");
    let form_type = "application/x-www-form-urlencoded";
    let good_basic = {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(format!("{}:{secret}", rp.client_id))
    };
    let no_colon = {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(&rp.client_id)
    };
    let nul_id = {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode("a%00b:secret")
    };
    let cases: Vec<RawRequest> = vec![
        (
            "JSON body",
            Some("application/json"),
            Some(format!("Basic {good_basic}")),
            b"{\"grant_type\":\"client_credentials\"}".to_vec(),
        ),
        (
            "no content type",
            None,
            Some(format!("Basic {good_basic}")),
            b"grant_type=client_credentials".to_vec(),
        ),
        (
            "text/plain",
            Some("text/plain"),
            Some(format!("Basic {good_basic}")),
            b"grant_type=client_credentials".to_vec(),
        ),
        (
            "binary garbage",
            Some(form_type),
            Some(format!("Basic {good_basic}")),
            vec![0xff, 0xfe, 0x00, 0x3d, 0x26, 0x26, 0x3d, 0x80, 0x25],
        ),
        (
            "garbage without credentials",
            Some(form_type),
            None,
            b"%%%&&&===\x00\xff".to_vec(),
        ),
        (
            "empty body",
            Some(form_type),
            Some(format!("Basic {good_basic}")),
            Vec::new(),
        ),
        (
            "Basic !!!",
            Some(form_type),
            Some("Basic !!!".into()),
            b"grant_type=client_credentials".to_vec(),
        ),
        (
            "Basic without a colon",
            Some(form_type),
            Some(format!("Basic {no_colon}")),
            b"grant_type=client_credentials".to_vec(),
        ),
        (
            "Basic alone",
            Some(form_type),
            Some("Basic".into()),
            b"grant_type=client_credentials".to_vec(),
        ),
        (
            "Basic and spaces",
            Some(form_type),
            Some("Basic    ".into()),
            b"grant_type=client_credentials".to_vec(),
        ),
        (
            "Bearer instead of Basic",
            Some(form_type),
            Some("Bearer abc".into()),
            b"grant_type=client_credentials".to_vec(),
        ),
        (
            "NUL in the Basic client_id",
            Some(form_type),
            Some(format!("Basic {nul_id}")),
            b"grant_type=client_credentials".to_vec(),
        ),
        (
            "NUL in the body client_id",
            Some(form_type),
            None,
            b"grant_type=client_credentials&client_id=a%00b&client_secret=x".to_vec(),
        ),
        (
            "repeated grant_type",
            Some(form_type),
            Some(format!("Basic {good_basic}")),
            b"grant_type=client_credentials&grant_type=client_credentials".to_vec(),
        ),
        (
            "huge body",
            Some(form_type),
            Some(format!("Basic {good_basic}")),
            format!("grant_type=client_credentials&x={}", "a".repeat(200 * 1024)).into_bytes(),
        ),
        (
            "huge client_id",
            Some(form_type),
            None,
            format!(
                "grant_type=client_credentials&client_id={}",
                "a".repeat(8000)
            )
            .into_bytes(),
        ),
    ];
    for (case, content_type, authorization, body) in cases {
        let mut request = app.http.post(&url).body(body);
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        if let Some(authorization) = authorization {
            request = request.header("authorization", authorization);
        }
        let reply = JsonReply::read(request.send().await.unwrap()).await;
        assert!(
            reply.status.is_client_error(),
            "{case}: answered {} {:?}",
            reply.status,
            reply.body
        );
        assert!(
            reply.error().is_some(),
            "{case}: a JSON error, got {reply:?}"
        );
    }
    // A header value that is not even text.
    let reply = JsonReply::read(
        app.http
            .post(&url)
            .header(
                "authorization",
                reqwest::header::HeaderValue::from_bytes(b"Basic \xff\xfe").unwrap(),
            )
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap(),
    )
    .await;
    reply.assert_error(StatusCode::UNAUTHORIZED, "invalid_client");
}
