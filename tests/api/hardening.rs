//! What outside testing found loose (issue 12): bodies parse strictly, unknown query
//! parameters are refused, and texts refuse characters that display misleadingly.

use party_center::auth::Role;
use reqwest::Method;
use serde_json::json;

use crate::helpers::{TestApp, center_branch, national_id, problem};

#[tokio::test]
async fn a_body_followed_by_anything_but_whitespace_is_malformed_and_writes_nothing() {
    let app = TestApp::spawn().await;
    let admin = app.admin();
    let one = json!({"code": "T1", "name": "一镇", "county_code": "1"}).to_string();
    for body in [
        format!("{one} {{\"x\": 1}} garbage"),
        format!("{one}{one}"),
        format!("{one} ,"),
    ] {
        let res = app
            .authed(Method::POST, "/api/v1/towns", &admin)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(problem(res, 400).await["code"], "malformed_json");
    }
    let towns: i64 = sqlx::query_scalar("SELECT count(*) FROM towns")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(towns, 0, "no town was created by a refused body");
    let res = app
        .authed(Method::POST, "/api/v1/towns", &admin)
        .header("content-type", "application/json")
        .body(format!("\n {one} \r\n"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201, "whitespace around the document is fine");
}

#[tokio::test]
async fn a_misspelt_query_parameter_is_a_400_that_names_it() {
    let app = TestApp::spawn().await;
    let town = app.create_town("T1").await;
    let town = town["id"].as_str().unwrap();
    let staff = app.token(Role::Staff, Some(town.parse().unwrap()));
    let res = app
        .authed(
            Method::GET,
            &format!("/api/v1/towns/{town}/members?statuss=active"),
            &staff,
        )
        .send()
        .await
        .unwrap();
    let body = problem(res, 400).await;
    assert_eq!(body["code"], "invalid_query");
    assert!(
        body["detail"].as_str().unwrap().contains("statuss"),
        "{body}"
    );
    let res = app
        .authed(
            Method::GET,
            &format!("/api/v1/towns/{town}/members?status=active&limit=5"),
            &staff,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "documented parameters pass");
}

#[tokio::test]
async fn names_with_bidirectional_overrides_are_refused() {
    let app = TestApp::spawn().await;
    let town = app.create_town("T1").await;
    let town: uuid::Uuid = town["id"].as_str().unwrap().parse().unwrap();
    let branch = center_branch(&app, town).await;
    let staff = app.token(Role::Staff, Some(town));
    let res = app
        .authed(
            Method::POST,
            &format!("/api/v1/towns/{town}/members"),
            &staff,
        )
        .json(&json!({
            "name": "张\u{202e}三",
            "national_id": national_id(1),
            "branch_id": branch,
        }))
        .send()
        .await
        .unwrap();
    let body = problem(res, 422).await;
    assert_eq!(body["errors"][0]["field"], "name", "{body}");
    assert_eq!(body["errors"][0]["code"], "control_characters");
}

/// The service remembers towns it has seen (towns are never deleted); the database makes
/// sure that stays true.
#[tokio::test]
async fn a_town_cannot_be_deleted_even_by_hand() {
    let app = TestApp::spawn().await;
    let town = app.create_town("T1").await;
    let id: uuid::Uuid = town["id"].as_str().unwrap().parse().unwrap();
    let delete = sqlx::query("DELETE FROM towns WHERE id = $1")
        .bind(id)
        .execute(&app.pool)
        .await;
    let refused = delete.unwrap_err().to_string();
    assert!(refused.contains("towns is append-only"), "{refused}");
    let truncate = sqlx::raw_sql("TRUNCATE towns CASCADE")
        .execute(&app.pool)
        .await;
    let refused = truncate.unwrap_err().to_string();
    assert!(refused.contains("not allowed"), "{refused}");
    let staff = app.token(Role::Staff, Some(id));
    let res = app
        .authed(Method::GET, &format!("/api/v1/towns/{id}/members"), &staff)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn a_bad_path_or_query_value_is_named_in_the_language_asked_for() {
    let app = TestApp::spawn().await;
    let town = app.create_town("T1").await;
    let town = town["id"].as_str().unwrap();
    let staff = app.token(Role::Staff, Some(town.parse().unwrap()));
    let ask = |path: String, lang: &'static str| {
        app.authed(Method::GET, &path, &staff)
            .header("accept-language", lang)
            .send()
    };
    let body = problem(
        ask(format!("/api/v1/towns/{town}/members/12"), "zh")
            .await
            .unwrap(),
        400,
    )
    .await;
    assert_eq!(body["code"], "invalid_path");
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("路径参数 member 须为 UUID"),
        "{body}"
    );
    let path = format!("/api/v1/towns/{town}/members?reserve_cadre=yes");
    let body = problem(ask(path.clone(), "en").await.unwrap(), 400).await;
    assert_eq!(
        body["detail"],
        "Query parameter `reserve_cadre` must be true or false."
    );
    let body = problem(ask(path, "zh-CN").await.unwrap(), 400).await;
    assert_eq!(
        body["detail"],
        "查询参数 reserve_cadre 须为 true 或 false。"
    );
}

#[tokio::test]
async fn a_403_names_the_roles_that_may() {
    let app = TestApp::spawn().await;
    let town = app.create_town("T1").await;
    let town: uuid::Uuid = town["id"].as_str().unwrap().parse().unwrap();
    let county = app.token(Role::County, None);
    let res = app
        .authed(
            Method::POST,
            &format!("/api/v1/towns/{town}/members"),
            &county,
        )
        .header("accept-language", "en")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    let body = problem(res, 403).await;
    assert_eq!(body["code"], "forbidden");
    assert_eq!(
        body["detail"],
        "Your role may not do this; the roles that may: staff, committee."
    );
}

#[tokio::test]
async fn a_read_with_a_current_etag_is_304_and_a_stale_one_200() {
    let app = TestApp::spawn().await;
    let town = app.create_town("T1").await;
    let id = town["id"].as_str().unwrap();
    let admin = app.admin();
    let path = format!("/api/v1/towns/{id}");
    let first = app.authed(Method::GET, &path, &admin).send().await.unwrap();
    let etag = first.headers()["etag"].to_str().unwrap().to_owned();
    for held in [etag.clone(), format!("\"999\", {etag}"), "*".to_owned()] {
        let res = app
            .authed(Method::GET, &path, &admin)
            .header("if-none-match", &held)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 304, "{held}");
        assert_eq!(res.headers()["etag"], etag.as_str());
        assert!(res.bytes().await.unwrap().is_empty());
    }
    let stale = app
        .authed(Method::GET, &path, &admin)
        .header("if-none-match", "\"999\"")
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status(), 200);
    let other_town = app.create_town("T2").await;
    let staff = app.token(
        Role::Staff,
        Some(other_town["id"].as_str().unwrap().parse().unwrap()),
    );
    let hidden = app
        .authed(Method::GET, &path, &staff)
        .header("if-none-match", "*")
        .send()
        .await
        .unwrap();
    assert_eq!(
        hidden.status(),
        404,
        "a 304 never says more than the 200 would"
    );
}

/// Every date of a request lies between 1900-01-01 and 2099-12-31, in bodies and in
/// queries, and the document says so in one `CalendarDate` schema.
#[tokio::test]
async fn dates_outside_the_documented_bounds_are_refused_and_nothing_is_written() {
    let app = TestApp::spawn().await;
    let town = app.create_town("T1").await;
    let town: uuid::Uuid = town["id"].as_str().unwrap().parse().unwrap();
    let branch = center_branch(&app, town).await;
    let staff = app.token(Role::Staff, Some(town));
    for (day, lang, expect) in [
        ("0000-01-01", "zh", "超出范围"),
        ("1899-12-31", "en", "outside 1900-01-01 … 2099-12-31"),
        ("2100-01-01", "zh", "1900-01-01 … 2099-12-31"),
    ] {
        let res = app
            .authed(
                Method::POST,
                &format!("/api/v1/towns/{town}/members"),
                &staff,
            )
            .header("accept-language", lang)
            .json(&json!({
                "name": "张三",
                "national_id": national_id(1),
                "branch_id": branch,
                "joined_party_on": day,
            }))
            .send()
            .await
            .unwrap();
        let body = problem(res, 422).await;
        assert_eq!(body["errors"][0]["field"], "joined_party_on", "{body}");
        assert_eq!(body["errors"][0]["code"], "out_of_range", "{body}");
        let message = body["errors"][0]["message"].as_str().unwrap();
        assert!(message.contains(expect), "{message}");
    }
    let members: i64 = sqlx::query_scalar("SELECT count(*) FROM members")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(members, 0);

    let res = app
        .authed(
            Method::GET,
            &format!("/api/v1/towns/{town}/activities?from=1899-12-31"),
            &staff,
        )
        .send()
        .await
        .unwrap();
    let body = problem(res, 400).await;
    assert_eq!(body["code"], "invalid_query");
    assert!(body["detail"].as_str().unwrap().contains("from"), "{body}");
    let res = app
        .authed(
            Method::GET,
            &format!("/api/v1/towns/{town}/activities?from=2000-01-01&to=2099-12-31"),
            &staff,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        200,
        "the widest range this list takes (years 2000 to 2099) passes"
    );

    let doc = serde_json::to_value(party_center::openapi::document()).unwrap();
    let date = &doc["components"]["schemas"]["CalendarDate"];
    assert_eq!(date["format"], "date");
    assert!(date["description"].as_str().unwrap().contains("2099-12-31"));
    let field = &doc["components"]["schemas"]["NewMember"]["properties"]["joined_party_on"];
    assert!(
        field
            .to_string()
            .contains("#/components/schemas/CalendarDate"),
        "{field}"
    );
}
