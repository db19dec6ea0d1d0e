//! Organizational life of the branches: pure types and rules.
//!
//! A branch's party groups and officers ([`NewGroup`], [`NewOfficer`]), its meetings of
//! the regulated kinds ([`MeetingKind`]) with who is expected ([`plan_attendees`]), their
//! minutes ([`NewMinutes`]), and how the meetings held measure against the town's
//! frequencies ([`compliance`]).

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::activities::domain::{
    AttendanceStatus, Attendee, MemberFacts, RecordedLine, RequiredAs, Unscored,
};
use crate::branches::domain::BranchKind;
use crate::error::{ApiError, FieldError};
use crate::msg;
use crate::policy::Policy;
use crate::scores::points::HalfPoints;
use crate::validate::Checks;

/// The most members a group, or a meeting's list of extra attendees, may name.
pub const MAX_LISTED: usize = crate::activities::domain::MAX_LISTED;

crate::text_enum! {
    /// An office in a branch (支部委员会). 支部委员职务。
    pub enum Office {
        /// The branch secretary (支部书记): one at a time.
        Secretary = "secretary",
        /// A deputy secretary (支部副书记).
        DeputySecretary = "deputy_secretary",
        /// A member of the branch committee (支部委员).
        CommitteeMember = "committee_member",
    }
}

/// A party group (党小组) of a branch, with its members.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PartyGroup {
    /// The group's id. 党小组编号。
    pub id: Uuid,
    /// The branch it belongs to. 所属支部。
    pub branch_id: Uuid,
    /// Its name, unique in the branch. 党小组名称，支部内唯一。
    #[schema(example = "第一党小组")]
    pub name: String,
    /// The group leader (党小组组长), one of its members; `null` if none. 党小组组长。
    pub leader_id: Option<Uuid>,
    /// Its members, in id order. 党小组成员（按编号排序）。
    pub member_ids: Vec<Uuid>,
    /// Who created it (token subject). 创建人。
    pub created_by: String,
    /// When it was created. 创建时间。
    pub created_at: DateTime<Utc>,
    /// When it last changed. 最后修改时间。
    pub updated_at: DateTime<Utc>,
    /// Version; the `ETag` is this number in quotes. 版本号，即 ETag。
    pub version: i64,
}

/// A party group to create (staff, committee). 新建党小组。
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewGroup {
    /// Name, 1 to 100 characters, unique in the branch. 名称，1 至 100 字，支部内唯一。
    #[schema(example = "第一党小组")]
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]*[^\s\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff][^\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]*$"
    )]
    pub name: String,
    /// The members, each a member of the branch and of no other group. 成员：须为本支部党员，且不在其他党小组。
    #[serde(default)]
    #[schema(max_items = 2000)]
    pub member_ids: Vec<Uuid>,
    /// The group leader, one of `member_ids`. 党小组组长，须为成员之一。
    #[serde(default)]
    pub leader_id: Option<Uuid>,
}

/// A change to a party group; absent fields stay as they are (staff, committee). 修改党小组。
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupPatch {
    /// The new name, unique in the branch. 新名称。
    #[serde(default)]
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]*[^\s\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff][^\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]*$"
    )]
    pub name: Option<String>,
    /// The whole new set of members (it replaces the old one). 新的全部成员（整体替换）。
    #[serde(default)]
    #[schema(max_items = 2000)]
    pub member_ids: Option<Vec<Uuid>>,
    /// The new leader, one of the members; `null` for none. 新组长；`null` 表示不设。
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Uuid>)]
    pub leader_id: Option<Option<Uuid>>,
}

/// A field that is present (`null` included) as `Some`: absent stays `None` by `default`.
fn present<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(d).map(Some)
}

/// A checked group: its name, members (in id order) and leader.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedGroup {
    /// The name, trimmed.
    pub name: String,
    /// The members, in id order.
    pub member_ids: Vec<Uuid>,
    /// The leader, one of the members.
    pub leader_id: Option<Uuid>,
}

/// Checks a group's name, members and leader: each member once, at most
/// [`MAX_LISTED`], the leader one of them.
pub fn check_group(
    name: &str,
    member_ids: &[Uuid],
    leader_id: Option<Uuid>,
) -> Result<CheckedGroup, ApiError> {
    let mut c = Checks::new();
    let name = c.text("name", name, 1, 100);
    let members = unique_ids(&mut c, "member_ids", member_ids);
    if let Some(leader) = leader_id
        && !member_ids.contains(&leader)
    {
        c.push(FieldError::new(
            "leader_id",
            "not_a_group_member",
            msg!(
                "党小组组长须为该小组成员。",
                "The group leader must be one of its members."
            ),
        ));
    }
    c.finish()?;
    Ok(CheckedGroup {
        name,
        member_ids: members,
        leader_id,
    })
}

impl GroupPatch {
    /// The group after this change, checked as a whole.
    pub fn apply_to(&self, current: &PartyGroup) -> Result<CheckedGroup, ApiError> {
        let name = self.name.as_deref().unwrap_or(&current.name);
        let members = self.member_ids.as_deref().unwrap_or(&current.member_ids);
        let leader = match self.leader_id {
            Some(leader) => leader,
            // A leader who leaves the group stops leading it.
            None => current.leader_id.filter(|l| members.contains(l)),
        };
        check_group(name, members, leader)
    }
}

/// The ids of a list, each once (`duplicate` at `field[i]`), at most [`MAX_LISTED`]; in
/// id order.
fn unique_ids(c: &mut Checks, field: &str, ids: &[Uuid]) -> Vec<Uuid> {
    if ids.len() > MAX_LISTED {
        c.push(FieldError::new(
            field,
            "too_many",
            msg!(
                ("{} 最多 {} 人。", field, MAX_LISTED),
                ("`{}` names at most {} members.", field, MAX_LISTED)
            ),
        ));
        return Vec::new();
    }
    let mut seen = HashSet::new();
    for (i, id) in ids.iter().enumerate() {
        if !seen.insert(*id) {
            c.push(FieldError::new(
                format!("{field}[{i}]"),
                "duplicate",
                msg!(
                    "该党员已被列出一次。",
                    "This member is named more than once."
                ),
            ));
        }
    }
    let mut out: Vec<Uuid> = seen.into_iter().collect();
    out.sort();
    out
}

/// 422 naming each of `ids` (at its place in `field`) that is not an active member of the
/// branch (`not_a_branch_member`).
pub fn check_branch_members(
    field: &str,
    ids: &[Uuid],
    of_branch: &HashSet<Uuid>,
) -> Result<(), ApiError> {
    let mut c = Checks::new();
    for (i, id) in ids.iter().enumerate() {
        if !of_branch.contains(id) {
            c.push(FieldError::new(
                format!("{field}[{i}]"),
                "not_a_branch_member",
                msg!(
                    "该党员不是本支部的在册党员。",
                    "This member is not an active member of the branch."
                ),
            ));
        }
    }
    c.finish()
}

/// An officer's term in a branch (支部委员任期).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Officer {
    /// The term's id. 任职记录编号。
    pub id: Uuid,
    /// The branch. 所属支部。
    pub branch_id: Uuid,
    /// The member who holds the office. 任职党员。
    pub member_id: Uuid,
    /// The office. 职务。
    pub office: Office,
    /// The first day of the term (`YYYY-MM-DD`). 任期起始日。
    pub term_from: NaiveDate,
    /// The last day of the term, included. 任期截止日（含）。
    pub term_to: NaiveDate,
    /// Who recorded it (token subject). 记录人。
    pub created_by: String,
    /// When it was recorded. 记录时间。
    pub created_at: DateTime<Utc>,
}

/// An officer's term to record (staff, committee). 登记支部委员任期。
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewOfficer {
    /// The member, an active member of the branch. 任职党员，须为本支部在册党员。
    pub member_id: Uuid,
    /// The office. 职务。
    pub office: Office,
    /// The first day of the term (years 2000 to 2099). 任期起始日。
    #[schema(value_type = crate::types::CalendarDate)]
    pub term_from: NaiveDate,
    /// The last day of the term, included; not before `term_from`, at most 5 years later. 任期截止日（含），不早于起始日，最长五年。
    #[schema(value_type = crate::types::CalendarDate)]
    pub term_to: NaiveDate,
}

/// The longest term of office, in days (a branch committee's term is three or five years).
pub const MAX_TERM_DAYS: i64 = 5 * 366;

impl NewOfficer {
    /// Checks the term: in the years 2000 to 2099, in order, at most five years.
    pub fn validate(&self) -> Result<(), ApiError> {
        let mut c = Checks::new();
        for (field, day) in [("term_from", self.term_from), ("term_to", self.term_to)] {
            if !crate::activities::domain::YEARS.contains(&day.year()) {
                c.push(FieldError::new(
                    field,
                    "out_of_range",
                    msg!(
                        ("{} 须在 2000 年至 2099 年之间。", field),
                        ("`{}` must be in the years 2000 to 2099.", field)
                    ),
                ));
            }
        }
        if self.term_to < self.term_from {
            c.push(FieldError::new(
                "term_to",
                "before_term_from",
                msg!(
                    "任期截止日不能早于起始日。",
                    "`term_to` cannot be before `term_from`."
                ),
            ));
        } else if (self.term_to - self.term_from).num_days() > MAX_TERM_DAYS {
            c.push(FieldError::new(
                "term_to",
                "term_too_long",
                msg!("任期最长五年。", "A term lasts at most five years."),
            ));
        }
        c.finish()
    }

    /// 409 when the term overlaps another of the branch's terms it may not overlap: the
    /// same member's (`officer_term_overlaps`: one office at a time), or another
    /// secretary's (`secretary_term_overlaps`: one secretary at a time).
    pub fn check_overlaps(&self, terms: &[Officer]) -> Result<(), ApiError> {
        let overlaps = |t: &&Officer| t.term_from <= self.term_to && self.term_from <= t.term_to;
        let mut overlapping = terms.iter().filter(overlaps);
        if overlapping.clone().any(|t| t.member_id == self.member_id) {
            return Err(ApiError::conflict(
                "officer_term_overlaps",
                msg!(
                    "该党员在这段时间已在本支部任职。",
                    "This member already holds an office in the branch during this term."
                ),
            ));
        }
        if self.office == Office::Secretary && overlapping.any(|t| t.office == Office::Secretary) {
            return Err(ApiError::conflict(
                "secretary_term_overlaps",
                msg!(
                    "这段时间本支部已有书记。",
                    "The branch has another secretary during this term."
                ),
            ));
        }
        Ok(())
    }
}

crate::text_enum! {
    /// The regulated kinds of a branch meeting (三会一课 and the rest). 会议类型。
    pub enum MeetingKind {
        /// The branch general meeting (支部党员大会): at least once a quarter.
        GeneralMeeting = "general_meeting",
        /// The branch committee (支部委员会): at least once a month.
        BranchCommittee = "branch_committee",
        /// A party group meeting (党小组会): at least once a month, per group.
        PartyGroup = "party_group",
        /// A party lecture (党课): at least once a quarter.
        PartyLecture = "party_lecture",
        /// The theme party day (主题党日): every month.
        ThemeDay = "theme_day",
        /// The organizational life meeting (组织生活会): at least once a year.
        LifeMeeting = "life_meeting",
        /// The democratic appraisal of members (民主评议党员): at least once a year.
        MemberAppraisal = "member_appraisal",
    }
}

crate::text_enum! {
    /// What the center did for a meeting (art. 10). 服务中心的作用。
    pub enum CenterRole {
        /// Nothing: the branch held it alone. 无。
        None = "none",
        /// The center hosted it. 由中心承办。
        Hosted = "hosted",
        /// The center helped the branch hold it. 中心协助。
        Helped = "helped",
    }
}

crate::text_enum! {
    /// Why a member is expected at a meeting. 应到原因。
    pub enum AttendsAs {
        /// An active member of the branch (a meeting of the whole branch). 本支部党员。
        BranchMember = "branch_member",
        /// A member of the group (a party group meeting). 本党小组成员。
        GroupMember = "group_member",
        /// Named besides: e.g. an inflowing or floating member of another branch (art. 12). 另行列入（如流入、流动党员）。
        Extra = "extra",
    }
}

/// A meeting of a branch. 支部会议。
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Meeting {
    /// The meeting's id. 会议编号。
    pub id: Uuid,
    /// The town. 所属镇。
    pub town_id: Uuid,
    /// The branch whose meeting it is. 所属支部。
    pub branch_id: Uuid,
    /// Its kind. 会议类型。
    pub kind: MeetingKind,
    /// For `party_group`: the group. 党小组会的小组。
    pub group_id: Option<Uuid>,
    /// When it starts (RFC 3339). 开始时间。
    pub starts_at: DateTime<Utc>,
    /// Where. 地点。
    #[schema(example = "村党群服务中心")]
    pub place: String,
    /// Who hosts it (主持人). 主持人。
    #[schema(example = "李书记")]
    pub host: String,
    /// The topic. 议题。
    #[schema(example = "学习贯彻党的二十届三中全会精神")]
    pub topic: String,
    /// What the center did for it (art. 10). 服务中心的作用。
    pub center_role: CenterRole,
    /// Who planned it (token subject). 登记人。
    pub created_by: String,
    /// When it was planned. 登记时间。
    pub created_at: DateTime<Utc>,
    /// How many members are expected. 应到人数。
    pub expected_count: i64,
    /// When its roll was recorded; `null` until then. 考勤记录时间。
    pub roll_recorded_at: Option<DateTime<Utc>>,
    /// Who recorded the roll. 考勤记录人。
    pub roll_recorded_by: Option<String>,
    /// The latest version of its minutes; `null` until entered. 会议记录的最新版本。
    pub minutes_version: Option<i32>,
    /// When it last changed. 最后修改时间。
    pub updated_at: DateTime<Utc>,
    /// Version; the `ETag` is this number in quotes. 版本号，即 ETag。
    pub version: i64,
}

/// A member expected at a meeting. 应到党员。
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct MeetingAttendee {
    /// The member. 党员。
    pub member_id: Uuid,
    /// Why they are expected. 应到原因。
    pub attends_as: AttendsAs,
    /// At a center-branch meeting, a member under transformation's open case: the case an
    /// absence is scored to (art. 22). 转化对象的档案（缺席扣分记入此档案）。
    pub case_id: Option<Uuid>,
}

impl MeetingAttendee {
    /// The attendee as the shared roll rules see it: under transformation (an absence
    /// may cost points) or not.
    pub fn as_required(&self) -> Attendee {
        Attendee {
            member_id: self.member_id,
            required_as: if self.case_id.is_some() {
                RequiredAs::Transformation
            } else {
                RequiredAs::Other
            },
            case_id: self.case_id,
        }
    }
}

/// One line of a meeting's recorded roll. 一条考勤记录。
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MeetingRecord {
    /// The record's id (the source of its ledger entry, if any). 记录编号。
    pub id: Uuid,
    /// The member. 党员。
    pub member_id: Uuid,
    /// Why they were expected. 应到原因。
    pub attends_as: AttendsAs,
    /// For a member under transformation: their case. 转化档案。
    pub case_id: Option<Uuid>,
    /// Present, absent or excused. 出席、缺席或请假。
    pub status: AttendanceStatus,
    /// For `excused`: why. 请假事由。
    pub excuse_reason: Option<String>,
    /// For `excused`: who approved the leave. 批准人。
    pub approved_by: Option<String>,
    /// The ledger entry the line wrote, if any. 所记积分条目。
    pub entry_id: Option<Uuid>,
    /// That entry's points (`-0.5` under the rules as written). 分值。
    pub points: Option<HalfPoints>,
    /// Why a line that would cost points did not. 应扣未扣的原因。
    pub unscored: Option<Unscored>,
}

impl RecordedLine for MeetingRecord {
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

/// A meeting's recorded roll. 会议考勤。
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MeetingRoll {
    /// The meeting. 会议。
    pub meeting_id: Uuid,
    /// When it was recorded. 记录时间。
    pub recorded_at: DateTime<Utc>,
    /// Who recorded it. 记录人。
    pub recorded_by: String,
    /// One line per expected member, in member id order. 每名应到党员一行。
    pub items: Vec<MeetingRecord>,
}

/// A meeting with who is expected and, once recorded, its roll. 会议详情。
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MeetingDetail {
    /// The meeting itself.
    #[serde(flatten)]
    pub meeting: Meeting,
    /// Who is expected, in member id order. 应到名单。
    pub attendees: Vec<MeetingAttendee>,
    /// The roll; `null` until recorded. 考勤；未记录时为 `null`。
    pub roll: Option<MeetingRoll>,
}

/// A meeting to plan (staff, committee). 登记会议。
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewMeeting {
    /// The branch whose meeting it is. 所属支部。
    pub branch_id: Uuid,
    /// Its kind. 会议类型。
    pub kind: MeetingKind,
    /// For `party_group` (and only then): the branch's group. 党小组会须指明本支部的党小组。
    #[serde(default)]
    pub group_id: Option<Uuid>,
    /// When it starts (RFC 3339 with offset), in the years 2000 to 2099. 开始时间。
    pub starts_at: DateTime<Utc>,
    /// Where, 1 to 200 characters. 地点，1 至 200 字。
    #[schema(example = "村党群服务中心")]
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]*[^\s\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff][^\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]*$"
    )]
    pub place: String,
    /// Who hosts it, 1 to 100 characters. 主持人，1 至 100 字。
    #[schema(example = "李书记")]
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]*[^\s\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff][^\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]*$"
    )]
    pub host: String,
    /// The topic, 1 to 200 characters. 议题，1 至 200 字。
    #[schema(example = "学习贯彻党的二十届三中全会精神")]
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]*[^\s\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff][^\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]*$"
    )]
    pub topic: String,
    /// What the center did for it (default `none`). 服务中心的作用，默认 `none`。
    #[serde(default = "no_role")]
    pub center_role: CenterRole,
    /// Members expected besides the branch's (or group's) own: inflowing or floating
    /// members of other branches (art. 12). 另行列入的应到党员（如流入、流动党员）。
    #[serde(default)]
    #[schema(max_items = 2000)]
    pub extra_member_ids: Vec<Uuid>,
}

fn no_role() -> CenterRole {
    CenterRole::None
}

/// A checked new meeting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedMeeting {
    /// The branch whose meeting it is, as given in the request.
    pub branch_id: Uuid,
    /// The kind of meeting; `party_group` comes with a `group_id`.
    pub kind: MeetingKind,
    /// The group, for `party_group`.
    pub group_id: Option<Uuid>,
    /// When it starts.
    pub starts_at: DateTime<Utc>,
    /// The place, trimmed.
    pub place: String,
    /// The host, trimmed.
    pub host: String,
    /// The topic, trimmed.
    pub topic: String,
    /// What the center did.
    pub center_role: CenterRole,
    /// The extra members, in the order named (each once).
    pub extra_member_ids: Vec<Uuid>,
}

impl NewMeeting {
    /// Checks the fields: texts, the year, a group exactly for a party group meeting,
    /// each extra member once.
    pub fn validate(&self) -> Result<CheckedMeeting, ApiError> {
        let mut c = Checks::new();
        let place = c.text("place", &self.place, 1, 200);
        let host = c.text("host", &self.host, 1, 100);
        let topic = c.text("topic", &self.topic, 1, 200);
        if !crate::activities::domain::YEARS.contains(&self.starts_at.year()) {
            c.push(FieldError::new(
                "starts_at",
                "out_of_range",
                msg!(
                    "会议时间须在 2000 年至 2099 年之间。",
                    "`starts_at` must be in the years 2000 to 2099."
                ),
            ));
        }
        match (self.kind, self.group_id) {
            (MeetingKind::PartyGroup, None) => c.push(FieldError::new(
                "group_id",
                "required",
                msg!(
                    "党小组会须指明党小组。",
                    "A party group meeting names its group."
                ),
            )),
            (MeetingKind::PartyGroup, Some(_)) | (_, None) => {}
            (_, Some(_)) => c.push(FieldError::new(
                "group_id",
                "only_for_party_group",
                msg!(
                    "只有党小组会才指明党小组。",
                    "Only a party group meeting names a group."
                ),
            )),
        }
        unique_ids(&mut c, "extra_member_ids", &self.extra_member_ids);
        c.finish()?;
        Ok(CheckedMeeting {
            branch_id: self.branch_id,
            kind: self.kind,
            group_id: self.group_id,
            starts_at: self.starts_at,
            place,
            host,
            topic,
            center_role: self.center_role,
            extra_member_ids: self.extra_member_ids.clone(),
        })
    }
}

/// Who is expected: `own` (the branch's active members, or the group's, each with their
/// open case if any) as `own_as`, then each extra member named (`facts`: what the town
/// knows of them; absent: no such member). An extra member must be able to take part
/// (`member_not_active`) and not be expected already (`already_expected`). Only at a
/// meeting of the center branch (`center`) does an open case go with the attendee: art.
/// 22 costs points for absences from the center branch's meetings. In member id order.
pub fn plan_attendees(
    own: &[(Uuid, Option<Uuid>)],
    own_as: AttendsAs,
    extra: &[Uuid],
    facts: &HashMap<Uuid, MemberFacts>,
    center: bool,
) -> Result<Vec<MeetingAttendee>, ApiError> {
    let case = |open: Option<Uuid>| open.filter(|_| center);
    let mut out: Vec<MeetingAttendee> = own
        .iter()
        .map(|(member, open)| MeetingAttendee {
            member_id: *member,
            attends_as: own_as,
            case_id: case(*open),
        })
        .collect();
    let expected: HashSet<Uuid> = own.iter().map(|(m, _)| *m).collect();
    let mut c = Checks::new();
    for (i, member) in extra.iter().enumerate() {
        let field = format!("extra_member_ids[{i}]");
        match facts.get(member) {
            None => c.push(FieldError::new(
                field,
                "unknown_member",
                msg!("本镇没有该党员。", "This town has no such member."),
            )),
            Some(f) if !f.can_attend => c.push(FieldError::new(
                field,
                "member_not_active",
                msg!(
                    "该党员已不在本镇组织中（转出、除名或去世）。",
                    "The member is no longer in the town's organization (transferred out, removed or deceased)."
                ),
            )),
            Some(_) if expected.contains(member) => c.push(FieldError::new(
                field,
                "already_expected",
                msg!(
                    "该党员本就应当参加此次会议。",
                    "This member is expected at the meeting already."
                ),
            )),
            Some(f) => out.push(MeetingAttendee {
                member_id: *member,
                attends_as: AttendsAs::Extra,
                case_id: case(f.open_case),
            }),
        }
    }
    c.finish()?;
    out.sort_by_key(|a| a.member_id);
    Ok(out)
}

/// A meeting a member was expected at, with their line of the roll (their record). 党员参加会议的记录。
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MemberMeeting {
    /// The meeting. 会议编号。
    pub meeting_id: Uuid,
    /// Its branch (for an inflowing member, not theirs). 会议所属支部。
    pub branch_id: Uuid,
    /// Its kind. 会议类型。
    pub kind: MeetingKind,
    /// When it started. 开始时间。
    pub starts_at: DateTime<Utc>,
    /// Its topic. 议题。
    pub topic: String,
    /// Why the member was expected. 应到原因。
    pub attends_as: AttendsAs,
    /// Their line of the roll; `null` until recorded. 考勤；未记录时为 `null`。
    pub status: Option<AttendanceStatus>,
    /// For an excused leave: the reason. 请假事由。
    pub excuse_reason: Option<String>,
    /// The points the line cost, if any. 所扣分值。
    pub points: Option<HalfPoints>,
}

/// One version of a meeting's minutes (会议记录). 会议记录的一个版本。
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Minutes {
    /// The meeting. 会议编号。
    pub meeting_id: Uuid,
    /// 1 for the first text, then one more per correction. 版本：首次为 1，每次更正加 1。
    pub version: i32,
    /// The minutes. 会议记录正文。
    pub text: String,
    /// For a correction: why. 更正原因。
    pub correction_reason: Option<String>,
    /// Who entered it (token subject). 记录人。
    pub recorded_by: String,
    /// When. 记录时间。
    pub recorded_at: DateTime<Utc>,
}

/// Minutes to enter, or a correction of them (staff, committee). 录入或更正会议记录。
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewMinutes {
    /// The minutes, 1 to 20,000 characters; line breaks allowed. 会议记录正文，1 至 20000 字，可换行。
    #[schema(
        min_length = 1,
        max_length = 20000,
        pattern = r"^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]*[^\s\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff][^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]*$"
    )]
    pub text: String,
    /// For a correction (any minutes after the first) and only then: why, 1 to 500
    /// characters. 更正原因（仅更正时填写，且必填），1 至 500 字。
    #[serde(default)]
    #[schema(
        min_length = 1,
        max_length = 500,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]*[^\s\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff][^\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]*$"
    )]
    pub correction_reason: Option<String>,
}

impl NewMinutes {
    /// Checks the text and the reason against the version it would be (`latest`: the
    /// current one, if any): the first has no reason (`only_for_correction`), a
    /// correction must have one (`required`). The trimmed (text, reason).
    pub fn validate(&self, latest: Option<i32>) -> Result<(String, Option<String>), ApiError> {
        let mut c = Checks::new();
        let text = c.long_text("text", &self.text, 1, 20000);
        let reason = match (latest, &self.correction_reason) {
            (Some(_), Some(r)) => Some(c.text("correction_reason", r, 1, 500)),
            (Some(_), None) => {
                c.push(FieldError::new(
                    "correction_reason",
                    "required",
                    msg!(
                        "会议记录已录入，更正须写明原因。",
                        "The minutes are entered already: a correction says why."
                    ),
                ));
                None
            }
            (None, Some(_)) => {
                c.push(FieldError::new(
                    "correction_reason",
                    "only_for_correction",
                    msg!(
                        "首次录入会议记录不填写更正原因。",
                        "The first minutes of a meeting are not a correction."
                    ),
                ));
                None
            }
            (None, None) => None,
        };
        c.finish()?;
        Ok((text, reason))
    }
}

/// 409 `meeting_not_started`: the roll and the minutes come after the meeting starts.
pub fn not_started() -> ApiError {
    ApiError::conflict(
        "meeting_not_started",
        msg!(
            "会议尚未开始，不能记录考勤或会议记录。",
            "The meeting has not started: its roll and minutes come after."
        ),
    )
}

crate::text_enum! {
    /// The length of a period: a calendar month, quarter or year of the town. 期间长度。
    pub enum PeriodUnit {
        /// A calendar month (`2026-11`). 月。
        Month = "month",
        /// A calendar quarter (`2026-Q4`). 季度。
        Quarter = "quarter",
        /// A calendar year (`2026`). 年。
        Year = "year",
    }
}

impl PeriodUnit {
    /// How many months it lasts.
    pub fn months(self) -> u32 {
        match self {
            PeriodUnit::Month => 1,
            PeriodUnit::Quarter => 3,
            PeriodUnit::Year => 12,
        }
    }
}

/// A month, quarter or year of the town's calendar, both ends included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    /// The period's length: a calendar month, quarter or year.
    pub unit: PeriodUnit,
    /// Its first day.
    pub first: NaiveDate,
    /// Its last day.
    pub last: NaiveDate,
}

fn invalid_period() -> ApiError {
    ApiError::bad_request(
        "invalid_query",
        msg!(
            "查询参数 period 须为 2026、2026-Q4 或 2026-11 的形式（2000 年至 2099 年）。",
            "Query parameter `period` must be a year (`2026`), a quarter (`2026-Q4`) or a month (`2026-11`), in the years 2000 to 2099."
        ),
    )
}

/// The first day of the month `months` after `day`'s month.
fn months_after(day: NaiveDate, months: u32) -> NaiveDate {
    let n = day.year() * 12 + day.month0() as i32 + months as i32;
    NaiveDate::from_ymd_opt(n.div_euclid(12), n.rem_euclid(12) as u32 + 1, 1).unwrap_or(day)
}

impl Period {
    /// Reads `2026` (a year), `2026-Q4` (a quarter) or `2026-11` (a month); 400
    /// `invalid_query` otherwise.
    pub fn parse(text: &str) -> Result<Period, ApiError> {
        let (year, rest) = match text.split_once('-') {
            Some((_, "")) => return Err(invalid_period()),
            Some(parts) => parts,
            None => (text, ""),
        };
        let year: i32 = match year.len() == 4 && year.bytes().all(|b| b.is_ascii_digit()) {
            true => year.parse().map_err(|_| invalid_period())?,
            false => return Err(invalid_period()),
        };
        if !crate::activities::domain::YEARS.contains(&year) {
            return Err(invalid_period());
        }
        let (unit, month) = match rest.as_bytes() {
            [] => (PeriodUnit::Year, 1),
            [b'Q', q @ b'1'..=b'4'] => (PeriodUnit::Quarter, u32::from(q - b'1') * 3 + 1),
            [m1 @ b'0'..=b'1', m2 @ b'0'..=b'9'] => {
                let m = u32::from(m1 - b'0') * 10 + u32::from(m2 - b'0');
                if !(1..=12).contains(&m) {
                    return Err(invalid_period());
                }
                (PeriodUnit::Month, m)
            }
            _ => return Err(invalid_period()),
        };
        let first = NaiveDate::from_ymd_opt(year, month, 1).ok_or_else(invalid_period)?;
        let last = months_after(first, unit.months())
            .pred_opt()
            .unwrap_or(first);
        Ok(Period { unit, first, last })
    }

    /// The quarter `day` falls in.
    pub fn quarter_of(day: NaiveDate) -> Period {
        let first = NaiveDate::from_ymd_opt(day.year(), day.month0() / 3 * 3 + 1, 1).unwrap_or(day);
        let last = months_after(first, 3).pred_opt().unwrap_or(first);
        Period {
            unit: PeriodUnit::Quarter,
            first,
            last,
        }
    }

    /// How it is written: `2026`, `2026-Q4`, `2026-11`.
    pub fn label(&self) -> String {
        match self.unit {
            PeriodUnit::Year => format!("{}", self.first.year()),
            PeriodUnit::Quarter => {
                format!("{}-Q{}", self.first.year(), self.first.month0() / 3 + 1)
            }
            PeriodUnit::Month => format!("{}-{:02}", self.first.year(), self.first.month()),
        }
    }

    /// The periods of length `unit` this one is made of, in order; none when `unit` is
    /// longer than this period (a quarterly rule is not judged on a month).
    pub fn split(&self, unit: PeriodUnit) -> Vec<Period> {
        if unit.months() > self.unit.months() {
            return Vec::new();
        }
        (0..self.unit.months() / unit.months())
            .map(|i| {
                let first = months_after(self.first, i * unit.months());
                let last = months_after(first, unit.months())
                    .pred_opt()
                    .unwrap_or(first);
                Period { unit, first, last }
            })
            .collect()
    }

    /// Whether `day` falls in it.
    pub fn contains(&self, day: NaiveDate) -> bool {
        self.first <= day && day <= self.last
    }
}

impl MeetingKind {
    /// The period its frequency counts by (中国共产党支部工作条例（试行）).
    pub fn unit(self) -> PeriodUnit {
        match self {
            MeetingKind::GeneralMeeting | MeetingKind::PartyLecture => PeriodUnit::Quarter,
            MeetingKind::BranchCommittee | MeetingKind::PartyGroup | MeetingKind::ThemeDay => {
                PeriodUnit::Month
            }
            MeetingKind::LifeMeeting | MeetingKind::MemberAppraisal => PeriodUnit::Year,
        }
    }

    /// The fewest meetings of this kind the policy asks for in each of its periods (of
    /// each group, for a party group meeting).
    pub fn minimum(self, p: &Policy) -> i32 {
        match self {
            MeetingKind::GeneralMeeting => p.general_meetings_per_quarter,
            MeetingKind::BranchCommittee => p.branch_committees_per_month,
            MeetingKind::PartyGroup => p.party_groups_per_month,
            MeetingKind::PartyLecture => p.party_lectures_per_quarter,
            MeetingKind::ThemeDay => p.theme_days_per_month,
            MeetingKind::LifeMeeting => p.life_meetings_per_year,
            MeetingKind::MemberAppraisal => p.member_appraisals_per_year,
        }
    }
}

/// A meeting held (its roll recorded), as the compliance view counts it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldMeeting {
    /// The branch that held the meeting.
    pub branch_id: Uuid,
    /// The kind of meeting, which decides the policy minimum it counts towards.
    pub kind: MeetingKind,
    /// The group, for a party group meeting.
    pub group_id: Option<Uuid>,
    /// The day it started, in the town's calendar.
    pub day: NaiveDate,
    /// Lines of its roll marked present.
    pub present: i64,
    /// Marked absent.
    pub absent: i64,
    /// Lines of its roll marked excused (请假).
    pub excused: i64,
}

/// A branch as the compliance view lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BranchRef {
    /// The id of the branch being measured.
    pub id: Uuid,
    /// The branch's name, as the compliance view shows it; branches are listed by it.
    pub name: String,
    /// The branch's kind: village, enterprise, organ, center or other.
    pub kind: BranchKind,
}

/// A party group as the compliance view counts it: its branch and the day it was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupRef {
    /// The id of the party group that owes its own meetings.
    pub id: Uuid,
    /// The branch the party group belongs to.
    pub branch_id: Uuid,
    /// The day it was made (it owes no meetings before).
    pub created_on: NaiveDate,
}

/// How one kind of meeting measures against the policy over a period. 某类会议的落实情况。
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct KindCompliance {
    /// The kind. 会议类型。
    pub kind: MeetingKind,
    /// The period the policy's number counts by. 频次的计算周期。
    pub per: PeriodUnit,
    /// The fewest meetings per `per` (for `party_group`: of each group). 每周期至少次数（党小组会为每个小组）。
    pub minimum: i32,
    /// How many meetings the period requires: `minimum` times each of its `per` periods
    /// (and, for `party_group`, each group existing by then). 本期应开次数。
    pub required: i64,
    /// How many were held: planned in the period with their roll recorded. 已开次数（已记录考勤）。
    pub held: i64,
    /// How many are still missing, counted per `per` period (and per group): meetings
    /// beyond the minimum in one month do not make up for another. 尚缺次数（按周期、按小组计算，多开不抵少开）。
    pub missing: i64,
    /// Of `missing`, those of periods that have ended (today, in the town's calendar): the
    /// branch is behind. 其中周期已过仍未开的次数。
    pub overdue: i64,
    /// Lines of the rolls of the meetings held marked present. 出席人次。
    pub present: i64,
    /// Marked absent. 缺席人次。
    pub absent: i64,
    /// Excused (请假). 请假人次。
    pub excused: i64,
    /// `present / (present + absent + excused)`: an excused leave counts as not attending;
    /// to 4 decimals, `null` with no roll. 出席率，请假计为未出席。
    pub attendance_rate: Option<f64>,
    /// `present / (present + absent)`: excused leave is left out of the count; to 4
    /// decimals, `null` with no one expected but on leave. 出席率，请假不计入应到。
    pub attendance_rate_excluding_excused: Option<f64>,
}

/// A branch's organizational life over a period. 支部组织生活落实情况。
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct BranchCompliance {
    /// The branch. 支部编号。
    pub branch_id: Uuid,
    /// Its name. 支部名称。
    pub branch_name: String,
    /// Its kind. 支部类型。
    pub branch_kind: BranchKind,
    /// Each kind the policy requires in this period (a kind counted by a longer period
    /// than this one, or with a minimum of 0, or `party_group` in a branch without
    /// groups, is left out). 本期有要求的各类会议。
    pub kinds: Vec<KindCompliance>,
    /// The sum of the kinds' `missing`. 尚缺合计。
    pub missing: i64,
    /// The sum of the kinds' `overdue`. 逾期未开合计。
    pub overdue: i64,
    /// Whether any required meeting of an ended period was not held. 是否落后。
    pub behind: bool,
}

/// The organizational life of a town's branches over a period. 全镇各支部组织生活落实情况。
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct TownCompliance {
    /// The town. 镇编号。
    pub town_id: Uuid,
    /// The period, as asked (`2026`, `2026-Q4`, `2026-11`). 期间。
    pub period: String,
    /// Its first day. 起始日。
    pub from: NaiveDate,
    /// Its last day. 截止日。
    pub to: NaiveDate,
    /// The policy version the numbers come from. 所依据的规定版本。
    pub policy_version: i32,
    /// The branches, by name (with `behind=true`, only those behind). 各支部（按名称）。
    pub branches: Vec<BranchCompliance>,
}

fn rate(part: i64, whole: i64) -> Option<f64> {
    (whole > 0).then(|| (part as f64 / whole as f64 * 10_000.0).round() / 10_000.0)
}

/// How a branch's meetings held in `period` measure against the policy, as of `today`.
/// `held` and `groups` are the branch's own.
pub fn compliance(
    branch: &BranchRef,
    period: Period,
    policy: &Policy,
    held: &[HeldMeeting],
    groups: &[GroupRef],
    today: NaiveDate,
) -> BranchCompliance {
    let mut kinds = Vec::new();
    for kind in MeetingKind::ALL {
        let minimum = kind.minimum(policy);
        let units = period.split(kind.unit());
        if minimum == 0 || units.is_empty() {
            continue;
        }
        // Who owes meetings of this kind: the branch, or each of its groups.
        let owers: Vec<(Option<Uuid>, NaiveDate)> = match kind {
            MeetingKind::PartyGroup => groups.iter().map(|g| (Some(g.id), g.created_on)).collect(),
            _ => vec![(None, NaiveDate::MIN)],
        };
        if owers.is_empty() {
            continue;
        }
        let of_kind: Vec<&HeldMeeting> = held
            .iter()
            .filter(|h| h.kind == *kind && period.contains(h.day))
            .collect();
        let (mut required, mut missing, mut overdue) = (0i64, 0i64, 0i64);
        for unit in &units {
            for (group, since) in &owers {
                if *since > unit.last {
                    continue;
                }
                let held_here = of_kind
                    .iter()
                    .filter(|h| unit.contains(h.day) && (group.is_none() || h.group_id == *group))
                    .count() as i64;
                let short = (i64::from(minimum) - held_here).max(0);
                required += i64::from(minimum);
                missing += short;
                if unit.last < today {
                    overdue += short;
                }
            }
        }
        let sum = |f: fn(&HeldMeeting) -> i64| of_kind.iter().map(|h| f(h)).sum::<i64>();
        let (present, absent, excused) =
            (sum(|h| h.present), sum(|h| h.absent), sum(|h| h.excused));
        kinds.push(KindCompliance {
            kind: *kind,
            per: kind.unit(),
            minimum,
            required,
            held: of_kind.len() as i64,
            missing,
            overdue,
            present,
            absent,
            excused,
            attendance_rate: rate(present, present + absent + excused),
            attendance_rate_excluding_excused: rate(present, present + absent),
        });
    }
    let missing = kinds.iter().map(|k| k.missing).sum();
    let overdue: i64 = kinds.iter().map(|k| k.overdue).sum();
    BranchCompliance {
        branch_id: branch.id,
        branch_name: branch.name.clone(),
        branch_kind: branch.kind,
        kinds,
        missing,
        overdue,
        behind: overdue > 0,
    }
}

/// The Chinese name of a kind, as the report writes it.
pub fn kind_label(kind: MeetingKind) -> &'static str {
    match kind {
        MeetingKind::GeneralMeeting => "支部党员大会",
        MeetingKind::BranchCommittee => "支部委员会",
        MeetingKind::PartyGroup => "党小组会",
        MeetingKind::PartyLecture => "党课",
        MeetingKind::ThemeDay => "主题党日",
        MeetingKind::LifeMeeting => "组织生活会",
        MeetingKind::MemberAppraisal => "民主评议党员",
    }
}

fn branch_kind_label(kind: BranchKind) -> &'static str {
    match kind {
        BranchKind::Village => "村党支部",
        BranchKind::Enterprise => "企业党支部",
        BranchKind::Organ => "机关党支部",
        BranchKind::Center => "服务转化中心党支部",
        BranchKind::Other => "其他党支部",
    }
}

/// The headings of the compliance report's files.
pub const COMPLIANCE_HEADINGS: [&str; 15] = [
    "支部",
    "支部类型",
    "会议类型",
    "频次要求",
    "应开次数",
    "已开次数",
    "尚缺次数",
    "逾期未开次数",
    "出席人次",
    "缺席人次",
    "请假人次",
    "出席率（请假计为未出席）",
    "出席率（请假不计入）",
    "是否落后",
    "支部编号",
];

/// The compliance report's rows: one per branch and kind required.
pub fn compliance_rows(town: &TownCompliance) -> Vec<Vec<String>> {
    let per = |u: PeriodUnit| match u {
        PeriodUnit::Month => "每月",
        PeriodUnit::Quarter => "每季度",
        PeriodUnit::Year => "每年",
    };
    let opt = |r: Option<f64>| r.map(|r| r.to_string()).unwrap_or_default();
    let mut rows = Vec::new();
    for b in &town.branches {
        for k in &b.kinds {
            let each = if k.kind == MeetingKind::PartyGroup {
                "（每个小组）"
            } else {
                ""
            };
            rows.push(vec![
                b.branch_name.clone(),
                branch_kind_label(b.branch_kind).to_owned(),
                kind_label(k.kind).to_owned(),
                format!("{}至少{}次{each}", per(k.per), k.minimum),
                k.required.to_string(),
                k.held.to_string(),
                k.missing.to_string(),
                k.overdue.to_string(),
                k.present.to_string(),
                k.absent.to_string(),
                k.excused.to_string(),
                opt(k.attendance_rate),
                opt(k.attendance_rate_excluding_excused),
                if k.overdue > 0 { "是" } else { "否" }.to_owned(),
                b.branch_id.to_string(),
            ]);
        }
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(n: usize) -> Vec<Uuid> {
        let mut v: Vec<Uuid> = (0..n).map(|_| Uuid::now_v7()).collect();
        v.sort();
        v
    }

    fn fields(e: ApiError) -> Vec<(String, &'static str)> {
        match e {
            ApiError::Validation(errors) => errors.into_iter().map(|e| (e.field, e.code)).collect(),
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn a_group_names_each_member_once_and_its_leader_among_them() {
        let m = ids(3);
        let e = check_group(" ", &[m[0], m[1], m[0]], Some(m[2])).unwrap_err();
        assert_eq!(
            fields(e),
            vec![
                ("name".into(), "required"),
                ("member_ids[2]".into(), "duplicate"),
                ("leader_id".into(), "not_a_group_member"),
            ]
        );
        let ok = check_group(" 第一党小组 ", &[m[1], m[0]], Some(m[1])).unwrap();
        assert_eq!(ok.name, "第一党小组");
        assert_eq!(ok.member_ids, vec![m[0], m[1]], "in id order");
    }

    #[test]
    fn a_leader_who_leaves_the_group_stops_leading_it() {
        let m = ids(2);
        let now = Utc::now();
        let current = PartyGroup {
            id: Uuid::now_v7(),
            branch_id: Uuid::now_v7(),
            name: "第一党小组".into(),
            leader_id: Some(m[0]),
            member_ids: m.clone(),
            created_by: "t".into(),
            created_at: now,
            updated_at: now,
            version: 1,
        };
        let patch = GroupPatch {
            member_ids: Some(vec![m[1]]),
            ..Default::default()
        };
        assert_eq!(patch.apply_to(&current).unwrap().leader_id, None);
        let patch = GroupPatch {
            leader_id: Some(Some(m[0])),
            member_ids: Some(vec![m[1]]),
            ..Default::default()
        };
        assert_eq!(
            fields(patch.apply_to(&current).unwrap_err()),
            vec![("leader_id".into(), "not_a_group_member")]
        );
    }

    fn term(member: Uuid, office: Office, from: &str, to: &str) -> Officer {
        Officer {
            id: Uuid::now_v7(),
            branch_id: Uuid::nil(),
            member_id: member,
            office,
            term_from: day(from),
            term_to: day(to),
            created_by: "t".into(),
            created_at: Utc::now(),
        }
    }

    #[test]
    fn one_secretary_at_a_time_and_one_office_per_member() {
        let m = ids(3);
        let terms = vec![term(m[0], Office::Secretary, "2024-01-01", "2026-12-31")];
        let new = |member, office, from: &str, to: &str| NewOfficer {
            member_id: member,
            office,
            term_from: day(from),
            term_to: day(to),
        };
        let code = |n: NewOfficer| n.check_overlaps(&terms).unwrap_err().code();
        assert_eq!(
            code(new(m[1], Office::Secretary, "2026-12-31", "2029-12-31")),
            "secretary_term_overlaps"
        );
        assert_eq!(
            code(new(
                m[0],
                Office::CommitteeMember,
                "2025-01-01",
                "2025-12-31"
            )),
            "officer_term_overlaps"
        );
        assert!(
            new(m[1], Office::Secretary, "2027-01-01", "2029-12-31")
                .check_overlaps(&terms)
                .is_ok(),
            "the next secretary"
        );
        assert!(
            new(m[2], Office::DeputySecretary, "2025-01-01", "2026-12-31")
                .check_overlaps(&terms)
                .is_ok()
        );
    }

    #[test]
    fn a_term_is_in_order_and_at_most_five_years() {
        let new = |from: &str, to: &str| NewOfficer {
            member_id: Uuid::nil(),
            office: Office::Secretary,
            term_from: day(from),
            term_to: day(to),
        };
        assert_eq!(
            fields(new("2026-01-01", "2025-12-31").validate().unwrap_err()),
            vec![("term_to".into(), "before_term_from")]
        );
        assert_eq!(
            fields(new("2026-01-01", "2032-01-01").validate().unwrap_err()),
            vec![("term_to".into(), "term_too_long")]
        );
        assert_eq!(
            fields(new("1999-01-01", "2001-01-01").validate().unwrap_err()),
            vec![("term_from".into(), "out_of_range")]
        );
        assert!(new("2026-01-01", "2030-12-31").validate().is_ok());
    }

    #[test]
    fn the_branch_is_expected_and_extras_besides_with_cases_only_at_the_center() {
        let m = ids(4);
        let case = Uuid::now_v7();
        let own = [(m[0], Some(case)), (m[1], None)];
        let facts = HashMap::from([
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
                    can_attend: false,
                    open_case: None,
                },
            ),
            (
                m[1],
                MemberFacts {
                    can_attend: true,
                    open_case: None,
                },
            ),
        ]);
        let at_center =
            plan_attendees(&own, AttendsAs::BranchMember, &[m[2]], &facts, true).unwrap();
        assert_eq!(at_center[0].case_id, Some(case));
        assert_eq!(at_center[2].attends_as, AttendsAs::Extra);
        assert_eq!(
            at_center[0].as_required().required_as,
            RequiredAs::Transformation
        );
        let elsewhere =
            plan_attendees(&own, AttendsAs::BranchMember, &[m[2]], &facts, false).unwrap();
        assert_eq!(
            elsewhere[0].case_id, None,
            "art. 22: the center branch's meetings"
        );
        let e = plan_attendees(
            &own,
            AttendsAs::BranchMember,
            &[m[3], m[1], Uuid::nil()],
            &facts,
            true,
        )
        .unwrap_err();
        assert_eq!(
            fields(e),
            vec![
                ("extra_member_ids[0]".into(), "member_not_active"),
                ("extra_member_ids[1]".into(), "already_expected"),
                ("extra_member_ids[2]".into(), "unknown_member"),
            ]
        );
    }

    #[test]
    fn the_first_minutes_are_no_correction_and_a_correction_says_why() {
        let new = |reason: Option<&str>| NewMinutes {
            text: " 一、传达精神\n二、讨论 ".into(),
            correction_reason: reason.map(str::to_owned),
        };
        assert_eq!(
            new(None).validate(None).unwrap(),
            ("一、传达精神\n二、讨论".to_owned(), None)
        );
        assert_eq!(
            fields(new(Some("x")).validate(None).unwrap_err()),
            vec![("correction_reason".into(), "only_for_correction")]
        );
        assert_eq!(
            fields(new(None).validate(Some(1)).unwrap_err()),
            vec![("correction_reason".into(), "required")]
        );
        assert!(new(Some("笔误")).validate(Some(1)).is_ok());
    }

    #[test]
    fn text_fields_show_the_shared_patterns() {
        let schema = |s: utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>| {
            serde_json::to_value(s).unwrap()
        };
        let meeting = schema(<NewMeeting as utoipa::PartialSchema>::schema());
        for field in ["place", "host", "topic"] {
            assert_eq!(
                meeting["properties"][field]["pattern"],
                crate::validate::TEXT_PATTERN
            );
        }
        let minutes = schema(<NewMinutes as utoipa::PartialSchema>::schema());
        assert_eq!(
            minutes["properties"]["text"]["pattern"],
            crate::validate::LONG_TEXT_PATTERN
        );
        assert_eq!(
            minutes["properties"]["correction_reason"]["pattern"],
            crate::validate::TEXT_PATTERN
        );
        let group = schema(<NewGroup as utoipa::PartialSchema>::schema());
        assert_eq!(
            group["properties"]["name"]["pattern"],
            crate::validate::TEXT_PATTERN
        );
    }

    #[test]
    fn a_period_is_a_year_a_quarter_or_a_month() {
        let q = Period::parse("2026-Q4").unwrap();
        assert_eq!((q.first, q.last), (day("2026-10-01"), day("2026-12-31")));
        assert_eq!(q.label(), "2026-Q4");
        assert_eq!(Period::quarter_of(day("2026-12-07")), q);
        let m = Period::parse("2024-02").unwrap();
        assert_eq!(m.last, day("2024-02-29"));
        assert_eq!(
            Period::parse("2026")
                .unwrap()
                .split(PeriodUnit::Quarter)
                .len(),
            4
        );
        assert_eq!(q.split(PeriodUnit::Month)[2].first, day("2026-12-01"));
        assert!(
            m.split(PeriodUnit::Quarter).is_empty(),
            "not judged on a month"
        );
        for bad in [
            "2026-Q5",
            "2026-13",
            "26",
            "2026-",
            "1999",
            "2026-Q",
            "２０２６",
        ] {
            assert_eq!(
                Period::parse(bad).unwrap_err().code(),
                "invalid_query",
                "{bad}"
            );
        }
    }

    fn policy() -> Policy {
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
            member_appraisals_per_year: 0,
            created_at: Utc::now(),
            created_by: "t".into(),
        }
    }

    #[test]
    fn missing_meetings_are_counted_per_month_and_per_group() {
        let branch = BranchRef {
            id: Uuid::now_v7(),
            name: "新村党支部".into(),
            kind: BranchKind::Village,
        };
        let (g1, g2) = (Uuid::now_v7(), Uuid::now_v7());
        let groups = [
            GroupRef {
                id: g1,
                branch_id: branch.id,
                created_on: day("2026-01-01"),
            },
            // Made in September: it owes July and August nothing.
            GroupRef {
                id: g2,
                branch_id: branch.id,
                created_on: day("2026-09-10"),
            },
        ];
        let held = |kind, group, d: &str, present, absent, excused| HeldMeeting {
            branch_id: branch.id,
            kind,
            group_id: group,
            day: day(d),
            present,
            absent,
            excused,
        };
        let meetings = [
            held(MeetingKind::BranchCommittee, None, "2026-07-05", 3, 0, 0),
            held(MeetingKind::BranchCommittee, None, "2026-07-20", 2, 1, 0),
            held(MeetingKind::BranchCommittee, None, "2026-09-03", 3, 0, 0),
            held(MeetingKind::GeneralMeeting, None, "2026-08-10", 2, 0, 1),
            held(MeetingKind::PartyGroup, Some(g1), "2026-07-15", 2, 0, 0),
            held(MeetingKind::PartyGroup, Some(g2), "2026-09-15", 1, 0, 0),
        ];
        let q3 = Period::parse("2026-Q3").unwrap();
        let view = compliance(
            &branch,
            q3,
            &policy(),
            &meetings,
            &groups,
            day("2026-09-20"),
        );
        let kind = |k| view.kinds.iter().find(|c| c.kind == k).cloned();
        let committee = kind(MeetingKind::BranchCommittee).unwrap();
        assert_eq!(
            (
                committee.required,
                committee.held,
                committee.missing,
                committee.overdue
            ),
            (3, 3, 1, 1),
            "two in July do not make up for August"
        );
        let group = kind(MeetingKind::PartyGroup).unwrap();
        assert_eq!((group.required, group.held, group.missing), (4, 2, 2));
        assert_eq!(group.overdue, 1, "g1's August; September is not over yet");
        let general = kind(MeetingKind::GeneralMeeting).unwrap();
        assert_eq!(general.attendance_rate, Some(0.6667));
        assert_eq!(general.attendance_rate_excluding_excused, Some(1.0));
        let lecture = kind(MeetingKind::PartyLecture).unwrap();
        assert_eq!(
            (lecture.missing, lecture.overdue),
            (1, 0),
            "the quarter is not over"
        );
        assert_eq!(lecture.attendance_rate, None);
        assert!(
            kind(MeetingKind::LifeMeeting).is_none(),
            "a yearly rule, not judged on a quarter"
        );
        assert!(kind(MeetingKind::MemberAppraisal).is_none());
        assert!(view.behind);
        let rows = compliance_rows(&TownCompliance {
            town_id: Uuid::nil(),
            period: q3.label(),
            from: q3.first,
            to: q3.last,
            policy_version: 1,
            branches: vec![view.clone()],
        });
        assert_eq!(rows.len(), view.kinds.len());
        assert!(rows.iter().all(|r| r.len() == COMPLIANCE_HEADINGS.len()));
        assert_eq!(rows[0][2], "支部党员大会");
        assert_eq!(rows[0][3], "每季度至少1次");
    }
}
