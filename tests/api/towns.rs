//! Towns: creation with a center branch, idempotency, ETags, paging and who sees what.

use party_center::auth::Role;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_replayed, problem, uuid};

fn new_town(code: &str) -> Value {
    json!({ "code": code, "name": "铁心桥", "county_code": "320114", "time_zone": "Asia/Shanghai" })
}

#[tokio::test]
async fn an_admin_creates_a_town_with_its_center_branch() {
    let app = TestApp::spawn().await;
    let res = app
        .authed(Method::POST, "/api/v1/towns", &app.admin())
        .json(&new_town("T1"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    assert_eq!(res.headers()["etag"], "\"1\"");
    let town: Value = {
        let location = res.headers()["location"].to_str().unwrap().to_owned();
        let town: Value = res.json().await.unwrap();
        assert_eq!(
            location,
            format!("/api/v1/towns/{}", town["id"].as_str().unwrap())
        );
        town
    };
    assert_eq!(town["code"], "T1");
    assert_eq!(town["time_zone"], "Asia/Shanghai");
    let id = uuid(&town["id"]);
    let res = app
        .authed(
            Method::GET,
            &format!("/api/v1/towns/{id}/branches?kind=center"),
            &app.admin(),
        )
        .send()
        .await
        .unwrap();
    let page: Value = res.json().await.unwrap();
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    assert_eq!(page["items"][0]["name"], "党员服务转化中心支部");

    let audit: (String, String, String) =
        sqlx::query_as("SELECT action, actor_role, actor_sub FROM audit_log WHERE town_id = $1")
            .bind(id)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(
        audit,
        ("town.created".into(), "admin".into(), "admin-tester".into())
    );
}

#[tokio::test]
async fn a_town_code_is_unique() {
    let app = TestApp::spawn().await;
    app.create_town("T2").await;
    let res = app
        .authed(Method::POST, "/api/v1/towns", &app.admin())
        .json(&new_town("T2"))
        .send()
        .await
        .unwrap();
    assert_eq!(problem(res, 409).await["code"], "town_code_taken");
}

#[tokio::test]
async fn an_idempotency_key_replays_the_first_answer() {
    let app = TestApp::spawn().await;
    let send = |body: Value| {
        app.authed(Method::POST, "/api/v1/towns", &app.admin())
            .header("idempotency-key", "create-T3")
            .json(&body)
            .send()
    };
    let first = send(new_town("T3")).await.unwrap();
    assert_eq!(first.status(), 201);
    assert!(first.headers().get("idempotent-replayed").is_none());
    let first_etag = first.headers()["etag"].clone();
    let first: Value = first.json().await.unwrap();
    let again = send(new_town("T3")).await.unwrap();
    let headers = assert_replayed(again, 201, &first).await;
    assert_eq!(headers["etag"], first_etag);

    let other = send(new_town("T4")).await.unwrap();
    assert_eq!(problem(other, 422).await["code"], "idempotency_key_reused");
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM towns")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(count, 1);
}

#[tokio::test]
async fn concurrent_requests_with_one_key_create_one_town() {
    let app = TestApp::spawn().await;
    let admin = app.admin();
    let requests = (0..16).map(|_| {
        app.authed(Method::POST, "/api/v1/towns", &admin)
            .header("idempotency-key", "same-key")
            .json(&new_town("T5"))
            .send()
    });
    let answers = futures_util::future::join_all(requests).await;
    let mut bodies = Vec::new();
    for res in answers {
        let res = res.unwrap();
        assert_eq!(res.status(), 201);
        bodies.push(res.json::<Value>().await.unwrap());
    }
    assert!(bodies.windows(2).all(|w| w[0] == w[1]), "identical answers");
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM towns")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(count, 1);
}

#[tokio::test]
async fn changes_need_the_current_etag() {
    let app = TestApp::spawn().await;
    let id = uuid(&app.create_town("T6").await["id"]);
    let path = format!("/api/v1/towns/{id}");
    let patch = |etag: Option<&str>, body: Value| {
        let mut req = app.authed(Method::PATCH, &path, &app.admin()).json(&body);
        if let Some(etag) = etag {
            req = req.header("if-match", etag);
        }
        req.send()
    };
    let res = patch(None, json!({"name": "新名"})).await.unwrap();
    assert_eq!(problem(res, 428).await["code"], "precondition_required");
    let res = patch(Some("\"1\""), json!({"name": "新名"})).await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["etag"], "\"2\"");
    assert_eq!(res.json::<Value>().await.unwrap()["name"], "新名");
    let res = patch(Some("\"1\""), json!({"name": "旧名"})).await.unwrap();
    assert_eq!(problem(res, 412).await["code"], "precondition_failed");
    let res = patch(Some("\"2\""), json!({"code": "NEW"})).await.unwrap();
    assert_eq!(
        problem(res, 422).await["errors"][0]["code"],
        "unknown_field"
    );
    let res = app
        .authed(Method::GET, &path, &app.admin())
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["etag"], "\"2\"");
    assert_eq!(res.json::<Value>().await.unwrap()["name"], "新名");
    let res = patch(Some("W/\"2\""), json!({"name": "x"})).await.unwrap();
    assert_eq!(
        problem(res, 400).await["code"],
        "invalid_if_match",
        "weak tags do not match"
    );
    let res = patch(Some("*"), json!({"time_zone": "Asia/Urumqi"}))
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "`*` matches any current version");
    assert_eq!(res.headers()["etag"], "\"3\"");
    let res = patch(Some("\"3\""), json!({"time_zone": "Mars/Olympus"}))
        .await
        .unwrap();
    assert_eq!(problem(res, 422).await["errors"][0]["field"], "time_zone");

    let committee = app.token(Role::Committee, Some(id));
    let res = app
        .authed(Method::PATCH, &path, &committee)
        .header("if-match", "\"2\"")
        .json(&json!({"name": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(problem(res, 403).await["code"], "forbidden");
}

#[tokio::test]
async fn lists_page_by_cursor() {
    let app = TestApp::spawn().await;
    for code in ["L1", "L2", "L3"] {
        app.create_town(code).await;
    }
    let first: Value = app
        .authed(Method::GET, "/api/v1/towns?limit=2", &app.admin())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let codes = |page: &Value| -> Vec<String> {
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["code"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(codes(&first), ["L1", "L2"]);
    let cursor = first["next_cursor"].as_str().unwrap();
    let second: Value = app
        .authed(
            Method::GET,
            &format!("/api/v1/towns?limit=2&cursor={cursor}"),
            &app.admin(),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(codes(&second), ["L3"]);
    assert!(second["next_cursor"].is_null());
}

#[tokio::test]
async fn each_role_sees_only_the_towns_it_covers() {
    let app = TestApp::spawn().await;
    let mine = uuid(&app.create_town("V1").await["id"]);
    app.create_town("V2").await;
    let elsewhere = app
        .authed(Method::POST, "/api/v1/towns", &app.admin())
        .json(&json!({"code": "V3", "name": "外县", "county_code": "999999"}))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    let app = &app;
    let list = |token: String| async move {
        let page: Value = app
            .authed(Method::GET, "/api/v1/towns", &token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["code"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(list(app.admin()).await, ["V1", "V2", "V3"]);
    assert_eq!(
        list(app.token(Role::County, None)).await,
        ["V1", "V2"],
        "county 320114 only"
    );
    for role in [Role::Staff, Role::Committee, Role::Member] {
        assert_eq!(list(app.token(role, Some(mine))).await, ["V1"], "{role:?}");
    }
    let county = app.token(Role::County, None);
    let res = app
        .authed(
            Method::GET,
            &format!("/api/v1/towns/{}", elsewhere["id"].as_str().unwrap()),
            &county,
        )
        .send()
        .await
        .unwrap();
    problem(res, 404).await;
}

/// A town's "today" is read by the database inside the statements that need it (issue
/// 11), so the database refuses to store a zone it could not use; through the API such
/// a zone answers 422 on `time_zone`, never a 500 later.
#[tokio::test]
async fn the_database_keeps_only_time_zones_it_can_use() {
    let app = TestApp::spawn().await;
    let res = app
        .authed(Method::POST, "/api/v1/towns", &app.admin())
        .header("idempotency-key", "create-T9")
        .json(&new_town("T9"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let id = uuid(&res.json::<Value>().await.unwrap()["id"]);
    let err = sqlx::query("UPDATE towns SET time_zone = 'Mars/Olympus' WHERE id = $1")
        .bind(id)
        .execute(&app.pool)
        .await
        .unwrap_err();
    assert_eq!(
        err.as_database_error().and_then(|e| e.constraint()),
        Some("towns_time_zone_known")
    );
    let fine = sqlx::query("UPDATE towns SET time_zone = 'Asia/Urumqi' WHERE id = $1")
        .bind(id)
        .execute(&app.pool)
        .await;
    assert!(fine.is_ok(), "a zone the database knows is kept");
    let mapped = party_center::error::constraints::meaning("towns_time_zone_known");
    assert_eq!(
        mapped,
        Some(party_center::error::constraints::Meaning::Client(
            party_center::error::constraints::Known::Invalid(
                party_center::error::constraints::TIME_ZONE_UNKNOWN
            )
        )),
        "the violation is the client's 422 on time_zone"
    );
}
