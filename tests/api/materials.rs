//! The center's materials through the real server: the catalogue, loans that cannot take
//! more copies than are on the shelf (concurrent ones included), returns, overdue loans,
//! the holding that cannot go below what is lent, roles and towns.

use chrono::{Days, NaiveDate};
use party_center::auth::Role;
use reqwest::{Method, Response};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::cases::{Setup, setup};
use crate::helpers::{TestApp, assert_replayed, problem};

fn today() -> NaiveDate {
    chrono::Utc::now()
        .with_timezone(&chrono_tz::Asia::Shanghai)
        .date_naive()
}

fn days_ago(n: u64) -> NaiveDate {
    today().checked_sub_days(Days::new(n)).unwrap()
}

async fn catalogue(app: &TestApp, s: &Setup, copies: i32) -> Value {
    let res = app
        .authed(
            Method::POST,
            &format!("/api/v1/towns/{}/materials", s.town),
            &s.staff,
        )
        .json(&json!({ "title": "中国共产党章程", "kind": "book", "copies": copies }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    res.json().await.unwrap()
}

async fn lend(
    app: &TestApp,
    s: &Setup,
    m: &Value,
    copies: i32,
    lent: NaiveDate,
    due: NaiveDate,
) -> Response {
    app.authed(
        Method::POST,
        &format!("/api/v1/towns/{}/materials/{}/loans", s.town, m["id"].as_str().unwrap()),
        &s.staff,
    )
    .json(&json!({ "branch_id": s.village, "borrower": "王建国", "copies": copies, "lent_on": lent, "due_on": due }))
    .send()
    .await
    .unwrap()
}

async fn material(app: &TestApp, s: &Setup, m: &Value) -> Value {
    app.authed(
        Method::GET,
        &format!(
            "/api/v1/towns/{}/materials/{}",
            s.town,
            m["id"].as_str().unwrap()
        ),
        &s.staff,
    )
    .send()
    .await
    .unwrap()
    .json()
    .await
    .unwrap()
}

async fn loans(app: &TestApp, s: &Setup, query: &str, token: &str) -> Vec<Value> {
    let v: Value = app
        .authed(
            Method::GET,
            &format!("/api/v1/towns/{}/material-loans?{query}", s.town),
            token,
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["items"].as_array().unwrap().clone()
}

#[tokio::test]
async fn a_loan_takes_at_most_the_copies_on_the_shelf_until_returned() {
    let app = TestApp::spawn().await;
    let s = setup(&app, "320114401").await;
    let m = catalogue(&app, &s, 3).await;
    assert_eq!(
        (m["available"].as_i64(), m["on_loan"].as_i64()),
        (Some(3), Some(0))
    );
    let res = lend(&app, &s, &m, 2, today(), days_ago(0)).await;
    assert_eq!(res.status(), 201);
    let loan: Value = res.json().await.unwrap();
    assert_eq!(loan["overdue"], false);
    let p = problem(lend(&app, &s, &m, 2, today(), today()).await, 409).await;
    assert_eq!(p["code"], "not_enough_copies");
    let after = material(&app, &s, &m).await;
    assert_eq!(
        (after["available"].as_i64(), after["on_loan"].as_i64()),
        (Some(1), Some(2))
    );

    // The holding cannot go below what is lent.
    let url = format!(
        "/api/v1/towns/{}/materials/{}",
        s.town,
        m["id"].as_str().unwrap()
    );
    let res = app
        .authed(Method::PATCH, &url, &s.staff)
        .header("if-match", "\"1\"")
        .json(&json!({ "copies": 1 }))
        .send()
        .await
        .unwrap();
    assert_eq!(problem(res, 409).await["code"], "copies_on_loan");
    let res = app
        .authed(Method::PATCH, &url, &s.staff)
        .header("if-match", "\"1\"")
        .json(&json!({ "copies": 4 }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<Value>().await.unwrap()["available"], 2);

    // The return puts the copies back, once.
    let ret = format!(
        "/api/v1/towns/{}/material-loans/{}/return",
        s.town,
        loan["id"].as_str().unwrap()
    );
    let res = app
        .authed(Method::POST, &ret, &s.staff)
        .json(&json!({ "returned_on": today() }))
        .send()
        .await
        .unwrap();
    problem(res, 428).await;
    let res = app
        .authed(Method::POST, &ret, &s.staff)
        .header("if-match", "\"1\"")
        .json(&json!({ "returned_on": today() }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let back: Value = res.json().await.unwrap();
    assert_eq!(back["returned_on"], json!(today()));
    let res = app
        .authed(Method::POST, &ret, &s.staff)
        .header("if-match", "*")
        .json(&json!({ "returned_on": today() }))
        .send()
        .await
        .unwrap();
    assert_eq!(problem(res, 409).await["code"], "loan_returned");
    assert_eq!(material(&app, &s, &m).await["available"], 4);
}

#[tokio::test]
async fn concurrent_loans_never_take_more_than_the_holding() {
    let app = TestApp::spawn().await;
    let s = setup(&app, "320114402").await;
    let m = catalogue(&app, &s, 3).await;
    let tries = (0..8).map(|_| lend(&app, &s, &m, 1, today(), today()));
    let statuses: Vec<u16> = futures_util::future::join_all(tries)
        .await
        .into_iter()
        .map(|r| r.status().as_u16())
        .collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        3,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 409).count(),
        5,
        "{statuses:?}"
    );
    assert_eq!(material(&app, &s, &m).await["available"], 0);
}

#[tokio::test]
async fn overdue_loans_are_listed_and_the_county_reads_them() {
    let app = TestApp::spawn().await;
    let s = setup(&app, "320114403").await;
    let m = catalogue(&app, &s, 5).await;
    let late: Value = lend(&app, &s, &m, 1, days_ago(40), days_ago(10))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(late["overdue"], true);
    lend(&app, &s, &m, 1, days_ago(5), today()).await;
    let county = app.token(Role::County, None);
    let overdue = loans(&app, &s, "overdue=true", &county).await;
    assert_eq!(overdue.len(), 1);
    assert_eq!(overdue[0]["id"], late["id"]);
    assert_eq!(loans(&app, &s, "open=true", &s.staff).await.len(), 2);
    assert_eq!(loans(&app, &s, "open=false", &s.staff).await.len(), 0);
    // County reads, but does not lend.
    let res = app
        .authed(
            Method::POST,
            &format!("/api/v1/towns/{}/materials", s.town),
            &county,
        )
        .json(&json!({ "title": "党报", "kind": "party_press", "copies": 1 }))
        .send()
        .await
        .unwrap();
    assert_eq!(problem(res, 403).await["code"], "forbidden");
}

#[tokio::test]
async fn creating_writes_replay_by_key_and_check_every_field() {
    let app = TestApp::spawn().await;
    let s = setup(&app, "320114404").await;
    let url = format!("/api/v1/towns/{}/materials", s.town);
    let send = || {
        app.authed(Method::POST, &url, &s.staff)
            .header("idempotency-key", "m-1")
            .json(&json!({ "title": "人民日报合订本", "kind": "party_press", "copies": 2 }))
            .send()
    };
    let first: Value = send().await.unwrap().json().await.unwrap();
    assert_replayed(send().await.unwrap(), 201, &first).await;
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM materials WHERE town_id = $1")
        .bind(s.town)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(n, 1);
    let m = first;
    let p = problem(
        lend(&app, &s, &m, 0, today().succ_opt().unwrap(), today()).await,
        422,
    )
    .await;
    let codes: Vec<&str> = p["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["out_of_range", "in_the_future", "before_lent_on"]);
    // A branch of another town is not a branch to lend to; a material of another town is not found.
    let other = setup(&app, "320114405").await;
    let res = app.authed(Method::POST, &format!("/api/v1/towns/{}/materials/{}/loans", s.town, m["id"].as_str().unwrap()), &s.staff)
        .json(&json!({ "branch_id": other.village, "borrower": "王", "lent_on": today(), "due_on": today() }))
        .send().await.unwrap();
    assert_eq!(
        problem(res, 422).await["errors"][0]["code"],
        "unknown_branch"
    );
    let res = app
        .authed(
            Method::GET,
            &format!("/api/v1/towns/{}/materials/{}", other.town, Uuid::now_v7()),
            &other.staff,
        )
        .send()
        .await
        .unwrap();
    problem(res, 404).await;
    let res = app
        .authed(
            Method::GET,
            &format!(
                "/api/v1/towns/{}/materials/{}",
                s.town,
                m["id"].as_str().unwrap()
            ),
            &other.staff,
        )
        .send()
        .await
        .unwrap();
    problem(res, 404).await;
}
