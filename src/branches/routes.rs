//! The branch endpoints: HTTP in, a workflow call, HTTP out.

use actix_web::{HttpRequest, HttpResponse, get, patch, post, web};
use serde::Deserialize;
use sqlx::PgPool;
use utoipa::IntoParams;
use uuid::Uuid;

use super::domain::{Branch, BranchKind, BranchPatch, NewBranch};
use super::{repo, workflow};
use crate::auth::{Auth, roles};
use crate::error::ApiError;
use crate::http::extract::{IdempotencyKey, IfMatch, Json, etag};
use crate::http::idempotency::{Answer, idempotent};
use crate::http::paging::{Page, PageParams};
use crate::http::reply;

/// Filters of the branch list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct BranchFilter {
    /// Only branches of this kind.
    pub kind: Option<BranchKind>,
}

/// Create a branch · 新建党支部
///
/// Any kind but `center` (the center branch is made with the town). Roles: `committee`,
/// `admin`.
///
/// 除 `center` 外的任何类型均可（中心支部随镇一同建立）。
/// 角色：`committee`、`admin`。
#[utoipa::path(
    operation_id = "create_branch",
    tag = "branches",
    params(("town" = Uuid, Path, description = "The town's id.")),
    request_body = NewBranch,
    responses(
        (status = 201, description = "The branch was created.", body = Branch,
         headers(("ETag" = String, description = "The branch's version"), ("Location" = String, description = "The branch's URL"))),
        (status = 409, description = "`branch_name_taken` or `center_branch_exists`.", body = crate::error::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["committee", "admin"])),
)]
#[post("")]
pub(super) async fn create_branch(
    auth: Auth<{ roles::COMMITTEE | roles::ADMIN }>,
    db: web::Data<PgPool>,
    req: HttpRequest,
    path: web::Path<Uuid>,
    key: IdempotencyKey,
    body: Json<NewBranch>,
) -> Result<HttpResponse, ApiError> {
    let town = auth.town(&db, path.into_inner()).await?;
    idempotent(&db, &auth, &key, &req, &*body, async |tx| {
        let branch = workflow::create_branch(tx, &auth, town, &body).await?;
        let location = format!("/api/v1/towns/{town}/branches/{}", branch.id);
        Answer::created(&branch, etag(branch.version), location)
    })
    .await
}

/// List a town's branches · 列出本镇的党支部
///
/// Roles: all, for the towns they cover.
///
/// 角色：全部，限其所辖的镇。
#[utoipa::path(
    operation_id = "list_branches",
    tag = "branches",
    params(("town" = Uuid, Path, description = "The town's id."), BranchFilter, PageParams),
    responses((status = 200, description = "A page of branches.", body = Page<Branch>)),
    security(("bearer" = ["staff", "committee", "member", "county", "admin"])),
)]
#[get("")]
pub(super) async fn list_branches(
    auth: Auth<{ roles::ANY }>,
    db: web::Data<PgPool>,
    path: web::Path<Uuid>,
    filter: web::Query<BranchFilter>,
    page: web::Query<PageParams>,
) -> Result<web::Json<Page<Branch>>, ApiError> {
    let town = auth.town(&db, path.into_inner()).await?;
    let keyset = page.keyset()?;
    let mut conn = db.acquire().await?;
    let rows = repo::list(&mut conn, town, filter.kind, keyset).await?;
    Ok(web::Json(Page::from_rows(rows, keyset, |b| b.id)))
}

/// Read a branch · 查看一个党支部
///
/// Roles: all, for the towns they cover.
///
/// 角色：全部，限其所辖的镇。
#[utoipa::path(
    operation_id = "get_branch",
    tag = "branches",
    params(("town" = Uuid, Path, description = "The town's id."), ("branch" = Uuid, Path, description = "The branch's id.")),
    responses((status = 200, description = "The branch.", body = Branch,
               headers(("ETag" = String, description = "The branch's version")))),
    security(("bearer" = ["staff", "committee", "member", "county", "admin"])),
)]
#[get("/{branch}")]
pub(super) async fn get_branch(
    auth: Auth<{ roles::ANY }>,
    db: web::Data<PgPool>,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    let (town, id) = path.into_inner();
    let town = auth.town(&db, town).await?;
    let mut conn = db.acquire().await?;
    let branch = repo::get(&mut conn, town, id)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(reply::with_etag(&branch, branch.version))
}

/// Rename a branch or change its kind · 修改支部名称或类型
///
/// Needs `If-Match`. The center branch keeps its kind and no other branch becomes the
/// center. Roles: `committee`, `admin`.
///
/// 须带 `If-Match`。中心支部不能改变类型，其他支部也不能改为中心支部。
/// 角色：`committee`、`admin`。
#[utoipa::path(
    operation_id = "update_branch",
    tag = "branches",
    params(("town" = Uuid, Path, description = "The town's id."), ("branch" = Uuid, Path, description = "The branch's id.")),
    request_body = BranchPatch,
    responses(
        (status = 200, description = "The changed branch.", body = Branch,
         headers(("ETag" = String, description = "The branch's new version"))),
        (status = 409, description = "`branch_name_taken`, `center_branch_exists` or `center_branch_is_permanent`.", body = crate::error::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["committee", "admin"])),
)]
#[patch("/{branch}")]
pub(super) async fn update_branch(
    auth: Auth<{ roles::COMMITTEE | roles::ADMIN }>,
    db: web::Data<PgPool>,
    path: web::Path<(Uuid, Uuid)>,
    body: Json<BranchPatch>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    let (town, id) = path.into_inner();
    let town = auth.town(&db, town).await?;
    let mut tx = db.begin().await?;
    let updated = workflow::update_branch(&mut tx, &auth, town, id, if_match, &body).await?;
    tx.commit().await?;
    Ok(reply::with_etag(&updated, updated.version))
}
