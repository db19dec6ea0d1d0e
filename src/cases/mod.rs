//! Transformation cases (articles 19-23): intake, the score and its ledger, committee
//! adjustments, and the committee matters that a low score opens.

pub mod domain;
pub mod repo;

use actix_web::{HttpRequest, HttpResponse, get, post, web};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::PgPool;
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use self::domain::{
    Adjustment, AdjustmentKind, Case, Conclusion, Disposition, Matter, NewCase, NewDisposition,
};
use crate::audit::{self, Change};
use crate::auth::{Auth, roles};
use crate::error::{ApiError, FieldError};
use crate::http::extract::{IdempotencyKey, IfMatch, Json, etag};
use crate::http::idempotency::{self, Answer, Claim};
use crate::http::paging::{Page, PageParams};
use crate::http::reply;
use crate::msg;
use crate::scores::domain::{CaseStatus, EntryKind};
use crate::scores::{self, LedgerEntry, NewEntry};
use crate::validate::Checks;

/// Registers the case routes.
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(open_case)
        .service(list_cases)
        .service(get_case)
        .service(get_ledger)
        .service(adjust)
        .service(list_matters)
        .service(dispose);
}

/// Filters of the case list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CaseQuery {
    /// Cases with this status.
    #[param(inline)]
    pub status: Option<CaseStatus>,
    /// The cases of this member.
    pub member_id: Option<Uuid>,
}

/// Take a member in for transformation (art. 20).
///
/// In one transaction: the member's relation moves into the center branch (an `intake`
/// transfer), their original branch is remembered, and the case opens at the base score
/// of the current policy. One open case per member. Roles: `committee`.
#[utoipa::path(
    tag = "cases",
    params(("town" = Uuid, Path, description = "The town's id.")),
    request_body = NewCase,
    responses(
        (status = 201, description = "The case, at the base score.", body = Case,
         headers(("ETag" = String, description = "The case's version"), ("Location" = String, description = "The case's URL"))),
        (status = 409, description = "`case_open`, `member_not_active`, `open_transfer_exists`, or `already_in_center` (the member's relation is in the center branch already).",
         body = crate::error::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["committee"])),
)]
#[post("/towns/{town}/cases")]
async fn open_case(
    auth: Auth<{ roles::COMMITTEE }>,
    db: web::Data<PgPool>,
    req: HttpRequest,
    path: web::Path<Uuid>,
    key: IdempotencyKey,
    body: Json<NewCase>,
) -> Result<HttpResponse, ApiError> {
    let town = auth.town(&db, path.into_inner()).await?;
    let mut tx = db.begin().await?;
    let today = crate::towns::repo::today(&mut tx, town).await?;
    let mut c = Checks::new();
    let reason = c.text("reason", &body.reason, 1, 500);
    let decided_on = body.decided_on.unwrap_or(today);
    crate::members::domain::check_past_date(&mut c, "decided_on", decided_on, today);
    c.finish()?;
    let claim = idempotency::claim(&mut tx, &auth, &key, req.path(), &*body).await?;
    if let Claim::Replay(res) = claim {
        return Ok(res);
    }
    let member = crate::members::repo::get(&mut tx, town, body.member_id, today)
        .await?
        .ok_or_else(|| {
            ApiError::Validation(vec![FieldError::new(
                "member_id",
                "unknown_member",
                msg!("本镇没有该党员。", "This town has no such member."),
            )])
        })?;
    let center = sqlx::query_scalar!(
        "SELECT id FROM branches WHERE town_id = $1 AND kind = 'center'",
        town
    )
    .fetch_one(&mut *tx)
    .await?;
    let Some(original) = member.branch_id else {
        return Err(ApiError::conflict(
            "member_not_active",
            msg!(
                "该党员不在本镇支部中。",
                "The member is not in a branch of this town."
            ),
        ));
    };
    if original == center {
        return Err(ApiError::conflict(
            "already_in_center",
            msg!(
                "该党员的组织关系已在服务转化中心支部。",
                "The member's relation is in the center branch already."
            ),
        ));
    }
    if repo::open_case_of(&mut tx, town, member.id)
        .await?
        .is_some()
    {
        return Err(crate::error::constraints::CASE_OPEN.into());
    }
    let intake = crate::transfers::repo::record(
        &mut tx,
        &auth,
        crate::transfers::domain::NewTransferRecord {
            town_id: town,
            member_id: member.id,
            kind: crate::transfers::domain::RecordKind::Intake,
            to_branch_id: center,
            reason: reason.clone(),
            decided_on,
        },
    )
    .await?;
    let policy = crate::policy::current(&mut tx, town).await?;
    let case = repo::insert(
        &mut tx,
        town,
        &repo::NewCaseRow {
            id: Uuid::now_v7(),
            member_id: member.id,
            original_branch_id: original,
            intake_transfer_id: intake.id,
            reason: &reason,
            opened_on: decided_on,
            opened_by: &auth.sub,
            policy_version: policy.version,
            base: policy.base_score,
        },
    )
    .await?;
    audit::record(
        &mut tx,
        &auth,
        Change {
            town_id: town,
            action: "case.opened",
            resource_type: "case",
            resource_id: case.id,
            data: json!({ "member_id": case.member_id, "original_branch_id": original, "score": case.score,
                          "policy_version": case.policy_version }),
        },
    )
    .await?;
    let location = format!("/api/v1/towns/{town}/cases/{}", case.id);
    let answer = Answer::created(&case, etag(case.version), location)?;
    let res = claim.finish(&mut tx, answer).await?;
    tx.commit().await?;
    Ok(res)
}

/// List a town's cases.
///
/// Roles: `staff`, `committee`, `county`.
#[utoipa::path(
    tag = "cases",
    params(("town" = Uuid, Path, description = "The town's id."), CaseQuery, PageParams),
    responses((status = 200, description = "A page of cases.", body = Page<Case>)),
    security(("bearer" = ["staff", "committee", "county"])),
)]
#[get("/towns/{town}/cases")]
async fn list_cases(
    auth: Auth<{ roles::STAFF | roles::COMMITTEE | roles::COUNTY }>,
    db: web::Data<PgPool>,
    path: web::Path<Uuid>,
    query: web::Query<CaseQuery>,
    page: web::Query<PageParams>,
) -> Result<web::Json<Page<Case>>, ApiError> {
    let town = auth.town(&db, path.into_inner()).await?;
    let keyset = page.keyset()?;
    let mut conn = db.acquire().await?;
    let rows = repo::list(&mut conn, town, query.status, query.member_id, keyset).await?;
    Ok(web::Json(Page::from_rows(rows, keyset, |c| c.id)))
}

/// Read a case: its score, status and history counts.
///
/// Roles: `staff`, `committee`, `county`.
#[utoipa::path(
    tag = "cases",
    params(("town" = Uuid, Path, description = "The town's id."), ("case" = Uuid, Path, description = "The case's id.")),
    responses((status = 200, description = "The case.", body = Case,
               headers(("ETag" = String, description = "The case's version")))),
    security(("bearer" = ["staff", "committee", "county"])),
)]
#[get("/towns/{town}/cases/{case}")]
async fn get_case(
    auth: Auth<{ roles::STAFF | roles::COMMITTEE | roles::COUNTY }>,
    db: web::Data<PgPool>,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    let (town, id) = path.into_inner();
    let town = auth.town(&db, town).await?;
    let mut conn = db.acquire().await?;
    let case = repo::get(&mut conn, town, id)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(reply::with_etag(&case, case.version))
}

/// A case's ledger, newest first.
///
/// Every change of the score, in points: kind, source, who, when, the policy version, and
/// the score after it. Roles: `staff`, `committee`, `county`.
#[utoipa::path(
    tag = "cases",
    params(("town" = Uuid, Path, description = "The town's id."), ("case" = Uuid, Path, description = "The case's id."), PageParams),
    responses((status = 200, description = "A page of entries, newest first.", body = Page<LedgerEntry>)),
    security(("bearer" = ["staff", "committee", "county"])),
)]
#[get("/towns/{town}/cases/{case}/ledger")]
async fn get_ledger(
    auth: Auth<{ roles::STAFF | roles::COMMITTEE | roles::COUNTY }>,
    db: web::Data<PgPool>,
    path: web::Path<(Uuid, Uuid)>,
    page: web::Query<PageParams>,
) -> Result<web::Json<Page<LedgerEntry>>, ApiError> {
    let (town, id) = path.into_inner();
    let town = auth.town(&db, town).await?;
    ledger_of(&db, town, id, &page).await.map(web::Json)
}

/// A page of a case's ledger (also used by `/me`).
pub async fn ledger_of(
    db: &PgPool,
    town: Uuid,
    case: Uuid,
    page: &PageParams,
) -> Result<Page<LedgerEntry>, ApiError> {
    let keyset = page.keyset::<i64>()?;
    let mut conn = db.acquire().await?;
    repo::get(&mut conn, town, case)
        .await?
        .ok_or(ApiError::NotFound)?;
    let rows = scores::ledger_page(
        &mut conn,
        town,
        case,
        keyset.before_or_max(),
        keyset.fetch(),
    )
    .await?;
    Ok(Page::from_rows(rows, keyset, |e| i64::from(e.seq)))
}

/// What an adjustment wrote.
#[derive(Debug, Serialize, ToSchema)]
pub struct Adjusted {
    /// The entry.
    pub entry: LedgerEntry,
    /// The case's status after it.
    pub status: CaseStatus,
}

/// Correct a case's score, or reverse one entry.
///
/// A correction adds any amount but zero, with a reason; a reversal undoes one earlier
/// entry, once, with a reason (a reversal cannot itself be reversed). Crossing a threshold
/// opens a committee matter or makes an evaluation due, in the same transaction. Needs an
/// `Idempotency-Key`. Roles: `committee`.
#[utoipa::path(
    tag = "cases",
    params(
        ("town" = Uuid, Path, description = "The town's id."),
        ("case" = Uuid, Path, description = "The case's id."),
        ("Idempotency-Key" = String, Header, description = "Required: a retry with the same key and body returns the first answer and writes nothing. 1 to 255 visible ASCII characters.",
         pattern = "^[!-~]+$", min_length = 1, max_length = 255),
    ),
    request_body = Adjustment,
    responses(
        (status = 201, description = "The entry written.", body = Adjusted),
        (status = 409, description = "`case_concluded`, `already_reversed`, `cannot_reverse_reversal`.",
         body = crate::error::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["committee"])),
)]
#[post("/towns/{town}/cases/{case}/adjustments")]
async fn adjust(
    auth: Auth<{ roles::COMMITTEE }>,
    db: web::Data<PgPool>,
    req: HttpRequest,
    path: web::Path<(Uuid, Uuid)>,
    key: IdempotencyKey,
    body: Json<Adjustment>,
) -> Result<HttpResponse, ApiError> {
    let (town, case) = path.into_inner();
    let town = auth.town(&db, town).await?;
    key.required()?;
    let mut c = Checks::new();
    let reason = c.text("reason", &body.reason, 1, 500);
    let not_allowed = |field: &str| {
        FieldError::new(
            field,
            "not_allowed",
            msg!(
                ("{} 不适用于该类调整。", field),
                ("`{}` does not go with this kind.", field)
            ),
        )
    };
    let required = |field: &str| {
        FieldError::new(
            field,
            "required",
            msg!(("缺少 {}。", field), ("`{}` is required.", field)),
        )
    };
    match body.kind {
        AdjustmentKind::Correction => {
            match body.points {
                None => c.push(required("points")),
                Some(p) if p.0 == 0 => c.push(FieldError::new(
                    "points",
                    "zero",
                    msg!("更正分值不能为 0。", "A correction cannot be 0."),
                )),
                Some(_) => {}
            }
            if body.entry_id.is_some() {
                c.push(not_allowed("entry_id"));
            }
        }
        AdjustmentKind::Reversal => {
            if body.entry_id.is_none() {
                c.push(required("entry_id"));
            }
            if body.points.is_some() {
                c.push(not_allowed("points"));
            }
        }
    }
    c.finish()?;
    let mut tx = db.begin().await?;
    let claim = idempotency::claim(&mut tx, &auth, &key, req.path(), &*body).await?;
    if let Claim::Replay(res) = claim {
        return Ok(res);
    }
    // The case's lock comes first, so a concurrent reversal of the same entry waits here.
    scores::lock_case(&mut tx, town, case).await?;
    let entry = match (body.kind, body.points, body.entry_id) {
        (AdjustmentKind::Correction, Some(points), _) => NewEntry {
            case_id: case,
            kind: EntryKind::Correction,
            points,
            source: None,
            reverses: None,
            reason: Some(reason),
        },
        (_, _, Some(entry_id)) => {
            let target = scores::entry(&mut tx, town, case, entry_id)
                .await?
                .ok_or_else(|| {
                    ApiError::Validation(vec![FieldError::new(
                        "entry_id",
                        "unknown_entry",
                        msg!("该档案没有这条记分。", "This case has no such entry."),
                    )])
                })?;
            if target.kind == EntryKind::Reversal {
                return Err(ApiError::conflict(
                    "cannot_reverse_reversal",
                    msg!(
                        "冲销记录不能再被冲销。",
                        "A reversal cannot itself be reversed."
                    ),
                ));
            }
            NewEntry {
                case_id: case,
                kind: EntryKind::Reversal,
                points: -target.points,
                source: None,
                reverses: Some(target.id),
                reason: Some(reason),
            }
        }
        _ => {
            return Err(ApiError::Internal(anyhow::anyhow!(
                "adjustment passed its checks without its field"
            )));
        }
    };
    let written = scores::write_entry(&mut tx, &auth, town, entry).await?;
    let adjusted = Adjusted {
        entry: written.entry,
        status: written.status,
    };
    let location = format!("/api/v1/towns/{town}/cases/{case}/ledger");
    let answer = Answer {
        status: actix_web::http::StatusCode::CREATED,
        body: serde_json::to_value(&adjusted).map_err(anyhow::Error::from)?,
        etag: None,
        location: Some(location),
    };
    let res = claim.finish(&mut tx, answer).await?;
    tx.commit().await?;
    Ok(res)
}

/// A case's committee matters, newest first.
///
/// A matter opens each time the score goes below the low threshold, and closes with the
/// committee's disposition. Roles: `staff`, `committee`, `county`.
#[utoipa::path(
    tag = "cases",
    params(("town" = Uuid, Path, description = "The town's id."), ("case" = Uuid, Path, description = "The case's id.")),
    responses((status = 200, description = "The matters, newest first.", body = Vec<Matter>)),
    security(("bearer" = ["staff", "committee", "county"])),
)]
#[get("/towns/{town}/cases/{case}/matters")]
async fn list_matters(
    auth: Auth<{ roles::STAFF | roles::COMMITTEE | roles::COUNTY }>,
    db: web::Data<PgPool>,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<web::Json<Vec<Matter>>, ApiError> {
    let (town, case) = path.into_inner();
    let town = auth.town(&db, town).await?;
    let mut conn = db.acquire().await?;
    repo::get(&mut conn, town, case)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(web::Json(repo::matters(&mut conn, town, case).await?))
}

/// Record the committee's disposition of a matter (art. 23).
///
/// A talk, a deadline to correct (with the date), persuasion to leave, removal, or other,
/// always with a note. Removal ends the case and the membership (status `removed`), in the
/// same transaction. Needs `If-Match` with the matter's ETag. Roles: `committee`.
#[utoipa::path(
    tag = "cases",
    params(
        ("town" = Uuid, Path, description = "The town's id."),
        ("case" = Uuid, Path, description = "The case's id."),
        ("matter" = Uuid, Path, description = "The matter's id."),
    ),
    request_body = NewDisposition,
    responses(
        (status = 200, description = "The decided matter.", body = Matter,
         headers(("ETag" = String, description = "The matter's new version"))),
        (status = 409, description = "`matter_decided`, or `case_concluded`.", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 428, description = "If-Match is missing.", body = crate::error::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["committee"])),
)]
#[post("/towns/{town}/cases/{case}/matters/{matter}/disposition")]
async fn dispose(
    auth: Auth<{ roles::COMMITTEE }>,
    db: web::Data<PgPool>,
    path: web::Path<(Uuid, Uuid, Uuid)>,
    body: Json<NewDisposition>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    let (town, case, matter) = path.into_inner();
    let town = auth.town(&db, town).await?;
    let mut tx = db.begin().await?;
    let today = crate::towns::repo::today(&mut tx, town).await?;
    let mut c = Checks::new();
    let note = c.text("note", &body.note, 1, 2000);
    match (body.disposition, body.deadline) {
        (Disposition::Deadline, None) => c.push(FieldError::new(
            "deadline",
            "required",
            msg!(
                "限期改正须给出期限。",
                "A deadline to correct needs its date."
            ),
        )),
        (Disposition::Deadline, Some(d)) if d <= today => c.push(FieldError::new(
            "deadline",
            "not_in_future",
            msg!("期限须晚于今天。", "The deadline must be after today."),
        )),
        (Disposition::Deadline, Some(_)) => {}
        (_, Some(_)) => c.push(FieldError::new(
            "deadline",
            "not_allowed",
            msg!(
                "只有限期改正才有期限。",
                "Only a deadline to correct has a date."
            ),
        )),
        (_, None) => {}
    }
    c.finish()?;
    let locked = scores::lock_case(&mut tx, town, case).await?;
    if locked.state.concluded {
        return Err(scores::refusal_error(scores::domain::Refusal::Concluded));
    }
    let decided = repo::decide(
        &mut tx,
        town,
        case,
        matter,
        if_match.version(),
        body.disposition,
        &note,
        body.deadline,
        &auth.sub,
    )
    .await?;
    if body.disposition == Disposition::Removal {
        repo::conclude(&mut tx, &auth, town, case, Conclusion::Removed, today).await?;
        sqlx::query!(
            "UPDATE members SET status = 'removed', updated_at = now(), version = version + 1
             WHERE town_id = $1 AND id = $2",
            town,
            locked.member_id
        )
        .execute(&mut *tx)
        .await?;
    }
    audit::record(
        &mut tx,
        &auth,
        Change {
            town_id: town,
            action: "case.disposition_recorded",
            resource_type: "case",
            resource_id: case,
            data: json!({ "matter_id": matter, "disposition": body.disposition, "concluded": body.disposition == Disposition::Removal }),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(reply::with_etag(&decided, decided.version))
}
