//! Account security without HTTP types: password hashing and policy, random secrets, session
//! lifetimes.

pub mod password;
pub mod password_policy;
pub mod secret;
pub mod session;
