//! The ledger through the real server and PostgreSQL, against a model: random sequences of
//! entries, reversals, corrections and replays, with the score, the status and the
//! threshold events checked after every step.

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::fixtures::{Setup, open_case, setup};
use crate::helpers::{TestApp, assert_replayed};

#[derive(Debug, Clone)]
enum Op {
    /// A correction of this many half-points.
    Correct(i32),
    /// The reversal of the n-th entry written so far (modulo their number).
    Reverse(usize),
    /// The previous request sent again with its key: nothing may change.
    Replay,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => prop_oneof![Just(1), Just(-1), Just(2), Just(-2), Just(-4), Just(5)].prop_map(Op::Correct),
        2 => (0usize..40).prop_map(Op::Reverse),
        1 => Just(Op::Replay),
    ]
}

/// The rules recomputed from the whole ledger.
#[derive(Debug, Default)]
struct Model {
    entries: Vec<i32>,
    reversible: Vec<bool>,
    matters: usize,
    due_events: usize,
}

impl Model {
    const BASE: i32 = 10;
    const LOW: i32 = 6;
    const EVALUATION: i32 = 30;

    fn score(&self) -> i32 {
        Self::BASE + self.entries.iter().sum::<i32>()
    }

    fn push(&mut self, half_points: i32, reversible: bool) {
        let before = self.score();
        let had_reached = self.reached();
        self.entries.push(half_points);
        self.reversible.push(reversible);
        if before >= Self::LOW && self.score() < Self::LOW {
            self.matters += 1;
        }
        if !had_reached && self.reached() {
            self.due_events += 1;
        }
    }

    fn reached(&self) -> bool {
        let mut score = Self::BASE;
        self.entries.iter().any(|d| {
            score += d;
            score >= Self::EVALUATION
        })
    }

    fn status(&self) -> &'static str {
        if self.score() < Self::LOW {
            "below_threshold"
        } else if self.reached() {
            "evaluation_due"
        } else {
            "active"
        }
    }
}

fn points(half_points: i32) -> Value {
    let text = if half_points % 2 == 0 {
        format!("{}", half_points / 2)
    } else {
        format!("{:.1}", f64::from(half_points) / 2.0)
    };
    serde_json::from_str(&text).unwrap()
}

async fn send(app: &TestApp, s: &Setup, case: Uuid, key: &str, body: &Value) -> reqwest::Response {
    app.authed(
        Method::POST,
        &format!("/api/v1/towns/{}/cases/{case}/adjustments", s.town),
        &s.committee,
    )
    .header("idempotency-key", key)
    .json(body)
    .send()
    .await
    .unwrap()
}

#[tokio::test]
async fn random_histories_match_the_model_after_every_step() {
    let app = TestApp::spawn().await;
    let s = setup(&app, "LM").await;
    let mut runner = TestRunner::deterministic();
    let histories = proptest::collection::vec(op(), 5..25);
    for n in 0..120u32 {
        let ops = histories.new_tree(&mut runner).unwrap().current();
        let (_, case) = open_case(&app, &s, 500 + n).await;
        let mut model = Model::default();
        let mut ids: Vec<String> = Vec::new();
        let mut last: Option<(String, Value, Value)> = None;
        for op in ops {
            let key = Uuid::now_v7().to_string();
            match op {
                Op::Correct(d) => {
                    let body =
                        json!({ "kind": "correction", "points": points(d), "reason": "model" });
                    let res = send(&app, &s, case, &key, &body).await;
                    assert_eq!(res.status(), 201);
                    let answer: Value = res.json().await.unwrap();
                    ids.push(answer["entry"]["id"].as_str().unwrap().to_owned());
                    model.push(d, true);
                    last = Some((key, body, answer));
                }
                Op::Reverse(i) if !ids.is_empty() => {
                    let i = i % ids.len();
                    let body = json!({ "kind": "reversal", "entry_id": ids[i], "reason": "model" });
                    let res = send(&app, &s, case, &key, &body).await;
                    if model.reversible[i] {
                        assert_eq!(res.status(), 201);
                        let answer: Value = res.json().await.unwrap();
                        ids.push(answer["entry"]["id"].as_str().unwrap().to_owned());
                        model.reversible[i] = false;
                        let d = -model.entries[i];
                        model.push(d, false);
                        last = Some((key, body, answer));
                    } else {
                        assert_eq!(
                            res.status(),
                            409,
                            "a reversal or a reversed entry cannot be reversed"
                        );
                    }
                }
                Op::Reverse(_) => continue,
                Op::Replay => {
                    let Some((key, body, answer)) = &last else {
                        continue;
                    };
                    let res = send(&app, &s, case, key, body).await;
                    assert_replayed(res, 201, answer).await;
                }
            }
            let state: Value = app
                .authed(
                    Method::GET,
                    &format!("/api/v1/towns/{}/cases/{case}", s.town),
                    &s.staff,
                )
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            assert_eq!(
                state["score"],
                points(model.score()),
                "score after {} entries",
                model.entries.len()
            );
            assert_eq!(state["status"], model.status());
            assert_eq!(state["entries_count"], model.entries.len());
            let (matters, due): (i64, i64) = sqlx::query_as(
                "SELECT (SELECT count(*) FROM committee_matters WHERE case_id = $1),
                        (SELECT count(*) FROM audit_log WHERE resource_id = $1 AND action = 'case.evaluation_due')",
            )
            .bind(case)
            .fetch_one(&app.pool)
            .await
            .unwrap();
            assert_eq!(
                matters as usize, model.matters,
                "one matter per crossing of the low threshold"
            );
            assert_eq!(
                due as usize, model.due_events,
                "evaluation due once, when first reached"
            );
        }
    }
}
