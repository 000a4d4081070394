//! HTML templates: embedded in the binary, each overridable by a file of the same name in the
//! configured templates directory. The only module that uses minijinja.

use std::path::Path;
use std::sync::Arc;

use minijinja::{AutoEscape, Environment};
use serde::Serialize;

/// Every template Tessera renders, with its built-in text: pages, and mail in `mail/`
/// (`NAME.txt`, whose first line is `Subject: …`, and `NAME.html`).
const BUILT_IN: &[(&str, &str)] = &[
    ("base.html", include_str!("../templates/base.html")),
    ("login.html", include_str!("../templates/login.html")),
    ("account.html", include_str!("../templates/account.html")),
    ("consent.html", include_str!("../templates/consent.html")),
    ("device.html", include_str!("../templates/device.html")),
    (
        "admin_users.html",
        include_str!("../templates/admin_users.html"),
    ),
    (
        "admin_page.html",
        include_str!("../templates/admin_page.html"),
    ),
    (
        "admin_confirm.html",
        include_str!("../templates/admin_confirm.html"),
    ),
    (
        "admin_events.html",
        include_str!("../templates/admin_events.html"),
    ),
    (
        "admin_user.html",
        include_str!("../templates/admin_user.html"),
    ),
    (
        "admin_user_new.html",
        include_str!("../templates/admin_user_new.html"),
    ),
    (
        "account_providers.html",
        include_str!("../templates/account_providers.html"),
    ),
    (
        "admin_catalogue.html",
        include_str!("../templates/admin_catalogue.html"),
    ),
    (
        "admin_clients.html",
        include_str!("../templates/admin_clients.html"),
    ),
    (
        "admin_client.html",
        include_str!("../templates/admin_client.html"),
    ),
    (
        "admin_client_secret.html",
        include_str!("../templates/admin_client_secret.html"),
    ),
    (
        "admin_keys.html",
        include_str!("../templates/admin_keys.html"),
    ),
    (
        "admin_audit.html",
        include_str!("../templates/admin_audit.html"),
    ),
    (
        "device_confirm.html",
        include_str!("../templates/device_confirm.html"),
    ),
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
    ("notice.html", include_str!("../templates/notice.html")),
    ("register.html", include_str!("../templates/register.html")),
    (
        "password_form.html",
        include_str!("../templates/password_form.html"),
    ),
    (
        "forgot_password.html",
        include_str!("../templates/forgot_password.html"),
    ),
    (
        "account_nav.html",
        include_str!("../templates/account_nav.html"),
    ),
    (
        "account_page.html",
        include_str!("../templates/account_page.html"),
    ),
    (
        "account_profile.html",
        include_str!("../templates/account_profile.html"),
    ),
    (
        "account_password.html",
        include_str!("../templates/account_password.html"),
    ),
    (
        "account_sessions.html",
        include_str!("../templates/account_sessions.html"),
    ),
    (
        "account_apps.html",
        include_str!("../templates/account_apps.html"),
    ),
    (
        "account_activity.html",
        include_str!("../templates/account_activity.html"),
    ),
    (
        "account_delete.html",
        include_str!("../templates/account_delete.html"),
    ),
    (
        "mail/base.html",
        include_str!("../templates/mail/base.html"),
    ),
    (
        "mail/change_email.html",
        include_str!("../templates/mail/change_email.html"),
    ),
    (
        "mail/change_email.txt",
        include_str!("../templates/mail/change_email.txt"),
    ),
    (
        "mail/email_change_requested.html",
        include_str!("../templates/mail/email_change_requested.html"),
    ),
    (
        "mail/email_change_requested.txt",
        include_str!("../templates/mail/email_change_requested.txt"),
    ),
    (
        "mail/email_changed.html",
        include_str!("../templates/mail/email_changed.html"),
    ),
    (
        "mail/email_changed.txt",
        include_str!("../templates/mail/email_changed.txt"),
    ),
    (
        "mail/invitation.html",
        include_str!("../templates/mail/invitation.html"),
    ),
    (
        "mail/invitation.txt",
        include_str!("../templates/mail/invitation.txt"),
    ),
    (
        "mail/password_changed.html",
        include_str!("../templates/mail/password_changed.html"),
    ),
    (
        "mail/password_changed.txt",
        include_str!("../templates/mail/password_changed.txt"),
    ),
    (
        "mail/account_created.html",
        include_str!("../templates/mail/account_created.html"),
    ),
    (
        "mail/account_created.txt",
        include_str!("../templates/mail/account_created.txt"),
    ),
    (
        "mail/reset_password.html",
        include_str!("../templates/mail/reset_password.html"),
    ),
    (
        "mail/reset_password.txt",
        include_str!("../templates/mail/reset_password.txt"),
    ),
    (
        "mail/signup_attempt.html",
        include_str!("../templates/mail/signup_attempt.html"),
    ),
    (
        "mail/signup_attempt.txt",
        include_str!("../templates/mail/signup_attempt.txt"),
    ),
    (
        "mail/verify_email.html",
        include_str!("../templates/mail/verify_email.html"),
    ),
    (
        "mail/verify_email.txt",
        include_str!("../templates/mail/verify_email.txt"),
    ),
    (
        "account_security.html",
        include_str!("../templates/account_security.html"),
    ),
    (
        "second_factor.html",
        include_str!("../templates/second_factor.html"),
    ),
    (
        "totp_setup.html",
        include_str!("../templates/totp_setup.html"),
    ),
    (
        "recovery_codes.html",
        include_str!("../templates/recovery_codes.html"),
    ),
    (
        "mail/account_locked.html",
        include_str!("../templates/mail/account_locked.html"),
    ),
    (
        "mail/account_locked.txt",
        include_str!("../templates/mail/account_locked.txt"),
    ),
    (
        "mail/new_device.html",
        include_str!("../templates/mail/new_device.html"),
    ),
    (
        "mail/new_device.txt",
        include_str!("../templates/mail/new_device.txt"),
    ),
    (
        "mail/security_notice.html",
        include_str!("../templates/mail/security_notice.html"),
    ),
    (
        "mail/security_notice.txt",
        include_str!("../templates/mail/security_notice.txt"),
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
        for &(name, builtin) in BUILT_IN {
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
