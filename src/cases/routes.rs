//! The case endpoints: HTTP in, a workflow call, HTTP out.

use actix_web::{HttpRequest, HttpResponse, get, post, web};
use serde::Deserialize;
use sqlx::PgPool;
use utoipa::IntoParams;
use uuid::Uuid;

use super::domain::{Adjusted, Adjustment, Case, Matter, NewCase, NewDisposition};
use super::workflow;
use super::{ledger_of, repo};
use crate::auth::{Auth, roles};
use crate::error::ApiError;
use crate::http::extract::{IdempotencyKey, IfMatch, Json, etag};
use crate::http::idempotency::{Answer, idempotent, idempotent_stored};
use crate::http::paging::{Page, PageParams};
use crate::http::reply;
use crate::scores::LedgerEntry;
use crate::scores::domain::CaseStatus;

/// Filters of the case list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CaseQuery {
    /// Cases with this status.
    #[param(inline)]
    pub status: Option<CaseStatus>,
    /// The cases of this member.
    pub member_id: Option<Uuid>,
}

/// Take a member in for transformation (art. 20) · 接收党员转入中心进行转化（第20条）
///
/// In one transaction: the member's relation moves into the center branch (an `intake`
/// transfer), their original branch is remembered, and the case opens at the base score
/// of the current policy. One open case per member. Roles: `committee`.
///
/// 在同一事务中：该党员的组织关系转入服务转化中心支部（一次 `intake` 接转），记下其原支部，档案按现行计分办法的基础分建立。
/// 每名党员同时只能有一份在管档案。角色：`committee`。
#[utoipa::path(
    operation_id = "open_case",
    tag = "cases",
    params(("town" = Uuid, Path, description = "The town's id.")),
    request_body = NewCase,
    responses(
        (status = 201, description = "The case, at the base score.", body = Case,
         headers(("ETag" = String, description = "The case's version"), ("Location" = String, description = "The case's URL"))),
        (status = 409, description = "`case_open`, `member_not_active`, `open_transfer_exists`, or `already_in_center` (the member's relation is in the center branch already).",
         body = crate::error::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["committee"])),
)]
#[post("")]
pub(super) async fn open_case(
    auth: Auth<{ roles::COMMITTEE }>,
    db: web::Data<PgPool>,
    req: HttpRequest,
    path: web::Path<Uuid>,
    key: IdempotencyKey,
    body: Json<NewCase>,
) -> Result<HttpResponse, ApiError> {
    let town = auth.town(&db, path.into_inner()).await?;
    idempotent(&db, &auth, &key, &req, &*body, async |tx| {
        let case = workflow::open_case(tx, &auth, town, &body).await?;
        let location = format!("/api/v1/towns/{town}/cases/{}", case.id);
        Answer::created(&case, etag(case.version), location)
    })
    .await
}

/// List a town's cases · 列出本镇的转化档案
///
/// Roles: `staff`, `committee`, `county`.
///
/// 角色：`staff`、`committee`、`county`。
#[utoipa::path(
    operation_id = "list_cases",
    tag = "cases",
    params(("town" = Uuid, Path, description = "The town's id."), CaseQuery, PageParams),
    responses((status = 200, description = "A page of cases.", body = Page<Case>)),
    security(("bearer" = ["staff", "committee", "county"])),
)]
#[get("")]
pub(super) async fn list_cases(
    auth: Auth<{ roles::STAFF | roles::COMMITTEE | roles::COUNTY }>,
    db: web::Data<PgPool>,
    path: web::Path<Uuid>,
    query: web::Query<CaseQuery>,
    page: web::Query<PageParams>,
) -> Result<web::Json<Page<Case>>, ApiError> {
    let town = auth.town(&db, path.into_inner()).await?;
    let keyset = page.keyset()?;
    let mut conn = db.acquire().await?;
    let rows = repo::list(&mut conn, town, query.status, query.member_id, keyset).await?;
    Ok(web::Json(Page::from_rows(rows, keyset, |c| c.id)))
}

/// Read a case: its score, status and history counts · 查看转化档案：积分、状态和各项记录数
///
/// Roles: `staff`, `committee`, `county`.
///
/// 角色：`staff`、`committee`、`county`。
#[utoipa::path(
    operation_id = "get_case",
    tag = "cases",
    params(("town" = Uuid, Path, description = "The town's id."), ("case" = Uuid, Path, description = "The case's id.")),
    responses((status = 200, description = "The case.", body = Case,
               headers(("ETag" = String, description = "The case's version")))),
    security(("bearer" = ["staff", "committee", "county"])),
)]
#[get("/{case}")]
pub(super) async fn get_case(
    auth: Auth<{ roles::STAFF | roles::COMMITTEE | roles::COUNTY }>,
    db: web::Data<PgPool>,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    let (town, id) = path.into_inner();
    let town = auth.town(&db, town).await?;
    let mut conn = db.acquire().await?;
    let case = repo::get(&mut conn, town, id)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(reply::with_etag(&case, case.version))
}

/// A case's ledger, newest first · 档案的积分台账，最新的在前
///
/// Every change of the score, in points: kind, source, who, when, the policy version, and
/// the score after it. Roles: `staff`, `committee`, `county`.
///
/// 每一次积分变动，以分为单位：类型、来源、记录人、时间、计分办法版本以及变动后的积分。
/// 角色：`staff`、`committee`、`county`。
#[utoipa::path(
    operation_id = "get_ledger",
    tag = "cases",
    params(("town" = Uuid, Path, description = "The town's id."), ("case" = Uuid, Path, description = "The case's id."), PageParams),
    responses((status = 200, description = "A page of entries, newest first.", body = Page<LedgerEntry>)),
    security(("bearer" = ["staff", "committee", "county"])),
)]
#[get("/{case}/ledger")]
pub(super) async fn get_ledger(
    auth: Auth<{ roles::STAFF | roles::COMMITTEE | roles::COUNTY }>,
    db: web::Data<PgPool>,
    path: web::Path<(Uuid, Uuid)>,
    page: web::Query<PageParams>,
) -> Result<web::Json<Page<LedgerEntry>>, ApiError> {
    let (town, id) = path.into_inner();
    let town = auth.town(&db, town).await?;
    ledger_of(&db, town, id, &page).await.map(web::Json)
}

/// Correct a case's score, or reverse one entry · 更正档案积分，或冲销一条记分
///
/// A correction adds any amount but zero, with a reason; a reversal undoes one earlier
/// entry, once, with a reason (a reversal cannot itself be reversed). Crossing a threshold
/// opens a committee matter or makes an evaluation due, in the same transaction. Needs an
/// `Idempotency-Key`. Roles: `committee`.
///
/// 更正可加减任意非零分值，须写明理由；
/// 冲销撤销此前的一条记分，每条只能冲销一次，须写明理由（冲销记录本身不能再被冲销）。
/// 跨过分数线时，在同一事务中生成镇党委处理事项或转为待评议。需带 `Idempotency-Key`。
/// 角色：`committee`。
#[utoipa::path(
    operation_id = "adjust_score",
    tag = "cases",
    params(
        ("town" = Uuid, Path, description = "The town's id."),
        ("case" = Uuid, Path, description = "The case's id."),
        ("Idempotency-Key" = String, Header, description = "Required: a retry with the same key and body returns the first answer and writes nothing. 1 to 255 visible ASCII characters.",
         pattern = "^[!-~]+$", min_length = 1, max_length = 255),
    ),
    request_body = Adjustment,
    responses(
        (status = 201, description = "The entry written.", body = Adjusted),
        (status = 409, description = "`case_concluded`, `already_reversed`, `cannot_reverse_reversal`.",
         body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`: a correction's `points` missing (`required`), 0 or not in steps of 0.5 (`invalid_type`); a reversal's `entry_id` missing (`required`) or not an entry of the case (`unknown_entry`); a field of the other kind (`unknown_field`); `reason` blank, too long or with control characters; `idempotency_key_reused`.",
         body = crate::error::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["committee"])),
)]
#[post("/{case}/adjustments")]
pub(super) async fn adjust(
    auth: Auth<{ roles::COMMITTEE }>,
    db: web::Data<PgPool>,
    req: HttpRequest,
    path: web::Path<(Uuid, Uuid)>,
    key: IdempotencyKey,
    body: Json<Adjustment>,
) -> Result<HttpResponse, ApiError> {
    let (town, case) = path.into_inner();
    let town = auth.town(&db, town).await?;
    key.required()?;
    idempotent_stored(&db, &auth, &key, &req, &*body, async |tx, slot| {
        let location = format!("/api/v1/towns/{town}/cases/{case}/ledger");
        let answer = |adjusted| Answer::created_at(&adjusted, location);
        workflow::adjust_answered(tx, &auth, (town, case), &body, (slot, answer)).await
    })
    .await
}

/// A case's committee matters, newest first · 档案的镇党委处理事项，最新的在前
///
/// A matter opens each time the score goes below the low threshold, and closes with the
/// committee's disposition. Roles: `staff`, `committee`, `county`.
///
/// 积分每次降到低分线以下都会生成一项处理事项，镇党委作出处理决定后办结。
/// 角色：`staff`、`committee`、`county`。
#[utoipa::path(
    operation_id = "list_matters",
    tag = "cases",
    params(("town" = Uuid, Path, description = "The town's id."), ("case" = Uuid, Path, description = "The case's id."), PageParams),
    responses((status = 200, description = "A page of the matters, newest first.", body = Page<Matter>)),
    security(("bearer" = ["staff", "committee", "county"])),
)]
#[get("/{case}/matters")]
pub(super) async fn list_matters(
    auth: Auth<{ roles::STAFF | roles::COMMITTEE | roles::COUNTY }>,
    db: web::Data<PgPool>,
    path: web::Path<(Uuid, Uuid)>,
    page: web::Query<PageParams>,
) -> Result<web::Json<Page<Matter>>, ApiError> {
    let (town, case) = path.into_inner();
    let town = auth.town(&db, town).await?;
    let keyset = page.keyset()?;
    let mut conn = db.acquire().await?;
    repo::get(&mut conn, town, case)
        .await?
        .ok_or(ApiError::NotFound)?;
    let rows = repo::matters(&mut conn, town, case, keyset).await?;
    Ok(web::Json(Page::from_rows(rows, keyset, |m| m.id)))
}

/// Record the committee's disposition of a matter (art. 23) · 记录镇党委对处理事项的决定（第23条）
///
/// A talk, a deadline to correct (with the date), persuasion to leave, removal, or other,
/// always with a note. Removal ends the case and the membership (status `removed`), in the
/// same transaction. Needs `If-Match` with the matter's ETag. Roles: `committee`.
///
/// 谈话、限期整改（附期限）、劝退、除名或其他，均须附说明。
/// 除名在同一事务中结束该档案并终止党籍（状态 `removed`）。
/// 需带 `If-Match`（该事项的 ETag）。角色：`committee`。
#[utoipa::path(
    operation_id = "dispose_matter",
    tag = "cases",
    params(
        ("town" = Uuid, Path, description = "The town's id."),
        ("case" = Uuid, Path, description = "The case's id."),
        ("matter" = Uuid, Path, description = "The matter's id."),
    ),
    request_body = NewDisposition,
    responses(
        (status = 200, description = "The decided matter.", body = Matter,
         headers(("ETag" = String, description = "The matter's new version"))),
        (status = 409, description = "`matter_decided`, or `case_concluded`.", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`: a `deadline` disposition without its date (`required`) or with one not after today (`not_in_future`); a date with another disposition (`unknown_field`); `note` blank, too long or with control characters.", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 428, description = "If-Match is missing.", body = crate::error::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["committee"])),
)]
#[post("/{case}/matters/{matter}/disposition")]
pub(super) async fn dispose(
    auth: Auth<{ roles::COMMITTEE }>,
    db: web::Data<PgPool>,
    path: web::Path<(Uuid, Uuid, Uuid)>,
    body: Json<NewDisposition>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    let (town, case, matter) = path.into_inner();
    let town = auth.town(&db, town).await?;
    let mut tx = db.begin().await?;
    let decided = workflow::dispose(&mut tx, &auth, town, (case, matter), if_match, &body).await?;
    tx.commit().await?;
    Ok(reply::with_etag(&decided, decided.version))
}
