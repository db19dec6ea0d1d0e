//! The embedded PostgreSQL under supervision, through the real `party-center serve`
//! binary with no DATABASE_URL: a killed postmaster is restarted while requests answer
//! 503, and SIGTERM stops whatever postmaster runs on the data folder, also one that
//! was restarted from outside. Traffic goes to 127.0.0.1 only; every wait is bounded.

use std::fs::{self, File};
use std::net::TcpListener;
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use uuid::Uuid;

/// How long the first start may take: initdb of a durable cluster, then migrations.
const FIRST_START: Duration = Duration::from_secs(120);

/// How long a restart may take before the test fails.
const RECOVERY: Duration = Duration::from_secs(30);

/// A `party-center serve` process on its own data folder and port; killed, with any
/// postmaster left on its folder, and its folder removed when dropped.
struct Service {
    child: Option<Child>,
    root: PathBuf,
    pgdata: PathBuf,
    bindir: PathBuf,
    bind: String,
    log: PathBuf,
    client: reqwest::Client,
}

impl Service {
    fn start(tag: &str) -> Service {
        let root = std::env::temp_dir().join(format!(
            "pc-sup-{tag}-{}",
            &Uuid::now_v7().simple().to_string()[20..]
        ));
        fs::create_dir_all(&root).unwrap();
        let root = root.canonicalize().unwrap();
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut service = Service {
            child: None,
            pgdata: root.join("data").join("pgdata"),
            bindir: party_center::pg::find_bindir(None).unwrap(),
            bind: format!("127.0.0.1:{port}"),
            log: root.join("service.log"),
            root,
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .unwrap(),
        };
        let log = File::create(&service.log).unwrap();
        let child = service
            .command()
            .arg("serve")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start party-center serve");
        service.child = Some(child);
        service
    }

    /// The binary with only the settings this test gives it: no DATABASE_URL.
    fn command(&self) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_party-center"));
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("PARTY_CENTER_DATA_DIR", self.root.join("data"))
            .env("PARTY_CENTER_PG_BINDIR", &self.bindir)
            .env("PARTY_CENTER_BIND", &self.bind)
            .env("PARTY_CENTER_WORKERS", "1")
            .env("PARTY_CENTER_LOG", "info")
            .env("PARTY_CENTER_LOG_FORMAT", "text")
            // Refused connections are retried until this runs out: short, so that an
            // outage answers 503 well before the supervisor's first restart (0.5 s).
            .env("PARTY_CENTER_DB_ACQUIRE_TIMEOUT", "100ms")
            .env("PARTY_CENTER_SHUTDOWN_TIMEOUT", "5s");
        cmd
    }

    fn pid(&self) -> libc::pid_t {
        self.child.as_ref().expect("the service runs").id() as libc::pid_t
    }

    /// A token for the admin, minted by the binary with the service's own generated key.
    fn admin_token(&self) -> String {
        let out = self
            .command()
            .args(["token", "--role", "admin", "--sub", "supervision-test"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    }

    async fn status(&self, path: &str, token: Option<&str>) -> Option<StatusCode> {
        let mut req = self.client.get(format!("http://{}{path}", self.bind));
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        req.send().await.ok().map(|res| res.status())
    }

    async fn readyz(&self) -> Option<StatusCode> {
        self.status("/readyz", None).await
    }

    async fn wait_ready(&mut self, within: Duration) {
        let deadline = Instant::now() + within;
        while self.readyz().await != Some(StatusCode::OK) {
            let exited = self.child.as_mut().unwrap().try_wait().unwrap();
            assert!(
                exited.is_none(),
                "the service exited ({exited:?}): {}",
                self.log_tail()
            );
            assert!(
                Instant::now() < deadline,
                "not ready within {within:?}: {}",
                self.log_tail()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The postmaster's pid as the data folder's `postmaster.pid` names it.
    fn postmaster_pid(&self) -> Option<libc::pid_t> {
        let content = fs::read_to_string(self.pgdata.join("postmaster.pid")).ok()?;
        content.lines().next()?.trim().parse().ok()
    }

    /// Whether `pid` is a live (not zombie) process working in the data folder.
    fn is_postmaster(&self, pid: libc::pid_t) -> bool {
        let state = fs::read_to_string(format!("/proc/{pid}/stat"))
            .ok()
            .and_then(|s| s.rsplit(") ").next().map(|rest| rest.starts_with('Z')));
        state == Some(false)
            && fs::read_link(format!("/proc/{pid}/cwd")).is_ok_and(|cwd| cwd == self.pgdata)
    }

    async fn wait_for_log(&self, text: &str, within: Duration) {
        let deadline = Instant::now() + within;
        while !fs::read_to_string(&self.log)
            .unwrap_or_default()
            .contains(text)
        {
            assert!(
                Instant::now() < deadline,
                "the log never said `{text}`: {}",
                self.log_tail()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// SIGTERM, then wait (bounded) for the service to exit.
    async fn terminate(&mut self) -> ExitStatus {
        signal(self.pid(), libc::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                self.child = None;
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "no exit after SIGTERM: {}",
                self.log_tail()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn log_tail(&self) -> String {
        let log = fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        // A postmaster the test started from outside does not die with the service.
        if let Some(pid) = self.postmaster_pid().filter(|&pid| self.is_postmaster(pid)) {
            signal(pid, libc::SIGQUIT);
            let deadline = Instant::now() + Duration::from_secs(10);
            while self.is_postmaster(pid) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(50));
            }
            signal(pid, libc::SIGKILL);
        }
        let _ = fs::remove_dir_all(&self.root);
    }
}

fn signal(pid: libc::pid_t, signal: libc::c_int) {
    // SAFETY: kill(2) touches no memory of ours.
    unsafe {
        libc::kill(pid, signal);
    }
}

#[tokio::test]
async fn a_killed_embedded_postgres_is_restarted_and_sigterm_stops_the_new_one() {
    let mut service = Service::start("kill");
    service.wait_ready(FIRST_START).await;
    let token = service.admin_token();
    let towns = "/api/v1/towns";
    assert_eq!(
        service.status(towns, Some(&token)).await,
        Some(StatusCode::OK)
    );
    let first = service.postmaster_pid().expect("postmaster.pid");
    assert!(service.is_postmaster(first));

    signal(first, libc::SIGKILL);
    // The old server's backends need a moment to notice; then both answer 503 until
    // the supervisor's restart, which comes 0.5 s after the death at the earliest.
    let deadline = Instant::now() + RECOVERY;
    let (mut ready_down, mut listed_down) = (false, false);
    while !(ready_down && listed_down) {
        assert!(
            Instant::now() < deadline,
            "no 503 while down (readiness {ready_down}, a database request {listed_down}): {}",
            service.log_tail()
        );
        let (ready, listed) = tokio::join!(service.readyz(), service.status(towns, Some(&token)));
        ready_down |= ready == Some(StatusCode::SERVICE_UNAVAILABLE);
        listed_down |= listed == Some(StatusCode::SERVICE_UNAVAILABLE);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    service.wait_ready(RECOVERY).await;
    let second = service.postmaster_pid().expect("postmaster.pid");
    assert_ne!(second, first, "a new postmaster");
    assert!(service.is_postmaster(second));
    assert_eq!(
        service.status(towns, Some(&token)).await,
        Some(StatusCode::OK)
    );
    service
        .wait_for_log("the embedded PostgreSQL exited unexpectedly", RECOVERY)
        .await;
    service
        .wait_for_log("the embedded PostgreSQL is running again", RECOVERY)
        .await;

    let status = service.terminate().await;
    assert!(status.success(), "{status}: {}", service.log_tail());
    assert!(
        !service.is_postmaster(second),
        "SIGTERM stopped the restarted postmaster"
    );
    assert!(
        !service.pgdata.join("postmaster.pid").exists(),
        "a clean shutdown"
    );
}

#[tokio::test]
async fn sigterm_stops_an_embedded_postgres_that_was_restarted_from_outside() {
    let mut service = Service::start("outside");
    service.wait_ready(FIRST_START).await;
    let first = service.postmaster_pid().expect("postmaster.pid");

    // What an administrator does by hand, as the server's own OS user.
    let mut pg_ctl = Command::new(service.bindir.join("pg_ctl"));
    pg_ctl
        .arg("restart")
        .arg("-D")
        .arg(&service.pgdata)
        .args(["-m", "fast", "-w", "-t", "60"])
        .current_dir("/")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if unsafe { libc::geteuid() } == 0 {
        let owner = fs::metadata(&service.pgdata).unwrap();
        pg_ctl.uid(owner.uid()).gid(owner.gid());
    }
    let restarted = tokio::task::spawn_blocking(move || pg_ctl.status())
        .await
        .unwrap()
        .unwrap();
    assert!(restarted.success(), "pg_ctl restart: {restarted}");
    let second = service.postmaster_pid().expect("postmaster.pid");
    assert_ne!(second, first, "pg_ctl started another postmaster");

    service
        .wait_for_log("restarted outside party-center", RECOVERY)
        .await;
    service.wait_ready(RECOVERY).await;
    assert_eq!(
        service.postmaster_pid(),
        Some(second),
        "the service watches that server instead of starting its own"
    );

    let status = service.terminate().await;
    assert!(status.success(), "{status}: {}", service.log_tail());
    assert!(
        !service.is_postmaster(second),
        "SIGTERM stopped the postmaster started from outside"
    );
    assert!(
        !service.pgdata.join("postmaster.pid").exists(),
        "a clean shutdown"
    );
}
