//! Each change to a task or an objection, step by step in the caller's transaction: the
//! rules in order, the SQL through `repo`, the points through the ledger, the audit
//! record. No HTTP here.

use serde_json::json;
use sqlx::PgConnection;
use uuid::Uuid;

use super::domain::{
    self, Decided, Decision, NewDecision, NewObjection, NewOutcome, NewTask, Objection,
    ObjectionStatus, OutcomeRecorded, Task,
};
use super::repo;
use crate::audit::{self, Change};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::http::extract::IfMatch;
use crate::http::paging::{Page, PageParams};
use crate::msg;
use crate::scores::domain::{CaseStatus, Refusal};
use crate::scores::{self, Ledger, NewEntry, SourceType};

fn outcome_recorded() -> ApiError {
    crate::error::constraints::OUTCOME_RECORDED.into()
}

fn objection_decided() -> ApiError {
    crate::error::constraints::OBJECTION_DECIDED.into()
}

/// Assigns a task to an open case.
pub async fn assign(
    tx: &mut PgConnection,
    by: &Caller,
    town: Uuid,
    case: Uuid,
    new: &NewTask,
) -> Result<Task, ApiError> {
    let today = crate::towns::repo::today(tx, town).await?;
    let valid = new.validate(today)?;
    let status = repo::case_status_for_share(tx, town, case)
        .await?
        .ok_or(ApiError::NotFound)?;
    if status == CaseStatus::Concluded {
        return Err(scores::refusal_error(Refusal::Concluded));
    }
    let task = repo::insert(
        tx,
        town,
        case,
        Uuid::now_v7(),
        &valid,
        &by.sub,
        by.role.as_str(),
    )
    .await?;
    let data = json!({ "case_id": case, "due_on": task.due_on });
    audit::record(
        tx,
        by,
        audited(town, "task.assigned", "task", task.id, data),
    )
    .await?;
    Ok(task)
}

/// A page of the tasks of a case of the town; 404 when the town has no such case (also
/// used by `/me`).
pub async fn tasks_of_case(
    conn: &mut PgConnection,
    town: Uuid,
    case: Uuid,
    page: &PageParams,
) -> Result<Page<Task>, ApiError> {
    let keyset = page.keyset()?;
    crate::cases::repo::get(conn, town, case)
        .await?
        .ok_or(ApiError::NotFound)?;
    let rows = repo::list(conn, town, &[case], keyset).await?;
    Ok(Page::from_rows(rows, keyset, |t| t.id))
}

/// Records a task's outcome, once, with the ledger entry of one step it earns.
pub async fn record_outcome(
    tx: &mut PgConnection,
    by: &Caller,
    town: Uuid,
    id: Uuid,
    new: &NewOutcome,
) -> Result<OutcomeRecorded, ApiError> {
    let note = new.validate()?;
    // The task's lock first: concurrent outcomes of one task queue here, and all but the
    // first find it decided.
    let task = repo::get(tx, town, id, true)
        .await?
        .ok_or(ApiError::NotFound)?;
    if task.outcome.is_some() {
        return Err(outcome_recorded());
    }
    let mut ledger = Ledger::lock(tx, town, [task.case_id]).await?;
    let kind = new.outcome.entry_kind();
    let entry = ledger.step(task.case_id, kind, (SourceType::Task, task.id))?;
    let written = ledger.write_one(tx, by, entry).await?;
    let entry_id = written.entry.id;
    let task = repo::record_outcome(
        tx,
        town,
        id,
        new.outcome,
        note.as_deref(),
        entry_id,
        &by.sub,
    )
    .await?;
    let data = json!({ "case_id": task.case_id, "outcome": new.outcome, "entry_id": entry_id,
                       "points": written.entry.points, "case_status": written.status });
    audit::record(
        tx,
        by,
        audited(town, "task.outcome_recorded", "task", task.id, data),
    )
    .await?;
    Ok(OutcomeRecorded {
        task,
        entry: written.entry,
        case_status: written.status,
    })
}

/// Decides an open objection: upheld, the entry is reversed (through the ledger);
/// rejected, it stands.
pub async fn decide_objection(
    tx: &mut PgConnection,
    by: &Caller,
    town: Uuid,
    id: Uuid,
    if_match: IfMatch,
    new: &NewDecision,
) -> Result<Decided, ApiError> {
    let reason = new.validate()?;
    let case = repo::get_objection(tx, town, id, None, false)
        .await?
        .ok_or(ApiError::NotFound)?
        .case_id;
    // The case's lock before the objection's, in the ledger's order.
    let mut ledger = Ledger::lock(tx, town, [case]).await?;
    let objection = repo::get_objection(tx, town, id, None, true)
        .await?
        .ok_or(ApiError::NotFound)?;
    if objection.status != ObjectionStatus::Open {
        return Err(objection_decided());
    }
    if_match.check(objection.version)?;
    let written = match new.decision {
        Decision::Rejected => None,
        Decision::Upheld => {
            let target = scores::entry(tx, town, objection.case_id, objection.entry_id)
                .await?
                .ok_or_else(|| anyhow::anyhow!("objected entry {} missing", objection.entry_id))?;
            let source = Some((SourceType::Objection, objection.id));
            let reversal = NewEntry::reversal(&target, source, reason.clone());
            Some(ledger.write_one(tx, by, reversal).await?)
        }
    };
    let reversal_id = written.as_ref().map(|w| w.entry.id);
    let decided = repo::decide(tx, town, id, new.decision, &reason, reversal_id, &by.sub).await?;
    let action = match new.decision {
        Decision::Upheld => "objection.upheld",
        Decision::Rejected => "objection.rejected",
    };
    let data = json!({ "case_id": decided.case_id, "entry_id": decided.entry_id,
                       "reversal_entry_id": decided.reversal_entry_id, "version": decided.version });
    audit::record(tx, by, audited(town, action, "objection", id, data)).await?;
    Ok(Decided {
        objection: decided,
        case_status: written.as_ref().map(|w| w.status),
        entry: written.map(|w| w.entry),
    })
}

/// Lodges a member's objection to an entry of their own case (`POST /me/objections`): 404
/// for any other entry; 409 `objection_period_over` after the period of the policy the entry
/// was scored under, `objection_exists`, `already_reversed`, `cannot_object_to_reversal`,
/// `case_concluded`.
pub async fn lodge_objection(
    conn: &mut PgConnection,
    caller: &Caller,
    town: Uuid,
    member: Uuid,
    body: &NewObjection,
    reason: &str,
) -> Result<Objection, ApiError> {
    let entry = repo::entry_of_member(conn, town, member, body.entry_id)
        .await?
        .ok_or(ApiError::NotFound)?;
    if entry.is_reversal {
        return Err(ApiError::conflict(
            "cannot_object_to_reversal",
            msg!(
                "冲销记录不能再被冲销，不能对其提出异议。",
                "A reversal cannot itself be reversed, so it takes no objection."
            ),
        ));
    }
    if entry.reversed {
        return Err(crate::error::constraints::ALREADY_REVERSED.into());
    }
    if entry.case_concluded {
        return Err(scores::refusal_error(Refusal::Concluded));
    }
    let policy = crate::policy::version(conn, town, entry.policy_version).await?;
    let today = crate::towns::repo::today(conn, town).await?;
    let days = u32::try_from(policy.objection_period_working_days).unwrap_or(0);
    // The town's holidays and worked weekend days over any period the policy can give.
    let horizon = entry
        .recorded_on
        .checked_add_days(chrono::Days::new(400))
        .unwrap_or(entry.recorded_on);
    let calendar =
        crate::calendar::repo::work_calendar(conn, town, entry.recorded_on, horizon).await?;
    if !domain::within_objection_period(entry.recorded_on, today, days, &calendar) {
        return Err(ApiError::conflict(
            "objection_period_over",
            msg!(
                ("提出异议的期限已过（记分后 {} 个工作日内）。", days),
                (
                    "The objection period is over ({} working days after the entry).",
                    days
                )
            ),
        ));
    }
    let objection =
        repo::insert_objection(conn, town, Uuid::now_v7(), member, &entry, reason).await?;
    let data = json!({ "case_id": objection.case_id, "entry_id": objection.entry_id });
    audit::record(
        conn,
        caller,
        audited(town, "objection.lodged", "objection", objection.id, data),
    )
    .await?;
    Ok(objection)
}

fn audited(
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
