//! A counselling visit at the desk is confidential: seen by the staff member who received
//! it and by the committee, by no one else. Every aggregate keeps to the same rule as the
//! lists it summarises: the town's summary, the change feed, the desk register report.

use std::time::Duration;

use party_center::auth::{MintRequest, Role};
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{TestApp, uuid};

struct Town {
    id: Uuid,
    author: String,
    other_staff: String,
    committee: String,
    county: String,
    entry: Uuid,
}

fn staff(app: &TestApp, town: Uuid, sub: &str) -> String {
    app.keys
        .mint(&MintRequest {
            role: Role::Staff,
            sub: sub.to_owned(),
            town: Some(town),
            county: None,
            member_id: None,
            ttl: Duration::from_secs(600),
        })
        .unwrap()
}

/// A town with one open counselling entry, received by `author`.
async fn town_with_a_counselling_visit(app: &TestApp) -> Town {
    let id = uuid(&app.create_town("K1").await["id"]);
    let author = staff(app, id, "staff-li");
    let res = app
        .authed(
            Method::POST,
            &format!("/api/v1/towns/{id}/desk-entries"),
            &author,
        )
        .json(&json!({
            "visitor_name": "王芳",
            "jurisdiction": "安徽省马鞍山市",
            "category": "counselling",
            "request": "家庭困难，想找人谈谈",
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let entry: Value = res.json().await.unwrap();
    assert_eq!(entry["confidential"], true);
    Town {
        id,
        other_staff: staff(app, id, "staff-wang"),
        committee: app.token(Role::Committee, Some(id)),
        county: app.token(Role::County, None),
        author,
        entry: uuid(&entry["id"]),
    }
}

async fn get(app: &TestApp, path: &str, token: &str) -> Value {
    let res = app.authed(Method::GET, path, token).send().await.unwrap();
    assert_eq!(res.status(), 200, "{path}");
    res.json().await.unwrap()
}

#[tokio::test]
async fn the_summary_counts_a_counselling_visit_only_for_who_may_see_it() {
    let app = TestApp::spawn().await;
    let t = town_with_a_counselling_visit(&app).await;
    let path = format!("/api/v1/towns/{}/summary", t.id);
    for (token, open) in [
        (&t.author, 1),
        (&t.committee, 1),
        (&t.other_staff, 0),
        (&t.county, 0),
    ] {
        assert_eq!(
            get(&app, &path, token).await["desk_entries_open"],
            json!(open)
        );
    }
}

#[tokio::test]
async fn the_feed_shows_a_counselling_visit_only_to_who_may_see_it() {
    let app = TestApp::spawn().await;
    let t = town_with_a_counselling_visit(&app).await;
    let path = format!("/api/v1/towns/{}/events?limit=500", t.id);
    let mentions = |feed: &Value| {
        feed["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["resource_id"] == json!(t.entry))
            .count()
    };
    // The feed shows a commit once no older transaction of the cluster is still open
    // (so that it never skips one); other tests share the cluster, so wait until the
    // committee, who sees everything, sees the entry.
    for _ in 0..50 {
        if mentions(&get(&app, &path, &t.committee).await) == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for (token, seen) in [
        (&t.author, 1),
        (&t.committee, 1),
        (&t.other_staff, 0),
        (&t.county, 0),
    ] {
        let feed = get(&app, &path, token).await;
        assert_eq!(mentions(&feed), seen);
        assert!(
            !feed["items"].as_array().unwrap().is_empty(),
            "the town's other events still show"
        );
    }
}

#[tokio::test]
async fn the_desk_register_report_leaves_a_counselling_visit_out_for_others() {
    let app = TestApp::spawn().await;
    let t = town_with_a_counselling_visit(&app).await;
    let today = chrono::Utc::now().date_naive();
    let path = format!(
        "/api/v1/towns/{}/reports/desk-register?from={}&to={}",
        t.id,
        today - chrono::Days::new(1),
        today + chrono::Days::new(1)
    );
    for (token, rows) in [
        (&t.author, 1),
        (&t.committee, 1),
        (&t.other_staff, 0),
        (&t.county, 0),
    ] {
        let report = get(&app, &path, token).await;
        assert_eq!(report["rows"].as_array().unwrap().len(), rows);
    }
}
