//! Several `party-center serve` processes on one database, as behind a load balancer
//! (issue 15): each test runs three servers with their own pools and event listeners
//! over one PostgreSQL database. Nothing of consequence is per process: idempotency
//! keys, the feed and its wake-ups, and migrations all go through the database.

use std::collections::HashSet;

use party_center::auth::Role;
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{TestApp, uuid};

async fn three() -> (TestApp, TestApp, TestApp) {
    let a = TestApp::spawn().await;
    let b = a.replica().await;
    let c = a.replica().await;
    (a, b, c)
}

/// The same `Idempotency-Key` sent to three replicas at once has one effect, and every
/// replica answers with that one result.
#[tokio::test]
async fn one_key_retried_on_every_replica_at_once_has_one_effect() {
    let (a, b, c) = three().await;
    let town = uuid(&a.create_town("RP1").await["id"]);
    let committee = a.token(Role::Committee, Some(town));
    let key = Uuid::now_v7().to_string();
    let body = json!({ "name": "三村党支部", "kind": "village" });
    let send = |app: &TestApp| {
        app.authed(
            Method::POST,
            &format!("/api/v1/towns/{town}/branches"),
            &committee,
        )
        .header("idempotency-key", key.as_str())
        .json(&body)
        .send()
    };
    let (ra, rb, rc) = tokio::join!(send(&a), send(&b), send(&c));
    let mut ids = HashSet::new();
    let mut replayed = 0;
    for res in [ra, rb, rc] {
        let res = res.unwrap();
        assert_eq!(res.status(), 201);
        if res.headers().get("idempotent-replayed").is_some() {
            replayed += 1;
        }
        let branch: Value = res.json().await.unwrap();
        ids.insert(branch["id"].as_str().unwrap().to_owned());
    }
    assert_eq!(ids.len(), 1, "one branch, the same answer everywhere");
    assert_eq!(replayed, 2, "the other two replayed the first answer");
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM branches WHERE name = '三村党支部'")
        .fetch_one(&a.pool)
        .await
        .unwrap();
    assert_eq!(n, 1);
}

/// Writers on every replica, a reader paging the feed on a third: every event once, in
/// one order, and a long-poll on one replica wakes for a write made on another.
#[tokio::test]
async fn the_feed_is_whole_with_writers_on_every_replica() {
    let (a, b, c) = three().await;
    let town = uuid(&a.create_town("RP2").await["id"]);
    let committee = a.token(Role::Committee, Some(town));
    let county = a.token(Role::County, None);
    let writers = (0..30).map(|i| {
        let app = [&a, &b, &c][i % 3];
        let committee = committee.clone();
        async move {
            let res = app
                .authed(
                    Method::POST,
                    &format!("/api/v1/towns/{town}/branches"),
                    &committee,
                )
                .json(&json!({ "name": format!("第{i}支部"), "kind": "village" }))
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 201);
        }
    });
    let reader = async {
        let mut seen: Vec<String> = Vec::new();
        let mut cursor: Option<String> = None;
        // town.created + 30 branch.created
        while seen.len() < 31 {
            let mut url = format!("/api/v1/towns/{town}/events?limit=7&wait=2");
            if let Some(c) = &cursor {
                url.push_str(&format!("&cursor={c}"));
            }
            let page: Value = c
                .authed(Method::GET, &url, &county)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            for e in page["items"].as_array().unwrap() {
                seen.push(e["cursor"].as_str().unwrap().to_owned());
            }
            cursor = Some(page["next_cursor"].as_str().unwrap().to_owned());
        }
        (seen, cursor.unwrap())
    };
    let ((seen, last), _) = tokio::join!(reader, futures_util::future::join_all(writers));
    let unique: HashSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "no event twice");
    assert_eq!(seen.len(), 31, "every event");

    // A long-poll on replica b, a write on replica a: b answers with it.
    let poll = b
        .authed(
            Method::GET,
            &format!("/api/v1/towns/{town}/events?cursor={last}&wait=20"),
            &county,
        )
        .send();
    let write = async {
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        let res = a
            .authed(
                Method::POST,
                &format!("/api/v1/towns/{town}/branches"),
                &committee,
            )
            .json(&json!({ "name": "后来的支部", "kind": "village" }))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201);
    };
    let (page, ()) = tokio::join!(poll, write);
    let page: Value = page.unwrap().json().await.unwrap();
    assert_eq!(page["items"].as_array().unwrap().len(), 1, "{page}");
    assert_eq!(page["items"][0]["type"], "branch.created");
}

/// Three replicas starting at once on a new database: the migrations run once, one
/// replica at a time (sqlx holds an advisory lock while it migrates), and all three
/// come up.
#[tokio::test]
async fn replicas_migrating_at_once_apply_each_migration_once() {
    let options = TestApp::empty_database().await;
    let settings = party_center::config::Settings::from_env().unwrap();
    let pools: Vec<sqlx::PgPool> = (0..3)
        .map(|_| party_center::db::pool(&settings, options.clone()))
        .collect();
    let results = futures_util::future::join_all(pools.iter().map(party_center::db::migrate)).await;
    for r in &results {
        assert!(r.is_ok(), "{r:?}");
    }
    let applied: i64 = sqlx::query_scalar("SELECT count(*) FROM _sqlx_migrations WHERE success")
        .fetch_one(&pools[0])
        .await
        .unwrap();
    assert_eq!(applied as usize, party_center::db::MIGRATOR.iter().count());
    for pool in &pools {
        assert!(party_center::db::ready(pool).await);
    }
}
