//! The HTML of the pages, written as plain strings (every value passes
//! through [`escape`]), and the stylesheet they share. Tests find values by
//! element id, so the ids here are part of the app's interface.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use openidconnect::AccessToken;

use crate::api::ApiAnswer;
use crate::oidc::{RoleIdTokenClaims, RoleUserInfo, SignedIn};

/// The stylesheet, served at `/style.css` (the pages have no inline styles).
pub const STYLESHEET: &str = include_str!("style.css");

/// Wraps a page body in the common layout.
pub fn layout(title: &str, body: &str) -> String {
    format!(
        r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · Tessera example app</title>
<link rel="stylesheet" href="/style.css">
</head>
<body>
<header class="topbar">
<a class="brand" href="/">Tessera example app</a>
<nav><a href="/">Home</a><a href="/profile">Profile</a><a href="/admin">Admin</a></nav>
</header>
<main>
{body}
</main>
</body>
</html>
"#,
        title = escape(title)
    )
}

/// Home page for visitors.
pub fn home_signed_out() -> String {
    r#"<section class="card">
<h1>Welcome</h1>
<p>This app signs you in with Tessera using OpenID Connect: the authorization
code flow with PKCE. It never sees your password.</p>
<form class="actions" method="get" action="/login">
<button id="signin" class="primary" type="submit">Sign in with Tessera</button>
</form>
<form class="actions" method="get" action="/login">
<input type="hidden" name="create" value="1">
<button id="signup" type="submit">Create an account</button>
</form>
</section>"#
        .to_owned()
}

/// Home page for a signed-in user.
pub fn home_signed_in(user: &SignedIn, csrf: &str) -> String {
    format!(
        r#"<section class="card">
<h1 id="greeting">Hello, {name}!</h1>
<p>You are signed in with Tessera.</p>
<p class="actions"><a id="profile-link" class="button" href="/profile">Profile</a>
<a id="admin-link" class="button" href="/admin">Admin</a></p>
{actions}
</section>"#,
        name = escape(&display_name(&user.claims)),
        actions = token_actions(csrf),
    )
}

/// The "Refresh tokens" and "Sign out" buttons.
fn token_actions(csrf: &str) -> String {
    let csrf = escape(csrf);
    format!(
        r#"<div class="actions">
<form method="post" action="/refresh">
<input type="hidden" name="csrf_token" value="{csrf}">
<button id="refresh" type="submit">Refresh tokens</button>
</form>
<form method="post" action="/logout">
<input type="hidden" name="csrf_token" value="{csrf}">
<button id="signout" class="primary" type="submit">Sign out</button>
</form>
</div>"#
    )
}

/// The profile page body.
pub fn profile_page(user: &SignedIn, api: &ApiAnswer, csrf: &str) -> String {
    format!(
        r#"<h1>Your profile</h1>
{id_token}
{userinfo}
{access_token}
{api}
<section class="card">{actions}</section>"#,
        id_token = id_token_section(&user.claims),
        userinfo = userinfo_section(&user.userinfo),
        access_token = access_token_section(&user.access_token),
        api = api_section("api-me", "Resource server: GET /api/me", api),
        actions = token_actions(csrf),
    )
}

/// What the verified ID token says.
fn id_token_section(claims: &RoleIdTokenClaims) -> String {
    let name = claims
        .name()
        .and_then(|name| name.get(None))
        .map(|name| name.as_str());
    let username = claims.preferred_username().map(|u| u.as_str());
    let email = claims.email().map(|e| e.as_str());
    let mut rows = String::new();
    rows.push_str(&field("Name", "name", name));
    rows.push_str(&field("Username", "preferred-username", username));
    rows.push_str(&email_field("email", email, claims.email_verified()));
    rows.push_str(&field(
        "Roles",
        "roles",
        Some(&claims.additional_claims().roles.join(", ")),
    ));
    rows.push_str(&field("Subject", "sub", Some(claims.subject().as_str())));
    format!(
        r#"<section class="card">
<h2>From the ID token</h2>
<dl>{rows}</dl>
</section>"#
    )
}

/// What the userinfo endpoint said, or why it could not be asked.
fn userinfo_section(userinfo: &Result<RoleUserInfo, String>) -> String {
    let content = match userinfo {
        Ok(info) => {
            let name = info
                .name()
                .and_then(|name| name.get(None))
                .map(|name| name.as_str());
            let email = info.email().map(|e| e.as_str());
            let mut rows = String::new();
            rows.push_str(&field("Name", "userinfo-name", name));
            rows.push_str(&email_field("userinfo-email", email, info.email_verified()));
            rows.push_str(&field(
                "Roles",
                "userinfo-roles",
                Some(&info.additional_claims().roles.join(", ")),
            ));
            format!("<dl>{rows}</dl>")
        }
        Err(reason) => format!(
            r#"<p class="status failed" id="userinfo-error">The userinfo request failed: {}</p>
<dl><dt>Roles</dt><dd><span id="userinfo-roles"></span></dd></dl>"#,
            escape(reason)
        ),
    };
    format!(
        r#"<section class="card">
<h2>From the userinfo endpoint</h2>
{content}
</section>"#
    )
}

/// The access token's claims, decoded without verification.
fn access_token_section(access_token: &AccessToken) -> String {
    let claims = jwt_payload(access_token.secret()).unwrap_or_else(|| {
        "The access token is not a JWT, so it has no claims to show.".to_owned()
    });
    format!(
        r#"<section class="card">
<h2>Access token claims</h2>
<p class="muted">Decoded for display only: this app does not check them, the resource server does.</p>
<pre id="access-token-claims">{}</pre>
</section>"#,
        escape(&claims)
    )
}

/// A resource-server answer, in `<pre id="{id}">`.
fn api_section(id: &str, title: &str, api: &ApiAnswer) -> String {
    let (status_class, pre_class) = if api.ok {
        ("status", "")
    } else {
        ("status failed", r#" class="failed""#)
    };
    format!(
        r#"<section class="card">
<h2>{title}</h2>
<p class="{status_class}" id="{id}-status">{summary}</p>
<pre{pre_class} id="{id}">{body}</pre>
</section>"#,
        title = escape(title),
        summary = escape(&api.summary),
        body = escape(&api.body),
    )
}

/// The admin page for users with the `admin` role.
pub fn admin_page(api: &ApiAnswer) -> String {
    format!(
        r#"<section class="card">
<h1 id="admin-title">Admin area</h1>
<p>Your ID token lists the <code>admin</code> role, so this page opens for you.
The resource server checks the role in the access token on its own.</p>
</section>
{api}"#,
        api = api_section("api-admin", "Resource server: GET /api/admin", api)
    )
}

/// The 403 page for users without the `admin` role.
pub fn forbidden_page(claims: &RoleIdTokenClaims) -> String {
    let roles = &claims.additional_claims().roles;
    let roles = if roles.is_empty() {
        "no roles".to_owned()
    } else {
        format!("the roles {}", roles.join(", "))
    };
    format!(
        r#"<section class="card error">
<h1 id="forbidden">You need the admin role</h1>
<p>This page is only for administrators. Your account has {}.</p>
<p><a class="button" href="/">Back to the home page</a></p>
</section>"#,
        escape(&roles)
    )
}

/// One `<dt>`/`<dd>` pair; the `id` element holds exactly the value.
fn field(label: &str, id: &str, value: Option<&str>) -> String {
    let value = value.unwrap_or_default();
    let hint = if value.is_empty() {
        r#" <span class="muted">(none)</span>"#
    } else {
        ""
    };
    format!(
        r#"<dt>{label}</dt><dd><span id="{id}">{value}</span>{hint}</dd>"#,
        label = escape(label),
        value = escape(value),
    )
}

/// The email row, with a "verified" badge when the provider says so.
fn email_field(id: &str, email: Option<&str>, verified: Option<bool>) -> String {
    let mut row = field("Email", id, email);
    if email.is_some() && verified == Some(true) {
        // Insert the badge inside the <dd>, after the value.
        row.truncate(row.len() - "</dd>".len());
        row.push_str(r#" <span class="badge">verified</span></dd>"#);
    }
    row
}

/// Name to greet the user with: name, else username, else subject.
fn display_name(claims: &RoleIdTokenClaims) -> String {
    claims
        .name()
        .and_then(|name| name.get(None))
        .map(|name| name.to_string())
        .or_else(|| claims.preferred_username().map(|u| u.to_string()))
        .unwrap_or_else(|| claims.subject().to_string())
}

/// The pretty-printed payload of a JWT, without checking its signature.
fn jwt_payload(token: &str) -> Option<String> {
    let mut parts = token.split('.');
    let (Some(_), Some(payload), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    let bytes = URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    let value: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    serde_json::to_string_pretty(&value).ok()
}

/// Escapes text for HTML element content and quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}
