//! Organizational relation transfers (组织关系接转, articles 3 and 12): every move of a
//! member's relation is a transfer record, and a member's branch only ever changes by
//! one (the database moves the member when a transfer completes or a letter's receipt
//! comes back).
//!
//! * `internal` (staff, committee): between two branches of the town; completes at once.
//! * `outflow` (committee): out of the town by an introduction letter (介绍信). The member
//!   stays in their branch, and the sending side stays responsible, until the receipt
//!   (回执): then the member is `transferred_out`.
//! * inflow (committee): someone arriving with a letter. Their member record is created
//!   `incoming` (no branch) with the inflow; on the receipt they join `to_branch_id` and
//!   become `active`.
//! * A letter is `issued` until it is `received`, `rejected` (by the other side) or
//!   `revoked` (by the committee), each final. A rejected or revoked inflow leaves the
//!   newcomer's record `incoming` (a later inflow with the same national ID reuses it); a
//!   returning former member's record goes back to `transferred_out`.
//! * Overdue is not stored: an `issued` letter past its `valid_until` in the town's today.
//!
//! `registration`, `intake` and `return` are written by member registration and
//! transformation cases, through [`repo::record`].

pub mod domain;
pub mod repo;

use actix_web::{HttpRequest, HttpResponse, get, post, web};
use serde::Deserialize;
use serde_json::json;
use sqlx::PgPool;
use utoipa::IntoParams;
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use self::domain::{
    Closing, LetterAction, LetterValidity, NewInflow, NewTransfer, NewTransferRecord, Receipt,
    RecordKind, RequestedKind, Transfer, TransferKind, TransferStatus, ValidNewTransfer,
};
use crate::audit::{self, Change};
use crate::auth::{Auth, Caller, Role, roles};
use crate::error::ApiError;
use crate::http::extract::{IdempotencyKey, IfMatch, Json, etag};
use crate::http::idempotency::{self, Answer, Claim};
use crate::http::paging::{Page, PageParams};
use crate::http::reply;

/// Registers the transfer routes.
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list_transfers)
        .service(create_inflow)
        .service(get_transfer)
        .service(receive_letter)
        .service(reject_letter)
        .service(revoke_letter)
        .service(list_member_transfers)
        .service(create_transfer);
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

/// List a town's transfers.
///
/// Filters by kind, status, member, branch; `overdue=true` lists the letters still
/// `issued` past their `valid_until` in the town's today. Roles: `staff`, `committee`,
/// `county`.
#[utoipa::path(
    tag = "transfers",
    params(("town" = Uuid, Path, description = "The town's id."), TransferFilter, PageParams),
    responses((status = 200, description = "A page of transfers, oldest first.", body = Page<Transfer>)),
    security(("bearer" = ["staff", "committee", "county"])),
)]
#[get("/towns/{town}/transfers")]
async fn list_transfers(
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

/// A member's transfer history.
///
/// Every move of the member's relation, oldest first: their registration, moves between
/// branches, letters out of or into the town. Roles: `staff`, `committee`, `county`.
#[utoipa::path(
    tag = "transfers",
    params(
        ("town" = Uuid, Path, description = "The town's id."),
        ("member" = Uuid, Path, description = "The member's id."),
        PageParams
    ),
    responses((status = 200, description = "A page of the member's transfers, oldest first.", body = Page<Transfer>)),
    security(("bearer" = ["staff", "committee", "county"])),
)]
#[get("/towns/{town}/members/{member}/transfers")]
async fn list_member_transfers(
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

/// Read a transfer.
///
/// Roles: `staff`, `committee`, `county`.
#[utoipa::path(
    tag = "transfers",
    params(("town" = Uuid, Path, description = "The town's id."), ("transfer" = Uuid, Path, description = "The transfer's id.")),
    responses((status = 200, description = "The transfer.", body = Transfer,
               headers(("ETag" = String, description = "The transfer's version")))),
    security(("bearer" = ["staff", "committee", "county"])),
)]
#[get("/towns/{town}/transfers/{transfer:[0-9a-fA-F-]+}")]
async fn get_transfer(
    auth: Auth<{ roles::STAFF | roles::COMMITTEE | roles::COUNTY }>,
    db: web::Data<PgPool>,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    let (town, id) = path.into_inner();
    let town = auth.town(&db, town).await?;
    let mut conn = db.acquire().await?;
    let today = crate::towns::repo::today(&mut conn, town).await?;
    let t = repo::get(&mut conn, town, id, today)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(reply::with_etag(&t, t.version))
}

/// Transfer a member: between branches, or out of the town.
///
/// `internal` (roles `staff`, `committee`): to `to_branch_id`, a branch of this town; it
/// completes at once and the member is in the new branch. `outflow` (role `committee`
/// only; `staff` gets 403): an introduction letter to `external_org`, valid `valid_days`
/// (default 30, at most 90) from `decided_on`; the member stays in their branch until
/// the receipt. Only an active member with no open letter transfers.
/// Roles: `staff`, `committee`.
#[utoipa::path(
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
#[post("/towns/{town}/members/{member}/transfers")]
async fn create_transfer(
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
    let mut tx = db.begin().await?;
    let today = crate::towns::repo::today(&mut tx, town).await?;
    let validity = LetterValidity::of(&crate::policy::current(&mut tx, town).await?);
    let valid = body.validate(today, validity)?;
    let claim = idempotency::claim(&mut tx, &auth, &key, req.path(), &*body).await?;
    if let Claim::Replay(res) = claim {
        return Ok(res);
    }
    let transfer = match valid {
        ValidNewTransfer::Internal {
            to_branch_id,
            reason,
            decided_on,
        } => {
            repo::record(
                &mut tx,
                &auth,
                NewTransferRecord {
                    town_id: town,
                    member_id: member,
                    kind: RecordKind::Internal,
                    to_branch_id,
                    reason,
                    decided_on,
                },
            )
            .await?
        }
        ValidNewTransfer::Outflow(o) => {
            let m = repo::lock_member(&mut tx, town, member)
                .await?
                .ok_or(ApiError::NotFound)?;
            if repo::has_open_letter(&mut tx, town, member).await? {
                return Err(domain::open_transfer_exists());
            }
            if m.status != "active" {
                return Err(domain::member_not_active());
            }
            let id = repo::insert(
                &mut tx,
                &repo::Insert {
                    town_id: town,
                    id: Uuid::now_v7(),
                    member_id: member,
                    kind: TransferKind::Outflow,
                    from_branch_id: m.branch_id,
                    to_branch_id: None,
                    external_org: Some(&o.external_org),
                    reason: &o.reason,
                    decided_by: &auth.sub,
                    decided_on: o.decided_on,
                    status: TransferStatus::Issued,
                    letter_serial: Some(&o.letter_serial),
                    dues_paid_until: Some(o.dues_paid_until),
                    valid_until: Some(o.valid_until),
                },
            )
            .await?;
            audit::record(
                &mut tx,
                &auth,
                Change {
                    town_id: town,
                    action: "transfer.issued",
                    resource_type: "transfer",
                    resource_id: id,
                    data: json!({
                        "kind": TransferKind::Outflow,
                        "member_id": member,
                        "from_branch_id": m.branch_id,
                        "status": TransferStatus::Issued,
                        "decided_on": o.decided_on,
                        "valid_until": o.valid_until,
                    }),
                },
            )
            .await?;
            repo::get(&mut tx, town, id, today)
                .await?
                .ok_or(ApiError::NotFound)?
        }
    };
    let location = format!("/api/v1/towns/{town}/transfers/{}", transfer.id);
    let answer = Answer::created(&transfer, etag(transfer.version), location)?;
    let res = claim.finish(&mut tx, answer).await?;
    tx.commit().await?;
    Ok(res)
}

/// Take in a member arriving from outside the town with a letter.
///
/// Creates the newcomer's member record (`incoming`, no branch yet) and the inflow
/// transfer (`issued`), in one transaction; the receipt then puts them in `to_branch_id`
/// as an active member. A former member of this town who transferred out (or a
/// newcomer whose earlier inflow was rejected or revoked) is found by national ID and
/// their record reused as it is; any other member with that number is a 409.
/// Roles: `committee`.
#[utoipa::path(
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
#[post("/towns/{town}/transfers/inflows")]
async fn create_inflow(
    auth: Auth<{ roles::COMMITTEE }>,
    db: web::Data<PgPool>,
    req: HttpRequest,
    path: web::Path<Uuid>,
    key: IdempotencyKey,
    body: Json<NewInflow>,
) -> Result<HttpResponse, ApiError> {
    let town = auth.town(&db, path.into_inner()).await?;
    let mut tx = db.begin().await?;
    let today = crate::towns::repo::today(&mut tx, town).await?;
    let validity = LetterValidity::of(&crate::policy::current(&mut tx, town).await?);
    let valid = body.validate(today, validity)?;
    let claim = idempotency::claim(&mut tx, &auth, &key, req.path(), &*body).await?;
    if let Claim::Replay(res) = claim {
        return Ok(res);
    }
    if !repo::branch_exists(&mut tx, town, valid.to_branch_id).await? {
        return Err(domain::unknown_branch());
    }
    let existing =
        repo::lock_member_by_national_id(&mut tx, town, valid.national_id.as_str()).await?;
    let (member, reused) = match existing {
        None => {
            let id = Uuid::now_v7();
            repo::insert_incoming_member(&mut tx, town, id, &valid).await?;
            (id, false)
        }
        Some(m) if m.status == "transferred_out" || m.status == "incoming" => {
            if repo::has_open_letter(&mut tx, town, m.id).await? {
                return Err(domain::open_transfer_exists());
            }
            repo::set_member_status(&mut tx, town, m.id, "incoming").await?;
            (m.id, true)
        }
        Some(_) => return Err(domain::national_id_taken()),
    };
    let id = repo::insert(
        &mut tx,
        &repo::Insert {
            town_id: town,
            id: Uuid::now_v7(),
            member_id: member,
            kind: TransferKind::Inflow,
            from_branch_id: None,
            to_branch_id: Some(valid.to_branch_id),
            external_org: Some(&valid.external_org),
            reason: &valid.reason,
            decided_by: &auth.sub,
            decided_on: valid.decided_on,
            status: TransferStatus::Issued,
            letter_serial: Some(&valid.letter_serial),
            dues_paid_until: Some(valid.dues_paid_until),
            valid_until: Some(valid.valid_until),
        },
    )
    .await?;
    audit::record(
        &mut tx,
        &auth,
        Change {
            town_id: town,
            action: if reused {
                "member.returning"
            } else {
                "member.incoming"
            },
            resource_type: "member",
            resource_id: member,
            data: json!({ "status": "incoming", "transfer_id": id }),
        },
    )
    .await?;
    audit::record(
        &mut tx,
        &auth,
        Change {
            town_id: town,
            action: "transfer.issued",
            resource_type: "transfer",
            resource_id: id,
            data: json!({
                "kind": TransferKind::Inflow,
                "member_id": member,
                "member_reused": reused,
                "to_branch_id": valid.to_branch_id,
                "status": TransferStatus::Issued,
                "decided_on": valid.decided_on,
                "valid_until": valid.valid_until,
            }),
        },
    )
    .await?;
    let transfer = repo::get(&mut tx, town, id, today)
        .await?
        .ok_or(ApiError::NotFound)?;
    let location = format!("/api/v1/towns/{town}/transfers/{id}");
    let answer = Answer::created(&transfer, etag(transfer.version), location)?;
    let res = claim.finish(&mut tx, answer).await?;
    tx.commit().await?;
    Ok(res)
}

/// Record a letter's receipt (回执).
///
/// The move is done: for an outflow the member becomes `transferred_out` (keeping their
/// last branch as history); for an inflow the member joins `to_branch_id` and becomes
/// `active`. `receipt_on` is not in the future nor before `decided_on`. Needs `If-Match`.
/// Roles: `committee`.
#[utoipa::path(
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
#[post("/towns/{town}/transfers/{transfer}/receipt")]
async fn receive_letter(
    auth: Auth<{ roles::COMMITTEE }>,
    db: web::Data<PgPool>,
    path: web::Path<(Uuid, Uuid)>,
    if_match: IfMatch,
    body: Json<Receipt>,
) -> Result<HttpResponse, ApiError> {
    let (town, id) = path.into_inner();
    act(&auth, &db, town, id, if_match, Action::Receive(&body)).await
}

/// Record that the other side refused a letter.
///
/// The letter is `rejected`, with the reason; nothing moves. For an outflow the member
/// stays where they are; for an inflow the newcomer's record stays `incoming` (a later
/// inflow reuses it), and a returning former member's goes back to `transferred_out`.
/// Needs `If-Match`. Roles: `committee`.
#[utoipa::path(
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
#[post("/towns/{town}/transfers/{transfer}/reject")]
async fn reject_letter(
    auth: Auth<{ roles::COMMITTEE }>,
    db: web::Data<PgPool>,
    path: web::Path<(Uuid, Uuid)>,
    if_match: IfMatch,
    body: Json<Closing>,
) -> Result<HttpResponse, ApiError> {
    let (town, id) = path.into_inner();
    act(&auth, &db, town, id, if_match, Action::Reject(&body)).await
}

/// Withdraw a letter.
///
/// The letter is `revoked`, with the reason; nothing moves (as for a rejection). Needs
/// `If-Match`. Roles: `committee`.
#[utoipa::path(
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
#[post("/towns/{town}/transfers/{transfer}/revoke")]
async fn revoke_letter(
    auth: Auth<{ roles::COMMITTEE }>,
    db: web::Data<PgPool>,
    path: web::Path<(Uuid, Uuid)>,
    if_match: IfMatch,
    body: Json<Closing>,
) -> Result<HttpResponse, ApiError> {
    let (town, id) = path.into_inner();
    act(&auth, &db, town, id, if_match, Action::Revoke(&body)).await
}

/// A letter action with its body.
enum Action<'a> {
    Receive(&'a Receipt),
    Reject(&'a Closing),
    Revoke(&'a Closing),
}

/// Moves an open letter: 404, then 412 (stale `If-Match`), 409 (not open), 422 (body).
async fn act(
    caller: &Caller,
    db: &PgPool,
    town: Uuid,
    id: Uuid,
    if_match: IfMatch,
    action: Action<'_>,
) -> Result<HttpResponse, ApiError> {
    let town = caller.town(db, town).await?;
    let mut tx = db.begin().await?;
    let today = crate::towns::repo::today(&mut tx, town).await?;
    let locked = repo::lock(&mut tx, town, id)
        .await?
        .ok_or(ApiError::NotFound)?;
    if_match.check(locked.version)?;
    let kind = match action {
        Action::Receive(_) => LetterAction::Receive,
        Action::Reject(_) => LetterAction::Reject,
        Action::Revoke(_) => LetterAction::Revoke,
    };
    let status = domain::close(locked.status, kind)?;
    let (receipt_on, reason) = match action {
        Action::Receive(r) => (Some(r.validate(today, locked.decided_on)?), None),
        Action::Reject(c) | Action::Revoke(c) => (None, Some(c.validate()?)),
    };
    repo::close(
        &mut tx,
        town,
        id,
        &repo::Closure {
            status,
            receipt_on,
            rejection_reason: reason.as_deref().filter(|_| kind == LetterAction::Reject),
            revocation_reason: reason.as_deref().filter(|_| kind == LetterAction::Revoke),
            closed_by: &caller.sub,
        },
    )
    .await?;
    // A returning former member whose inflow did not go through is transferred out again;
    // a newcomer's record (no branch) stays `incoming` for a later inflow.
    if locked.kind == TransferKind::Inflow && kind != LetterAction::Receive {
        let m = repo::lock_member(&mut tx, town, locked.member_id)
            .await?
            .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("transfer without its member")))?;
        if m.branch_id.is_some() && m.status == "incoming" {
            repo::set_member_status(&mut tx, town, m.id, "transferred_out").await?;
        }
    }
    let member_status = repo::lock_member(&mut tx, town, locked.member_id)
        .await?
        .map(|m| m.status);
    audit::record(
        &mut tx,
        caller,
        Change {
            town_id: town,
            action: kind.audit_action(),
            resource_type: "transfer",
            resource_id: id,
            data: json!({
                "kind": locked.kind,
                "member_id": locked.member_id,
                "status": status,
                "receipt_on": receipt_on,
                "member_status": member_status,
            }),
        },
    )
    .await?;
    let t = repo::get(&mut tx, town, id, today)
        .await?
        .ok_or(ApiError::NotFound)?;
    tx.commit().await?;
    Ok(reply::with_etag(&t, t.version))
}
