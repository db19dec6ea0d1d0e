//! A private PostgreSQL cluster run as a child process of party-center.
//!
//! When no `DATABASE_URL` is configured, party-center keeps its data in a
//! PostgreSQL cluster of its own under a data folder: `pgdata/` holds the
//! cluster, `run/` the Unix socket, `postgres.log` the server log and `lock`
//! the flock that keeps two party-center processes off the same folder. The
//! server listens on the Unix socket only (no TCP), trusts connections over
//! it, and is started with `postgres` directly so we own its lifetime.
//!
//! Everything here is blocking (`std::process`), because it runs before the
//! async runtime exists and from test harnesses.

use std::ffi::{CString, OsString};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, anyhow, bail};

/// Port number of the cluster; it only names the socket file (`.s.PGSQL.5432`), there is no TCP.
pub const PORT: u16 = 5432;

/// Name of the cluster's superuser role (created by initdb).
pub const SUPERUSER: &str = "postgres";

/// OS user that runs the server when we are root (initdb and postgres refuse to run as root).
const RUN_AS_USER_WHEN_ROOT: &str = "postgres";

/// `sockaddr_un.sun_path` is 108 bytes including the terminating NUL.
const MAX_SOCKET_PATH_LEN: usize = 107;

/// How long a clean (fast) shutdown may take before we escalate to SIGQUIT.
const STOP_TIMEOUT: Duration = Duration::from_secs(30);

/// How long an orphaned postmaster of a crashed run gets for a fast shutdown.
const ORPHAN_STOP_TIMEOUT: Duration = Duration::from_secs(15);

/// How long to wait after SIGQUIT (immediate shutdown) before SIGKILL.
const QUIT_TIMEOUT: Duration = Duration::from_secs(10);

/// Where the PostgreSQL server binaries are: PARTY_CENTER_PG_BINDIR env override (passed in), then `pg_config --bindir`, then the highest /usr/lib/postgresql/*/bin, then PATH (looking for `initdb` and `postgres`).
pub fn find_bindir(explicit: Option<&Path>) -> Result<PathBuf> {
    if let Some(dir) = explicit {
        // An explicit choice must not silently fall back to something else.
        if has_server_binaries(dir) {
            return Ok(dir.to_path_buf());
        }
        bail!(
            "PARTY_CENTER_PG_BINDIR={} does not contain the PostgreSQL server binaries `initdb` and `postgres`",
            dir.display()
        );
    }
    // pg_config may belong to a client-only install (Debian's libpq-dev ships
    // one), so every candidate is checked for the server binaries.
    if let Some(dir) = pg_config_bindir().filter(|d| has_server_binaries(d)) {
        return Ok(dir);
    }
    if let Some(dir) = highest_debian_bindir() {
        return Ok(dir);
    }
    if let Some(dir) = path_bindir() {
        return Ok(dir);
    }
    bail!(
        "no PostgreSQL server binaries found (install the postgresql package, e.g. `apt-get install postgresql`, or set PARTY_CENTER_PG_BINDIR) and DATABASE_URL is not set"
    )
}

fn is_executable_file(path: &Path) -> bool {
    fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

fn has_server_binaries(dir: &Path) -> bool {
    is_executable_file(&dir.join("initdb")) && is_executable_file(&dir.join("postgres"))
}

fn pg_config_bindir() -> Option<PathBuf> {
    let out = Command::new("pg_config")
        .arg("--bindir")
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8(out.stdout).ok()?;
    let dir = text.trim();
    (!dir.is_empty()).then(|| PathBuf::from(dir))
}

/// Debian/Ubuntu install server binaries per major version under /usr/lib/postgresql/<ver>/bin.
fn highest_debian_bindir() -> Option<PathBuf> {
    let entries = fs::read_dir("/usr/lib/postgresql").ok()?;
    entries
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let version: Vec<u32> = name
                .split('.')
                .map(|p| p.parse().ok())
                .collect::<Option<_>>()?;
            let bin = e.path().join("bin");
            has_server_binaries(&bin).then_some((version, bin))
        })
        .max_by(|a, b| a.0.cmp(&b.0))
        .map(|(_, bin)| bin)
}

fn path_bindir() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).find(|d| d.is_absolute() && has_server_binaries(d))
}

/// How much crash safety the cluster gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// PostgreSQL defaults: fsync on, full page writes; for real data.
    Durable,
    /// No fsync, no synchronous commit, no full page writes: fast but loses data on an OS crash; for tests.
    Throwaway,
}

/// How to set up and run a private cluster.
#[derive(Debug, Clone)]
pub struct ClusterOptions {
    /// Folder with the server binaries (`initdb`, `postgres`, `pg_isready`), see [`find_bindir`].
    pub bindir: PathBuf,
    /// Data folder: the cluster lives in `data_dir/pgdata`, the socket in `data_dir/run` (or a short /tmp fallback).
    pub data_dir: PathBuf,
    /// Crash safety versus speed.
    pub durability: Durability,
    /// PostgreSQL `max_connections` (default 100).
    pub max_connections: u32,
    /// Make the server shut down (SIGINT, fast shutdown) when this process dies.
    pub die_with_parent: bool,
}

impl ClusterOptions {
    /// Options with defaults: durable, 100 connections, dies with this process.
    pub fn new(bindir: impl Into<PathBuf>, data_dir: impl Into<PathBuf>) -> Self {
        Self {
            bindir: bindir.into(),
            data_dir: data_dir.into(),
            durability: Durability::Durable,
            max_connections: 100,
            die_with_parent: true,
        }
    }
}

/// The OS user the server runs as when we are root.
#[derive(Debug, Clone)]
struct RunAs {
    name: String,
    uid: u32,
    gid: u32,
}

/// Keeps alive the thread that spawned the postmaster: PR_SET_PDEATHSIG fires when the
/// spawning *thread* exits, not the process, so the spawn happens on a thread that lives
/// exactly as long as the cluster (dropping `stop` ends it).
#[derive(Debug)]
struct Keeper {
    stop: mpsc::Sender<()>,
    thread: JoinHandle<()>,
}

/// A running private PostgreSQL cluster; stopped on [`Cluster::stop`] or drop.
#[derive(Debug)]
pub struct Cluster {
    bindir: PathBuf,
    data_dir: PathBuf,
    pgdata: PathBuf,
    socket_dir: PathBuf,
    /// The socket dir is a private /tmp folder (path too long otherwise) that we remove on stop.
    socket_dir_is_fallback: bool,
    log_path: PathBuf,
    child: Option<Child>,
    keeper: Option<Keeper>,
    /// Open file holding the exclusive flock on `data_dir/lock`; dropping it unlocks.
    lock: Option<File>,
}

impl Cluster {
    /// Initialise (first use) or reuse the cluster in `data_dir/pgdata`, start it and wait until it accepts connections.
    pub fn start(opts: ClusterOptions) -> Result<Cluster> {
        if !has_server_binaries(&opts.bindir) {
            bail!(
                "{} does not contain the PostgreSQL server binaries `initdb` and `postgres`",
                opts.bindir.display()
            );
        }
        let run_as = if unsafe { libc::geteuid() } == 0 {
            Some(lookup_user(RUN_AS_USER_WHEN_ROOT)?)
        } else {
            None
        };

        let data_dir = create_data_dir(&opts.data_dir, run_as.is_some())?;
        let lock = acquire_lock(&data_dir)?;

        if let Some(user) = &run_as {
            check_traversable(&data_dir, user, &data_dir)?;
        }

        let pgdata = data_dir.join("pgdata");
        ensure_private_dir(&pgdata, run_as.as_ref())?;

        // From here on the Cluster value owns the lock and any fallback socket
        // folder, so an early `?` return cleans them up through Drop.
        let mut cluster = Cluster {
            bindir: opts.bindir.clone(),
            log_path: data_dir.join("postgres.log"),
            socket_dir: data_dir.join("run"),
            socket_dir_is_fallback: false,
            data_dir,
            pgdata,
            child: None,
            keeper: None,
            lock: Some(lock),
        };

        let socket_file_len = cluster.socket_dir.as_os_str().len() + "/.s.PGSQL.5432".len();
        if socket_file_len > MAX_SOCKET_PATH_LEN {
            let short = make_short_socket_dir(run_as.as_ref())?;
            tracing::warn!(
                wanted = %cluster.socket_dir.display(),
                using = %short.display(),
                "PostgreSQL socket path would exceed {MAX_SOCKET_PATH_LEN} bytes; using a short private folder under /tmp instead"
            );
            cluster.socket_dir = short;
            cluster.socket_dir_is_fallback = true;
            if let Some(user) = &run_as {
                check_traversable(&cluster.socket_dir, user, &cluster.data_dir)?;
            }
        } else {
            ensure_private_dir(&cluster.socket_dir, run_as.as_ref())?;
        }

        cluster.clear_stale_state()?;

        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o640)
            .open(&cluster.log_path)
            .with_context(|| format!("could not open log file {}", cluster.log_path.display()))?;

        if !cluster.pgdata.join("PG_VERSION").exists() {
            cluster.initdb(opts.durability, run_as.as_ref(), &log)?;
        }

        cluster.spawn_postgres(&opts, run_as.as_ref(), &log)?;
        let timeout = match opts.durability {
            // A durable cluster may need crash recovery (WAL replay) first.
            Durability::Durable => Duration::from_secs(120),
            Durability::Throwaway => Duration::from_secs(30),
        };
        cluster.wait_ready(timeout)?;
        tracing::info!(
            pgdata = %cluster.pgdata.display(),
            socket_dir = %cluster.socket_dir.display(),
            pid = cluster.pid().unwrap_or(0),
            "private PostgreSQL cluster is ready"
        );
        Ok(cluster)
    }

    /// A connection URL for database `db` over the Unix socket, in the form sqlx 0.9 `PgConnectOptions::from_str` accepts.
    pub fn url(&self, db: &str) -> String {
        // sqlx treats a `host` query parameter that starts with '/' as the socket
        // folder (it appends `/.s.PGSQL.<port>`); the port is spelled out so a
        // PGPORT in the environment cannot change the socket file name.
        format!(
            "postgres://{SUPERUSER}@localhost:{PORT}/{}?host={}&sslmode=disable",
            percent_encode(db.as_bytes()),
            percent_encode(self.socket_dir.as_os_str().as_bytes())
        )
    }

    /// Folder that holds the server's Unix socket `.s.PGSQL.5432`.
    pub fn socket_dir(&self) -> &Path {
        &self.socket_dir
    }

    /// Folder with the server binaries this cluster runs (also has `psql`, `pg_isready`, ...).
    pub fn bindir(&self) -> &Path {
        &self.bindir
    }

    /// The data folder (canonical path) this cluster was started on.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// The cluster folder (`data_dir/pgdata`, canonical path).
    pub fn pgdata(&self) -> &Path {
        &self.pgdata
    }

    /// The server log file (`data_dir/postgres.log`).
    pub fn log_path(&self) -> &Path {
        &self.log_path
    }

    /// Process id of the postmaster, if it is still running under our control.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(|c| c.id())
    }

    /// Fast shutdown (SIGINT to the postmaster), wait for exit up to 30 s, then SIGQUIT. Idempotent.
    pub fn stop(&mut self) -> Result<()> {
        let result = match self.child.take() {
            Some(child) => stop_child(child, &self.pgdata),
            None => Ok(()),
        };
        if let Some(keeper) = self.keeper.take() {
            // Ending the keeper thread would also deliver the death signal; the
            // server is already gone (or unkillable) at this point.
            drop(keeper.stop);
            let _ = keeper.thread.join();
        }
        if self.socket_dir_is_fallback {
            match fs::remove_dir_all(&self.socket_dir) {
                Ok(()) => self.socket_dir_is_fallback = false,
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    self.socket_dir_is_fallback = false
                }
                Err(e) => tracing::warn!(
                    folder = %self.socket_dir.display(),
                    error = %e,
                    "could not remove the temporary socket folder"
                ),
            }
        }
        // Unlock only after the server is down, so nobody starts a second one meanwhile.
        self.lock = None;
        result
    }

    /// Remove what a crashed run left behind; we hold the lock, so no live party-center process owns it.
    fn clear_stale_state(&self) -> Result<()> {
        let pid_file = self.pgdata.join("postmaster.pid");
        match fs::read_to_string(&pid_file) {
            Ok(content) => {
                let pid = content
                    .lines()
                    .next()
                    .and_then(|l| l.trim().parse::<libc::pid_t>().ok())
                    .filter(|&p| p > 0);
                match pid {
                    Some(pid) if is_postgres_on(pid, &self.pgdata) => {
                        tracing::warn!(
                            pid,
                            pgdata = %self.pgdata.display(),
                            "a postgres server left over from a crashed party-center run is still running; shutting it down"
                        );
                        shut_down_foreign(pid, &self.pgdata)?;
                    }
                    _ => tracing::info!(
                        file = %pid_file.display(),
                        "removing stale postmaster.pid (its process is not a running postgres on this folder)"
                    ),
                }
                remove_if_exists(&pid_file)?;
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(e).with_context(|| format!("could not read {}", pid_file.display()));
            }
        }
        if !self.socket_dir_is_fallback {
            // A socket lock file naming a reused pid would make postgres refuse to start.
            remove_if_exists(&self.socket_dir.join(format!(".s.PGSQL.{PORT}.lock")))?;
            remove_if_exists(&self.socket_dir.join(format!(".s.PGSQL.{PORT}")))?;
        }
        Ok(())
    }

    fn initdb(&self, durability: Durability, run_as: Option<&RunAs>, log: &File) -> Result<()> {
        let initdb = self.bindir.join("initdb");
        // C.UTF-8 gives UTF-8 aware ctype (upper/lower of non-ASCII) with
        // byte-order collation; plain C is the fallback on systems without it.
        let locale = if locale_available("C.UTF-8") {
            "C.UTF-8"
        } else {
            "C"
        };
        let mut cmd = Command::new(&initdb);
        cmd.arg("-D")
            .arg(&self.pgdata)
            .arg("-U")
            .arg(SUPERUSER)
            .arg("--encoding=UTF8")
            .arg(format!("--locale={locale}"))
            .arg("--auth-local=trust")
            .arg("--auth-host=reject");
        if durability == Durability::Throwaway {
            cmd.arg("--no-sync");
        }
        // "/" because the run-as user may not be able to enter our current folder.
        cmd.current_dir("/").stdin(Stdio::null());
        if let Some(user) = run_as {
            cmd.uid(user.uid).gid(user.gid);
        }
        tracing::info!(pgdata = %self.pgdata.display(), locale, "creating PostgreSQL cluster (initdb)");
        let out = cmd
            .output()
            .with_context(|| format!("could not run {}", initdb.display()))?;
        let mut log_ref = log;
        let _ = writeln!(
            log_ref,
            "=== party-center: initdb -D {} ({})",
            self.pgdata.display(),
            out.status
        );
        let _ = log_ref.write_all(&out.stdout);
        let _ = log_ref.write_all(&out.stderr);
        if !out.status.success() {
            bail!(
                "`{} -D {}` failed ({}): {}",
                initdb.display(),
                self.pgdata.display(),
                out.status,
                last_lines(&String::from_utf8_lossy(&out.stderr), 4)
            );
        }
        Ok(())
    }

    fn spawn_postgres(
        &mut self,
        opts: &ClusterOptions,
        run_as: Option<&RunAs>,
        log: &File,
    ) -> Result<()> {
        let postgres = self.bindir.join("postgres");
        let mut cmd = Command::new(&postgres);
        cmd.arg("-D")
            .arg(&self.pgdata)
            .arg("-p")
            .arg(PORT.to_string())
            .arg("-c")
            .arg("listen_addresses=")
            .arg("-c")
            .arg(format!(
                "unix_socket_directories={}",
                quote_list_item(&self.socket_dir)
            ))
            .arg("-c")
            .arg(format!("max_connections={}", opts.max_connections));
        if opts.durability == Durability::Throwaway {
            for setting in [
                "fsync=off",
                "synchronous_commit=off",
                "full_page_writes=off",
                "shared_buffers=128MB",
            ] {
                cmd.arg("-c").arg(setting);
            }
        }
        let stdout = log
            .try_clone()
            .context("could not duplicate the log file")?;
        let stderr = log
            .try_clone()
            .context("could not duplicate the log file")?;
        cmd.current_dir("/")
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr)
            // Own process group: a terminal Ctrl-C goes to our group only, and we
            // decide how the server shuts down.
            .process_group(0);
        if let Some(user) = run_as {
            cmd.uid(user.uid).gid(user.gid);
        }
        if opts.die_with_parent {
            let parent = std::process::id() as libc::pid_t;
            // SAFETY: only async-signal-safe calls (prctl, getppid) between fork
            // and exec. std runs pre_exec closures after the uid/gid switch, which
            // matters because changing credentials clears PR_SET_PDEATHSIG.
            unsafe {
                cmd.pre_exec(move || {
                    if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGINT as libc::c_ulong) != 0 {
                        return Err(io::Error::last_os_error());
                    }
                    // We may have died before the prctl took effect.
                    if libc::getppid() != parent {
                        return Err(io::Error::other("parent exited before postgres started"));
                    }
                    Ok(())
                });
            }
        }

        let mut log_ref = log;
        let _ = writeln!(
            log_ref,
            "=== party-center: starting postgres -D {} (socket folder {}) at unix time {}",
            self.pgdata.display(),
            self.socket_dir.display(),
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0)
        );

        let spawned = if opts.die_with_parent {
            spawn_on_keeper_thread(cmd).map(|(child, keeper)| (child, Some(keeper)))
        } else {
            cmd.spawn().map(|child| (child, None))
        };
        let (child, keeper) = spawned.with_context(|| {
            format!(
                "could not start {} -D {}",
                postgres.display(),
                self.pgdata.display()
            )
        })?;
        self.child = Some(child);
        self.keeper = keeper;
        Ok(())
    }

    fn wait_ready(&mut self, timeout: Duration) -> Result<()> {
        let deadline = Instant::now() + timeout;
        let pg_isready = self.bindir.join("pg_isready");
        let have_pg_isready = is_executable_file(&pg_isready);
        loop {
            let child = self
                .child
                .as_mut()
                .ok_or_else(|| anyhow!("postgres is not running"))?;
            if let Some(status) = child.try_wait().context("could not poll postgres")? {
                self.child = None;
                bail!(
                    "postgres on {} exited during startup ({}); log {}: {}",
                    self.pgdata.display(),
                    status,
                    self.log_path.display(),
                    log_tail(&self.log_path, 5)
                );
            }
            // postmaster.pid line 8 becomes "ready" once connections are accepted
            // (what pg_ctl waits for); pg_isready then confirms over the socket.
            if pid_file_says_ready(&self.pgdata)
                && (!have_pg_isready || self.pg_isready(&pg_isready))
            {
                return Ok(());
            }
            if Instant::now() >= deadline {
                bail!(
                    "postgres on {} did not accept connections on {} within {} s; log {}: {}",
                    self.pgdata.display(),
                    self.socket_dir.display(),
                    timeout.as_secs(),
                    self.log_path.display(),
                    log_tail(&self.log_path, 5)
                );
            }
            thread::sleep(Duration::from_millis(50));
        }
    }

    fn pg_isready(&self, pg_isready: &Path) -> bool {
        Command::new(pg_isready)
            .arg("-q")
            .arg("-h")
            .arg(&self.socket_dir)
            .arg("-p")
            .arg(PORT.to_string())
            .arg("-U")
            .arg(SUPERUSER)
            .arg("-d")
            .arg("postgres")
            .arg("-t")
            .arg("2")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if let Err(e) = self.stop() {
            tracing::warn!(error = %format!("{e:#}"), "stopping the private PostgreSQL cluster failed");
        }
    }
}

/// For test runs: spawn a detached watchdog that, once process `watched_pid` is gone, shuts the cluster down (SIGQUIT) and removes `remove_dir` recursively.
pub fn spawn_cleanup_watchdog(
    cluster: &Cluster,
    watched_pid: u32,
    remove_dir: &Path,
) -> Result<()> {
    if remove_dir.parent().is_none() || remove_dir.as_os_str().is_empty() {
        bail!(
            "refusing to let the cleanup watchdog remove {}",
            remove_dir.display()
        );
    }
    let remove_dir = if remove_dir.is_absolute() {
        remove_dir.to_path_buf()
    } else {
        std::env::current_dir()
            .context("could not determine the current folder")?
            .join(remove_dir)
    };
    // The start time tells the watched process apart from a later one reusing its pid.
    let start_time = proc_stat_field(watched_pid as libc::pid_t, 19).unwrap_or_default();
    let mut cmd = Command::new("/bin/sh");
    cmd.arg("-c")
        .arg(WATCHDOG_SCRIPT)
        .arg("party-center-pg-watchdog")
        .arg(watched_pid.to_string())
        .arg(start_time)
        .arg(cluster.pgdata.join("postmaster.pid"))
        .arg(&cluster.pgdata)
        .arg(&remove_dir);
    if cluster.socket_dir_is_fallback {
        cmd.arg(&cluster.socket_dir);
    }
    // Null stdio so the watchdog never keeps a test harness's output pipe open.
    cmd.current_dir("/")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    // SAFETY: setsid is async-signal-safe. A new session detaches the watchdog
    // from the terminal, so Ctrl-C on the test run does not kill it.
    unsafe {
        cmd.pre_exec(|| {
            if libc::setsid() < 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        });
    }
    // The script backgrounds its real work and exits at once, so the watchdog is
    // reparented to init (no zombie of ours) and we can reap the shell here.
    let status = cmd
        .status()
        .context("could not start the cleanup watchdog (/bin/sh)")?;
    if !status.success() {
        bail!("the cleanup watchdog shell failed ({status})");
    }
    Ok(())
}

/// $1 watched pid, $2 its start time (may be empty), $3 postmaster.pid, $4 pgdata, $5.. folders to remove.
const WATCHDOG_SCRIPT: &str = r#"
(
  watched=$1 started=$2 pidfile=$3 pgdata=$4
  shift 4
  running() {
    s=$(sed -n 's/^.*) //p' "/proc/$1/stat" 2>/dev/null)
    [ -n "$s" ] || return 1
    [ "$(printf '%s\n' "$s" | cut -d' ' -f1)" != Z ] || return 1
    [ -z "$2" ] || [ "$(printf '%s\n' "$s" | cut -d' ' -f20)" = "$2" ]
  }
  while running "$watched" "$started"; do sleep 0.5; done
  pm=$(head -n 1 "$pidfile" 2>/dev/null)
  case "$pm" in ''|*[!0-9]*) pm= ;; esac
  # The postmaster runs in its data folder; this guards against a reused pid.
  if [ -n "$pm" ] && [ "$(readlink "/proc/$pm/cwd" 2>/dev/null)" = "$pgdata" ]; then
    kill -QUIT "$pm" 2>/dev/null
    i=0
    while [ "$(readlink "/proc/$pm/cwd" 2>/dev/null)" = "$pgdata" ]; do
      i=$((i + 1))
      if [ "$i" -ge 300 ]; then kill -KILL "$pm" 2>/dev/null; sleep 1; break; fi
      sleep 0.1
    done
  fi
  rm -rf -- "$@"
) </dev/null >/dev/null 2>&1 &
"#;

fn spawn_on_keeper_thread(mut cmd: Command) -> io::Result<(Child, Keeper)> {
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

fn stop_child(mut child: Child, pgdata: &Path) -> Result<()> {
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

fn wait_child(child: &mut Child, timeout: Duration) -> Result<Option<ExitStatus>> {
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
fn shut_down_foreign(pid: libc::pid_t, pgdata: &Path) -> Result<()> {
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

fn send_signal(pid: libc::pid_t, signal: libc::c_int) {
    // SAFETY: plain syscall; errors (ESRCH: already gone) need no handling.
    unsafe {
        libc::kill(pid, signal);
    }
}

fn wait_gone(pid: libc::pid_t, timeout: Duration) -> bool {
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
fn process_running(pid: libc::pid_t) -> bool {
    if pid <= 0 {
        return false;
    }
    // SAFETY: signal 0 only checks for existence and permission.
    let exists = unsafe { libc::kill(pid, 0) } == 0
        || io::Error::last_os_error().raw_os_error() == Some(libc::EPERM);
    exists && proc_stat_field(pid, 0).as_deref() != Some("Z")
}

/// Field `index` of /proc/<pid>/stat counted from the state field (0 = state, 19 = start time).
fn proc_stat_field(pid: libc::pid_t, index: usize) -> Option<String> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may itself contain spaces or ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(index).map(str::to_owned)
}

/// Whether `pid` is a live postgres process working on `pgdata` (guards against pid reuse).
fn is_postgres_on(pid: libc::pid_t, pgdata: &Path) -> bool {
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

fn pid_file_says_ready(pgdata: &Path) -> bool {
    fs::read_to_string(pgdata.join("postmaster.pid"))
        .is_ok_and(|c| c.lines().nth(7).is_some_and(|l| l.trim() == "ready"))
}

fn lookup_user(name: &str) -> Result<RunAs> {
    let cname = CString::new(name).context("user name contains a NUL byte")?;
    let mut buf_len = 4096usize;
    loop {
        let mut buf = vec![0 as libc::c_char; buf_len];
        // SAFETY: all pointers are valid for the call; `passwd` is plain data.
        let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
        let mut result: *mut libc::passwd = std::ptr::null_mut();
        let rc = unsafe {
            libc::getpwnam_r(
                cname.as_ptr(),
                &mut pwd,
                buf.as_mut_ptr(),
                buf.len(),
                &mut result,
            )
        };
        if rc == libc::ERANGE && buf_len < 1 << 20 {
            buf_len *= 4;
            continue;
        }
        if rc != 0 {
            return Err(io::Error::from_raw_os_error(rc))
                .with_context(|| format!("could not look up OS user `{name}`"));
        }
        if result.is_null() {
            bail!(
                "running as root, but there is no `{name}` OS user to run PostgreSQL as (installing the postgresql package creates it; or run party-center as a non-root user)"
            );
        }
        return Ok(RunAs {
            name: name.to_owned(),
            uid: pwd.pw_uid,
            gid: pwd.pw_gid,
        });
    }
}

/// Create the data folder if needed and return its canonical path.
fn create_data_dir(dir: &Path, as_root: bool) -> Result<PathBuf> {
    let missing: Vec<PathBuf> = dir
        .ancestors()
        .take_while(|a| !a.as_os_str().is_empty() && !a.exists())
        .map(Path::to_path_buf)
        .collect();
    fs::create_dir_all(dir)
        .with_context(|| format!("could not create data folder {}", dir.display()))?;
    if as_root {
        // Folders we create must let the postgres user through even under a
        // restrictive umask; their contents are protected by pgdata/ and run/.
        for created in &missing {
            fs::set_permissions(created, fs::Permissions::from_mode(0o755))
                .with_context(|| format!("could not set permissions on {}", created.display()))?;
        }
    }
    dir.canonicalize()
        .with_context(|| format!("could not resolve data folder {}", dir.display()))
}

fn acquire_lock(data_dir: &Path) -> Result<File> {
    let path = data_dir.join("lock");
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o644)
        .open(&path)
        .with_context(|| format!("could not open lock file {}", path.display()))?;
    // flock (not fcntl) locks belong to the open file, so this also refuses a
    // second Cluster on the same folder within one process.
    match file.try_lock() {
        Ok(()) => {}
        Err(fs::TryLockError::WouldBlock) => bail!(
            "data folder {} is in use by another party-center process",
            data_dir.display()
        ),
        Err(fs::TryLockError::Error(e)) => {
            return Err(e).with_context(|| format!("could not lock {}", path.display()));
        }
    }
    // Informational only: who holds the lock.
    let _ = file.set_len(0);
    let _ = file.seek(SeekFrom::Start(0));
    let _ = writeln!(file, "{}", std::process::id());
    Ok(file)
}

/// Every ancestor of `dir` (and `dir` itself) must be enterable by the run-as user.
fn check_traversable(dir: &Path, user: &RunAs, data_dir: &Path) -> Result<()> {
    for folder in dir.ancestors() {
        let meta = fs::metadata(folder)
            .with_context(|| format!("could not inspect folder {}", folder.display()))?;
        let mode = meta.mode();
        // Unix checks exactly one class: owner, else group, else other.
        let can_enter = if meta.uid() == user.uid {
            mode & 0o100 != 0
        } else if meta.gid() == user.gid {
            mode & 0o010 != 0
        } else {
            mode & 0o001 != 0
        };
        if !can_enter {
            bail!(
                "the `{}` OS user (uid {}) that runs PostgreSQL when party-center runs as root cannot enter folder {}, which is on the way to data folder {}; set PARTY_CENTER_DATA_DIR to a reachable place (e.g. under /var/lib or /tmp)",
                user.name,
                user.uid,
                folder.display(),
                data_dir.display()
            );
        }
    }
    Ok(())
}

/// Create `dir` (mode 0700) owned by the server's user, or check that an existing one is.
fn ensure_private_dir(dir: &Path, run_as: Option<&RunAs>) -> Result<()> {
    let owner = match run_as {
        Some(user) => user.uid,
        None => unsafe { libc::geteuid() },
    };
    match fs::metadata(dir) {
        Ok(meta) => {
            if !meta.is_dir() {
                bail!("{} exists but is not a folder", dir.display());
            }
            if meta.uid() == owner {
                return Ok(());
            }
            let empty = fs::read_dir(dir)
                .with_context(|| format!("could not list folder {}", dir.display()))?
                .next()
                .is_none();
            // Only an empty folder is safe to hand over; a cluster with mixed
            // ownership would not start.
            if run_as.is_none() || !empty {
                bail!(
                    "folder {} belongs to uid {}, but PostgreSQL runs as uid {}; fix its ownership or use another data folder (PARTY_CENTER_DATA_DIR)",
                    dir.display(),
                    meta.uid(),
                    owner
                );
            }
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            fs::create_dir(dir)
                .with_context(|| format!("could not create folder {}", dir.display()))?;
        }
        Err(e) => {
            return Err(e).with_context(|| format!("could not inspect folder {}", dir.display()));
        }
    }
    if let Some(user) = run_as {
        std::os::unix::fs::chown(dir, Some(user.uid), Some(user.gid)).with_context(|| {
            format!(
                "could not hand folder {} to the `{}` OS user",
                dir.display(),
                user.name
            )
        })?;
    }
    fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
        .with_context(|| format!("could not set permissions on {}", dir.display()))?;
    Ok(())
}

/// A fresh private folder with a short path under /tmp (mkdtemp), owned by the server's user.
fn make_short_socket_dir(run_as: Option<&RunAs>) -> Result<PathBuf> {
    let mut template = b"/tmp/party-center-XXXXXX\0".to_vec();
    // SAFETY: `template` is a writable NUL-terminated buffer, as mkdtemp requires.
    let created = unsafe { libc::mkdtemp(template.as_mut_ptr().cast()) };
    if created.is_null() {
        return Err(io::Error::last_os_error())
            .context("could not create a temporary socket folder under /tmp");
    }
    template.pop();
    let dir = PathBuf::from(OsString::from_vec(template));
    // mkdtemp already made it 0700.
    if let Some(user) = run_as
        && let Err(e) = std::os::unix::fs::chown(&dir, Some(user.uid), Some(user.gid))
    {
        let _ = fs::remove_dir(&dir);
        return Err(e).with_context(|| {
            format!(
                "could not hand folder {} to the `{}` OS user",
                dir.display(),
                user.name
            )
        });
    }
    Ok(dir)
}

fn remove_if_exists(path: &Path) -> Result<()> {
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e).with_context(|| format!("could not remove {}", path.display())),
    }
}

fn locale_available(name: &str) -> bool {
    let Ok(cname) = CString::new(name) else {
        return false;
    };
    // SAFETY: newlocale with a null base allocates a fresh locale or returns null.
    unsafe {
        let loc = libc::newlocale(libc::LC_ALL_MASK, cname.as_ptr(), std::ptr::null_mut());
        if loc.is_null() {
            false
        } else {
            libc::freelocale(loc);
            true
        }
    }
}

/// Quote a folder for a PostgreSQL list setting (unix_socket_directories) so commas and spaces survive.
fn quote_list_item(path: &Path) -> String {
    format!(
        "\"{}\"",
        path.as_os_str().to_string_lossy().replace('"', "\"\"")
    )
}

/// Percent-encode everything except RFC 3986 unreserved characters.
fn percent_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 3);
    for &b in bytes {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn last_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    lines[lines.len().saturating_sub(n)..].join(" | ")
}

/// The last `n` non-empty lines of a log file, on one line.
fn log_tail(path: &Path, n: usize) -> String {
    let mut buf = Vec::new();
    if let Ok(mut file) = File::open(path) {
        let len = file.metadata().map(|m| m.len()).unwrap_or(0);
        let _ = file.seek(SeekFrom::Start(len.saturating_sub(8192)));
        let _ = file.read_to_end(&mut buf);
    }
    last_lines(&String::from_utf8_lossy(&buf), n)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh folder under the temp dir, removed on drop.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new(tag: &str) -> Self {
            let dir = std::env::temp_dir().join(format!(
                "party-center-pg-test-{tag}-{}",
                uuid::Uuid::now_v7().simple()
            ));
            Self(dir)
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    fn bindir() -> PathBuf {
        find_bindir(None).expect("PostgreSQL server binaries are needed for these tests")
    }

    fn throwaway(data_dir: &Path) -> ClusterOptions {
        ClusterOptions {
            durability: Durability::Throwaway,
            max_connections: 20,
            ..ClusterOptions::new(bindir(), data_dir)
        }
    }

    fn psql(cluster: &Cluster, sql: &str) -> Result<String> {
        let out = Command::new(cluster.bindir().join("psql"))
            .args(["-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1"])
            .arg("-h")
            .arg(cluster.socket_dir())
            .args(["-p", "5432", "-U", "postgres", "-d", "postgres", "-c", sql])
            .stdin(Stdio::null())
            .output()?;
        if !out.status.success() {
            bail!("psql failed: {}", String::from_utf8_lossy(&out.stderr));
        }
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
    }

    fn dead_pid() -> u32 {
        let mut child = Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        pid
    }

    #[test]
    fn cluster_is_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<Cluster>();
    }

    #[test]
    fn finds_bindir() {
        let dir = bindir();
        assert!(dir.join("postgres").exists());
        assert!(find_bindir(Some(&dir)).is_ok());
        let err = find_bindir(Some(Path::new("/nonexistent"))).unwrap_err();
        assert!(err.to_string().contains("PARTY_CENTER_PG_BINDIR"));
    }

    #[test]
    fn url_format() {
        let cluster = Cluster {
            bindir: PathBuf::from("/b"),
            data_dir: PathBuf::from("/d"),
            pgdata: PathBuf::from("/d/pgdata"),
            socket_dir: PathBuf::from("/tmp/a b+c/run"),
            socket_dir_is_fallback: false,
            log_path: PathBuf::from("/d/postgres.log"),
            child: None,
            keeper: None,
            lock: None,
        };
        assert_eq!(
            cluster.url("party_center"),
            "postgres://postgres@localhost:5432/party_center?host=%2Ftmp%2Fa%20b%2Bc%2Frun&sslmode=disable"
        );
    }

    #[test]
    fn start_connect_stop_reuse_and_stale_pid() {
        let tmp = TempDir::new("main");
        let mut cluster = Cluster::start(throwaway(&tmp.0)).expect("first start");
        assert!(
            cluster
                .socket_dir()
                .starts_with(tmp.0.canonicalize().unwrap())
        );
        assert_eq!(psql(&cluster, "select 1").unwrap(), "1");
        // No TCP at all.
        assert_eq!(psql(&cluster, "show listen_addresses").unwrap(), "");
        assert_eq!(psql(&cluster, "show fsync").unwrap(), "off");
        assert_eq!(psql(&cluster, "show max_connections").unwrap(), "20");
        assert_eq!(psql(&cluster, "show server_encoding").unwrap(), "UTF8");
        if locale_available("C.UTF-8") {
            // UTF-8 aware case mapping is why we prefer C.UTF-8 over C.
            assert_eq!(psql(&cluster, "show lc_ctype").unwrap(), "C.UTF-8");
            assert_eq!(psql(&cluster, "select upper('é')").unwrap(), "É");
        }
        psql(
            &cluster,
            "create table marker (x int); insert into marker values (42)",
        )
        .unwrap();
        let pid = cluster.pid().unwrap() as libc::pid_t;
        cluster.stop().unwrap();
        assert!(!process_running(pid));
        cluster.stop().expect("stop is idempotent");
        drop(cluster);

        // Second start reuses the cluster.
        let mut cluster = Cluster::start(throwaway(&tmp.0)).expect("second start");
        assert_eq!(psql(&cluster, "select x from marker").unwrap(), "42");
        let pgdata = cluster.pgdata().to_path_buf();
        cluster.stop().unwrap();

        // A stale postmaster.pid naming a dead process (crash) does not block a start.
        fs::write(
            pgdata.join("postmaster.pid"),
            format!("{}\n{}\n", dead_pid(), pgdata.display()),
        )
        .unwrap();
        let mut cluster = Cluster::start(throwaway(&tmp.0)).expect("start over stale pid file");
        assert_eq!(psql(&cluster, "select x from marker").unwrap(), "42");
        cluster.stop().unwrap();

        // A pid file naming a live process that is not postgres is stale too.
        fs::write(
            pgdata.join("postmaster.pid"),
            format!("{}\n{}\n", std::process::id(), pgdata.display()),
        )
        .unwrap();
        let cluster = Cluster::start(throwaway(&tmp.0)).expect("start over foreign pid");
        assert_eq!(psql(&cluster, "select 1").unwrap(), "1");
        drop(cluster);
        assert!(!pgdata.join("postmaster.pid").exists());
    }

    #[test]
    fn lock_refuses_second_start() {
        let tmp = TempDir::new("lock");
        let cluster = Cluster::start(throwaway(&tmp.0)).unwrap();
        let err = Cluster::start(throwaway(&tmp.0)).unwrap_err();
        let msg = format!("{err:#}");
        assert!(
            msg.contains("is in use by another party-center process"),
            "{msg}"
        );
        assert!(!msg.contains('\n'));
        // The refused start left the running one alone.
        assert_eq!(psql(&cluster, "select 1").unwrap(), "1");
    }

    #[test]
    fn orphan_of_crashed_run_is_shut_down() {
        let tmp = TempDir::new("orphan");
        let opts = ClusterOptions {
            die_with_parent: false,
            ..throwaway(&tmp.0)
        };
        let mut crashed = Cluster::start(opts.clone()).unwrap();
        // Simulate a crash: the lock is gone but the server keeps running.
        let mut orphan = crashed.child.take().unwrap();
        crashed.lock = None;
        drop(crashed);
        let orphan_pid = orphan.id() as libc::pid_t;
        assert!(is_postgres_on(
            orphan_pid,
            &tmp.0.canonicalize().unwrap().join("pgdata")
        ));

        let cluster = Cluster::start(opts).expect("start after crash");
        assert!(orphan.try_wait().unwrap().is_some(), "orphan was shut down");
        assert_eq!(psql(&cluster, "select 1").unwrap(), "1");
    }

    #[test]
    fn server_dies_with_its_spawning_thread() {
        let tmp = TempDir::new("pdeath");
        let mut cluster = Cluster::start(throwaway(&tmp.0)).unwrap();
        let keeper = cluster.keeper.take().unwrap();
        drop(keeper.stop);
        keeper.thread.join().unwrap();
        let child = cluster.child.as_mut().unwrap();
        let status = wait_child(child, Duration::from_secs(30)).unwrap();
        assert!(
            status.is_some(),
            "postgres got SIGINT when its parent thread ended"
        );
        cluster.stop().unwrap();
    }

    #[test]
    fn long_path_falls_back_to_short_socket_dir() {
        let tmp = TempDir::new("long");
        let data_dir = tmp.0.join("x".repeat(60)).join("y".repeat(40));
        let mut cluster = Cluster::start(throwaway(&data_dir)).unwrap();
        let socket_dir = cluster.socket_dir().to_path_buf();
        assert!(
            socket_dir
                .to_string_lossy()
                .starts_with("/tmp/party-center-"),
            "{}",
            socket_dir.display()
        );
        assert_eq!(psql(&cluster, "select 1").unwrap(), "1");
        cluster.stop().unwrap();
        assert!(!socket_dir.exists());
    }

    #[test]
    fn unreachable_data_dir_is_reported() {
        if unsafe { libc::geteuid() } != 0 {
            return;
        }
        let tmp = TempDir::new("blocked");
        fs::create_dir_all(&tmp.0).unwrap();
        fs::set_permissions(&tmp.0, fs::Permissions::from_mode(0o700)).unwrap();
        let err = Cluster::start(throwaway(&tmp.0.join("data"))).unwrap_err();
        let msg = format!("{err:#}");
        assert!(msg.contains("cannot enter folder"), "{msg}");
        assert!(msg.contains(&*tmp.0.to_string_lossy()), "{msg}");
        assert!(msg.contains("PARTY_CENTER_DATA_DIR"), "{msg}");
        assert!(!msg.contains('\n'));
    }

    #[test]
    fn watchdog_cleans_up_after_watched_process() {
        let tmp = TempDir::new("watchdog");
        let mut cluster = Cluster::start(throwaway(&tmp.0)).unwrap();
        let mut watched = Command::new("sleep").arg("600").spawn().unwrap();
        spawn_cleanup_watchdog(&cluster, watched.id(), &tmp.0).unwrap();
        thread::sleep(Duration::from_millis(1500));
        assert!(tmp.0.exists());
        assert_eq!(psql(&cluster, "select 1").unwrap(), "1");

        watched.kill().unwrap();
        watched.wait().unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        while tmp.0.exists() && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(100));
        }
        assert!(!tmp.0.exists(), "watchdog removed the folder");
        let child = cluster.child.as_mut().unwrap();
        assert!(
            child.try_wait().unwrap().is_some(),
            "watchdog stopped postgres"
        );
        cluster.stop().unwrap();
    }
}
