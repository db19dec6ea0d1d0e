//! Branches: the committee and the admin manage them; the center branch is permanent.

use party_center::auth::Role;
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{TestApp, problem, uuid};

async fn create(app: &TestApp, town: Uuid, token: &str, body: Value) -> reqwest::Response {
    app.authed(
        Method::POST,
        &format!("/api/v1/towns/{town}/branches"),
        token,
    )
    .json(&body)
    .send()
    .await
    .unwrap()
}

#[tokio::test]
async fn the_committee_creates_branches_of_its_own_town_only() {
    let app = TestApp::spawn().await;
    let town = uuid(&app.create_town("B1").await["id"]);
    let other = uuid(&app.create_town("B2").await["id"]);
    let committee = app.token(Role::Committee, Some(town));

    let res = create(
        &app,
        town,
        &committee,
        json!({"name": "新村党支部", "kind": "village"}),
    )
    .await;
    assert_eq!(res.status(), 201);
    let request_id = res.headers()["x-request-id"].to_str().unwrap().to_owned();
    let branch: Value = res.json().await.unwrap();
    assert_eq!(branch["kind"], "village");
    assert_eq!(uuid(&branch["town_id"]), town);

    let audit: (String, Option<String>) =
        sqlx::query_as("SELECT action, request_id FROM audit_log WHERE resource_id = $1")
            .bind(uuid(&branch["id"]))
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(audit, ("branch.created".into(), Some(request_id)));

    let res = create(
        &app,
        other,
        &committee,
        json!({"name": "x", "kind": "village"}),
    )
    .await;
    problem(res, 404).await;
    for role in [Role::Staff, Role::Member] {
        let res = create(
            &app,
            town,
            &app.token(role, Some(town)),
            json!({"name": "y", "kind": "other"}),
        )
        .await;
        problem(res, 403).await;
    }
    let res = create(
        &app,
        town,
        &app.token(Role::County, None),
        json!({"name": "y", "kind": "other"}),
    )
    .await;
    problem(res, 403).await;
    let res = create(
        &app,
        other,
        &app.admin(),
        json!({"name": "企业支部", "kind": "enterprise"}),
    )
    .await;
    assert_eq!(res.status(), 201, "the admin manages every town");
}

#[tokio::test]
async fn branch_rules_answer_409_and_change_nothing() {
    let app = TestApp::spawn().await;
    let town = uuid(&app.create_town("B3").await["id"]);
    let committee = app.token(Role::Committee, Some(town));
    let res = create(
        &app,
        town,
        &committee,
        json!({"name": "第二中心", "kind": "center"}),
    )
    .await;
    assert_eq!(problem(res, 409).await["code"], "center_branch_exists");
    create(
        &app,
        town,
        &committee,
        json!({"name": "新村党支部", "kind": "village"}),
    )
    .await;
    let res = create(
        &app,
        town,
        &committee,
        json!({"name": "新村党支部", "kind": "organ"}),
    )
    .await;
    assert_eq!(problem(res, 409).await["code"], "branch_name_taken");
    let res = create(
        &app,
        town,
        &committee,
        json!({"name": "x", "kind": "castle"}),
    )
    .await;
    assert_eq!(problem(res, 422).await["errors"][0]["field"], "kind");

    let page: Value = app
        .authed(
            Method::GET,
            &format!("/api/v1/towns/{town}/branches"),
            &committee,
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    let center = items.iter().find(|b| b["kind"] == "center").unwrap();
    let village = items.iter().find(|b| b["kind"] == "village").unwrap();

    let patch = |id: &Value, body: Value| {
        app.authed(
            Method::PATCH,
            &format!("/api/v1/towns/{town}/branches/{}", id.as_str().unwrap()),
            &committee,
        )
        .header("if-match", "\"1\"")
        .json(&body)
        .send()
    };
    let res = patch(&center["id"], json!({"kind": "village"}))
        .await
        .unwrap();
    assert_eq!(
        problem(res, 409).await["code"],
        "center_branch_is_permanent"
    );
    let res = patch(&village["id"], json!({"kind": "center"}))
        .await
        .unwrap();
    assert_eq!(problem(res, 409).await["code"], "center_branch_exists");
    let res = patch(&center["id"], json!({"name": "中心支部"}))
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<Value>().await.unwrap()["name"], "中心支部");
}

#[tokio::test]
async fn the_database_itself_keeps_the_center_branch_and_the_audit_trail() {
    let app = TestApp::spawn().await;
    let town = uuid(&app.create_town("B4").await["id"]);
    let deleted = sqlx::query("DELETE FROM branches WHERE town_id = $1 AND kind = 'center'")
        .bind(town)
        .execute(&app.pool)
        .await;
    assert!(deleted.is_err(), "the center branch cannot be deleted");
    let lonely =
        sqlx::query("INSERT INTO towns (id, code, name, county_code) VALUES ($1, 'B5', 'x', '1')")
            .bind(Uuid::now_v7())
            .execute(&app.pool)
            .await;
    assert!(
        lonely.is_err(),
        "a town without a center branch cannot commit"
    );
    for sql in [
        "UPDATE audit_log SET action = 'x'",
        "DELETE FROM audit_log",
        "TRUNCATE audit_log",
    ] {
        assert!(
            sqlx::raw_sql(sql).execute(&app.pool).await.is_err(),
            "{sql}"
        );
    }
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_log")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(count, 1);
}
