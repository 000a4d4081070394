//! The scopes Tessera understands and what each releases, in words for the consent page.

/// Scopes defined by OpenID Connect Core §5.4 and §11, plus `roles`.
pub const SUPPORTED: [&str; 5] = ["openid", "profile", "email", "roles", "offline_access"];

/// Scopes a client gets when registered without `--scopes`.
pub const DEFAULT_CLIENT_SCOPES: &str = "openid profile email roles offline_access";

/// Claims released per scope (OpenID Connect Core §5.4).
pub fn claims_of(scope: &str) -> &'static [&'static str] {
    match scope {
        "openid" => &["sub"],
        "profile" => &["name", "preferred_username", "updated_at"],
        "email" => &["email", "email_verified"],
        "roles" => &["roles"],
        _ => &[],
    }
}
