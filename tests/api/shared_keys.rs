//! Signing keys made once per build of this test binary and given to every test server, so
//! that a server does not generate an RSA-2048 key (a quarter of a second or more) on its
//! first start.
//!
//! The keys are made by the server's own code (`Services::open_keys` on a scratch SQLite
//! database) and kept under cargo's `CARGO_TARGET_TMPDIR`, in a directory named after this
//! binary's size and modification time: a rebuild, which may change how keys are stored,
//! makes new ones. That directory outlives the process, so `cargo nextest` (one process per
//! test) makes the keys once too; a process that finds it loads it once and keeps it in
//! memory. Processes starting together may each make keys; the first to move its directory
//! into place wins and the others use that one.
//!
//! Tests that are about key generation itself start servers without these keys.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tessera::clock::TestClock;
use tessera::config::{DatabaseSettings, Settings};
use tessera::store::{Db, KeyRow};
use tokio::sync::OnceCell;

/// The contents of the master key file, and the key rows it decrypts.
struct SharedKeys {
    master_key: String,
    rows: Vec<KeyRow>,
}

static SHARED: OnceCell<SharedKeys> = OnceCell::const_new();

/// Gives the database at `database_url` the shared signing keys (migrating it first) and
/// writes their master key to `keys_dir/master.key`, where a server or the CLI started with
/// that `keys_dir` looks for it.
pub async fn install(keys_dir: &Path, database_url: &str) {
    let shared = SHARED.get_or_init(load_or_make).await;
    std::fs::create_dir_all(keys_dir).expect("keys directory");
    tessera::files::write_private_file(&keys_dir.join("master.key"), &shared.master_key)
        .expect("master key written");
    let db = open(database_url).await;
    let mut tx = db.write().await.expect("write transaction");
    for row in &shared.rows {
        assert!(
            tx.insert_key(row).await.expect("key stored"),
            "the database already had a {} key",
            row.alg
        );
    }
    tx.commit().await.expect("keys committed");
    db.close().await;
}

/// The shared keys, made first if no process of this build has made them.
async fn load_or_make() -> SharedKeys {
    let dir = cache_dir();
    if !dir.exists() {
        make(&dir).await;
    }
    let master_key = std::fs::read_to_string(dir.join("master.key")).expect("cached master key");
    let db = Db::connect(&sqlite_url(&dir), &DatabaseSettings::default())
        .await
        .expect("cached keys open");
    let rows = {
        let mut tx = db.read().await.expect("read connection");
        tx.list_keys().await.expect("cached keys")
    };
    db.close().await;
    SharedKeys {
        master_key: master_key.trim().to_string(),
        rows,
    }
}

/// `CARGO_TARGET_TMPDIR/tessera-test-keys/<size>-<mtime>` of the running test binary.
fn cache_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let meta = std::fs::metadata(&exe).expect("test binary metadata");
    let modified = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("tessera-test-keys")
        .join(format!("{}-{modified}", meta.len()))
}

/// Makes keys in a scratch directory next to `dir` and moves it into place; removes the
/// keys of earlier builds.
async fn make(dir: &Path) {
    let parent = dir.parent().expect("cache parent");
    std::fs::create_dir_all(parent).expect("cache parent created");
    let scratch = tempfile::tempdir_in(parent).expect("scratch directory");
    let settings = Settings {
        database_url: sqlite_url(scratch.path()),
        keys_dir: scratch.path().to_path_buf(),
        ..Settings::default()
    };
    let config = settings.validate().expect("valid key settings");
    let services = tessera::startup::open_services(config, Arc::new(TestClock::new()))
        .await
        .expect("scratch database");
    services.open_keys().await.expect("keys made");
    services.db().close().await;
    let scratch = scratch.keep();
    if std::fs::rename(&scratch, dir).is_err() {
        // Another process moved its keys into place first: use those.
        let _ = std::fs::remove_dir_all(&scratch);
        return;
    }
    for entry in std::fs::read_dir(parent).into_iter().flatten().flatten() {
        let path = entry.path();
        let is_scratch = path
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with(".tmp"));
        if path != dir && !is_scratch {
            let _ = std::fs::remove_dir_all(path);
        }
    }
}

fn sqlite_url(dir: &Path) -> String {
    format!("sqlite://{}", dir.join("keys.db").display())
}

/// Opens and migrates a database.
async fn open(database_url: &str) -> Db {
    let db = Db::connect(database_url, &DatabaseSettings::default())
        .await
        .expect("database opens");
    db.migrate().await.expect("database migrated");
    db
}
