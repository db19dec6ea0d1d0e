//! Planning an activity and recording its roll, step by step in the caller's
//! transaction. No HTTP here.

use chrono::Utc;
use serde_json::json;
use sqlx::PgConnection;
use uuid::Uuid;

use super::domain::{
    self, ActivityDetail, AttendanceRecord, AttendanceStatus, CheckedItem, NewActivity, RequiredAs,
    Roll, RollItem, Unscored,
};
use super::repo;
use crate::audit::{self, Change};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::msg;
use crate::scores::domain::EntryKind;
use crate::scores::points::HalfPoints;
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
    let (starts_at, recorded) = repo::lock(tx, town, activity)
        .await?
        .ok_or(ApiError::NotFound)?;
    let required = repo::attendees(tx, town, activity).await?;
    let checked = domain::check_roll(items, &required)?;
    if recorded && let Some(recorded) = repo::roll(tx, town, activity).await? {
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
    let (version, recorded_at) = repo::mark_recorded(tx, town, activity, &by.sub).await?;
    let mut data = scored.summary(&checked);
    data["version"] = json!(version);
    audit::record(tx, by, audited(town, "attendance.recorded", activity, data)).await?;
    // The roll as the database now holds it, from what was written: no read-back.
    let items = checked
        .into_iter()
        .zip(ids)
        .zip(scored.entries.into_iter().zip(scored.unscored))
        .map(|((line, id), (entry, unscored))| AttendanceRecord {
            id,
            member_id: line.member_id,
            required_as: line.required_as,
            case_id: line.case_id,
            status: line.status,
            excuse_reason: line.excuse_reason,
            approved_by: line.approved_by,
            entry_id: entry.map(|e| e.id),
            points: entry.map(|e| e.points),
            unscored,
        })
        .collect();
    Ok(Recorded::New(Roll {
        activity_id: activity,
        recorded_at,
        recorded_by: by.sub.clone(),
        items,
    }))
}

/// The ledger entry a line of a roll wrote.
#[derive(Debug, Clone, Copy)]
pub struct LineEntry {
    /// The entry's id.
    pub id: Uuid,
    /// Its points (a step down).
    pub points: HalfPoints,
}

/// What scoring a roll's absences did.
#[derive(Debug, Clone)]
pub struct Scored {
    /// For each line of the roll, in its order: the ledger entry it wrote, if any.
    pub entries: Vec<Option<LineEntry>>,
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
    // Every line that may cost points (an excused leave may, by the policy read with
    // the lock), so the cases and the rules come in one statement.
    let maybe = lines.iter().filter(|i| domain::absence_costs(i, true));
    let mut ledger = Ledger::lock(tx, town, maybe.filter_map(|i| i.case_id)).await?;
    let scoring = *ledger.scoring();
    // The lines that cost points, by their place in the roll, and their entries.
    let mut costly = Vec::new();
    let mut entries = Vec::new();
    for (n, (item, id)) in lines.iter().zip(ids).enumerate() {
        let costs = domain::absence_costs(item, scoring.excused_leave_costs);
        if let (true, Some(case)) = (costs, item.case_id) {
            costly.push(n);
            entries.push(ledger.step(case, EntryKind::Absence, (source, *id))?);
        }
    }
    let outcomes = ledger.write(tx, by, entries).await?;
    let mut written = vec![None; lines.len()];
    let mut unscored = vec![None; lines.len()];
    for (n, outcome) in costly.into_iter().zip(&outcomes) {
        match outcome {
            Outcome::Written(w) => {
                written[n] = Some(LineEntry {
                    id: w.entry.id,
                    points: w.entry.points,
                })
            }
            Outcome::Refused(why) => unscored[n] = Some(Unscored::from(*why)),
        }
    }
    let refused = unscored.iter().filter(|u| u.is_some()).count();
    Ok(Scored {
        entries: written,
        unscored,
        scored: outcomes.len() - refused,
        policy_version: scoring.version,
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
