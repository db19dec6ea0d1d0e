//! The service desk register: whoever comes is registered, the handling follows its state
//! machine with every change kept, counselling stays confidential, nothing is erased.

use std::time::Duration;

use chrono::{DateTime, Utc};
use party_center::auth::{MintRequest, Role};
use reqwest::{Method, Response};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{TestApp, center_branch, insert_member, problem, uuid};

/// A token of `role` in `town` for the person `sub`.
fn token_of(app: &TestApp, role: Role, town: Uuid, sub: &str) -> String {
    app.keys
        .mint(&MintRequest {
            role,
            sub: sub.to_owned(),
            town: Some(town),
            county: None,
            member_id: None,
            ttl: Duration::from_secs(600),
        })
        .unwrap()
}

fn visit(category: &str) -> Value {
    json!({
        "visitor_name": "王芳",
        "visitor_phone": "13812345678",
        "jurisdiction": "安徽省马鞍山市",
        "category": category,
        "request": "咨询组织关系转入手续",
    })
}

fn entries(town: Uuid) -> String {
    format!("/api/v1/towns/{town}/desk-entries")
}

async fn register(app: &TestApp, town: Uuid, token: &str, body: &Value) -> Response {
    app.authed(Method::POST, &entries(town), token)
        .json(body)
        .send()
        .await
        .unwrap()
}

/// Registers a visit and returns the entry.
async fn registered(app: &TestApp, town: Uuid, token: &str, body: &Value) -> Value {
    let res = register(app, town, token, body).await;
    assert_eq!(res.status(), 201, "registering");
    res.json().await.unwrap()
}

async fn change(
    app: &TestApp,
    town: Uuid,
    id: Uuid,
    token: &str,
    version: i64,
    body: Value,
) -> Response {
    app.authed(
        Method::POST,
        &format!("{}/{id}/status", entries(town)),
        token,
    )
    .header("if-match", format!("\"{version}\""))
    .json(&body)
    .send()
    .await
    .unwrap()
}

/// Makes a change that must succeed and returns the entry after it.
async fn changed(
    app: &TestApp,
    town: Uuid,
    id: Uuid,
    token: &str,
    version: i64,
    body: Value,
) -> Value {
    let res = change(app, town, id, token, version, body.clone()).await;
    assert_eq!(res.status(), 200, "{body}");
    assert_eq!(
        res.headers()["etag"],
        format!("\"{}\"", version + 1).as_str()
    );
    res.json().await.unwrap()
}

async fn read(app: &TestApp, town: Uuid, id: Uuid, token: &str) -> Response {
    app.authed(Method::GET, &format!("{}/{id}", entries(town)), token)
        .send()
        .await
        .unwrap()
}

async fn list(app: &TestApp, town: Uuid, token: &str, query: &str) -> Value {
    let res = app
        .authed(Method::GET, &format!("{}?{query}", entries(town)), token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "listing ?{query}");
    res.json().await.unwrap()
}

fn ids(page: &Value) -> Vec<Uuid> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| uuid(&e["id"]))
        .collect()
}

fn time(v: &Value) -> DateTime<Utc> {
    v.as_str().unwrap().parse().unwrap()
}

#[tokio::test]
async fn anyone_who_comes_is_registered_member_of_this_town_or_not() {
    let app = TestApp::spawn().await;
    let town = uuid(&app.create_town("D1").await["id"]);
    let staff = app.token(Role::Staff, Some(town));
    let committee = app.token(Role::Committee, Some(town));

    let before = Utc::now();
    let res = register(&app, town, &staff, &visit("relation_transfer")).await;
    assert_eq!(res.status(), 201);
    assert_eq!(res.headers()["etag"], "\"1\"");
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    let request_id = res.headers()["x-request-id"].to_str().unwrap().to_owned();
    let walk_in: Value = res.json().await.unwrap();
    let id = uuid(&walk_in["id"]);
    assert_eq!(location, format!("/api/v1/towns/{town}/desk-entries/{id}"));
    assert_eq!(walk_in["member_id"], Value::Null);
    assert_eq!(walk_in["jurisdiction"], "安徽省马鞍山市");
    assert_eq!(walk_in["visitor_phone"], "13812345678");
    assert_eq!(walk_in["received_by"], "staff-tester");
    assert_eq!(walk_in["status"], "registered");
    assert_eq!(walk_in["confidential"], false);
    let received_at = time(&walk_in["received_at"]);
    assert!(received_at >= before - chrono::Duration::seconds(1) && received_at <= Utc::now());
    let history = walk_in["history"].as_array().unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(history[0]["version"], 1);
    assert_eq!(history[0]["from_status"], Value::Null);
    assert_eq!(history[0]["status"], "registered");
    assert_eq!(history[0]["changed_by"], "staff-tester");

    // The audit trail says what happened, with no personal data.
    let (action, audit_request, data): (String, Option<String>, Value) =
        sqlx::query_as("SELECT action, request_id, data FROM audit_log WHERE resource_id = $1")
            .bind(id)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(action, "desk_entry.registered");
    assert_eq!(audit_request, Some(request_id));
    let data = data.to_string();
    for personal in ["王芳", "13812345678", "马鞍山", "咨询"] {
        assert!(!data.contains(personal), "{data}");
    }

    // A member of this town, by the committee, who came three days ago.
    let member = insert_member(&app, town, center_branch(&app, town).await, "张建国", 1).await;
    let three_days_ago = Utc::now() - chrono::Duration::days(3);
    let mut body = json!({
        "visitor_name": "张建国",
        "member_id": member,
        "category": "help_request",
        "request": "生活困难，\n请求帮扶",
        "received_at": three_days_ago.to_rfc3339(),
    });
    let entry = registered(&app, town, &committee, &body).await;
    assert_eq!(uuid(&entry["member_id"]), member);
    assert_eq!(entry["visitor_phone"], Value::Null);
    assert_eq!(entry["received_by"], "committee-tester");
    assert_eq!(entry["request"], "生活困难，\n请求帮扶");
    let stored = time(&entry["received_at"]);
    assert!(
        (stored - three_days_ago).num_milliseconds().abs() < 1,
        "{stored}"
    );

    // A retry with the same key changes nothing and gets the first answer.
    let send = |body: Value| {
        app.authed(Method::POST, &entries(town), &staff)
            .header("idempotency-key", "desk-visit-1")
            .json(&body)
            .send()
    };
    body["received_at"] = Value::Null;
    let first: Value = send(body.clone()).await.unwrap().json().await.unwrap();
    let again = send(body.clone()).await.unwrap();
    assert_eq!(again.status(), 201);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(again.json::<Value>().await.unwrap()["id"], first["id"]);
    body["request"] = json!("另一件事");
    assert_eq!(
        problem(send(body).await.unwrap(), 422).await["code"],
        "idempotency_key_reused"
    );
    assert_eq!(ids(&list(&app, town, &staff, "").await).len(), 3);
}

#[tokio::test]
async fn bad_registrations_are_422s_naming_the_field_and_store_nothing() {
    let app = TestApp::spawn().await;
    let town = uuid(&app.create_town("D2").await["id"]);
    let other = uuid(&app.create_town("D2X").await["id"]);
    let staff = app.token(Role::Staff, Some(town));
    let stranger = insert_member(&app, other, center_branch(&app, other).await, "李四", 2).await;
    let future = (Utc::now() + chrono::Duration::hours(1)).to_rfc3339();
    let cases = [
        (
            "visitor_phone",
            "invalid_phone",
            json!({"visitor_phone": "12345"}),
        ),
        (
            "visitor_phone",
            "invalid_phone",
            json!({"visitor_phone": "138 1234 5678"}),
        ),
        (
            "received_at",
            "in_the_future",
            json!({"received_at": future}),
        ),
        ("category", "invalid_type", json!({"category": "gossip"})),
        ("request", "required", json!({"request": "  \n "})),
        (
            "request",
            "control_characters",
            json!({"request": "a\u{1b}b"}),
        ),
        ("visitor_name", "required", json!({"visitor_name": ""})),
        (
            "member_id",
            "unknown_member",
            json!({"member_id": stranger}),
        ),
        (
            "member_id",
            "unknown_member",
            json!({"member_id": Uuid::now_v7()}),
        ),
        (
            "received_by",
            "unknown_field",
            json!({"received_by": "someone-else"}),
        ),
        ("status", "unknown_field", json!({"status": "resolved"})),
    ];
    for (field, code, patch) in cases {
        let mut body = visit("consultation");
        for (k, v) in patch.as_object().unwrap() {
            body[k] = v.clone();
        }
        let res = register(&app, town, &staff, &body).await;
        let p = problem(res, 422).await;
        assert_eq!(p["errors"][0]["field"], field, "{p}");
        assert_eq!(p["errors"][0]["code"], code, "{p}");
    }
    let res = register(
        &app,
        town,
        &staff,
        &json!({"visitor_name": "x", "category": "other"}),
    )
    .await;
    assert_eq!(problem(res, 422).await["errors"][0]["field"], "request");
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM desk_entries")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(count, 0);
}

/// Asserts that `body` is refused from the entry's current state with a 409 and that
/// nothing changed.
async fn refused(app: &TestApp, town: Uuid, id: Uuid, token: &str, body: Value) {
    let before: Value = read(app, town, id, token).await.json().await.unwrap();
    let version = before["version"].as_i64().unwrap();
    let res = change(app, town, id, token, version, body.clone()).await;
    assert_eq!(
        problem(res, 409).await["code"],
        "invalid_status_change",
        "{body}"
    );
    let after: Value = read(app, town, id, token).await.json().await.unwrap();
    assert_eq!(before, after, "a refused change changes nothing");
}

#[tokio::test]
async fn the_state_machine_allows_its_changes_and_refuses_every_other() {
    let app = TestApp::spawn().await;
    let town = uuid(&app.create_town("D3").await["id"]);
    let staff = app.token(Role::Staff, Some(town));
    let committee = app.token(Role::Committee, Some(town));
    let entry = registered(&app, town, &staff, &visit("consultation")).await;
    let id = uuid(&entry["id"]);
    let to = |status: &str| json!({ "status": status });
    let resolve = json!({"status": "resolved", "outcome": "已答复"});
    let refer = json!({"status": "referred", "referred_to": "镇司法所", "reason": "涉及法律援助"});

    // registered: only to in_progress.
    for body in [to("registered"), resolve.clone(), refer.clone()] {
        refused(&app, town, id, &staff, body).await;
    }
    let e = changed(
        &app,
        town,
        id,
        &staff,
        1,
        json!({"status": "in_progress", "note": "已接手"}),
    )
    .await;
    assert_eq!(e["status"], "in_progress");

    // in_progress: to resolved or referred, each with what it needs.
    for body in [to("registered"), to("in_progress")] {
        refused(&app, town, id, &staff, body).await;
    }
    let res = change(
        &app,
        town,
        id,
        &staff,
        2,
        json!({"status": "referred", "referred_to": "镇司法所"}),
    )
    .await;
    assert_eq!(problem(res, 422).await["errors"][0]["field"], "reason");
    let res = change(&app, town, id, &staff, 2, to("resolved")).await;
    assert_eq!(problem(res, 422).await["errors"][0]["field"], "outcome");
    let res = change(
        &app,
        town,
        id,
        &staff,
        2,
        json!({"status": "resolved", "outcome": "x", "referred_to": "y"}),
    )
    .await;
    not_allowed(res, "referred_to").await;
    let e = changed(&app, town, id, &committee, 2, refer.clone()).await;
    assert_eq!(e["referred_to"], "镇司法所");
    assert_eq!(e["referral_reason"], "涉及法律援助");

    // referred: it comes back with its follow-up, to in_progress or resolved.
    for body in [to("registered"), refer.clone()] {
        refused(&app, town, id, &staff, body).await;
    }
    let res = change(&app, town, id, &staff, 3, to("in_progress")).await;
    let p = problem(res, 422).await;
    assert_eq!(
        (
            p["errors"][0]["field"].as_str(),
            p["errors"][0]["code"].as_str()
        ),
        (Some("note"), Some("required"))
    );
    let e = changed(
        &app,
        town,
        id,
        &staff,
        3,
        json!({"status": "in_progress", "note": "司法所已受理并反馈"}),
    )
    .await;
    assert_eq!(e["follow_up"], "司法所已受理并反馈");
    assert_eq!(e["referred_to"], "镇司法所", "the referral is kept");
    let e = changed(&app, town, id, &staff, 4, resolve.clone()).await;
    assert_eq!(e["status"], "resolved");
    assert_eq!(e["outcome"], "已答复");

    // resolved is final.
    for body in [
        to("registered"),
        to("in_progress"),
        resolve.clone(),
        refer.clone(),
    ] {
        refused(&app, town, id, &staff, body).await;
    }

    // The history: every change, with who and when, in order.
    let res = read(&app, town, id, &committee).await;
    assert_eq!(res.headers()["etag"], "\"5\"");
    let e: Value = res.json().await.unwrap();
    let history = e["history"].as_array().unwrap();
    let steps: Vec<(Value, Value, Value)> = history
        .iter()
        .map(|h| {
            (
                h["from_status"].clone(),
                h["status"].clone(),
                h["changed_by"].clone(),
            )
        })
        .collect();
    assert_eq!(
        steps,
        vec![
            (Value::Null, json!("registered"), json!("staff-tester")),
            (
                json!("registered"),
                json!("in_progress"),
                json!("staff-tester")
            ),
            (
                json!("in_progress"),
                json!("referred"),
                json!("committee-tester")
            ),
            (
                json!("referred"),
                json!("in_progress"),
                json!("staff-tester")
            ),
            (
                json!("in_progress"),
                json!("resolved"),
                json!("staff-tester")
            ),
        ]
    );
    assert_eq!(history[1]["note"], "已接手");
    assert_eq!(history[2]["referred_to"], "镇司法所");
    assert_eq!(history[2]["reason"], "涉及法律援助");
    assert_eq!(history[3]["note"], "司法所已受理并反馈");
    assert_eq!(history[4]["outcome"], "已答复");
    let times: Vec<DateTime<Utc>> = history.iter().map(|h| time(&h["changed_at"])).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "{times:?}");
    assert!(times[4] <= Utc::now());
    assert_eq!(e["status_changed_by"], "staff-tester");
    assert_eq!(time(&e["status_changed_at"]), times[4]);
    let actions: Vec<String> =
        sqlx::query_scalar("SELECT action FROM audit_log WHERE resource_id = $1 ORDER BY id")
            .bind(id)
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert_eq!(actions.len(), 5);
    assert!(
        actions[1..]
            .iter()
            .all(|a| a == "desk_entry.status_changed")
    );

    // A referred entry may also be resolved straight away when it comes back.
    let id = uuid(&registered(&app, town, &staff, &visit("other")).await["id"]);
    changed(&app, town, id, &staff, 1, to("in_progress")).await;
    changed(&app, town, id, &staff, 2, refer).await;
    let res = change(&app, town, id, &staff, 3, resolve.clone()).await;
    assert_eq!(problem(res, 422).await["errors"][0]["field"], "note");
    let e = changed(
        &app,
        town,
        id,
        &staff,
        3,
        json!({"status": "resolved", "outcome": "已办结", "note": "司法所办结"}),
    )
    .await;
    assert_eq!(
        (e["status"].as_str(), e["follow_up"].as_str()),
        (Some("resolved"), Some("司法所办结"))
    );
}

/// A change given a field it does not take: a 422 naming it.
async fn not_allowed(res: Response, field: &str) {
    let p = problem(res, 422).await;
    assert_eq!(p["errors"][0]["field"], field, "{p}");
    assert_eq!(p["errors"][0]["code"], "not_allowed", "{p}");
}

#[tokio::test]
async fn status_changes_need_the_current_etag() {
    let app = TestApp::spawn().await;
    let town = uuid(&app.create_town("D4").await["id"]);
    let staff = app.token(Role::Staff, Some(town));
    let id = uuid(&registered(&app, town, &staff, &visit("materials")).await["id"]);
    let path = format!("{}/{id}/status", entries(town));
    let res = app
        .authed(Method::POST, &path, &staff)
        .json(&json!({"status": "in_progress"}))
        .send()
        .await
        .unwrap();
    assert_eq!(problem(res, 428).await["code"], "precondition_required");
    let res = change(&app, town, id, &staff, 7, json!({"status": "in_progress"})).await;
    assert_eq!(problem(res, 412).await["code"], "precondition_failed");
    let res = app
        .authed(Method::POST, &path, &staff)
        .header("if-match", "*")
        .json(&json!({"status": "in_progress"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["etag"], "\"2\"");
    let res = change(
        &app,
        town,
        Uuid::now_v7(),
        &staff,
        1,
        json!({"status": "in_progress"}),
    )
    .await;
    problem(res, 404).await;
}

#[tokio::test]
async fn counselling_is_seen_by_its_author_and_the_committee_only() {
    let app = TestApp::spawn().await;
    let town = uuid(&app.create_town("D5").await["id"]);
    let li = token_of(&app, Role::Staff, town, "staff-li");
    let wang = token_of(&app, Role::Staff, town, "staff-wang");
    let committee = app.token(Role::Committee, Some(town));
    let county = app.token(Role::County, None);

    let open = uuid(&registered(&app, town, &wang, &visit("consultation")).await["id"]);
    let talk = registered(&app, town, &li, &visit("counselling")).await;
    assert_eq!(talk["confidential"], true);
    let talk = uuid(&talk["id"]);

    // Its author and the committee see it, in lists and by id, and may handle it.
    for token in [&li, &committee] {
        assert_eq!(ids(&list(&app, town, token, "").await), vec![open, talk]);
        assert_eq!(
            ids(&list(&app, town, token, "category=counselling").await),
            vec![talk]
        );
        assert_eq!(read(&app, town, talk, token).await.status(), 200);
    }
    changed(&app, town, talk, &li, 1, json!({"status": "in_progress"})).await;

    // Anyone else: as if it did not exist.
    for token in [&wang, &county] {
        let page = list(&app, town, token, "").await;
        assert_eq!(ids(&page), vec![open]);
        assert_eq!(page["next_cursor"], Value::Null);
        assert!(ids(&list(&app, town, token, "category=counselling").await).is_empty());
        assert!(ids(&list(&app, town, token, "status=in_progress").await).is_empty());
        let p = problem(read(&app, town, talk, token).await, 404).await;
        assert_eq!(p["code"], "not_found");
    }
    let res = change(
        &app,
        town,
        talk,
        &wang,
        2,
        json!({"status": "resolved", "outcome": "x"}),
    )
    .await;
    problem(res, 404).await;
    // Not even a cursor gives it away.
    let page = list(&app, town, &wang, "limit=1").await;
    assert_eq!(ids(&page), vec![open]);
    assert_eq!(page["next_cursor"], Value::Null);
}

#[tokio::test]
async fn open_for_days_lists_entries_still_open_after_that_long() {
    let app = TestApp::spawn().await;
    let town = uuid(&app.create_town("D6").await["id"]);
    let staff = app.token(Role::Staff, Some(town));
    let member = insert_member(&app, town, center_branch(&app, town).await, "赵六", 3).await;
    let days_ago = |n: i64| (Utc::now() - chrono::Duration::days(n)).to_rfc3339();
    let with = |category: &str, days: i64| {
        let mut v = visit(category);
        v["received_at"] = json!(days_ago(days));
        v
    };
    let old_open = uuid(&registered(&app, town, &staff, &with("consultation", 10)).await["id"]);
    let old_resolved = uuid(&registered(&app, town, &staff, &with("consultation", 10)).await["id"]);
    changed(
        &app,
        town,
        old_resolved,
        &staff,
        1,
        json!({"status": "in_progress"}),
    )
    .await;
    changed(
        &app,
        town,
        old_resolved,
        &staff,
        2,
        json!({"status": "resolved", "outcome": "已答复"}),
    )
    .await;
    let old_referred = uuid(&registered(&app, town, &staff, &with("help_request", 8)).await["id"]);
    changed(
        &app,
        town,
        old_referred,
        &staff,
        1,
        json!({"status": "in_progress"}),
    )
    .await;
    changed(
        &app,
        town,
        old_referred,
        &staff,
        2,
        json!({"status": "referred", "referred_to": "民政办", "reason": "低保"}),
    )
    .await;
    let mut recent = with("materials", 2);
    recent["member_id"] = json!(member);
    let recent = uuid(&registered(&app, town, &staff, &recent).await["id"]);
    let today = uuid(&registered(&app, town, &staff, &visit("other")).await["id"]);

    assert_eq!(
        ids(&list(&app, town, &staff, "open_for_days=5").await),
        vec![old_open, old_referred]
    );
    assert_eq!(
        ids(&list(&app, town, &staff, "open_for_days=9").await),
        vec![old_open]
    );
    assert_eq!(
        ids(&list(&app, town, &staff, "open_for_days=1").await),
        vec![old_open, old_referred, recent]
    );
    assert_eq!(
        ids(&list(&app, town, &staff, "open_for_days=0").await),
        vec![old_open, old_referred, recent, today]
    );
    assert_eq!(
        ids(&list(&app, town, &staff, "open_for_days=5&category=help_request").await),
        vec![old_referred]
    );
    assert_eq!(
        ids(&list(&app, town, &staff, "status=resolved").await),
        vec![old_resolved]
    );
    assert_eq!(
        ids(&list(&app, town, &staff, &format!("member_id={member}")).await),
        vec![recent]
    );

    // Keyset paging walks the whole register.
    let first = list(&app, town, &staff, "limit=3").await;
    assert_eq!(ids(&first), vec![old_open, old_resolved, old_referred]);
    let cursor = first["next_cursor"].as_str().unwrap();
    let second = list(&app, town, &staff, &format!("limit=3&cursor={cursor}")).await;
    assert_eq!(ids(&second), vec![recent, today]);
    assert_eq!(second["next_cursor"], Value::Null);

    for query in [
        "open_for_days=36501",
        "open_for_days=-1",
        "status=closed",
        "member_id=x",
    ] {
        let res = app
            .authed(Method::GET, &format!("{}?{query}", entries(town)), &staff)
            .send()
            .await
            .unwrap();
        problem(res, 400).await;
    }
}

#[tokio::test]
async fn roles_staff_and_committee_write_county_reads_masked_others_are_refused() {
    let app = TestApp::spawn().await;
    let town = uuid(&app.create_town("D7").await["id"]);
    let staff = app.token(Role::Staff, Some(town));
    let entry = registered(&app, town, &staff, &visit("consultation")).await;
    let id = uuid(&entry["id"]);

    for token in &[app.token(Role::Member, Some(town)), app.admin()] {
        problem(register(&app, town, token, &visit("other")).await, 403).await;
        let res = app
            .authed(Method::GET, &entries(town), token)
            .send()
            .await
            .unwrap();
        problem(res, 403).await;
        problem(read(&app, town, id, token).await, 403).await;
        problem(
            change(&app, town, id, token, 1, json!({"status": "in_progress"})).await,
            403,
        )
        .await;
    }
    let county = app.token(Role::County, None);
    problem(register(&app, town, &county, &visit("other")).await, 403).await;
    problem(
        change(&app, town, id, &county, 1, json!({"status": "in_progress"})).await,
        403,
    )
    .await;
    let res = app
        .request(Method::GET, &entries(town))
        .send()
        .await
        .unwrap();
    problem(res, 401).await;

    // County reads, with the visitor's phone masked; staff and the committee see it whole.
    let page = list(&app, town, &county, "").await;
    assert_eq!(page["items"][0]["visitor_phone"], "138****5678");
    let res = read(&app, town, id, &county).await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.json::<Value>().await.unwrap()["visitor_phone"],
        "138****5678"
    );
    let committee = app.token(Role::Committee, Some(town));
    for token in [&staff, &committee] {
        assert_eq!(
            list(&app, town, token, "").await["items"][0]["visitor_phone"],
            "13812345678"
        );
        let e: Value = read(&app, town, id, token).await.json().await.unwrap();
        assert_eq!(e["visitor_phone"], "13812345678");
    }
    // The committee registers and changes status too.
    registered(&app, town, &committee, &visit("branch_support")).await;
    changed(
        &app,
        town,
        id,
        &committee,
        1,
        json!({"status": "in_progress"}),
    )
    .await;
}

#[tokio::test]
async fn another_towns_register_answers_404() {
    let app = TestApp::spawn().await;
    let town = uuid(&app.create_town("D8").await["id"]);
    let other = uuid(&app.create_town("D8X").await["id"]);
    let res = app
        .authed(Method::POST, "/api/v1/towns", &app.admin())
        .json(&json!({"code": "D8Y", "name": "远镇", "county_code": "999999"}))
        .send()
        .await
        .unwrap();
    let far = uuid(&res.json::<Value>().await.unwrap()["id"]);
    let staff = app.token(Role::Staff, Some(town));
    let theirs = registered(
        &app,
        other,
        &app.token(Role::Staff, Some(other)),
        &visit("other"),
    )
    .await;
    let theirs = uuid(&theirs["id"]);

    problem(register(&app, other, &staff, &visit("other")).await, 404).await;
    let res = app
        .authed(Method::GET, &entries(other), &staff)
        .send()
        .await
        .unwrap();
    problem(res, 404).await;
    problem(read(&app, other, theirs, &staff).await, 404).await;
    // Their entry through our own town's path.
    problem(read(&app, town, theirs, &staff).await, 404).await;
    problem(
        change(
            &app,
            town,
            theirs,
            &staff,
            1,
            json!({"status": "in_progress"}),
        )
        .await,
        404,
    )
    .await;
    problem(
        change(
            &app,
            other,
            theirs,
            &staff,
            1,
            json!({"status": "in_progress"}),
        )
        .await,
        404,
    )
    .await;
    // A county reads only the towns of its county.
    let county = app.token(Role::County, None);
    let res = app
        .authed(Method::GET, &entries(far), &county)
        .send()
        .await
        .unwrap();
    problem(res, 404).await;
    assert_eq!(read(&app, other, theirs, &county).await.status(), 200);
}

#[tokio::test]
async fn the_database_refuses_to_delete_or_edit_what_was_registered() {
    let app = TestApp::spawn().await;
    let town = uuid(&app.create_town("D9").await["id"]);
    let staff = app.token(Role::Staff, Some(town));
    let id = uuid(&registered(&app, town, &staff, &visit("counselling")).await["id"]);
    changed(&app, town, id, &staff, 1, json!({"status": "in_progress"})).await;
    let before: Value = read(&app, town, id, &staff).await.json().await.unwrap();

    let forbidden = [
        "DELETE FROM desk_entries",
        "TRUNCATE desk_entries CASCADE",
        "UPDATE desk_entries SET request = '改过的内容', version = version + 1, status = 'resolved', outcome = 'x'",
        "UPDATE desk_entries SET visitor_name = '别人', version = version + 1, status = 'resolved', outcome = 'x'",
        "UPDATE desk_entries SET visitor_phone = NULL, version = version + 1, status = 'resolved', outcome = 'x'",
        "UPDATE desk_entries SET received_by = 'someone', version = version + 1, status = 'resolved', outcome = 'x'",
        "UPDATE desk_entries SET received_at = received_at - interval '1 day', version = version + 1, status = 'resolved', outcome = 'x'",
        "UPDATE desk_entries SET category = 'other', version = version + 1, status = 'resolved', outcome = 'x'",
        // Only a change the state machine allows, one version at a time.
        "UPDATE desk_entries SET status = 'registered', version = version + 1",
        "UPDATE desk_entries SET status = 'resolved', outcome = 'x', version = version + 2",
        "UPDATE desk_entries SET status_note = 'x'",
        "UPDATE desk_entries SET status = 'resolved', version = version + 1",
        // The history is append-only.
        "UPDATE desk_status_events SET changed_by = 'someone'",
        "DELETE FROM desk_status_events",
        "TRUNCATE desk_status_events",
    ];
    for sql in forbidden {
        assert!(
            sqlx::raw_sql(sql).execute(&app.pool).await.is_err(),
            "{sql}"
        );
    }
    let after: Value = read(&app, town, id, &staff).await.json().await.unwrap();
    assert_eq!(before, after);
    // A change by the machine's rules goes through, and leaves its history row.
    sqlx::raw_sql("UPDATE desk_entries SET status = 'resolved', outcome = '已疏导', status_note = NULL, status_changed_by = 'ops', version = version + 1")
        .execute(&app.pool)
        .await
        .unwrap();
    let e: Value = read(&app, town, id, &staff).await.json().await.unwrap();
    assert_eq!(e["history"].as_array().unwrap().len(), 3);
    assert_eq!(e["history"][2]["changed_by"], "ops");
}
