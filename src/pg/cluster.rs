//! One private cluster: set up (initdb on first use), started, waited for, and stopped.

use std::ffi::CString;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, anyhow, bail};

use super::binaries::{has_server_binaries, is_executable_file};
use super::folders::{
    RunAs, acquire_lock, check_traversable, create_data_dir, ensure_private_dir, lookup_user,
    make_short_socket_dir, remove_if_exists,
};
use super::process::{
    Keeper, is_postgres_on, pid_file_says_ready, shut_down_foreign, spawn_on_keeper_thread,
    stop_child,
};

/// Port number of the cluster; it only names the socket file (`.s.PGSQL.5432`), there is no TCP.
pub const PORT: u16 = 5432;

/// Name of the cluster's superuser role (created by initdb).
pub const SUPERUSER: &str = "postgres";

/// OS user that runs the server when we are root (initdb and postgres refuse to run as root).
const RUN_AS_USER_WHEN_ROOT: &str = "postgres";

/// `sockaddr_un.sun_path` is 108 bytes including the terminating NUL.
const MAX_SOCKET_PATH_LEN: usize = 107;

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
    /// Folder with the server binaries (`initdb`, `postgres`, `pg_isready`), see [`find_bindir`](super::find_bindir).
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

    /// The socket folder when it is a private /tmp fallback (removed on stop), else `None`.
    pub(super) fn fallback_socket_dir(&self) -> Option<&Path> {
        self.socket_dir_is_fallback
            .then_some(self.socket_dir.as_path())
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

/// Whether the C library knows locale `name` (C.UTF-8 is missing on some systems).
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

/// The last `n` non-empty lines of `text`, trimmed and joined with ` | `.
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
    use std::os::unix::fs::PermissionsExt;

    use super::*;
    use crate::pg::process::{is_postgres_on, process_running, wait_child};
    use crate::pg::test_support::{TempDir, psql, throwaway};

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
}
