//! The cohort endpoints: HTTP in, one workflow or read per request, HTTP out.

use actix_web::{HttpRequest, HttpResponse, delete, get, post, web};
use serde::Deserialize;
use serde_json::json;
use sqlx::PgPool;
use utoipa::IntoParams;
use uuid::Uuid;

use super::domain::{
    CloseCohort, Cohort, ExportFormat, FormatQuery, MyTraining, NewCohort, NewPlacement,
    NewTrainee, Placement, Roster, Trainee,
};
use super::{domain, repo, workflow};
use crate::audit::{self, Change};
use crate::auth::{Auth, Scope, roles};
use crate::error::ApiError;
use crate::http::extract::{IdempotencyKey, IfMatch, Json, etag};
use crate::http::idempotency::{Answer, idempotent};
use crate::http::paging::{Page, PageParams};
use crate::http::reply;
use crate::msg;
use crate::validate::Checks;

/// Filters of the cohort list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CohortQuery {
    /// Only the cohort of this year.
    #[param(minimum = 2000, maximum = 2200)]
    pub year: Option<i32>,
}

/// Create the year's cohort (art. 16) · 建立本年度培养学员班（第16条）
///
/// One cohort per town and year: this year in the town's time zone (the default) or the
/// next. Its size bounds are the current policy's (`cohort_min`, `cohort_max`), recorded
/// on the cohort. Roles: `committee`.
///
/// 每个镇每年一个学员班：本镇时区的今年（默认）或明年。
/// 人数上下限取现行计分办法的 `cohort_min`、`cohort_max`，并记在学员班上。
/// 角色：`committee`。
#[utoipa::path(
    operation_id = "create_cohort",
    tag = "cohorts",
    params(("town" = Uuid, Path, description = "The town's id.")),
    request_body = NewCohort,
    responses(
        (status = 201, description = "The cohort, selecting its trainees.", body = Cohort,
         headers(("ETag" = String, description = "The cohort's version"), ("Location" = String, description = "The cohort's URL"))),
        (status = 409, description = "`cohort_exists`: the year has its cohort.", body = crate::error::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["committee"])),
)]
#[post("")]
pub(super) async fn create_cohort(
    auth: Auth<{ roles::COMMITTEE }>,
    db: web::Data<PgPool>,
    req: HttpRequest,
    path: web::Path<Uuid>,
    key: IdempotencyKey,
    body: Json<NewCohort>,
) -> Result<HttpResponse, ApiError> {
    let town = auth.town(&db, path.into_inner()).await?;
    idempotent(&db, &auth, &key, &req, &*body, async |tx| {
        let cohort = workflow::create(tx, &auth, town, &body).await?;
        let location = format!("/api/v1/towns/{town}/cohorts/{}", cohort.id);
        Answer::created(&cohort, etag(cohort.version), location)
    })
    .await
}

/// List a town's cohorts · 列出本镇的学员班
///
/// Roles: `staff`, `committee`, `county`.
///
/// 角色：`staff`、`committee`、`county`。
#[utoipa::path(
    operation_id = "list_cohorts",
    tag = "cohorts",
    params(("town" = Uuid, Path, description = "The town's id."), CohortQuery, PageParams),
    responses((status = 200, description = "A page of cohorts.", body = Page<Cohort>)),
    security(("bearer" = ["staff", "committee", "county"])),
)]
#[get("")]
pub(super) async fn list_cohorts(
    auth: Auth<{ roles::STAFF | roles::COMMITTEE | roles::COUNTY }>,
    db: web::Data<PgPool>,
    path: web::Path<Uuid>,
    query: web::Query<CohortQuery>,
    page: web::Query<PageParams>,
) -> Result<web::Json<Page<Cohort>>, ApiError> {
    let town = auth.town(&db, path.into_inner()).await?;
    let keyset = page.keyset()?;
    if query.year.is_some_and(|y| !(2000..=2200).contains(&y)) {
        return Err(ApiError::bad_request(
            "invalid_query",
            msg!(
                "year 须在 2000 到 2200 之间。",
                "year must be between 2000 and 2200."
            ),
        ));
    }
    let mut conn = db.acquire().await?;
    let rows = repo::list(&mut conn, town, query.year, keyset).await?;
    Ok(web::Json(Page::from_rows(rows, keyset, |c| c.id)))
}

/// Read a cohort · 查看一个学员班
///
/// Roles: `staff`, `committee`, `county`.
///
/// 角色：`staff`、`committee`、`county`。
#[utoipa::path(
    operation_id = "get_cohort",
    tag = "cohorts",
    params(("town" = Uuid, Path, description = "The town's id."), ("cohort" = Uuid, Path, description = "The cohort's id.")),
    responses((status = 200, description = "The cohort.", body = Cohort,
               headers(("ETag" = String, description = "The cohort's version")))),
    security(("bearer" = ["staff", "committee", "county"])),
)]
#[get("/{cohort}")]
pub(super) async fn get_cohort(
    auth: Auth<{ roles::STAFF | roles::COMMITTEE | roles::COUNTY }>,
    db: web::Data<PgPool>,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    let (town, id) = path.into_inner();
    let town = auth.town(&db, town).await?;
    let mut conn = db.acquire().await?;
    let cohort = repo::get(&mut conn, town, id)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(reply::with_etag(&cohort, cohort.version))
}

/// Select a trainee (art. 15, 16) · 选定一名学员（第15、16条）
///
/// The member must be an outstanding young member or a village reserve cadre of this town
/// (422 `not_eligible`), active in a branch (409 `member_not_active`), and in no other
/// cohort this year. The cohort must still be selecting and below its maximum: the
/// database refuses the one over it even under concurrent requests. The cohort's version
/// (ETag) moves with every trainee change. Roles: `committee`.
///
/// 该党员须是本镇的优秀年轻党员或村后备干部（422 `not_eligible`），
/// 在支部中正常在册（409 `member_not_active`），且本年度不在其他学员班。
/// 学员班须仍在遴选中且未满员：即使并发请求，数据库也会拒绝超员的那一名。
/// 每次学员变动，学员班的版本（ETag）都会前移。角色：`committee`。
#[utoipa::path(
    operation_id = "add_trainee",
    tag = "cohorts",
    params(("town" = Uuid, Path, description = "The town's id."), ("cohort" = Uuid, Path, description = "The cohort's id.")),
    request_body = NewTrainee,
    responses(
        (status = 201, description = "The trainee.", body = Trainee,
         headers(("Location" = String, description = "The trainee's placements"))),
        (status = 409, description = "`cohort_full`, `cohort_confirmed`, `cohort_closed`, `member_not_active`, or `already_a_trainee`.",
         body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`not_eligible`: neither an outstanding young member nor a reserve cadre; `validation_failed` (`member_id`: `unknown_member`).",
         body = crate::error::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["committee"])),
)]
#[post("/{cohort}/trainees")]
pub(super) async fn add_trainee(
    auth: Auth<{ roles::COMMITTEE }>,
    db: web::Data<PgPool>,
    req: HttpRequest,
    path: web::Path<(Uuid, Uuid)>,
    key: IdempotencyKey,
    body: Json<NewTrainee>,
) -> Result<HttpResponse, ApiError> {
    let (town, cohort) = path.into_inner();
    let town = auth.town(&db, town).await?;
    idempotent(&db, &auth, &key, &req, &*body, async |tx| {
        let trainee = workflow::add_trainee(tx, &auth, town, cohort, &body).await?;
        let location = format!(
            "/api/v1/towns/{town}/cohorts/{cohort}/trainees/{}/placements",
            trainee.member_id
        );
        Answer::created_at(&trainee, location)
    })
    .await
}

/// List a cohort's trainees · 列出学员班的学员
///
/// Roles: `staff`, `committee`, `county`.
///
/// 角色：`staff`、`committee`、`county`。
#[utoipa::path(
    operation_id = "list_trainees",
    tag = "cohorts",
    params(("town" = Uuid, Path, description = "The town's id."), ("cohort" = Uuid, Path, description = "The cohort's id."), PageParams),
    responses((status = 200, description = "A page of trainees, in member id order.", body = Page<Trainee>)),
    security(("bearer" = ["staff", "committee", "county"])),
)]
#[get("/{cohort}/trainees")]
pub(super) async fn list_trainees(
    auth: Auth<{ roles::STAFF | roles::COMMITTEE | roles::COUNTY }>,
    db: web::Data<PgPool>,
    path: web::Path<(Uuid, Uuid)>,
    page: web::Query<PageParams>,
) -> Result<web::Json<Page<Trainee>>, ApiError> {
    let (town, cohort) = path.into_inner();
    let town = auth.town(&db, town).await?;
    let keyset = page.keyset()?;
    let mut conn = db.acquire().await?;
    repo::get(&mut conn, town, cohort)
        .await?
        .ok_or(ApiError::NotFound)?;
    let rows = repo::trainees(&mut conn, town, cohort, keyset).await?;
    Ok(web::Json(Page::from_rows(rows, keyset, |t| t.member_id)))
}

/// Remove a trainee before confirmation · 在确认名单前移除一名学员
///
/// Only while the cohort is selecting (409 `cohort_confirmed` after); a trainee with
/// placements stays (409 `trainee_has_placements`). Their open mentorship as a trainee of
/// this cohort ends with them. Roles: `committee`.
///
/// 只能在学员班遴选期间移除（确认后答 409 `cohort_confirmed`）；
/// 已有培养安排的学员不能移除（409 `trainee_has_placements`）。
/// 其作为本班学员的在结对关系随之结束。角色：`committee`。
#[utoipa::path(
    operation_id = "remove_trainee",
    tag = "cohorts",
    params(
        ("town" = Uuid, Path, description = "The town's id."),
        ("cohort" = Uuid, Path, description = "The cohort's id."),
        ("member" = Uuid, Path, description = "The trainee's member id."),
    ),
    responses(
        (status = 204, description = "The trainee was removed."),
        (status = 409, description = "`cohort_confirmed`, `cohort_closed`, or `trainee_has_placements`.",
         body = crate::error::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["committee"])),
)]
#[delete("/{cohort}/trainees/{member}")]
pub(super) async fn remove_trainee(
    auth: Auth<{ roles::COMMITTEE }>,
    db: web::Data<PgPool>,
    path: web::Path<(Uuid, Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    let (town, cohort_id, member) = path.into_inner();
    let town = auth.town(&db, town).await?;
    let mut tx = db.begin().await?;
    let cohort = repo::lock(&mut tx, town, cohort_id).await?;
    repo::trainee(&mut tx, town, cohort.id, member)
        .await?
        .ok_or(ApiError::NotFound)?;
    domain::check_selecting(cohort.status)?;
    let ended = crate::mentorships::repo::end_for_trainee(
        &mut tx,
        &auth,
        town,
        cohort.id,
        member,
        "移出培养学员班 / removed from the cohort",
    )
    .await?;
    repo::delete_trainee(&mut tx, town, cohort.id, member).await?;
    audit::record(
        &mut tx,
        &auth,
        Change {
            town_id: town,
            action: "cohort.trainee_removed",
            resource_type: "cohort",
            resource_id: cohort.id,
            data: json!({ "member_id": member, "trainee_count": cohort.trainee_count - 1,
                          "mentorships_ended": ended }),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Confirm a cohort's trainees · 确认学员班名单
///
/// Needs at least the cohort's minimum of trainees (409 `cohort_too_small`); after it the
/// list is fixed. Needs `If-Match` with the cohort's ETag. Roles: `committee`.
///
/// 学员人数须不少于该班的下限（409 `cohort_too_small`）；确认后名单固定。
/// 需带 `If-Match`（该学员班的 ETag）。角色：`committee`。
#[utoipa::path(
    operation_id = "confirm_cohort",
    tag = "cohorts",
    params(("town" = Uuid, Path, description = "The town's id."), ("cohort" = Uuid, Path, description = "The cohort's id.")),
    responses(
        (status = 200, description = "The confirmed cohort.", body = Cohort,
         headers(("ETag" = String, description = "The cohort's new version"))),
        (status = 409, description = "`cohort_too_small`, `cohort_confirmed`, or `cohort_closed`.",
         body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 428, description = "If-Match is missing.", body = crate::error::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["committee"])),
)]
#[post("/{cohort}/confirm")]
pub(super) async fn confirm_cohort(
    auth: Auth<{ roles::COMMITTEE }>,
    db: web::Data<PgPool>,
    path: web::Path<(Uuid, Uuid)>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    let (town, cohort_id) = path.into_inner();
    let town = auth.town(&db, town).await?;
    let mut tx = db.begin().await?;
    let cohort = repo::lock(&mut tx, town, cohort_id).await?;
    check_version(&cohort, if_match)?;
    domain::check_confirm(cohort.status, cohort.trainee_count, cohort.min_size)?;
    let today = crate::towns::repo::today(&mut tx, town).await?;
    let cohort = repo::confirm(&mut tx, town, cohort.id, today, &auth.sub).await?;
    audit::record(
        &mut tx,
        &auth,
        Change {
            town_id: town,
            action: "cohort.confirmed",
            resource_type: "cohort",
            resource_id: cohort.id,
            data: json!({ "trainee_count": cohort.trainee_count, "confirmed_on": today,
                          "version": cohort.version }),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(reply::with_etag(&cohort, cohort.version))
}

/// Close a cohort: the year's training is over · 结束学员班：本年度培养结束
///
/// Its trainees' open mentorships end, with the reason given. Needs `If-Match` with the
/// cohort's ETag. Roles: `committee`.
///
/// 其学员的在结对关系随之结束，结束原因为所填理由。需带 `If-Match`（该学员班的 ETag）。
/// 角色：`committee`。
#[utoipa::path(
    operation_id = "close_cohort",
    tag = "cohorts",
    params(("town" = Uuid, Path, description = "The town's id."), ("cohort" = Uuid, Path, description = "The cohort's id.")),
    request_body = CloseCohort,
    responses(
        (status = 200, description = "The closed cohort.", body = Cohort,
         headers(("ETag" = String, description = "The cohort's new version"))),
        (status = 409, description = "`cohort_closed`.", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 428, description = "If-Match is missing.", body = crate::error::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["committee"])),
)]
#[post("/{cohort}/close")]
pub(super) async fn close_cohort(
    auth: Auth<{ roles::COMMITTEE }>,
    db: web::Data<PgPool>,
    path: web::Path<(Uuid, Uuid)>,
    body: Json<CloseCohort>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    let (town, cohort_id) = path.into_inner();
    let town = auth.town(&db, town).await?;
    let mut c = Checks::new();
    let reason = c.text("reason", &body.reason, 1, 500);
    c.finish()?;
    let mut tx = db.begin().await?;
    let cohort = repo::lock(&mut tx, town, cohort_id).await?;
    check_version(&cohort, if_match)?;
    domain::check_close(cohort.status)?;
    let today = crate::towns::repo::today(&mut tx, town).await?;
    let ended =
        crate::mentorships::repo::end_for_cohort(&mut tx, &auth, town, cohort.id, &reason).await?;
    let cohort = repo::close(&mut tx, town, cohort.id, today, &auth.sub, &reason).await?;
    audit::record(
        &mut tx,
        &auth,
        Change {
            town_id: town,
            action: "cohort.closed",
            resource_type: "cohort",
            resource_id: cohort.id,
            data: json!({ "closed_on": today, "mentorships_ended": ended, "version": cohort.version }),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(reply::with_etag(&cohort, cohort.version))
}

fn check_version(cohort: &Cohort, if_match: IfMatch) -> Result<(), ApiError> {
    if_match.check(cohort.version)
}

/// Record a placement of a trainee (art. 15) · 记录学员的一项培养安排（第15条）
///
/// A party lecture, a temporary post (with its post and unit) or the town's central work,
/// from a start to an end date (both included), starting in the cohort's year. A
/// trainee's placements never overlap (409 `placement_overlap`, held by the database). Not
/// once the cohort is closed. Roles: `staff`, `committee`.
///
/// 上党课、挂职锻炼（附岗位和单位）或参与全镇中心工作，自开始日期至结束日期（均含当日），开始日期在学员班所属年度内。
/// 同一学员的培养安排不得重叠（409 `placement_overlap`，由数据库保证）。
/// 学员班结束后不能再记录。角色：`staff`、`committee`。
#[utoipa::path(
    operation_id = "add_placement",
    tag = "cohorts",
    params(
        ("town" = Uuid, Path, description = "The town's id."),
        ("cohort" = Uuid, Path, description = "The cohort's id."),
        ("member" = Uuid, Path, description = "The trainee's member id."),
    ),
    request_body = NewPlacement,
    responses(
        (status = 201, description = "The placement.", body = Placement,
         headers(("Location" = String, description = "The trainee's placements"))),
        (status = 409, description = "`placement_overlap`, or `cohort_closed`.", body = crate::error::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["staff", "committee"])),
)]
#[post("/{cohort}/trainees/{member}/placements")]
pub(super) async fn add_placement(
    auth: Auth<{ roles::STAFF | roles::COMMITTEE }>,
    db: web::Data<PgPool>,
    req: HttpRequest,
    path: web::Path<(Uuid, Uuid, Uuid)>,
    key: IdempotencyKey,
    body: Json<NewPlacement>,
) -> Result<HttpResponse, ApiError> {
    let (town, cohort, member) = path.into_inner();
    let town = auth.town(&db, town).await?;
    idempotent(&db, &auth, &key, &req, &*body, async |tx| {
        let placement = workflow::add_placement(tx, &auth, town, cohort, member, &body).await?;
        let location =
            format!("/api/v1/towns/{town}/cohorts/{cohort}/trainees/{member}/placements");
        Answer::created_at(&placement, location)
    })
    .await
}

/// List a trainee's placements, by start date · 列出学员的培养安排，按开始日期排列
///
/// All of them on one page (`next_cursor` is always `null`: a trainee has a handful in
/// the cohort's year), in the shape of every list. Roles: `staff`, `committee`, `county`.
///
/// 全部在一页中返回（`next_cursor` 始终为 `null`：一名学员在该年度只有几项安排），形式与其他列表相同。
/// 角色：`staff`、`committee`、`county`。
#[utoipa::path(
    operation_id = "list_placements",
    tag = "cohorts",
    params(
        ("town" = Uuid, Path, description = "The town's id."),
        ("cohort" = Uuid, Path, description = "The cohort's id."),
        ("member" = Uuid, Path, description = "The trainee's member id."),
    ),
    responses((status = 200, description = "The trainee's placements, all on one page.", body = Page<Placement>)),
    security(("bearer" = ["staff", "committee", "county"])),
)]
#[get("/{cohort}/trainees/{member}/placements")]
pub(super) async fn list_placements(
    auth: Auth<{ roles::STAFF | roles::COMMITTEE | roles::COUNTY }>,
    db: web::Data<PgPool>,
    path: web::Path<(Uuid, Uuid, Uuid)>,
) -> Result<web::Json<Page<Placement>>, ApiError> {
    let (town, cohort, member) = path.into_inner();
    let town = auth.town(&db, town).await?;
    let mut conn = db.acquire().await?;
    repo::trainee(&mut conn, town, cohort, member)
        .await?
        .ok_or(ApiError::NotFound)?;
    let placements = repo::placements(&mut conn, town, cohort, Some(member)).await?;
    Ok(web::Json(Page::whole(placements)))
}

/// The cohort's roster · 学员班花名册
///
/// Each trainee with their placements, their mentor (the open mentorship, if any) and
/// their attendance at the center's activities of the cohort's year whose roll has been
/// recorded (art. 17: present / required). `?format=csv` gives a CSV (UTF-8 with a byte
/// order mark) with Chinese column headings: 姓名, 党员编号, 村（社区）, 入选条件, 培养安排,
/// 结对导师, 出勤次数/应出勤次数, 出勤率（请假计为未出勤）, 出勤率（不含请假）: the two rates
/// differ in how excused leave (请假) counts. Roles: `staff`, `committee`, `county`.
///
/// 每名学员及其培养安排、结对导师（在结对的，如有）和该年度中心已点名活动的出勤（第17条：出勤/应出勤）。
/// `?format=csv` 返回 CSV（UTF-8，带 BOM），
/// 列标题为中文：姓名、党员编号、村（社区）、入选条件、培养安排、结对导师、出勤次数/应出勤次数、出勤率（请假计为未出勤）、出勤率（不含请假）：两种出勤率的区别在于请假如何计算。
/// 角色：`staff`、`committee`、`county`。
#[utoipa::path(
    operation_id = "get_cohort_roster",
    tag = "cohorts",
    params(("town" = Uuid, Path, description = "The town's id."), ("cohort" = Uuid, Path, description = "The cohort's id."), FormatQuery),
    responses((status = 200, description = "The roster.",
               content((Roster = "application/json"), (String = "text/csv"), (crate::http::formats::Spreadsheet = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")))),
    security(("bearer" = ["staff", "committee", "county"])),
)]
#[get("/{cohort}/roster")]
pub(super) async fn get_roster(
    auth: Auth<{ roles::STAFF | roles::COMMITTEE | roles::COUNTY }>,
    db: web::Data<PgPool>,
    req: HttpRequest,
    path: web::Path<(Uuid, Uuid)>,
    query: web::Query<FormatQuery>,
) -> Result<HttpResponse, ApiError> {
    let (town, cohort) = path.into_inner();
    let town = auth.town(&db, town).await?;
    let format = ExportFormat::negotiate(query.format, &req);
    let mut conn = db.acquire().await?;
    roster_answer(&mut conn, town, cohort, format).await
}

/// A cohort's roster as JSON, CSV or XLSX (also the roster report by year).
pub async fn roster_answer(
    conn: &mut sqlx::PgConnection,
    town: Uuid,
    cohort: Uuid,
    format: ExportFormat,
) -> Result<HttpResponse, ApiError> {
    let cohort = repo::get(conn, town, cohort)
        .await?
        .ok_or(ApiError::NotFound)?;
    let trainees = repo::roster(conn, &cohort).await?;
    let roster = Roster { cohort, trainees };
    match format {
        ExportFormat::Json => Ok(crate::http::formats::negotiated().json(&roster)),
        format => crate::http::formats::download(
            format,
            &format!("roster-{}", roster.cohort.year),
            &domain::ROSTER_HEADINGS,
            &domain::roster_rows(&roster),
        ),
    }
}

/// Your training: your cohorts, placements and mentor · 本人的培养情况：所在学员班、培养安排与结对导师
///
/// For the member the token names: the cohorts they are (or were) a trainee of with their
/// placements, and their open mentorship's mentor. Roles: `member`.
///
/// 令牌所指党员现在（或曾经）作为学员所在的学员班及其培养安排，以及在结对关系中的导师。
/// 角色：`member`。
#[utoipa::path(
    operation_id = "get_my_training",
    tag = "me",
    responses(
        (status = 200, description = "Your training.", body = MyTraining),
        (status = 404, description = "`not_found`: the token names no member record of its town.",
         body = crate::error::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["member"])),
)]
#[get("/training")]
pub(super) async fn my_training(
    auth: Auth<{ roles::MEMBER }>,
    db: web::Data<PgPool>,
) -> Result<web::Json<MyTraining>, ApiError> {
    let Scope::Member { town, member_id } = auth.scope else {
        return Err(ApiError::Forbidden);
    };
    let town = auth.town(&db, town).await?;
    let mut conn = db.acquire().await?;
    if repo::member_facts(&mut conn, town, member_id)
        .await?
        .is_none()
    {
        return Err(ApiError::NotFound);
    }
    let cohorts = repo::cohorts_of_member(&mut conn, town, member_id).await?;
    let mentor = repo::open_mentors(&mut conn, town, &[member_id])
        .await?
        .remove(&member_id);
    Ok(web::Json(MyTraining { cohorts, mentor }))
}
