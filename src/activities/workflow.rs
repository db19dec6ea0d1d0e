//! Planning an activity and recording its roll, step by step in the caller's
//! transaction. No HTTP here.

use chrono::Utc;
use serde_json::json;
use sqlx::PgConnection;
use uuid::Uuid;

use super::domain::{
    self, ActivityDetail, AttendanceStatus, CheckedItem, NewActivity, RequiredAs, Roll, RollItem,
    Unscored,
};
use super::repo;
use crate::audit::{self, Change};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::msg;
use crate::scores::domain::EntryKind;
use crate::scores::{Ledger, Outcome, SourceType};

/// What sending a roll did.
#[derive(Debug, Clone)]
pub enum Recorded {
    /// The roll was recorded now, with the ledger entries it wrote.
    New(Roll),
    /// The same roll was recorded before: nothing changed.
    Again(Roll),
}

/// Plans an activity and fixes who must attend it.
pub async fn plan(
    tx: &mut PgConnection,
    by: &Caller,
    town: Uuid,
    new: &NewActivity,
) -> Result<ActivityDetail, ApiError> {
    let checked = new.validate()?;
    let named: Vec<Uuid> = checked.named.iter().map(|n| n.member_id).collect();
    let facts = repo::member_facts(tx, town, &named).await?;
    let open = if checked.all_under_transformation {
        repo::open_cases(tx, town).await?
    } else {
        Vec::new()
    };
    let attendees = domain::plan_attendees(&checked, &facts, &open)?;
    let id = Uuid::now_v7();
    repo::insert(tx, town, id, &checked, &by.sub).await?;
    repo::insert_attendees(tx, town, id, &attendees).await?;
    let count = |as_: RequiredAs| attendees.iter().filter(|a| a.required_as == as_).count();
    let data = json!({
        "kind": checked.kind, "starts_at": checked.starts_at,
        "required": {
            "transformation": count(RequiredAs::Transformation),
            "trainee": count(RequiredAs::Trainee),
            "other": count(RequiredAs::Other),
        },
    });
    audit::record(tx, by, audited(town, "activity.created", id, data)).await?;
    let activity = repo::get(tx, town, id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("activity {id} not found after its insert"))?;
    Ok(ActivityDetail {
        activity,
        attendees,
        roll: None,
    })
}

/// An activity with who must attend and its roll, if recorded.
pub async fn read(
    conn: &mut PgConnection,
    town: Uuid,
    id: Uuid,
) -> Result<ActivityDetail, ApiError> {
    let activity = repo::get(conn, town, id).await?.ok_or(ApiError::NotFound)?;
    let attendees = repo::attendees(conn, town, id).await?;
    let roll = repo::roll(conn, town, id).await?;
    Ok(ActivityDetail {
        activity,
        attendees,
        roll,
    })
}

/// Records an activity's roll once: each line that costs points goes to the ledger in one
/// batch, and a line the ledger refuses is recorded without points, saying why.
pub async fn record_roll(
    tx: &mut PgConnection,
    by: &Caller,
    town: Uuid,
    activity: Uuid,
    items: &[RollItem],
) -> Result<Recorded, ApiError> {
    // The activity's lock first: a concurrent roll of the same activity waits here, then
    // finds this one recorded.
    let starts_at = repo::lock(tx, town, activity)
        .await?
        .ok_or(ApiError::NotFound)?;
    let required = repo::attendees(tx, town, activity).await?;
    let checked = domain::check_roll(items, &required)?;
    if let Some(recorded) = repo::roll(tx, town, activity).await? {
        domain::compare_roll(&recorded.items, &checked)?;
        return Ok(Recorded::Again(recorded));
    }
    if starts_at > Utc::now() {
        return Err(ApiError::conflict(
            "activity_not_started",
            msg!(
                "活动尚未开始，不能记录考勤。",
                "The activity has not started yet: its roll cannot be recorded."
            ),
        ));
    }

    let ids: Vec<Uuid> = checked.iter().map(|_| Uuid::now_v7()).collect();
    let scored = score_absences(tx, by, town, SourceType::Attendance, &checked, &ids).await?;
    repo::insert_records(tx, by, town, activity, &ids, &checked, &scored.unscored).await?;
    let version = repo::mark_recorded(tx, town, activity, &by.sub).await?;
    let mut data = scored.summary(&checked);
    data["version"] = json!(version);
    audit::record(tx, by, audited(town, "attendance.recorded", activity, data)).await?;
    let roll = repo::roll(tx, town, activity)
        .await?
        .ok_or_else(|| anyhow::anyhow!("roll of {activity} not found after its insert"))?;
    Ok(Recorded::New(roll))
}

/// What scoring a roll's absences did.
#[derive(Debug, Clone)]
pub struct Scored {
    /// For each line of the roll, in its order: why it cost no points although it would
    /// have (the ledger refused it), or `None`.
    pub unscored: Vec<Option<Unscored>>,
    /// How many lines wrote a ledger entry.
    pub scored: usize,
    /// The policy version the lines were judged by.
    pub policy_version: i32,
}

impl Scored {
    /// The audit record's tally of a roll: present, absent, excused, scored, unscored and
    /// the policy version.
    pub fn summary(&self, lines: &[CheckedItem]) -> serde_json::Value {
        let tally = |s: AttendanceStatus| lines.iter().filter(|i| i.status == s).count();
        json!({
            "present": tally(AttendanceStatus::Present),
            "absent": tally(AttendanceStatus::Absent),
            "excused": tally(AttendanceStatus::Excused),
            "scored": self.scored,
            "unscored": self.unscored.iter().filter(|u| u.is_some()).count(),
            "policy_version": self.policy_version,
        })
    }
}

/// Scores the absences of a roll (art. 22), the one path for every roll that costs
/// points (an activity's, a center-branch meeting's): each line of a member required as
/// under transformation that is an absence (or an excused leave, when the policy's
/// `excused_leave_costs` says so) writes one step down to its case, its source the line's
/// record (`source`, `ids[n]` for line n), all in one ledger batch under the current
/// policy. A line the ledger refuses (the case concluded since, the score frozen) is
/// answered with why, and costs nothing.
pub async fn score_absences(
    tx: &mut PgConnection,
    by: &Caller,
    town: Uuid,
    source: SourceType,
    lines: &[CheckedItem],
    ids: &[Uuid],
) -> Result<Scored, ApiError> {
    let ledger = Ledger::open(tx, town).await?;
    let excused_costs = ledger.policy().excused_leave_costs;
    // The lines that cost points, by their place in the roll, and their entries.
    let mut costly = Vec::new();
    let mut entries = Vec::new();
    for (n, (item, id)) in lines.iter().zip(ids).enumerate() {
        if let (true, Some(case)) = (domain::absence_costs(item, excused_costs), item.case_id) {
            costly.push(n);
            entries.push(ledger.step(case, EntryKind::Absence, (source, *id))?);
        }
    }
    let outcomes = ledger.write(tx, by, entries).await?;
    let mut unscored: Vec<Option<Unscored>> = vec![None; lines.len()];
    for (n, outcome) in costly.into_iter().zip(&outcomes) {
        if let Outcome::Refused(why) = outcome {
            unscored[n] = Some(Unscored::from(*why));
        }
    }
    let refused = unscored.iter().filter(|u| u.is_some()).count();
    Ok(Scored {
        unscored,
        scored: outcomes.len() - refused,
        policy_version: ledger.policy().version,
    })
}

fn audited(town: Uuid, action: &'static str, id: Uuid, data: serde_json::Value) -> Change {
    Change {
        town_id: town,
        action,
        resource_type: "activity",
        resource_id: id,
        data,
    }
}
