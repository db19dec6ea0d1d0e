//! Organizational relation transfers: moves inside the town, letters out of and into it,
//! their receipts, rejections and revocations, the overdue listing, and the database's
//! own guard of a member's branch and of the transfer history.

use chrono::{Days, NaiveDate};
use party_center::auth::Role;
use reqwest::{Method, Response};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{
    TestApp, assert_replayed, center_branch, error_fields, insert_branch, insert_member,
    national_id, problem, uuid,
};

/// A town with two village branches and a member in the first.
struct Town {
    id: Uuid,
    a: Uuid,
    b: Uuid,
    member: Uuid,
    committee: String,
    staff: String,
}

/// Creates a [`Town`] with the given code.
async fn town(app: &TestApp, code: &str) -> Town {
    let id = uuid(&app.create_town(code).await["id"]);
    let a = insert_branch(app, id, "东村党支部").await;
    let b = insert_branch(app, id, "西村党支部").await;
    let member = insert_member(app, id, a, "张建国", 1).await;
    Town {
        id,
        a,
        b,
        member,
        committee: app.token(Role::Committee, Some(id)),
        staff: app.token(Role::Staff, Some(id)),
    }
}

/// The town's today (Asia/Shanghai), as the service sees it.
async fn today(app: &TestApp) -> NaiveDate {
    sqlx::query_scalar("SELECT (now() AT TIME ZONE 'Asia/Shanghai')::date")
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

/// Sends `method` to `/api/v1/towns{path}` as `token`, with a JSON body when given.
async fn send(
    app: &TestApp,
    method: Method,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> Response {
    let req = app.authed(method, &format!("/api/v1/towns{path}"), token);
    let req = match body {
        Some(b) => req.json(&b),
        None => req,
    };
    req.send().await.unwrap()
}

/// GETs `/api/v1/towns{path}` as `token`.
async fn get(app: &TestApp, path: &str, token: &str) -> Response {
    send(app, Method::GET, path, token, None).await
}

/// The JSON body of `res`.
async fn read(res: Response) -> Value {
    res.json().await.unwrap()
}

/// POSTs a transfer `body` for `member` as `token`.
async fn transfer(app: &TestApp, t: &Town, member: Uuid, token: &str, body: Value) -> Response {
    send(
        app,
        Method::POST,
        &format!("/{}/members/{member}/transfers", t.id),
        token,
        Some(body),
    )
    .await
}

/// Moves `member` to branch `to` today, as `token`.
async fn internal(app: &TestApp, t: &Town, member: Uuid, to: Uuid, token: &str) -> Response {
    let day = today(app).await;
    transfer(
        app,
        t,
        member,
        token,
        json!({"kind": "internal", "to_branch_id": to, "reason": "工作调动", "decided_on": day}),
    )
    .await
}

/// A complete outflow letter body.
fn outflow_body(serial: &str, decided_on: NaiveDate) -> Value {
    json!({
        "kind": "outflow",
        "external_org": "江宁区秣陵街道党工委",
        "letter_serial": serial,
        "dues_paid_until": decided_on,
        "reason": "外出务工",
        "decided_on": decided_on,
    })
}

/// The committee issues an outflow letter for `member` today.
async fn outflow(app: &TestApp, t: &Town, member: Uuid, serial: &str) -> Response {
    let day = today(app).await;
    transfer(app, t, member, &t.committee, outflow_body(serial, day)).await
}

/// A complete inflow letter body for the newcomer with national ID number `n`.
fn inflow_body(n: u32, serial: &str, to: Uuid, valid_until: NaiveDate, dues: NaiveDate) -> Value {
    json!({
        "name": "王红",
        "national_id": national_id(n),
        "phone": format!("1391234{:04}", n),
        "external_org": "溧水区永阳街道党工委",
        "letter_serial": serial,
        "valid_until": valid_until,
        "dues_paid_until": dues,
        "to_branch_id": to,
        "reason": "返乡创业",
    })
}

/// POSTs an inflow letter `body` to `town` as `token`.
async fn post_inflow(app: &TestApp, town: Uuid, token: &str, body: Value) -> Response {
    let path = format!("/{town}/transfers/inflows");
    send(app, Method::POST, &path, token, Some(body)).await
}

/// The committee records an inflow letter (to branch `b`, valid for 20 days).
async fn inflow(app: &TestApp, t: &Town, n: u32, serial: &str) -> Response {
    let day = today(app).await;
    let body = inflow_body(n, serial, t.b, day + Days::new(20), day);
    post_inflow(app, t.id, &t.committee, body).await
}

/// POSTs a letter action with `If-Match: etag` (none when `None`).
async fn act(
    app: &TestApp,
    t: &Town,
    letter: &Value,
    action: &str,
    token: &str,
    etag: Option<&str>,
    body: Value,
) -> Response {
    let mut req = app.authed(
        Method::POST,
        &format!(
            "/api/v1/towns/{}/transfers/{}/{action}",
            t.id,
            letter["id"].as_str().unwrap()
        ),
        token,
    );
    if let Some(etag) = etag {
        req = req.header("if-match", etag);
    }
    req.json(&body).send().await.unwrap()
}

/// A valid body for a letter action.
fn action_body(action: &str, day: NaiveDate) -> Value {
    if action == "receipt" {
        json!({"receipt_on": day})
    } else {
        json!({"reason": "理由"})
    }
}

/// The committee records `letter`'s receipt on `day`, with `If-Match: etag` if given.
async fn receipt_on(
    app: &TestApp,
    t: &Town,
    letter: &Value,
    etag: Option<&str>,
    day: NaiveDate,
) -> Response {
    let body = json!({ "receipt_on": day });
    act(app, t, letter, "receipt", &t.committee, etag, body).await
}

/// The committee records `letter`'s receipt today, whatever its version.
async fn receipt(app: &TestApp, t: &Town, letter: &Value) -> Response {
    let day = today(app).await;
    receipt_on(app, t, letter, Some("*"), day).await
}

/// The committee closes `letter` by `action` (reject or revoke) for `reason`.
async fn close(
    app: &TestApp,
    t: &Town,
    letter: &Value,
    action: &str,
    etag: &str,
    reason: &str,
) -> Response {
    let body = json!({ "reason": reason });
    act(app, t, letter, action, &t.committee, Some(etag), body).await
}

/// Runs `sql` with `$1 = id` straight in the database, which must refuse it; returns why.
async fn refused(app: &TestApp, sql: &'static str, id: Uuid) -> sqlx::Error {
    sqlx::query(sql)
        .bind(id)
        .execute(&app.pool)
        .await
        .unwrap_err()
}

/// Writes a completed internal transfer straight in the database, which must refuse it.
async fn raw_internal(app: &TestApp, t: &Town, member: Uuid, from: Uuid, to: Uuid) -> sqlx::Error {
    sqlx::query(
        "INSERT INTO transfers (town_id, id, member_id, kind, from_branch_id, to_branch_id, reason, decided_by, decided_on, status)
         VALUES ($1, $2, $3, 'internal', $4, $5, 'x', 'sql', current_date, 'completed')",
    )
    .bind(t.id)
    .bind(Uuid::now_v7())
    .bind(member)
    .bind(from)
    .bind(to)
    .execute(&app.pool)
    .await
    .unwrap_err()
}

/// A member's branch and status, straight from the database.
async fn member_row(app: &TestApp, member: Uuid) -> (Option<Uuid>, String) {
    sqlx::query_as("SELECT branch_id, status FROM members WHERE id = $1")
        .bind(member)
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

/// A member's transfer history, as the committee reads it.
async fn history(app: &TestApp, t: &Town, member: Uuid) -> Vec<Value> {
    let res = get(
        app,
        &format!("/{}/members/{member}/transfers", t.id),
        &t.committee,
    )
    .await;
    assert_eq!(res.status(), 200);
    let page: Value = res.json().await.unwrap();
    page["items"].as_array().unwrap().clone()
}

/// The first page of the town's transfers at `query`, as the committee reads it.
async fn list(app: &TestApp, t: &Town, query: &str) -> Vec<Value> {
    let res = get(app, &format!("/{}/transfers?{query}", t.id), &t.committee).await;
    assert_eq!(res.status(), 200, "listing ?{query}");
    let page: Value = res.json().await.unwrap();
    page["items"].as_array().unwrap().clone()
}
#[tokio::test]
async fn an_internal_transfer_moves_the_member_at_once_and_shows_in_their_history() {
    let app = TestApp::spawn().await;
    let t = town(&app, "TR1").await;

    let res = internal(&app, &t, t.member, t.b, &t.staff).await;
    assert_eq!(res.status(), 201);
    assert_eq!(res.headers()["etag"], "\"1\"");
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    let moved: Value = res.json().await.unwrap();
    assert_eq!(
        location,
        format!(
            "/api/v1/towns/{}/transfers/{}",
            t.id,
            moved["id"].as_str().unwrap()
        )
    );
    assert_eq!(moved["kind"], "internal");
    assert_eq!(moved["status"], "completed");
    assert_eq!(uuid(&moved["from_branch_id"]), t.a);
    assert_eq!(uuid(&moved["to_branch_id"]), t.b);
    assert_eq!(moved["decided_by"], "staff-tester");
    assert_eq!(moved["reason"], "工作调动");
    assert_eq!(moved["overdue"], false);
    assert_eq!(
        member_row(&app, t.member).await,
        (Some(t.b), "active".into())
    );

    let items = history(&app, &t, t.member).await;
    let kinds: Vec<_> = items.iter().map(|i| i["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["registration", "internal"]);
    assert_eq!(items[1]["id"], moved["id"]);

    let res = get(&app, &location["/api/v1/towns".len()..], &t.committee).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["etag"], "\"1\"");

    let audit: (String, Value) =
        sqlx::query_as("SELECT action, data FROM audit_log WHERE resource_id = $1")
            .bind(uuid(&moved["id"]))
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(audit.0, "transfer.completed");
    assert_eq!(audit.1["kind"], "internal");
    assert_eq!(uuid(&audit.1["to_branch_id"]), t.b);

    // And on to the center branch, by the committee.
    let center = center_branch(&app, t.id).await;
    let res = internal(&app, &t, t.member, center, &t.committee).await;
    assert_eq!(res.status(), 201);
    assert_eq!(member_row(&app, t.member).await.0, Some(center));
    assert_eq!(history(&app, &t, t.member).await.len(), 3);
}

#[tokio::test]
async fn a_transfer_goes_to_another_branch_of_this_town_by_a_kind_this_endpoint_takes() {
    let app = TestApp::spawn().await;
    let t = town(&app, "TR2").await;
    let other = town(&app, "TR2X").await;

    let res = internal(&app, &t, t.member, t.a, &t.staff).await;
    let body = problem(res, 422).await;
    assert_eq!(body["errors"][0]["field"], "to_branch_id");
    assert_eq!(body["errors"][0]["code"], "same_branch");

    let res = internal(&app, &t, t.member, other.b, &t.staff).await;
    let body = problem(res, 422).await;
    assert_eq!(body["errors"][0]["field"], "to_branch_id");
    assert_eq!(body["errors"][0]["code"], "unknown_branch");

    let day = today(&app).await;
    for kind in ["registration", "intake", "return", "inflow", "teleport"] {
        let body = json!({"kind": kind, "to_branch_id": t.b, "reason": "x", "decided_on": day});
        let res = transfer(&app, &t, t.member, &t.committee, body).await;
        assert_eq!(
            problem(res, 422).await["errors"][0]["field"],
            "kind",
            "{kind}"
        );
    }

    let body = json!({
        "kind": "internal",
        "reason": " ",
        "decided_on": day + Days::new(1),
        "letter_serial": "X1",
    });
    let res = transfer(&app, &t, t.member, &t.staff, body).await;
    let body = problem(res, 422).await;
    let fields: Vec<(&str, &str)> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["field"].as_str().unwrap(), e["code"].as_str().unwrap()))
        .collect();
    assert_eq!(
        fields,
        [
            ("reason", "required"),
            ("decided_on", "in_the_future"),
            ("to_branch_id", "required"),
            ("letter_serial", "not_allowed")
        ]
    );

    let res = internal(&app, &t, Uuid::now_v7(), t.b, &t.staff).await;
    problem(res, 404).await;
    let res = internal(&app, &t, other.member, t.b, &t.staff).await;
    problem(res, 404).await;

    assert_eq!(
        member_row(&app, t.member).await,
        (Some(t.a), "active".into())
    );
    assert_eq!(
        history(&app, &t, t.member).await.len(),
        1,
        "nothing was written"
    );
}

#[tokio::test]
async fn an_outflow_keeps_the_member_in_place_until_its_receipt() {
    let app = TestApp::spawn().await;
    let t = town(&app, "TR3").await;
    let day = today(&app).await;

    let res = outflow(&app, &t, t.member, "雨党介〔2026〕第001号").await;
    assert_eq!(res.status(), 201);
    let letter: Value = res.json().await.unwrap();
    assert_eq!(letter["kind"], "outflow");
    assert_eq!(letter["status"], "issued");
    assert_eq!(uuid(&letter["from_branch_id"]), t.a);
    assert!(letter["to_branch_id"].is_null());
    assert_eq!(letter["external_org"], "江宁区秣陵街道党工委");
    assert_eq!(letter["valid_until"], json!(day + Days::new(30)));
    assert_eq!(letter["decided_by"], "committee-tester");
    assert_eq!(
        member_row(&app, t.member).await,
        (Some(t.a), "active".into())
    );

    // One open letter at a time, and no move while it is open.
    let res = outflow(&app, &t, t.member, "雨党介〔2026〕第002号").await;
    assert_eq!(problem(res, 409).await["code"], "open_transfer_exists");
    let res = internal(&app, &t, t.member, t.b, &t.committee).await;
    assert_eq!(problem(res, 409).await["code"], "open_transfer_exists");

    // The receipt needs the letter's current ETag.
    let res = receipt_on(&app, &t, &letter, None, day).await;
    assert_eq!(problem(res, 428).await["code"], "precondition_required");
    let res = receipt_on(&app, &t, &letter, Some("\"7\""), day).await;
    problem(res, 412).await;
    let res = receipt_on(&app, &t, &letter, Some("\"1\""), day + Days::new(1)).await;
    assert_eq!(
        problem(res, 422).await["errors"][0]["code"],
        "in_the_future"
    );
    assert_eq!(
        member_row(&app, t.member).await,
        (Some(t.a), "active".into())
    );

    let res = receipt_on(&app, &t, &letter, Some("\"1\""), day).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["etag"], "\"2\"");
    let received: Value = res.json().await.unwrap();
    assert_eq!(received["status"], "received");
    assert_eq!(received["receipt_on"], json!(day));
    assert_eq!(received["closed_by"], "committee-tester");
    assert!(received["closed_at"].is_string());
    // Transferred out; the last branch stays as history.
    assert_eq!(
        member_row(&app, t.member).await,
        (Some(t.a), "transferred_out".into())
    );

    // A member who is not active does not transfer.
    let res = internal(&app, &t, t.member, t.b, &t.committee).await;
    assert_eq!(problem(res, 409).await["code"], "member_not_active");
    let res = outflow(&app, &t, t.member, "雨党介〔2026〕第003号").await;
    assert_eq!(problem(res, 409).await["code"], "member_not_active");

    let kinds: Vec<_> = history(&app, &t, t.member)
        .await
        .iter()
        .map(|i| i["kind"].clone())
        .collect();
    assert_eq!(kinds, [json!("registration"), json!("outflow")]);
    let actions: Vec<String> =
        sqlx::query_scalar("SELECT action FROM audit_log WHERE resource_id = $1 ORDER BY id")
            .bind(uuid(&letter["id"]))
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert_eq!(actions, ["transfer.issued", "transfer.received"]);
}

#[tokio::test]
async fn an_inflow_creates_an_incoming_member_who_joins_the_branch_on_receipt() {
    let app = TestApp::spawn().await;
    let t = town(&app, "TR4").await;

    let res = inflow(&app, &t, 50, "宁党介〔2026〕第101号").await;
    assert_eq!(res.status(), 201);
    let letter: Value = res.json().await.unwrap();
    assert_eq!(letter["kind"], "inflow");
    assert_eq!(letter["status"], "issued");
    assert!(letter["from_branch_id"].is_null());
    assert_eq!(uuid(&letter["to_branch_id"]), t.b);
    let newcomer = uuid(&letter["member_id"]);
    assert_eq!(member_row(&app, newcomer).await, (None, "incoming".into()));
    let stored: (String, String) =
        sqlx::query_as("SELECT name, national_id FROM members WHERE id = $1")
            .bind(newcomer)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(stored, ("王红".into(), national_id(50)));
    assert_eq!(history(&app, &t, newcomer).await.len(), 1);

    // No personal data in the trail.
    let trail: Vec<(String, Value)> =
        sqlx::query_as("SELECT action, data FROM audit_log WHERE town_id = $1 ORDER BY id")
            .bind(t.id)
            .fetch_all(&app.pool)
            .await
            .unwrap();
    let actions: Vec<&str> = trail.iter().map(|(a, _)| a.as_str()).collect();
    assert!(
        actions.ends_with(&["member.incoming", "transfer.issued"]),
        "{actions:?}"
    );
    let text = serde_json::to_string(&trail).unwrap();
    assert!(
        !text.contains(&national_id(50)) && !text.contains("王红") && !text.contains("13912340050")
    );

    // An incoming member has an open letter: no other transfer.
    let res = internal(&app, &t, newcomer, t.a, &t.committee).await;
    assert_eq!(problem(res, 409).await["code"], "open_transfer_exists");

    let res = receipt(&app, &t, &letter).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<Value>().await.unwrap()["status"], "received");
    assert_eq!(
        member_row(&app, newcomer).await,
        (Some(t.b), "active".into())
    );

    // The same person again: they are a member of this town now.
    let res = inflow(&app, &t, 50, "宁党介〔2026〕第102号").await;
    assert_eq!(problem(res, 409).await["code"], "national_id_taken");
    // An existing member's number likewise.
    let res = inflow(&app, &t, 1, "宁党介〔2026〕第103号").await;
    assert_eq!(problem(res, 409).await["code"], "national_id_taken");

    // Field checks.
    let day = today(&app).await;
    let mut body = inflow_body(
        60,
        "宁党介〔2026〕第104号",
        Uuid::now_v7(),
        day - Days::new(1),
        day,
    );
    body["national_id"] = json!("320114198001010001");
    let res = post_inflow(&app, t.id, &t.committee, body).await;
    let body = problem(res, 422).await;
    assert_eq!(error_fields(&body), ["national_id", "valid_until"]);
    let body = inflow_body(61, "宁党介〔2026〕第105号", Uuid::now_v7(), day, day);
    let res = post_inflow(&app, t.id, &t.committee, body).await;
    assert_eq!(
        problem(res, 422).await["errors"][0]["code"],
        "unknown_branch"
    );
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM members WHERE town_id = $1")
        .bind(t.id)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(count, 2, "no half-written newcomer");
}

#[tokio::test]
async fn letters_are_rejected_and_revoked_with_reasons_and_nothing_moves() {
    let app = TestApp::spawn().await;
    let t = town(&app, "TR5").await;

    // An outflow the other side refuses: the member stays, and may be sent again.
    let letter = read(outflow(&app, &t, t.member, "L-1").await).await;
    let res = close(&app, &t, &letter, "reject", "\"1\"", " ").await;
    assert_eq!(problem(res, 422).await["errors"][0]["field"], "reason");
    let res = close(&app, &t, &letter, "reject", "\"1\"", "接收方无此组织").await;
    assert_eq!(res.status(), 200);
    let rejected: Value = res.json().await.unwrap();
    assert_eq!(rejected["status"], "rejected");
    assert_eq!(rejected["rejection_reason"], "接收方无此组织");
    assert!(rejected["revocation_reason"].is_null());
    assert_eq!(
        member_row(&app, t.member).await,
        (Some(t.a), "active".into())
    );

    // A closed letter does not move again, and nothing changes.
    let day = today(&app).await;
    for action in ["receipt", "reject", "revoke"] {
        let body = action_body(action, day);
        let res = act(&app, &t, &letter, action, &t.committee, Some("*"), body).await;
        assert_eq!(
            problem(res, 409).await["code"],
            "transfer_not_open",
            "{action}"
        );
    }
    let res = get(
        &app,
        &format!("/{}/transfers/{}", t.id, letter["id"].as_str().unwrap()),
        &t.committee,
    )
    .await;
    assert_eq!(res.headers()["etag"], "\"2\"");
    assert_eq!(res.json::<Value>().await.unwrap(), rejected);
    assert_eq!(
        member_row(&app, t.member).await,
        (Some(t.a), "active".into())
    );

    // A completed transfer has no letter to move.
    let moved = read(internal(&app, &t, t.member, t.b, &t.committee).await).await;
    let res = close(&app, &t, &moved, "revoke", "*", "x").await;
    assert_eq!(problem(res, 409).await["code"], "transfer_not_open");

    // The committee withdraws a letter.
    let letter = read(outflow(&app, &t, t.member, "L-2").await).await;
    let res = close(&app, &t, &letter, "revoke", "\"1\"", "本人放弃外出").await;
    assert_eq!(res.status(), 200);
    let revoked: Value = res.json().await.unwrap();
    assert_eq!(revoked["status"], "revoked");
    assert_eq!(revoked["revocation_reason"], "本人放弃外出");
    assert_eq!(
        member_row(&app, t.member).await,
        (Some(t.b), "active".into())
    );

    // A rejected inflow leaves the newcomer's record incoming; a later inflow reuses it.
    let first = read(inflow(&app, &t, 70, "IN-1").await).await;
    let newcomer = uuid(&first["member_id"]);
    let res = close(&app, &t, &first, "reject", "\"1\"", "介绍信抬头有误").await;
    assert_eq!(res.status(), 200);
    assert_eq!(member_row(&app, newcomer).await, (None, "incoming".into()));
    let second = read(inflow(&app, &t, 70, "IN-2").await).await;
    assert_eq!(uuid(&second["member_id"]), newcomer, "the record is reused");
    let res = inflow(&app, &t, 70, "IN-3").await;
    assert_eq!(problem(res, 409).await["code"], "open_transfer_exists");
    receipt(&app, &t, &second).await;
    assert_eq!(
        member_row(&app, newcomer).await,
        (Some(t.b), "active".into())
    );
    assert_eq!(history(&app, &t, newcomer).await.len(), 2);

    // A former member who transferred out comes back: their record is reused; if that
    // letter is revoked they are transferred out again.
    let out = read(outflow(&app, &t, t.member, "L-3").await).await;
    receipt(&app, &t, &out).await;
    let back = read(inflow(&app, &t, 1, "IN-4").await).await;
    assert_eq!(uuid(&back["member_id"]), t.member);
    assert_eq!(
        member_row(&app, t.member).await,
        (Some(t.b), "incoming".into())
    );
    let res = close(&app, &t, &back, "revoke", "\"1\"", "对方撤回").await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        member_row(&app, t.member).await,
        (Some(t.b), "transferred_out".into())
    );
    let back = read(inflow(&app, &t, 1, "IN-5").await).await;
    receipt(&app, &t, &back).await;
    assert_eq!(
        member_row(&app, t.member).await,
        (Some(t.b), "active".into())
    );
}

#[tokio::test]
async fn a_letter_serial_is_unique_in_the_town() {
    let app = TestApp::spawn().await;
    let t = town(&app, "TR6").await;
    let second = insert_member(&app, t.id, t.b, "李四", 2).await;
    assert_eq!(outflow(&app, &t, t.member, "SER-1").await.status(), 201);
    let res = outflow(&app, &t, second, "SER-1").await;
    assert_eq!(problem(res, 409).await["code"], "letter_serial_taken");
    let res = inflow(&app, &t, 80, "SER-1").await;
    assert_eq!(problem(res, 409).await["code"], "letter_serial_taken");
    let newcomers: i64 = sqlx::query_scalar("SELECT count(*) FROM members WHERE national_id = $1")
        .bind(national_id(80))
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(newcomers, 0, "nothing half-written");
    assert_eq!(history(&app, &t, second).await.len(), 1);
    // Another town may use the same serial.
    let other = town(&app, "TR6X").await;
    assert_eq!(
        outflow(&app, &other, other.member, "SER-1").await.status(),
        201
    );
}

#[tokio::test]
async fn overdue_letters_are_listed_from_the_towns_today() {
    let app = TestApp::spawn().await;
    let t = town(&app, "TR7").await;
    let day = today(&app).await;
    let late_member = insert_member(&app, t.id, t.a, "赵六", 3).await;
    let mut body = outflow_body("OLD-1", day - Days::new(10));
    body["valid_days"] = json!(3);
    let res = transfer(&app, &t, late_member, &t.committee, body).await;
    assert_eq!(res.status(), 201);
    let late: Value = res.json().await.unwrap();
    assert_eq!(late["valid_until"], json!(day - Days::new(7)));
    assert_eq!(late["overdue"], true);
    let fresh = read(outflow(&app, &t, t.member, "NEW-1").await).await;
    assert_eq!(fresh["overdue"], false);

    let ids = |items: Vec<Value>| {
        items
            .into_iter()
            .map(|i| i["id"].clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        ids(list(&app, &t, "overdue=true").await),
        [late["id"].clone()]
    );
    assert!(!ids(list(&app, &t, "overdue=false").await).contains(&late["id"]));
    assert_eq!(
        ids(list(&app, &t, "kind=outflow&status=issued").await),
        [late["id"].clone(), fresh["id"].clone()]
    );
    assert_eq!(list(&app, &t, "kind=registration").await.len(), 2);
    assert_eq!(
        ids(list(&app, &t, &format!("member_id={}&kind=outflow", t.member)).await),
        [fresh["id"].clone()]
    );
    assert_eq!(list(&app, &t, &format!("branch_id={}", t.a)).await.len(), 4);
    assert_eq!(list(&app, &t, &format!("branch_id={}", t.b)).await.len(), 0);

    // Paging.
    let res = get(&app, &format!("/{}/transfers?limit=3", t.id), &t.committee).await;
    let page: Value = res.json().await.unwrap();
    assert_eq!(page["items"].as_array().unwrap().len(), 3);
    let cursor = page["next_cursor"].as_str().unwrap().to_owned();
    let res = get(
        &app,
        &format!("/{}/transfers?limit=3&cursor={cursor}", t.id),
        &t.committee,
    )
    .await;
    let page: Value = res.json().await.unwrap();
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    assert!(page["next_cursor"].is_null());

    // Received, it is no longer overdue.
    receipt(&app, &t, &late).await;
    assert!(list(&app, &t, "overdue=true").await.is_empty());

    // Validity is 1 to 90 days.
    for days in [0, 91] {
        let mut body = outflow_body("BAD", day);
        body["valid_days"] = json!(days);
        let res = transfer(&app, &t, late_member, &t.committee, body).await;
        assert_eq!(problem(res, 422).await["errors"][0]["field"], "valid_days");
    }
}

#[tokio::test]
async fn a_retried_transfer_is_made_once() {
    let app = TestApp::spawn().await;
    let t = town(&app, "TR8").await;
    let day = today(&app).await;
    let path = format!("/api/v1/towns/{}/members/{}/transfers", t.id, t.member);
    let body =
        json!({"kind": "internal", "to_branch_id": t.b, "reason": "工作调动", "decided_on": day});
    let send_once = || {
        app.authed(Method::POST, &path, &t.staff)
            .header("idempotency-key", "move-1")
            .json(&body)
            .send()
    };
    let first = send_once().await.unwrap();
    assert_eq!(first.status(), 201);
    let first: Value = first.json().await.unwrap();
    let again = send_once().await.unwrap();
    assert_replayed(again, 201, &first).await;
    assert_eq!(history(&app, &t, t.member).await.len(), 2);
}

#[tokio::test]
async fn who_may_do_what_with_transfers() {
    let app = TestApp::spawn().await;
    let t = town(&app, "TR9").await;
    let other = town(&app, "TR9X").await;
    let day = today(&app).await;
    let letter = read(outflow(&app, &t, t.member, "R-1").await).await;
    let letter_id = letter["id"].as_str().unwrap().to_owned();
    let second = insert_member(&app, t.id, t.a, "钱七", 4).await;

    // Staff: internal yes; letters no.
    assert_eq!(
        internal(&app, &t, second, t.b, &t.staff).await.status(),
        201
    );
    let res = transfer(&app, &t, second, &t.staff, outflow_body("R-2", day)).await;
    problem(res, 403).await;
    let body = inflow_body(90, "R-3", t.b, day + Days::new(5), day);
    let res = post_inflow(&app, t.id, &t.staff, body).await;
    problem(res, 403).await;
    for action in ["receipt", "reject", "revoke"] {
        let body = action_body(action, day);
        let res = act(&app, &t, &letter, action, &t.staff, Some("*"), body).await;
        problem(res, 403).await;
    }

    let reads = [
        format!("/{}/transfers", t.id),
        format!("/{}/transfers/{letter_id}", t.id),
        format!("/{}/members/{}/transfers", t.id, t.member),
    ];
    // Staff, committee and county read.
    for token in [
        t.staff.clone(),
        t.committee.clone(),
        app.token(Role::County, None),
    ] {
        for path in &reads {
            assert_eq!(get(&app, path, &token).await.status(), 200, "{path}");
        }
    }
    // The county only reads.
    let county = app.token(Role::County, None);
    problem(internal(&app, &t, second, t.a, &county).await, 403).await;
    let body = json!({"receipt_on": day});
    let res = act(&app, &t, &letter, "receipt", &county, Some("*"), body).await;
    problem(res, 403).await;
    // Members and the admin see nothing of this.
    for token in [app.token(Role::Member, Some(t.id)), app.admin()] {
        for path in &reads {
            problem(get(&app, path, &token).await, 403).await;
        }
        problem(internal(&app, &t, second, t.a, &token).await, 403).await;
        problem(
            transfer(&app, &t, second, &token, outflow_body("R-4", day)).await,
            403,
        )
        .await;
        let body = inflow_body(91, "R-5", t.b, day + Days::new(5), day);
        problem(post_inflow(&app, t.id, &token, body).await, 403).await;
        for action in ["receipt", "reject", "revoke"] {
            let body = action_body(action, day);
            let res = act(&app, &t, &letter, action, &token, Some("*"), body).await;
            problem(res, 403).await;
        }
    }

    // Another town's: 404, through either town's path.
    for path in [
        format!("/{}/transfers", other.id),
        format!("/{}/transfers/{letter_id}", other.id),
        format!("/{}/members/{}/transfers", other.id, other.member),
        format!("/{}/members/{}/transfers", t.id, other.member),
    ] {
        problem(get(&app, &path, &t.committee).await, 404).await;
    }
    problem(
        get(
            &app,
            &format!("/{}/transfers/{letter_id}", other.id),
            &other.committee,
        )
        .await,
        404,
    )
    .await;
    problem(
        internal(&app, &other, other.member, other.b, &t.committee).await,
        404,
    )
    .await;
    problem(close(&app, &other, &letter, "revoke", "*", "x").await, 404).await;
    let body = inflow_body(92, "R-6", other.b, day + Days::new(5), day);
    problem(post_inflow(&app, other.id, &t.committee, body).await, 404).await;
    assert_eq!(
        list(&app, &t, "status=issued").await.len(),
        1,
        "the letter is still open"
    );
}

#[tokio::test]
async fn the_database_keeps_branches_and_history_to_transfers() {
    let app = TestApp::spawn().await;
    let t = town(&app, "TR10").await;

    let err = sqlx::query("UPDATE members SET branch_id = $1 WHERE id = $2")
        .bind(t.b)
        .bind(t.member)
        .execute(&app.pool)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("only through a transfer"), "{err}");

    let letter = read(outflow(&app, &t, t.member, "DB-1").await).await;
    let letter_id = uuid(&letter["id"]);
    let err = refused(&app, "DELETE FROM transfers WHERE id = $1", letter_id).await;
    assert!(err.to_string().contains("cannot be deleted"), "{err}");
    let sql = "UPDATE transfers SET reason = 'edited' WHERE id = $1";
    let err = refused(&app, sql, letter_id).await;
    assert!(err.to_string().contains("cannot be edited"), "{err}");

    // Nothing completes while a letter is open, whoever writes it.
    let err = raw_internal(&app, &t, t.member, t.a, t.b).await;
    assert!(err.to_string().contains("open letter"), "{err}");

    receipt(&app, &t, &letter).await;
    let sql = "UPDATE transfers SET status = 'revoked', revocation_reason = 'x', closed_by = 'sql', closed_at = now() WHERE id = $1";
    let err = refused(&app, sql, letter_id).await;
    assert!(err.to_string().contains("final"), "{err}");

    // A transfer leaves the member's current branch, and only an active member moves.
    let second = insert_member(&app, t.id, t.a, "孙八", 5).await;
    let center = center_branch(&app, t.id).await;
    let err = raw_internal(&app, &t, second, t.b, center).await;
    assert!(err.to_string().contains("current branch"), "{err}");
    sqlx::query("UPDATE members SET status = 'removed' WHERE id = $1")
        .bind(second)
        .execute(&app.pool)
        .await
        .unwrap();
    let res = internal(&app, &t, second, t.b, &t.committee).await;
    assert_eq!(problem(res, 409).await["code"], "member_not_active");
    assert_eq!(
        member_row(&app, second).await,
        (Some(t.a), "removed".into())
    );
}

#[tokio::test]
async fn letters_are_valid_as_long_as_the_towns_policy_says() {
    let app = TestApp::spawn().await;
    let t = town(&app, "TR11").await;
    let day = today(&app).await;
    let res = app
        .authed(
            Method::PATCH,
            &format!("/api/v1/towns/{}/policy", t.id),
            &t.committee,
        )
        .header("if-match", "\"1\"")
        .json(&json!({ "letter_validity_default_days": 10, "letter_validity_max_days": 45 }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);

    // Without valid_days, the policy's default; beyond its maximum, a 422 naming the field.
    let mut body = outflow_body("雨党介〔2026〕第101号", day);
    body["valid_days"] = json!(60);
    let p = problem(transfer(&app, &t, t.member, &t.committee, body).await, 422).await;
    assert_eq!(p["errors"][0]["field"], "valid_days");
    let res = outflow(&app, &t, t.member, "雨党介〔2026〕第101号").await;
    assert_eq!(res.status(), 201);
    let letter: Value = res.json().await.unwrap();
    assert_eq!(letter["valid_until"], json!(day + Days::new(10)));
}
