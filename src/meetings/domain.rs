//! Organizational life of the branches: pure types and rules.
//!
//! A branch's party groups and officers ([`NewGroup`], [`NewOfficer`]), its meetings of
//! the regulated kinds ([`MeetingKind`]) with who is expected ([`plan_attendees`]), their
//! minutes ([`NewMinutes`]), and how the meetings held measure against the town's
//! frequencies ([`compliance`]).

use std::collections::HashSet;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::{ApiError, FieldError};
use crate::msg;
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
}
