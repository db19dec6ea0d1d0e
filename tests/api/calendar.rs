//! A town's calendar (holidays, worked weekend days) and the working days it makes: the
//! objection period counts by it.

use chrono::{Datelike, Days, NaiveDate, Utc, Weekday};
use party_center::auth::Role;
use reqwest::{Method, Response};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::fixtures::{open_case, setup};
use crate::helpers::{TestApp, problem, uuid};

/// Today in the towns' zone (Asia/Shanghai).
fn today() -> NaiveDate {
    Utc::now()
        .with_timezone(&chrono_tz::Asia::Shanghai)
        .date_naive()
}

async fn set(app: &TestApp, town: Uuid, token: &str, day: NaiveDate, body: Value) -> Response {
    app.authed(
        Method::PUT,
        &format!("/api/v1/towns/{town}/calendar/{day}"),
        token,
    )
    .json(&body)
    .send()
    .await
    .unwrap()
}

fn next(from: NaiveDate, weekday: Weekday) -> NaiveDate {
    (1..=7)
        .map(|n| from + Days::new(n))
        .find(|d| d.weekday() == weekday)
        .unwrap()
}

#[tokio::test]
async fn the_committee_keeps_the_calendar_and_everyone_in_town_reads_it() {
    let app = TestApp::spawn().await;
    let s = setup(&app, "CAL1").await;
    let monday = next(today(), Weekday::Mon);
    let saturday = next(today(), Weekday::Sat);

    let res = set(
        &app,
        s.town,
        &s.committee,
        monday,
        json!({ "kind": "holiday", "name": "节日" }),
    )
    .await;
    assert_eq!(res.status(), 201);
    let day: Value = res.json().await.unwrap();
    assert_eq!(day["day"], json!(monday));
    assert_eq!(day["set_by"], "committee-tester");
    // Setting it again replaces it.
    let res = set(
        &app,
        s.town,
        &s.committee,
        monday,
        json!({ "kind": "holiday", "name": "国庆节" }),
    )
    .await;
    assert_eq!(res.status(), 200);
    let res = set(
        &app,
        s.town,
        &s.committee,
        saturday,
        json!({ "kind": "workday", "name": "国庆节调休" }),
    )
    .await;
    assert_eq!(res.status(), 201);

    // A holiday on a weekend or a worked weekday changes nothing: 422 naming `kind`.
    for (day, kind, code) in [
        (saturday, "holiday", "not_a_weekday"),
        (monday, "workday", "not_a_weekend_day"),
    ] {
        let p = problem(
            set(
                &app,
                s.town,
                &s.committee,
                day,
                json!({ "kind": kind, "name": "x" }),
            )
            .await,
            422,
        )
        .await;
        assert_eq!(
            (
                p["errors"][0]["field"].as_str(),
                p["errors"][0]["code"].as_str()
            ),
            (Some("kind"), Some(code))
        );
    }
    problem(
        set(
            &app,
            s.town,
            &s.committee,
            "1999-10-01".parse().unwrap(),
            json!({ "kind": "holiday", "name": "x" }),
        )
        .await,
        400,
    )
    .await;
    // Today and earlier are fixed.
    let weekday_before = (1..=7)
        .map(|n| today() - Days::new(n))
        .find(|d| !matches!(d.weekday(), Weekday::Sat | Weekday::Sun))
        .unwrap();
    let body = json!({ "kind": "holiday", "name": "x" });
    let p = problem(
        set(&app, s.town, &s.committee, weekday_before, body).await,
        422,
    )
    .await;
    assert_eq!(p["code"], "day_passed");
    problem(
        set(
            &app,
            s.town,
            &s.staff,
            monday,
            json!({ "kind": "holiday", "name": "x" }),
        )
        .await,
        403,
    )
    .await;

    // Read by the town's roles, by year.
    for token in [
        s.staff.clone(),
        app.token(Role::County, None),
        app.token(Role::Member, Some(s.town)),
    ] {
        for year in [monday.year(), saturday.year()] {
            let url = format!("/api/v1/towns/{}/calendar?year={year}", s.town);
            let res = app.authed(Method::GET, &url, &token).send().await.unwrap();
            assert_eq!(res.status(), 200);
            let cal: Value = res.json().await.unwrap();
            assert_eq!(cal["year"], year);
            let days: Vec<_> = cal["days"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| (d["day"].clone(), d["kind"].clone()))
                .collect();
            let mut set_days = [(monday, "holiday"), (saturday, "workday")];
            set_days.sort();
            let expected: Vec<_> = set_days
                .into_iter()
                .filter(|(d, _)| d.year() == year)
                .map(|(d, k)| (json!(d), json!(k)))
                .collect();
            assert_eq!(days, expected);
        }
    }

    // Cleared: an ordinary day again; clearing it twice is a 404.
    let url = format!("/api/v1/towns/{}/calendar/{monday}", s.town);
    let res = app
        .authed(Method::DELETE, &url, &s.committee)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    problem(
        app.authed(Method::DELETE, &url, &s.committee)
            .send()
            .await
            .unwrap(),
        404,
    )
    .await;
    let actions: Vec<String> = sqlx::query_scalar(
        "SELECT action FROM audit_log WHERE action LIKE 'calendar.%' ORDER BY id",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        actions,
        [
            "calendar.day_set",
            "calendar.day_set",
            "calendar.day_set",
            "calendar.day_cleared"
        ]
    );
}

#[tokio::test]
async fn holidays_lengthen_the_objection_period() {
    let app = TestApp::spawn().await;
    let s = setup(&app, "CAL2").await;
    let (member, case) = open_case(&app, &s, 1).await;
    // An entry recorded a week ago: its three working days are over.
    let entry = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO ledger_entries (town_id, id, case_id, seq, half_points, kind, reason, recorded_by,
                                     recorded_role, recorded_at, policy_version)
         SELECT town_id, $2, id, 0, -1, 'correction', '更正', 'tests', 'committee',
                now() - interval '7 days', policy_version
         FROM cases WHERE id = $1",
    )
    .bind(case)
    .bind(entry)
    .execute(&app.pool)
    .await
    .unwrap();
    let token = app.member_token(s.town, member);
    let object = || async {
        app.authed(Method::POST, "/api/v1/me/objections", &token)
            .json(&json!({ "entry_id": entry, "reason": "那天我请过假" }))
            .send()
            .await
            .unwrap()
    };
    let p = problem(object().await, 409).await;
    assert_eq!(p["code"], "objection_period_over");

    // Had every weekday since been a holiday (set ahead, as the calendar is: written here
    // straight into it), the period would not have started counting yet.
    let recorded = today() - Days::new(7);
    let mut day = recorded + Days::new(1);
    while day < today() {
        if !matches!(day.weekday(), Weekday::Sat | Weekday::Sun) {
            sqlx::query("INSERT INTO calendar_days (town_id, day, kind, name, set_by) VALUES ($1, $2, 'holiday', '假期', 'tests')")
                .bind(s.town)
                .bind(day)
                .execute(&app.pool)
                .await
                .unwrap();
        }
        day = day + Days::new(1);
    }
    let res = object().await;
    assert_eq!(res.status(), 201);
    assert_eq!(uuid(&res.json::<Value>().await.unwrap()["entry_id"]), entry);
}
