//! SQL for the development pipeline: applicants, their steps and sponsors, and the
//! member record the pipeline makes and updates. Functions take a connection so they run
//! inside the caller's transaction.

use chrono::NaiveDate;
use sqlx::PgConnection;
use uuid::Uuid;

use super::domain::{ApplicantRow, Stage, Step, StepKind, ValidApplicant};
use crate::error::ApiError;
use crate::http::paging::Keyset;

/// Inserts an applicant at the `applicant` stage.
pub async fn insert(
    conn: &mut PgConnection,
    town: Uuid,
    id: Uuid,
    a: &ValidApplicant,
    by: &str,
) -> Result<ApplicantRow, ApiError> {
    Ok(sqlx::query_as!(
        ApplicantRow,
        r#"INSERT INTO applicants (town_id, id, branch_id, name, national_id, phone, village, applied_on, created_by)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
           RETURNING id, town_id, branch_id, name, national_id, phone, village, stage AS "stage: Stage",
                     applied_on, talked_on, activist_on, last_review_on, candidate_on, political_review_on,
                     training_days, admitted_on, approved_on, probation_ends_on, extended, converted_vote_on,
                     full_on, ended_on, end_reason, member_id,
                     '{}'::uuid[] AS "contacts!", '{}'::uuid[] AS "introducers!",
                     created_by, created_at, updated_at, version"#,
        town,
        id,
        a.branch_id,
        a.name,
        a.national_id.as_str(),
        a.phone.as_ref().map(|p| p.as_str()),
        a.village,
        a.applied_on,
        by,
    )
    .fetch_one(conn)
    .await?)
}

/// Whether the town has a member with this national ID number.
pub async fn is_member(
    conn: &mut PgConnection,
    town: Uuid,
    national_id: &str,
) -> Result<bool, ApiError> {
    Ok(sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM members WHERE town_id = $1 AND national_id = $2) AS "e!""#,
        town,
        national_id
    )
    .fetch_one(conn)
    .await?)
}

/// Whether `branch` is a branch of `town`.
pub async fn branch_exists(
    conn: &mut PgConnection,
    town: Uuid,
    branch: Uuid,
) -> Result<bool, ApiError> {
    Ok(sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM branches WHERE town_id = $1 AND id = $2) AS "e!""#,
        town,
        branch
    )
    .fetch_one(conn)
    .await?)
}

/// One applicant of a town, with their contact persons and introducers.
pub async fn get(
    conn: &mut PgConnection,
    town: Uuid,
    id: Uuid,
) -> Result<Option<ApplicantRow>, ApiError> {
    Ok(sqlx::query_as!(
        ApplicantRow,
        r#"SELECT id, town_id, branch_id, name, national_id, phone, village, stage AS "stage: Stage",
                  applied_on, talked_on, activist_on, last_review_on, candidate_on, political_review_on,
                  training_days, admitted_on, approved_on, probation_ends_on, extended, converted_vote_on,
                  full_on, ended_on, end_reason, member_id,
                  ARRAY(SELECT s.member_id FROM applicant_sponsors s WHERE s.town_id = a.town_id
                        AND s.applicant_id = a.id AND s.role = 'contact' ORDER BY s.member_id) AS "contacts!",
                  ARRAY(SELECT s.member_id FROM applicant_sponsors s WHERE s.town_id = a.town_id
                        AND s.applicant_id = a.id AND s.role = 'introducer' ORDER BY s.member_id) AS "introducers!",
                  created_by, created_at, updated_at, version
           FROM applicants a WHERE town_id = $1 AND id = $2"#,
        town,
        id
    )
    .fetch_optional(conn)
    .await?)
}

/// Locks an applicant's row for a step until the transaction ends; then reads it.
pub async fn get_for_update(
    conn: &mut PgConnection,
    town: Uuid,
    id: Uuid,
) -> Result<Option<ApplicantRow>, ApiError> {
    let found = sqlx::query_scalar!(
        "SELECT id FROM applicants WHERE town_id = $1 AND id = $2 FOR UPDATE",
        town,
        id
    )
    .fetch_optional(&mut *conn)
    .await?;
    match found {
        Some(_) => get(conn, town, id).await,
        None => Ok(None),
    }
}

/// The filters of the applicant list.
#[derive(Debug, Clone, Copy, Default)]
pub struct Filter {
    /// Only this stage.
    pub stage: Option<Stage>,
    /// Only this branch.
    pub branch_id: Option<Uuid>,
}

/// A page of a town's applicants in id order.
pub async fn list(
    conn: &mut PgConnection,
    town: Uuid,
    filter: Filter,
    page: Keyset,
) -> Result<Vec<ApplicantRow>, ApiError> {
    Ok(sqlx::query_as!(
        ApplicantRow,
        r#"SELECT id, town_id, branch_id, name, national_id, phone, village, stage AS "stage: Stage",
                  applied_on, talked_on, activist_on, last_review_on, candidate_on, political_review_on,
                  training_days, admitted_on, approved_on, probation_ends_on, extended, converted_vote_on,
                  full_on, ended_on, end_reason, member_id,
                  ARRAY(SELECT s.member_id FROM applicant_sponsors s WHERE s.town_id = a.town_id
                        AND s.applicant_id = a.id AND s.role = 'contact' ORDER BY s.member_id) AS "contacts!",
                  ARRAY(SELECT s.member_id FROM applicant_sponsors s WHERE s.town_id = a.town_id
                        AND s.applicant_id = a.id AND s.role = 'introducer' ORDER BY s.member_id) AS "introducers!",
                  created_by, created_at, updated_at, version
           FROM applicants a
           WHERE town_id = $1 AND id > $2
             AND ($3::text IS NULL OR stage = $3)
             AND ($4::uuid IS NULL OR branch_id = $4)
           ORDER BY id LIMIT $5"#,
        town,
        page.after_or_nil(),
        filter.stage.map(Stage::as_str),
        filter.branch_id,
        page.fetch(),
    )
    .fetch_all(conn)
    .await?)
}

/// Every applicant of a town still on the way (not full, withdrawn or disqualified),
/// optionally of one branch: what can be overdue.
pub async fn open(
    conn: &mut PgConnection,
    town: Uuid,
    branch: Option<Uuid>,
) -> Result<Vec<ApplicantRow>, ApiError> {
    Ok(sqlx::query_as!(
        ApplicantRow,
        r#"SELECT id, town_id, branch_id, name, national_id, phone, village, stage AS "stage: Stage",
                  applied_on, talked_on, activist_on, last_review_on, candidate_on, political_review_on,
                  training_days, admitted_on, approved_on, probation_ends_on, extended, converted_vote_on,
                  full_on, ended_on, end_reason, member_id,
                  '{}'::uuid[] AS "contacts!", '{}'::uuid[] AS "introducers!",
                  created_by, created_at, updated_at, version
           FROM applicants a
           WHERE town_id = $1 AND stage NOT IN ('full', 'withdrawn', 'disqualified')
             AND ($2::uuid IS NULL OR branch_id = $2)
           ORDER BY id"#,
        town,
        branch,
    )
    .fetch_all(conn)
    .await?)
}

/// How many applicants of a town are at each stage, by branch (branches with none left out).
pub struct StageCount {
    /// The branch counted.
    pub branch_id: Uuid,
    /// The branch's name, for the report.
    pub branch_name: String,
    /// The stage counted.
    pub stage: Stage,
    /// How many.
    pub count: i64,
}

/// The counts by branch and stage, optionally of one branch.
pub async fn stage_counts(
    conn: &mut PgConnection,
    town: Uuid,
    branch: Option<Uuid>,
) -> Result<Vec<StageCount>, ApiError> {
    Ok(sqlx::query_as!(
        StageCount,
        r#"SELECT a.branch_id, b.name AS branch_name, a.stage AS "stage: Stage", count(*) AS "count!"
           FROM applicants a JOIN branches b ON b.town_id = a.town_id AND b.id = a.branch_id
           WHERE a.town_id = $1 AND ($2::uuid IS NULL OR a.branch_id = $2)
           GROUP BY a.branch_id, b.name, a.stage
           ORDER BY b.name, a.branch_id"#,
        town,
        branch,
    )
    .fetch_all(conn)
    .await?)
}

/// The names of a town's branches by id, for reports.
pub async fn branch_names(
    conn: &mut PgConnection,
    town: Uuid,
) -> Result<Vec<(Uuid, String)>, ApiError> {
    let rows = sqlx::query!(
        "SELECT id, name FROM branches WHERE town_id = $1 ORDER BY name, id",
        town
    )
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(|r| (r.id, r.name)).collect())
}

/// Writes the stage and dates of `a` (after a step), one version more.
pub async fn save(conn: &mut PgConnection, a: &ApplicantRow) -> Result<i64, ApiError> {
    Ok(sqlx::query_scalar!(
        "UPDATE applicants
         SET stage = $3, talked_on = $4, activist_on = $5, last_review_on = $6, candidate_on = $7,
             political_review_on = $8, training_days = $9, admitted_on = $10, approved_on = $11,
             probation_ends_on = $12, extended = $13, converted_vote_on = $14, full_on = $15,
             ended_on = $16, end_reason = $17, member_id = $18,
             version = version + 1, updated_at = now()
         WHERE town_id = $1 AND id = $2
         RETURNING version",
        a.town_id,
        a.id,
        a.stage.as_str(),
        a.talked_on,
        a.activist_on,
        a.last_review_on,
        a.candidate_on,
        a.political_review_on,
        a.training_days,
        a.admitted_on,
        a.approved_on,
        a.probation_ends_on,
        a.extended,
        a.converted_vote_on,
        a.full_on,
        a.ended_on,
        a.end_reason,
        a.member_id,
    )
    .fetch_one(conn)
    .await?)
}

/// Appends a step.
#[allow(clippy::too_many_arguments)]
pub async fn insert_step(
    conn: &mut PgConnection,
    town: Uuid,
    applicant: Uuid,
    kind: StepKind,
    taken_on: NaiveDate,
    decided_by: &str,
    note: Option<&str>,
    data: serde_json::Value,
    policy_version: i32,
    by: &str,
) -> Result<Step, ApiError> {
    Ok(sqlx::query_as!(
        Step,
        r#"INSERT INTO applicant_steps (town_id, id, applicant_id, kind, taken_on, decided_by, note, data,
                                        policy_version, recorded_by)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
           RETURNING id, applicant_id, kind AS "kind: StepKind", taken_on, decided_by, note, data,
                     policy_version, recorded_by, recorded_at"#,
        town,
        Uuid::now_v7(),
        applicant,
        kind.as_str(),
        taken_on,
        decided_by,
        note,
        data,
        policy_version,
        by,
    )
    .fetch_one(conn)
    .await?)
}

/// Records the contact persons or introducers a step named.
pub async fn insert_sponsors(
    conn: &mut PgConnection,
    town: Uuid,
    applicant: Uuid,
    role: &str,
    step: Uuid,
    members: &[Uuid],
) -> Result<(), ApiError> {
    sqlx::query!(
        "INSERT INTO applicant_sponsors (town_id, applicant_id, member_id, role, step_id)
         SELECT $1, $2, m, $3, $4 FROM UNNEST($5::uuid[]) AS m",
        town,
        applicant,
        role,
        step,
        members,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Of `members`, those that are not full members of `town` in one of its branches
/// (unknown, probationary, or not `active`): they cannot be contact persons or introducers.
pub async fn not_full_members(
    conn: &mut PgConnection,
    town: Uuid,
    members: &[Uuid],
) -> Result<Vec<Uuid>, ApiError> {
    Ok(sqlx::query_scalar!(
        r#"SELECT m AS "m!" FROM UNNEST($2::uuid[]) AS m
           WHERE NOT EXISTS (SELECT 1 FROM members x WHERE x.town_id = $1 AND x.id = m
                             AND x.status = 'active' AND x.standing = 'full')"#,
        town,
        members,
    )
    .fetch_all(conn)
    .await?)
}

/// The steps of an applicant, in the order of their dates.
pub async fn steps(
    conn: &mut PgConnection,
    town: Uuid,
    applicant: Uuid,
) -> Result<Vec<Step>, ApiError> {
    Ok(sqlx::query_as!(
        Step,
        r#"SELECT id, applicant_id, kind AS "kind: StepKind", taken_on, decided_by, note, data,
                  policy_version, recorded_by, recorded_at
           FROM applicant_steps WHERE town_id = $1 AND applicant_id = $2
           ORDER BY taken_on, id"#,
        town,
        applicant
    )
    .fetch_all(conn)
    .await?)
}

/// Marks a member record made by the pipeline probationary.
pub async fn make_probationary(
    conn: &mut PgConnection,
    town: Uuid,
    member: Uuid,
) -> Result<(), ApiError> {
    sqlx::query!(
        "UPDATE members SET standing = 'probationary', updated_at = now(), version = version + 1
         WHERE town_id = $1 AND id = $2",
        town,
        member
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Makes a probationary member full, party standing counting from `since`.
pub async fn make_full(
    conn: &mut PgConnection,
    town: Uuid,
    member: Uuid,
    since: NaiveDate,
) -> Result<(), ApiError> {
    sqlx::query!(
        "UPDATE members SET standing = 'full', full_member_since = $3, updated_at = now(), version = version + 1
         WHERE town_id = $1 AND id = $2",
        town,
        member,
        since
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Ends the membership of a disqualified probationary member (`removed`; the record stays).
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
