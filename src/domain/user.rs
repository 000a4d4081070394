//! A user as the protocol and the pages see them: no password hash, flags as `bool`.

/// A user account with its current roles.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Stable subject identifier (never the username).
    pub id: String,
    /// Username as entered.
    pub username: String,
    /// E-mail as entered.
    pub email: String,
    /// Whether the address was verified.
    pub email_verified: bool,
    /// Display name.
    pub name: Option<String>,
    /// Whether the account may sign in.
    pub enabled: bool,
    /// Creation time.
    pub created_at: i64,
    /// Last change to the profile.
    pub updated_at: i64,
    /// Role names, sorted.
    pub roles: Vec<String>,
    /// Preferred language (BCP 47), when set.
    pub locale: Option<String>,
    /// Time zone (IANA name), when set.
    pub time_zone: Option<String>,
}
