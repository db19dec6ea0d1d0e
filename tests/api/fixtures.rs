//! Fixtures the endpoint tests share: a town with a village branch and tokens, a member
//! with an open case, a committee correction. Each goes through the API as a client
//! would (or, for plain rows, through the helpers' inserts).

use party_center::auth::Role;
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{TestApp, insert_branch, insert_member, uuid};

/// A town with a village branch, and committee and staff tokens for it.
pub struct Setup {
    pub town: Uuid,
    pub village: Uuid,
    pub committee: String,
    pub staff: String,
}

/// Creates the town of `code` with its village branch `新村党支部`.
pub async fn setup(app: &TestApp, code: &str) -> Setup {
    let town = uuid(&app.create_town(code).await["id"]);
    Setup {
        town,
        village: insert_branch(app, town, "新村党支部").await,
        committee: app.token(Role::Committee, Some(town)),
        staff: app.token(Role::Staff, Some(town)),
    }
}

/// Registers a member in the village branch and opens their case; returns (member, case).
pub async fn open_case(app: &TestApp, s: &Setup, n: u32) -> (Uuid, Uuid) {
    let member = insert_member(app, s.town, s.village, &format!("转化党员{n}"), n).await;
    let res = app
        .authed(
            Method::POST,
            &format!("/api/v1/towns/{}/cases", s.town),
            &s.committee,
        )
        .json(&json!({ "member_id": member, "reason": "经镇党委研究决定" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201, "opening a case");
    let case: Value = res.json().await.unwrap();
    (member, uuid(&case["id"]))
}

/// A committee correction of `points` on a case, with a fresh key.
pub async fn correct(app: &TestApp, s: &Setup, case: Uuid, points: f64) -> reqwest::Response {
    app.authed(
        Method::POST,
        &format!("/api/v1/towns/{}/cases/{case}/adjustments", s.town),
        &s.committee,
    )
    .header("idempotency-key", Uuid::now_v7().to_string())
    .json(&json!({ "kind": "correction", "points": points, "reason": "更正" }))
    .send()
    .await
    .unwrap()
}
