//! The integration suite: one binary, a fresh server and database per test, real HTTP.
//! Runs on SQLite, and on PostgreSQL when `TEST_DATABASE_URL` is set.

mod helpers;

mod cli;
mod config;
mod login;
mod oidc_flow;
mod ops;
