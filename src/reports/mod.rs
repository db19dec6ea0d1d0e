//! Read-outs for county systems and committee screens: a town's summary, and a case's
//! score over time (as data, or as an SVG chart with the two thresholds drawn).

use std::fmt::Write as _;

use actix_web::{HttpRequest, HttpResponse, get, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use crate::auth::{Auth, roles};
use crate::error::ApiError;
use crate::scores::points::HalfPoints;

pub mod exports;

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
    db: web::Data<PgPool>,
    path: web::Path<Uuid>,
) -> Result<web::Json<TownSummary>, ApiError> {
    let town = auth.town(&db, path.into_inner()).await?;
    let mut conn = db.acquire().await?;
    let year = chrono::Datelike::year(&crate::towns::repo::today(&mut conn, town).await?);
    // Counts only what the caller's own lists show: a counselling entry for its author and
    // the committee (no one else learns that one was registered).
    let viewer = crate::desk::domain::Viewer::new(auth.role, &auth.sub);
    let s = sqlx::query_as!(
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
    .fetch_one(&mut *conn)
    .await?;
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
/// chart with the low and evaluation thresholds drawn. Roles: `staff`, `committee`, `county`.
///
/// 建档时以及每条记分之后的积分，以 JSON 返回；
/// `format=svg` 时返回标出低分线和评议分数线的折线图。
/// 角色：`staff`、`committee`、`county`。
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
    db: web::Data<PgPool>,
    req: HttpRequest,
    path: web::Path<(Uuid, Uuid)>,
    query: web::Query<ChartQuery>,
) -> Result<HttpResponse, ApiError> {
    let (town, case) = path.into_inner();
    let town = auth.town(&db, town).await?;
    let mut conn = db.acquire().await?;
    let opened = crate::cases::repo::get(&mut conn, town, case)
        .await?
        .ok_or(ApiError::NotFound)?;
    let policy = crate::policy::current(&mut conn, town).await?;
    let mut points = vec![ScorePoint {
        at: opened.created_at,
        score: opened.base_score,
    }];
    points.extend(
        sqlx::query_as!(
            ScorePoint,
            r#"SELECT recorded_at AS at, score_after AS "score: HalfPoints"
               FROM ledger_entries WHERE town_id = $1 AND case_id = $2 ORDER BY seq"#,
            town,
            case
        )
        .fetch_all(&mut *conn)
        .await?,
    );
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
        ChartFormat::Svg => crate::http::formats::negotiated()
            .content_type("image/svg+xml")
            .body(svg(&history)),
    })
}

/// Draws the history as a step chart: the score holds until the next entry. Steps are
/// spaced evenly (one per entry), so a busy week and a quiet month read alike.
pub fn svg(h: &ScoreHistory) -> String {
    const W: f64 = 640.0;
    const H: f64 = 320.0;
    const PAD: f64 = 40.0;
    let values: Vec<i32> = h.points.iter().map(|p| p.score.0).collect();
    let lo = values
        .iter()
        .copied()
        .chain([h.low_threshold.0, 0])
        .min()
        .unwrap_or(0)
        - 2;
    let hi = values
        .iter()
        .copied()
        .chain([h.evaluation_threshold.0])
        .max()
        .unwrap_or(30)
        + 2;
    let y = |half: i32| {
        H - PAD - (f64::from(half - lo) / f64::from((hi - lo).max(1))) * (H - 2.0 * PAD)
    };
    let steps = values.len().max(2) - 1;
    let x = |i: usize| PAD + (i as f64 / steps as f64) * (W - 2.0 * PAD);
    let mut path = String::new();
    for (i, v) in values.iter().enumerate() {
        if i == 0 {
            let _ = write!(path, "M{:.1},{:.1}", x(0), y(*v));
        } else {
            let _ = write!(path, " H{:.1} V{:.1}", x(i), y(*v));
        }
    }
    let _ = write!(path, " H{:.1}", x(steps));
    let line = |half: i32, color: &str, label: &str| {
        format!(
            r##"<line x1="{x1:.1}" y1="{y:.1}" x2="{x2:.1}" y2="{y:.1}" stroke="{color}" stroke-dasharray="6 4"/><text x="{x2:.1}" y="{ty:.1}" text-anchor="end" font-size="12" fill="{color}">{label} {p}</text>"##,
            x1 = PAD,
            x2 = W - PAD,
            y = y(half),
            ty = y(half) - 4.0,
            p = HalfPoints(half),
        )
    };
    let last = values.last().copied().unwrap_or(0);
    format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" role="img" aria-label="积分变化 score history"><rect width="100%" height="100%" fill="#fff"/>{low}{eval}<path d="{path}" fill="none" stroke="#c00" stroke-width="2"/><text x="{PAD}" y="24" font-size="14">积分 score: {now}</text></svg>"##,
        low = line(h.low_threshold.0, "#d97706", "低分线 low"),
        eval = line(h.evaluation_threshold.0, "#2563eb", "评议线 evaluation"),
        now = HalfPoints(last),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_chart_draws_both_thresholds_and_every_step() {
        let at = Utc::now();
        let h = ScoreHistory {
            case_id: Uuid::nil(),
            low_threshold: HalfPoints(6),
            evaluation_threshold: HalfPoints(30),
            points: [10, 11, 9, 5]
                .iter()
                .map(|s| ScorePoint {
                    at,
                    score: HalfPoints(*s),
                })
                .collect(),
        };
        let svg = svg(&h);
        assert!(svg.starts_with("<svg"));
        assert!(svg.contains("低分线 low 3"));
        assert!(svg.contains("评议线 evaluation 15"));
        assert!(svg.contains("score: 2.5"));
        assert_eq!(svg.matches(" V").count(), 3, "one step per entry");
    }
}
