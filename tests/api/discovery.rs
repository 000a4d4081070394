//! Provider metadata: OpenID Connect Discovery 1.0 §3–§4 at
//! `/.well-known/openid-configuration` and RFC 8414 at
//! `/.well-known/oauth-authorization-server`. Every value must describe what the server
//! really does, and every advertised endpoint must answer.

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::spawn_app;

/// The endpoint members of the metadata.
const ENDPOINTS: [&str; 7] = [
    "authorization_endpoint",
    "token_endpoint",
    "userinfo_endpoint",
    "jwks_uri",
    "end_session_endpoint",
    "introspection_endpoint",
    "revocation_endpoint",
];

fn strings(value: &Value) -> Vec<&str> {
    value
        .as_array()
        .unwrap_or_else(|| panic!("an array, got {value}"))
        .iter()
        .map(|v| v.as_str().expect("strings"))
        .collect()
}

async fn fetch(app: &crate::helpers::TestApp, path: &str) -> Value {
    let response = app.get(path).await;
    assert_eq!(response.status(), StatusCode::OK, "{path}");
    let headers = response.headers().clone();
    let content_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    assert!(content_type.starts_with("application/json"), "{path}");
    assert!(
        headers
            .get("cache-control")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|c| c.contains("max-age")),
        "{path}: cacheable"
    );
    response.json().await.unwrap()
}

#[tokio::test]
async fn the_openid_configuration_describes_the_server() {
    let app = spawn_app().await;
    let doc = fetch(&app, "/.well-known/openid-configuration").await;

    // Discovery §4.3: the issuer is exactly the URL the document was fetched under.
    assert_eq!(doc["issuer"], app.address.as_str());
    for name in ENDPOINTS {
        let url = doc[name]
            .as_str()
            .unwrap_or_else(|| panic!("{name} is missing"));
        assert!(
            url.starts_with(&format!("{}/", app.address)),
            "{name} = {url}"
        );
        url::Url::parse(url).unwrap_or_else(|e| panic!("{name} = {url}: {e}"));
    }
    assert_eq!(doc["response_types_supported"], serde_json::json!(["code"]));
    assert_eq!(
        doc["code_challenge_methods_supported"],
        serde_json::json!(["S256"])
    );
    assert_eq!(doc["authorization_response_iss_parameter_supported"], true);

    let grants = strings(&doc["grant_types_supported"]);
    for grant in ["authorization_code", "refresh_token", "client_credentials"] {
        assert!(grants.contains(&grant), "{grant} in {grants:?}");
    }
    for never in ["implicit", "password"] {
        assert!(!grants.contains(&never), "{never} in {grants:?}");
    }
    let scopes = strings(&doc["scopes_supported"]);
    for scope in ["openid", "profile", "email", "offline_access", "roles"] {
        assert!(scopes.contains(&scope), "{scope} in {scopes:?}");
    }
    let algs = strings(&doc["id_token_signing_alg_values_supported"]);
    assert!(algs.contains(&"RS256"), "{algs:?}");
    assert!(!algs.contains(&"none"), "{algs:?}");
    assert!(
        strings(&doc["subject_types_supported"]).contains(&"public"),
        "subject_types_supported is required"
    );
    let modes = strings(&doc["response_modes_supported"]);
    assert!(modes.contains(&"query") && !modes.contains(&"fragment"));
    let auth_methods = strings(&doc["token_endpoint_auth_methods_supported"]);
    for method in ["client_secret_basic", "client_secret_post"] {
        assert!(auth_methods.contains(&method), "{method}");
    }
    assert_eq!(doc["request_parameter_supported"], false);
    assert_eq!(doc["request_uri_parameter_supported"], false);
}

#[tokio::test]
async fn the_oauth_authorization_server_metadata_agrees() {
    let app = spawn_app().await;
    let oidc = fetch(&app, "/.well-known/openid-configuration").await;
    let oauth = fetch(&app, "/.well-known/oauth-authorization-server").await;
    // RFC 8414 §3.3: the issuer matches the one the metadata was requested for.
    assert_eq!(oauth["issuer"], app.address.as_str());
    for name in ENDPOINTS
        .iter()
        .chain(&["response_types_supported", "grant_types_supported"])
        .chain(&["code_challenge_methods_supported", "scopes_supported"])
        .chain(&["token_endpoint_auth_methods_supported"])
    {
        assert!(!oauth[name].is_null(), "{name} is missing");
        assert_eq!(oauth[name], oidc[name], "{name}");
    }
    assert_eq!(
        oauth["authorization_response_iss_parameter_supported"],
        true
    );
}

#[tokio::test]
async fn every_advertised_endpoint_answers() {
    let app = spawn_app().await;
    let doc = fetch(&app, "/.well-known/openid-configuration").await;
    for name in ENDPOINTS {
        let url = doc[name].as_str().unwrap();
        let get = app.get(url).await.status();
        let post = app
            .http
            .post(url)
            .form(&[("x", "y")])
            .send()
            .await
            .unwrap()
            .status();
        for (method, status) in [("GET", get), ("POST", post)] {
            assert_ne!(status, StatusCode::NOT_FOUND, "{method} {name} {url}");
            assert!(
                !status.is_server_error(),
                "{method} {name} {url} answered {status}"
            );
        }
        // What a client relies on, endpoint by endpoint.
        match name {
            "jwks_uri" => assert_eq!(get, StatusCode::OK),
            "userinfo_endpoint" => {
                assert_eq!(get, StatusCode::UNAUTHORIZED);
                assert_eq!(post, StatusCode::UNAUTHORIZED);
            }
            "token_endpoint" | "introspection_endpoint" | "revocation_endpoint" => {
                assert_eq!(get, StatusCode::METHOD_NOT_ALLOWED, "{name}");
                assert!(post.is_client_error(), "{name}: {post}");
            }
            "authorization_endpoint" => {
                assert_eq!(get, StatusCode::BAD_REQUEST);
                assert_eq!(post, StatusCode::BAD_REQUEST);
            }
            "end_session_endpoint" => {
                assert_eq!(get, StatusCode::OK);
                assert_eq!(post, StatusCode::OK);
            }
            other => unreachable!("{other}"),
        }
    }
}

#[tokio::test]
async fn browser_apps_may_call_the_token_endpoint_cross_origin() {
    let app = spawn_app().await;
    let preflight = reqwest::Client::new()
        .request(reqwest::Method::OPTIONS, app.url("/token"))
        .header("origin", "https://spa.example.com")
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "content-type")
        .send()
        .await
        .unwrap();
    assert!(preflight.status().is_success());
    assert_eq!(preflight.headers()["access-control-allow-origin"], "*");
    let discovery = reqwest::Client::new()
        .get(app.url("/.well-known/openid-configuration"))
        .header("origin", "https://spa.example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(discovery.headers()["access-control-allow-origin"], "*");
    let login = reqwest::Client::new()
        .get(app.url("/login"))
        .header("origin", "https://spa.example.com")
        .send()
        .await
        .unwrap();
    assert!(
        login.headers().get("access-control-allow-origin").is_none(),
        "pages stay same-origin"
    );
}
