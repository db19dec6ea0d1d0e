//! SQL for activities and rolls. Functions take a connection so they run inside the
//! caller's transaction; the writers of a roll are set-based (one statement each,
//! whatever the roll's size).

use std::collections::HashMap;

use chrono::NaiveDate;
use sqlx::PgConnection;
use uuid::Uuid;

use super::domain::{
    Activity, ActivityKind, AttendanceRecord, AttendanceStatus, Attendee, CheckedActivity,
    CheckedItem, MemberFacts, MyActivity, RequiredAs, Roll, Unscored,
};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::http::paging::Keyset;
use crate::scores::points::HalfPoints;

/// Inserts an activity (its attendees are inserted by [`insert_attendees`]).
pub async fn insert(
    conn: &mut PgConnection,
    town: Uuid,
    id: Uuid,
    a: &CheckedActivity,
    created_by: &str,
) -> Result<(), ApiError> {
    sqlx::query!(
        "INSERT INTO activities (town_id, id, kind, title, starts_at, place, created_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        town,
        id,
        a.kind.as_str(),
        a.title,
        a.starts_at,
        a.place,
        created_by,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Inserts who must attend, with one statement.
pub async fn insert_attendees(
    conn: &mut PgConnection,
    town: Uuid,
    activity: Uuid,
    attendees: &[Attendee],
) -> Result<(), ApiError> {
    let members: Vec<Uuid> = attendees.iter().map(|a| a.member_id).collect();
    let required: Vec<String> = attendees
        .iter()
        .map(|a| a.required_as.as_str().to_owned())
        .collect();
    let cases: Vec<Option<Uuid>> = attendees.iter().map(|a| a.case_id).collect();
    sqlx::query!(
        "INSERT INTO activity_attendees (town_id, activity_id, member_id, required_as, case_id)
         SELECT $1, $2, u.member_id, u.required_as, u.case_id
         FROM UNNEST($3::uuid[], $4::text[], $5::uuid[]) AS u(member_id, required_as, case_id)",
        town,
        activity,
        &members,
        &required,
        &cases as &[Option<Uuid>],
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// What the town knows of `members`: whether each can attend and their open case. A
/// member of no record in the town is left out.
pub async fn member_facts(
    conn: &mut PgConnection,
    town: Uuid,
    members: &[Uuid],
) -> Result<HashMap<Uuid, MemberFacts>, ApiError> {
    let rows = sqlx::query!(
        r#"SELECT m.id, m.status IN ('active', 'incoming') AS "can_attend!", c.id AS "open_case?"
           FROM members m
           LEFT JOIN cases c ON c.town_id = m.town_id AND c.member_id = m.id AND c.status <> 'concluded'
           WHERE m.town_id = $1 AND m.id = ANY($2)"#,
        town,
        members,
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let facts = MemberFacts {
                can_attend: r.can_attend,
                open_case: r.open_case,
            };
            (r.id, facts)
        })
        .collect())
}

/// Every (member, case) of the town's open cases.
pub async fn open_cases(
    conn: &mut PgConnection,
    town: Uuid,
) -> Result<Vec<(Uuid, Uuid)>, ApiError> {
    Ok(sqlx::query!(
        "SELECT member_id, id FROM cases WHERE town_id = $1 AND status <> 'concluded'",
        town
    )
    .fetch_all(conn)
    .await?
    .into_iter()
    .map(|r| (r.member_id, r.id))
    .collect())
}

/// One activity of a town.
pub async fn get(
    conn: &mut PgConnection,
    town: Uuid,
    id: Uuid,
) -> Result<Option<Activity>, ApiError> {
    Ok(sqlx::query_as!(
        Activity,
        r#"SELECT a.id, a.town_id, a.kind AS "kind: ActivityKind", a.title, a.starts_at, a.place, a.created_by,
                  a.created_at,
                  (SELECT count(*) FROM activity_attendees t WHERE t.town_id = a.town_id AND t.activity_id = a.id) AS "required_count!",
                  a.roll_recorded_at, a.roll_recorded_by, a.updated_at, a.version
           FROM activities a WHERE a.town_id = $1 AND a.id = $2"#,
        town,
        id
    )
    .fetch_optional(conn)
    .await?)
}

/// Locks an activity's row for the rest of the transaction (two rolls of one activity
/// serialize here): its start and whether its roll is recorded, or `None` when the town
/// has no such activity.
pub async fn lock(
    conn: &mut PgConnection,
    town: Uuid,
    id: Uuid,
) -> Result<Option<(chrono::DateTime<chrono::Utc>, bool)>, ApiError> {
    let row = sqlx::query!(
        r#"SELECT starts_at, roll_recorded_at IS NOT NULL AS "recorded!"
           FROM activities WHERE town_id = $1 AND id = $2 FOR UPDATE"#,
        town,
        id
    )
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|r| (r.starts_at, r.recorded)))
}

/// A page of a town's activities in id (creation) order: of one kind, starting on or
/// after `from` and on or before `to` (calendar dates in the town's time zone).
pub async fn list(
    conn: &mut PgConnection,
    town: Uuid,
    kind: Option<ActivityKind>,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    page: Keyset,
) -> Result<Vec<Activity>, ApiError> {
    Ok(sqlx::query_as!(
        Activity,
        r#"WITH z AS (SELECT time_zone FROM towns WHERE id = $1)
           SELECT a.id, a.town_id, a.kind AS "kind: ActivityKind", a.title, a.starts_at, a.place, a.created_by,
                  a.created_at,
                  (SELECT count(*) FROM activity_attendees t WHERE t.town_id = a.town_id AND t.activity_id = a.id) AS "required_count!",
                  a.roll_recorded_at, a.roll_recorded_by, a.updated_at, a.version
           FROM activities a, z
           WHERE a.town_id = $1 AND a.id > $2
             AND ($3::text IS NULL OR a.kind = $3)
             AND ($4::date IS NULL OR a.starts_at >= ($4::date::timestamp AT TIME ZONE z.time_zone))
             AND ($5::date IS NULL OR a.starts_at < (($5::date + 1)::timestamp AT TIME ZONE z.time_zone))
           ORDER BY a.id LIMIT $6"#,
        town,
        page.after_or_nil(),
        kind.map(ActivityKind::as_str),
        from,
        to,
        page.fetch(),
    )
    .fetch_all(conn)
    .await?)
}

/// Who must attend an activity, in member id order.
pub async fn attendees(
    conn: &mut PgConnection,
    town: Uuid,
    activity: Uuid,
) -> Result<Vec<Attendee>, ApiError> {
    Ok(sqlx::query_as!(
        Attendee,
        r#"SELECT member_id, required_as AS "required_as: RequiredAs", case_id
           FROM activity_attendees WHERE town_id = $1 AND activity_id = $2
           ORDER BY member_id"#,
        town,
        activity
    )
    .fetch_all(conn)
    .await?)
}

/// An activity's roll, with the ledger entry each line wrote; `None` until recorded.
pub async fn roll(
    conn: &mut PgConnection,
    town: Uuid,
    activity: Uuid,
) -> Result<Option<Roll>, ApiError> {
    let head = sqlx::query!(
        r#"SELECT roll_recorded_at AS "at!", roll_recorded_by AS "by!"
           FROM activities WHERE town_id = $1 AND id = $2 AND roll_recorded_at IS NOT NULL"#,
        town,
        activity
    )
    .fetch_optional(&mut *conn)
    .await?;
    let Some(head) = head else {
        return Ok(None);
    };
    let items = sqlx::query_as!(
        AttendanceRecord,
        r#"SELECT r.id, r.member_id, t.required_as AS "required_as: RequiredAs", t.case_id,
                  r.status AS "status: AttendanceStatus", r.excuse_reason, r.approved_by,
                  l.id AS "entry_id?", l.half_points AS "points?: HalfPoints", r.unscored AS "unscored: Unscored"
           FROM attendance_records r
           JOIN activity_attendees t ON t.town_id = r.town_id AND t.activity_id = r.activity_id AND t.member_id = r.member_id
           LEFT JOIN LATERAL (SELECT l.id, l.half_points FROM ledger_entries l
                                WHERE l.town_id = r.town_id AND l.source_type = 'attendance' AND l.source_id = r.id
                                  AND l.source_id IS NOT NULL
                                LIMIT 1) l ON true
           WHERE r.town_id = $1 AND r.activity_id = $2
           ORDER BY r.member_id"#,
        town,
        activity
    )
    .fetch_all(conn)
    .await?;
    Ok(Some(Roll {
        activity_id: activity,
        recorded_at: head.at,
        recorded_by: head.by,
        items,
    }))
}

/// A roll's records as the columns of a set-based insert (one array per column, in the
/// order of the items): the activity roll and the meeting roll store the same fields.
pub struct RollColumns {
    /// The member ids, one per roll record; the other columns follow this order.
    pub members: Vec<Uuid>,
    /// Their statuses, as stored.
    pub statuses: Vec<String>,
    /// The reasons of excused leave.
    pub reasons: Vec<Option<String>>,
    /// Who approved each leave.
    pub approvers: Vec<Option<String>>,
    /// Why a record does not score, where it does not.
    pub unscored: Vec<Option<String>>,
}

impl RollColumns {
    /// The columns of `items`, with `unscored` going with them one for one.
    pub fn of(items: &[CheckedItem], unscored: &[Option<Unscored>]) -> RollColumns {
        RollColumns {
            members: items.iter().map(|i| i.member_id).collect(),
            statuses: items.iter().map(|i| i.status.as_str().to_owned()).collect(),
            reasons: items.iter().map(|i| i.excuse_reason.clone()).collect(),
            approvers: items.iter().map(|i| i.approved_by.clone()).collect(),
            unscored: unscored
                .iter()
                .map(|u| u.map(|u| u.as_str().to_owned()))
                .collect(),
        }
    }
}

/// Inserts a roll's records with one statement; `ids` and `unscored` go with `items`.
pub async fn insert_records(
    conn: &mut PgConnection,
    caller: &Caller,
    town: Uuid,
    activity: Uuid,
    ids: &[Uuid],
    items: &[CheckedItem],
    unscored: &[Option<Unscored>],
) -> Result<(), ApiError> {
    let RollColumns {
        members,
        statuses,
        reasons,
        approvers,
        unscored,
    } = RollColumns::of(items, unscored);
    sqlx::query!(
        "INSERT INTO attendance_records (town_id, id, activity_id, member_id, status, excuse_reason, approved_by,
                                         unscored, recorded_by, recorded_role)
         SELECT $1, u.id, $2, u.member_id, u.status, u.reason, u.approver, u.unscored, $9, $10
         FROM UNNEST($3::uuid[], $4::uuid[], $5::text[], $6::text[], $7::text[], $8::text[])
              AS u(id, member_id, status, reason, approver, unscored)",
        town,
        activity,
        ids,
        &members,
        &statuses,
        &reasons as &[Option<String>],
        &approvers as &[Option<String>],
        &unscored as &[Option<String>],
        caller.sub,
        caller.role.as_str(),
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Marks the roll recorded: the activity's new version, and when.
pub async fn mark_recorded(
    conn: &mut PgConnection,
    town: Uuid,
    activity: Uuid,
    by: &str,
) -> Result<(i64, chrono::DateTime<chrono::Utc>), ApiError> {
    let row = sqlx::query!(
        r#"UPDATE activities SET roll_recorded_at = now(), roll_recorded_by = $3, updated_at = now(), version = version + 1
           WHERE town_id = $1 AND id = $2 RETURNING version, roll_recorded_at AS "recorded_at!""#,
        town,
        activity,
        by,
    )
    .fetch_one(conn)
    .await?;
    Ok((row.version, row.recorded_at))
}

/// A page of the activities a member had to attend, in id order, with their own line.
pub async fn of_member(
    conn: &mut PgConnection,
    town: Uuid,
    member: Uuid,
    page: Keyset,
) -> Result<Vec<MyActivity>, ApiError> {
    Ok(sqlx::query_as!(
        MyActivity,
        r#"SELECT a.id, a.kind AS "kind: ActivityKind", a.title, a.starts_at, a.place,
                  t.required_as AS "required_as: RequiredAs",
                  r.status AS "status?: AttendanceStatus", r.excuse_reason AS "excuse_reason?",
                  l.half_points AS "points?: HalfPoints"
           FROM activity_attendees t
           JOIN activities a ON a.town_id = t.town_id AND a.id = t.activity_id
           LEFT JOIN attendance_records r ON r.town_id = t.town_id AND r.activity_id = t.activity_id AND r.member_id = t.member_id
           LEFT JOIN LATERAL (SELECT l.id, l.half_points FROM ledger_entries l
                                WHERE l.town_id = r.town_id AND l.source_type = 'attendance' AND l.source_id = r.id
                                  AND l.source_id IS NOT NULL
                                LIMIT 1) l ON true
           WHERE t.town_id = $1 AND t.member_id = $2 AND t.activity_id > $3
           ORDER BY t.activity_id LIMIT $4"#,
        town,
        member,
        page.after_or_nil(),
        page.fetch(),
    )
    .fetch_all(conn)
    .await?)
}
