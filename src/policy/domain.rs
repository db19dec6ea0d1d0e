//! The policy's fields, their bounds and how a change applies: pure, with unit tests.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{ApiError, FieldError};
use crate::msg;
use crate::scores::domain::Rules;
use crate::scores::points::HalfPoints;

/// One version of a town's policy.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Policy {
    /// The version: 1 for the rules as written, then one more per change.
    pub version: i32,
    /// The score a case opens with (art. 21: 5).
    pub base_score: HalfPoints,
    /// What one task or one absence is worth (art. 21, 22: 0.5).
    pub step: HalfPoints,
    /// Below this score, a committee matter opens (art. 23: 3).
    pub low_threshold: HalfPoints,
    /// At this score, an evaluation becomes due (art. 23: 15).
    pub evaluation_threshold: HalfPoints,
    /// Whether an excused leave costs points like an absence (default no).
    pub excused_leave_costs: bool,
    /// Whether tasks and attendance still move the score once an evaluation is due.
    pub score_moves_after_due: bool,
    /// Whether a failed evaluation starts the score again at the base (as a correction).
    pub failed_evaluation_resets_score: bool,
    /// The fewest votes an evaluation must have to be closed.
    pub evaluation_quorum: i32,
    /// A pass needs more than this percentage of the votes cast to be `qualified` (50: a simple majority).
    pub evaluation_majority_percent: i32,
    /// How many working days a member has to object to a ledger entry (公示).
    pub objection_period_working_days: i32,
    /// The fewest trainees a cohort can be confirmed with (art. 16: 10).
    pub cohort_min: i32,
    /// The most trainees a cohort can hold (art. 16: 15).
    pub cohort_max: i32,
    /// The most open mentorships a mentor may have at once (art. 18: 2).
    pub mentor_limit: i32,
    /// The validity of an introduction letter unless given (days).
    pub letter_validity_default_days: i32,
    /// The longest validity of an introduction letter (days, at most about 3 months).
    pub letter_validity_max_days: i32,
    /// 入党申请人最低年龄。 An applicant is at least this old on the day of the application (发展党员工作细则 art. 9: 18).
    pub applicant_min_age: i32,
    /// 谈话期限（月）。 The branch talks with an applicant within this many months of the application (art. 10: 1).
    pub talk_within_months: i32,
    /// 培养联系人最少人数。 The fewest contact persons (full members) an activist has (art. 13: 1).
    pub contacts_min: i32,
    /// 培养联系人最多人数。 The most contact persons an activist has (art. 13: 2).
    pub contacts_max: i32,
    /// 积极分子考察间隔（月）。 An activist is reviewed at least every this many months (art. 14: 6).
    pub activist_review_months: i32,
    /// 积极分子最短培养期（月）。 The fewest months as an activist before becoming a candidate (art. 15: 12).
    pub activist_min_months: i32,
    /// 入党介绍人人数。 How many introducers (full members) a candidate has (art. 18: 2).
    pub introducers: i32,
    /// 集中培训最少天数。 The fewest days of a candidate's short training (art. 17: 3).
    pub training_min_days: i32,
    /// 接收与转正的赞成比例（%）。 An admission or conversion needs more than this percentage of the full members with a vote in favour (art. 21: 50).
    pub development_majority_percent: i32,
    /// 审批期限（月）。 The committee approves an admission within this many months of the vote (art. 24: 3).
    pub approval_within_months: i32,
    /// 预备期（月）。 The probation's length in months from the approval (art. 28: 12).
    pub probation_months: i32,
    /// 延长预备期最短（月）。 The shortest extension of a probation, in months (art. 30: 6).
    pub extension_min_months: i32,
    /// 延长预备期最长（月）。 The longest extension of a probation, in months (art. 30: 12).
    pub extension_max_months: i32,
    /// 每季度支部党员大会最少次数（0 为不作要求）。 At least this many branch general meetings (支部党员大会) a quarter, in each branch (0: not required).
    pub general_meetings_per_quarter: i32,
    /// 每月支部委员会最少次数（0 为不作要求）。 At least this many branch committee meetings (支部委员会) a month, in each branch (0: not required).
    pub branch_committees_per_month: i32,
    /// 每个党小组每月党小组会最少次数（0 为不作要求）。 At least this many meetings of each party group (党小组会) a month, in each branch (0: not required).
    pub party_groups_per_month: i32,
    /// 每季度党课最少次数（0 为不作要求）。 At least this many party lectures (党课) a quarter, in each branch (0: not required).
    pub party_lectures_per_quarter: i32,
    /// 每月主题党日最少次数（0 为不作要求）。 At least this many theme party days (主题党日) a month, in each branch (0: not required).
    pub theme_days_per_month: i32,
    /// 每年组织生活会最少次数（0 为不作要求）。 At least this many organizational life meetings (组织生活会) a year, in each branch (0: not required).
    pub life_meetings_per_year: i32,
    /// 每年民主评议党员最少次数（0 为不作要求）。 At least this many appraisals of members (民主评议党员) a year, in each branch (0: not required).
    pub member_appraisals_per_year: i32,
    /// When this version was made.
    pub created_at: DateTime<Utc>,
    /// Who made it.
    pub created_by: String,
}

impl Policy {
    /// The part of the policy the score follows.
    pub fn rules(&self) -> Rules {
        Rules {
            base: self.base_score,
            step: self.step,
            low: self.low_threshold,
            evaluation: self.evaluation_threshold,
            score_moves_after_due: self.score_moves_after_due,
        }
    }
}

/// A change of policy (committee): absent fields keep their current value.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicyChange {
    /// New base score.
    #[serde(default)]
    pub base_score: Option<HalfPoints>,
    /// New step.
    #[serde(default)]
    pub step: Option<HalfPoints>,
    /// New low threshold (at most the base score).
    #[serde(default)]
    pub low_threshold: Option<HalfPoints>,
    /// New evaluation threshold (above the base score).
    #[serde(default)]
    pub evaluation_threshold: Option<HalfPoints>,
    /// Whether excused leave costs points.
    #[serde(default)]
    pub excused_leave_costs: Option<bool>,
    /// Whether the score keeps moving once an evaluation is due.
    #[serde(default)]
    pub score_moves_after_due: Option<bool>,
    /// Whether a failed evaluation resets the score to the base.
    #[serde(default)]
    pub failed_evaluation_resets_score: Option<bool>,
    /// Quorum of an evaluation (1 to 200).
    #[serde(default)]
    #[schema(minimum = 1, maximum = 200)]
    pub evaluation_quorum: Option<i32>,
    /// Majority of an evaluation, in percent (50 to 99).
    #[serde(default)]
    #[schema(minimum = 50, maximum = 99)]
    pub evaluation_majority_percent: Option<i32>,
    /// Objection period in working days (0 to 30).
    #[serde(default)]
    #[schema(minimum = 0, maximum = 30)]
    pub objection_period_working_days: Option<i32>,
    /// Smallest cohort (1 to 100).
    #[serde(default)]
    #[schema(minimum = 1, maximum = 100)]
    pub cohort_min: Option<i32>,
    /// Largest cohort (1 to 100).
    #[serde(default)]
    #[schema(minimum = 1, maximum = 100)]
    pub cohort_max: Option<i32>,
    /// Mentor limit (1 to 10).
    #[serde(default)]
    #[schema(minimum = 1, maximum = 10)]
    pub mentor_limit: Option<i32>,
    /// Default letter validity in days (1 to 92).
    #[serde(default)]
    #[schema(minimum = 1, maximum = 92)]
    pub letter_validity_default_days: Option<i32>,
    /// Longest letter validity in days (1 to 92).
    #[serde(default)]
    #[schema(minimum = 1, maximum = 92)]
    pub letter_validity_max_days: Option<i32>,
    /// 入党申请人最低年龄：新值（14 至 30）。 New value of `applicant_min_age` (14 to 30).
    #[serde(default)]
    #[schema(minimum = 14, maximum = 30)]
    pub applicant_min_age: Option<i32>,
    /// 谈话期限（月）：新值（1 至 12）。 New value of `talk_within_months` (1 to 12).
    #[serde(default)]
    #[schema(minimum = 1, maximum = 12)]
    pub talk_within_months: Option<i32>,
    /// 培养联系人最少人数：新值（1 至 5）。 New value of `contacts_min` (1 to 5).
    #[serde(default)]
    #[schema(minimum = 1, maximum = 5)]
    pub contacts_min: Option<i32>,
    /// 培养联系人最多人数：新值（1 至 5）。 New value of `contacts_max` (1 to 5).
    #[serde(default)]
    #[schema(minimum = 1, maximum = 5)]
    pub contacts_max: Option<i32>,
    /// 积极分子考察间隔（月）：新值（1 至 24）。 New value of `activist_review_months` (1 to 24).
    #[serde(default)]
    #[schema(minimum = 1, maximum = 24)]
    pub activist_review_months: Option<i32>,
    /// 积极分子最短培养期（月）：新值（0 至 60）。 New value of `activist_min_months` (0 to 60).
    #[serde(default)]
    #[schema(minimum = 0, maximum = 60)]
    pub activist_min_months: Option<i32>,
    /// 入党介绍人人数：新值（1 至 5）。 New value of `introducers` (1 to 5).
    #[serde(default)]
    #[schema(minimum = 1, maximum = 5)]
    pub introducers: Option<i32>,
    /// 集中培训最少天数：新值（1 至 60）。 New value of `training_min_days` (1 to 60).
    #[serde(default)]
    #[schema(minimum = 1, maximum = 60)]
    pub training_min_days: Option<i32>,
    /// 接收与转正的赞成比例（%）：新值（50 至 99）。 New value of `development_majority_percent` (50 to 99).
    #[serde(default)]
    #[schema(minimum = 50, maximum = 99)]
    pub development_majority_percent: Option<i32>,
    /// 审批期限（月）：新值（1 至 12）。 New value of `approval_within_months` (1 to 12).
    #[serde(default)]
    #[schema(minimum = 1, maximum = 12)]
    pub approval_within_months: Option<i32>,
    /// 预备期（月）：新值（1 至 36）。 New value of `probation_months` (1 to 36).
    #[serde(default)]
    #[schema(minimum = 1, maximum = 36)]
    pub probation_months: Option<i32>,
    /// 延长预备期最短（月）：新值（1 至 36）。 New value of `extension_min_months` (1 to 36).
    #[serde(default)]
    #[schema(minimum = 1, maximum = 36)]
    pub extension_min_months: Option<i32>,
    /// 延长预备期最长（月）：新值（1 至 36）。 New value of `extension_max_months` (1 to 36).
    #[serde(default)]
    #[schema(minimum = 1, maximum = 36)]
    pub extension_max_months: Option<i32>,
    /// 每季度支部党员大会最少次数：新值（0 至 12）。 New value of `general_meetings_per_quarter` (0 to 12).
    #[serde(default)]
    #[schema(minimum = 0, maximum = 12)]
    pub general_meetings_per_quarter: Option<i32>,
    /// 每月支部委员会最少次数：新值（0 至 12）。 New value of `branch_committees_per_month` (0 to 12).
    #[serde(default)]
    #[schema(minimum = 0, maximum = 12)]
    pub branch_committees_per_month: Option<i32>,
    /// 每个党小组每月党小组会最少次数：新值（0 至 12）。 New value of `party_groups_per_month` (0 to 12).
    #[serde(default)]
    #[schema(minimum = 0, maximum = 12)]
    pub party_groups_per_month: Option<i32>,
    /// 每季度党课最少次数：新值（0 至 12）。 New value of `party_lectures_per_quarter` (0 to 12).
    #[serde(default)]
    #[schema(minimum = 0, maximum = 12)]
    pub party_lectures_per_quarter: Option<i32>,
    /// 每月主题党日最少次数：新值（0 至 12）。 New value of `theme_days_per_month` (0 to 12).
    #[serde(default)]
    #[schema(minimum = 0, maximum = 12)]
    pub theme_days_per_month: Option<i32>,
    /// 每年组织生活会最少次数：新值（0 至 12）。 New value of `life_meetings_per_year` (0 to 12).
    #[serde(default)]
    #[schema(minimum = 0, maximum = 12)]
    pub life_meetings_per_year: Option<i32>,
    /// 每年民主评议党员最少次数：新值（0 至 12）。 New value of `member_appraisals_per_year` (0 to 12).
    #[serde(default)]
    #[schema(minimum = 0, maximum = 12)]
    pub member_appraisals_per_year: Option<i32>,
}

fn field_error(field: &str, zh: &str, en: &str) -> FieldError {
    FieldError::new(
        field,
        "policy_inconsistent",
        crate::error::Msg::new(zh.to_owned(), en.to_owned()),
    )
}

impl PolicyChange {
    /// The next version: the current one with this change applied, checked as a whole.
    pub fn apply_to(&self, current: &Policy) -> Result<Policy, ApiError> {
        let p = Policy {
            version: current.version + 1,
            base_score: self.base_score.unwrap_or(current.base_score),
            step: self.step.unwrap_or(current.step),
            low_threshold: self.low_threshold.unwrap_or(current.low_threshold),
            evaluation_threshold: self
                .evaluation_threshold
                .unwrap_or(current.evaluation_threshold),
            excused_leave_costs: self
                .excused_leave_costs
                .unwrap_or(current.excused_leave_costs),
            score_moves_after_due: self
                .score_moves_after_due
                .unwrap_or(current.score_moves_after_due),
            failed_evaluation_resets_score: self
                .failed_evaluation_resets_score
                .unwrap_or(current.failed_evaluation_resets_score),
            evaluation_quorum: self.evaluation_quorum.unwrap_or(current.evaluation_quorum),
            evaluation_majority_percent: self
                .evaluation_majority_percent
                .unwrap_or(current.evaluation_majority_percent),
            objection_period_working_days: self
                .objection_period_working_days
                .unwrap_or(current.objection_period_working_days),
            cohort_min: self.cohort_min.unwrap_or(current.cohort_min),
            cohort_max: self.cohort_max.unwrap_or(current.cohort_max),
            mentor_limit: self.mentor_limit.unwrap_or(current.mentor_limit),
            letter_validity_default_days: self
                .letter_validity_default_days
                .unwrap_or(current.letter_validity_default_days),
            letter_validity_max_days: self
                .letter_validity_max_days
                .unwrap_or(current.letter_validity_max_days),
            applicant_min_age: self.applicant_min_age.unwrap_or(current.applicant_min_age),
            talk_within_months: self
                .talk_within_months
                .unwrap_or(current.talk_within_months),
            contacts_min: self.contacts_min.unwrap_or(current.contacts_min),
            contacts_max: self.contacts_max.unwrap_or(current.contacts_max),
            activist_review_months: self
                .activist_review_months
                .unwrap_or(current.activist_review_months),
            activist_min_months: self
                .activist_min_months
                .unwrap_or(current.activist_min_months),
            introducers: self.introducers.unwrap_or(current.introducers),
            training_min_days: self.training_min_days.unwrap_or(current.training_min_days),
            development_majority_percent: self
                .development_majority_percent
                .unwrap_or(current.development_majority_percent),
            approval_within_months: self
                .approval_within_months
                .unwrap_or(current.approval_within_months),
            probation_months: self.probation_months.unwrap_or(current.probation_months),
            extension_min_months: self
                .extension_min_months
                .unwrap_or(current.extension_min_months),
            extension_max_months: self
                .extension_max_months
                .unwrap_or(current.extension_max_months),
            general_meetings_per_quarter: self
                .general_meetings_per_quarter
                .unwrap_or(current.general_meetings_per_quarter),
            branch_committees_per_month: self
                .branch_committees_per_month
                .unwrap_or(current.branch_committees_per_month),
            party_groups_per_month: self
                .party_groups_per_month
                .unwrap_or(current.party_groups_per_month),
            party_lectures_per_quarter: self
                .party_lectures_per_quarter
                .unwrap_or(current.party_lectures_per_quarter),
            theme_days_per_month: self
                .theme_days_per_month
                .unwrap_or(current.theme_days_per_month),
            life_meetings_per_year: self
                .life_meetings_per_year
                .unwrap_or(current.life_meetings_per_year),
            member_appraisals_per_year: self
                .member_appraisals_per_year
                .unwrap_or(current.member_appraisals_per_year),
            created_at: current.created_at,
            created_by: current.created_by.clone(),
        };
        let mut errors = Vec::new();
        let ranges: [(&str, i32, i32, i32); 27] = [
            ("evaluation_quorum", p.evaluation_quorum, 1, 200),
            (
                "evaluation_majority_percent",
                p.evaluation_majority_percent,
                50,
                99,
            ),
            (
                "objection_period_working_days",
                p.objection_period_working_days,
                0,
                30,
            ),
            ("cohort_min", p.cohort_min, 1, 100),
            ("cohort_max", p.cohort_max, 1, 100),
            ("mentor_limit", p.mentor_limit, 1, 10),
            (
                "letter_validity_max_days",
                p.letter_validity_max_days,
                1,
                92,
            ),
            ("applicant_min_age", p.applicant_min_age, 14, 30),
            ("talk_within_months", p.talk_within_months, 1, 12),
            ("contacts_min", p.contacts_min, 1, 5),
            ("contacts_max", p.contacts_max, 1, 5),
            ("activist_review_months", p.activist_review_months, 1, 24),
            ("activist_min_months", p.activist_min_months, 0, 60),
            ("introducers", p.introducers, 1, 5),
            ("training_min_days", p.training_min_days, 1, 60),
            (
                "development_majority_percent",
                p.development_majority_percent,
                50,
                99,
            ),
            ("approval_within_months", p.approval_within_months, 1, 12),
            ("probation_months", p.probation_months, 1, 36),
            ("extension_min_months", p.extension_min_months, 1, 36),
            ("extension_max_months", p.extension_max_months, 1, 36),
            (
                "general_meetings_per_quarter",
                p.general_meetings_per_quarter,
                0,
                12,
            ),
            (
                "branch_committees_per_month",
                p.branch_committees_per_month,
                0,
                12,
            ),
            ("party_groups_per_month", p.party_groups_per_month, 0, 12),
            (
                "party_lectures_per_quarter",
                p.party_lectures_per_quarter,
                0,
                12,
            ),
            ("theme_days_per_month", p.theme_days_per_month, 0, 12),
            ("life_meetings_per_year", p.life_meetings_per_year, 0, 12),
            (
                "member_appraisals_per_year",
                p.member_appraisals_per_year,
                0,
                12,
            ),
        ];
        for (field, value, min, max) in ranges {
            if !(min..=max).contains(&value) {
                errors.push(FieldError::new(
                    field,
                    "out_of_range",
                    msg!(
                        ("{} 须在 {} 到 {} 之间。", field, min, max),
                        ("`{}` must be between {} and {}.", field, min, max)
                    ),
                ));
            }
        }
        if p.step.0 < 1 {
            errors.push(field_error(
                "step",
                "步长须为正数。",
                "The step must be positive.",
            ));
        }
        if p.base_score.0 < 0 {
            errors.push(field_error(
                "base_score",
                "基础分不能为负。",
                "The base score cannot be negative.",
            ));
        }
        if p.low_threshold.0 < 0 || p.low_threshold > p.base_score {
            errors.push(field_error(
                "low_threshold",
                "低分线须在 0 与基础分之间。",
                "The low threshold must be between 0 and the base score.",
            ));
        }
        if p.evaluation_threshold <= p.base_score {
            errors.push(field_error(
                "evaluation_threshold",
                "评议分数线须高于基础分。",
                "The evaluation threshold must be above the base score.",
            ));
        }
        if p.cohort_max < p.cohort_min {
            errors.push(field_error(
                "cohort_max",
                "人数上限不能小于下限。",
                "cohort_max cannot be below cohort_min.",
            ));
        }
        if !(1..=p.letter_validity_max_days).contains(&p.letter_validity_default_days) {
            errors.push(field_error(
                "letter_validity_default_days",
                "介绍信默认有效期须在 1 天与最长有效期之间。",
                "The default letter validity must be between 1 day and the longest validity.",
            ));
        }
        if p.contacts_max < p.contacts_min {
            errors.push(field_error(
                "contacts_max",
                "培养联系人人数上限不能小于下限。",
                "contacts_max cannot be below contacts_min.",
            ));
        }
        if p.extension_max_months < p.extension_min_months {
            errors.push(field_error(
                "extension_max_months",
                "延长预备期的上限不能小于下限。",
                "extension_max_months cannot be below extension_min_months.",
            ));
        }
        if errors.is_empty() {
            Ok(p)
        } else {
            Err(ApiError::Validation(errors))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn written() -> Policy {
        Policy {
            version: 1,
            base_score: HalfPoints(10),
            step: HalfPoints(1),
            low_threshold: HalfPoints(6),
            evaluation_threshold: HalfPoints(30),
            excused_leave_costs: false,
            score_moves_after_due: true,
            failed_evaluation_resets_score: false,
            evaluation_quorum: 5,
            evaluation_majority_percent: 50,
            objection_period_working_days: 3,
            cohort_min: 10,
            cohort_max: 15,
            mentor_limit: 2,
            letter_validity_default_days: 30,
            letter_validity_max_days: 90,
            applicant_min_age: 18,
            talk_within_months: 1,
            contacts_min: 1,
            contacts_max: 2,
            activist_review_months: 6,
            activist_min_months: 12,
            introducers: 2,
            training_min_days: 3,
            development_majority_percent: 50,
            approval_within_months: 3,
            probation_months: 12,
            extension_min_months: 6,
            extension_max_months: 12,
            general_meetings_per_quarter: 1,
            branch_committees_per_month: 1,
            party_groups_per_month: 1,
            party_lectures_per_quarter: 1,
            theme_days_per_month: 1,
            life_meetings_per_year: 1,
            member_appraisals_per_year: 1,
            created_at: Utc::now(),
            created_by: "migration".into(),
        }
    }

    #[test]
    fn a_change_is_the_next_version_with_the_rest_kept() {
        let next = PolicyChange {
            evaluation_quorum: Some(7),
            ..Default::default()
        }
        .apply_to(&written())
        .unwrap();
        assert_eq!(next.version, 2);
        assert_eq!(next.evaluation_quorum, 7);
        assert_eq!(next.rules(), written().rules());
    }

    #[test]
    fn inconsistent_thresholds_are_refused_by_field() {
        let e = PolicyChange {
            low_threshold: Some(HalfPoints(12)),
            evaluation_threshold: Some(HalfPoints(8)),
            cohort_min: Some(20),
            ..Default::default()
        }
        .apply_to(&written())
        .unwrap_err();
        let ApiError::Validation(errors) = e else {
            panic!("422")
        };
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            ["low_threshold", "evaluation_threshold", "cohort_max"]
        );
    }
}
