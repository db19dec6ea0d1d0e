//! The desk register's endpoints: HTTP in, a workflow call, HTTP out.

use actix_web::{HttpRequest, HttpResponse, get, post, web};
use serde::Deserialize;
use sqlx::PgPool;
use utoipa::IntoParams;
use uuid::Uuid;

use super::domain::{
    DeskCategory, DeskEntry, DeskEntryDetail, DeskStatus, NewDeskEntry, StatusChange,
};
use super::{repo, workflow};
use crate::auth::{Auth, roles};
use crate::error::ApiError;
use crate::http::extract::{IdempotencyKey, IfMatch, Json, etag};
use crate::http::idempotency::{Answer, idempotent};
use crate::http::paging::{Page, PageParams};
use crate::http::reply;
use crate::msg;

/// The largest `open_for_days`: a hundred years.
const MAX_OPEN_FOR_DAYS: i32 = 36500;

/// Filters of the register's list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeskFilter {
    /// Only entries in this status.
    pub status: Option<DeskStatus>,
    /// Only entries of this category.
    pub category: Option<DeskCategory>,
    /// Only this member's visits.
    pub member_id: Option<Uuid>,
    /// Only entries still open (`registered`, `in_progress` or `referred`) that were
    /// received more than this many days ago.
    #[param(minimum = 0, maximum = 36500)]
    pub open_for_days: Option<u32>,
}

impl DeskFilter {
    /// The filter for the repository; 400 for an `open_for_days` out of range.
    fn checked(&self) -> Result<repo::Filter, ApiError> {
        let open_for_days = match self.open_for_days.map(i32::try_from) {
            None => None,
            Some(Ok(n)) if n <= MAX_OPEN_FOR_DAYS => Some(n),
            Some(_) => {
                return Err(ApiError::bad_request(
                    "invalid_query",
                    msg!(
                        "open_for_days 须在 0 到 36500 之间。",
                        "open_for_days must be between 0 and 36500."
                    ),
                ));
            }
        };
        Ok(repo::Filter {
            status: self.status,
            category: self.category,
            member_id: self.member_id,
            open_for_days,
        })
    }
}

/// Register a visit · 登记一次来访
///
/// Anyone who comes is registered, member of this town or not, whatever their
/// jurisdiction. The caller is recorded as the receiver; `received_at` is now unless an
/// earlier time is given. The entry starts `registered`, its history with it. Roles:
/// `staff`, `committee`.
///
/// 来者皆登记，无论是否本镇党员、无论管辖地域。调用者记为接待人；
/// `received_at` 默认为当前时间，也可填更早的时间。
/// 登记从 `registered` 开始，连同其办理记录。
/// 角色：`staff`、`committee`。
#[utoipa::path(
    operation_id = "register_visit",
    tag = "desk",
    params(("town" = Uuid, Path, description = "The town's id.")),
    request_body = NewDeskEntry,
    responses(
        (status = 201, description = "The visit was registered.", body = DeskEntryDetail,
         headers(("ETag" = String, description = "The entry's version"), ("Location" = String, description = "The entry's URL"))),
    ),
    security(("bearer" = ["staff", "committee"])),
)]
#[post("")]
pub(super) async fn register_visit(
    auth: Auth<{ roles::STAFF | roles::COMMITTEE }>,
    db: web::Data<PgPool>,
    req: HttpRequest,
    path: web::Path<Uuid>,
    key: IdempotencyKey,
    body: Json<NewDeskEntry>,
) -> Result<HttpResponse, ApiError> {
    let town = auth.town(&db, path.into_inner()).await?;
    idempotent(&db, &auth, &key, &req, &*body, async |tx| {
        let detail = workflow::register_visit(tx, &auth, town, &body).await?;
        let location = format!("/api/v1/towns/{town}/desk-entries/{}", detail.entry.id);
        Answer::created(&detail, etag(detail.entry.version), location)
    })
    .await
}

/// List the register · 列出窗口登记簿
///
/// In registration order. Confidential (counselling) entries appear only to their author
/// and the committee; for everyone else they are left out without a trace. `county` sees
/// the visitor's phone masked. Roles: `staff`, `committee`, `county`.
///
/// 按登记顺序排列。保密的（心理疏导）登记只对其登记人和镇党委可见；对其他人不列出，也不留痕迹。
/// `county` 看到的来访人电话为脱敏显示。
/// 角色：`staff`、`committee`、`county`。
#[utoipa::path(
    operation_id = "list_desk_entries",
    tag = "desk",
    params(("town" = Uuid, Path, description = "The town's id."), DeskFilter, PageParams),
    responses((status = 200, description = "A page of entries.", body = Page<DeskEntry>)),
    security(("bearer" = ["staff", "committee", "county"])),
)]
#[get("")]
pub(super) async fn list_entries(
    auth: Auth<{ roles::STAFF | roles::COMMITTEE | roles::COUNTY }>,
    db: web::Data<PgPool>,
    path: web::Path<Uuid>,
    filter: web::Query<DeskFilter>,
    page: web::Query<PageParams>,
) -> Result<web::Json<Page<DeskEntry>>, ApiError> {
    let town = auth.town(&db, path.into_inner()).await?;
    let filter = filter.checked()?;
    let keyset = page.keyset()?;
    let viewer = workflow::viewer(&auth);
    let mut conn = db.acquire().await?;
    let rows = repo::list(&mut conn, town, &viewer, filter, keyset).await?;
    let rows = rows.into_iter().map(|e| viewer.present(e)).collect();
    Ok(web::Json(Page::from_rows(rows, keyset, |e: &DeskEntry| {
        e.id
    })))
}

/// Read an entry with its history · 查看一条登记及其办理记录
///
/// Every status it took, with who and when, oldest first. A confidential (counselling)
/// entry answers 404 to anyone but its author and the committee. `county` sees the
/// visitor's phone masked. Roles: `staff`, `committee`, `county`.
///
/// 历次状态及其办理人和时间，最早的在前。保密的（心理疏导）登记对登记人和镇党委以外的人答 404。
/// `county` 看到的来访人电话为脱敏显示。
/// 角色：`staff`、`committee`、`county`。
#[utoipa::path(
    operation_id = "get_desk_entry",
    tag = "desk",
    params(("town" = Uuid, Path, description = "The town's id."), ("entry" = Uuid, Path, description = "The entry's id.")),
    responses((status = 200, description = "The entry and its history.", body = DeskEntryDetail,
               headers(("ETag" = String, description = "The entry's version")))),
    security(("bearer" = ["staff", "committee", "county"])),
)]
#[get("/{entry}")]
pub(super) async fn get_entry(
    auth: Auth<{ roles::STAFF | roles::COMMITTEE | roles::COUNTY }>,
    db: web::Data<PgPool>,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    let (town, id) = path.into_inner();
    let town = auth.town(&db, town).await?;
    let mut conn = db.acquire().await?;
    let detail = workflow::read(&mut conn, &auth, town, id).await?;
    Ok(reply::with_etag(&detail, detail.entry.version))
}

/// Change an entry's status · 变更登记的办理状态
///
/// Needs `If-Match` with the entry's ETag (`*` for any version). The register's state
/// machine: `registered` -> `in_progress`; `in_progress` -> `resolved` (with `outcome`)
/// or `referred` (with `referred_to` and `reason`); a referred entry comes back with its
/// follow-up in `note`, to `in_progress` or straight to `resolved` (with `outcome`). Any
/// other change is a 409 `invalid_status_change` and changes nothing; a field the change
/// needs and lacks, or takes not, is a 422 naming it. Nothing registered is ever edited:
/// only the handling moves, and every change is kept in the history with who and when.
/// Roles: `staff`, `committee`.
///
/// 需带 `If-Match`（该登记的 ETag；`*` 表示任何版本）。
/// 登记簿的状态流转：`registered` -> `in_progress`；
/// `in_progress` -> `resolved`（附 `outcome`）或 `referred`（附 `referred_to` 和 `reason`）；
/// 转办的登记带回后续情况（`note`），转为 `in_progress` 或直接 `resolved`（附 `outcome`）。
/// 其他变更答 409 `invalid_status_change`，不作任何改动；
/// 缺少该变更所需的字段或带了不应带的字段，答 422 并指明字段。
/// 已登记的内容从不修改：只推进办理状态，每次变更连同办理人和时间记入办理记录。
/// 角色：`staff`、`committee`。
#[utoipa::path(
    operation_id = "change_desk_entry_status",
    tag = "desk",
    params(
        ("town" = Uuid, Path, description = "The town's id."),
        ("entry" = Uuid, Path, description = "The entry's id."),
    ),
    request_body = StatusChange,
    responses(
        (status = 200, description = "The changed entry and its history.", body = DeskEntryDetail,
         headers(("ETag" = String, description = "The entry's new version"))),
        (status = 409, description = "`invalid_status_change`: the state machine does not allow this change from the entry's status.",
         body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 428, description = "A status change needs `If-Match` (`precondition_required`).",
         body = crate::error::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["staff", "committee"])),
)]
#[post("/{entry}/status")]
pub(super) async fn change_status(
    auth: Auth<{ roles::STAFF | roles::COMMITTEE }>,
    db: web::Data<PgPool>,
    path: web::Path<(Uuid, Uuid)>,
    if_match: IfMatch,
    body: Json<StatusChange>,
) -> Result<HttpResponse, ApiError> {
    let (town, id) = path.into_inner();
    let town = auth.town(&db, town).await?;
    let mut tx = db.begin().await?;
    let detail = workflow::change_status(&mut tx, &auth, town, id, if_match, &body).await?;
    tx.commit().await?;
    Ok(reply::with_etag(&detail, detail.entry.version))
}
