//! The OAuth 2.0 / OpenID Connect rules: request validation, client authentication, grant
//! rules, token contents, discovery. No HTTP or SQL types and no storage here: the use cases
//! in `services` load and store, and call these functions to decide and to mint.

pub mod authorize;
pub mod claims;
pub mod client;
pub mod client_assertion;
pub mod client_auth;
pub mod client_metadata;
pub mod device_flow;
pub mod discovery;
pub mod dpop;
pub mod end_session;
pub mod error;
pub mod grants;
pub mod id_token_hint;
pub mod introspect;
pub mod logout_token;
pub mod par;
pub mod params;
pub mod pkce;
pub mod provider;
pub mod scopes;
pub mod tokens;
pub mod upstream;

pub use error::{ErrorCode, OAuthError};
pub use provider::Provider;
