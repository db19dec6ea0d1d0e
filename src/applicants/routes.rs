//! The development endpoints: HTTP in, a workflow call, HTTP out.

use actix_web::{HttpRequest, HttpResponse, get, post, web};
use serde::Deserialize;
use sqlx::PgPool;
use utoipa::IntoParams;
use uuid::Uuid;

use super::domain::{Applicant, ApplicantDetail, NewApplicant, NewStep, Stage};
use super::repo::{self, Filter};
use super::workflow::{self, OVERDUE_HEADINGS, PIPELINE_HEADINGS, PipelineReport};
use crate::auth::{Auth, roles};
use crate::error::ApiError;
use crate::http::extract::{IdempotencyKey, IfMatch, Json, etag};
use crate::http::formats::{ExportFormat, FormatQuery, download, negotiated};
use crate::http::idempotency::{Answer, idempotent};
use crate::http::paging::{Page, PageParams};
use crate::http::reply;

/// 人员列表的筛选条件。 Filters of the applicant list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ApplicantFilter {
    /// 只列此阶段。 Only applicants at this stage.
    pub stage: Option<Stage>,
    /// 只列此支部。 Only applicants of this branch.
    pub branch_id: Option<Uuid>,
}

/// 统计的支部。 The branch of a pipeline report.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct BranchQuery {
    /// 只统计本镇此支部；不给则为全镇。 Only this branch of the town; the whole town without it.
    pub branch_id: Option<Uuid>,
}

fn location(town: Uuid, id: Uuid) -> String {
    format!("/api/v1/towns/{town}/applicants/{id}")
}

fn created(town: Uuid, d: &ApplicantDetail) -> Result<Answer, ApiError> {
    Answer::created(d, etag(d.applicant.version), location(town, d.applicant.id))
}

/// Register a written application for party membership · 登记入党申请
///
/// Registers a written application to a branch of the town (the `application` step). The
/// applicant must be old enough on `applied_on` (policy `applicant_min_age`, 18: 422
/// `too_young`), not already a member of the town (409 `already_a_member`), and without
/// another open application in the town (409 `application_open`; one who withdrew may
/// apply again). The branch then talks with them within `talk_within_months` (1). The
/// answer is the applicant at stage `applicant` with the `application` step. Roles:
/// `staff`, `committee`.
///
/// 登记递交给本镇某党支部的入党申请书（即 `application` 步骤）。
/// 申请人在申请之日须达到最低年龄（计分办法 `applicant_min_age`，默认 18 周岁；否则 422 `too_young`），
/// 不能已是本镇党员（409 `already_a_member`），在本镇也不能另有正在办理的申请（409 `application_open`；撤回申请的人可以再次申请）。
/// 此后党支部须在 `talk_within_months`（默认 1 个月）内同其谈话。
/// 返回处于 `applicant` 阶段、带 `application` 步骤的人员。角色：`staff`、`committee`。
#[utoipa::path(
    operation_id = "register_applicant",
    tag = "applicants",
    params(("town" = Uuid, Path, description = "The town's id.")),
    request_body = NewApplicant,
    responses(
        (status = 201, description = "The application was registered.", body = ApplicantDetail,
         headers(("ETag" = String, description = "The applicant's version"), ("Location" = String, description = "The applicant's URL"))),
        (status = 409, description = "`already_a_member`: a member of the town has this national ID number; `application_open`: this person has an application on its way in the town.", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`: `national_id` invalid or too young on `applied_on` (`too_young`), `applied_on` in the future (`in_the_future`), `branch_id` not a branch of the town (`unknown_branch`), a text blank, too long or with control characters; `idempotency_key_reused`.", body = crate::error::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["staff", "committee"])),
)]
#[post("")]
pub(super) async fn register_applicant(
    auth: Auth<{ roles::STAFF | roles::COMMITTEE }>,
    db: web::Data<PgPool>,
    req: HttpRequest,
    path: web::Path<Uuid>,
    key: IdempotencyKey,
    body: Json<NewApplicant>,
) -> Result<HttpResponse, ApiError> {
    let town = auth.town(&db, path.into_inner()).await?;
    idempotent(&db, &auth, &key, &req, &*body, async |tx| {
        created(town, &workflow::register(tx, &auth, town, &body).await?)
    })
    .await
}

/// List a town's applicants · 列出本镇发展党员工作中的人员
///
/// Filters by stage and branch; each shows the step that is late today, if any (by the
/// deadlines of the current policy), without their steps. Roles: `staff`, `committee`,
/// `county`.
///
/// 本镇发展党员工作中的人员（不含步骤），可按阶段和支部筛选；
/// 每人显示今天已逾期的步骤（按现行计分办法的期限），没有则为空。角色：`staff`、`committee`、`county`。
#[utoipa::path(
    operation_id = "list_applicants",
    tag = "applicants",
    params(("town" = Uuid, Path, description = "The town's id."), ApplicantFilter, PageParams),
    responses((status = 200, description = "A page of applicants, without their steps.", body = Page<Applicant>)),
    security(("bearer" = ["staff", "committee", "county"])),
)]
#[get("")]
pub(super) async fn list_applicants(
    auth: Auth<{ roles::STAFF | roles::COMMITTEE | roles::COUNTY }>,
    db: web::Data<PgPool>,
    path: web::Path<Uuid>,
    filter: web::Query<ApplicantFilter>,
    page: web::Query<PageParams>,
) -> Result<web::Json<Page<Applicant>>, ApiError> {
    let town = auth.town(&db, path.into_inner()).await?;
    let keyset = page.keyset()?;
    let mut conn = db.acquire().await?;
    let (today, rules) = workflow::rules(&mut conn, town).await?;
    let f = Filter {
        stage: filter.stage,
        branch_id: filter.branch_id,
    };
    let rows = repo::list(&mut conn, town, f, keyset).await?;
    let items: Vec<Applicant> = rows.into_iter().map(|r| r.view(&rules, today)).collect();
    Ok(web::Json(Page::from_rows(items, keyset, |a| a.id)))
}

/// Read an applicant, with every step · 查看一名人员及其全部步骤
///
/// The applicant with every step: its date, who decided it, who recorded it and the policy
/// version it was checked against. Roles: `staff`, `committee`, `county`.
///
/// 一名人员及其全部步骤：每一步的日期、决定者、记录人以及据以核对的计分办法版本。
/// 角色：`staff`、`committee`、`county`。
#[utoipa::path(
    operation_id = "get_applicant",
    tag = "applicants",
    params(("town" = Uuid, Path, description = "The town's id."), ("applicant" = Uuid, Path, description = "The applicant's id.")),
    responses((status = 200, description = "The applicant and their steps.", body = ApplicantDetail,
               headers(("ETag" = String, description = "The applicant's version")))),
    security(("bearer" = ["staff", "committee", "county"])),
)]
#[get("/{applicant}")]
pub(super) async fn get_applicant(
    auth: Auth<{ roles::STAFF | roles::COMMITTEE | roles::COUNTY }>,
    db: web::Data<PgPool>,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    let (town, id) = path.into_inner();
    let town = auth.town(&db, town).await?;
    let mut conn = db.acquire().await?;
    let d = workflow::read(&mut conn, town, id).await?;
    Ok(reply::with_etag(&d, d.applicant.version))
}

/// Record a step of an applicant's development · 记录发展党员的一个步骤
///
/// Each `kind` has its stage and its rules (numbers from the town's policy):
/// `talk` (applicant); `activist_designation` (applicant, after the talk; `contacts`: 1 to 2
/// full members); `review` (activist; every 6 months); `candidate_designation` (activist
/// for at least 12 months; `introducers`: 2 full members; **committee**);
/// `political_review` and `training` (candidate; `days` at least 3); `admission`
/// (candidate, after both; a branch general meeting vote: `eligible`, `present`,
/// `in_favour`, more than 50% of `eligible` in favour); `approval` (within 3 months of the
/// admission; starts a 12-month probation and makes the member record, standing
/// `probationary`; **committee**); `extension` (probationary, once, `months` 6 to 12;
/// **committee**); `conversion_vote` (probationary, from the end of the probation, same
/// majority); `conversion` (after the vote: the member becomes `full`, party standing from
/// the end of the probation; **committee**); `withdrawal` (before the probation);
/// `disqualification` (any open stage; of a probationary member by the **committee**,
/// whose member record is then `removed`). Needs `If-Match` with the applicant's ETag.
/// Roles: `staff`, `committee` (the steps marked committee: `committee` only).
///
/// 每种步骤（`kind`）有其适用阶段和规则（数值取自本镇计分办法）：
/// `talk` 谈话（入党申请人）；`activist_designation` 确定为入党积极分子（入党申请人，谈话之后；`contacts` 培养联系人 1 至 2 名正式党员）；
/// `review` 考察（入党积极分子，每 6 个月一次）；`candidate_designation` 列为发展对象（担任入党积极分子满 12 个月；`introducers` 入党介绍人 2 名正式党员；**镇党委**）；
/// `political_review` 政治审查和 `training` 集中培训（发展对象；`days` 不少于 3 天）；
/// `admission` 支部大会讨论接收（发展对象，政审和培训之后；表决：`eligible` 有表决权人数、`present` 到会人数、`in_favour` 赞成人数，赞成须超过 `eligible` 的 50%）；
/// `approval` 审批（支部大会通过后 3 个月内；预备期 12 个月开始，并建立预备党员（`probationary`）档案；**镇党委**）；
/// `extension` 延长预备期（预备党员，仅一次，`months` 6 至 12 个月；**镇党委**）；
/// `conversion_vote` 讨论转正（预备党员，预备期满后，同样的多数）；
/// `conversion` 审批转正（讨论通过后：成为正式党员（`full`），党龄自预备期满之日起算；**镇党委**）；
/// `withdrawal` 撤回申请（预备期前）；`disqualification` 取消资格（任一未结束的阶段；预备党员须由**镇党委**决定，其党员档案随之为 `removed`）。
/// 须带 `If-Match`（该人员的 ETag）。角色：`staff`、`committee`（标明镇党委的步骤仅限 `committee`）。
#[utoipa::path(
    operation_id = "record_applicant_step",
    tag = "applicants",
    params(("town" = Uuid, Path, description = "The town's id."), ("applicant" = Uuid, Path, description = "The applicant's id.")),
    request_body = NewStep,
    responses(
        (status = 201, description = "The step was recorded; the answer is the applicant with their steps.", body = ApplicantDetail,
         headers(("ETag" = String, description = "The applicant's new version"), ("Location" = String, description = "The applicant's URL"))),
        (status = 403, description = "`forbidden`: the step is the committee's to decide.", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "A rule of the pipeline: `applicant_closed` (full, withdrawn or disqualified), `wrong_stage`, `step_recorded` (once only), `talk_not_held`, `activist_too_short` (`activist_min_months`), `political_review_missing`, `training_missing`, `majority_not_reached` (`development_majority_percent`), `admission_pending`, `not_admitted`, `approval_deadline_passed` (`approval_within_months`), `extension_used`, `conversion_voted`, `probation_not_over` (`probation_months`), `conversion_vote_missing`; `national_id_taken` at an approval.", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`: `taken_on` in the future (`in_the_future`) or before the step it follows (`before_previous_step`); a field the kind does not take (`not_allowed`) or lacks (`required`); `contacts`/`introducers` of the wrong number (`wrong_count`), twice the same (`duplicate`) or not full members of the town (`not_a_full_member`); `days` too few (`training_too_short`); `months` out of range (`extension_out_of_range`); vote counts inconsistent (`more_than_eligible`, `more_than_present`); `kind` `application` (`not_a_step`); `idempotency_key_reused`.", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 428, description = "`precondition_required`: `If-Match` is missing.", body = crate::error::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["staff", "committee"])),
)]
#[post("/{applicant}/steps")]
pub(super) async fn record_step(
    auth: Auth<{ roles::STAFF | roles::COMMITTEE }>,
    db: web::Data<PgPool>,
    req: HttpRequest,
    path: web::Path<(Uuid, Uuid)>,
    key: IdempotencyKey,
    if_match: IfMatch,
    body: Json<NewStep>,
) -> Result<HttpResponse, ApiError> {
    let (town, id) = path.into_inner();
    let town = auth.town(&db, town).await?;
    idempotent(&db, &auth, &key, &req, &*body, async |tx| {
        let d = workflow::record_step(tx, &auth, town, id, if_match, &body).await?;
        created(town, &d)
    })
    .await
}

/// The development pipeline of a town or a branch · 发展党员工作统计
///
/// Per branch with applicants: how many are at each stage, and how many steps are late
/// (talks, reviews, approvals, conversions), with the town's total and every late step.
/// JSON (`PipelineReport`), or CSV or XLSX of the counts by `?format=` or `Accept`; the
/// files' headings: 支部, 支部编号, 入党申请人, 入党积极分子, 发展对象, 预备党员, 正式党员,
/// 已撤回申请, 已取消资格, 逾期未谈话, 逾期未考察, 逾期未审批, 预备期满未转正 (the last line is
/// 全镇合计). Roles: `staff`, `committee`, `county`.
///
/// 全镇（或一个支部）每个有发展对象的支部各阶段的人数和逾期步骤数（谈话、考察、审批、转正），附全镇合计和每个逾期步骤。
/// JSON（`PipelineReport`），或人数表的 CSV、XLSX，由 `?format=` 或 `Accept` 决定；
/// 文件的列标题：支部、支部编号、入党申请人、入党积极分子、发展对象、预备党员、正式党员、已撤回申请、已取消资格、逾期未谈话、逾期未考察、逾期未审批、预备期满未转正（最后一行为全镇合计）。
/// 角色：`staff`、`committee`、`county`。
#[utoipa::path(
    operation_id = "export_development_pipeline",
    tag = "reports",
    params(("town" = Uuid, Path, description = "The town's id."), BranchQuery, FormatQuery),
    responses((status = 200, description = "The pipeline.",
               content((PipelineReport = "application/json"), (String = "text/csv"), (crate::http::formats::Spreadsheet = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")))),
    security(("bearer" = ["staff", "committee", "county"])),
)]
#[get("/development")]
pub(super) async fn development_report(
    auth: Auth<{ roles::STAFF | roles::COMMITTEE | roles::COUNTY }>,
    db: web::Data<PgPool>,
    req: HttpRequest,
    path: web::Path<Uuid>,
    branch: web::Query<BranchQuery>,
    query: web::Query<FormatQuery>,
) -> Result<HttpResponse, ApiError> {
    let town = auth.town(&db, path.into_inner()).await?;
    let format = ExportFormat::negotiate(query.format, &req);
    let mut conn = db.acquire().await?;
    let r = workflow::pipeline(&mut conn, town, branch.branch_id).await?;
    match format {
        ExportFormat::Json => Ok(negotiated().json(&r)),
        f => download(
            f,
            &format!("development-{}", r.as_of),
            &PIPELINE_HEADINGS,
            &r.count_rows(),
        ),
    }
}

/// The late steps of the development pipeline · 发展党员逾期事项
///
/// Every late step of the town (or a branch), longest overdue first: talks, reviews,
/// approvals and conversions past their policy deadline. JSON (`PipelineReport`, its
/// `overdue`), or CSV or XLSX by `?format=` or `Accept`; the files' headings: 姓名, 支部,
/// 阶段, 逾期事项, 应办日期, 逾期天数, 人员编号. Roles: `staff`, `committee`, `county`.
///
/// 全镇（或一个支部）的每个逾期步骤，逾期最久的在前：逾期未谈话、逾期未考察、逾期未审批、预备期满未转正（按计分办法的期限）。
/// JSON（`PipelineReport` 的 `overdue`），或 CSV、XLSX，由 `?format=` 或 `Accept` 决定；
/// 文件的列标题：姓名、支部、阶段、逾期事项、应办日期、逾期天数、人员编号。角色：`staff`、`committee`、`county`。
#[utoipa::path(
    operation_id = "export_development_overdue",
    tag = "reports",
    params(("town" = Uuid, Path, description = "The town's id."), BranchQuery, FormatQuery),
    responses((status = 200, description = "The late steps.",
               content((PipelineReport = "application/json"), (String = "text/csv"), (crate::http::formats::Spreadsheet = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")))),
    security(("bearer" = ["staff", "committee", "county"])),
)]
#[get("/development-overdue")]
pub(super) async fn development_overdue_report(
    auth: Auth<{ roles::STAFF | roles::COMMITTEE | roles::COUNTY }>,
    db: web::Data<PgPool>,
    req: HttpRequest,
    path: web::Path<Uuid>,
    branch: web::Query<BranchQuery>,
    query: web::Query<FormatQuery>,
) -> Result<HttpResponse, ApiError> {
    let town = auth.town(&db, path.into_inner()).await?;
    let format = ExportFormat::negotiate(query.format, &req);
    let mut conn = db.acquire().await?;
    let r = workflow::pipeline(&mut conn, town, branch.branch_id).await?;
    match format {
        ExportFormat::Json => Ok(negotiated().json(&r)),
        f => {
            let name = format!("development-overdue-{}", r.as_of);
            download(f, &name, &OVERDUE_HEADINGS, &r.overdue_rows())
        }
    }
}
