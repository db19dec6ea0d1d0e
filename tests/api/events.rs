//! The change feed: every committed write, once, in a stable order, while writers run.

use std::collections::HashSet;

use party_center::auth::Role;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, problem, uuid};

async fn page(
    app: &TestApp,
    town: uuid::Uuid,
    token: &str,
    after: Option<&str>,
    wait: u32,
) -> Value {
    let mut url = format!("/api/v1/towns/{town}/events?limit=7&wait={wait}");
    if let Some(a) = after {
        url.push_str(&format!("&after={a}"));
    }
    let res = app.authed(Method::GET, &url, token).send().await.unwrap();
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

#[tokio::test]
async fn a_reader_paging_while_writers_commit_sees_every_event_exactly_once() {
    let app = TestApp::spawn_with(|settings, _| settings.db_max_connections = 30).await;
    let town = uuid(&app.create_town("E1").await["id"]);
    let committee = app.token(Role::Committee, Some(town));
    let county = app.token(Role::County, None);
    let writers = (0..40).map(|i| {
        let app = &app;
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
        // 1 town.created + 40 branch.created
        while seen.len() < 41 {
            let p = page(&app, town, &county, cursor.as_deref(), 2).await;
            for e in p["items"].as_array().unwrap() {
                seen.push(e["cursor"].as_str().unwrap().to_owned());
            }
            cursor = Some(p["next_cursor"].as_str().unwrap().to_owned());
        }
        (seen, cursor)
    };
    let (_, (seen, cursor)) = tokio::join!(futures_util::future::join_all(writers), reader);
    let unique: HashSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "no event twice");
    assert_eq!(seen.len(), 41, "no event missed");
    let again = page(&app, town, &county, cursor.as_deref(), 0).await;
    assert!(
        again["items"].as_array().unwrap().is_empty(),
        "nothing after the end"
    );

    // A second reader from the start sees the same events in the same order.
    let mut replay = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let p = page(&app, town, &county, cursor.as_deref(), 0).await;
        let items = p["items"].as_array().unwrap().clone();
        if items.is_empty() {
            break;
        }
        replay.extend(
            items
                .iter()
                .map(|e| e["cursor"].as_str().unwrap().to_owned()),
        );
        cursor = Some(p["next_cursor"].as_str().unwrap().to_owned());
    }
    assert_eq!(replay, seen, "a stable order");
}

#[tokio::test]
async fn a_long_poll_wakes_when_a_write_commits() {
    let app = TestApp::spawn().await;
    let town = uuid(&app.create_town("E2").await["id"]);
    let staff = app.token(Role::Staff, Some(town));
    // Events become readable once every older transaction of the cluster has ended (other
    // tests run beside this one): wait for the town's own first event.
    let start = page(&app, town, &staff, None, 20).await;
    assert_eq!(start["items"][0]["type"], "town.created");
    let cursor = start["next_cursor"].as_str().unwrap().to_owned();
    let waiting = page(&app, town, &staff, Some(&cursor), 20);
    let write = async {
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        app.authed(
            Method::POST,
            &format!("/api/v1/towns/{town}/branches"),
            &app.admin(),
        )
        .json(&json!({ "name": "新支部", "kind": "organ" }))
        .send()
        .await
        .unwrap()
    };
    let (woken, _) = tokio::join!(waiting, write);
    let items = woken["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "the waiting read returns the new event");
    assert_eq!(items[0]["type"], "branch.created");
    assert!(
        !items[0]["data"].to_string().contains("新支部"),
        "payloads carry ids and states, not names"
    );
}

#[tokio::test]
async fn the_feed_is_for_the_towns_a_caller_covers() {
    let app = TestApp::spawn().await;
    let town = uuid(&app.create_town("E3").await["id"]);
    let other = uuid(&app.create_town("E4").await["id"]);
    let url = format!("/api/v1/towns/{town}/events");
    for token in [app.token(Role::Member, Some(town)), app.admin()] {
        problem(
            app.authed(Method::GET, &url, &token).send().await.unwrap(),
            403,
        )
        .await;
    }
    let staff_elsewhere = app.token(Role::Staff, Some(other));
    problem(
        app.authed(Method::GET, &url, &staff_elsewhere)
            .send()
            .await
            .unwrap(),
        404,
    )
    .await;
    let bad = app
        .authed(
            Method::GET,
            &format!("{url}?after=nope"),
            &app.token(Role::Staff, Some(town)),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(problem(bad, 400).await["code"], "invalid_cursor");
    let long = app
        .authed(
            Method::GET,
            &format!("{url}?wait=31"),
            &app.token(Role::Staff, Some(town)),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(problem(long, 400).await["code"], "invalid_wait");
}

/// The feed pages with `cursor=` like every other list; `after=` is the same cursor by
/// its first name, and the two together are refused.
#[tokio::test]
async fn the_feed_pages_with_cursor_and_keeps_after_as_its_alias() {
    let app = TestApp::spawn().await;
    let town = uuid(&app.create_town("E7").await["id"]);
    let committee = app.token(Role::Committee, Some(town));
    for i in 0..3 {
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
    let url = format!("/api/v1/towns/{town}/events");
    let get = |query: String| {
        let app = &app;
        let committee = committee.clone();
        let url = url.clone();
        async move {
            app.authed(Method::GET, &format!("{url}?{query}"), &committee)
                .send()
                .await
                .unwrap()
        }
    };
    // The feed hands out a commit once no older transaction of the cluster is open (the
    // tests share one), so wait until all four events show before paging through them.
    for _ in 0..50 {
        let all: Value = get("limit=10".into()).await.json().await.unwrap();
        if all["items"].as_array().unwrap().len() == 4 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let first: Value = get("limit=2".into()).await.json().await.unwrap();
    let next = first["next_cursor"].as_str().unwrap().to_owned();
    let by_cursor: Value = get(format!("cursor={next}")).await.json().await.unwrap();
    let by_after: Value = get(format!("after={next}")).await.json().await.unwrap();
    assert_eq!(by_cursor["items"], by_after["items"]);
    // 1 town.created + 3 branch.created: two read, two follow the cursor.
    assert_eq!(
        by_cursor["items"].as_array().unwrap().len(),
        2,
        "{by_cursor}"
    );
    assert_ne!(
        by_cursor["items"][0], first["items"][0],
        "the cursor is not ignored"
    );
    let both = get(format!("cursor={next}&after={next}")).await;
    assert_eq!(problem(both, 400).await["code"], "invalid_query");
}
