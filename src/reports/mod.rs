//! Read-outs for county systems and committee screens: a town's summary, and a case's
//! score over time (as data, or as an SVG chart with the two thresholds drawn).

use actix_web::{HttpRequest, HttpResponse, get, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use crate::auth::{Auth, roles};
use crate::db::Reads;
use crate::error::ApiError;
use crate::scores::points::HalfPoints;

pub mod chart;
pub mod exports;
pub mod repo;

/// Registers the routes.
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(summary)
        .service(score_history)
        .configure(exports::configure);
}

/// A town at a glance.
#[derive(Debug, Serialize, ToSchema)]
pub struct TownSummary {
    /// The town.
    pub town_id: Uuid,
    /// Members in a branch of the town.
    pub members_active: i64,
    /// Open cases that are `active`.
    pub cases_active: i64,
    /// Open cases below the low threshold.
    pub cases_below_threshold: i64,
    /// Cases due for an evaluation.
    pub cases_evaluation_due: i64,
    /// Cases under evaluation.
    pub cases_under_evaluation: i64,
    /// Evaluations scheduled and not closed.
    pub evaluations_open: i64,
    /// Trainees in this year's cohort (0 without one).
    pub cohort_size: i64,
    /// Desk entries not yet resolved (registered, in progress or referred) that the caller
    /// may see: counselling entries count for their author and the committee only.
    pub desk_entries_open: i64,
}

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
#[get("/towns/{town}/summary")]
async fn summary(
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

crate::text_enum! {
    /// How the score history is answered.
    pub enum ChartFormat {
        /// A JSON time series (the default).
        Json = "json",
        /// An SVG chart of the score over time with the two thresholds drawn.
        Svg = "svg",
    }
}

/// The `?format=` of the score history.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ChartQuery {
    /// `json` or `svg`. Without it the `Accept` header decides (`image/svg+xml` or
    /// `application/json`), and JSON when it names neither.
    #[param(inline)]
    pub format: Option<ChartFormat>,
    /// The history as of this time (RFC 3339; default now): later entries are left out,
    /// and the chart's last step holds until then. Give it to get the same chart twice.
    pub as_of: Option<DateTime<Utc>>,
}

/// One point of a score's history.
#[derive(Debug, Serialize, ToSchema)]
pub struct ScorePoint {
    /// When the score became this.
    pub at: DateTime<Utc>,
    /// The score from then on.
    pub score: HalfPoints,
}

/// A case's score over time.
#[derive(Debug, Serialize, ToSchema)]
pub struct ScoreHistory {
    /// The case.
    pub case_id: Uuid,
    /// The low threshold of the current policy.
    pub low_threshold: HalfPoints,
    /// The evaluation threshold of the current policy.
    pub evaluation_threshold: HalfPoints,
    /// The score when the case opened, then after every entry, oldest first.
    pub points: Vec<ScorePoint>,
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
#[get("/towns/{town}/cases/{case}/score-history")]
async fn score_history(
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
    let opened = crate::cases::repo::get(&mut conn, town, case)
        .await?
        .ok_or(ApiError::NotFound)?;
    let policy = crate::policy::current(&mut conn, town).await?;
    let mut points = vec![ScorePoint {
        at: opened.created_at,
        score: opened.base_score,
    }];
    points.extend(repo::score_points(&mut conn, town, case, as_of).await?);
    let history = ScoreHistory {
        case_id: case,
        low_threshold: policy.low_threshold,
        evaluation_threshold: policy.evaluation_threshold,
        points,
    };
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
