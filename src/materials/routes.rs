//! The materials endpoints: HTTP in, a workflow call, HTTP out.

use actix_web::{HttpRequest, HttpResponse, get, patch, post, web};
use serde::Deserialize;
use sqlx::PgPool;
use utoipa::IntoParams;
use uuid::Uuid;

use super::domain::{
    Loan, Material, MaterialKind, MaterialPatch, NewLoan, NewMaterial, ReturnLoan,
};
use super::repo::{self, LoanFilter};
use super::workflow;
use crate::auth::{Auth, roles};
use crate::error::ApiError;
use crate::http::extract::{IdempotencyKey, IfMatch, Json, check_query_lengths, etag};
use crate::http::idempotency::{Answer, idempotent};
use crate::http::paging::{Page, PageParams};
use crate::http::reply;

/// 资料目录的筛选条件。 Filters of the catalogue.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MaterialFilter {
    /// 只列此类别。 Only materials of this kind.
    pub kind: Option<MaterialKind>,
    /// 名称包含此文字。 Only materials whose title contains this text (1 to 200 characters).
    #[param(max_length = 200)]
    pub q: Option<String>,
}

/// 借阅列表的筛选条件。 Filters of the loan list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LoanQuery {
    /// 只列此资料。 Only loans of this material.
    pub material_id: Option<Uuid>,
    /// 只列此支部。 Only loans to this branch.
    pub branch_id: Option<Uuid>,
    /// `true` 只列未还，`false` 只列已还。 `true`: only loans not yet returned; `false`: only returned ones.
    pub open: Option<bool>,
    /// `true` 只列逾期未还。 `true`: only loans past their due day (in the town's calendar) and not returned.
    pub overdue: Option<bool>,
}

fn material_url(town: Uuid, id: Uuid) -> String {
    format!("/api/v1/towns/{town}/materials/{id}")
}

fn loan_url(town: Uuid, id: Uuid) -> String {
    format!("/api/v1/towns/{town}/material-loans/{id}")
}

/// Catalogue a material · 登记一种资料
///
/// A party newspaper or periodical, book, document or other material the center keeps,
/// with the copies it holds. Roles: `staff`, `committee`.
///
/// 登记中心保管的一种党报党刊、书籍、文件资料或其他资料及其馆藏份数。角色：`staff`、`committee`。
#[utoipa::path(
    operation_id = "add_material",
    tag = "materials",
    params(("town" = Uuid, Path, description = "The town's id.")),
    request_body = NewMaterial,
    responses(
        (status = 201, description = "The material was catalogued.", body = Material,
         headers(("ETag" = String, description = "The material's version"), ("Location" = String, description = "The material's URL"))),
        (status = 422, description = "`validation_failed`: `title` or `note` blank, too long or with control characters, `copies` out of range (`out_of_range`); `idempotency_key_reused`.", body = crate::error::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["staff", "committee"])),
)]
#[post("")]
pub(super) async fn add_material(
    auth: Auth<{ roles::STAFF | roles::COMMITTEE }>,
    db: web::Data<PgPool>,
    req: HttpRequest,
    path: web::Path<Uuid>,
    key: IdempotencyKey,
    body: Json<NewMaterial>,
) -> Result<HttpResponse, ApiError> {
    let town = auth.town(&db, path.into_inner()).await?;
    idempotent(&db, &auth, &key, &req, &*body, async |tx| {
        let m = workflow::add(tx, &auth, town, &body).await?;
        Answer::created(&m, etag(m.version), material_url(town, m.id))
    })
    .await
}

/// List the catalogue · 列出资料目录
///
/// Each material with its copies on the shelf and on loan; by kind, or by a part of the
/// title. Roles: `staff`, `committee`, `county`.
///
/// 中心的资料目录，每种资料附在架与借出份数；可按类别或名称中的文字筛选。角色：`staff`、`committee`、`county`。
#[utoipa::path(
    operation_id = "list_materials",
    tag = "materials",
    params(("town" = Uuid, Path, description = "The town's id."), MaterialFilter, PageParams),
    responses((status = 200, description = "A page of the catalogue.", body = Page<Material>)),
    security(("bearer" = ["staff", "committee", "county"])),
)]
#[get("")]
pub(super) async fn list_materials(
    auth: Auth<{ roles::STAFF | roles::COMMITTEE | roles::COUNTY }>,
    db: web::Data<PgPool>,
    path: web::Path<Uuid>,
    filter: web::Query<MaterialFilter>,
    page: web::Query<PageParams>,
) -> Result<web::Json<Page<Material>>, ApiError> {
    let town = auth.town(&db, path.into_inner()).await?;
    check_query_lengths(&[("q", filter.q.as_deref(), 200)])?;
    let keyset = page.keyset()?;
    let mut conn = db.acquire().await?;
    let q = filter.q.as_deref().map(str::trim).filter(|q| !q.is_empty());
    let rows = repo::list(&mut conn, town, filter.kind, q, keyset).await?;
    Ok(web::Json(Page::from_rows(rows, keyset, |m| m.id)))
}

/// Read a material · 查看一种资料
///
/// The material with its copies on the shelf and on loan. Roles: `staff`, `committee`,
/// `county`.
///
/// 一种资料及其在架与借出份数。角色：`staff`、`committee`、`county`。
#[utoipa::path(
    operation_id = "get_material",
    tag = "materials",
    params(("town" = Uuid, Path, description = "The town's id."), ("material" = Uuid, Path, description = "The material's id.")),
    responses((status = 200, description = "The material.", body = Material,
               headers(("ETag" = String, description = "The material's version")))),
    security(("bearer" = ["staff", "committee", "county"])),
)]
#[get("/{material}")]
pub(super) async fn get_material(
    auth: Auth<{ roles::STAFF | roles::COMMITTEE | roles::COUNTY }>,
    db: web::Data<PgPool>,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    let (town, id) = path.into_inner();
    let town = auth.town(&db, town).await?;
    let mut conn = db.acquire().await?;
    let m = repo::get(&mut conn, town, id, false)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(reply::with_etag(&m, m.version))
}

/// Change a material · 修改资料
///
/// Changes the title, kind, copies or note; absent fields stay. The copies held cannot go
/// below those on loan (409 `copies_on_loan`). Needs `If-Match`. Roles: `staff`,
/// `committee`.
///
/// 修改资料的名称、类别、馆藏份数或备注，未给出的字段不变。
/// 馆藏份数不能少于借出未还的份数（409 `copies_on_loan`）。须带 `If-Match`。角色：`staff`、`committee`。
#[utoipa::path(
    operation_id = "update_material",
    tag = "materials",
    params(("town" = Uuid, Path, description = "The town's id."), ("material" = Uuid, Path, description = "The material's id.")),
    request_body = MaterialPatch,
    responses(
        (status = 200, description = "The changed material.", body = Material,
         headers(("ETag" = String, description = "The material's new version"))),
        (status = 409, description = "`copies_on_loan`: fewer copies than are on loan.", body = crate::error::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["staff", "committee"])),
)]
#[patch("/{material}")]
pub(super) async fn update_material(
    auth: Auth<{ roles::STAFF | roles::COMMITTEE }>,
    db: web::Data<PgPool>,
    path: web::Path<(Uuid, Uuid)>,
    if_match: IfMatch,
    body: Json<MaterialPatch>,
) -> Result<HttpResponse, ApiError> {
    let (town, id) = path.into_inner();
    let town = auth.town(&db, town).await?;
    let mut tx = db.begin().await?;
    let m = workflow::update(&mut tx, &auth, town, id, if_match, &body).await?;
    tx.commit().await?;
    Ok(reply::with_etag(&m, m.version))
}

/// Lend a material to a branch · 将资料借给党支部
///
/// A loan to a branch of the town takes at most the copies on the shelf (409
/// `not_enough_copies`); it is overdue after `due_on` until returned. Roles: `staff`,
/// `committee`.
///
/// 将资料借给本镇一个党支部：借出份数不能超过在架份数（409 `not_enough_copies`）；
/// 过了 `due_on` 仍未归还即为逾期。角色：`staff`、`committee`。
#[utoipa::path(
    operation_id = "create_material_loan",
    tag = "materials",
    params(("town" = Uuid, Path, description = "The town's id."), ("material" = Uuid, Path, description = "The material's id.")),
    request_body = NewLoan,
    responses(
        (status = 201, description = "The loan was recorded.", body = Loan,
         headers(("ETag" = String, description = "The loan's version"), ("Location" = String, description = "The loan's URL"))),
        (status = 409, description = "`not_enough_copies`: more copies than are on the shelf.", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`: `lent_on` in the future (`in_the_future`), `due_on` before it (`before_lent_on`), `copies` out of range (`out_of_range`), `branch_id` not a branch of the town (`unknown_branch`), `borrower` blank, too long or with control characters; `idempotency_key_reused`.", body = crate::error::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["staff", "committee"])),
)]
#[post("/{material}/loans")]
pub(super) async fn lend_material(
    auth: Auth<{ roles::STAFF | roles::COMMITTEE }>,
    db: web::Data<PgPool>,
    req: HttpRequest,
    path: web::Path<(Uuid, Uuid)>,
    key: IdempotencyKey,
    body: Json<NewLoan>,
) -> Result<HttpResponse, ApiError> {
    let (town, material) = path.into_inner();
    let town = auth.town(&db, town).await?;
    idempotent(&db, &auth, &key, &req, &*body, async |tx| {
        let l = workflow::lend(tx, &auth, town, material, &body).await?;
        Answer::created(&l, etag(l.version), loan_url(town, l.id))
    })
    .await
}

/// List loans of materials · 列出资料借阅记录
///
/// By material, branch, open or returned; `overdue=true` lists the loans past their due
/// day (in the town's calendar) and not returned. Roles: `staff`, `committee`, `county`.
///
/// 资料借阅记录，可按资料、支部、未还或已还筛选；`overdue=true` 列出（按本镇日历）已过应还日期仍未归还的借阅。
/// 角色：`staff`、`committee`、`county`。
#[utoipa::path(
    operation_id = "list_material_loans",
    tag = "materials",
    params(("town" = Uuid, Path, description = "The town's id."), LoanQuery, PageParams),
    responses((status = 200, description = "A page of loans.", body = Page<Loan>)),
    security(("bearer" = ["staff", "committee", "county"])),
)]
#[get("")]
pub(super) async fn list_loans(
    auth: Auth<{ roles::STAFF | roles::COMMITTEE | roles::COUNTY }>,
    db: web::Data<PgPool>,
    path: web::Path<Uuid>,
    query: web::Query<LoanQuery>,
    page: web::Query<PageParams>,
) -> Result<web::Json<Page<Loan>>, ApiError> {
    let town = auth.town(&db, path.into_inner()).await?;
    let keyset = page.keyset()?;
    let mut conn = db.acquire().await?;
    let today = crate::towns::repo::today(&mut conn, town).await?;
    let f = LoanFilter {
        material_id: query.material_id,
        branch_id: query.branch_id,
        open: query.open,
        overdue: query.overdue.unwrap_or(false),
    };
    let rows = repo::list_loans(&mut conn, town, f, today, keyset).await?;
    let items: Vec<Loan> = rows.into_iter().map(|l| l.as_of(today)).collect();
    Ok(web::Json(Page::from_rows(items, keyset, |l| l.id)))
}

/// Read a loan · 查看一条借阅记录
///
/// The loan, `overdue` as of today. Roles: `staff`, `committee`, `county`.
///
/// 一条借阅记录，是否逾期（`overdue`）按今天计算。角色：`staff`、`committee`、`county`。
#[utoipa::path(
    operation_id = "get_material_loan",
    tag = "materials",
    params(("town" = Uuid, Path, description = "The town's id."), ("loan" = Uuid, Path, description = "The loan's id.")),
    responses((status = 200, description = "The loan.", body = Loan,
               headers(("ETag" = String, description = "The loan's version")))),
    security(("bearer" = ["staff", "committee", "county"])),
)]
#[get("/{loan}")]
pub(super) async fn get_loan(
    auth: Auth<{ roles::STAFF | roles::COMMITTEE | roles::COUNTY }>,
    db: web::Data<PgPool>,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    let (town, id) = path.into_inner();
    let town = auth.town(&db, town).await?;
    let mut conn = db.acquire().await?;
    let l = workflow::read_loan(&mut conn, town, id).await?;
    Ok(reply::with_etag(&l, l.version))
}

/// Record the return of a loan · 登记资料归还
///
/// The copies go back on the shelf; the loan is then final (409 `loan_returned` after).
/// Needs `If-Match` with the loan's ETag. Roles: `staff`, `committee`.
///
/// 归还的份数回到在架；此后该借阅不能再改（再次登记为 409 `loan_returned`）。
/// 须带 `If-Match`（该借阅的 ETag）。角色：`staff`、`committee`。
#[utoipa::path(
    operation_id = "return_material_loan",
    tag = "materials",
    params(("town" = Uuid, Path, description = "The town's id."), ("loan" = Uuid, Path, description = "The loan's id.")),
    request_body = ReturnLoan,
    responses(
        (status = 200, description = "The returned loan.", body = Loan,
         headers(("ETag" = String, description = "The loan's new version"))),
        (status = 409, description = "`loan_returned`: the loan was returned already.", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`: `returned_on` in the future (`in_the_future`) or before the loan (`before_lent_on`).", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 428, description = "`precondition_required`: `If-Match` is missing.", body = crate::error::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["staff", "committee"])),
)]
#[post("/{loan}/return")]
pub(super) async fn return_loan(
    auth: Auth<{ roles::STAFF | roles::COMMITTEE }>,
    db: web::Data<PgPool>,
    path: web::Path<(Uuid, Uuid)>,
    if_match: IfMatch,
    body: Json<ReturnLoan>,
) -> Result<HttpResponse, ApiError> {
    let (town, id) = path.into_inner();
    let town = auth.town(&db, town).await?;
    let mut tx = db.begin().await?;
    let l = workflow::give_back(&mut tx, &auth, town, id, if_match, &body).await?;
    tx.commit().await?;
    Ok(reply::with_etag(&l, l.version))
}
