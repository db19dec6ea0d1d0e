//! One-on-one mentoring: mentors from the center branch, at most the policy's limit each
//! (also under concurrent pairings), one mentor per mentee, logs by the mentor only.

use std::time::Duration;

use party_center::auth::{Caller, MintRequest, Role, Scope};
use reqwest::{Method, Response};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::cohorts::{Town, cohort_with, town, young_member};
use crate::helpers::{TestApp, center_branch, insert_member, problem, uuid};

async fn mentor(app: &TestApp, t: &Town, name: &str, n: u32) -> Uuid {
    let center = center_branch(app, t.id).await;
    insert_member(app, t.id, center, name, n).await
}

async fn pair(app: &TestApp, t: &Town, mentor: Uuid, mentee: Uuid) -> Response {
    pair_as(app, t, &t.committee, mentor, mentee).await
}

async fn pair_as(app: &TestApp, t: &Town, token: &str, mentor: Uuid, mentee: Uuid) -> Response {
    app.authed(
        Method::POST,
        &format!("/api/v1/towns/{}/mentorships", t.id),
        token,
    )
    .json(&json!({"mentor_id": mentor, "mentor_subject": "staff-wang", "mentee_id": mentee}))
    .send()
    .await
    .unwrap()
}

fn staff_token(app: &TestApp, town: Uuid, sub: &str) -> String {
    app.keys
        .mint(&MintRequest {
            role: Role::Staff,
            sub: sub.to_owned(),
            town: Some(town),
            county: None,
            member_id: None,
            ttl: Duration::from_secs(600),
        })
        .unwrap()
}

async fn open_count(app: &TestApp, mentor: Uuid) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM mentorships WHERE mentor_id = $1 AND ended_on IS NULL")
        .bind(mentor)
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_mentor_takes_two_mentees_and_a_mentee_one_mentor() {
    let app = TestApp::spawn().await;
    let t = town(&app, "M1").await;
    let (_, trainees) = cohort_with(&app, &t, 4).await;
    let wang = mentor(&app, &t, "王导师", 900).await;
    let li = mentor(&app, &t, "李导师", 901).await;

    let res = pair(&app, &t, wang, trainees[0]).await;
    assert_eq!(res.status(), 201);
    assert_eq!(res.headers()["etag"], "\"1\"");
    let m: Value = res.json().await.unwrap();
    assert_eq!(m["basis"], "trainee");
    assert_eq!(m["mentor_limit"], 2);
    assert_eq!(m["mentor_subject"], "staff-wang");
    assert_eq!(pair(&app, &t, wang, trainees[1]).await.status(), 201);

    let body = problem(pair(&app, &t, wang, trainees[2]).await, 409).await;
    assert_eq!(body["code"], "mentor_full");
    let body = problem(pair(&app, &t, li, trainees[0]).await, 409).await;
    assert_eq!(body["code"], "mentee_has_mentor");
    assert_eq!(open_count(&app, wang).await, 2);
    let written: i64 =
        sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE action = 'mentorship.created'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(written, 2);

    // Ending one frees a place.
    let id = uuid(&m["id"]);
    let url = format!("/api/v1/towns/{}/mentorships/{id}/end", t.id);
    let res = app
        .authed(Method::POST, &url, &t.committee)
        .json(&json!({"reason": "调整结对"}))
        .send()
        .await
        .unwrap();
    problem(res, 428).await;
    let res = app
        .authed(Method::POST, &url, &t.committee)
        .header("If-Match", "\"7\"")
        .json(&json!({"reason": "调整结对"}))
        .send()
        .await
        .unwrap();
    problem(res, 412).await;
    let res = app
        .authed(Method::POST, &url, &t.committee)
        .header("If-Match", "\"1\"")
        .json(&json!({"reason": "调整结对"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let ended: Value = res.json().await.unwrap();
    assert_eq!(ended["end_reason"], "调整结对");
    let res = app
        .authed(Method::POST, &url, &t.committee)
        .header("If-Match", "*")
        .json(&json!({"reason": "again"}))
        .send()
        .await
        .unwrap();
    assert_eq!(problem(res, 409).await["code"], "mentorship_ended");
    assert_eq!(pair(&app, &t, wang, trainees[2]).await.status(), 201);
    assert_eq!(pair(&app, &t, li, trainees[0]).await.status(), 201);
}

#[tokio::test]
async fn mentors_are_center_staff_and_mentees_trainees_or_under_transformation() {
    let app = TestApp::spawn().await;
    let t = town(&app, "M2").await;
    let (_, trainees) = cohort_with(&app, &t, 1).await;
    let wang = mentor(&app, &t, "王导师", 900).await;

    let villager = insert_member(&app, t.id, t.village, "村干部", 901).await;
    let body = problem(pair(&app, &t, villager, trainees[0]).await, 422).await;
    assert_eq!(body["code"], "mentor_not_in_center");

    let plain = insert_member(&app, t.id, t.village, "普通党员", 902).await;
    let body = problem(pair(&app, &t, wang, plain).await, 422).await;
    assert_eq!(body["code"], "not_a_mentee");

    let body = problem(pair(&app, &t, wang, wang).await, 422).await;
    assert_eq!(body["errors"][0]["code"], "same_as_mentor");

    // A member under transformation is a mentee (and sits in the center branch, but is no mentor).
    let res = app
        .authed(
            Method::POST,
            &format!("/api/v1/towns/{}/cases", t.id),
            &t.committee,
        )
        .json(&json!({"member_id": plain, "reason": "需要转化"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let case: Value = res.json().await.unwrap();
    let res = pair(&app, &t, wang, plain).await;
    assert_eq!(res.status(), 201);
    let m: Value = res.json().await.unwrap();
    assert_eq!(m["basis"], "transformation");
    assert_eq!(m["case_id"], case["id"]);
    let body = problem(pair(&app, &t, plain, trainees[0]).await, 422).await;
    assert_eq!(body["code"], "mentor_not_in_center");

    // end_for_member (for the cases code) ends it, with an audit record.
    let caller = Caller {
        sub: "cases".into(),
        role: Role::Committee,
        scope: Scope::Town(t.id),
        request_id: None,
    };
    let mut tx = app.pool.begin().await.unwrap();
    let ended =
        party_center::mentorships::repo::end_for_member(&mut tx, &caller, t.id, plain, "转化结束")
            .await
            .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(ended, vec![uuid(&m["id"])]);
    assert_eq!(open_count(&app, wang).await, 0);

    // Another town's member is no mentor here.
    let other = town(&app, "M3").await;
    let stranger = mentor(&app, &other, "外镇", 903).await;
    let body = problem(pair(&app, &t, stranger, trainees[0]).await, 422).await;
    assert_eq!(body["code"], "mentor_not_in_center");
}

#[tokio::test]
async fn concurrent_pairings_never_exceed_the_mentor_limit() {
    let app = TestApp::spawn().await;
    let t = town(&app, "M4").await;
    let (_, trainees) = cohort_with(&app, &t, 10).await;
    let wang = mentor(&app, &t, "王导师", 900).await;

    let results =
        futures_util::future::join_all(trainees.iter().map(|m| pair(&app, &t, wang, *m))).await;
    let created = results.iter().filter(|r| r.status() == 201).count();
    assert_eq!(created, 2, "exactly the limit");
    for r in results.into_iter().filter(|r| r.status() != 201) {
        assert_eq!(problem(r, 409).await["code"], "mentor_full");
    }
    assert_eq!(open_count(&app, wang).await, 2);

    // And again, racing for the last place after one ends.
    sqlx::query(
        "UPDATE mentorships SET ended_on = started_on, ended_by = 'tests', end_reason = 'tests'
         WHERE id = (SELECT id FROM mentorships WHERE mentor_id = $1 ORDER BY id LIMIT 1)",
    )
    .bind(wang)
    .execute(&app.pool)
    .await
    .unwrap();
    let free: Vec<Uuid> = sqlx::query_scalar(
        "SELECT member_id FROM cohort_trainees t WHERE NOT EXISTS
           (SELECT 1 FROM mentorships m WHERE m.mentee_id = t.member_id AND m.ended_on IS NULL)
           AND NOT EXISTS (SELECT 1 FROM mentorships m WHERE m.mentee_id = t.member_id)",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    let results =
        futures_util::future::join_all(free.iter().map(|m| pair(&app, &t, wang, *m))).await;
    assert_eq!(results.iter().filter(|r| r.status() == 201).count(), 1);
    assert_eq!(open_count(&app, wang).await, 2);
}

#[tokio::test]
async fn only_the_mentor_writes_the_log_and_the_committee_reads_it() {
    let app = TestApp::spawn().await;
    let t = town(&app, "M5").await;
    let (cohort, trainees) = cohort_with(&app, &t, 1).await;
    let year = cohort["year"].as_i64().unwrap();
    let wang = mentor(&app, &t, "王导师", 900).await;
    let res = app
        .authed(
            Method::POST,
            &format!("/api/v1/towns/{}/mentorships", t.id),
            &t.committee,
        )
        .json(
            &json!({"mentor_id": wang, "mentor_subject": "staff-wang", "mentee_id": trainees[0],
                      "started_on": format!("{year}-01-01")}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let m: Value = res.json().await.unwrap();
    let id = uuid(&m["id"]);
    let url = format!("/api/v1/towns/{}/mentorships/{id}/logs", t.id);
    let entry = json!({"met_on": format!("{year}-01-01"), "topic": "学习党章",
                       "study_notes": "读完第一章\n有体会", "work_notes": "协助调解"});

    let the_mentor = staff_token(&app, t.id, "staff-wang");
    let res = app
        .authed(Method::POST, &url, &the_mentor)
        .json(&entry)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let log: Value = res.json().await.unwrap();
    assert_eq!(log["written_by"], "staff-wang");

    // Other staff, the committee, and everyone else may not write it.
    for token in [
        app.token(Role::Staff, Some(t.id)),
        t.committee.clone(),
        app.token(Role::Member, Some(t.id)),
        app.token(Role::County, None),
        app.admin(),
    ] {
        let res = app
            .authed(Method::POST, &url, &token)
            .json(&entry)
            .send()
            .await
            .unwrap();
        problem(res, 403).await;
    }
    let res = app
        .authed(Method::POST, &url, &the_mentor)
        .json(&json!({"met_on": "2999-01-01", "topic": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(problem(res, 422).await["errors"][0]["field"], "met_on");

    for (token, status) in [
        (the_mentor.clone(), 200),
        (app.token(Role::Staff, Some(t.id)), 200),
        (t.committee.clone(), 200),
        (app.token(Role::County, None), 403),
        (app.token(Role::Member, Some(t.id)), 403),
        (app.admin(), 403),
    ] {
        let res = app.authed(Method::GET, &url, &token).send().await.unwrap();
        assert_eq!(res.status().as_u16(), status);
        if status == 200 {
            let page: Value = res.json().await.unwrap();
            assert_eq!(page["items"].as_array().unwrap().len(), 1);
            assert_eq!(page["items"][0]["topic"], "学习党章");
        }
    }

    // The member sees their mentor.
    let mine: Value = app
        .authed(
            Method::GET,
            "/api/v1/me/training",
            &app.member_token(t.id, trainees[0]),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(mine["mentor"]["mentor_name"], "王导师");

    // Closing the cohort ends its mentorships; the log takes no more entries.
    let cohort_url = format!(
        "/api/v1/towns/{}/cohorts/{}",
        t.id,
        cohort["id"].as_str().unwrap()
    );
    let res = app
        .authed(Method::POST, &format!("{cohort_url}/close"), &t.committee)
        .header("If-Match", format!("\"{}\"", cohort["version"]))
        .json(&json!({"reason": "年度培养结束"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let closed: Value = res.json().await.unwrap();
    assert_eq!(closed["status"], "closed");
    let after: Value = app
        .authed(
            Method::GET,
            &format!("/api/v1/towns/{}/mentorships/{id}", t.id),
            &t.committee,
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(after["end_reason"], "年度培养结束");
    let audit: Vec<Value> = sqlx::query_scalar(
        "SELECT data FROM audit_log WHERE action = 'mentorship.ended' AND resource_type = 'mentorship' AND resource_id = $1",
    )
    .bind(id)
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(audit.len(), 1, "one audit row for the automatic end");
    assert_eq!(audit[0]["automatic"], true);
    assert_eq!(audit[0]["cohort_id"], cohort["id"]);
    let res = app
        .authed(Method::POST, &url, &the_mentor)
        .json(&entry)
        .send()
        .await
        .unwrap();
    assert_eq!(problem(res, 409).await["code"], "mentorship_ended");
    // A closed cohort's trainee is no longer a mentee.
    let li = mentor(&app, &t, "李导师", 901).await;
    assert_eq!(
        problem(pair(&app, &t, li, trainees[0]).await, 422).await["code"],
        "not_a_mentee"
    );
}

#[tokio::test]
async fn mentor_loads_as_json_and_csv() {
    let app = TestApp::spawn().await;
    let t = town(&app, "M6").await;
    let (_, trainees) = cohort_with(&app, &t, 3).await;
    let wang = mentor(&app, &t, "王导师", 900).await;
    let li = mentor(&app, &t, "李导师", 901).await;
    assert_eq!(pair(&app, &t, wang, trainees[0]).await.status(), 201);
    assert_eq!(pair(&app, &t, wang, trainees[1]).await.status(), 201);

    let url = format!("/api/v1/towns/{}/mentorships/loads", t.id);
    let loads: Value = app
        .authed(Method::GET, &url, &app.token(Role::Staff, Some(t.id)))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let items = loads["items"].as_array().unwrap();
    let w = items
        .iter()
        .find(|i| uuid(&i["mentor_id"]) == wang)
        .unwrap();
    assert_eq!(w["open_count"], 2);
    assert_eq!(w["limit"], 2);
    assert_eq!(w["mentees"].as_array().unwrap().len(), 2);
    let l = items.iter().find(|i| uuid(&i["mentor_id"]) == li).unwrap();
    assert_eq!(l["open_count"], 0);
    assert!(
        items.iter().all(|i| uuid(&i["mentor_id"]) != trainees[2]),
        "trainees are no mentors"
    );

    let res = app
        .authed(Method::GET, &format!("{url}?format=csv"), &t.committee)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let bytes = res.bytes().await.unwrap();
    let text = std::str::from_utf8(&bytes)
        .unwrap()
        .strip_prefix('\u{feff}')
        .unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    assert_eq!(
        reader.headers().unwrap(),
        vec!["导师姓名", "导师编号", "在带人数", "人数上限", "结对对象"]
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let row = rows.iter().find(|r| &r[0] == "王导师").unwrap();
    assert_eq!(&row[2], "2");
    assert!(row[4].contains("（培养学员）"));
}

#[tokio::test]
async fn the_role_matrix_and_other_towns() {
    let app = TestApp::spawn().await;
    let t = town(&app, "M7").await;
    let other = town(&app, "M8").await;
    let (_, trainees) = cohort_with(&app, &t, 2).await;
    let wang = mentor(&app, &t, "王导师", 900).await;
    let res = pair(&app, &t, wang, trainees[0]).await;
    let id = uuid(&res.json::<Value>().await.unwrap()["id"]);
    let base = format!("/api/v1/towns/{}/mentorships", t.id);
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
        for url in [
            base.clone(),
            format!("{base}/{id}"),
            format!("{base}/loads"),
        ] {
            let res = app.authed(Method::GET, &url, &token).send().await.unwrap();
            assert_eq!(res.status().as_u16(), status, "{role:?} GET {url}");
        }
        if role != Role::Committee {
            problem(pair_as(&app, &t, &token, wang, trainees[1]).await, 403).await;
            let res = app
                .authed(Method::POST, &format!("{base}/{id}/end"), &token)
                .header("If-Match", "*")
                .json(&json!({"reason": "x"}))
                .send()
                .await
                .unwrap();
            problem(res, 403).await;
        }
    }
    for url in [
        format!("/api/v1/towns/{}/mentorships/{id}", other.id),
        format!("/api/v1/towns/{}/mentorships/{id}/logs", other.id),
        format!("{base}/{id}"),
    ] {
        let res = app
            .authed(Method::GET, &url, &other.committee)
            .send()
            .await
            .unwrap();
        problem(res, 404).await;
    }
    let res = app
        .authed(
            Method::POST,
            &format!("/api/v1/towns/{}/mentorships/{id}/end", other.id),
            &other.committee,
        )
        .header("If-Match", "*")
        .json(&json!({"reason": "x"}))
        .send()
        .await
        .unwrap();
    problem(res, 404).await;
    let mentee = young_member(&app, &other, 700).await;
    let body = problem(pair(&app, &other, wang, mentee).await, 422).await;
    assert_eq!(body["code"], "mentor_not_in_center");
}
