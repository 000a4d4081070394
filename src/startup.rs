//! Building and running the server: open the database, migrate, load keys, bootstrap the
//! first admin (and, in development, the example client), bind the listener, serve until a
//! shutdown signal, and run the background tasks (key reload, cleanup) meanwhile.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::auth::password::PasswordHasher;
use crate::auth::session::SessionPolicy;
use crate::clock::SharedClock;
use crate::config::Config;
use crate::oidc::Provider;
use crate::render::Templates;
use crate::signing::{KeyRing, MasterKey};
use crate::state::AppState;
use crate::store::Db;

/// How often expired rows are deleted.
const CLEANUP_INTERVAL: Duration = Duration::from_secs(300);

/// Opens the database and applies migrations.
pub async fn open_database(config: &Config) -> anyhow::Result<Db> {
    let db = Db::connect(&config.settings.database_url, &config.settings.database).await?;
    db.migrate().await?;
    Ok(db)
}

/// Opens the key ring (creating first keys when none exist).
pub async fn open_keys(config: &Config, db: &Db, clock: SharedClock) -> anyhow::Result<KeyRing> {
    let master = MasterKey::load_or_create(
        config.settings.master_key_file.as_deref(),
        &config.settings.keys_dir,
    )?;
    let tokens = &config.settings.tokens;
    let grace = tokens.access_token_ttl_secs.max(tokens.id_token_ttl_secs);
    Ok(KeyRing::open(db.clone(), master, clock, grace).await?)
}

/// A server ready to run.
pub struct Application {
    listener: TcpListener,
    state: AppState,
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
        let db = open_database(&config).await?;
        let keys = open_keys(&config, &db, clock.clone()).await?;
        let settings = &config.settings;
        let passwords = PasswordHasher::new(&settings.password)?;
        let templates = Templates::load(settings.templates_dir.as_deref(), &config.issuer)?;
        let discovery = serde_json::to_vec(&crate::oidc::discovery::document(&config.issuer))?;
        let provider = Provider {
            db: db.clone(),
            keys: keys.clone(),
            clock: clock.clone(),
            issuer: config.issuer.clone(),
            tokens: settings.tokens.clone(),
        };
        let state = AppState {
            sessions: SessionPolicy::new(settings.session.clone()),
            config: Arc::new(config),
            db,
            keys,
            clock,
            templates,
            passwords,
            provider,
            discovery: Arc::from(discovery),
        };
        crate::cli::bootstrap::first_start(&state).await?;
        Ok(Application { listener, state })
    }

    /// The bound port (useful when listening on port 0).
    pub fn port(&self) -> u16 {
        self.listener.local_addr().map(|a| a.port()).unwrap_or(0)
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
        let tasks = spawn_background_tasks(&self.state, stop_rx);
        let router = crate::web::router(self.state.clone());
        tracing::info!(
            issuer = %self.state.config.issuer,
            listen = %self.listener.local_addr()?,
            "Tessera is serving; sign in at {}/login",
            self.state.config.issuer
        );
        let served = axum::serve(self.listener, router)
            .with_graceful_shutdown(async move {
                shutdown.await;
                tracing::info!("shutting down");
            })
            .await;
        let _ = stop_tx.send(true);
        for task in tasks {
            let _ = task.await;
        }
        self.state.db.close().await;
        served
    }
}

fn spawn_background_tasks(
    state: &AppState,
    stop: watch::Receiver<bool>,
) -> Vec<tokio::task::JoinHandle<()>> {
    let keys = state.keys.clone();
    let reload_every = Duration::from_secs(state.config.settings.tokens.key_refresh_secs);
    let reload = every(reload_every, stop.clone(), move || {
        let keys = keys.clone();
        async move {
            if let Err(e) = keys.reload().await {
                tracing::warn!(error = %e, "could not reload signing keys");
            }
        }
    });
    let db = state.db.clone();
    let keys = state.keys.clone();
    let clock = state.clock.clone();
    let cleanup = every(CLEANUP_INTERVAL, stop, move || {
        let (db, keys, now) = (db.clone(), keys.clone(), clock.now());
        async move {
            match db.delete_expired(now).await {
                Ok(n) if n > 0 => tracing::info!(rows = n, "removed expired rows"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "cleanup failed"),
            }
            if let Err(e) = keys.delete_expired().await {
                tracing::warn!(error = %e, "could not delete expired keys");
            }
        }
    });
    vec![reload, cleanup]
}

/// Runs `work` every `period` until `stop` turns true.
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
