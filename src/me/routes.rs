//! The `/me` endpoints: HTTP in, the member's own records, HTTP out.

use actix_web::{HttpRequest, HttpResponse, get, post, web};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::auth::{Auth, Caller, Scope, roles};
use crate::cases::domain::Case;
use crate::error::ApiError;
use crate::http::extract::{IdempotencyKey, Json, etag};
use crate::http::idempotency::{Answer, idempotent};
use crate::http::paging::{Page, PageParams};
use crate::http::reply;
use crate::members::domain::{Disclosure, Member};
use crate::msg;
use crate::scores::LedgerEntry;
use crate::tasks::domain::{NewObjection, Objection, Task};

/// The town and member a `member` token names.
fn member_scope(caller: &Caller) -> Result<(Uuid, Uuid), ApiError> {
    match caller.scope {
        Scope::Member { town, member_id } => Ok((town, member_id)),
        _ => Err(ApiError::Forbidden),
    }
}

/// The member's open case, else their latest; 404 `no_case` when they never had one.
async fn case_id(conn: &mut PgConnection, town: Uuid, member: Uuid) -> Result<Uuid, ApiError> {
    crate::tasks::repo::case_of_member(conn, town, member)
        .await?
        .ok_or_else(no_case)
}

/// 404 `no_case`: the member was never moved into the center, so the case views are
/// empty by nature; told apart from a wrong URL (`not_found`).
fn no_case() -> ApiError {
    ApiError::Missing {
        code: "no_case",
        detail: msg!(
            "您没有转化管理案件：只有被转入中心进行转化管理的党员才有案件、积分和任务。",
            "You have no transformation case: only members moved into the center for transformation have a case, a score and tasks."
        ),
    }
}

/// Your own member record · 查看本人的党员档案
///
/// The record of the member the token names (`member_id` in `town`), numbers masked.
/// Roles: `member`.
///
/// 令牌所指党员（`town` 中的 `member_id`）的档案，号码脱敏显示。
/// 角色：`member`。
#[utoipa::path(
    operation_id = "get_me",
    tag = "me",
    responses(
        (status = 200, description = "Your record.", body = Member,
         headers(("ETag" = String, description = "The record's version"))),
        (status = 404, description = "`not_found`: the token names no member record of its town.",
         body = crate::error::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["member"])),
)]
#[get("")]
pub(super) async fn me(
    auth: Auth<{ roles::MEMBER }>,
    db: web::Data<PgPool>,
) -> Result<HttpResponse, ApiError> {
    let (town, member_id) = member_scope(&auth)?;
    let mut conn = db.acquire().await?;
    let today = crate::towns::repo::today(&mut conn, town).await?;
    let row = crate::members::repo::get(&mut conn, town, member_id, today)
        .await?
        .ok_or(ApiError::NotFound)?;
    let member = row.view(Disclosure::Masked);
    Ok(reply::with_etag(&member, member.version))
}

/// Your transformation case · 本人的转化档案
///
/// Your open case, or if none is open, your latest one: its score and status.
/// Roles: `member`.
///
/// 本人在管的转化档案；没有在管档案时为最近一份：含积分和状态。角色：`member`。
#[utoipa::path(
    operation_id = "get_my_case",
    tag = "me",
    responses(
        (status = 200, description = "Your case.", body = Case,
         headers(("ETag" = String, description = "The case's version"))),
        (status = 404, description = "`no_case`: you were never moved into the center for transformation, so you have no case (a wrong URL is `not_found`).",
         body = crate::error::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["member"])),
)]
#[get("/case")]
pub(super) async fn my_case(
    auth: Auth<{ roles::MEMBER }>,
    db: web::Data<PgPool>,
) -> Result<HttpResponse, ApiError> {
    let (town, member) = member_scope(&auth)?;
    let mut conn = db.acquire().await?;
    let id = case_id(&mut conn, town, member).await?;
    let case = crate::cases::repo::get(&mut conn, town, id)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(reply::with_etag(&case, case.version))
}

/// The ledger of your case, newest first · 本人转化档案的积分台账，最新的在前
///
/// Every change of the score of your case (open, else latest): kind, source, when, and the
/// score after it. You may object to an entry within the objection period
/// (`POST /me/objections`). Roles: `member`.
///
/// 本人档案（在管的，否则最近一份）的每一次积分变动：类型、来源、时间及变动后的积分。
/// 对某条记分可在异议期内提出异议（`POST /me/objections`）。
/// 角色：`member`。
#[utoipa::path(
    operation_id = "get_my_ledger",
    tag = "me",
    params(PageParams),
    responses(
        (status = 200, description = "A page of entries, newest first.", body = Page<LedgerEntry>),
        (status = 404, description = "`no_case`: you were never moved into the center for transformation, so you have no case (a wrong URL is `not_found`).",
         body = crate::error::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["member"])),
)]
#[get("/ledger")]
pub(super) async fn my_ledger(
    auth: Auth<{ roles::MEMBER }>,
    db: web::Data<PgPool>,
    page: web::Query<PageParams>,
) -> Result<web::Json<Page<LedgerEntry>>, ApiError> {
    let (town, member) = member_scope(&auth)?;
    page.keyset::<i64>()?;
    let id = {
        let mut conn = db.acquire().await?;
        case_id(&mut conn, town, member).await?
    };
    crate::cases::ledger_of(&db, town, id, &page)
        .await
        .map(web::Json)
}

/// The tasks of your case · 本人转化档案的任务
///
/// The tasks of your case (open, else latest), in the order they were assigned, with their
/// outcomes. Roles: `member`.
///
/// 本人档案（在管的，否则最近一份）的任务，按布置先后排列，附完成情况。角色：`member`。
#[utoipa::path(
    operation_id = "list_my_tasks",
    tag = "me",
    params(PageParams),
    responses(
        (status = 200, description = "A page of tasks.", body = Page<Task>),
        (status = 404, description = "`no_case`: you were never moved into the center for transformation, so you have no case (a wrong URL is `not_found`).",
         body = crate::error::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["member"])),
)]
#[get("/tasks")]
pub(super) async fn my_tasks(
    auth: Auth<{ roles::MEMBER }>,
    db: web::Data<PgPool>,
    page: web::Query<PageParams>,
) -> Result<web::Json<Page<Task>>, ApiError> {
    let (town, member) = member_scope(&auth)?;
    page.keyset::<Uuid>()?;
    let mut conn = db.acquire().await?;
    let id = case_id(&mut conn, town, member).await?;
    crate::tasks::tasks_of_case(&mut conn, town, id, &page)
        .await
        .map(web::Json)
}

/// Your objections, in the order you lodged them · 本人提出的异议，按提出先后排列
///
/// Roles: `member`.
///
/// 角色：`member`。
#[utoipa::path(
    operation_id = "list_my_objections",
    tag = "me",
    params(PageParams),
    responses((status = 200, description = "A page of your objections.", body = Page<Objection>)),
    security(("bearer" = ["member"])),
)]
#[get("/objections")]
pub(super) async fn my_objections(
    auth: Auth<{ roles::MEMBER }>,
    db: web::Data<PgPool>,
    page: web::Query<PageParams>,
) -> Result<web::Json<Page<Objection>>, ApiError> {
    let (town, member) = member_scope(&auth)?;
    let keyset = page.keyset()?;
    let mut conn = db.acquire().await?;
    let rows =
        crate::tasks::repo::list_objections(&mut conn, town, Some(member), None, None, keyset)
            .await?;
    Ok(web::Json(Page::from_rows(rows, keyset, |o| o.id)))
}

/// One of your objections · 查看本人的一条异议
///
/// Roles: `member`.
///
/// 角色：`member`。
#[utoipa::path(
    operation_id = "get_my_objection",
    tag = "me",
    params(("objection" = Uuid, Path, description = "The objection's id.")),
    responses((status = 200, description = "Your objection.", body = Objection,
               headers(("ETag" = String, description = "The objection's version")))),
    security(("bearer" = ["member"])),
)]
#[get("/objections/{objection}")]
pub(super) async fn my_objection(
    auth: Auth<{ roles::MEMBER }>,
    db: web::Data<PgPool>,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let (town, member) = member_scope(&auth)?;
    let mut conn = db.acquire().await?;
    let objection =
        crate::tasks::repo::get_objection(&mut conn, town, path.into_inner(), Some(member), false)
            .await?
            .ok_or(ApiError::NotFound)?;
    Ok(reply::with_etag(&objection, objection.version))
}

/// Object to an entry of your ledger · 对本人积分台账中的一条记分提出异议
///
/// Within the objection period of the policy the entry was scored under
/// (`objection_period_working_days` working days after the day it was recorded: Monday to
/// Friday, less the town's holidays, plus its worked weekend days; see `/calendar`), with
/// a reason. One objection per entry. The committee
/// upholds it (the entry is reversed) or rejects it. An entry that is not of your own case
/// answers 404. Roles: `member`.
///
/// 须在该条记分所依据的计分办法规定的异议期内提出（记分当日之后
/// `objection_period_working_days` 个工作日：周一至周五，
/// 除去本镇节假日，加上调休上班的周末，见 `/calendar`），并写明理由。
/// 每条记分只能提出一次异议。镇党委予以支持（冲销该条记分）或不予支持。不属于本人档案的记分答 404。
/// 角色：`member`。
#[utoipa::path(
    operation_id = "lodge_objection",
    tag = "me",
    request_body = NewObjection,
    responses(
        (status = 201, description = "The objection, open.", body = Objection,
         headers(("ETag" = String, description = "The objection's version"), ("Location" = String, description = "The objection's URL"))),
        (status = 404, description = "`not_found`: the entry is not of your own case.",
         body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`objection_period_over`, `objection_exists`, `already_reversed` (the entry was reversed already), `cannot_object_to_reversal`, `case_concluded`.",
         body = crate::error::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["member"])),
)]
#[post("/objections")]
pub(super) async fn object(
    auth: Auth<{ roles::MEMBER }>,
    db: web::Data<PgPool>,
    req: HttpRequest,
    key: IdempotencyKey,
    body: Json<NewObjection>,
) -> Result<HttpResponse, ApiError> {
    let (town, member) = member_scope(&auth)?;
    let reason = body.validate()?;
    idempotent(&db, &auth, &key, &req, &*body, async |tx| {
        let objection =
            crate::tasks::lodge_objection(tx, &auth, town, member, &body, &reason).await?;
        let location = format!("/api/v1/me/objections/{}", objection.id);
        Answer::created(&objection, etag(objection.version), location)
    })
    .await
}
