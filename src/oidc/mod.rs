//! The OAuth 2.0 / OpenID Connect rules: request validation, client authentication, grants,
//! token contents, discovery. No HTTP or SQL types here: handlers in `web::oidc` adapt
//! requests to these functions, and storage goes through [`crate::store::Db`].

pub mod authorize;
pub mod claims;
pub mod client;
pub mod client_auth;
pub mod discovery;
pub mod end_session;
pub mod error;
pub mod grants;
pub mod id_token_hint;
pub mod introspect;
pub mod params;
pub mod pkce;
pub mod provider;
pub mod registration;
pub mod scopes;
pub mod tokens;
pub mod userinfo;

pub use error::{ErrorCode, OAuthError};
pub use provider::Provider;
