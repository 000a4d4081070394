//! Files and folders that hold secrets (the SQLite database, the master key, the outbox of
//! mail with sign-in and reset links) are created readable only by their owner, whichever
//! command creates them.

use std::path::Path;

/// Options that create a new file readable only by its owner (and fail if it exists).
fn new_private_file() -> std::fs::OpenOptions {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options
}

/// Writes a new file readable only by its owner; fails if it exists.
pub fn write_private_file(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut file = new_private_file().open(path)?;
    file.write_all(contents.as_bytes())?;
    file.write_all(b"\n")
}

/// Creates an empty database file readable only by its owner, unless it exists. SQLite gives
/// its `-wal` and `-shm` files the mode of the database file, so they stay private too.
pub fn create_private_file(path: &Path) -> std::io::Result<()> {
    match new_private_file().open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

/// Creates a folder (and its parents) readable only by its owner.
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}
