//! The county role, over every operation of the published OpenAPI document: it writes
//! nothing anywhere (403), reads the towns of its own county only (another county's town is
//! 404, as if it did not exist), and reads what its role allows in its own towns.

use party_center::auth::Role;
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{TestApp, problem, uuid};

/// `path` with `{town}` as `town` and every other parameter a fresh id.
fn fill(path: &str, town: Uuid) -> String {
    let mut out = String::new();
    let mut rest = path;
    while let Some(start) = rest.find('{') {
        let end = rest[start..].find('}').unwrap() + start;
        out.push_str(&rest[..start]);
        match &rest[start + 1..end] {
            "town" => out.push_str(&town.to_string()),
            _ => out.push_str(&Uuid::now_v7().to_string()),
        }
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    out
}

/// The roles an operation's `bearer` requirement names.
fn roles(op: &Value) -> Vec<String> {
    op["security"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s["bearer"].as_array())
        .flatten()
        .filter_map(|r| r.as_str().map(str::to_owned))
        .collect()
}

/// The operation's required query parameters, each with a valid value.
fn query(op: &Value) -> String {
    let pairs: Vec<String> = op["parameters"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|p| p["in"] == "query" && p["required"] == true)
        .map(|p| {
            let value = match p["schema"]["format"].as_str() {
                Some("date") => "2026-01-01".to_owned(),
                Some("uuid") => Uuid::now_v7().to_string(),
                _ => "1".to_owned(),
            };
            format!("{}={value}", p["name"].as_str().unwrap())
        })
        .collect();
    if pairs.is_empty() {
        String::new()
    } else {
        format!("?{}", pairs.join("&"))
    }
}

#[tokio::test]
async fn a_county_writes_nothing_and_reads_only_its_own_towns() {
    let app = TestApp::spawn().await;
    let town = uuid(&app.create_town("CM1").await["id"]);
    let res = app
        .authed(Method::POST, "/api/v1/towns", &app.admin())
        .json(&json!({ "code": "CM2", "name": "邻县镇", "county_code": "320115" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let elsewhere = uuid(&res.json::<Value>().await.unwrap()["id"]);
    let county = app.token(Role::County, None);
    let doc: Value = app
        .request(Method::GET, "/api-docs/openapi.json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();

    let mut writes = 0;
    let mut reads = 0;
    let mut wrong = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let method: Method = match method.as_str() {
                "get" | "post" | "put" | "patch" | "delete" => {
                    method.to_uppercase().parse().unwrap()
                }
                _ => continue,
            };
            let county_reads = roles(op).iter().any(|r| r == "county");
            if method != Method::GET {
                // Every write, with everything a write could need, is refused.
                writes += 1;
                assert!(!county_reads, "{method} {path} lets county in");
                let res = app
                    .authed(method.clone(), &fill(path, town), &county)
                    .header("if-match", "*")
                    .header("idempotency-key", Uuid::now_v7().to_string())
                    .json(&json!({}))
                    .send()
                    .await
                    .unwrap();
                if res.status() != 403 {
                    wrong.push(format!("{method} {path}: {}", res.status()));
                } else {
                    problem(res, 403).await;
                }
                continue;
            }
            if !path.contains("{town}") {
                continue;
            }
            reads += 1;
            // Another county's town: 404 where county may read, 403 where it may not.
            let expected = if county_reads { 404 } else { 403 };
            let query = query(op);
            let res = app
                .authed(
                    Method::GET,
                    &format!("{}{query}", fill(path, elsewhere)),
                    &county,
                )
                .send()
                .await
                .unwrap();
            if res.status() != expected {
                wrong.push(format!(
                    "GET {path} (another county): {} not {expected}",
                    res.status()
                ));
            }
            // Its own town: readable where the role allows, when the path names nothing
            // else (the town has no cohort this year: its roster is not found).
            let only_town = path.matches('{').count() == 1;
            if county_reads && only_town {
                let res = app
                    .authed(
                        Method::GET,
                        &format!("{}{query}", fill(path, town)),
                        &county,
                    )
                    .send()
                    .await
                    .unwrap();
                let expected = if path.ends_with("/cohort-roster") {
                    404
                } else {
                    200
                };
                if res.status() != expected {
                    wrong.push(format!("GET {path} (own town): {}", res.status()));
                }
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "unexpected answers to county:\n{}",
        wrong.join("\n")
    );
    assert!(
        writes >= 40 && reads >= 40,
        "{writes} writes, {reads} reads checked"
    );

    // Nothing was written: no audit rows, no change in either town.
    let audit: i64 =
        sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE actor_role = 'county'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(audit, 0);
}
