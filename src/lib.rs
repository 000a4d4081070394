//! Tessera: a self-hosted OpenID Connect provider.
//!
//! Module map (each module's header says what it owns and what it must not touch):
//! - [`config`]: settings from defaults, `tessera.toml` and `TESSERA_*` variables.
//! - [`cli`]: the command line (`serve`, `migrate`, `user`, `role`, `client`, `scope`, `keys`,
//!   `audit`, `config check`).
//! - [`startup`]: builds the router, binds the listener, runs background tasks.
//! - [`state`]: the shared application state handed to every handler.
//! - [`clock`]: the only place that reads the system time.
//! - [`domain`]: validated value types (usernames, emails, roles, redirect URIs, scopes).
//! - [`services`]: the use cases, one function per state change, each in one transaction
//!   with its audit event; the web handlers and the CLI call these and nothing below them.
//! - [`auth`]: account security without HTTP: passwords, sessions, random secrets.
//! - [`oidc`]: the OAuth 2.0 / OpenID Connect rules, free of HTTP and SQL types.
//! - [`signing`]: signing keys, JWKS and JWT signing/verification (the only josekit user).
//! - [`store`]: the database (the only sqlx user).
//! - [`render`]: HTML and mail templates (the only minijinja user).
//! - [`files`]: creating files and folders that hold secrets, owner-only.
//! - [`mail`]: sends the queued mail over SMTP or into `.eml` files (the only lettre user).
//! - [`backchannel`]: delivers queued logout tokens to clients (the server's HTTP client).
//! - [`delivery`]: the worker loop both outbox senders share.
//! - [`outbound`]: bounded requests to addresses clients gave (their `jwks_uri`) and to
//!   upstream providers.
//! - [`web`]: axum handlers that adapt HTTP to the modules above.
//! - [`error`]: how errors render: HTML pages, problem documents (RFC 9457).

// Outside tests, nothing a client sends may end in a panic.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::todo)
)]

pub mod auth;
pub mod backchannel;
pub mod cli;
pub mod clock;
pub mod config;
pub mod delivery;
pub mod domain;
pub mod error;
pub mod files;
pub mod mail;
pub mod metrics;
pub mod oidc;
pub mod outbound;
pub mod render;
pub mod services;
pub mod signing;
pub mod startup;
pub mod state;
pub mod store;
pub mod web;
