//! Towns: the tenants. The admin creates them (each with its center branch); every role
//! reads the towns it covers.

pub mod domain;
pub mod repo;

use actix_web::{HttpRequest, HttpResponse, get, patch, post, web};
use serde_json::json;
use sqlx::PgPool;
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use self::domain::{NewTown, Town, TownPatch};
use self::repo::Visible;
use crate::audit::{self, Change};
use crate::auth::{Auth, Scope, roles};
use crate::branches::domain::BranchKind;
use crate::error::ApiError;
use crate::http::extract::{IdempotencyKey, IfMatch, Json, etag};
use crate::http::idempotency::{self, Answer, Claim};
use crate::http::paging::{Page, PageParams};
use crate::http::reply;

/// Registers the town routes.
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(create_town)
        .service(list_towns)
        .service(get_town)
        .service(update_town);
}

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
async fn create_town(
    auth: Auth<{ roles::ADMIN }>,
    db: web::Data<PgPool>,
    req: HttpRequest,
    key: IdempotencyKey,
    body: Json<NewTown>,
) -> Result<HttpResponse, ApiError> {
    let valid = body.validate()?;
    let mut tx = db.begin().await?;
    let claim = idempotency::claim(&mut tx, &auth, &key, req.path(), &*body).await?;
    if let Claim::Replay(res) = claim {
        return Ok(res);
    }
    let town = repo::insert(&mut tx, Uuid::now_v7(), &valid).await?;
    let center = crate::branches::repo::insert(
        &mut tx,
        town.id,
        Uuid::now_v7(),
        &valid.center_branch_name,
        BranchKind::Center,
    )
    .await?;
    crate::policy::create_initial(&mut tx, town.id, &auth.sub).await?;
    audit::record(
        &mut tx,
        &auth,
        Change {
            town_id: town.id,
            action: "town.created",
            resource_type: "town",
            resource_id: town.id,
            data: json!({ "code": town.code, "county_code": town.county_code, "center_branch_id": center.id }),
        },
    )
    .await?;
    let answer = Answer::created(
        &town,
        etag(town.version),
        format!("/api/v1/towns/{}", town.id),
    )?;
    let res = claim.finish(&mut tx, answer).await?;
    tx.commit().await?;
    Ok(res)
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
async fn list_towns(
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
async fn get_town(
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
async fn update_town(
    auth: Auth<{ roles::ADMIN }>,
    db: web::Data<PgPool>,
    path: web::Path<Uuid>,
    body: Json<TownPatch>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    let town = auth.town(&db, path.into_inner()).await?;
    let patch = body.validate()?;
    let mut tx = db.begin().await?;
    let updated = repo::update(&mut tx, town, if_match.version(), &patch).await?;
    audit::record(
        &mut tx,
        &auth,
        Change {
            town_id: town,
            action: "town.updated",
            resource_type: "town",
            resource_id: town,
            data: json!({ "version": updated.version, "fields": changed_fields(&patch) }),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(reply::with_etag(&updated, updated.version))
}

fn changed_fields(patch: &TownPatch) -> Vec<&'static str> {
    [
        ("name", patch.name.is_some()),
        ("county_code", patch.county_code.is_some()),
        ("time_zone", patch.time_zone.is_some()),
    ]
    .into_iter()
    .filter_map(|(name, set)| set.then_some(name))
    .collect()
}
