//! Token introspection (RFC 7662), revocation (RFC 7009) and the bearer-token errors of the
//! UserInfo endpoint (RFC 6750 §3, OpenID Connect Core §5.3.3).

use openidconnect::core::CoreTokenResponse;
use openidconnect::{OAuth2TokenResponse, TokenResponse};
use reqwest::StatusCode;

use crate::helpers::{ADMIN_PASSWORD, JsonReply, TestApp, jwt_parts, spawn_app};
use crate::rp::{Rp, sign_in, spec};

const ADMIN: (&str, &str) = ("admin", ADMIN_PASSWORD);

/// Introspects `token` as `rp`, with an optional `token_type_hint`.
async fn introspect(app: &TestApp, rp: &Rp, token: &str, hint: Option<&str>) -> JsonReply {
    let mut form = vec![("token", token)];
    if let Some(hint) = hint {
        form.push(("token_type_hint", hint));
    }
    app.post_form("/introspect", rp.basic(), &form).await
}

/// Revokes `token` as `rp`, with an optional `token_type_hint`.
async fn revoke(app: &TestApp, rp: &Rp, token: &str, hint: Option<&str>) -> JsonReply {
    let mut form = vec![("token", token)];
    if let Some(hint) = hint {
        form.push(("token_type_hint", hint));
    }
    app.post_form("/revoke", rp.basic(), &form).await
}

/// Asserts `{"active": false}` and nothing else (RFC 7662 §2.2).
#[track_caller]
fn assert_inactive(reply: &JsonReply, case: &str) {
    assert_eq!(reply.status, StatusCode::OK, "{case}: {:?}", reply.body);
    assert_eq!(
        reply.body,
        serde_json::json!({ "active": false }),
        "{case}: an inactive token reveals nothing"
    );
}

/// Asserts that userinfo refuses `token` with `invalid_token` (RFC 6750 §3.1).
async fn assert_userinfo_refuses(app: &TestApp, token: &str, case: &str) {
    let reply = app.userinfo(token).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{case}");
    let challenge = reply.header("www-authenticate").unwrap_or_default();
    assert!(challenge.starts_with("Bearer "), "{case}: {challenge}");
    assert!(
        challenge.contains("error=\"invalid_token\""),
        "{case}: {challenge}"
    );
}

async fn signed_in(app: &TestApp, rp: &Rp) -> CoreTokenResponse {
    let (tokens, _) = sign_in(app, rp, &["roles", "offline_access", "profile"], ADMIN).await;
    tokens
}

#[tokio::test]
async fn a_live_access_token_is_active_with_its_claims() {
    let app = spawn_app().await;
    let rp = Rp::register(&app, spec("Introspecting App")).await;
    let tokens = signed_in(&app, &rp).await;
    let access = tokens.access_token().secret();
    let (_, id_claims) = jwt_parts(&tokens.id_token().unwrap().to_string());

    let reply = introspect(&app, &rp, access, None).await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    let body = &reply.body;
    assert_eq!(body["active"], true);
    assert_eq!(body["sub"], id_claims["sub"]);
    assert_eq!(body["client_id"], rp.client_id.as_str());
    let scope: Vec<&str> = body["scope"].as_str().unwrap().split(' ').collect();
    for wanted in ["openid", "roles", "profile", "offline_access"] {
        assert!(scope.contains(&wanted), "{wanted} in {scope:?}");
    }
    assert_eq!(body["roles"], serde_json::json!(["admin", "user"]));
    let exp = body["exp"].as_i64().expect("exp is a number");
    assert!(exp > app.clock_now());
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["iss"], app.address.as_str());
    assert_eq!(body["username"], "admin");

    // The hint orders the search; a wrong hint still finds the token (RFC 7662 §2.1).
    let reply = introspect(&app, &rp, access, Some("refresh_token")).await;
    assert_eq!(reply.body["active"], true, "{:?}", reply.body);
    assert_eq!(reply.body["client_id"], rp.client_id.as_str());
}

#[tokio::test]
async fn the_node_that_minted_a_token_answers_for_it_as_a_node_that_verifies_it() {
    // The minting node keeps what it signed instead of checking its own signature; another
    // node checks the signature. Both must see the same token.
    let app = spawn_app().await;
    let rp = Rp::register(&app, spec("Two Node Introspection App")).await;
    let tokens = signed_in(&app, &rp).await;
    let access = tokens.access_token().secret();
    let other = app.second_node().await;

    let minted_here = introspect(&app, &rp, access, None).await;
    let verified_there = introspect(&other, &rp, access, None).await;
    assert_eq!(minted_here.body["active"], true, "{:?}", minted_here.body);
    assert_eq!(minted_here.body, verified_there.body);
    let here = app.userinfo(access).await;
    let there = other.userinfo(access).await;
    assert_eq!(here.status, StatusCode::OK, "{:?}", here.body);
    assert_eq!(here.body, there.body);

    // What the minting node kept never outlives a revocation.
    let reply = revoke(&app, &rp, access, None).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_inactive(
        &introspect(&app, &rp, access, None).await,
        "revoked, minting node",
    );
    assert_userinfo_refuses(&app, access, "revoked, minting node").await;
}

#[tokio::test]
async fn a_refresh_token_is_active() {
    let app = spawn_app().await;
    let rp = Rp::register(&app, spec("Refresh Introspection App")).await;
    let tokens = signed_in(&app, &rp).await;
    let refresh = tokens.refresh_token().unwrap().secret();
    for hint in [None, Some("refresh_token"), Some("access_token")] {
        let reply = introspect(&app, &rp, refresh, hint).await;
        assert_eq!(reply.status, StatusCode::OK);
        assert_eq!(reply.body["active"], true, "{hint:?}: {:?}", reply.body);
        assert_eq!(reply.body["client_id"], rp.client_id.as_str());
        assert!(reply.body["exp"].as_i64().unwrap() > app.clock_now());
    }
    // Once rotated, the old refresh token is no longer active.
    let rotated = rp
        .refresh(tokens.refresh_token().unwrap(), None)
        .await
        .unwrap();
    assert_inactive(
        &introspect(&app, &rp, refresh, None).await,
        "spent refresh token",
    );
    let reply = introspect(&app, &rp, rotated.refresh_token().unwrap().secret(), None).await;
    assert_eq!(reply.body["active"], true);
}

#[tokio::test]
async fn garbage_expired_and_foreign_tokens_are_inactive() {
    let app = spawn_app().await;
    let rp = Rp::register(&app, spec("Garbage Introspection App")).await;
    let tokens = signed_in(&app, &rp).await;
    let access = tokens.access_token().secret().to_string();
    // A token with a valid shape but a signature by nobody we know.
    let (header, claims) = access.split_once('.').unwrap();
    let forged = format!(
        "{header}.{}.c2lnbmF0dXJl",
        claims.split('.').next().unwrap()
    );
    for (case, token) in [
        ("garbage", "garbage".to_string()),
        ("JWT-shaped garbage", "a.b.c".to_string()),
        ("forged signature", forged),
        ("ID token", tokens.id_token().unwrap().to_string()),
        ("long garbage", "x".repeat(4000)),
    ] {
        for hint in [None, Some("access_token"), Some("refresh_token")] {
            assert_inactive(&introspect(&app, &rp, &token, hint).await, case);
        }
    }
    // Past its expiry the access token is inactive.
    app.clock.advance(601);
    assert_inactive(&introspect(&app, &rp, &access, None).await, "expired");
}

#[tokio::test]
async fn introspection_needs_an_authenticated_confidential_client() {
    let app = spawn_app().await;
    let rp = Rp::register(&app, spec("Owner App")).await;
    let tokens = signed_in(&app, &rp).await;
    let access = tokens.access_token().secret();

    let mut public = spec("Public App");
    public.public = true;
    public.grant_types = vec!["authorization_code".into()];
    let (public_id, _) = app.create_client(public).await;
    let reply = app
        .post_form(
            "/introspect",
            None,
            &[("token", access), ("client_id", &public_id)],
        )
        .await;
    assert!(reply.status.is_client_error(), "{:?}", reply.body);
    assert!(reply.error().is_some(), "{:?}", reply.body);
    assert!(reply.body.get("active").is_none(), "{:?}", reply.body);

    // No client authentication, or a wrong secret.
    let reply = app
        .post_form("/introspect", None, &[("token", access)])
        .await;
    reply.assert_error(StatusCode::UNAUTHORIZED, "invalid_client");
    let reply = app
        .post_form(
            "/introspect",
            Some((&rp.client_id, "wrong")),
            &[("token", access)],
        )
        .await;
    reply.assert_error(StatusCode::UNAUTHORIZED, "invalid_client");
    assert!(reply.header("www-authenticate").is_some());
    // No token.
    app.post_form("/introspect", rp.basic(), &[])
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_request");
}

#[tokio::test]
async fn a_revoked_access_token_is_inactive_and_refused_at_userinfo() {
    let app = spawn_app().await;
    let rp = Rp::register(&app, spec("Revoking App")).await;
    let tokens = signed_in(&app, &rp).await;
    let access = tokens.access_token().secret();
    assert_eq!(app.userinfo(access).await.status, StatusCode::OK);

    let reply = revoke(&app, &rp, access, Some("access_token")).await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    assert_inactive(
        &introspect(&app, &rp, access, None).await,
        "revoked access token",
    );
    assert_userinfo_refuses(&app, access, "revoked access token").await;
    // Revoking it again is fine.
    assert_eq!(revoke(&app, &rp, access, None).await.status, StatusCode::OK);
}

#[tokio::test]
async fn a_wrong_token_type_hint_does_not_stop_revocation() {
    let app = spawn_app().await;
    let rp = Rp::register(&app, spec("Hinting App")).await;
    // RFC 7009 §2.1: a token not found as the hinted type is looked for as every other type.
    let tokens = signed_in(&app, &rp).await;
    let access = tokens.access_token().secret();
    let reply = revoke(&app, &rp, access, Some("refresh_token")).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_userinfo_refuses(&app, access, "access token revoked with a refresh hint").await;

    let tokens = signed_in(&app, &rp).await;
    let refresh = tokens.refresh_token().unwrap();
    let reply = revoke(&app, &rp, refresh.secret(), Some("access_token")).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(
        rp.refresh(refresh, None).await.unwrap_err(),
        "invalid_grant"
    );
}

#[tokio::test]
async fn revoking_a_refresh_token_ends_its_grant() {
    let app = spawn_app().await;
    let rp = Rp::register(&app, spec("Grant Ending App")).await;
    let tokens = signed_in(&app, &rp).await;
    let refresh = tokens.refresh_token().unwrap();
    let rotated = rp.refresh(refresh, None).await.expect("refresh");

    let latest = rotated.refresh_token().unwrap();
    let reply = revoke(&app, &rp, latest.secret(), Some("refresh_token")).await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    assert_eq!(rp.refresh(latest, None).await.unwrap_err(), "invalid_grant");
    for (case, access) in [
        ("first access token", tokens.access_token().secret()),
        ("refreshed access token", rotated.access_token().secret()),
    ] {
        assert_userinfo_refuses(&app, access, case).await;
        assert_inactive(&introspect(&app, &rp, access, None).await, case);
    }
    assert_inactive(
        &introspect(&app, &rp, latest.secret(), None).await,
        "revoked refresh token",
    );
}

#[tokio::test]
async fn revoking_an_unknown_token_is_200() {
    let app = spawn_app().await;
    let rp = Rp::register(&app, spec("Unknown Token App")).await;
    for token in ["no-such-token", "a.b.c", "eyJhbGciOiJFUzI1NiJ9.e30.sig"] {
        for hint in [
            None,
            Some("access_token"),
            Some("refresh_token"),
            Some("bogus"),
        ] {
            let reply = revoke(&app, &rp, token, hint).await;
            assert_eq!(reply.status, StatusCode::OK, "{token} {hint:?}");
        }
    }
    // Revocation still needs client authentication and a token.
    app.post_form("/revoke", None, &[("token", "no-such-token")])
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "invalid_client");
    app.post_form("/revoke", rp.basic(), &[])
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_request");
}

#[tokio::test]
async fn a_client_cannot_revoke_another_clients_tokens() {
    let app = spawn_app().await;
    let owner = Rp::register(&app, spec("Owner App")).await;
    let other = Rp::register(&app, spec("Other App")).await;
    let tokens = signed_in(&app, &owner).await;
    let access = tokens.access_token().secret();
    let refresh = tokens.refresh_token().unwrap();
    for (case, token) in [
        ("access token", access),
        ("refresh token", refresh.secret()),
    ] {
        let reply = revoke(&app, &other, token, None).await;
        assert!(
            reply.status.is_client_error(),
            "{case}: {} {:?}",
            reply.status,
            reply.body
        );
        assert!(reply.error().is_some(), "{case}: {:?}", reply.body);
    }
    // Nothing was revoked.
    assert_eq!(app.userinfo(access).await.status, StatusCode::OK);
    rp_refresh_works(&owner, refresh).await;
}

async fn rp_refresh_works(rp: &Rp, refresh: &openidconnect::RefreshToken) {
    rp.refresh(refresh, None)
        .await
        .expect("the owner's refresh token still works");
}

#[tokio::test]
async fn userinfo_without_a_token_is_a_bare_bearer_challenge() {
    let app = spawn_app().await;
    for response in [
        app.get("/userinfo").await,
        app.http.post(app.url("/userinfo")).send().await.unwrap(),
        app.http
            .post(app.url("/userinfo"))
            .form(&[("other", "x")])
            .send()
            .await
            .unwrap(),
    ] {
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        let challenge = response
            .headers()
            .get("www-authenticate")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        assert!(challenge.starts_with("Bearer realm="), "{challenge}");
        assert!(
            !challenge.contains("error="),
            "RFC 6750 §3.1: no error code when no token was sent: {challenge}"
        );
    }
}

#[tokio::test]
async fn userinfo_refuses_bad_tokens_with_invalid_token() {
    let app = spawn_app().await;
    let rp = Rp::register(&app, spec("Bad Token App")).await;
    let tokens = signed_in(&app, &rp).await;
    let id_token = tokens.id_token().unwrap().to_string();
    for (case, token) in [
        ("garbage", "garbage"),
        ("JWT-shaped garbage", "a.b.c"),
        ("an ID token", id_token.as_str()),
        (
            "a refresh token",
            tokens.refresh_token().unwrap().secret().as_str(),
        ),
    ] {
        assert_userinfo_refuses(&app, token, case).await;
    }
    // Expired.
    app.clock.advance(601);
    assert_userinfo_refuses(&app, tokens.access_token().secret(), "expired").await;
}

#[tokio::test]
async fn userinfo_accepts_the_token_in_a_form_body() {
    let app = spawn_app().await;
    let rp = Rp::register(&app, spec("Form Body App")).await;
    let tokens = signed_in(&app, &rp).await;
    let access = tokens.access_token().secret();
    let reply = app
        .post_form("/userinfo", None, &[("access_token", access)])
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    assert_eq!(reply.body["preferred_username"], "admin");
    assert!(reply.body["sub"].is_string());
    // POST with the header works too.
    let reply = JsonReply::read(
        app.http
            .post(app.url("/userinfo"))
            .bearer_auth(access)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK);
    // But not both at once (RFC 6750 §2).
    let reply = JsonReply::read(
        app.http
            .post(app.url("/userinfo"))
            .bearer_auth(access)
            .form(&[("access_token", access)])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert!(
        reply
            .header("www-authenticate")
            .is_some_and(|h| h.contains("error=\"invalid_request\""))
    );
}

#[tokio::test]
async fn a_client_credentials_token_is_refused_at_userinfo() {
    let app = spawn_app().await;
    let rp = Rp::register(&app, spec("Machine App")).await;
    let reply = rp
        .token(&app, &[("grant_type", "client_credentials")])
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    let access = reply.body["access_token"].as_str().unwrap();
    assert_userinfo_refuses(&app, access, "client credentials token").await;
    // It is a live token all the same.
    let reply = introspect(&app, &rp, access, None).await;
    assert_eq!(reply.body["active"], true);
    assert_eq!(reply.body["roles"], serde_json::json!(["user"]));
    assert!(reply.body.get("username").is_none());
}

#[tokio::test]
async fn a_public_client_revokes_its_own_tokens_with_its_client_id() {
    let app = spawn_app().await;
    let mut public = spec("Public Revoking App");
    public.public = true;
    public.grant_types = vec!["authorization_code".into(), "refresh_token".into()];
    let rp = Rp::register(&app, public).await;
    let tokens = signed_in(&app, &rp).await;
    let refresh = tokens.refresh_token().expect("a refresh token");
    // RFC 7009 §2.1: public clients identify themselves with client_id.
    let reply = app
        .post_form(
            "/revoke",
            None,
            &[
                ("token", refresh.secret().as_str()),
                ("client_id", rp.client_id.as_str()),
            ],
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    assert_eq!(
        rp.refresh(refresh, None).await.unwrap_err(),
        "invalid_grant"
    );
    assert_userinfo_refuses(&app, tokens.access_token().secret(), "after revocation").await;
}

#[tokio::test]
async fn userinfo_needs_the_openid_scope() {
    let app = spawn_app().await;
    let rp = Rp::register(&app, spec("Narrow App")).await;
    let tokens = signed_in(&app, &rp).await;
    // A refresh may narrow the scope below openid; that token is not for userinfo.
    let narrowed = rp
        .refresh(tokens.refresh_token().unwrap(), Some(&["profile"]))
        .await
        .expect("narrowed refresh");
    assert!(narrowed.id_token().is_none(), "no openid, no ID token");
    let reply = app.userinfo(narrowed.access_token().secret()).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN, "{:?}", reply.body);
    assert!(
        reply
            .header("www-authenticate")
            .is_some_and(|h| h.contains("error=\"insufficient_scope\"")),
        "{:?}",
        reply.headers
    );
}
