//! The mentorship endpoints: HTTP in, one workflow or read per request, HTTP out.

use actix_web::{HttpRequest, HttpResponse, get, post, web};
use serde::Deserialize;
use serde_json::json;
use sqlx::PgPool;
use utoipa::IntoParams;
use uuid::Uuid;

use super::domain::{EndMentorship, MentorLoads, Mentorship, MentorshipLog, NewLog, NewMentorship};
use super::{domain, repo, workflow};
use crate::audit::{self, Change};
use crate::auth::{Auth, roles};
use crate::cohorts::domain::{ExportFormat, FormatQuery};
use crate::error::ApiError;
use crate::http::extract::{IdempotencyKey, IfMatch, Json, etag};
use crate::http::idempotency::{Answer, idempotent};
use crate::http::paging::{Page, PageParams};
use crate::http::reply;

/// Filters of the mentorship list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MentorshipQuery {
    /// Only this mentor's.
    pub mentor_id: Option<Uuid>,
    /// Only this mentee's.
    pub mentee_id: Option<Uuid>,
    /// Only open (`true`) or only ended (`false`) ones.
    pub open: Option<bool>,
}

/// Pair a mentor with a mentee (art. 18) · 为导师和结对对象建立结对（第18条）
///
/// The mentor is an active member of the town's center branch who is not under
/// transformation (422 `mentor_not_in_center`), identified by `mentor_id`, with the
/// subject (`sub`) of their staff token, which alone may write the log. The mentee is a
/// trainee of this year's cohort or a member with an open case (422 `not_a_mentee`), with
/// no open mentorship (409 `mentee_has_mentor`). A mentor has at most the policy's
/// `mentor_limit` open mentorships (409 `mentor_full`); the database holds both rules
/// under concurrent requests. Roles: `committee`.
///
/// 导师是本镇中心支部正常在册、且不在转化中的党员（422 `mentor_not_in_center`），
/// 以 `mentor_id` 指明，并附其 staff 令牌的 `sub`，
/// 只有该令牌可以填写谈话记录。
/// 结对对象是本年度学员班的学员或有在管档案的党员（422 `not_a_mentee`），
/// 且没有在结对关系（409 `mentee_has_mentor`）。
/// 每名导师同时最多带计分办法规定的 `mentor_limit` 人（409 `mentor_full`）；
/// 即使并发请求，数据库也保证这两条规则。角色：`committee`。
#[utoipa::path(
    operation_id = "create_mentorship",
    tag = "mentorships",
    params(("town" = Uuid, Path, description = "The town's id.")),
    request_body = NewMentorship,
    responses(
        (status = 201, description = "The mentorship.", body = Mentorship,
         headers(("ETag" = String, description = "The mentorship's version"), ("Location" = String, description = "The mentorship's URL"))),
        (status = 409, description = "`mentor_full` or `mentee_has_mentor`.", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`mentor_not_in_center`, `not_a_mentee`, or `validation_failed`.", body = crate::error::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["committee"])),
)]
#[post("")]
pub(super) async fn create_mentorship(
    auth: Auth<{ roles::COMMITTEE }>,
    db: web::Data<PgPool>,
    req: HttpRequest,
    path: web::Path<Uuid>,
    key: IdempotencyKey,
    body: Json<NewMentorship>,
) -> Result<HttpResponse, ApiError> {
    let town = auth.town(&db, path.into_inner()).await?;
    idempotent(&db, &auth, &key, &req, &*body, async |tx| {
        let m = workflow::create(tx, &auth, town, &body).await?;
        let location = format!("/api/v1/towns/{town}/mentorships/{}", m.id);
        Answer::created(&m, etag(m.version), location)
    })
    .await
}

/// List a town's mentorships · 列出本镇的结对关系
///
/// Roles: `staff`, `committee`, `county`.
///
/// 角色：`staff`、`committee`、`county`。
#[utoipa::path(
    operation_id = "list_mentorships",
    tag = "mentorships",
    params(("town" = Uuid, Path, description = "The town's id."), MentorshipQuery, PageParams),
    responses((status = 200, description = "A page of mentorships.", body = Page<Mentorship>)),
    security(("bearer" = ["staff", "committee", "county"])),
)]
#[get("")]
pub(super) async fn list_mentorships(
    auth: Auth<{ roles::STAFF | roles::COMMITTEE | roles::COUNTY }>,
    db: web::Data<PgPool>,
    path: web::Path<Uuid>,
    query: web::Query<MentorshipQuery>,
    page: web::Query<PageParams>,
) -> Result<web::Json<Page<Mentorship>>, ApiError> {
    let town = auth.town(&db, path.into_inner()).await?;
    let keyset = page.keyset()?;
    let filter = repo::Filter {
        mentor_id: query.mentor_id,
        mentee_id: query.mentee_id,
        open: query.open,
    };
    let mut conn = db.acquire().await?;
    let rows = repo::list(&mut conn, town, filter, keyset).await?;
    Ok(web::Json(Page::from_rows(rows, keyset, |m| m.id)))
}

/// Read a mentorship · 查看一个结对关系
///
/// Roles: `staff`, `committee`, `county`.
///
/// 角色：`staff`、`committee`、`county`。
#[utoipa::path(
    operation_id = "get_mentorship",
    tag = "mentorships",
    params(("town" = Uuid, Path, description = "The town's id."), ("mentorship" = Uuid, Path, description = "The mentorship's id.")),
    responses((status = 200, description = "The mentorship.", body = Mentorship,
               headers(("ETag" = String, description = "The mentorship's version")))),
    security(("bearer" = ["staff", "committee", "county"])),
)]
#[get("/{mentorship}")]
pub(super) async fn get_mentorship(
    auth: Auth<{ roles::STAFF | roles::COMMITTEE | roles::COUNTY }>,
    db: web::Data<PgPool>,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    let (town, id) = path.into_inner();
    let town = auth.town(&db, town).await?;
    let mut conn = db.acquire().await?;
    let m = repo::get(&mut conn, town, id)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(reply::with_etag(&m, m.version))
}

/// End a mentorship · 结束结对关系
///
/// With a reason, on a day not in the future and not before it began (default today).
/// Needs `If-Match` with the mentorship's ETag. Roles: `committee`.
///
/// 须写明理由，结束日期不能晚于今天，也不能早于结对开始（默认今天）。
/// 需带 `If-Match`（该结对的 ETag）。角色：`committee`。
#[utoipa::path(
    operation_id = "end_mentorship",
    tag = "mentorships",
    params(("town" = Uuid, Path, description = "The town's id."), ("mentorship" = Uuid, Path, description = "The mentorship's id.")),
    request_body = EndMentorship,
    responses(
        (status = 200, description = "The ended mentorship.", body = Mentorship,
         headers(("ETag" = String, description = "The mentorship's new version"))),
        (status = 409, description = "`mentorship_ended`.", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 428, description = "If-Match is missing.", body = crate::error::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["committee"])),
)]
#[post("/{mentorship}/end")]
pub(super) async fn end_mentorship(
    auth: Auth<{ roles::COMMITTEE }>,
    db: web::Data<PgPool>,
    path: web::Path<(Uuid, Uuid)>,
    body: Json<EndMentorship>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    let (town, id) = path.into_inner();
    let town = auth.town(&db, town).await?;
    let mut tx = db.begin().await?;
    let m = repo::lock(&mut tx, town, id).await?;
    if_match.check(m.version)?;
    if m.ended_on.is_some() {
        return Err(domain::ended());
    }
    let today = crate::towns::repo::today(&mut tx, town).await?;
    let (reason, ended_on) = domain::check_end(&body, m.started_on, today)?;
    let m = repo::end(&mut tx, town, id, ended_on, &auth.sub, &reason).await?;
    audit::record(
        &mut tx,
        &auth,
        Change {
            town_id: town,
            action: "mentorship.ended",
            resource_type: "mentorship",
            resource_id: m.id,
            data: json!({ "mentor_id": m.mentor_id, "mentee_id": m.mentee_id, "ended_on": ended_on,
                          "version": m.version }),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(reply::with_etag(&m, m.version))
}

/// Log a meeting (art. 18) · 记录一次谈话（第18条）
///
/// Only the mentor writes their mentorship's log: a `staff` token whose `sub` is the
/// mentorship's `mentor_subject` (anyone else: 403). The date is not in the future and
/// not before the mentorship began; an ended mentorship takes no more entries (409
/// `mentorship_ended`). Roles: `staff` (the mentor).
///
/// 只有导师本人填写其结对的谈话记录：`sub` 为该结对 `mentor_subject` 的 `staff` 令牌（其他人答 403）。
/// 日期不能晚于今天，也不能早于结对开始；
/// 已结束的结对不能再记录（409 `mentorship_ended`）。
/// 角色：`staff`（导师本人）。
#[utoipa::path(
    operation_id = "add_mentorship_log",
    tag = "mentorships",
    params(("town" = Uuid, Path, description = "The town's id."), ("mentorship" = Uuid, Path, description = "The mentorship's id.")),
    request_body = NewLog,
    responses(
        (status = 201, description = "The log entry.", body = MentorshipLog,
         headers(("Location" = String, description = "The mentorship's log"))),
        (status = 409, description = "`mentorship_ended`.", body = crate::error::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["staff"])),
)]
#[post("/{mentorship}/logs")]
pub(super) async fn add_log(
    auth: Auth<{ roles::STAFF }>,
    db: web::Data<PgPool>,
    req: HttpRequest,
    path: web::Path<(Uuid, Uuid)>,
    key: IdempotencyKey,
    body: Json<NewLog>,
) -> Result<HttpResponse, ApiError> {
    let (town, id) = path.into_inner();
    let town = auth.town(&db, town).await?;
    idempotent(&db, &auth, &key, &req, &*body, async |tx| {
        let entry = workflow::add_log(tx, &auth, town, id, &body).await?;
        Answer::created_at(
            &entry,
            format!("/api/v1/towns/{town}/mentorships/{id}/logs"),
        )
    })
    .await
}

/// Read a mentorship's log, in the order written · 查看结对的谈话记录，按填写先后排列
///
/// Roles: `staff`, `committee`.
///
/// 角色：`staff`、`committee`。
#[utoipa::path(
    operation_id = "list_mentorship_logs",
    tag = "mentorships",
    params(("town" = Uuid, Path, description = "The town's id."), ("mentorship" = Uuid, Path, description = "The mentorship's id."), PageParams),
    responses((status = 200, description = "A page of log entries.", body = Page<MentorshipLog>)),
    security(("bearer" = ["staff", "committee"])),
)]
#[get("/{mentorship}/logs")]
pub(super) async fn list_logs(
    auth: Auth<{ roles::STAFF | roles::COMMITTEE }>,
    db: web::Data<PgPool>,
    path: web::Path<(Uuid, Uuid)>,
    page: web::Query<PageParams>,
) -> Result<web::Json<Page<MentorshipLog>>, ApiError> {
    let (town, id) = path.into_inner();
    let town = auth.town(&db, town).await?;
    let keyset = page.keyset()?;
    let mut conn = db.acquire().await?;
    repo::get(&mut conn, town, id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let rows = repo::logs(&mut conn, town, id, keyset).await?;
    Ok(web::Json(Page::from_rows(rows, keyset, |l| l.id)))
}

/// Mentor loads · 导师带人情况
///
/// Every member who can mentor (active in the center branch, not under transformation)
/// and anyone with open mentorships, with their open count, the policy's limit and their
/// mentees. `?format=csv` gives a CSV (UTF-8 with a byte order mark) with Chinese column
/// headings: 导师姓名, 导师编号, 在带人数, 人数上限, 结对对象. Roles: `staff`, `committee`,
/// `county`.
///
/// 每名可担任导师的党员（中心支部正常在册、不在转化中）以及所有有在结对关系的人：在带人数、计分办法规定的上限及其结对对象。
/// `?format=csv` 返回 CSV（UTF-8，带 BOM），列标题为中文：导师姓名、导师编号、在带人数、人数上限、结对对象。
/// 角色：`staff`、`committee`、`county`。
#[utoipa::path(
    operation_id = "list_mentor_loads",
    tag = "mentorships",
    params(("town" = Uuid, Path, description = "The town's id."), FormatQuery),
    responses((status = 200, description = "The mentors' loads.",
               content((MentorLoads = "application/json"), (String = "text/csv"), (crate::http::formats::Spreadsheet = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")))),
    security(("bearer" = ["staff", "committee", "county"])),
)]
#[get("/loads")]
pub(super) async fn mentor_loads(
    auth: Auth<{ roles::STAFF | roles::COMMITTEE | roles::COUNTY }>,
    db: web::Data<PgPool>,
    req: HttpRequest,
    path: web::Path<Uuid>,
    query: web::Query<FormatQuery>,
) -> Result<HttpResponse, ApiError> {
    let town = auth.town(&db, path.into_inner()).await?;
    let format = ExportFormat::negotiate(query.format, &req);
    let mut conn = db.acquire().await?;
    let policy = crate::policy::current(&mut conn, town).await?;
    let loads = repo::loads(&mut conn, town, policy.mentor_limit).await?;
    match format {
        ExportFormat::Json => Ok(crate::http::formats::negotiated().json(&loads)),
        format => crate::http::formats::download(
            format,
            "mentor-loads",
            &domain::LOAD_HEADINGS,
            &domain::loads_rows(&loads),
        ),
    }
}
