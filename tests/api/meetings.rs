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

/// Plans a meeting (staff); the answer.
async fn plan(app: &TestApp, town: Uuid, body: Value) -> Response {
    app.authed(
        Method::POST,
        &format!("/api/v1/towns/{town}/meetings"),
        &staff(app, town),
    )
    .json(&body)
    .send()
    .await
    .unwrap()
}

/// A meeting body of `branch` and `kind`, `hours` from now (negative: started).
fn meeting(branch: Uuid, kind: &str, hours: i64, extra: Value) -> Value {
    let mut body = json!({
        "branch_id": branch,
        "kind": kind,
        "starts_at": (chrono::Utc::now() + chrono::Duration::hours(hours)).to_rfc3339(),
        "place": "村党群服务中心",
        "host": "李书记",
        "topic": "学习党章",
    });
    body.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    body
}

/// Plans a meeting that must succeed; its detail.
async fn planned(app: &TestApp, town: Uuid, body: Value) -> Value {
    let res = plan(app, town, body).await;
    assert_eq!(res.status(), 201, "planning a meeting");
    res.json().await.unwrap()
}

async fn roll(app: &TestApp, town: Uuid, meeting: &Value, key: &str, items: Value) -> Response {
    app.authed(
        Method::PUT,
        &format!(
            "/api/v1/towns/{town}/meetings/{}/attendance",
            meeting["id"].as_str().unwrap()
        ),
        &staff(app, town),
    )
    .header("idempotency-key", key)
    .json(&json!({ "items": items }))
    .send()
    .await
    .unwrap()
}

fn line(member: Uuid, status: &str) -> Value {
    json!({ "member_id": member, "status": status })
}

fn excused(member: Uuid) -> Value {
    json!({ "member_id": member, "status": "excused", "excuse_reason": "外出务工", "approved_by": "李书记" })
}

fn expected(detail: &Value) -> Vec<(String, String)> {
    detail["attendees"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["member_id"].as_str().unwrap().to_owned(),
                a["attends_as"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_meeting_expects_the_branch_s_members_and_the_extras_named() {
    let app = TestApp::spawn().await;
    let (town, village, m) = seeded(&app, "320114211", 3).await;
    let center = crate::helpers::center_branch(&app, town).await;
    let inflowing = insert_member(&app, town, center, "流入党员", 901).await;

    let detail = planned(
        &app,
        town,
        meeting(
            village,
            "general_meeting",
            24,
            json!({ "extra_member_ids": [inflowing], "center_role": "helped" }),
        ),
    )
    .await;
    assert_eq!(detail["expected_count"], 4);
    assert_eq!(detail["center_role"], "helped");
    assert_eq!(detail["roll"], Value::Null);
    let as_of = |who: Uuid| {
        expected(&detail)
            .into_iter()
            .find(|(id, _)| *id == who.to_string())
            .map(|(_, as_)| as_)
    };
    assert_eq!(as_of(m[0]).as_deref(), Some("branch_member"));
    assert_eq!(as_of(inflowing).as_deref(), Some("extra"));

    // A party group meeting expects its group.
    let group: Value = app
        .authed(
            Method::POST,
            &format!("/api/v1/towns/{town}/branches/{village}/groups"),
            &staff(&app, town),
        )
        .json(&json!({ "name": "第一党小组", "member_ids": [m[0], m[1]] }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let detail = planned(
        &app,
        town,
        meeting(
            village,
            "party_group",
            24,
            json!({ "group_id": group["id"] }),
        ),
    )
    .await;
    assert_eq!(detail["expected_count"], 2);
    assert!(
        expected(&detail)
            .iter()
            .all(|(_, as_)| as_ == "group_member")
    );

    // Every field error at once, then the ones the database must answer.
    let res = plan(
        &app,
        town,
        meeting(
            village,
            "theme_day",
            24,
            json!({
                "group_id": group["id"], "place": " ", "extra_member_ids": [inflowing, inflowing],
            }),
        ),
    )
    .await;
    let body = problem(res, 422).await;
    assert_eq!(
        error_fields(&body),
        ["place", "group_id", "extra_member_ids[1]"]
    );
    let res = plan(&app, town, meeting(village, "party_group", 24, json!({}))).await;
    assert_eq!(problem(res, 422).await["errors"][0]["code"], "required");
    let refusals = [
        (
            meeting(Uuid::now_v7(), "theme_day", 24, json!({})),
            "unknown_branch",
        ),
        (
            meeting(
                center,
                "party_group",
                24,
                json!({ "group_id": group["id"] }),
            ),
            "unknown_group",
        ),
        (
            meeting(
                village,
                "theme_day",
                24,
                json!({ "extra_member_ids": [m[2]] }),
            ),
            "already_expected",
        ),
        (
            meeting(
                village,
                "theme_day",
                24,
                json!({ "extra_member_ids": [Uuid::now_v7()] }),
            ),
            "unknown_member",
        ),
    ];
    for (body, code) in refusals {
        let res = plan(&app, town, body).await;
        assert_eq!(problem(res, 422).await["errors"][0]["code"], code);
    }

    // Roles, and another town's branch.
    for role in [Role::Member, Role::County] {
        let res = app
            .authed(
                Method::POST,
                &format!("/api/v1/towns/{town}/meetings"),
                &app.token(role, (role != Role::County).then_some(town)),
            )
            .json(&meeting(village, "theme_day", 24, json!({})))
            .send()
            .await
            .unwrap();
        problem(res, 403).await;
    }
    let (other, _, _) = seeded(&app, "320114212", 0).await;
    let res = plan(&app, other, meeting(village, "theme_day", 24, json!({}))).await;
    assert_eq!(
        problem(res, 422).await["errors"][0]["code"],
        "unknown_branch"
    );
    let id = detail["id"].as_str().unwrap();
    let res = send(
        &app,
        Method::GET,
        &format!("/api/v1/towns/{other}/meetings/{id}"),
        &staff(&app, other),
        None,
    )
    .await;
    problem(res, 404).await;
    // The county reads; the list filters by branch and kind.
    let list: Value = send(
        &app,
        Method::GET,
        &format!("/api/v1/towns/{town}/meetings?branch={village}&kind=party_group"),
        &app.token(Role::County, None),
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_roll_is_recorded_once_after_the_meeting_starts_and_shows_on_the_record() {
    let app = TestApp::spawn().await;
    let (town, village, m) = seeded(&app, "320114213", 2).await;
    let center = crate::helpers::center_branch(&app, town).await;
    let inflowing = insert_member(&app, town, center, "流入党员", 902).await;
    let later = planned(&app, town, meeting(village, "theme_day", 2, json!({}))).await;
    let res = roll(
        &app,
        town,
        &later,
        "r-0",
        json!([line(m[0], "present"), line(m[1], "present")]),
    )
    .await;
    assert_eq!(problem(res, 409).await["code"], "meeting_not_started");

    let held = planned(
        &app,
        town,
        meeting(
            village,
            "theme_day",
            -1,
            json!({ "extra_member_ids": [inflowing] }),
        ),
    )
    .await;
    let res = roll(&app, town, &held, "r-1", json!([line(m[0], "present")])).await;
    let body = problem(res, 422).await;
    assert_eq!(error_fields(&body), ["items", "items"], "two lines missing");
    let items = json!([
        line(m[0], "present"),
        excused(m[1]),
        line(inflowing, "absent")
    ]);
    let res = roll(&app, town, &held, "r-2", items.clone()).await;
    assert_eq!(res.status(), 201);
    let recorded: Value = res.json().await.unwrap();
    assert_eq!(recorded["items"].as_array().unwrap().len(), 3);
    assert!(
        recorded["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["entry_id"].is_null()),
        "a village meeting costs no points"
    );
    let res = roll(&app, town, &held, "r-3", items).await;
    assert_eq!(res.status(), 200, "the same roll again changes nothing");
    // The roll is a new version of the meeting: its ETag says so, and a read with the
    // current one is a 304.
    let url = format!(
        "/api/v1/towns/{town}/meetings/{}",
        held["id"].as_str().unwrap()
    );
    let res = send(&app, Method::GET, &url, &staff(&app, town), None).await;
    assert_eq!(res.headers()["etag"], "\"2\"");
    let res = app
        .authed(Method::GET, &url, &staff(&app, town))
        .header("if-none-match", "\"2\"")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 304);
    let res = roll(
        &app,
        town,
        &held,
        "r-4",
        json!([
            line(m[0], "absent"),
            excused(m[1]),
            line(inflowing, "absent")
        ]),
    )
    .await;
    assert_eq!(problem(res, 409).await["code"], "roll_recorded");

    // The inflowing member's record shows the meeting of a branch not their own.
    let record: Value = send(
        &app,
        Method::GET,
        &format!("/api/v1/towns/{town}/members/{inflowing}/meetings"),
        &app.token(Role::County, None),
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    let items = record["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["branch_id"], json!(village));
    assert_eq!(items[0]["attends_as"], "extra");
    assert_eq!(items[0]["status"], "absent");
    let mine: Value = send(
        &app,
        Method::GET,
        "/api/v1/me/meetings",
        &app.member_token(town, m[1]),
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(mine["items"][0]["status"], Value::Null, "not held yet");
    assert_eq!(mine["items"][1]["status"], "excused");
    assert_eq!(
        mine["items"].as_array().unwrap().len(),
        2,
        "the one planned and the one held"
    );
    let res = send(
        &app,
        Method::GET,
        &format!("/api/v1/towns/{town}/members/{}/meetings", Uuid::now_v7()),
        &staff(&app, town),
        None,
    )
    .await;
    problem(res, 404).await;
    let events: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_log WHERE action = 'meeting.attendance_recorded'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(events, 1);
}

/// Opens a case for `member` (committee): their relation moves into the center branch.
async fn open_case(app: &TestApp, town: Uuid, member: Uuid) -> Uuid {
    let res = app
        .authed(
            Method::POST,
            &format!("/api/v1/towns/{town}/cases"),
            &app.token(Role::Committee, Some(town)),
        )
        .json(&json!({ "member_id": member, "reason": "不履行党员义务" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201, "opening a case");
    uuid(&res.json::<Value>().await.unwrap()["id"])
}

async fn score(app: &TestApp, case: Uuid) -> i32 {
    sqlx::query_scalar("SELECT score_half_points FROM cases WHERE id = $1")
        .bind(case)
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn absence_from_a_center_branch_meeting_costs_half_a_point_through_the_ledger() {
    let app = TestApp::spawn().await;
    let (town, _village, m) = seeded(&app, "320114214", 2).await;
    let center = crate::helpers::center_branch(&app, town).await;
    let (a, b) = (m[0], m[1]);
    let (case_a, case_b) = (
        open_case(&app, town, a).await,
        open_case(&app, town, b).await,
    );
    let staff_member = insert_member(&app, town, center, "中心工作人员", 903).await;

    let first = planned(
        &app,
        town,
        meeting(center, "general_meeting", -1, json!({})),
    )
    .await;
    let under: Vec<&Value> = first["attendees"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| !x["case_id"].is_null())
        .collect();
    assert_eq!(
        under.len(),
        2,
        "both under transformation, with their cases"
    );
    let res = roll(
        &app,
        town,
        &first,
        "c-1",
        json!([line(a, "absent"), excused(b), line(staff_member, "absent")]),
    )
    .await;
    assert_eq!(res.status(), 201);
    let recorded: Value = res.json().await.unwrap();
    let of = |who: Uuid| {
        recorded["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["member_id"] == json!(who))
            .unwrap()
            .clone()
    };
    assert_eq!(of(a)["points"], -0.5);
    assert_eq!(
        of(b)["points"],
        Value::Null,
        "excused leave is free by default"
    );
    assert_eq!(
        of(staff_member)["points"],
        Value::Null,
        "not under transformation"
    );
    assert_eq!(score(&app, case_a).await, 9);
    assert_eq!(score(&app, case_b).await, 10);
    let source: String =
        sqlx::query_scalar("SELECT source_type FROM ledger_entries WHERE case_id = $1")
            .bind(case_a)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(source, "meeting_attendance");
    // The answer is built from what was written; it is what the meeting now shows.
    let url = format!(
        "/api/v1/towns/{town}/meetings/{}",
        first["id"].as_str().unwrap()
    );
    let detail: Value = send(&app, Method::GET, &url, &staff(&app, town), None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(detail["roll"], recorded);

    // With the policy's excused_leave_costs on, an excused leave costs too.
    let committee = app.token(Role::Committee, Some(town));
    let res = app
        .authed(
            Method::PATCH,
            &format!("/api/v1/towns/{town}/policy"),
            &committee,
        )
        .header("if-match", "*")
        .json(&json!({ "excused_leave_costs": true }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let second = planned(&app, town, meeting(center, "party_lecture", -1, json!({}))).await;
    let res = roll(
        &app,
        town,
        &second,
        "c-2",
        json!([
            line(a, "present"),
            excused(b),
            line(staff_member, "present")
        ]),
    )
    .await;
    assert_eq!(res.status(), 201);
    assert_eq!(score(&app, case_a).await, 9);
    assert_eq!(score(&app, case_b).await, 9);
    let record: Value = send(
        &app,
        Method::GET,
        &format!("/api/v1/towns/{town}/members/{b}/meetings"),
        &staff(&app, town),
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    let points: Vec<&Value> = record["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| &i["points"])
        .collect();
    assert_eq!(points, [&Value::Null, &json!(-0.5)]);
}

#[tokio::test]
async fn minutes_are_versions_and_a_correction_keeps_the_old() {
    let app = TestApp::spawn().await;
    let (town, village, _) = seeded(&app, "320114215", 1).await;
    let later = planned(
        &app,
        town,
        meeting(village, "branch_committee", 2, json!({})),
    )
    .await;
    let held = planned(
        &app,
        town,
        meeting(village, "branch_committee", -2, json!({})),
    )
    .await;
    let minutes = |m: &Value| {
        format!(
            "/api/v1/towns/{town}/meetings/{}/minutes",
            m["id"].as_str().unwrap()
        )
    };
    let staff = staff(&app, town);
    let res = send(
        &app,
        Method::POST,
        &minutes(&later),
        &staff,
        Some(json!({ "text": "议程" })),
    )
    .await;
    assert_eq!(problem(res, 409).await["code"], "meeting_not_started");
    let res = send(
        &app,
        Method::POST,
        &minutes(&held),
        &staff,
        Some(json!({ "text": "议程", "correction_reason": "x" })),
    )
    .await;
    assert_eq!(
        problem(res, 422).await["errors"][0]["code"],
        "only_for_correction"
    );
    let res = app
        .authed(Method::POST, &minutes(&held), &staff)
        .header("idempotency-key", "m-1")
        .json(&json!({ "text": "一、传达上级精神\n二、研究发展党员工作" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let first: Value = res.json().await.unwrap();
    assert_eq!(first["version"], 1);
    let res = send(
        &app,
        Method::POST,
        &minutes(&held),
        &staff,
        Some(json!({ "text": "改" })),
    )
    .await;
    assert_eq!(
        problem(res, 422).await["errors"][0]["field"],
        "correction_reason"
    );
    let res = send(
        &app,
        Method::POST,
        &minutes(&held),
        &staff,
        Some(json!({ "text": "一、传达上级精神\n二、研究入党积极分子培养", "correction_reason": "笔误" })),
    )
    .await;
    assert_eq!(res.status(), 201);
    let versions: Value = send(
        &app,
        Method::GET,
        &minutes(&held),
        &app.token(Role::County, None),
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    let items = versions["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["version"], 2);
    assert_eq!(items[1]["text"], first["text"], "the old text is kept");
    let detail: Value = send(
        &app,
        Method::GET,
        &format!(
            "/api/v1/towns/{town}/meetings/{}",
            held["id"].as_str().unwrap()
        ),
        &staff,
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(detail["minutes_version"], 2);
    let res = send(
        &app,
        Method::POST,
        &minutes(&held),
        &app.token(Role::County, None),
        Some(json!({ "text": "x" })),
    )
    .await;
    problem(res, 403).await;
}

/// Plans a meeting of `branch` starting at `at` (past) and records everyone present but
/// the `excused` ones.
async fn held(
    app: &TestApp,
    town: Uuid,
    branch: Uuid,
    kind: &str,
    at: &str,
    extra: Value,
    excused_ones: &[Uuid],
) {
    let mut body = meeting(branch, kind, 0, extra);
    body["starts_at"] = json!(at);
    let detail = planned(app, town, body).await;
    let items: Vec<Value> = detail["attendees"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            let who = uuid(&a["member_id"]);
            if excused_ones.contains(&who) {
                excused(who)
            } else {
                line(who, "present")
            }
        })
        .collect();
    let res = roll(
        app,
        town,
        &detail,
        &Uuid::now_v7().to_string(),
        json!(items),
    )
    .await;
    assert_eq!(res.status(), 201, "recording a roll");
}

#[tokio::test]
async fn compliance_counts_missing_meetings_per_month_and_the_branches_behind() {
    let app = TestApp::spawn().await;
    let (town, village, m) = seeded(&app, "320114221", 3).await;
    let group: Value = app
        .authed(
            Method::POST,
            &format!("/api/v1/towns/{town}/branches/{village}/groups"),
            &staff(&app, town),
        )
        .json(&json!({ "name": "第一党小组", "member_ids": [m[0], m[1]] }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    // The group existed all year (test set-up: it was made today).
    sqlx::query("UPDATE party_groups SET created_at = '2026-01-01T00:00:00+08:00'")
        .execute(&app.pool)
        .await
        .unwrap();
    let group_id = json!({ "group_id": group["id"] });
    held(
        &app,
        town,
        village,
        "general_meeting",
        "2026-08-10T09:00:00+08:00",
        json!({}),
        &[m[2]],
    )
    .await;
    for at in [
        "2026-07-05T09:00:00+08:00",
        "2026-07-20T09:00:00+08:00",
        "2026-09-03T09:00:00+08:00",
    ] {
        held(&app, town, village, "branch_committee", at, json!({}), &[]).await;
    }
    held(
        &app,
        town,
        village,
        "theme_day",
        "2026-07-01T09:00:00+08:00",
        json!({}),
        &[],
    )
    .await;
    held(
        &app,
        town,
        village,
        "party_group",
        "2026-07-15T20:00:00+08:00",
        group_id,
        &[],
    )
    .await;
    // Planned but with no roll: not held.
    let mut unheld = meeting(village, "party_lecture", 0, json!({}));
    unheld["starts_at"] = json!("2026-09-30T09:00:00+08:00");
    planned(&app, town, unheld).await;

    let county = app.token(Role::County, None);
    let view: Value = send(
        &app,
        Method::GET,
        &format!("/api/v1/towns/{town}/branches/{village}/meeting-compliance?period=2026-Q3"),
        &county,
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    let kind = |k: &str| {
        view["kinds"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["kind"] == k)
            .cloned()
            .unwrap_or(Value::Null)
    };
    let numbers = |k: &str| {
        let x = kind(k);
        (
            x["required"].clone(),
            x["held"].clone(),
            x["missing"].clone(),
            x["overdue"].clone(),
        )
    };
    assert_eq!(
        numbers("branch_committee"),
        (json!(3), json!(3), json!(1), json!(1))
    );
    assert_eq!(
        numbers("theme_day"),
        (json!(3), json!(1), json!(2), json!(2))
    );
    assert_eq!(
        numbers("party_group"),
        (json!(3), json!(1), json!(2), json!(2))
    );
    assert_eq!(
        numbers("general_meeting"),
        (json!(1), json!(1), json!(0), json!(0))
    );
    assert_eq!(
        numbers("party_lecture"),
        (json!(1), json!(0), json!(1), json!(1))
    );
    assert_eq!(
        kind("life_meeting"),
        Value::Null,
        "a yearly rule over a quarter"
    );
    assert_eq!(kind("general_meeting")["attendance_rate"], 0.6667);
    assert_eq!(
        kind("general_meeting")["attendance_rate_excluding_excused"],
        1.0
    );
    assert_eq!(view["missing"], 6);
    assert_eq!(view["behind"], true);

    // July: the village held all its monthly meetings; the center branch none.
    let july = format!("/api/v1/towns/{town}/meeting-compliance?period=2026-07");
    let all: Value = send(&app, Method::GET, &july, &county, None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(all["branches"].as_array().unwrap().len(), 2);
    let behind: Value = send(
        &app,
        Method::GET,
        &format!("{july}&behind=true"),
        &county,
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    let names: Vec<&str> = behind["branches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["branch_kind"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["center"]);

    // A frequency is town policy: with no theme days required, July's view drops them.
    let res = app
        .authed(
            Method::PATCH,
            &format!("/api/v1/towns/{town}/policy"),
            &app.token(Role::Committee, Some(town)),
        )
        .header("if-match", "\"1\"")
        .json(&json!({ "theme_days_per_month": 0 }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let policy: Value = res.json().await.unwrap();
    assert_eq!(policy["party_groups_per_month"], 1);
    let res = app
        .authed(
            Method::PATCH,
            &format!("/api/v1/towns/{town}/policy"),
            &app.token(Role::Committee, Some(town)),
        )
        .header("if-match", "\"2\"")
        .json(&json!({ "life_meetings_per_year": 13 }))
        .send()
        .await
        .unwrap();
    assert_eq!(
        problem(res, 422).await["errors"][0]["field"],
        "life_meetings_per_year"
    );
    let view: Value = send(
        &app,
        Method::GET,
        &format!("/api/v1/towns/{town}/branches/{village}/meeting-compliance?period=2026-07"),
        &staff(&app, town),
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    assert!(
        view["kinds"]
            .as_array()
            .unwrap()
            .iter()
            .all(|k| k["kind"] != "theme_day")
    );

    // The report, with Chinese headings.
    let res = send(
        &app,
        Method::GET,
        &format!("/api/v1/towns/{town}/reports/meeting-compliance?period=2026-Q3&format=csv"),
        &county,
        None,
    )
    .await;
    assert_eq!(res.status(), 200);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let csv = res.text().await.unwrap();
    assert!(
        csv.trim_start_matches('\u{feff}')
            .starts_with("支部,支部类型,会议类型,频次要求,应开次数")
    );
    assert!(csv.contains("新村党支部,村党支部,支部委员会,每月至少1次,3,3,1,1"));
    let res = app
        .authed(
            Method::GET,
            &format!("/api/v1/towns/{town}/reports/meeting-compliance?period=2026"),
            &county,
        )
        .header(
            "accept",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(
        res.bytes().await.unwrap().starts_with(b"PK"),
        "an XLSX workbook"
    );

    // A bad period, roles, another town.
    let res = send(
        &app,
        Method::GET,
        &format!("/api/v1/towns/{town}/meeting-compliance?period=2026-Q5"),
        &county,
        None,
    )
    .await;
    assert_eq!(problem(res, 400).await["code"], "invalid_query");
    let res = send(
        &app,
        Method::GET,
        &july,
        &app.token(Role::Member, Some(town)),
        None,
    )
    .await;
    problem(res, 403).await;
    let (other, _, _) = seeded(&app, "320114222", 0).await;
    let res = send(
        &app,
        Method::GET,
        &format!("/api/v1/towns/{other}/branches/{village}/meeting-compliance?period=2026"),
        &staff(&app, other),
        None,
    )
    .await;
    problem(res, 404).await;
}
