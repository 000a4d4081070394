//! Account security without HTTP types: password hashing, random secrets, session lifetimes.

pub mod password;
pub mod secret;
pub mod session;
