//! The hosted pages: one file per page, GET and POST side by side.

pub mod account;
pub mod consent;
pub mod login;
pub mod logout;

pub use super::html::page;
