//! HTTP adapters of the OAuth 2.0 / OpenID Connect endpoints.

pub mod authorize;
pub mod device;
pub mod discovery;
pub mod dpop;
pub mod end_session;
pub mod introspect;
pub mod par;
pub mod registration;
pub mod respond;
pub mod token;
pub mod userinfo;
