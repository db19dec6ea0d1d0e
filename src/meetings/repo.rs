//! SQL for the organizational life of the branches. Functions take a connection so they
//! run inside the caller's transaction.

use std::collections::HashSet;

use sqlx::PgConnection;
use uuid::Uuid;

use chrono::{DateTime, NaiveDate, Utc};

use super::domain::{
    AttendsAs, BranchRef, CenterRole, CheckedGroup, CheckedMeeting, GroupRef, HeldMeeting, Meeting,
    MeetingAttendee, MeetingKind, MeetingRecord, MeetingRoll, MemberMeeting, Minutes, Office,
    Officer, PartyGroup,
};
use crate::activities::domain::{AttendanceStatus, CheckedItem, Unscored};
use crate::activities::repo::RollColumns;
use crate::auth::Caller;
use crate::branches::domain::BranchKind;
use crate::error::ApiError;
use crate::http::paging::Keyset;
use crate::scores::points::HalfPoints;

/// Locks a branch's row for the rest of the transaction (changes to one branch's groups
/// and officers serialize here); its kind, or `None` when the town has no such branch.
pub async fn lock_branch(
    conn: &mut PgConnection,
    town: Uuid,
    branch: Uuid,
) -> Result<Option<BranchKind>, ApiError> {
    Ok(sqlx::query_scalar!(
        r#"SELECT kind AS "kind: BranchKind" FROM branches WHERE town_id = $1 AND id = $2 FOR UPDATE"#,
        town,
        branch
    )
    .fetch_optional(conn)
    .await?)
}

/// The kind of a branch of the town, or `None` when there is no such branch.
pub async fn branch_kind(
    conn: &mut PgConnection,
    town: Uuid,
    branch: Uuid,
) -> Result<Option<BranchKind>, ApiError> {
    Ok(sqlx::query_scalar!(
        r#"SELECT kind AS "kind: BranchKind" FROM branches WHERE town_id = $1 AND id = $2"#,
        town,
        branch
    )
    .fetch_optional(conn)
    .await?)
}

/// Which of `members` are active members of `branch`.
pub async fn active_in_branch(
    conn: &mut PgConnection,
    town: Uuid,
    branch: Uuid,
    members: &[Uuid],
) -> Result<HashSet<Uuid>, ApiError> {
    Ok(sqlx::query_scalar!(
        "SELECT id FROM members WHERE town_id = $1 AND branch_id = $2 AND status = 'active' AND id = ANY($3)",
        town,
        branch,
        members
    )
    .fetch_all(conn)
    .await?
    .into_iter()
    .collect())
}

/// Inserts a group (its members go in with [`replace_group_members`]).
pub async fn insert_group(
    conn: &mut PgConnection,
    town: Uuid,
    branch: Uuid,
    id: Uuid,
    g: &CheckedGroup,
    by: &str,
) -> Result<(), ApiError> {
    sqlx::query!(
        "INSERT INTO party_groups (town_id, id, branch_id, name, created_by) VALUES ($1, $2, $3, $4, $5)",
        town,
        id,
        branch,
        g.name,
        by,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Sets a group's members to `g.member_ids` (a member of another group is refused by
/// the database: `member_in_other_group`) and its leader.
pub async fn replace_group_members(
    conn: &mut PgConnection,
    town: Uuid,
    group: Uuid,
    g: &CheckedGroup,
) -> Result<(), ApiError> {
    sqlx::query!(
        "DELETE FROM party_group_members WHERE town_id = $1 AND group_id = $2 AND NOT (member_id = ANY($3))",
        town,
        group,
        &g.member_ids,
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "INSERT INTO party_group_members (town_id, group_id, member_id)
         SELECT $1, $2, u.member_id FROM UNNEST($3::uuid[]) AS u(member_id)
         ON CONFLICT (town_id, group_id, member_id) DO NOTHING",
        town,
        group,
        &g.member_ids,
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "UPDATE party_groups SET leader_id = $3 WHERE town_id = $1 AND id = $2",
        town,
        group,
        g.leader_id,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Renames a group if it is still at `version` (any, for `None`) and counts the change;
/// `false` when it moved on.
pub async fn bump_group(
    conn: &mut PgConnection,
    town: Uuid,
    group: Uuid,
    version: Option<i64>,
    name: &str,
) -> Result<bool, ApiError> {
    Ok(sqlx::query!(
        "UPDATE party_groups SET name = $4, version = version + 1, updated_at = now()
         WHERE town_id = $1 AND id = $2 AND ($3::bigint IS NULL OR version = $3)",
        town,
        group,
        version,
        name,
    )
    .execute(conn)
    .await?
    .rows_affected()
        == 1)
}

/// One group of a branch, with its members.
pub async fn get_group(
    conn: &mut PgConnection,
    town: Uuid,
    branch: Uuid,
    id: Uuid,
) -> Result<Option<PartyGroup>, ApiError> {
    Ok(sqlx::query_as!(
        PartyGroup,
        r#"SELECT g.id, g.branch_id, g.name, g.leader_id,
                  ARRAY(SELECT m.member_id FROM party_group_members m
                        WHERE m.town_id = g.town_id AND m.group_id = g.id ORDER BY m.member_id) AS "member_ids!",
                  g.created_by, g.created_at, g.updated_at, g.version
           FROM party_groups g WHERE g.town_id = $1 AND g.branch_id = $2 AND g.id = $3"#,
        town,
        branch,
        id
    )
    .fetch_optional(conn)
    .await?)
}

/// A page of a branch's groups, in id (creation) order, with their members.
pub async fn list_groups(
    conn: &mut PgConnection,
    town: Uuid,
    branch: Uuid,
    page: Keyset,
) -> Result<Vec<PartyGroup>, ApiError> {
    Ok(sqlx::query_as!(
        PartyGroup,
        r#"SELECT g.id, g.branch_id, g.name, g.leader_id,
                  ARRAY(SELECT m.member_id FROM party_group_members m
                        WHERE m.town_id = g.town_id AND m.group_id = g.id ORDER BY m.member_id) AS "member_ids!",
                  g.created_by, g.created_at, g.updated_at, g.version
           FROM party_groups g WHERE g.town_id = $1 AND g.branch_id = $2 AND g.id > $3
           ORDER BY g.id LIMIT $4"#,
        town,
        branch,
        page.after_or_nil(),
        page.fetch(),
    )
    .fetch_all(conn)
    .await?)
}

/// Inserts an officer's term.
pub async fn insert_officer(
    conn: &mut PgConnection,
    town: Uuid,
    o: &Officer,
) -> Result<(), ApiError> {
    sqlx::query!(
        "INSERT INTO branch_officers (town_id, id, branch_id, member_id, office, term_from, term_to, created_by, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        town,
        o.id,
        o.branch_id,
        o.member_id,
        o.office.as_str(),
        o.term_from,
        o.term_to,
        o.created_by,
        o.created_at,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// A page of a branch's officers' terms in id (recording) order; with `on`, only the
/// terms that include that day.
pub async fn list_officers(
    conn: &mut PgConnection,
    town: Uuid,
    branch: Uuid,
    on: Option<chrono::NaiveDate>,
    page: Keyset,
) -> Result<Vec<Officer>, ApiError> {
    Ok(sqlx::query_as!(
        Officer,
        r#"SELECT id, branch_id, member_id, office AS "office: Office", term_from, term_to, created_by, created_at
           FROM branch_officers
           WHERE town_id = $1 AND branch_id = $2 AND id > $3
             AND ($4::date IS NULL OR $4 BETWEEN term_from AND term_to)
           ORDER BY id LIMIT $5"#,
        town,
        branch,
        page.after_or_nil(),
        on,
        page.fetch(),
    )
    .fetch_all(conn)
    .await?)
}

/// Every term of a branch that overlaps `from..=to`.
pub async fn overlapping_terms(
    conn: &mut PgConnection,
    town: Uuid,
    branch: Uuid,
    from: chrono::NaiveDate,
    to: chrono::NaiveDate,
) -> Result<Vec<Officer>, ApiError> {
    Ok(sqlx::query_as!(
        Officer,
        r#"SELECT id, branch_id, member_id, office AS "office: Office", term_from, term_to, created_by, created_at
           FROM branch_officers
           WHERE town_id = $1 AND branch_id = $2 AND term_from <= $4 AND $3 <= term_to"#,
        town,
        branch,
        from,
        to,
    )
    .fetch_all(conn)
    .await?)
}

/// The active members of a branch with their open case, if any.
pub async fn branch_members(
    conn: &mut PgConnection,
    town: Uuid,
    branch: Uuid,
) -> Result<Vec<(Uuid, Option<Uuid>)>, ApiError> {
    Ok(sqlx::query!(
        r#"SELECT m.id, c.id AS "open_case?"
           FROM members m
           LEFT JOIN cases c ON c.town_id = m.town_id AND c.member_id = m.id AND c.status <> 'concluded'
           WHERE m.town_id = $1 AND m.branch_id = $2 AND m.status = 'active'"#,
        town,
        branch
    )
    .fetch_all(conn)
    .await?
    .into_iter()
    .map(|r| (r.id, r.open_case))
    .collect())
}

/// The members of a group of the branch who are still active members of the branch,
/// with their open case; `None` when the branch has no such group.
pub async fn group_members(
    conn: &mut PgConnection,
    town: Uuid,
    branch: Uuid,
    group: Uuid,
) -> Result<Option<Vec<(Uuid, Option<Uuid>)>>, ApiError> {
    let exists = sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM party_groups WHERE town_id = $1 AND branch_id = $2 AND id = $3) AS "e!""#,
        town,
        branch,
        group
    )
    .fetch_one(&mut *conn)
    .await?;
    if !exists {
        return Ok(None);
    }
    Ok(Some(
        sqlx::query!(
            r#"SELECT m.id, c.id AS "open_case?"
               FROM party_group_members g
               JOIN members m ON m.town_id = g.town_id AND m.id = g.member_id
               LEFT JOIN cases c ON c.town_id = m.town_id AND c.member_id = m.id AND c.status <> 'concluded'
               WHERE g.town_id = $1 AND g.group_id = $3 AND m.branch_id = $2 AND m.status = 'active'"#,
            town,
            branch,
            group
        )
        .fetch_all(conn)
        .await?
        .into_iter()
        .map(|r| (r.id, r.open_case))
        .collect(),
    ))
}

/// Inserts a meeting (its attendees go in with [`insert_attendees`]).
pub async fn insert_meeting(
    conn: &mut PgConnection,
    town: Uuid,
    id: Uuid,
    m: &CheckedMeeting,
    by: &str,
) -> Result<(), ApiError> {
    sqlx::query!(
        "INSERT INTO meetings (town_id, id, branch_id, kind, group_id, starts_at, place, host, topic, center_role, created_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        town,
        id,
        m.branch_id,
        m.kind.as_str(),
        m.group_id,
        m.starts_at,
        m.place,
        m.host,
        m.topic,
        m.center_role.as_str(),
        by,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Inserts who is expected, with one statement.
pub async fn insert_attendees(
    conn: &mut PgConnection,
    town: Uuid,
    meeting: Uuid,
    attendees: &[MeetingAttendee],
) -> Result<(), ApiError> {
    let members: Vec<Uuid> = attendees.iter().map(|a| a.member_id).collect();
    let as_: Vec<String> = attendees
        .iter()
        .map(|a| a.attends_as.as_str().to_owned())
        .collect();
    let cases: Vec<Option<Uuid>> = attendees.iter().map(|a| a.case_id).collect();
    sqlx::query!(
        "INSERT INTO meeting_attendees (town_id, meeting_id, member_id, attends_as, case_id)
         SELECT $1, $2, u.member_id, u.attends_as, u.case_id
         FROM UNNEST($3::uuid[], $4::text[], $5::uuid[]) AS u(member_id, attends_as, case_id)",
        town,
        meeting,
        &members,
        &as_,
        &cases as &[Option<Uuid>],
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// One meeting of a town.
pub async fn get_meeting(
    conn: &mut PgConnection,
    town: Uuid,
    id: Uuid,
) -> Result<Option<Meeting>, ApiError> {
    Ok(sqlx::query_as!(
        Meeting,
        r#"SELECT m.id, m.town_id, m.branch_id, m.kind AS "kind: MeetingKind", m.group_id, m.starts_at,
                  m.place, m.host, m.topic, m.center_role AS "center_role: CenterRole", m.created_by, m.created_at,
                  (SELECT count(*) FROM meeting_attendees a WHERE a.town_id = m.town_id AND a.meeting_id = m.id) AS "expected_count!",
                  m.roll_recorded_at, m.roll_recorded_by,
                  (SELECT max(v.version) FROM meeting_minutes v WHERE v.town_id = m.town_id AND v.meeting_id = m.id) AS minutes_version,
                  m.updated_at, m.version
           FROM meetings m WHERE m.town_id = $1 AND m.id = $2"#,
        town,
        id
    )
    .fetch_optional(conn)
    .await?)
}

/// A page of a town's meetings in id (planning) order: of a branch, of a kind, starting
/// on or after `from` and on or before `to` (days in the town's time zone).
pub async fn list_meetings(
    conn: &mut PgConnection,
    town: Uuid,
    branch: Option<Uuid>,
    kind: Option<MeetingKind>,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    page: Keyset,
) -> Result<Vec<Meeting>, ApiError> {
    Ok(sqlx::query_as!(
        Meeting,
        r#"WITH z AS (SELECT time_zone FROM towns WHERE id = $1)
           SELECT m.id, m.town_id, m.branch_id, m.kind AS "kind: MeetingKind", m.group_id, m.starts_at,
                  m.place, m.host, m.topic, m.center_role AS "center_role: CenterRole", m.created_by, m.created_at,
                  (SELECT count(*) FROM meeting_attendees a WHERE a.town_id = m.town_id AND a.meeting_id = m.id) AS "expected_count!",
                  m.roll_recorded_at, m.roll_recorded_by,
                  (SELECT max(v.version) FROM meeting_minutes v WHERE v.town_id = m.town_id AND v.meeting_id = m.id) AS minutes_version,
                  m.updated_at, m.version
           FROM meetings m, z
           WHERE m.town_id = $1 AND m.id > $2
             AND ($3::uuid IS NULL OR m.branch_id = $3)
             AND ($4::text IS NULL OR m.kind = $4)
             AND ($5::date IS NULL OR m.starts_at >= ($5::date::timestamp AT TIME ZONE z.time_zone))
             AND ($6::date IS NULL OR m.starts_at < (($6::date + 1)::timestamp AT TIME ZONE z.time_zone))
           ORDER BY m.id LIMIT $7"#,
        town,
        page.after_or_nil(),
        branch,
        kind.map(MeetingKind::as_str),
        from,
        to,
        page.fetch(),
    )
    .fetch_all(conn)
    .await?)
}

/// Who is expected at a meeting, in member id order.
pub async fn attendees(
    conn: &mut PgConnection,
    town: Uuid,
    meeting: Uuid,
) -> Result<Vec<MeetingAttendee>, ApiError> {
    Ok(sqlx::query_as!(
        MeetingAttendee,
        r#"SELECT member_id, attends_as AS "attends_as: AttendsAs", case_id
           FROM meeting_attendees WHERE town_id = $1 AND meeting_id = $2
           ORDER BY member_id"#,
        town,
        meeting
    )
    .fetch_all(conn)
    .await?)
}

/// Locks a meeting's row for the rest of the transaction (rolls and minutes of one
/// meeting serialize here): its start and whether its roll is recorded, or `None` when
/// the town has no such meeting.
pub async fn lock_meeting(
    conn: &mut PgConnection,
    town: Uuid,
    id: Uuid,
) -> Result<Option<(DateTime<Utc>, bool)>, ApiError> {
    let row = sqlx::query!(
        r#"SELECT starts_at, roll_recorded_at IS NOT NULL AS "recorded!"
           FROM meetings WHERE town_id = $1 AND id = $2 FOR UPDATE"#,
        town,
        id
    )
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|r| (r.starts_at, r.recorded)))
}

/// A meeting's roll with the ledger entry each line wrote; `None` until recorded.
pub async fn roll(
    conn: &mut PgConnection,
    town: Uuid,
    meeting: Uuid,
) -> Result<Option<MeetingRoll>, ApiError> {
    let head = sqlx::query!(
        r#"SELECT roll_recorded_at AS "at!", roll_recorded_by AS "by!"
           FROM meetings WHERE town_id = $1 AND id = $2 AND roll_recorded_at IS NOT NULL"#,
        town,
        meeting
    )
    .fetch_optional(&mut *conn)
    .await?;
    let Some(head) = head else {
        return Ok(None);
    };
    let items = sqlx::query_as!(
        MeetingRecord,
        r#"SELECT r.id, r.member_id, a.attends_as AS "attends_as: AttendsAs", a.case_id,
                  r.status AS "status: AttendanceStatus", r.excuse_reason, r.approved_by,
                  l.id AS "entry_id?", l.half_points AS "points?: HalfPoints", r.unscored AS "unscored: Unscored"
           FROM meeting_attendance r
           JOIN meeting_attendees a ON a.town_id = r.town_id AND a.meeting_id = r.meeting_id AND a.member_id = r.member_id
           LEFT JOIN LATERAL (SELECT l.id, l.half_points FROM ledger_entries l
                                WHERE l.town_id = r.town_id AND l.source_type = 'meeting_attendance' AND l.source_id = r.id
                                  AND l.source_id IS NOT NULL
                                LIMIT 1) l ON true
           WHERE r.town_id = $1 AND r.meeting_id = $2
           ORDER BY r.member_id"#,
        town,
        meeting
    )
    .fetch_all(conn)
    .await?;
    Ok(Some(MeetingRoll {
        meeting_id: meeting,
        recorded_at: head.at,
        recorded_by: head.by,
        items,
    }))
}

/// Inserts a roll's records with one statement; `ids` and `unscored` go with `items`.
pub async fn insert_records(
    conn: &mut PgConnection,
    caller: &Caller,
    town: Uuid,
    meeting: Uuid,
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
        "INSERT INTO meeting_attendance (town_id, id, meeting_id, member_id, status, excuse_reason, approved_by,
                                         unscored, recorded_by, recorded_role)
         SELECT $1, u.id, $2, u.member_id, u.status, u.reason, u.approver, u.unscored, $9, $10
         FROM UNNEST($3::uuid[], $4::uuid[], $5::text[], $6::text[], $7::text[], $8::text[])
              AS u(id, member_id, status, reason, approver, unscored)",
        town,
        meeting,
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

/// Marks the roll recorded: the meeting's new version, and when.
pub async fn mark_recorded(
    conn: &mut PgConnection,
    town: Uuid,
    meeting: Uuid,
    by: &str,
) -> Result<(i64, DateTime<Utc>), ApiError> {
    let row = sqlx::query!(
        r#"UPDATE meetings SET roll_recorded_at = now(), roll_recorded_by = $3, updated_at = now(), version = version + 1
           WHERE town_id = $1 AND id = $2 RETURNING version, roll_recorded_at AS "recorded_at!""#,
        town,
        meeting,
        by,
    )
    .fetch_one(conn)
    .await?;
    Ok((row.version, row.recorded_at))
}

/// The latest version of a meeting's minutes, if any.
pub async fn latest_minutes(
    conn: &mut PgConnection,
    town: Uuid,
    meeting: Uuid,
) -> Result<Option<i32>, ApiError> {
    Ok(sqlx::query_scalar!(
        "SELECT max(version) FROM meeting_minutes WHERE town_id = $1 AND meeting_id = $2",
        town,
        meeting
    )
    .fetch_one(conn)
    .await?)
}

/// Inserts a version of the minutes and counts the change on the meeting.
pub async fn insert_minutes(
    conn: &mut PgConnection,
    caller: &Caller,
    town: Uuid,
    meeting: Uuid,
    version: i32,
    text: &str,
    reason: Option<&str>,
) -> Result<Minutes, ApiError> {
    let minutes = sqlx::query_as!(
        Minutes,
        "INSERT INTO meeting_minutes (town_id, meeting_id, version, text, correction_reason, recorded_by, recorded_role)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         RETURNING meeting_id, version, text, correction_reason, recorded_by, recorded_at",
        town,
        meeting,
        version,
        text,
        reason,
        caller.sub,
        caller.role.as_str(),
    )
    .fetch_one(&mut *conn)
    .await?;
    sqlx::query!(
        "UPDATE meetings SET updated_at = now(), version = version + 1 WHERE town_id = $1 AND id = $2",
        town,
        meeting
    )
    .execute(conn)
    .await?;
    Ok(minutes)
}

/// A page of a meeting's minutes, newest version first, below `before`.
pub async fn minutes_page(
    conn: &mut PgConnection,
    town: Uuid,
    meeting: Uuid,
    before: i32,
    limit: i64,
) -> Result<Vec<Minutes>, ApiError> {
    Ok(sqlx::query_as!(
        Minutes,
        "SELECT meeting_id, version, text, correction_reason, recorded_by, recorded_at
         FROM meeting_minutes WHERE town_id = $1 AND meeting_id = $2 AND version < $3
         ORDER BY version DESC LIMIT $4",
        town,
        meeting,
        before,
        limit,
    )
    .fetch_all(conn)
    .await?)
}

/// Whether the town has the member.
pub async fn member_exists(
    conn: &mut PgConnection,
    town: Uuid,
    member: Uuid,
) -> Result<bool, ApiError> {
    Ok(sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM members WHERE town_id = $1 AND id = $2) AS "e!""#,
        town,
        member
    )
    .fetch_one(conn)
    .await?)
}

/// A page of the meetings a member was expected at, in meeting id order, with their line.
pub async fn of_member(
    conn: &mut PgConnection,
    town: Uuid,
    member: Uuid,
    page: Keyset,
) -> Result<Vec<MemberMeeting>, ApiError> {
    Ok(sqlx::query_as!(
        MemberMeeting,
        r#"SELECT m.id AS meeting_id, m.branch_id, m.kind AS "kind: MeetingKind", m.starts_at, m.topic,
                  a.attends_as AS "attends_as: AttendsAs",
                  r.status AS "status?: AttendanceStatus", r.excuse_reason AS "excuse_reason?",
                  l.half_points AS "points?: HalfPoints"
           FROM meeting_attendees a
           JOIN meetings m ON m.town_id = a.town_id AND m.id = a.meeting_id
           LEFT JOIN meeting_attendance r ON r.town_id = a.town_id AND r.meeting_id = a.meeting_id AND r.member_id = a.member_id
           LEFT JOIN LATERAL (SELECT l.id, l.half_points FROM ledger_entries l
                                WHERE l.town_id = r.town_id AND l.source_type = 'meeting_attendance' AND l.source_id = r.id
                                  AND l.source_id IS NOT NULL
                                LIMIT 1) l ON true
           WHERE a.town_id = $1 AND a.member_id = $2 AND a.meeting_id > $3
           ORDER BY a.meeting_id LIMIT $4"#,
        town,
        member,
        page.after_or_nil(),
        page.fetch(),
    )
    .fetch_all(conn)
    .await?)
}

/// The town's branches (or the one asked for), by name.
pub async fn branch_refs(
    conn: &mut PgConnection,
    town: Uuid,
    branch: Option<Uuid>,
) -> Result<Vec<BranchRef>, ApiError> {
    Ok(sqlx::query_as!(
        BranchRef,
        r#"SELECT id, name, kind AS "kind: BranchKind" FROM branches
           WHERE town_id = $1 AND ($2::uuid IS NULL OR id = $2)
           ORDER BY name, id"#,
        town,
        branch
    )
    .fetch_all(conn)
    .await?)
}

/// The party groups of the town's branches (or of one), with the day each was made in
/// the town's calendar.
pub async fn group_refs(
    conn: &mut PgConnection,
    town: Uuid,
    branch: Option<Uuid>,
) -> Result<Vec<GroupRef>, ApiError> {
    Ok(sqlx::query_as!(
        GroupRef,
        r#"SELECT g.id, g.branch_id, (g.created_at AT TIME ZONE t.time_zone)::date AS "created_on!"
           FROM party_groups g JOIN towns t ON t.id = g.town_id
           WHERE g.town_id = $1 AND ($2::uuid IS NULL OR g.branch_id = $2)"#,
        town,
        branch
    )
    .fetch_all(conn)
    .await?)
}

/// The meetings held (roll recorded) of the town's branches (or of one) that started
/// from `first` to `last` (days of the town's calendar), with their roll's tally.
pub async fn held(
    conn: &mut PgConnection,
    town: Uuid,
    branch: Option<Uuid>,
    first: NaiveDate,
    last: NaiveDate,
) -> Result<Vec<HeldMeeting>, ApiError> {
    Ok(sqlx::query_as!(
        HeldMeeting,
        r#"SELECT m.branch_id, m.kind AS "kind: MeetingKind", m.group_id,
                  (m.starts_at AT TIME ZONE t.time_zone)::date AS "day!",
                  count(r.id) FILTER (WHERE r.status = 'present') AS "present!",
                  count(r.id) FILTER (WHERE r.status = 'absent') AS "absent!",
                  count(r.id) FILTER (WHERE r.status = 'excused') AS "excused!"
           FROM meetings m
           JOIN towns t ON t.id = m.town_id
           LEFT JOIN meeting_attendance r ON r.town_id = m.town_id AND r.meeting_id = m.id
           WHERE m.town_id = $1 AND ($2::uuid IS NULL OR m.branch_id = $2)
             AND m.roll_recorded_at IS NOT NULL
             AND m.starts_at >= ($3::date::timestamp AT TIME ZONE t.time_zone)
             AND m.starts_at < (($4::date + 1)::timestamp AT TIME ZONE t.time_zone)
           GROUP BY m.id, m.branch_id, m.kind, m.group_id, m.starts_at, t.time_zone"#,
        town,
        branch,
        first,
        last,
    )
    .fetch_all(conn)
    .await?)
}
