//! The admin console's pages: for admins only (a 403 page for others, the login page for
//! signed-out visitors), users listed with search and paging.

use reqwest::StatusCode;

use crate::helpers::{location, spawn_app};

#[tokio::test]
async fn only_admins_see_the_console() {
    let app = spawn_app().await;
    let signed_out = app.get("/admin").await;
    assert_eq!(signed_out.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(signed_out.headers()), "/login");

    app.create_user("pat", "lamp orbit velvet cactus 42", &["user"])
        .await;
    app.post_login("pat", "lamp orbit velvet cactus 42", false, None)
        .await;
    let refused = app.get("/admin/users").await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert!(refused.text().await.unwrap().contains("admin role"));
}

#[tokio::test]
async fn an_admin_lists_searches_and_pages_through_users() {
    let app = spawn_app().await;
    for n in 0..55 {
        app.create_user(
            &format!("user{n:02}"),
            "lamp orbit velvet cactus 42",
            &["user"],
        )
        .await;
    }
    app.login_admin().await;
    let home = app.get("/admin").await;
    assert_eq!(location(home.headers()), "/admin/users");
    let first = app.get("/admin/users").await;
    assert_eq!(first.status(), StatusCode::OK);
    let page = first.text().await.unwrap();
    assert!(page.contains("<td>admin</td>"), "{page}");
    assert!(page.contains("id=\"next-page\""));
    let next = page
        .split("id=\"next-page\" href=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .replace("&#x2f;", "/")
        .replace("&amp;", "&");
    let second = app.get(&next).await.text().await.unwrap();
    assert!(second.contains("<td>user54</td>"), "{second}");
    assert!(!second.contains("id=\"next-page\""));

    let found = app.get("/admin/users?q=USER07").await.text().await.unwrap();
    assert!(found.contains("<td>user07</td>"));
    assert!(!found.contains("<td>user08</td>"));
    let none = app
        .get("/admin/users?q=nobody-like-this")
        .await
        .text()
        .await
        .unwrap();
    assert!(none.contains("No user matches."));
}
