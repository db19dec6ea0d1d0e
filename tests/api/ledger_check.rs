//! The database keeps every score at base + the sum of its ledger by induction, at the
//! cost of a few index lookups per entry (not a sum of the whole ledger): these are the
//! ways around it that it must still refuse.

use serde_json::json;

use crate::fixtures::{correct, open_case, setup};
use crate::helpers::TestApp;

#[tokio::test]
async fn a_score_moved_without_an_entry_cannot_commit_however_it_is_disguised() {
    let app = TestApp::spawn().await;
    let s = setup(&app, "L1").await;
    let (_, case_id) = open_case(&app, &s, 1).await;
    for points in [2.0, -0.5, 1.0] {
        assert_eq!(correct(&app, &s, case_id, points).await.status(), 201);
    }
    let cheats = [
        // The score alone.
        "UPDATE cases SET score_half_points = score_half_points + 2 WHERE id = $1",
        // The score back to where an earlier entry left it, hiding the last entry.
        "UPDATE cases SET entries_count = entries_count - 1,
                          score_half_points = (SELECT score_after FROM ledger_entries
                                               WHERE case_id = $1 AND seq = 2)
         WHERE id = $1",
        // A new base under the same score.
        "UPDATE cases SET base_half_points = base_half_points + 2 WHERE id = $1",
    ];
    for sql in cheats {
        let cheat = sqlx::query(sql).bind(case_id).execute(&app.pool).await;
        assert!(cheat.is_err(), "{sql}");
    }
    // A moved score followed by an honest entry in the same transaction: the entry does
    // not continue its predecessor.
    let mut tx = app.pool.begin().await.unwrap();
    sqlx::query("UPDATE cases SET score_half_points = score_half_points + 4 WHERE id = $1")
        .bind(case_id)
        .execute(&mut *tx)
        .await
        .unwrap();
    let entry = sqlx::query(
        "INSERT INTO ledger_entries (town_id, id, case_id, seq, half_points, kind, reason,
                                     recorded_by, recorded_role, policy_version)
         SELECT town_id, gen_random_uuid(), id, 0, 1, 'correction', 'x', 'test', 'committee',
                policy_version FROM cases WHERE id = $1",
    )
    .bind(case_id)
    .execute(&mut *tx)
    .await;
    assert!(entry.is_err(), "an entry on a tampered score is refused");
    drop(tx);
    let score: i32 = sqlx::query_scalar("SELECT score_half_points FROM cases WHERE id = $1")
        .bind(case_id)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(
        json!(score),
        json!(15),
        "5 + 2 - 0.5 + 1 points, in half-points"
    );
}
