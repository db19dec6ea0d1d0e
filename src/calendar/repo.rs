//! SQL for a town's calendar.

use chrono::NaiveDate;
use sqlx::PgConnection;
use uuid::Uuid;

use super::domain::{CalendarDay, DayKind, WorkCalendar};
use crate::error::ApiError;

/// The town's calendar days from `from` to `to`, both included, in order.
pub async fn between(
    conn: &mut PgConnection,
    town: Uuid,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<CalendarDay>, ApiError> {
    Ok(sqlx::query_as!(
        CalendarDay,
        r#"SELECT day, kind AS "kind: DayKind", name, set_by, set_at
           FROM calendar_days WHERE town_id = $1 AND day BETWEEN $2 AND $3 ORDER BY day"#,
        town,
        from,
        to,
    )
    .fetch_all(conn)
    .await?)
}

/// The town's working days from `from` to `to` (the exceptions read from its calendar).
pub async fn work_calendar(
    conn: &mut PgConnection,
    town: Uuid,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<WorkCalendar, ApiError> {
    let days = between(conn, town, from, to).await?;
    Ok(WorkCalendar::new(days.into_iter().map(|d| (d.day, d.kind))))
}

/// Sets a day (a new one, or a change of one set before); whether it is new.
pub async fn set(
    conn: &mut PgConnection,
    town: Uuid,
    day: NaiveDate,
    kind: DayKind,
    name: &str,
    by: &str,
) -> Result<(CalendarDay, bool), ApiError> {
    let row = sqlx::query!(
        r#"INSERT INTO calendar_days (town_id, day, kind, name, set_by)
           VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (town_id, day) DO UPDATE
               SET kind = excluded.kind, name = excluded.name, set_by = excluded.set_by, set_at = now()
           RETURNING day, kind AS "kind: DayKind", name, set_by, set_at, (xmax = 0) AS "created!""#,
        town,
        day,
        kind.as_str(),
        name,
        by,
    )
    .fetch_one(conn)
    .await?;
    Ok((
        CalendarDay {
            day: row.day,
            kind: row.kind,
            name: row.name,
            set_by: row.set_by,
            set_at: row.set_at,
        },
        row.created,
    ))
}

/// Clears a day; the day as it was, if it was set.
pub async fn clear(
    conn: &mut PgConnection,
    town: Uuid,
    day: NaiveDate,
) -> Result<Option<CalendarDay>, ApiError> {
    Ok(sqlx::query_as!(
        CalendarDay,
        r#"DELETE FROM calendar_days WHERE town_id = $1 AND day = $2
           RETURNING day, kind AS "kind: DayKind", name, set_by, set_at"#,
        town,
        day,
    )
    .fetch_optional(conn)
    .await?)
}
