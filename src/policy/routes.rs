//! The policy endpoints: HTTP in, the policy's reads and one change, HTTP out.

use actix_web::{HttpResponse, get, patch, web};
use sqlx::PgPool;
use uuid::Uuid;

use super::domain::{Policy, PolicyChange};
use super::{repo, workflow};
use crate::auth::{Auth, roles};
use crate::error::ApiError;
use crate::http::extract::{IfMatch, Json};
use crate::http::paging::{Page, PageParams};
use crate::http::reply;

/// The town's current policy · 本镇现行的计分办法
///
/// Scores are in points (steps of 0.5). The `ETag` is the version. Roles: all, for the
/// towns they cover.
///
/// 分值以分为单位（步长 0.5 分）。`ETag` 即版本号。角色：全部，限其所辖的镇。
#[utoipa::path(
    operation_id = "get_policy",
    tag = "policy",
    params(("town" = Uuid, Path, description = "The town's id.")),
    responses((status = 200, description = "The current policy.", body = Policy,
               headers(("ETag" = String, description = "The policy's version")))),
    security(("bearer" = ["staff", "committee", "member", "county", "admin"])),
)]
#[get("")]
pub(super) async fn get_policy(
    auth: Auth<{ roles::ANY }>,
    db: web::Data<PgPool>,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let town = auth.town(&db, path.into_inner()).await?;
    let mut conn = db.acquire().await?;
    let p = repo::current(&mut conn, town).await?;
    Ok(reply::with_etag(&p, i64::from(p.version)))
}

/// Every version of the town's policy, newest first · 本镇计分办法的所有版本，最新的在前
///
/// Roles: `staff`, `committee`, `county`.
///
/// 角色：`staff`、`committee`、`county`。
#[utoipa::path(
    operation_id = "list_policy_versions",
    tag = "policy",
    params(("town" = Uuid, Path, description = "The town's id."), PageParams),
    responses((status = 200, description = "A page of versions, newest first.", body = Page<Policy>)),
    security(("bearer" = ["staff", "committee", "county"])),
)]
#[get("/versions")]
pub(super) async fn list_versions(
    auth: Auth<{ roles::STAFF | roles::COMMITTEE | roles::COUNTY }>,
    db: web::Data<PgPool>,
    path: web::Path<Uuid>,
    page: web::Query<PageParams>,
) -> Result<web::Json<Page<Policy>>, ApiError> {
    let town = auth.town(&db, path.into_inner()).await?;
    let keyset = page.keyset::<i64>()?;
    let before = keyset.before_or_max().min(i64::from(i32::MAX)) as i32;
    let policies = repo::versions(&mut *db.acquire().await?, town, before, keyset.fetch()).await?;
    Ok(web::Json(Page::from_rows(policies, keyset, |p| {
        i64::from(p.version)
    })))
}

/// Change the policy: a new version · 修改计分办法：形成新版本
///
/// Needs `If-Match` with the current version's ETag. The new version applies to what is
/// written from now on; entries and evaluations already written keep the version they used.
/// Roles: `committee`.
///
/// 须带 `If-Match`（当前版本的 ETag）。新版本只适用于此后写入的记录；
/// 已写入的记分和民主评议保留其所用的版本。角色：`committee`。
#[utoipa::path(
    operation_id = "change_policy",
    tag = "policy",
    params(("town" = Uuid, Path, description = "The town's id.")),
    request_body = PolicyChange,
    responses((status = 200, description = "The new version.", body = Policy,
               headers(("ETag" = String, description = "The new version")))),
    security(("bearer" = ["committee"])),
)]
#[patch("")]
pub(super) async fn change_policy(
    auth: Auth<{ roles::COMMITTEE }>,
    db: web::Data<PgPool>,
    path: web::Path<Uuid>,
    body: Json<PolicyChange>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    let town = auth.town(&db, path.into_inner()).await?;
    let mut tx = db.begin().await?;
    let saved = workflow::change(&mut tx, &auth, town, &body, if_match).await?;
    tx.commit().await?;
    Ok(reply::with_etag(&saved, i64::from(saved.version)))
}
