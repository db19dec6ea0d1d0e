//! Activities and attendance rolls: pure types and rules.
//!
//! Who must attend is fixed when an activity is planned ([`plan_attendees`]); the roll is
//! judged against that list ([`check_roll`]), sent once and never edited
//! ([`compare_roll`]), and only some of its lines cost points ([`absence_costs`]).

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::{ApiError, FieldError};
use crate::msg;
use crate::scores::domain::Refusal;
use crate::scores::points::HalfPoints;
use crate::validate::Checks;

/// The most members one list of a new activity, or one roll, may name.
pub const MAX_LISTED: usize = 2000;

/// The years an activity may start in (and the list's date filters may name).
pub const YEARS: std::ops::RangeInclusive<i32> = 2000..=2099;

crate::text_enum! {
    /// What kind of activity (art. 14, 15).
    pub enum ActivityKind {
        /// A meeting of the center branch (会议).
        Meeting = "meeting",
        /// A party lecture (党课).
        Lecture = "lecture",
        /// Organizational life (组织生活).
        OrganizationalLife = "organizational_life",
        /// A cultural activity (文化活动).
        Cultural = "cultural",
        /// Taking part in the town's central work (中心工作).
        CentralWork = "central_work",
    }
}

crate::text_enum! {
    /// Why a member must attend.
    pub enum RequiredAs {
        /// Under transformation when the activity was planned: an absence costs points (art. 22).
        Transformation = "transformation",
        /// A trainee (art. 17).
        Trainee = "trainee",
        /// Anyone else named.
        Other = "other",
    }
}

crate::text_enum! {
    /// A line of the roll.
    pub enum AttendanceStatus {
        /// The member came.
        Present = "present",
        /// Did not come, without leave.
        Absent = "absent",
        /// Excused leave (请假), with a reason and who approved it.
        Excused = "excused",
    }
}

crate::text_enum! {
    /// Why a line that would cost points did not.
    pub enum Unscored {
        /// The member's case was concluded after the activity was planned: they are no
        /// longer under transformation.
        CaseConcluded = "case_concluded",
        /// The town's policy freezes the score once an evaluation is due, and it is.
        ScoreFrozen = "score_frozen",
    }
}

/// An activity of the center: a meeting, a lecture, organizational life, a cultural
/// activity or central work.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Activity {
    /// The activity's id, the `{activity}` in its paths.
    pub id: Uuid,
    /// The town that planned it.
    pub town_id: Uuid,
    /// What kind of activity it is.
    pub kind: ActivityKind,
    /// What it is called.
    #[schema(example = "学习党章")]
    pub title: String,
    /// When it starts (RFC 3339).
    pub starts_at: DateTime<Utc>,
    /// Where it takes place.
    #[schema(example = "服务转化中心会议室")]
    pub place: String,
    /// Who planned it (token subject).
    pub created_by: String,
    /// When it was planned.
    pub created_at: DateTime<Utc>,
    /// How many members must attend.
    pub required_count: i64,
    /// When its roll was recorded; `null` until then.
    pub roll_recorded_at: Option<DateTime<Utc>>,
    /// Who recorded the roll (token subject).
    pub roll_recorded_by: Option<String>,
    /// When it last changed (planned, or its roll recorded).
    pub updated_at: DateTime<Utc>,
    /// Version; the `ETag` is this number in quotes.
    pub version: i64,
}

/// A member who must attend.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Attendee {
    /// The member who must attend.
    pub member_id: Uuid,
    /// Why they must attend.
    pub required_as: RequiredAs,
    /// For `transformation`: the member's case when the activity was planned (the case
    /// an absence is scored to).
    pub case_id: Option<Uuid>,
}

/// One line of a recorded roll.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AttendanceRecord {
    /// The record's id (the source of its ledger entry, if any).
    pub id: Uuid,
    /// The member the line is about.
    pub member_id: Uuid,
    /// Why they had to attend.
    pub required_as: RequiredAs,
    /// For `transformation`: the case an absence is scored to.
    pub case_id: Option<Uuid>,
    /// Whether the member came: present, absent or on excused leave.
    pub status: AttendanceStatus,
    /// For `excused`: why.
    pub excuse_reason: Option<String>,
    /// For `excused`: who approved the leave.
    pub approved_by: Option<String>,
    /// The ledger entry the line wrote (an absence under transformation), if any.
    pub entry_id: Option<Uuid>,
    /// The points of that entry (`-0.5` under the rules as written).
    pub points: Option<HalfPoints>,
    /// Why a line that would cost points did not: `case_concluded`, `score_frozen`.
    pub unscored: Option<Unscored>,
}

/// An activity's recorded roll.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Roll {
    /// The activity the roll is of.
    pub activity_id: Uuid,
    /// When the roll was recorded.
    pub recorded_at: DateTime<Utc>,
    /// Who recorded it (token subject).
    pub recorded_by: String,
    /// One line per required member, in member id order.
    pub items: Vec<AttendanceRecord>,
}

/// An activity with who must attend and, once recorded, its roll.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ActivityDetail {
    /// The activity itself.
    #[serde(flatten)]
    pub activity: Activity,
    /// Who must attend, in member id order.
    pub attendees: Vec<Attendee>,
    /// The roll; `null` until it is recorded.
    pub roll: Option<Roll>,
}

/// An activity a member had to attend, with their own line of the roll (`/me/activities`).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MyActivity {
    /// The activity's id; `GET /towns/{town}/activities/{activity}` gives it in full.
    pub id: Uuid,
    /// What kind of activity it is.
    pub kind: ActivityKind,
    /// What it is called.
    pub title: String,
    /// When it starts (RFC 3339).
    pub starts_at: DateTime<Utc>,
    /// Where it takes place.
    pub place: String,
    /// Why you had to attend.
    pub required_as: RequiredAs,
    /// Your line of the roll; `null` until the roll is recorded.
    pub status: Option<AttendanceStatus>,
    /// For an excused leave: the reason recorded.
    pub excuse_reason: Option<String>,
    /// The points the line cost you, if any.
    pub points: Option<HalfPoints>,
}

/// An activity to plan (staff, committee).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewActivity {
    /// What kind of activity it is.
    pub kind: ActivityKind,
    /// Title, 1 to 200 characters.
    #[schema(example = "学习党章")]
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]*[^\s\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff][^\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]*$"
    )]
    pub title: String,
    /// When it starts (RFC 3339 with offset), in the years 2000 to 2099.
    pub starts_at: DateTime<Utc>,
    /// Where, 1 to 200 characters.
    #[schema(example = "服务转化中心会议室")]
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]*[^\s\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff][^\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]*$"
    )]
    pub place: String,
    /// Every member with an open case now must attend (instead of
    /// `transformation_member_ids`).
    #[serde(default)]
    pub all_under_transformation: bool,
    /// These members under transformation (each with an open case) must attend.
    #[serde(default)]
    #[schema(max_items = 2000)]
    pub transformation_member_ids: Vec<Uuid>,
    /// These trainees must attend (art. 17).
    #[serde(default)]
    #[schema(max_items = 2000)]
    pub trainee_member_ids: Vec<Uuid>,
    /// These other members must attend.
    #[serde(default)]
    #[schema(max_items = 2000)]
    pub other_member_ids: Vec<Uuid>,
}

/// A checked new activity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedActivity {
    /// What kind of activity it is.
    pub kind: ActivityKind,
    /// The title, trimmed.
    pub title: String,
    /// When it starts, in the years 2000 to 2099.
    pub starts_at: DateTime<Utc>,
    /// The place, trimmed.
    pub place: String,
    /// Whether every member with an open case must attend.
    pub all_under_transformation: bool,
    /// Every member named, with the list that named them (`field[i]` for errors).
    pub named: Vec<Named>,
}

/// A member named by one of the lists of a new activity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Named {
    /// The member named.
    pub member_id: Uuid,
    /// The list that named them.
    pub as_: RequiredAs,
    /// The field that named them, e.g. `trainee_member_ids[2]`.
    pub field: String,
}

impl NewActivity {
    /// Checks the fields and the lists: a member is named once, and the members under
    /// transformation are either all of them or a list.
    pub fn validate(&self) -> Result<CheckedActivity, ApiError> {
        let mut c = Checks::new();
        let title = c.text("title", &self.title, 1, 200);
        let place = c.text("place", &self.place, 1, 200);
        if !YEARS.contains(&self.starts_at.year()) {
            c.push(FieldError::new(
                "starts_at",
                "out_of_range",
                msg!(
                    "活动时间须在 2000 年至 2099 年之间。",
                    "`starts_at` must be in the years 2000 to 2099."
                ),
            ));
        }
        if self.all_under_transformation && !self.transformation_member_ids.is_empty() {
            c.push(FieldError::new(
                "transformation_member_ids",
                "conflicts_with_all",
                msg!(
                    "已选择全部转化对象，不能再列出名单。",
                    "`all_under_transformation` is set: list no members under transformation."
                ),
            ));
        }
        let lists = [
            (
                "transformation_member_ids",
                RequiredAs::Transformation,
                &self.transformation_member_ids,
            ),
            (
                "trainee_member_ids",
                RequiredAs::Trainee,
                &self.trainee_member_ids,
            ),
            (
                "other_member_ids",
                RequiredAs::Other,
                &self.other_member_ids,
            ),
        ];
        let mut named = Vec::new();
        let mut seen = HashSet::new();
        for (name, as_, ids) in lists {
            if ids.len() > MAX_LISTED {
                c.push(FieldError::new(
                    name,
                    "too_many",
                    msg!(
                        ("{} 最多 {} 人。", name, MAX_LISTED),
                        ("`{}` names at most {} members.", name, MAX_LISTED)
                    ),
                ));
                continue;
            }
            for (i, id) in ids.iter().enumerate() {
                let field = format!("{name}[{i}]");
                if !seen.insert(*id) {
                    c.push(FieldError::new(
                        field,
                        "duplicate",
                        msg!(
                            "该党员已被列出一次。",
                            "This member is named more than once."
                        ),
                    ));
                    continue;
                }
                named.push(Named {
                    member_id: *id,
                    as_,
                    field,
                });
            }
        }
        c.finish()?;
        Ok(CheckedActivity {
            kind: self.kind,
            title,
            starts_at: self.starts_at,
            place,
            all_under_transformation: self.all_under_transformation,
            named,
        })
    }
}

/// 400 unless a date filter of the list is in [`YEARS`].
pub fn check_day_filter(name: &str, day: Option<NaiveDate>) -> Result<(), ApiError> {
    match day {
        Some(d) if !YEARS.contains(&d.year()) => Err(ApiError::bad_request(
            "invalid_query",
            msg!(
                ("查询参数 {} 须在 2000 年至 2099 年之间。", name),
                (
                    "Query parameter `{}` must be in the years 2000 to 2099.",
                    name
                )
            ),
        )),
        _ => Ok(()),
    }
}

/// What the database says of a member named by a new activity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemberFacts {
    /// Whether the member can take part: `active` or `incoming` (art. 12: inflowing
    /// members join the organizational life).
    pub can_attend: bool,
    /// Their open case, if they are under transformation.
    pub open_case: Option<Uuid>,
}

/// Who must attend: every member named, and (with `all_under_transformation`) every
/// member with an open case. A member with an open case is required as `transformation`
/// (with that case) whichever list named them: an absence costs points to anyone under
/// transformation. A member named as under transformation must have an open case.
///
/// `facts` holds what the database knows of the named members (absent: no such member in
/// the town); `open_cases` every (member, case) open now, used with
/// `all_under_transformation`. The result is in member id order.
pub fn plan_attendees(
    checked: &CheckedActivity,
    facts: &HashMap<Uuid, MemberFacts>,
    open_cases: &[(Uuid, Uuid)],
) -> Result<Vec<Attendee>, ApiError> {
    let mut c = Checks::new();
    let mut out: HashMap<Uuid, Attendee> = HashMap::new();
    if checked.all_under_transformation {
        for (member, case) in open_cases {
            out.insert(
                *member,
                Attendee {
                    member_id: *member,
                    required_as: RequiredAs::Transformation,
                    case_id: Some(*case),
                },
            );
        }
    }
    for n in &checked.named {
        let Some(f) = facts.get(&n.member_id) else {
            c.push(FieldError::new(
                n.field.clone(),
                "unknown_member",
                msg!("本镇没有该党员。", "This town has no such member."),
            ));
            continue;
        };
        if !f.can_attend {
            c.push(FieldError::new(
                n.field.clone(),
                "member_not_active",
                msg!(
                    "该党员已不在本镇组织中（转出、除名或去世）。",
                    "The member is no longer in the town's organization (transferred out, removed or deceased)."
                ),
            ));
            continue;
        }
        let attendee = match (n.as_, f.open_case) {
            (_, Some(case)) => Attendee {
                member_id: n.member_id,
                required_as: RequiredAs::Transformation,
                case_id: Some(case),
            },
            (RequiredAs::Transformation, None) => {
                c.push(FieldError::new(
                    n.field.clone(),
                    "no_open_case",
                    msg!(
                        "该党员没有未结的转化档案。",
                        "This member has no open transformation case."
                    ),
                ));
                continue;
            }
            (as_, None) => Attendee {
                member_id: n.member_id,
                required_as: as_,
                case_id: None,
            },
        };
        out.insert(n.member_id, attendee);
    }
    c.finish()?;
    let mut attendees: Vec<Attendee> = out.into_values().collect();
    attendees.sort_by_key(|a| a.member_id);
    Ok(attendees)
}

/// One line of a roll as sent.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RollItem {
    /// A member who had to attend.
    pub member_id: Uuid,
    /// Whether the member came: present, absent or on excused leave.
    pub status: AttendanceStatus,
    /// For `excused` (and only then): why, 1 to 500 characters.
    #[serde(default)]
    #[schema(min_length = 1, max_length = 500)]
    pub excuse_reason: Option<String>,
    /// For `excused` (and only then): who approved the leave, 1 to 100 characters.
    #[serde(default)]
    #[schema(min_length = 1, max_length = 100)]
    pub approved_by: Option<String>,
}

/// A roll as sent: one line for every member who had to attend.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewRoll {
    /// One line per required member, each member once.
    #[schema(max_items = 2000)]
    pub items: Vec<RollItem>,
}

/// A checked line of a roll.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedItem {
    /// The member the line is about.
    pub member_id: Uuid,
    /// Why they had to attend.
    pub required_as: RequiredAs,
    /// Their case, for `transformation`.
    pub case_id: Option<Uuid>,
    /// Whether the member came.
    pub status: AttendanceStatus,
    /// Trimmed reason, for `excused`.
    pub excuse_reason: Option<String>,
    /// Trimmed approver, for `excused`.
    pub approved_by: Option<String>,
}

/// Checks a roll against who had to attend: an excused leave has a reason and an
/// approver (and nothing else has either); every line names a required member
/// (`not_required`), each once (`duplicate`); and the roll is complete: every required
/// member has a line (`missing`, one error per member left out, field `items`). The
/// result is in member id order.
pub fn check_roll(items: &[RollItem], required: &[Attendee]) -> Result<Vec<CheckedItem>, ApiError> {
    if items.len() > MAX_LISTED {
        return Err(ApiError::invalid(
            "items",
            "too_many",
            msg!(
                ("一份考勤最多 {} 行。", MAX_LISTED),
                ("A roll has at most {} lines.", MAX_LISTED)
            ),
        ));
    }
    let mut c = Checks::new();
    let by_member: HashMap<Uuid, &Attendee> = required.iter().map(|a| (a.member_id, a)).collect();
    let mut seen = HashSet::new();
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let excused = item.status == AttendanceStatus::Excused;
        let excuse_field = |c: &mut Checks, name: &str, value: &Option<String>, max: usize| {
            let field = format!("items[{i}].{name}");
            match (excused, value) {
                (true, Some(v)) => Some(c.text(&field, v, 1, max)),
                (true, None) => {
                    c.push(FieldError::new(
                        field,
                        "required",
                        msg!(
                            "请假须写明事由和批准人。",
                            "An excused leave needs a reason and who approved it."
                        ),
                    ));
                    None
                }
                (false, Some(_)) => {
                    c.push(FieldError::new(
                        field,
                        "only_when_excused",
                        msg!(
                            "只有请假才填写事由和批准人。",
                            "Only an excused leave has a reason and an approver."
                        ),
                    ));
                    None
                }
                (false, None) => None,
            }
        };
        let excuse_reason = excuse_field(&mut c, "excuse_reason", &item.excuse_reason, 500);
        let approved_by = excuse_field(&mut c, "approved_by", &item.approved_by, 100);
        let field = format!("items[{i}].member_id");
        let Some(attendee) = by_member.get(&item.member_id) else {
            c.push(FieldError::new(
                field,
                "not_required",
                msg!(
                    "该党员不在本次活动的应到名单中。",
                    "This member was not required to attend this activity."
                ),
            ));
            continue;
        };
        if !seen.insert(item.member_id) {
            c.push(FieldError::new(
                field,
                "duplicate",
                msg!(
                    "同一党员在考勤中只能出现一次。",
                    "A member appears at most once in a roll."
                ),
            ));
            continue;
        }
        out.push(CheckedItem {
            member_id: item.member_id,
            required_as: attendee.required_as,
            case_id: attendee.case_id,
            status: item.status,
            excuse_reason,
            approved_by,
        });
    }
    let mut missing: Vec<Uuid> = required
        .iter()
        .map(|a| a.member_id)
        .filter(|m| !seen.contains(m))
        .collect();
    missing.sort();
    for m in missing {
        c.push(FieldError::new(
            "items",
            "missing",
            msg!(
                ("考勤缺少应到党员 {}。", m),
                ("The roll has no line for required member {}.", m)
            ),
        ));
    }
    c.finish()?;
    out.sort_by_key(|i| i.member_id);
    Ok(out)
}

/// A recorded line of a roll, as [`compare_roll`] reads it: the rolls of activities and
/// of branch meetings alike.
pub trait RecordedLine {
    /// The member the line is about.
    fn member_id(&self) -> Uuid;
    /// Whether they came.
    fn status(&self) -> AttendanceStatus;
    /// For an excused leave: why.
    fn excuse_reason(&self) -> Option<&str>;
    /// For an excused leave: who approved it.
    fn approved_by(&self) -> Option<&str>;
}

impl RecordedLine for AttendanceRecord {
    fn member_id(&self) -> Uuid {
        self.member_id
    }
    fn status(&self) -> AttendanceStatus {
        self.status
    }
    fn excuse_reason(&self) -> Option<&str> {
        self.excuse_reason.as_deref()
    }
    fn approved_by(&self) -> Option<&str> {
        self.approved_by.as_deref()
    }
}

/// Whether a roll sent again is the one recorded (line for line: status, reason,
/// approver), so that it changes nothing; a different one is refused (`roll_recorded`).
pub fn compare_roll<R: RecordedLine>(recorded: &[R], sent: &[CheckedItem]) -> Result<(), ApiError> {
    let recorded: HashMap<Uuid, &R> = recorded.iter().map(|r| (r.member_id(), r)).collect();
    let same = recorded.len() == sent.len()
        && sent.iter().all(|s| {
            recorded.get(&s.member_id).is_some_and(|r| {
                r.status() == s.status
                    && r.excuse_reason() == s.excuse_reason.as_deref()
                    && r.approved_by() == s.approved_by.as_deref()
            })
        });
    if same { Ok(()) } else { Err(roll_recorded()) }
}

/// 409 `roll_recorded`: the activity has another roll already.
pub fn roll_recorded() -> ApiError {
    crate::error::constraints::ROLL_RECORDED.into()
}

/// Whether a line costs points: an absence (and, when the policy says so, an excused
/// leave) of a member required as under transformation.
pub fn absence_costs(item: &CheckedItem, excused_leave_costs: bool) -> bool {
    item.required_as == RequiredAs::Transformation
        && match item.status {
            AttendanceStatus::Absent => true,
            AttendanceStatus::Excused => excused_leave_costs,
            AttendanceStatus::Present => false,
        }
}

impl From<Refusal> for Unscored {
    /// Why the ledger refused a line's absence: the case was concluded after the activity
    /// was planned (the member is no longer under transformation), or the policy freezes
    /// a score once an evaluation is due.
    fn from(r: Refusal) -> Unscored {
        match r {
            Refusal::Concluded => Unscored::CaseConcluded,
            Refusal::Frozen => Unscored::ScoreFrozen,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new_activity() -> NewActivity {
        NewActivity {
            kind: ActivityKind::Meeting,
            title: " 学习党章 ".into(),
            starts_at: Utc::now(),
            place: "会议室".into(),
            all_under_transformation: false,
            transformation_member_ids: vec![],
            trainee_member_ids: vec![],
            other_member_ids: vec![],
        }
    }

    fn fields(e: ApiError) -> Vec<(String, &'static str)> {
        match e {
            ApiError::Validation(errors) => errors.into_iter().map(|e| (e.field, e.code)).collect(),
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    fn ids(n: usize) -> Vec<Uuid> {
        let mut v: Vec<Uuid> = (0..n).map(|_| Uuid::now_v7()).collect();
        v.sort();
        v
    }

    #[test]
    fn a_member_is_named_once_and_all_excludes_a_list() {
        let m = ids(2);
        let a = NewActivity {
            all_under_transformation: true,
            transformation_member_ids: vec![m[0]],
            trainee_member_ids: vec![m[1]],
            other_member_ids: vec![m[1]],
            ..new_activity()
        };
        assert_eq!(
            fields(a.validate().unwrap_err()),
            vec![
                ("transformation_member_ids".into(), "conflicts_with_all"),
                ("other_member_ids[0]".into(), "duplicate"),
            ]
        );
        let ok = NewActivity {
            trainee_member_ids: vec![m[1]],
            ..new_activity()
        }
        .validate()
        .unwrap();
        assert_eq!(ok.title, "学习党章");
        assert_eq!(ok.named[0].field, "trainee_member_ids[0]");
    }

    #[test]
    fn activities_start_in_a_sane_year() {
        let long_ago = NewActivity {
            starts_at: "1899-12-31T00:00:00Z".parse().unwrap(),
            ..new_activity()
        };
        assert_eq!(
            fields(long_ago.validate().unwrap_err()),
            vec![("starts_at".into(), "out_of_range")]
        );
        let day = |s: &str| Some(s.parse::<NaiveDate>().unwrap());
        assert!(check_day_filter("from", day("2026-11-27")).is_ok());
        assert!(check_day_filter("from", None).is_ok());
        assert_eq!(
            check_day_filter("to", day("+10000-01-01"))
                .unwrap_err()
                .code(),
            "invalid_query"
        );
    }

    #[test]
    fn anyone_with_an_open_case_is_required_as_under_transformation() {
        let m = ids(5);
        let (case_a, case_b) = (Uuid::now_v7(), Uuid::now_v7());
        let checked = NewActivity {
            all_under_transformation: true,
            trainee_member_ids: vec![m[1], m[2]],
            other_member_ids: vec![m[3]],
            ..new_activity()
        }
        .validate()
        .unwrap();
        let facts = HashMap::from([
            (
                m[1],
                MemberFacts {
                    can_attend: true,
                    open_case: Some(case_b),
                },
            ),
            (
                m[2],
                MemberFacts {
                    can_attend: true,
                    open_case: None,
                },
            ),
            (
                m[3],
                MemberFacts {
                    can_attend: true,
                    open_case: None,
                },
            ),
        ]);
        let planned = plan_attendees(&checked, &facts, &[(m[0], case_a), (m[1], case_b)]).unwrap();
        assert_eq!(
            planned,
            vec![
                Attendee {
                    member_id: m[0],
                    required_as: RequiredAs::Transformation,
                    case_id: Some(case_a)
                },
                Attendee {
                    member_id: m[1],
                    required_as: RequiredAs::Transformation,
                    case_id: Some(case_b)
                },
                Attendee {
                    member_id: m[2],
                    required_as: RequiredAs::Trainee,
                    case_id: None
                },
                Attendee {
                    member_id: m[3],
                    required_as: RequiredAs::Other,
                    case_id: None
                },
            ]
        );
        // Without `all`, the open cases of members not named do not count.
        let checked = NewActivity {
            other_member_ids: vec![m[3]],
            ..new_activity()
        }
        .validate()
        .unwrap();
        assert_eq!(
            plan_attendees(&checked, &facts, &[(m[0], case_a)])
                .unwrap()
                .len(),
            1
        );
    }

    #[test]
    fn named_members_must_exist_attend_and_have_a_case_when_named_so() {
        let m = ids(3);
        let checked = NewActivity {
            transformation_member_ids: vec![m[0]],
            trainee_member_ids: vec![m[1]],
            other_member_ids: vec![m[2]],
            ..new_activity()
        }
        .validate()
        .unwrap();
        let facts = HashMap::from([
            (
                m[0],
                MemberFacts {
                    can_attend: true,
                    open_case: None,
                },
            ),
            (
                m[1],
                MemberFacts {
                    can_attend: false,
                    open_case: None,
                },
            ),
        ]);
        assert_eq!(
            fields(plan_attendees(&checked, &facts, &[]).unwrap_err()),
            vec![
                ("transformation_member_ids[0]".into(), "no_open_case"),
                ("trainee_member_ids[0]".into(), "member_not_active"),
                ("other_member_ids[0]".into(), "unknown_member"),
            ]
        );
    }

    fn required(m: &[Uuid]) -> Vec<Attendee> {
        vec![
            Attendee {
                member_id: m[0],
                required_as: RequiredAs::Transformation,
                case_id: Some(Uuid::nil()),
            },
            Attendee {
                member_id: m[1],
                required_as: RequiredAs::Trainee,
                case_id: None,
            },
            Attendee {
                member_id: m[2],
                required_as: RequiredAs::Other,
                case_id: None,
            },
        ]
    }

    fn item(member: Uuid, status: AttendanceStatus) -> RollItem {
        RollItem {
            member_id: member,
            status,
            excuse_reason: None,
            approved_by: None,
        }
    }

    #[test]
    fn an_excused_leave_needs_a_reason_and_an_approver_and_nothing_else_has_them() {
        let m = ids(3);
        let items = vec![
            item(m[0], AttendanceStatus::Excused),
            RollItem {
                excuse_reason: Some("x".into()),
                ..item(m[1], AttendanceStatus::Present)
            },
            RollItem {
                excuse_reason: Some(" 生病 ".into()),
                approved_by: Some("书记".into()),
                ..item(m[2], AttendanceStatus::Excused)
            },
        ];
        assert_eq!(
            fields(check_roll(&items, &required(&m)).unwrap_err()),
            vec![
                ("items[0].excuse_reason".into(), "required"),
                ("items[0].approved_by".into(), "required"),
                ("items[1].excuse_reason".into(), "only_when_excused"),
            ]
        );
    }

    #[test]
    fn a_roll_names_each_required_member_once_and_no_one_else() {
        let m = ids(4);
        let items = vec![
            item(m[0], AttendanceStatus::Present),
            item(m[3], AttendanceStatus::Absent),
            item(m[0], AttendanceStatus::Absent),
        ];
        let errors = fields(check_roll(&items, &required(&m)).unwrap_err());
        assert_eq!(
            errors,
            vec![
                ("items[1].member_id".into(), "not_required"),
                ("items[2].member_id".into(), "duplicate"),
                ("items".into(), "missing"),
                ("items".into(), "missing"),
            ]
        );
        let complete = vec![
            item(m[2], AttendanceStatus::Absent),
            item(m[0], AttendanceStatus::Absent),
            item(m[1], AttendanceStatus::Present),
        ];
        let checked = check_roll(&complete, &required(&m)).unwrap();
        assert_eq!(
            checked.iter().map(|c| c.member_id).collect::<Vec<_>>(),
            m[..3]
        );
        assert_eq!(checked[0].required_as, RequiredAs::Transformation);
        assert!(
            check_roll(&[], &[]).unwrap().is_empty(),
            "no one required, an empty roll"
        );
    }

    #[test]
    fn only_absences_under_transformation_cost_and_excused_leave_by_policy() {
        let m = ids(3);
        let line = |who: usize, status| CheckedItem {
            member_id: m[who],
            required_as: required(&m)[who].required_as,
            case_id: required(&m)[who].case_id,
            status,
            excuse_reason: None,
            approved_by: None,
        };
        assert!(absence_costs(&line(0, AttendanceStatus::Absent), false));
        assert!(!absence_costs(&line(0, AttendanceStatus::Present), true));
        assert!(!absence_costs(&line(0, AttendanceStatus::Excused), false));
        assert!(absence_costs(&line(0, AttendanceStatus::Excused), true));
        assert!(
            !absence_costs(&line(1, AttendanceStatus::Absent), true),
            "a trainee"
        );
        assert!(
            !absence_costs(&line(2, AttendanceStatus::Absent), true),
            "someone else"
        );
    }

    #[test]
    fn a_roll_sent_again_must_be_the_same_line_for_line() {
        let m = ids(2);
        let record = |who: usize, status| AttendanceRecord {
            id: Uuid::now_v7(),
            member_id: m[who],
            required_as: RequiredAs::Other,
            case_id: None,
            status,
            excuse_reason: None,
            approved_by: None,
            entry_id: None,
            points: None,
            unscored: None,
        };
        let sent = |who: usize, status| CheckedItem {
            member_id: m[who],
            required_as: RequiredAs::Other,
            case_id: None,
            status,
            excuse_reason: None,
            approved_by: None,
        };
        let recorded = vec![
            record(0, AttendanceStatus::Present),
            record(1, AttendanceStatus::Absent),
        ];
        assert!(
            compare_roll(
                &recorded,
                &[
                    sent(1, AttendanceStatus::Absent),
                    sent(0, AttendanceStatus::Present)
                ]
            )
            .is_ok()
        );
        let changed = compare_roll(
            &recorded,
            &[
                sent(0, AttendanceStatus::Present),
                sent(1, AttendanceStatus::Present),
            ],
        );
        assert_eq!(changed.unwrap_err().code(), "roll_recorded");
    }

    #[test]
    fn a_refused_absence_is_recorded_with_the_ledger_s_reason() {
        assert_eq!(Unscored::from(Refusal::Concluded), Unscored::CaseConcluded);
        assert_eq!(Unscored::from(Refusal::Frozen), Unscored::ScoreFrozen);
    }

    #[test]
    fn kinds_round_trip_as_snake_case_text() {
        for kind in ActivityKind::ALL {
            assert_eq!(kind.as_str().parse::<ActivityKind>().unwrap(), *kind);
            assert_eq!(serde_json::to_value(kind).unwrap(), kind.as_str());
        }
    }
}
