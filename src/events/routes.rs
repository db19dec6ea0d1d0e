//! The feed's endpoint: HTTP in, a page of events (after waiting for one, if asked), HTTP out.

use std::time::Duration;

use actix_web::{get, web};
use sqlx::PgPool;
use uuid::Uuid;

use super::domain::FeedRequest;
use super::{EventBus, EventPage, EventQuery, repo};
use crate::auth::{Auth, roles};
use crate::desk::domain::Viewer;
use crate::error::ApiError;

/// Read the change feed · 读取变更流
///
/// Every committed write of the town, oldest first, from a cursor: resume with the
/// `next_cursor` you were given and you will see every event exactly once, in the same
/// order, however writers interleave. With `wait`, an empty answer is held back until an
/// event arrives or the wait ends. Roles: `staff`, `committee`, `county`.
///
/// 本镇每一次已提交的写入，按先后排列，从游标处读起：用返回的 `next_cursor` 继续读取，每个事件恰好出现一次，顺序不变，无论写入如何交错。
/// 带 `wait` 时，没有新事件的请求会等待，直到有事件到达或等待时间结束。
/// 角色：`staff`、`committee`、`county`。
#[utoipa::path(
    operation_id = "list_events",
    tag = "events",
    params(("town" = Uuid, Path, description = "The town's id."), EventQuery),
    responses((status = 200, description = "A page of events.", body = EventPage)),
    security(("bearer" = ["staff", "committee", "county"])),
)]
#[get("")]
pub(super) async fn list_events(
    auth: Auth<{ roles::STAFF | roles::COMMITTEE | roles::COUNTY }>,
    db: web::Data<PgPool>,
    bus: web::Data<EventBus>,
    path: web::Path<Uuid>,
    query: web::Query<EventQuery>,
) -> Result<web::Json<EventPage>, ApiError> {
    let town = auth.town(&db, path.into_inner()).await?;
    let FeedRequest { after, limit, wait } = FeedRequest::check(&query)?;
    let viewer = Viewer::new(auth.role, &auth.sub);
    // Subscribe before the first read, so that a commit between the read and the wait
    // still wakes us.
    let mut wake = bus.subscribe();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(u64::from(wait));
    let rows = loop {
        let rows = repo::read(&db, town, after, i64::from(limit), &viewer).await?;
        if !rows.is_empty() || tokio::time::Instant::now() >= deadline {
            break rows;
        }
        // Wake on this town's commit, or re-check every second (a transaction that was
        // still running may have ended without a write of this town).
        let tick = tokio::time::Instant::now() + Duration::from_secs(1);
        let until = tick.min(deadline);
        loop {
            match tokio::time::timeout_at(until, wake.recv()).await {
                Ok(Ok(t)) if t != town => continue,
                _ => break,
            }
        }
    };
    Ok(web::Json(EventPage::after(after, rows)))
}
