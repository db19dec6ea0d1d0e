//! The workflows are plain functions over the caller's transaction (issue 10): a Rust
//! caller runs one without HTTP, with typed inputs, and the change lives and dies with
//! that transaction.

use party_center::auth::{Caller, Role, Scope};
use party_center::cases::domain::Adjustment;
use serde_json::json;

use crate::fixtures::{open_case, setup};
use crate::helpers::TestApp;

#[tokio::test]
async fn an_adjustment_runs_without_http_inside_the_callers_transaction() {
    let app = TestApp::spawn().await;
    let s = setup(&app, "WF1").await;
    let (_, case) = open_case(&app, &s, 1).await;
    let committee = Caller {
        sub: "workflow-test".into(),
        role: Role::Committee,
        scope: Scope::Town(s.town),
        request_id: None,
    };
    let correction: Adjustment = serde_json::from_value(
        json!({ "kind": "correction", "points": 1.5, "reason": "直接调用工作流" }),
    )
    .unwrap();
    let score = || async {
        let res = app
            .authed(
                reqwest::Method::GET,
                &format!("/api/v1/towns/{}/cases/{case}", s.town),
                &s.staff,
            )
            .send()
            .await
            .unwrap();
        res.json::<serde_json::Value>().await.unwrap()["score"].clone()
    };

    // Rolled back: nothing of it remains.
    let mut tx = app.pool.begin().await.unwrap();
    let adjusted =
        party_center::cases::workflow::adjust(&mut tx, &committee, s.town, case, &correction)
            .await
            .unwrap();
    assert_eq!(
        serde_json::to_value(adjusted.entry.score_after).unwrap(),
        json!(6.5)
    );
    tx.rollback().await.unwrap();
    assert_eq!(
        score().await,
        json!(5),
        "the rollback took the entry with it"
    );

    // Committed: the ledger, the score and the audit trail have it, as over HTTP.
    let mut tx = app.pool.begin().await.unwrap();
    party_center::cases::workflow::adjust(&mut tx, &committee, s.town, case, &correction)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(score().await, json!(6.5));
    let audited: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_log WHERE town_id = $1 AND resource_id = $2 AND actor_sub = 'workflow-test'",
    )
    .bind(s.town)
    .bind(case)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(audited, 1, "one audit row, by the caller given");

    // Typed input: an invalid combination never reaches the workflow.
    let mixed = serde_json::from_value::<Adjustment>(
        json!({ "kind": "correction", "points": 1, "entry_id": case, "reason": "两者兼有" }),
    );
    assert!(
        mixed.is_err(),
        "a correction with an entry_id is not an Adjustment"
    );
}
