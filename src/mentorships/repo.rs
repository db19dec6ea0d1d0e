//! SQL for mentorships and their logs. Functions take a connection so they run inside the
//! caller's transaction.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde_json::json;
use sqlx::PgConnection;
use uuid::Uuid;

use super::domain::{
    LoadMentee, MenteeBasis, MentorLoad, MentorLoads, Mentorship, MentorshipLog, ValidLog,
};
use crate::audit;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::http::paging::Keyset;

/// Whether `member` can mentor: an active member of the town's center branch with no
/// open case (members under transformation sit in the center branch too).
pub async fn is_center_staff(
    conn: &mut PgConnection,
    town: Uuid,
    member: Uuid,
) -> Result<bool, ApiError> {
    Ok(sqlx::query_scalar!(
        r#"SELECT EXISTS (
               SELECT 1 FROM members m JOIN branches b ON b.town_id = m.town_id AND b.id = m.branch_id
               WHERE m.town_id = $1 AND m.id = $2 AND m.status = 'active' AND b.kind = 'center'
                 AND NOT EXISTS (SELECT 1 FROM cases c WHERE c.town_id = m.town_id AND c.member_id = m.id
                                 AND c.status <> 'concluded')) AS "e!""#,
        town,
        member
    )
    .fetch_one(conn)
    .await?)
}

/// Why `member` may be mentored: a trainee of `year`'s open cohort, or a member with an
/// open case; `None` when neither.
pub async fn mentee_basis(
    conn: &mut PgConnection,
    town: Uuid,
    member: Uuid,
    year: i32,
) -> Result<Option<(MenteeBasis, Option<Uuid>, Option<Uuid>)>, ApiError> {
    if let Some(cohort) = crate::cohorts::repo::current_cohort_of(conn, town, member, year).await? {
        return Ok(Some((MenteeBasis::Trainee, Some(cohort), None)));
    }
    let case = sqlx::query_scalar!(
        "SELECT id FROM cases WHERE town_id = $1 AND member_id = $2 AND status <> 'concluded'",
        town,
        member
    )
    .fetch_optional(conn)
    .await?;
    Ok(case.map(|c| (MenteeBasis::Transformation, None, Some(c))))
}

/// What a new mentorship holds.
pub struct NewRow<'a> {
    /// The mentor, already checked to be center staff with no open case.
    pub mentor_id: Uuid,
    /// The mentor's token subject.
    pub mentor_subject: &'a str,
    /// The mentee, already checked to have a basis (trainee or open case).
    pub mentee_id: Uuid,
    /// Why the mentee is one.
    pub basis: MenteeBasis,
    /// The mentee's current cohort, when the basis is `trainee`; else `None`.
    pub cohort_id: Option<Uuid>,
    /// The mentee's open case, when the basis is `transformation`; else `None`.
    pub case_id: Option<Uuid>,
    /// The version of the policy the mentor limit was read from.
    pub policy_version: i32,
    /// The policy's mentor limit.
    pub mentor_limit: i32,
    /// The first day.
    pub started_on: NaiveDate,
}

/// Inserts a mentorship: the database refuses a mentee's second open one and a mentor's
/// one over the limit.
pub async fn insert(
    conn: &mut PgConnection,
    town: Uuid,
    id: Uuid,
    row: &NewRow<'_>,
    by: &str,
) -> Result<Mentorship, ApiError> {
    Ok(sqlx::query_as!(
        Mentorship,
        r#"INSERT INTO mentorships (town_id, id, mentor_id, mentor_subject, mentee_id, basis, cohort_id, case_id,
                                   policy_version, mentor_limit, started_on, created_by)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
           RETURNING id, town_id, mentor_id, mentor_subject, mentee_id, basis AS "basis: MenteeBasis", cohort_id,
                     case_id, policy_version, mentor_limit, started_on, created_by, ended_on, ended_by, end_reason,
                     created_at, updated_at, version"#,
        town,
        id,
        row.mentor_id,
        row.mentor_subject,
        row.mentee_id,
        row.basis.as_str(),
        row.cohort_id,
        row.case_id,
        row.policy_version,
        row.mentor_limit,
        row.started_on,
        by,
    )
    .fetch_one(conn)
    .await?)
}

/// One mentorship of a town.
pub async fn get(
    conn: &mut PgConnection,
    town: Uuid,
    id: Uuid,
) -> Result<Option<Mentorship>, ApiError> {
    Ok(sqlx::query_as!(
        Mentorship,
        r#"SELECT id, town_id, mentor_id, mentor_subject, mentee_id, basis AS "basis: MenteeBasis", cohort_id,
                  case_id, policy_version, mentor_limit, started_on, created_by, ended_on, ended_by, end_reason,
                  created_at, updated_at, version
           FROM mentorships WHERE town_id = $1 AND id = $2"#,
        town,
        id
    )
    .fetch_optional(conn)
    .await?)
}

/// One mentorship, locked until the transaction ends (404 when there is none).
pub async fn lock(conn: &mut PgConnection, town: Uuid, id: Uuid) -> Result<Mentorship, ApiError> {
    sqlx::query_as!(
        Mentorship,
        r#"SELECT id, town_id, mentor_id, mentor_subject, mentee_id, basis AS "basis: MenteeBasis", cohort_id,
                  case_id, policy_version, mentor_limit, started_on, created_by, ended_on, ended_by, end_reason,
                  created_at, updated_at, version
           FROM mentorships WHERE town_id = $1 AND id = $2 FOR UPDATE"#,
        town,
        id
    )
    .fetch_optional(conn)
    .await?
    .ok_or(ApiError::NotFound)
}

/// Filters of the mentorship list.
#[derive(Debug, Clone, Copy, Default)]
pub struct Filter {
    /// Of this mentor.
    pub mentor_id: Option<Uuid>,
    /// Of this mentee.
    pub mentee_id: Option<Uuid>,
    /// Only open (true) or only ended (false) ones.
    pub open: Option<bool>,
}

/// A page of a town's mentorships, in id order.
pub async fn list(
    conn: &mut PgConnection,
    town: Uuid,
    f: Filter,
    page: Keyset,
) -> Result<Vec<Mentorship>, ApiError> {
    Ok(sqlx::query_as!(
        Mentorship,
        r#"SELECT id, town_id, mentor_id, mentor_subject, mentee_id, basis AS "basis: MenteeBasis", cohort_id,
                  case_id, policy_version, mentor_limit, started_on, created_by, ended_on, ended_by, end_reason,
                  created_at, updated_at, version
           FROM mentorships
           WHERE town_id = $1 AND id > $2
             AND ($3::uuid IS NULL OR mentor_id = $3)
             AND ($4::uuid IS NULL OR mentee_id = $4)
             AND ($5::bool IS NULL OR (ended_on IS NULL) = $5)
           ORDER BY id LIMIT $6"#,
        town,
        page.after_or_nil(),
        f.mentor_id,
        f.mentee_id,
        f.open,
        page.fetch(),
    )
    .fetch_all(conn)
    .await?)
}

/// Ends an open mentorship.
pub async fn end(
    conn: &mut PgConnection,
    town: Uuid,
    id: Uuid,
    on: NaiveDate,
    by: &str,
    reason: &str,
) -> Result<Mentorship, ApiError> {
    Ok(sqlx::query_as!(
        Mentorship,
        r#"UPDATE mentorships SET ended_on = $3, ended_by = $4, end_reason = $5, version = version + 1, updated_at = now()
           WHERE town_id = $1 AND id = $2
           RETURNING id, town_id, mentor_id, mentor_subject, mentee_id, basis AS "basis: MenteeBasis", cohort_id,
                     case_id, policy_version, mentor_limit, started_on, created_by, ended_on, ended_by, end_reason,
                     created_at, updated_at, version"#,
        town,
        id,
        on,
        by,
        reason,
    )
    .fetch_one(conn)
    .await?)
}

/// Ends every open mentorship picked by `cohort` or `mentee` (today, or the start day if
/// later), auditing each; returns their ids.
async fn end_open(
    conn: &mut PgConnection,
    caller: &Caller,
    town: Uuid,
    cohort: Option<Uuid>,
    mentee: Option<Uuid>,
    reason: &str,
) -> Result<Vec<Uuid>, ApiError> {
    let today = crate::towns::repo::today(conn, town).await?;
    let rows = sqlx::query!(
        "UPDATE mentorships
         SET ended_on = GREATEST($4::date, started_on), ended_by = $5, end_reason = $6,
             version = version + 1, updated_at = now()
         WHERE town_id = $1 AND ended_on IS NULL
           AND ($2::uuid IS NULL OR cohort_id = $2) AND ($3::uuid IS NULL OR mentee_id = $3)
         RETURNING id, mentor_id, mentee_id, ended_on AS \"ended_on!\"",
        town,
        cohort,
        mentee,
        today,
        caller.sub,
        reason,
    )
    .fetch_all(&mut *conn)
    .await?;
    // One audit row per ended mentorship, in one statement.
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    let data: Vec<serde_json::Value> = rows
        .iter()
        .map(|r| {
            json!({ "mentor_id": r.mentor_id, "mentee_id": r.mentee_id, "ended_on": r.ended_on,
                    "cohort_id": cohort, "automatic": true })
        })
        .collect();
    let actions = vec!["mentorship.ended".to_owned(); ids.len()];
    if !ids.is_empty() {
        audit::record_many(conn, caller, town, "mentorship", &actions, &ids, &data).await?;
    }
    Ok(ids)
}

/// Ends the open mentorships of a cohort's trainees (the cohort is closing).
pub async fn end_for_cohort(
    conn: &mut PgConnection,
    caller: &Caller,
    town: Uuid,
    cohort: Uuid,
    reason: &str,
) -> Result<Vec<Uuid>, ApiError> {
    end_open(conn, caller, town, Some(cohort), None, reason).await
}

/// Ends the open mentorship of a trainee removed from a cohort (basis trainee of that
/// cohort only).
pub async fn end_for_trainee(
    conn: &mut PgConnection,
    caller: &Caller,
    town: Uuid,
    cohort: Uuid,
    member: Uuid,
    reason: &str,
) -> Result<Vec<Uuid>, ApiError> {
    end_open(conn, caller, town, Some(cohort), Some(member), reason).await
}

/// Ends `member`'s open mentorship as a mentee, whatever its basis, in the caller's
/// transaction, with an audit record: for the cases code when a case concludes. Returns
/// the ids of the mentorships ended (none, or one).
pub async fn end_for_member(
    conn: &mut PgConnection,
    caller: &Caller,
    town: Uuid,
    member: Uuid,
    reason: &str,
) -> Result<Vec<Uuid>, ApiError> {
    end_open(conn, caller, town, None, Some(member), reason).await
}

/// Appends a log entry.
pub async fn insert_log(
    conn: &mut PgConnection,
    town: Uuid,
    id: Uuid,
    mentorship: Uuid,
    log: &ValidLog,
    by: &str,
) -> Result<MentorshipLog, ApiError> {
    Ok(sqlx::query_as!(
        MentorshipLog,
        "INSERT INTO mentorship_logs (town_id, id, mentorship_id, met_on, topic, study_notes, work_notes, written_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         RETURNING id, mentorship_id, met_on, topic, study_notes, work_notes, written_by, created_at",
        town,
        id,
        mentorship,
        log.met_on,
        log.topic,
        log.study_notes,
        log.work_notes,
        by,
    )
    .fetch_one(conn)
    .await?)
}

/// A page of a mentorship's log, in id (writing) order.
pub async fn logs(
    conn: &mut PgConnection,
    town: Uuid,
    mentorship: Uuid,
    page: Keyset,
) -> Result<Vec<MentorshipLog>, ApiError> {
    Ok(sqlx::query_as!(
        MentorshipLog,
        "SELECT id, mentorship_id, met_on, topic, study_notes, work_notes, written_by, created_at
         FROM mentorship_logs WHERE town_id = $1 AND mentorship_id = $2 AND id > $3
         ORDER BY id LIMIT $4",
        town,
        mentorship,
        page.after_or_nil(),
        page.fetch(),
    )
    .fetch_all(conn)
    .await?)
}

/// Mentor loads: every member who can mentor, and anyone with open mentorships, with
/// their open mentees; by name.
pub async fn loads(
    conn: &mut PgConnection,
    town: Uuid,
    limit: i32,
) -> Result<MentorLoads, ApiError> {
    let mentors = sqlx::query!(
        r#"SELECT m.id, m.name
           FROM members m
           WHERE m.town_id = $1 AND (
               EXISTS (SELECT 1 FROM mentorships ms WHERE ms.town_id = m.town_id AND ms.mentor_id = m.id
                       AND ms.ended_on IS NULL)
               OR (m.status = 'active'
                   AND EXISTS (SELECT 1 FROM branches b WHERE b.town_id = m.town_id AND b.id = m.branch_id
                               AND b.kind = 'center')
                   AND NOT EXISTS (SELECT 1 FROM cases c WHERE c.town_id = m.town_id AND c.member_id = m.id
                                   AND c.status <> 'concluded')))
           ORDER BY m.name, m.id"#,
        town
    )
    .fetch_all(&mut *conn)
    .await?;
    let mentees = sqlx::query!(
        r#"SELECT ms.mentor_id, ms.id, ms.mentee_id, m.name, ms.basis AS "basis: MenteeBasis", ms.started_on
           FROM mentorships ms JOIN members m ON m.town_id = ms.town_id AND m.id = ms.mentee_id
           WHERE ms.town_id = $1 AND ms.ended_on IS NULL
           ORDER BY ms.started_on, ms.id"#,
        town
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut by_mentor: BTreeMap<Uuid, Vec<LoadMentee>> = BTreeMap::new();
    for r in mentees {
        by_mentor.entry(r.mentor_id).or_default().push(LoadMentee {
            mentorship_id: r.id,
            member_id: r.mentee_id,
            name: r.name,
            basis: r.basis,
            started_on: r.started_on,
        });
    }
    let items = mentors
        .into_iter()
        .map(|m| {
            let mentees = by_mentor.remove(&m.id).unwrap_or_default();
            MentorLoad {
                mentor_id: m.id,
                name: m.name,
                open_count: mentees.len() as i64,
                limit,
                mentees,
            }
        })
        .collect();
    Ok(MentorLoads { items })
}
