//! The calendar endpoints: HTTP in, one read or change per request, HTTP out.

use actix_web::{HttpResponse, delete, get, put, web};
use chrono::{Datelike, NaiveDate};
use serde::Deserialize;
use sqlx::PgPool;
use utoipa::IntoParams;
use uuid::Uuid;

use super::domain::{CalendarDay, CalendarYear, SetDay, check_year};
use super::{domain, repo, workflow};
use crate::auth::{Auth, roles};
use crate::error::ApiError;
use crate::http::extract::Json;
use crate::msg;

/// The `?year=` of the calendar.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct YearQuery {
    /// The year; this year (the town's calendar) by default.
    #[param(minimum = 2000, maximum = 2099)]
    pub year: Option<i32>,
}

/// A year of the town's calendar · 本镇一年的工作日历
///
/// The holidays (weekdays off) and worked weekend days (调休) of the year, in order: with
/// Monday to Friday otherwise, the working days that periods such as the objection period
/// count. Roles: `staff`, `committee`, `county`, `member`.
///
/// 该年的节假日（放假的工作日）和调休上班的周末，按日期排列：其余按周一至周五上班，异议期等期限据此计算工作日。
/// 角色：`staff`、`committee`、`county`、`member`。
#[utoipa::path(
    operation_id = "get_calendar",
    tag = "calendar",
    params(("town" = Uuid, Path, description = "The town's id."), YearQuery),
    responses((status = 200, description = "The year's calendar days.", body = CalendarYear)),
    security(("bearer" = ["staff", "committee", "county", "member"])),
)]
#[get("")]
pub(super) async fn get_year(
    auth: Auth<{ roles::STAFF | roles::COMMITTEE | roles::COUNTY | roles::MEMBER }>,
    db: web::Data<PgPool>,
    path: web::Path<Uuid>,
    query: web::Query<YearQuery>,
) -> Result<web::Json<CalendarYear>, ApiError> {
    let town = auth.town(&db, path.into_inner()).await?;
    if let Some(year) = query.year
        && !domain::YEARS.contains(&year)
    {
        return Err(ApiError::bad_request(
            "invalid_query",
            msg!(
                "year 须在 2000 到 2099 之间。",
                "year must be between 2000 and 2099."
            ),
        ));
    }
    let mut conn = db.acquire().await?;
    let year = match query.year {
        Some(year) => year,
        None => crate::towns::repo::today(&mut conn, town).await?.year(),
    };
    let first = NaiveDate::from_ymd_opt(year, 1, 1).ok_or(ApiError::NotFound)?;
    let last = NaiveDate::from_ymd_opt(year, 12, 31).ok_or(ApiError::NotFound)?;
    let days = repo::between(&mut conn, town, first, last).await?;
    Ok(web::Json(CalendarYear { year, days }))
}

/// Set a day of the calendar · 设置日历中的一天
///
/// A `holiday` is a Monday to Friday off; a `workday` is a Saturday or Sunday worked
/// instead (调休). Any other combination changes nothing and is a 422 (`not_a_weekday`,
/// `not_a_weekend_day`). Only days after today (422 `day_passed`): the calendar is set
/// ahead, and a period counts by the days as they were when they came. Setting a day
/// again replaces it. Roles: `committee`.
///
/// `holiday` 是放假的周一至周五；`workday` 是调休上班的周六或周日。
/// 其他组合没有意义，答 422（`not_a_weekday`、`not_a_weekend_day`）。
/// 只能设置今天以后的日子（422 `day_passed`）：日历须提前设定，期限按当时的日历计算。
/// 再次设置同一天即覆盖原设置。角色：`committee`。
#[utoipa::path(
    operation_id = "set_calendar_day",
    tag = "calendar",
    params(("town" = Uuid, Path, description = "The town's id."),
           ("day" = NaiveDate, Path, description = "The day (`YYYY-MM-DD`, years 2000 to 2099).")),
    request_body = SetDay,
    responses(
        (status = 201, description = "The day, newly set.", body = CalendarDay),
        (status = 200, description = "The day, changed.", body = CalendarDay),
        (status = 422, description = "`validation_failed` (`kind`: `not_a_weekday`, `not_a_weekend_day`; `name`), or `day_passed`: the day is not after today.",
         body = crate::error::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["committee"])),
)]
#[put("/{day}")]
pub(super) async fn set_day(
    auth: Auth<{ roles::COMMITTEE }>,
    db: web::Data<PgPool>,
    path: web::Path<(Uuid, NaiveDate)>,
    body: Json<SetDay>,
) -> Result<HttpResponse, ApiError> {
    let (town, day) = path.into_inner();
    let town = auth.town(&db, town).await?;
    check_year(day.year())?;
    let name = body.validate(day)?;
    let mut tx = db.begin().await?;
    let (set, created) = workflow::set_day(&mut tx, &auth, town, day, body.kind, &name).await?;
    tx.commit().await?;
    Ok(if created {
        HttpResponse::Created().json(&set)
    } else {
        HttpResponse::Ok().json(&set)
    })
}

/// Clear a day of the calendar · 清除日历中一天的设置
///
/// The day is an ordinary one again (Monday to Friday working, weekends off). Only a day
/// after today (422 `day_passed`); 404 when it was not set. Roles: `committee`.
///
/// 该日恢复常规（周一至周五上班，周末休息）。
/// 只能清除今天以后的日子（422 `day_passed`）；该日没有设置时答 404。
/// 角色：`committee`。
#[utoipa::path(
    operation_id = "clear_calendar_day",
    tag = "calendar",
    params(("town" = Uuid, Path, description = "The town's id."),
           ("day" = NaiveDate, Path, description = "The day (`YYYY-MM-DD`).")),
    responses(
        (status = 204, description = "The day is ordinary again."),
        (status = 422, description = "`day_passed`: the day is not after today.",
         body = crate::error::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["committee"])),
)]
#[delete("/{day}")]
pub(super) async fn clear_day(
    auth: Auth<{ roles::COMMITTEE }>,
    db: web::Data<PgPool>,
    path: web::Path<(Uuid, NaiveDate)>,
) -> Result<HttpResponse, ApiError> {
    let (town, day) = path.into_inner();
    let town = auth.town(&db, town).await?;
    let mut tx = db.begin().await?;
    workflow::clear_day(&mut tx, &auth, town, day).await?;
    tx.commit().await?;
    Ok(HttpResponse::NoContent().finish())
}
