//! Tasks of cases and their one outcome; members' objections to ledger entries; `/me`.

use party_center::auth::Role;
use reqwest::{Method, Response};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::cases::{Setup, setup};
use crate::helpers::{
    TestApp, assert_replayed, error_fields, insert_branch, insert_member, problem, uuid,
};

/// A town with a member under transformation.
struct Fixture {
    town: Uuid,
    committee: String,
    staff: String,
    member: Uuid,
    member_token: String,
    case: Uuid,
}

/// The id in a JSON answer's body.
async fn id_of(res: Response) -> Uuid {
    uuid(&res.json::<Value>().await.unwrap()["id"])
}

/// A GET of `path` with `token`.
async fn get(app: &TestApp, path: &str, token: &str) -> Response {
    app.authed(Method::GET, path, token).send().await.unwrap()
}

/// A GET of `path` that must answer 200; returns the body.
async fn get_json(app: &TestApp, path: &str, token: &str) -> Value {
    let res = get(app, path, token).await;
    assert_eq!(res.status(), 200, "GET {path}");
    res.json().await.unwrap()
}

/// A POST of `body` as JSON to `path` with `token`, adding each header that has a value.
async fn post_json(
    app: &TestApp,
    path: &str,
    token: &str,
    headers: &[(&str, Option<&str>)],
    body: &Value,
) -> Response {
    let mut req = app.authed(Method::POST, path, token);
    for &(name, value) in headers {
        if let Some(value) = value {
            req = req.header(name, value);
        }
    }
    req.json(body).send().await.unwrap()
}

/// Opens a case for `member` as the committee and returns its id.
async fn open_case(app: &TestApp, town: Uuid, committee: &str, member: Uuid) -> Uuid {
    let path = format!("/api/v1/towns/{town}/cases");
    let body = json!({ "member_id": member, "reason": "党员意识淡薄，需转化" });
    let res = post_json(app, &path, committee, &[], &body).await;
    assert_eq!(res.status(), 201, "opening a case");
    id_of(res).await
}

/// A town (from `cases::setup`) with member 张三 registered and under transformation.
async fn fixture(app: &TestApp, code: &str) -> Fixture {
    let Setup {
        town,
        village,
        committee,
        staff,
    } = setup(app, code).await;
    let member = insert_member(app, town, village, "张三", 1).await;
    let case = open_case(app, town, &committee, member).await;
    Fixture {
        town,
        committee,
        staff,
        member,
        member_token: app.member_token(town, member),
        case,
    }
}

/// Registers `name` in a new village branch `branch` of the fixture's town.
async fn another_member(app: &TestApp, f: &Fixture, branch: &str, name: &str, n: u32) -> Uuid {
    let village = insert_branch(app, f.town, branch).await;
    insert_member(app, f.town, village, name, n).await
}

/// A due date a week from today.
fn due_later() -> String {
    (chrono::Utc::now().date_naive() + chrono::Days::new(7)).to_string()
}

/// Assigns a task with `body` on `case` through `town`'s route.
async fn assign(app: &TestApp, town: Uuid, case: Uuid, token: &str, body: &Value) -> Response {
    let path = format!("/api/v1/towns/{town}/cases/{case}/tasks");
    post_json(app, &path, token, &[], body).await
}

/// Assigns a task titled `title`, due a week from today, on the fixture's `case`.
async fn assign_titled(
    app: &TestApp,
    f: &Fixture,
    case: Uuid,
    token: &str,
    title: &str,
) -> Response {
    let body = json!({ "title": title, "due_on": due_later() });
    assign(app, f.town, case, token, &body).await
}

/// Assigns a task as staff and returns its id.
async fn new_task(app: &TestApp, f: &Fixture, title: &str) -> Uuid {
    let res = assign_titled(app, f, f.case, &f.staff, title).await;
    assert_eq!(res.status(), 201, "assigning a task");
    id_of(res).await
}

/// Posts an outcome `body` for `task` through `town`'s route, with `key` if any.
async fn post_outcome(
    app: &TestApp,
    town: Uuid,
    task: Uuid,
    token: &str,
    key: Option<&str>,
    body: &Value,
) -> Response {
    let path = format!("/api/v1/towns/{town}/tasks/{task}/outcome");
    post_json(app, &path, token, &[("Idempotency-Key", key)], body).await
}

/// Posts the bare outcome `what` for `task` in the fixture's town, with `key` if any.
async fn outcome(
    app: &TestApp,
    f: &Fixture,
    task: Uuid,
    token: &str,
    key: Option<&str>,
    what: &str,
) -> Response {
    post_outcome(app, f.town, task, token, key, &json!({ "outcome": what })).await
}

/// Records an outcome with a fresh key; returns the answer.
async fn record(app: &TestApp, f: &Fixture, task: Uuid, what: &str) -> Value {
    let key = Uuid::now_v7().to_string();
    let res = outcome(app, f, task, &f.staff, Some(&key), what).await;
    assert_eq!(res.status(), 201, "recording an outcome");
    res.json().await.unwrap()
}

/// A committee adjustment with `body` on `case`, under idempotency `key`.
async fn adjust(app: &TestApp, f: &Fixture, case: Uuid, key: &str, body: &Value) -> Response {
    let path = format!("/api/v1/towns/{}/cases/{case}/adjustments", f.town);
    let headers = [("Idempotency-Key", Some(key))];
    post_json(app, &path, &f.committee, &headers, body).await
}

/// A committee correction of `points` on `case` with a fresh key; must answer 201.
async fn correct(app: &TestApp, f: &Fixture, case: Uuid, points: f64) -> Value {
    let key = Uuid::now_v7().to_string();
    let body = json!({ "kind": "correction", "points": points, "reason": "测试设定分数" });
    let res = adjust(app, f, case, &key, &body).await;
    assert_eq!(res.status(), 201, "a correction");
    res.json().await.unwrap()
}

/// A committee reversal of `entry` on the fixture's case, under idempotency `key`.
async fn reverse(app: &TestApp, f: &Fixture, key: &str, entry: &Value) -> Response {
    let body = json!({ "kind": "reversal", "entry_id": entry, "reason": "登记错误" });
    adjust(app, f, f.case, key, &body).await
}

/// The committee's view of `case`.
async fn case_of(app: &TestApp, f: &Fixture, case: Uuid) -> Value {
    get_json(
        app,
        &format!("/api/v1/towns/{}/cases/{case}", f.town),
        &f.committee,
    )
    .await
}

/// How many ledger entries name `source` as their source.
async fn entries_from(app: &TestApp, source: Uuid) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM ledger_entries WHERE source_id = $1")
        .bind(source)
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn staff_and_the_committee_assign_tasks_and_county_reads_them() {
    let app = TestApp::spawn().await;
    let f = fixture(&app, "T1").await;
    let other = uuid(&app.create_town("T1X").await["id"]);
    let body = json!({ "title": "  参加村环境整治志愿服务 ", "description": "周六上午\n带上工具", "due_on": due_later() });

    let res = assign(&app, f.town, f.case, &f.staff, &body).await;
    assert_eq!(res.status(), 201);
    let etag = res.headers()["etag"].to_str().unwrap().to_owned();
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    let task: Value = res.json().await.unwrap();
    assert_eq!(etag, "\"1\"");
    assert_eq!(
        location,
        format!(
            "/api/v1/towns/{}/tasks/{}",
            f.town,
            task["id"].as_str().unwrap()
        )
    );
    assert_eq!(task["title"], "参加村环境整治志愿服务");
    assert_eq!(task["description"], "周六上午\n带上工具");
    assert_eq!(task["assigned_role"], "staff");
    assert!(task["outcome"].is_null());
    let task_id = uuid(&task["id"]);
    let action: String = sqlx::query_scalar("SELECT action FROM audit_log WHERE resource_id = $1")
        .bind(task_id)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(action, "task.assigned");

    let res = assign(&app, f.town, f.case, &f.committee, &body).await;
    assert_eq!(res.status(), 201, "the committee assigns too");
    for role in [Role::Member, Role::County, Role::Admin] {
        let token = app.token(role, Some(f.town));
        problem(assign(&app, f.town, f.case, &token, &body).await, 403).await;
    }
    // Another town's case, and a case of this town under another town's path.
    let other_committee = app.token(Role::Committee, Some(other));
    let res = assign(&app, f.town, f.case, &other_committee, &body).await;
    problem(res, 404).await;
    let res = assign(&app, other, f.case, &other_committee, &body).await;
    problem(res, 404).await;
    let res = assign(&app, f.town, Uuid::now_v7(), &f.staff, &body).await;
    problem(res, 404).await;

    // Bad fields, each named.
    let bad = json!({ "title": " ", "due_on": "2000-01-01" });
    let res = assign(&app, f.town, f.case, &f.staff, &bad).await;
    let p = problem(res, 422).await;
    assert_eq!(error_fields(&p), ["title", "due_on"]);
    let too_long = json!({ "title": "长".repeat(201), "due_on": due_later(), "extra": 1 });
    let res = assign(&app, f.town, f.case, &f.staff, &too_long).await;
    problem(res, 422).await;

    // Reads: staff, committee, county; not member or admin; another town 404.
    let list_path = format!("/api/v1/towns/{}/cases/{}/tasks", f.town, f.case);
    let task_path = format!("/api/v1/towns/{}/tasks/{task_id}", f.town);
    let county = app.token(Role::County, None);
    for token in [&f.staff, &f.committee, &county] {
        let page = get_json(&app, &list_path, token).await;
        assert_eq!(page["items"].as_array().unwrap().len(), 2);
        assert_eq!(page["items"][0]["id"], task["id"], "in assignment order");
        let one = get_json(&app, &task_path, token).await;
        assert_eq!(one["id"], task["id"]);
    }
    let page = get_json(&app, &format!("{list_path}?limit=1"), &f.staff).await;
    assert!(page["next_cursor"].is_string());
    for role in [Role::Member, Role::Admin] {
        let token = app.token(role, Some(f.town));
        for path in [&list_path, &task_path] {
            problem(get(&app, path, &token).await, 403).await;
        }
    }
    for path in [&list_path, &task_path] {
        problem(get(&app, path, &other_committee).await, 404).await;
    }
    let elsewhere = format!("/api/v1/towns/{other}/tasks/{task_id}");
    problem(get(&app, &elsewhere, &other_committee).await, 404).await;
}

#[tokio::test]
async fn an_outcome_is_recorded_once_and_moves_the_score() {
    let app = TestApp::spawn().await;
    let f = fixture(&app, "T2").await;
    let done = new_task(&app, &f, "走访困难群众").await;
    let missed = new_task(&app, &f, "上党课").await;

    // Without a key: 400, nothing written.
    let res = outcome(&app, &f, done, &f.staff, None, "completed").await;
    assert_eq!(problem(res, 400).await["code"], "idempotency_key_required");
    assert_eq!(entries_from(&app, done).await, 0);
    // Roles.
    for role in [Role::Member, Role::County, Role::Admin] {
        let token = app.token(role, Some(f.town));
        let res = outcome(&app, &f, done, &token, Some("k"), "completed").await;
        problem(res, 403).await;
    }
    let res = outcome(&app, &f, done, &f.staff, Some("k0"), "done").await;
    problem(res, 422).await;

    let body = json!({ "outcome": "completed", "note": "按时完成" });
    let res = post_outcome(&app, f.town, done, &f.staff, Some("key-1"), &body).await;
    assert_eq!(res.status(), 201);
    assert_eq!(res.headers()["etag"], "\"2\"");
    let first: Value = res.json().await.unwrap();
    assert_eq!(first["task"]["outcome"], "completed");
    assert_eq!(first["task"]["outcome_note"], "按时完成");
    assert_eq!(first["task"]["outcome_entry_id"], first["entry"]["id"]);
    assert_eq!(first["entry"]["kind"], "task_completed");
    assert_eq!(first["entry"]["points"], json!(0.5));
    assert_eq!(first["entry"]["source_type"], "task");
    assert_eq!(uuid(&first["entry"]["source_id"]), done);
    assert_eq!(first["entry"]["score_after"], json!(5.5));
    assert_eq!(first["case_status"], "active");
    assert_eq!(case_of(&app, &f, f.case).await["score"], json!(5.5));

    // The same key again: the same answer, nothing more written.
    let res = post_outcome(&app, f.town, done, &f.staff, Some("key-1"), &body).await;
    assert_replayed(res, 201, &first).await;
    assert_eq!(entries_from(&app, done).await, 1);
    // The same key with another body: 422.
    let res = outcome(&app, &f, done, &f.staff, Some("key-1"), "not_completed").await;
    assert_eq!(problem(res, 422).await["code"], "idempotency_key_reused");

    // A second outcome: 409, nothing changed.
    let res = outcome(&app, &f, done, &f.committee, Some("key-2"), "not_completed").await;
    assert_eq!(problem(res, 409).await["code"], "outcome_recorded");
    assert_eq!(entries_from(&app, done).await, 1);
    let task = get_json(
        &app,
        &format!("/api/v1/towns/{}/tasks/{done}", f.town),
        &f.staff,
    )
    .await;
    assert_eq!(task, first["task"]);
    assert_eq!(case_of(&app, &f, f.case).await["score"], json!(5.5));

    // Not completed: -0.5 back to 5, by the committee.
    let res = outcome(
        &app,
        &f,
        missed,
        &f.committee,
        Some("key-3"),
        "not_completed",
    )
    .await;
    assert_eq!(res.status(), 201);
    let second: Value = res.json().await.unwrap();
    assert_eq!(second["entry"]["kind"], "task_not_completed");
    assert_eq!(second["entry"]["points"], json!(-0.5));
    assert_eq!(uuid(&second["entry"]["source_id"]), missed);
    let case = case_of(&app, &f, f.case).await;
    assert_eq!(case["score"], json!(5));
    assert_eq!(case["entries_count"], 2);
    let ledger = get_json(
        &app,
        &format!("/api/v1/towns/{}/cases/{}/ledger", f.town, f.case),
        &f.staff,
    )
    .await;
    assert_eq!(ledger["items"][0]["id"], second["entry"]["id"]);
    assert_eq!(ledger["items"][1]["id"], first["entry"]["id"]);
    let audited: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_log WHERE action = 'task.outcome_recorded' AND resource_id = ANY($1)",
    )
    .bind(vec![done, missed])
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(audited, 2);

    // Another town's token, and an unknown task.
    let other = uuid(&app.create_town("T2X").await["id"]);
    let other_staff = app.token(Role::Staff, Some(other));
    let completed = json!({ "outcome": "completed" });
    let res = post_outcome(&app, f.town, missed, &other_staff, Some("k9"), &completed).await;
    problem(res, 404).await;
    let res = post_outcome(&app, other, missed, &other_staff, Some("k9"), &completed).await;
    problem(res, 404).await;
    let res = outcome(&app, &f, Uuid::now_v7(), &f.staff, Some("k10"), "completed").await;
    problem(res, 404).await;
}

#[tokio::test]
async fn the_database_keeps_an_outcome_as_it_was_recorded() {
    let app = TestApp::spawn().await;
    let f = fixture(&app, "T3").await;
    let task = new_task(&app, &f, "整理学习笔记").await;
    let other = new_task(&app, &f, "另一项任务").await;
    let other_entry = uuid(&record(&app, &f, other, "completed").await["entry"]["id"]);
    // No outcome without its own ledger entry: not another task's.
    let err = sqlx::query(
        "UPDATE tasks SET outcome = 'completed', outcome_entry_id = $2, outcome_by = 'x', outcome_at = now()
         WHERE id = $1",
    )
    .bind(task)
    .bind(other_entry)
    .execute(&app.pool)
    .await
    .unwrap_err();
    assert_eq!(
        err.as_database_error().unwrap().constraint(),
        Some("tasks_outcome_entry_matches")
    );
    record(&app, &f, task, "completed").await;
    let err = sqlx::query("UPDATE tasks SET outcome = 'not_completed' WHERE id = $1")
        .bind(task)
        .execute(&app.pool)
        .await
        .unwrap_err();
    assert_eq!(
        err.as_database_error().unwrap().constraint(),
        Some("tasks_outcome_once")
    );
    for sql in [
        "UPDATE tasks SET outcome_note = 'changed' WHERE id = $1",
        "UPDATE tasks SET case_id = gen_random_uuid() WHERE id = $1",
        "DELETE FROM tasks WHERE id = $1",
    ] {
        let res = sqlx::query(sql).bind(task).execute(&app.pool).await;
        assert!(res.is_err(), "{sql} is refused");
    }
    let row: (String, i64) = sqlx::query_as("SELECT outcome, version FROM tasks WHERE id = $1")
        .bind(task)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(row, ("completed".to_owned(), 2));
}

#[tokio::test]
async fn sixteen_concurrent_outcomes_write_one_entry() {
    let app = TestApp::spawn().await;
    let f = fixture(&app, "T4").await;
    let task = new_task(&app, &f, "参加组织生活会").await;
    let keys: Vec<String> = (0..16).map(|i| format!("concurrent-{i}")).collect();
    let futures = keys.iter().enumerate().map(|(i, key)| {
        let what = if i % 2 == 0 {
            "completed"
        } else {
            "not_completed"
        };
        outcome(&app, &f, task, &f.staff, Some(key), what)
    });
    let answers = futures_util::future::join_all(futures).await;
    let mut created = Vec::new();
    let mut conflicts = 0;
    for res in answers {
        match res.status().as_u16() {
            201 => created.push(res.json::<Value>().await.unwrap()),
            409 => {
                assert_eq!(problem(res, 409).await["code"], "outcome_recorded");
                conflicts += 1;
            }
            other => panic!("unexpected status {other}"),
        }
    }
    assert_eq!(created.len(), 1);
    assert_eq!(conflicts, 15);
    assert_eq!(entries_from(&app, task).await, 1);
    let case = case_of(&app, &f, f.case).await;
    assert_eq!(case["entries_count"], 1);
    assert_eq!(case["score"], created[0]["entry"]["score_after"]);
}

#[tokio::test]
async fn outcomes_cross_the_thresholds() {
    let app = TestApp::spawn().await;
    let f = fixture(&app, "T5").await;

    // 14.5 -> 15: an evaluation is due.
    correct(&app, &f, f.case, 9.5).await;
    assert_eq!(case_of(&app, &f, f.case).await["score"], json!(14.5));
    let task = new_task(&app, &f, "带头参加志愿服务").await;
    let answer = record(&app, &f, task, "completed").await;
    assert_eq!(answer["entry"]["score_after"], json!(15));
    assert_eq!(answer["case_status"], "evaluation_due");
    let case = case_of(&app, &f, f.case).await;
    assert_eq!(case["status"], "evaluation_due");
    assert!(case["evaluation_due_at"].is_string());

    // Another member: 3 -> 2.5 opens exactly one committee matter.
    let member = another_member(&app, &f, "东村党支部", "李四", 2).await;
    let low_case = open_case(&app, f.town, &f.committee, member).await;
    correct(&app, &f, low_case, -2.0).await;
    let matters_path = format!("/api/v1/towns/{}/cases/{low_case}/matters", f.town);
    assert_eq!(
        get_json(&app, &matters_path, &f.committee).await,
        json!({"items": [], "next_cursor": null})
    );
    let res = assign_titled(&app, &f, low_case, &f.committee, "按期提交思想汇报").await;
    let low_task = id_of(res).await;
    let answer = record(&app, &f, low_task, "not_completed").await;
    assert_eq!(answer["entry"]["score_after"], json!(2.5));
    assert_eq!(answer["case_status"], "below_threshold");
    let matters = get_json(&app, &matters_path, &f.committee).await;
    let matters = matters["items"].as_array().unwrap();
    assert_eq!(matters.len(), 1);
    assert_eq!(matters[0]["opened_by_entry_id"], answer["entry"]["id"]);
    assert_eq!(matters[0]["score"], json!(2.5));

    // Removal concludes the case: no more tasks, no more outcomes.
    let pending = id_of(assign_titled(&app, &f, low_case, &f.staff, "学习党章").await).await;
    let res = app
        .authed(
            Method::POST,
            &format!(
                "{matters_path}/{}/disposition",
                matters[0]["id"].as_str().unwrap()
            ),
            &f.committee,
        )
        .header("If-Match", "\"1\"")
        .json(&json!({ "disposition": "removal", "note": "经教育仍无转变，予以除名" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let res = assign_titled(&app, &f, low_case, &f.staff, "再学习").await;
    assert_eq!(problem(res, 409).await["code"], "case_concluded");
    let res = outcome(&app, &f, pending, &f.staff, Some("late"), "completed").await;
    assert_eq!(problem(res, 409).await["code"], "case_concluded");
    assert_eq!(entries_from(&app, pending).await, 0);
}

/// A member's objection to `entry`, through `/me`.
async fn object(app: &TestApp, token: &str, entry: &Value, reason: &str) -> Response {
    let body = json!({ "entry_id": entry, "reason": reason });
    post_json(app, "/api/v1/me/objections", token, &[], &body).await
}

/// A decision `body` on `objection` through `town`'s route, with If-Match and key if any.
async fn decide(
    app: &TestApp,
    town: Uuid,
    objection: &Value,
    token: &str,
    if_match: Option<&str>,
    key: Option<&str>,
    body: &Value,
) -> Response {
    let objection = objection.as_str().unwrap();
    let path = format!("/api/v1/towns/{town}/objections/{objection}/decision");
    let headers = [("If-Match", if_match), ("Idempotency-Key", key)];
    post_json(app, &path, token, &headers, body).await
}

/// The committee's decision `body` on objection `id` in the fixture's town, at `etag`, under `key`.
async fn committee_decides(
    app: &TestApp,
    f: &Fixture,
    id: &Value,
    etag: &str,
    key: &str,
    body: &Value,
) -> Response {
    decide(app, f.town, id, &f.committee, Some(etag), Some(key), body).await
}

#[tokio::test]
async fn a_member_objects_and_the_committee_upholds_or_rejects() {
    let app = TestApp::spawn().await;
    let f = fixture(&app, "T6").await;
    let t1 = new_task(&app, &f, "任务一").await;
    let t2 = new_task(&app, &f, "任务二").await;
    let wrong = record(&app, &f, t1, "not_completed").await["entry"]["id"].clone();
    let fair = record(&app, &f, t2, "not_completed").await["entry"]["id"].clone();
    assert_eq!(case_of(&app, &f, f.case).await["score"], json!(4));

    // Another member of the town, with a case of their own.
    let other_member = another_member(&app, &f, "西村党支部", "王五", 3).await;
    let other_token = app.member_token(f.town, other_member);
    problem(object(&app, &other_token, &wrong, "不是我的").await, 404).await;
    // Another town's member with the same member id cannot reach it either.
    let other_town = uuid(&app.create_town("T6X").await["id"]);
    let stranger = app.member_token(other_town, f.member);
    problem(object(&app, &stranger, &wrong, "跨镇").await, 404).await;
    // Roles: only members object.
    for role in [Role::Staff, Role::Committee, Role::County, Role::Admin] {
        let token = app.token(role, Some(f.town));
        problem(object(&app, &token, &wrong, "x").await, 403).await;
    }
    problem(object(&app, &f.member_token, &wrong, "  ").await, 422).await;
    let res = object(&app, &f.member_token, &json!(Uuid::now_v7()), "不存在").await;
    problem(res, 404).await;

    let res = object(
        &app,
        &f.member_token,
        &wrong,
        "当天我已完成任务，有照片为证",
    )
    .await;
    assert_eq!(res.status(), 201);
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    let objection: Value = res.json().await.unwrap();
    assert_eq!(objection["status"], "open");
    assert_eq!(uuid(&objection["member_id"]), f.member);
    assert_eq!(
        location,
        format!(
            "/api/v1/me/objections/{}",
            objection["id"].as_str().unwrap()
        )
    );
    let mine = get_json(&app, &location, &f.member_token).await;
    assert_eq!(mine, objection);
    problem(get(&app, &location, &other_token).await, 404).await;
    let res = object(&app, &f.member_token, &wrong, "再提一次").await;
    assert_eq!(problem(res, 409).await["code"], "objection_exists");
    let rejected = object(&app, &f.member_token, &fair, "我不同意")
        .await
        .json::<Value>()
        .await
        .unwrap();

    // The committee's list, staff reads too; county, member and admin do not.
    let list = format!("/api/v1/towns/{}/objections", f.town);
    for token in [&f.committee, &f.staff] {
        let page = get_json(&app, &format!("{list}?status=open"), token).await;
        assert_eq!(page["items"].as_array().unwrap().len(), 2);
        assert_eq!(page["items"][0]["id"], objection["id"]);
    }
    for role in [Role::County, Role::Member, Role::Admin] {
        let token = app.token(role, Some(f.town));
        problem(get(&app, &list, &token).await, 403).await;
    }
    let other_committee = app.token(Role::Committee, Some(other_town));
    problem(get(&app, &list, &other_committee).await, 404).await;

    // Deciding: committee only, If-Match and Idempotency-Key required.
    let upheld = json!({ "decision": "upheld", "reason": "有照片为证，任务已完成" });
    let id = &objection["id"];
    let res = decide(
        &app,
        f.town,
        id,
        &f.staff,
        Some("\"1\""),
        Some("d0"),
        &upheld,
    )
    .await;
    problem(res, 403).await;
    let res = decide(&app, f.town, id, &f.committee, None, Some("d1"), &upheld).await;
    problem(res, 428).await;
    let res = decide(&app, f.town, id, &f.committee, Some("\"1\""), None, &upheld).await;
    assert_eq!(problem(res, 400).await["code"], "idempotency_key_required");
    let res = committee_decides(&app, &f, id, "\"7\"", "d2", &upheld).await;
    problem(res, 412).await;
    let res = decide(
        &app,
        other_town,
        id,
        &other_committee,
        Some("\"1\""),
        Some("d3"),
        &upheld,
    )
    .await;
    problem(res, 404).await;

    let res = committee_decides(&app, &f, id, "\"1\"", "d4", &upheld).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["etag"], "\"2\"");
    let decided: Value = res.json().await.unwrap();
    assert_eq!(decided["objection"]["status"], "upheld");
    assert_eq!(
        decided["objection"]["reversal_entry_id"],
        decided["entry"]["id"]
    );
    assert_eq!(decided["entry"]["kind"], "reversal");
    assert_eq!(decided["entry"]["reverses_entry_id"], wrong);
    assert_eq!(decided["entry"]["points"], json!(0.5));
    assert_eq!(decided["entry"]["source_type"], "objection");
    assert_eq!(decided["entry"]["source_id"], objection["id"]);
    assert_eq!(decided["case_status"], "active");
    assert_eq!(
        case_of(&app, &f, f.case).await["score"],
        json!(4.5),
        "the -0.5 is undone"
    );
    // The same key replays; deciding again is a 409.
    let res = committee_decides(&app, &f, id, "\"1\"", "d4", &upheld).await;
    assert_eq!(res.json::<Value>().await.unwrap(), decided);
    let change = json!({ "decision": "rejected", "reason": "改判" });
    let res = committee_decides(&app, &f, id, "\"2\"", "d5", &change).await;
    assert_eq!(problem(res, 409).await["code"], "objection_decided");
    assert_eq!(entries_from(&app, uuid(id)).await, 1);
    let err = sqlx::query(
        "UPDATE objections SET status = 'rejected', reversal_entry_id = NULL WHERE id = $1",
    )
    .bind(uuid(id))
    .execute(&app.pool)
    .await
    .unwrap_err();
    assert_eq!(
        err.as_database_error().unwrap().constraint(),
        Some("objections_decided_once")
    );
    let res = sqlx::query("DELETE FROM objections WHERE id = $1")
        .bind(uuid(id))
        .execute(&app.pool)
        .await;
    assert!(res.is_err(), "objections are never deleted");

    // Rejected: nothing else changes.
    let reject = json!({ "decision": "rejected", "reason": "确未按期完成" });
    let res = committee_decides(&app, &f, &rejected["id"], "\"1\"", "d6", &reject).await;
    assert_eq!(res.status(), 200);
    let decided: Value = res.json().await.unwrap();
    assert_eq!(decided["objection"]["status"], "rejected");
    assert!(decided["entry"].is_null());
    assert!(decided["objection"]["reversal_entry_id"].is_null());
    assert_eq!(case_of(&app, &f, f.case).await["score"], json!(4.5));
    let actions: Vec<String> = sqlx::query_scalar(
        "SELECT action FROM audit_log WHERE resource_type = 'objection' ORDER BY id",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        actions,
        [
            "objection.lodged",
            "objection.lodged",
            "objection.upheld",
            "objection.rejected"
        ]
    );

    // Filters and the member's own list.
    let page = get_json(&app, &format!("{list}?status=upheld"), &f.committee).await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    assert_eq!(page["items"][0]["id"], objection["id"]);
    let page = get_json(&app, &format!("{list}?status=open"), &f.committee).await;
    assert_eq!(page["items"], json!([]));
    let one = get_json(
        &app,
        &format!("{list}/{}", objection["id"].as_str().unwrap()),
        &f.staff,
    )
    .await;
    assert_eq!(one["status"], "upheld");
    let mine = get_json(&app, "/api/v1/me/objections", &f.member_token).await;
    assert_eq!(mine["items"].as_array().unwrap().len(), 2);
    let theirs = get_json(&app, "/api/v1/me/objections", &other_token).await;
    assert_eq!(theirs["items"], json!([]));

    // A reversal takes no objection.
    let reversal = &decided_entry(&app, &f).await;
    let res = object(&app, &f.member_token, reversal, "冲销也不对").await;
    assert_eq!(problem(res, 409).await["code"], "cannot_object_to_reversal");
}

/// The newest reversal entry of the fixture's case.
async fn decided_entry(app: &TestApp, f: &Fixture) -> Value {
    let id: Uuid = sqlx::query_scalar(
        "SELECT id FROM ledger_entries WHERE case_id = $1 AND kind = 'reversal' ORDER BY seq DESC LIMIT 1",
    )
    .bind(f.case)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    json!(id)
}

#[tokio::test]
async fn an_entry_reversed_meanwhile_leaves_the_objection_open() {
    let app = TestApp::spawn().await;
    let f = fixture(&app, "T7").await;
    let task = new_task(&app, &f, "任务").await;
    let entry = record(&app, &f, task, "not_completed").await["entry"]["id"].clone();
    let objection = object(&app, &f.member_token, &entry, "我完成了")
        .await
        .json::<Value>()
        .await
        .unwrap();
    // The committee reverses the entry through an adjustment first.
    assert_eq!(reverse(&app, &f, "rev-1", &entry).await.status(), 201);
    let uphold = json!({ "decision": "upheld", "reason": "属实" });
    let res = committee_decides(&app, &f, &objection["id"], "\"1\"", "d1", &uphold).await;
    assert_eq!(problem(res, 409).await["code"], "already_reversed");
    let still = get_json(
        &app,
        &format!(
            "/api/v1/towns/{}/objections/{}",
            f.town,
            objection["id"].as_str().unwrap()
        ),
        &f.committee,
    )
    .await;
    assert_eq!(still["status"], "open");
    assert_eq!(still["version"], 1);
    assert_eq!(case_of(&app, &f, f.case).await["score"], json!(5));
    // A new objection to an entry reversed already is refused at once.
    let t2 = new_task(&app, &f, "任务二").await;
    let e2 = record(&app, &f, t2, "not_completed").await["entry"]["id"].clone();
    assert_eq!(reverse(&app, &f, "rev-2", &e2).await.status(), 201);
    let res = object(&app, &f.member_token, &e2, "也不对").await;
    assert_eq!(problem(res, 409).await["code"], "already_reversed");
}

#[tokio::test]
async fn no_objection_after_the_period() {
    let app = TestApp::spawn().await;
    let f = fixture(&app, "T8").await;
    let res = app
        .authed(
            Method::PATCH,
            &format!("/api/v1/towns/{}/policy", f.town),
            &f.committee,
        )
        .header("If-Match", "\"1\"")
        .json(&json!({ "objection_period_working_days": 0 }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let task = new_task(&app, &f, "任务").await;
    let entry = record(&app, &f, task, "not_completed").await["entry"].clone();
    assert_eq!(entry["policy_version"], 2);
    let res = object(&app, &f.member_token, &entry["id"], "不同意").await;
    assert_eq!(problem(res, 409).await["code"], "objection_period_over");
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM objections")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(count, 0);
}

#[tokio::test]
async fn a_member_sees_their_own_case_ledger_and_tasks() {
    let app = TestApp::spawn().await;
    let f = fixture(&app, "T9").await;
    let t1 = new_task(&app, &f, "任务一").await;
    new_task(&app, &f, "任务二").await;
    let recorded = record(&app, &f, t1, "completed").await;

    let case = get_json(&app, "/api/v1/me/case", &f.member_token).await;
    assert_eq!(uuid(&case["id"]), f.case);
    assert_eq!(case["score"], json!(5.5));
    let ledger = get_json(&app, "/api/v1/me/ledger", &f.member_token).await;
    assert_eq!(ledger["items"].as_array().unwrap().len(), 1);
    assert_eq!(ledger["items"][0]["id"], recorded["entry"]["id"]);
    let tasks = get_json(&app, "/api/v1/me/tasks", &f.member_token).await;
    let items = tasks["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(uuid(&items[0]["id"]), t1);
    assert_eq!(items[0]["outcome"], "completed");
    assert!(items[1]["outcome"].is_null());
    let page = get_json(&app, "/api/v1/me/tasks?limit=1", &f.member_token).await;
    assert!(page["next_cursor"].is_string());

    // A member without a case, and a token naming no member at all.
    let plain = another_member(&app, &f, "南村党支部", "赵六", 4).await;
    for token in [
        app.member_token(f.town, plain),
        app.token(Role::Member, Some(f.town)),
    ] {
        // Told apart from a wrong URL: `no_case`, not `not_found`.
        for path in ["/api/v1/me/case", "/api/v1/me/ledger", "/api/v1/me/tasks"] {
            let body = problem(get(&app, path, &token).await, 404).await;
            assert_eq!(body["code"], "no_case", "{path}: {body}");
        }
        let mine = get_json(&app, "/api/v1/me/objections", &token).await;
        assert_eq!(mine["items"], json!([]));
    }
    // The same member id in another town's token sees nothing of this town.
    let other = uuid(&app.create_town("T9X").await["id"]);
    let stranger = app.member_token(other, f.member);
    problem(get(&app, "/api/v1/me/case", &stranger).await, 404).await;
    // Only members.
    for role in [Role::Staff, Role::Committee, Role::County, Role::Admin] {
        let token = app.token(role, Some(f.town));
        for path in [
            "/api/v1/me/case",
            "/api/v1/me/ledger",
            "/api/v1/me/tasks",
            "/api/v1/me/objections",
        ] {
            problem(get(&app, path, &token).await, 403).await;
        }
    }
    // Members do not read the town's routes.
    for path in [
        format!("/api/v1/towns/{}/cases/{}/tasks", f.town, f.case),
        format!("/api/v1/towns/{}/tasks/{t1}", f.town),
        format!("/api/v1/towns/{}/objections", f.town),
    ] {
        problem(get(&app, &path, &f.member_token).await, 403).await;
    }
}
