//! Members (党员) of a town: registration, reading (sensitive numbers masked), search and
//! filters, changes, and import of a whole roster.

pub mod domain;
pub mod import;
pub mod repo;

use actix_web::{HttpRequest, HttpResponse, get, patch, post, web};
use serde::Deserialize;
use serde_json::json;
use sqlx::PgPool;
use utoipa::IntoParams;
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use self::domain::{Disclosure, Member, MemberPatch, MemberStatus, NameSearch, NewMember};
use crate::audit::{self, Change};
use crate::auth::{Auth, Role, roles};
use crate::error::ApiError;
use crate::http::extract::{IdempotencyKey, IfMatch, Json, etag};
use crate::http::idempotency::{self, Answer, Claim};
use crate::http::paging::{Page, PageParams};
use crate::http::reply;

/// Registers the member routes.
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(create_member)
        .service(import::import_members)
        .service(list_members)
        .service(get_member)
        .service(update_member);
}

/// Filters of the member list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MemberQuery {
    /// Members of this branch.
    pub branch_id: Option<Uuid>,
    /// Members living in this village (exact name).
    #[param(max_length = 50)]
    pub village: Option<String>,
    /// Members with this status.
    #[param(inline)]
    pub status: Option<MemberStatus>,
    /// Only reserve cadres (`true`) or only others (`false`).
    pub reserve_cadre: Option<bool>,
    /// Only outstanding young members (`true`) or only others (`false`).
    pub outstanding_young: Option<bool>,
    /// Name search: members whose name contains this text (one or more characters).
    #[param(max_length = 50)]
    pub q: Option<String>,
    /// Only holders of a valid floating member certificate (`true`) or only others.
    pub floating: Option<bool>,
    /// Only members under transformation, with an open case (`true`), or only others.
    pub under_transformation: Option<bool>,
}

impl MemberQuery {
    fn filter(&self) -> Result<repo::Filter, ApiError> {
        crate::http::extract::check_query_lengths(&[
            ("village", self.village.as_deref(), 50),
            ("q", self.q.as_deref(), 50),
        ])?;
        Ok(repo::Filter {
            branch_id: self.branch_id,
            village: self.village.clone(),
            status: self.status,
            reserve_cadre: self.reserve_cadre,
            outstanding_young: self.outstanding_young,
            name: self.q.as_deref().and_then(NameSearch::new),
            floating: self.floating,
            under_transformation: self.under_transformation,
        })
    }
}

/// Whether to show sensitive numbers in full.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RevealQuery {
    /// `true` shows the national ID number and phone in full: committee only, and every
    /// reveal is written to the audit trail.
    pub reveal: Option<bool>,
}

/// Register a member.
///
/// The member enters the given branch by a `registration` transfer, the first entry of
/// their transfer history; their branch changes only by transfers after that. The national
/// ID number and the phone are unique in the town. Roles: `staff`, `committee`.
#[utoipa::path(
    tag = "members",
    params(("town" = Uuid, Path, description = "The town's id.")),
    request_body = NewMember,
    responses(
        (status = 201, description = "The member, numbers masked.", body = Member,
         headers(("ETag" = String, description = "The member's version"), ("Location" = String, description = "The member's URL"))),
        (status = 409, description = "`national_id_taken` or `phone_taken`.", body = crate::error::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["staff", "committee"])),
)]
#[post("/towns/{town}/members")]
async fn create_member(
    auth: Auth<{ roles::STAFF | roles::COMMITTEE }>,
    db: web::Data<PgPool>,
    req: HttpRequest,
    path: web::Path<Uuid>,
    key: IdempotencyKey,
    body: Json<NewMember>,
) -> Result<HttpResponse, ApiError> {
    let town = auth.town(&db, path.into_inner()).await?;
    let mut tx = db.begin().await?;
    let today = crate::towns::repo::today(&mut tx, town).await?;
    let valid = body.validate(today)?;
    let claim = idempotency::claim(&mut tx, &auth, &key, req.path(), &*body).await?;
    if let Claim::Replay(res) = claim {
        return Ok(res);
    }
    let row = repo::insert(&mut tx, town, Uuid::now_v7(), &valid).await?;
    crate::transfers::repo::record(
        &mut tx,
        &auth,
        crate::transfers::domain::NewTransferRecord {
            town_id: town,
            member_id: row.id,
            kind: crate::transfers::domain::RecordKind::Registration,
            to_branch_id: valid.branch_id,
            reason: "registration".to_owned(),
            decided_on: today,
        },
    )
    .await?;
    audit::record(
        &mut tx,
        &auth,
        Change {
            town_id: town,
            action: "member.created",
            resource_type: "member",
            resource_id: row.id,
            data: json!({ "branch_id": valid.branch_id }),
        },
    )
    .await?;
    let member = row.view(Disclosure::Masked);
    let location = format!("/api/v1/towns/{town}/members/{}", member.id);
    let answer = Answer::created(&member, etag(member.version), location)?;
    let res = claim.finish(&mut tx, answer).await?;
    tx.commit().await?;
    Ok(res)
}

/// List and search a town's members.
///
/// Filters combine; `q` finds members whose name contains the text, through an index of
/// the names' characters and character pairs. Numbers are always masked here. Roles:
/// `staff`, `committee`, `county`.
#[utoipa::path(
    tag = "members",
    params(("town" = Uuid, Path, description = "The town's id."), MemberQuery, PageParams),
    responses((status = 200, description = "A page of members.", body = Page<Member>)),
    security(("bearer" = ["staff", "committee", "county"])),
)]
#[get("/towns/{town}/members")]
async fn list_members(
    auth: Auth<{ roles::STAFF | roles::COMMITTEE | roles::COUNTY }>,
    db: web::Data<PgPool>,
    path: web::Path<Uuid>,
    query: web::Query<MemberQuery>,
    page: web::Query<PageParams>,
) -> Result<web::Json<Page<Member>>, ApiError> {
    let town = auth.town(&db, path.into_inner()).await?;
    let keyset = page.keyset()?;
    let mut conn = db.acquire().await?;
    let today = crate::towns::repo::today(&mut conn, town).await?;
    let rows = repo::list(&mut conn, town, &query.filter()?, today, keyset).await?;
    let page = Page::from_rows(rows, keyset, |m| m.id);
    Ok(web::Json(Page {
        items: page
            .items
            .into_iter()
            .map(|m| m.view(Disclosure::Masked))
            .collect(),
        next_cursor: page.next_cursor,
    }))
}

/// Read a member.
///
/// Numbers are masked; the committee may ask for them in full with `reveal=true`, and each
/// such reveal is recorded in the audit trail. Roles: `staff`, `committee`, `county`.
#[utoipa::path(
    tag = "members",
    params(("town" = Uuid, Path, description = "The town's id."), ("member" = Uuid, Path, description = "The member's id."), RevealQuery),
    responses((status = 200, description = "The member.", body = Member,
               headers(("ETag" = String, description = "The member's version")))),
    security(("bearer" = ["staff", "committee", "county"])),
)]
#[get("/towns/{town}/members/{member:[0-9a-fA-F-]+}")]
async fn get_member(
    auth: Auth<{ roles::STAFF | roles::COMMITTEE | roles::COUNTY }>,
    db: web::Data<PgPool>,
    path: web::Path<(Uuid, Uuid)>,
    query: web::Query<RevealQuery>,
) -> Result<HttpResponse, ApiError> {
    let (town, id) = path.into_inner();
    let town = auth.town(&db, town).await?;
    let reveal = query.reveal.unwrap_or(false);
    if reveal && auth.role != Role::Committee {
        return Err(ApiError::Forbidden);
    }
    let mut tx = db.begin().await?;
    let today = crate::towns::repo::today(&mut tx, town).await?;
    let row = repo::get(&mut tx, town, id, today)
        .await?
        .ok_or(ApiError::NotFound)?;
    let disclosure = if reveal {
        audit::record(
            &mut tx,
            &auth,
            Change {
                town_id: town,
                action: "member.revealed",
                resource_type: "member",
                resource_id: id,
                data: json!({ "fields": ["national_id", "phone"] }),
            },
        )
        .await?;
        Disclosure::Revealed
    } else {
        Disclosure::Masked
    };
    tx.commit().await?;
    let member = row.view(disclosure);
    Ok(reply::with_etag(&member, member.version))
}

/// Change a member's details.
///
/// Needs `If-Match`. The national ID number is fixed at registration, and the branch
/// changes only by transfers. Roles: `staff`, `committee`.
#[utoipa::path(
    tag = "members",
    params(("town" = Uuid, Path, description = "The town's id."), ("member" = Uuid, Path, description = "The member's id.")),
    request_body = MemberPatch,
    responses(
        (status = 200, description = "The changed member.", body = Member,
         headers(("ETag" = String, description = "The member's new version"))),
        (status = 409, description = "`phone_taken`.", body = crate::error::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["staff", "committee"])),
)]
#[patch("/towns/{town}/members/{member:[0-9a-fA-F-]+}")]
async fn update_member(
    auth: Auth<{ roles::STAFF | roles::COMMITTEE }>,
    db: web::Data<PgPool>,
    path: web::Path<(Uuid, Uuid)>,
    body: Json<MemberPatch>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    let (town, id) = path.into_inner();
    let town = auth.town(&db, town).await?;
    let mut tx = db.begin().await?;
    let today = crate::towns::repo::today(&mut tx, town).await?;
    let patch = body.validate(today)?;
    let row = repo::update(&mut tx, town, id, if_match.version(), &patch, today).await?;
    audit::record(
        &mut tx,
        &auth,
        Change {
            town_id: town,
            action: "member.updated",
            resource_type: "member",
            resource_id: id,
            data: json!({ "version": row.version, "fields": body.fields() }),
        },
    )
    .await?;
    tx.commit().await?;
    let member = row.view(Disclosure::Masked);
    Ok(reply::with_etag(&member, member.version))
}
