//! Health, readiness, metrics, request ids, the OpenAPI document and the docs page.

use reqwest::Method;
use serde_json::Value;

use crate::helpers::TestApp;

#[tokio::test]
async fn health_and_readiness_answer() {
    let app = TestApp::spawn().await;
    let res = app.request(Method::GET, "/healthz").send().await.unwrap();
    assert_eq!(res.status(), 200);
    let res = app.request(Method::GET, "/readyz").send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<Value>().await.unwrap()["status"], "ok");
}

#[tokio::test]
async fn readiness_fails_when_migrations_are_missing() {
    let app = TestApp::spawn().await;
    sqlx::raw_sql("DELETE FROM _sqlx_migrations")
        .execute(&app.pool)
        .await
        .unwrap();
    let res = app.request(Method::GET, "/readyz").send().await.unwrap();
    assert_eq!(res.status(), 503);
    assert_eq!(
        res.json::<Value>().await.unwrap()["status"],
        "database_unavailable"
    );
}

#[tokio::test]
async fn request_ids_are_echoed_or_made() {
    let app = TestApp::spawn().await;
    let res = app
        .request(Method::GET, "/healthz")
        .header("x-request-id", "abc-123")
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["x-request-id"], "abc-123");
    let res = app
        .request(Method::GET, "/healthz")
        .header("x-request-id", "bad id with spaces")
        .send()
        .await
        .unwrap();
    let made = res.headers()["x-request-id"].to_str().unwrap();
    assert!(
        made.parse::<uuid::Uuid>().is_ok(),
        "an unsafe id is replaced: {made}"
    );
}

#[tokio::test]
async fn metrics_count_requests_by_route_and_status() {
    let app = TestApp::spawn().await;
    app.request(Method::GET, "/api/v1/towns")
        .send()
        .await
        .unwrap();
    let text = app
        .request(Method::GET, "/metrics")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        text.contains("http_requests_total{method=\"GET\",route=\"/api/v1/towns\",status=\"401\"}"),
        "{text}"
    );
    assert!(text.contains("http_request_duration_seconds_bucket"));
    assert!(text.contains("db_pool_connections{state=\"open\"}"));
}

#[tokio::test]
async fn the_committed_openapi_document_is_what_the_code_generates() {
    let generated = party_center::openapi::document().to_pretty_json().unwrap();
    let committed =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/openapi.json"))
            .expect("openapi/openapi.json is committed");
    assert!(
        generated.trim_end() == committed.trim_end(),
        "openapi/openapi.json is out of date: run `cargo run -- openapi > openapi/openapi.json` and commit it"
    );
}

#[tokio::test]
async fn the_served_document_and_the_docs_page_work() {
    let app = TestApp::spawn().await;
    let served: Value = app
        .request(Method::GET, "/api-docs/openapi.json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let generated = serde_json::to_value(party_center::openapi::document()).unwrap();
    assert_eq!(served, generated);
    let res = app.request(Method::GET, "/docs/").send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().contains("swagger"));
}

#[tokio::test]
async fn every_operation_declares_its_roles_and_problem_responses() {
    let doc = serde_json::to_value(party_center::openapi::document()).unwrap();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            if !path.starts_with("/api/") {
                continue;
            }
            let roles = op["security"][0]["bearer"].as_array();
            assert!(
                roles.is_some_and(|r| !r.is_empty()),
                "{method} {path} declares its roles"
            );
            for status in ["401", "403", "500"] {
                assert!(
                    op["responses"][status].is_object(),
                    "{method} {path} documents {status}"
                );
            }
        }
    }
}

/// `party-center migrate` with `DATABASE_URL` as given: its exit status and what it printed.
fn migrate_with(url: &str) -> (bool, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_party-center"))
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("DATABASE_URL", url)
        .env("PARTY_CENTER_DB_ACQUIRE_TIMEOUT", "3s")
        .arg("migrate")
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// A wrong `DATABASE_URL` is named for what it is, once, without its password.
#[tokio::test]
async fn a_wrong_database_url_says_what_is_wrong_once() {
    let (ok, text) = migrate_with("postgres://pc:s3cret-pw@127.0.0.1:1/pc");
    assert!(!ok);
    assert_eq!(text.matches("connection refused").count(), 1, "{text}");
    assert!(text.contains("pc@127.0.0.1:1/pc"), "{text}");
    assert!(
        !text.contains("s3cret-pw"),
        "the password is never shown: {text}"
    );
    assert!(!text.contains("timed out"), "{text}");

    // The suite's own server, with a database that is not there.
    let socket = crate::helpers::cluster_socket_dir().display().to_string();
    let (ok, text) = migrate_with(&format!(
        "postgres://postgres@localhost/no_such_db?host={socket}"
    ));
    assert!(!ok);
    assert_eq!(text.matches("no such database").count(), 1, "{text}");
}
