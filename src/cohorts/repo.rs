//! SQL for cohorts, trainees and placements. Functions take a connection so they run
//! inside the caller's transaction.

use std::collections::HashMap;

use chrono::NaiveDate;
use sqlx::PgConnection;
use uuid::Uuid;

use super::domain::{
    Cohort, CohortStatus, EligibleAs, MyCohort, Placement, PlacementKind, RosterEntry,
    RosterMentor, Trainee, ValidPlacement, attendance_rate,
};
use crate::error::ApiError;
use crate::http::paging::Keyset;

/// Inserts a cohort with the policy's bounds.
pub async fn insert(
    conn: &mut PgConnection,
    town: Uuid,
    id: Uuid,
    year: i32,
    policy: &crate::policy::Policy,
    by: &str,
) -> Result<Cohort, ApiError> {
    Ok(sqlx::query_as!(
        Cohort,
        r#"INSERT INTO cohorts (town_id, id, year, policy_version, min_size, max_size, created_by)
           VALUES ($1, $2, $3, $4, $5, $6, $7)
           RETURNING id, town_id, year, status AS "status: CohortStatus", policy_version, min_size, max_size,
                     trainee_count, created_by, confirmed_on, confirmed_by, closed_on, closed_by, close_reason,
                     created_at, updated_at, version"#,
        town,
        id,
        year,
        policy.version,
        policy.cohort_min,
        policy.cohort_max,
        by,
    )
    .fetch_one(conn)
    .await?)
}

/// One cohort of a town.
pub async fn get(
    conn: &mut PgConnection,
    town: Uuid,
    id: Uuid,
) -> Result<Option<Cohort>, ApiError> {
    Ok(sqlx::query_as!(
        Cohort,
        r#"SELECT id, town_id, year, status AS "status: CohortStatus", policy_version, min_size, max_size,
                  trainee_count, created_by, confirmed_on, confirmed_by, closed_on, closed_by, close_reason,
                  created_at, updated_at, version
           FROM cohorts WHERE town_id = $1 AND id = $2"#,
        town,
        id
    )
    .fetch_optional(conn)
    .await?)
}

/// One cohort of a town, locked until the transaction ends: trainee changes, placements,
/// confirmation and closing of one cohort are serialized on it.
pub async fn lock(conn: &mut PgConnection, town: Uuid, id: Uuid) -> Result<Cohort, ApiError> {
    sqlx::query_as!(
        Cohort,
        r#"SELECT id, town_id, year, status AS "status: CohortStatus", policy_version, min_size, max_size,
                  trainee_count, created_by, confirmed_on, confirmed_by, closed_on, closed_by, close_reason,
                  created_at, updated_at, version
           FROM cohorts WHERE town_id = $1 AND id = $2 FOR UPDATE"#,
        town,
        id
    )
    .fetch_optional(conn)
    .await?
    .ok_or(ApiError::NotFound)
}

/// A page of a town's cohorts, optionally of one year, in id order.
pub async fn list(
    conn: &mut PgConnection,
    town: Uuid,
    year: Option<i32>,
    page: Keyset,
) -> Result<Vec<Cohort>, ApiError> {
    Ok(sqlx::query_as!(
        Cohort,
        r#"SELECT id, town_id, year, status AS "status: CohortStatus", policy_version, min_size, max_size,
                  trainee_count, created_by, confirmed_on, confirmed_by, closed_on, closed_by, close_reason,
                  created_at, updated_at, version
           FROM cohorts
           WHERE town_id = $1 AND id > $2 AND ($3::int IS NULL OR year = $3)
           ORDER BY id LIMIT $4"#,
        town,
        page.after_or_nil(),
        year,
        page.fetch(),
    )
    .fetch_all(conn)
    .await?)
}

/// What selection needs to know of a member: active, outstanding young, reserve cadre.
pub struct MemberFacts {
    /// Active in a branch of the town.
    pub active: bool,
    /// An outstanding young member.
    pub outstanding_young: bool,
    /// A village reserve cadre.
    pub reserve_cadre: bool,
}

/// The selection facts of a member of the town; `None` when the town has no such member.
pub async fn member_facts(
    conn: &mut PgConnection,
    town: Uuid,
    member: Uuid,
) -> Result<Option<MemberFacts>, ApiError> {
    Ok(sqlx::query_as!(
        MemberFacts,
        r#"SELECT status = 'active' AND branch_id IS NOT NULL AS "active!", outstanding_young, reserve_cadre
           FROM members WHERE town_id = $1 AND id = $2"#,
        town,
        member
    )
    .fetch_optional(conn)
    .await?)
}

/// Adds a trainee (the database moves the cohort's count, refusing one over the maximum
/// and any change once the cohort is no longer selecting).
pub async fn insert_trainee(
    conn: &mut PgConnection,
    cohort: &Cohort,
    member: Uuid,
    eligible_as: EligibleAs,
    by: &str,
) -> Result<Trainee, ApiError> {
    sqlx::query!(
        "INSERT INTO cohort_trainees (town_id, cohort_id, member_id, year, eligible_as, added_by)
         VALUES ($1, $2, $3, $4, $5, $6)",
        cohort.town_id,
        cohort.id,
        member,
        cohort.year,
        eligible_as.as_str(),
        by,
    )
    .execute(&mut *conn)
    .await?;
    trainee(conn, cohort.town_id, cohort.id, member)
        .await?
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("trainee vanished after insert")))
}

/// One trainee of a cohort.
pub async fn trainee(
    conn: &mut PgConnection,
    town: Uuid,
    cohort: Uuid,
    member: Uuid,
) -> Result<Option<Trainee>, ApiError> {
    Ok(sqlx::query_as!(
        Trainee,
        r#"SELECT t.cohort_id, t.member_id, m.name, m.village, t.eligible_as AS "eligible_as: EligibleAs",
                  t.added_by, t.added_at
           FROM cohort_trainees t JOIN members m ON m.town_id = t.town_id AND m.id = t.member_id
           WHERE t.town_id = $1 AND t.cohort_id = $2 AND t.member_id = $3"#,
        town,
        cohort,
        member
    )
    .fetch_optional(conn)
    .await?)
}

/// A page of a cohort's trainees, in member id order.
pub async fn trainees(
    conn: &mut PgConnection,
    town: Uuid,
    cohort: Uuid,
    page: Keyset,
) -> Result<Vec<Trainee>, ApiError> {
    Ok(sqlx::query_as!(
        Trainee,
        r#"SELECT t.cohort_id, t.member_id, m.name, m.village, t.eligible_as AS "eligible_as: EligibleAs",
                  t.added_by, t.added_at
           FROM cohort_trainees t JOIN members m ON m.town_id = t.town_id AND m.id = t.member_id
           WHERE t.town_id = $1 AND t.cohort_id = $2 AND t.member_id > $3
           ORDER BY t.member_id LIMIT $4"#,
        town,
        cohort,
        page.after_or_nil(),
        page.fetch(),
    )
    .fetch_all(conn)
    .await?)
}

/// Removes a trainee; false when they were not one.
pub async fn delete_trainee(
    conn: &mut PgConnection,
    town: Uuid,
    cohort: Uuid,
    member: Uuid,
) -> Result<bool, ApiError> {
    let n = sqlx::query!(
        "DELETE FROM cohort_trainees WHERE town_id = $1 AND cohort_id = $2 AND member_id = $3",
        town,
        cohort,
        member
    )
    .execute(conn)
    .await?
    .rows_affected();
    Ok(n == 1)
}

/// Marks a (locked, checked) cohort confirmed.
pub async fn confirm(
    conn: &mut PgConnection,
    town: Uuid,
    id: Uuid,
    on: NaiveDate,
    by: &str,
) -> Result<Cohort, ApiError> {
    Ok(sqlx::query_as!(
        Cohort,
        r#"UPDATE cohorts SET status = 'confirmed', confirmed_on = $3, confirmed_by = $4,
               version = version + 1, updated_at = now()
           WHERE town_id = $1 AND id = $2
           RETURNING id, town_id, year, status AS "status: CohortStatus", policy_version, min_size, max_size,
                     trainee_count, created_by, confirmed_on, confirmed_by, closed_on, closed_by, close_reason,
                     created_at, updated_at, version"#,
        town,
        id,
        on,
        by,
    )
    .fetch_one(conn)
    .await?)
}

/// Marks a (locked, checked) cohort closed.
pub async fn close(
    conn: &mut PgConnection,
    town: Uuid,
    id: Uuid,
    on: NaiveDate,
    by: &str,
    reason: &str,
) -> Result<Cohort, ApiError> {
    Ok(sqlx::query_as!(
        Cohort,
        r#"UPDATE cohorts SET status = 'closed', closed_on = $3, closed_by = $4, close_reason = $5,
               version = version + 1, updated_at = now()
           WHERE town_id = $1 AND id = $2
           RETURNING id, town_id, year, status AS "status: CohortStatus", policy_version, min_size, max_size,
                     trainee_count, created_by, confirmed_on, confirmed_by, closed_on, closed_by, close_reason,
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

/// Records a placement (the exclusion constraint refuses an overlapping one).
pub async fn insert_placement(
    conn: &mut PgConnection,
    town: Uuid,
    id: Uuid,
    cohort: Uuid,
    member: Uuid,
    p: &ValidPlacement,
    by: &str,
) -> Result<Placement, ApiError> {
    Ok(sqlx::query_as!(
        Placement,
        r#"INSERT INTO placements (town_id, id, cohort_id, member_id, kind, post, unit, note, starts_on, ends_on, created_by)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
           RETURNING id, cohort_id, member_id, kind AS "kind: PlacementKind", post, unit, note, starts_on, ends_on,
                     created_by, created_at"#,
        town,
        id,
        cohort,
        member,
        p.kind.as_str(),
        p.post,
        p.unit,
        p.note,
        p.starts_on,
        p.ends_on,
        by,
    )
    .fetch_one(conn)
    .await?)
}

/// The placements of a cohort, or of one of its trainees, by trainee and start date.
pub async fn placements(
    conn: &mut PgConnection,
    town: Uuid,
    cohort: Uuid,
    member: Option<Uuid>,
) -> Result<Vec<Placement>, ApiError> {
    Ok(sqlx::query_as!(
        Placement,
        r#"SELECT id, cohort_id, member_id, kind AS "kind: PlacementKind", post, unit, note, starts_on, ends_on,
                  created_by, created_at
           FROM placements
           WHERE town_id = $1 AND cohort_id = $2 AND ($3::uuid IS NULL OR member_id = $3)
           ORDER BY member_id, starts_on, id"#,
        town,
        cohort,
        member,
    )
    .fetch_all(conn)
    .await?)
}

/// The open mentorships of `mentees`, with their mentor's name.
pub async fn open_mentors(
    conn: &mut PgConnection,
    town: Uuid,
    mentees: &[Uuid],
) -> Result<HashMap<Uuid, RosterMentor>, ApiError> {
    let rows = sqlx::query!(
        "SELECT ms.mentee_id, ms.id, ms.mentor_id, m.name, ms.started_on
         FROM mentorships ms JOIN members m ON m.town_id = ms.town_id AND m.id = ms.mentor_id
         WHERE ms.town_id = $1 AND ms.mentee_id = ANY($2) AND ms.ended_on IS NULL",
        town,
        mentees,
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let mentor = RosterMentor {
                mentorship_id: r.id,
                mentor_id: r.mentor_id,
                mentor_name: r.name,
                started_on: r.started_on,
            };
            (r.mentee_id, mentor)
        })
        .collect())
}

/// Attendance of `members` at the center's activities of `year` (in the town's zone)
/// whose roll has been recorded: (required, present, excused) per member (art. 17).
pub async fn attendance(
    conn: &mut PgConnection,
    town: Uuid,
    year: i32,
    members: &[Uuid],
) -> Result<HashMap<Uuid, (i64, i64, i64)>, ApiError> {
    let rows = sqlx::query!(
        r#"SELECT aa.member_id, count(*) AS "required!", count(*) FILTER (WHERE r.status = 'present') AS "present!",
                  count(*) FILTER (WHERE r.status = 'excused') AS "excused!"
           FROM activity_attendees aa
           JOIN activities a ON a.town_id = aa.town_id AND a.id = aa.activity_id
           JOIN towns t ON t.id = aa.town_id
           LEFT JOIN attendance_records r
                  ON r.town_id = aa.town_id AND r.activity_id = aa.activity_id AND r.member_id = aa.member_id
           WHERE aa.town_id = $1 AND aa.member_id = ANY($2) AND a.roll_recorded_at IS NOT NULL
             AND EXTRACT(YEAR FROM a.starts_at AT TIME ZONE t.time_zone)::int = $3
           GROUP BY aa.member_id"#,
        town,
        members,
        year,
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| (r.member_id, (r.required, r.present, r.excused)))
        .collect())
}

/// The roster: every trainee of the cohort with placements, mentor and attendance, by name.
pub async fn roster(
    conn: &mut PgConnection,
    cohort: &Cohort,
) -> Result<Vec<RosterEntry>, ApiError> {
    let town = cohort.town_id;
    let trainees = sqlx::query_as!(
        Trainee,
        r#"SELECT t.cohort_id, t.member_id, m.name, m.village, t.eligible_as AS "eligible_as: EligibleAs",
                  t.added_by, t.added_at
           FROM cohort_trainees t JOIN members m ON m.town_id = t.town_id AND m.id = t.member_id
           WHERE t.town_id = $1 AND t.cohort_id = $2
           ORDER BY m.name, t.member_id"#,
        town,
        cohort.id,
    )
    .fetch_all(&mut *conn)
    .await?;
    let ids: Vec<Uuid> = trainees.iter().map(|t| t.member_id).collect();
    let mut placements_by: HashMap<Uuid, Vec<Placement>> = HashMap::new();
    for p in placements(conn, town, cohort.id, None).await? {
        placements_by.entry(p.member_id).or_default().push(p);
    }
    let mut mentors = open_mentors(conn, town, &ids).await?;
    let attendance = attendance(conn, town, cohort.year, &ids).await?;
    Ok(trainees
        .into_iter()
        .map(|t| {
            let (required, present, excused) =
                attendance.get(&t.member_id).copied().unwrap_or((0, 0, 0));
            RosterEntry {
                placements: placements_by.remove(&t.member_id).unwrap_or_default(),
                mentor: mentors.remove(&t.member_id),
                attendance_required: required,
                attendance_present: present,
                attendance_excused: excused,
                attendance_rate: attendance_rate(present, required),
                attendance_rate_without_excused: attendance_rate(present, required - excused),
                member_id: t.member_id,
                name: t.name,
                village: t.village,
                eligible_as: t.eligible_as,
            }
        })
        .collect())
}

/// The cohorts a member is a trainee of, newest first, with their placements.
pub async fn cohorts_of_member(
    conn: &mut PgConnection,
    town: Uuid,
    member: Uuid,
) -> Result<Vec<MyCohort>, ApiError> {
    let rows = sqlx::query!(
        r#"SELECT c.id, c.year, c.status AS "status: CohortStatus"
           FROM cohort_trainees t JOIN cohorts c ON c.town_id = t.town_id AND c.id = t.cohort_id
           WHERE t.town_id = $1 AND t.member_id = $2
           ORDER BY c.year DESC"#,
        town,
        member
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        out.push(MyCohort {
            cohort_id: r.id,
            year: r.year,
            status: r.status,
            placements: placements(conn, town, r.id, Some(member)).await?,
        });
    }
    Ok(out)
}

/// The current (this year's, not closed) cohort a member is a trainee of, if any.
pub async fn current_cohort_of(
    conn: &mut PgConnection,
    town: Uuid,
    member: Uuid,
    year: i32,
) -> Result<Option<Uuid>, ApiError> {
    Ok(sqlx::query_scalar!(
        "SELECT c.id
         FROM cohort_trainees t JOIN cohorts c ON c.town_id = t.town_id AND c.id = t.cohort_id
         WHERE t.town_id = $1 AND t.member_id = $2 AND c.year = $3 AND c.status <> 'closed'",
        town,
        member,
        year,
    )
    .fetch_optional(conn)
    .await?)
}

/// The id of the town's cohort of `year`, if there is one.
pub async fn of_year(
    conn: &mut PgConnection,
    town: Uuid,
    year: i32,
) -> Result<Option<Uuid>, ApiError> {
    Ok(sqlx::query_scalar!(
        "SELECT id FROM cohorts WHERE town_id = $1 AND year = $2",
        town,
        year
    )
    .fetch_optional(conn)
    .await?)
}
