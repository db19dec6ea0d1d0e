//! The ledger: the only code that writes points.
//!
//! [`write_entry`] locks the case, applies the scoring rules of the current policy, writes
//! the entry (the database moves the score), updates the case's status, and opens a
//! committee matter or marks the evaluation due when a threshold is crossed, all inside
//! the caller's transaction, so an entry and its consequences commit together or not at all.

pub mod domain;
pub mod points;

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::json;
use sqlx::PgConnection;
use utoipa::ToSchema;
use uuid::Uuid;

use self::domain::{CaseState, CaseStatus, Effect, EntryKind, Refusal};
use self::points::HalfPoints;
use crate::audit;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::msg;

crate::text_enum! {
    /// What earned a ledger entry.
    pub enum SourceType {
        /// A task's outcome.
        Task = "task",
        /// An attendance record.
        Attendance = "attendance",
        /// An upheld objection.
        Objection = "objection",
    }
}

/// One ledger entry.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LedgerEntry {
    /// The entry's id.
    pub id: Uuid,
    /// The case.
    pub case_id: Uuid,
    /// Its position in the case's ledger: 1, 2, 3, ...
    pub seq: i32,
    /// What it adds to the score (negative: takes away).
    pub points: HalfPoints,
    /// What it is for.
    pub kind: EntryKind,
    /// What earned it: a task, an attendance record, an objection.
    pub source_type: Option<SourceType>,
    /// The task, attendance record or objection.
    pub source_id: Option<Uuid>,
    /// For a reversal: the entry it reverses.
    pub reverses_entry_id: Option<Uuid>,
    /// For a correction or reversal: why.
    pub reason: Option<String>,
    /// Who recorded it (token subject).
    pub recorded_by: String,
    /// With which role.
    pub recorded_role: String,
    /// When.
    pub recorded_at: DateTime<Utc>,
    /// The policy version it was scored under.
    pub policy_version: i32,
    /// The case's score just after it.
    pub score_after: HalfPoints,
}

/// An entry to write.
#[derive(Debug, Clone)]
pub struct NewEntry {
    /// The case.
    pub case_id: Uuid,
    /// What for.
    pub kind: EntryKind,
    /// How much; for task outcomes and absences, the policy's step (see
    /// [`domain::standard_delta`]).
    pub points: HalfPoints,
    /// What earned it.
    pub source: Option<(SourceType, Uuid)>,
    /// For a reversal: the entry reversed.
    pub reverses: Option<Uuid>,
    /// For a correction or reversal: why.
    pub reason: Option<String>,
}

/// What writing an entry did.
#[derive(Debug, Clone)]
pub struct Written {
    /// The entry.
    pub entry: LedgerEntry,
    /// The case's status after it.
    pub status: CaseStatus,
    /// The thresholds it crossed.
    pub effects: Vec<Effect>,
}

/// The case as the scoring rules see it, locked for this transaction.
#[derive(Debug, Clone)]
pub struct LockedCase {
    /// The case.
    pub id: Uuid,
    /// Its member.
    pub member_id: Uuid,
    /// Its state.
    pub state: CaseState,
}

/// Locks a case row for the rest of the transaction and reads its scoring state; 404 when
/// the town has no such case.
pub async fn lock_case(
    conn: &mut PgConnection,
    town: Uuid,
    case: Uuid,
) -> Result<LockedCase, ApiError> {
    let row = sqlx::query!(
        r#"SELECT id, member_id, score_half_points, status, evaluation_due_at IS NOT NULL AS "due!"
           FROM cases WHERE town_id = $1 AND id = $2 FOR UPDATE"#,
        town,
        case
    )
    .fetch_optional(conn)
    .await?
    .ok_or(ApiError::NotFound)?;
    Ok(LockedCase {
        id: row.id,
        member_id: row.member_id,
        state: CaseState {
            score: HalfPoints(row.score_half_points),
            due: row.due,
            under_evaluation: row.status == "under_evaluation",
            concluded: row.status == "concluded",
        },
    })
}

/// Conflicts an entry can meet.
pub fn refusal_error(r: Refusal) -> ApiError {
    match r {
        Refusal::Concluded => crate::error::constraints::CASE_CONCLUDED.into(),
        Refusal::Frozen => ApiError::conflict(
            "score_frozen",
            msg!(
                "按本镇规定，达到评议分数线后积分不再变动。",
                "By the town's policy, the score no longer moves once an evaluation is due."
            ),
        ),
    }
}

/// Writes one entry and everything it sets off. The caller holds a transaction.
pub async fn write_entry(
    conn: &mut PgConnection,
    caller: &Caller,
    town: Uuid,
    e: NewEntry,
) -> Result<Written, ApiError> {
    let mut written = write_entries(conn, caller, town, vec![e]).await?;
    Ok(written.remove(0))
}

/// Writes many entries (an attendance roll, say) with a fixed handful of statements
/// whatever their number: the cases are locked in one statement (in id order, so
/// concurrent batches cannot deadlock), the rules are applied in memory in the order
/// given, and the entries, the cases' new states, the committee matters and the audit
/// records are each written by one set-based statement.
pub async fn write_entries(
    conn: &mut PgConnection,
    caller: &Caller,
    town: Uuid,
    entries: Vec<NewEntry>,
) -> Result<Vec<Written>, ApiError> {
    if entries.is_empty() {
        return Ok(Vec::new());
    }
    let mut case_ids: Vec<Uuid> = entries.iter().map(|e| e.case_id).collect();
    case_ids.sort();
    case_ids.dedup();
    let locked = sqlx::query!(
        r#"SELECT id, score_half_points, status, evaluation_due_at IS NOT NULL AS "due!"
           FROM cases WHERE town_id = $1 AND id = ANY($2) ORDER BY id FOR UPDATE"#,
        town,
        &case_ids,
    )
    .fetch_all(&mut *conn)
    .await?;
    if locked.len() != case_ids.len() {
        return Err(ApiError::NotFound);
    }
    let mut states: HashMap<Uuid, CaseState> = locked
        .into_iter()
        .map(|r| {
            let state = CaseState {
                score: HalfPoints(r.score_half_points),
                due: r.due,
                under_evaluation: r.status == "under_evaluation",
                concluded: r.status == "concluded",
            };
            (r.id, state)
        })
        .collect();
    let policy = crate::policy::current(conn, town).await?;
    let rules = policy.rules();
    let mut planned = Vec::with_capacity(entries.len());
    for e in &entries {
        let state = states[&e.case_id];
        let (next, effects) =
            domain::apply(state, e.points, e.kind, &rules).map_err(refusal_error)?;
        states.insert(e.case_id, next);
        planned.push((Uuid::now_v7(), next, effects));
    }

    let ids: Vec<Uuid> = planned.iter().map(|(id, _, _)| *id).collect();
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
    // Rows are inserted in the order given, so each case's entries get their seq and
    // score_after in that order from the trigger.
    let rows = sqlx::query_as!(
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
        &ids,
        &cases,
        &points,
        &kinds,
        &source_types as &[Option<String>],
        &source_ids as &[Option<Uuid>],
        &reverses as &[Option<Uuid>],
        &reasons as &[Option<String>],
        caller.sub,
        caller.role.as_str(),
        policy.version,
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut by_id: HashMap<Uuid, LedgerEntry> = rows.into_iter().map(|r| (r.id, r)).collect();

    // The cases' final states, one row per case.
    let final_cases: Vec<Uuid> = case_ids.clone();
    let final_status: Vec<String> = final_cases
        .iter()
        .map(|c| states[c].status(&rules).as_str().to_owned())
        .collect();
    let final_due: Vec<bool> = final_cases.iter().map(|c| states[c].due).collect();
    sqlx::query!(
        "UPDATE cases SET status = u.status,
                          evaluation_due_at = CASE WHEN u.due THEN coalesce(cases.evaluation_due_at, now())
                                                   ELSE cases.evaluation_due_at END
         FROM UNNEST($2::uuid[], $3::text[], $4::bool[]) AS u(id, status, due)
         WHERE cases.town_id = $1 AND cases.id = u.id",
        town,
        &final_cases,
        &final_status,
        &final_due,
    )
    .execute(&mut *conn)
    .await?;

    let mut written = Vec::with_capacity(planned.len());
    for (id, next, effects) in planned {
        let entry = by_id
            .remove(&id)
            .ok_or_else(|| anyhow::anyhow!("inserted entry {id} not returned"))?;
        debug_assert_eq!(
            entry.score_after, next.score,
            "the database and the rules agree"
        );
        written.push(Written {
            entry,
            status: next.status(&rules),
            effects,
        });
    }
    record_effects(conn, caller, town, &written).await?;
    Ok(written)
}

/// The committee matters and the audit records of written entries, set-based.
async fn record_effects(
    conn: &mut PgConnection,
    caller: &Caller,
    town: Uuid,
    written: &[Written],
) -> Result<(), ApiError> {
    let opened: Vec<&LedgerEntry> = written
        .iter()
        .filter(|w| w.effects.contains(&Effect::MatterOpened))
        .map(|w| &w.entry)
        .collect();
    let matter_ids: Vec<Uuid> = opened.iter().map(|_| Uuid::now_v7()).collect();
    if !opened.is_empty() {
        let cases: Vec<Uuid> = opened.iter().map(|e| e.case_id).collect();
        let entries: Vec<Uuid> = opened.iter().map(|e| e.id).collect();
        let scores: Vec<i32> = opened.iter().map(|e| e.score_after.0).collect();
        sqlx::query!(
            "INSERT INTO committee_matters (town_id, id, case_id, opened_by_entry_id, score_half_points)
             SELECT $1, * FROM UNNEST($2::uuid[], $3::uuid[], $4::uuid[], $5::int[])",
            town,
            &matter_ids,
            &cases,
            &entries,
            &scores,
        )
        .execute(&mut *conn)
        .await?;
    }
    // One audit record per entry, plus one per threshold event: the change feed reads them.
    let mut actions = Vec::new();
    let mut resources = Vec::new();
    let mut data = Vec::new();
    let mut matters = matter_ids.iter();
    for w in written {
        let e = &w.entry;
        actions.push("ledger.entry_added".to_owned());
        resources.push(e.case_id);
        data.push(json!({
            "entry_id": e.id, "seq": e.seq, "kind": e.kind, "points": e.points,
            "score_after": e.score_after, "policy_version": e.policy_version,
        }));
        for effect in &w.effects {
            match effect {
                Effect::MatterOpened => {
                    actions.push("case.threshold_low".to_owned());
                    resources.push(e.case_id);
                    data.push(json!({ "matter_id": matters.next(), "entry_id": e.id, "score": e.score_after }));
                }
                Effect::EvaluationDue => {
                    actions.push("case.evaluation_due".to_owned());
                    resources.push(e.case_id);
                    data.push(json!({ "entry_id": e.id, "score": e.score_after }));
                }
            }
        }
    }
    audit::record_many(conn, caller, town, "case", &actions, &resources, &data).await
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
