//! The evaluation endpoints: HTTP in, a workflow call, HTTP out.

use actix_web::{HttpRequest, HttpResponse, get, post, web};
use serde::Deserialize;
use sqlx::PgPool;
use utoipa::IntoParams;
use uuid::Uuid;

use super::domain::{
    Cancellation, Evaluation, EvaluationStatus, EvaluationSummary, NewEvaluation, NewVote,
    VoteReceipt,
};
use super::{repo, workflow};
use crate::auth::{Auth, roles};
use crate::error::ApiError;
use crate::http::extract::{IdempotencyKey, IfMatch, Json, etag};
use crate::http::idempotency::{Answer, idempotent};
use crate::http::paging::{Page, PageParams};
use crate::http::reply;

/// Schedule a democratic evaluation (art. 23-24) · 安排民主评议（第23-24条）
///
/// For a case whose score reached the evaluation threshold (status `evaluation_due`),
/// which becomes `under_evaluation`. The panel is fixed here: evaluators by kind, each
/// with the `subject` of the token they will vote with, and their member record when
/// they are a member of the town. The member under evaluation cannot sit on the panel
/// (422 `member_under_evaluation`), nor can a member holding a valid floating certificate
/// on the day of the meeting (422 `evaluator_floating`: a floating member has no vote),
/// nor an inactive one (`member_not_active`); the panel must be at least the quorum
/// (`below_quorum`). The evaluation records the current policy version, whose quorum,
/// majority and failed-evaluation rule decide it. Roles: `committee`.
///
/// 适用于积分达到评议分数线的档案（状态 `evaluation_due`），安排后转为 `under_evaluation`。
/// 评议小组在此确定：按类别列出评议人，每人附其投票所用令牌的 `subject`，是本镇党员的附其党员档案。
/// 被评议的党员不能担任评议人（422 `member_under_evaluation`），
/// 评议当日持有有效流动党员活动证的党员也不能（422 `evaluator_floating`：流动党员没有表决权），
/// 不在册（状态不是 `active`）的党员同样不能（`member_not_active`）；
/// 评议小组人数不得少于法定人数（`below_quorum`）。
/// 评议记下现行计分办法的版本，由该版本的法定人数、通过比例和未通过后的规则决定结果。
/// 角色：`committee`。
#[utoipa::path(
    operation_id = "schedule_evaluation",
    tag = "evaluations",
    params(("town" = Uuid, Path, description = "The town's id.")),
    request_body = NewEvaluation,
    responses(
        (status = 201, description = "The evaluation, open.", body = Evaluation,
         headers(("ETag" = String, description = "The evaluation's version"), ("Location" = String, description = "The evaluation's URL"))),
        (status = 409, description = "`case_not_due`: the case's score has not reached the evaluation threshold, or an evaluation is under way; `evaluation_open`.",
         body = crate::error::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["committee"])),
)]
#[post("")]
pub(super) async fn schedule(
    auth: Auth<{ roles::COMMITTEE }>,
    db: web::Data<PgPool>,
    req: HttpRequest,
    path: web::Path<Uuid>,
    key: IdempotencyKey,
    body: Json<NewEvaluation>,
) -> Result<HttpResponse, ApiError> {
    let town = auth.town(&db, path.into_inner()).await?;
    idempotent(&db, &auth, &key, &req, &*body, async |tx| {
        let evaluation = workflow::schedule(tx, &auth, town, &body).await?;
        let location = format!("/api/v1/towns/{town}/evaluations/{}", evaluation.id);
        Answer::created(&evaluation, etag(evaluation.version), location)
    })
    .await
}

/// Filters of the evaluation list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EvaluationQuery {
    /// Only this case's evaluations.
    pub case_id: Option<Uuid>,
    /// Only evaluations with this status.
    #[param(inline)]
    pub status: Option<EvaluationStatus>,
}

/// List a town's evaluations, in the order they were scheduled · 列出本镇的民主评议，按安排先后排列
///
/// Without their panels; the tally only for closed ones. Roles: `staff`, `committee`,
/// `county`.
///
/// 不含评议小组；只有已结束的评议附计票结果。
/// 角色：`staff`、`committee`、`county`。
#[utoipa::path(
    operation_id = "list_evaluations",
    tag = "evaluations",
    params(("town" = Uuid, Path, description = "The town's id."), EvaluationQuery, PageParams),
    responses((status = 200, description = "A page of evaluations.", body = Page<EvaluationSummary>)),
    security(("bearer" = ["staff", "committee", "county"])),
)]
#[get("")]
pub(super) async fn list_evaluations(
    auth: Auth<{ roles::STAFF | roles::COMMITTEE | roles::COUNTY }>,
    db: web::Data<PgPool>,
    path: web::Path<Uuid>,
    query: web::Query<EvaluationQuery>,
    page: web::Query<PageParams>,
) -> Result<web::Json<Page<EvaluationSummary>>, ApiError> {
    let town = auth.town(&db, path.into_inner()).await?;
    let keyset = page.keyset()?;
    let mut conn = db.acquire().await?;
    let filter = repo::Filter {
        case_id: query.case_id,
        status: query.status,
    };
    let rows = repo::list(&mut conn, town, filter, keyset).await?;
    Ok(web::Json(Page::from_rows(rows, keyset, |e| e.id)))
}

/// Read an evaluation · 查看一次民主评议
///
/// Its panel shows who has voted, never how; the tally appears once it is closed.
/// Roles: `staff`, `committee`, `county`.
///
/// 评议小组只显示谁已投票，从不显示如何投票；评议结束后才显示计票结果。
/// 角色：`staff`、`committee`、`county`。
#[utoipa::path(
    operation_id = "get_evaluation",
    tag = "evaluations",
    params(("town" = Uuid, Path, description = "The town's id."), ("evaluation" = Uuid, Path, description = "The evaluation's id.")),
    responses((status = 200, description = "The evaluation.", body = Evaluation,
               headers(("ETag" = String, description = "The evaluation's version")))),
    security(("bearer" = ["staff", "committee", "county"])),
)]
#[get("/{evaluation}")]
pub(super) async fn get_evaluation(
    auth: Auth<{ roles::STAFF | roles::COMMITTEE | roles::COUNTY }>,
    db: web::Data<PgPool>,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    let (town, id) = path.into_inner();
    let town = auth.town(&db, town).await?;
    let mut conn = db.acquire().await?;
    let evaluation = workflow::read(&mut conn, town, id).await?;
    Ok(reply::with_etag(&evaluation, evaluation.version))
}

/// Vote in an evaluation, as an evaluator · 以评议人身份在民主评议中投票
///
/// The evaluator votes with their own token: a `staff` or `committee` token of the town
/// whose `sub` is their `subject` on the panel; anyone else gets 403 `not_on_panel`. One
/// vote each (409 `already_voted`, also when two arrive at once); none once the
/// evaluation is closed (409 `evaluation_closed`), and none before the meeting's
/// scheduled `held_at` (409 `evaluation_not_started`: the panel votes at the meeting,
/// art. 24, so a ballot cast before it would be a vote without the meeting). The ballot is secret: who voted is
/// recorded apart from the verdict, which nothing ever shows on its own. For the same
/// reason this request takes no `Idempotency-Key` (a stored fingerprint of the request
/// would tie the verdict to the voter): a retry of a vote that was recorded answers 409
/// `already_voted`, which confirms it counted. Roles: `staff`, `committee` (panel members).
///
/// 评议人用本人的令牌投票：须是本镇的 `staff` 或 `committee` 令牌，其 `sub` 即评议小组中该人的 `subject`；
/// 其他人答 403 `not_on_panel`。
/// 每人一票（409 `already_voted`，两票同时到达时也是如此）；
/// 评议结束后不能再投（409 `evaluation_closed`），评议会议预定的 `held_at` 之前也不能投（409 `evaluation_not_started`：评议小组在会上投票（第24条），会前投出的票就成了没有开会的表决）。
/// 投票无记名：谁投了票与投票意见分开记录，任何地方都不会单独显示某人的意见。
/// 同样的原因，
/// 本请求不接受 `Idempotency-Key`（保存请求指纹会把意见与投票人联系起来）：已记录的投票重试时答 409 `already_voted`，
/// 即表示该票已计入。
/// 角色：`staff`、`committee`（评议小组成员）。
#[utoipa::path(
    operation_id = "cast_vote",
    tag = "evaluations",
    params(("town" = Uuid, Path, description = "The town's id."), ("evaluation" = Uuid, Path, description = "The evaluation's id.")),
    request_body = NewVote,
    responses(
        (status = 200, description = "The vote counted: a receipt, without the verdict.", body = VoteReceipt),
        (status = 403, description = "`not_on_panel`: the token's subject is not on the panel (or `forbidden`: another role).",
         body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`already_voted`, `evaluation_closed`, or `evaluation_not_started` (before `held_at`).", body = crate::error::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["staff", "committee"])),
)]
#[post("/{evaluation}/votes")]
pub(super) async fn vote(
    auth: Auth<{ roles::STAFF | roles::COMMITTEE }>,
    db: web::Data<PgPool>,
    path: web::Path<(Uuid, Uuid)>,
    body: Json<NewVote>,
) -> Result<HttpResponse, ApiError> {
    let (town, id) = path.into_inner();
    let town = auth.town(&db, town).await?;
    let mut tx = db.begin().await?;
    let receipt = workflow::vote(&mut tx, &auth, town, id, &body).await?;
    tx.commit().await?;
    Ok(HttpResponse::Ok().json(receipt))
}

/// Close an evaluation and act on its verdict · 结束民主评议并执行评议结果
///
/// Needs `If-Match` with the evaluation's ETag (each vote moves it on, so the committee
/// closes what it last read). Fewer votes than the quorum recorded at scheduling: 409
/// `quorum_not_met`, and nothing changes. Otherwise the ballots are counted: more than the
/// recorded majority share of `qualified` votes is a pass, which moves the member's
/// relation back to the case's original branch (a `return` transfer) and concludes the
/// case (`returned`), in one transaction; anything else is a fail, which leaves the case
/// open (`evaluation_due` again, or `active` with the score back at the base when the
/// policy version of the evaluation restarts the score after a failed evaluation, written
/// as a correction entry). The tally is shown from now on; the evaluation is final
/// (409 `evaluation_closed`). Roles: `committee`.
///
/// 需带 `If-Match`（该评议的 ETag；
/// 每投一票版本都会前移，镇党委结束的是其最后看到的状态）。
/// 票数少于安排时记下的法定人数：409 `quorum_not_met`，不作任何改动。
/// 否则计票：`qualified` 票超过记下的通过比例即为通过，
/// 在同一事务中将该党员的组织关系转回档案记下的原支部（一次 `return` 接转）并结案（`returned`）；
/// 否则为未通过，档案继续在管（重新为 `evaluation_due`；
/// 若该评议所用计分办法规定未通过后积分重新计算，则回到基础分并转为 `active`，以一条更正记分写入）。
/// 此后显示计票结果；评议即为定论（409 `evaluation_closed`）。
/// 角色：`committee`。
#[utoipa::path(
    operation_id = "close_evaluation",
    tag = "evaluations",
    params(("town" = Uuid, Path, description = "The town's id."), ("evaluation" = Uuid, Path, description = "The evaluation's id.")),
    responses(
        (status = 200, description = "The closed evaluation, with its tally.", body = Evaluation,
         headers(("ETag" = String, description = "The evaluation's new version"))),
        (status = 409, description = "`quorum_not_met`, `evaluation_closed`, `case_concluded` (the case ended otherwise meanwhile), or for a pass `member_not_active` / `open_transfer_exists` (the return transfer cannot be made).",
         body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 428, description = "If-Match is missing.", body = crate::error::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["committee"])),
)]
#[post("/{evaluation}/close")]
pub(super) async fn close(
    auth: Auth<{ roles::COMMITTEE }>,
    db: web::Data<PgPool>,
    path: web::Path<(Uuid, Uuid)>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    let (town, id) = path.into_inner();
    let town = auth.town(&db, town).await?;
    let mut tx = db.begin().await?;
    let closed = workflow::close_evaluation(&mut tx, &auth, town, id, if_match).await?;
    tx.commit().await?;
    Ok(reply::with_etag(&closed, closed.version))
}

/// Call an evaluation off · 取消民主评议
///
/// For an open evaluation that cannot be held or closed (the panel cannot meet, the
/// quorum will not be reached): with a `reason`, it becomes `cancelled`, final; the
/// ballots cast are destroyed uncounted (no tally ever exists; who voted stays on record);
/// its case is due for an evaluation again (`evaluation_due`), so the committee can
/// schedule another with a new panel. Only before the quorum is reached: with it, the
/// evaluation must be closed (409 `quorum_met`). Needs `If-Match` with the evaluation's
/// ETag. A closed or cancelled evaluation: 409 `evaluation_closed`. Roles: `committee`.
///
/// 适用于无法举行或无法结束的进行中评议（评议小组无法到会、达不到法定人数）：写明 `reason` 后转为 `cancelled`，即为定论；
/// 已投的选票不计票即销毁（永远没有计票结果；谁投过票仍有记录）；
/// 其档案重新为待评议（`evaluation_due`），镇党委可另组评议小组再次安排。
/// 只能在达到法定人数之前取消：已达到的须结束评议（409 `quorum_met`）。
/// 需带 `If-Match`（该评议的 ETag）。
/// 已结束或已取消的评议：409 `evaluation_closed`。角色：`committee`。
#[utoipa::path(
    operation_id = "cancel_evaluation",
    tag = "evaluations",
    params(("town" = Uuid, Path, description = "The town's id."), ("evaluation" = Uuid, Path, description = "The evaluation's id.")),
    request_body = Cancellation,
    responses(
        (status = 200, description = "The cancelled evaluation.", body = Evaluation,
         headers(("ETag" = String, description = "The evaluation's new version"))),
        (status = 409, description = "`evaluation_closed`: it is closed or cancelled already; `quorum_met`: it has its quorum, close it instead.",
         body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 428, description = "If-Match is missing.", body = crate::error::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["committee"])),
)]
#[post("/{evaluation}/cancel")]
pub(super) async fn cancel(
    auth: Auth<{ roles::COMMITTEE }>,
    db: web::Data<PgPool>,
    path: web::Path<(Uuid, Uuid)>,
    if_match: IfMatch,
    body: Json<Cancellation>,
) -> Result<HttpResponse, ApiError> {
    let (town, id) = path.into_inner();
    let town = auth.town(&db, town).await?;
    let mut tx = db.begin().await?;
    let cancelled = workflow::cancel(&mut tx, &auth, town, id, if_match, &body).await?;
    tx.commit().await?;
    Ok(reply::with_etag(&cancelled, cancelled.version))
}
