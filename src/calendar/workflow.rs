//! The calendar's changes, each a function over the caller's transaction.

use chrono::NaiveDate;
use serde_json::json;
use sqlx::PgConnection;
use uuid::Uuid;

use super::domain::{CalendarDay, DayKind};
use super::repo;
use crate::audit::{self, Change};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::msg;

/// Makes `day` a holiday or a worked weekend day (`name` already checked); whether it
/// was newly set. Only days after the town's today.
pub async fn set_day(
    tx: &mut PgConnection,
    by: &Caller,
    town: Uuid,
    day: NaiveDate,
    kind: DayKind,
    name: &str,
) -> Result<(CalendarDay, bool), ApiError> {
    check_ahead(tx, town, day).await?;
    let (set, created) = repo::set(tx, town, day, kind, name, &by.sub).await?;
    audit::record(
        tx,
        by,
        Change {
            town_id: town,
            action: "calendar.day_set",
            resource_type: "town",
            resource_id: town,
            data: json!({ "day": set.day, "kind": set.kind, "name": set.name }),
        },
    )
    .await?;
    Ok((set, created))
}

/// Makes `day` an ordinary day again; 404 when it was not set. Only days after the
/// town's today.
pub async fn clear_day(
    tx: &mut PgConnection,
    by: &Caller,
    town: Uuid,
    day: NaiveDate,
) -> Result<CalendarDay, ApiError> {
    check_ahead(tx, town, day).await?;
    let cleared = repo::clear(tx, town, day)
        .await?
        .ok_or(ApiError::NotFound)?;
    audit::record(
        tx,
        by,
        Change {
            town_id: town,
            action: "calendar.day_cleared",
            resource_type: "town",
            resource_id: town,
            data: json!({ "day": cleared.day, "kind": cleared.kind }),
        },
    )
    .await?;
    Ok(cleared)
}

/// 422 `day_passed` unless `day` is after the town's today: a day that has begun is part
/// of the periods counted over it, and changing it would move their ends after the fact.
async fn check_ahead(conn: &mut PgConnection, town: Uuid, day: NaiveDate) -> Result<(), ApiError> {
    if day > crate::towns::repo::today(conn, town).await? {
        return Ok(());
    }
    Err(ApiError::Unprocessable {
        code: "day_passed",
        detail: msg!(
            "只能设置或取消今天以后的日期：已经开始的日期影响正在计算的期限。",
            "Only days after today can be set or cleared: a day that has begun counts in periods already running."
        ),
    })
}
