//! Each change of the development pipeline in the caller's transaction: registering an
//! application, recording a step (and, at the approval and the conversion, the member
//! record), and the pipeline report. The rules in order, the SQL through `repo`, the
//! audit records (which are the change feed). No HTTP here.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde_json::json;
use sqlx::PgConnection;
use uuid::Uuid;

use super::domain::{
    self, ApplicantDetail, ApplicantRow, DevelopmentRules, Effect, NewApplicant, NewStep,
    OverdueKind, Stage, StepData, StepKind, ValidStep,
};
use super::repo;
use crate::audit::{self, Change};
use crate::auth::Caller;
use crate::error::{ApiError, FieldError};
use crate::http::extract::IfMatch;
use crate::members::domain::{NationalId, Phone, ValidMember};
use crate::msg;
use crate::transfers::domain::{NewTransferRecord, RecordKind};

/// The town's today and the development rules of its current policy.
pub async fn rules(
    conn: &mut PgConnection,
    town: Uuid,
) -> Result<(NaiveDate, DevelopmentRules), ApiError> {
    let today = crate::towns::repo::today(conn, town).await?;
    let policy = crate::policy::current(conn, town).await?;
    Ok((today, DevelopmentRules::from(&policy)))
}

/// Registers a written application to a branch of the town: the `application` step.
pub async fn register(
    tx: &mut PgConnection,
    by: &Caller,
    town: Uuid,
    new: &NewApplicant,
) -> Result<ApplicantDetail, ApiError> {
    let (today, rules) = rules(tx, town).await?;
    let valid = new.validate(&rules, today)?;
    if !repo::branch_exists(tx, town, valid.branch_id).await? {
        return Err(ApiError::invalid(
            "branch_id",
            "unknown_branch",
            msg!("本镇没有该支部。", "This town has no branch with this id."),
        ));
    }
    if repo::is_member(tx, town, valid.national_id.as_str()).await? {
        return Err(ApiError::conflict(
            "already_a_member",
            msg!(
                "该身份证号已是本镇党员。",
                "A member of the town has this national ID number already."
            ),
        ));
    }
    let row = repo::insert(tx, town, Uuid::now_v7(), &valid, &by.sub).await?;
    repo::insert_step(
        tx,
        town,
        row.id,
        StepKind::Application,
        valid.applied_on,
        &valid.received_by,
        None,
        json!({}),
        rules.version,
        &by.sub,
    )
    .await?;
    let data =
        json!({ "branch_id": row.branch_id, "stage": row.stage, "applied_on": row.applied_on });
    audit::record(
        tx,
        by,
        applicant_change(town, "applicant.applied", row.id, data),
    )
    .await?;
    detail(tx, town, row, &rules, today).await
}

/// An applicant with their steps, as of the town's today.
pub async fn read(
    conn: &mut PgConnection,
    town: Uuid,
    id: Uuid,
) -> Result<ApplicantDetail, ApiError> {
    let (today, rules) = rules(conn, town).await?;
    let row = repo::get(conn, town, id).await?.ok_or(ApiError::NotFound)?;
    detail(conn, town, row, &rules, today).await
}

/// Records a step: checks it against the stage, the dates and the policy, appends it,
/// moves the applicant on, and makes or updates the member record when the step says so.
pub async fn record_step(
    tx: &mut PgConnection,
    by: &Caller,
    town: Uuid,
    id: Uuid,
    if_match: IfMatch,
    new: &NewStep,
) -> Result<ApplicantDetail, ApiError> {
    let (today, rules) = rules(tx, town).await?;
    let current = repo::get_for_update(tx, town, id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let step = new.validate(&rules, today)?;
    if_match.check(current.version)?;
    let effect = domain::check_step(&current, &step, &rules, by.role)?;
    check_sponsors(tx, town, &step).await?;
    let recorded = repo::insert_step(
        tx,
        town,
        id,
        step.kind,
        step.taken_on,
        &step.decided_by,
        step.note.as_deref(),
        step.data_json(),
        rules.version,
        &by.sub,
    )
    .await?;
    if let StepData::People(ids) = &step.data {
        let role = match step.kind {
            StepKind::ActivistDesignation => "contact",
            _ => "introducer",
        };
        repo::insert_sponsors(tx, town, id, role, recorded.id, ids).await?;
    }
    let was = current.stage;
    let mut next = domain::apply(current, &step, effect);
    update_member(tx, by, &mut next, was, effect).await?;
    next.version = repo::save(tx, &next).await?;
    let data = json!({
        "step_id": recorded.id,
        "kind": step.kind,
        "taken_on": step.taken_on,
        "stage": next.stage,
        "member_id": next.member_id,
        "policy_version": rules.version,
        "version": next.version,
    });
    audit::record(
        tx,
        by,
        applicant_change(town, "applicant.step_recorded", id, data),
    )
    .await?;
    detail(tx, town, next, &rules, today).await
}

/// Contact persons and introducers are full members of the town in one of its branches
/// (422 `not_a_full_member` naming the field otherwise).
async fn check_sponsors(
    tx: &mut PgConnection,
    town: Uuid,
    step: &ValidStep,
) -> Result<(), ApiError> {
    let StepData::People(ids) = &step.data else {
        return Ok(());
    };
    let field = match step.kind {
        StepKind::ActivistDesignation => "contacts",
        _ => "introducers",
    };
    let refused = repo::not_full_members(tx, town, ids).await?;
    if refused.is_empty() {
        return Ok(());
    }
    let list = refused
        .iter()
        .map(Uuid::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    Err(ApiError::Validation(vec![FieldError::new(
        field,
        "not_a_full_member",
        msg!(
            ("{} 须为本镇在册的正式党员：{} 不是。", field, list),
            (
                "`{}` must be full members of the town in one of its branches: {} is not.",
                field,
                list
            )
        ),
    )]))
}

/// The member record's side of a step: made at the approval (probationary, in the
/// applicant's branch, by a registration transfer), made full at the conversion (party
/// standing from the end of the probation), removed at a probationary member's
/// disqualification. Each is a change of the member on the feed and in the audit trail.
async fn update_member(
    tx: &mut PgConnection,
    by: &Caller,
    a: &mut ApplicantRow,
    was: Stage,
    effect: Effect,
) -> Result<(), ApiError> {
    let town = a.town_id;
    match effect {
        Effect::Approval { .. } => {
            let joined = a.approved_on.expect("set by the approval");
            let member = ValidMember {
                name: a.name.clone(),
                national_id: NationalId::from_trusted(a.national_id.clone()),
                phone: a.phone.clone().map(Phone::from_trusted),
                village: a.village.clone(),
                branch_id: a.branch_id,
                joined_party_on: Some(joined),
                reserve_cadre: false,
                outstanding_young: false,
            };
            let row = crate::members::repo::insert(tx, town, Uuid::now_v7(), &member).await?;
            let registration = NewTransferRecord {
                town_id: town,
                member_id: row.id,
                kind: RecordKind::Registration,
                to_branch_id: a.branch_id,
                reason: "发展党员：镇党委审批为预备党员".to_owned(),
                decided_on: joined,
            };
            crate::transfers::repo::record(tx, by, registration).await?;
            repo::make_probationary(tx, town, row.id).await?;
            a.member_id = Some(row.id);
            let data = json!({
                "branch_id": a.branch_id,
                "standing": "probationary",
                "applicant_id": a.id,
                "probation_ends_on": a.probation_ends_on,
            });
            audit::record(tx, by, member_change(town, "member.created", row.id, data)).await?;
        }
        Effect::Conversion => {
            let member = a
                .member_id
                .expect("a probationary applicant has a member record");
            let since = a.probation_ends_on.expect("set by the approval");
            repo::make_full(tx, town, member, since).await?;
            let data =
                json!({ "standing": "full", "full_member_since": since, "applicant_id": a.id });
            audit::record(
                tx,
                by,
                member_change(town, "member.converted", member, data),
            )
            .await?;
        }
        Effect::End(Stage::Disqualified) if was == Stage::Probationary => {
            let member = a
                .member_id
                .expect("a probationary applicant has a member record");
            repo::remove_member(tx, town, member).await?;
            let data = json!({ "status": "removed", "applicant_id": a.id });
            audit::record(
                tx,
                by,
                member_change(town, "member.disqualified", member, data),
            )
            .await?;
        }
        _ => {}
    }
    Ok(())
}

async fn detail(
    conn: &mut PgConnection,
    town: Uuid,
    row: ApplicantRow,
    rules: &DevelopmentRules,
    today: NaiveDate,
) -> Result<ApplicantDetail, ApiError> {
    let steps = repo::steps(conn, town, row.id).await?;
    Ok(ApplicantDetail {
        applicant: row.view(rules, today),
        steps,
    })
}

/// 统计表的一行：一个支部或全镇合计。 One branch's line of the pipeline report (or the town's total).
#[derive(Debug, Clone, Default, serde::Serialize, utoipa::ToSchema)]
pub struct PipelineLine {
    /// 支部；合计行为空。 The branch; none on the town's total.
    pub branch_id: Option<Uuid>,
    /// 支部名称，合计行为“全镇合计”。 The branch's name, or 全镇合计 on the total.
    pub branch_name: String,
    /// 入党申请人。 Applicants.
    pub applicant: i64,
    /// 入党积极分子。 Activists.
    pub activist: i64,
    /// 发展对象。 Candidates.
    pub candidate: i64,
    /// 预备党员。 Probationary members.
    pub probationary: i64,
    /// 已转为正式党员。 Converted to full members.
    pub full: i64,
    /// 已撤回申请。 Withdrawn.
    pub withdrawn: i64,
    /// 已取消资格。 Disqualified.
    pub disqualified: i64,
    /// 逾期未谈话。 Talks not held in time.
    pub overdue_talks: i64,
    /// 逾期未考察。 Activists' reviews overdue.
    pub overdue_reviews: i64,
    /// 逾期未审批。 Admissions not approved in time.
    pub overdue_approvals: i64,
    /// 预备期满未转正。 Probations past their end.
    pub overdue_conversions: i64,
}

impl PipelineLine {
    fn count(&mut self, stage: Stage, n: i64) {
        let slot = match stage {
            Stage::Applicant => &mut self.applicant,
            Stage::Activist => &mut self.activist,
            Stage::Candidate => &mut self.candidate,
            Stage::Probationary => &mut self.probationary,
            Stage::Full => &mut self.full,
            Stage::Withdrawn => &mut self.withdrawn,
            Stage::Disqualified => &mut self.disqualified,
        };
        *slot += n;
    }

    fn late(&mut self, kind: OverdueKind) {
        *match kind {
            OverdueKind::Talk => &mut self.overdue_talks,
            OverdueKind::Review => &mut self.overdue_reviews,
            OverdueKind::Approval => &mut self.overdue_approvals,
            OverdueKind::Conversion => &mut self.overdue_conversions,
        } += 1;
    }

    fn add(&mut self, o: &PipelineLine) {
        self.applicant += o.applicant;
        self.activist += o.activist;
        self.candidate += o.candidate;
        self.probationary += o.probationary;
        self.full += o.full;
        self.withdrawn += o.withdrawn;
        self.disqualified += o.disqualified;
        self.overdue_talks += o.overdue_talks;
        self.overdue_reviews += o.overdue_reviews;
        self.overdue_approvals += o.overdue_approvals;
        self.overdue_conversions += o.overdue_conversions;
    }
}

/// 一项逾期事项。 A late step of one applicant, for the overdue listing.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct OverdueLine {
    /// 人员编号。 The applicant.
    pub applicant_id: Uuid,
    /// 姓名。 Their name.
    pub name: String,
    /// 支部。 Their branch.
    pub branch_id: Uuid,
    /// 支部名称。 The branch's name.
    pub branch_name: String,
    /// 阶段。 Their stage.
    pub stage: Stage,
    /// 逾期事项。 The late step.
    pub kind: OverdueKind,
    /// 应办日期。 The last day it was due.
    pub due_on: NaiveDate,
    /// 逾期天数。 Days past `due_on`, in the town's today.
    pub days_overdue: i64,
}

/// 全镇或一个支部的发展党员工作统计。 The pipeline of a town or one of its branches.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct PipelineReport {
    /// 镇。 The town.
    pub town_id: Uuid,
    /// 所查询的支部（如有）。 The branch asked for, if any.
    pub branch_id: Option<Uuid>,
    /// 统计日期（本镇今天）。 The day the counts and the late steps are as of (the town's today).
    pub as_of: NaiveDate,
    /// 期限所依据的规则参数版本。 The policy version the deadlines come from.
    pub policy_version: i32,
    /// 各支部一行。 One line per branch with applicants, by branch name.
    pub branches: Vec<PipelineLine>,
    /// 全镇合计。 The sum of the lines.
    pub total: PipelineLine,
    /// 全部逾期事项，逾期最久的在前。 Every late step, longest overdue first.
    pub overdue: Vec<OverdueLine>,
}

/// The headings of the pipeline report's files, one column per field of [`PipelineLine`].
pub const PIPELINE_HEADINGS: [&str; 13] = [
    "支部",
    "支部编号",
    "入党申请人",
    "入党积极分子",
    "发展对象",
    "预备党员",
    "正式党员",
    "已撤回申请",
    "已取消资格",
    "逾期未谈话",
    "逾期未考察",
    "逾期未审批",
    "预备期满未转正",
];

/// The headings of the overdue listing's files.
pub const OVERDUE_HEADINGS: [&str; 7] = [
    "姓名",
    "支部",
    "阶段",
    "逾期事项",
    "应办日期",
    "逾期天数",
    "人员编号",
];

impl PipelineLine {
    fn cells(&self) -> Vec<String> {
        let mut row = vec![
            self.branch_name.clone(),
            self.branch_id.map(|b| b.to_string()).unwrap_or_default(),
        ];
        let counts = [
            self.applicant,
            self.activist,
            self.candidate,
            self.probationary,
            self.full,
            self.withdrawn,
            self.disqualified,
            self.overdue_talks,
            self.overdue_reviews,
            self.overdue_approvals,
            self.overdue_conversions,
        ];
        row.extend(counts.map(|n| n.to_string()));
        row
    }
}

impl PipelineReport {
    /// The counts as the rows of a file: one per branch, the town's total last.
    pub fn count_rows(&self) -> Vec<Vec<String>> {
        let mut rows: Vec<Vec<String>> = self.branches.iter().map(PipelineLine::cells).collect();
        rows.push(self.total.cells());
        rows
    }

    /// The late steps as the rows of a file.
    pub fn overdue_rows(&self) -> Vec<Vec<String>> {
        self.overdue
            .iter()
            .map(|o| {
                vec![
                    o.name.clone(),
                    o.branch_name.clone(),
                    o.stage.label().to_owned(),
                    o.kind.label().to_owned(),
                    o.due_on.to_string(),
                    o.days_overdue.to_string(),
                    o.applicant_id.to_string(),
                ]
            })
            .collect()
    }
}

/// Counts by branch and stage, and the late steps, as of today (404 for a branch that is
/// not the town's).
pub async fn pipeline(
    conn: &mut PgConnection,
    town: Uuid,
    branch: Option<Uuid>,
) -> Result<PipelineReport, ApiError> {
    if let Some(b) = branch
        && !repo::branch_exists(conn, town, b).await?
    {
        return Err(ApiError::NotFound);
    }
    let (today, rules) = rules(conn, town).await?;
    let names: BTreeMap<Uuid, String> = repo::branch_names(conn, town).await?.into_iter().collect();
    let mut lines: BTreeMap<Uuid, PipelineLine> = BTreeMap::new();
    let line = |id: Uuid| -> PipelineLine {
        PipelineLine {
            branch_id: Some(id),
            branch_name: names.get(&id).cloned().unwrap_or_default(),
            ..PipelineLine::default()
        }
    };
    for c in repo::stage_counts(conn, town, branch).await? {
        lines
            .entry(c.branch_id)
            .or_insert_with(|| line(c.branch_id))
            .count(c.stage, c.count);
    }
    let mut overdue = Vec::new();
    for a in repo::open(conn, town, branch).await? {
        let Some(late) = domain::overdue(&a, &rules, today) else {
            continue;
        };
        lines
            .entry(a.branch_id)
            .or_insert_with(|| line(a.branch_id))
            .late(late.kind);
        overdue.push(OverdueLine {
            applicant_id: a.id,
            branch_name: names.get(&a.branch_id).cloned().unwrap_or_default(),
            name: a.name,
            branch_id: a.branch_id,
            stage: a.stage,
            kind: late.kind,
            due_on: late.due_on,
            days_overdue: (today - late.due_on).num_days(),
        });
    }
    overdue.sort_by_key(|o| (o.due_on, o.applicant_id));
    let mut branches: Vec<PipelineLine> = lines.into_values().collect();
    branches.sort_by(|a, b| (&a.branch_name, a.branch_id).cmp(&(&b.branch_name, b.branch_id)));
    let mut total = PipelineLine {
        branch_name: "全镇合计".to_owned(),
        ..PipelineLine::default()
    };
    for l in &branches {
        total.add(l);
    }
    Ok(PipelineReport {
        town_id: town,
        branch_id: branch,
        as_of: today,
        policy_version: rules.version,
        branches,
        total,
        overdue,
    })
}

fn applicant_change(town: Uuid, action: &'static str, id: Uuid, data: serde_json::Value) -> Change {
    Change {
        town_id: town,
        action,
        resource_type: "applicant",
        resource_id: id,
        data,
    }
}

fn member_change(town: Uuid, action: &'static str, id: Uuid, data: serde_json::Value) -> Change {
    Change {
        town_id: town,
        action,
        resource_type: "member",
        resource_id: id,
        data,
    }
}
