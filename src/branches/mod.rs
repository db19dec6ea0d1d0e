//! Branches (支部) of a town. The committee and the admin manage them; every role reads
//! the branches of the towns it covers. The center branch comes with the town.

pub mod domain;
pub mod repo;

use actix_web::{HttpRequest, HttpResponse, get, patch, post, web};
use serde::Deserialize;
use serde_json::json;
use sqlx::PgPool;
use utoipa::IntoParams;
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use self::domain::{Branch, BranchKind, BranchPatch, NewBranch};
use crate::audit::{self, Change};
use crate::auth::{Auth, roles};
use crate::error::ApiError;
use crate::http::extract::{IdempotencyKey, IfMatch, Json, etag};
use crate::http::idempotency::{self, Answer, Claim};
use crate::http::paging::{Page, PageParams};
use crate::http::reply;

/// Registers the branch routes.
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(create_branch)
        .service(list_branches)
        .service(get_branch)
        .service(update_branch);
}

/// Filters of the branch list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct BranchFilter {
    /// Only branches of this kind.
    pub kind: Option<BranchKind>,
}

/// Create a branch.
///
/// Any kind but `center` (the center branch is made with the town). Roles: `committee`,
/// `admin`.
#[utoipa::path(
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
#[post("/towns/{town}/branches")]
async fn create_branch(
    auth: Auth<{ roles::COMMITTEE | roles::ADMIN }>,
    db: web::Data<PgPool>,
    req: HttpRequest,
    path: web::Path<Uuid>,
    key: IdempotencyKey,
    body: Json<NewBranch>,
) -> Result<HttpResponse, ApiError> {
    let town = auth.town(&db, path.into_inner()).await?;
    let valid = body.validate()?;
    let mut tx = db.begin().await?;
    let claim = idempotency::claim(&mut tx, &auth, &key, req.path(), &*body).await?;
    if let Claim::Replay(res) = claim {
        return Ok(res);
    }
    let branch = repo::insert(&mut tx, town, Uuid::now_v7(), &valid.name, valid.kind).await?;
    audit::record(
        &mut tx,
        &auth,
        Change {
            town_id: town,
            action: "branch.created",
            resource_type: "branch",
            resource_id: branch.id,
            data: json!({ "kind": branch.kind }),
        },
    )
    .await?;
    let location = format!("/api/v1/towns/{town}/branches/{}", branch.id);
    let answer = Answer::created(&branch, etag(branch.version), location)?;
    let res = claim.finish(&mut tx, answer).await?;
    tx.commit().await?;
    Ok(res)
}

/// List a town's branches.
///
/// Roles: all, for the towns they cover.
#[utoipa::path(
    tag = "branches",
    params(("town" = Uuid, Path, description = "The town's id."), BranchFilter, PageParams),
    responses((status = 200, description = "A page of branches.", body = Page<Branch>)),
    security(("bearer" = ["staff", "committee", "member", "county", "admin"])),
)]
#[get("/towns/{town}/branches")]
async fn list_branches(
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

/// Read a branch.
///
/// Roles: all, for the towns they cover.
#[utoipa::path(
    tag = "branches",
    params(("town" = Uuid, Path, description = "The town's id."), ("branch" = Uuid, Path, description = "The branch's id.")),
    responses((status = 200, description = "The branch.", body = Branch,
               headers(("ETag" = String, description = "The branch's version")))),
    security(("bearer" = ["staff", "committee", "member", "county", "admin"])),
)]
#[get("/towns/{town}/branches/{branch}")]
async fn get_branch(
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

/// Rename a branch or change its kind.
///
/// Needs `If-Match`. The center branch keeps its kind and no other branch becomes the
/// center. Roles: `committee`, `admin`.
#[utoipa::path(
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
#[patch("/towns/{town}/branches/{branch}")]
async fn update_branch(
    auth: Auth<{ roles::COMMITTEE | roles::ADMIN }>,
    db: web::Data<PgPool>,
    path: web::Path<(Uuid, Uuid)>,
    body: Json<BranchPatch>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    let (town, id) = path.into_inner();
    let town = auth.town(&db, town).await?;
    let mut tx = db.begin().await?;
    let current = repo::get(&mut tx, town, id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let patch = body.validate(current.kind)?;
    let updated = repo::update(&mut tx, town, id, if_match.version(), &patch).await?;
    audit::record(
        &mut tx,
        &auth,
        Change {
            town_id: town,
            action: "branch.updated",
            resource_type: "branch",
            resource_id: id,
            data: json!({ "version": updated.version, "kind": updated.kind }),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(reply::with_etag(&updated, updated.version))
}
