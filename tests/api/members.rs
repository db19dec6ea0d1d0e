//! Members: registration, masking and audited reveals, search and filters, changes, import,
//! `/me` and the audit trail.

use party_center::auth::{KeyStore, MintRequest, Role};
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{TestApp, center_branch, insert_branch, national_id, problem, uuid};

struct Town {
    id: Uuid,
    village_branch: Uuid,
    staff: String,
    committee: String,
}

async fn town(app: &TestApp, code: &str) -> Town {
    let id = uuid(&app.create_town(code).await["id"]);
    Town {
        id,
        village_branch: insert_branch(app, id, "新村党支部").await,
        staff: app.token(Role::Staff, Some(id)),
        committee: app.token(Role::Committee, Some(id)),
    }
}

fn member_body(name: &str, n: u32, branch: Uuid) -> Value {
    json!({ "name": name, "national_id": national_id(n), "branch_id": branch })
}

async fn register(app: &TestApp, t: &Town, body: Value) -> reqwest::Response {
    app.authed(
        Method::POST,
        &format!("/api/v1/towns/{}/members", t.id),
        &t.staff,
    )
    .json(&body)
    .send()
    .await
    .unwrap()
}

#[tokio::test]
async fn staff_register_a_member_whose_numbers_are_masked() {
    let app = TestApp::spawn().await;
    let t = town(&app, "M1").await;
    let mut body = member_body("张建国", 1, t.village_branch);
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
    assert_eq!(uuid(&m["branch_id"]), t.village_branch);
    assert_eq!(m["status"], "active");

    let (kind, to): (String, Uuid) =
        sqlx::query_as("SELECT kind, to_branch_id FROM transfers WHERE member_id = $1")
            .bind(uuid(&m["id"]))
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(
        (kind.as_str(), to),
        ("registration", t.village_branch),
        "the first transfer puts them there"
    );
}

#[tokio::test]
async fn bad_and_duplicate_members_are_refused_and_nothing_is_written() {
    let app = TestApp::spawn().await;
    let t = town(&app, "M2").await;
    let mut bad = member_body("李四", 2, t.village_branch);
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
    let fields: Vec<_> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["national_id", "phone", "joined_party_on"]);

    let other_town = uuid(&app.create_town("M3").await["id"]);
    let foreign_branch = center_branch(&app, other_town).await;
    let body = problem(
        register(&app, &t, member_body("王五", 3, foreign_branch)).await,
        422,
    )
    .await;
    assert_eq!(body["errors"][0]["field"], "branch_id");

    assert_eq!(
        register(&app, &t, member_body("赵六", 4, t.village_branch))
            .await
            .status(),
        201
    );
    let body = problem(
        register(&app, &t, member_body("赵六二", 4, t.village_branch)).await,
        409,
    )
    .await;
    assert_eq!(body["code"], "national_id_taken");
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM members")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(count, 1);
}

#[tokio::test]
async fn only_the_committee_reveals_numbers_and_every_reveal_is_audited() {
    let app = TestApp::spawn().await;
    let t = town(&app, "M4").await;
    let mut body = member_body("张建国", 5, t.village_branch);
    body["phone"] = json!("13812345678");
    let id = register(&app, &t, body)
        .await
        .json::<Value>()
        .await
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/api/v1/towns/{}/members/{id}?reveal=true", t.id);
    let res = app
        .authed(Method::GET, &path, &t.committee)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let m: Value = res.json().await.unwrap();
    assert_eq!(m["national_id"], national_id(5));
    assert_eq!(m["phone"], "13812345678");
    assert_eq!(m["revealed"], true);
    for token in [&t.staff, &app.token(Role::County, None)] {
        let res = app.authed(Method::GET, &path, token).send().await.unwrap();
        problem(res, 403).await;
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
    let t = town(&app, "M5").await;
    let center = center_branch(&app, t.id).await;
    for (i, name) in ["张建国", "李建国", "张伟", "王芳"].iter().enumerate() {
        let branch = if i == 3 { center } else { t.village_branch };
        let mut body = member_body(name, 10 + i as u32, branch);
        body["reserve_cadre"] = json!(i == 2);
        body["village"] = json!(if i < 2 { "新村" } else { "老村" });
        assert_eq!(register(&app, &t, body).await.status(), 201);
    }
    let names = |query: &'static str| {
        let app = &app;
        let t = &t;
        async move {
            let page: Value = app
                .authed(
                    Method::GET,
                    &format!("/api/v1/towns/{}/members?{query}", t.id),
                    &t.staff,
                )
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            let mut names: Vec<String> = page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m["name"].as_str().unwrap().to_owned())
                .collect();
            names.sort();
            names
        }
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
    let page: Value = app
        .authed(
            Method::GET,
            &format!("/api/v1/towns/{}/members?{center_only}", t.id),
            &t.staff,
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(page["items"][0]["name"], "王芳");
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_change_needs_the_etag_and_never_moves_the_branch() {
    let app = TestApp::spawn().await;
    let t = town(&app, "M6").await;
    let m: Value = register(&app, &t, member_body("张建国", 20, t.village_branch))
        .await
        .json()
        .await
        .unwrap();
    let path = format!(
        "/api/v1/towns/{}/members/{}",
        t.id,
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
        .bind(center_branch(&app, t.id).await)
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
    let t = town(&app, "M7").await;
    let other = town(&app, "M8").await;
    let m: Value = register(&app, &t, member_body("张建国", 30, t.village_branch))
        .await
        .json()
        .await
        .unwrap();
    let list = format!("/api/v1/towns/{}/members", t.id);
    let one = format!("{list}/{}", m["id"].as_str().unwrap());
    let county = app.token(Role::County, None);
    assert_eq!(
        app.authed(Method::GET, &list, &county)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        app.authed(Method::GET, &one, &county)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let res = app
        .authed(Method::POST, &list, &county)
        .json(&member_body("x", 31, t.village_branch))
        .send()
        .await
        .unwrap();
    problem(res, 403).await;
    for token in [app.token(Role::Member, Some(t.id)), app.admin()] {
        problem(
            app.authed(Method::GET, &list, &token).send().await.unwrap(),
            403,
        )
        .await;
        problem(
            app.authed(Method::GET, &one, &token).send().await.unwrap(),
            403,
        )
        .await;
    }
    for path in [&list, &one] {
        let res = app
            .authed(Method::GET, path, &other.staff)
            .send()
            .await
            .unwrap();
        problem(res, 404).await;
    }
}

#[tokio::test]
async fn a_member_reads_their_own_record_through_me() {
    let app = TestApp::spawn().await;
    let t = town(&app, "M9").await;
    let m: Value = register(&app, &t, member_body("张建国", 40, t.village_branch))
        .await
        .json()
        .await
        .unwrap();
    let token = |member_id: Uuid| {
        app.keys
            .mint(&MintRequest {
                role: Role::Member,
                sub: "member-app".into(),
                town: Some(t.id),
                county: None,
                member_id: Some(member_id),
                ttl: std::time::Duration::from_secs(60),
            })
            .unwrap()
    };
    let res = app
        .authed(Method::GET, "/api/v1/me", &token(uuid(&m["id"])))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let me: Value = res.json().await.unwrap();
    assert_eq!(me["name"], "张建国");
    assert_eq!(me["revealed"], false);
    let res = app
        .authed(Method::GET, "/api/v1/me", &token(Uuid::now_v7()))
        .send()
        .await
        .unwrap();
    problem(res, 404).await;
    let res = app
        .authed(Method::GET, "/api/v1/me", &t.staff)
        .send()
        .await
        .unwrap();
    problem(res, 403).await;
    let _: &KeyStore = &app.keys;
}

async fn import(
    app: &TestApp,
    t: &Town,
    content_type: &str,
    body: Vec<u8>,
    query: &str,
) -> reqwest::Response {
    app.authed(
        Method::POST,
        &format!("/api/v1/towns/{}/members/import{query}", t.id),
        &t.committee,
    )
    .header("content-type", content_type)
    .body(body)
    .send()
    .await
    .unwrap()
}

fn roster(rows: &[(String, String)]) -> Vec<u8> {
    let mut csv = String::from("\u{feff}姓名,身份证号,所在支部,后备干部\n");
    for (name, id) in rows {
        csv.push_str(&format!("{name},{id},新村党支部,否\n"));
    }
    csv.into_bytes()
}

async fn member_count(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM members")
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_roster_is_imported_whole_or_not_at_all() {
    let app = TestApp::spawn().await;
    let t = town(&app, "MA").await;
    let good: Vec<(String, String)> = (0..50)
        .map(|i| (format!("党员{i}"), national_id(100 + i)))
        .collect();
    let res = import(&app, &t, "text/csv", roster(&good), "?dry_run=true").await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<Value>().await.unwrap()["dry_run"], true);
    assert_eq!(member_count(&app).await, 0, "a dry run writes nothing");

    let mut bad = good.clone();
    bad[7].1 = "320114198001010012".into();
    bad[20].0 = String::new();
    bad[30].1 = good[3].1.clone();
    let res = import(&app, &t, "text/csv", roster(&bad), "").await;
    let body = problem(res, 422).await;
    let fields: Vec<_> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        [
            "rows[9].national_id",
            "rows[22].name",
            "rows[32].national_id"
        ]
    );
    assert_eq!(member_count(&app).await, 0, "nothing is half-imported");

    let res = import(&app, &t, "text/csv", roster(&good), "").await;
    assert_eq!(res.status(), 201);
    assert_eq!(res.json::<Value>().await.unwrap()["imported"], 50);
    assert_eq!(member_count(&app).await, 50);
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
    let t = town(&app, "MB").await;
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
    let res = app
        .authed(
            Method::POST,
            &format!("/api/v1/towns/{}/members/import", t.id),
            &t.staff,
        )
        .header("content-type", "text/csv")
        .body(roster(&[]))
        .send()
        .await
        .unwrap();
    problem(res, 403).await;
}

#[tokio::test]
async fn the_committee_reads_the_audit_trail_by_resource() {
    let app = TestApp::spawn().await;
    let t = town(&app, "MC").await;
    let m: Value = register(&app, &t, member_body("张建国", 50, t.village_branch))
        .await
        .json()
        .await
        .unwrap();
    register(&app, &t, member_body("李四", 51, t.village_branch)).await;
    let path = format!(
        "/api/v1/towns/{}/audit?resource_type=member&resource_id={}",
        t.id,
        m["id"].as_str().unwrap()
    );
    let res = app
        .authed(Method::GET, &path, &t.committee)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let page: Value = res.json().await.unwrap();
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["action"], "member.created");
    assert_eq!(items[0]["actor_role"], "staff");
    let all: Value = app
        .authed(
            Method::GET,
            &format!("/api/v1/towns/{}/audit?limit=1", t.id),
            &t.committee,
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(all["items"][0]["action"], "member.created", "newest first");
    assert!(all["next_cursor"].is_string());
    problem(
        app.authed(Method::GET, &path, &t.staff)
            .send()
            .await
            .unwrap(),
        403,
    )
    .await;
}

#[tokio::test]
async fn holders_of_a_valid_certificate_read_as_floating() {
    let app = TestApp::spawn().await;
    let t = town(&app, "MD").await;
    let holder: Value = register(&app, &t, member_body("张建国", 60, t.village_branch))
        .await
        .json()
        .await
        .unwrap();
    register(&app, &t, member_body("李四", 61, t.village_branch)).await;
    let today = chrono::Utc::now()
        .with_timezone(&chrono_tz::Asia::Shanghai)
        .date_naive();
    let res = app
        .authed(
            Method::POST,
            &format!("/api/v1/towns/{}/certificates", t.id),
            &t.staff,
        )
        .json(&json!({
            "number": "LD-2026-001",
            "member_id": holder["id"],
            "destination": "江苏省苏州市",
            "purpose": "务工",
            "issued_on": today,
            "valid_until": today + chrono::Duration::days(180),
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    let page: Value = app
        .authed(
            Method::GET,
            &format!("/api/v1/towns/{}/members?floating=true", t.id),
            &t.staff,
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["name"], "张建国");
    assert_eq!(items[0]["floating"], true);
    let others: Value = app
        .authed(
            Method::GET,
            &format!("/api/v1/towns/{}/members?floating=false", t.id),
            &t.staff,
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(others["items"][0]["name"], "李四");
    assert_eq!(others["items"][0]["floating"], false);
}
