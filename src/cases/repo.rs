//! SQL for cases and committee matters. Functions take a connection so they run inside the
//! caller's transaction.

use chrono::NaiveDate;
use sqlx::PgConnection;
use uuid::Uuid;

use super::domain::{Case, Conclusion, Disposition, Matter};
use crate::error::ApiError;
use crate::http::paging::Keyset;
use crate::msg;
use crate::scores::domain::CaseStatus;
use crate::scores::points::HalfPoints;

/// The fields of a new case.
#[derive(Debug, Clone)]
pub struct NewCaseRow<'a> {
    /// The new case's id.
    pub id: Uuid,
    /// The member taken in.
    pub member_id: Uuid,
    /// The branch the member came from, and goes back to after a passed evaluation.
    pub original_branch_id: Uuid,
    /// The transfer that moved the member's relation into the center branch.
    pub intake_transfer_id: Uuid,
    /// Why the committee took the member in (checked).
    pub reason: &'a str,
    /// The day of the committee's decision, in the town's calendar.
    pub opened_on: NaiveDate,
    /// Who recorded it (token subject).
    pub opened_by: &'a str,
    /// The policy version in force.
    pub policy_version: i32,
    /// The base score of that policy, which the case opens with.
    pub base: HalfPoints,
}

/// The town's center branch, where the relations of members under transformation are.
pub async fn center_branch(conn: &mut PgConnection, town: Uuid) -> Result<Uuid, ApiError> {
    Ok(sqlx::query_scalar!(
        "SELECT id FROM branches WHERE town_id = $1 AND kind = 'center'",
        town
    )
    .fetch_one(conn)
    .await?)
}

/// Marks a member removed from the party (除名), by a committee disposition.
pub async fn remove_member(
    conn: &mut PgConnection,
    town: Uuid,
    member: Uuid,
) -> Result<(), ApiError> {
    sqlx::query!(
        "UPDATE members SET status = 'removed', updated_at = now(), version = version + 1
             WHERE town_id = $1 AND id = $2",
        town,
        member
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Inserts a case at its base score.
pub async fn insert(
    conn: &mut PgConnection,
    town: Uuid,
    c: &NewCaseRow<'_>,
) -> Result<Case, ApiError> {
    Ok(sqlx::query_as!(
        Case,
        r#"INSERT INTO cases (town_id, id, member_id, original_branch_id, intake_transfer_id, reason, opened_on,
                              opened_by, policy_version, base_half_points, score_half_points)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)
           RETURNING id, town_id, member_id, original_branch_id, intake_transfer_id, reason, opened_on, opened_by,
                     policy_version, base_half_points AS "base_score: HalfPoints", score_half_points AS "score: HalfPoints",
                     status AS "status: CaseStatus", evaluation_due_at, entries_count, concluded_on,
                     conclusion AS "conclusion: Conclusion", created_at, updated_at, version"#,
        town,
        c.id,
        c.member_id,
        c.original_branch_id,
        c.intake_transfer_id,
        c.reason,
        c.opened_on,
        c.opened_by,
        c.policy_version,
        c.base.0,
    )
    .fetch_one(conn)
    .await?)
}

/// One case of a town.
pub async fn get(conn: &mut PgConnection, town: Uuid, id: Uuid) -> Result<Option<Case>, ApiError> {
    Ok(sqlx::query_as!(
        Case,
        r#"SELECT id, town_id, member_id, original_branch_id, intake_transfer_id, reason, opened_on, opened_by,
                  policy_version, base_half_points AS "base_score: HalfPoints", score_half_points AS "score: HalfPoints",
                  status AS "status: CaseStatus", evaluation_due_at, entries_count, concluded_on,
                  conclusion AS "conclusion: Conclusion", created_at, updated_at, version
           FROM cases WHERE town_id = $1 AND id = $2"#,
        town,
        id
    )
    .fetch_optional(conn)
    .await?)
}

/// The open case of a member, if any.
pub async fn open_case_of(
    conn: &mut PgConnection,
    town: Uuid,
    member: Uuid,
) -> Result<Option<Case>, ApiError> {
    Ok(sqlx::query_as!(
        Case,
        r#"SELECT id, town_id, member_id, original_branch_id, intake_transfer_id, reason, opened_on, opened_by,
                  policy_version, base_half_points AS "base_score: HalfPoints", score_half_points AS "score: HalfPoints",
                  status AS "status: CaseStatus", evaluation_due_at, entries_count, concluded_on,
                  conclusion AS "conclusion: Conclusion", created_at, updated_at, version
           FROM cases WHERE town_id = $1 AND member_id = $2 AND status <> 'concluded'"#,
        town,
        member
    )
    .fetch_optional(conn)
    .await?)
}

/// A page of a town's cases, in id order.
pub async fn list(
    conn: &mut PgConnection,
    town: Uuid,
    status: Option<CaseStatus>,
    member: Option<Uuid>,
    page: Keyset,
) -> Result<Vec<Case>, ApiError> {
    Ok(sqlx::query_as!(
        Case,
        r#"SELECT id, town_id, member_id, original_branch_id, intake_transfer_id, reason, opened_on, opened_by,
                  policy_version, base_half_points AS "base_score: HalfPoints", score_half_points AS "score: HalfPoints",
                  status AS "status: CaseStatus", evaluation_due_at, entries_count, concluded_on,
                  conclusion AS "conclusion: Conclusion", created_at, updated_at, version
           FROM cases
           WHERE town_id = $1 AND id > $2 AND ($3::text IS NULL OR status = $3) AND ($4::uuid IS NULL OR member_id = $4)
           ORDER BY id LIMIT $5"#,
        town,
        page.after_or_nil(),
        status.map(CaseStatus::as_str),
        member,
        page.fetch(),
    )
    .fetch_all(conn)
    .await?)
}

/// Marks a due case as under evaluation (an evaluation was scheduled); 409 unless it is due.
pub async fn start_evaluation(
    conn: &mut PgConnection,
    town: Uuid,
    case: Uuid,
) -> Result<(), ApiError> {
    let changed = sqlx::query!(
        "UPDATE cases SET status = 'under_evaluation', updated_at = now(), version = version + 1
         WHERE town_id = $1 AND id = $2 AND status = 'evaluation_due'",
        town,
        case
    )
    .execute(conn)
    .await?
    .rows_affected();
    if changed == 1 {
        Ok(())
    } else {
        Err(ApiError::conflict(
            "case_not_due",
            msg!(
                "该档案尚未达到民主评议分数线。",
                "The case is not due for an evaluation."
            ),
        ))
    }
}

/// Ends an evaluation that did not pass (failed, or cancelled): the case is no longer
/// under evaluation, and due again; with `restart`, the due flag is cleared too (the
/// caller has written the correction that brings the score back to the base, so reaching
/// the threshold again counts again). The ledger sets the status, from the score.
pub async fn end_evaluation(
    conn: &mut PgConnection,
    town: Uuid,
    case: Uuid,
    restart: bool,
) -> Result<(), ApiError> {
    crate::scores::end_evaluation(conn, town, case, restart).await
}

/// Ends a case, and with it the member's open mentorship (if any).
pub async fn conclude(
    conn: &mut PgConnection,
    caller: &crate::auth::Caller,
    town: Uuid,
    case: Uuid,
    how: Conclusion,
    on: NaiveDate,
) -> Result<(), ApiError> {
    let member = sqlx::query_scalar!(
        "UPDATE cases SET status = 'concluded', conclusion = $3, concluded_on = $4, updated_at = now(), version = version + 1
         WHERE town_id = $1 AND id = $2 AND status <> 'concluded'
         RETURNING member_id",
        town,
        case,
        how.as_str(),
        on,
    )
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(|| crate::scores::refusal_error(crate::scores::domain::Refusal::Concluded))?;
    crate::mentorships::repo::end_for_member(conn, caller, town, member, "转化档案结案").await?;
    Ok(())
}

/// The committee matters of a case, newest first.
pub async fn matters(
    conn: &mut PgConnection,
    town: Uuid,
    case: Uuid,
    keyset: Keyset,
) -> Result<Vec<Matter>, ApiError> {
    Ok(sqlx::query_as!(
        Matter,
        r#"SELECT id, case_id, opened_by_entry_id, opened_at, score_half_points AS "score: HalfPoints",
                  disposition AS "disposition: Disposition", disposition_note, deadline, decided_by, decided_at, version
           FROM committee_matters WHERE town_id = $1 AND case_id = $2 AND id < $3
           ORDER BY id DESC LIMIT $4"#,
        town,
        case,
        keyset.before_or_max_id(),
        keyset.fetch()
    )
    .fetch_all(conn)
    .await?)
}

/// Records the committee's disposition of an open matter, if it is still at `version`.
#[allow(clippy::too_many_arguments)]
pub async fn decide(
    conn: &mut PgConnection,
    town: Uuid,
    case: Uuid,
    matter: Uuid,
    version: Option<i64>,
    disposition: Disposition,
    note: &str,
    deadline: Option<NaiveDate>,
    by: &str,
) -> Result<Matter, ApiError> {
    let decided = sqlx::query_as!(
        Matter,
        r#"UPDATE committee_matters
           SET disposition = $5, disposition_note = $6, deadline = $7, decided_by = $8, decided_at = now(),
               version = version + 1
           WHERE town_id = $1 AND case_id = $2 AND id = $3 AND ($4::bigint IS NULL OR version = $4)
             AND disposition IS NULL
           RETURNING id, case_id, opened_by_entry_id, opened_at, score_half_points AS "score: HalfPoints",
                     disposition AS "disposition: Disposition", disposition_note, deadline, decided_by, decided_at, version"#,
        town,
        case,
        matter,
        version,
        disposition.as_str(),
        note,
        deadline,
        by,
    )
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(m) = decided {
        return Ok(m);
    }
    let current = sqlx::query!(
        "SELECT version, disposition IS NOT NULL AS decided FROM committee_matters WHERE town_id = $1 AND case_id = $2 AND id = $3",
        town,
        case,
        matter
    )
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(ApiError::NotFound)?;
    if current.decided == Some(true) {
        Err(ApiError::conflict(
            "matter_decided",
            msg!(
                "该事项已作出处理决定。",
                "The committee has decided this matter already."
            ),
        ))
    } else {
        Err(ApiError::PreconditionFailed)
    }
}
