//! SQL of the ledger. Functions take a connection so they run inside the caller's
//! transaction; the writers are set-based (one statement each, whatever the batch's size).

use std::collections::HashMap;

use sqlx::PgConnection;
use uuid::Uuid;

use super::domain::{CaseState, CaseStatus, EntryKind};
use super::points::HalfPoints;
use super::{LedgerEntry, LockedCase, NewEntry, SourceType};
use crate::auth::Caller;
use crate::error::ApiError;

/// The one reading of a case row as the scoring rules see it.
fn case_state(score_half_points: i32, status: &str, due: bool) -> CaseState {
    CaseState {
        score: HalfPoints(score_half_points),
        due,
        under_evaluation: status == "under_evaluation",
        concluded: status == "concluded",
    }
}

/// Locks one case row for the rest of the transaction and reads its scoring state.
pub async fn lock_case(
    conn: &mut PgConnection,
    town: Uuid,
    case: Uuid,
) -> Result<Option<LockedCase>, ApiError> {
    let row = sqlx::query!(
        r#"SELECT id, member_id, score_half_points, status, evaluation_due_at IS NOT NULL AS "due!"
           FROM cases WHERE town_id = $1 AND id = $2 FOR UPDATE"#,
        town,
        case
    )
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|r| LockedCase {
        id: r.id,
        member_id: r.member_id,
        state: case_state(r.score_half_points, &r.status, r.due),
    }))
}

/// Locks the cases (`cases` sorted and without repeats, so that concurrent batches lock
/// in the same order and cannot deadlock) and reads their scoring state. A case the town
/// does not have is left out.
pub async fn lock_cases(
    conn: &mut PgConnection,
    town: Uuid,
    cases: &[Uuid],
) -> Result<HashMap<Uuid, CaseState>, ApiError> {
    let rows = sqlx::query!(
        r#"SELECT id, score_half_points, status, evaluation_due_at IS NOT NULL AS "due!"
           FROM cases WHERE town_id = $1 AND id = ANY($2) ORDER BY id FOR UPDATE"#,
        town,
        cases,
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| (r.id, case_state(r.score_half_points, &r.status, r.due)))
        .collect())
}

/// Inserts entries in the order given (so each case's entries get their `seq` and
/// `score_after` in that order from the trigger), with one statement; `ids` go with
/// `entries`.
pub async fn insert_entries(
    conn: &mut PgConnection,
    caller: &Caller,
    town: Uuid,
    policy_version: i32,
    ids: &[Uuid],
    entries: &[&NewEntry],
) -> Result<Vec<LedgerEntry>, ApiError> {
    let cases: Vec<Uuid> = entries.iter().map(|e| e.case_id).collect();
    let points: Vec<i32> = entries.iter().map(|e| e.points.0).collect();
    let kinds: Vec<String> = entries.iter().map(|e| e.kind.as_str().to_owned()).collect();
    let source_types: Vec<Option<String>> = entries
        .iter()
        .map(|e| e.source.map(|(t, _)| t.as_str().to_owned()))
        .collect();
    let source_ids: Vec<Option<Uuid>> =
        entries.iter().map(|e| e.source.map(|(_, id)| id)).collect();
    let reverses: Vec<Option<Uuid>> = entries.iter().map(|e| e.reverses).collect();
    let reasons: Vec<Option<String>> = entries.iter().map(|e| e.reason.clone()).collect();
    Ok(sqlx::query_as!(
        LedgerEntry,
        r#"INSERT INTO ledger_entries (town_id, id, case_id, seq, half_points, kind, source_type, source_id,
                                       reverses_entry_id, reason, recorded_by, recorded_role, policy_version)
           SELECT $1, e.id, e.case_id, 0, e.points, e.kind, e.source_type, e.source_id, e.reverses, e.reason, $10, $11, $12
           FROM UNNEST($2::uuid[], $3::uuid[], $4::int[], $5::text[], $6::text[], $7::uuid[], $8::uuid[], $9::text[])
                WITH ORDINALITY AS e(id, case_id, points, kind, source_type, source_id, reverses, reason, n)
           ORDER BY e.n
           RETURNING id, case_id, seq, half_points AS "points: HalfPoints", kind AS "kind: EntryKind",
                     source_type AS "source_type: SourceType", source_id, reverses_entry_id, reason,
                     recorded_by, recorded_role, recorded_at, policy_version, score_after AS "score_after: HalfPoints""#,
        town,
        ids,
        &cases,
        &points,
        &kinds,
        &source_types as &[Option<String>],
        &source_ids as &[Option<Uuid>],
        &reverses as &[Option<Uuid>],
        &reasons as &[Option<String>],
        caller.sub,
        caller.role.as_str(),
        policy_version,
    )
    .fetch_all(conn)
    .await?)
}

/// Sets the cases' new status and, where `due`, the moment the evaluation fell due (kept
/// once set), with one statement; `statuses` and `due` go with `cases`.
pub async fn update_cases(
    conn: &mut PgConnection,
    town: Uuid,
    cases: &[Uuid],
    statuses: &[String],
    due: &[bool],
) -> Result<(), ApiError> {
    sqlx::query!(
        "UPDATE cases SET status = u.status,
                          evaluation_due_at = CASE WHEN u.due THEN coalesce(cases.evaluation_due_at, now())
                                                   ELSE cases.evaluation_due_at END
         FROM UNNEST($2::uuid[], $3::text[], $4::bool[]) AS u(id, status, due)
         WHERE cases.town_id = $1 AND cases.id = u.id",
        town,
        cases,
        statuses,
        due,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Takes a case out of evaluation with its new status; with `clear_due`, the moment the
/// evaluation fell due is forgotten too. A case no longer under evaluation is left as it
/// is.
pub async fn end_evaluation(
    conn: &mut PgConnection,
    town: Uuid,
    case: Uuid,
    status: CaseStatus,
    clear_due: bool,
) -> Result<(), ApiError> {
    sqlx::query!(
        "UPDATE cases
         SET status = $3, evaluation_due_at = CASE WHEN $4 THEN NULL ELSE evaluation_due_at END,
             updated_at = now(), version = version + 1
         WHERE town_id = $1 AND id = $2 AND status = 'under_evaluation'",
        town,
        case,
        status.as_str(),
        clear_due,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Opens one committee matter per entry that took its case below the low threshold, with
/// one statement; `ids` go with `opened`.
pub async fn insert_matters(
    conn: &mut PgConnection,
    town: Uuid,
    ids: &[Uuid],
    opened: &[&LedgerEntry],
) -> Result<(), ApiError> {
    let cases: Vec<Uuid> = opened.iter().map(|e| e.case_id).collect();
    let entries: Vec<Uuid> = opened.iter().map(|e| e.id).collect();
    let scores: Vec<i32> = opened.iter().map(|e| e.score_after.0).collect();
    sqlx::query!(
        "INSERT INTO committee_matters (town_id, id, case_id, opened_by_entry_id, score_half_points)
             SELECT $1, * FROM UNNEST($2::uuid[], $3::uuid[], $4::uuid[], $5::int[])",
        town,
        ids,
        &cases,
        &entries,
        &scores,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// A page of a case's ledger, newest first (answered from the covering index).
pub async fn ledger_page(
    conn: &mut PgConnection,
    town: Uuid,
    case: Uuid,
    before_seq: i64,
    limit: i64,
) -> Result<Vec<LedgerEntry>, ApiError> {
    let before = i32::try_from(before_seq).unwrap_or(i32::MAX);
    Ok(sqlx::query_as!(
        LedgerEntry,
        r#"SELECT id, case_id, seq, half_points AS "points: HalfPoints", kind AS "kind: EntryKind",
                  source_type AS "source_type: SourceType", source_id, reverses_entry_id, reason,
                  recorded_by, recorded_role, recorded_at, policy_version, score_after AS "score_after: HalfPoints"
           FROM ledger_entries
           WHERE town_id = $1 AND case_id = $2 AND seq < $3
           ORDER BY seq DESC LIMIT $4"#,
        town,
        case,
        before,
        limit,
    )
    .fetch_all(conn)
    .await?)
}

/// One entry of a case.
pub async fn entry(
    conn: &mut PgConnection,
    town: Uuid,
    case: Uuid,
    id: Uuid,
) -> Result<Option<LedgerEntry>, ApiError> {
    Ok(sqlx::query_as!(
        LedgerEntry,
        r#"SELECT id, case_id, seq, half_points AS "points: HalfPoints", kind AS "kind: EntryKind",
                  source_type AS "source_type: SourceType", source_id, reverses_entry_id, reason,
                  recorded_by, recorded_role, recorded_at, policy_version, score_after AS "score_after: HalfPoints"
           FROM ledger_entries WHERE town_id = $1 AND case_id = $2 AND id = $3"#,
        town,
        case,
        id,
    )
    .fetch_optional(conn)
    .await?)
}

/// Every entry of a case's ledger, oldest first, as a stream (exports of any length).
pub fn whole_ledger(
    conn: &mut PgConnection,
    town: Uuid,
    case: Uuid,
) -> futures_util::stream::BoxStream<'_, Result<LedgerEntry, sqlx::Error>> {
    sqlx::query_as!(
        LedgerEntry,
        r#"SELECT id, case_id, seq, half_points AS "points: HalfPoints", kind AS "kind: EntryKind",
                  source_type AS "source_type: SourceType", source_id, reverses_entry_id, reason,
                  recorded_by, recorded_role, recorded_at, policy_version, score_after AS "score_after: HalfPoints"
           FROM ledger_entries
           WHERE town_id = $1 AND case_id = $2
           ORDER BY seq"#,
        town,
        case,
    )
    .fetch(conn)
}
