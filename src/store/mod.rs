//! The database: the only module that uses sqlx. One set of queries serves SQLite and
//! PostgreSQL (`$n` placeholders work on both); only the DDL in `migrations/` is per backend,
//! and the two writes of the code flow (`codes.rs`), which are one round trip each.
//! Times are Unix seconds and flags are 0/1 integers so both backends decode the same types.

mod action_tokens;
mod audit;
mod cleanup;
mod clients;
mod codes;
mod consents;
mod defence;
mod device_codes;
mod grants;
mod interactions;
mod keys;
mod mail;
mod outage;
mod pushed_requests;
mod refresh_tokens;
mod scopes;
mod second_factor;
mod seen_jwts;
mod sessions;
mod upstreams;
mod users;

use std::sync::Arc;
use std::time::Duration;

use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::{AnyPool, Connection, Database, Executor};
use sqlx_core::transaction::TransactionManager;

pub use action_tokens::{ActionTokenRow, NewActionToken};
pub use audit::{AuditFilter, AuditRow, NewAuditEvent};
pub use clients::ClientRow;
pub use codes::{CodeRow, NewCode, Redemption};
pub use defence::LockRow;
pub use device_codes::{DeviceApproval, DeviceCodeRow};
pub use grants::{GrantFacts, LogoutReceiver, NewGrant};
pub use interactions::InteractionRow;
pub use keys::KeyRow;
pub use mail::{MailRow, NewMail};
pub use refresh_tokens::{RefreshRow, RotateOutcome};
pub use scopes::ScopeRow;
pub use second_factor::TotpRow;
pub use sessions::{NewSession, SessionRow};
pub use upstreams::{LinkedIdentityRow, UpstreamRow};
pub use users::{NewUser, RoleRow, UserRow};

use crate::config::DatabaseSettings;

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

/// Which database a [`Db`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// An embedded SQLite file.
    Sqlite,
    /// A PostgreSQL server.
    Postgres,
}

/// A storage failure, sorted by what the caller can do about it.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database cannot be reached right now (503, retry later).
    #[error("database unavailable: {0}")]
    Unavailable(#[source] sqlx::Error),
    /// A unique or foreign-key constraint refused the write.
    #[error("{0}")]
    Conflict(String),
    /// Anything else (a bug or a broken database).
    #[error("database error: {0}")]
    Other(#[source] sqlx::Error),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        if is_broken_connection(&e) {
            outage::seen();
        }
        if is_unavailable(&e) {
            return StoreError::Unavailable(e);
        }
        match &e {
            sqlx::Error::Database(db)
                if db.is_unique_violation() || db.is_foreign_key_violation() =>
            {
                StoreError::Conflict(db.message().to_string())
            }
            _ => StoreError::Other(e),
        }
    }
}

/// Whether an error means "the database cannot be reached now" rather than "the query failed".
fn is_unavailable(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed) || is_broken_connection(e)
}

/// Whether an error means the connection it ran on no longer reaches the database.
fn is_broken_connection(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_) | sqlx::Error::Tls(_) | sqlx::Error::WorkerCrashed => true,
        // PostgreSQL classes 08 (connection exception) and 57P (shutting down, starting up).
        sqlx::Error::Database(db) => db
            .code()
            .is_some_and(|c| c.starts_with("08") || c.starts_with("57P")),
        _ => false,
    }
}

/// Result of a store call.
pub type StoreResult<T> = Result<T, StoreError>;

/// The connection pool and the backend it talks to.
#[derive(Debug, Clone)]
pub struct Db {
    pool: AnyPool,
    backend: Backend,
    /// SQLite allows one writer at a time. Writers of this process queue here, in order and
    /// without spinning, instead of colliding in `BEGIN IMMEDIATE` and backing off in SQLite's
    /// busy handler, which sleeps for up to 100 ms a round (measured: p99 of the code flow
    /// 450 ms with eight concurrent flows). Other processes (the CLI) still meet the busy
    /// timeout. The gate holds the one connection this process writes on, opened with the
    /// pool: no checkout, no ping when it is given back, and a page cache that no other
    /// connection's writes invalidate (the code flow: +8 % flows/s). The pool serves reads.
    /// PostgreSQL needs no gate.
    write_gate: Option<Arc<tokio::sync::Mutex<Writer>>>,
}

impl Db {
    /// Opens a pool, retrying for `settings.startup_timeout_secs` while the database is down.
    #[tracing::instrument(name = "db.connect", skip_all)]
    pub async fn connect(url: &str, settings: &DatabaseSettings) -> anyhow::Result<Db> {
        if let Some(folder) = missing_sqlite_folder(url) {
            anyhow::bail!(
                "cannot open the database {url}: the folder {} does not exist (create it, or point database_url elsewhere)",
                folder.display()
            );
        }
        if let Some(file) = sqlite_file(url) {
            crate::files::create_private_file(&file)
                .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", file.display()))?;
        }
        let deadline =
            tokio::time::Instant::now() + Duration::from_secs(settings.startup_timeout_secs);
        let mut delay = Duration::from_millis(250);
        loop {
            match Self::connect_once(url, settings).await {
                Ok(db) => return Ok(db),
                Err(e) if is_unavailable(&e) && tokio::time::Instant::now() < deadline => {
                    tracing::warn!(error = %e, retry_in_ms = delay.as_millis() as u64, "database not reachable yet; retrying");
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(5));
                }
                Err(e) => {
                    return Err(anyhow::anyhow!(
                        "cannot open the database {}: {e}",
                        crate::config::redact_url_password(url)
                    ));
                }
            }
        }
    }

    async fn connect_once(url: &str, settings: &DatabaseSettings) -> Result<Db, sqlx::Error> {
        install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else {
            Backend::Postgres
        };
        let url = match backend {
            Backend::Sqlite if !url.contains("mode=") => {
                let sep = if url.contains('?') { '&' } else { '?' };
                format!("{url}{sep}mode=rwc")
            }
            _ => url.to_string(),
        };
        let max = match backend {
            // One writer at a time anyway; a few readers alongside it.
            Backend::Sqlite => settings.max_connections.min(8),
            Backend::Postgres => settings.max_connections,
        };
        let pool = AnyPoolOptions::new()
            .max_connections(max)
            .min_connections(0)
            .acquire_timeout(Duration::from_secs(settings.acquire_timeout_secs))
            // A ping before every checkout doubled the round trips of the hot paths. A
            // connection the server dropped fails its next statement instead: that request
            // answers 503 and the pool discards the connection; once that happened, the
            // connections idle since are tested before reuse, so one outage fails one request
            // rather than one per idle connection.
            .test_before_acquire(false)
            .before_acquire(|conn, meta| {
                Box::pin(async move {
                    if outage::outlived_by(meta.idle_for) {
                        conn.ping().await?;
                    }
                    Ok(true)
                })
            })
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        conn.execute(SQLITE_PRAGMAS).await?;
                    }
                    Ok(())
                })
            })
            .connect(&url)
            .await?;
        let write_gate = match backend {
            Backend::Sqlite => Some(Arc::new(tokio::sync::Mutex::new(Writer {
                conn: open_writer(&pool).await?,
                broken: false,
            }))),
            Backend::Postgres => None,
        };
        Ok(Db {
            pool,
            backend,
            write_gate,
        })
    }

    /// Applies pending migrations. On PostgreSQL sqlx holds an advisory lock meanwhile, so
    /// nodes starting together do not race.
    #[tracing::instrument(name = "db.migrate", skip_all)]
    pub async fn migrate(&self) -> anyhow::Result<()> {
        let migrator = match self.backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        };
        let mut attempt = 1;
        loop {
            match migrator.run(&self.pool).await {
                Ok(()) => return Ok(()),
                // SQLite has no advisory lock: when two processes migrate one file at once, the
                // loser's transaction rolls back; on retry it finds the migration applied.
                Err(e) if self.backend == Backend::Sqlite && attempt < 5 => {
                    tracing::warn!(error = %e, attempt, "migration collided with another process; retrying");
                    tokio::time::sleep(Duration::from_millis(200 * attempt)).await;
                    attempt += 1;
                }
                Err(e) => return Err(anyhow::anyhow!("migration failed: {e}")),
            }
        }
    }

    /// Opens a write transaction: every store call a use case makes goes through it, and
    /// nothing is visible to others until [`Tx::commit`]. On SQLite it takes the write lock at
    /// once (`BEGIN IMMEDIATE`): a deferred transaction that reads first and writes later
    /// fails with "database is locked" when another connection wrote in between, instead of
    /// waiting for the busy timeout.
    pub async fn write(&self) -> StoreResult<Tx> {
        let (mut tx, begin) = match self.write_turn().await? {
            Some(turn) => (
                Tx::new(Conn::Writer(turn)),
                Some(sqlx::SqlStr::from_static("BEGIN IMMEDIATE")),
            ),
            None => (Tx::new(Conn::Write(self.pool.acquire().await?)), None),
        };
        if let Err(e) = Transactions::begin(tx.c(), begin).await {
            tx.unusable_if_broken(&e);
            return Err(e.into());
        }
        tx.open = true;
        Ok(tx)
    }

    /// This process's turn to write on SQLite, its writer ready (none is needed on
    /// PostgreSQL).
    async fn write_turn(&self) -> StoreResult<Option<WriteTurn>> {
        let Some(gate) = &self.write_gate else {
            return Ok(None);
        };
        let mut turn = tokio::time::timeout(
            self.pool.options().get_acquire_timeout(),
            gate.clone().lock_owned(),
        )
        .await
        .map_err(|_| StoreError::Unavailable(sqlx::Error::PoolTimedOut))?;
        if self.pool.is_closed() {
            return Err(StoreError::Unavailable(sqlx::Error::PoolClosed));
        }
        if turn.broken {
            turn.conn = open_writer(&self.pool).await?;
            turn.broken = false;
        }
        Ok(Some(turn))
    }

    /// Runs a unit of work that is one round trip: `query` is either a single statement
    /// (PostgreSQL, whose writable `WITH` clauses join several changes into one) or, on SQLite,
    /// several statements between `BEGIN IMMEDIATE` and `COMMIT`. Hot paths write this way
    /// because on SQLite every round trip is a hand-over to the connection's worker thread,
    /// made while holding the write turn. The work runs in a task of its own, so a request
    /// that goes away midway cannot leave a transaction open on the connection; a failed
    /// SQLite batch is rolled back, and the writer replaced if even that fails. Returns the
    /// rows the statements returned.
    async fn write_at_once(&self, query: AnyQuery) -> StoreResult<Vec<sqlx::any::AnyRow>> {
        let db = self.clone();
        let work = tokio::spawn(async move {
            let Some(mut turn) = db.write_turn().await? else {
                let mut conn = db.pool.acquire().await?;
                return Ok(query.fetch_all(&mut *conn).await?);
            };
            let result = query.fetch_all(&mut turn.conn).await;
            if result.is_err()
                && sqlx::query("ROLLBACK")
                    .execute(&mut turn.conn)
                    .await
                    .is_err()
            {
                turn.broken = true;
            }
            Ok(result?)
        });
        work.await.map_err(|e| {
            StoreError::Other(sqlx::Error::Protocol(format!("write task failed: {e}")))
        })?
    }

    /// A connection for reads: each statement stands alone, no lock is held between them.
    /// The hot paths (token, userinfo, introspection) read through one of these.
    pub async fn read(&self) -> StoreResult<Tx> {
        Ok(Tx::new(Conn::Read(self.pool.acquire().await?)))
    }

    /// SQLite: copies what the WAL holds into the database file, without waiting for or
    /// holding up readers and the writer (a passive checkpoint). Nothing on PostgreSQL.
    pub async fn checkpoint(&self) -> StoreResult<()> {
        if self.backend == Backend::Sqlite {
            sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
                .execute(&self.pool)
                .await?;
        }
        Ok(())
    }

    /// Which backend this is.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// A cheap round trip, for readiness checks.
    pub async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// Writes a consistent copy of a SQLite database to the new file `path` while the
    /// database stays in use (`VACUUM INTO`); the copy is readable only by its owner. `false`
    /// on PostgreSQL, which is backed up with its own tools.
    pub async fn backup_into(&self, path: &std::path::Path) -> anyhow::Result<bool> {
        if self.backend != Backend::Sqlite {
            return Ok(false);
        }
        // VACUUM INTO fills an empty file and keeps its mode; a file with content is refused.
        let exists = path.metadata().is_ok_and(|m| m.len() > 0);
        anyhow::ensure!(
            !exists,
            "{} exists already; choose a new file",
            path.display()
        );
        crate::files::create_private_file(path)
            .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", path.display()))?;
        let target = path
            .to_str()
            .ok_or_else(|| anyhow::anyhow!("{} is not valid UTF-8", path.display()))?;
        sqlx::query("VACUUM INTO $1")
            .bind(target)
            .execute(&self.pool)
            .await
            .map_err(|e| anyhow::anyhow!("backup to {} failed: {e}", path.display()))?;
        Ok(true)
    }

    /// Connections of the pool: open, and idle among them.
    pub fn pool_state(&self) -> (u32, usize) {
        (self.pool.size(), self.pool.num_idle())
    }

    /// Closes the pool; writes fail from then on.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// The file a SQLite URL names (none for an in-memory database).
fn sqlite_file(url: &str) -> Option<std::path::PathBuf> {
    let path = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = path.split('?').next().unwrap_or_default();
    (!path.is_empty() && path != ":memory:").then(|| std::path::PathBuf::from(path))
}

/// The folder of a SQLite file that does not exist (SQLite itself only says "unable to open
/// database file").
fn missing_sqlite_folder(url: &str) -> Option<std::path::PathBuf> {
    let file = sqlite_file(url)?;
    let folder = file.parent()?;
    (!folder.as_os_str().is_empty() && !folder.exists()).then(|| folder.to_path_buf())
}

/// Set on every SQLite connection when it opens.
const SQLITE_PRAGMAS: &str = "PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON; \
     PRAGMA busy_timeout = 5000; PRAGMA synchronous = NORMAL;";

/// How many WAL pages SQLite's writer lets pile up before it checkpoints them itself. A
/// checkpoint by the writer holds up every write while it syncs the WAL and the database
/// file: the server checkpoints in the background instead ([`Db::checkpoint`]), and the
/// writer's own, once every 10,000 pages (about 40 MB), only catches up the last few frames
/// and lets the WAL start over. At 1,000 pages, SQLite's default, the code flow lost about
/// a seventh of its throughput to these pauses.
const WRITER_AUTOCHECKPOINT: &str = "PRAGMA wal_autocheckpoint = 10000";

/// The Any driver's transaction calls.
type Transactions = <sqlx::Any as Database>::TransactionManager;

/// SQLite's one writer connection of this process, kept in the write gate.
#[derive(Debug)]
struct Writer {
    conn: sqlx::AnyConnection,
    /// Its last statement failed for want of a working connection: the next turn replaces it.
    broken: bool,
}

/// This process's turn to write on SQLite, with the writer.
type WriteTurn = tokio::sync::OwnedMutexGuard<Writer>;

/// Opens a SQLite connection like the pool's, to write on.
async fn open_writer(pool: &AnyPool) -> Result<sqlx::AnyConnection, sqlx::Error> {
    let mut conn = sqlx::AnyConnection::connect_with(&pool.connect_options()).await?;
    conn.execute(SQLITE_PRAGMAS).await?;
    conn.execute(WRITER_AUTOCHECKPOINT).await?;
    Ok(conn)
}

/// A statement with its arguments bound, owning all it needs.
type AnyQuery = sqlx::query::Query<'static, sqlx::Any, sqlx::any::AnyArguments>;

/// What a [`Tx`] runs its statements on.
enum Conn {
    /// A pooled PostgreSQL connection, for a transaction.
    Write(sqlx::pool::PoolConnection<sqlx::Any>),
    /// SQLite's writer, for a transaction (`BEGIN IMMEDIATE`).
    Writer(WriteTurn),
    /// A pooled connection for reads.
    Read(sqlx::pool::PoolConnection<sqlx::Any>),
}

/// One unit of work on the database, handed out by [`Db::write`] or [`Db::read`]. Every
/// query of the store is a method of `Tx`, so a use case passes the same one to each call
/// and the calls commit or roll back together. Dropping a write `Tx` without committing
/// rolls it back.
pub struct Tx {
    conn: Conn,
    /// A transaction is open on `conn`.
    open: bool,
}

impl std::fmt::Debug for Tx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self.conn {
            Conn::Write(_) | Conn::Writer(_) => "write",
            Conn::Read(_) => "read",
        };
        write!(f, "Tx({kind})")
    }
}

impl Tx {
    fn new(conn: Conn) -> Tx {
        Tx { conn, open: false }
    }

    /// The connection the next statement runs on.
    fn c(&mut self) -> &mut sqlx::AnyConnection {
        match &mut self.conn {
            Conn::Write(conn) | Conn::Read(conn) => conn,
            Conn::Writer(turn) => &mut turn.conn,
        }
    }

    /// Marks SQLite's writer for replacement when `e` says it no longer works.
    fn unusable_if_broken(&mut self, e: &sqlx::Error) {
        if let Conn::Writer(turn) = &mut self.conn {
            turn.broken |= is_broken_connection(e);
        }
    }

    /// Makes the writes of this unit of work durable and visible (a no-op for reads).
    pub async fn commit(mut self) -> StoreResult<()> {
        if self.open {
            if let Err(e) = Transactions::commit(self.c()).await {
                self.unusable_if_broken(&e);
                return Err(e.into());
            }
            self.open = false;
        }
        Ok(())
    }
}

impl Drop for Tx {
    /// Queues the rollback of a transaction left open on its connection, ahead of anything
    /// the next user of the connection sends, as sqlx's own transactions do.
    fn drop(&mut self) {
        if self.open {
            Transactions::start_rollback(self.c());
        }
    }
}

/// 1 for true, 0 for false: the stored form of flags.
fn flag(value: bool) -> i64 {
    i64::from(value)
}
