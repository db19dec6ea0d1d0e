//! The town summary and the score history.

use party_center::auth::Role;
use reqwest::Method;
use serde_json::{Value, json};

use crate::cases::{correct, open_case, setup};
use crate::helpers::TestApp;
use crate::helpers::problem;

#[tokio::test]
async fn a_county_reads_the_summary_of_its_towns() {
    let app = TestApp::spawn().await;
    let s = setup(&app, "R1").await;
    let (_, low) = open_case(&app, &s, 1).await;
    open_case(&app, &s, 2).await;
    correct(&app, &s, low, -2.5).await;
    let url = format!("/api/v1/towns/{}/summary", s.town);
    let res = app
        .authed(Method::GET, &url, &app.token(Role::County, None))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let sum: Value = res.json().await.unwrap();
    assert_eq!(sum["members_active"], 2);
    assert_eq!(sum["cases_active"], 1);
    assert_eq!(sum["cases_below_threshold"], 1);
    assert_eq!(sum["cohort_size"], 0);
    for token in [app.token(Role::Member, Some(s.town)), app.admin()] {
        problem(
            app.authed(Method::GET, &url, &token).send().await.unwrap(),
            403,
        )
        .await;
    }
    let other = setup(&app, "R2").await;
    problem(
        app.authed(Method::GET, &url, &other.staff)
            .send()
            .await
            .unwrap(),
        404,
    )
    .await;
}

#[tokio::test]
async fn the_score_history_follows_the_ledger_as_data_and_as_a_chart() {
    let app = TestApp::spawn().await;
    let s = setup(&app, "R3").await;
    let (_, case) = open_case(&app, &s, 3).await;
    correct(&app, &s, case, 1.5).await;
    correct(&app, &s, case, -4.0).await;
    let url = format!("/api/v1/towns/{}/cases/{case}/score-history", s.town);
    let h: Value = app
        .authed(Method::GET, &url, &s.staff)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let scores: Vec<Value> = h["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["score"].clone())
        .collect();
    assert_eq!(scores, [json!(5), json!(6.5), json!(2.5)]);
    assert_eq!(h["low_threshold"], json!(3));
    // One `as_of` for every chart below: the last step holds until then, so the same
    // time gives the same picture.
    let as_of = (chrono::Utc::now() + chrono::Duration::minutes(1))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let res = app
        .authed(
            Method::GET,
            &format!("{url}?format=svg&as_of={as_of}"),
            &s.staff,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["content-type"], "image/svg+xml");
    let svg = res.text().await.unwrap();
    assert!(
        svg.contains("<svg") && svg.contains("评议线 evaluation 15") && svg.contains("score: 2.5")
    );
    // An image viewer asking by Accept gets the same chart; a browser's usual Accept too.
    for accept in ["image/svg+xml", "image/svg+xml,image/*;q=0.8,*/*;q=0.5"] {
        let res = app
            .authed(Method::GET, &format!("{url}?as_of={as_of}"), &s.staff)
            .header("accept", accept)
            .send()
            .await
            .unwrap();
        assert_eq!(res.headers()["content-type"], "image/svg+xml");
        assert_eq!(res.text().await.unwrap(), svg);
    }
    let res = app
        .authed(Method::GET, &url, &s.staff)
        .header("accept", "application/json, image/svg+xml;q=0.5")
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["content-type"], "application/json");
}
