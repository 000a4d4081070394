//! The login page, sessions, logout and CSRF.

use reqwest::StatusCode;
use reqwest::header::SET_COOKIE;

use crate::helpers::{ADMIN_PASSWORD, browser, hidden_input, location, spawn_app};

fn session_cookie(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("tessera_session="))
        .map(str::to_string)
}

#[tokio::test]
async fn admin_signs_in_and_sees_the_account_page() {
    let app = spawn_app().await;
    let response = app.post_login("admin", ADMIN_PASSWORD, false, None).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(response.headers()), "/account");
    let page = app.get("/account").await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("admin"));
    assert!(html.contains("admin@tessera.local"));
}

#[tokio::test]
async fn login_accepts_email_and_is_case_insensitive() {
    let app = spawn_app().await;
    app.create_user("alice", "alice password 1", &["user"])
        .await;
    let response = app
        .post_login("ALICE@example.com", "alice password 1", false, None)
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn unknown_user_and_wrong_passwords_get_the_same_answer_and_a_disabled_account_is_named_only_after_its_password()
 {
    let app = spawn_app().await;
    let id = app.create_user("dora", "dora password 1", &["user"]).await;
    app.state
        .services
        .set_enabled(&tessera::services::Caller::cli(), &id, false)
        .await
        .unwrap();

    let mut answers = Vec::new();
    for (user, password) in [
        ("nobody", "whatever pass"),
        ("admin", "wrong password"),
        ("dora", "not dora's password"),
    ] {
        let response = app.post_login(user, password, false, None).await;
        let status = response.status();
        assert!(session_cookie(&response).is_none());
        let body = response.text().await.unwrap();
        let error = body
            .split("role=\"alert\"")
            .nth(1)
            .map(|s| s.split("</div>").next().unwrap_or_default().to_string());
        answers.push((status, error));
    }
    assert_eq!(answers[0].0, StatusCode::UNAUTHORIZED);
    assert!(
        answers[0]
            .1
            .as_deref()
            .unwrap()
            .contains("Incorrect username or password.")
    );
    assert!(answers.iter().all(|a| *a == answers[0]), "{answers:?}");
    assert_eq!(app.get("/account").await.status(), StatusCode::SEE_OTHER);

    // Once the password is proven, the person learns why they cannot sign in.
    let disabled = app.post_login("dora", "dora password 1", false, None).await;
    assert_eq!(disabled.status(), StatusCode::FORBIDDEN);
    assert!(session_cookie(&disabled).is_none());
    assert!(
        disabled
            .text()
            .await
            .unwrap()
            .contains("This account is disabled")
    );
    assert_eq!(app.get("/account").await.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn a_post_without_the_csrf_token_is_refused() {
    let app = spawn_app().await;
    app.login_form("").await;
    let response = app
        .http
        .post(app.url("/login"))
        .form(&[("username", "admin"), ("password", ADMIN_PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(session_cookie(&response).is_none());
    let response = app
        .http
        .post(app.url("/login"))
        .form(&[
            ("csrf_token", "A".repeat(43).as_str()),
            ("username", "admin"),
            ("password", ADMIN_PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    // Another browser's valid token does not work with this browser's cookie.
    let other = browser();
    let page = other
        .get(app.url("/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let foreign = hidden_input(&page, "csrf_token").unwrap();
    let response = app
        .http
        .post(app.url("/login"))
        .form(&[
            ("csrf_token", foreign.as_str()),
            ("username", "admin"),
            ("password", ADMIN_PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn the_session_id_changes_at_login_and_the_old_one_dies() {
    let app = spawn_app().await;
    let first = app.post_login("admin", ADMIN_PASSWORD, false, None).await;
    let first_cookie = session_cookie(&first).unwrap();
    let second = app.post_login("admin", ADMIN_PASSWORD, false, None).await;
    let second_cookie = session_cookie(&second).unwrap();
    assert_ne!(first_cookie, second_cookie);
    let old_value = first_cookie.split(';').next().unwrap();
    let response = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(app.url("/account"))
        .header("cookie", old_value)
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        StatusCode::SEE_OTHER,
        "the replaced session must be gone"
    );
}

#[tokio::test]
async fn remember_me_sets_a_persistent_cookie_and_plain_login_a_browser_session_cookie() {
    let app = spawn_app().await;
    let plain =
        session_cookie(&app.post_login("admin", ADMIN_PASSWORD, false, None).await).unwrap();
    assert!(!plain.to_lowercase().contains("max-age"), "{plain}");
    assert!(!plain.to_lowercase().contains("expires"), "{plain}");
    assert!(
        plain.contains("HttpOnly") && plain.contains("SameSite=Lax") && plain.contains("Path=/")
    );
    let remembered =
        session_cookie(&app.post_login("admin", ADMIN_PASSWORD, true, None).await).unwrap();
    assert!(
        remembered.contains(&format!("Max-Age={}", 30 * 24 * 3600)),
        "{remembered}"
    );
}

#[tokio::test]
async fn sessions_end_after_the_idle_timeout_unless_remembered() {
    let app = spawn_app().await;
    app.login_admin().await;
    app.clock.advance(3601);
    assert_eq!(app.get("/account").await.status(), StatusCode::SEE_OTHER);

    let app = spawn_app().await;
    app.post_login("admin", ADMIN_PASSWORD, true, None).await;
    app.clock.advance(3601);
    assert_eq!(app.get("/account").await.status(), StatusCode::OK);
    app.clock.advance(31 * 24 * 3600);
    assert_eq!(app.get("/account").await.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn after_logout_the_old_cookie_no_longer_works() {
    let app = spawn_app().await;
    let login = app.post_login("admin", ADMIN_PASSWORD, false, None).await;
    let cookie = session_cookie(&login).unwrap();
    let page = app.get("/account").await.text().await.unwrap();
    let csrf = hidden_input(&page, "csrf_token").unwrap();
    let response = app
        .http
        .post(app.url("/logout"))
        .form(&[("csrf_token", csrf)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let replay = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(app.url("/account"))
        .header("cookie", cookie.split(';').next().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(replay.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn malformed_form_posts_get_a_4xx_page() {
    let app = spawn_app().await;
    let response = app
        .http
        .post(app.url("/login"))
        .body("%%%")
        .send()
        .await
        .unwrap();
    assert!(response.status().is_client_error());
    let response = app
        .http
        .post(app.url("/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(vec![b'a'; 200 * 1024])
        .send()
        .await
        .unwrap();
    assert!(response.status().is_client_error(), "{}", response.status());
    let response = app.get("/no/such/page").await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert!(response.text().await.unwrap().contains("Page not found"));
}

#[tokio::test]
async fn behind_https_cookies_are_secure_and_host_prefixed() {
    let app = crate::helpers::spawn_app_with(|s| s.issuer = "https://id.example.test".into()).await;
    let raw = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let page = raw.get(app.url("/login")).send().await.unwrap();
    let csrf_cookie = page.headers()[SET_COOKIE].to_str().unwrap().to_string();
    assert!(
        csrf_cookie.starts_with("__Host-tessera_csrf="),
        "{csrf_cookie}"
    );
    assert!(
        csrf_cookie.contains("Secure")
            && csrf_cookie.contains("Path=/")
            && !csrf_cookie.contains("Domain")
    );
    let csrf = hidden_input(&page.text().await.unwrap(), "csrf_token").unwrap();
    let login = raw
        .post(app.url("/login"))
        .header("cookie", csrf_cookie.split(';').next().unwrap())
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("username", "admin"),
            ("password", ADMIN_PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), StatusCode::SEE_OTHER);
    let session = login
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("__Host-tessera_session="))
        .expect("a __Host- session cookie")
        .to_string();
    assert!(
        session.contains("Secure")
            && session.contains("HttpOnly")
            && session.contains("SameSite=Lax")
    );
}

#[tokio::test]
async fn a_stale_sign_in_request_says_so_before_the_password_is_typed() {
    let app = spawn_app().await;
    let response = app.get("/login?interaction=not-a-parked-request").await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let page = response.text().await.unwrap();
    assert!(page.contains("expired"), "{page}");
    assert!(!page.contains("name=\"password\""), "no form to type into");
}

#[tokio::test]
async fn get_logout_shows_a_sign_out_button_and_changes_nothing() {
    let app = spawn_app().await;
    app.login_admin().await;
    let response = app.get("/logout").await;
    assert_eq!(response.status(), StatusCode::OK);
    let page = response.text().await.unwrap();
    assert!(
        page.contains("action=\"&#x2f;logout\"") || page.contains("action=\"/logout\""),
        "{page}"
    );
    assert_eq!(
        app.get("/account").await.status(),
        StatusCode::OK,
        "still signed in"
    );
}
