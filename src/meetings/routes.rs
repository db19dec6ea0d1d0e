//! The endpoints of the branches' organizational life: HTTP in, a workflow call, HTTP out.

use actix_web::{HttpRequest, HttpResponse, get, patch, post, web};
use chrono::NaiveDate;
use serde::Deserialize;
use sqlx::PgPool;
use utoipa::IntoParams;
use uuid::Uuid;

use super::domain::{GroupPatch, NewGroup, NewOfficer, Officer, PartyGroup};
use super::{repo, workflow};
use crate::auth::{Auth, roles};
use crate::error::ApiError;
use crate::http::extract::{IdempotencyKey, IfMatch, Json, etag};
use crate::http::idempotency::{Answer, idempotent};
use crate::http::paging::{Page, PageParams};
use crate::http::reply;

fn branch_url(town: Uuid, branch: Uuid) -> String {
    format!("/api/v1/towns/{town}/branches/{branch}")
}

/// 404 unless the town has the branch.
async fn branch_exists(db: &PgPool, town: Uuid, branch: Uuid) -> Result<(), ApiError> {
    let mut conn = db.acquire().await?;
    repo::branch_kind(&mut conn, town, branch)
        .await?
        .map(|_| ())
        .ok_or(ApiError::NotFound)
}

/// Create a party group of a branch (新建党小组).
///
/// A party group (党小组) of the branch with its members: each an active member of the
/// branch (`not_a_branch_member`), named once (`duplicate`), and in no other group (409
/// `member_in_other_group`); the leader, if any, one of them (`not_a_group_member`). The
/// name is unique in the branch (409 `group_name_taken`). Roles: `staff`, `committee`.
///
/// 在支部内新建党小组并列出成员：成员须为本支部在册党员、不得重复、不得已在其他党小组；组长须为成员之一；
/// 小组名称在支部内唯一。可用角色：`staff`、`committee`。
#[utoipa::path(
    tag = "meetings",
    params(("town" = Uuid, Path, description = "The town's id. 镇编号。"), ("branch" = Uuid, Path, description = "The branch's id. 支部编号。")),
    request_body = NewGroup,
    responses(
        (status = 201, description = "The group was created. 已建立。", body = PartyGroup,
         headers(("ETag" = String, description = "The group's version"), ("Location" = String, description = "The group's URL"))),
        (status = 409, description = "`group_name_taken`, `member_in_other_group`.", body = crate::error::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["staff", "committee"])),
)]
#[post("/towns/{town}/branches/{branch}/groups")]
pub(super) async fn create_group(
    auth: Auth<{ roles::STAFF | roles::COMMITTEE }>,
    db: web::Data<PgPool>,
    req: HttpRequest,
    path: web::Path<(Uuid, Uuid)>,
    key: IdempotencyKey,
    body: Json<NewGroup>,
) -> Result<HttpResponse, ApiError> {
    let (town, branch) = path.into_inner();
    let town = auth.town(&db, town).await?;
    idempotent(&db, &auth, &key, &req, &*body, async |tx| {
        let group = workflow::create_group(tx, &auth, town, branch, &body).await?;
        let location = format!("{}/groups/{}", branch_url(town, branch), group.id);
        Answer::created(&group, etag(group.version), location)
    })
    .await
}

/// List a branch's party groups (党小组列表).
///
/// In creation order, each with its members. Roles: all, for the towns they cover.
///
/// 按建立顺序列出支部的党小组及其成员。可用角色：所有角色（限其可见的镇）。
#[utoipa::path(
    tag = "meetings",
    params(("town" = Uuid, Path, description = "The town's id. 镇编号。"), ("branch" = Uuid, Path, description = "The branch's id. 支部编号。"), PageParams),
    responses((status = 200, description = "A page of groups. 一页党小组。", body = Page<PartyGroup>)),
    security(("bearer" = ["staff", "committee", "member", "county", "admin"])),
)]
#[get("/towns/{town}/branches/{branch}/groups")]
pub(super) async fn list_groups(
    auth: Auth<{ roles::ANY }>,
    db: web::Data<PgPool>,
    path: web::Path<(Uuid, Uuid)>,
    page: web::Query<PageParams>,
) -> Result<web::Json<Page<PartyGroup>>, ApiError> {
    let (town, branch) = path.into_inner();
    let town = auth.town(&db, town).await?;
    let keyset = page.keyset()?;
    branch_exists(&db, town, branch).await?;
    let mut conn = db.acquire().await?;
    let rows = repo::list_groups(&mut conn, town, branch, keyset).await?;
    Ok(web::Json(Page::from_rows(rows, keyset, |g| g.id)))
}

/// Read a party group (查看党小组).
///
/// The group with its members. Roles: all, for the towns they cover.
///
/// 查看党小组及其成员。可用角色：所有角色（限其可见的镇）。
#[utoipa::path(
    tag = "meetings",
    params(("town" = Uuid, Path, description = "The town's id. 镇编号。"), ("branch" = Uuid, Path, description = "The branch's id. 支部编号。"),
           ("group" = Uuid, Path, description = "The group's id. 党小组编号。")),
    responses((status = 200, description = "The group. 党小组。", body = PartyGroup,
               headers(("ETag" = String, description = "The group's version")))),
    security(("bearer" = ["staff", "committee", "member", "county", "admin"])),
)]
#[get("/towns/{town}/branches/{branch}/groups/{group}")]
pub(super) async fn get_group(
    auth: Auth<{ roles::ANY }>,
    db: web::Data<PgPool>,
    path: web::Path<(Uuid, Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    let (town, branch, group) = path.into_inner();
    let town = auth.town(&db, town).await?;
    let mut conn = db.acquire().await?;
    let group = workflow::read_group(&mut conn, town, branch, group).await?;
    Ok(reply::with_etag(&group, group.version))
}

/// Change a party group (修改党小组).
///
/// Rename it, replace its members (the list given is the whole new set) or change its
/// leader (`null`: none); a leader who leaves the group stops leading it. The same rules
/// as at creation. Needs `If-Match`. Roles: `staff`, `committee`.
///
/// 修改党小组名称、整体替换成员或更换组长（`null` 表示不设）；离开小组的组长不再担任组长。规则同新建。
/// 须带 `If-Match`。可用角色：`staff`、`committee`。
#[utoipa::path(
    tag = "meetings",
    params(("town" = Uuid, Path, description = "The town's id. 镇编号。"), ("branch" = Uuid, Path, description = "The branch's id. 支部编号。"),
           ("group" = Uuid, Path, description = "The group's id. 党小组编号。")),
    request_body = GroupPatch,
    responses(
        (status = 200, description = "The changed group. 修改后的党小组。", body = PartyGroup,
         headers(("ETag" = String, description = "The group's new version"))),
        (status = 409, description = "`group_name_taken`, `member_in_other_group`.", body = crate::error::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["staff", "committee"])),
)]
#[patch("/towns/{town}/branches/{branch}/groups/{group}")]
pub(super) async fn update_group(
    auth: Auth<{ roles::STAFF | roles::COMMITTEE }>,
    db: web::Data<PgPool>,
    path: web::Path<(Uuid, Uuid, Uuid)>,
    body: Json<GroupPatch>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    let (town, branch, group) = path.into_inner();
    let town = auth.town(&db, town).await?;
    let mut tx = db.begin().await?;
    let updated =
        workflow::update_group(&mut tx, &auth, town, branch, group, if_match, &body).await?;
    tx.commit().await?;
    Ok(reply::with_etag(&updated, updated.version))
}

/// Record a term of a branch officer (登记支部委员任期).
///
/// The secretary, a deputy secretary or a committee member of the branch, with the term's
/// first and last day (at most five years: `term_too_long`; in order: `before_term_from`).
/// The member is an active member of the branch (`not_a_branch_member`); they hold one
/// office at a time (409 `officer_term_overlaps`), and the branch has one secretary at a
/// time (409 `secretary_term_overlaps`). Terms are records: never edited. Roles: `staff`,
/// `committee`.
///
/// 登记支部书记、副书记或委员的任期（起止日期，最长五年）。任职者须为本支部在册党员；同一党员同一时间只任一职，
/// 同一时间只有一名书记。任期记录不可修改。可用角色：`staff`、`committee`。
#[utoipa::path(
    tag = "meetings",
    params(("town" = Uuid, Path, description = "The town's id. 镇编号。"), ("branch" = Uuid, Path, description = "The branch's id. 支部编号。")),
    request_body = NewOfficer,
    responses(
        (status = 201, description = "The term was recorded. 已登记。", body = Officer,
         headers(("ETag" = String, description = "The term's version (always 1)"), ("Location" = String, description = "The branch's officers"))),
        (status = 409, description = "`officer_term_overlaps`, `secretary_term_overlaps`.", body = crate::error::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["staff", "committee"])),
)]
#[post("/towns/{town}/branches/{branch}/officers")]
pub(super) async fn record_officer(
    auth: Auth<{ roles::STAFF | roles::COMMITTEE }>,
    db: web::Data<PgPool>,
    req: HttpRequest,
    path: web::Path<(Uuid, Uuid)>,
    key: IdempotencyKey,
    body: Json<NewOfficer>,
) -> Result<HttpResponse, ApiError> {
    let (town, branch) = path.into_inner();
    let town = auth.town(&db, town).await?;
    idempotent(&db, &auth, &key, &req, &*body, async |tx| {
        let officer = workflow::record_officer(tx, &auth, town, branch, &body).await?;
        let location = format!("{}/officers", branch_url(town, branch));
        Answer::created(&officer, etag(1), location)
    })
    .await
}

/// Filters of the officers' list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OfficerQuery {
    /// Only the terms that include this day (`YYYY-MM-DD`): the officers on that day. 只列出这一天在任的委员。
    pub on: Option<NaiveDate>,
}

/// List a branch's officers and their terms (支部委员及任期).
///
/// In the order recorded; with `on`, only those in office on that day. Roles: all, for
/// the towns they cover.
///
/// 按登记顺序列出支部委员及其任期；带 `on` 时只列出当天在任者。可用角色：所有角色（限其可见的镇）。
#[utoipa::path(
    tag = "meetings",
    params(("town" = Uuid, Path, description = "The town's id. 镇编号。"), ("branch" = Uuid, Path, description = "The branch's id. 支部编号。"), OfficerQuery, PageParams),
    responses((status = 200, description = "A page of terms. 一页任期记录。", body = Page<Officer>)),
    security(("bearer" = ["staff", "committee", "member", "county", "admin"])),
)]
#[get("/towns/{town}/branches/{branch}/officers")]
pub(super) async fn list_officers(
    auth: Auth<{ roles::ANY }>,
    db: web::Data<PgPool>,
    path: web::Path<(Uuid, Uuid)>,
    query: web::Query<OfficerQuery>,
    page: web::Query<PageParams>,
) -> Result<web::Json<Page<Officer>>, ApiError> {
    let (town, branch) = path.into_inner();
    let town = auth.town(&db, town).await?;
    let keyset = page.keyset()?;
    crate::activities::domain::check_day_filter("on", query.on)?;
    branch_exists(&db, town, branch).await?;
    let mut conn = db.acquire().await?;
    let rows = repo::list_officers(&mut conn, town, branch, query.on, keyset).await?;
    Ok(web::Json(Page::from_rows(rows, keyset, |o| o.id)))
}
