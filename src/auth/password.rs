//! Password hashing with argon2id. Every hash runs on one of `max_concurrent` threads of its
//! own behind a semaphore, so at most that many hashes (each `memory_kib` of memory) run at
//! once and a flood of logins can neither exhaust memory nor stall the async workers. Those
//! threads run at a lower CPU priority: when the CPU is short, token, discovery and page
//! requests go first and sign-ins wait a little longer. Unknown users are checked against a
//! dummy hash so their answer costs the same time.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::Semaphore;

use crate::auth::password_policy::MAX_LENGTH;
use crate::config::PasswordSettings;

/// Why a password could not be set.
#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    /// The password breaks the policy; the message says how.
    #[error("{0}")]
    Policy(String),
    /// Hashing failed (should not happen with validated parameters).
    #[error("password hashing failed: {0}")]
    Hash(String),
    /// Every hashing slot is busy and the wait queue is full.
    #[error("too many password checks at once; try again in a moment")]
    Busy,
}

/// What an account without a password stores in place of a hash: no password verifies.
pub const NO_PASSWORD: &str = "!";

/// Whether a stored hash is a password's (not [`NO_PASSWORD`]).
pub fn is_set(stored: &str) -> bool {
    stored.starts_with('$')
}

/// The outcome of a verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verified {
    /// Wrong password (or unknown user).
    No,
    /// Right password; the stored hash is current.
    Yes,
    /// Right password, hashed with old parameters: store this new hash.
    YesRehashed(String),
    /// Not checked: every hashing slot is busy and the wait queue is full.
    Busy,
}

/// Hashes and verifies passwords with bounded concurrency.
#[derive(Clone)]
pub struct PasswordHasher {
    params: Params,
    threads: HashingThreads,
    permits: Arc<Semaphore>,
    waiting: Arc<AtomicUsize>,
    max_queued: usize,
    dummy_hash: Arc<String>,
}

impl std::fmt::Debug for PasswordHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordHasher")
            .field("params", &self.params)
            .finish()
    }
}

fn argon2(params: &Params) -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
}

fn hash_blocking(params: &Params, password: &str) -> Result<String, PasswordError> {
    let salt = SaltString::generate(&mut OsRng);
    argon2(params)
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| PasswordError::Hash(e.to_string()))
}

impl PasswordHasher {
    /// Builds a hasher; computes the dummy hash once (one hash of work at start).
    pub fn new(settings: &PasswordSettings) -> Result<Self, PasswordError> {
        let params = Params::new(
            settings.memory_kib,
            settings.iterations,
            settings.parallelism,
            None,
        )
        .map_err(|e| PasswordError::Hash(e.to_string()))?;
        let dummy = hash_blocking(&params, &crate::auth::secret::generate())?;
        Ok(Self {
            params,
            threads: HashingThreads::start(settings.max_concurrent, settings.niceness)?,
            permits: Arc::new(Semaphore::new(settings.max_concurrent)),
            waiting: Arc::new(AtomicUsize::new(0)),
            max_queued: settings.max_queued,
            dummy_hash: Arc::new(dummy),
        })
    }

    /// Hashes a password (the use case checked the policy). Inputs longer than the policy's
    /// maximum are refused before any work, so nobody can make hashing slow.
    pub async fn hash(&self, password: String) -> Result<String, PasswordError> {
        if password.chars().count() > MAX_LENGTH {
            return Err(PasswordError::Policy(format!(
                "Use at most {MAX_LENGTH} characters."
            )));
        }
        let params = self.params.clone();
        self.run(move || hash_blocking(&params, &password))
            .await
            .and_then(|r| r)
    }

    /// Verifies `password` against `stored` (or against the dummy hash when `stored` is
    /// `None`, which always answers [`Verified::No`] after the same work).
    pub async fn verify(&self, password: String, stored: Option<String>) -> Verified {
        if password.chars().count() > MAX_LENGTH {
            return Verified::No;
        }
        // An account without a password (one made through an upstream provider) is checked
        // against the dummy hash like an unknown one: the same work, the same answer.
        let stored = stored.filter(|hash| is_set(hash));
        let is_real = stored.is_some();
        let stored = stored.unwrap_or_else(|| self.dummy_hash.as_str().to_owned());
        let params = self.params.clone();
        let outcome = self
            .run(move || {
                let Ok(parsed) = PasswordHash::new(&stored) else {
                    return Verified::No;
                };
                let stored_params = Params::try_from(&parsed).ok();
                // Verify with the parameters the hash was made with, whatever they were.
                let ok = Argon2::default()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok();
                if !ok {
                    return Verified::No;
                }
                let current = parsed.algorithm.as_str() == "argon2id"
                    && stored_params.is_some_and(|p| {
                        p.m_cost() == params.m_cost()
                            && p.t_cost() == params.t_cost()
                            && p.p_cost() == params.p_cost()
                    });
                if current {
                    Verified::Yes
                } else {
                    hash_blocking(&params, &password)
                        .map(Verified::YesRehashed)
                        .unwrap_or(Verified::Yes)
                }
            })
            .await;
        match outcome {
            Err(PasswordError::Busy) => Verified::Busy,
            Ok(outcome) if is_real => outcome,
            _ => Verified::No,
        }
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, PasswordError> {
        let waited = std::time::Instant::now();
        let _permit = match self.permits.clone().try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => {
                // Count this waiter; refuse at once when the queue is full.
                let queued = self.waiting.fetch_add(1, Ordering::SeqCst);
                let _leave = LeaveQueue(&self.waiting);
                if queued >= self.max_queued {
                    return Err(PasswordError::Busy);
                }
                self.permits
                    .clone()
                    .acquire_owned()
                    .await
                    .map_err(|e| PasswordError::Hash(e.to_string()))?
            }
        };
        metrics::histogram!(crate::metrics::HASH_WAIT).record(waited.elapsed().as_secs_f64());
        let running = metrics::gauge!(crate::metrics::HASHES_RUNNING);
        running.increment(1.0);
        let done = self.threads.run(work).await;
        running.decrement(1.0);
        done
    }
}

/// A job for a hashing thread.
type Job = Box<dyn FnOnce() + Send>;

/// The threads that run the hashes, at a lower CPU priority than the rest of the process;
/// they end when the last [`PasswordHasher`] clone is dropped.
#[derive(Clone)]
struct HashingThreads {
    jobs: std::sync::mpsc::Sender<Job>,
}

impl HashingThreads {
    /// Starts `count` threads at nice `niceness`. At 15 a hashing thread gets about a
    /// thirtieth of the CPU share of a normal thread when both want it, and all of it when
    /// nothing else does. Measured on one core with 8 connections signing in while wrk
    /// asked for discovery: p99 of discovery 26 ms at 0, 6.6 ms at 10, 4.2 ms at 15 and
    /// 3.8 ms at 19, while those sign-ins went from about 18/s to 9, 4 and 2 a second.
    fn start(count: usize, niceness: u8) -> Result<Self, PasswordError> {
        let (jobs, queue) = std::sync::mpsc::channel::<Job>();
        let queue = Arc::new(std::sync::Mutex::new(queue));
        for n in 0..count.max(1) {
            let queue = queue.clone();
            std::thread::Builder::new()
                .name(format!("tessera-hash-{n}"))
                .spawn(move || {
                    lower_this_threads_priority(niceness);
                    loop {
                        let job = match queue.lock() {
                            Ok(queue) => queue.recv(),
                            Err(_) => return,
                        };
                        match job {
                            Ok(job) => job(),
                            Err(_) => return,
                        }
                    }
                })
                .map_err(|e| PasswordError::Hash(format!("cannot start a hashing thread: {e}")))?;
        }
        Ok(HashingThreads { jobs })
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, PasswordError> {
        let (done, result) = tokio::sync::oneshot::channel();
        self.jobs
            .send(Box::new(move || {
                let _ = done.send(work());
            }))
            .map_err(|_| PasswordError::Hash("the hashing threads have stopped".into()))?;
        result
            .await
            .map_err(|_| PasswordError::Hash("a hashing thread failed".into()))
    }
}

/// Gives the calling thread (only it: Linux keeps a nice value per thread) a lower CPU
/// priority. A failure leaves the priority as it was, which is merely less fair.
fn lower_this_threads_priority(niceness: u8) {
    #[cfg(target_os = "linux")]
    // SAFETY: gettid and setpriority take plain integers and touch no memory of ours.
    unsafe {
        let tid = libc::gettid();
        libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, i32::from(niceness));
    }
}

/// Keeps argon2's working memory from piling up in the allocator. Each hash allocates
/// `memory_kib` (19 MiB by default). glibc serves a block that size with mmap only until the
/// first one is freed; then it raises its mmap threshold (up to 32 MiB) and serves the next
/// ones from per-thread arenas, which keep freed memory for reuse by that thread alone. When
/// hashes ran on tokio's blocking pool, with its many threads, a flood of sign-ins grew the
/// process to about a gigabyte that never came back. A fixed threshold keeps every large
/// block an mmap of its own, returned to the system the moment the hash is done, so resident
/// memory stays near `max_concurrent` × `memory_kib` during a flood and falls back after it.
pub fn keep_large_allocations_returnable() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator tuning; it is called once at start, and glibc
    // makes it safe to call while other threads allocate.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024);
    }
}

/// Leaves the wait queue when dropped, whether the wait ended or was abandoned.
struct LeaveQueue<'a>(&'a AtomicUsize);

impl Drop for LeaveQueue<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(memory_kib: u32) -> PasswordSettings {
        PasswordSettings {
            memory_kib,
            iterations: 1,
            parallelism: 1,
            max_concurrent: 2,
            ..PasswordSettings::default()
        }
    }

    #[tokio::test]
    async fn verifies_and_upgrades_old_parameters() {
        let old = PasswordHasher::new(&settings(8192)).unwrap();
        let new = PasswordHasher::new(&settings(9216)).unwrap();
        let hash = old.hash("correct horse".into()).await.unwrap();
        assert_eq!(
            old.verify("correct horse".into(), Some(hash.clone())).await,
            Verified::Yes
        );
        assert_eq!(
            old.verify("wrong horse".into(), Some(hash.clone())).await,
            Verified::No
        );
        match new.verify("correct horse".into(), Some(hash)).await {
            Verified::YesRehashed(upgraded) => assert!(upgraded.contains("m=9216")),
            other => panic!("expected a rehash, got {other:?}"),
        }
        assert_eq!(new.verify("anything".into(), None).await, Verified::No);
    }

    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn hashes_run_on_threads_of_lower_priority() {
        let threads = HashingThreads::start(2, 7).unwrap();
        // SAFETY: plain integer calls about the calling thread.
        let niceness = threads
            .run(|| unsafe { libc::getpriority(libc::PRIO_PROCESS, libc::gettid() as libc::id_t) })
            .await
            .unwrap();
        assert_eq!(niceness, 7);
    }

    #[tokio::test]
    async fn overlong_passwords_are_refused_before_hashing() {
        let hasher = PasswordHasher::new(&settings(8192)).unwrap();
        assert!(hasher.hash("x".repeat(129)).await.is_err());
    }

    #[tokio::test]
    async fn a_full_queue_answers_busy_at_once() {
        let hasher = PasswordHasher::new(&PasswordSettings {
            max_concurrent: 1,
            max_queued: 0,
            ..settings(8192)
        })
        .unwrap();
        let held = hasher.permits.clone().try_acquire_owned().unwrap();
        assert_eq!(hasher.verify("x".into(), None).await, Verified::Busy);
        drop(held);
        assert_eq!(hasher.verify("x".into(), None).await, Verified::No);
        assert_eq!(hasher.waiting.load(Ordering::SeqCst), 0);
    }
}
