//! The console's catalogues: roles (with member counts) and scopes (with the words consent
//! pages show). Custom entries can be added and deleted; built-in ones are kept.

use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use serde_json::{Value, json};

use super::{Confirmation, Console, confirm, confirmed, notice_of, refusal, show};
use crate::error::AppError;
use crate::services::accounts::BUILT_IN_ROLES;
use crate::state::AppState;
use crate::web::csrf::CheckedForm;

const ROLES: (&str, &str, &str) = ("admin_catalogue.html", "roles", "Roles");
const SCOPES: (&str, &str, &str) = ("admin_catalogue.html", "scopes", "Scopes");

/// A catalogue the console edits.
#[derive(Clone, Copy)]
enum Catalogue {
    Roles,
    Scopes,
}

impl Catalogue {
    fn page(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Catalogue::Roles => ROLES,
            Catalogue::Scopes => SCOPES,
        }
    }

    fn noun(self) -> &'static str {
        match self {
            Catalogue::Roles => "Role",
            Catalogue::Scopes => "Scope",
        }
    }

    fn path(self) -> &'static str {
        match self {
            Catalogue::Roles => "/admin/roles",
            Catalogue::Scopes => "/admin/scopes",
        }
    }

    async fn entries(self, state: &AppState) -> Result<Vec<Value>, AppError> {
        Ok(match self {
            Catalogue::Roles => state
                .services
                .list_roles()
                .await?
                .into_iter()
                .map(|r| {
                    let builtin = BUILT_IN_ROLES.contains(&r.name.as_str());
                    let delete = format!("/admin/roles/{}/delete", crate::web::path_segment(&r.name));
                    json!({ "name": r.name, "description": r.description, "members": r.members, "builtin": builtin, "delete": delete })
                })
                .collect(),
            Catalogue::Scopes => state
                .services
                .list_scopes()
                .await?
                .into_iter()
                .map(|s| {
                    let delete = format!("/admin/scopes/{}/delete", crate::web::path_segment(&s.name));
                    json!({ "name": s.name, "description": s.description, "builtin": s.builtin != 0, "delete": delete })
                })
                .collect(),
        })
    }

    /// The page, with a notice after a change or what was typed and why it was refused.
    async fn show(
        self,
        state: &AppState,
        jar: CookieJar,
        status: StatusCode,
        (notice, typed, error): (Option<&str>, Value, Option<String>),
    ) -> Result<Response, AppError> {
        let entries = self.entries(state).await?;
        show(
            state,
            jar,
            status,
            self.page(),
            json!({
                "entries": entries, "notice": notice, "typed": typed, "error": error,
                "kind": self.page().1, "noun": self.noun(),
            }),
        )
    }

    async fn add(
        self,
        console: Console,
        state: AppState,
        jar: CookieJar,
        form: CheckedForm,
    ) -> Result<Response, AppError> {
        let CheckedForm(params) = form;
        let name = params.get("name").unwrap_or_default().trim();
        let description = params.get("description").unwrap_or_default();
        let added = match self {
            Catalogue::Roles => state
                .services
                .create_role(&console.caller, name, description)
                .await
                .map(drop),
            Catalogue::Scopes => state
                .services
                .create_scope(&console.caller, name, description)
                .await
                .map(drop),
        };
        match added {
            Ok(()) => Ok(Redirect::to(&format!("{}?done=created", self.path())).into_response()),
            Err(e) => {
                let typed = json!({ "name": name, "description": description });
                let error = refusal(e)?;
                self.show(
                    &state,
                    jar,
                    StatusCode::UNPROCESSABLE_ENTITY,
                    (None, typed, Some(error)),
                )
                .await
            }
        }
    }

    async fn delete(
        self,
        console: Console,
        state: AppState,
        jar: CookieJar,
        name: String,
        form: CheckedForm,
    ) -> Result<Response, AppError> {
        let CheckedForm(params) = form;
        if !confirmed(&params) {
            let (question, consequence) = match self {
                Catalogue::Roles => (
                    format!("Delete the role {name}?"),
                    "Every user and client holding it loses it.",
                ),
                Catalogue::Scopes => (
                    format!("Delete the scope {name}?"),
                    "Every client registered for it loses it.",
                ),
            };
            return confirm(
                &state,
                jar,
                Confirmation {
                    question,
                    consequence,
                    action: format!("{}/{}/delete", self.path(), crate::web::path_segment(&name)),
                    fields: Vec::new(),
                    back: self.path().to_string(),
                },
            );
        }
        let deleted = match self {
            Catalogue::Roles => state
                .services
                .delete_role(&console.caller, &name)
                .await
                .map(drop),
            Catalogue::Scopes => state
                .services
                .delete_scope(&console.caller, &name)
                .await
                .map(drop),
        };
        match deleted {
            Ok(()) => Ok(Redirect::to(&format!("{}?done=deleted", self.path())).into_response()),
            Err(e) => {
                let error = refusal(e)?;
                self.show(
                    &state,
                    jar,
                    StatusCode::UNPROCESSABLE_ENTITY,
                    (None, json!({}), Some(error)),
                )
                .await
            }
        }
    }
}

/// `GET /admin/roles`.
pub async fn roles(
    State(state): State<AppState>,
    _console: Console,
    jar: CookieJar,
    uri: Uri,
) -> Result<Response, AppError> {
    Catalogue::Roles
        .show(
            &state,
            jar,
            StatusCode::OK,
            (notice_of(&uri), json!({}), None),
        )
        .await
}

/// `POST /admin/roles`: a custom role.
pub async fn add_role(
    State(state): State<AppState>,
    console: Console,
    jar: CookieJar,
    form: CheckedForm,
) -> Result<Response, AppError> {
    Catalogue::Roles.add(console, state, jar, form).await
}

/// `POST /admin/roles/{name}/delete`: a custom role, after confirmation.
pub async fn delete_role(
    State(state): State<AppState>,
    console: Console,
    jar: CookieJar,
    Path(name): Path<String>,
    form: CheckedForm,
) -> Result<Response, AppError> {
    Catalogue::Roles
        .delete(console, state, jar, name, form)
        .await
}

/// `GET /admin/scopes`.
pub async fn scopes(
    State(state): State<AppState>,
    _console: Console,
    jar: CookieJar,
    uri: Uri,
) -> Result<Response, AppError> {
    Catalogue::Scopes
        .show(
            &state,
            jar,
            StatusCode::OK,
            (notice_of(&uri), json!({}), None),
        )
        .await
}

/// `POST /admin/scopes`: a custom scope.
pub async fn add_scope(
    State(state): State<AppState>,
    console: Console,
    jar: CookieJar,
    form: CheckedForm,
) -> Result<Response, AppError> {
    Catalogue::Scopes.add(console, state, jar, form).await
}

/// `POST /admin/scopes/{name}/delete`: a custom scope, after confirmation.
pub async fn delete_scope(
    State(state): State<AppState>,
    console: Console,
    jar: CookieJar,
    Path(name): Path<String>,
    form: CheckedForm,
) -> Result<Response, AppError> {
    Catalogue::Scopes
        .delete(console, state, jar, name, form)
        .await
}
