//! First start: the `admin` account when no user exists, and in development (an http
//! loopback issuer with no clients) the `example-app` client the example relying party uses.

use std::path::Path;

use crate::auth::secret;
use crate::services::accounts::NewAccount;
use crate::services::clients::ClientSpec;
use crate::services::{Caller, ServiceError, Services};

/// Runs the first-start steps that apply; safe when several nodes start at once.
pub async fn first_start(services: &Services) -> anyhow::Result<()> {
    create_admin(services).await?;
    let config = services.config();
    if config.issuer_is_loopback() && !config.secure_cookies {
        register_example_app(services).await?;
    }
    Ok(())
}

async fn create_admin(services: &Services) -> anyhow::Result<()> {
    if services.count_users().await? > 0 {
        return Ok(());
    }
    let config = services.config();
    let given = config.settings.admin_password.clone();
    let password = given.clone().unwrap_or_else(secret::generate);
    let account = NewAccount {
        username: "admin".into(),
        email: "admin@tessera.local".into(),
        name: Some("Administrator".into()),
        password: password.clone(),
        roles: vec!["admin".into(), "user".into()],
    };
    match services.create_user(&Caller::cli(), account).await {
        Ok(_) => {}
        // Another node created it at the same moment.
        Err(ServiceError::Conflict { .. }) => return Ok(()),
        Err(e) => return Err(e.into()),
    }
    let login = format!("{}/login", config.issuer);
    // In JSON mode every line of output is JSON, the one-time password included.
    if config.settings.log_format == crate::config::LogFormat::Json {
        if given.is_some() {
            tracing::warn!(user = "admin", sign_in = %login, "created the first user with the password from TESSERA_ADMIN_PASSWORD");
        } else {
            tracing::warn!(user = "admin", password = %password, sign_in = %login, "created the first user; the password is shown once, change it with `tessera user set-password admin --password-stdin`");
        }
        return Ok(());
    }
    if given.is_some() {
        eprintln!(
            "\n  Created the first user 'admin' with the password from TESSERA_ADMIN_PASSWORD.\n  Sign in at {login}\n"
        );
    } else {
        eprintln!(
            "\n  ┌─ Tessera first start ──────────────────────────────────────────\n  │ Created user 'admin' with password: {password}\n  │ (shown once; change it with `tessera user set-password admin --password-stdin`)\n  │ Sign in at {login}\n  └────────────────────────────────────────────────────────────────\n"
        );
    }
    Ok(())
}

async fn register_example_app(services: &Services) -> anyhow::Result<()> {
    if services.count_clients().await? > 0 {
        return Ok(());
    }
    let spec = ClientSpec {
        client_id: Some("example-app".into()),
        name: "Example App".into(),
        redirect_uris: vec!["http://127.0.0.1:3000/callback".into()],
        post_logout_redirect_uris: vec!["http://127.0.0.1:3000/".into()],
        grant_types: vec![
            "authorization_code".into(),
            "refresh_token".into(),
            "client_credentials".into(),
        ],
        roles: vec!["user".into()],
        options: crate::services::clients::ClientOptions {
            backchannel_logout_uri: Some("http://127.0.0.1:3000/backchannel-logout".into()),
            ..Default::default()
        },
        ..ClientSpec::default()
    };
    let registered = match services.register_client(&Caller::cli(), spec).await {
        Ok(r) => r,
        Err(ServiceError::Conflict { .. }) => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    let secret = registered.secret.unwrap_or_default();
    let path = services
        .config()
        .settings
        .keys_dir
        .join("example-app.secret");
    save_secret(&path, &secret)?;
    if services.config().settings.log_format == crate::config::LogFormat::Json {
        tracing::warn!(client_id = "example-app", client_secret = %secret, file = %path.display(), "development start: registered the example app's client");
        return Ok(());
    }
    eprintln!(
        "\n  Development start: registered client 'example-app'\n    client_secret: {secret}\n    (also written to {path}; the examples read it with `--client-secret-file {path}`)\n",
        path = path.display()
    );
    Ok(())
}

fn save_secret(path: &Path, secret: &str) -> anyhow::Result<()> {
    if let Some(dir) = path.parent() {
        crate::files::create_private_dir(dir)?;
    }
    if path.exists() {
        std::fs::remove_file(path)?;
    }
    crate::files::write_private_file(path, secret)?;
    Ok(())
}
