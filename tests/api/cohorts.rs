//! Training cohorts: selection within the policy's bounds, confirmation, placements that
//! never overlap, the roster (JSON and CSV) and a member's own training.

use party_center::auth::Role;
use reqwest::{Method, Response};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{TestApp, error_fields, insert_branch, insert_member, problem, uuid};

/// A town with a village branch, and its committee's token.
pub struct Town {
    pub id: Uuid,
    pub village: Uuid,
    pub committee: String,
}

pub async fn town(app: &TestApp, code: &str) -> Town {
    let id = uuid(&app.create_town(code).await["id"]);
    let village = insert_branch(app, id, "新村党支部").await;
    Town {
        id,
        village,
        committee: app.token(Role::Committee, Some(id)),
    }
}

/// A member of the village branch flagged as an outstanding young member.
pub async fn young_member(app: &TestApp, town: &Town, n: u32) -> Uuid {
    let id = insert_member(app, town.id, town.village, &format!("学员{n}"), n).await;
    sqlx::query("UPDATE members SET outstanding_young = true WHERE town_id = $1 AND id = $2")
        .bind(town.id)
        .bind(id)
        .execute(&app.pool)
        .await
        .unwrap();
    id
}

pub async fn create_cohort(app: &TestApp, town: &Town) -> Value {
    let res = app
        .authed(
            Method::POST,
            &format!("/api/v1/towns/{}/cohorts", town.id),
            &town.committee,
        )
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201, "creating a cohort");
    res.json().await.unwrap()
}

pub async fn add_trainee(app: &TestApp, town: &Town, cohort: Uuid, member: Uuid) -> Response {
    app.authed(
        Method::POST,
        &format!("/api/v1/towns/{}/cohorts/{cohort}/trainees", town.id),
        &town.committee,
    )
    .json(&json!({ "member_id": member }))
    .send()
    .await
    .unwrap()
}

/// A cohort of this year with `n` trainees; returns it (as read after) and the trainees.
pub async fn cohort_with(app: &TestApp, town: &Town, n: u32) -> (Value, Vec<Uuid>) {
    let cohort = create_cohort(app, town).await;
    let id = uuid(&cohort["id"]);
    let mut trainees = Vec::new();
    for i in 0..n {
        let m = young_member(app, town, 100 + i).await;
        assert_eq!(add_trainee(app, town, id, m).await.status(), 201);
        trainees.push(m);
    }
    (get_cohort(app, town, id).await, trainees)
}

async fn get_cohort(app: &TestApp, town: &Town, id: Uuid) -> Value {
    app.authed(
        Method::GET,
        &format!("/api/v1/towns/{}/cohorts/{id}", town.id),
        &town.committee,
    )
    .send()
    .await
    .unwrap()
    .json()
    .await
    .unwrap()
}

async fn confirm(app: &TestApp, town: &Town, cohort: &Value, token: &str) -> Response {
    app.authed(
        Method::POST,
        &format!(
            "/api/v1/towns/{}/cohorts/{}/confirm",
            town.id,
            uuid(&cohort["id"])
        ),
        token,
    )
    .header("If-Match", format!("\"{}\"", cohort["version"]))
    .send()
    .await
    .unwrap()
}

async fn place(
    app: &TestApp,
    town: &Town,
    cohort: Uuid,
    member: Uuid,
    token: &str,
    body: Value,
) -> Response {
    app.authed(
        Method::POST,
        &format!(
            "/api/v1/towns/{}/cohorts/{cohort}/trainees/{member}/placements",
            town.id
        ),
        token,
    )
    .json(&body)
    .send()
    .await
    .unwrap()
}

#[tokio::test]
async fn a_cohort_holds_at_most_fifteen_and_the_sixteenth_writes_nothing() {
    let app = TestApp::spawn().await;
    let t = town(&app, "C1").await;
    let (cohort, _) = cohort_with(&app, &t, 15).await;
    assert_eq!(cohort["trainee_count"], 15);
    assert_eq!(cohort["min_size"], 10);
    assert_eq!(cohort["max_size"], 15);
    let id = uuid(&cohort["id"]);

    let sixteenth = young_member(&app, &t, 99).await;
    let body = problem(add_trainee(&app, &t, id, sixteenth).await, 409).await;
    assert_eq!(body["code"], "cohort_full");
    let (rows, audits): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM cohort_trainees WHERE cohort_id = $1),
                (SELECT count(*) FROM audit_log WHERE resource_id = $1 AND action = 'cohort.trainee_added')",
    )
    .bind(id)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!((rows, audits), (15, 15));
    assert_eq!(get_cohort(&app, &t, id).await["trainee_count"], 15);

    // Even written straight to the database, the sixteenth is refused.
    let err = sqlx::query(
        "INSERT INTO cohort_trainees (town_id, cohort_id, member_id, year, eligible_as, added_by)
         VALUES ($1, $2, $3, $4, 'outstanding_young', 'sql')",
    )
    .bind(t.id)
    .bind(id)
    .bind(sixteenth)
    .bind(cohort["year"].as_i64().unwrap() as i32)
    .execute(&app.pool)
    .await
    .unwrap_err();
    assert!(err.to_string().contains("cohorts_not_over_max"), "{err}");

    // One cohort a year.
    let res = app
        .authed(
            Method::POST,
            &format!("/api/v1/towns/{}/cohorts", t.id),
            &t.committee,
        )
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(problem(res, 409).await["code"], "cohort_exists");
}

#[tokio::test]
async fn concurrent_selections_never_overfill_a_cohort() {
    let app = TestApp::spawn().await;
    let t = town(&app, "C2").await;
    let (cohort, _) = cohort_with(&app, &t, 12).await;
    let id = uuid(&cohort["id"]);
    let mut members = Vec::new();
    for i in 0..8 {
        members.push(young_member(&app, &t, 300 + i).await);
    }
    let results =
        futures_util::future::join_all(members.iter().map(|m| add_trainee(&app, &t, id, *m))).await;
    let created = results.iter().filter(|r| r.status() == 201).count();
    assert_eq!(created, 3);
    for r in results.into_iter().filter(|r| r.status() != 201) {
        assert_eq!(problem(r, 409).await["code"], "cohort_full");
    }
    let count: i64 =
        sqlx::query_scalar("SELECT count(*) FROM cohort_trainees WHERE cohort_id = $1")
            .bind(id)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(count, 15);
}

#[tokio::test]
async fn only_active_young_members_and_reserve_cadres_are_selected() {
    let app = TestApp::spawn().await;
    let t = town(&app, "C3").await;
    let cohort = uuid(&create_cohort(&app, &t).await["id"]);

    let plain = insert_member(&app, t.id, t.village, "普通党员", 1).await;
    let body = problem(add_trainee(&app, &t, cohort, plain).await, 422).await;
    assert_eq!(body["code"], "not_eligible");

    let cadre = insert_member(&app, t.id, t.village, "后备干部", 2).await;
    sqlx::query("UPDATE members SET reserve_cadre = true WHERE id = $1")
        .bind(cadre)
        .execute(&app.pool)
        .await
        .unwrap();
    let res = add_trainee(&app, &t, cohort, cadre).await;
    assert_eq!(res.status(), 201);
    let trainee: Value = res.json().await.unwrap();
    assert_eq!(trainee["eligible_as"], "reserve_cadre");
    assert_eq!(trainee["name"], "后备干部");

    let again = problem(add_trainee(&app, &t, cohort, cadre).await, 409).await;
    assert_eq!(again["code"], "already_a_trainee");

    let gone = young_member(&app, &t, 3).await;
    sqlx::query("UPDATE members SET status = 'transferred_out' WHERE id = $1")
        .bind(gone)
        .execute(&app.pool)
        .await
        .unwrap();
    let body = problem(add_trainee(&app, &t, cohort, gone).await, 409).await;
    assert_eq!(body["code"], "member_not_active");

    let body = problem(add_trainee(&app, &t, cohort, Uuid::now_v7()).await, 422).await;
    assert_eq!(body["errors"][0]["field"], "member_id");
}

#[tokio::test]
async fn confirmation_needs_the_minimum_and_fixes_the_list() {
    let app = TestApp::spawn().await;
    let t = town(&app, "C4").await;
    let (cohort, trainees) = cohort_with(&app, &t, 10).await;
    let id = uuid(&cohort["id"]);

    // Removal before confirmation; nine are too few.
    let res = app
        .authed(
            Method::DELETE,
            &format!(
                "/api/v1/towns/{}/cohorts/{id}/trainees/{}",
                t.id, trainees[0]
            ),
            &t.committee,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    let nine = get_cohort(&app, &t, id).await;
    assert_eq!(nine["trainee_count"], 9);
    let body = problem(confirm(&app, &t, &nine, &t.committee).await, 409).await;
    assert_eq!(body["code"], "cohort_too_small");

    assert_eq!(add_trainee(&app, &t, id, trainees[0]).await.status(), 201);
    // A stale ETag (the count moved the version) and a missing one.
    problem(confirm(&app, &t, &nine, &t.committee).await, 412).await;
    let res = app
        .authed(
            Method::POST,
            &format!("/api/v1/towns/{}/cohorts/{id}/confirm", t.id),
            &t.committee,
        )
        .send()
        .await
        .unwrap();
    problem(res, 428).await;

    let ten = get_cohort(&app, &t, id).await;
    let res = confirm(&app, &t, &ten, &t.committee).await;
    assert_eq!(res.status(), 200);
    let confirmed: Value = res.json().await.unwrap();
    assert_eq!(confirmed["status"], "confirmed");
    assert!(confirmed["confirmed_on"].is_string());

    let late = young_member(&app, &t, 50).await;
    assert_eq!(
        problem(add_trainee(&app, &t, id, late).await, 409).await["code"],
        "cohort_confirmed"
    );
    let res = app
        .authed(
            Method::DELETE,
            &format!(
                "/api/v1/towns/{}/cohorts/{id}/trainees/{}",
                t.id, trainees[1]
            ),
            &t.committee,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(problem(res, 409).await["code"], "cohort_confirmed");
    assert_eq!(
        problem(confirm(&app, &t, &confirmed, &t.committee).await, 409).await["code"],
        "cohort_confirmed"
    );
}

#[tokio::test]
async fn a_trainees_placements_never_overlap() {
    let app = TestApp::spawn().await;
    let t = town(&app, "C5").await;
    let (cohort, trainees) = cohort_with(&app, &t, 1).await;
    let id = uuid(&cohort["id"]);
    let year = cohort["year"].as_i64().unwrap();
    let m = trainees[0];
    let staff = app.token(Role::Staff, Some(t.id));

    let res = place(
        &app,
        &t,
        id,
        m,
        &staff,
        json!({"kind": "temporary_post", "post": "村主任助理", "unit": "新村村委会",
               "starts_on": format!("{year}-03-01"), "ends_on": format!("{year}-03-31")}),
    )
    .await;
    assert_eq!(res.status(), 201);
    let p: Value = res.json().await.unwrap();
    assert_eq!(p["kind"], "temporary_post");
    assert_eq!(p["created_by"], "staff-tester");

    let body = problem(
        place(
            &app,
            &t,
            id,
            m,
            &t.committee,
            json!({"kind": "lecture", "starts_on": format!("{year}-03-31"), "ends_on": format!("{year}-04-02")}),
        )
        .await,
        409,
    )
    .await;
    assert_eq!(body["code"], "placement_overlap");

    let res = place(
        &app,
        &t,
        id,
        m,
        &t.committee,
        json!({"kind": "central_work", "starts_on": format!("{year}-04-01"), "ends_on": format!("{year}-04-30")}),
    )
    .await;
    assert_eq!(res.status(), 201);

    let body = problem(
        place(
            &app,
            &t,
            id,
            m,
            &staff,
            json!({"kind": "temporary_post", "starts_on": format!("{year}-06-01"), "ends_on": format!("{year}-05-01")}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(error_fields(&body), ["post", "unit", "ends_on"]);

    // Not a trainee of this cohort: 404.
    let other = young_member(&app, &t, 7).await;
    problem(
        place(&app, &t, id, other, &staff, json!({"kind": "lecture", "starts_on": format!("{year}-08-01"), "ends_on": format!("{year}-08-01")})).await,
        404,
    )
    .await;

    let list: Value = app
        .authed(
            Method::GET,
            &format!(
                "/api/v1/towns/{}/cohorts/{id}/trainees/{m}/placements",
                t.id
            ),
            &app.token(Role::County, None),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["items"].as_array().unwrap().len(), 2);

    // A trainee with placements stays in the cohort.
    let res = app
        .authed(
            Method::DELETE,
            &format!("/api/v1/towns/{}/cohorts/{id}/trainees/{m}", t.id),
            &t.committee,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(problem(res, 409).await["code"], "trainee_has_placements");

    for role in [Role::County, Role::Member] {
        let token = app.token(role, Some(t.id));
        let res = place(&app, &t, id, m, &token, json!({"kind": "lecture", "starts_on": format!("{year}-09-01"), "ends_on": format!("{year}-09-01")})).await;
        problem(res, 403).await;
    }
    let res = place(&app, &t, id, m, &app.admin(), json!({"kind": "lecture", "starts_on": format!("{year}-09-01"), "ends_on": format!("{year}-09-01")})).await;
    problem(res, 403).await;
}

#[tokio::test]
async fn the_roster_shows_placements_mentor_and_attendance_and_exports_csv() {
    let app = TestApp::spawn().await;
    let t = town(&app, "C6").await;
    let (cohort, trainees) = cohort_with(&app, &t, 2).await;
    let id = uuid(&cohort["id"]);
    let year = cohort["year"].as_i64().unwrap();
    let m = trainees[0];
    let res = place(
        &app,
        &t,
        id,
        m,
        &t.committee,
        json!({"kind": "lecture", "starts_on": format!("{year}-01-01"), "ends_on": format!("{year}-01-01")}),
    )
    .await;
    assert_eq!(res.status(), 201);

    // A mentor of the center branch for the first trainee.
    let center = crate::helpers::center_branch(&app, t.id).await;
    let mentor = insert_member(&app, t.id, center, "王导师", 900).await;
    let res = app
        .authed(
            Method::POST,
            &format!("/api/v1/towns/{}/mentorships", t.id),
            &t.committee,
        )
        .json(&json!({"mentor_id": mentor, "mentor_subject": "staff-wang", "mentee_id": m}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);

    // Two activities of the year with a recorded roll: present at one, absent at the other.
    for (i, status) in ["present", "absent"].iter().enumerate() {
        let activity = Uuid::now_v7();
        sqlx::query(
            "INSERT INTO activities (town_id, id, kind, title, starts_at, place, created_by, roll_recorded_at, roll_recorded_by)
             VALUES ($1, $2, 'lecture', '党课', make_timestamptz($3, 1, 10 + $4, 9, 0, 0, 'Asia/Shanghai'), '中心', 'tests', now(), 'tests')",
        )
        .bind(t.id)
        .bind(activity)
        .bind(year as i32)
        .bind(i as i32)
        .execute(&app.pool)
        .await
        .unwrap();
        sqlx::query("INSERT INTO activity_attendees (town_id, activity_id, member_id, required_as) VALUES ($1, $2, $3, 'trainee')")
            .bind(t.id)
            .bind(activity)
            .bind(m)
            .execute(&app.pool)
            .await
            .unwrap();
        sqlx::query(
            "INSERT INTO attendance_records (town_id, id, activity_id, member_id, status, recorded_by, recorded_role)
             VALUES ($1, $2, $3, $4, $5, 'tests', 'staff')",
        )
        .bind(t.id)
        .bind(Uuid::now_v7())
        .bind(activity)
        .bind(m)
        .bind(*status)
        .execute(&app.pool)
        .await
        .unwrap();
    }

    let url = format!("/api/v1/towns/{}/cohorts/{id}/roster", t.id);
    let roster: Value = app
        .authed(Method::GET, &url, &app.token(Role::Staff, Some(t.id)))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let entries = roster["trainees"].as_array().unwrap();
    assert_eq!(entries.len(), 2);
    let first = entries.iter().find(|e| uuid(&e["member_id"]) == m).unwrap();
    assert_eq!(first["placements"].as_array().unwrap().len(), 1);
    assert_eq!(first["mentor"]["mentor_name"], "王导师");
    assert_eq!(first["attendance_required"], 2);
    assert_eq!(first["attendance_present"], 1);
    assert_eq!(first["attendance_rate"], 0.5);
    assert_eq!(first["attendance_excused"], 0);
    assert_eq!(first["attendance_rate_without_excused"], 0.5);
    let second = entries.iter().find(|e| uuid(&e["member_id"]) != m).unwrap();
    assert!(second["mentor"].is_null());
    assert!(second["attendance_rate"].is_null());

    let res = app
        .authed(Method::GET, &format!("{url}?format=csv"), &t.committee)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "text/csv; charset=utf-8");
    let bytes = res.bytes().await.unwrap();
    let text = std::str::from_utf8(&bytes).unwrap();
    let text = text.strip_prefix('\u{feff}').expect("a UTF-8 BOM");
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let headings: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_owned)
        .collect();
    assert_eq!(
        headings,
        [
            "姓名",
            "党员编号",
            "村（社区）",
            "入选条件",
            "培养安排",
            "结对导师",
            "出勤次数/应出勤次数",
            "出勤率（请假计为未出勤）",
            "出勤率（不含请假）"
        ]
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 2);
    let row = rows.iter().find(|r| r[1] == m.to_string()).unwrap();
    assert_eq!(&row[3], "优秀青年党员");
    assert_eq!(&row[4], format!("上党课 {year}-01-01至{year}-01-01"));
    assert_eq!(&row[5], "王导师");
    assert_eq!(&row[6], "1/2");
    assert_eq!(&row[7], "50.0%");
    assert_eq!(
        &row[8], "50.0%",
        "absent, not excused: the same without excused leave"
    );

    let res = app
        .authed(Method::GET, &format!("{url}?format=pdf"), &t.committee)
        .send()
        .await
        .unwrap();
    problem(res, 400).await;
}

#[tokio::test]
async fn the_role_matrix_and_other_towns() {
    let app = TestApp::spawn().await;
    let t = town(&app, "C7").await;
    let other = town(&app, "C8").await;
    let (cohort, trainees) = cohort_with(&app, &t, 1).await;
    let id = uuid(&cohort["id"]);
    let base = format!("/api/v1/towns/{}/cohorts", t.id);
    let reads = [
        base.clone(),
        format!("{base}/{id}"),
        format!("{base}/{id}/trainees"),
        format!("{base}/{id}/roster"),
        format!("{base}/{id}/trainees/{}/placements", trainees[0]),
    ];
    let mut n = 500;
    for (role, status) in [
        (Role::Staff, 200),
        (Role::Committee, 200),
        (Role::County, 200),
        (Role::Member, 403),
        (Role::Admin, 403),
    ] {
        let token = app.token(
            role,
            (role != Role::Admin && role != Role::County).then_some(t.id),
        );
        for url in &reads {
            let res = app.authed(Method::GET, url, &token).send().await.unwrap();
            assert_eq!(res.status().as_u16(), status, "{role:?} GET {url}");
            if status == 200 && url.ends_with("/placements") {
                // A list like every other: {items, next_cursor}.
                let page: serde_json::Value = res.json().await.unwrap();
                assert!(page["items"].is_array(), "{page}");
                assert!(page["next_cursor"].is_null(), "{page}");
            }
        }
        if role != Role::Committee {
            let res = app
                .authed(Method::POST, &base, &token)
                .json(&json!({}))
                .send()
                .await
                .unwrap();
            problem(res, 403).await;
            n += 1;
            let m = young_member(&app, &t, n).await;
            let res = app
                .authed(Method::POST, &format!("{base}/{id}/trainees"), &token)
                .json(&json!({"member_id": m}))
                .send()
                .await
                .unwrap();
            problem(res, 403).await;
            let res = app
                .authed(Method::POST, &format!("{base}/{id}/confirm"), &token)
                .header("If-Match", "*")
                .send()
                .await
                .unwrap();
            problem(res, 403).await;
            let res = app
                .authed(Method::POST, &format!("{base}/{id}/close"), &token)
                .header("If-Match", "*")
                .json(&json!({"reason": "x"}))
                .send()
                .await
                .unwrap();
            problem(res, 403).await;
        }
    }

    let page: Value = app
        .authed(
            Method::GET,
            &format!("{base}?year={}", cohort["year"]),
            &t.committee,
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    let res = app
        .authed(Method::GET, &format!("{base}?year=1999"), &t.committee)
        .send()
        .await
        .unwrap();
    problem(res, 400).await;

    // Another town's committee: its own town's path hides the cohort, ours is not its own.
    for url in [
        format!("/api/v1/towns/{}/cohorts/{id}", other.id),
        format!("/api/v1/towns/{}/cohorts/{id}/roster", other.id),
        format!("{base}/{id}"),
    ] {
        let res = app
            .authed(Method::GET, &url, &other.committee)
            .send()
            .await
            .unwrap();
        problem(res, 404).await;
    }
    let m = young_member(&app, &other, 600).await;
    problem(add_trainee(&app, &other, id, m).await, 404).await;
    // A member of another town cannot be selected here.
    let body = problem(add_trainee(&app, &t, id, m).await, 422).await;
    assert_eq!(body["errors"][0]["code"], "unknown_member");
}

#[tokio::test]
async fn a_member_sees_their_own_training() {
    let app = TestApp::spawn().await;
    let t = town(&app, "C9").await;
    let (cohort, trainees) = cohort_with(&app, &t, 1).await;
    let id = uuid(&cohort["id"]);
    let year = cohort["year"].as_i64().unwrap();
    let m = trainees[0];
    let res = place(
        &app,
        &t,
        id,
        m,
        &t.committee,
        json!({"kind": "central_work", "note": "防汛", "starts_on": format!("{year}-01-01"), "ends_on": format!("{year}-01-05")}),
    )
    .await;
    assert_eq!(res.status(), 201);

    let mine: Value = app
        .authed(
            Method::GET,
            "/api/v1/me/training",
            &app.member_token(t.id, m),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(mine["cohorts"][0]["year"], year);
    assert_eq!(mine["cohorts"][0]["placements"][0]["note"], "防汛");
    assert!(mine["mentor"].is_null());

    let stranger = young_member(&app, &t, 77).await;
    let theirs: Value = app
        .authed(
            Method::GET,
            "/api/v1/me/training",
            &app.member_token(t.id, stranger),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(theirs["cohorts"], json!([]));

    // A token naming no member of the town.
    let res = app
        .authed(
            Method::GET,
            "/api/v1/me/training",
            &app.member_token(t.id, Uuid::now_v7()),
        )
        .send()
        .await
        .unwrap();
    problem(res, 404).await;

    for role in [Role::Staff, Role::Committee, Role::County, Role::Admin] {
        let res = app
            .authed(
                Method::GET,
                "/api/v1/me/training",
                &app.token(role, Some(t.id)),
            )
            .send()
            .await
            .unwrap();
        problem(res, 403).await;
    }
}
