//! A `DATABASE_URL` that names several servers (issue 15): the service writes to the one
//! that accepts writes, and when that one dies and another becomes writable it follows:
//! writes answer 503 meanwhile (never 500), then land on the new primary, and the event
//! listener moves there too. Reports read from the servers of
//! `PARTY_CENTER_READ_DATABASE_URL`, and from the primary when those do not answer.
//!
//! Two private clusters stand in for a primary and its standby: "read-only" is a database
//! with `default_transaction_read_only = on`, which is what a standby answers to the
//! service's question; replication itself is exercised by `bench/failover`.

use std::net::TcpListener;
use std::path::Path;
use std::time::{Duration, Instant};

use party_center::auth::Role;
use party_center::config::{ServeSettings, Settings};
use party_center::db::Database;
use party_center::pg::{Cluster, ClusterOptions, Durability};
use party_center::startup::Application;
use reqwest::Method;
use serde_json::{Value, json};
use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, PgConnection};
use uuid::Uuid;

use crate::helpers::{TestApp, insert_branch, insert_member, key_store, uuid};

const DB: &str = "pc";

/// A private cluster with database `pc`, migrated.
async fn node(root: &Path, name: &str) -> Cluster {
    let mut opts = ClusterOptions::new(
        party_center::pg::find_bindir(None).unwrap(),
        root.join(name),
    );
    opts.durability = Durability::Throwaway;
    opts.max_connections = 50;
    let cluster = tokio::task::spawn_blocking(move || Cluster::start(opts))
        .await
        .unwrap()
        .expect("a private cluster");
    sql(&cluster, "postgres", &format!("CREATE DATABASE {DB}")).await;
    let pool = sqlx::PgPool::connect_with(admin(&cluster, DB))
        .await
        .unwrap();
    party_center::db::migrate(&pool).await.unwrap();
    pool.close().await;
    cluster
}

fn admin(cluster: &Cluster, db: &str) -> PgConnectOptions {
    PgConnectOptions::new()
        .socket(cluster.socket_dir())
        .username("postgres")
        .database(db)
}

async fn sql(cluster: &Cluster, db: &str, statement: &str) {
    let mut conn = PgConnection::connect_with(&admin(cluster, db))
        .await
        .unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(statement.to_owned()))
        .execute(&mut conn)
        .await
        .unwrap();
    conn.close().await.ok();
}

async fn count(cluster: &Cluster, statement: &str) -> i64 {
    let mut conn = PgConnection::connect_with(&admin(cluster, DB))
        .await
        .unwrap();
    let n = sqlx::query_scalar(sqlx::AssertSqlSafe(statement.to_owned()))
        .fetch_one(&mut conn)
        .await
        .unwrap();
    conn.close().await.ok();
    n
}

/// Makes new sessions on `cluster` read-only (a standby) or writable (a primary).
async fn read_only(cluster: &Cluster, on: bool) {
    let v = if on { "on" } else { "off" };
    sql(
        cluster,
        "postgres",
        &format!("ALTER DATABASE {DB} SET default_transaction_read_only = {v}"),
    )
    .await;
}

/// A URL naming the servers of `clusters` in order, over their sockets.
fn url(clusters: &[&Cluster]) -> String {
    let hosts: Vec<String> = clusters
        .iter()
        .map(|c| c.socket_dir().display().to_string())
        .collect();
    format!(
        "postgres://postgres@localhost:5432/{DB}?host={}&sslmode=disable",
        hosts.join(",")
    )
}

/// The service on `database_url` (and reading reports from `read_url`), as `serve` opens it.
async fn serve(database_url: String, read_url: Option<String>) -> (TestApp, Database) {
    let mut settings = Settings::from_env().unwrap();
    settings.database_url = Some(database_url.into());
    settings.read_database_url = read_url.map(Into::into);
    settings.db_max_connections = 10;
    settings.db_acquire_timeout = Duration::from_secs(3);
    let db = Database::open(&settings).await.expect("the database opens");
    let mut serve = ServeSettings::from_env().unwrap();
    serve.workers = Some(1);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let app = Application::build_reading_from(db.reads(), key_store(), listener, &serve).unwrap();
    let base = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run());
    let app = TestApp {
        base,
        pool: db.pool.clone(),
        client: reqwest::Client::builder()
            .timeout(Duration::from_secs(20))
            .build()
            .unwrap(),
        keys: key_store(),
    };
    (app, db)
}

/// Waits until `cluster` holds the service's LISTEN connection.
async fn listening_on(cluster: &Cluster) -> bool {
    let until = Instant::now() + Duration::from_secs(15);
    while Instant::now() < until {
        let n = count(
            cluster,
            "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'LISTEN %party_center_events%'",
        )
        .await;
        if n > 0 {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    false
}

/// A machine lost: the postmaster and its backends killed at once (a backend outlives a
/// killed postmaster for a moment and would still answer).
fn lose(cluster: &Cluster) {
    let pid = cluster.pid().expect("a running postmaster").to_string();
    let kill = |args: &[&str]| {
        std::process::Command::new(args[0])
            .args(&args[1..])
            .status()
    };
    kill(&["pkill", "-9", "-P", &pid]).unwrap();
    assert!(kill(&["kill", "-9", &pid]).unwrap().success());
}

fn scratch(tag: &str) -> std::path::PathBuf {
    let root = std::env::temp_dir().join(format!(
        "pc-fo-{tag}-{}",
        &Uuid::now_v7().simple().to_string()[20..]
    ));
    std::fs::create_dir_all(&root).unwrap();
    root
}

/// The primary dies, the standby is promoted: 503s with `Retry-After` meanwhile, never a
/// 500, then the same write (same `Idempotency-Key`) lands once on the new primary, and
/// the event listener is there too.
#[tokio::test]
async fn writes_follow_the_primary_when_it_moves() {
    let root = scratch("move");
    let (a, b) = tokio::join!(node(&root, "a"), node(&root, "b"));
    read_only(&b, true).await;
    // The standby first: the service must pass it over.
    let (app, _db) = serve(url(&[&b, &a]), None).await;
    let town = uuid(&app.create_town("FO1").await["id"]);
    let on_a = format!("SELECT count(*) FROM towns WHERE id = '{town}'");
    assert_eq!(count(&a, &on_a).await, 1, "written to the writable server");
    assert_eq!(count(&b, &on_a).await, 0);
    assert!(
        listening_on(&a).await,
        "the event listener is on the primary"
    );

    // The primary's machine is lost; the standby becomes the primary.
    lose(&a);
    read_only(&b, false).await;

    let key = Uuid::now_v7().to_string();
    let started = Instant::now();
    let mut statuses = Vec::new();
    let created = loop {
        assert!(
            started.elapsed() < Duration::from_secs(40),
            "no new primary found: {statuses:?}"
        );
        let res = app
            .authed(Method::POST, "/api/v1/towns", &app.admin())
            .header("idempotency-key", key.as_str())
            .json(&json!({ "code": "FO2", "name": "镇FO2", "county_code": "320114" }))
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        statuses.push(status);
        match status {
            201 => break res.json::<Value>().await.unwrap(),
            503 => {
                assert!(
                    res.headers().contains_key("retry-after"),
                    "a 503 says when to retry"
                );
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            other => panic!("during the switch the service answered {other}: {statuses:?}"),
        }
    };
    let moved = format!(
        "SELECT count(*) FROM towns WHERE code = 'FO2' AND id = '{}'",
        created["id"].as_str().unwrap()
    );
    assert_eq!(
        count(&b, &moved).await,
        1,
        "written once, to the new primary"
    );
    assert!(
        listening_on(&b).await,
        "the event listener moved to the new primary"
    );
    drop((a, b));
    std::fs::remove_dir_all(&root).ok();
}

/// A server that accepts writes but asks for a synchronous standby that has not got all
/// it committed (an old primary back from a crash, its standby promoted meanwhile) is
/// not followed, though it comes first in the list.
#[tokio::test]
async fn a_writable_server_whose_commits_are_not_on_its_standby_is_not_followed() {
    let root = scratch("sync");
    let (old, new) = tokio::join!(node(&root, "old"), node(&root, "new"));
    sql(
        &old,
        "postgres",
        "ALTER SYSTEM SET synchronous_standby_names = 'ghost'",
    )
    .await;
    sql(&old, "postgres", "SELECT pg_reload_conf()").await;
    let (app, _db) = serve(url(&[&old, &new]), None).await;
    let town = uuid(&app.create_town("FO4").await["id"]);
    let there = format!("SELECT count(*) FROM towns WHERE id = '{town}'");
    assert_eq!(count(&new, &there).await, 1, "written to the other server");
    assert_eq!(
        count(&old, &there).await,
        0,
        "nothing on the unreplicated one"
    );
    drop((old, new));
    std::fs::remove_dir_all(&root).ok();
}

/// Reports read from the read-only server while it answers (what it has, which may lag),
/// and from the primary when it does not; writes never go there.
#[tokio::test]
async fn reports_read_from_the_standby_and_fall_back_to_the_primary() {
    let root = scratch("read");
    let (primary, standby) = tokio::join!(node(&root, "p"), node(&root, "s"));
    // The primary is listed first for reports too, but they ask for standbys: it is passed
    // over while it accepts writes.
    let reads = format!(
        "{}&target_session_attrs=standby",
        url(&[&primary, &standby])
    );
    let (app, _db) = serve(url(&[&primary]), Some(reads)).await;
    let town = uuid(&app.create_town("FO3").await["id"]);
    // The standby has what the primary had a moment ago (as replication would have
    // brought it), but not yet the member written since.
    let bindir = primary.bindir().to_path_buf();
    let dump = std::process::Command::new(bindir.join("pg_dump"))
        .args([
            "--data-only",
            "--inserts",
            "--exclude-table=_sqlx_migrations",
            "-U",
            "postgres",
            "-p",
            "5432",
            "-d",
            DB,
            "-h",
        ])
        .arg(primary.socket_dir())
        .output()
        .unwrap();
    assert!(
        dump.status.success(),
        "{}",
        String::from_utf8_lossy(&dump.stderr)
    );
    // Without psql's meta-commands (`\restrict`) and the emptied search_path.
    let inserts: String = String::from_utf8(dump.stdout)
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('\\') && !l.contains("set_config('search_path'"))
        .map(|l| format!("{l}\n"))
        .collect();
    sql(&standby, DB, &inserts).await;
    read_only(&standby, true).await;
    let branch = insert_branch(&app, town, "读副本村党支部").await;
    insert_member(&app, town, branch, "读副本党员", 1).await;

    let committee = app.token(Role::Committee, Some(town));
    let members = || async {
        let res = app
            .authed(
                Method::GET,
                &format!("/api/v1/towns/{town}/summary"),
                &committee,
            )
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        res.json::<Value>().await.unwrap()["members_active"]
            .as_i64()
            .unwrap()
    };
    assert_eq!(members().await, 0, "read from the standby, which lags");
    let res = app
        .authed(
            Method::POST,
            &format!("/api/v1/towns/{town}/branches"),
            &committee,
        )
        .json(&json!({ "name": "写主库村党支部", "kind": "village" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201, "writes go to the primary");

    lose(&standby);
    assert_eq!(
        members().await,
        1,
        "the standby is gone: read from the primary"
    );
    assert_eq!(
        members().await,
        1,
        "and again, without waiting for the standby"
    );
    drop((primary, standby));
    std::fs::remove_dir_all(&root).ok();
}
