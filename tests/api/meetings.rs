//! The organizational life of the branches: party groups and officers, meetings with
//! their rolls and minutes, the scoring of center-branch absences through the ledger, and
//! compliance with the town's frequencies.

use party_center::auth::Role;
use reqwest::{Method, Response};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{TestApp, error_fields, insert_branch, insert_member, problem, uuid};

/// A town with a village branch and `n` members in it.
async fn seeded(app: &TestApp, code: &str, n: u32) -> (Uuid, Uuid, Vec<Uuid>) {
    let town = uuid(&app.create_town(code).await["id"]);
    let village = insert_branch(app, town, "新村党支部").await;
    let mut members = Vec::new();
    for i in 0..n {
        members.push(insert_member(app, town, village, &format!("党员{i}"), 100 + i).await);
    }
    (town, village, members)
}

async fn send(
    app: &TestApp,
    method: Method,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> Response {
    let mut req = app.authed(method, path, token);
    if let Some(body) = body {
        req = req.json(&body);
    }
    req.send().await.unwrap()
}

fn staff(app: &TestApp, town: Uuid) -> String {
    app.token(Role::Staff, Some(town))
}

#[tokio::test]
async fn a_branch_has_party_groups_of_its_own_members() {
    let app = TestApp::spawn().await;
    let (town, village, m) = seeded(&app, "320114201", 4).await;
    let center = crate::helpers::center_branch(&app, town).await;
    let outsider = insert_member(&app, town, center, "中心党员", 900).await;
    let groups = format!("/api/v1/towns/{town}/branches/{village}/groups");
    let staff = staff(&app, town);

    let res = app
        .authed(Method::POST, &groups, &staff)
        .header("idempotency-key", "group-1")
        .json(&json!({ "name": "第一党小组", "member_ids": [m[0], m[1]], "leader_id": m[0] }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    assert_eq!(res.headers()["etag"], "\"1\"");
    let first: Value = res.json().await.unwrap();
    let mut both = vec![m[0], m[1]];
    both.sort();
    assert_eq!(first["member_ids"], json!(both));
    assert_eq!(first["leader_id"], json!(m[0]));
    let again = app
        .authed(Method::POST, &groups, &staff)
        .header("idempotency-key", "group-1")
        .json(&json!({ "name": "第一党小组", "member_ids": [m[0], m[1]], "leader_id": m[0] }))
        .send()
        .await
        .unwrap();
    crate::helpers::assert_replayed(again, 201, &first).await;

    // Every field error at once: a member of another branch, a repeat, a leader outside.
    let res = send(
        &app,
        Method::POST,
        &groups,
        &staff,
        Some(json!({ "name": "第二党小组", "member_ids": [m[2], outsider, m[2]], "leader_id": m[3] })),
    )
    .await;
    let body = problem(res, 422).await;
    assert_eq!(
        error_fields(&body),
        ["member_ids[2]", "leader_id"],
        "the list's own checks first"
    );
    let res = send(
        &app,
        Method::POST,
        &groups,
        &staff,
        Some(json!({ "name": "第二党小组", "member_ids": [m[2], outsider] })),
    )
    .await;
    let body = problem(res, 422).await;
    assert_eq!(body["errors"][0]["field"], "member_ids[1]");
    assert_eq!(body["errors"][0]["code"], "not_a_branch_member");
    // A member is in one group; a name is unique in the branch.
    let res = send(
        &app,
        Method::POST,
        &groups,
        &staff,
        Some(json!({ "name": "第二党小组", "member_ids": [m[1], m[2]] })),
    )
    .await;
    assert_eq!(problem(res, 409).await["code"], "member_in_other_group");
    let res = send(
        &app,
        Method::POST,
        &groups,
        &staff,
        Some(json!({ "name": "第一党小组", "member_ids": [m[2]] })),
    )
    .await;
    assert_eq!(problem(res, 409).await["code"], "group_name_taken");

    // A change needs If-Match; the members given replace the old ones, and a leader who
    // leaves stops leading.
    let group = format!("{groups}/{}", first["id"].as_str().unwrap());
    let patch = json!({ "member_ids": [m[1], m[2]] });
    let res = send(&app, Method::PATCH, &group, &staff, Some(patch.clone())).await;
    problem(res, 428).await;
    let res = app
        .authed(Method::PATCH, &group, &staff)
        .header("if-match", "\"1\"")
        .json(&patch)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["etag"], "\"2\"");
    let changed: Value = res.json().await.unwrap();
    assert_eq!(changed["leader_id"], Value::Null);
    assert_eq!(changed["member_ids"].as_array().unwrap().len(), 2);
    let res = app
        .authed(Method::PATCH, &group, &staff)
        .header("if-match", "\"1\"")
        .json(&json!({ "name": "一组" }))
        .send()
        .await
        .unwrap();
    problem(res, 412).await;

    // Everyone of the town reads; the county too; writing is for staff and the committee.
    for role in [Role::Member, Role::County, Role::Committee] {
        let res = send(
            &app,
            Method::GET,
            &groups,
            &app.token(role, (role != Role::County).then_some(town)),
            None,
        )
        .await;
        assert_eq!(res.status(), 200, "{role:?} reads the groups");
    }
    let list: Value = send(&app, Method::GET, &groups, &staff, None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    for role in [Role::Member, Role::County] {
        let res = send(
            &app,
            Method::POST,
            &groups,
            &app.token(role, (role != Role::County).then_some(town)),
            Some(json!({ "name": "第三党小组" })),
        )
        .await;
        problem(res, 403).await;
    }
    let audited: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_log WHERE action IN ('party_group.created', 'party_group.updated')",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(audited, 2, "one event per change, none for refusals");
}

#[tokio::test]
async fn another_town_s_branch_is_not_found() {
    let app = TestApp::spawn().await;
    let (town, village, _) = seeded(&app, "320114202", 1).await;
    let (other, _, _) = seeded(&app, "320114203", 0).await;
    let other_staff = staff(&app, other);
    for path in [
        format!("/api/v1/towns/{town}/branches/{village}/groups"),
        format!("/api/v1/towns/{other}/branches/{village}/groups"),
        format!("/api/v1/towns/{other}/branches/{village}/officers"),
    ] {
        let res = send(&app, Method::GET, &path, &other_staff, None).await;
        problem(res, 404).await;
    }
    let res = send(
        &app,
        Method::POST,
        &format!("/api/v1/towns/{other}/branches/{village}/groups"),
        &other_staff,
        Some(json!({ "name": "第一党小组" })),
    )
    .await;
    problem(res, 404).await;
}

#[tokio::test]
async fn a_branch_has_one_secretary_at_a_time_and_each_officer_one_office() {
    let app = TestApp::spawn().await;
    let (town, village, m) = seeded(&app, "320114204", 3).await;
    let officers = format!("/api/v1/towns/{town}/branches/{village}/officers");
    let staff = staff(&app, town);
    let term = |member: Uuid, office: &str, from: &str, to: &str| json!({ "member_id": member, "office": office, "term_from": from, "term_to": to });
    let res = send(
        &app,
        Method::POST,
        &officers,
        &staff,
        Some(term(m[0], "secretary", "2024-01-01", "2026-12-31")),
    )
    .await;
    assert_eq!(res.status(), 201);
    let cases = [
        (
            term(m[1], "secretary", "2026-06-01", "2029-05-31"),
            409,
            "secretary_term_overlaps",
        ),
        (
            term(m[0], "committee_member", "2025-01-01", "2025-12-31"),
            409,
            "officer_term_overlaps",
        ),
        (
            term(m[1], "deputy_secretary", "2026-01-01", "2025-01-01"),
            422,
            "validation_failed",
        ),
        (
            term(
                Uuid::now_v7(),
                "committee_member",
                "2026-01-01",
                "2026-12-31",
            ),
            422,
            "validation_failed",
        ),
    ];
    for (body, status, code) in cases {
        let res = send(&app, Method::POST, &officers, &staff, Some(body.clone())).await;
        assert_eq!(problem(res, status).await["code"], code, "{body}");
    }
    for body in [
        term(m[1], "secretary", "2027-01-01", "2029-12-31"),
        term(m[2], "committee_member", "2024-01-01", "2026-12-31"),
    ] {
        let res = send(&app, Method::POST, &officers, &staff, Some(body)).await;
        assert_eq!(res.status(), 201);
    }
    let on: Value = send(
        &app,
        Method::GET,
        &format!("{officers}?on=2026-07-01"),
        &app.token(Role::County, None),
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    let members: Vec<&str> = on["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["member_id"].as_str().unwrap())
        .collect();
    assert_eq!(members, [m[0].to_string(), m[2].to_string()]);
    let res = send(
        &app,
        Method::POST,
        &officers,
        &app.token(Role::Member, Some(town)),
        Some(term(m[2], "secretary", "2030-01-01", "2030-12-31")),
    )
    .await;
    problem(res, 403).await;
}
