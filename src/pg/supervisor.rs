//! Keeping the embedded postmaster running: a thread of its own notices when the server
//! dies (killed, out of memory, stopped by someone), starts it again after a bounded
//! exponential back-off, and gives up when the attempts run out, so that whatever
//! supervises party-center can restart the whole service.
//!
//! While the server is down the pool cannot connect and requests answer 503 by
//! themselves; nothing here knows about HTTP. Log lines carry pids, exit statuses and
//! the path of the server log, never the server log's contents (which can quote SQL
//! statements, and with them personal data).

use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};

use super::cluster::{Cluster, Postmaster, Startup};

/// How often a restarted server is looked at while it starts.
const READY_POLL: Duration = Duration::from_millis(50);

/// How the supervisor restarts a postmaster that died.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RestartPolicy {
    /// The wait before the first restart attempt; it doubles after each failed attempt.
    pub first_delay: Duration,
    /// The longest wait between two attempts.
    pub max_delay: Duration,
    /// Attempts in a row after which the supervisor gives up.
    pub max_attempts: u32,
    /// How often the supervisor checks that the postmaster still runs.
    pub check_every: Duration,
    /// How long a restarted server must stay up before its failed attempts are forgiven.
    pub stable_after: Duration,
}

impl Default for RestartPolicy {
    /// 0.5 s doubling to 10 s, 10 attempts (about 65 s of waiting), a check every 200 ms,
    /// attempts forgiven after 60 s up.
    fn default() -> Self {
        RestartPolicy {
            first_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(10),
            max_attempts: 10,
            check_every: Duration::from_millis(200),
            stable_after: Duration::from_secs(60),
        }
    }
}

/// The waits of one run of restart attempts.
#[derive(Debug)]
struct Backoff {
    policy: RestartPolicy,
    attempts: u32,
}

impl Backoff {
    fn new(policy: RestartPolicy) -> Backoff {
        Backoff {
            policy,
            attempts: 0,
        }
    }

    /// The wait before the next attempt, or `None` when every attempt is used up.
    fn next_delay(&mut self) -> Option<Duration> {
        if self.attempts >= self.policy.max_attempts {
            return None;
        }
        let factor = 2u32.checked_pow(self.attempts).unwrap_or(u32::MAX);
        let delay = self
            .policy
            .first_delay
            .checked_mul(factor)
            .map_or(self.policy.max_delay, |d| d.min(self.policy.max_delay));
        self.attempts += 1;
        Some(delay)
    }

    /// Attempts made since the last reset.
    fn attempts(&self) -> u32 {
        self.attempts
    }

    /// Start over from the first delay.
    fn reset(&mut self) {
        self.attempts = 0;
    }
}

/// What the supervisor thread and its owner share.
#[derive(Debug)]
struct Shared {
    cluster: Mutex<Cluster>,
    stopping: Mutex<bool>,
    wake: Condvar,
    /// Why the supervisor gave up, once it has.
    gave_up: Mutex<Option<String>>,
}

impl Shared {
    /// The cluster, even if a panic elsewhere poisoned its lock: it must still be stopped.
    fn cluster(&self) -> MutexGuard<'_, Cluster> {
        self.cluster.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Sleep for `duration` unless a stop is asked for; whether one was.
    fn pause(&self, duration: Duration) -> bool {
        let stopping = self.stopping.lock().unwrap_or_else(PoisonError::into_inner);
        let (stopping, _) = self
            .wake
            .wait_timeout_while(stopping, duration, |stopping| !*stopping)
            .unwrap_or_else(PoisonError::into_inner);
        *stopping
    }

    fn ask_to_stop(&self) {
        *self.stopping.lock().unwrap_or_else(PoisonError::into_inner) = true;
        self.wake.notify_all();
    }
}

/// A cluster under supervision: restarted when its postmaster dies, stopped on [`Supervisor::stop`] or drop.
#[derive(Debug)]
pub struct Supervisor {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl Supervisor {
    /// Watch `cluster` from a thread of its own; `on_give_up` runs on that thread once `policy.max_attempts` restarts in a row have failed.
    pub fn watch(
        cluster: Cluster,
        policy: RestartPolicy,
        on_give_up: impl FnOnce() + Send + 'static,
    ) -> Result<Supervisor> {
        let shared = Arc::new(Shared {
            cluster: Mutex::new(cluster),
            stopping: Mutex::new(false),
            wake: Condvar::new(),
            gave_up: Mutex::new(None),
        });
        let thread = thread::Builder::new()
            .name("postgres-supervisor".into())
            .spawn({
                let shared = Arc::clone(&shared);
                move || {
                    if let Some(reason) = supervise(&shared, policy) {
                        *shared
                            .gave_up
                            .lock()
                            .unwrap_or_else(PoisonError::into_inner) = Some(reason);
                        on_give_up();
                    }
                }
            })
            .context("could not start the PostgreSQL supervisor thread")?;
        Ok(Supervisor {
            shared,
            thread: Some(thread),
        })
    }

    /// End supervision, then stop the cluster (see [`Cluster::stop`]); an error too when the supervisor had given up on it. Idempotent.
    pub fn stop(&mut self) -> Result<()> {
        self.shared.ask_to_stop();
        if let Some(thread) = self.thread.take()
            && thread.join().is_err()
        {
            tracing::error!("the PostgreSQL supervisor thread panicked");
        }
        let stopped = self.shared.cluster().stop();
        let gave_up = self
            .shared
            .gave_up
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        stopped?;
        match gave_up {
            Some(reason) => Err(anyhow!(reason)),
            None => Ok(()),
        }
    }
}

impl Drop for Supervisor {
    fn drop(&mut self) {
        if let Err(e) = self.stop() {
            tracing::warn!(error = %format!("{e:#}"), "stopping the supervised PostgreSQL cluster failed");
        }
    }
}

/// How a run of restart attempts ended.
enum Recovery {
    /// A postmaster runs again (ours, or one started outside).
    Running,
    /// A stop was asked for meanwhile.
    Stopping,
    /// Every attempt failed; why, in one line.
    GaveUp(String),
}

/// How one restart attempt ended, when it did not fail.
enum Attempt {
    /// Our new postmaster accepts connections.
    Started { pid: u32 },
    /// Someone else started one on the data folder first.
    Outside,
    /// A stop was asked for meanwhile.
    Stopping,
}

/// The supervisor thread's loop; `Some(reason)` when it gave up.
fn supervise(shared: &Shared, policy: RestartPolicy) -> Option<String> {
    let mut backoff = Backoff::new(policy);
    let mut up_since = Instant::now();
    let mut watched_outside = None;
    while !shared.pause(policy.check_every) {
        let seen = shared.cluster().postmaster();
        match seen {
            Ok(Postmaster::Ours) => continue,
            Ok(Postmaster::Outside(pid)) => {
                if watched_outside != Some(pid) {
                    tracing::warn!(
                        pid,
                        "the embedded PostgreSQL was restarted outside party-center; watching that server instead of starting another"
                    );
                    watched_outside = Some(pid);
                }
                continue;
            }
            Ok(Postmaster::Exited { pid, status }) => tracing::error!(
                pid,
                %status,
                "the embedded PostgreSQL exited unexpectedly; restarting it"
            ),
            Ok(Postmaster::Down) => {
                tracing::error!("the embedded PostgreSQL is no longer running; restarting it")
            }
            Err(e) => {
                tracing::warn!(error = %format!("{e:#}"), "could not check on the embedded PostgreSQL");
                continue;
            }
        }
        watched_outside = None;
        // A server that stayed up a while is not crash-looping: give it every attempt again.
        if up_since.elapsed() >= policy.stable_after {
            backoff.reset();
        }
        match restart(shared, &mut backoff) {
            Recovery::Running => up_since = Instant::now(),
            Recovery::Stopping => return None,
            Recovery::GaveUp(reason) => {
                tracing::error!(attempts = backoff.attempts(), "{reason}; giving up");
                return Some(reason);
            }
        }
    }
    None
}

/// Restart attempts, with back-off, until one works, a stop is asked for, or the attempts run out.
fn restart(shared: &Shared, backoff: &mut Backoff) -> Recovery {
    loop {
        let Some(delay) = backoff.next_delay() else {
            return Recovery::GaveUp(format!(
                "the embedded PostgreSQL died and could not be restarted in {} attempts; its log is {}",
                backoff.attempts(),
                shared.cluster().log_path().display()
            ));
        };
        if shared.pause(delay) {
            return Recovery::Stopping;
        }
        let attempt = backoff.attempts();
        match try_restart(shared) {
            Ok(Attempt::Started { pid }) => {
                tracing::info!(pid, attempt, "the embedded PostgreSQL is running again");
                return Recovery::Running;
            }
            Ok(Attempt::Outside) => return Recovery::Running,
            Ok(Attempt::Stopping) => return Recovery::Stopping,
            Err(e) => tracing::warn!(
                attempt,
                max_attempts = backoff.policy.max_attempts,
                error = %format!("{e:#}"),
                "restarting the embedded PostgreSQL failed"
            ),
        }
    }
}

/// One restart: unless someone else already started a server on the folder, start ours and wait until it accepts connections.
fn try_restart(shared: &Shared) -> Result<Attempt> {
    let deadline = {
        let mut cluster = shared.cluster();
        if cluster.outside_postmaster().is_some() {
            return Ok(Attempt::Outside);
        }
        cluster.relaunch()?;
        Instant::now() + cluster.ready_timeout()
    };
    // The lock is held for one look at a time, so a stop is never kept waiting long.
    loop {
        if shared.pause(READY_POLL) {
            return Ok(Attempt::Stopping);
        }
        let mut cluster = shared.cluster();
        match cluster.poll_ready()? {
            Startup::Ready => {
                return Ok(Attempt::Started {
                    pid: cluster.pid().unwrap_or(0),
                });
            }
            Startup::Exited(status) => bail!(
                "postgres exited during startup ({status}); see {}",
                cluster.log_path().display()
            ),
            Startup::Starting if Instant::now() >= deadline => {
                let timeout = cluster.ready_timeout();
                cluster.end_child()?;
                bail!(
                    "postgres did not accept connections within {} s; see {}",
                    timeout.as_secs(),
                    cluster.log_path().display()
                );
            }
            Startup::Starting => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use std::fs;
    use std::sync::mpsc;

    use super::*;
    use crate::pg::process::{postmaster_pid, process_running, send_signal};
    use crate::pg::test_support::{TempDir, psql_at, throwaway};

    fn quick() -> RestartPolicy {
        RestartPolicy {
            first_delay: Duration::from_millis(20),
            max_delay: Duration::from_millis(100),
            max_attempts: 3,
            check_every: Duration::from_millis(20),
            stable_after: Duration::from_secs(60),
        }
    }

    #[test]
    fn back_off_doubles_from_half_a_second_to_ten_and_runs_out_after_ten_attempts() {
        let mut backoff = Backoff::new(RestartPolicy::default());
        let delays: Vec<u64> = std::iter::from_fn(|| backoff.next_delay())
            .map(|d| d.as_millis() as u64)
            .collect();
        assert_eq!(
            delays,
            [
                500, 1000, 2000, 4000, 8000, 10000, 10000, 10000, 10000, 10000
            ]
        );
        assert_eq!(backoff.next_delay(), None);
        backoff.reset();
        assert_eq!(backoff.next_delay(), Some(Duration::from_millis(500)));
    }

    #[test]
    fn a_killed_postmaster_is_started_again_and_stopped_at_the_end() {
        let tmp = TempDir::new("supervise");
        let cluster = Cluster::start(throwaway(&tmp.0)).unwrap();
        let (bindir, socket_dir) = (cluster.bindir().to_owned(), cluster.socket_dir().to_owned());
        let pgdata = cluster.pgdata().to_owned();
        let first = cluster.pid().unwrap() as libc::pid_t;
        let policy = RestartPolicy {
            max_attempts: 50,
            ..quick()
        };
        let mut supervisor = Supervisor::watch(cluster, policy, || {}).unwrap();

        send_signal(first, libc::SIGKILL);
        let deadline = Instant::now() + Duration::from_secs(30);
        let second = loop {
            let restarted = postmaster_pid(&pgdata).filter(|&pid| pid != first);
            if let Some(pid) = restarted
                && psql_at(&bindir, &socket_dir, "select 1").is_ok_and(|out| out == "1")
            {
                break pid;
            }
            assert!(Instant::now() < deadline, "postgres was not restarted");
            thread::sleep(Duration::from_millis(50));
        };

        supervisor.stop().unwrap();
        assert!(
            !process_running(second),
            "the restarted postmaster is stopped"
        );
    }

    #[test]
    fn gives_up_when_restarts_keep_failing() {
        let tmp = TempDir::new("give-up");
        let cluster = Cluster::start(throwaway(&tmp.0)).unwrap();
        let pid = cluster.pid().unwrap() as libc::pid_t;
        // Without PG_VERSION the folder is no data directory: every restart fails.
        let pgdata = cluster.pgdata().to_owned();
        fs::rename(pgdata.join("PG_VERSION"), pgdata.join("PG_VERSION.away")).unwrap();
        let (gave_up, told) = mpsc::channel();
        let mut supervisor = Supervisor::watch(cluster, quick(), move || {
            let _ = gave_up.send(());
        })
        .unwrap();

        send_signal(pid, libc::SIGKILL);
        told.recv_timeout(Duration::from_secs(30))
            .expect("the supervisor gave up");
        let err = supervisor.stop().unwrap_err();
        assert!(
            err.to_string()
                .contains("could not be restarted in 3 attempts"),
            "{err:#}"
        );
        supervisor.stop().expect("stop is idempotent");
    }
}
