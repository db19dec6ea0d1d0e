//! SQL for the service desk register. Functions take a connection so they run inside the
//! caller's transaction. Every read is scoped by town and by what the viewer may see: a
//! confidential entry another viewer may not see is not found, exactly like one that does
//! not exist.

use sqlx::PgConnection;
use uuid::Uuid;

use super::domain::{
    DeskCategory, DeskEntry, DeskStatus, DeskStatusEvent, NextHandling, ValidDeskEntry, Viewer,
};
use crate::error::ApiError;
use crate::http::paging::Keyset;

/// The filters of the register's list.
#[derive(Debug, Clone, Copy, Default)]
pub struct Filter {
    /// Only entries in this status.
    pub status: Option<DeskStatus>,
    /// Only entries of this category.
    pub category: Option<DeskCategory>,
    /// Only this member's visits.
    pub member_id: Option<Uuid>,
    /// Only open entries received more than this many days ago.
    pub open_for_days: Option<i32>,
}

/// Registers a visit received by `received_by`; its history starts with it (by trigger).
pub async fn insert(
    conn: &mut PgConnection,
    town: Uuid,
    id: Uuid,
    entry: &ValidDeskEntry,
    received_by: &str,
) -> Result<DeskEntry, ApiError> {
    Ok(sqlx::query_as!(
        DeskEntry,
        r#"INSERT INTO desk_entries (town_id, id, visitor_name, member_id, visitor_phone, jurisdiction,
               category, request, received_by, received_at, status_changed_by)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, COALESCE($10, now()), $9)
           RETURNING id, town_id, visitor_name, member_id, visitor_phone, jurisdiction,
               category AS "category: DeskCategory", request, received_by, received_at,
               confidential AS "confidential!", status AS "status: DeskStatus", outcome, referred_to,
               referral_reason, follow_up, status_changed_by, status_changed_at, created_at, updated_at, version"#,
        town,
        id,
        entry.visitor_name,
        entry.member_id,
        entry.visitor_phone.as_ref().map(|p| p.as_str()),
        entry.jurisdiction,
        entry.category.as_str(),
        entry.request,
        received_by,
        entry.received_at,
    )
    .fetch_one(conn)
    .await?)
}

/// One entry the viewer may see.
pub async fn get(
    conn: &mut PgConnection,
    town: Uuid,
    id: Uuid,
    viewer: &Viewer,
) -> Result<Option<DeskEntry>, ApiError> {
    Ok(sqlx::query_as!(
        DeskEntry,
        r#"SELECT id, town_id, visitor_name, member_id, visitor_phone, jurisdiction,
               category AS "category: DeskCategory", request, received_by, received_at,
               confidential AS "confidential!", status AS "status: DeskStatus", outcome, referred_to,
               referral_reason, follow_up, status_changed_by, status_changed_at, created_at, updated_at, version
           FROM desk_entries
           WHERE town_id = $1 AND id = $2 AND (NOT confidential OR $3 OR received_by = $4)"#,
        town,
        id,
        viewer.sees_all_confidential(),
        viewer.confidential_author(),
    )
    .fetch_optional(conn)
    .await?)
}

/// One entry the viewer may see, locked until the transaction ends: the state a status
/// change starts from.
pub async fn lock(
    conn: &mut PgConnection,
    town: Uuid,
    id: Uuid,
    viewer: &Viewer,
) -> Result<Option<DeskEntry>, ApiError> {
    Ok(sqlx::query_as!(
        DeskEntry,
        r#"SELECT id, town_id, visitor_name, member_id, visitor_phone, jurisdiction,
               category AS "category: DeskCategory", request, received_by, received_at,
               confidential AS "confidential!", status AS "status: DeskStatus", outcome, referred_to,
               referral_reason, follow_up, status_changed_by, status_changed_at, created_at, updated_at, version
           FROM desk_entries
           WHERE town_id = $1 AND id = $2 AND (NOT confidential OR $3 OR received_by = $4)
           FOR UPDATE"#,
        town,
        id,
        viewer.sees_all_confidential(),
        viewer.confidential_author(),
    )
    .fetch_optional(conn)
    .await?)
}

/// The status history of an entry, oldest first.
pub async fn history(
    conn: &mut PgConnection,
    town: Uuid,
    id: Uuid,
) -> Result<Vec<DeskStatusEvent>, ApiError> {
    Ok(sqlx::query_as!(
        DeskStatusEvent,
        r#"SELECT version, from_status AS "from_status: DeskStatus", status AS "status: DeskStatus",
               note, outcome, referred_to, reason, changed_by, changed_at
           FROM desk_status_events
           WHERE town_id = $1 AND entry_id = $2
           ORDER BY version"#,
        town,
        id,
    )
    .fetch_all(conn)
    .await?)
}

/// A page of the entries the viewer may see, in registration (id) order. Confidential
/// entries they may not see are left out without a trace.
pub async fn list(
    conn: &mut PgConnection,
    town: Uuid,
    viewer: &Viewer,
    filter: Filter,
    page: Keyset,
) -> Result<Vec<DeskEntry>, ApiError> {
    Ok(sqlx::query_as!(
        DeskEntry,
        r#"SELECT id, town_id, visitor_name, member_id, visitor_phone, jurisdiction,
               category AS "category: DeskCategory", request, received_by, received_at,
               confidential AS "confidential!", status AS "status: DeskStatus", outcome, referred_to,
               referral_reason, follow_up, status_changed_by, status_changed_at, created_at, updated_at, version
           FROM desk_entries
           WHERE town_id = $1 AND id > $2
             AND (NOT confidential OR $3 OR received_by = $4)
             AND ($5::text IS NULL OR status = $5)
             AND ($6::text IS NULL OR category = $6)
             AND ($7::uuid IS NULL OR member_id = $7)
             AND ($8::int IS NULL OR (status <> 'resolved' AND received_at < now() - make_interval(days => $8)))
           ORDER BY id LIMIT $9"#,
        town,
        page.after_or_nil(),
        viewer.sees_all_confidential(),
        viewer.confidential_author(),
        filter.status.map(DeskStatus::as_str),
        filter.category.map(DeskCategory::as_str),
        filter.member_id,
        filter.open_for_days,
        page.fetch(),
    )
    .fetch_all(conn)
    .await?)
}

/// Writes a checked status change made by `changed_by` (its history row follows by
/// trigger). The caller holds the entry's lock.
pub async fn change_status(
    conn: &mut PgConnection,
    town: Uuid,
    id: Uuid,
    next: &NextHandling,
    changed_by: &str,
) -> Result<DeskEntry, ApiError> {
    let h = &next.handling;
    Ok(sqlx::query_as!(
        DeskEntry,
        r#"UPDATE desk_entries SET
               status = $3, outcome = $4, referred_to = $5, referral_reason = $6, follow_up = $7,
               status_note = $8, status_changed_by = $9, version = version + 1
           WHERE town_id = $1 AND id = $2
           RETURNING id, town_id, visitor_name, member_id, visitor_phone, jurisdiction,
               category AS "category: DeskCategory", request, received_by, received_at,
               confidential AS "confidential!", status AS "status: DeskStatus", outcome, referred_to,
               referral_reason, follow_up, status_changed_by, status_changed_at, created_at, updated_at, version"#,
        town,
        id,
        h.status.as_str(),
        h.outcome,
        h.referred_to,
        h.referral_reason,
        h.follow_up,
        next.note,
        changed_by,
    )
    .fetch_one(conn)
    .await?)
}

/// The desk register of the days `from` to `to` (the town's calendar, both included),
/// as `viewer` may see it: a counselling entry only for its author and the committee,
/// and what each entry shows masked by [`Viewer::present`].
pub fn register(
    conn: &mut PgConnection,
    town: Uuid,
    from: chrono::NaiveDate,
    to: chrono::NaiveDate,
    viewer: Viewer,
) -> futures_util::stream::BoxStream<'_, Result<DeskEntry, sqlx::Error>> {
    use futures_util::StreamExt;
    let all = viewer.sees_all_confidential();
    let author = viewer.confidential_author().map(str::to_owned);
    sqlx::query_as!(
        DeskEntry,
        r#"SELECT d.id, d.town_id, visitor_name, member_id, visitor_phone, jurisdiction,
               category AS "category: DeskCategory", request, received_by, received_at,
               confidential AS "confidential!", status AS "status: DeskStatus", outcome, referred_to,
               referral_reason, follow_up, status_changed_by, status_changed_at, d.created_at, d.updated_at, d.version
           FROM desk_entries d
           JOIN towns t ON t.id = d.town_id
           WHERE d.town_id = $1
             AND received_at >= ($2::date::timestamp AT TIME ZONE t.time_zone)
             AND received_at < (($3::date + 1)::timestamp AT TIME ZONE t.time_zone)
             AND (NOT confidential OR $4 OR received_by = $5)
           ORDER BY received_at, d.id"#,
        town,
        from,
        to,
        all,
        author,
    )
    .fetch(conn)
    .map(move |row| row.map(|entry| viewer.present(entry)))
    .boxed()
}
