//! The summary and score-history endpoints: HTTP in, one read, HTTP out.

use actix_web::{HttpRequest, HttpResponse, get, web};
use chrono::Utc;
use uuid::Uuid;

use super::domain::{ChartFormat, ChartQuery, ScoreHistory, TownSummary};
use super::{chart, repo, workflow};
use crate::auth::{Auth, roles};
use crate::db::Reads;
use crate::error::ApiError;

/// A town's summary · 全镇概况
///
/// Members, open cases by status, evaluations open, this year's cohort size and the desk
/// entries still open. Roles: `staff`, `committee`, `county` (each town of its county).
///
/// 党员人数、按状态统计的在管转化档案、进行中的民主评议、本年度学员班人数以及尚未办结的窗口登记。
/// 角色：`staff`、`committee`、`county`（本县各镇）。
#[utoipa::path(
    operation_id = "get_summary",
    tag = "reports",
    params(("town" = Uuid, Path, description = "The town's id.")),
    responses((status = 200, description = "The summary.", body = TownSummary)),
    security(("bearer" = ["staff", "committee", "county"])),
)]
#[get("")]
pub(super) async fn summary(
    auth: Auth<{ roles::STAFF | roles::COMMITTEE | roles::COUNTY }>,
    reads: web::Data<Reads>,
    path: web::Path<Uuid>,
) -> Result<web::Json<TownSummary>, ApiError> {
    let db = reads.pool().await;
    let town = auth.town(db, path.into_inner()).await?;
    let mut conn = db.acquire().await?;
    let year = chrono::Datelike::year(&crate::towns::repo::today(&mut conn, town).await?);
    // Counts only what the caller's own lists show: a counselling entry for its author and
    // the committee (no one else learns that one was registered).
    let viewer = crate::desk::domain::Viewer::new(auth.role, &auth.sub);
    let s = repo::summary(&mut conn, town, year, &viewer).await?;
    Ok(web::Json(s))
}

/// A case's score over time · 档案积分随时间的变化
///
/// The score at opening and after every ledger entry, as JSON, or with `format=svg` as a
/// chart: a step line over a time axis (dates in the town's calendar), each step as wide
/// as the time its score held (the current one until `as_of`, with its duration), and the
/// low and evaluation thresholds drawn and labelled. Roles: `staff`, `committee`, `county`.
///
/// 建档时以及每条记分之后的积分，以 JSON 返回；`format=svg` 时返回积分变化图：横轴为时间
/// （按本镇日历标注日期），每一段的宽度即该积分保持的时长（当前积分画到 `as_of`，并标出时长），
/// 并画出、标注低分线和评议分数线。角色：`staff`、`committee`、`county`。
#[utoipa::path(
    operation_id = "get_score_history",
    tag = "reports",
    params(("town" = Uuid, Path, description = "The town's id."), ("case" = Uuid, Path, description = "The case's id."), ChartQuery),
    responses((status = 200, description = "The history.", content((ScoreHistory = "application/json"), (String = "image/svg+xml")))),
    security(("bearer" = ["staff", "committee", "county"])),
)]
#[get("/{case}/score-history")]
pub(super) async fn score_history(
    auth: Auth<{ roles::STAFF | roles::COMMITTEE | roles::COUNTY }>,
    reads: web::Data<Reads>,
    req: HttpRequest,
    path: web::Path<(Uuid, Uuid)>,
    query: web::Query<ChartQuery>,
) -> Result<HttpResponse, ApiError> {
    let db = reads.pool().await;
    let (town, case) = path.into_inner();
    let town = auth.town(db, town).await?;
    let as_of = query.as_of.unwrap_or_else(Utc::now);
    let mut conn = db.acquire().await?;
    let history = workflow::score_history(&mut conn, town, case, as_of)
        .await?
        .ok_or(ApiError::NotFound)?;
    let format = crate::http::formats::negotiate(
        query.format,
        &req,
        &[
            ("application/json", ChartFormat::Json),
            ("image/svg+xml", ChartFormat::Svg),
        ],
    );
    Ok(match format {
        ChartFormat::Json => crate::http::formats::negotiated().json(&history),
        ChartFormat::Svg => {
            let tz = crate::towns::repo::zone(&mut conn, town).await?;
            crate::http::formats::negotiated()
                .content_type("image/svg+xml")
                .body(chart::svg(&history, as_of, tz))
        }
    })
}
