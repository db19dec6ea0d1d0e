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
use crate::error::{ApiError, FieldError};
use crate::msg;
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
    pub term_from: NaiveDate,
    /// The last day of the term, included; not before `term_from`, at most 5 years later. 任期截止日（含），不早于起始日，最长五年。
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
    /// The branch.
    pub branch_id: Uuid,
    /// The kind.
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
}
