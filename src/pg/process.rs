//! The postmaster as an OS process: spawning it so it dies with us, signalling it,
//! waiting for it, and telling from /proc whether a pid is still that postmaster.

use std::fs;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::process::{Child, Command, ExitStatus};
use std::sync::mpsc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

/// How long a clean (fast) shutdown may take before we escalate to SIGQUIT.
pub(super) const STOP_TIMEOUT: Duration = Duration::from_secs(30);

/// How long an orphaned postmaster of a crashed run gets for a fast shutdown.
pub(super) const ORPHAN_STOP_TIMEOUT: Duration = Duration::from_secs(15);

/// How long to wait after SIGQUIT (immediate shutdown) before SIGKILL.
pub(super) const QUIT_TIMEOUT: Duration = Duration::from_secs(10);

/// Keeps alive the thread that spawned the postmaster: PR_SET_PDEATHSIG fires when the
/// spawning *thread* exits, not the process, so the spawn happens on a thread that lives
/// exactly as long as the cluster (dropping `stop` ends it).
#[derive(Debug)]
pub(super) struct Keeper {
    /// Dropping this ends the thread.
    pub(super) stop: mpsc::Sender<()>,
    /// The thread that spawned the postmaster.
    pub(super) thread: JoinHandle<()>,
}

/// Spawn `cmd` on a new keeper thread, so a PR_SET_PDEATHSIG set in `pre_exec` lasts as long as the [`Keeper`].
pub(super) fn spawn_on_keeper_thread(mut cmd: Command) -> io::Result<(Child, Keeper)> {
    let (spawned_tx, spawned_rx) = mpsc::channel();
    let (stop_tx, stop_rx) = mpsc::channel::<()>();
    let thread = thread::Builder::new()
        .name("postgres-parent".into())
        .spawn(move || {
            let result = cmd.spawn();
            let ok = result.is_ok();
            let _ = spawned_tx.send(result);
            if ok {
                // Returns once the Cluster drops the sender (stop/drop).
                let _ = stop_rx.recv();
            }
        })?;
    let child = spawned_rx
        .recv()
        .map_err(|_| io::Error::other("the postgres spawner thread died"))??;
    Ok((
        child,
        Keeper {
            stop: stop_tx,
            thread,
        },
    ))
}

/// Stop our postmaster child: fast shutdown (SIGINT), then SIGQUIT, then SIGKILL, each after its timeout.
pub(super) fn stop_child(mut child: Child, pgdata: &Path) -> Result<()> {
    let pid = child.id() as libc::pid_t;
    if child
        .try_wait()
        .context("could not poll postgres")?
        .is_some()
    {
        return Ok(());
    }
    send_signal(pid, libc::SIGINT);
    if wait_child(&mut child, STOP_TIMEOUT)?.is_some() {
        return Ok(());
    }
    tracing::warn!(
        pid,
        pgdata = %pgdata.display(),
        "postgres did not finish a fast shutdown in {} s; sending SIGQUIT",
        STOP_TIMEOUT.as_secs()
    );
    send_signal(pid, libc::SIGQUIT);
    if wait_child(&mut child, QUIT_TIMEOUT)?.is_some() {
        return Ok(());
    }
    tracing::warn!(pid, "postgres ignored SIGQUIT; killing it");
    child
        .kill()
        .with_context(|| format!("could not kill postgres (pid {pid})"))?;
    child
        .wait()
        .with_context(|| format!("could not wait for postgres (pid {pid})"))?;
    Ok(())
}

/// Wait up to `timeout` for `child` to exit; `None` if it is still running.
pub(super) fn wait_child(child: &mut Child, timeout: Duration) -> Result<Option<ExitStatus>> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait().context("could not poll postgres")? {
            return Ok(Some(status));
        }
        if Instant::now() >= deadline {
            return Ok(None);
        }
        thread::sleep(Duration::from_millis(20));
    }
}

/// Shut down a postmaster that is not our child (left over from a crashed run).
pub(super) fn shut_down_foreign(pid: libc::pid_t, pgdata: &Path) -> Result<()> {
    for (signal, timeout) in [
        (libc::SIGINT, ORPHAN_STOP_TIMEOUT),
        (libc::SIGQUIT, QUIT_TIMEOUT),
        (libc::SIGKILL, Duration::from_secs(5)),
    ] {
        send_signal(pid, signal);
        if wait_gone(pid, timeout) {
            return Ok(());
        }
    }
    bail!(
        "could not stop the leftover postgres process {pid} on {}",
        pgdata.display()
    )
}

/// Send `signal` to `pid`, ignoring a process that is already gone.
pub(super) fn send_signal(pid: libc::pid_t, signal: libc::c_int) {
    // SAFETY: plain syscall; errors (ESRCH: already gone) need no handling.
    unsafe {
        libc::kill(pid, signal);
    }
}

/// Wait up to `timeout` for `pid` to be gone (or a zombie); whether it is.
pub(super) fn wait_gone(pid: libc::pid_t, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    while process_running(pid) {
        if Instant::now() >= deadline {
            return false;
        }
        thread::sleep(Duration::from_millis(20));
    }
    true
}

/// Whether `pid` exists and is not a zombie (a container's pid 1 may never reap one).
pub(super) fn process_running(pid: libc::pid_t) -> bool {
    if pid <= 0 {
        return false;
    }
    // SAFETY: signal 0 only checks for existence and permission.
    let exists = unsafe { libc::kill(pid, 0) } == 0
        || io::Error::last_os_error().raw_os_error() == Some(libc::EPERM);
    exists && proc_stat_field(pid, 0).as_deref() != Some("Z")
}

/// Field `index` of /proc/<pid>/stat counted from the state field (0 = state, 19 = start time).
pub(super) fn proc_stat_field(pid: libc::pid_t, index: usize) -> Option<String> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may itself contain spaces or ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(index).map(str::to_owned)
}

/// Whether `pid` is a live postgres process working on `pgdata` (guards against pid reuse).
pub(super) fn is_postgres_on(pid: libc::pid_t, pgdata: &Path) -> bool {
    if !process_running(pid) {
        return false;
    }
    let cmdline = fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    let args: Vec<&[u8]> = cmdline.split(|&b| b == 0).collect();
    let is_postgres_name = |name: &[u8]| {
        let base = name.rsplit(|&b| b == b'/').next().unwrap_or(name);
        base.starts_with(b"postgres") || base.starts_with(b"postmaster")
    };
    let exe_is_postgres = match fs::read_link(format!("/proc/{pid}/exe")) {
        Ok(exe) => exe
            .file_name()
            .is_some_and(|n| is_postgres_name(n.as_bytes())),
        // Not allowed to look (another user and we are not root): trust argv[0].
        Err(_) => args.first().is_some_and(|a| is_postgres_name(a)),
    };
    // The postmaster chdirs into its data folder; `-D <pgdata>` is on its command line.
    let on_pgdata = fs::read_link(format!("/proc/{pid}/cwd")).is_ok_and(|cwd| cwd == pgdata)
        || args.iter().any(|a| *a == pgdata.as_os_str().as_bytes());
    exe_is_postgres && on_pgdata
}

/// Whether `pgdata/postmaster.pid` says the server accepts connections (its line 8 is `ready`).
pub(super) fn pid_file_says_ready(pgdata: &Path) -> bool {
    fs::read_to_string(pgdata.join("postmaster.pid"))
        .is_ok_and(|c| c.lines().nth(7).is_some_and(|l| l.trim() == "ready"))
}
