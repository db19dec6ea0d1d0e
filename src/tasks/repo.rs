//! SQL for tasks and objections. Functions take a connection so they run inside the
//! caller's transaction.

use chrono::NaiveDate;
use sqlx::PgConnection;
use uuid::Uuid;

use super::domain::{Decision, Objection, ObjectionStatus, Task, TaskOutcome, ValidTask};
use crate::error::ApiError;
use crate::http::paging::Keyset;
use crate::scores::domain::CaseStatus;

/// Inserts a task.
pub async fn insert(
    conn: &mut PgConnection,
    town: Uuid,
    case: Uuid,
    id: Uuid,
    t: &ValidTask,
    by: &str,
    role: &str,
) -> Result<Task, ApiError> {
    Ok(sqlx::query_as!(
        Task,
        r#"INSERT INTO tasks (town_id, id, case_id, title, description, due_on, assigned_by, assigned_role)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
           RETURNING id, town_id, case_id, title, description, due_on, assigned_by, assigned_role,
                     outcome AS "outcome: TaskOutcome", outcome_note, outcome_entry_id, outcome_by, outcome_at,
                     created_at, updated_at, version"#,
        town,
        id,
        case,
        t.title,
        t.description,
        t.due_on,
        by,
        role,
    )
    .fetch_one(conn)
    .await?)
}

/// One task of a town; with `lock`, locked for the rest of the transaction.
pub async fn get(
    conn: &mut PgConnection,
    town: Uuid,
    id: Uuid,
    lock: bool,
) -> Result<Option<Task>, ApiError> {
    let task = if lock {
        sqlx::query_as!(
            Task,
            r#"SELECT id, town_id, case_id, title, description, due_on, assigned_by, assigned_role,
                      outcome AS "outcome: TaskOutcome", outcome_note, outcome_entry_id, outcome_by, outcome_at,
                      created_at, updated_at, version
               FROM tasks WHERE town_id = $1 AND id = $2 FOR UPDATE"#,
            town,
            id
        )
        .fetch_optional(conn)
        .await?
    } else {
        sqlx::query_as!(
            Task,
            r#"SELECT id, town_id, case_id, title, description, due_on, assigned_by, assigned_role,
                      outcome AS "outcome: TaskOutcome", outcome_note, outcome_entry_id, outcome_by, outcome_at,
                      created_at, updated_at, version
               FROM tasks WHERE town_id = $1 AND id = $2"#,
            town,
            id
        )
        .fetch_optional(conn)
        .await?
    };
    Ok(task)
}

/// A page of the tasks of some cases, in id (assignment) order.
pub async fn list(
    conn: &mut PgConnection,
    town: Uuid,
    cases: &[Uuid],
    page: Keyset,
) -> Result<Vec<Task>, ApiError> {
    Ok(sqlx::query_as!(
        Task,
        r#"SELECT id, town_id, case_id, title, description, due_on, assigned_by, assigned_role,
                  outcome AS "outcome: TaskOutcome", outcome_note, outcome_entry_id, outcome_by, outcome_at,
                  created_at, updated_at, version
           FROM tasks
           WHERE town_id = $1 AND case_id = ANY($2) AND id > $3
           ORDER BY id LIMIT $4"#,
        town,
        cases,
        page.after_or_nil(),
        page.fetch(),
    )
    .fetch_all(conn)
    .await?)
}

/// Stores a task's outcome and the entry it wrote; the database refuses a second one.
pub async fn record_outcome(
    conn: &mut PgConnection,
    town: Uuid,
    id: Uuid,
    outcome: TaskOutcome,
    note: Option<&str>,
    entry: Uuid,
    by: &str,
) -> Result<Task, ApiError> {
    Ok(sqlx::query_as!(
        Task,
        r#"UPDATE tasks
           SET outcome = $3, outcome_note = $4, outcome_entry_id = $5, outcome_by = $6, outcome_at = now(),
               updated_at = now(), version = version + 1
           WHERE town_id = $1 AND id = $2
           RETURNING id, town_id, case_id, title, description, due_on, assigned_by, assigned_role,
                     outcome AS "outcome: TaskOutcome", outcome_note, outcome_entry_id, outcome_by, outcome_at,
                     created_at, updated_at, version"#,
        town,
        id,
        outcome.as_str(),
        note,
        entry,
        by,
    )
    .fetch_one(conn)
    .await?)
}

/// The status of a case, read under a share lock (so it cannot be concluded while a task is
/// being assigned to it); `None` when the town has no such case.
pub async fn case_status_for_share(
    conn: &mut PgConnection,
    town: Uuid,
    case: Uuid,
) -> Result<Option<CaseStatus>, ApiError> {
    Ok(sqlx::query_scalar!(
        r#"SELECT status AS "status: CaseStatus" FROM cases WHERE town_id = $1 AND id = $2 FOR SHARE"#,
        town,
        case
    )
    .fetch_optional(conn)
    .await?)
}

/// A member's open case, else their latest one.
pub async fn case_of_member(
    conn: &mut PgConnection,
    town: Uuid,
    member: Uuid,
) -> Result<Option<Uuid>, ApiError> {
    Ok(sqlx::query_scalar!(
        "SELECT id FROM cases WHERE town_id = $1 AND member_id = $2
         ORDER BY (status <> 'concluded') DESC, opened_on DESC, id DESC LIMIT 1",
        town,
        member
    )
    .fetch_optional(conn)
    .await?)
}

/// What an objection needs to know of the entry it objects to.
#[derive(Debug, Clone)]
pub struct EntryFacts {
    /// The id of the ledger entry objected to.
    pub id: Uuid,
    /// The case whose ledger holds it.
    pub case_id: Uuid,
    /// Whether it is a reversal (which cannot itself be reversed).
    pub is_reversal: bool,
    /// Whether it has been reversed already.
    pub reversed: bool,
    /// Whether its case has ended.
    pub case_concluded: bool,
    /// The day it was recorded, in the town's time zone.
    pub recorded_on: NaiveDate,
    /// The policy version it was scored under.
    pub policy_version: i32,
}

/// An entry of one of the member's own cases; `None` for any other entry.
pub async fn entry_of_member(
    conn: &mut PgConnection,
    town: Uuid,
    member: Uuid,
    entry: Uuid,
) -> Result<Option<EntryFacts>, ApiError> {
    Ok(sqlx::query_as!(
        EntryFacts,
        r#"SELECT e.id, e.case_id, e.kind = 'reversal' AS "is_reversal!",
                  EXISTS (SELECT 1 FROM ledger_entries r WHERE r.town_id = e.town_id AND r.reverses_entry_id = e.id) AS "reversed!",
                  c.status = 'concluded' AS "case_concluded!",
                  (e.recorded_at AT TIME ZONE t.time_zone)::date AS "recorded_on!",
                  e.policy_version
           FROM ledger_entries e
           JOIN cases c ON c.town_id = e.town_id AND c.id = e.case_id
           JOIN towns t ON t.id = e.town_id
           WHERE e.town_id = $1 AND e.id = $2 AND c.member_id = $3"#,
        town,
        entry,
        member,
    )
    .fetch_optional(conn)
    .await?)
}

/// Inserts an open objection.
pub async fn insert_objection(
    conn: &mut PgConnection,
    town: Uuid,
    id: Uuid,
    member: Uuid,
    entry: &EntryFacts,
    reason: &str,
) -> Result<Objection, ApiError> {
    Ok(sqlx::query_as!(
        Objection,
        r#"INSERT INTO objections (town_id, id, case_id, entry_id, member_id, reason)
           VALUES ($1, $2, $3, $4, $5, $6)
           RETURNING id, town_id, case_id, entry_id, member_id, reason, status AS "status: ObjectionStatus",
                     decision_reason, decided_by, decided_at, reversal_entry_id, created_at, updated_at, version"#,
        town,
        id,
        entry.case_id,
        entry.id,
        member,
        reason,
    )
    .fetch_one(conn)
    .await?)
}

/// One objection of a town (of one member, with `member`); with `lock`, locked for the rest
/// of the transaction.
pub async fn get_objection(
    conn: &mut PgConnection,
    town: Uuid,
    id: Uuid,
    member: Option<Uuid>,
    lock: bool,
) -> Result<Option<Objection>, ApiError> {
    let row = if lock {
        sqlx::query_as!(
            Objection,
            r#"SELECT id, town_id, case_id, entry_id, member_id, reason, status AS "status: ObjectionStatus",
                      decision_reason, decided_by, decided_at, reversal_entry_id, created_at, updated_at, version
               FROM objections WHERE town_id = $1 AND id = $2 AND ($3::uuid IS NULL OR member_id = $3)
               FOR UPDATE"#,
            town,
            id,
            member,
        )
        .fetch_optional(conn)
        .await?
    } else {
        sqlx::query_as!(
            Objection,
            r#"SELECT id, town_id, case_id, entry_id, member_id, reason, status AS "status: ObjectionStatus",
                      decision_reason, decided_by, decided_at, reversal_entry_id, created_at, updated_at, version
               FROM objections WHERE town_id = $1 AND id = $2 AND ($3::uuid IS NULL OR member_id = $3)"#,
            town,
            id,
            member,
        )
        .fetch_optional(conn)
        .await?
    };
    Ok(row)
}

/// A page of a town's objections (of one member, of one case, with one status), in id order.
pub async fn list_objections(
    conn: &mut PgConnection,
    town: Uuid,
    member: Option<Uuid>,
    case: Option<Uuid>,
    status: Option<ObjectionStatus>,
    page: Keyset,
) -> Result<Vec<Objection>, ApiError> {
    Ok(sqlx::query_as!(
        Objection,
        r#"SELECT id, town_id, case_id, entry_id, member_id, reason, status AS "status: ObjectionStatus",
                  decision_reason, decided_by, decided_at, reversal_entry_id, created_at, updated_at, version
           FROM objections
           WHERE town_id = $1 AND id > $2
             AND ($3::uuid IS NULL OR member_id = $3)
             AND ($4::uuid IS NULL OR case_id = $4)
             AND ($5::text IS NULL OR status = $5)
           ORDER BY id LIMIT $6"#,
        town,
        page.after_or_nil(),
        member,
        case,
        status.map(ObjectionStatus::as_str),
        page.fetch(),
    )
    .fetch_all(conn)
    .await?)
}

/// Records the committee's decision on an open objection; the database refuses a second one.
pub async fn decide(
    conn: &mut PgConnection,
    town: Uuid,
    id: Uuid,
    decision: Decision,
    reason: &str,
    reversal: Option<Uuid>,
    by: &str,
) -> Result<Objection, ApiError> {
    Ok(sqlx::query_as!(
        Objection,
        r#"UPDATE objections
           SET status = $3, decision_reason = $4, reversal_entry_id = $5, decided_by = $6, decided_at = now(),
               updated_at = now(), version = version + 1
           WHERE town_id = $1 AND id = $2
           RETURNING id, town_id, case_id, entry_id, member_id, reason, status AS "status: ObjectionStatus",
                     decision_reason, decided_by, decided_at, reversal_entry_id, created_at, updated_at, version"#,
        town,
        id,
        decision.status().as_str(),
        reason,
        reversal,
        by,
    )
    .fetch_one(conn)
    .await?)
}
