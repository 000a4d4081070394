//! Validated value types. Each `parse` returns a message a person can act on; nothing here
//! does I/O or panics.

mod client;
pub mod device;
mod email;
mod redirect_uri;
mod role;
mod scope;
mod session;
mod signing_alg;
mod upstream;
mod user;
mod username;

pub use client::{
    AuthMethod, Client, ClientLinks, GrantType, PRIVATE_KEY_MEMBERS, parse_jwks, parse_resource,
};
pub use email::Email;
pub use redirect_uri::{RedirectUri, is_loopback_host, is_public_address};
pub use role::RoleName;
pub use scope::{Scope, ScopeSet};
pub use session::Session;
pub use signing_alg::SigningAlg;
pub use upstream::{Upstream, UpstreamSource, parse_upstream_id};
pub use user::User;
pub use username::Username;
