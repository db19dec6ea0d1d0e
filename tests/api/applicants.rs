//! Member development through the real server: the whole way from an application to a
//! full member (the member record made at the approval and made full at the
//! conversion, with their events), the rules that refuse a step (age, roles, durations,
//! counts, sponsors, majorities, deadlines, the one extension), If-Match and
//! idempotency, overdue steps, the pipeline report (JSON, CSV) read by the county, and
//! the policy's numbers.

use chrono::{Days, Months, NaiveDate};
use party_center::auth::Role;
use reqwest::{Method, Response};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::cases::{Setup, setup};
use crate::helpers::{TestApp, assert_replayed, error_fields, insert_member, problem, uuid};

fn today() -> NaiveDate {
    chrono::Utc::now()
        .with_timezone(&chrono_tz::Asia::Shanghai)
        .date_naive()
}

fn months_ago(n: u32) -> NaiveDate {
    today().checked_sub_months(Months::new(n)).unwrap()
}

fn plus(d: NaiveDate, days: u64) -> NaiveDate {
    d.checked_add_days(Days::new(days)).unwrap()
}

fn plus_months(d: NaiveDate, n: u32) -> NaiveDate {
    d.checked_add_months(Months::new(n)).unwrap()
}

/// A valid national ID number of someone born on `birth`, sequence `n`.
fn id_born(birth: NaiveDate, n: u32) -> String {
    let body = format!("320114{}{:03}", birth.format("%Y%m%d"), n % 1000);
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = body
        .bytes()
        .zip(WEIGHTS)
        .map(|(b, w)| u32::from(b - b'0') * w)
        .sum();
    format!("{body}{}", b"10X98765432"[(sum % 11) as usize] as char)
}

fn base(town: Uuid) -> String {
    format!("/api/v1/towns/{town}/applicants")
}

async fn apply(app: &TestApp, s: &Setup, n: u32, applied_on: NaiveDate) -> Response {
    app.authed(Method::POST, &base(s.town), &s.staff)
        .json(&json!({
            "branch_id": s.village,
            "name": format!("申请人{n}"),
            "national_id": id_born(NaiveDate::from_ymd_opt(1995, 3, 1).unwrap(), n),
            "phone": "13812345678",
            "applied_on": applied_on,
            "received_by": "新村党支部书记",
        }))
        .send()
        .await
        .unwrap()
}

async fn applied(app: &TestApp, s: &Setup, n: u32, applied_on: NaiveDate) -> Value {
    let res = apply(app, s, n, applied_on).await;
    assert_eq!(res.status(), 201, "registering an application");
    res.json().await.unwrap()
}

/// POSTs a step with the applicant's current ETag (`a["version"]`).
async fn step_as(app: &TestApp, s: &Setup, token: &str, a: &Value, body: Value) -> Response {
    app.authed(
        Method::POST,
        &format!("{}/{}/steps", base(s.town), a["id"].as_str().unwrap()),
        token,
    )
    .header("if-match", format!("\"{}\"", a["version"]))
    .json(&body)
    .send()
    .await
    .unwrap()
}

/// Records a step that must succeed; returns the applicant after it.
async fn step_ok(app: &TestApp, s: &Setup, token: &str, a: &Value, body: Value) -> Value {
    let res = step_as(app, s, token, a, body.clone()).await;
    let status = res.status();
    let v: Value = res.json().await.unwrap();
    assert_eq!(status, 201, "step {body}: {v}");
    v
}

fn vote(kind: &str, on: NaiveDate, eligible: i32, present: i32, in_favour: i32) -> Value {
    json!({ "kind": kind, "taken_on": on, "decided_by": "新村党支部党员大会",
            "eligible": eligible, "present": present, "in_favour": in_favour })
}

/// Sponsors: two full members of the village branch.
async fn sponsors(app: &TestApp, s: &Setup) -> (Uuid, Uuid) {
    (
        insert_member(app, s.town, s.village, "联系人甲", 101).await,
        insert_member(app, s.town, s.village, "联系人乙", 102).await,
    )
}

/// Takes an applicant registered on `applied_on` to an admitted candidate; returns it.
async fn to_admission(
    app: &TestApp,
    s: &Setup,
    a: Value,
    applied_on: NaiveDate,
    (x, y): (Uuid, Uuid),
) -> (Value, NaiveDate) {
    let talk = plus(applied_on, 10);
    let a = step_ok(app, s, &s.staff, &a,
        json!({ "kind": "talk", "taken_on": talk, "decided_by": "支部书记", "note": "了解入党动机" })).await;
    let activist = plus(applied_on, 30);
    let a = step_ok(app, s, &s.staff, &a,
        json!({ "kind": "activist_designation", "taken_on": activist, "decided_by": "支部委员会", "contacts": [x] })).await;
    let a = step_ok(app, s, &s.staff, &a,
        json!({ "kind": "review", "taken_on": plus_months(activist, 6), "decided_by": "支部委员会", "note": "表现良好" })).await;
    let candidate = plus_months(activist, 12);
    let a = step_ok(app, s, &s.committee, &a,
        json!({ "kind": "candidate_designation", "taken_on": candidate, "decided_by": "镇党委", "introducers": [x, y] })).await;
    let a = step_ok(app, s, &s.staff, &a,
        json!({ "kind": "political_review", "taken_on": plus(candidate, 20), "decided_by": "镇党委组织委员", "note": "政审合格" })).await;
    let a = step_ok(app, s, &s.staff, &a,
        json!({ "kind": "training", "taken_on": plus(candidate, 30), "decided_by": "镇党校", "days": 3 })).await;
    let admitted = plus(candidate, 40);
    let a = step_ok(app, s, &s.staff, &a, vote("admission", admitted, 9, 8, 5)).await;
    (a, admitted)
}

async fn member(app: &TestApp, s: &Setup, id: &Value) -> Value {
    let res = app
        .authed(
            Method::GET,
            &format!("/api/v1/towns/{}/members/{}", s.town, id.as_str().unwrap()),
            &s.staff,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

async fn audit_actions(app: &TestApp, town: Uuid) -> Vec<String> {
    sqlx::query_scalar("SELECT action FROM audit_log WHERE town_id = $1 ORDER BY id")
        .bind(town)
        .fetch_all(&app.pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn an_applicant_becomes_a_probationary_then_a_full_member_with_a_member_record() {
    let app = TestApp::spawn().await;
    let s = setup(&app, "320114301").await;
    let pair = sponsors(&app, &s).await;
    let applied_on = months_ago(36);
    let a = applied(&app, &s, 1, applied_on).await;
    assert_eq!(a["stage"], "applicant");
    assert_eq!(a["steps"][0]["kind"], "application");
    assert_eq!(a["national_id"].as_str().unwrap().matches('*').count(), 10);
    let (a, admitted) = to_admission(&app, &s, a, applied_on, pair).await;
    assert_eq!(a["stage"], "candidate");
    assert_eq!(a["admitted_on"], json!(admitted));
    assert_eq!(a["member_id"], Value::Null);

    let approved = plus(admitted, 30);
    let a = step_ok(
        &app,
        &s,
        &s.committee,
        &a,
        json!({ "kind": "approval", "taken_on": approved, "decided_by": "镇党委" }),
    )
    .await;
    assert_eq!(a["stage"], "probationary");
    let ends = plus_months(approved, 12);
    assert_eq!(a["probation_ends_on"], json!(ends));
    let m = member(&app, &s, &a["member_id"]).await;
    assert_eq!(m["standing"], "probationary");
    assert_eq!(m["status"], "active");
    assert_eq!(m["branch_id"], json!(s.village));
    assert_eq!(m["joined_party_on"], json!(approved));
    assert_eq!(m["full_member_since"], Value::Null);
    let list: Value = app
        .authed(
            Method::GET,
            &format!("/api/v1/towns/{}/members?standing=probationary", s.town),
            &s.staff,
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
        .map(|m| &m["id"])
        .collect();
    assert_eq!(
        ids,
        [&a["member_id"]],
        "the new member is the town's one probationary member"
    );

    let a = step_ok(
        &app,
        &s,
        &s.staff,
        &a,
        vote("conversion_vote", ends, 9, 9, 9),
    )
    .await;
    let a = step_ok(
        &app,
        &s,
        &s.committee,
        &a,
        json!({ "kind": "conversion", "taken_on": plus(ends, 7), "decided_by": "镇党委" }),
    )
    .await;
    assert_eq!(a["stage"], "full");
    assert_eq!(a["full_on"], json!(plus(ends, 7)));
    let m = member(&app, &s, &a["member_id"]).await;
    assert_eq!(m["standing"], "full");
    assert_eq!(m["full_member_since"], json!(ends));
    let kinds: Vec<&str> = a["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "application",
            "talk",
            "activist_designation",
            "review",
            "candidate_designation",
            "political_review",
            "training",
            "admission",
            "approval",
            "conversion_vote",
            "conversion"
        ]
    );
    assert!(
        a["steps"]
            .as_array()
            .unwrap()
            .iter()
            .all(|x| x["policy_version"] == 1)
    );
    assert_eq!(a["introducers"].as_array().unwrap().len(), 2);

    // A closed applicant takes no more steps.
    let p = problem(
        step_as(
            &app,
            &s,
            &s.staff,
            &a,
            json!({ "kind": "withdrawal", "taken_on": today(),
        "decided_by": "本人", "note": "x" }),
        )
        .await,
        409,
    )
    .await;
    assert_eq!(p["code"], "applicant_closed");

    // The member's changes are on the feed (the audit trail), next to the applicant's.
    let actions = audit_actions(&app, s.town).await;
    for expected in [
        "applicant.applied",
        "applicant.step_recorded",
        "member.created",
        "member.converted",
    ] {
        assert!(
            actions.iter().any(|x| x == expected),
            "{expected} in {actions:?}"
        );
    }
    // The feed shows a commit once every older transaction of the cluster has ended:
    // read it until both are there (or give up after 20 s).
    let url = format!("/api/v1/towns/{}/events?limit=500&wait=1", s.town);
    let mut types = Vec::new();
    for _ in 0..20 {
        let feed: Value = app
            .authed(Method::GET, &url, &s.staff)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        types = feed["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["type"].as_str().unwrap().to_owned())
            .collect();
        if types.iter().any(|t| t == "member.converted") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    }
    assert!(types.iter().any(|t| t == "member.created"), "{types:?}");
    assert!(types.iter().any(|t| t == "member.converted"), "{types:?}");
}

#[tokio::test]
async fn each_rule_refuses_its_step_by_name() {
    let app = TestApp::spawn().await;
    let s = setup(&app, "320114302").await;
    let (x, y) = sponsors(&app, &s).await;

    // Too young on the day of the application.
    let young = today()
        .checked_sub_months(Months::new(12 * 18 - 1))
        .unwrap();
    let res = app
        .authed(Method::POST, &base(s.town), &s.staff)
        .json(
            &json!({ "branch_id": s.village, "name": "少年", "national_id": id_born(young, 7),
                       "applied_on": today(), "received_by": "支部书记" }),
        )
        .send()
        .await
        .unwrap();
    let p = problem(res, 422).await;
    assert_eq!(p["errors"][0]["code"], "too_young");

    // Recent enough that the probation below has not ended today.
    let applied_on = months_ago(20);
    let a = applied(&app, &s, 2, applied_on).await;
    // One open application per person.
    let p = problem(apply(&app, &s, 2, applied_on).await, 409).await;
    assert_eq!(p["code"], "application_open");

    // No activist without the talk; contacts are one or two full members.
    let designate = |contacts: Value| {
        json!({ "kind": "activist_designation", "taken_on": plus(applied_on, 30),
        "decided_by": "支部委员会", "contacts": contacts })
    };
    let p = problem(
        step_as(&app, &s, &s.staff, &a, designate(json!([x]))).await,
        409,
    )
    .await;
    assert_eq!(p["code"], "talk_not_held");
    let a = step_ok(
        &app,
        &s,
        &s.staff,
        &a,
        json!({ "kind": "talk", "taken_on": plus(applied_on, 5), "decided_by": "支部书记" }),
    )
    .await;
    let p = problem(
        step_as(&app, &s, &s.staff, &a, designate(json!([]))).await,
        422,
    )
    .await;
    assert_eq!(p["errors"][0]["code"], "wrong_count");
    let stranger = Uuid::now_v7();
    let p = problem(
        step_as(&app, &s, &s.staff, &a, designate(json!([stranger]))).await,
        422,
    )
    .await;
    assert_eq!(
        (
            p["errors"][0]["field"].as_str(),
            p["errors"][0]["code"].as_str()
        ),
        (Some("contacts"), Some("not_a_full_member"))
    );
    let probationary = insert_member(&app, s.town, s.village, "预备党员", 103).await;
    sqlx::query("UPDATE members SET standing = 'probationary' WHERE id = $1")
        .bind(probationary)
        .execute(&app.pool)
        .await
        .unwrap();
    let p = problem(
        step_as(&app, &s, &s.staff, &a, designate(json!([probationary]))).await,
        422,
    )
    .await;
    assert_eq!(p["errors"][0]["code"], "not_a_full_member");
    // A field another kind takes is refused by name.
    let mut with_days = designate(json!([x]));
    with_days["days"] = json!(3);
    let p = problem(step_as(&app, &s, &s.staff, &a, with_days).await, 422).await;
    assert_eq!(error_fields(&p), ["days"]);
    let activist = plus(applied_on, 30);
    let a = step_ok(&app, &s, &s.staff, &a, designate(json!([x]))).await;

    // The candidacy is the committee's, after a year as activist, with two introducers.
    let candidacy = |on: NaiveDate, introducers: Value| {
        json!({ "kind": "candidate_designation", "taken_on": on,
        "decided_by": "镇党委", "introducers": introducers })
    };
    let early = plus(plus_months(activist, 12), 0).pred_opt().unwrap();
    let p = problem(
        step_as(
            &app,
            &s,
            &s.staff,
            &a,
            candidacy(plus_months(activist, 12), json!([x, y])),
        )
        .await,
        403,
    )
    .await;
    assert_eq!(p["code"], "forbidden");
    let p = problem(
        step_as(&app, &s, &s.committee, &a, candidacy(early, json!([x, y]))).await,
        409,
    )
    .await;
    assert_eq!(p["code"], "activist_too_short");
    let p = problem(
        step_as(
            &app,
            &s,
            &s.committee,
            &a,
            candidacy(plus_months(activist, 12), json!([x])),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(p["errors"][0]["code"], "wrong_count");
    let candidate = plus_months(activist, 12);
    let a = step_ok(
        &app,
        &s,
        &s.committee,
        &a,
        candidacy(candidate, json!([x, y])),
    )
    .await;

    // The admission needs the political review and the training, and a majority of all eligible.
    let p = problem(
        step_as(
            &app,
            &s,
            &s.staff,
            &a,
            vote("admission", plus(candidate, 40), 9, 9, 9),
        )
        .await,
        409,
    )
    .await;
    assert_eq!(p["code"], "political_review_missing");
    let a = step_ok(
        &app,
        &s,
        &s.staff,
        &a,
        json!({ "kind": "political_review", "taken_on": plus(candidate, 10),
        "decided_by": "组织委员", "note": "合格" }),
    )
    .await;
    let p = problem(
        step_as(
            &app,
            &s,
            &s.staff,
            &a,
            json!({ "kind": "training", "taken_on": plus(candidate, 20),
        "decided_by": "镇党校", "days": 2 }),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(p["errors"][0]["code"], "training_too_short");
    let a = step_ok(
        &app,
        &s,
        &s.staff,
        &a,
        json!({ "kind": "training", "taken_on": plus(candidate, 20),
        "decided_by": "镇党校", "days": 3 }),
    )
    .await;
    let p = problem(
        step_as(
            &app,
            &s,
            &s.staff,
            &a,
            vote("admission", plus(candidate, 40), 10, 9, 5),
        )
        .await,
        409,
    )
    .await;
    assert_eq!(p["code"], "majority_not_reached");
    let p = problem(
        step_as(
            &app,
            &s,
            &s.staff,
            &a,
            vote("admission", plus(candidate, 40), 10, 5, 6),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(p["errors"][0]["code"], "more_than_present");
    let admitted = plus(candidate, 40);
    let a = step_ok(
        &app,
        &s,
        &s.staff,
        &a,
        vote("admission", admitted, 10, 9, 6),
    )
    .await;

    // The approval comes from the committee within three months.
    let approval =
        |on: NaiveDate| json!({ "kind": "approval", "taken_on": on, "decided_by": "镇党委" });
    let p = problem(
        step_as(&app, &s, &s.staff, &a, approval(plus(admitted, 10))).await,
        403,
    )
    .await;
    assert_eq!(p["code"], "forbidden");
    let late = plus(plus_months(admitted, 3), 1);
    let p = problem(
        step_as(&app, &s, &s.committee, &a, approval(late)).await,
        409,
    )
    .await;
    assert_eq!(p["code"], "approval_deadline_passed");
    let a = step_ok(&app, &s, &s.committee, &a, approval(plus(admitted, 10))).await;

    // No conversion before the end of the probation; one extension at most, of 6 to 12 months.
    let p = problem(
        step_as(
            &app,
            &s,
            &s.staff,
            &a,
            vote("conversion_vote", today(), 10, 10, 10),
        )
        .await,
        409,
    )
    .await;
    assert_eq!(p["code"], "probation_not_over");
    let extend = |months: i32| {
        json!({ "kind": "extension", "taken_on": today(), "decided_by": "镇党委",
        "months": months, "note": "尚需考察" })
    };
    let p = problem(step_as(&app, &s, &s.committee, &a, extend(3)).await, 422).await;
    assert_eq!(p["errors"][0]["code"], "extension_out_of_range");
    let ends: NaiveDate = serde_json::from_value(a["probation_ends_on"].clone()).unwrap();
    let a = step_ok(&app, &s, &s.committee, &a, extend(6)).await;
    assert_eq!(a["probation_ends_on"], json!(plus_months(ends, 6)));
    assert_eq!(a["extended"], true);
    let p = problem(step_as(&app, &s, &s.committee, &a, extend(6)).await, 409).await;
    assert_eq!(p["code"], "extension_used");

    // A probationary member is disqualified by the committee; the member record is removed.
    let disqualify = json!({ "kind": "disqualification", "taken_on": today(), "decided_by": "镇党委",
        "note": "不具备党员条件" });
    let p = problem(
        step_as(&app, &s, &s.staff, &a, disqualify.clone()).await,
        403,
    )
    .await;
    assert_eq!(p["code"], "forbidden");
    let a = step_ok(&app, &s, &s.committee, &a, disqualify).await;
    assert_eq!(a["stage"], "disqualified");
    assert_eq!(a["end_reason"], "不具备党员条件");
    assert_eq!(member(&app, &s, &a["member_id"]).await["status"], "removed");
}

#[tokio::test]
async fn steps_need_the_current_etag_and_replay_by_key() {
    let app = TestApp::spawn().await;
    let s = setup(&app, "320114303").await;
    let a = applied(&app, &s, 3, months_ago(2)).await;
    let url = format!("{}/{}/steps", base(s.town), a["id"].as_str().unwrap());
    let talk = json!({ "kind": "talk", "taken_on": today(), "decided_by": "支部书记" });
    let res = app
        .authed(Method::POST, &url, &s.staff)
        .json(&talk)
        .send()
        .await
        .unwrap();
    assert_eq!(problem(res, 428).await["code"], "precondition_required");
    let res = app
        .authed(Method::POST, &url, &s.staff)
        .header("if-match", "\"7\"")
        .json(&talk)
        .send()
        .await
        .unwrap();
    problem(res, 412).await;
    let send = || {
        app.authed(Method::POST, &url, &s.staff)
            .header("if-match", "\"1\"")
            .header("idempotency-key", "talk-1")
            .json(&talk)
            .send()
    };
    let first = send().await.unwrap();
    assert_eq!(first.status(), 201);
    assert_eq!(first.headers()["etag"], "\"2\"");
    let first: Value = first.json().await.unwrap();
    assert_replayed(send().await.unwrap(), 201, &first).await;
    let steps: i64 =
        sqlx::query_scalar("SELECT count(*) FROM applicant_steps WHERE applicant_id = $1")
            .bind(uuid(&a["id"]))
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(steps, 2, "the replay recorded nothing");
    // The talk is recorded once; county reads but does not write.
    let p = problem(step_as(&app, &s, &s.staff, &first, talk.clone()).await, 409).await;
    assert_eq!(p["code"], "step_recorded");
    let county = app.token(Role::County, None);
    let res = step_as(&app, &s, &county, &first, talk).await;
    assert_eq!(problem(res, 403).await["code"], "forbidden");
    let res = app
        .authed(
            Method::GET,
            &format!("{}/{}", base(s.town), a["id"].as_str().unwrap()),
            &county,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    // Another town sees nothing.
    let other = setup(&app, "320114304").await;
    let res = app
        .authed(
            Method::GET,
            &format!("{}/{}", base(s.town), a["id"].as_str().unwrap()),
            &other.staff,
        )
        .send()
        .await
        .unwrap();
    problem(res, 404).await;
}

#[tokio::test]
async fn overdue_steps_are_listed_and_reported_per_branch_and_town() {
    let app = TestApp::spawn().await;
    let s = setup(&app, "320114305").await;
    let late = applied(&app, &s, 4, months_ago(2)).await;
    let fresh = applied(&app, &s, 5, today()).await;
    assert_eq!(late["overdue"]["kind"], "talk");
    assert_eq!(
        late["overdue"]["due_on"],
        json!(plus_months(months_ago(2), 1))
    );
    assert_eq!(fresh["overdue"], Value::Null);

    let list: Value = app
        .authed(
            Method::GET,
            &format!("{}?stage=applicant", base(s.town)),
            &s.staff,
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["items"].as_array().unwrap().len(), 2);

    let county = app.token(Role::County, None);
    let url = format!("/api/v1/towns/{}/reports/development", s.town);
    let res = app.authed(Method::GET, &url, &county).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let r: Value = res.json().await.unwrap();
    assert_eq!(r["total"]["applicant"], 2);
    assert_eq!(r["total"]["overdue_talks"], 1);
    assert_eq!(r["branches"][0]["branch_id"], json!(s.village));
    assert_eq!(r["overdue"][0]["applicant_id"], late["id"]);
    assert_eq!(r["overdue"][0]["kind"], "talk");

    let res = app
        .authed(Method::GET, &format!("{url}?format=csv"), &s.staff)
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["content-type"], "text/csv; charset=utf-8");
    let text = res.text().await.unwrap();
    let mut lines = text.trim_start_matches('\u{feff}').lines();
    assert!(
        lines
            .next()
            .unwrap()
            .starts_with("支部,支部编号,入党申请人,入党积极分子")
    );
    assert!(lines.next().unwrap().starts_with("新村党支部,"));
    assert!(
        lines
            .next()
            .unwrap()
            .starts_with("全镇合计,,2,0,0,0,0,0,0,1,")
    );

    let res = app
        .authed(
            Method::GET,
            &format!(
                "/api/v1/towns/{}/reports/development-overdue?format=csv",
                s.town
            ),
            &s.staff,
        )
        .send()
        .await
        .unwrap();
    let text = res.text().await.unwrap();
    assert!(text.contains("逾期未谈话"), "{text}");
    // A branch of another town is not found.
    let res = app
        .authed(
            Method::GET,
            &format!("{url}?branch_id={}", Uuid::now_v7()),
            &s.staff,
        )
        .send()
        .await
        .unwrap();
    problem(res, 404).await;
    // Once the talk is held, nothing is overdue.
    step_ok(
        &app,
        &s,
        &s.staff,
        &late,
        json!({ "kind": "talk", "taken_on": today(), "decided_by": "支部书记" }),
    )
    .await;
    let r: Value = app
        .authed(Method::GET, &url, &s.staff)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(r["total"]["overdue_talks"], 0);
}

#[tokio::test]
async fn the_numbers_are_the_towns_policy_and_each_step_names_its_version() {
    let app = TestApp::spawn().await;
    let s = setup(&app, "320114306").await;
    let policy = format!("/api/v1/towns/{}/policy", s.town);
    let res = app
        .authed(Method::PATCH, &policy, &s.committee)
        .header("if-match", "\"1\"")
        .json(&json!({ "applicant_min_age": 30, "talk_within_months": 3 }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let p: Value = res.json().await.unwrap();
    assert_eq!(
        (p["version"].as_i64(), p["applicant_min_age"].as_i64()),
        (Some(2), Some(30))
    );
    // Born 2000: under 30 today.
    let born = NaiveDate::from_ymd_opt(2000, 1, 1).unwrap();
    let res = app
        .authed(Method::POST, &base(s.town), &s.staff)
        .json(
            &json!({ "branch_id": s.village, "name": "青年", "national_id": id_born(born, 8),
                       "applied_on": today(), "received_by": "支部书记" }),
        )
        .send()
        .await
        .unwrap();
    let p = problem(res, 422).await;
    assert_eq!(p["errors"][0]["code"], "too_young");
    let res = app
        .authed(Method::PATCH, &policy, &s.committee)
        .header("if-match", "\"2\"")
        .json(&json!({ "applicant_min_age": 18 }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let a = applied(&app, &s, 6, months_ago(2)).await;
    assert_eq!(a["steps"][0]["policy_version"], 3);
    // Three months to talk: two months after the application nothing is late.
    assert_eq!(a["overdue"], Value::Null);
    let res = app
        .authed(Method::PATCH, &policy, &s.committee)
        .header("if-match", "\"3\"")
        .json(&json!({ "contacts_min": 3, "contacts_max": 2 }))
        .send()
        .await
        .unwrap();
    assert_eq!(error_fields(&problem(res, 422).await), ["contacts_max"]);
}

#[tokio::test]
async fn a_withdrawn_applicant_may_apply_again_but_a_member_may_not() {
    let app = TestApp::spawn().await;
    let s = setup(&app, "320114307").await;
    let a = applied(&app, &s, 9, months_ago(1)).await;
    let a = step_ok(
        &app,
        &s,
        &s.staff,
        &a,
        json!({ "kind": "withdrawal", "taken_on": today(),
        "decided_by": "本人", "note": "本人申请撤回" }),
    )
    .await;
    assert_eq!(
        (a["stage"].as_str(), a["ended_on"].clone()),
        (Some("withdrawn"), json!(today()))
    );
    let again = applied(&app, &s, 9, today()).await;
    assert_ne!(again["id"], a["id"]);
    // Someone already a member of the town does not apply.
    sqlx::query("UPDATE members SET national_id = $2 WHERE id = $1")
        .bind(crate::helpers::insert_member(&app, s.town, s.village, "老党员", 120).await)
        .bind(id_born(NaiveDate::from_ymd_opt(1990, 1, 1).unwrap(), 10))
        .execute(&app.pool)
        .await
        .unwrap();
    let res = app
        .authed(Method::POST, &base(s.town), &s.staff)
        .json(&json!({ "branch_id": s.village, "name": "老党员",
                       "national_id": id_born(NaiveDate::from_ymd_opt(1990, 1, 1).unwrap(), 10),
                       "applied_on": today(), "received_by": "支部书记" }))
        .send()
        .await
        .unwrap();
    assert_eq!(problem(res, 409).await["code"], "already_a_member");
    // A branch of another town is not a branch to apply to.
    let other = setup(&app, "320114308").await;
    let res = app.authed(Method::POST, &base(s.town), &s.staff)
        .json(&json!({ "branch_id": other.village, "name": "外镇", "national_id": id_born(NaiveDate::from_ymd_opt(1991, 1, 1).unwrap(), 11),
                       "applied_on": today(), "received_by": "支部书记" }))
        .send().await.unwrap();
    assert_eq!(
        problem(res, 422).await["errors"][0]["code"],
        "unknown_branch"
    );
}

#[tokio::test]
async fn the_pipeline_comes_as_a_workbook_too() {
    let app = TestApp::spawn().await;
    let s = setup(&app, "320114309").await;
    applied(&app, &s, 12, today()).await;
    let url = format!("/api/v1/towns/{}/reports/development?format=xlsx", s.town);
    let res = app
        .authed(Method::GET, &url, &s.committee)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.headers()["content-type"],
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    );
    let bytes = res.bytes().await.unwrap();
    assert!(bytes.starts_with(b"PK"), "an XLSX is a zip");
}
