//! The reports under `/towns/{town}/reports/...`, read back in each format: JSON as data,
//! CSV parsed with the csv crate (BOM, Chinese headings), XLSX parsed with calamine.

use calamine::{Data, Reader, Xlsx};
use chrono::{Days, Utc};
use party_center::auth::Role;
use reqwest::{Method, Response};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::cases::{Setup, correct, open_case, setup};
use crate::helpers::{TestApp, problem, uuid};

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

async fn get(app: &TestApp, url: &str, token: &str, accept: Option<&str>) -> Response {
    let mut req = app.authed(Method::GET, url, token);
    if let Some(accept) = accept {
        req = req.header("accept", accept);
    }
    req.send().await.unwrap()
}

/// A CSV answer: checks the media type and the BOM, returns the headings and the rows.
async fn csv_of(res: Response) -> (Vec<String>, Vec<Vec<String>>) {
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "text/csv; charset=utf-8");
    let disposition = res.headers()["content-disposition"].to_str().unwrap();
    assert!(
        disposition.starts_with("attachment; filename=") && disposition.ends_with(".csv\""),
        "{disposition}"
    );
    let bytes = res.bytes().await.unwrap();
    assert!(
        bytes.starts_with("\u{feff}".as_bytes()),
        "CSV starts with a BOM"
    );
    let mut reader = csv::Reader::from_reader(&bytes[3..]);
    let headings = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_owned)
        .collect();
    let rows = reader
        .records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect();
    (headings, rows)
}

/// An XLSX answer's one sheet, as cells.
async fn xlsx_of(res: Response) -> Vec<Vec<Data>> {
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], XLSX);
    let bytes = res.bytes().await.unwrap().to_vec();
    let mut book: Xlsx<_> = calamine::open_workbook_from_rs(std::io::Cursor::new(bytes)).unwrap();
    let sheet = book.sheet_names()[0].clone();
    let range = book.worksheet_range(&sheet).unwrap();
    range.rows().map(<[Data]>::to_vec).collect()
}

fn texts(row: &[Data]) -> Vec<String> {
    row.iter().map(ToString::to_string).collect()
}

#[tokio::test]
async fn the_ledger_of_a_case_in_json_csv_and_xlsx() {
    let app = TestApp::spawn().await;
    let s = setup(&app, "X1").await;
    let (_, case) = open_case(&app, &s, 1).await;
    assert_eq!(correct(&app, &s, case, 1.5).await.status(), 201);
    assert_eq!(correct(&app, &s, case, -4.0).await.status(), 201);
    let url = format!("/api/v1/towns/{}/reports/cases/{case}/ledger", s.town);

    let res = get(&app, &url, &s.staff, None).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "application/json");
    let report: Value = res.json().await.unwrap();
    assert_eq!(report["report"], "ledger");
    assert_eq!(uuid(&report["case_id"]), case);
    assert_eq!(uuid(&report["town_id"]), s.town);
    let rows = report["rows"].as_array().unwrap();
    let seen: Vec<_> = rows
        .iter()
        .map(|r| {
            (
                r["seq"].clone(),
                r["points"].clone(),
                r["score_after"].clone(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            (json!(1), json!(1.5), json!(6.5)),
            (json!(2), json!(-4), json!(2.5))
        ]
    );

    // CSV by ?format= and by Accept alike.
    let (headings, csv_rows) =
        csv_of(get(&app, &format!("{url}?format=csv"), &s.staff, None).await).await;
    assert_eq!(
        headings,
        [
            "序号",
            "记录时间",
            "类型",
            "分值",
            "记分后得分",
            "事由",
            "来源",
            "记录人",
            "计分办法版本",
            "记分编号"
        ]
    );
    assert_eq!(csv_rows.len(), 2);
    for (row, json_row) in csv_rows.iter().zip(rows) {
        assert_eq!(row[0], json_row["seq"].to_string());
        assert_eq!(row[2], "党委更正");
        assert_eq!(row[3], json_row["points"].to_string());
        assert_eq!(row[4], json_row["score_after"].to_string());
        assert_eq!(row[5], "更正");
        assert_eq!(row[6], "");
        assert_eq!(row[7], "committee-tester");
        assert_eq!(row[9], json_row["id"].as_str().unwrap());
        // The time in the town's zone (Asia/Shanghai), to the minute.
        let at: chrono::DateTime<Utc> = json_row["recorded_at"].as_str().unwrap().parse().unwrap();
        let local = at.with_timezone(&chrono_tz::Asia::Shanghai);
        assert_eq!(row[1], local.format("%Y-%m-%d %H:%M").to_string());
    }
    let (_, by_accept) = csv_of(get(&app, &url, &s.staff, Some("text/csv")).await).await;
    assert_eq!(by_accept, csv_rows);

    // XLSX by Accept: the same cells, numbers as numbers.
    let sheet = xlsx_of(get(&app, &url, &s.committee, Some(XLSX)).await).await;
    assert_eq!(texts(&sheet[0]), headings);
    assert_eq!(sheet.len(), 3);
    assert_eq!(sheet[1][0], Data::Float(1.0));
    assert_eq!(sheet[1][3], Data::Float(1.5));
    assert_eq!(sheet[2][3], Data::Float(-4.0));
    assert_eq!(sheet[2][4], Data::Float(2.5));
    for (cells, row) in sheet[1..].iter().zip(&csv_rows) {
        assert_eq!(&texts(cells)[5..], &row[5..]);
        assert_eq!(cells[1], Data::String(row[1].clone()));
    }

    // ?format= wins over Accept; an unknown format is a 400 naming it.
    let res = get(
        &app,
        &format!("{url}?format=json"),
        &s.staff,
        Some("text/csv"),
    )
    .await;
    assert_eq!(res.headers()["content-type"], "application/json");
    problem(
        get(&app, &format!("{url}?format=pdf"), &s.staff, None).await,
        400,
    )
    .await;

    // The county reads it; another town's staff, an unknown case and a member do not.
    let county = app.token(Role::County, None);
    assert_eq!(get(&app, &url, &county, None).await.status(), 200);
    let other = setup(&app, "X2").await;
    problem(get(&app, &url, &other.staff, None).await, 404).await;
    let unknown = format!(
        "/api/v1/towns/{}/reports/cases/{}/ledger",
        s.town,
        Uuid::now_v7()
    );
    problem(get(&app, &unknown, &s.staff, None).await, 404).await;
    let member = app.token(Role::Member, Some(s.town));
    problem(get(&app, &url, &member, None).await, 403).await;
}

/// Plans an activity of these members under transformation, `hours` from now.
async fn activity(app: &TestApp, s: &Setup, members: &[Uuid], hours: i64) -> Uuid {
    let starts_at = Utc::now() + chrono::Duration::hours(hours);
    let res = app
        .authed(
            Method::POST,
            &format!("/api/v1/towns/{}/activities", s.town),
            &s.staff,
        )
        .json(&json!({
            "kind": "meeting",
            "title": "学习党章",
            "starts_at": starts_at.to_rfc3339(),
            "place": "服务转化中心会议室",
            "transformation_member_ids": members,
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201, "planning an activity");
    uuid(&res.json::<Value>().await.unwrap()["id"])
}

async fn roll(app: &TestApp, s: &Setup, activity: Uuid, lines: &[(Uuid, &str)]) {
    let items: Vec<Value> = lines
        .iter()
        .map(|(member, status)| match *status {
            "excused" => json!({ "member_id": member, "status": "excused", "excuse_reason": "生病住院", "approved_by": "李书记" }),
            status => json!({ "member_id": member, "status": status }),
        })
        .collect();
    let res = app
        .authed(
            Method::PUT,
            &format!("/api/v1/towns/{}/activities/{activity}/attendance", s.town),
            &s.staff,
        )
        .header("idempotency-key", Uuid::now_v7().to_string())
        .json(&json!({ "items": items }))
        .send()
        .await
        .unwrap();
    assert!(
        res.status().is_success(),
        "recording a roll: {}",
        res.status()
    );
}

#[tokio::test]
async fn attendance_over_a_range_counts_each_members_roll() {
    let app = TestApp::spawn().await;
    let s = setup(&app, "X3").await;
    let (a, _) = open_case(&app, &s, 1).await;
    let (b, _) = open_case(&app, &s, 2).await;
    let (c, _) = open_case(&app, &s, 3).await;
    let all = [a, b, c];
    let first = activity(&app, &s, &all, -3).await;
    roll(
        &app,
        &s,
        first,
        &[(a, "present"), (b, "absent"), (c, "excused")],
    )
    .await;
    let second = activity(&app, &s, &all, -2).await;
    roll(
        &app,
        &s,
        second,
        &[(a, "present"), (b, "present"), (c, "present")],
    )
    .await;
    // In the range, its roll not recorded yet.
    activity(&app, &s, &all, -1).await;
    // Before the range: not counted.
    let old = activity(&app, &s, &all, -24 * 40).await;
    roll(
        &app,
        &s,
        old,
        &[(a, "absent"), (b, "absent"), (c, "absent")],
    )
    .await;

    let from = (Utc::now() - Days::new(7)).date_naive();
    let to = (Utc::now() + Days::new(1)).date_naive();
    let url = format!(
        "/api/v1/towns/{}/reports/attendance?from={from}&to={to}",
        s.town
    );
    let report: Value = get(&app, &url, &s.committee, None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(report["report"], "attendance");
    assert_eq!(report["from"], json!(from));
    let lines: Vec<_> = report["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                uuid(&r["member_id"]),
                [
                    &r["required"],
                    &r["present"],
                    &r["absent"],
                    &r["excused"],
                    &r["not_recorded"],
                ]
                .map(|v| v.as_i64().unwrap()),
                [r["rate"].clone(), r["rate_without_excused"].clone()],
            )
        })
        .collect();
    // c was excused once: against them in `rate`, left out of `rate_without_excused`.
    assert_eq!(
        lines,
        [
            (a, [3, 2, 0, 0, 1], [json!(1.0), json!(1.0)]),
            (b, [3, 1, 1, 0, 1], [json!(0.5), json!(0.5)]),
            (c, [3, 1, 0, 1, 1], [json!(0.5), json!(1.0)]),
        ]
    );

    let (headings, rows) =
        csv_of(get(&app, &format!("{url}&format=csv"), &s.staff, None).await).await;
    assert_eq!(
        headings,
        [
            "姓名",
            "所在支部",
            "应出勤次数",
            "出勤",
            "缺勤",
            "请假",
            "未点名",
            "出勤率（请假计为未出勤）",
            "出勤率（不含请假）",
            "党员编号"
        ]
    );
    assert_eq!(
        rows[1],
        // Their branch now: the center's, since their intake.
        [
            "转化党员2",
            "党员服务转化中心支部",
            "3",
            "1",
            "1",
            "0",
            "1",
            "0.5",
            "0.5",
            &b.to_string()
        ]
    );
    let sheet = xlsx_of(get(&app, &format!("{url}&format=xlsx"), &s.staff, None).await).await;
    assert_eq!(texts(&sheet[0]), headings);
    assert_eq!(sheet.len(), 4);
    assert_eq!(sheet[1][0], Data::String("转化党员1".into()));
    assert_eq!(sheet[1][3], Data::Float(2.0));
    assert_eq!(sheet[1][7], Data::Float(1.0));
    assert_eq!(sheet[3][5], Data::Float(1.0));

    // A range that ends before it starts, a missing end or a day out of the years the
    // service knows is a 400.
    for query in [
        format!("from={to}&to={from}"),
        format!("from={from}"),
        format!("from=1999-12-31&to={to}"),
        format!("from={from}&to=-2000-01-01"),
    ] {
        let url = format!("/api/v1/towns/{}/reports/attendance?{query}", s.town);
        let p = problem(get(&app, &url, &s.staff, None).await, 400).await;
        assert_eq!(p["code"], "invalid_query", "{query}");
    }
    // A range with nothing in it is an empty report, in every format.
    let empty = format!(
        "/api/v1/towns/{}/reports/attendance?from=2001-01-01&to=2001-12-31",
        s.town
    );
    let report: Value = get(&app, &empty, &s.staff, None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(report["rows"], json!([]));
    let (headings, rows) =
        csv_of(get(&app, &format!("{empty}&format=csv"), &s.staff, None).await).await;
    assert_eq!((headings.len(), rows.len()), (10, 0));
    assert_eq!(
        xlsx_of(get(&app, &format!("{empty}&format=xlsx"), &s.staff, None).await)
            .await
            .len(),
        1
    );
}

#[tokio::test]
async fn the_desk_register_shows_each_caller_what_they_may_see() {
    let app = TestApp::spawn().await;
    let s = setup(&app, "X4").await;
    let today = Utc::now().date_naive();
    let url = format!(
        "/api/v1/towns/{}/reports/desk-register?from={}&to={}",
        s.town,
        today - Days::new(1),
        today + Days::new(1)
    );
    let visit = |category: &str, request: &str| {
        json!({
            "visitor_name": "王芳",
            "visitor_phone": "13812345678",
            "jurisdiction": "安徽省马鞍山市",
            "category": category,
            "request": request,
        })
    };
    for (token, body) in [
        (&s.staff, visit("consultation", "咨询组织关系转入手续")),
        // A formula-looking request stays text in the CSV.
        (&s.staff, visit("other", "=1+1")),
        (&s.committee, visit("counselling", "谈心谈话")),
    ] {
        let res = app
            .authed(
                Method::POST,
                &format!("/api/v1/towns/{}/desk-entries", s.town),
                token,
            )
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201);
    }

    // The committee sees the counselling entry; staff (not its author) and county do not.
    let report: Value = get(&app, &url, &s.committee, None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(report["rows"].as_array().unwrap().len(), 3);
    let (headings, rows) = csv_of(get(&app, &url, &s.staff, Some("text/csv")).await).await;
    assert_eq!(
        headings,
        [
            "登记时间",
            "来访人",
            "联系电话",
            "来自",
            "事项类别",
            "诉求",
            "接待人",
            "办理状态",
            "办理结果",
            "转办单位",
            "登记编号"
        ]
    );
    assert_eq!(rows.len(), 2);
    assert_eq!(
        rows[0][1..8],
        [
            "王芳",
            "13812345678",
            "安徽省马鞍山市",
            "政策咨询",
            "咨询组织关系转入手续",
            "staff-tester",
            "已登记"
        ]
    );
    assert_eq!(rows[1][5], "'=1+1");
    let county = app.token(Role::County, None);
    let sheet = xlsx_of(get(&app, &url, &county, Some(XLSX)).await).await;
    assert_eq!(sheet.len(), 3);
    assert_eq!(sheet[1][2], Data::String("138****5678".into()));
    // XLSX cells are never formulas: the text is kept as it was sent.
    assert_eq!(sheet[2][5], Data::String("=1+1".into()));
}

#[tokio::test]
async fn overdue_letters_list_the_letters_past_their_validity() {
    let app = TestApp::spawn().await;
    let s = setup(&app, "X5").await;
    let leaver = crate::helpers::insert_member(&app, s.town, s.village, "李四", 7).await;
    let stayer = crate::helpers::insert_member(&app, s.town, s.village, "赵六", 8).await;
    let today = Utc::now().date_naive();
    for (who, serial, decided) in [
        (leaver, "雨党介〔2026〕第001号", today - Days::new(45)),
        (stayer, "雨党介〔2026〕第002号", today - Days::new(5)),
    ] {
        let res = app
            .authed(
                Method::POST,
                &format!("/api/v1/towns/{}/members/{who}/transfers", s.town),
                &s.committee,
            )
            .json(&json!({
                "kind": "outflow",
                "external_org": "江宁区秣陵街道党工委",
                "letter_serial": serial,
                "dues_paid_until": decided,
                "reason": "外出务工",
                "decided_on": decided,
            }))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201, "issuing a letter");
    }
    let url = format!("/api/v1/towns/{}/reports/overdue-letters", s.town);
    let report: Value = get(&app, &url, &s.staff, None).await.json().await.unwrap();
    let rows = report["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{report}");
    assert_eq!(uuid(&rows[0]["member_id"]), leaver);
    assert_eq!(rows[0]["letter_serial"], "雨党介〔2026〕第001号");
    let days = rows[0]["days_overdue"].as_i64().unwrap();
    assert!(
        (14..=16).contains(&days),
        "45 days after the decision, 30 valid: {days}"
    );

    let (headings, csv_rows) =
        csv_of(get(&app, &format!("{url}?format=csv"), &s.staff, None).await).await;
    assert_eq!(
        headings,
        [
            "介绍信编号",
            "党员姓名",
            "转接方向",
            "对方党组织",
            "本镇支部",
            "决定日期",
            "有效期至",
            "逾期天数",
            "党费交至",
            "党员编号"
        ]
    );
    assert_eq!(
        csv_rows[0][..5],
        [
            "雨党介〔2026〕第001号",
            "李四",
            "转出",
            "江宁区秣陵街道党工委",
            "新村党支部"
        ]
    );
    assert_eq!(csv_rows[0][6], rows[0]["valid_until"].as_str().unwrap());
    assert_eq!(csv_rows[0][7], days.to_string());
    let sheet = xlsx_of(get(&app, &format!("{url}?format=xlsx"), &s.staff, None).await).await;
    assert_eq!(sheet[1][7], Data::Float(days as f64));
    assert_eq!(texts(&sheet[1])[..5], csv_rows[0][..5]);
}

#[tokio::test]
async fn the_cohort_roster_by_year() {
    let app = TestApp::spawn().await;
    let town = crate::cohorts::town(&app, "X6").await;
    let (cohort, trainees) = crate::cohorts::cohort_with(&app, &town, 2).await;
    let url = format!("/api/v1/towns/{}/reports/cohort-roster", town.id);
    let roster: Value = get(&app, &url, &town.committee, None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(roster["cohort"]["id"], cohort["id"]);
    assert_eq!(roster["trainees"].as_array().unwrap().len(), 2);

    let (headings, rows) = csv_of(get(&app, &url, &town.committee, Some("text/csv")).await).await;
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
    let mut ids: Vec<_> = rows.iter().map(|r| r[1].parse::<Uuid>().unwrap()).collect();
    ids.sort();
    let mut expected = trainees.clone();
    expected.sort();
    assert_eq!(ids, expected);
    let sheet =
        xlsx_of(get(&app, &format!("{url}?format=xlsx"), &town.committee, None).await).await;
    assert_eq!(texts(&sheet[0]), headings);
    assert_eq!(sheet.len(), 3);

    let year = cohort["year"].as_i64().unwrap();
    problem(
        get(
            &app,
            &format!("{url}?year={}", year - 1),
            &town.committee,
            None,
        )
        .await,
        404,
    )
    .await;
    let p = problem(
        get(&app, &format!("{url}?year=1999"), &town.committee, None).await,
        400,
    )
    .await;
    assert_eq!(p["code"], "invalid_query");
}

#[tokio::test]
async fn a_report_holds_a_slot_while_read_and_frees_it_when_the_client_goes() {
    // A pool of 4: one report at a time.
    let app = TestApp::spawn_with(|settings, _| settings.db_max_connections = 4).await;
    let s = setup(&app, "X7").await;
    let (_, case) = open_case(&app, &s, 1).await;
    // 300,000 entries (about 33 MB of CSV, far more than the sockets buffer), written
    // straight into the ledger: the score trigger is skipped and the case set once.
    let mut conn = app.pool.acquire().await.unwrap();
    // Seeding is not what is measured: no statement timeout for it on a busy machine.
    sqlx::raw_sql("SET session_replication_role = replica; SET statement_timeout = 0")
        .execute(&mut *conn)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO ledger_entries (town_id, id, case_id, seq, half_points, kind, reason, recorded_by,
                                     recorded_role, policy_version, score_after)
         SELECT c.town_id, gen_random_uuid(), c.id, i, 1 - 2 * (i % 2), 'correction', '更正', 'tests',
                'committee', c.policy_version, c.base_half_points - i % 2
         FROM cases c, generate_series(1, 300000) i WHERE c.id = $1",
    )
    .bind(case)
    .execute(&mut *conn)
    .await
    .unwrap();
    sqlx::query("UPDATE cases SET entries_count = 300000 WHERE id = $1")
        .bind(case)
        .execute(&mut *conn)
        .await
        .unwrap();
    sqlx::raw_sql("SET session_replication_role = origin; RESET statement_timeout")
        .execute(&mut *conn)
        .await
        .unwrap();
    drop(conn);

    let url = format!(
        "/api/v1/towns/{}/reports/cases/{case}/ledger?format=csv",
        s.town
    );
    let mut res = get(&app, &url, &s.staff, None).await;
    assert_eq!(res.status(), 200);
    let first = res.chunk().await.unwrap().unwrap();
    assert!(first.starts_with("\u{feff}序号".as_bytes()));

    // While it is being read, another report waits its turn; other requests do not.
    let letters = format!("/api/v1/towns/{}/reports/overdue-letters", s.town);
    let busy = get(&app, &letters, &s.staff, None).await;
    assert_eq!(busy.headers()["retry-after"], "5");
    let p = problem(busy, 429).await;
    assert_eq!(p["code"], "too_many_exports");
    let summary = format!("/api/v1/towns/{}/summary", s.town);
    assert_eq!(get(&app, &summary, &s.staff, None).await.status(), 200);

    // The client goes away: the export stops and its slot comes back.
    drop(res);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let res = get(&app, &letters, &s.staff, None).await;
        if res.status() == 200 {
            break;
        }
        assert_eq!(res.status(), 429);
        assert!(
            std::time::Instant::now() < deadline,
            "the slot never came back"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}
