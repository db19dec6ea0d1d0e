//! Member development (发展党员): pure types and rules, by 中国共产党发展党员工作细则 (2014).
//!
//! An applicant moves `applicant -> activist -> candidate -> probationary -> full`, or ends
//! `withdrawn` or `disqualified`. Each move is a step with its date and who decided it;
//! [`check_step`] says whether a step may be taken now and what it changes, with every
//! number from the town's policy ([`DevelopmentRules`]); [`overdue`] says which steps are
//! late on a given day.

use chrono::{DateTime, Datelike, Months, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::Role;
use crate::error::{ApiError, FieldError, Msg};
use crate::members::domain::{NationalId, NationalIdInput, Phone, check_national_id, check_phone};
use crate::msg;
use crate::validate::Checks;

crate::text_enum! {
    /// 发展阶段。 Where an applicant is on the way to membership.
    pub enum Stage {
        /// 入党申请人: applied in writing; the branch talks with them within a month.
        Applicant = "applicant",
        /// 入党积极分子: designated by the branch, with contact persons; reviewed every half year.
        Activist = "activist",
        /// 发展对象: designated by the committee after a year as activist, with two introducers.
        Candidate = "candidate",
        /// 预备党员: admitted by the branch general meeting and approved by the committee.
        Probationary = "probationary",
        /// 正式党员: converted at the end of the probation (final).
        Full = "full",
        /// 撤回申请: withdrew the application (final).
        Withdrawn = "withdrawn",
        /// 取消资格: disqualified at any stage before full membership (final).
        Disqualified = "disqualified",
    }
}

impl Stage {
    /// Whether nothing more can happen to the applicant.
    pub fn is_final(self) -> bool {
        matches!(self, Stage::Full | Stage::Withdrawn | Stage::Disqualified)
    }

    /// The stage's Chinese name, for reports.
    pub fn label(self) -> &'static str {
        match self {
            Stage::Applicant => "入党申请人",
            Stage::Activist => "入党积极分子",
            Stage::Candidate => "发展对象",
            Stage::Probationary => "预备党员",
            Stage::Full => "正式党员",
            Stage::Withdrawn => "已撤回申请",
            Stage::Disqualified => "已取消资格",
        }
    }
}

crate::text_enum! {
    /// 发展党员的步骤。 A step of the development pipeline.
    pub enum StepKind {
        /// The written application (入党申请), recorded when the applicant is registered.
        Application = "application",
        /// The branch's talk with the applicant (谈话), within a month of the application.
        Talk = "talk",
        /// The branch designates the applicant an activist, naming contact persons.
        ActivistDesignation = "activist_designation",
        /// A half-yearly review of an activist (考察).
        Review = "review",
        /// The committee designates the activist a candidate, naming introducers (committee).
        CandidateDesignation = "candidate_designation",
        /// The political review of a candidate (政治审查), with its conclusion.
        PoliticalReview = "political_review",
        /// The candidate's short training (集中培训), with its days.
        Training = "training",
        /// The branch general meeting admits the candidate (支部大会讨论接收), with its vote.
        Admission = "admission",
        /// The committee approves the admission (审批), which starts the probation (committee).
        Approval = "approval",
        /// The probation is extended once, by months (延长预备期) (committee).
        Extension = "extension",
        /// The branch general meeting votes the conversion (转正讨论), with its vote.
        ConversionVote = "conversion_vote",
        /// The committee approves the conversion (转正审批): a full member (committee).
        Conversion = "conversion",
        /// The applicant withdraws (before the probation).
        Withdrawal = "withdrawal",
        /// The applicant is disqualified (取消资格); of a probationary member, by the committee.
        Disqualification = "disqualification",
    }
}

crate::text_enum! {
    /// 逾期的步骤。 A step that is late.
    pub enum OverdueKind {
        /// 逾期未谈话: no talk within the policy's months of the application.
        Talk = "talk",
        /// 逾期未考察: an activist's last review (or designation) is older than the review period.
        Review = "review",
        /// 逾期未审批: an admission not approved within the policy's months.
        Approval = "approval",
        /// 预备期满未转正: a probation past its end without a conversion.
        Conversion = "conversion",
    }
}

impl OverdueKind {
    /// The late step's Chinese name, for reports.
    pub fn label(self) -> &'static str {
        match self {
            OverdueKind::Talk => "逾期未谈话",
            OverdueKind::Review => "逾期未考察",
            OverdueKind::Approval => "逾期未审批",
            OverdueKind::Conversion => "预备期满未转正",
        }
    }
}

/// The development numbers of a town's policy version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DevelopmentRules {
    /// The version they come from.
    pub version: i32,
    /// Minimum age on the day of the application.
    pub applicant_min_age: i32,
    /// Months within which the branch talks with the applicant.
    pub talk_within_months: i32,
    /// Fewest contact persons of an activist.
    pub contacts_min: i32,
    /// Most contact persons of an activist.
    pub contacts_max: i32,
    /// Months between reviews of an activist.
    pub activist_review_months: i32,
    /// Fewest months as an activist before candidacy.
    pub activist_min_months: i32,
    /// Introducers of a candidate.
    pub introducers: i32,
    /// Fewest days of training.
    pub training_min_days: i32,
    /// More than this percentage of the full members with a vote must be in favour.
    pub majority_percent: i32,
    /// Months within which the committee approves an admission.
    pub approval_within_months: i32,
    /// Months of probation.
    pub probation_months: i32,
    /// Shortest extension in months.
    pub extension_min_months: i32,
    /// Longest extension in months.
    pub extension_max_months: i32,
}

impl DevelopmentRules {
    /// The rules as written in the 2014 regulations (the policy's defaults).
    pub fn as_written() -> DevelopmentRules {
        DevelopmentRules {
            version: 1,
            applicant_min_age: 18,
            talk_within_months: 1,
            contacts_min: 1,
            contacts_max: 2,
            activist_review_months: 6,
            activist_min_months: 12,
            introducers: 2,
            training_min_days: 3,
            majority_percent: 50,
            approval_within_months: 3,
            probation_months: 12,
            extension_min_months: 6,
            extension_max_months: 12,
        }
    }
}

/// `date` plus `months` calendar months (31 January + 1 month = 28 or 29 February), or
/// the latest date for a sum beyond the calendar.
pub fn plus_months(date: NaiveDate, months: i32) -> NaiveDate {
    date.checked_add_months(Months::new(months.max(0).unsigned_abs()))
        .unwrap_or(NaiveDate::MAX)
}

/// Full years of age on `on` of someone born on `birth`.
pub fn age_on(birth: NaiveDate, on: NaiveDate) -> i32 {
    let mut age = on.year() - birth.year();
    if (on.month(), on.day()) < (birth.month(), birth.day()) {
        age -= 1;
    }
    age
}

/// Whether `in_favour` of `eligible` full members with a vote is more than `percent`
/// percent of them (50: more than half).
pub fn has_majority(eligible: i32, in_favour: i32, percent: i32) -> bool {
    i64::from(in_favour) * 100 > i64::from(eligible) * i64::from(percent)
}

/// An applicant as stored, with their contact persons and introducers.
#[derive(Debug, Clone)]
pub struct ApplicantRow {
    /// 编号。 The applicant's id.
    pub id: Uuid,
    /// 所属镇。 The town.
    pub town_id: Uuid,
    /// The branch developing them.
    pub branch_id: Uuid,
    /// 姓名。 Their name.
    pub name: String,
    /// Their national ID number, in full.
    pub national_id: String,
    /// Their phone, in full.
    pub phone: Option<String>,
    /// Their village or community, as given.
    pub village: Option<String>,
    /// Where they are on the way to membership.
    pub stage: Stage,
    /// The day of the application.
    pub applied_on: NaiveDate,
    /// The day of the talk.
    pub talked_on: Option<NaiveDate>,
    /// The day they became an activist.
    pub activist_on: Option<NaiveDate>,
    /// 最近一次考察的日期。 The day of their last review as an activist.
    pub last_review_on: Option<NaiveDate>,
    /// The day they became a candidate.
    pub candidate_on: Option<NaiveDate>,
    /// 政治审查日期。 The day of the political review.
    pub political_review_on: Option<NaiveDate>,
    /// The days of training.
    pub training_days: Option<i32>,
    /// 支部党员大会讨论接收的日期。 The day the branch general meeting admitted them.
    pub admitted_on: Option<NaiveDate>,
    /// The day the committee approved (the probation's start).
    pub approved_on: Option<NaiveDate>,
    /// The probation's last day.
    pub probation_ends_on: Option<NaiveDate>,
    /// Whether the probation was extended.
    pub extended: bool,
    /// The day of the conversion vote.
    pub converted_vote_on: Option<NaiveDate>,
    /// The day of the conversion's approval.
    pub full_on: Option<NaiveDate>,
    /// The day of a withdrawal or disqualification.
    pub ended_on: Option<NaiveDate>,
    /// Why it ended.
    pub end_reason: Option<String>,
    /// The member record made at the approval.
    pub member_id: Option<Uuid>,
    /// Contact persons (member ids).
    pub contacts: Vec<Uuid>,
    /// Introducers (member ids).
    pub introducers: Vec<Uuid>,
    /// Who registered the application.
    pub created_by: String,
    /// 登记时间。 When it was registered.
    pub created_at: DateTime<Utc>,
    /// 最近修改时间。 When it last changed.
    pub updated_at: DateTime<Utc>,
    /// Version (ETag).
    pub version: i64,
}

/// 逾期事项及其应办日期。 A step that is late, and since when.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
pub struct OverdueStep {
    /// 逾期的步骤。 Which step is late.
    pub kind: OverdueKind,
    /// 应办的最后一天。 The last day it was due.
    pub due_on: NaiveDate,
}

/// The steps of `a` that are late on `today`: a talk not held within the months after the
/// application, an activist's review older than the review period, an admission not
/// approved in time, a probation past its end. At most one per applicant.
pub fn overdue(
    a: &ApplicantRow,
    rules: &DevelopmentRules,
    today: NaiveDate,
) -> Option<OverdueStep> {
    let due = match a.stage {
        Stage::Applicant if a.talked_on.is_none() => Some((
            OverdueKind::Talk,
            plus_months(a.applied_on, rules.talk_within_months),
        )),
        Stage::Activist => a.last_review_on.or(a.activist_on).map(|from| {
            (
                OverdueKind::Review,
                plus_months(from, rules.activist_review_months),
            )
        }),
        Stage::Candidate => a.admitted_on.map(|on| {
            (
                OverdueKind::Approval,
                plus_months(on, rules.approval_within_months),
            )
        }),
        Stage::Probationary => a.probation_ends_on.map(|on| (OverdueKind::Conversion, on)),
        _ => None,
    };
    due.filter(|(_, due_on)| today > *due_on)
        .map(|(kind, due_on)| OverdueStep { kind, due_on })
}

/// 发展党员工作中的一名人员（号码脱敏）。 An applicant as the API shows it: numbers masked, the late step if any.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Applicant {
    /// 编号。 The applicant's id.
    pub id: Uuid,
    /// 所属镇。 The town.
    pub town_id: Uuid,
    /// 培养的党支部（也是党员档案所在支部）。 The branch that develops them (and where their member record is made).
    pub branch_id: Uuid,
    /// 姓名。 Their name.
    #[schema(example = "李明")]
    pub name: String,
    /// 身份证号（脱敏）。 National ID number, masked (`3201**********1234`).
    #[schema(example = "3201**********1234")]
    pub national_id: String,
    /// 出生日期（取自身份证号）。 Birth date, from the national ID number.
    pub birth_date: Option<NaiveDate>,
    /// 电话（脱敏）。 Phone, masked (`138****5678`).
    pub phone: Option<String>,
    /// 村（社区）。 Village or community.
    pub village: Option<String>,
    /// 当前阶段。 Where they are on the way.
    pub stage: Stage,
    /// 递交入党申请书的日期。 The day of the written application.
    pub applied_on: NaiveDate,
    /// 党支部谈话日期。 The day of the branch's talk with them.
    pub talked_on: Option<NaiveDate>,
    /// 确定为入党积极分子的日期。 The day the branch designated them an activist.
    pub activist_on: Option<NaiveDate>,
    /// 最近一次考察的日期。 The day of their last review as an activist.
    pub last_review_on: Option<NaiveDate>,
    /// 确定为发展对象的日期。 The day the committee designated them a candidate.
    pub candidate_on: Option<NaiveDate>,
    /// 政治审查日期。 The day of the political review.
    pub political_review_on: Option<NaiveDate>,
    /// 集中培训天数。 The days of the short training.
    pub training_days: Option<i32>,
    /// 支部党员大会讨论接收的日期。 The day the branch general meeting admitted them.
    pub admitted_on: Option<NaiveDate>,
    /// 镇党委审批日期，预备期由此起算。 The day the committee approved the admission: the probation's start.
    pub approved_on: Option<NaiveDate>,
    /// 预备期届满日。 The probation's last day (extended, when `extended`).
    pub probation_ends_on: Option<NaiveDate>,
    /// 是否延长过预备期（至多一次）。 Whether the probation was extended (once at most).
    pub extended: bool,
    /// 支部党员大会讨论转正的日期。 The day the branch general meeting voted the conversion.
    pub converted_vote_on: Option<NaiveDate>,
    /// 镇党委审批转正的日期。 The day the committee approved the conversion.
    pub full_on: Option<NaiveDate>,
    /// 撤回或取消资格的日期。 The day of the withdrawal or disqualification.
    pub ended_on: Option<NaiveDate>,
    /// 撤回或取消资格的原因。 Why they withdrew or were disqualified.
    pub end_reason: Option<String>,
    /// 党员档案（审批为预备党员后）。 Their member record, from the approval on.
    pub member_id: Option<Uuid>,
    /// 培养联系人。 Their contact persons, members of the town.
    pub contacts: Vec<Uuid>,
    /// 入党介绍人。 Their introducers, members of the town.
    pub introducers: Vec<Uuid>,
    /// 今天逾期的步骤（如有）。 The step that is late today, if any.
    pub overdue: Option<OverdueStep>,
    /// 登记人（令牌主体）。 Who registered the application (the token subject).
    pub created_by: String,
    /// 登记时间。 When it was registered.
    pub created_at: DateTime<Utc>,
    /// 最近修改时间。 When it last changed.
    pub updated_at: DateTime<Utc>,
    /// 版本号；`ETag` 即加引号的此数。 Its version; the `ETag` is this number in quotes.
    pub version: i64,
}

impl ApplicantRow {
    /// The applicant as shown on `today`, by `rules`.
    pub fn view(self, rules: &DevelopmentRules, today: NaiveDate) -> Applicant {
        let overdue = overdue(&self, rules, today);
        let id = NationalId::from_trusted(self.national_id);
        Applicant {
            id: self.id,
            town_id: self.town_id,
            branch_id: self.branch_id,
            name: self.name,
            national_id: id.masked(),
            birth_date: id.birth_date(),
            phone: self.phone.map(|p| Phone::from_trusted(p).masked()),
            village: self.village,
            stage: self.stage,
            applied_on: self.applied_on,
            talked_on: self.talked_on,
            activist_on: self.activist_on,
            last_review_on: self.last_review_on,
            candidate_on: self.candidate_on,
            political_review_on: self.political_review_on,
            training_days: self.training_days,
            admitted_on: self.admitted_on,
            approved_on: self.approved_on,
            probation_ends_on: self.probation_ends_on,
            extended: self.extended,
            converted_vote_on: self.converted_vote_on,
            full_on: self.full_on,
            ended_on: self.ended_on,
            end_reason: self.end_reason,
            member_id: self.member_id,
            contacts: self.contacts,
            introducers: self.introducers,
            overdue,
            created_by: self.created_by,
            created_at: self.created_at,
            updated_at: self.updated_at,
            version: self.version,
        }
    }
}

/// 一个已记录的步骤，不可修改或删除。 One recorded step. Steps are never changed or removed.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Step {
    /// 编号。 The step's id.
    pub id: Uuid,
    /// 人员。 The applicant.
    pub applicant_id: Uuid,
    /// 步骤。 What was done.
    pub kind: StepKind,
    /// 办理日期。 The day it was done, in the town's calendar.
    pub taken_on: NaiveDate,
    /// 决定者：支部委员会、支部党员大会、镇党委或个人。 Who decided it: a body or a person.
    pub decided_by: String,
    /// 备注：谈话要点、考察意见、撤回原因等。 A note: the talk's gist, the review's finding, the reason of a withdrawal.
    pub note: Option<String>,
    /// 步骤的数字。 The step's numbers: `eligible`, `present`, `in_favour` of a vote, `days` of a
    /// training, `months` of an extension, `contacts` or `introducers` (member ids).
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
    /// 所依据的规则参数版本。 The policy version the step was checked by.
    pub policy_version: i32,
    /// 记录人（令牌主体）。 Who recorded it (the token subject).
    pub recorded_by: String,
    /// 记录时间。 When it was recorded.
    pub recorded_at: DateTime<Utc>,
}

/// 一名人员及其全部步骤。 An applicant with every step, oldest first.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ApplicantDetail {
    /// The applicant, as of today.
    #[serde(flatten)]
    pub applicant: Applicant,
    /// 已办理的步骤，按日期排列。 The steps taken, in the order of their dates.
    pub steps: Vec<Step>,
}

/// 登记一份入党申请（staff、committee）。 A written application to register (staff, committee).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewApplicant {
    /// 接收申请的本镇党支部。 The branch of this town the application was made to.
    pub branch_id: Uuid,
    /// 姓名，1 至 50 字。 Name, 1 to 50 characters.
    #[schema(
        example = "李明",
        min_length = 1,
        max_length = 50,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]*[^\s\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff][^\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]*$"
    )]
    pub name: String,
    /// 身份证号：申请之日须达到最低年龄。 National ID number: its birth date must make the applicant old enough on `applied_on`.
    pub national_id: NationalIdInput,
    /// 手机或固定电话。 Mobile or landline number.
    #[serde(default)]
    #[schema(
        example = "13812345678",
        pattern = "^(1[3-9][0-9]{9}|0[0-9]{2,3}-?[0-9]{7,8})$"
    )]
    pub phone: Option<String>,
    /// 村（社区），1 至 50 字。 Village or community, 1 to 50 characters.
    #[serde(default)]
    #[schema(
        example = "新村",
        min_length = 1,
        max_length = 50,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]*[^\s\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff][^\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]*$"
    )]
    pub village: Option<String>,
    /// 递交申请书的日期，不晚于今天。 The day of the written application: not in the future.
    pub applied_on: NaiveDate,
    /// 党支部接收人，1 至 100 字。 Who received it for the branch, 1 to 100 characters.
    #[schema(
        example = "新村党支部书记 王建国",
        min_length = 1,
        max_length = 100,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]*[^\s\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff][^\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]*$"
    )]
    pub received_by: String,
}

/// A checked [`NewApplicant`].
#[derive(Debug, Clone)]
pub struct ValidApplicant {
    /// The branch of the town the application was made to.
    pub branch_id: Uuid,
    /// Name, trimmed.
    pub name: String,
    /// National ID number.
    pub national_id: NationalId,
    /// Their phone, checked.
    pub phone: Option<Phone>,
    /// Village, trimmed.
    pub village: Option<String>,
    /// The day of the application, not in the future.
    pub applied_on: NaiveDate,
    /// Received by, trimmed.
    pub received_by: String,
}

impl NewApplicant {
    /// Checks the fields, and the minimum age of `rules` on `applied_on` (422 `too_young`).
    pub fn validate(
        &self,
        rules: &DevelopmentRules,
        today: NaiveDate,
    ) -> Result<ValidApplicant, ApiError> {
        let mut c = Checks::new();
        let name = c.text("name", &self.name, 1, 50);
        let national_id = check_national_id(&mut c, "national_id", &self.national_id.0, today);
        let phone = self
            .phone
            .as_deref()
            .and_then(|p| check_phone(&mut c, "phone", p));
        let village = self.village.as_deref().map(|v| c.text("village", v, 1, 50));
        let received_by = c.text("received_by", &self.received_by, 1, 100);
        c.not_in_future("applied_on", self.applied_on, today);
        if let Some(birth) = national_id.as_ref().and_then(NationalId::birth_date)
            && age_on(birth, self.applied_on) < rules.applicant_min_age
        {
            c.push(FieldError::new(
                "national_id",
                "too_young",
                msg!(
                    (
                        "入党申请人在申请之日须年满 {} 周岁（《发展党员工作细则》第九条）。",
                        rules.applicant_min_age
                    ),
                    (
                        "An applicant must be at least {} years old on the day of the application (rule: applicant_min_age).",
                        rules.applicant_min_age
                    )
                ),
            ));
        }
        c.finish()?;
        Ok(ValidApplicant {
            branch_id: self.branch_id,
            name,
            national_id: national_id.expect("checked"),
            phone,
            village,
            applied_on: self.applied_on,
            received_by,
        })
    }
}

/// 要记录的步骤；`kind` 决定其余字段。 A step to record. `kind` says which; the other fields are what that kind takes:
/// `contacts` for `activist_designation`; `introducers` for `candidate_designation`;
/// `days` for `training`; `eligible`, `present` and `in_favour` for `admission` and
/// `conversion_vote`; `months` for `extension`; `note` always allowed, required for
/// `review`, `political_review`, `extension`, `withdrawal` and `disqualification`. A
/// field the kind does not take is a 422 `not_allowed`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewStep {
    /// 步骤（入党申请在登记时记录）。 What is done (`application` is recorded by registering the applicant).
    pub kind: StepKind,
    /// 办理日期：不晚于今天，不早于前一步。 The day it was done: not in the future, not before the step it follows.
    pub taken_on: NaiveDate,
    /// 决定者（支部委员会、支部党员大会、镇党委或个人），1 至 100 字。 Who decided it: the body or the person, 1 to 100 characters.
    #[schema(
        example = "新村党支部委员会",
        min_length = 1,
        max_length = 100,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]*[^\s\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff][^\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]*$"
    )]
    pub decided_by: String,
    /// 备注，1 至 2000 字（可换行）。 A note, 1 to 2000 characters (line breaks allowed).
    #[serde(default)]
    #[schema(
        min_length = 1,
        max_length = 2000,
        pattern = r"^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]*[^\s\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff][^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]*$"
    )]
    pub note: Option<String>,
    /// 培养联系人（正式党员）。 `activist_designation`: the contact persons, full members of the town (policy: 1 or 2).
    #[serde(default)]
    #[schema(max_items = 5)]
    pub contacts: Option<Vec<Uuid>>,
    /// 入党介绍人（正式党员）。 `candidate_designation`: the introducers, full members of the town (policy: 2).
    #[serde(default)]
    #[schema(max_items = 5)]
    pub introducers: Option<Vec<Uuid>>,
    /// 培训天数。 `training`: its length in days (policy: at least 3).
    #[serde(default)]
    #[schema(minimum = 1, maximum = 365)]
    pub days: Option<i32>,
    /// 延长月数。 `extension`: by how many months (policy: 6 to 12).
    #[serde(default)]
    #[schema(minimum = 1, maximum = 36)]
    pub months: Option<i32>,
    /// 有表决权的正式党员人数。 A vote: the full members of the branch with a vote.
    #[serde(default)]
    #[schema(minimum = 1, maximum = 100000)]
    pub eligible: Option<i32>,
    /// 到会人数。 A vote: how many of them were present.
    #[serde(default)]
    #[schema(minimum = 0, maximum = 100000)]
    pub present: Option<i32>,
    /// 赞成人数。 A vote: how many voted in favour.
    #[serde(default)]
    #[schema(minimum = 0, maximum = 100000)]
    pub in_favour: Option<i32>,
}

/// A vote's counts, checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Vote {
    /// Full members with a vote.
    pub eligible: i32,
    /// Members present at the meeting.
    pub present: i32,
    /// Members who voted in favour.
    pub in_favour: i32,
}

/// What a step carries beyond its date and decider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepData {
    /// Nothing more.
    Plain,
    /// Contact persons or introducers (distinct member ids).
    People(Vec<Uuid>),
    /// A training's length, in days.
    Days(i32),
    /// An extension's length, in months.
    Months(i32),
    /// A vote's counts, checked.
    Vote(Vote),
}

/// A checked [`NewStep`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidStep {
    /// What the step does.
    pub kind: StepKind,
    /// The day it was taken, not in the future.
    pub taken_on: NaiveDate,
    /// Who decided, trimmed.
    pub decided_by: String,
    /// The note, trimmed.
    pub note: Option<String>,
    /// The kind's own data.
    pub data: StepData,
}

impl ValidStep {
    /// The step's numbers as stored (`data` of [`Step`]).
    pub fn data_json(&self) -> serde_json::Value {
        match &self.data {
            StepData::Plain => serde_json::json!({}),
            StepData::People(ids) if self.kind == StepKind::ActivistDesignation => {
                serde_json::json!({ "contacts": ids })
            }
            StepData::People(ids) => serde_json::json!({ "introducers": ids }),
            StepData::Days(d) => serde_json::json!({ "days": d }),
            StepData::Months(m) => serde_json::json!({ "months": m }),
            StepData::Vote(v) => serde_json::json!(v),
        }
    }
}

fn rule_error(field: &str, code: &'static str, message: Msg) -> FieldError {
    FieldError::new(field, code, message)
}

impl NewStep {
    /// Checks the fields the kind takes and refuses the others, against `rules` and the
    /// town's `today`.
    pub fn validate(
        &self,
        rules: &DevelopmentRules,
        today: NaiveDate,
    ) -> Result<ValidStep, ApiError> {
        use StepKind as K;
        let mut c = Checks::new();
        let decided_by = c.text("decided_by", &self.decided_by, 1, 100);
        let note = self
            .note
            .as_deref()
            .map(|n| c.long_text("note", n, 1, 2000));
        c.not_in_future("taken_on", self.taken_on, today);
        if self.kind == K::Application {
            c.push(rule_error(
                "kind",
                "not_a_step",
                msg!(
                    "入党申请在登记申请人时记录，不能作为后续步骤提交。",
                    "The application is recorded by registering the applicant, not as a step."
                ),
            ));
        }
        let takes_people = matches!(self.kind, K::ActivistDesignation | K::CandidateDesignation);
        let takes_vote = matches!(self.kind, K::Admission | K::ConversionVote);
        c.not_allowed(
            "contacts",
            self.contacts.is_some() && self.kind != K::ActivistDesignation,
        );
        c.not_allowed(
            "introducers",
            self.introducers.is_some() && self.kind != K::CandidateDesignation,
        );
        c.not_allowed("days", self.days.is_some() && self.kind != K::Training);
        c.not_allowed("months", self.months.is_some() && self.kind != K::Extension);
        for (field, value) in [
            ("eligible", self.eligible),
            ("present", self.present),
            ("in_favour", self.in_favour),
        ] {
            c.not_allowed(field, value.is_some() && !takes_vote);
        }
        let note_required = matches!(
            self.kind,
            K::Review | K::PoliticalReview | K::Extension | K::Withdrawal | K::Disqualification
        );
        if note_required {
            c.required("note", self.note.as_ref());
        }
        let data = if takes_people {
            let (field, list, min, max) = if self.kind == K::ActivistDesignation {
                (
                    "contacts",
                    &self.contacts,
                    rules.contacts_min,
                    rules.contacts_max,
                )
            } else {
                (
                    "introducers",
                    &self.introducers,
                    rules.introducers,
                    rules.introducers,
                )
            };
            let ids = c.required(field, list.clone()).unwrap_or_default();
            let mut distinct = ids.clone();
            distinct.sort();
            distinct.dedup();
            let n = i32::try_from(distinct.len()).unwrap_or(i32::MAX);
            if list.is_some() && distinct.len() != ids.len() {
                c.push(rule_error(
                    field,
                    "duplicate",
                    msg!(
                        ("{} 中有重复的党员。", field),
                        ("`{}` names a member twice.", field)
                    ),
                ));
            } else if list.is_some() && !(min..=max).contains(&n) {
                let (zh, en) = if min == max {
                    (
                        format!("{field} 须为 {min} 名正式党员。"),
                        format!("`{field}` must name {min} full members (rule: {field})."),
                    )
                } else {
                    (
                        format!("{field} 须为 {min} 至 {max} 名正式党员。"),
                        format!(
                            "`{field}` must name {min} to {max} full members (rules: contacts_min, contacts_max)."
                        ),
                    )
                };
                c.push(rule_error(field, "wrong_count", Msg::new(zh, en)));
            }
            StepData::People(ids)
        } else if self.kind == K::Training {
            let days = c.required("days", self.days).unwrap_or(0);
            if days > 365 {
                c.push(rule_error(
                    "days",
                    "out_of_range",
                    msg!("days 最多 365。", "`days` is at most 365."),
                ));
            } else if self.days.is_some() && days < rules.training_min_days {
                c.push(rule_error(
                    "days",
                    "training_too_short",
                    msg!(
                        ("发展对象的集中培训不少于 {} 天（《发展党员工作细则》第十七条）。", rules.training_min_days),
                        ("A candidate's training lasts at least {} days (rule: training_min_days).", rules.training_min_days)
                    ),
                ));
            }
            StepData::Days(days)
        } else if self.kind == K::Extension {
            let months = c.required("months", self.months).unwrap_or(0);
            if self.months.is_some()
                && !(rules.extension_min_months..=rules.extension_max_months).contains(&months)
            {
                c.push(rule_error(
                    "months",
                    "extension_out_of_range",
                    msg!(
                        ("预备期延长 {} 至 {} 个月（《发展党员工作细则》第三十条）。", rules.extension_min_months, rules.extension_max_months),
                        ("A probation is extended by {} to {} months (rules: extension_min_months, extension_max_months).", rules.extension_min_months, rules.extension_max_months)
                    ),
                ));
            }
            StepData::Months(months)
        } else if takes_vote {
            let eligible = c.required("eligible", self.eligible);
            let present = c.required("present", self.present);
            let in_favour = c.required("in_favour", self.in_favour);
            match (eligible, present, in_favour) {
                (Some(e), Some(p), Some(f)) => {
                    if !(1..=100_000).contains(&e) {
                        c.push(rule_error(
                            "eligible",
                            "out_of_range",
                            msg!(
                                "eligible 须在 1 到 100000 之间。",
                                "`eligible` is between 1 and 100000."
                            ),
                        ));
                    }
                    if !(0..=e).contains(&p) {
                        c.push(rule_error(
                            "present",
                            "more_than_eligible",
                            msg!(
                                "到会人数须在 0 与有表决权的正式党员人数之间。",
                                "`present` is between 0 and `eligible`."
                            ),
                        ));
                    }
                    if !(0..=p).contains(&f) {
                        c.push(rule_error(
                            "in_favour",
                            "more_than_present",
                            msg!(
                                "赞成人数须在 0 与到会人数之间。",
                                "`in_favour` is between 0 and `present`."
                            ),
                        ));
                    }
                    StepData::Vote(Vote {
                        eligible: e,
                        present: p,
                        in_favour: f,
                    })
                }
                _ => StepData::Plain,
            }
        } else {
            StepData::Plain
        };
        c.finish()?;
        Ok(ValidStep {
            kind: self.kind,
            taken_on: self.taken_on,
            decided_by,
            note,
            data,
        })
    }
}

/// What a step does to an applicant, once [`check_step`] allowed it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// Records the talk.
    Talk,
    /// Makes an activist.
    Activist,
    /// Records a review.
    Review,
    /// Makes a candidate.
    Candidate,
    /// Records the political review.
    PoliticalReview,
    /// Records the training's days.
    Training(i32),
    /// Records the admission.
    Admission,
    /// Makes a probationary member, whose probation ends on this day.
    Approval {
        /// The probation's last day.
        probation_ends_on: NaiveDate,
    },
    /// Extends the probation to this day.
    Extension {
        /// The new last day.
        probation_ends_on: NaiveDate,
    },
    /// Records the conversion vote.
    ConversionVote,
    /// Makes a full member.
    Conversion,
    /// Ends the way: withdrawn or disqualified.
    End(Stage),
}

fn conflict(code: &'static str, zh: String, en: String) -> ApiError {
    ApiError::conflict(code, Msg::new(zh, en))
}

/// The roles that may record a step of `kind`: the committee decides candidacies,
/// approvals, extensions and conversions (and disqualifies probationary members); staff
/// record the rest.
pub fn committee_decides(kind: StepKind, stage: Stage) -> bool {
    matches!(
        kind,
        StepKind::CandidateDesignation
            | StepKind::Approval
            | StepKind::Extension
            | StepKind::Conversion
    ) || (kind == StepKind::Disqualification && stage == Stage::Probationary)
}

/// Whether `step` may be taken now by `role` on applicant `a`, by `rules`; its effect if so.
/// A role that may not decide it is a 403; a step that does not fit the stage, comes
/// before the step it follows, or breaks a duration, deadline or majority is a 409
/// naming the rule.
pub fn check_step(
    a: &ApplicantRow,
    step: &ValidStep,
    rules: &DevelopmentRules,
    role: Role,
) -> Result<Effect, ApiError> {
    use StepKind as K;
    if committee_decides(step.kind, a.stage) && role != Role::Committee {
        return Err(ApiError::RoleNotAllowed {
            allowed: vec!["committee"],
        });
    }
    if a.stage.is_final() {
        return Err(conflict(
            "applicant_closed",
            format!("该发展对象已是“{}”，不能再记录步骤。", a.stage.label()),
            format!(
                "The applicant is `{}`: nothing more can be recorded.",
                a.stage
            ),
        ));
    }
    let needs = |stages: &[Stage]| -> Result<(), ApiError> {
        if stages.contains(&a.stage) {
            return Ok(());
        }
        let names: Vec<&str> = stages.iter().map(|s| s.label()).collect();
        let codes: Vec<&str> = stages.iter().map(|s| s.as_str()).collect();
        Err(conflict(
            "wrong_stage",
            format!(
                "“{}”只能对{}记录，该人员目前是{}。",
                step.kind,
                names.join("或"),
                a.stage.label()
            ),
            format!(
                "A `{}` is recorded for an applicant at stage {}; this one is `{}`.",
                step.kind,
                codes.join(" or "),
                a.stage
            ),
        ))
    };
    let once = |done: bool| -> Result<(), ApiError> {
        if done {
            return Err(conflict(
                "step_recorded",
                format!("“{}”已经记录过。", step.kind),
                format!("A `{}` is already recorded for this applicant.", step.kind),
            ));
        }
        Ok(())
    };
    let missing = |code: &'static str, done: bool, zh: &str, en: &str| -> Result<(), ApiError> {
        if done {
            return Ok(());
        }
        Err(conflict(code, zh.to_owned(), en.to_owned()))
    };
    let after = |from: Option<NaiveDate>, what: &str| -> Result<(), ApiError> {
        match from {
            Some(d) if step.taken_on < d => Err(ApiError::invalid(
                "taken_on",
                "before_previous_step",
                Msg::new(
                    format!("taken_on 不能早于{what}（{d}）。"),
                    format!("`taken_on` cannot be before the {what} ({d})."),
                ),
            )),
            _ => Ok(()),
        }
    };
    let effect = match step.kind {
        K::Application => unreachable!("refused by NewStep::validate"),
        K::Talk => {
            needs(&[Stage::Applicant])?;
            once(a.talked_on.is_some())?;
            after(Some(a.applied_on), "入党申请日期 / application")?;
            Effect::Talk
        }
        K::ActivistDesignation => {
            needs(&[Stage::Applicant])?;
            missing(
                "talk_not_held",
                a.talked_on.is_some(),
                "确定入党积极分子前，党支部须先同入党申请人谈话（《发展党员工作细则》第十条）。",
                "The branch talks with the applicant before designating them an activist (rule: talk).",
            )?;
            after(a.talked_on, "谈话日期 / talk")?;
            Effect::Activist
        }
        K::Review => {
            needs(&[Stage::Activist])?;
            after(
                a.last_review_on.or(a.activist_on),
                "上次考察或确定积极分子的日期 / last review",
            )?;
            Effect::Review
        }
        K::CandidateDesignation => {
            needs(&[Stage::Activist])?;
            let from = a.activist_on.unwrap_or(a.applied_on);
            let earliest = plus_months(from, rules.activist_min_months);
            if step.taken_on < earliest {
                return Err(conflict(
                    "activist_too_short",
                    format!(
                        "经过 {} 个月以上培养教育的入党积极分子方可列为发展对象（《发展党员工作细则》第十五条）：最早 {earliest}。",
                        rules.activist_min_months
                    ),
                    format!(
                        "An activist becomes a candidate after at least {} months as an activist (rule: activist_min_months): {earliest} at the earliest.",
                        rules.activist_min_months
                    ),
                ));
            }
            Effect::Candidate
        }
        K::PoliticalReview => {
            needs(&[Stage::Candidate])?;
            once(a.political_review_on.is_some())?;
            after(a.candidate_on, "列为发展对象的日期 / candidacy")?;
            Effect::PoliticalReview
        }
        K::Training => {
            needs(&[Stage::Candidate])?;
            once(a.training_days.is_some())?;
            after(a.candidate_on, "列为发展对象的日期 / candidacy")?;
            let StepData::Days(days) = step.data else {
                unreachable!("checked by NewStep::validate")
            };
            Effect::Training(days)
        }
        K::Admission => {
            needs(&[Stage::Candidate])?;
            if let Some(on) = a.admitted_on {
                let deadline = plus_months(on, rules.approval_within_months);
                if step.taken_on <= deadline {
                    return Err(conflict(
                        "admission_pending",
                        format!("支部大会已于 {on} 通过接收，正待镇党委审批（期限 {deadline}）。"),
                        format!(
                            "The branch general meeting admitted this candidate on {on}; the committee's approval is pending until {deadline}."
                        ),
                    ));
                }
            }
            missing(
                "political_review_missing",
                a.political_review_on.is_some(),
                "支部大会讨论接收前须完成政治审查（《发展党员工作细则》第十六条）。",
                "The political review comes before the admission (rule: political_review).",
            )?;
            missing(
                "training_missing",
                a.training_days.is_some(),
                "支部大会讨论接收前须完成集中培训（《发展党员工作细则》第十七条）。",
                "The short training comes before the admission (rule: training).",
            )?;
            after(
                a.political_review_on.max(a.candidate_on),
                "政治审查日期 / political review",
            )?;
            check_majority(step, rules)?;
            Effect::Admission
        }
        K::Approval => {
            needs(&[Stage::Candidate])?;
            let Some(on) = a.admitted_on else {
                return Err(conflict(
                    "not_admitted",
                    "镇党委审批前，支部大会须先讨论通过接收。".into(),
                    "The branch general meeting admits the candidate before the committee approves.".into(),
                ));
            };
            after(Some(on), "支部大会接收日期 / admission")?;
            let deadline = plus_months(on, rules.approval_within_months);
            if step.taken_on > deadline {
                return Err(conflict(
                    "approval_deadline_passed",
                    format!(
                        "镇党委须在支部大会通过后 {} 个月内审批（{deadline} 前）；逾期须由支部大会重新讨论。",
                        rules.approval_within_months
                    ),
                    format!(
                        "The committee approves within {} months of the admission (by {deadline}, rule: approval_within_months); the branch general meeting must vote again.",
                        rules.approval_within_months
                    ),
                ));
            }
            Effect::Approval {
                probation_ends_on: plus_months(step.taken_on, rules.probation_months),
            }
        }
        K::Extension => {
            needs(&[Stage::Probationary])?;
            missing(
                "extension_used",
                !a.extended,
                "预备期只能延长一次（《发展党员工作细则》第三十条）。",
                "A probation is extended once at most (rule: extension).",
            )?;
            once(a.converted_vote_on.is_some()).map_err(|_| {
                conflict(
                    "conversion_voted",
                    "支部大会已讨论转正，不能再延长预备期。".into(),
                    "The conversion was voted already: the probation cannot be extended.".into(),
                )
            })?;
            after(a.approved_on, "审批日期 / approval")?;
            let StepData::Months(months) = step.data else {
                unreachable!("checked by NewStep::validate")
            };
            let ends = a.probation_ends_on.unwrap_or(step.taken_on);
            Effect::Extension {
                probation_ends_on: plus_months(ends, months),
            }
        }
        K::ConversionVote => {
            needs(&[Stage::Probationary])?;
            once(a.converted_vote_on.is_some())?;
            if let Some(ends) = a.probation_ends_on
                && step.taken_on < ends
            {
                return Err(conflict(
                    "probation_not_over",
                    format!(
                        "预备期到 {ends} 才满，期满后方可讨论转正（《发展党员工作细则》第三十条）。"
                    ),
                    format!(
                        "The probation ends on {ends}: the conversion is voted after it (rule: probation_months)."
                    ),
                ));
            }
            check_majority(step, rules)?;
            Effect::ConversionVote
        }
        K::Conversion => {
            needs(&[Stage::Probationary])?;
            missing(
                "conversion_vote_missing",
                a.converted_vote_on.is_some(),
                "镇党委审批转正前，支部大会须先讨论通过。",
                "The branch general meeting votes the conversion before the committee approves it.",
            )?;
            after(
                a.converted_vote_on,
                "支部大会讨论转正的日期 / conversion vote",
            )?;
            Effect::Conversion
        }
        K::Withdrawal => {
            needs(&[Stage::Applicant, Stage::Activist, Stage::Candidate])?;
            after(Some(a.applied_on), "入党申请日期 / application")?;
            Effect::End(Stage::Withdrawn)
        }
        K::Disqualification => {
            after(Some(a.applied_on), "入党申请日期 / application")?;
            Effect::End(Stage::Disqualified)
        }
    };
    Ok(effect)
}

impl From<&crate::policy::Policy> for DevelopmentRules {
    fn from(p: &crate::policy::Policy) -> DevelopmentRules {
        DevelopmentRules {
            version: p.version,
            applicant_min_age: p.applicant_min_age,
            talk_within_months: p.talk_within_months,
            contacts_min: p.contacts_min,
            contacts_max: p.contacts_max,
            activist_review_months: p.activist_review_months,
            activist_min_months: p.activist_min_months,
            introducers: p.introducers,
            training_min_days: p.training_min_days,
            majority_percent: p.development_majority_percent,
            approval_within_months: p.approval_within_months,
            probation_months: p.probation_months,
            extension_min_months: p.extension_min_months,
            extension_max_months: p.extension_max_months,
        }
    }
}

/// The applicant after `effect` of `step`: the stage and the dates the rules count from.
pub fn apply(mut a: ApplicantRow, step: &ValidStep, effect: Effect) -> ApplicantRow {
    let on = Some(step.taken_on);
    match effect {
        Effect::Talk => a.talked_on = on,
        Effect::Activist => {
            a.stage = Stage::Activist;
            a.activist_on = on;
            if let StepData::People(ids) = &step.data {
                a.contacts = ids.clone();
            }
        }
        Effect::Review => a.last_review_on = on,
        Effect::Candidate => {
            a.stage = Stage::Candidate;
            a.candidate_on = on;
            if let StepData::People(ids) = &step.data {
                a.introducers = ids.clone();
            }
        }
        Effect::PoliticalReview => a.political_review_on = on,
        Effect::Training(days) => a.training_days = Some(days),
        Effect::Admission => a.admitted_on = on,
        Effect::Approval { probation_ends_on } => {
            a.stage = Stage::Probationary;
            a.approved_on = on;
            a.probation_ends_on = Some(probation_ends_on);
        }
        Effect::Extension { probation_ends_on } => {
            a.extended = true;
            a.probation_ends_on = Some(probation_ends_on);
        }
        Effect::ConversionVote => a.converted_vote_on = on,
        Effect::Conversion => {
            a.stage = Stage::Full;
            a.full_on = on;
        }
        Effect::End(stage) => {
            a.stage = stage;
            a.ended_on = on;
            a.end_reason = step.note.clone();
        }
    }
    a
}

/// A vote passes with more than the policy's share of the full members with a vote in
/// favour (409 `majority_not_reached` otherwise).
fn check_majority(step: &ValidStep, rules: &DevelopmentRules) -> Result<(), ApiError> {
    let StepData::Vote(v) = step.data else {
        unreachable!("checked by NewStep::validate")
    };
    if has_majority(v.eligible, v.in_favour, rules.majority_percent) {
        return Ok(());
    }
    Err(conflict(
        "majority_not_reached",
        format!(
            "赞成人数须超过有表决权的正式党员的 {}%（《发展党员工作细则》第二十一条）：{} 人中赞成 {} 人。",
            rules.majority_percent, v.eligible, v.in_favour
        ),
        format!(
            "More than {}% of the full members with a vote must be in favour (rule: development_majority_percent): {} of {}.",
            rules.majority_percent, v.in_favour, v.eligible
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn row(stage: Stage) -> ApplicantRow {
        ApplicantRow {
            id: Uuid::nil(),
            town_id: Uuid::nil(),
            branch_id: Uuid::nil(),
            name: "李明".into(),
            national_id: "320114200001010011".into(),
            phone: None,
            village: None,
            stage,
            applied_on: d("2024-01-10"),
            talked_on: None,
            activist_on: None,
            last_review_on: None,
            candidate_on: None,
            political_review_on: None,
            training_days: None,
            admitted_on: None,
            approved_on: None,
            probation_ends_on: None,
            extended: false,
            converted_vote_on: None,
            full_on: None,
            ended_on: None,
            end_reason: None,
            member_id: None,
            contacts: vec![],
            introducers: vec![],
            created_by: "t".into(),
            created_at: Utc::now(),
            updated_at: Utc::now(),
            version: 1,
        }
    }

    fn step(kind: StepKind, on: &str) -> NewStep {
        NewStep {
            kind,
            taken_on: d(on),
            decided_by: "支部委员会".into(),
            note: None,
            contacts: None,
            introducers: None,
            days: None,
            months: None,
            eligible: None,
            present: None,
            in_favour: None,
        }
    }

    fn code(e: ApiError) -> String {
        match e {
            ApiError::Conflict { code, .. } => code.to_owned(),
            ApiError::Validation(errors) => errors
                .iter()
                .map(|e| format!("{}:{}", e.field, e.code))
                .collect::<Vec<_>>()
                .join(","),
            ApiError::RoleNotAllowed { .. } => "forbidden".into(),
            other => format!("{other:?}"),
        }
    }

    const TODAY: &str = "2026-12-07";

    fn check(a: &ApplicantRow, s: NewStep, role: Role) -> Result<Effect, String> {
        let rules = DevelopmentRules::as_written();
        let valid = s.validate(&rules, d(TODAY)).map_err(code)?;
        check_step(a, &valid, &rules, role).map_err(code)
    }

    #[test]
    fn ages_count_full_years() {
        assert_eq!(age_on(d("2008-12-08"), d("2026-12-07")), 17);
        assert_eq!(age_on(d("2008-12-07"), d("2026-12-07")), 18);
        assert_eq!(age_on(d("2008-02-29"), d("2026-02-28")), 17);
    }

    #[test]
    fn more_than_half_means_strictly_more() {
        assert!(!has_majority(10, 5, 50));
        assert!(has_majority(10, 6, 50));
        assert!(has_majority(9, 5, 50));
        assert!(!has_majority(9, 6, 66) || 6 * 100 > 9 * 66);
    }

    #[test]
    fn an_activist_needs_a_talk_and_one_or_two_contacts() {
        let mut a = row(Stage::Applicant);
        let mut s = step(StepKind::ActivistDesignation, "2024-03-01");
        s.contacts = Some(vec![Uuid::now_v7()]);
        assert_eq!(
            check(&a, s.clone(), Role::Staff).unwrap_err(),
            "talk_not_held"
        );
        a.talked_on = Some(d("2024-01-20"));
        assert_eq!(check(&a, s.clone(), Role::Staff), Ok(Effect::Activist));
        s.contacts = Some(vec![Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7()]);
        assert_eq!(
            check(&a, s.clone(), Role::Staff).unwrap_err(),
            "contacts:wrong_count"
        );
        let x = Uuid::now_v7();
        s.contacts = Some(vec![x, x]);
        assert_eq!(
            check(&a, s.clone(), Role::Staff).unwrap_err(),
            "contacts:duplicate"
        );
        s.contacts = None;
        assert_eq!(check(&a, s, Role::Staff).unwrap_err(), "contacts:required");
    }

    #[test]
    fn a_candidate_needs_a_year_as_activist_two_introducers_and_the_committee() {
        let mut a = row(Stage::Activist);
        a.talked_on = Some(d("2024-01-20"));
        a.activist_on = Some(d("2024-03-01"));
        let mut s = step(StepKind::CandidateDesignation, "2025-02-28");
        s.introducers = Some(vec![Uuid::now_v7(), Uuid::now_v7()]);
        assert_eq!(check(&a, s.clone(), Role::Staff).unwrap_err(), "forbidden");
        assert_eq!(
            check(&a, s.clone(), Role::Committee).unwrap_err(),
            "activist_too_short"
        );
        s.taken_on = d("2025-03-01");
        assert_eq!(check(&a, s.clone(), Role::Committee), Ok(Effect::Candidate));
        s.introducers = Some(vec![Uuid::now_v7()]);
        assert_eq!(
            check(&a, s, Role::Committee).unwrap_err(),
            "introducers:wrong_count"
        );
    }

    #[test]
    fn an_admission_needs_review_training_and_a_majority_of_all_eligible() {
        let mut a = row(Stage::Candidate);
        a.candidate_on = Some(d("2025-03-01"));
        let mut s = step(StepKind::Admission, "2025-06-01");
        s.eligible = Some(10);
        s.present = Some(8);
        s.in_favour = Some(6);
        assert_eq!(
            check(&a, s.clone(), Role::Staff).unwrap_err(),
            "political_review_missing"
        );
        a.political_review_on = Some(d("2025-04-01"));
        assert_eq!(
            check(&a, s.clone(), Role::Staff).unwrap_err(),
            "training_missing"
        );
        a.training_days = Some(3);
        assert_eq!(check(&a, s.clone(), Role::Staff), Ok(Effect::Admission));
        s.in_favour = Some(5);
        assert_eq!(
            check(&a, s.clone(), Role::Staff).unwrap_err(),
            "majority_not_reached"
        );
        s.in_favour = Some(9);
        assert_eq!(
            check(&a, s.clone(), Role::Staff).unwrap_err(),
            "in_favour:more_than_present"
        );
        s.present = Some(11);
        s.in_favour = Some(6);
        assert_eq!(
            check(&a, s, Role::Staff).unwrap_err(),
            "present:more_than_eligible"
        );
    }

    #[test]
    fn the_approval_comes_within_three_months_and_starts_a_year_of_probation() {
        let mut a = row(Stage::Candidate);
        a.candidate_on = Some(d("2025-03-01"));
        a.admitted_on = Some(d("2025-06-01"));
        let s = step(StepKind::Approval, "2025-09-02");
        assert_eq!(
            check(&a, s, Role::Committee).unwrap_err(),
            "approval_deadline_passed"
        );
        let s = step(StepKind::Approval, "2025-09-01");
        assert_eq!(
            check(&a, s, Role::Committee),
            Ok(Effect::Approval {
                probation_ends_on: d("2026-09-01")
            })
        );
        let s = step(StepKind::Approval, "2025-05-31");
        assert_eq!(
            check(&a, s, Role::Committee).unwrap_err(),
            "taken_on:before_previous_step"
        );
    }

    #[test]
    fn a_probation_is_extended_once_and_converted_after_its_end() {
        let mut a = row(Stage::Probationary);
        a.approved_on = Some(d("2025-09-01"));
        a.probation_ends_on = Some(d("2026-09-01"));
        let mut s = step(StepKind::Extension, "2026-09-01");
        s.note = Some("表现尚有差距".into());
        s.months = Some(5);
        assert_eq!(
            check(&a, s.clone(), Role::Committee).unwrap_err(),
            "months:extension_out_of_range"
        );
        s.months = Some(6);
        assert_eq!(
            check(&a, s.clone(), Role::Committee),
            Ok(Effect::Extension {
                probation_ends_on: d("2027-03-01")
            })
        );
        a.extended = true;
        assert_eq!(check(&a, s, Role::Committee).unwrap_err(), "extension_used");
        let mut v = step(StepKind::ConversionVote, "2026-08-31");
        v.eligible = Some(3);
        v.present = Some(3);
        v.in_favour = Some(2);
        assert_eq!(
            check(&a, v.clone(), Role::Staff).unwrap_err(),
            "probation_not_over"
        );
        v.taken_on = d("2026-09-01");
        assert_eq!(check(&a, v, Role::Staff), Ok(Effect::ConversionVote));
        let c = step(StepKind::Conversion, "2026-09-10");
        assert_eq!(
            check(&a, c.clone(), Role::Committee).unwrap_err(),
            "conversion_vote_missing"
        );
        a.converted_vote_on = Some(d("2026-09-01"));
        assert_eq!(check(&a, c, Role::Committee), Ok(Effect::Conversion));
    }

    #[test]
    fn fields_of_another_kind_are_refused_by_name() {
        let a = row(Stage::Applicant);
        let mut s = step(StepKind::Talk, "2024-01-20");
        s.days = Some(3);
        s.eligible = Some(3);
        assert_eq!(
            check(&a, s, Role::Staff).unwrap_err(),
            "days:not_allowed,eligible:not_allowed"
        );
        let s = step(StepKind::Application, "2024-01-20");
        assert_eq!(check(&a, s, Role::Staff).unwrap_err(), "kind:not_a_step");
        let s = step(StepKind::Review, "2024-01-20");
        assert_eq!(check(&a, s, Role::Staff).unwrap_err(), "note:required");
    }

    #[test]
    fn final_stages_and_wrong_stages_are_conflicts() {
        let a = row(Stage::Withdrawn);
        assert_eq!(
            check(&a, step(StepKind::Talk, "2024-02-01"), Role::Staff).unwrap_err(),
            "applicant_closed"
        );
        let a = row(Stage::Applicant);
        let mut s = step(StepKind::PoliticalReview, "2024-02-01");
        s.note = Some("合格".into());
        assert_eq!(check(&a, s, Role::Staff).unwrap_err(), "wrong_stage");
        let mut p = row(Stage::Probationary);
        p.approved_on = Some(d("2025-01-01"));
        let mut s = step(StepKind::Disqualification, "2025-06-01");
        s.note = Some("不具备党员条件".into());
        assert_eq!(check(&p, s, Role::Staff).unwrap_err(), "forbidden");
    }

    #[test]
    fn overdue_steps_are_the_late_ones_only() {
        let rules = DevelopmentRules::as_written();
        let mut a = row(Stage::Applicant);
        a.applied_on = d("2026-11-01");
        assert_eq!(overdue(&a, &rules, d("2026-12-01")), None);
        assert_eq!(
            overdue(&a, &rules, d("2026-12-02")),
            Some(OverdueStep {
                kind: OverdueKind::Talk,
                due_on: d("2026-12-01")
            })
        );
        a.talked_on = Some(d("2026-11-05"));
        assert_eq!(overdue(&a, &rules, d("2026-12-02")), None);
        let mut p = row(Stage::Probationary);
        p.probation_ends_on = Some(d("2026-09-01"));
        assert_eq!(
            overdue(&p, &rules, d("2026-09-02")).map(|o| o.kind),
            Some(OverdueKind::Conversion)
        );
        let mut v = row(Stage::Activist);
        v.activist_on = Some(d("2026-01-01"));
        v.last_review_on = Some(d("2026-06-01"));
        assert_eq!(overdue(&v, &rules, d("2026-12-01")), None);
        assert_eq!(
            overdue(&v, &rules, d("2026-12-02")).map(|o| o.kind),
            Some(OverdueKind::Review)
        );
    }

    #[test]
    fn an_applicant_is_old_enough_on_the_day_of_the_application() {
        let rules = DevelopmentRules::as_written();
        // Born 2008-12-08, with its check digit (GB 11643).
        let body = "32011420081208001";
        const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
        let sum: u32 = body
            .bytes()
            .zip(WEIGHTS)
            .map(|(b, w)| u32::from(b - b'0') * w)
            .sum();
        let young = format!("{body}{}", b"10X98765432"[(sum % 11) as usize] as char);
        let new = |applied: &str| NewApplicant {
            branch_id: Uuid::nil(),
            name: "李明".into(),
            national_id: NationalIdInput(young.clone()),
            phone: None,
            village: None,
            applied_on: d(applied),
            received_by: "支部书记".into(),
        };
        assert_eq!(
            code(new("2026-12-07").validate(&rules, d(TODAY)).unwrap_err()),
            "national_id:too_young"
        );
        assert!(new("2026-12-08").validate(&rules, d("2026-12-08")).is_ok());
    }

    #[test]
    fn the_schemas_say_what_the_checks_check() {
        let schema = |s: utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>| {
            serde_json::to_value(s).unwrap()
        };
        let pattern = |v: &serde_json::Value, field: &str| {
            v["properties"][field]["pattern"]
                .as_str()
                .unwrap()
                .to_owned()
        };
        let new = schema(<NewApplicant as utoipa::PartialSchema>::schema());
        for field in ["name", "village", "received_by"] {
            assert_eq!(
                pattern(&new, field),
                crate::validate::TEXT_PATTERN,
                "{field}"
            );
        }
        let step = schema(<NewStep as utoipa::PartialSchema>::schema());
        assert_eq!(pattern(&step, "decided_by"), crate::validate::TEXT_PATTERN);
        assert_eq!(pattern(&step, "note"), crate::validate::LONG_TEXT_PATTERN);
    }
}
