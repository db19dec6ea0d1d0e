//! Each change to a branch's organizational life, step by step in the caller's
//! transaction, with its audit record (the change feed's event). No HTTP here.

use std::collections::HashMap;

use chrono::Utc;
use serde_json::json;
use sqlx::PgConnection;
use uuid::Uuid;

use super::domain::{
    self, AttendsAs, CheckedGroup, GroupPatch, GroupRef, HeldMeeting, MeetingAttendee,
    MeetingDetail, MeetingRecord, MeetingRoll, Minutes, NewGroup, NewMeeting, NewMinutes,
    NewOfficer, Officer, PartyGroup, Period, TownCompliance,
};
use super::repo;
use crate::activities::domain::{Attendee, RollItem};
use crate::activities::workflow::score_absences;
use crate::audit::{self, Change};
use crate::auth::Caller;
use crate::branches::domain::BranchKind;
use crate::error::ApiError;
use crate::http::extract::IfMatch;
use crate::scores::SourceType;

/// Creates a party group of a branch with its members.
pub async fn create_group(
    tx: &mut PgConnection,
    by: &Caller,
    town: Uuid,
    branch: Uuid,
    new: &NewGroup,
) -> Result<PartyGroup, ApiError> {
    let checked = domain::check_group(&new.name, &new.member_ids, new.leader_id)?;
    repo::lock_branch(tx, town, branch)
        .await?
        .ok_or(ApiError::NotFound)?;
    check_members(tx, town, branch, &new.member_ids).await?;
    let id = Uuid::now_v7();
    repo::insert_group(tx, town, branch, id, &checked, &by.sub).await?;
    repo::replace_group_members(tx, town, id, &checked).await?;
    let data = json!({ "branch_id": branch, "members": checked.member_ids.len(), "version": 1 });
    audit::record(
        tx,
        by,
        change(town, "party_group.created", "party_group", id, data),
    )
    .await?;
    read_group(tx, town, branch, id).await
}

/// Renames a group, replaces its members or changes its leader, if it is still at the
/// version `If-Match` names.
pub async fn update_group(
    tx: &mut PgConnection,
    by: &Caller,
    town: Uuid,
    branch: Uuid,
    group: Uuid,
    if_match: IfMatch,
    patch: &GroupPatch,
) -> Result<PartyGroup, ApiError> {
    repo::lock_branch(tx, town, branch)
        .await?
        .ok_or(ApiError::NotFound)?;
    let current = read_group(tx, town, branch, group).await?;
    let next: CheckedGroup = patch.apply_to(&current)?;
    if_match.check(current.version)?;
    if let Some(members) = &patch.member_ids {
        check_members(tx, town, branch, members).await?;
    }
    if !repo::bump_group(tx, town, group, if_match.version(), &next.name).await? {
        return Err(ApiError::PreconditionFailed);
    }
    repo::replace_group_members(tx, town, group, &next).await?;
    let updated = read_group(tx, town, branch, group).await?;
    let data = json!({ "branch_id": branch, "members": updated.member_ids.len(), "version": updated.version });
    audit::record(
        tx,
        by,
        change(town, "party_group.updated", "party_group", group, data),
    )
    .await?;
    Ok(updated)
}

/// A group of a branch; 404 when the branch has no such group.
pub async fn read_group(
    conn: &mut PgConnection,
    town: Uuid,
    branch: Uuid,
    group: Uuid,
) -> Result<PartyGroup, ApiError> {
    repo::get_group(conn, town, branch, group)
        .await?
        .ok_or(ApiError::NotFound)
}

/// 422 unless every one of `members` is an active member of the branch.
async fn check_members(
    tx: &mut PgConnection,
    town: Uuid,
    branch: Uuid,
    members: &[Uuid],
) -> Result<(), ApiError> {
    let of_branch = repo::active_in_branch(tx, town, branch, members).await?;
    domain::check_branch_members("member_ids", members, &of_branch)
}

/// Records an officer's term: the member must be an active member of the branch, and the
/// term may not overlap their other terms nor, for a secretary, another secretary's.
pub async fn record_officer(
    tx: &mut PgConnection,
    by: &Caller,
    town: Uuid,
    branch: Uuid,
    new: &NewOfficer,
) -> Result<Officer, ApiError> {
    new.validate()?;
    // The branch's lock: two terms recorded at once cannot both miss each other.
    repo::lock_branch(tx, town, branch)
        .await?
        .ok_or(ApiError::NotFound)?;
    let of_branch = repo::active_in_branch(tx, town, branch, &[new.member_id]).await?;
    if !of_branch.contains(&new.member_id) {
        return Err(ApiError::invalid(
            "member_id",
            "not_a_branch_member",
            crate::msg!(
                "该党员不是本支部的在册党员。",
                "This member is not an active member of the branch."
            ),
        ));
    }
    let terms = repo::overlapping_terms(tx, town, branch, new.term_from, new.term_to).await?;
    new.check_overlaps(&terms)?;
    let officer = Officer {
        id: Uuid::now_v7(),
        branch_id: branch,
        member_id: new.member_id,
        office: new.office,
        term_from: new.term_from,
        term_to: new.term_to,
        created_by: by.sub.clone(),
        created_at: Utc::now(),
    };
    repo::insert_officer(tx, town, &officer).await?;
    let data = json!({
        "branch_id": branch, "member_id": officer.member_id, "office": officer.office,
        "term_from": officer.term_from, "term_to": officer.term_to,
    });
    audit::record(
        tx,
        by,
        change(town, "officer.recorded", "branch_officer", officer.id, data),
    )
    .await?;
    Ok(officer)
}

/// What sending a meeting's roll did.
#[derive(Debug, Clone)]
pub enum Recorded {
    /// The roll was recorded now, with the ledger entries it wrote.
    New(MeetingRoll),
    /// The same roll was recorded before: nothing changed.
    Again(MeetingRoll),
}

/// Plans a meeting of a branch and fixes who is expected: the branch's active members
/// (for a party group meeting, the group's), and the extra members named.
pub async fn plan_meeting(
    tx: &mut PgConnection,
    by: &Caller,
    town: Uuid,
    new: &NewMeeting,
) -> Result<MeetingDetail, ApiError> {
    let checked = new.validate()?;
    let kind = repo::branch_kind(tx, town, checked.branch_id)
        .await?
        .ok_or_else(|| {
            ApiError::invalid(
                "branch_id",
                "unknown_branch",
                crate::msg!("本镇没有该支部。", "This town has no such branch."),
            )
        })?;
    let (own, own_as) = match checked.group_id {
        Some(group) => {
            let members = repo::group_members(tx, town, checked.branch_id, group)
                .await?
                .ok_or_else(|| {
                    ApiError::invalid(
                        "group_id",
                        "unknown_group",
                        crate::msg!(
                            "该支部没有这个党小组。",
                            "The branch has no such party group."
                        ),
                    )
                })?;
            (members, AttendsAs::GroupMember)
        }
        None => (
            repo::branch_members(tx, town, checked.branch_id).await?,
            AttendsAs::BranchMember,
        ),
    };
    let facts = crate::activities::repo::member_facts(tx, town, &checked.extra_member_ids).await?;
    let attendees = domain::plan_attendees(
        &own,
        own_as,
        &checked.extra_member_ids,
        &facts,
        kind == BranchKind::Center,
    )?;
    let id = Uuid::now_v7();
    repo::insert_meeting(tx, town, id, &checked, &by.sub).await?;
    repo::insert_attendees(tx, town, id, &attendees).await?;
    let count = |as_: AttendsAs| attendees.iter().filter(|a| a.attends_as == as_).count();
    let data = json!({
        "branch_id": checked.branch_id, "kind": checked.kind, "group_id": checked.group_id,
        "starts_at": checked.starts_at, "center_role": checked.center_role,
        "expected": {
            "own": count(own_as),
            "extra": count(AttendsAs::Extra),
            "under_transformation": attendees.iter().filter(|a| a.case_id.is_some()).count(),
        },
    });
    audit::record(tx, by, change(town, "meeting.planned", "meeting", id, data)).await?;
    read_meeting(tx, town, id).await
}

/// A meeting with who is expected and its roll, if recorded.
pub async fn read_meeting(
    conn: &mut PgConnection,
    town: Uuid,
    id: Uuid,
) -> Result<MeetingDetail, ApiError> {
    let meeting = repo::get_meeting(conn, town, id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let attendees = repo::attendees(conn, town, id).await?;
    let roll = repo::roll(conn, town, id).await?;
    Ok(MeetingDetail {
        meeting,
        attendees,
        roll,
    })
}

/// Records a meeting's roll once, by the rules of every roll (complete, each expected
/// member once, an excused leave with reason and approver, never changed): at a
/// center-branch meeting each absence of a member under transformation costs points
/// through the ledger, by the same path as an activity's roll.
pub async fn record_roll(
    tx: &mut PgConnection,
    by: &Caller,
    town: Uuid,
    meeting: Uuid,
    items: &[RollItem],
) -> Result<Recorded, ApiError> {
    let (starts_at, recorded) = repo::lock_meeting(tx, town, meeting)
        .await?
        .ok_or(ApiError::NotFound)?;
    let attendees = repo::attendees(tx, town, meeting).await?;
    let expected: Vec<Attendee> = attendees.iter().map(MeetingAttendee::as_required).collect();
    let checked = crate::activities::domain::check_roll(items, &expected)?;
    if recorded && let Some(recorded) = repo::roll(tx, town, meeting).await? {
        crate::activities::domain::compare_roll(&recorded.items, &checked)?;
        return Ok(Recorded::Again(recorded));
    }
    if starts_at > Utc::now() {
        return Err(domain::not_started());
    }
    let ids: Vec<Uuid> = checked.iter().map(|_| Uuid::now_v7()).collect();
    let scored =
        score_absences(tx, by, town, SourceType::MeetingAttendance, &checked, &ids).await?;
    repo::insert_records(tx, by, town, meeting, &ids, &checked, &scored.unscored).await?;
    let (version, recorded_at) = repo::mark_recorded(tx, town, meeting, &by.sub).await?;
    let mut data = scored.summary(&checked);
    data["version"] = json!(version);
    audit::record(
        tx,
        by,
        change(
            town,
            "meeting.attendance_recorded",
            "meeting",
            meeting,
            data,
        ),
    )
    .await?;
    // The roll as the database now holds it, from what was written: no read-back.
    let attends_as: HashMap<Uuid, AttendsAs> = attendees
        .iter()
        .map(|a| (a.member_id, a.attends_as))
        .collect();
    let mut items = Vec::with_capacity(checked.len());
    for ((line, id), (entry, unscored)) in checked
        .into_iter()
        .zip(ids)
        .zip(scored.entries.into_iter().zip(scored.unscored))
    {
        items.push(MeetingRecord {
            id,
            member_id: line.member_id,
            attends_as: *attends_as
                .get(&line.member_id)
                .ok_or_else(|| anyhow::anyhow!("member {} not expected", line.member_id))?,
            case_id: line.case_id,
            status: line.status,
            excuse_reason: line.excuse_reason,
            approved_by: line.approved_by,
            entry_id: entry.map(|e| e.id),
            points: entry.map(|e| e.points),
            unscored,
        });
    }
    Ok(Recorded::New(MeetingRoll {
        meeting_id: meeting,
        recorded_at,
        recorded_by: by.sub.clone(),
        items,
    }))
}

/// Enters a meeting's minutes after it has started, or corrects them: each is a new
/// version, the old ones kept.
pub async fn record_minutes(
    tx: &mut PgConnection,
    by: &Caller,
    town: Uuid,
    meeting: Uuid,
    new: &NewMinutes,
) -> Result<Minutes, ApiError> {
    let (starts_at, _) = repo::lock_meeting(tx, town, meeting)
        .await?
        .ok_or(ApiError::NotFound)?;
    let latest = repo::latest_minutes(tx, town, meeting).await?;
    let (text, reason) = new.validate(latest)?;
    if starts_at > Utc::now() {
        return Err(domain::not_started());
    }
    let version = latest.unwrap_or(0) + 1;
    let minutes =
        repo::insert_minutes(tx, by, town, meeting, version, &text, reason.as_deref()).await?;
    let data = json!({ "minutes_version": version, "correction": version > 1 });
    audit::record(
        tx,
        by,
        change(town, "meeting.minutes_recorded", "meeting", meeting, data),
    )
    .await?;
    Ok(minutes)
}

/// How the town's branches (or one branch) measure against the current policy's
/// frequencies over `period`, as of the town's today; only those behind with `behind`.
pub async fn compliance(
    conn: &mut PgConnection,
    town: Uuid,
    branch: Option<Uuid>,
    period: Period,
    behind: bool,
) -> Result<TownCompliance, ApiError> {
    let branches = repo::branch_refs(conn, town, branch).await?;
    if branch.is_some() && branches.is_empty() {
        return Err(ApiError::NotFound);
    }
    let policy = crate::policy::current(conn, town).await?;
    let today = crate::towns::repo::today(conn, town).await?;
    let held = repo::held(conn, town, branch, period.first, period.last).await?;
    let groups = repo::group_refs(conn, town, branch).await?;
    let branches = branches
        .iter()
        .map(|b| {
            let held: Vec<HeldMeeting> = held
                .iter()
                .filter(|h| h.branch_id == b.id)
                .cloned()
                .collect();
            let groups: Vec<GroupRef> = groups
                .iter()
                .filter(|g| g.branch_id == b.id)
                .copied()
                .collect();
            domain::compliance(b, period, &policy, &held, &groups, today)
        })
        .filter(|c| !behind || c.behind)
        .collect();
    Ok(TownCompliance {
        town_id: town,
        period: period.label(),
        from: period.first,
        to: period.last,
        policy_version: policy.version,
        branches,
    })
}

fn change(
    town: Uuid,
    action: &'static str,
    resource_type: &'static str,
    id: Uuid,
    data: serde_json::Value,
) -> Change {
    Change {
        town_id: town,
        action,
        resource_type,
        resource_id: id,
        data,
    }
}
