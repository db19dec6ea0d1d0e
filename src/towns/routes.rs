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

/// Create a town, with its center branch and its policy.
///
/// The town, its center branch and version 1 of its policy (the rules as written) are
/// written in one transaction; the database refuses a town without either. Roles: `admin`.
#[utoipa::path(
    tag = "towns",
    request_body = NewTown,
    responses(
        (status = 201, description = "The town was created.", body = Town,
         headers(("ETag" = String, description = "The town's version"), ("Location" = String, description = "The town's URL"))),
        (status = 409, description = "`town_code_taken`: a town with this code exists.", body = crate::error::Problem, content_type = "application/problem+json"),
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

/// List the towns you can see.
///
/// An admin sees every town, a county system the towns of its county, everyone else
/// their own town. Roles: all.
#[utoipa::path(
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

/// Read a town.
///
/// Roles: all, for the towns they cover; another town answers 404.
#[utoipa::path(
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

/// Change a town's name, county or time zone.
///
/// Needs `If-Match` with the town's current ETag. Roles: `admin`.
#[utoipa::path(
    tag = "towns",
    params(("town" = Uuid, Path, description = "The town's id.")),
    request_body = TownPatch,
    responses((status = 200, description = "The changed town.", body = Town,
               headers(("ETag" = String, description = "The town's new version")))),
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
