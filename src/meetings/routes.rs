//! The endpoints of the branches' organizational life: HTTP in, a workflow call, HTTP out.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, patch, post, put, web};
use chrono::NaiveDate;
use serde::Deserialize;
use sqlx::PgPool;
use utoipa::IntoParams;
use uuid::Uuid;

use super::domain::{
    BranchCompliance, GroupPatch, Meeting, MeetingDetail, MeetingKind, MeetingRoll, MemberMeeting,
    Minutes, NewGroup, NewMeeting, NewMinutes, NewOfficer, Officer, PartyGroup, Period,
    TownCompliance,
};
use super::workflow::Recorded;
use super::{repo, workflow};
use crate::activities::domain::{NewRoll, check_day_filter};
use crate::auth::{Auth, Scope, roles};
use crate::error::ApiError;
use crate::http::extract::{IdempotencyKey, IfMatch, Json, etag};
use crate::http::formats::{ExportFormat, FormatQuery};
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
    operation_id = "create_group",
    params(("town" = Uuid, Path, description = "The town's id. 镇编号。"), ("branch" = Uuid, Path, description = "The branch's id. 支部编号。")),
    request_body = NewGroup,
    responses(
        (status = 201, description = "The group was created. 已建立。", body = PartyGroup,
         headers(("ETag" = String, description = "The group's version"), ("Location" = String, description = "The group's URL"))),
        (status = 409, description = "`group_name_taken`, `member_in_other_group`.", body = crate::error::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["staff", "committee"])),
)]
#[post("/{branch}/groups")]
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
    operation_id = "list_groups",
    params(("town" = Uuid, Path, description = "The town's id. 镇编号。"), ("branch" = Uuid, Path, description = "The branch's id. 支部编号。"), PageParams),
    responses((status = 200, description = "A page of groups. 一页党小组。", body = Page<PartyGroup>)),
    security(("bearer" = ["staff", "committee", "member", "county", "admin"])),
)]
#[get("/{branch}/groups")]
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
    operation_id = "get_group",
    params(("town" = Uuid, Path, description = "The town's id. 镇编号。"), ("branch" = Uuid, Path, description = "The branch's id. 支部编号。"),
           ("group" = Uuid, Path, description = "The group's id. 党小组编号。")),
    responses((status = 200, description = "The group. 党小组。", body = PartyGroup,
               headers(("ETag" = String, description = "The group's version")))),
    security(("bearer" = ["staff", "committee", "member", "county", "admin"])),
)]
#[get("/{branch}/groups/{group}")]
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
    operation_id = "update_group",
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
#[patch("/{branch}/groups/{group}")]
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
    operation_id = "record_officer",
    params(("town" = Uuid, Path, description = "The town's id. 镇编号。"), ("branch" = Uuid, Path, description = "The branch's id. 支部编号。")),
    request_body = NewOfficer,
    responses(
        (status = 201, description = "The term was recorded. 已登记。", body = Officer,
         headers(("ETag" = String, description = "The term's version (always 1)"), ("Location" = String, description = "The branch's officers"))),
        (status = 409, description = "`officer_term_overlaps`, `secretary_term_overlaps`.", body = crate::error::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["staff", "committee"])),
)]
#[post("/{branch}/officers")]
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
    #[param(value_type = Option<crate::types::CalendarDate>, inline)]
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
    operation_id = "list_officers",
    params(("town" = Uuid, Path, description = "The town's id. 镇编号。"), ("branch" = Uuid, Path, description = "The branch's id. 支部编号。"), OfficerQuery, PageParams),
    responses((status = 200, description = "A page of terms. 一页任期记录。", body = Page<Officer>)),
    security(("bearer" = ["staff", "committee", "member", "county", "admin"])),
)]
#[get("/{branch}/officers")]
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
    check_day_filter("on", query.on)?;
    branch_exists(&db, town, branch).await?;
    let mut conn = db.acquire().await?;
    let rows = repo::list_officers(&mut conn, town, branch, query.on, keyset).await?;
    Ok(web::Json(Page::from_rows(rows, keyset, |o| o.id)))
}

fn meeting_url(town: Uuid, meeting: Uuid) -> String {
    format!("/api/v1/towns/{town}/meetings/{meeting}")
}

/// Plan a branch meeting (登记支部会议).
///
/// A meeting of one of the regulated kinds (三会一课 and the rest) of a branch of the
/// town (`unknown_branch`), with when, where, who hosts and the topic, and what the center
/// did for it (`center_role`, art. 10). A `party_group` meeting names one of the branch's
/// groups (`required`, `unknown_group`), no other kind does (`only_for_party_group`).
/// Who is expected is fixed now: the branch's active members (for a party group meeting,
/// the group's members still active in the branch), plus `extra_member_ids`, e.g.
/// inflowing or floating members of other branches (art. 12): each a member of the town
/// (`unknown_member`) still in its organization (`member_not_active`), not expected
/// already (`already_expected`), named once (`duplicate`). At a center-branch meeting a
/// member under transformation is expected with their open case (art. 22). Roles:
/// `staff`, `committee`.
///
/// 登记支部的一次会议（三会一课、主题党日、组织生活会、民主评议党员）：时间、地点、主持人、议题，以及服务中心
/// 承办或协助的情况（第十条）。党小组会须指明本支部的党小组。应到名单此时确定：本支部在册党员（党小组会为该小组
/// 仍在本支部的成员），另加列入的党员（如其他支部的流入、流动党员，第十二条）。中心支部会议上的转化对象带其档案
/// 列入（第二十二条）。可用角色：`staff`、`committee`。
#[utoipa::path(
    tag = "meetings",
    operation_id = "create_meeting",
    params(("town" = Uuid, Path, description = "The town's id. 镇编号。")),
    request_body = NewMeeting,
    responses(
        (status = 201, description = "The meeting and who is expected. 会议及应到名单。", body = MeetingDetail,
         headers(("ETag" = String, description = "The meeting's version"), ("Location" = String, description = "The meeting's URL"))),
    ),
    security(("bearer" = ["staff", "committee"])),
)]
#[post("")]
pub(super) async fn create_meeting(
    auth: Auth<{ roles::STAFF | roles::COMMITTEE }>,
    db: web::Data<PgPool>,
    req: HttpRequest,
    path: web::Path<Uuid>,
    key: IdempotencyKey,
    body: Json<NewMeeting>,
) -> Result<HttpResponse, ApiError> {
    let town = auth.town(&db, path.into_inner()).await?;
    idempotent(&db, &auth, &key, &req, &*body, async |tx| {
        let detail = workflow::plan_meeting(tx, &auth, town, &body).await?;
        let location = meeting_url(town, detail.meeting.id);
        Answer::created(&detail, etag(detail.meeting.version), location)
    })
    .await
}

/// Filters of the meeting list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MeetingQuery {
    /// Only this branch's meetings. 只列出该支部的会议。
    pub branch: Option<Uuid>,
    /// Only meetings of this kind. 只列出该类型的会议。
    #[param(inline)]
    pub kind: Option<MeetingKind>,
    /// Only meetings starting on or after this day (`YYYY-MM-DD`, the town's time zone;
    /// years 2000 to 2099). 起始日期（含）。
    #[param(value_type = Option<crate::types::CalendarDate>, inline)]
    pub from: Option<NaiveDate>,
    /// Only meetings starting on or before this day (`YYYY-MM-DD`, the town's time zone;
    /// years 2000 to 2099). 截止日期（含）。
    #[param(value_type = Option<crate::types::CalendarDate>, inline)]
    pub to: Option<NaiveDate>,
}

/// List a town's branch meetings (会议列表).
///
/// In planning order; filters by branch, kind and the day they start (the town's time
/// zone). Roles: `staff`, `committee`, `county`.
///
/// 按登记顺序列出本镇各支部的会议，可按支部、类型与开始日期筛选。可用角色：`staff`、`committee`、`county`。
#[utoipa::path(
    tag = "meetings",
    operation_id = "list_meetings",
    params(("town" = Uuid, Path, description = "The town's id. 镇编号。"), MeetingQuery, PageParams),
    responses((status = 200, description = "A page of meetings. 一页会议。", body = Page<Meeting>)),
    security(("bearer" = ["staff", "committee", "county"])),
)]
#[get("")]
pub(super) async fn list_meetings(
    auth: Auth<{ roles::STAFF | roles::COMMITTEE | roles::COUNTY }>,
    db: web::Data<PgPool>,
    path: web::Path<Uuid>,
    query: web::Query<MeetingQuery>,
    page: web::Query<PageParams>,
) -> Result<web::Json<Page<Meeting>>, ApiError> {
    let town = auth.town(&db, path.into_inner()).await?;
    check_day_filter("from", query.from)?;
    check_day_filter("to", query.to)?;
    let keyset = page.keyset()?;
    let mut conn = db.acquire().await?;
    let q = &*query;
    let rows = repo::list_meetings(&mut conn, town, q.branch, q.kind, q.from, q.to, keyset).await?;
    Ok(web::Json(Page::from_rows(rows, keyset, |m| m.id)))
}

/// Read a meeting (查看会议).
///
/// The meeting, who is expected and its roll once recorded. Roles: `staff`,
/// `committee`, `county`.
///
/// 查看会议、应到名单及已记录的考勤。可用角色：`staff`、`committee`、`county`。
#[utoipa::path(
    tag = "meetings",
    operation_id = "get_meeting",
    params(("town" = Uuid, Path, description = "The town's id. 镇编号。"), ("meeting" = Uuid, Path, description = "The meeting's id. 会议编号。")),
    responses((status = 200, description = "The meeting. 会议。", body = MeetingDetail,
               headers(("ETag" = String, description = "The meeting's version")))),
    security(("bearer" = ["staff", "committee", "county"])),
)]
#[get("/{meeting}")]
pub(super) async fn get_meeting(
    auth: Auth<{ roles::STAFF | roles::COMMITTEE | roles::COUNTY }>,
    db: web::Data<PgPool>,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    let (town, id) = path.into_inner();
    let town = auth.town(&db, town).await?;
    let mut conn = db.acquire().await?;
    let detail = workflow::read_meeting(&mut conn, town, id).await?;
    Ok(reply::with_etag(&detail, detail.meeting.version))
}

/// Record a meeting's roll, once, as one batch (记录会议考勤).
///
/// The same rules as an activity's roll: one line for every expected member (each
/// missing one is listed as `missing`, field `items`), each once (`duplicate`), no one
/// else (`not_required`); an excused leave has an `excuse_reason` and an `approved_by`
/// (`required`), no other line has them (`only_when_excused`). After the meeting has
/// started (409 `meeting_not_started`). At a center-branch meeting each absence of a
/// member under transformation writes one ledger entry to their case (`absence`, one step
/// down: -0.5 under the rules as written; its source the attendance record), an excused
/// leave too when the policy's `excused_leave_costs` is on, exactly as an activity's
/// roll does; a line that cannot cost points says why in `unscored`. Sending the same
/// roll again changes nothing (200 with the recorded roll); a different one is a 409
/// `roll_recorded`. Needs an `Idempotency-Key`. Roles: `staff`, `committee`.
///
/// 一次性记录会议考勤，规则与活动考勤相同：每名应到党员一行、不重不漏，请假须写明事由与批准人；会议开始后方可记录。
/// 中心支部会议上转化对象每缺席一次，按同一记分路径在其档案中扣 0.5 分（请假是否扣分依本镇规定
/// `excused_leave_costs`）。重复提交相同考勤不作改动；不同的考勤答 409 `roll_recorded`。须带 `Idempotency-Key`。
/// 可用角色：`staff`、`committee`。
#[utoipa::path(
    tag = "meetings",
    operation_id = "record_meeting_roll",
    params(
        ("town" = Uuid, Path, description = "The town's id. 镇编号。"),
        ("meeting" = Uuid, Path, description = "The meeting's id. 会议编号。"),
        ("Idempotency-Key" = String, Header, description = "Required: a retry with the same key and body returns the first answer and writes nothing. 1 to 255 visible ASCII characters.",
         pattern = "^[!-~]+$", min_length = 1, max_length = 255),
    ),
    request_body = NewRoll,
    responses(
        (status = 201, description = "The roll was recorded, with the ledger entries it wrote. 已记录。", body = MeetingRoll,
         headers(("Location" = String, description = "The meeting's URL"))),
        (status = 200, description = "The same roll was recorded already: nothing changed. 已记录过相同考勤。", body = MeetingRoll),
        (status = 409, description = "`roll_recorded`, `meeting_not_started`.",
         body = crate::error::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["staff", "committee"])),
)]
#[put("/{meeting}/attendance")]
pub(super) async fn record_roll(
    auth: Auth<{ roles::STAFF | roles::COMMITTEE }>,
    db: web::Data<PgPool>,
    req: HttpRequest,
    path: web::Path<(Uuid, Uuid)>,
    key: IdempotencyKey,
    body: Json<NewRoll>,
) -> Result<HttpResponse, ApiError> {
    let (town, meeting) = path.into_inner();
    let town = auth.town(&db, town).await?;
    key.required()?;
    idempotent(&db, &auth, &key, &req, &*body, async |tx| {
        let (roll, status, location) =
            match workflow::record_roll(tx, &auth, town, meeting, &body.items).await? {
                Recorded::New(roll) => {
                    (roll, StatusCode::CREATED, Some(meeting_url(town, meeting)))
                }
                Recorded::Again(roll) => (roll, StatusCode::OK, None),
            };
        Ok(Answer {
            status,
            body: serde_json::to_value(&roll).map_err(anyhow::Error::from)?,
            etag: None,
            location,
        })
    })
    .await
}

/// Enter or correct a meeting's minutes (录入或更正会议记录).
///
/// After the meeting has started (409 `meeting_not_started`). The first minutes are
/// version 1; each later one is a correction, version 2, 3, ..., with its
/// `correction_reason` (`required`; the first has none: `only_for_correction`). Every
/// version is kept. Roles: `staff`, `committee`.
///
/// 会议开始后录入会议记录（版本 1）；此后每次提交为一次更正（版本 2、3……），须写明更正原因。历次版本均保留。
/// 可用角色：`staff`、`committee`。
#[utoipa::path(
    tag = "meetings",
    operation_id = "record_minutes",
    params(("town" = Uuid, Path, description = "The town's id. 镇编号。"), ("meeting" = Uuid, Path, description = "The meeting's id. 会议编号。")),
    request_body = NewMinutes,
    responses(
        (status = 201, description = "The new version. 新版本。", body = Minutes,
         headers(("ETag" = String, description = "The minutes' version"), ("Location" = String, description = "The minutes' versions"))),
        (status = 409, description = "`meeting_not_started`.", body = crate::error::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["staff", "committee"])),
)]
#[post("/{meeting}/minutes")]
pub(super) async fn record_minutes(
    auth: Auth<{ roles::STAFF | roles::COMMITTEE }>,
    db: web::Data<PgPool>,
    req: HttpRequest,
    path: web::Path<(Uuid, Uuid)>,
    key: IdempotencyKey,
    body: Json<NewMinutes>,
) -> Result<HttpResponse, ApiError> {
    let (town, meeting) = path.into_inner();
    let town = auth.town(&db, town).await?;
    idempotent(&db, &auth, &key, &req, &*body, async |tx| {
        let minutes = workflow::record_minutes(tx, &auth, town, meeting, &body).await?;
        let location = format!("{}/minutes", meeting_url(town, meeting));
        Answer::created(&minutes, etag(i64::from(minutes.version)), location)
    })
    .await
}

/// A meeting's minutes, every version, newest first (会议记录历次版本).
///
/// The first item is the current text. Roles: `staff`, `committee`, `county`.
///
/// 会议记录的全部版本，最新在前；第一项即现行文本。可用角色：`staff`、`committee`、`county`。
#[utoipa::path(
    tag = "meetings",
    operation_id = "list_minutes",
    params(("town" = Uuid, Path, description = "The town's id. 镇编号。"), ("meeting" = Uuid, Path, description = "The meeting's id. 会议编号。"), PageParams),
    responses((status = 200, description = "A page of versions. 一页版本。", body = Page<Minutes>)),
    security(("bearer" = ["staff", "committee", "county"])),
)]
#[get("/{meeting}/minutes")]
pub(super) async fn list_minutes(
    auth: Auth<{ roles::STAFF | roles::COMMITTEE | roles::COUNTY }>,
    db: web::Data<PgPool>,
    path: web::Path<(Uuid, Uuid)>,
    page: web::Query<PageParams>,
) -> Result<web::Json<Page<Minutes>>, ApiError> {
    let (town, meeting) = path.into_inner();
    let town = auth.town(&db, town).await?;
    let keyset = page.keyset::<i64>()?;
    let mut conn = db.acquire().await?;
    repo::get_meeting(&mut conn, town, meeting)
        .await?
        .ok_or(ApiError::NotFound)?;
    let before = keyset.before_or_max().min(i64::from(i32::MAX)) as i32;
    let rows = repo::minutes_page(&mut conn, town, meeting, before, keyset.fetch()).await?;
    Ok(web::Json(Page::from_rows(rows, keyset, |m| {
        i64::from(m.version)
    })))
}

/// A member's meetings and their attendance (党员参加组织生活记录).
///
/// Every branch meeting the member was expected at, of their own branch or another
/// (an inflowing or floating member, art. 12), with their line of the roll and the
/// points it cost, in planning order. Roles: `staff`, `committee`, `county`.
///
/// 党员应参加的各次支部会议（本支部或其他支部，如流入、流动党员，第十二条）及其考勤与扣分，按登记顺序。
/// 可用角色：`staff`、`committee`、`county`。
#[utoipa::path(
    tag = "meetings",
    operation_id = "list_member_meetings",
    params(("town" = Uuid, Path, description = "The town's id. 镇编号。"), ("member" = Uuid, Path, description = "The member's id. 党员编号。"), PageParams),
    responses((status = 200, description = "A page of the member's meetings. 一页会议记录。", body = Page<MemberMeeting>)),
    security(("bearer" = ["staff", "committee", "county"])),
)]
#[get("/{member}/meetings")]
pub(super) async fn member_meetings(
    auth: Auth<{ roles::STAFF | roles::COMMITTEE | roles::COUNTY }>,
    db: web::Data<PgPool>,
    path: web::Path<(Uuid, Uuid)>,
    page: web::Query<PageParams>,
) -> Result<web::Json<Page<MemberMeeting>>, ApiError> {
    let (town, member) = path.into_inner();
    let town = auth.town(&db, town).await?;
    let keyset = page.keyset()?;
    let mut conn = db.acquire().await?;
    if !repo::member_exists(&mut conn, town, member).await? {
        return Err(ApiError::NotFound);
    }
    let rows = repo::of_member(&mut conn, town, member, keyset).await?;
    Ok(web::Json(Page::from_rows(rows, keyset, |m| m.meeting_id)))
}

/// Your meetings and your attendance (我的组织生活).
///
/// Every branch meeting you were expected at, of your own branch or another, with your
/// line of the roll and the points it cost you, in planning order. Roles: `member`.
///
/// 本人应参加的各次支部会议（本支部或其他支部）及本人的考勤与扣分，按登记顺序。可用角色：`member`。
#[utoipa::path(
    tag = "me",
    operation_id = "list_my_meetings",
    params(PageParams),
    responses((status = 200, description = "A page of your meetings. 一页会议记录。", body = Page<MemberMeeting>)),
    security(("bearer" = ["member"])),
)]
#[get("/meetings")]
pub(super) async fn my_meetings(
    auth: Auth<{ roles::MEMBER }>,
    db: web::Data<PgPool>,
    page: web::Query<PageParams>,
) -> Result<web::Json<Page<MemberMeeting>>, ApiError> {
    let Scope::Member { town, member_id } = auth.scope else {
        return Err(ApiError::Forbidden);
    };
    let keyset = page.keyset()?;
    let mut conn = db.acquire().await?;
    let rows = repo::of_member(&mut conn, town, member_id, keyset).await?;
    Ok(web::Json(Page::from_rows(rows, keyset, |m| m.meeting_id)))
}

/// The period of a compliance view.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PeriodQuery {
    /// A year (`2026`), a quarter (`2026-Q4`) or a month (`2026-11`) of the town's
    /// calendar, 2000 to 2099; the current quarter by default. 期间：年（`2026`）、季度
    /// （`2026-Q4`）或月（`2026-11`），默认为本季度。
    #[param(pattern = "^20[0-9]{2}(-Q[1-4]|-(0[1-9]|1[0-2]))?$")]
    pub period: Option<String>,
}

impl PeriodQuery {
    /// The period asked for, or the town's current quarter.
    async fn period(&self, db: &PgPool, town: Uuid) -> Result<Period, ApiError> {
        match &self.period {
            Some(text) => Period::parse(text),
            None => {
                let mut conn = db.acquire().await?;
                let today = crate::towns::repo::today(&mut conn, town).await?;
                Ok(Period::quarter_of(today))
            }
        }
    }
}

/// The filters of the town's compliance view.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct BehindQuery {
    /// Only the branches behind (a required meeting of an ended month, quarter or year
    /// not held). 只列出落后的支部。
    pub behind: Option<bool>,
}

/// A branch's organizational life over a period (支部组织生活落实情况).
///
/// For each kind of meeting the town's policy requires in the period: how many are
/// required, held (planned in the period, roll recorded), still missing (counted per
/// month, quarter or year of the kind, and per party group: more meetings in one month do
/// not make up for another), overdue (missing in periods already ended), and the
/// attendance, as two rates: excused leave counted as not attending, and left out. A
/// kind counted by a longer period than the one asked (a quarterly rule over a month) is
/// not judged. Meetings held at the center by the center branch count for the center
/// branch. Roles: `staff`, `committee`, `county` (each town of its county).
///
/// 支部在某一期间内各类会议的落实情况：应开、已开（该期间登记且已记录考勤）、尚缺（按该类会议的月、季、年及每个
/// 党小组分别计算，多开不抵少开）、逾期未开，以及两种出席率（请假计为未出席；请假不计入）。计算周期长于所查期间的
/// 会议不作评判。可用角色：`staff`、`committee`、`county`（本县各镇）。
#[utoipa::path(
    tag = "meetings",
    operation_id = "get_branch_compliance",
    params(("town" = Uuid, Path, description = "The town's id. 镇编号。"), ("branch" = Uuid, Path, description = "The branch's id. 支部编号。"), PeriodQuery),
    responses((status = 200, description = "The branch's compliance. 落实情况。", body = BranchCompliance)),
    security(("bearer" = ["staff", "committee", "county"])),
)]
#[get("/{branch}/meeting-compliance")]
pub(super) async fn branch_compliance(
    auth: Auth<{ roles::STAFF | roles::COMMITTEE | roles::COUNTY }>,
    db: web::Data<PgPool>,
    path: web::Path<(Uuid, Uuid)>,
    query: web::Query<PeriodQuery>,
) -> Result<web::Json<BranchCompliance>, ApiError> {
    let (town, branch) = path.into_inner();
    let town = auth.town(&db, town).await?;
    let period = query.period(&db, town).await?;
    let mut conn = db.acquire().await?;
    let mut view = workflow::compliance(&mut conn, town, Some(branch), period, false).await?;
    view.branches.pop().map(web::Json).ok_or(ApiError::NotFound)
}

/// The organizational life of the town's branches over a period (全镇组织生活落实情况).
///
/// Every branch of the town, by name, as `/branches/{branch}/meeting-compliance` gives
/// it; with `behind=true` only the branches behind. Roles: `staff`, `committee`, `county`
/// (each town of its county).
///
/// 全镇各支部在某一期间的会议落实情况（按支部名称）；`behind=true` 时只列出落后的支部。
/// 可用角色：`staff`、`committee`、`county`（本县各镇）。
#[utoipa::path(
    tag = "meetings",
    operation_id = "get_town_compliance",
    params(("town" = Uuid, Path, description = "The town's id. 镇编号。"), PeriodQuery, BehindQuery),
    responses((status = 200, description = "The town's compliance. 落实情况。", body = TownCompliance)),
    security(("bearer" = ["staff", "committee", "county"])),
)]
#[get("")]
pub(super) async fn town_compliance(
    auth: Auth<{ roles::STAFF | roles::COMMITTEE | roles::COUNTY }>,
    db: web::Data<PgPool>,
    path: web::Path<Uuid>,
    query: web::Query<PeriodQuery>,
    filter: web::Query<BehindQuery>,
) -> Result<web::Json<TownCompliance>, ApiError> {
    let town = auth.town(&db, path.into_inner()).await?;
    let period = query.period(&db, town).await?;
    let behind = filter.behind.unwrap_or(false);
    let mut conn = db.acquire().await?;
    Ok(web::Json(
        workflow::compliance(&mut conn, town, None, period, behind).await?,
    ))
}

/// The organizational life report (组织生活落实情况报表).
///
/// The town's compliance view as a report: JSON (`TownCompliance`), CSV or XLSX by
/// `?format=` or `Accept`, one row per branch and kind required; the files' headings:
/// 支部, 支部类型, 会议类型, 频次要求, 应开次数, 已开次数, 尚缺次数, 逾期未开次数, 出席人次,
/// 缺席人次, 请假人次, 出席率（请假计为未出席）, 出席率（请假不计入）, 是否落后, 支部编号.
/// Roles: `staff`, `committee`, `county` (each town of its county).
///
/// 全镇组织生活落实情况报表：JSON、CSV 或 XLSX（`?format=` 或 `Accept`），每个支部每类应开会议一行，中文表头如上。
/// 可用角色：`staff`、`committee`、`county`（本县各镇）。
#[utoipa::path(
    tag = "reports",
    operation_id = "export_meeting_compliance",
    params(("town" = Uuid, Path, description = "The town's id. 镇编号。"), PeriodQuery, BehindQuery, FormatQuery),
    responses((status = 200, description = "The report. 报表。",
               content((TownCompliance = "application/json"), (String = "text/csv"), (crate::http::formats::Spreadsheet = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")))),
    security(("bearer" = ["staff", "committee", "county"])),
)]
#[get("/meeting-compliance")]
pub(super) async fn compliance_report(
    auth: Auth<{ roles::STAFF | roles::COMMITTEE | roles::COUNTY }>,
    db: web::Data<PgPool>,
    req: HttpRequest,
    path: web::Path<Uuid>,
    query: web::Query<PeriodQuery>,
    filter: web::Query<BehindQuery>,
    format: web::Query<FormatQuery>,
) -> Result<HttpResponse, ApiError> {
    let town = auth.town(&db, path.into_inner()).await?;
    let period = query.period(&db, town).await?;
    let format = ExportFormat::negotiate(format.format, &req);
    let behind = filter.behind.unwrap_or(false);
    let mut conn = db.acquire().await?;
    let view = workflow::compliance(&mut conn, town, None, period, behind).await?;
    match format {
        ExportFormat::Json => Ok(crate::http::formats::negotiated().json(&view)),
        format => crate::http::formats::download(
            format,
            &format!("meeting-compliance-{}", view.period),
            &super::domain::COMPLIANCE_HEADINGS,
            &super::domain::compliance_rows(&view),
        ),
    }
}
