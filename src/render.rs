//! HTML templates: embedded in the binary, each overridable by a file of the same name in the
//! configured templates directory. The only module that uses minijinja.

use std::path::Path;
use std::sync::Arc;

use minijinja::{AutoEscape, Environment};
use serde::Serialize;

/// Every template Tessera renders, with its built-in text.
const BUILT_IN: [(&str, &str); 8] = [
    ("base.html", include_str!("../templates/base.html")),
    ("login.html", include_str!("../templates/login.html")),
    ("account.html", include_str!("../templates/account.html")),
    ("consent.html", include_str!("../templates/consent.html")),
    (
        "end_session.html",
        include_str!("../templates/end_session.html"),
    ),
    (
        "signed_out.html",
        include_str!("../templates/signed_out.html"),
    ),
    ("error.html", include_str!("../templates/error.html")),
    (
        "form_post.html",
        include_str!("../templates/form_post.html"),
    ),
];

/// The stylesheet served at `/static/tessera.css`.
pub const STYLESHEET: &str = include_str!("../templates/static/tessera.css");
/// The form-post auto-submit script served at `/static/form_post.js`.
pub const FORM_POST_SCRIPT: &str = include_str!("../templates/static/form_post.js");

/// The template environment.
#[derive(Clone)]
pub struct Templates {
    env: Arc<Environment<'static>>,
}

impl std::fmt::Debug for Templates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Templates")
    }
}

/// A template failed to load or render.
#[derive(Debug, thiserror::Error)]
#[error("template {name}: {reason}")]
pub struct TemplateError {
    /// Template name.
    pub name: String,
    /// What failed.
    pub reason: String,
}

impl Templates {
    /// Loads the built-in templates, replacing any that `override_dir` provides.
    pub fn load(override_dir: Option<&Path>, issuer: &str) -> Result<Templates, TemplateError> {
        let mut env = Environment::new();
        env.set_auto_escape_callback(|name| {
            if name.ends_with(".html") {
                AutoEscape::Html
            } else {
                AutoEscape::None
            }
        });
        for (name, builtin) in BUILT_IN {
            let source = match override_dir.map(|d| d.join(name)).filter(|p| p.is_file()) {
                Some(path) => std::fs::read_to_string(&path).map_err(|e| TemplateError {
                    name: name.into(),
                    reason: format!("cannot read {}: {e}", path.display()),
                })?,
                None => builtin.to_string(),
            };
            env.add_template_owned(name, source)
                .map_err(|e| TemplateError {
                    name: name.into(),
                    reason: e.to_string(),
                })?;
        }
        env.add_global("issuer", issuer.to_string());
        Ok(Templates { env: Arc::new(env) })
    }

    /// Renders a template with a serialisable context.
    pub fn render(&self, name: &str, context: impl Serialize) -> Result<String, TemplateError> {
        let fail = |e: minijinja::Error| TemplateError {
            name: name.into(),
            reason: e.to_string(),
        };
        self.env
            .get_template(name)
            .map_err(fail)?
            .render(minijinja::Value::from(minijinja::value::Serde(&context)))
            .map_err(fail)
    }
}
