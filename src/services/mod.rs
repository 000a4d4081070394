//! Use cases: one function per state change. Each takes the time once, opens one database
//! transaction ([`crate::store::Tx`]) that it passes to every store call, applies its
//! cascades in code, writes its audit event in that same transaction and commits. A use case
//! that fails part-way leaves nothing behind (the transaction rolls back) and still records
//! its failure. Web handlers and CLI commands parse, call one use case, and render; they never
//! reach the store themselves.
//!
//! Must not touch: HTTP types (axum), templates, or SQL (the store owns it).

pub mod accounts;
pub mod admin;
pub mod audit;
pub mod authorization;
pub mod backchannel;
mod cache;
mod client_documents;
mod client_keys;
pub mod client_registration;
pub mod clients;
mod convert;
pub mod defence;
pub mod device;
pub mod dpop;
pub mod error;
pub mod interaction;
pub mod keys;
pub mod links;
pub mod maintenance;
pub mod outbox;
pub mod par;
pub mod recovery;
pub mod registration;
pub mod scopes;
pub mod second_factor;
pub mod self_service;
pub mod sessions;
pub mod sign_in;
pub mod tokens;
pub mod upstream_sign_in;
pub mod upstreams;

use std::sync::Arc;

pub use audit::{Actor, Caller};
pub use error::{ServiceError, ServiceResult};

use cache::ExpiringCache;

use crate::auth::password::PasswordHasher;
use crate::auth::password_policy::PasswordPolicy;
use crate::auth::session::SessionPolicy;
use crate::clock::SharedClock;
use crate::config::Config;
use crate::domain::Client;
use crate::oidc::Provider;
use crate::oidc::tokens::AccessTokenClaims;
use crate::signing::KeyRing;
use crate::store::Db;

/// Everything the use cases need, cheap to clone.
#[derive(Clone, Debug)]
pub struct Services {
    db: Db,
    clock: SharedClock,
    keys: KeyRing,
    passwords: PasswordHasher,
    sessions: SessionPolicy,
    provider: Provider,
    policy: PasswordPolicy,
    config: Arc<Config>,
    /// Clients by id, each kept [`CLIENT_CACHE_SECS`]: read on every token request, changed
    /// rarely. A change made here clears it at once; one made on another node (or by the
    /// CLI) is seen when the entry expires.
    clients: Arc<ExpiringCache<String, Client>>,
    /// Access tokens whose signature and claims were checked, by SHA-256 of the token, kept
    /// until they expire: the same token presented again (introspection, userinfo) skips the
    /// signature check, never the liveness read that makes revocation take effect.
    verified_tokens: Arc<ExpiringCache<[u8; 32], Arc<AccessTokenClaims>>>,
    /// Keys fetched from clients' `jwks_uri`s, by URI.
    client_keys: Arc<ExpiringCache<String, client_keys::FetchedKeys>>,
    /// Requests to addresses clients gave (their `jwks_uri`).
    outbound: crate::outbound::Outbound,
    /// Metadata documents that could not be used lately, by URL, with why: a burst of
    /// requests naming one costs one fetch.
    document_failures: Arc<ExpiringCache<String, String>>,
    /// Metadata document fetches under way at once on this node.
    document_fetches: Arc<tokio::sync::Semaphore>,
    /// Upstream providers' discovery documents, by issuer.
    upstream_metadata: upstream_sign_in::MetadataCache,
}

/// Metadata documents fetched at once per node; more requests naming new documents are told
/// to come back later.
const DOCUMENT_FETCHES: usize = 8;

/// How long a node trusts a client it read, so that a change made elsewhere takes effect
/// on every node within five seconds (the clock counts whole seconds).
const CLIENT_CACHE_SECS: i64 = 4;
/// Clients and verified tokens kept at most (a few MiB of memory at most).
const CACHE_CAPACITY: usize = 4096;

impl Services {
    /// Wires the use cases to their dependencies.
    pub fn new(
        db: Db,
        clock: SharedClock,
        keys: KeyRing,
        passwords: PasswordHasher,
        config: Arc<Config>,
    ) -> anyhow::Result<Services> {
        let provider = Provider {
            keys: keys.clone(),
            clock: clock.clone(),
            issuer: config.issuer.clone(),
            tokens: config.settings.tokens.clone(),
        };
        Ok(Services {
            outbound: crate::outbound::Outbound::new(std::time::Duration::from_secs(
                config.settings.outbound_timeout_secs,
            ))?,
            client_keys: Arc::new(ExpiringCache::new(CACHE_CAPACITY)),
            document_failures: Arc::new(ExpiringCache::new(CACHE_CAPACITY)),
            document_fetches: Arc::new(tokio::sync::Semaphore::new(DOCUMENT_FETCHES)),
            upstream_metadata: Arc::new(ExpiringCache::new(64)),
            sessions: SessionPolicy::new(config.settings.session.clone()),
            policy: PasswordPolicy {
                min_length: config.settings.password.min_length,
                min_score: config.settings.password.min_score,
            },
            db,
            clock,
            keys,
            passwords,
            provider,
            config,
            clients: Arc::new(ExpiringCache::new(CACHE_CAPACITY)),
            verified_tokens: Arc::new(ExpiringCache::new(CACHE_CAPACITY)),
        })
    }

    /// The database, for start-up, readiness checks and shutdown.
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// The signing keys (JWKS, readiness).
    pub fn keys(&self) -> &KeyRing {
        &self.keys
    }

    /// The protocol engine (token minting and verification).
    pub fn provider(&self) -> &Provider {
        &self.provider
    }

    /// The validated configuration.
    pub fn config(&self) -> &Arc<Config> {
        &self.config
    }

    /// The current time in Unix seconds.
    pub fn now(&self) -> i64 {
        self.clock.now()
    }
}
