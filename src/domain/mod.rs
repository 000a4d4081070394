//! Validated value types. Each `parse` returns a message a person can act on; nothing here
//! does I/O or panics.

mod email;
mod redirect_uri;
mod role;
mod scope;
mod username;

pub use email::Email;
pub use redirect_uri::RedirectUri;
pub use role::RoleName;
pub use scope::{Scope, ScopeSet};
pub use username::Username;
