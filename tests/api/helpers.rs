//! The test harness: one private PostgreSQL per test run, a fresh database per test
//! (cloned from a migrated template), and the real HTTP server on a random port.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use party_center::auth::{KeyStore, MintRequest, Role};
use party_center::config::{ServeSettings, Settings};
use party_center::pg::{Cluster, ClusterOptions, Durability};
use party_center::startup::Application;
use reqwest::header::HeaderMap;
use reqwest::{Method, RequestBuilder, Response};
use serde_json::{Value, json};
use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, PgPool};
use uuid::Uuid;

pub const ISSUER: &str = "party-center-tests";
pub const AUDIENCE: &str = "party-center-api";
pub const HS_SECRET: &[u8] = b"test-secret-that-is-at-least-32-bytes-long!";

/// The run's cluster, started once. `pg::Cluster` stops it when this process dies, and
/// a watchdog removes its folder.
struct Shared {
    _cluster: Cluster,
    socket_dir: PathBuf,
    keys_dir: PathBuf,
}

const TEMPLATE: &str = "party_center_template";

fn shared() -> &'static Shared {
    static SHARED: OnceLock<Shared> = OnceLock::new();
    SHARED.get_or_init(|| {
        // On its own thread: the set-up runs migrations on a runtime of its own, which
        // cannot be started from inside a test's runtime.
        std::thread::spawn(start_cluster)
            .join()
            .expect("test cluster thread")
            .unwrap_or_else(|e| panic!("cannot start the test PostgreSQL: {e:#}"))
    })
}

fn start_cluster() -> anyhow::Result<Shared> {
    let bindir = party_center::pg::find_bindir(None)?;
    // The system temp folder: reachable by the unprivileged `postgres` user when we are root.
    let root = std::env::temp_dir().join(format!(
        "pc-test-{}-{}",
        std::process::id(),
        &Uuid::now_v7().simple().to_string()[24..]
    ));
    std::fs::create_dir_all(&root)?;
    let mut opts = ClusterOptions::new(bindir, root.join("db"));
    opts.durability = Durability::Throwaway;
    opts.max_connections = 300;
    opts.die_with_parent = true;
    let cluster = Cluster::start(opts)?;
    party_center::pg::spawn_cleanup_watchdog(&cluster, std::process::id(), &root)?;
    let keys_dir = root.join("keys");
    make_test_keys(&keys_dir)?;
    let socket_dir = cluster.socket_dir().to_path_buf();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let admin = admin_options(&socket_dir);
        party_center::db::create_database_if_missing(&admin, TEMPLATE).await?;
        let pool = PgPool::connect_with(admin.database(TEMPLATE)).await?;
        party_center::db::migrate(&pool).await?;
        pool.close().await;
        anyhow::Ok(())
    })?;
    Ok(Shared {
        _cluster: cluster,
        socket_dir,
        keys_dir,
    })
}

fn admin_options(socket_dir: &Path) -> PgConnectOptions {
    PgConnectOptions::new_without_pgpass()
        .socket(socket_dir)
        .username("postgres")
        .database("postgres")
}

/// An RSA and an Ed25519 key pair, made for this run only (nothing secret is committed).
fn make_test_keys(dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)?;
    let run = |args: &[&str]| -> anyhow::Result<()> {
        let status = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()?;
        anyhow::ensure!(
            status.status.success(),
            "openssl {args:?} failed: {}",
            String::from_utf8_lossy(&status.stderr)
        );
        Ok(())
    };
    run(&[
        "genpkey",
        "-algorithm",
        "RSA",
        "-pkeyopt",
        "rsa_keygen_bits:2048",
        "-out",
        "rsa.key",
    ])?;
    run(&["pkey", "-in", "rsa.key", "-pubout", "-out", "rsa.pub"])?;
    run(&["genpkey", "-algorithm", "ED25519", "-out", "ed.key"])?;
    run(&["pkey", "-in", "ed.key", "-pubout", "-out", "ed.pub"])?;
    Ok(())
}

/// Where the run's test keys are: `rsa.key`, `rsa.pub`, `ed.key`, `ed.pub`.
pub fn keys_dir() -> &'static Path {
    &shared().keys_dir
}

/// The key store the test server verifies with: the HS256 secret, an RSA key (kid
/// `rsa-1`) and an Ed25519 key (kid `ed-1`).
pub fn key_store() -> KeyStore {
    let mut settings = Settings::from_env().unwrap();
    settings.jwt_issuer = ISSUER.into();
    settings.jwt_audience = AUDIENCE.into();
    settings.jwt_secret = Some(String::from_utf8(HS_SECRET.to_vec()).unwrap().into());
    settings.jwt_rsa_keys = vec![format!("rsa-1={}", keys_dir().join("rsa.pub").display())];
    settings.jwt_ed25519_keys = vec![format!("ed-1={}", keys_dir().join("ed.pub").display())];
    KeyStore::from_settings(&settings, party_center::auth::DevKey::MustExist)
        .expect("test key store")
}

/// A running server on its own fresh database.
/// The socket folder of the suite's PostgreSQL, for tests that run the binary against it.
pub fn cluster_socket_dir() -> &'static Path {
    &shared().socket_dir
}

pub struct TestApp {
    pub base: String,
    pub pool: PgPool,
    pub client: reqwest::Client,
    pub keys: KeyStore,
}

impl TestApp {
    /// A server with the default settings (64 KiB body limit, 20 connections).
    pub async fn spawn() -> TestApp {
        Self::spawn_with(|_, _| {}).await
    }

    /// A server whose settings `tweak` may change first.
    pub async fn spawn_with(tweak: impl FnOnce(&mut Settings, &mut ServeSettings)) -> TestApp {
        let shared = shared();
        let db = format!("t_{}", Uuid::now_v7().simple());
        let mut admin = sqlx::PgConnection::connect_with(&admin_options(&shared.socket_dir))
            .await
            .expect("connect to the test cluster");
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "CREATE DATABASE {db} TEMPLATE {TEMPLATE}"
        )))
        .execute(&mut admin)
        .await
        .expect("clone the template database");
        admin.close().await.ok();
        let mut settings = Settings::from_env().unwrap();
        settings.db_max_connections = 20;
        let mut serve = ServeSettings::from_env().unwrap();
        serve.workers = Some(1);
        tweak(&mut settings, &mut serve);
        let pool =
            party_center::db::pool(&settings, admin_options(&shared.socket_dir).database(&db));
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let app =
            Application::build(pool.clone(), key_store(), listener, &serve).expect("build app");
        let base = format!("http://127.0.0.1:{}", app.port());
        tokio::spawn(app.run());
        TestApp {
            base,
            pool,
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(60))
                .build()
                .unwrap(),
            keys: key_store(),
        }
    }

    /// Another server on the same database, with its own pool, its own event listener
    /// and the same signing keys: a replica, as behind a load balancer.
    pub async fn replica(&self) -> TestApp {
        let settings = Settings::from_env().unwrap();
        let mut serve = ServeSettings::from_env().unwrap();
        serve.workers = Some(1);
        let pool = party_center::db::pool(&settings, (*self.pool.connect_options()).clone());
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let app =
            Application::build(pool.clone(), key_store(), listener, &serve).expect("build app");
        let base = format!("http://127.0.0.1:{}", app.port());
        tokio::spawn(app.run());
        TestApp {
            base,
            pool,
            client: self.client.clone(),
            keys: key_store(),
        }
    }

    /// A fresh, empty database on the suite's cluster (no migrations): its options.
    pub async fn empty_database() -> PgConnectOptions {
        let shared = shared();
        let db = format!("e_{}", Uuid::now_v7().simple());
        let mut admin = sqlx::PgConnection::connect_with(&admin_options(&shared.socket_dir))
            .await
            .expect("connect to the test cluster");
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {db}")))
            .execute(&mut admin)
            .await
            .expect("create a database");
        admin.close().await.ok();
        admin_options(&shared.socket_dir).database(&db)
    }

    /// A request to `path` (starting with `/`).
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.client
            .request(method, format!("{}{}", self.base, path))
    }

    /// A request with a bearer token.
    pub fn authed(&self, method: Method, path: &str, token: &str) -> RequestBuilder {
        self.request(method, path).bearer_auth(token)
    }

    /// Mints a token for `role`; `town` for staff/committee/member, `county` for county.
    pub fn token(&self, role: Role, town: Option<Uuid>) -> String {
        self.keys
            .mint(&MintRequest {
                role,
                sub: format!("{}-tester", role.as_str()),
                town,
                county: (role == Role::County).then(|| "320114".to_owned()),
                member_id: (role == Role::Member).then(Uuid::now_v7),
                ttl: Duration::from_secs(600),
            })
            .unwrap()
    }

    /// Mints a member token for `member` of `town`, with subject `member-{member}`.
    pub fn member_token(&self, town: Uuid, member: Uuid) -> String {
        self.keys
            .mint(&MintRequest {
                role: Role::Member,
                sub: format!("member-{member}"),
                town: Some(town),
                county: None,
                member_id: Some(member),
                ttl: Duration::from_secs(600),
            })
            .unwrap()
    }

    pub fn admin(&self) -> String {
        self.token(Role::Admin, None)
    }

    /// Creates a town in county 320114 and returns it.
    pub async fn create_town(&self, code: &str) -> Value {
        let res = self
            .authed(Method::POST, "/api/v1/towns", &self.admin())
            .json(&json!({ "code": code, "name": format!("镇{code}"), "county_code": "320114" }))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201, "creating a town");
        res.json().await.unwrap()
    }
}

/// Reads a problem+json answer, checking its media type and shape.
pub async fn problem(res: Response, status: u16) -> Value {
    assert_eq!(res.status().as_u16(), status, "status");
    let ct = res
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned());
    assert_eq!(
        ct.as_deref(),
        Some("application/problem+json"),
        "content type"
    );
    assert!(
        res.headers().get("x-request-id").is_some(),
        "x-request-id header"
    );
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["status"], status);
    for key in ["type", "title", "detail", "code"] {
        assert!(body[key].is_string(), "problem has `{key}`: {body}");
    }
    body
}

/// The `field` of each error in a problem body, in order.
pub fn error_fields(problem: &Value) -> Vec<&str> {
    problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect()
}

/// Checks that `res` replays the answer `first` (`status`, header, same body); returns its headers.
pub async fn assert_replayed(res: Response, status: u16, first: &Value) -> HeaderMap {
    assert_eq!(res.status().as_u16(), status, "status of the replay");
    assert_eq!(res.headers()["idempotent-replayed"], "true");
    let headers = res.headers().clone();
    assert_eq!(
        &res.json::<Value>().await.unwrap(),
        first,
        "a replay answers the same"
    );
    headers
}

pub fn uuid(v: &Value) -> Uuid {
    v.as_str().expect("a uuid string").parse().expect("a uuid")
}

/// A valid 18-character national ID number (with its check digit) for sequence `n`.
pub fn national_id(n: u32) -> String {
    let body = format!(
        "320114198{:01}{:02}{:02}{:03}",
        n % 10,
        1 + n % 12,
        1 + n % 28,
        n % 1000
    );
    let body = &body[..17];
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = body
        .bytes()
        .zip(WEIGHTS)
        .map(|(b, w)| u32::from(b - b'0') * w)
        .sum();
    let check = b"10X98765432"[(sum % 11) as usize] as char;
    format!("{body}{check}")
}

/// The id of a town's center branch.
pub async fn center_branch(app: &TestApp, town: Uuid) -> Uuid {
    sqlx::query_scalar("SELECT id FROM branches WHERE town_id = $1 AND kind = 'center'")
        .bind(town)
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

/// Creates a village branch in `town` straight in the database (test set-up).
pub async fn insert_branch(app: &TestApp, town: Uuid, name: &str) -> Uuid {
    let id = Uuid::now_v7();
    sqlx::query("INSERT INTO branches (town_id, id, name, kind) VALUES ($1, $2, $3, 'village')")
        .bind(town)
        .bind(id)
        .bind(name)
        .execute(&app.pool)
        .await
        .unwrap();
    id
}

/// Registers a member in `branch` straight in the database, with the registration
/// transfer that puts them there (test set-up for parts that only need a member).
pub async fn insert_member(app: &TestApp, town: Uuid, branch: Uuid, name: &str, n: u32) -> Uuid {
    let id = Uuid::now_v7();
    let mut tx = app.pool.begin().await.unwrap();
    sqlx::query("INSERT INTO members (town_id, id, name, national_id, branch_id) VALUES ($1, $2, $3, $4, $5)")
        .bind(town)
        .bind(id)
        .bind(name)
        .bind(national_id(n))
        .bind(branch)
        .execute(&mut *tx)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO transfers (town_id, id, member_id, kind, to_branch_id, reason, decided_by, decided_on, status)
         VALUES ($1, $2, $3, 'registration', $4, 'test set-up', 'tests', current_date, 'completed')",
    )
    .bind(town)
    .bind(Uuid::now_v7())
    .bind(id)
    .bind(branch)
    .execute(&mut *tx)
    .await
    .unwrap();
    tx.commit().await.unwrap();
    id
}

/// The nodes of a JSON plan: (node type, relation, index used, index condition).
pub fn plan_nodes(plan: &Value, out: &mut Vec<[String; 4]>) {
    let text = |k: &str| plan[k].as_str().unwrap_or_default().to_owned();
    out.push([
        text("Node Type"),
        text("Relation Name"),
        text("Index Name"),
        text("Index Cond"),
    ]);
    for child in plan["Plans"].as_array().into_iter().flatten() {
        plan_nodes(child, out);
    }
}

/// Explains, on the connection that prepared it, the one statement prepared there whose
/// text contains `marker`, with a generic and then a custom plan: the nodes of both.
pub async fn explain_prepared(
    conn: &mut sqlx::PgConnection,
    marker: &str,
    args: &str,
) -> Vec<[String; 4]> {
    let name: String = sqlx::query_scalar(
        "SELECT name FROM pg_prepared_statements WHERE strpos(statement, $1) > 0",
    )
    .bind(marker)
    .fetch_one(&mut *conn)
    .await
    .unwrap();
    let mut scans = Vec::new();
    for mode in ["force_generic_plan", "force_custom_plan"] {
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("SET plan_cache_mode = {mode}")))
            .execute(&mut *conn)
            .await
            .unwrap();
        let plan: Value = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "EXPLAIN (FORMAT JSON) EXECUTE {name}({args})"
        )))
        .fetch_one(&mut *conn)
        .await
        .unwrap();
        plan_nodes(&plan[0]["Plan"], &mut scans);
    }
    scans
}
