//! The service proves its own crash safety: concurrent clients move points with
//! idempotency keys and retry whatever fails, while the service is killed with SIGKILL
//! several times and PostgreSQL is restarted in immediate mode (no checkpoint, crash
//! recovery on start). Afterwards every acknowledged change exists exactly once, no
//! change exists twice, nothing answered 500, and every score equals its base plus the
//! sum of its ledger.
//!
//! CI runs a short form (about 25 s). The long form, and a replay of a failure:
//!
//! ```text
//! CRASH_SECONDS=180 CRASH_CLIENTS=16 CRASH_SEED=42 cargo test --test crash_safety -- --nocapture
//! ```
//!
//! Everything runs on 127.0.0.1 in a temporary folder; what the test starts it stops by
//! process id.

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use party_center::pg::{Cluster, ClusterOptions, Durability};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use tokio::sync::Mutex;

const BIN: &str = env!("CARGO_BIN_EXE_party-center");

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The service process, restarted on the same port after each kill.
struct Service {
    child: Option<Child>,
    port: u16,
    env: Vec<(String, String)>,
    log: PathBuf,
}

impl Service {
    fn start(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .expect("service log");
        let child = Command::new(BIN)
            .arg("serve")
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .env("PARTY_CENTER_BIND", format!("127.0.0.1:{}", self.port))
            .stdout(log.try_clone().expect("log handle"))
            .stderr(log)
            .spawn()
            .expect("the service starts");
        self.child = Some(child);
    }

    /// SIGKILL by the process id this test started, and reap it.
    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            // SAFETY: kill(2) on the pid of a child this test spawned and has not reaped.
            unsafe { libc::kill(child.id() as i32, libc::SIGKILL) };
            let _ = child.wait();
        }
    }

    fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        self.kill();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("a free port")
        .local_addr()
        .expect("its address")
        .port()
}

/// Runs `pg_ctl` as the owner of the data folder (the cluster runs unprivileged when the
/// test runs as root).
fn pg_ctl(cluster: &Cluster, args: &[&str]) {
    let owner = std::fs::metadata(cluster.pgdata()).expect("pgdata");
    let mut cmd = Command::new(cluster.bindir().join("pg_ctl"));
    cmd.arg("-D")
        .arg(cluster.pgdata())
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if unsafe { libc::geteuid() } == 0 {
        cmd.uid(owner.uid()).gid(owner.gid());
    }
    let status = cmd.status().expect("pg_ctl runs");
    assert!(status.success(), "pg_ctl {args:?} failed");
}

async fn wait_ready(client: &reqwest::Client, base: &str, within: Duration) {
    let deadline = Instant::now() + within;
    loop {
        if let Ok(res) = client.get(format!("{base}/readyz")).send().await
            && res.status().is_success()
        {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the service was not ready in {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn token(env: &[(String, String)], args: &[&str]) -> String {
    let out = Command::new(BIN)
        .arg("token")
        .args(args)
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .output()
        .expect("party-center token");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .expect("utf-8")
        .trim()
        .to_owned()
}

async fn post(client: &reqwest::Client, url: &str, token: &str, body: Value) -> Value {
    let res = client
        .post(url)
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .expect("setup request");
    assert!(res.status().is_success(), "{url}: {}", res.status());
    res.json().await.expect("setup body")
}

fn national_id(n: u32) -> String {
    let body = format!(
        "3201141980{:02}{:02}{:03}",
        1 + n % 12,
        1 + n % 28,
        n % 1000
    );
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = body
        .bytes()
        .zip(WEIGHTS)
        .map(|(b, w)| u32::from(b - b'0') * w)
        .sum();
    format!("{body}{}", b"10X98765432"[(sum % 11) as usize] as char)
}

/// What happened to one request, by its unique reason text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fate {
    /// 201: the change was acknowledged.
    Acked,
    /// 409/422: refused by a rule (a frozen score, say); it must not exist.
    Refused,
    /// No answer before the run ended: it may exist, once at most.
    Unknown,
}

#[derive(Default)]
struct Tally {
    sent: AtomicU64,
    retries: AtomicU64,
    server_errors: AtomicU64,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_changes_survive_kills_and_database_restarts_exactly_once() {
    let seed: u64 = env_or("CRASH_SEED", 20261207);
    let seconds: u64 = env_or("CRASH_SECONDS", 20);
    let clients: usize = env_or("CRASH_CLIENTS", 8);
    let kills: u32 = env_or("CRASH_KILLS", 3);
    let cases_n: u32 = env_or("CRASH_CASES", 12);
    println!(
        "crash safety: seed {seed}, {seconds} s, {clients} clients, {kills} kills, {cases_n} cases"
    );

    let root = std::env::temp_dir().join(format!("party-center-crash-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root).unwrap();
    let bindir = party_center::pg::find_bindir(None).expect("PostgreSQL server binaries");
    let mut opts = ClusterOptions::new(bindir, root.join("db"));
    opts.durability = Durability::Durable;
    opts.die_with_parent = true;
    let cluster = Cluster::start(opts).expect("the cluster starts");
    let secret: String = {
        let mut rng = StdRng::seed_from_u64(seed);
        (0..48)
            .map(|_| rng.random_range(b'a'..=b'z') as char)
            .collect()
    };
    let env = vec![
        ("DATABASE_URL".to_owned(), cluster.url("postgres")),
        ("PARTY_CENTER_JWT_SECRET".to_owned(), secret),
        ("PARTY_CENTER_LOG".to_owned(), "warn".to_owned()),
        (
            "PARTY_CENTER_DB_ACQUIRE_TIMEOUT".to_owned(),
            "1s".to_owned(),
        ),
        ("PARTY_CENTER_WORKERS".to_owned(), "2".to_owned()),
        (
            "PARTY_CENTER_DATA_DIR".to_owned(),
            root.join("data").display().to_string(),
        ),
    ];
    let mut service = Service {
        child: None,
        port: free_port(),
        env: env.clone(),
        log: root.join("service.log"),
    };
    service.start();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let base = service.base();
    wait_ready(&client, &base, Duration::from_secs(60)).await;

    // A town, a village branch, members and their cases, through the API.
    let admin = token(&env, &["--role", "admin", "--sub", "crash-admin"]);
    let town = post(
        &client,
        &format!("{base}/api/v1/towns"),
        &admin,
        json!({"code": "CRASH", "name": "压测镇", "county_code": "320114"}),
    )
    .await;
    let town = town["id"].as_str().unwrap().to_owned();
    let staff = token(
        &env,
        &["--role", "staff", "--town", &town, "--sub", "crash-staff"],
    );
    let committee = token(
        &env,
        &[
            "--role",
            "committee",
            "--town",
            &town,
            "--sub",
            "crash-committee",
        ],
    );
    let api = format!("{base}/api/v1/towns/{town}");
    let village = post(
        &client,
        &format!("{api}/branches"),
        &committee,
        json!({"name": "压测村党支部", "kind": "village"}),
    )
    .await;
    let mut cases = Vec::new();
    for n in 0..cases_n {
        let member = post(&client, &format!("{api}/members"), &staff, json!({
            "name": format!("压测党员{n}"), "national_id": national_id(n), "branch_id": village["id"],
        })).await;
        let case = post(
            &client,
            &format!("{api}/cases"),
            &committee,
            json!({"member_id": member["id"], "reason": "经镇党委研究决定"}),
        )
        .await;
        cases.push(case["id"].as_str().unwrap().to_owned());
    }

    let fates: Arc<Mutex<BTreeMap<String, Fate>>> = Arc::default();
    let tally = Arc::new(Tally::default());
    let stop = Arc::new(AtomicBool::new(false));
    let mut workers = Vec::new();
    for c in 0..clients {
        let (client, api, committee, cases) = (
            client.clone(),
            api.clone(),
            committee.clone(),
            cases.clone(),
        );
        let (fates, tally, stop) = (fates.clone(), tally.clone(), stop.clone());
        let mut rng =
            StdRng::seed_from_u64(seed ^ (c as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15));
        workers.push(tokio::spawn(async move {
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                let case = &cases[rng.random_range(0..cases.len())];
                let points = if rng.random_bool(0.5) { 0.5 } else { -0.5 };
                let reason = format!("crash-{seed}-{c}-{n}");
                let key = format!("{:032x}", rng.random::<u128>());
                fates.lock().await.insert(reason.clone(), Fate::Unknown);
                tally.sent.fetch_add(1, Ordering::Relaxed);
                let url = format!("{api}/cases/{case}/adjustments");
                let body = json!({"kind": "correction", "points": points, "reason": reason});
                // Retry the same key until an answer that is not a failure of the service;
                // give up only when the run ends (the change then may or may not exist).
                let fate = loop {
                    let res = client
                        .post(&url)
                        .bearer_auth(&committee)
                        .header("idempotency-key", &key)
                        .json(&body)
                        .send()
                        .await;
                    match res.map(|r| r.status().as_u16()) {
                        Ok(201) => break Fate::Acked,
                        Ok(409 | 422) => break Fate::Refused,
                        Ok(s) => {
                            if s == 500 {
                                tally.server_errors.fetch_add(1, Ordering::Relaxed);
                            }
                            assert!(s == 503 || s == 500, "unexpected status {s} for {reason}");
                        }
                        Err(_) => {}
                    }
                    if stop.load(Ordering::Relaxed) {
                        break Fate::Unknown;
                    }
                    tally.retries.fetch_add(1, Ordering::Relaxed);
                    tokio::time::sleep(Duration::from_millis(rng.random_range(20..200))).await;
                };
                fates.lock().await.insert(reason, fate);
            }
        }));
    }

    // The chaos: kills of the service at seeded moments, one immediate restart of
    // PostgreSQL in the middle.
    let mut chaos = StdRng::seed_from_u64(seed.rotate_left(17));
    let started = Instant::now();
    let run = Duration::from_secs(seconds);
    let slot = run / (kills + 2);
    let mut pg_restarts = 0;
    for k in 0..kills {
        let at = slot * (k + 1) + Duration::from_millis(chaos.random_range(0..500));
        tokio::time::sleep(at.saturating_sub(started.elapsed())).await;
        service.kill();
        if k == kills / 2 {
            pg_ctl(&cluster, &["restart", "-m", "immediate", "-w", "-t", "60"]);
            pg_restarts += 1;
        }
        tokio::time::sleep(Duration::from_millis(chaos.random_range(100..800))).await;
        service.start();
    }
    tokio::time::sleep(run.saturating_sub(started.elapsed())).await;
    // Let the retries of the last kill get through before stopping the clients.
    wait_ready(&client, &base, Duration::from_secs(60)).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        w.await.expect("a client finished without panicking");
    }
    service.kill();

    let pool = sqlx::PgPool::connect(&cluster.url("postgres"))
        .await
        .unwrap();
    let written: Vec<(String, i64)> = sqlx::query_as(
        "SELECT reason, count(*) FROM ledger_entries WHERE reason LIKE 'crash-%' GROUP BY reason",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let written: BTreeMap<String, i64> = written.into_iter().collect();
    let fates = fates.lock().await;
    let count = |f: Fate| fates.values().filter(|x| **x == f).count();
    println!(
        "crash safety: {} requests sent, {} acknowledged, {} refused, {} unanswered at the end, \
         {} retries, {} kills, {} PostgreSQL restarts, {} entries written, {:.1} s",
        tally.sent.load(Ordering::Relaxed),
        count(Fate::Acked),
        count(Fate::Refused),
        count(Fate::Unknown),
        tally.retries.load(Ordering::Relaxed),
        kills,
        pg_restarts,
        written.values().sum::<i64>(),
        started.elapsed().as_secs_f64(),
    );
    for (reason, fate) in fates.iter() {
        let n = written.get(reason).copied().unwrap_or(0);
        match fate {
            Fate::Acked => assert_eq!(n, 1, "acknowledged {reason} exists {n} times"),
            Fate::Refused => assert_eq!(n, 0, "refused {reason} exists {n} times"),
            Fate::Unknown => assert!(n <= 1, "unanswered {reason} exists {n} times"),
        }
    }
    assert!(
        written.keys().all(|r| fates.contains_key(r)),
        "an entry nobody sent"
    );
    assert_eq!(
        tally.server_errors.load(Ordering::Relaxed),
        0,
        "a 500 during the outages"
    );
    assert!(
        count(Fate::Acked) > 0,
        "nothing was acknowledged: the run proves nothing"
    );
    let off: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM cases c WHERE c.score_half_points <> c.base_half_points
           + coalesce((SELECT sum(e.half_points) FROM ledger_entries e
                       WHERE e.town_id = c.town_id AND e.case_id = c.id), 0)",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(off, 0, "a score differs from base plus its ledger");
    pool.close().await;
    // The restarted postmaster is not the cluster's child any more: stop it by its data
    // folder, then let the cluster clean up.
    pg_ctl(&cluster, &["stop", "-m", "fast", "-w"]);
    drop(cluster);
    let _ = std::fs::remove_dir_all(&root);
}
