//! Democratic evaluations (民主评议, articles 23-24): pure types and rules. The panel's
//! checks, the time of the meeting, the verdict by quorum and majority, and what a failed
//! evaluation does to the score.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::{ApiError, FieldError};
use crate::msg;
use crate::scores::points::HalfPoints;
use crate::validate::Checks;

/// The most evaluators a panel may have (the largest quorum a policy may set).
pub const PANEL_MAX: usize = 200;

/// How far ahead an evaluation may be scheduled.
pub const SCHEDULE_AHEAD_DAYS: i64 = 366;

/// The reason of the correction that brings the score back to the base after a failed
/// evaluation, under a policy that restarts it.
pub const RESET_REASON: &str = "民主评议不合格，积分重新计算";

/// The reason of the transfer back to the original branch after a passed evaluation.
pub const RETURN_REASON: &str = "民主评议合格，组织关系转回原支部";

crate::text_enum! {
    /// Who an evaluator is (art. 24). The list is extensible: add a value here and in the
    /// CHECK of `evaluation_panel.kind`.
    pub enum EvaluatorKind {
        /// A worker of the center.
        CenterStaff = "center_staff",
        /// A cadre of the two village committees (村两委干部) of the member's village.
        VillageCadre = "village_cadre",
        /// A people's congress deputy (人大代表).
        CongressDeputy = "congress_deputy",
        /// A representative of the party members; must be a member of the town.
        PartyMemberRepresentative = "party_member_representative",
        /// A representative of the public.
        PublicRepresentative = "public_representative",
    }
}

crate::text_enum! {
    /// One evaluator's verdict.
    pub enum Verdict {
        /// Qualified (合格).
        Qualified = "qualified",
        /// Not qualified (不合格).
        NotQualified = "not_qualified",
    }
}

crate::text_enum! {
    /// Where an evaluation stands.
    pub enum EvaluationStatus {
        /// Scheduled; the panel is voting.
        Open = "open",
        /// Closed with a pass: the member's relation went back to the original branch.
        Passed = "passed",
        /// Closed with a fail: the case stays open.
        Failed = "failed",
        /// Called off by the committee, with a reason: no tally; the case is due again.
        Cancelled = "cancelled",
    }
}

/// One evaluator of a new panel.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewEvaluator {
    /// Who they are.
    pub kind: EvaluatorKind,
    /// The `sub` claim of the token they will vote with (a `staff` or `committee` token
    /// of the town), 1 to 200 characters; unique in the panel.
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]*[^\s\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff][^\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]*$"
    )]
    pub subject: String,
    /// Their name as shown on the panel, 1 to 50 characters.
    #[schema(
        min_length = 1,
        max_length = 50,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]*[^\s\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff][^\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]*$"
    )]
    pub name: String,
    /// Their member record, when they are a party member of the town (required for a
    /// `party_member_representative`). An active member, not the one under evaluation,
    /// holding no valid floating certificate on the day of the evaluation.
    #[serde(default)]
    pub member_id: Option<Uuid>,
}

/// Scheduling an evaluation (committee).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewEvaluation {
    /// The case, due for an evaluation.
    pub case_id: Uuid,
    /// When the panel meets (RFC 3339): not before the case became due, at most a year ahead.
    pub held_at: DateTime<Utc>,
    /// Where, 1 to 200 characters.
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]*[^\s\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff][^\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]*$"
    )]
    pub place: String,
    /// The evaluators, at least the policy's quorum and at most 200. Fixed once scheduled.
    #[schema(min_items = 1, max_items = 200)]
    pub panel: Vec<NewEvaluator>,
}

/// A vote (an evaluator, with their own token).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewVote {
    /// The verdict. Secret: stored apart from who cast it, never shown singly.
    pub verdict: Verdict,
}

/// An evaluator on a panel, as shown.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Evaluator {
    /// Who they are.
    pub kind: EvaluatorKind,
    /// The token subject they vote with.
    pub subject: String,
    /// Their name as shown on the panel.
    pub name: String,
    /// Their member record, if they are a member of the town.
    pub member_id: Option<Uuid>,
    /// Whether they have voted (never how).
    pub has_voted: bool,
}

/// The count of an evaluation's votes, shown once it is closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
pub struct Tally {
    /// Votes `qualified`.
    pub qualified: i32,
    /// Votes `not_qualified`.
    pub not_qualified: i32,
}

impl Tally {
    /// Every vote cast.
    pub fn cast(&self) -> i32 {
        self.qualified + self.not_qualified
    }
}

/// A democratic evaluation, with its panel.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Evaluation {
    /// The evaluation's id, the `{evaluation}` in its paths.
    pub id: Uuid,
    /// The town it belongs to.
    pub town_id: Uuid,
    /// The case evaluated.
    pub case_id: Uuid,
    /// The member under evaluation.
    pub member_id: Uuid,
    /// When the panel meets.
    pub held_at: DateTime<Utc>,
    /// That day in the town's calendar.
    pub held_on: NaiveDate,
    /// Where the panel meets.
    pub place: String,
    /// The policy version in force when it was scheduled; its rules decide it.
    pub policy_version: i32,
    /// The fewest votes it can be closed with.
    pub quorum: i32,
    /// A pass needs more than this percentage of the votes cast to be `qualified`.
    pub majority_percent: i32,
    /// Where it stands.
    pub status: EvaluationStatus,
    /// How many evaluators have voted.
    pub votes_cast: i32,
    /// The count of the votes: `null` until it is closed.
    pub tally: Option<Tally>,
    /// The panel, in the order it was given, with who has voted.
    pub panel: Vec<Evaluator>,
    /// After a pass: the transfer back to the original branch.
    pub return_transfer_id: Option<Uuid>,
    /// After a fail that restarted the score: the correction entry.
    pub reset_entry_id: Option<Uuid>,
    /// Who scheduled it.
    pub scheduled_by: String,
    /// Who closed or cancelled it.
    pub closed_by: Option<String>,
    /// When it was closed or cancelled.
    pub closed_at: Option<DateTime<Utc>>,
    /// Why it was cancelled (status `cancelled`).
    pub cancel_reason: Option<String>,
    /// When it was scheduled.
    pub created_at: DateTime<Utc>,
    /// Last changed (a vote changes it too).
    pub updated_at: DateTime<Utc>,
    /// Version; the `ETag` is this number in quotes. Each vote moves it on.
    pub version: i64,
}

/// An evaluation in a list: without its panel.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EvaluationSummary {
    /// The evaluation's id, the `{evaluation}` in its paths.
    pub id: Uuid,
    /// The case evaluated.
    pub case_id: Uuid,
    /// The member under evaluation.
    pub member_id: Uuid,
    /// When the panel meets.
    pub held_at: DateTime<Utc>,
    /// That day in the town's calendar.
    pub held_on: NaiveDate,
    /// Where the panel meets.
    pub place: String,
    /// The policy version it follows.
    pub policy_version: i32,
    /// Where it stands.
    pub status: EvaluationStatus,
    /// How many evaluators sit on the panel.
    pub panel_size: i32,
    /// How many have voted.
    pub votes_cast: i32,
    /// The count of the votes: `null` until it is closed.
    pub tally: Option<Tally>,
    /// When it was closed.
    pub closed_at: Option<DateTime<Utc>>,
    /// The evaluation's version; the `ETag` is this number in quotes.
    pub version: i64,
}

/// The committee calls an evaluation off.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Cancellation {
    /// Why: 1 to 500 characters.
    #[schema(example = "评议小组成员多人外出，无法达到法定人数。")]
    #[schema(
        min_length = 1,
        max_length = 500,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]*[^\s\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff][^\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]*$"
    )]
    pub reason: String,
}

impl Cancellation {
    /// The reason, checked and trimmed.
    pub fn validate(&self) -> Result<String, ApiError> {
        let mut c = Checks::new();
        let reason = c.text("reason", &self.reason, 1, 500);
        c.finish()?;
        Ok(reason)
    }
}

/// What the voter gets back: that their vote counted, not what it was.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct VoteReceipt {
    /// The evaluation voted in.
    pub evaluation_id: Uuid,
    /// When the vote was recorded.
    pub voted_at: DateTime<Utc>,
    /// How many evaluators have voted now.
    pub votes_cast: i32,
}

/// How a closed evaluation came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// More than the majority share of the votes cast were `qualified`.
    Passed,
    /// Not more than the majority share `qualified`: the case stays open.
    Failed,
}

impl Outcome {
    /// The status it closes the evaluation with.
    pub fn status(self) -> EvaluationStatus {
        match self {
            Outcome::Passed => EvaluationStatus::Passed,
            Outcome::Failed => EvaluationStatus::Failed,
        }
    }
}

/// Fewer votes than the quorum: the evaluation cannot be closed yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuorumNotMet {
    /// The votes cast so far.
    pub cast: i32,
    /// The quorum recorded when the evaluation was scheduled.
    pub quorum: i32,
}

/// The verdict of the panel: a pass when `qualified` votes are more than
/// `majority_percent` percent of the votes cast (50: a simple majority; a tie fails),
/// provided at least `quorum` votes were cast.
pub fn outcome(tally: Tally, quorum: i32, majority_percent: i32) -> Result<Outcome, QuorumNotMet> {
    let cast = tally.cast();
    if cast < quorum || cast == 0 {
        return Err(QuorumNotMet { cast, quorum });
    }
    if i64::from(tally.qualified) * 100 > i64::from(majority_percent) * i64::from(cast) {
        Ok(Outcome::Passed)
    } else {
        Ok(Outcome::Failed)
    }
}

/// The correction that brings a score back to the base, if it is elsewhere.
pub fn reset_delta(base: HalfPoints, score: HalfPoints) -> Option<HalfPoints> {
    let delta = base + -score;
    (delta.0 != 0).then_some(delta)
}

/// What the panel check needs to know of a member named on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemberFacts {
    /// Whether the member is active (not removed, transferred out, ...).
    pub active: bool,
    /// Whether they hold a valid floating certificate on the day of the evaluation.
    pub floating: bool,
}

/// A checked evaluator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidEvaluator {
    /// Who they are.
    pub kind: EvaluatorKind,
    /// The `sub` of the token they will vote with, trimmed; unique in the panel.
    pub subject: String,
    /// Their name as shown on the panel, trimmed.
    pub name: String,
    /// Member, if any.
    pub member_id: Option<Uuid>,
}

/// The checked fields of a new evaluation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidEvaluation {
    /// Where the panel meets, trimmed.
    pub place: String,
    /// The panel, in order.
    pub panel: Vec<ValidEvaluator>,
}

/// Checks a new evaluation: the place, the meeting's time, and the panel (art. 24).
///
/// `evaluated` is the member under evaluation, `quorum` the policy's, `due_since` when
/// the case became due, `facts` what is known of every member named on the panel (a
/// member missing from it is not a member of the town). Every problem is reported at once.
pub fn check(
    new: &NewEvaluation,
    evaluated: Uuid,
    quorum: i32,
    due_since: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    facts: &HashMap<Uuid, MemberFacts>,
) -> Result<ValidEvaluation, ApiError> {
    let mut c = Checks::new();
    let place = c.text("place", &new.place, 1, 200);
    if due_since.is_some_and(|due| new.held_at < due) {
        c.push(FieldError::new(
            "held_at",
            "before_due",
            msg!(
                "评议时间不能早于档案达到评议分数线的时间。",
                "The evaluation cannot be held before the case became due."
            ),
        ));
    }
    if new.held_at > now + Duration::days(SCHEDULE_AHEAD_DAYS) {
        c.push(FieldError::new(
            "held_at",
            "too_far_ahead",
            msg!(
                "评议时间最多安排在一年之后。",
                "The evaluation can be scheduled at most a year ahead."
            ),
        ));
    }
    if new.panel.is_empty() {
        c.push(FieldError::new(
            "panel",
            "required",
            msg!("评议小组不能为空。", "The panel cannot be empty."),
        ));
    } else if new.panel.len() > PANEL_MAX {
        c.push(FieldError::new(
            "panel",
            "too_many",
            msg!(
                ("评议小组最多 {} 人。", PANEL_MAX),
                ("A panel has at most {} evaluators.", PANEL_MAX)
            ),
        ));
    } else if (new.panel.len() as i64) < i64::from(quorum) {
        c.push(FieldError::new(
            "panel",
            "below_quorum",
            msg!(
                ("评议小组人数少于法定票数 {}，无法形成有效评议。", quorum),
                (
                    "The panel is smaller than the quorum of {}: it could never be closed.",
                    quorum
                )
            ),
        ));
    }
    let mut subjects = HashSet::new();
    let mut members = HashSet::new();
    let mut panel = Vec::with_capacity(new.panel.len());
    for (i, e) in new.panel.iter().enumerate() {
        let subject = c.text(&format!("panel[{i}].subject"), &e.subject, 1, 200);
        let name = c.text(&format!("panel[{i}].name"), &e.name, 1, 50);
        if !subject.is_empty() && !subjects.insert(subject.clone()) {
            c.push(FieldError::new(
                format!("panel[{i}].subject"),
                "duplicate_subject",
                msg!(
                    "同一评议人在小组中出现了两次。",
                    "This evaluator is on the panel twice."
                ),
            ));
        }
        let member_field = format!("panel[{i}].member_id");
        match e.member_id {
            None if e.kind == EvaluatorKind::PartyMemberRepresentative => {
                c.push(FieldError::new(
                    member_field,
                    "required",
                    msg!(
                        "党员代表须为本镇党员，请给出其党员记录。",
                        "A party member representative must be a member of the town: give their member record."
                    ),
                ));
            }
            None => {}
            Some(m) => {
                if let Some(problem) = member_problem(m, evaluated, facts, &mut members) {
                    c.push(FieldError::new(member_field, problem.0, problem.1));
                }
            }
        }
        panel.push(ValidEvaluator {
            kind: e.kind,
            subject,
            name,
            member_id: e.member_id,
        });
    }
    c.finish()?;
    Ok(ValidEvaluation { place, panel })
}

/// Why a member cannot sit on the panel, if they cannot.
fn member_problem(
    member: Uuid,
    evaluated: Uuid,
    facts: &HashMap<Uuid, MemberFacts>,
    seen: &mut HashSet<Uuid>,
) -> Option<(&'static str, crate::error::Msg)> {
    if member == evaluated {
        return Some((
            "member_under_evaluation",
            msg!(
                "被评议的党员不能参加对自己的评议。",
                "The member under evaluation cannot sit on the panel."
            ),
        ));
    }
    if !seen.insert(member) {
        return Some((
            "duplicate_member",
            msg!(
                "同一党员在小组中出现了两次。",
                "This member is on the panel twice."
            ),
        ));
    }
    let Some(f) = facts.get(&member) else {
        return Some((
            "unknown_member",
            msg!("本镇没有该党员。", "This town has no such member."),
        ));
    };
    if !f.active {
        return Some((
            "member_not_active",
            msg!(
                "该党员当前不在本镇支部中，不能担任评议人。",
                "The member is not active in the town and cannot evaluate."
            ),
        ));
    }
    if f.floating {
        return Some((
            "evaluator_floating",
            msg!(
                "该党员在评议当天持有有效的流动党员活动证，没有表决权。",
                "The member holds a valid floating certificate on the day of the evaluation and has no vote."
            ),
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tally(q: i32, n: i32) -> Tally {
        Tally {
            qualified: q,
            not_qualified: n,
        }
    }

    fn evaluator(subject: &str, member_id: Option<Uuid>) -> NewEvaluator {
        NewEvaluator {
            kind: EvaluatorKind::CenterStaff,
            subject: subject.into(),
            name: "张三".into(),
            member_id,
        }
    }

    fn new_eval(panel: Vec<NewEvaluator>, held_at: DateTime<Utc>) -> NewEvaluation {
        NewEvaluation {
            case_id: Uuid::now_v7(),
            held_at,
            place: " 党员活动室 ".into(),
            panel,
        }
    }

    fn codes(e: ApiError) -> Vec<(String, &'static str)> {
        match e {
            ApiError::Validation(errors) => errors.into_iter().map(|e| (e.field, e.code)).collect(),
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn a_pass_needs_more_than_the_majority_of_the_votes_cast_and_the_quorum() {
        assert_eq!(outcome(tally(3, 2), 5, 50), Ok(Outcome::Passed));
        assert_eq!(
            outcome(tally(3, 3), 5, 50),
            Ok(Outcome::Failed),
            "a tie fails"
        );
        assert_eq!(outcome(tally(2, 3), 5, 50), Ok(Outcome::Failed));
        assert_eq!(
            outcome(tally(4, 0), 5, 50),
            Err(QuorumNotMet { cast: 4, quorum: 5 })
        );
        assert_eq!(
            outcome(tally(0, 0), 1, 50),
            Err(QuorumNotMet { cast: 0, quorum: 1 })
        );
        // Two thirds: 6 of 9 is not more than 66%, 7 of 9 is.
        assert_eq!(outcome(tally(6, 3), 5, 67), Ok(Outcome::Failed));
        assert_eq!(outcome(tally(7, 2), 5, 66), Ok(Outcome::Passed));
        assert_eq!(outcome(tally(5, 0), 5, 99), Ok(Outcome::Passed));
        assert_eq!(outcome(tally(199, 1), 5, 99), Ok(Outcome::Passed));
        assert_eq!(outcome(tally(99, 1), 5, 99), Ok(Outcome::Failed));
    }

    #[test]
    fn a_reset_brings_the_score_back_to_the_base() {
        assert_eq!(
            reset_delta(HalfPoints(10), HalfPoints(30)),
            Some(HalfPoints(-20))
        );
        assert_eq!(
            reset_delta(HalfPoints(10), HalfPoints(7)),
            Some(HalfPoints(3))
        );
        assert_eq!(reset_delta(HalfPoints(10), HalfPoints(10)), None);
    }

    #[test]
    fn a_good_panel_is_trimmed_and_kept_in_order() {
        let now = Utc::now();
        let m = Uuid::now_v7();
        let facts = HashMap::from([(
            m,
            MemberFacts {
                active: true,
                floating: false,
            },
        )]);
        let panel = vec![evaluator(" a ", None), evaluator("b", Some(m))];
        let valid = check(
            &new_eval(panel, now + Duration::days(1)),
            Uuid::now_v7(),
            2,
            Some(now),
            now,
            &facts,
        )
        .unwrap();
        assert_eq!(valid.place, "党员活动室");
        assert_eq!(valid.panel[0].subject, "a");
        assert_eq!(valid.panel[1].member_id, Some(m));
    }

    #[test]
    fn every_panel_problem_is_named_by_its_place() {
        let now = Utc::now();
        let evaluated = Uuid::now_v7();
        let [floating, inactive, unknown, ok] = [(); 4].map(|_| Uuid::now_v7());
        let facts = HashMap::from([
            (
                floating,
                MemberFacts {
                    active: true,
                    floating: true,
                },
            ),
            (
                inactive,
                MemberFacts {
                    active: false,
                    floating: false,
                },
            ),
            (
                ok,
                MemberFacts {
                    active: true,
                    floating: false,
                },
            ),
        ]);
        let mut rep = evaluator("rep", None);
        rep.kind = EvaluatorKind::PartyMemberRepresentative;
        let panel = vec![
            evaluator("self", Some(evaluated)),
            evaluator("away", Some(floating)),
            evaluator("gone", Some(inactive)),
            evaluator("who", Some(unknown)),
            evaluator("ok", Some(ok)),
            evaluator("ok", Some(ok)),
            rep,
            evaluator("", None),
        ];
        let err = check(
            &new_eval(panel, now - Duration::days(2)),
            evaluated,
            3,
            Some(now - Duration::days(1)),
            now,
            &facts,
        )
        .unwrap_err();
        assert_eq!(
            codes(err),
            vec![
                ("held_at".into(), "before_due"),
                ("panel[0].member_id".into(), "member_under_evaluation"),
                ("panel[1].member_id".into(), "evaluator_floating"),
                ("panel[2].member_id".into(), "member_not_active"),
                ("panel[3].member_id".into(), "unknown_member"),
                ("panel[5].subject".into(), "duplicate_subject"),
                ("panel[5].member_id".into(), "duplicate_member"),
                ("panel[6].member_id".into(), "required"),
                ("panel[7].subject".into(), "required"),
            ]
        );
    }

    #[test]
    fn a_panel_smaller_than_the_quorum_or_a_meeting_too_far_ahead_is_refused() {
        let now = Utc::now();
        let panel = vec![evaluator("a", None), evaluator("b", None)];
        let err = check(
            &new_eval(panel, now + Duration::days(400)),
            Uuid::now_v7(),
            3,
            None,
            now,
            &HashMap::new(),
        )
        .unwrap_err();
        assert_eq!(
            codes(err),
            vec![
                ("held_at".into(), "too_far_ahead"),
                ("panel".into(), "below_quorum")
            ]
        );
        let err = check(
            &new_eval(Vec::new(), now),
            Uuid::now_v7(),
            1,
            None,
            now,
            &HashMap::new(),
        )
        .unwrap_err();
        assert_eq!(codes(err), vec![("panel".into(), "required")]);
    }

    #[test]
    fn the_kinds_and_verdicts_are_the_stored_strings() {
        assert_eq!(EvaluatorKind::VillageCadre.as_str(), "village_cadre");
        assert_eq!(
            "party_member_representative".parse::<EvaluatorKind>(),
            Ok(EvaluatorKind::PartyMemberRepresentative)
        );
        assert_eq!(Verdict::NotQualified.as_str(), "not_qualified");
        assert_eq!(Outcome::Passed.status(), EvaluationStatus::Passed);
    }
}
