//! A signed-in session as the use cases and pages see it.

/// A live, fully signed-in session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// Public session id, the `sid` claim.
    pub id: String,
    /// The signed-in user.
    pub user_id: String,
    /// When the user authenticated.
    pub auth_time: i64,
    /// Authentication methods (RFC 8176).
    pub amr: Vec<String>,
    /// Authentication Context Class Reference reached.
    pub acr: String,
    /// Whether "remember me" was chosen.
    pub remember: bool,
}
