//! The transfer endpoints: HTTP in, a workflow call, HTTP out.

use actix_web::{HttpRequest, HttpResponse, get, post, web};
use serde::Deserialize;
use sqlx::PgPool;
use utoipa::IntoParams;
use uuid::Uuid;

use super::domain::{
    Closing, NewInflow, NewTransfer, Receipt, RequestedKind, Transfer, TransferKind, TransferStatus,
};
use super::repo;
use super::workflow::{self, LetterEnd};
use crate::auth::{Auth, Caller, Role, roles};
use crate::error::ApiError;
use crate::http::extract::{IdempotencyKey, IfMatch, Json, etag};
use crate::http::idempotency::{Answer, idempotent};
use crate::http::paging::{Page, PageParams};
use crate::http::reply;

/// The 201 of a new transfer: the transfer, its ETag and its URL.
fn created(town: Uuid, t: &Transfer) -> Result<Answer, ApiError> {
    let location = format!("/api/v1/towns/{town}/transfers/{}", t.id);
    Answer::created(t, etag(t.version), location)
}

/// Filters of the transfer list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TransferFilter {
    /// Only transfers of this kind.
    pub kind: Option<TransferKind>,
    /// Only transfers in this status.
    pub status: Option<TransferStatus>,
    /// Only this member's transfers.
    pub member_id: Option<Uuid>,
    /// Only transfers leaving or joining this branch.
    pub branch_id: Option<Uuid>,
    /// `true`: only overdue letters (still `issued`, past `valid_until` in the town's
    /// today); `false`: everything else.
    pub overdue: Option<bool>,
}

/// List a town's transfers · 列出本镇的组织关系接转
///
/// Filters by kind, status, member, branch; `overdue=true` lists the letters still
/// `issued` past their `valid_until` in the town's today. Roles: `staff`, `committee`,
/// `county`.
///
/// 可按类型、状态、党员、支部筛选；
/// `overdue=true` 列出以本镇今天为准已过 `valid_until` 仍为 `issued` 的介绍信。
/// 角色：`staff`、`committee`、`county`。
#[utoipa::path(
    operation_id = "list_transfers",
    tag = "transfers",
    params(("town" = Uuid, Path, description = "The town's id."), TransferFilter, PageParams),
    responses((status = 200, description = "A page of transfers, oldest first.", body = Page<Transfer>)),
    security(("bearer" = ["staff", "committee", "county"])),
)]
#[get("")]
pub(super) async fn list_transfers(
    auth: Auth<{ roles::STAFF | roles::COMMITTEE | roles::COUNTY }>,
    db: web::Data<PgPool>,
    path: web::Path<Uuid>,
    filter: web::Query<TransferFilter>,
    page: web::Query<PageParams>,
) -> Result<web::Json<Page<Transfer>>, ApiError> {
    let town = auth.town(&db, path.into_inner()).await?;
    let keyset = page.keyset()?;
    let mut conn = db.acquire().await?;
    let today = crate::towns::repo::today(&mut conn, town).await?;
    let filter = repo::Filter {
        kind: filter.kind,
        status: filter.status,
        member_id: filter.member_id,
        branch_id: filter.branch_id,
        overdue: filter.overdue,
    };
    let rows = repo::list(&mut conn, town, &filter, today, keyset).await?;
    Ok(web::Json(Page::from_rows(rows, keyset, |t| t.id)))
}

/// A member's transfer history · 党员的组织关系接转记录
///
/// Every move of the member's relation, oldest first: their registration, moves between
/// branches, letters out of or into the town. Roles: `staff`, `committee`, `county`.
///
/// 该党员组织关系的每一次变动，最早的在前：登记、支部间转接、转出或转入本镇的介绍信。
/// 角色：`staff`、`committee`、`county`。
#[utoipa::path(
    operation_id = "list_member_transfers",
    tag = "transfers",
    params(
        ("town" = Uuid, Path, description = "The town's id."),
        ("member" = Uuid, Path, description = "The member's id."),
        PageParams
    ),
    responses((status = 200, description = "A page of the member's transfers, oldest first.", body = Page<Transfer>)),
    security(("bearer" = ["staff", "committee", "county"])),
)]
#[get("/{member}/transfers")]
pub(super) async fn list_member_transfers(
    auth: Auth<{ roles::STAFF | roles::COMMITTEE | roles::COUNTY }>,
    db: web::Data<PgPool>,
    path: web::Path<(Uuid, Uuid)>,
    page: web::Query<PageParams>,
) -> Result<web::Json<Page<Transfer>>, ApiError> {
    let (town, member) = path.into_inner();
    let town = auth.town(&db, town).await?;
    let keyset = page.keyset()?;
    let mut conn = db.acquire().await?;
    if !repo::member_exists(&mut conn, town, member).await? {
        return Err(ApiError::NotFound);
    }
    let today = crate::towns::repo::today(&mut conn, town).await?;
    let filter = repo::Filter {
        member_id: Some(member),
        ..repo::Filter::default()
    };
    let rows = repo::list(&mut conn, town, &filter, today, keyset).await?;
    Ok(web::Json(Page::from_rows(rows, keyset, |t| t.id)))
}

/// Read a transfer · 查看一次组织关系接转
///
/// Roles: `staff`, `committee`, `county`.
///
/// 角色：`staff`、`committee`、`county`。
#[utoipa::path(
    operation_id = "get_transfer",
    tag = "transfers",
    params(("town" = Uuid, Path, description = "The town's id."), ("transfer" = Uuid, Path, description = "The transfer's id.")),
    responses((status = 200, description = "The transfer.", body = Transfer,
               headers(("ETag" = String, description = "The transfer's version")))),
    security(("bearer" = ["staff", "committee", "county"])),
)]
#[get("/{transfer:[0-9a-fA-F-]+}")]
pub(super) async fn get_transfer(
    auth: Auth<{ roles::STAFF | roles::COMMITTEE | roles::COUNTY }>,
    db: web::Data<PgPool>,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    let (town, id) = path.into_inner();
    let town = auth.town(&db, town).await?;
    let mut conn = db.acquire().await?;
    let t = workflow::read(&mut conn, town, id).await?;
    Ok(reply::with_etag(&t, t.version))
}

/// Transfer a member: between branches, or out of the town · 转接党员组织关系：支部之间，或转出本镇
///
/// `internal` (roles `staff`, `committee`): to `to_branch_id`, a branch of this town; it
/// completes at once and the member is in the new branch. `outflow` (role `committee`
/// only; `staff` gets 403): an introduction letter to `external_org`, valid `valid_days`
/// (default 30, at most 90) from `decided_on`; the member stays in their branch until
/// the receipt. Only an active member with no open letter transfers.
/// Roles: `staff`, `committee`.
///
/// `internal`（角色 `staff`、`committee`）：转到本镇的 `to_branch_id` 支部，立即完成，党员即在新支部。
/// `outflow`（仅限角色 `committee`；
/// `staff` 答 403）：开具介绍信转往 `external_org`，
/// 自 `decided_on` 起有效 `valid_days` 天（默认 30，最多 90）；
/// 回执回来之前党员仍留在原支部。只有正常在册、没有未办结介绍信的党员才能转接。
/// 角色：`staff`、`committee`。
#[utoipa::path(
    operation_id = "create_transfer",
    tag = "transfers",
    params(("town" = Uuid, Path, description = "The town's id."), ("member" = Uuid, Path, description = "The member's id.")),
    request_body = NewTransfer,
    responses(
        (status = 201, description = "The transfer: `completed` for internal, `issued` for an outflow.", body = Transfer,
         headers(("ETag" = String, description = "The transfer's version"), ("Location" = String, description = "The transfer's URL"))),
        (status = 403, description = "The role may not do this; `staff` asking for an outflow (`forbidden`).", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`open_transfer_exists`: the member has an open letter; `member_not_active`: the member is not active; `letter_serial_taken`: the serial is used in this town; `member_moved`: the member moved meanwhile.", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`: `kind` is not `internal` or `outflow`; `to_branch_id` is `same_branch` (the member's current one) or `unknown_branch` (not of this town); a field of the other kind is `not_allowed`; a date `in_the_future`; `valid_days` `out_of_range`. `idempotency_key_reused`: the key was used for another request.", body = crate::error::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["staff", "committee"])),
)]
#[post("/{member}/transfers")]
pub(super) async fn create_transfer(
    auth: Auth<{ roles::STAFF | roles::COMMITTEE }>,
    db: web::Data<PgPool>,
    req: HttpRequest,
    path: web::Path<(Uuid, Uuid)>,
    key: IdempotencyKey,
    body: Json<NewTransfer>,
) -> Result<HttpResponse, ApiError> {
    let (town, member) = path.into_inner();
    let town = auth.town(&db, town).await?;
    if body.kind == RequestedKind::Outflow && auth.role != Role::Committee {
        return Err(ApiError::Forbidden);
    }
    idempotent(&db, &auth, &key, &req, &*body, async |tx| {
        created(
            town,
            &workflow::create_transfer(tx, &auth, town, member, &body).await?,
        )
    })
    .await
}

/// Take in a member arriving from outside the town with a letter · 接收持介绍信从镇外转入的党员
///
/// Creates the newcomer's member record (`incoming`, no branch yet) and the inflow
/// transfer (`issued`), in one transaction; the receipt then puts them in `to_branch_id`
/// as an active member. A former member of this town who transferred out (or a
/// newcomer whose earlier inflow was rejected or revoked) is found by national ID and
/// their record reused as it is; any other member with that number is a 409.
/// Roles: `committee`.
///
/// 在同一事务中建立新来党员的档案（`incoming`，尚无支部）和转入接转（`issued`）；
/// 回执后其以正常在册党员身份进入 `to_branch_id`。
/// 曾从本镇转出的党员（或此前转入被退回、撤回的新来党员）按身份证号找到，原档案照原样沿用；
/// 其他持该号码的党员答 409。角色：`committee`。
#[utoipa::path(
    operation_id = "create_inflow",
    tag = "transfers",
    params(("town" = Uuid, Path, description = "The town's id.")),
    request_body = NewInflow,
    responses(
        (status = 201, description = "The inflow transfer, `issued`; `member_id` is the newcomer's record.", body = Transfer,
         headers(("ETag" = String, description = "The transfer's version"), ("Location" = String, description = "The transfer's URL"))),
        (status = 409, description = "`national_id_taken`: a member of this town (not transferred out) has this number; `open_transfer_exists`: their record has an open letter; `letter_serial_taken`; `phone_taken`.", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`: e.g. `to_branch_id` `unknown_branch`, `national_id` `invalid_national_id`, `valid_until` `letter_expired` or `out_of_range`, a date `in_the_future`. `idempotency_key_reused`: the key was used for another request.", body = crate::error::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["committee"])),
)]
#[post("/inflows")]
pub(super) async fn create_inflow(
    auth: Auth<{ roles::COMMITTEE }>,
    db: web::Data<PgPool>,
    req: HttpRequest,
    path: web::Path<Uuid>,
    key: IdempotencyKey,
    body: Json<NewInflow>,
) -> Result<HttpResponse, ApiError> {
    let town = auth.town(&db, path.into_inner()).await?;
    idempotent(&db, &auth, &key, &req, &*body, async |tx| {
        created(
            town,
            &workflow::create_inflow(tx, &auth, town, &body).await?,
        )
    })
    .await
}

/// Record a letter's receipt (回执) · 登记介绍信回执
///
/// The move is done: for an outflow the member becomes `transferred_out` (keeping their
/// last branch as history); for an inflow the member joins `to_branch_id` and becomes
/// `active`. `receipt_on` is not in the future nor before `decided_on`. Needs `If-Match`.
/// Roles: `committee`.
///
/// 转接完成：转出的党员变为 `transferred_out`（保留其最后所在支部作为记录）；
/// 转入的党员进入 `to_branch_id`，变为 `active`。
/// `receipt_on` 不能晚于今天，也不能早于 `decided_on`。
/// 需带 `If-Match`。角色：`committee`。
#[utoipa::path(
    operation_id = "receive_letter",
    tag = "transfers",
    params(
        ("town" = Uuid, Path, description = "The town's id."),
        ("transfer" = Uuid, Path, description = "The transfer's id."),
    ),
    request_body = Receipt,
    responses(
        (status = 200, description = "The transfer, `received`.", body = Transfer,
         headers(("ETag" = String, description = "The transfer's new version"))),
        (status = 409, description = "`transfer_not_open`: the letter is not `issued` (or the transfer had none).", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`: `receipt_on` `in_the_future` or `before_decision`.", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 428, description = "No `If-Match` (`precondition_required`).", body = crate::error::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["committee"])),
)]
#[post("/{transfer}/receipt")]
pub(super) async fn receive_letter(
    auth: Auth<{ roles::COMMITTEE }>,
    db: web::Data<PgPool>,
    path: web::Path<(Uuid, Uuid)>,
    if_match: IfMatch,
    body: Json<Receipt>,
) -> Result<HttpResponse, ApiError> {
    let (town, id) = path.into_inner();
    end_letter(&auth, &db, town, id, if_match, LetterEnd::Receive(&body)).await
}

/// Record that the other side refused a letter · 登记对方退回介绍信
///
/// The letter is `rejected`, with the reason; nothing moves. For an outflow the member
/// stays where they are; for an inflow the newcomer's record stays `incoming` (a later
/// inflow reuses it), and a returning former member's goes back to `transferred_out`.
/// Needs `If-Match`. Roles: `committee`.
///
/// 介绍信变为 `rejected`，附退回理由；组织关系不变。转出的党员仍留在原处；
/// 转入的新来党员档案仍为 `incoming`（以后再转入时沿用），回本镇的原党员则恢复为 `transferred_out`。
/// 需带 `If-Match`。角色：`committee`。
#[utoipa::path(
    operation_id = "reject_letter",
    tag = "transfers",
    params(
        ("town" = Uuid, Path, description = "The town's id."),
        ("transfer" = Uuid, Path, description = "The transfer's id."),
    ),
    request_body = Closing,
    responses(
        (status = 200, description = "The transfer, `rejected`.", body = Transfer,
         headers(("ETag" = String, description = "The transfer's new version"))),
        (status = 409, description = "`transfer_not_open`: the letter is not `issued` (or the transfer had none).", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 428, description = "No `If-Match` (`precondition_required`).", body = crate::error::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["committee"])),
)]
#[post("/{transfer}/reject")]
pub(super) async fn reject_letter(
    auth: Auth<{ roles::COMMITTEE }>,
    db: web::Data<PgPool>,
    path: web::Path<(Uuid, Uuid)>,
    if_match: IfMatch,
    body: Json<Closing>,
) -> Result<HttpResponse, ApiError> {
    let (town, id) = path.into_inner();
    end_letter(&auth, &db, town, id, if_match, LetterEnd::Reject(&body)).await
}

/// Withdraw a letter · 撤回介绍信
///
/// The letter is `revoked`, with the reason; nothing moves (as for a rejection). Needs
/// `If-Match`. Roles: `committee`.
///
/// 介绍信变为 `revoked`，附撤回理由；组织关系不变（与退回相同）。需带 `If-Match`。
/// 角色：`committee`。
#[utoipa::path(
    operation_id = "revoke_letter",
    tag = "transfers",
    params(
        ("town" = Uuid, Path, description = "The town's id."),
        ("transfer" = Uuid, Path, description = "The transfer's id."),
    ),
    request_body = Closing,
    responses(
        (status = 200, description = "The transfer, `revoked`.", body = Transfer,
         headers(("ETag" = String, description = "The transfer's new version"))),
        (status = 409, description = "`transfer_not_open`: the letter is not `issued` (or the transfer had none).", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 428, description = "No `If-Match` (`precondition_required`).", body = crate::error::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["committee"])),
)]
#[post("/{transfer}/revoke")]
pub(super) async fn revoke_letter(
    auth: Auth<{ roles::COMMITTEE }>,
    db: web::Data<PgPool>,
    path: web::Path<(Uuid, Uuid)>,
    if_match: IfMatch,
    body: Json<Closing>,
) -> Result<HttpResponse, ApiError> {
    let (town, id) = path.into_inner();
    end_letter(&auth, &db, town, id, if_match, LetterEnd::Revoke(&body)).await
}

/// Ends an open letter in one transaction; the answer is the transfer with its new ETag.
async fn end_letter(
    caller: &Caller,
    db: &PgPool,
    town: Uuid,
    id: Uuid,
    if_match: IfMatch,
    end: LetterEnd<'_>,
) -> Result<HttpResponse, ApiError> {
    let town = caller.town(db, town).await?;
    let mut tx = db.begin().await?;
    let t = workflow::end_letter(&mut tx, caller, town, id, if_match, end).await?;
    tx.commit().await?;
    Ok(reply::with_etag(&t, t.version))
}
