//! Each change to a case, step by step in the caller's transaction: the rules in order,
//! the SQL through `repo`, the points through the ledger, the audit record. No HTTP here.

use serde_json::json;
use sqlx::PgConnection;
use uuid::Uuid;

use super::domain::{
    Adjusted, Adjustment, Case, Conclusion, Disposition, Matter, NewCase, NewDisposition,
};
use super::repo;
use crate::audit::{self, Change};
use crate::auth::Caller;
use crate::error::{ApiError, FieldError};
use crate::http::extract::IfMatch;
use crate::http::idempotency::{Answer, Slot, Stored};
use crate::msg;
use crate::scores::domain::{EntryKind, Refusal};
use crate::scores::{self, Ledger, NewEntry, Written};
use crate::transfers::domain::{NewTransferRecord, RecordKind};
use crate::validate::Checks;

/// Takes a member in for transformation: their relation moves into the center branch (an
/// `intake` transfer) and the case opens at the current policy's base score.
pub async fn open_case(
    tx: &mut PgConnection,
    by: &Caller,
    town: Uuid,
    new: &NewCase,
) -> Result<Case, ApiError> {
    let today = crate::towns::repo::today(tx, town).await?;
    let mut c = Checks::new();
    let reason = c.text("reason", &new.reason, 1, 500);
    let decided_on = new.decided_on.unwrap_or(today);
    crate::members::domain::check_past_date(&mut c, "decided_on", decided_on, today);
    c.finish()?;
    let member = crate::members::repo::get(tx, town, new.member_id, today)
        .await?
        .ok_or_else(|| {
            ApiError::Validation(vec![FieldError::new(
                "member_id",
                "unknown_member",
                msg!("本镇没有该党员。", "This town has no such member."),
            )])
        })?;
    let center = repo::center_branch(tx, town).await?;
    let Some(original) = member.branch_id else {
        return Err(ApiError::conflict(
            "member_not_active",
            msg!(
                "该党员不在本镇支部中。",
                "The member is not in a branch of this town."
            ),
        ));
    };
    if original == center {
        return Err(ApiError::conflict(
            "already_in_center",
            msg!(
                "该党员的组织关系已在服务转化中心支部。",
                "The member's relation is in the center branch already."
            ),
        ));
    }
    if repo::open_case_of(tx, town, member.id).await?.is_some() {
        return Err(crate::error::constraints::CASE_OPEN.into());
    }
    let intake = crate::transfers::repo::record(
        tx,
        by,
        NewTransferRecord {
            town_id: town,
            member_id: member.id,
            kind: RecordKind::Intake,
            to_branch_id: center,
            reason: reason.clone(),
            decided_on,
        },
    )
    .await?;
    let policy = crate::policy::current(tx, town).await?;
    let row = repo::NewCaseRow {
        id: Uuid::now_v7(),
        member_id: member.id,
        original_branch_id: original,
        intake_transfer_id: intake.id,
        reason: &reason,
        opened_on: decided_on,
        opened_by: &by.sub,
        policy_version: policy.version,
        base: policy.base_score,
    };
    let case = repo::insert(tx, town, &row).await?;
    let data = json!({ "member_id": case.member_id, "original_branch_id": original, "score": case.score,
                       "policy_version": case.policy_version });
    audit::record(tx, by, audited(town, "case.opened", case.id, data)).await?;
    Ok(case)
}

/// Writes a committee adjustment to the case's ledger: a correction, or the reversal of
/// one entry (once; a reversal itself cannot be reversed).
pub async fn adjust(
    tx: &mut PgConnection,
    by: &Caller,
    town: Uuid,
    case: Uuid,
    adjustment: &Adjustment,
) -> Result<Adjusted, ApiError> {
    let (mut ledger, entry) = adjustment_entry(tx, town, case, adjustment).await?;
    let written = ledger.write_one(tx, by, entry).await?;
    Ok(adjusted(written))
}

/// [`adjust`], for a request whose answer `answer` makes of the adjustment: the answer is
/// stored in `slot` by the statement that writes the entry (see
/// [`Ledger::write_one_answered`]).
pub async fn adjust_answered(
    tx: &mut PgConnection,
    by: &Caller,
    (town, case): (Uuid, Uuid),
    adjustment: &Adjustment,
    (slot, answer): (Slot, impl FnOnce(Adjusted) -> Result<Answer, ApiError>),
) -> Result<Stored, ApiError> {
    let (mut ledger, entry) = adjustment_entry(tx, town, case, adjustment).await?;
    ledger
        .write_one_answered(tx, by, entry, (slot, |w| answer(adjusted(w))))
        .await
}

/// The case locked, and the entry an adjustment asks for.
async fn adjustment_entry(
    tx: &mut PgConnection,
    town: Uuid,
    case: Uuid,
    adjustment: &Adjustment,
) -> Result<(Ledger, NewEntry), ApiError> {
    let mut c = Checks::new();
    let reason = c.text("reason", adjustment.reason(), 1, 500);
    c.finish()?;
    // The case's lock comes first, so a concurrent reversal of the same entry waits here.
    let ledger = Ledger::lock(tx, town, [case]).await?;
    let entry = match adjustment {
        Adjustment::Correction(c) => NewEntry::correction(case, c.points.get(), reason),
        Adjustment::Reversal(r) => {
            let target = scores::entry(tx, town, case, r.entry_id)
                .await?
                .ok_or_else(|| {
                    ApiError::Validation(vec![FieldError::new(
                        "entry_id",
                        "unknown_entry",
                        msg!("该档案没有这条记分。", "This case has no such entry."),
                    )])
                })?;
            if target.kind == EntryKind::Reversal {
                return Err(ApiError::conflict(
                    "cannot_reverse_reversal",
                    msg!(
                        "冲销记录不能再被冲销。",
                        "A reversal cannot itself be reversed."
                    ),
                ));
            }
            NewEntry::reversal(&target, None, reason)
        }
    };
    Ok((ledger, entry))
}

fn adjusted(written: Written) -> Adjusted {
    Adjusted {
        entry: written.entry,
        status: written.status,
    }
}

/// Records the committee's disposition of an open matter; a removal ends the case and the
/// membership.
pub async fn dispose(
    tx: &mut PgConnection,
    by: &Caller,
    town: Uuid,
    (case, matter): (Uuid, Uuid),
    if_match: IfMatch,
    new: &NewDisposition,
) -> Result<Matter, ApiError> {
    let today = crate::towns::repo::today(tx, town).await?;
    let mut c = Checks::new();
    let note = c.text("note", new.note(), 1, 2000);
    if new
        .deadline()
        .is_some_and(|d| c.date("deadline", d) && d <= today)
    {
        c.push(FieldError::new(
            "deadline",
            "not_in_future",
            msg!("期限须晚于今天。", "The deadline must be after today."),
        ));
    }
    c.finish()?;
    let locked = scores::lock_case(tx, town, case).await?;
    if locked.state.concluded {
        return Err(scores::refusal_error(Refusal::Concluded));
    }
    let disposition = new.disposition();
    let decided = repo::decide(
        tx,
        town,
        case,
        matter,
        if_match.version(),
        disposition,
        &note,
        new.deadline(),
        &by.sub,
    )
    .await?;
    let removal = disposition == Disposition::Removal;
    if removal {
        repo::conclude(tx, by, town, case, Conclusion::Removed, today).await?;
        repo::remove_member(tx, town, locked.member_id).await?;
    }
    let data = json!({ "matter_id": matter, "disposition": disposition, "concluded": removal });
    audit::record(
        tx,
        by,
        audited(town, "case.disposition_recorded", case, data),
    )
    .await?;
    Ok(decided)
}

fn audited(town: Uuid, action: &'static str, id: Uuid, data: serde_json::Value) -> Change {
    Change {
        town_id: town,
        action,
        resource_type: "case",
        resource_id: id,
        data,
    }
}
