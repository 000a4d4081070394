//! Account security without HTTP types: password hashing and policy, random secrets, session
//! lifetimes, device cookies, lockout rules and one-time codes.

pub mod device_cookie;
pub mod lockout;
pub mod one_time_codes;
pub mod password;
pub mod password_policy;
pub mod secret;
pub mod session;
