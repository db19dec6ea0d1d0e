//! Floating party member activity certificates: issue, one valid certificate per member
//! (in the database, under concurrency too), computed expiry, yearly reviews, the state
//! machine, date rules, roles and towns.

use chrono::{Days, NaiveDate};
use party_center::auth::Role;
use reqwest::{Method, Response};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::fixtures::{Setup, setup};
use crate::helpers::{TestApp, assert_replayed, insert_member, problem, uuid};

/// Today in the towns' zone (the tests' towns are all in Asia/Shanghai).
fn today() -> NaiveDate {
    chrono::Utc::now()
        .with_timezone(&chrono_tz::Asia::Shanghai)
        .date_naive()
}

/// The day `n` days before today.
fn days_ago(n: u64) -> NaiveDate {
    today().checked_sub_days(Days::new(n)).unwrap()
}

/// The day `n` days after today.
fn days_ahead(n: u64) -> NaiveDate {
    today().checked_add_days(Days::new(n)).unwrap()
}

/// A complete issue body for `member`.
fn cert_body(number: &str, member: Uuid, issued_on: NaiveDate, valid_until: NaiveDate) -> Value {
    json!({
        "number": number,
        "member_id": member,
        "destination": "江苏省南京市江宁区",
        "purpose": "务工",
        "issued_on": issued_on,
        "valid_until": valid_until,
    })
}

/// A town (as `cases::setup` makes it) with `n` members in its village branch.
async fn town_with_members(app: &TestApp, code: &str, n: u32) -> (Setup, Vec<Uuid>) {
    let s = setup(app, code).await;
    let mut members = Vec::new();
    for i in 0..n {
        members.push(insert_member(app, s.town, s.village, &format!("党员{i}"), i + 1).await);
    }
    (s, members)
}

/// The path of a town's certificates.
fn base(town: Uuid) -> String {
    format!("/api/v1/towns/{town}/certificates")
}

/// The JSON body of `res`.
async fn read(res: Response) -> Value {
    res.json().await.unwrap()
}

/// How many certificates `town` holds, read straight from the database.
async fn certificates_in(app: &TestApp, town: Uuid) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM certificates WHERE town_id = $1")
        .bind(town)
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

/// The count that `sql` (a `SELECT count(*)` without parameters) answers.
async fn count(app: &TestApp, sql: &'static str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(&app.pool).await.unwrap()
}

/// POSTs an issue `body` as `token`.
async fn issue(app: &TestApp, town: Uuid, token: &str, body: &Value) -> Response {
    app.authed(Method::POST, &base(town), token)
        .json(body)
        .send()
        .await
        .unwrap()
}

/// Issues a certificate as staff and returns it (asserting 201).
async fn issued(
    app: &TestApp,
    town: Uuid,
    number: &str,
    member: Uuid,
    issued_on: NaiveDate,
    valid_until: NaiveDate,
) -> Value {
    let body = cert_body(number, member, issued_on, valid_until);
    let res = issue(app, town, &app.token(Role::Staff, Some(town)), &body).await;
    assert_eq!(res.status(), 201, "issuing {body}");
    res.json().await.unwrap()
}

/// A POST action on a certificate with `If-Match`.
async fn act(
    app: &TestApp,
    town: Uuid,
    id: &Value,
    action: &str,
    token: &str,
    if_match: Option<&str>,
    body: Value,
) -> Response {
    let mut req = app.authed(
        Method::POST,
        &format!("{}/{}/{action}", base(town), id.as_str().unwrap()),
        token,
    );
    if let Some(tag) = if_match {
        req = req.header("if-match", tag);
    }
    req.json(&body).send().await.unwrap()
}

/// Reviews certificate `id` as `token`, with `If-Match` when given.
async fn review(
    app: &TestApp,
    town: Uuid,
    id: &Value,
    token: &str,
    if_match: Option<&str>,
    body: Value,
) -> Response {
    act(app, town, id, "reviews", token, if_match, body).await
}

/// Staff return certificate `id` on `day`, with `If-Match: if_match`.
async fn staff_return(
    app: &TestApp,
    town: Uuid,
    id: &Value,
    if_match: &str,
    day: NaiveDate,
) -> Response {
    let staff = app.token(Role::Staff, Some(town));
    let body = json!({ "returned_on": day });
    act(app, town, id, "return", &staff, Some(if_match), body).await
}

/// Staff revoke certificate `id` for `reason`, with `If-Match: if_match`.
async fn staff_revoke(
    app: &TestApp,
    town: Uuid,
    id: &Value,
    if_match: &str,
    reason: &str,
) -> Response {
    let staff = app.token(Role::Staff, Some(town));
    let body = json!({ "reason": reason });
    act(app, town, id, "revoke", &staff, Some(if_match), body).await
}

/// GETs `suffix` (empty, `/{id}` or `?{query}`) under the town's certificates as `token`.
async fn fetch(app: &TestApp, town: Uuid, token: &str, suffix: &str) -> Response {
    app.authed(Method::GET, &format!("{}{suffix}", base(town)), token)
        .send()
        .await
        .unwrap()
}

/// GETs certificate `id` as `token`.
async fn get(app: &TestApp, town: Uuid, id: &Value, token: &str) -> Response {
    fetch(app, town, token, &format!("/{}", id.as_str().unwrap())).await
}

/// Every id in the list at `query`, walking all pages of `limit`.
async fn list_ids(app: &TestApp, town: Uuid, token: &str, query: &str, limit: u32) -> Vec<String> {
    let mut ids = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut url = format!("{}?limit={limit}{query}", base(town));
        if let Some(c) = &cursor {
            url.push_str(&format!("&cursor={c}"));
        }
        let res = app.authed(Method::GET, &url, token).send().await.unwrap();
        assert_eq!(res.status(), 200, "{url}");
        let page: Value = res.json().await.unwrap();
        for item in page["items"].as_array().unwrap() {
            assert!(item.get("reviews").is_none(), "list items carry no reviews");
            ids.push(item["id"].as_str().unwrap().to_owned());
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return ids,
        }
    }
}

#[tokio::test]
async fn staff_issue_a_certificate_that_reads_back_with_its_etag() {
    let app = TestApp::spawn().await;
    let (Setup { town, staff, .. }, members) = town_with_members(&app, "C1", 2).await;
    let body = cert_body(" LD-2026-001 ", members[0], days_ago(3), days_ahead(300));
    let res = issue(&app, town, &staff, &body).await;
    assert_eq!(res.status(), 201);
    assert_eq!(res.headers()["etag"], "\"1\"");
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    let request_id = res.headers()["x-request-id"].to_str().unwrap().to_owned();
    let cert: Value = res.json().await.unwrap();
    assert_eq!(
        location,
        format!("{}/{}", base(town), cert["id"].as_str().unwrap())
    );
    assert_eq!(cert["number"], "LD-2026-001", "trimmed");
    assert_eq!(cert["status"], "valid");
    assert_eq!(cert["member_id"], json!(members[0]));
    assert_eq!(cert["issued_on"], json!(days_ago(3)));
    assert_eq!(cert["valid_until"], json!(days_ahead(300)));
    assert_eq!(cert["initial_valid_until"], json!(days_ahead(300)));
    assert_eq!(cert["issued_by"], "staff-tester");
    assert_eq!(cert["reviews"], json!([]));
    assert!(cert["returned_on"].is_null() && cert["revoked_on"].is_null());

    let audit: (String, Option<String>, Value) =
        sqlx::query_as("SELECT action, request_id, data FROM audit_log WHERE resource_id = $1")
            .bind(uuid(&cert["id"]))
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(audit.0, "certificate.issued");
    assert_eq!(audit.1, Some(request_id));
    assert!(
        audit.2.get("destination").is_none(),
        "no personal data in the trail"
    );

    for role in [Role::Staff, Role::Committee, Role::County] {
        let res = get(&app, town, &cert["id"], &app.token(role, Some(town))).await;
        assert_eq!(res.status(), 200, "{role:?} reads");
        assert_eq!(res.headers()["etag"], "\"1\"");
        assert_eq!(res.json::<Value>().await.unwrap(), cert);
    }

    // The number is unique in the town.
    let body = cert_body("LD-2026-001", members[1], today(), days_ahead(10));
    let res = issue(&app, town, &staff, &body).await;
    assert_eq!(problem(res, 409).await["code"], "certificate_number_taken");

    // The holder is a member of this town, and an active one.
    let body = cert_body("LD-2", Uuid::now_v7(), today(), days_ahead(10));
    let res = issue(&app, town, &staff, &body).await;
    let p = problem(res, 422).await;
    assert_eq!(p["errors"][0]["field"], "member_id");
    assert_eq!(p["errors"][0]["code"], "unknown_member");
    sqlx::query("UPDATE members SET status = 'transferred_out' WHERE id = $1")
        .bind(members[1])
        .execute(&app.pool)
        .await
        .unwrap();
    let body = cert_body("LD-3", members[1], today(), days_ahead(10));
    let res = issue(&app, town, &staff, &body).await;
    assert_eq!(problem(res, 409).await["code"], "member_not_active");

    // A retry with the same Idempotency-Key gets the first answer and changes nothing.
    sqlx::query("UPDATE members SET status = 'active' WHERE id = $1")
        .bind(members[1])
        .execute(&app.pool)
        .await
        .unwrap();
    let body = cert_body("LD-4", members[1], today(), days_ahead(10));
    let send = || {
        app.authed(Method::POST, &base(town), &staff)
            .header("idempotency-key", "issue-ld-4")
            .json(&body)
            .send()
    };
    let first = send().await.unwrap();
    assert_eq!(first.status(), 201);
    let first: Value = first.json().await.unwrap();
    let again = send().await.unwrap();
    assert_replayed(again, 201, &first).await;
    assert_eq!(certificates_in(&app, town).await, 2);
}

#[tokio::test]
async fn a_member_holds_one_valid_certificate_until_it_is_returned_revoked_or_expired() {
    let app = TestApp::spawn().await;
    let (Setup { town, staff, .. }, members) = town_with_members(&app, "C2", 2).await;
    let m = members[0];

    let first = issued(&app, town, "A-1", m, days_ago(10), days_ahead(100)).await;
    let body = cert_body("A-2", m, today(), days_ahead(50));
    let res = issue(&app, town, &staff, &body).await;
    assert_eq!(
        problem(res, 409).await["code"],
        "member_has_valid_certificate"
    );
    // Nor one whose past dates overlap the valid one.
    let body = cert_body("A-2", m, days_ago(200), days_ago(10));
    let res = issue(&app, town, &staff, &body).await;
    assert_eq!(
        problem(res, 409).await["code"],
        "member_has_valid_certificate"
    );

    // Returned: a new one may be issued.
    let res = staff_return(&app, town, &first["id"], "\"1\"", today()).await;
    assert_eq!(res.status(), 200);
    let second = issued(&app, town, "A-2", m, today(), days_ahead(50)).await;

    // Revoked: again.
    let res = staff_revoke(&app, town, &second["id"], "*", "组织关系已转出").await;
    assert_eq!(res.status(), 200);
    let third = issued(&app, town, "A-3", m, today(), days_ahead(50)).await;
    assert_eq!(third["status"], "valid");

    // Expired: a certificate issued with past dates reads as expired, and a new one may
    // be issued for the same member.
    let other = members[1];
    let old = issued(&app, town, "B-1", other, days_ago(400), days_ago(40)).await;
    assert_eq!(old["status"], "expired");
    let fresh = issued(&app, town, "B-2", other, today(), days_ahead(365)).await;
    assert_eq!(fresh["status"], "valid");

    // The rule for evaluation panels.
    let pool = &app.pool;
    let holds = |member, on| async move {
        let mut conn = pool.acquire().await.unwrap();
        party_center::certificates::holds_valid_certificate(&mut conn, town, member, on)
            .await
            .unwrap()
    };
    assert!(holds(m, today()).await);
    assert!(
        holds(m, days_ago(5)).await,
        "the first one was in force then"
    );
    assert!(
        holds(other, days_ago(100)).await,
        "the old one was in force then"
    );
    assert!(
        !holds(other, days_ago(20)).await,
        "nothing in force between the two"
    );
    assert!(holds(other, today()).await);
    assert!(!holds(Uuid::now_v7(), today()).await);
    let valid: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM certificates WHERE town_id = $1 AND member_id = $2 AND status = 'valid'",
    )
    .bind(town)
    .bind(m)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(valid, 1);
}

#[tokio::test]
async fn concurrent_issues_for_one_member_make_exactly_one_certificate() {
    let app = TestApp::spawn().await;
    let (Setup { town, staff, .. }, members) = town_with_members(&app, "C3", 1).await;
    let bodies: Vec<Value> = (0..8)
        .map(|i| cert_body(&format!("P-{i}"), members[0], today(), days_ahead(100)))
        .collect();
    let answers =
        futures_util::future::join_all(bodies.iter().map(|b| issue(&app, town, &staff, b))).await;
    let mut created = 0;
    for res in answers {
        match res.status().as_u16() {
            201 => created += 1,
            409 => assert_eq!(
                problem(res, 409).await["code"],
                "member_has_valid_certificate"
            ),
            other => panic!("unexpected status {other}"),
        }
    }
    assert_eq!(created, 1);
    assert_eq!(certificates_in(&app, town).await, 1);
}

#[tokio::test]
async fn expired_is_computed_and_the_status_filters_follow_it() {
    let app = TestApp::spawn().await;
    let (Setup { town, staff, .. }, members) = town_with_members(&app, "C4", 5).await;
    let expired = issued(&app, town, "E-1", members[0], days_ago(300), days_ago(1)).await;
    let valid = issued(&app, town, "V-1", members[1], days_ago(300), today()).await;
    let returned = issued(&app, town, "R-1", members[2], days_ago(30), days_ahead(30)).await;
    let revoked = issued(&app, town, "X-1", members[3], days_ago(30), days_ahead(30)).await;
    let also_valid = issued(&app, town, "V-2", members[4], today(), days_ahead(30)).await;
    staff_return(&app, town, &returned["id"], "\"1\"", days_ago(1)).await;
    staff_revoke(&app, town, &revoked["id"], "\"1\"", "违反规定").await;

    assert_eq!(expired["status"], "expired");
    assert_eq!(valid["status"], "valid", "valid on its last day");
    let stored: String = sqlx::query_scalar("SELECT status FROM certificates WHERE id = $1")
        .bind(uuid(&expired["id"]))
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(stored, "valid", "nobody edited the expired one");
    let fetched = read(get(&app, town, &expired["id"], &staff).await).await;
    assert_eq!(fetched["status"], "expired");

    let id = |c: &Value| c["id"].as_str().unwrap().to_owned();
    let county = app.token(Role::County, None);
    for (status, want) in [
        ("expired", vec![id(&expired)]),
        ("valid", vec![id(&valid), id(&also_valid)]),
        ("returned", vec![id(&returned)]),
        ("revoked", vec![id(&revoked)]),
    ] {
        for limit in [1, 50] {
            let got = list_ids(&app, town, &county, &format!("&status={status}"), limit).await;
            assert_eq!(got, want, "status={status} limit={limit}");
        }
    }
    let all = list_ids(&app, town, &staff, "", 2).await;
    assert_eq!(all.len(), 5);
    let mut sorted = all.clone();
    sorted.sort();
    assert_eq!(all, sorted, "id order");
    let holder = format!("&member_id={}", members[2]);
    let mine = list_ids(&app, town, &staff, &holder, 50).await;
    assert_eq!(mine, vec![id(&returned)]);
    let none = list_ids(&app, town, &staff, &format!("{holder}&status=valid"), 50).await;
    assert!(none.is_empty());
    let res = fetch(&app, town, &staff, "?status=lost").await;
    assert_eq!(problem(res, 400).await["code"], "invalid_query");
}

#[tokio::test]
async fn a_review_extends_validity_by_at_most_a_year_and_is_kept() {
    let app = TestApp::spawn().await;
    let (Setup { town, staff, .. }, members) = town_with_members(&app, "C5", 1).await;
    let committee = app.token(Role::Committee, Some(town));
    let cert = issued(&app, town, "R-1", members[0], days_ago(300), days_ahead(30)).await;
    let id = &cert["id"];

    // Without If-Match: 428; with a stale one: 412.
    let extend =
        json!({"reviewed_on": today(), "note": "表现良好", "valid_until": days_ahead(365)});
    let res = review(&app, town, id, &staff, None, extend.clone()).await;
    problem(res, 428).await;
    let res = review(&app, town, id, &staff, Some("\"7\""), extend.clone()).await;
    problem(res, 412).await;

    // A year from the review's date at most, and an extension.
    let too_long = json!({"reviewed_on": days_ago(1), "note": "x", "valid_until": days_ahead(365)});
    let res = review(&app, town, id, &staff, Some("\"1\""), too_long).await;
    let p = problem(res, 422).await;
    assert_eq!(p["errors"][0]["field"], "valid_until");
    assert_eq!(p["errors"][0]["code"], "over_one_year");
    let shorter = json!({"reviewed_on": today(), "note": "x", "valid_until": days_ahead(10)});
    let res = review(&app, town, id, &staff, Some("\"1\""), shorter).await;
    assert_eq!(
        problem(res, 422).await["errors"][0]["code"],
        "not_an_extension"
    );
    let early = json!({"reviewed_on": days_ago(301), "note": "x"});
    let res = review(&app, town, id, &staff, Some("\"1\""), early).await;
    assert_eq!(
        problem(res, 422).await["errors"][0]["code"],
        "before_issued_on"
    );
    let future = json!({"reviewed_on": days_ahead(1), "note": "x"});
    let res = review(&app, town, id, &staff, Some("\"1\""), future).await;
    assert_eq!(problem(res, 422).await["errors"][0]["code"], "in_future");

    let res = review(&app, town, id, &staff, Some("\"1\""), extend).await;
    assert_eq!(res.status(), 201);
    assert_eq!(res.headers()["etag"], "\"2\"");
    assert_eq!(
        res.headers()["location"].to_str().unwrap(),
        format!("{}/{}", base(town), id.as_str().unwrap())
    );
    let after: Value = res.json().await.unwrap();
    assert_eq!(after["valid_until"], json!(days_ahead(365)));
    assert_eq!(after["initial_valid_until"], json!(days_ahead(30)));
    assert_eq!(after["reviews"].as_array().unwrap().len(), 1);
    let r = &after["reviews"][0];
    assert_eq!(r["reviewer"], "staff-tester");
    assert_eq!(r["note"], "表现良好");
    assert_eq!(r["previous_valid_until"], json!(days_ahead(30)));
    assert_eq!(r["valid_until"], json!(days_ahead(365)));

    // A review that keeps the validity is recorded too.
    let keep = json!({"reviewed_on": today(), "note": "复核"});
    let res = review(&app, town, id, &committee, Some("\"2\""), keep).await;
    assert_eq!(res.status(), 201);
    let read = get(&app, town, id, &staff).await;
    assert_eq!(read.headers()["etag"], "\"3\"");
    let read: Value = read.json().await.unwrap();
    assert_eq!(read["valid_until"], json!(days_ahead(365)));
    let reviewers: Vec<&str> = read["reviews"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["reviewer"].as_str().unwrap())
        .collect();
    assert_eq!(reviewers, ["staff-tester", "committee-tester"]);

    let actions: Vec<String> =
        sqlx::query_scalar("SELECT action FROM audit_log WHERE resource_id = $1 ORDER BY id")
            .bind(uuid(id))
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert_eq!(
        actions,
        [
            "certificate.issued",
            "certificate.reviewed",
            "certificate.reviewed"
        ]
    );

    // Reviews are append-only, and issued certificates are records.
    for sql in [
        "UPDATE certificate_reviews SET note = 'x'",
        "DELETE FROM certificate_reviews",
        "TRUNCATE certificate_reviews",
        "UPDATE certificates SET destination = 'x'",
        "DELETE FROM certificates",
    ] {
        assert!(
            sqlx::raw_sql(sql).execute(&app.pool).await.is_err(),
            "{sql}"
        );
    }
}

#[tokio::test]
async fn returned_and_revoked_are_final_and_refusals_change_nothing() {
    let app = TestApp::spawn().await;
    let (Setup { town, staff, .. }, members) = town_with_members(&app, "C6", 3).await;
    let reviewed = json!({"reviewed_on": today(), "note": "x"});
    let returned = issued(&app, town, "F-1", members[0], days_ago(10), days_ahead(10)).await;

    let res = staff_return(&app, town, &returned["id"], "\"1\"", days_ago(11)).await;
    assert_eq!(
        problem(res, 422).await["errors"][0]["code"],
        "before_issued_on"
    );
    let res = staff_return(&app, town, &returned["id"], "\"1\"", days_ahead(1)).await;
    assert_eq!(problem(res, 422).await["errors"][0]["code"], "in_future");
    let res = staff_return(&app, town, &returned["id"], "\"1\"", today()).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["etag"], "\"2\"");
    let closed: Value = res.json().await.unwrap();
    assert_eq!(closed["status"], "returned");
    assert_eq!(closed["returned_on"], json!(today()));
    assert_eq!(closed["closed_by"], "staff-tester");

    let revoked = issued(&app, town, "F-2", members[1], days_ago(10), days_ahead(10)).await;
    let res = staff_revoke(&app, town, &revoked["id"], "\"1\"", " ").await;
    assert_eq!(problem(res, 422).await["errors"][0]["field"], "reason");
    let res = staff_revoke(&app, town, &revoked["id"], "\"1\"", "持证人违反规定").await;
    assert_eq!(res.status(), 200);
    let closed_too: Value = res.json().await.unwrap();
    assert_eq!(closed_too["status"], "revoked");
    assert_eq!(closed_too["revoked_on"], json!(today()));
    assert_eq!(closed_too["revocation_reason"], "持证人违反规定");

    for (cert, before) in [(&returned, closed), (&revoked, closed_too)] {
        for (action, body) in [
            ("return", json!({"returned_on": today()})),
            ("revoke", json!({"reason": "再次撤销"})),
            ("reviews", reviewed.clone()),
        ] {
            let res = act(&app, town, &cert["id"], action, &staff, Some("*"), body).await;
            assert_eq!(
                problem(res, 409).await["code"],
                "certificate_not_valid",
                "{action}"
            );
        }
        let now = read(get(&app, town, &cert["id"], &staff).await).await;
        assert_eq!(now, before, "nothing changed");
    }

    // An expired certificate is not reviewed, but can still be returned.
    let old = issued(&app, town, "F-3", members[2], days_ago(100), days_ago(2)).await;
    let late = json!({"reviewed_on": days_ago(3), "note": "迟到的审验"});
    let res = review(&app, town, &old["id"], &staff, Some("\"1\""), late).await;
    assert_eq!(problem(res, 409).await["code"], "certificate_not_valid");
    let res = staff_return(&app, town, &old["id"], "\"1\"", today()).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<Value>().await.unwrap()["status"], "returned");
    let reviews = count(&app, "SELECT count(*) FROM certificate_reviews").await;
    assert_eq!(reviews, 0);
}

#[tokio::test]
async fn issue_dates_are_checked_in_the_towns_calendar() {
    let app = TestApp::spawn().await;
    let (Setup { town, staff, .. }, members) = town_with_members(&app, "C7", 1).await;
    let m = members[0];
    let year_on = |d: NaiveDate| d.checked_add_months(chrono::Months::new(12)).unwrap();
    for (issued_on, valid_until, field, code) in [
        (days_ahead(1), days_ahead(30), "issued_on", "in_future"),
        (
            days_ago(10),
            days_ago(11),
            "valid_until",
            "not_after_issued_on",
        ),
        (
            days_ago(10),
            days_ago(10),
            "valid_until",
            "not_after_issued_on",
        ),
        (
            days_ago(10),
            year_on(days_ago(10)).succ_opt().unwrap(),
            "valid_until",
            "over_one_year",
        ),
        (
            "1900-01-01".parse().unwrap(),
            "1900-02-01".parse().unwrap(),
            "issued_on",
            "too_early",
        ),
    ] {
        let body = cert_body("D-1", m, issued_on, valid_until);
        let res = issue(&app, town, &staff, &body).await;
        let p = problem(res, 422).await;
        assert_eq!(p["errors"][0]["field"], field, "{issued_on} {valid_until}");
        assert_eq!(p["errors"][0]["code"], code);
    }
    let mut extra = cert_body("D-1", m, today(), days_ahead(1));
    extra["colour"] = json!("red");
    let res = issue(&app, town, &staff, &extra).await;
    assert_eq!(
        problem(res, 422).await["errors"][0]["code"],
        "unknown_field"
    );
    let res = issue(&app, town, &staff, &json!({"number": "D-1"})).await;
    problem(res, 422).await;
    let written = count(&app, "SELECT count(*) FROM certificates").await;
    assert_eq!(written, 0, "nothing half-written");
    // Exactly a year is fine.
    issued(&app, town, "D-1", m, days_ago(10), year_on(days_ago(10))).await;
}

#[tokio::test]
async fn staff_and_committee_manage_county_reads_member_and_admin_are_refused() {
    let app = TestApp::spawn().await;
    let (Setup { town, .. }, members) = town_with_members(&app, "C8", 5).await;
    let token = |role| app.token(role, Some(town));
    let cert = issued(&app, town, "M-0", members[0], today(), days_ahead(30)).await;
    let id = &cert["id"];

    for role in [Role::Member, Role::Admin] {
        let t = token(role);
        problem(fetch(&app, town, &t, "").await, 403).await;
        problem(get(&app, town, id, &t).await, 403).await;
    }
    for role in [Role::Staff, Role::Committee, Role::County] {
        let t = token(role);
        let res = fetch(&app, town, &t, "").await;
        assert_eq!(res.status(), 200, "{role:?} lists");
        assert_eq!(
            get(&app, town, id, &t).await.status(),
            200,
            "{role:?} reads"
        );
    }

    let writes = |n: usize| {
        [
            (
                "issue",
                cert_body(&format!("M-{n}"), members[n], today(), days_ahead(30)),
            ),
            ("reviews", json!({"reviewed_on": today(), "note": "良好"})),
            ("return", json!({"returned_on": today()})),
            ("revoke", json!({"reason": "撤销"})),
        ]
    };
    for role in [Role::Member, Role::Admin, Role::County] {
        for (action, body) in writes(1) {
            let res = if action == "issue" {
                issue(&app, town, &token(role), &body).await
            } else {
                act(&app, town, id, action, &token(role), Some("*"), body).await
            };
            problem(res, 403).await;
        }
    }
    let unchanged = read(get(&app, town, id, &token(Role::Staff)).await).await;
    assert_eq!(unchanged["version"], 1);

    for (n, role, close) in [
        (1, Role::Staff, "return"),
        (2, Role::Committee, "revoke"),
        (3, Role::Staff, "revoke"),
        (4, Role::Committee, "return"),
    ] {
        let t = token(role);
        let [issue_body, checked, returned, revoked] = writes(n).map(|(_, body)| body);
        let res = issue(&app, town, &t, &issue_body).await;
        assert_eq!(res.status(), 201, "{role:?} issues");
        let id = res.json::<Value>().await.unwrap()["id"].clone();
        let res = review(&app, town, &id, &t, Some("\"1\""), checked).await;
        assert_eq!(res.status(), 201, "{role:?} reviews");
        let body = if close == "return" { returned } else { revoked };
        let res = act(&app, town, &id, close, &t, Some("\"2\""), body).await;
        assert_eq!(res.status(), 200, "{role:?} {close}s");
    }
}

#[tokio::test]
async fn another_towns_certificates_answer_404() {
    let app = TestApp::spawn().await;
    let (Setup { town, staff, .. }, members) = town_with_members(&app, "C9", 1).await;
    let (Setup { town: other, .. }, other_members) = town_with_members(&app, "C10", 1).await;
    let outsider = app.token(Role::Staff, Some(other));
    let cert = issued(&app, town, "T-1", members[0], today(), days_ahead(30)).await;
    let id = &cert["id"];

    // Through the certificate's town: the caller does not cover it.
    problem(fetch(&app, town, &outsider, "").await, 404).await;
    problem(get(&app, town, id, &outsider).await, 404).await;
    let body = cert_body("T-2", members[0], today(), days_ahead(3));
    problem(issue(&app, town, &outsider, &body).await, 404).await;
    // Through the caller's own town: no such certificate there.
    problem(get(&app, other, id, &outsider).await, 404).await;
    for (action, body) in [
        ("reviews", json!({"reviewed_on": today(), "note": "x"})),
        ("return", json!({"returned_on": today()})),
        ("revoke", json!({"reason": "x"})),
    ] {
        let res = act(&app, town, id, action, &outsider, Some("*"), body.clone()).await;
        problem(res, 404).await;
        let res = act(&app, other, id, action, &outsider, Some("*"), body).await;
        problem(res, 404).await;
    }
    // A member of another town cannot hold this town's certificate.
    let body = cert_body("T-3", other_members[0], today(), days_ahead(3));
    let res = issue(&app, town, &staff, &body).await;
    assert_eq!(
        problem(res, 422).await["errors"][0]["code"],
        "unknown_member"
    );
    let unchanged = read(get(&app, town, id, &staff).await).await;
    assert_eq!(unchanged, cert);
    // Nor is another town's member filter a way in: the list is scoped to its town.
    let holder = format!("&member_id={}", members[0]);
    let ids = list_ids(&app, other, &outsider, &holder, 50).await;
    assert!(ids.is_empty());
}
