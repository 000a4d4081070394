//! First start: the `admin` account when no user exists, and in development (an http
//! loopback issuer with no clients) the `example-app` client the example relying party uses.

use std::path::Path;

use crate::auth::accounts::{self, AccountError, NewAccount};
use crate::auth::secret;
use crate::oidc::registration::{self, ClientSpec};
use crate::state::AppState;

/// Runs the first-start steps; safe when several nodes start together.
pub async fn first_start(state: &AppState) -> anyhow::Result<()> {
    create_admin(state).await?;
    if state.config.issuer_is_loopback() && !state.config.secure_cookies {
        register_example_app(state).await?;
    }
    Ok(())
}

async fn create_admin(state: &AppState) -> anyhow::Result<()> {
    if state.db.count_users().await? > 0 {
        return Ok(());
    }
    let given = state.config.settings.admin_password.clone();
    let password = given.clone().unwrap_or_else(secret::generate);
    let account = NewAccount {
        username: "admin".into(),
        email: "admin@tessera.local".into(),
        name: Some("Administrator".into()),
        password: password.clone(),
        roles: vec!["admin".into(), "user".into()],
    };
    match accounts::create(&state.db, &state.passwords, account, state.clock.now()).await {
        Ok(_) => {}
        // Another node created it at the same moment.
        Err(AccountError::Invalid(m)) if m.contains("taken") => return Ok(()),
        Err(e) => return Err(e.into()),
    }
    let login = format!("{}/login", state.config.issuer);
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

async fn register_example_app(state: &AppState) -> anyhow::Result<()> {
    if state.db.count_clients().await? > 0 {
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
        ..ClientSpec::default()
    };
    let registered = match registration::register(&state.db, spec, state.clock.now()).await {
        Ok(r) => r,
        Err(AccountError::Invalid(m)) if m.contains("taken") => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    let secret = registered.secret.unwrap_or_default();
    let path = state.config.settings.keys_dir.join("example-app.secret");
    save_secret(&path, &secret)?;
    eprintln!(
        "\n  Development start: registered client 'example-app'\n    client_secret: {secret}\n    (also written to {}, where `cargo run --example relying_party` finds it)\n",
        path.display()
    );
    Ok(())
}

fn save_secret(path: &Path, secret: &str) -> anyhow::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    if path.exists() {
        std::fs::remove_file(path)?;
    }
    crate::signing::write_private_file(path, secret)?;
    Ok(())
}
