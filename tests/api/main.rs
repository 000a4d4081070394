//! The integration suite: one binary, a fresh server and database per test, real HTTP.
//! Runs on SQLite, and on PostgreSQL when `TEST_DATABASE_URL` is set.

mod children;
mod helpers;
mod rp;
mod shared_keys;
mod smtp;

mod accounts;
mod admin_api;
mod admin_console;
mod audit;
mod authorize_errors;
mod backchannel;
mod behind_nginx;
mod browser;
mod browser_accounts;
mod browser_admin;
mod browser_two_factor;
mod cli;
mod client_documents;
mod client_keys;
mod config;
mod csrf;
mod defence;
mod device;
mod discovery;
mod dpop;
mod examples;
mod introspection;
mod keys;
mod login;
mod logout;
mod metrics;
mod multinode;
mod oidc_flow;
mod ops;
mod par;
mod races;
mod registration;
mod resilience;
mod resources;
mod session_safety;
mod slow_clients;
mod tokens;
mod two_factor;
