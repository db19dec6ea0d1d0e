//! SQL of the ledger. Functions take a connection so they run inside the caller's
//! transaction; the writers are set-based (one statement each, whatever the batch's size).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

use super::domain::{CaseState, CaseStatus, EntryKind, Rules};
use super::points::HalfPoints;
use super::{LedgerEntry, LockedCase, Scoring, SourceType};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::http::idempotency::{Answer, Record};

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

/// A case row as the ledger locked it: its scoring state, how many entries it has, and
/// the status and due mark stored with it (what an update must change, if anything).
#[derive(Debug, Clone, Copy)]
pub struct Held {
    /// The state the rules see.
    pub state: CaseState,
    /// Its entries so far: the next one's `seq` is this + 1.
    pub entries: i32,
    /// The status column, and whether `evaluation_due_at` is set.
    pub stored: (CaseStatus, bool),
}

/// Reads the town's current scoring rules and locks the cases (`cases` sorted and without
/// repeats, so that concurrent batches lock in the same order and cannot deadlock), in one
/// statement; with the transaction's time, the moment its entries are recorded at. A case
/// the town does not have is left out; a town without a policy (an unknown town) is a 404.
pub async fn lock_cases(
    conn: &mut PgConnection,
    town: Uuid,
    cases: &[Uuid],
) -> Result<(Scoring, DateTime<Utc>, HashMap<Uuid, Held>), ApiError> {
    let rows = sqlx::query!(
        r#"SELECT p.version AS "version!", p.base_half_points AS "base!", p.step_half_points AS "step!",
                  p.low_threshold_half_points AS "low!", p.evaluation_threshold_half_points AS "evaluation!",
                  p.score_moves_after_due AS "score_moves_after_due!", p.excused_leave_costs AS "excused_leave_costs!",
                  now() AS "now!",
                  c.id AS "id?", c.score_half_points AS "score?", c.entries_count AS "entries?",
                  c.status AS "status?: CaseStatus", c.due AS "due?"
           FROM (SELECT version, base_half_points, step_half_points, low_threshold_half_points,
                        evaluation_threshold_half_points, score_moves_after_due, excused_leave_costs
                 FROM policies WHERE town_id = $1 ORDER BY version DESC LIMIT 1) p
           LEFT JOIN LATERAL (SELECT id, score_half_points, entries_count, status, evaluation_due_at IS NOT NULL AS due
                              FROM cases WHERE town_id = $1 AND id = ANY($2) ORDER BY id FOR UPDATE) c ON true"#,
        town,
        cases,
    )
    .fetch_all(conn)
    .await?;
    let first = rows.first().ok_or(ApiError::NotFound)?;
    let now = first.now;
    let scoring = Scoring {
        version: first.version,
        rules: Rules {
            base: HalfPoints(first.base),
            step: HalfPoints(first.step),
            low: HalfPoints(first.low),
            evaluation: HalfPoints(first.evaluation),
            score_moves_after_due: first.score_moves_after_due,
        },
        excused_leave_costs: first.excused_leave_costs,
    };
    let mut held = HashMap::with_capacity(rows.len());
    for r in rows {
        let (Some(id), Some(score), Some(entries), Some(status), Some(due)) =
            (r.id, r.score, r.entries, r.status, r.due)
        else {
            continue;
        };
        let state = case_state(score, status.as_str(), due);
        held.insert(
            id,
            Held {
                state,
                entries,
                stored: (status, due),
            },
        );
    }
    Ok((scoring, now, held))
}

/// An audit record that follows an entry: a threshold the entry crossed.
#[derive(Debug, Clone)]
pub struct Follower {
    /// The place of its entry in the batch (from 1).
    pub entry: i64,
    /// The audit action, e.g. `case.threshold_low`.
    pub action: &'static str,
    /// The case the entry is for.
    pub case_id: Uuid,
    /// The record's data.
    pub data: serde_json::Value,
}

/// What the database set on a written entry: its id, `seq` and `score_after`.
pub type Placed = (Uuid, i32, i32);

/// Inserts the entries as planned, in the order given (so each case's entries get their
/// `seq` and `score_after` in that order from the trigger), with their audit records (the
/// change feed reads them), and `answer` under its idempotency record if given (the
/// columns `idempotency::repo::store` sets), with one statement; answers what the trigger
/// set on each entry. The records are, in order: for each entry, its
/// `ledger.entry_added` (built from the row written), then its `followers`.
pub async fn insert_entries(
    conn: &mut PgConnection,
    caller: &Caller,
    town: Uuid,
    entries: &[&LedgerEntry],
    followers: &[Follower],
    answer: Option<(&Record, &Answer)>,
) -> Result<Vec<Placed>, ApiError> {
    let ids: Vec<Uuid> = entries.iter().map(|e| e.id).collect();
    let cases: Vec<Uuid> = entries.iter().map(|e| e.case_id).collect();
    let points: Vec<i32> = entries.iter().map(|e| e.points.0).collect();
    let kinds: Vec<&str> = entries.iter().map(|e| e.kind.as_str()).collect();
    let source_types: Vec<Option<&str>> = entries
        .iter()
        .map(|e| e.source_type.map(|t| t.as_str()))
        .collect();
    let source_ids: Vec<Option<Uuid>> = entries.iter().map(|e| e.source_id).collect();
    let reverses: Vec<Option<Uuid>> = entries.iter().map(|e| e.reverses_entry_id).collect();
    let reasons: Vec<Option<&str>> = entries.iter().map(|e| e.reason.as_deref()).collect();
    let versions: Vec<i32> = entries.iter().map(|e| e.policy_version).collect();
    let at: Vec<DateTime<Utc>> = entries.iter().map(|e| e.recorded_at).collect();
    let f_entries: Vec<i64> = followers.iter().map(|f| f.entry).collect();
    let f_actions: Vec<&str> = followers.iter().map(|f| f.action).collect();
    let f_cases: Vec<Uuid> = followers.iter().map(|f| f.case_id).collect();
    let f_data: Vec<&serde_json::Value> = followers.iter().map(|f| &f.data).collect();
    let (record, answer) = answer.unzip();
    let rows = sqlx::query!(
        r#"WITH e AS (
             INSERT INTO ledger_entries (town_id, id, case_id, seq, half_points, kind, source_type, source_id,
                                         reverses_entry_id, reason, recorded_by, recorded_role, policy_version, recorded_at)
             SELECT $1, e.id, e.case_id, 0, e.points, e.kind, e.source_type, e.source_id, e.reverses, e.reason, $10, $11,
                    e.version, e.at
             FROM UNNEST($2::uuid[], $3::uuid[], $4::int[], $5::text[], $6::text[], $7::uuid[], $8::uuid[], $9::text[],
                         $12::int[], $13::timestamptz[])
                  WITH ORDINALITY AS e(id, case_id, points, kind, source_type, source_id, reverses, reason, version, at, n)
             ORDER BY e.n
             RETURNING id, case_id, seq, half_points, kind, policy_version, score_after),
           audited AS (
             INSERT INTO audit_log (town_id, actor_sub, actor_role, request_id, action, resource_type, resource_id, data)
             SELECT $1, $10, $11, $14, r.action, 'case', r.case_id, r.data
             FROM (SELECT i.n, 0 AS k, 'ledger.entry_added' AS action, e.case_id,
                          jsonb_build_object('entry_id', e.id, 'seq', e.seq, 'kind', e.kind,
                                             'points', half_points_json(e.half_points),
                                             'score_after', half_points_json(e.score_after),
                                             'policy_version', e.policy_version) AS data
                   FROM e JOIN UNNEST($2::uuid[]) WITH ORDINALITY AS i(id, n) ON i.id = e.id
                   UNION ALL
                   SELECT f.n, f.k, f.action, f.case_id, f.data
                   FROM UNNEST($15::int8[], $16::text[], $17::uuid[], $18::jsonb[]) WITH ORDINALITY AS f(n, action, case_id, data, k)
                  ) r
             ORDER BY r.n, r.k),
           answered AS (
             UPDATE idempotency_keys
             SET response_status = $21, response_body = $22, response_etag = $23, response_location = $24
             WHERE scope = $19 AND key = $20)
           SELECT id AS "id!", seq AS "seq!", score_after AS "score_after!" FROM e"#,
        town,
        &ids,
        &cases,
        &points,
        &kinds as &[&str],
        &source_types as &[Option<&str>],
        &source_ids as &[Option<Uuid>],
        &reverses as &[Option<Uuid>],
        &reasons as &[Option<&str>],
        caller.sub,
        caller.role.as_str(),
        &versions,
        &at,
        caller.request_id.as_deref(),
        &f_entries,
        &f_actions as &[&str],
        &f_cases,
        &f_data as &[&serde_json::Value],
        record.map(|r| r.scope.as_str()),
        record.map(|r| r.key.as_str()),
        answer.map(|a| a.status.as_u16() as i16),
        answer.map(|a| &a.body),
        answer.and_then(|a| a.etag.as_deref()),
        answer.and_then(|a| a.location.as_deref()),
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| (r.id, r.seq, r.score_after))
        .collect())
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
