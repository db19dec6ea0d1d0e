//! Tasks of transformation cases (art. 21) and members' objections to ledger entries.
//!
//! Staff and the committee assign tasks to a case; a task's outcome is recorded once and
//! writes its ledger entry (+/- one step) in the same transaction. A wrong outcome is fixed
//! by a committee reversal in the ledger, never by editing the task. A member may object to
//! an entry of their own case within the policy's period (through `/me`); the committee
//! upholds the objection (a reversal entry) or rejects it.

pub mod domain;
pub mod repo;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use serde::Deserialize;
use serde_json::json;
use sqlx::{PgConnection, PgPool};
use utoipa::IntoParams;
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use self::domain::{
    Decided, Decision, NewDecision, NewObjection, NewOutcome, NewTask, Objection, ObjectionStatus,
    OutcomeRecorded, Task,
};
use crate::audit::{self, Change};
use crate::auth::{Auth, Caller, roles};
use crate::error::ApiError;
use crate::http::extract::{IdempotencyKey, IfMatch, Json, etag};
use crate::http::idempotency::{self, Answer, Claim};
use crate::http::paging::{Page, PageParams};
use crate::http::reply;
use crate::msg;
use crate::scores::domain::{CaseStatus, EntryKind, Refusal};
use crate::scores::{self, NewEntry, SourceType};

/// Registers the task and objection routes.
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(assign_task)
        .service(list_case_tasks)
        .service(get_task)
        .service(record_outcome)
        .service(list_objections)
        .service(get_objection)
        .service(decide_objection);
}

fn outcome_recorded() -> ApiError {
    crate::error::constraints::OUTCOME_RECORDED.into()
}

fn objection_decided() -> ApiError {
    crate::error::constraints::OBJECTION_DECIDED.into()
}

/// Assign a task to a case (art. 21).
///
/// Title 1 to 200 characters, an optional description, and a due date that is today or
/// later in the town's calendar. A concluded case takes no more tasks (409
/// `case_concluded`). Roles: `staff`, `committee`.
#[utoipa::path(
    tag = "tasks",
    params(
        ("town" = Uuid, Path, description = "The town's id."),
        ("case" = Uuid, Path, description = "The case's id."),
    ),
    request_body = NewTask,
    responses(
        (status = 201, description = "The task, pending.", body = Task,
         headers(("ETag" = String, description = "The task's version"), ("Location" = String, description = "The task's URL"))),
        (status = 409, description = "`case_concluded`: the case has ended.", body = crate::error::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["staff", "committee"])),
)]
#[post("/towns/{town}/cases/{case}/tasks")]
async fn assign_task(
    auth: Auth<{ roles::STAFF | roles::COMMITTEE }>,
    db: web::Data<PgPool>,
    req: HttpRequest,
    path: web::Path<(Uuid, Uuid)>,
    key: IdempotencyKey,
    body: Json<NewTask>,
) -> Result<HttpResponse, ApiError> {
    let (town, case) = path.into_inner();
    let town = auth.town(&db, town).await?;
    let mut tx = db.begin().await?;
    let today = crate::towns::repo::today(&mut tx, town).await?;
    let valid = body.validate(today)?;
    let claim = idempotency::claim(&mut tx, &auth, &key, req.path(), &*body).await?;
    if let Claim::Replay(res) = claim {
        return Ok(res);
    }
    let status = repo::case_status_for_share(&mut tx, town, case)
        .await?
        .ok_or(ApiError::NotFound)?;
    if status == CaseStatus::Concluded {
        return Err(scores::refusal_error(Refusal::Concluded));
    }
    let task = repo::insert(
        &mut tx,
        town,
        case,
        Uuid::now_v7(),
        &valid,
        &auth.sub,
        auth.role.as_str(),
    )
    .await?;
    audit::record(
        &mut tx,
        &auth,
        Change {
            town_id: town,
            action: "task.assigned",
            resource_type: "task",
            resource_id: task.id,
            data: json!({ "case_id": case, "due_on": task.due_on }),
        },
    )
    .await?;
    let location = format!("/api/v1/towns/{town}/tasks/{}", task.id);
    let answer = Answer::created(&task, etag(task.version), location)?;
    let res = claim.finish(&mut tx, answer).await?;
    tx.commit().await?;
    Ok(res)
}

/// A case's tasks, in the order they were assigned.
///
/// Roles: `staff`, `committee`, `county`.
#[utoipa::path(
    tag = "tasks",
    params(
        ("town" = Uuid, Path, description = "The town's id."),
        ("case" = Uuid, Path, description = "The case's id."),
        PageParams,
    ),
    responses((status = 200, description = "A page of tasks.", body = Page<Task>)),
    security(("bearer" = ["staff", "committee", "county"])),
)]
#[get("/towns/{town}/cases/{case}/tasks")]
async fn list_case_tasks(
    auth: Auth<{ roles::STAFF | roles::COMMITTEE | roles::COUNTY }>,
    db: web::Data<PgPool>,
    path: web::Path<(Uuid, Uuid)>,
    page: web::Query<PageParams>,
) -> Result<web::Json<Page<Task>>, ApiError> {
    let (town, case) = path.into_inner();
    let town = auth.town(&db, town).await?;
    let mut conn = db.acquire().await?;
    tasks_of_case(&mut conn, town, case, &page)
        .await
        .map(web::Json)
}

/// A page of the tasks of a case of the town; 404 when the town has no such case (also
/// used by `/me`).
pub async fn tasks_of_case(
    conn: &mut PgConnection,
    town: Uuid,
    case: Uuid,
    page: &PageParams,
) -> Result<Page<Task>, ApiError> {
    let keyset = page.keyset()?;
    crate::cases::repo::get(conn, town, case)
        .await?
        .ok_or(ApiError::NotFound)?;
    let rows = repo::list(conn, town, &[case], keyset).await?;
    Ok(Page::from_rows(rows, keyset, |t| t.id))
}

/// Read a task.
///
/// Roles: `staff`, `committee`, `county`.
#[utoipa::path(
    tag = "tasks",
    params(
        ("town" = Uuid, Path, description = "The town's id."),
        ("task" = Uuid, Path, description = "The task's id."),
    ),
    responses((status = 200, description = "The task.", body = Task,
               headers(("ETag" = String, description = "The task's version")))),
    security(("bearer" = ["staff", "committee", "county"])),
)]
#[get("/towns/{town}/tasks/{task}")]
async fn get_task(
    auth: Auth<{ roles::STAFF | roles::COMMITTEE | roles::COUNTY }>,
    db: web::Data<PgPool>,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    let (town, id) = path.into_inner();
    let town = auth.town(&db, town).await?;
    let mut conn = db.acquire().await?;
    let task = repo::get(&mut conn, town, id, false)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(reply::with_etag(&task, task.version))
}

/// Record a task's outcome, once (art. 21).
///
/// `completed` adds one step (0.5) to the case's score, `not_completed` takes one away: the
/// ledger entry (source: this task), the threshold events it sets off (a committee matter
/// below 3, an evaluation due at 15) and the outcome are written in one transaction. The
/// outcome is final: a second one is a 409 `outcome_recorded` and changes nothing; a wrong
/// one is undone by a committee reversal (`/cases/{case}/adjustments`). Needs an
/// `Idempotency-Key` (400 `idempotency_key_required`). Roles: `staff`, `committee`.
#[utoipa::path(
    tag = "tasks",
    params(
        ("town" = Uuid, Path, description = "The town's id."),
        ("task" = Uuid, Path, description = "The task's id."),
        ("Idempotency-Key" = String, Header, description = "Required: a retry with the same key and body returns the first answer and writes nothing. 1 to 255 visible ASCII characters.",
         pattern = "^[!-~]+$", min_length = 1, max_length = 255),
    ),
    request_body = NewOutcome,
    responses(
        (status = 201, description = "The task with its outcome, the ledger entry and the case's new status.", body = OutcomeRecorded,
         headers(("ETag" = String, description = "The task's version"), ("Location" = String, description = "The task's URL"))),
        (status = 409, description = "`outcome_recorded` (the task has its outcome already), `case_concluded`, or `score_frozen` (by policy the score no longer moves once an evaluation is due).",
         body = crate::error::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["staff", "committee"])),
)]
#[post("/towns/{town}/tasks/{task}/outcome")]
async fn record_outcome(
    auth: Auth<{ roles::STAFF | roles::COMMITTEE }>,
    db: web::Data<PgPool>,
    req: HttpRequest,
    path: web::Path<(Uuid, Uuid)>,
    key: IdempotencyKey,
    body: Json<NewOutcome>,
) -> Result<HttpResponse, ApiError> {
    let (town, id) = path.into_inner();
    let town = auth.town(&db, town).await?;
    key.required()?;
    let note = body.validate()?;
    let mut tx = db.begin().await?;
    let claim = idempotency::claim(&mut tx, &auth, &key, req.path(), &*body).await?;
    if let Claim::Replay(res) = claim {
        return Ok(res);
    }
    // The task's lock first: concurrent outcomes of one task queue here, and all but the
    // first find it decided.
    let task = repo::get(&mut tx, town, id, true)
        .await?
        .ok_or(ApiError::NotFound)?;
    if task.outcome.is_some() {
        return Err(outcome_recorded());
    }
    let locked = scores::lock_case(&mut tx, town, task.case_id).await?;
    if locked.state.concluded {
        return Err(scores::refusal_error(Refusal::Concluded));
    }
    let policy = crate::policy::current(&mut tx, town).await?;
    let kind = body.outcome.entry_kind();
    let points = scores::domain::standard_delta(kind, &policy.rules())
        .ok_or_else(|| anyhow::anyhow!("{kind} has no standard amount"))?;
    let written = scores::write_entry(
        &mut tx,
        &auth,
        town,
        NewEntry {
            case_id: task.case_id,
            kind,
            points,
            source: Some((SourceType::Task, task.id)),
            reverses: None,
            reason: None,
        },
    )
    .await?;
    let task = repo::record_outcome(
        &mut tx,
        town,
        id,
        body.outcome,
        note.as_deref(),
        written.entry.id,
        &auth.sub,
    )
    .await?;
    audit::record(
        &mut tx,
        &auth,
        Change {
            town_id: town,
            action: "task.outcome_recorded",
            resource_type: "task",
            resource_id: task.id,
            data: json!({ "case_id": task.case_id, "outcome": body.outcome, "entry_id": written.entry.id,
                          "points": written.entry.points, "case_status": written.status }),
        },
    )
    .await?;
    let recorded = OutcomeRecorded {
        task,
        entry: written.entry,
        case_status: written.status,
    };
    let location = format!("/api/v1/towns/{town}/tasks/{id}");
    let answer = Answer::created(&recorded, etag(recorded.task.version), location)?;
    let res = claim.finish(&mut tx, answer).await?;
    tx.commit().await?;
    Ok(res)
}

/// Filters of the objection list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ObjectionQuery {
    /// Objections with this status.
    #[param(inline)]
    pub status: Option<ObjectionStatus>,
    /// The objections to entries of this case.
    pub case_id: Option<Uuid>,
}

/// A town's objections to ledger entries, in the order they were lodged.
///
/// Roles: `committee`, `staff`.
#[utoipa::path(
    tag = "tasks",
    params(("town" = Uuid, Path, description = "The town's id."), ObjectionQuery, PageParams),
    responses((status = 200, description = "A page of objections.", body = Page<Objection>)),
    security(("bearer" = ["staff", "committee"])),
)]
#[get("/towns/{town}/objections")]
async fn list_objections(
    auth: Auth<{ roles::STAFF | roles::COMMITTEE }>,
    db: web::Data<PgPool>,
    path: web::Path<Uuid>,
    query: web::Query<ObjectionQuery>,
    page: web::Query<PageParams>,
) -> Result<web::Json<Page<Objection>>, ApiError> {
    let town = auth.town(&db, path.into_inner()).await?;
    let keyset = page.keyset()?;
    let mut conn = db.acquire().await?;
    let rows =
        repo::list_objections(&mut conn, town, None, query.case_id, query.status, keyset).await?;
    Ok(web::Json(Page::from_rows(rows, keyset, |o| o.id)))
}

/// Read an objection.
///
/// The `ETag` is what deciding it needs in `If-Match`. Roles: `committee`, `staff`.
#[utoipa::path(
    tag = "tasks",
    params(
        ("town" = Uuid, Path, description = "The town's id."),
        ("objection" = Uuid, Path, description = "The objection's id."),
    ),
    responses((status = 200, description = "The objection.", body = Objection,
               headers(("ETag" = String, description = "The objection's version")))),
    security(("bearer" = ["staff", "committee"])),
)]
#[get("/towns/{town}/objections/{objection}")]
async fn get_objection(
    auth: Auth<{ roles::STAFF | roles::COMMITTEE }>,
    db: web::Data<PgPool>,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    let (town, id) = path.into_inner();
    let town = auth.town(&db, town).await?;
    let mut conn = db.acquire().await?;
    let objection = repo::get_objection(&mut conn, town, id, None, false)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(reply::with_etag(&objection, objection.version))
}

/// Decide an objection: uphold or reject it, with a reason.
///
/// Upheld: the entry is reversed (a `reversal` entry of the opposite amount, its source this
/// objection) in the same transaction, with the threshold events that sets off. Rejected:
/// nothing else changes. Decided once (409 `objection_decided`); an entry reversed already
/// answers the ledger's 409 `already_reversed` and the objection stays open; a concluded
/// case answers 409 `case_concluded`. Needs `If-Match` with the objection's ETag and an
/// `Idempotency-Key` (400 `idempotency_key_required`). Roles: `committee`.
#[utoipa::path(
    tag = "tasks",
    params(
        ("town" = Uuid, Path, description = "The town's id."),
        ("objection" = Uuid, Path, description = "The objection's id."),
        ("Idempotency-Key" = String, Header, description = "Required: a retry with the same key and body returns the first answer and writes nothing. 1 to 255 visible ASCII characters.",
         pattern = "^[!-~]+$", min_length = 1, max_length = 255),
    ),
    request_body = NewDecision,
    responses(
        (status = 200, description = "The decided objection, and for an upheld one the reversal entry and the case's new status.", body = Decided,
         headers(("ETag" = String, description = "The objection's new version"))),
        (status = 409, description = "`objection_decided`, `already_reversed`, `case_concluded`.",
         body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 428, description = "If-Match is missing.", body = crate::error::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["committee"])),
)]
#[post("/towns/{town}/objections/{objection}/decision")]
async fn decide_objection(
    auth: Auth<{ roles::COMMITTEE }>,
    db: web::Data<PgPool>,
    req: HttpRequest,
    path: web::Path<(Uuid, Uuid)>,
    key: IdempotencyKey,
    if_match: IfMatch,
    body: Json<NewDecision>,
) -> Result<HttpResponse, ApiError> {
    let (town, id) = path.into_inner();
    let town = auth.town(&db, town).await?;
    key.required()?;
    let reason = body.validate()?;
    let mut tx = db.begin().await?;
    let claim = idempotency::claim(&mut tx, &auth, &key, req.path(), &*body).await?;
    if let Claim::Replay(res) = claim {
        return Ok(res);
    }
    let case = repo::get_objection(&mut tx, town, id, None, false)
        .await?
        .ok_or(ApiError::NotFound)?
        .case_id;
    // The case's lock before the objection's, in the ledger's order.
    scores::lock_case(&mut tx, town, case).await?;
    let objection = repo::get_objection(&mut tx, town, id, None, true)
        .await?
        .ok_or(ApiError::NotFound)?;
    if objection.status != ObjectionStatus::Open {
        return Err(objection_decided());
    }
    if_match.check(objection.version)?;
    let written = match body.decision {
        Decision::Rejected => None,
        Decision::Upheld => {
            let target = scores::entry(&mut tx, town, objection.case_id, objection.entry_id)
                .await?
                .ok_or_else(|| anyhow::anyhow!("objected entry {} missing", objection.entry_id))?;
            Some(
                scores::write_entry(
                    &mut tx,
                    &auth,
                    town,
                    NewEntry {
                        case_id: objection.case_id,
                        kind: EntryKind::Reversal,
                        points: -target.points,
                        source: Some((SourceType::Objection, objection.id)),
                        reverses: Some(target.id),
                        reason: Some(reason.clone()),
                    },
                )
                .await?,
            )
        }
    };
    let decided = repo::decide(
        &mut tx,
        town,
        id,
        body.decision,
        &reason,
        written.as_ref().map(|w| w.entry.id),
        &auth.sub,
    )
    .await?;
    audit::record(
        &mut tx,
        &auth,
        Change {
            town_id: town,
            action: match body.decision {
                Decision::Upheld => "objection.upheld",
                Decision::Rejected => "objection.rejected",
            },
            resource_type: "objection",
            resource_id: id,
            data: json!({ "case_id": decided.case_id, "entry_id": decided.entry_id,
                          "reversal_entry_id": decided.reversal_entry_id, "version": decided.version }),
        },
    )
    .await?;
    let version = decided.version;
    let result = Decided {
        objection: decided,
        case_status: written.as_ref().map(|w| w.status),
        entry: written.map(|w| w.entry),
    };
    let answer = Answer {
        status: StatusCode::OK,
        body: serde_json::to_value(&result).map_err(anyhow::Error::from)?,
        etag: Some(etag(version)),
        location: None,
    };
    let res = claim.finish(&mut tx, answer).await?;
    tx.commit().await?;
    Ok(res)
}

/// Lodges a member's objection to an entry of their own case (`POST /me/objections`): 404
/// for any other entry; 409 `objection_period_over` after the period of the policy the entry
/// was scored under, `objection_exists`, `already_reversed`, `cannot_object_to_reversal`,
/// `case_concluded`.
pub async fn lodge_objection(
    conn: &mut PgConnection,
    caller: &Caller,
    town: Uuid,
    member: Uuid,
    body: &NewObjection,
    reason: &str,
) -> Result<Objection, ApiError> {
    let entry = repo::entry_of_member(conn, town, member, body.entry_id)
        .await?
        .ok_or(ApiError::NotFound)?;
    if entry.is_reversal {
        return Err(ApiError::conflict(
            "cannot_object_to_reversal",
            msg!(
                "冲销记录不能再被冲销，不能对其提出异议。",
                "A reversal cannot itself be reversed, so it takes no objection."
            ),
        ));
    }
    if entry.reversed {
        return Err(crate::error::constraints::ALREADY_REVERSED.into());
    }
    if entry.case_concluded {
        return Err(scores::refusal_error(Refusal::Concluded));
    }
    let policy = crate::policy::version(conn, town, entry.policy_version).await?;
    let today = crate::towns::repo::today(conn, town).await?;
    let days = u32::try_from(policy.objection_period_working_days).unwrap_or(0);
    // The town's holidays and worked weekend days over any period the policy can give.
    let horizon = entry
        .recorded_on
        .checked_add_days(chrono::Days::new(400))
        .unwrap_or(entry.recorded_on);
    let calendar =
        crate::calendar::repo::work_calendar(conn, town, entry.recorded_on, horizon).await?;
    if !domain::within_objection_period(entry.recorded_on, today, days, &calendar) {
        return Err(ApiError::conflict(
            "objection_period_over",
            msg!(
                ("提出异议的期限已过（记分后 {} 个工作日内）。", days),
                (
                    "The objection period is over ({} working days after the entry).",
                    days
                )
            ),
        ));
    }
    let objection =
        repo::insert_objection(conn, town, Uuid::now_v7(), member, &entry, reason).await?;
    audit::record(
        conn,
        caller,
        Change {
            town_id: town,
            action: "objection.lodged",
            resource_type: "objection",
            resource_id: objection.id,
            data: json!({ "case_id": objection.case_id, "entry_id": objection.entry_id }),
        },
    )
    .await?;
    Ok(objection)
}
