//! Members: registration, masking and audited reveals, search and filters, changes, import,
//! `/me` and the audit trail.

use party_center::auth::{KeyStore, MintRequest, Role};
use reqwest::{Method, Response};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::fixtures::{Setup, setup};
use crate::helpers::{TestApp, center_branch, error_fields, national_id, problem, uuid};

/// A GET of `path` with `token`.
async fn get(app: &TestApp, path: &str, token: &str) -> Response {
    app.authed(Method::GET, path, token).send().await.unwrap()
}

/// The JSON body of a GET of `path` with `token`, whatever its status.
async fn get_body(app: &TestApp, path: &str, token: &str) -> Value {
    get(app, path, token).await.json().await.unwrap()
}

/// A POST of `body` as JSON to `path` with `token`.
async fn post_json(app: &TestApp, path: &str, token: &str, body: &Value) -> Response {
    app.authed(Method::POST, path, token)
        .json(body)
        .send()
        .await
        .unwrap()
}

/// A registration body for `name` with national ID number `n` in `branch`.
fn member_body(name: &str, n: u32, branch: Uuid) -> Value {
    json!({ "name": name, "national_id": national_id(n), "branch_id": branch })
}

/// Registers a member from `body` as staff.
async fn register(app: &TestApp, t: &Setup, body: Value) -> Response {
    let path = format!("/api/v1/towns/{}/members", t.town);
    post_json(app, &path, &t.staff, &body).await
}

/// Registers a member from `body` as staff and returns the answer's body.
async fn registered(app: &TestApp, t: &Setup, body: Value) -> Value {
    register(app, t, body).await.json().await.unwrap()
}

/// The staff's page of the town's members matching `query`, whatever its status.
async fn list_members(app: &TestApp, t: &Setup, query: &str) -> Value {
    let path = format!("/api/v1/towns/{}/members?{query}", t.town);
    get_body(app, &path, &t.staff).await
}

#[tokio::test]
async fn staff_register_a_member_whose_numbers_are_masked() {
    let app = TestApp::spawn().await;
    let t = setup(&app, "M1").await;
    let mut body = member_body("张建国", 1, t.village);
    body["phone"] = json!("13812345678");
    body["reserve_cadre"] = json!(true);
    let res = register(&app, &t, body).await;
    assert_eq!(res.status(), 201);
    let m: Value = res.json().await.unwrap();
    let full = national_id(1);
    assert_eq!(
        m["national_id"],
        format!("{}**********{}", &full[..4], &full[14..])
    );
    assert_eq!(m["phone"], "138****5678");
    assert_eq!(m["revealed"], false);
    assert_eq!(m["birth_date"], "1981-02-02");
    assert_eq!(uuid(&m["branch_id"]), t.village);
    assert_eq!(m["status"], "active");

    let (kind, to): (String, Uuid) =
        sqlx::query_as("SELECT kind, to_branch_id FROM transfers WHERE member_id = $1")
            .bind(uuid(&m["id"]))
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(
        (kind.as_str(), to),
        ("registration", t.village),
        "the first transfer puts them there"
    );
}

#[tokio::test]
async fn bad_and_duplicate_members_are_refused_and_nothing_is_written() {
    let app = TestApp::spawn().await;
    let t = setup(&app, "M2").await;
    let mut bad = member_body("李四", 2, t.village);
    let id = national_id(2);
    let wrong_check = if id.ends_with('0') {
        format!("{}1", &id[..17])
    } else {
        format!("{}0", &id[..17])
    };
    bad["national_id"] = json!(wrong_check);
    bad["joined_party_on"] = json!("2999-01-01");
    bad["phone"] = json!("12345");
    let body = problem(register(&app, &t, bad).await, 422).await;
    assert_eq!(
        error_fields(&body),
        ["national_id", "phone", "joined_party_on"]
    );

    let other_town = uuid(&app.create_town("M3").await["id"]);
    let foreign_branch = center_branch(&app, other_town).await;
    let body = problem(
        register(&app, &t, member_body("王五", 3, foreign_branch)).await,
        422,
    )
    .await;
    assert_eq!(body["errors"][0]["field"], "branch_id");

    assert_eq!(
        register(&app, &t, member_body("赵六", 4, t.village))
            .await
            .status(),
        201
    );
    let body = problem(
        register(&app, &t, member_body("赵六二", 4, t.village)).await,
        409,
    )
    .await;
    assert_eq!(body["code"], "national_id_taken");
    assert_eq!(member_count(&app).await, 1);
}

#[tokio::test]
async fn only_the_committee_reveals_numbers_and_every_reveal_is_audited() {
    let app = TestApp::spawn().await;
    let t = setup(&app, "M4").await;
    let mut body = member_body("张建国", 5, t.village);
    body["phone"] = json!("13812345678");
    let id = registered(&app, &t, body).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/api/v1/towns/{}/members/{id}?reveal=true", t.town);
    let res = get(&app, &path, &t.committee).await;
    assert_eq!(res.status(), 200);
    let m: Value = res.json().await.unwrap();
    assert_eq!(m["national_id"], national_id(5));
    assert_eq!(m["phone"], "13812345678");
    assert_eq!(m["revealed"], true);
    for token in [&t.staff, &app.token(Role::County, None)] {
        problem(get(&app, &path, token).await, 403).await;
    }
    let audit: Vec<(String, String)> = sqlx::query_as(
        "SELECT action, data::text FROM audit_log WHERE resource_id = $1 AND action = 'member.revealed'",
    )
    .bind(id.parse::<Uuid>().unwrap())
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(audit.len(), 1);
    assert!(
        !audit[0].1.contains(&national_id(5)),
        "the trail never holds the number itself"
    );
}

#[tokio::test]
async fn members_are_found_by_any_part_of_their_name_and_by_filters() {
    let app = TestApp::spawn().await;
    let t = setup(&app, "M5").await;
    let center = center_branch(&app, t.town).await;
    for (i, name) in ["张建国", "李建国", "张伟", "王芳"].iter().enumerate() {
        let branch = if i == 3 { center } else { t.village };
        let mut body = member_body(name, 10 + i as u32, branch);
        body["reserve_cadre"] = json!(i == 2);
        body["village"] = json!(if i < 2 { "新村" } else { "老村" });
        assert_eq!(register(&app, &t, body).await.status(), 201);
    }
    let names = async |query: &str| {
        let page = list_members(&app, &t, query).await;
        let mut names: Vec<String> = page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["name"].as_str().unwrap().to_owned())
            .collect();
        names.sort();
        names
    };
    assert_eq!(names("q=建国").await, ["张建国", "李建国"]);
    assert_eq!(names("q=张").await, ["张伟", "张建国"]);
    assert_eq!(names("q=国").await, ["张建国", "李建国"]);
    assert_eq!(names("q=张建国").await, ["张建国"]);
    assert!(names("q=建张").await.is_empty());
    assert_eq!(names("reserve_cadre=true").await, ["张伟"]);
    assert_eq!(names("village=新村").await, ["张建国", "李建国"]);
    assert_eq!(names("q=张&village=老村").await, ["张伟"]);
    let center_only = format!("branch_id={center}");
    let page = list_members(&app, &t, &center_only).await;
    assert_eq!(page["items"][0]["name"], "王芳");
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_change_needs_the_etag_and_never_moves_the_branch() {
    let app = TestApp::spawn().await;
    let t = setup(&app, "M6").await;
    let m = registered(&app, &t, member_body("张建国", 20, t.village)).await;
    let path = format!(
        "/api/v1/towns/{}/members/{}",
        t.town,
        m["id"].as_str().unwrap()
    );
    let patch = |etag: &'static str, body: Value| {
        app.authed(Method::PATCH, &path, &t.staff)
            .header("if-match", etag)
            .json(&body)
            .send()
    };
    let res = patch(
        "\"1\"",
        json!({"village": "新村", "outstanding_young": true}),
    )
    .await
    .unwrap();
    assert_eq!(res.status(), 200);
    let changed: Value = res.json().await.unwrap();
    assert_eq!(changed["village"], "新村");
    assert_eq!(changed["outstanding_young"], true);
    let res = patch("\"1\"", json!({"village": "老村"})).await.unwrap();
    problem(res, 412).await;
    let res = patch("\"2\"", json!({"branch_id": Uuid::now_v7()}))
        .await
        .unwrap();
    assert_eq!(
        problem(res, 422).await["errors"][0]["code"],
        "unknown_field"
    );
    let moved = sqlx::query("UPDATE members SET branch_id = $1 WHERE id = $2")
        .bind(center_branch(&app, t.town).await)
        .bind(uuid(&m["id"]))
        .execute(&app.pool)
        .await;
    assert!(
        moved.is_err(),
        "the database refuses a branch change without a transfer"
    );
}

#[tokio::test]
async fn roles_see_only_what_they_may() {
    let app = TestApp::spawn().await;
    let t = setup(&app, "M7").await;
    let other = setup(&app, "M8").await;
    let m = registered(&app, &t, member_body("张建国", 30, t.village)).await;
    let list = format!("/api/v1/towns/{}/members", t.town);
    let one = format!("{list}/{}", m["id"].as_str().unwrap());
    let county = app.token(Role::County, None);
    assert_eq!(get(&app, &list, &county).await.status(), 200);
    assert_eq!(get(&app, &one, &county).await.status(), 200);
    let res = post_json(&app, &list, &county, &member_body("x", 31, t.village)).await;
    problem(res, 403).await;
    for token in [app.token(Role::Member, Some(t.town)), app.admin()] {
        problem(get(&app, &list, &token).await, 403).await;
        problem(get(&app, &one, &token).await, 403).await;
    }
    for path in [&list, &one] {
        problem(get(&app, path, &other.staff).await, 404).await;
    }
}

#[tokio::test]
async fn a_member_reads_their_own_record_through_me() {
    let app = TestApp::spawn().await;
    let t = setup(&app, "M9").await;
    let m = registered(&app, &t, member_body("张建国", 40, t.village)).await;
    let token = |member_id: Uuid| {
        app.keys
            .mint(&MintRequest {
                role: Role::Member,
                sub: "member-app".into(),
                town: Some(t.town),
                county: None,
                member_id: Some(member_id),
                ttl: std::time::Duration::from_secs(60),
            })
            .unwrap()
    };
    let res = get(&app, "/api/v1/me", &token(uuid(&m["id"]))).await;
    assert_eq!(res.status(), 200);
    let me: Value = res.json().await.unwrap();
    assert_eq!(me["name"], "张建国");
    assert_eq!(me["revealed"], false);
    let res = get(&app, "/api/v1/me", &token(Uuid::now_v7())).await;
    problem(res, 404).await;
    let res = get(&app, "/api/v1/me", &t.staff).await;
    problem(res, 403).await;
    let _: &KeyStore = &app.keys;
}

/// Uploads a roster file `body` of `content_type` to the import route as `token`, with `query`.
async fn import_as(
    app: &TestApp,
    t: &Setup,
    token: &str,
    content_type: &str,
    body: Vec<u8>,
    query: &str,
) -> Response {
    app.authed(
        Method::POST,
        &format!("/api/v1/towns/{}/members/import{query}", t.town),
        token,
    )
    .header("content-type", content_type)
    .body(body)
    .send()
    .await
    .unwrap()
}

/// Uploads a roster file `body` of `content_type` as the committee, with `query`.
async fn import(
    app: &TestApp,
    t: &Setup,
    content_type: &str,
    body: Vec<u8>,
    query: &str,
) -> Response {
    import_as(app, t, &t.committee, content_type, body, query).await
}

/// A CSV roster (with a byte-order mark) of `(name, national id)` rows in the village branch.
fn roster(rows: &[(String, String)]) -> Vec<u8> {
    let mut csv = String::from("\u{feff}姓名,身份证号,所在支部,后备干部\n");
    for (name, id) in rows {
        csv.push_str(&format!("{name},{id},新村党支部,否\n"));
    }
    csv.into_bytes()
}

/// How many members the database holds.
async fn member_count(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM members")
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_roster_is_imported_whole_or_not_at_all() {
    let app = TestApp::spawn().await;
    let t = setup(&app, "MA").await;
    let good: Vec<(String, String)> = (0..50)
        .map(|i| (format!("党员{i}"), national_id(100 + i)))
        .collect();
    let res = import(&app, &t, "text/csv", roster(&good), "?dry_run=true").await;
    assert_eq!(res.status(), 200);
    let dry: Value = res.json().await.unwrap();
    assert_eq!(dry["dry_run"], true);
    assert_eq!(dry["member_ids"], serde_json::json!([]));
    assert_eq!(member_count(&app).await, 0, "a dry run writes nothing");

    let mut bad = good.clone();
    bad[7].1 = "320114198001010012".into();
    bad[20].0 = String::new();
    bad[30].1 = good[3].1.clone();
    let res = import(&app, &t, "text/csv", roster(&bad), "").await;
    let body = problem(res, 422).await;
    assert_eq!(
        error_fields(&body),
        [
            "rows[9].national_id",
            "rows[22].name",
            "rows[32].national_id"
        ]
    );
    assert_eq!(member_count(&app).await, 0, "nothing is half-imported");

    let res = import(&app, &t, "text/csv", roster(&good), "").await;
    assert_eq!(res.status(), 201);
    let report: Value = res.json().await.unwrap();
    assert_eq!(report["imported"], 50);
    assert_eq!(member_count(&app).await, 50);
    // The ids of what was created, in the file's order: row i is member_ids[i].
    let ids = report["member_ids"].as_array().unwrap();
    assert_eq!(ids.len(), 50);
    for (i, row) in [0usize, 17, 49].into_iter().map(|i| (i, &good[i])) {
        let name: String = sqlx::query_scalar("SELECT name FROM members WHERE id = $1")
            .bind(crate::helpers::uuid(&ids[i]))
            .fetch_one(&app.pool)
            .await
            .unwrap();
        assert_eq!(name, row.0, "row {i}");
    }
    let transfers: i64 =
        sqlx::query_scalar("SELECT count(*) FROM transfers WHERE kind = 'registration'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(transfers, 50);

    let again = import(&app, &t, "text/csv", roster(&good[..1]), "").await;
    assert_eq!(
        problem(again, 422).await["errors"][0]["code"],
        "national_id_taken"
    );
}

#[tokio::test]
async fn an_xlsx_roster_imports_and_other_files_are_refused() {
    let app = TestApp::spawn().await;
    let t = setup(&app, "MB").await;
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    for (col, heading) in ["姓名", "身份证号", "所在支部", "入党日期"]
        .iter()
        .enumerate()
    {
        sheet.write_string(0, col as u16, *heading).unwrap();
    }
    for row in 1..=3u32 {
        sheet.write_string(row, 0, format!("党员{row}")).unwrap();
        sheet.write_string(row, 1, national_id(200 + row)).unwrap();
        sheet.write_string(row, 2, "新村党支部").unwrap();
        sheet.write_string(row, 3, "2005-07-01").unwrap();
    }
    let bytes = book.save_to_buffer().unwrap();
    let xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
    let res = import(&app, &t, xlsx, bytes, "").await;
    assert_eq!(res.status(), 201);
    assert_eq!(member_count(&app).await, 3);

    let res = import(&app, &t, "application/json", b"{}".to_vec(), "").await;
    problem(res, 415).await;
    let res = import_as(&app, &t, &t.staff, "text/csv", roster(&[]), "").await;
    problem(res, 403).await;
}

#[tokio::test]
async fn the_committee_reads_the_audit_trail_by_resource() {
    let app = TestApp::spawn().await;
    let t = setup(&app, "MC").await;
    let m = registered(&app, &t, member_body("张建国", 50, t.village)).await;
    register(&app, &t, member_body("李四", 51, t.village)).await;
    let path = format!(
        "/api/v1/towns/{}/audit?resource_type=member&resource_id={}",
        t.town,
        m["id"].as_str().unwrap()
    );
    let res = get(&app, &path, &t.committee).await;
    assert_eq!(res.status(), 200);
    let page: Value = res.json().await.unwrap();
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["action"], "member.created");
    assert_eq!(items[0]["actor_role"], "staff");
    let newest = format!("/api/v1/towns/{}/audit?limit=1", t.town);
    let all = get_body(&app, &newest, &t.committee).await;
    assert_eq!(all["items"][0]["action"], "member.created", "newest first");
    assert!(all["next_cursor"].is_string());
    problem(get(&app, &path, &t.staff).await, 403).await;
}

#[tokio::test]
async fn holders_of_a_valid_certificate_read_as_floating() {
    let app = TestApp::spawn().await;
    let t = setup(&app, "MD").await;
    let holder = registered(&app, &t, member_body("张建国", 60, t.village)).await;
    register(&app, &t, member_body("李四", 61, t.village)).await;
    let today = chrono::Utc::now()
        .with_timezone(&chrono_tz::Asia::Shanghai)
        .date_naive();
    let certificates = format!("/api/v1/towns/{}/certificates", t.town);
    let certificate = json!({
        "number": "LD-2026-001",
        "member_id": holder["id"],
        "destination": "江苏省苏州市",
        "purpose": "务工",
        "issued_on": today,
        "valid_until": today + chrono::Duration::days(180),
    });
    let res = post_json(&app, &certificates, &t.staff, &certificate).await;
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    let page = list_members(&app, &t, "floating=true").await;
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["name"], "张建国");
    assert_eq!(items[0]["floating"], true);
    let others = list_members(&app, &t, "floating=false").await;
    assert_eq!(others["items"][0]["name"], "李四");
    assert_eq!(others["items"][0]["floating"], false);
}

/// A member page tells, for each member on it, whether they have an open case and a
/// valid certificate. Those are probes for the members shown, never a hash of every open
/// case (or certificate) of every town built on each call, which PostgreSQL prefers
/// when the statistics say a page scans many members (issue 11): the statement the code
/// itself prepared is explained, with a generic and a custom plan, after ANALYZE.
#[tokio::test]
async fn a_member_page_probes_its_members_cases_and_certificates_one_by_one() {
    let app = TestApp::spawn().await;
    let s = setup(&app, "M41").await;
    for n in 1..=3 {
        crate::fixtures::open_case(&app, &s, n).await;
    }
    sqlx::query(
        "WITH m AS (INSERT INTO members (town_id, id, name, national_id, branch_id)
                    SELECT $1, gen_random_uuid(), '张' || i, lpad(i::text, 17, '0') || 'X', $2
                    FROM generate_series(1, 3000) i RETURNING id)
         INSERT INTO transfers (town_id, id, member_id, kind, to_branch_id, reason, decided_by, decided_on, status)
         SELECT $1, gen_random_uuid(), m.id, 'registration', $2, 'test set-up', 'tests', current_date, 'completed'
         FROM m",
    )
    .bind(s.town)
    .bind(s.village)
    .execute(&app.pool)
    .await
    .unwrap();
    sqlx::raw_sql("ANALYZE members; ANALYZE cases; ANALYZE certificates")
        .execute(&app.pool)
        .await
        .unwrap();

    let mut conn = app.pool.acquire().await.unwrap();
    let filter = party_center::members::repo::Filter {
        name: Some(party_center::members::domain::NameSearch {
            grams: vec!["张".into()],
            needle: "张".into(),
        }),
        ..Default::default()
    };
    let keyset = party_center::http::paging::Keyset {
        after: None,
        limit: 20,
    };
    let page = party_center::members::repo::list(&mut conn, s.town, &filter, keyset)
        .await
        .unwrap();
    assert_eq!(page.len(), 21, "a full page and one more");

    let name: String = sqlx::query_scalar(
        "SELECT name FROM pg_prepared_statements WHERE strpos(statement, $1) > 0",
    )
    .bind("ORDER BY id LIMIT $10")
    .fetch_one(&mut *conn)
    .await
    .unwrap();
    for mode in ["force_generic_plan", "force_custom_plan"] {
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("SET plan_cache_mode = {mode}")))
            .execute(&mut *conn)
            .await
            .unwrap();
        let plan: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "EXPLAIN EXECUTE {name}('{}', '00000000-0000-0000-0000-000000000000', NULL, NULL, NULL, NULL, NULL,
                                    '{{张}}', '张', 21, NULL, NULL, NULL)",
            s.town
        )))
        .fetch_all(&mut *conn)
        .await
        .unwrap();
        let plan = plan.join("\n");
        assert!(plan.contains("SubPlan"), "{mode}: {plan}");
        assert!(
            !plan.contains("hashed SubPlan"),
            "{mode}: a hash of every case or certificate\n{plan}"
        );
    }
}
