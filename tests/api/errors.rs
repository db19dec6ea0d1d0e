//! Every failure is problem+json with a stable code, in Chinese by default and English on
//! request; nothing is a plain-text 400 or a 500.

use party_center::auth::Role;
use reqwest::Method;
use serde_json::json;

use crate::helpers::{TestApp, error_fields, problem, uuid};

#[tokio::test]
async fn bodies_are_checked_before_anything_is_written() {
    let app = TestApp::spawn().await;
    let admin = app.admin();
    let post = |body: reqwest::Body, ct: &'static str| {
        app.authed(Method::POST, "/api/v1/towns", &admin)
            .header("content-type", ct)
            .body(body)
            .send()
    };

    let body = problem(
        post("{\"code\": ".into(), "application/json")
            .await
            .unwrap(),
        400,
    )
    .await;
    assert_eq!(body["code"], "malformed_json");

    let body = problem(
        post("code=1".into(), "application/x-www-form-urlencoded")
            .await
            .unwrap(),
        415,
    )
    .await;
    assert_eq!(body["code"], "unsupported_media_type");

    let wrong_type = json!({"code": 12, "name": "x", "county_code": "1"}).to_string();
    let body = problem(
        post(wrong_type.into(), "application/json").await.unwrap(),
        422,
    )
    .await;
    assert_eq!(body["errors"][0]["field"], "code");
    assert_eq!(body["errors"][0]["code"], "invalid_type");

    let unknown = json!({"code": "A", "name": "x", "county_code": "1", "mayor": "y"}).to_string();
    let body = problem(post(unknown.into(), "application/json").await.unwrap(), 422).await;
    assert_eq!(body["errors"][0]["field"], "mayor");
    assert_eq!(body["errors"][0]["code"], "unknown_field");

    let missing = json!({"code": "A", "name": "x"}).to_string();
    let body = problem(post(missing.into(), "application/json").await.unwrap(), 422).await;
    assert_eq!(body["errors"][0]["field"], "county_code");
    assert_eq!(body["errors"][0]["code"], "required");

    let big = json!({"code": "A", "name": "x".repeat(70 * 1024), "county_code": "1"}).to_string();
    let body = problem(post(big.into(), "application/json").await.unwrap(), 413).await;
    assert_eq!(body["code"], "payload_too_large");

    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM towns")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(count, 0);
}

#[tokio::test]
async fn bad_paths_and_queries_are_400() {
    let app = TestApp::spawn().await;
    let admin = app.admin();
    let res = app
        .authed(Method::GET, "/api/v1/towns/not-a-uuid", &admin)
        .send()
        .await
        .unwrap();
    assert_eq!(problem(res, 400).await["code"], "invalid_path");
    let res = app
        .authed(Method::GET, "/api/v1/towns?limit=abc", &admin)
        .send()
        .await
        .unwrap();
    assert_eq!(problem(res, 400).await["code"], "invalid_query");
    let res = app
        .authed(Method::GET, "/api/v1/towns?limit=201", &admin)
        .send()
        .await
        .unwrap();
    assert_eq!(problem(res, 400).await["code"], "invalid_limit");
    let res = app
        .authed(Method::GET, "/api/v1/towns?cursor=zzz", &admin)
        .send()
        .await
        .unwrap();
    assert_eq!(problem(res, 400).await["code"], "invalid_cursor");
}

#[tokio::test]
async fn unknown_routes_are_404_and_wrong_methods_405() {
    let app = TestApp::spawn().await;
    let res = app
        .request(Method::GET, "/api/v1/nowhere")
        .send()
        .await
        .unwrap();
    assert_eq!(problem(res, 404).await["code"], "not_found");
    let res = app
        .request(Method::DELETE, "/api/v1/towns")
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["allow"], "GET, POST");
    assert_eq!(problem(res, 405).await["code"], "method_not_allowed");
}

#[tokio::test]
async fn errors_speak_chinese_by_default_and_english_on_request() {
    let app = TestApp::spawn().await;
    let res = app
        .request(Method::GET, "/api/v1/towns")
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["content-language"], "zh-CN");
    let zh = problem(res, 401).await;
    assert_eq!(zh["title"], "未认证");
    let res = app
        .request(Method::GET, "/api/v1/towns")
        .header("accept-language", "en-GB,en;q=0.9")
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["content-language"], "en");
    let en = problem(res, 401).await;
    assert_eq!(en["title"], "Unauthorized");
    assert_eq!(
        en["code"], zh["code"],
        "the code does not change with the language"
    );

    let res = app
        .authed(Method::POST, "/api/v1/towns", &app.admin())
        .header("accept-language", "en")
        .json(&json!({"code": "bad code", "name": "", "county_code": "1"}))
        .send()
        .await
        .unwrap();
    let body = problem(res, 422).await;
    assert_eq!(error_fields(&body), ["code", "name"]);
    assert!(
        body["errors"][1]["message"]
            .as_str()
            .unwrap()
            .contains("must not be empty")
    );
}

#[tokio::test]
async fn an_exhausted_pool_answers_503_with_retry_after_quickly() {
    let app = TestApp::spawn_with(|settings, _| {
        settings.db_max_connections = 1;
        settings.db_acquire_timeout = std::time::Duration::from_millis(500);
    })
    .await;
    let town = uuid(&app.create_town("P1").await["id"]);
    let held = app.pool.acquire().await.unwrap();
    // The client gives up long before sqlx's default 30 s wait would end.
    let res = app
        .authed(
            Method::GET,
            &format!("/api/v1/towns/{town}"),
            &app.token(Role::Staff, Some(town)),
        )
        .timeout(std::time::Duration::from_secs(10))
        .send()
        .await
        .expect("an answer, not a hang");
    assert_eq!(res.headers()["retry-after"], "2");
    assert_eq!(problem(res, 503).await["code"], "service_unavailable");
    drop(held);
}

/// The migrated database itself, not only the migration text, has no constraint the
/// table of meanings leaves out: a constraint PostgreSQL named on its own is caught too.
#[tokio::test]
async fn every_constraint_in_the_database_has_a_meaning() {
    let app = TestApp::spawn().await;
    let names: Vec<String> = sqlx::query_scalar(
        "SELECT conname::text FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace
         WHERE n.nspname = 'public' AND c.contype IN ('p', 'u', 'f', 'c', 'x')
         UNION
         SELECT i.relname::text FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
         JOIN pg_namespace n ON n.oid = i.relnamespace
         WHERE n.nspname = 'public' AND x.indisunique",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert!(names.len() > 100, "{} constraints found", names.len());
    let missing: Vec<&String> = names
        .iter()
        .filter(|n| party_center::error::constraints::meaning(n).is_none())
        .filter(|n| !n.starts_with("_sqlx_migrations"))
        .collect();
    assert!(
        missing.is_empty(),
        "constraints without a meaning: {missing:?}"
    );
}
