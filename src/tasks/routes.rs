//! The task and objection endpoints: HTTP in, a workflow call, HTTP out.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use serde::Deserialize;
use sqlx::PgPool;
use utoipa::IntoParams;
use uuid::Uuid;

use super::domain::{
    Decided, NewDecision, NewOutcome, NewTask, Objection, ObjectionStatus, OutcomeRecorded, Task,
};
use super::{repo, workflow};
use crate::auth::{Auth, roles};
use crate::error::ApiError;
use crate::http::extract::{IdempotencyKey, IfMatch, Json, etag};
use crate::http::idempotency::{Answer, idempotent};
use crate::http::paging::{Page, PageParams};
use crate::http::reply;

fn location(town: Uuid, task: Uuid) -> String {
    format!("/api/v1/towns/{town}/tasks/{task}")
}

/// Assign a task to a case (art. 21) · 给转化档案布置任务（第21条）
///
/// Title 1 to 200 characters, an optional description, and a due date that is today or
/// later in the town's calendar. A concluded case takes no more tasks (409
/// `case_concluded`). Roles: `staff`, `committee`.
///
/// 标题 1 至 200 字，可附说明，完成期限为本镇日历的今天或以后。
/// 已结案的档案不能再布置任务（409 `case_concluded`）。
/// 角色：`staff`、`committee`。
#[utoipa::path(
    operation_id = "assign_task",
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
#[post("/{case}/tasks")]
pub(super) async fn assign_task(
    auth: Auth<{ roles::STAFF | roles::COMMITTEE }>,
    db: web::Data<PgPool>,
    req: HttpRequest,
    path: web::Path<(Uuid, Uuid)>,
    key: IdempotencyKey,
    body: Json<NewTask>,
) -> Result<HttpResponse, ApiError> {
    let (town, case) = path.into_inner();
    let town = auth.town(&db, town).await?;
    idempotent(&db, &auth, &key, &req, &*body, async |tx| {
        let task = workflow::assign(tx, &auth, town, case, &body).await?;
        Answer::created(&task, etag(task.version), location(town, task.id))
    })
    .await
}

/// A case's tasks, in the order they were assigned · 档案的任务，按布置先后排列
///
/// Roles: `staff`, `committee`, `county`.
///
/// 角色：`staff`、`committee`、`county`。
#[utoipa::path(
    operation_id = "list_case_tasks",
    tag = "tasks",
    params(
        ("town" = Uuid, Path, description = "The town's id."),
        ("case" = Uuid, Path, description = "The case's id."),
        PageParams,
    ),
    responses((status = 200, description = "A page of tasks.", body = Page<Task>)),
    security(("bearer" = ["staff", "committee", "county"])),
)]
#[get("/{case}/tasks")]
pub(super) async fn list_case_tasks(
    auth: Auth<{ roles::STAFF | roles::COMMITTEE | roles::COUNTY }>,
    db: web::Data<PgPool>,
    path: web::Path<(Uuid, Uuid)>,
    page: web::Query<PageParams>,
) -> Result<web::Json<Page<Task>>, ApiError> {
    let (town, case) = path.into_inner();
    let town = auth.town(&db, town).await?;
    let mut conn = db.acquire().await?;
    let tasks = workflow::tasks_of_case(&mut conn, town, case, &page).await?;
    Ok(web::Json(tasks))
}

/// Read a task · 查看一项任务
///
/// Roles: `staff`, `committee`, `county`.
///
/// 角色：`staff`、`committee`、`county`。
#[utoipa::path(
    operation_id = "get_task",
    tag = "tasks",
    params(
        ("town" = Uuid, Path, description = "The town's id."),
        ("task" = Uuid, Path, description = "The task's id."),
    ),
    responses((status = 200, description = "The task.", body = Task,
               headers(("ETag" = String, description = "The task's version")))),
    security(("bearer" = ["staff", "committee", "county"])),
)]
#[get("/{task}")]
pub(super) async fn get_task(
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

/// Record a task's outcome, once (art. 21) · 记录任务完成情况，只记一次（第21条）
///
/// `completed` adds one step (0.5) to the case's score, `not_completed` takes one away: the
/// ledger entry (source: this task), the threshold events it sets off (a committee matter
/// below 3, an evaluation due at 15) and the outcome are written in one transaction. The
/// outcome is final: a second one is a 409 `outcome_recorded` and changes nothing; a wrong
/// one is undone by a committee reversal (`/cases/{case}/adjustments`). Needs an
/// `Idempotency-Key` (400 `idempotency_key_required`). Roles: `staff`, `committee`.
///
/// `completed` 为档案加一个步长（0.5 分），
/// `not_completed` 减一个步长：记分（来源为该任务）、由此触发的事项（低于 3 分生成镇党委处理事项，
/// 达到 15 分转为待评议）和完成情况在同一事务中写入。
/// 完成情况一经记录即为定论：再次记录答 409 `outcome_recorded`，不作任何改动；
/// 记错的由镇党委冲销（`/cases/{case}/adjustments`）。
/// 需带 `Idempotency-Key`（缺少时答 400 `idempotency_key_required`）。
/// 角色：`staff`、`committee`。
#[utoipa::path(
    operation_id = "record_task_outcome",
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
#[post("/{task}/outcome")]
pub(super) async fn record_outcome(
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
    idempotent(&db, &auth, &key, &req, &*body, async |tx| {
        let recorded = workflow::record_outcome(tx, &auth, town, id, &body).await?;
        Answer::created(&recorded, etag(recorded.task.version), location(town, id))
    })
    .await
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

/// A town's objections to ledger entries, in the order they were lodged · 本镇党员对记分提出的异议，按提出先后排列
///
/// Roles: `committee`, `staff`.
///
/// 角色：`committee`、`staff`。
#[utoipa::path(
    operation_id = "list_objections",
    tag = "tasks",
    params(("town" = Uuid, Path, description = "The town's id."), ObjectionQuery, PageParams),
    responses((status = 200, description = "A page of objections.", body = Page<Objection>)),
    security(("bearer" = ["staff", "committee"])),
)]
#[get("")]
pub(super) async fn list_objections(
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

/// Read an objection · 查看一条异议
///
/// The `ETag` is what deciding it needs in `If-Match`. Roles: `committee`, `staff`.
///
/// 作出决定时 `If-Match` 须带此处返回的 `ETag`。
/// 角色：`committee`、`staff`。
#[utoipa::path(
    operation_id = "get_objection",
    tag = "tasks",
    params(
        ("town" = Uuid, Path, description = "The town's id."),
        ("objection" = Uuid, Path, description = "The objection's id."),
    ),
    responses((status = 200, description = "The objection.", body = Objection,
               headers(("ETag" = String, description = "The objection's version")))),
    security(("bearer" = ["staff", "committee"])),
)]
#[get("/{objection}")]
pub(super) async fn get_objection(
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

/// Decide an objection: uphold or reject it, with a reason · 对异议作出决定：支持或不予支持，并写明理由
///
/// Upheld: the entry is reversed (a `reversal` entry of the opposite amount, its source this
/// objection) in the same transaction, with the threshold events that sets off. Rejected:
/// nothing else changes. Decided once (409 `objection_decided`); an entry reversed already
/// answers the ledger's 409 `already_reversed` and the objection stays open; a concluded
/// case answers 409 `case_concluded`. Needs `If-Match` with the objection's ETag and an
/// `Idempotency-Key` (400 `idempotency_key_required`). Roles: `committee`.
///
/// 支持：在同一事务中冲销该条记分（一条分值相反、来源为该异议的 `reversal` 记分），并触发由此引起的分数线事项。
/// 不予支持：其他不变。每条异议只决定一次（409 `objection_decided`）；
/// 该记分已被冲销时答台账的 409 `already_reversed`，异议仍待决定；
/// 档案已结案答 409 `case_concluded`。
/// 需带 `If-Match`（该异议的 ETag）和 `Idempotency-Key`（缺少时答 400 `idempotency_key_required`）。
/// 角色：`committee`。
#[utoipa::path(
    operation_id = "decide_objection",
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
#[post("/{objection}/decision")]
pub(super) async fn decide_objection(
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
    idempotent(&db, &auth, &key, &req, &*body, async |tx| {
        let decided = workflow::decide_objection(tx, &auth, town, id, if_match, &body).await?;
        Ok(Answer {
            status: StatusCode::OK,
            body: serde_json::to_value(&decided).map_err(anyhow::Error::from)?,
            etag: Some(etag(decided.objection.version)),
            location: None,
        })
    })
    .await
}
