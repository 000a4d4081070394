//! The hosted pages: one file per page, GET and POST side by side.

pub mod account;
pub mod admin;
pub mod consent;
pub mod device;
pub mod login;
pub mod logout;

pub mod recovery;
pub mod register;
pub mod second_factor;
pub mod security;
pub mod self_service;
pub mod upstream;

pub use super::html::page;

use crate::error::AppError;
use crate::services::ServiceError;

/// What a form shows for a refused submission: the message and the field at fault. Other
/// errors (not found, unavailable, server faults) become their error page.
pub fn form_error(error: ServiceError) -> Result<(String, Option<&'static str>), AppError> {
    match error {
        ServiceError::Invalid { field, message } => Ok((crate::error::sentence(&message), field)),
        ServiceError::Conflict { field, message } => {
            Ok((crate::error::sentence(&message), Some(field)))
        }
        other => Err(other.into()),
    }
}

/// The words for a mailed link that does not work, with a way to get a new one.
pub fn link_problem(
    problem: crate::services::links::LinkProblem,
    again: (&str, &str),
) -> serde_json::Value {
    use crate::services::links::LinkProblem;
    let (title, message) = match problem {
        LinkProblem::Unknown => (
            "This link is not valid",
            "The link may have been copied incompletely. Ask for a new one.",
        ),
        LinkProblem::Used => (
            "This link was used already",
            "Each link works once, and a newer link replaces older ones. Ask for a new one if you still need it.",
        ),
        LinkProblem::Expired => (
            "This link has expired",
            "Links work for a limited time. Ask for a new one.",
        ),
    };
    serde_json::json!({ "title": title, "message": message, "link": { "href": again.0, "text": again.1 } })
}
