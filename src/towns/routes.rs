//! The town endpoints: HTTP in, a workflow call, HTTP out.

use actix_web::{HttpRequest, HttpResponse, get, patch, post, web};
use sqlx::PgPool;
use uuid::Uuid;

use super::domain::{NewTown, Town, TownPatch};
use super::repo::{self, Visible};
use super::workflow;
use crate::auth::{Auth, Scope, roles};
use crate::error::ApiError;
use crate::http::extract::{IdempotencyKey, IfMatch, Json, etag};
use crate::http::idempotency::{Answer, idempotent};
use crate::http::paging::{Page, PageParams};
use crate::http::reply;

/// Create a town, with its center branch and its policy · 新建一个镇，连同其服务转化中心支部和计分办法
///
/// The town, its center branch and version 1 of its policy (the rules as written) are
/// written in one transaction; the database refuses a town without either. Roles: `admin`.
///
/// 镇、中心支部和第 1 版计分办法（按工作制度原文）在同一事务中写入；缺少任何一项，数据库都会拒绝。
/// 角色：`admin`。
#[utoipa::path(
    operation_id = "create_town",
    tag = "towns",
    request_body = NewTown,
    responses(
        (status = 201, description = "The town was created.", body = Town,
         headers(("ETag" = String, description = "The town's version"), ("Location" = String, description = "The town's URL"))),
        (status = 409, description = "`town_code_taken`: a town with this code exists.", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`: a field is missing or malformed; `time_zone` not an IANA name (`invalid_type`) or one the database does not know (`unknown_time_zone`).", body = crate::error::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["admin"])),
)]
#[post("/towns")]
pub(super) async fn create_town(
    auth: Auth<{ roles::ADMIN }>,
    db: web::Data<PgPool>,
    req: HttpRequest,
    key: IdempotencyKey,
    body: Json<NewTown>,
) -> Result<HttpResponse, ApiError> {
    idempotent(&db, &auth, &key, &req, &*body, async |tx| {
        let town = workflow::create_town(tx, &auth, &body).await?;
        let location = format!("/api/v1/towns/{}", town.id);
        Answer::created(&town, etag(town.version), location)
    })
    .await
}

/// List the towns you can see · 列出可查看的镇
///
/// An admin sees every town, a county system the towns of its county, everyone else
/// their own town. Roles: all.
///
/// `admin` 可见所有镇，县级系统可见本县各镇，其他角色只见本镇。角色：全部。
#[utoipa::path(
    operation_id = "list_towns",
    tag = "towns",
    params(PageParams),
    responses((status = 200, description = "A page of towns.", body = Page<Town>)),
    security(("bearer" = ["staff", "committee", "member", "county", "admin"])),
)]
#[get("/towns")]
pub(super) async fn list_towns(
    auth: Auth<{ roles::ANY }>,
    db: web::Data<PgPool>,
    page: web::Query<PageParams>,
) -> Result<web::Json<Page<Town>>, ApiError> {
    let keyset = page.keyset()?;
    let visible = match &auth.scope {
        Scope::Global => Visible::All,
        Scope::County(c) => Visible::County(c.clone()),
        Scope::Town(t) | Scope::Member { town: t, .. } => Visible::One(*t),
    };
    let mut conn = db.acquire().await?;
    let rows = repo::list(&mut conn, &visible, keyset).await?;
    Ok(web::Json(Page::from_rows(rows, keyset, |t| t.id)))
}

/// Read a town · 查看一个镇
///
/// Roles: all, for the towns they cover; another town answers 404.
///
/// 角色：全部，限其所辖的镇；其他镇答 404。
#[utoipa::path(
    operation_id = "get_town",
    tag = "towns",
    params(("town" = Uuid, Path, description = "The town's id.")),
    responses((status = 200, description = "The town.", body = Town,
               headers(("ETag" = String, description = "The town's version")))),
    security(("bearer" = ["staff", "committee", "member", "county", "admin"])),
)]
#[get("/towns/{town}")]
pub(super) async fn get_town(
    auth: Auth<{ roles::ANY }>,
    db: web::Data<PgPool>,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let town = auth.town(&db, path.into_inner()).await?;
    let mut conn = db.acquire().await?;
    let town = repo::get(&mut conn, town)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(reply::with_etag(&town, town.version))
}

/// Change a town's name, county or time zone · 修改镇的名称、所属县或时区
///
/// Needs `If-Match` with the town's current ETag. Roles: `admin`.
///
/// 须带 `If-Match`（该镇当前的 ETag）。角色：`admin`。
#[utoipa::path(
    operation_id = "update_town",
    tag = "towns",
    params(("town" = Uuid, Path, description = "The town's id.")),
    request_body = TownPatch,
    responses(
        (status = 200, description = "The changed town.", body = Town,
         headers(("ETag" = String, description = "The town's new version"))),
        (status = 422, description = "`validation_failed`: a field is malformed; `time_zone` not an IANA name (`invalid_type`) or one the database does not know (`unknown_time_zone`).", body = crate::error::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["admin"])),
)]
#[patch("/towns/{town}")]
pub(super) async fn update_town(
    auth: Auth<{ roles::ADMIN }>,
    db: web::Data<PgPool>,
    path: web::Path<Uuid>,
    body: Json<TownPatch>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    let town = auth.town(&db, path.into_inner()).await?;
    let mut tx = db.begin().await?;
    let updated = workflow::update_town(&mut tx, &auth, town, if_match, &body).await?;
    tx.commit().await?;
    Ok(reply::with_etag(&updated, updated.version))
}
