//! Building and running the server: open the database, migrate, load keys, bootstrap the
//! first admin (and, in development, the example client), bind the listener, serve until a
//! shutdown signal, and run the background tasks (key reload, cleanup) meanwhile.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::auth::password::PasswordHasher;
use crate::clock::SharedClock;
use crate::config::Config;
use crate::mail::Mailer;
use crate::render::Templates;
use crate::services::Services;
use crate::signing::{KeyRing, MasterKey};
use crate::state::{AppState, Shared};
use crate::store::{Backend, Db};
use crate::web::csrf::Csrf;

/// Opens the database and applies migrations.
pub async fn open_database(config: &Config) -> anyhow::Result<Db> {
    let db = Db::connect(&config.settings.database_url, &config.settings.database).await?;
    db.migrate().await?;
    Ok(db)
}

/// Opens the database and wires the use cases; the keyring is empty until
/// [`Services::open_keys`] loads it (only commands that sign need it).
pub async fn open_services(config: Config, clock: SharedClock) -> anyhow::Result<Services> {
    let db = open_database(&config).await?;
    let master = MasterKey::load_or_create(
        config.settings.master_key_file.as_deref(),
        &config.settings.keys_dir,
    )?;
    let tokens = &config.settings.tokens;
    let grace = tokens.access_token_ttl_secs.max(tokens.id_token_ttl_secs);
    let keys = KeyRing::new(master, clock.clone(), grace);
    let passwords = PasswordHasher::new(&config.settings.password)?;
    Services::new(db, clock, keys, passwords, Arc::new(config))
}

/// Writes the configuration file's `[[upstream]]` providers to the database (and removes
/// those it no longer names), reading each `client_secret_file`.
pub async fn sync_upstreams(services: &Services) -> anyhow::Result<()> {
    let mut specs: Vec<crate::services::upstreams::UpstreamSpec> = Vec::new();
    for u in &services.config().settings.upstream {
        if specs.iter().any(|s| s.id == u.id) {
            anyhow::bail!("[[upstream]] '{}' appears twice in the configuration", u.id);
        }
        let client_secret = match (&u.client_secret, &u.client_secret_file) {
            (Some(_), Some(_)) => anyhow::bail!(
                "[[upstream]] '{}': give client_secret or client_secret_file, not both",
                u.id
            ),
            (Some(secret), None) => Some(secret.clone()),
            (None, Some(path)) => Some(
                std::fs::read_to_string(path)
                    .map_err(|e| {
                        anyhow::anyhow!(
                            "[[upstream]] '{}': cannot read client_secret_file {}: {e}",
                            u.id,
                            path.display()
                        )
                    })?
                    .trim()
                    .to_string(),
            ),
            (None, None) => None,
        };
        specs.push(crate::services::upstreams::UpstreamSpec {
            id: u.id.clone(),
            name: u.name.clone(),
            issuer: u.issuer.clone(),
            client_id: u.client_id.clone(),
            client_secret,
            scopes: u.scopes.clone(),
            link_by_verified_email: u.link_by_verified_email,
            create_users: u.create_users,
            trust_upstream_mfa: u.trust_upstream_mfa,
            roles_claim: u.roles_claim.clone(),
            role_map: u.role_map.clone(),
            default_roles: u.default_roles.clone(),
        });
    }
    services.sync_file_upstreams(specs).await?;
    Ok(())
}

/// A server ready to run.
pub struct Application {
    listener: TcpListener,
    metrics_listener: Option<TcpListener>,
    state: AppState,
    mailer: Mailer,
}

impl Application {
    /// Builds the state and binds the configured address (port 0: a free one, see
    /// [`Config::adopt_bound_address`]); nothing is served until
    /// [`Application::run_until_stopped`].
    pub async fn build(mut config: Config, clock: SharedClock) -> anyhow::Result<Application> {
        let listener = TcpListener::bind(config.listen)
            .await
            .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", config.listen))?;
        config.adopt_bound_address(listener.local_addr()?);
        Self::build_on(config, clock, listener).await
    }

    /// Builds the state to serve on an already bound listener.
    pub async fn build_on(
        config: Config,
        clock: SharedClock,
        listener: TcpListener,
    ) -> anyhow::Result<Application> {
        for warning in config.warnings() {
            tracing::warn!("INSECURE SETTING: {warning}");
        }
        let templates = Templates::load(config.settings.templates_dir.as_deref(), &config.issuer)?;
        let mailer = Mailer::new(&config, templates.clone())?;
        let registration_open =
            config.settings.registration.mode != crate::config::RegistrationMode::Closed;
        let discovery = serde_json::to_vec(&crate::oidc::discovery::document(
            &config.issuer,
            crate::oidc::discovery::Features {
                registration_open,
                par_required: config.settings.par.required,
                client_id_documents: config.settings.client_metadata_documents
                    == crate::config::Switch::On,
            },
        ))?;
        let services = open_services(config, clock).await?;
        services.open_keys().await?;
        let csrf = Csrf::new(services.keys().master_key(), services.config())?;
        let state = AppState::new(Shared {
            csrf,
            config: services.config().clone(),
            services,
            templates,
            discovery: Arc::from(discovery),
        });
        crate::cli::bootstrap::first_start(&state.services).await?;
        sync_upstreams(&state.services).await?;
        for client in state.services.list_clients().await? {
            if !client.requires_pkce() {
                tracing::warn!(client_id = %client.id, "INSECURE CLIENT: allowed to leave PKCE out (allow_no_pkce); RFC 9700 asks PKCE of every client");
            }
        }
        let metrics_listener = match &state.config.settings.metrics_listen {
            Some(address) => {
                crate::metrics::install();
                Some(TcpListener::bind(address).await.map_err(|e| {
                    anyhow::anyhow!("cannot listen on {address} (metrics_listen): {e}")
                })?)
            }
            None => None,
        };
        Ok(Application {
            listener,
            metrics_listener,
            state,
            mailer,
        })
    }

    /// The bound port (useful when listening on port 0).
    pub fn port(&self) -> u16 {
        self.listener.local_addr().map(|a| a.port()).unwrap_or(0)
    }

    /// The bound port of the metrics listener, if `metrics_listen` is set.
    pub fn metrics_port(&self) -> Option<u16> {
        self.metrics_listener
            .as_ref()
            .and_then(|l| l.local_addr().ok())
            .map(|a| a.port())
    }

    /// The shared state (tests use it to reach the clock and database).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `shutdown` resolves, then drains in-flight requests.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let (stop_tx, stop_rx) = watch::channel(false);
        let mut tasks = spawn_background_tasks(&self.state, stop_rx.clone());
        tasks.push(tokio::spawn(crate::mail::run(
            self.state.services.clone(),
            self.mailer,
            stop_rx.clone(),
        )));
        let services = self.state.services.clone();
        let logouts = stop_rx.clone();
        tasks.push(tokio::spawn(async move {
            if let Err(e) = crate::backchannel::run(services, logouts).await {
                tracing::error!(error = %e, "back-channel logout delivery could not start");
            }
        }));
        if let Some(listener) = self.metrics_listener {
            tracing::info!(metrics_listen = %listener.local_addr()?, "serving Prometheus metrics at /metrics");
            tasks.push(tokio::spawn(crate::web::ops::serve_metrics(
                listener,
                self.state.services.clone(),
                stop_rx,
            )));
        }
        let router = crate::web::router(self.state.clone());
        tracing::info!(
            issuer = %self.state.config.issuer,
            listen = %self.listener.local_addr()?,
            "Tessera is serving; sign in at {}/login",
            self.state.config.issuer
        );
        let settings = &self.state.config.settings;
        let limits = crate::web::serve::ServeLimits {
            header_read_timeout: Duration::from_secs(settings.header_read_timeout_secs),
            max_connections: settings.max_connections,
            shutdown_timeout: Duration::from_secs(settings.shutdown_timeout_secs),
        };
        let served = crate::web::serve::serve(self.listener, router, limits, shutdown).await;
        let _ = stop_tx.send(true);
        for task in tasks {
            let _ = task.await;
        }
        self.state.services.db().close().await;
        served
    }
}

fn spawn_background_tasks(
    state: &AppState,
    stop: watch::Receiver<bool>,
) -> Vec<tokio::task::JoinHandle<()>> {
    let settings = &state.config.settings;
    let services = state.services.clone();
    let reload_every = Duration::from_secs(settings.tokens.key_refresh_secs);
    let reload = every(reload_every, stop.clone(), move || {
        let services = services.clone();
        async move {
            if let Err(e) = services.reload_keys().await {
                tracing::warn!(error = %e, "could not reload signing keys");
            }
        }
    });
    let services = state.services.clone();
    let cleanup_every = Duration::from_secs(settings.cleanup_interval_secs);
    let cleanup = every(cleanup_every, stop.clone(), move || {
        let services = services.clone();
        async move {
            match services.clean_up().await {
                Ok(n) if n > 0 => tracing::info!(rows = n, "removed expired rows"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "cleanup failed"),
            }
        }
    });
    let mut tasks = vec![reload, cleanup];
    let db = state.services.db().clone();
    if db.backend() == Backend::Sqlite {
        let checkpoint_every = Duration::from_millis(settings.database.checkpoint_interval_ms);
        tasks.push(every(checkpoint_every, stop, move || {
            let db = db.clone();
            async move {
                if let Err(e) = db.checkpoint().await {
                    tracing::warn!(error = %e, "WAL checkpoint failed");
                }
            }
        }));
    }
    tasks
}

fn every<F, Fut>(
    period: Duration,
    mut stop: watch::Receiver<bool>,
    work: F,
) -> tokio::task::JoinHandle<()>
where
    F: Fn() -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send,
{
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(period);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticker.tick().await;
        loop {
            tokio::select! {
                _ = ticker.tick() => work().await,
                _ = stop.changed() => break,
            }
        }
    })
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
}
