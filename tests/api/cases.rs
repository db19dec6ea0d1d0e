//! Transformation cases: intake, the exact ledger, committee adjustments under concurrency,
//! thresholds, matters and dispositions, and what the database itself refuses.

use party_center::auth::Role;
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::fixtures::{Setup, correct, open_case, setup};
use crate::helpers::{TestApp, center_branch, problem, uuid};

async fn case(app: &TestApp, s: &Setup, case: Uuid) -> Value {
    app.authed(
        Method::GET,
        &format!("/api/v1/towns/{}/cases/{case}", s.town),
        &s.staff,
    )
    .send()
    .await
    .unwrap()
    .json()
    .await
    .unwrap()
}

#[tokio::test]
async fn intake_moves_the_relation_into_the_center_and_opens_at_five() {
    let app = TestApp::spawn().await;
    let s = setup(&app, "C1").await;
    let (member, case_id) = open_case(&app, &s, 1).await;
    let c = case(&app, &s, case_id).await;
    assert_eq!(c["score"], json!(5));
    assert_eq!(c["base_score"], json!(5));
    assert_eq!(c["status"], "active");
    assert_eq!(uuid(&c["original_branch_id"]), s.village);
    assert_eq!(c["policy_version"], 1);
    let (branch, kind): (Uuid, String) = sqlx::query_as(
        "SELECT m.branch_id, t.kind FROM members m JOIN transfers t ON t.id = $2 WHERE m.id = $1",
    )
    .bind(member)
    .bind(uuid(&c["intake_transfer_id"]))
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        (branch, kind.as_str()),
        (center_branch(&app, s.town).await, "intake")
    );

    let res = app
        .authed(
            Method::POST,
            &format!("/api/v1/towns/{}/cases", s.town),
            &s.committee,
        )
        .json(&json!({ "member_id": member, "reason": "again" }))
        .send()
        .await
        .unwrap();
    assert_eq!(problem(res, 409).await["code"], "already_in_center");
    let members: Value = app
        .authed(
            Method::GET,
            &format!("/api/v1/towns/{}/members?under_transformation=true", s.town),
            &s.staff,
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(members["items"].as_array().unwrap().len(), 1);
    assert_eq!(members["items"][0]["under_transformation"], true);
}

#[tokio::test]
async fn corrections_and_reversals_are_exact_and_reversed_once() {
    let app = TestApp::spawn().await;
    let s = setup(&app, "C2").await;
    let (_, case_id) = open_case(&app, &s, 2).await;
    let res = correct(&app, &s, case_id, 1.5).await;
    assert_eq!(res.status(), 201);
    let adjusted: Value = res.json().await.unwrap();
    assert_eq!(adjusted["entry"]["points"], json!(1.5));
    assert_eq!(adjusted["entry"]["score_after"], json!(6.5));
    let entry_id = adjusted["entry"]["id"].as_str().unwrap().to_owned();

    let bad = correct(&app, &s, case_id, 0.25).await;
    assert_eq!(problem(bad, 422).await["errors"][0]["field"], "points");
    let zero = correct(&app, &s, case_id, 0.0).await;
    problem(zero, 422).await;

    let reverse = |key: &'static str, entry: String| {
        app.authed(
            Method::POST,
            &format!("/api/v1/towns/{}/cases/{case_id}/adjustments", s.town),
            &s.committee,
        )
        .header("idempotency-key", key)
        .json(&json!({ "kind": "reversal", "entry_id": entry, "reason": "记错了" }))
        .send()
    };
    let res = reverse("rev-1", entry_id.clone()).await.unwrap();
    assert_eq!(res.status(), 201);
    let reversal: Value = res.json().await.unwrap();
    assert_eq!(reversal["entry"]["points"], json!(-1.5));
    assert_eq!(reversal["entry"]["score_after"], json!(5));
    let again = reverse("rev-2", entry_id).await.unwrap();
    assert_eq!(problem(again, 409).await["code"], "already_reversed");
    let of_reversal = reverse(
        "rev-3",
        reversal["entry"]["id"].as_str().unwrap().to_owned(),
    )
    .await
    .unwrap();
    assert_eq!(
        problem(of_reversal, 409).await["code"],
        "cannot_reverse_reversal"
    );
    assert_eq!(case(&app, &s, case_id).await["score"], json!(5));

    let no_key = app
        .authed(
            Method::POST,
            &format!("/api/v1/towns/{}/cases/{case_id}/adjustments", s.town),
            &s.committee,
        )
        .json(&json!({ "kind": "correction", "points": 1, "reason": "x" }))
        .send()
        .await
        .unwrap();
    assert_eq!(
        problem(no_key, 400).await["code"],
        "idempotency_key_required"
    );
    let staff = app
        .authed(
            Method::POST,
            &format!("/api/v1/towns/{}/cases/{case_id}/adjustments", s.town),
            &s.staff,
        )
        .header("idempotency-key", "staff-1")
        .json(&json!({ "kind": "correction", "points": 1, "reason": "x" }))
        .send()
        .await
        .unwrap();
    problem(staff, 403).await;
}

#[tokio::test]
async fn each_entry_is_audited_with_its_points_as_the_api_writes_them_and_its_crossing_after_it() {
    let app = TestApp::spawn().await;
    let s = setup(&app, "A9").await;
    let (_, case_id) = open_case(&app, &s, 1).await;
    for points in [2.0, -0.5, -4.0] {
        assert_eq!(correct(&app, &s, case_id, points).await.status(), 201);
    }
    let trail: Vec<(String, Value)> = sqlx::query_as(
        "SELECT action, data FROM audit_log
         WHERE resource_type = 'case' AND resource_id = $1 AND action <> 'case.opened' ORDER BY id",
    )
    .bind(case_id)
    .fetch_all(&app.pool)
    .await
    .unwrap();
    let entries: Vec<(Uuid, i32)> =
        sqlx::query_as("SELECT id, seq FROM ledger_entries WHERE case_id = $1 ORDER BY seq")
            .bind(case_id)
            .fetch_all(&app.pool)
            .await
            .unwrap();
    let matter: Uuid = sqlx::query_scalar("SELECT id FROM committee_matters WHERE case_id = $1")
        .bind(case_id)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let added = |(id, seq): (Uuid, i32), points: Value, after: Value| {
        (
            "ledger.entry_added".to_owned(),
            json!({ "entry_id": id, "seq": seq, "kind": "correction", "points": points,
                    "score_after": after, "policy_version": 1 }),
        )
    };
    assert_eq!(
        trail,
        vec![
            added(entries[0], json!(2), json!(7)),
            added(entries[1], json!(-0.5), json!(6.5)),
            added(entries[2], json!(-4), json!(2.5)),
            (
                "case.threshold_low".to_owned(),
                json!({ "matter_id": matter, "entry_id": entries[2].0, "score": 2.5 }),
            ),
        ]
    );
}

#[tokio::test]
async fn sixty_four_concurrent_half_points_end_at_exactly_base_plus_32() {
    let app = TestApp::spawn_with(|settings, _| settings.db_max_connections = 30).await;
    let s = setup(&app, "C3").await;
    let (_, case_id) = open_case(&app, &s, 3).await;
    let requests = (0..64).map(|_| correct(&app, &s, case_id, 0.5));
    for res in futures_util::future::join_all(requests).await {
        assert_eq!(res.status(), 201);
    }
    let c = case(&app, &s, case_id).await;
    assert_eq!(c["score"], json!(37), "5 + 64 x 0.5");
    assert_eq!(c["entries_count"], 64);
    let seqs: Vec<i32> =
        sqlx::query_scalar("SELECT seq FROM ledger_entries WHERE case_id = $1 ORDER BY seq")
            .bind(case_id)
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert_eq!(seqs, (1..=64).collect::<Vec<_>>(), "no gap, no duplicate");
    let due: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_log WHERE resource_id = $1 AND action = 'case.evaluation_due'",
    )
    .bind(case_id)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(due, 1, "15 was first reached exactly once");
    assert_eq!(c["status"], "evaluation_due");
}

#[tokio::test]
async fn sixty_four_requests_with_one_key_write_one_entry_and_answer_alike() {
    let app = TestApp::spawn_with(|settings, _| settings.db_max_connections = 30).await;
    let s = setup(&app, "C4").await;
    let (_, case_id) = open_case(&app, &s, 4).await;
    let requests = (0..64).map(|_| {
        app.authed(
            Method::POST,
            &format!("/api/v1/towns/{}/cases/{case_id}/adjustments", s.town),
            &s.committee,
        )
        .header("idempotency-key", "one-key")
        .json(&json!({ "kind": "correction", "points": 0.5, "reason": "一次" }))
        .send()
    });
    let mut bodies = Vec::new();
    for res in futures_util::future::join_all(requests).await {
        let res = res.unwrap();
        assert_eq!(res.status(), 201);
        bodies.push(res.json::<Value>().await.unwrap());
    }
    assert!(
        bodies.windows(2).all(|w| w[0] == w[1]),
        "64 identical answers"
    );
    assert_eq!(case(&app, &s, case_id).await["score"], json!(5.5));
}

#[tokio::test]
async fn falling_below_three_opens_one_matter_per_crossing_and_removal_ends_the_case() {
    let app = TestApp::spawn().await;
    let s = setup(&app, "C5").await;
    let (member, case_id) = open_case(&app, &s, 5).await;
    assert_eq!(correct(&app, &s, case_id, -2.0).await.status(), 201); // 3: not below
    let res: Value = correct(&app, &s, case_id, -0.5).await.json().await.unwrap(); // 2.5: crosses
    assert_eq!(res["status"], "below_threshold");
    assert_eq!(correct(&app, &s, case_id, -0.5).await.status(), 201); // 2: still below
    let matters_path = format!("/api/v1/towns/{}/cases/{case_id}/matters", s.town);
    let matters: Value = app
        .authed(Method::GET, &matters_path, &s.staff)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let matters = matters["items"].as_array().unwrap();
    assert_eq!(matters.len(), 1, "one matter for one crossing");
    assert_eq!(matters[0]["score"], json!(2.5));
    let matter = matters[0]["id"].as_str().unwrap().to_owned();

    let dispose = |etag: &'static str, body: Value| {
        app.authed(
            Method::POST,
            &format!(
                "/api/v1/towns/{}/cases/{case_id}/matters/{matter}/disposition",
                s.town
            ),
            &s.committee,
        )
        .header("if-match", etag)
        .json(&body)
        .send()
    };
    let res = dispose(
        "\"1\"",
        json!({"disposition": "deadline", "note": "限期改正"}),
    )
    .await
    .unwrap();
    assert_eq!(problem(res, 422).await["errors"][0]["field"], "deadline");
    let res = dispose(
        "\"1\"",
        json!({"disposition": "removal", "note": "经研究予以除名"}),
    )
    .await
    .unwrap();
    assert_eq!(res.status(), 200);
    let c = case(&app, &s, case_id).await;
    assert_eq!(c["status"], "concluded");
    assert_eq!(c["conclusion"], "removed");
    let status: String = sqlx::query_scalar("SELECT status FROM members WHERE id = $1")
        .bind(member)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(status, "removed");
    let res = dispose("\"2\"", json!({"disposition": "talk", "note": "x"}))
        .await
        .unwrap();
    problem(res, 409).await;
    let after = correct(&app, &s, case_id, 1.0).await;
    assert_eq!(
        problem(after, 409).await["code"],
        "case_concluded",
        "no entry on a concluded case"
    );
}

#[tokio::test]
async fn the_ledger_pages_newest_first_and_keeps_the_policy_version() {
    let app = TestApp::spawn().await;
    let s = setup(&app, "C6").await;
    let (_, case_id) = open_case(&app, &s, 6).await;
    for _ in 0..3 {
        correct(&app, &s, case_id, 0.5).await;
    }
    let res = app
        .authed(
            Method::PATCH,
            &format!("/api/v1/towns/{}/policy", s.town),
            &s.committee,
        )
        .header("if-match", "\"1\"")
        .json(&json!({ "evaluation_quorum": 7 }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    correct(&app, &s, case_id, -1.0).await;
    let ledger = format!("/api/v1/towns/{}/cases/{case_id}/ledger", s.town);
    let first: Value = app
        .authed(Method::GET, &format!("{ledger}?limit=2"), &s.staff)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let items = first["items"].as_array().unwrap();
    assert_eq!(items[0]["seq"], 4);
    assert_eq!(items[0]["policy_version"], 2);
    assert_eq!(items[0]["score_after"], json!(5.5));
    assert_eq!(
        items[1]["policy_version"], 1,
        "a policy change never rewrites the past"
    );
    let next = first["next_cursor"].as_str().unwrap();
    let second: Value = app
        .authed(
            Method::GET,
            &format!("{ledger}?limit=2&cursor={next}"),
            &s.staff,
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let seqs: Vec<i64> = second["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["seq"].as_i64().unwrap())
        .collect();
    assert_eq!(seqs, [2, 1]);
}

/// The answer to an adjustment is built before its entry is written and stored by the
/// same statement (issue 11): it must be the entry exactly as the ledger then shows it,
/// time and all, and a retry must get it again.
#[tokio::test]
async fn an_adjustments_answer_is_the_entry_as_the_ledger_then_shows_it() {
    let app = TestApp::spawn().await;
    let s = setup(&app, "C7").await;
    let (_, case_id) = open_case(&app, &s, 7).await;
    correct(&app, &s, case_id, 0.5).await;
    let send = || {
        app.authed(
            Method::POST,
            &format!("/api/v1/towns/{}/cases/{case_id}/adjustments", s.town),
            &s.committee,
        )
        .header("idempotency-key", "c7-once")
        .json(&json!({ "kind": "correction", "points": -1.5, "reason": "核对" }))
        .send()
    };
    let res = send().await.unwrap();
    assert_eq!(res.status(), 201);
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    let answer: Value = res.json().await.unwrap();
    assert_eq!(answer["entry"]["seq"], 2);
    assert_eq!(answer["entry"]["score_after"], json!(4));
    assert_eq!(answer["status"], "active");

    let ledger: Value = app
        .authed(Method::GET, &location, &s.staff)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        ledger["items"][0], answer["entry"],
        "the answer is the stored entry, field for field"
    );
    crate::helpers::assert_replayed(send().await.unwrap(), 201, &answer).await;
    assert_eq!(case(&app, &s, case_id).await["score"], json!(4));
}

#[tokio::test]
async fn the_database_keeps_the_ledger_append_only_and_the_score_honest() {
    let app = TestApp::spawn().await;
    let s = setup(&app, "C7").await;
    let (_, case_id) = open_case(&app, &s, 7).await;
    correct(&app, &s, case_id, 2.0).await;
    for sql in [
        "UPDATE ledger_entries SET half_points = 100",
        "DELETE FROM ledger_entries",
        "TRUNCATE ledger_entries CASCADE",
    ] {
        assert!(
            sqlx::raw_sql(sql).execute(&app.pool).await.is_err(),
            "{sql}"
        );
    }
    let cheat =
        sqlx::query("UPDATE cases SET score_half_points = score_half_points + 2 WHERE id = $1")
            .bind(case_id)
            .execute(&app.pool)
            .await;
    assert!(
        cheat.is_err(),
        "a score that is not base + entries cannot commit"
    );
    assert_eq!(case(&app, &s, case_id).await["score"], json!(7));
}

#[tokio::test]
async fn roles_and_towns_are_kept_apart() {
    let app = TestApp::spawn().await;
    let s = setup(&app, "C8").await;
    let other = setup(&app, "C9").await;
    let (member, case_id) = open_case(&app, &s, 8).await;
    let one = format!("/api/v1/towns/{}/cases/{case_id}", s.town);
    let county = app.token(Role::County, None);
    assert_eq!(
        app.authed(Method::GET, &one, &county)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    for token in [app.token(Role::Member, Some(s.town)), app.admin()] {
        problem(
            app.authed(Method::GET, &one, &token).send().await.unwrap(),
            403,
        )
        .await;
    }
    problem(
        app.authed(Method::GET, &one, &other.staff)
            .send()
            .await
            .unwrap(),
        404,
    )
    .await;
    let res = app
        .authed(
            Method::POST,
            &format!("/api/v1/towns/{}/cases", s.town),
            &s.staff,
        )
        .json(&json!({ "member_id": member, "reason": "x" }))
        .send()
        .await
        .unwrap();
    problem(res, 403).await;
    let res = app
        .authed(
            Method::POST,
            &format!("/api/v1/towns/{}/cases", other.town),
            &other.committee,
        )
        .json(&json!({ "member_id": member, "reason": "x" }))
        .send()
        .await
        .unwrap();
    assert_eq!(
        problem(res, 422).await["errors"][0]["field"],
        "member_id",
        "another town's member is unknown here"
    );
}
