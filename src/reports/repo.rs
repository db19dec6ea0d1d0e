//! The reports' SQL: each read in one statement, scoped to the town, showing the caller
//! only what its lists would show.

use chrono::{DateTime, NaiveDate, Utc};
use futures_util::stream::BoxStream;
use sqlx::PgConnection;
use uuid::Uuid;

use super::exports::{AttendanceLine, OverdueLetter};
use super::{ScorePoint, TownSummary};
use crate::desk::domain::Viewer;
use crate::error::ApiError;
use crate::scores::points::HalfPoints;
use crate::transfers::domain::TransferKind;

/// A town at a glance, in one statement. Counts only what the caller's own lists show:
/// a counselling entry for its author and the committee.
pub async fn summary(
    conn: &mut PgConnection,
    town: Uuid,
    year: i32,
    viewer: &Viewer,
) -> Result<TownSummary, ApiError> {
    Ok(sqlx::query_as!(
            TownSummary,
            r#"SELECT $1::uuid AS "town_id!",
                      (SELECT count(*) FROM members WHERE town_id = $1 AND status = 'active') AS "members_active!",
                      (SELECT count(*) FROM cases WHERE town_id = $1 AND status = 'active') AS "cases_active!",
                      (SELECT count(*) FROM cases WHERE town_id = $1 AND status = 'below_threshold') AS "cases_below_threshold!",
                      (SELECT count(*) FROM cases WHERE town_id = $1 AND status = 'evaluation_due') AS "cases_evaluation_due!",
                      (SELECT count(*) FROM cases WHERE town_id = $1 AND status = 'under_evaluation') AS "cases_under_evaluation!",
                      (SELECT count(*) FROM evaluations WHERE town_id = $1 AND status = 'open') AS "evaluations_open!",
                      coalesce((SELECT trainee_count::bigint FROM cohorts WHERE town_id = $1 AND year = $2), 0) AS "cohort_size!",
                      (SELECT count(*) FROM desk_entries WHERE town_id = $1
                         AND status IN ('registered', 'in_progress', 'referred')
                         AND (NOT confidential OR $3 OR received_by = $4)) AS "desk_entries_open!""#,
            town,
            year,
            viewer.sees_all_confidential(),
            viewer.confidential_author(),
        )
        .fetch_one(conn)
        .await?)
}

/// A case's score after each ledger entry recorded up to `as_of`, oldest first.
pub async fn score_points(
    conn: &mut PgConnection,
    town: Uuid,
    case: Uuid,
    as_of: DateTime<Utc>,
) -> Result<Vec<ScorePoint>, ApiError> {
    Ok(sqlx::query_as!(
        ScorePoint,
        r#"SELECT recorded_at AS at, score_after AS "score: HalfPoints"
           FROM ledger_entries WHERE town_id = $1 AND case_id = $2 AND recorded_at <= $3
           ORDER BY seq"#,
        town,
        case,
        as_of,
    )
    .fetch_all(conn)
    .await?)
}

/// Per member required at an activity starting between `from` and `to` (the town's
/// calendar, both included): the counts of the roll and the two rates.
pub fn attendance(
    conn: &mut PgConnection,
    town: Uuid,
    from: NaiveDate,
    to: NaiveDate,
) -> BoxStream<'_, Result<AttendanceLine, sqlx::Error>> {
    sqlx::query_as!(
        AttendanceLine,
        r#"SELECT m.id AS member_id, m.name, b.name AS "branch_name?",
                  count(*) AS "required!",
                  count(*) FILTER (WHERE r.status = 'present') AS "present!",
                  count(*) FILTER (WHERE r.status = 'absent') AS "absent!",
                  count(*) FILTER (WHERE r.status = 'excused') AS "excused!",
                  count(*) FILTER (WHERE r.id IS NULL) AS "not_recorded!",
                  round(count(*) FILTER (WHERE r.status = 'present')::numeric
                        / nullif(count(r.id), 0), 4)::float8 AS rate,
                  round(count(*) FILTER (WHERE r.status = 'present')::numeric
                        / nullif(count(*) FILTER (WHERE r.status IN ('present', 'absent')), 0), 4)::float8
                    AS rate_without_excused
           FROM activities a
           JOIN towns t ON t.id = a.town_id
           JOIN activity_attendees aa ON aa.town_id = a.town_id AND aa.activity_id = a.id
           JOIN members m ON m.town_id = aa.town_id AND m.id = aa.member_id
           LEFT JOIN branches b ON b.town_id = m.town_id AND b.id = m.branch_id
           LEFT JOIN attendance_records r
                  ON r.town_id = aa.town_id AND r.activity_id = aa.activity_id AND r.member_id = aa.member_id
           WHERE a.town_id = $1
             AND a.starts_at >= ($2::date::timestamp AT TIME ZONE t.time_zone)
             AND a.starts_at < (($3::date + 1)::timestamp AT TIME ZONE t.time_zone)
           GROUP BY m.id, m.name, b.name
           ORDER BY b.name NULLS LAST, m.name, m.id"#,
        town,
        from,
        to,
    )
    .fetch(conn)
}

/// Letters issued and not returned by their `valid_until`, as of `today`.
pub fn overdue_letters(
    conn: &mut PgConnection,
    town: Uuid,
    today: NaiveDate,
) -> BoxStream<'_, Result<OverdueLetter, sqlx::Error>> {
    sqlx::query_as!(
        OverdueLetter,
        r#"SELECT t.id AS transfer_id, t.member_id, m.name AS member_name,
                  t.kind AS "kind: TransferKind", t.letter_serial AS "letter_serial!",
                  t.external_org AS "external_org!", b.name AS "branch_name?", t.decided_on,
                  t.valid_until AS "valid_until!", ($2::date - t.valid_until) AS "days_overdue!",
                  t.dues_paid_until
           FROM transfers t
           JOIN members m ON m.town_id = t.town_id AND m.id = t.member_id
           LEFT JOIN branches b ON b.town_id = t.town_id AND b.id = coalesce(t.from_branch_id, t.to_branch_id)
           WHERE t.town_id = $1 AND t.status = 'issued' AND t.valid_until < $2
           ORDER BY t.valid_until, t.id"#,
        town,
        today,
    )
    .fetch(conn)
}
