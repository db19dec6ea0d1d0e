//! Democratic evaluations: scheduling for a due case only, the panel's rules (not the
//! member under evaluation, not a floating member), one secret vote per evaluator (also
//! under concurrency), the quorum, a pass that returns the member and ends the case, a
//! fail that keeps it open (and restarts the score when the policy says so), roles and
//! towns.

use std::collections::HashSet;
use std::time::Duration;

use chrono::{Days, NaiveDate, Utc};
use party_center::auth::{MintRequest, Role};
use reqwest::{Method, Response};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{TestApp, assert_replayed, insert_branch, insert_member, problem, uuid};

/// A town with a village branch, four members in it, and an open case for the first.
struct Fixture {
    town: Uuid,
    branch: Uuid,
    members: Vec<Uuid>,
    case: Uuid,
}

fn today() -> NaiveDate {
    Utc::now()
        .with_timezone(&chrono_tz::Asia::Shanghai)
        .date_naive()
}

async fn fixture(app: &TestApp, code: &str) -> Fixture {
    let town = uuid(&app.create_town(code).await["id"]);
    let branch = insert_branch(app, town, "新村党支部").await;
    let mut members = Vec::new();
    for i in 0..4 {
        members.push(insert_member(app, town, branch, &format!("党员{i}"), i + 1).await);
    }
    let res = app
        .authed(
            Method::POST,
            &format!("/api/v1/towns/{town}/cases"),
            &app.token(Role::Committee, Some(town)),
        )
        .json(&json!({ "member_id": members[0], "reason": "长期不参加组织生活" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201, "opening the case");
    let case = uuid(&res.json::<Value>().await.unwrap()["id"]);
    Fixture {
        town,
        branch,
        members,
        case,
    }
}

/// Brings the case to 15 points (5 + 10) with a committee correction: an evaluation is due.
async fn make_due(app: &TestApp, f: &Fixture) {
    let res = app
        .authed(
            Method::POST,
            &format!("/api/v1/towns/{}/cases/{}/adjustments", f.town, f.case),
            &app.token(Role::Committee, Some(f.town)),
        )
        .header("idempotency-key", format!("due-{}", Uuid::now_v7()))
        .json(&json!({ "kind": "correction", "points": 10, "reason": "x" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201, "correcting the score");
    assert_eq!(
        res.json::<Value>().await.unwrap()["status"],
        "evaluation_due"
    );
}

/// A token of `role` in `town` whose subject is `sub`.
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

const KINDS: [&str; 4] = [
    "center_staff",
    "village_cadre",
    "congress_deputy",
    "public_representative",
];

/// Evaluators `ev-1` .. `ev-n`, of several kinds, none a member.
fn panel(n: usize) -> Vec<Value> {
    (1..=n)
        .map(|i| {
            json!({ "kind": KINDS[i % KINDS.len()], "subject": format!("ev-{i}"), "name": format!("评议人{i}") })
        })
        .collect()
}

/// Now: ballots open at the scheduled time, so the tests that vote meet now.
fn held_at() -> String {
    Utc::now().to_rfc3339()
}

fn base(town: Uuid) -> String {
    format!("/api/v1/towns/{town}/evaluations")
}

async fn schedule_as(app: &TestApp, town: Uuid, token: &str, body: &Value) -> Response {
    app.authed(Method::POST, &base(town), token)
        .json(body)
        .send()
        .await
        .unwrap()
}

fn schedule_body(case: Uuid, panel: Vec<Value>) -> Value {
    json!({ "case_id": case, "held_at": held_at(), "place": "党员活动室", "panel": panel })
}

/// Schedules an evaluation of the fixture's case with `panel` and returns it.
async fn scheduled(app: &TestApp, f: &Fixture, panel: Vec<Value>) -> Value {
    let res = schedule_as(
        app,
        f.town,
        &app.token(Role::Committee, Some(f.town)),
        &schedule_body(f.case, panel),
    )
    .await;
    assert_eq!(res.status(), 201, "scheduling");
    res.json().await.unwrap()
}

async fn vote_as(app: &TestApp, town: Uuid, id: &Value, token: &str, verdict: &str) -> Response {
    app.authed(
        Method::POST,
        &format!("{}/{}/votes", base(town), id.as_str().unwrap()),
        token,
    )
    .json(&json!({ "verdict": verdict }))
    .send()
    .await
    .unwrap()
}

/// `ev-<i>` votes `verdict` with a staff token, and it counts.
async fn vote(app: &TestApp, town: Uuid, id: &Value, i: usize, verdict: &str) {
    let t = token_of(app, Role::Staff, town, &format!("ev-{i}"));
    let res = vote_as(app, town, id, &t, verdict).await;
    assert_eq!(res.status(), 200, "ev-{i} votes");
}

async fn close_as(
    app: &TestApp,
    town: Uuid,
    id: &Value,
    token: &str,
    if_match: Option<&str>,
) -> Response {
    let mut req = app.authed(
        Method::POST,
        &format!("{}/{}/close", base(town), id.as_str().unwrap()),
        token,
    );
    if let Some(tag) = if_match {
        req = req.header("if-match", tag);
    }
    req.send().await.unwrap()
}

async fn get_as(app: &TestApp, town: Uuid, id: &Value, token: &str) -> Response {
    app.authed(
        Method::GET,
        &format!("{}/{}", base(town), id.as_str().unwrap()),
        token,
    )
    .send()
    .await
    .unwrap()
}

async fn read(app: &TestApp, town: Uuid, id: &Value) -> Value {
    let res = get_as(app, town, id, &app.token(Role::Committee, Some(town))).await;
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

async fn case_of(app: &TestApp, f: &Fixture) -> Value {
    let res = app
        .authed(
            Method::GET,
            &format!("/api/v1/towns/{}/cases/{}", f.town, f.case),
            &app.token(Role::Committee, Some(f.town)),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

/// Closes as the committee with the evaluation's current ETag.
async fn close_current(app: &TestApp, town: Uuid, id: &Value) -> Response {
    let version = read(app, town, id).await["version"].clone();
    close_as(
        app,
        town,
        id,
        &app.token(Role::Committee, Some(town)),
        Some(&format!("\"{version}\"")),
    )
    .await
}

/// No verdict of a single evaluator anywhere in a JSON answer.
fn assert_no_verdicts(v: &Value) {
    let text = v.to_string();
    assert!(!text.contains("verdict"), "{text}");
    assert!(
        !text.contains("\"qualified\":\"") && !text.contains("not_qualified\""),
        "{text}"
    );
}

#[tokio::test]
async fn an_evaluation_is_scheduled_only_for_a_due_case_which_goes_under_evaluation() {
    let app = TestApp::spawn().await;
    let f = fixture(&app, "E1").await;
    let committee = app.token(Role::Committee, Some(f.town));

    let res = schedule_as(&app, f.town, &committee, &schedule_body(f.case, panel(5))).await;
    assert_eq!(problem(res, 409).await["code"], "case_not_due");
    let res = schedule_as(
        &app,
        f.town,
        &committee,
        &schedule_body(Uuid::now_v7(), panel(5)),
    )
    .await;
    let body = problem(res, 422).await;
    assert_eq!(body["errors"][0]["field"], "case_id");
    assert_eq!(body["errors"][0]["code"], "unknown_case");

    make_due(&app, &f).await;
    let mut evaluators = panel(5);
    evaluators.push(json!({ "kind": "party_member_representative", "subject": "rep", "name": "党员代表", "member_id": f.members[1] }));
    let body = schedule_body(f.case, evaluators);
    let res = app
        .authed(Method::POST, &base(f.town), &committee)
        .header("idempotency-key", "schedule-1")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    assert_eq!(res.headers()["etag"], "\"1\"");
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    let ev: Value = res.json().await.unwrap();
    assert_eq!(
        location,
        format!("{}/{}", base(f.town), ev["id"].as_str().unwrap())
    );
    assert_eq!(ev["status"], "open");
    assert_eq!(ev["case_id"], json!(f.case));
    assert_eq!(ev["member_id"], json!(f.members[0]));
    assert_eq!(ev["place"], "党员活动室");
    assert_eq!(ev["policy_version"], 1);
    assert_eq!(ev["quorum"], 5);
    assert_eq!(ev["majority_percent"], 50);
    assert_eq!(ev["votes_cast"], 0);
    assert!(ev["tally"].is_null());
    assert_eq!(ev["scheduled_by"], "committee-tester");
    let panel_out = ev["panel"].as_array().unwrap();
    assert_eq!(panel_out.len(), 6);
    assert_eq!(panel_out[0]["subject"], "ev-1");
    assert_eq!(panel_out[0]["kind"], "village_cadre");
    assert_eq!(panel_out[5]["member_id"], json!(f.members[1]));
    assert!(panel_out.iter().all(|e| e["has_voted"] == false));

    // A retry with the same key answers the same and schedules nothing more.
    let again = app
        .authed(Method::POST, &base(f.town), &committee)
        .header("idempotency-key", "schedule-1")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_replayed(again, 201, &ev).await;

    let case = case_of(&app, &f).await;
    assert_eq!(case["status"], "under_evaluation");
    // One evaluation at a time.
    let res = schedule_as(&app, f.town, &committee, &schedule_body(f.case, panel(5))).await;
    assert_eq!(problem(res, 409).await["code"], "case_not_due");

    let (action, data): (String, Value) = sqlx::query_as(
        "SELECT action, data FROM audit_log WHERE resource_type = 'evaluation' AND resource_id = $1",
    )
    .bind(uuid(&ev["id"]))
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(action, "evaluation.scheduled");
    assert_eq!(data["panel_size"], 6);
    assert!(
        !data.to_string().contains("评议人"),
        "no names in the trail"
    );
    assert_eq!(read(&app, f.town, &ev["id"]).await, ev);
}

#[tokio::test]
async fn the_member_under_evaluation_and_floating_members_cannot_sit_on_the_panel() {
    let app = TestApp::spawn().await;
    let f = fixture(&app, "E2").await;
    make_due(&app, &f).await;
    let committee = app.token(Role::Committee, Some(f.town));

    let mut with_self = panel(5);
    with_self[2]["member_id"] = json!(f.members[0]);
    let res = schedule_as(&app, f.town, &committee, &schedule_body(f.case, with_self)).await;
    let body = problem(res, 422).await;
    assert_eq!(body["errors"][0]["field"], "panel[2].member_id");
    assert_eq!(body["errors"][0]["code"], "member_under_evaluation");

    // A floating member (a valid certificate on the day of the meeting) has no vote.
    let res = app
        .authed(
            Method::POST,
            &format!("/api/v1/towns/{}/certificates", f.town),
            &app.token(Role::Staff, Some(f.town)),
        )
        .json(&json!({
            "number": "LD-1", "member_id": f.members[2], "destination": "江苏省南京市", "purpose": "务工",
            "issued_on": today(), "valid_until": today().checked_add_days(Days::new(60)).unwrap(),
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201, "issuing a certificate");
    let mut with_floating = panel(5);
    with_floating[1]["member_id"] = json!(f.members[1]);
    with_floating[3]["member_id"] = json!(f.members[2]);
    let res = schedule_as(
        &app,
        f.town,
        &committee,
        &schedule_body(f.case, with_floating),
    )
    .await;
    let body = problem(res, 422).await;
    assert_eq!(body["errors"].as_array().unwrap().len(), 1, "{body}");
    assert_eq!(body["errors"][0]["field"], "panel[3].member_id");
    assert_eq!(body["errors"][0]["code"], "evaluator_floating");

    // Smaller than the quorum, twice the same subject, a stranger, a blank name.
    let mut bad = panel(4);
    bad[1]["subject"] = json!("ev-1");
    bad[2]["member_id"] = json!(Uuid::now_v7());
    bad[3]["name"] = json!("  ");
    let res = schedule_as(&app, f.town, &committee, &schedule_body(f.case, bad)).await;
    let body = problem(res, 422).await;
    let got: Vec<(String, String)> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["field"].as_str().unwrap().to_owned(),
                e["code"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("panel", "below_quorum"),
            ("panel[1].subject", "duplicate_subject"),
            ("panel[2].member_id", "unknown_member"),
            ("panel[3].name", "required"),
        ]
        .map(|(a, b)| (a.to_owned(), b.to_owned()))
    );
    let mut unknown_kind = panel(5);
    unknown_kind[0]["kind"] = json!("villager");
    let res = schedule_as(
        &app,
        f.town,
        &committee,
        &schedule_body(f.case, unknown_kind),
    )
    .await;
    assert_eq!(
        problem(res, 422).await["errors"][0]["field"],
        "panel[0].kind"
    );

    // Nothing was written: the case is still due, and a good panel goes through.
    assert_eq!(case_of(&app, &f).await["status"], "evaluation_due");
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM evaluations")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(n, 0);
    let mut good = panel(5);
    good[1]["member_id"] = json!(f.members[1]);
    scheduled(&app, &f, good).await;
}

#[tokio::test]
async fn ballots_open_at_the_meetings_scheduled_time() {
    let app = TestApp::spawn().await;
    let f = fixture(&app, "E9").await;
    make_due(&app, &f).await;
    let mut body = schedule_body(f.case, panel(5));
    body["held_at"] = json!((Utc::now() + chrono::Duration::hours(2)).to_rfc3339());
    let res = schedule_as(
        &app,
        f.town,
        &app.token(Role::Committee, Some(f.town)),
        &body,
    )
    .await;
    assert_eq!(res.status(), 201);
    let ev: Value = res.json().await.unwrap();
    let id = &ev["id"];

    let t = token_of(&app, Role::Staff, f.town, "ev-1");
    let res = vote_as(&app, f.town, id, &t, "qualified").await;
    let problem = problem(res, 409).await;
    assert_eq!(problem["code"], "evaluation_not_started");
    assert!(
        problem["detail"].as_str().unwrap().contains("开始"),
        "{problem}"
    );
    // Nothing counted: the evaluation has no votes, and the same evaluator is refused
    // again for the same reason, not as one who already voted.
    assert_eq!(read(&app, f.town, id).await["votes_cast"], 0);
    let res = vote_as(&app, f.town, id, &t, "qualified").await;
    assert_eq!(res.status(), 409);
    assert_eq!(
        res.json::<Value>().await.unwrap()["code"],
        "evaluation_not_started"
    );

    // At the scheduled time the ballots open.
    sqlx::query("UPDATE evaluations SET held_at = now() - interval '1 second'")
        .execute(&app.pool)
        .await
        .unwrap();
    vote(&app, f.town, id, 1, "qualified").await;
    assert_eq!(read(&app, f.town, id).await["votes_cast"], 1);
}

#[tokio::test]
async fn panel_members_vote_once_with_their_own_tokens_and_others_are_refused() {
    let app = TestApp::spawn().await;
    let f = fixture(&app, "E3").await;
    make_due(&app, &f).await;
    let ev = scheduled(&app, &f, panel(6)).await;
    let id = &ev["id"];

    let res = vote_as(
        &app,
        f.town,
        id,
        &token_of(&app, Role::Staff, f.town, "ev-1"),
        "qualified",
    )
    .await;
    assert_eq!(res.status(), 200);
    let receipt: Value = res.json().await.unwrap();
    assert_eq!(receipt["evaluation_id"], *id);
    assert_eq!(receipt["votes_cast"], 1);
    assert!(receipt["voted_at"].is_string());
    assert_no_verdicts(&receipt);
    // A committee token naming its subject votes as well.
    let res = vote_as(
        &app,
        f.town,
        id,
        &token_of(&app, Role::Committee, f.town, "ev-2"),
        "not_qualified",
    )
    .await;
    assert_eq!(res.status(), 200);

    // Not on the panel: refused, whatever the role.
    for t in [
        app.token(Role::Committee, Some(f.town)),
        app.token(Role::Staff, Some(f.town)),
        token_of(&app, Role::Staff, f.town, "ev-7"),
    ] {
        let res = vote_as(&app, f.town, id, &t, "qualified").await;
        assert_eq!(problem(res, 403).await["code"], "not_on_panel");
    }
    let res = app
        .authed(
            Method::POST,
            &format!("{}/{}/votes", base(f.town), id.as_str().unwrap()),
            &app.token(Role::Staff, Some(f.town)),
        )
        .header("accept-language", "en")
        .json(&json!({ "verdict": "qualified" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["content-language"], "en");
    let body = problem(res, 403).await;
    assert_eq!(body["code"], "not_on_panel");
    assert!(body["detail"].as_str().unwrap().contains("panel"));
    // One vote each, whichever the verdict.
    let ev1 = token_of(&app, Role::Staff, f.town, "ev-1");
    for verdict in ["qualified", "not_qualified"] {
        let res = vote_as(&app, f.town, id, &ev1, verdict).await;
        assert_eq!(problem(res, 409).await["code"], "already_voted");
    }
    let res = vote_as(&app, f.town, id, &ev1, "maybe").await;
    assert_eq!(problem(res, 422).await["errors"][0]["field"], "verdict");

    let ev = read(&app, f.town, id).await;
    assert_eq!(ev["votes_cast"], 2);
    assert_eq!(ev["version"], 3, "each vote moves the version on");
    assert!(ev["tally"].is_null(), "no tally before closing");
    let voted: Vec<bool> = ev["panel"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["has_voted"].as_bool().unwrap())
        .collect();
    assert_eq!(voted, [true, true, false, false, false, false]);
    assert_no_verdicts(&ev);
    let list: Value = app
        .authed(
            Method::GET,
            &base(f.town),
            &app.token(Role::Staff, Some(f.town)),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["items"][0]["votes_cast"], 2);
    assert_eq!(list["items"][0]["panel_size"], 6);
    assert!(list["items"][0]["tally"].is_null());
    assert!(list["items"][0].get("panel").is_none());
    assert_no_verdicts(&list);
}

#[tokio::test]
async fn ballots_are_stored_apart_from_voters_and_never_shown_singly() {
    let app = TestApp::spawn().await;
    let f = fixture(&app, "E4").await;
    make_due(&app, &f).await;
    let ev = scheduled(&app, &f, panel(5)).await;
    let id = &ev["id"];

    // The ballots table has nothing that could lead back to a voter.
    let columns: Vec<String> = sqlx::query_scalar(
        "SELECT column_name::text FROM information_schema.columns
         WHERE table_name = 'evaluation_ballots' ORDER BY column_name",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(columns, ["evaluation_id", "id", "town_id", "verdict"]);
    let voter_columns: Vec<String> = sqlx::query_scalar(
        "SELECT column_name::text FROM information_schema.columns
         WHERE table_name = 'evaluation_voters' ORDER BY column_name",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        voter_columns,
        ["evaluation_id", "subject", "town_id", "voted_at"]
    );

    for (i, verdict) in [
        "qualified",
        "qualified",
        "not_qualified",
        "qualified",
        "not_qualified",
    ]
    .into_iter()
    .enumerate()
    {
        vote(&app, f.town, id, i + 1, verdict).await;
    }
    let before: Vec<Uuid> = sqlx::query_scalar("SELECT id FROM evaluation_ballots")
        .fetch_all(&app.pool)
        .await
        .unwrap();
    assert_eq!(before.len(), 5);
    assert!(
        before.iter().all(|b| b.get_version_num() == 4),
        "random ids, not time-ordered ones"
    );
    // The trail records who voted, never how; no idempotency record holds a vote.
    let trail: Vec<Value> = sqlx::query_scalar(
        "SELECT data FROM audit_log WHERE action = 'evaluation.vote_cast' ORDER BY id",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(trail.len(), 5);
    assert!(trail.iter().all(|d| !d.to_string().contains("qualified")));
    let stored: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM idempotency_keys WHERE response_body::text LIKE '%qualified%'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(stored, 0);
    for role in [Role::Staff, Role::Committee, Role::County] {
        let t = if role == Role::County {
            app.token(role, None)
        } else {
            app.token(role, Some(f.town))
        };
        let body: Value = get_as(&app, f.town, id, &t).await.json().await.unwrap();
        assert_no_verdicts(&body);
    }
    // No route reads ballots.
    let res = app
        .authed(
            Method::GET,
            &format!("{}/{}/votes", base(f.town), id.as_str().unwrap()),
            &app.token(Role::Committee, Some(f.town)),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 405);

    let res = close_current(&app, f.town, id).await;
    assert_eq!(res.status(), 200);
    let closed: Value = res.json().await.unwrap();
    assert_eq!(
        closed["tally"],
        json!({ "qualified": 3, "not_qualified": 2 })
    );
    assert_no_verdicts(&json!(closed["panel"]));
    // Closing sealed the ballots: the same verdicts under new ids.
    let after: Vec<(Uuid, String)> =
        sqlx::query_as("SELECT id, verdict FROM evaluation_ballots ORDER BY verdict")
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert_eq!(after.len(), 5);
    let before: HashSet<Uuid> = before.into_iter().collect();
    assert!(after.iter().all(|(id, _)| !before.contains(id)));
    let verdicts: Vec<&str> = after.iter().map(|(_, v)| v.as_str()).collect();
    assert_eq!(
        verdicts,
        [
            "not_qualified",
            "not_qualified",
            "qualified",
            "qualified",
            "qualified"
        ]
    );
    // Verdicts are never edited.
    let edit = sqlx::query("UPDATE evaluation_ballots SET verdict = 'qualified'")
        .execute(&app.pool)
        .await;
    assert!(edit.is_err());
}

#[tokio::test]
async fn closing_below_the_quorum_or_with_a_stale_etag_changes_nothing() {
    let app = TestApp::spawn().await;
    let f = fixture(&app, "E5").await;
    make_due(&app, &f).await;
    let ev = scheduled(&app, &f, panel(6)).await;
    let id = &ev["id"];
    for i in 1..=4 {
        vote(&app, f.town, id, i, "qualified").await;
    }
    let committee = app.token(Role::Committee, Some(f.town));
    problem(close_as(&app, f.town, id, &committee, None).await, 428).await;
    problem(
        close_as(&app, f.town, id, &committee, Some("\"1\"")).await,
        412,
    )
    .await;
    let body = problem(close_current(&app, f.town, id).await, 409).await;
    assert_eq!(body["code"], "quorum_not_met");
    let res = close_as(&app, f.town, id, &committee, Some("*")).await;
    assert_eq!(problem(res, 409).await["code"], "quorum_not_met");

    let now = read(&app, f.town, id).await;
    assert_eq!(now["status"], "open");
    assert_eq!(now["version"], 5);
    assert!(now["tally"].is_null());
    assert_eq!(case_of(&app, &f).await["status"], "under_evaluation");
    let closes: i64 =
        sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE action = 'evaluation.closed'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(closes, 0);

    // The fifth vote reaches the quorum; the ETag read before it is stale.
    vote(&app, f.town, id, 5, "qualified").await;
    problem(
        close_as(&app, f.town, id, &committee, Some("\"5\"")).await,
        412,
    )
    .await;
    let res = close_as(&app, f.town, id, &committee, Some("\"6\"")).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["etag"], "\"7\"");
}

#[tokio::test]
async fn a_pass_returns_the_member_to_the_original_branch_and_concludes_the_case() {
    let app = TestApp::spawn().await;
    let f = fixture(&app, "E6").await;
    make_due(&app, &f).await;
    let committee = app.token(Role::Committee, Some(f.town));
    let member_url = format!("/api/v1/towns/{}/members/{}", f.town, f.members[0]);
    let member: Value = app
        .authed(Method::GET, &member_url, &committee)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_ne!(member["branch_id"], json!(f.branch), "in the center branch");

    let ev = scheduled(&app, &f, panel(6)).await;
    let id = &ev["id"];
    for (i, verdict) in [
        "qualified",
        "not_qualified",
        "qualified",
        "qualified",
        "not_qualified",
    ]
    .into_iter()
    .enumerate()
    {
        vote(&app, f.town, id, i + 1, verdict).await;
    }
    let res = close_current(&app, f.town, id).await;
    assert_eq!(res.status(), 200);
    let closed: Value = res.json().await.unwrap();
    assert_eq!(closed["status"], "passed");
    assert_eq!(
        closed["tally"],
        json!({ "qualified": 3, "not_qualified": 2 })
    );
    assert_eq!(closed["votes_cast"], 5);
    assert_eq!(closed["closed_by"], "committee-tester");
    assert!(closed["reset_entry_id"].is_null());
    let transfer = closed["return_transfer_id"].clone();
    assert!(transfer.is_string());

    let member: Value = app
        .authed(Method::GET, &member_url, &committee)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        member["branch_id"],
        json!(f.branch),
        "back in the original branch"
    );
    let case = case_of(&app, &f).await;
    assert_eq!(case["status"], "concluded");
    assert_eq!(case["conclusion"], "returned");
    assert_eq!(case["concluded_on"], json!(today()));
    let transfers: Value = app
        .authed(Method::GET, &format!("{member_url}/transfers"), &committee)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let ret = transfers["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == transfer)
        .expect("the return transfer is in the member's history");
    assert_eq!(ret["kind"], "return");
    assert_eq!(ret["to_branch_id"], json!(f.branch));
    assert_eq!(ret["status"], "completed");
    let actions: Vec<String> = sqlx::query_scalar(
        "SELECT action FROM audit_log WHERE action IN ('evaluation.closed', 'case.concluded', 'transfer.completed')
         AND data->>'kind' IS DISTINCT FROM 'intake' AND data->>'kind' IS DISTINCT FROM 'registration' ORDER BY id",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        actions,
        ["transfer.completed", "evaluation.closed", "case.concluded"]
    );

    // Final: neither closed again nor voted in.
    let res = close_as(&app, f.town, id, &committee, Some("*")).await;
    assert_eq!(problem(res, 409).await["code"], "evaluation_closed");
    let res = vote_as(
        &app,
        f.town,
        id,
        &token_of(&app, Role::Staff, f.town, "ev-6"),
        "qualified",
    )
    .await;
    assert_eq!(problem(res, 409).await["code"], "evaluation_closed");
    assert_eq!(read(&app, f.town, id).await, closed);
}

#[tokio::test]
async fn a_fail_keeps_the_case_open_and_another_evaluation_can_follow() {
    let app = TestApp::spawn().await;
    let f = fixture(&app, "E7").await;
    make_due(&app, &f).await;
    let ev = scheduled(&app, &f, panel(6)).await;
    let id = &ev["id"];
    // A tie is not a majority.
    for (i, verdict) in [
        "qualified",
        "not_qualified",
        "qualified",
        "not_qualified",
        "qualified",
        "not_qualified",
    ]
    .into_iter()
    .enumerate()
    {
        vote(&app, f.town, id, i + 1, verdict).await;
    }
    let closed: Value = close_current(&app, f.town, id).await.json().await.unwrap();
    assert_eq!(closed["status"], "failed");
    assert_eq!(
        closed["tally"],
        json!({ "qualified": 3, "not_qualified": 3 })
    );
    assert!(closed["return_transfer_id"].is_null());
    assert!(closed["reset_entry_id"].is_null());
    let case = case_of(&app, &f).await;
    assert_eq!(case["status"], "evaluation_due");
    assert_eq!(case["score"], 15, "the score is kept");

    let second = scheduled(&app, &f, panel(5)).await;
    assert_ne!(second["id"], ev["id"]);
    assert_eq!(case_of(&app, &f).await["status"], "under_evaluation");
    let list: Value = app
        .authed(
            Method::GET,
            &format!("{}?case_id={}&status=failed", base(f.town), f.case),
            &app.token(Role::County, None),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let ids: Vec<&Value> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["id"])
        .collect();
    assert_eq!(ids, [id]);
    assert_eq!(list["items"][0]["tally"], closed["tally"]);
}

#[tokio::test]
async fn a_fail_restarts_the_score_at_the_base_when_the_policy_says_so() {
    let app = TestApp::spawn().await;
    let f = fixture(&app, "E8").await;
    let committee = app.token(Role::Committee, Some(f.town));
    let res = app
        .authed(
            Method::PATCH,
            &format!("/api/v1/towns/{}/policy", f.town),
            &committee,
        )
        .header("if-match", "\"1\"")
        .json(&json!({ "failed_evaluation_resets_score": true }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "changing the policy");
    make_due(&app, &f).await;
    let ev = scheduled(&app, &f, panel(5)).await;
    assert_eq!(ev["policy_version"], 2);
    let id = &ev["id"];
    for i in 1..=5 {
        vote(&app, f.town, id, i, "not_qualified").await;
    }
    let closed: Value = close_current(&app, f.town, id).await.json().await.unwrap();
    assert_eq!(closed["status"], "failed");
    assert_eq!(
        closed["tally"],
        json!({ "qualified": 0, "not_qualified": 5 })
    );
    let case = case_of(&app, &f).await;
    assert_eq!(case["score"], 5, "back at the base");
    assert_eq!(case["status"], "active");
    assert!(case["evaluation_due_at"].is_null());

    let ledger: Value = app
        .authed(
            Method::GET,
            &format!("/api/v1/towns/{}/cases/{}/ledger", f.town, f.case),
            &committee,
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let newest = &ledger["items"][0];
    assert_eq!(newest["id"], closed["reset_entry_id"]);
    assert_eq!(newest["kind"], "correction");
    assert_eq!(newest["points"], -10);
    assert_eq!(newest["score_after"], 5);
    assert_eq!(newest["reason"], "民主评议不合格，积分重新计算");

    // Reaching 15 again makes it due again.
    make_due(&app, &f).await;
    scheduled(&app, &f, panel(5)).await;
}

#[tokio::test]
async fn concurrent_votes_of_one_evaluator_count_once() {
    let app = TestApp::spawn().await;
    let f = fixture(&app, "E9").await;
    make_due(&app, &f).await;
    let ev = scheduled(&app, &f, panel(5)).await;
    let id = ev["id"].clone();
    let token = token_of(&app, Role::Staff, f.town, "ev-1");
    let tries = (0..8).map(|i| {
        let verdict = if i % 2 == 0 {
            "qualified"
        } else {
            "not_qualified"
        };
        vote_as(&app, f.town, &id, &token, verdict)
    });
    let results = futures_util::future::join_all(tries).await;
    let mut ok = 0;
    for res in results {
        match res.status().as_u16() {
            200 => ok += 1,
            _ => assert_eq!(problem(res, 409).await["code"], "already_voted"),
        }
    }
    assert_eq!(ok, 1);
    let (voters, ballots): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM evaluation_voters), (SELECT count(*) FROM evaluation_ballots)",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!((voters, ballots), (1, 1));
    assert_eq!(read(&app, f.town, &id).await["votes_cast"], 1);
}

#[tokio::test]
async fn the_committee_schedules_and_closes_panel_members_vote_and_staff_and_county_read() {
    let app = TestApp::spawn().await;
    let f = fixture(&app, "E10").await;
    make_due(&app, &f).await;
    let token = |role: Role| match role {
        Role::County => app.token(role, None),
        Role::Admin => app.admin(),
        _ => app.token(role, Some(f.town)),
    };
    for role in [Role::Staff, Role::Member, Role::County, Role::Admin] {
        let res = schedule_as(&app, f.town, &token(role), &schedule_body(f.case, panel(5))).await;
        assert_eq!(problem(res, 403).await["code"], "forbidden", "{role:?}");
    }
    let ev = scheduled(&app, &f, panel(5)).await;
    let id = &ev["id"];
    for role in [Role::Staff, Role::Committee, Role::County] {
        let res = app
            .authed(Method::GET, &base(f.town), &token(role))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{role:?} lists");
        let res = get_as(&app, f.town, id, &token(role)).await;
        assert_eq!(res.status(), 200, "{role:?} reads");
        assert_eq!(res.headers()["etag"], "\"1\"");
    }
    for role in [Role::Member, Role::Admin] {
        let res = app
            .authed(Method::GET, &base(f.town), &token(role))
            .send()
            .await
            .unwrap();
        problem(res, 403).await;
        problem(get_as(&app, f.town, id, &token(role)).await, 403).await;
    }
    // A member, county or admin token cannot vote even when its subject is on the panel.
    for role in [Role::Member, Role::County, Role::Admin] {
        let t = app
            .keys
            .mint(&MintRequest {
                role,
                sub: "ev-1".into(),
                town: (role == Role::Member).then_some(f.town),
                county: (role == Role::County).then(|| "320114".to_owned()),
                member_id: (role == Role::Member).then_some(f.members[1]),
                ttl: Duration::from_secs(600),
            })
            .unwrap();
        let res = vote_as(&app, f.town, id, &t, "qualified").await;
        assert_eq!(problem(res, 403).await["code"], "forbidden", "{role:?}");
    }
    for i in 1..=5 {
        vote(&app, f.town, id, i, "qualified").await;
    }
    for role in [Role::Staff, Role::Member, Role::County, Role::Admin] {
        let res = close_as(&app, f.town, id, &token(role), Some("*")).await;
        assert_eq!(problem(res, 403).await["code"], "forbidden", "{role:?}");
    }
    assert_eq!(read(&app, f.town, id).await["status"], "open");
    let res = close_as(&app, f.town, id, &token(Role::Committee), Some("*")).await;
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn another_towns_evaluations_answer_404() {
    let app = TestApp::spawn().await;
    let f = fixture(&app, "E11").await;
    let other = fixture(&app, "E12").await;
    make_due(&app, &f).await;
    make_due(&app, &other).await;
    let ev = scheduled(&app, &f, panel(5)).await;
    let id = &ev["id"];
    let outsider = app.token(Role::Committee, Some(other.town));
    // The outsider's panel member, voting with a token of the other town.
    let outside_voter = token_of(&app, Role::Staff, other.town, "ev-1");

    let res = app
        .authed(Method::GET, &base(f.town), &outsider)
        .send()
        .await
        .unwrap();
    problem(res, 404).await;
    for town in [f.town, other.town] {
        problem(get_as(&app, town, id, &outsider).await, 404).await;
        problem(
            vote_as(&app, town, id, &outside_voter, "qualified").await,
            404,
        )
        .await;
        problem(close_as(&app, town, id, &outsider, Some("*")).await, 404).await;
    }
    let res = schedule_as(&app, f.town, &outsider, &schedule_body(f.case, panel(5))).await;
    problem(res, 404).await;
    // Another town's case or member cannot be named from one's own town.
    let res = schedule_as(
        &app,
        other.town,
        &outsider,
        &schedule_body(f.case, panel(5)),
    )
    .await;
    assert_eq!(problem(res, 422).await["errors"][0]["code"], "unknown_case");
    let mut stranger = panel(5);
    stranger[0]["member_id"] = json!(f.members[1]);
    let res = schedule_as(
        &app,
        other.town,
        &outsider,
        &schedule_body(other.case, stranger),
    )
    .await;
    let body = problem(res, 422).await;
    assert_eq!(body["errors"][0]["field"], "panel[0].member_id");
    assert_eq!(body["errors"][0]["code"], "unknown_member");
    // The list of the outsider's own town does not show it.
    let list: Value = app
        .authed(Method::GET, &base(other.town), &outsider)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["items"], json!([]));
    let unchanged = read(&app, f.town, id).await;
    assert_eq!(unchanged, ev);
}

async fn cancel_as(
    app: &TestApp,
    town: Uuid,
    id: &Value,
    token: &str,
    if_match: Option<&str>,
    body: &Value,
) -> Response {
    let mut req = app.authed(
        Method::POST,
        &format!("{}/{}/cancel", base(town), id.as_str().unwrap()),
        token,
    );
    if let Some(tag) = if_match {
        req = req.header("if-match", tag);
    }
    req.json(body).send().await.unwrap()
}

#[tokio::test]
async fn a_cancelled_evaluation_is_final_and_uncounted_and_its_case_is_due_again() {
    let app = TestApp::spawn().await;
    let f = fixture(&app, "E13").await;
    make_due(&app, &f).await;
    let ev = scheduled(&app, &f, panel(6)).await;
    let id = &ev["id"];
    vote(&app, f.town, id, 1, "qualified").await;
    vote(&app, f.town, id, 2, "not_qualified").await;
    let committee = app.token(Role::Committee, Some(f.town));
    let reason = json!({ "reason": "评议小组成员多人外出，无法达到法定人数。" });

    // The rules of any change: If-Match, a current version, a reason, the committee.
    problem(
        cancel_as(&app, f.town, id, &committee, None, &reason).await,
        428,
    )
    .await;
    problem(
        cancel_as(&app, f.town, id, &committee, Some("\"1\""), &reason).await,
        412,
    )
    .await;
    let blank = json!({ "reason": "  " });
    let p = problem(
        cancel_as(&app, f.town, id, &committee, Some("*"), &blank).await,
        422,
    )
    .await;
    assert_eq!(p["errors"][0]["field"], "reason");
    let staff = app.token(Role::Staff, Some(f.town));
    problem(
        cancel_as(&app, f.town, id, &staff, Some("*"), &reason).await,
        403,
    )
    .await;
    assert_eq!(read(&app, f.town, id).await["status"], "open");

    let res = cancel_as(&app, f.town, id, &committee, Some("\"3\""), &reason).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["etag"], "\"4\"");
    let cancelled: Value = res.json().await.unwrap();
    assert_eq!(cancelled["status"], "cancelled");
    assert_eq!(cancelled["cancel_reason"], reason["reason"]);
    assert_eq!(cancelled["closed_by"], "committee-tester");
    assert_eq!(cancelled["votes_cast"], 2);
    assert!(cancelled["tally"].is_null());
    assert_no_verdicts(&cancelled);
    assert_eq!(read(&app, f.town, id).await, cancelled);
    assert_eq!(case_of(&app, &f).await["status"], "evaluation_due");

    // Final: no vote, no closing, no second cancel; the database itself refuses to reopen it.
    let ev3 = token_of(&app, Role::Staff, f.town, "ev-3");
    let p = problem(vote_as(&app, f.town, id, &ev3, "qualified").await, 409).await;
    assert_eq!(p["code"], "evaluation_closed");
    let p = problem(close_current(&app, f.town, id).await, 409).await;
    assert_eq!(p["code"], "evaluation_closed");
    let p = problem(
        cancel_as(&app, f.town, id, &committee, Some("*"), &reason).await,
        409,
    )
    .await;
    assert_eq!(p["code"], "evaluation_closed");
    let reopen = sqlx::query("UPDATE evaluations SET status = 'open', closed_at = NULL, closed_by = NULL, cancel_reason = NULL WHERE id = $1")
        .bind(uuid(id))
        .execute(&app.pool)
        .await
        .unwrap_err();
    assert!(reopen.to_string().contains("no longer changes"), "{reopen}");

    // The ballots were destroyed uncounted; who voted stays on record; the feed says
    // what happened.
    let count = |sql: &'static str| {
        let pool = app.pool.clone();
        let id = uuid(id);
        async move {
            sqlx::query_scalar::<_, i64>(sql)
                .bind(id)
                .fetch_one(&pool)
                .await
                .unwrap()
        }
    };
    assert_eq!(
        count("SELECT count(*) FROM evaluation_ballots WHERE evaluation_id = $1").await,
        0
    );
    assert_eq!(
        count("SELECT count(*) FROM evaluation_voters WHERE evaluation_id = $1").await,
        2
    );
    let actions: Vec<String> = sqlx::query_scalar(
        "SELECT action FROM audit_log WHERE action IN ('evaluation.cancelled', 'case.evaluation_cancelled') ORDER BY id",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        actions,
        ["evaluation.cancelled", "case.evaluation_cancelled"]
    );

    // The case can be evaluated again, by a new panel; once that one has its quorum, it
    // is closed, not cancelled.
    let again = scheduled(&app, &f, panel(5)).await;
    assert_eq!(again["status"], "open");
    assert_eq!(case_of(&app, &f).await["status"], "under_evaluation");
    for i in 1..=5 {
        vote(&app, f.town, &again["id"], i, "qualified").await;
    }
    let p = problem(
        cancel_as(&app, f.town, &again["id"], &committee, Some("*"), &reason).await,
        409,
    )
    .await;
    assert_eq!(p["code"], "quorum_met");
    assert_eq!(read(&app, f.town, &again["id"]).await["status"], "open");
}
