//! Each step of an evaluation in the caller's transaction: scheduling, a vote, closing on
//! the verdict, calling off. The rules in order, the SQL through `repo` (and the case,
//! ledger and transfer modules), the audit records. No HTTP here.

use chrono::{NaiveDate, Utc};
use serde_json::json;
use sqlx::PgConnection;
use uuid::Uuid;

use super::domain::{
    self, Cancellation, Evaluation, EvaluationStatus, NewEvaluation, NewVote, Outcome,
    QuorumNotMet, VoteReceipt,
};
use super::repo;
use crate::audit::{self, Change};
use crate::auth::Caller;
use crate::cases::domain::Conclusion;
use crate::error::ApiError;
use crate::http::extract::IfMatch;
use crate::msg;
use crate::scores::domain::EntryKind;
use crate::scores::points::HalfPoints;
use crate::scores::{self, NewEntry};
use crate::transfers::domain::{NewTransferRecord, RecordKind};

fn already_voted() -> ApiError {
    crate::error::constraints::ALREADY_VOTED.into()
}

fn evaluation_closed() -> ApiError {
    crate::error::constraints::EVALUATION_CLOSED.into()
}

/// 409 `evaluation_not_started`: a ballot before the meeting's scheduled time. The
/// evaluation is a meeting of the panel (art. 24): a vote cast before it would be a vote
/// without the meeting, so ballots open at `held_at`.
fn not_started(held_at: chrono::DateTime<Utc>) -> ApiError {
    let at = held_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    ApiError::conflict(
        "evaluation_not_started",
        msg!(
            ("民主评议会议定于 {} 开始，开始前不能投票。", at),
            (
                "The evaluation meeting is scheduled for {}; ballots open then.",
                at
            )
        ),
    )
}

fn quorum_not_met(q: QuorumNotMet) -> ApiError {
    ApiError::conflict(
        "quorum_not_met",
        msg!(
            (
                "已投 {} 票，不足法定的 {} 票，暂不能结束评议。",
                q.cast,
                q.quorum
            ),
            (
                "{} vote(s) cast, fewer than the quorum of {}: the evaluation cannot be closed yet.",
                q.cast,
                q.quorum
            )
        ),
    )
}

/// An evaluation with its panel; 404 when the town has no such evaluation.
pub async fn read(conn: &mut PgConnection, town: Uuid, id: Uuid) -> Result<Evaluation, ApiError> {
    let row = repo::get(conn, town, id).await?.ok_or(ApiError::NotFound)?;
    let panel = repo::panel(conn, town, id).await?;
    Ok(row.with_panel(panel))
}

/// Schedules an evaluation of a case that is due for one (art. 23-24): checks the panel
/// against the members named on it and the policy's quorum, starts the case's evaluation
/// and records the policy version that will decide it.
pub async fn schedule(
    tx: &mut PgConnection,
    by: &Caller,
    town: Uuid,
    new: &NewEvaluation,
) -> Result<Evaluation, ApiError> {
    let case = crate::cases::repo::get(tx, town, new.case_id)
        .await?
        .ok_or_else(|| {
            ApiError::invalid(
                "case_id",
                "unknown_case",
                msg!("本镇没有该转化档案。", "This town has no such case."),
            )
        })?;
    let policy = crate::policy::current(tx, town).await?;
    let tz = crate::towns::repo::zone(tx, town).await?;
    let held_on = new.held_at.with_timezone(&tz).date_naive();
    let facts = if new.panel.len() <= domain::PANEL_MAX {
        let mut named: Vec<Uuid> = new.panel.iter().filter_map(|e| e.member_id).collect();
        named.sort();
        named.dedup();
        repo::member_facts(tx, town, &named, held_on).await?
    } else {
        Default::default()
    };
    let valid = domain::check(
        new,
        case.member_id,
        policy.evaluation_quorum,
        case.evaluation_due_at,
        Utc::now(),
        &facts,
    )?;
    crate::cases::repo::start_evaluation(tx, town, case.id).await?;
    let row = repo::insert(
        tx,
        town,
        &repo::NewRow {
            id: Uuid::now_v7(),
            case_id: case.id,
            member_id: case.member_id,
            held_at: new.held_at,
            held_on,
            place: &valid.place,
            policy_version: policy.version,
            quorum: policy.evaluation_quorum,
            majority_percent: policy.evaluation_majority_percent,
            scheduled_by: &by.sub,
        },
    )
    .await?;
    repo::insert_panel(tx, town, row.id, &valid.panel).await?;
    let kinds: Vec<&str> = valid.panel.iter().map(|e| e.kind.as_str()).collect();
    let data = json!({
        "case_id": case.id, "member_id": case.member_id, "held_at": row.held_at, "held_on": row.held_on,
        "panel_size": valid.panel.len(), "panel_kinds": kinds, "policy_version": row.policy_version,
        "quorum": row.quorum, "majority_percent": row.majority_percent,
    });
    audit::record(
        tx,
        by,
        evaluation_change(town, "evaluation.scheduled", row.id, data),
    )
    .await?;
    let data = json!({ "evaluation_id": row.id, "status": "under_evaluation" });
    audit::record(
        tx,
        by,
        case_change(town, "case.evaluation_scheduled", case.id, data),
    )
    .await?;
    let panel = repo::panel(tx, town, row.id).await?;
    Ok(row.with_panel(panel))
}

/// Records the caller's secret vote: only an evaluator on the panel, once, while the
/// evaluation is open and from its scheduled time on. Who voted is the audit record's actor; how is recorded nowhere
/// beside the ballot.
pub async fn vote(
    tx: &mut PgConnection,
    by: &Caller,
    town: Uuid,
    id: Uuid,
    new: &NewVote,
) -> Result<VoteReceipt, ApiError> {
    // The evaluation's lock serializes its votes and its closing: a second vote of the
    // same voter waits here and then finds the first.
    let evaluation = repo::lock(tx, town, id).await?.ok_or(ApiError::NotFound)?;
    if !repo::on_panel(tx, town, id, &by.sub).await? {
        return Err(ApiError::Refused {
            code: "not_on_panel",
            detail: msg!(
                "您不是本次民主评议的评议人，不能投票。",
                "You are not on this evaluation's panel and cannot vote."
            ),
        });
    }
    if evaluation.status != EvaluationStatus::Open {
        return Err(evaluation_closed());
    }
    if Utc::now() < evaluation.held_at {
        return Err(not_started(evaluation.held_at));
    }
    if repo::has_voted(tx, town, id, &by.sub).await? {
        return Err(already_voted());
    }
    let cast = repo::cast(tx, town, id, &by.sub, new.verdict).await?;
    let data = json!({ "votes_cast": cast.votes_cast, "version": cast.version });
    audit::record(
        tx,
        by,
        evaluation_change(town, "evaluation.vote_cast", id, data),
    )
    .await?;
    Ok(VoteReceipt {
        evaluation_id: id,
        voted_at: cast.voted_at,
        votes_cast: cast.votes_cast,
    })
}

/// Closes an open evaluation once it has its quorum, and acts on the verdict in the same
/// transaction: a pass returns the member to the case's original branch and concludes the
/// case; a fail leaves the case open, with the score restarted when the evaluation's
/// policy version says so.
pub async fn close_evaluation(
    tx: &mut PgConnection,
    by: &Caller,
    town: Uuid,
    id: Uuid,
    if_match: IfMatch,
) -> Result<Evaluation, ApiError> {
    let evaluation = repo::lock(tx, town, id).await?.ok_or(ApiError::NotFound)?;
    if evaluation.status != EvaluationStatus::Open {
        return Err(evaluation_closed());
    }
    if_match.check(evaluation.version)?;
    let tally = repo::count(tx, town, id).await?;
    let outcome = domain::outcome(tally, evaluation.quorum, evaluation.majority_percent)
        .map_err(quorum_not_met)?;
    repo::seal(tx, town, id).await?;
    let locked = scores::lock_case(tx, town, evaluation.case_id).await?;
    if locked.state.concluded {
        return Err(scores::refusal_error(scores::domain::Refusal::Concluded));
    }
    let case = crate::cases::repo::get(tx, town, evaluation.case_id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let today = crate::towns::repo::today(tx, town).await?;
    let acted = match outcome {
        Outcome::Passed => pass(tx, by, town, id, &case, today).await?,
        Outcome::Failed => {
            let policy = crate::policy::version(tx, town, evaluation.policy_version).await?;
            let restart = policy.failed_evaluation_resets_score;
            let reset = restart
                .then(|| domain::reset_delta(case.base_score, locked.state.score))
                .flatten();
            fail(tx, by, town, id, case.id, restart, reset).await?
        }
    };
    let closing = repo::Closing {
        status: outcome.status(),
        tally,
        by: &by.sub,
        return_transfer_id: acted.return_transfer_id,
        reset_entry_id: acted.reset_entry_id,
    };
    let row = repo::close(tx, town, id, &closing).await?;
    let data = json!({
        "case_id": case.id, "status": row.status, "votes_cast": row.votes_cast,
        "qualified": tally.qualified, "not_qualified": tally.not_qualified,
        "policy_version": row.policy_version, "quorum": row.quorum, "majority_percent": row.majority_percent,
        "return_transfer_id": acted.return_transfer_id, "reset_entry_id": acted.reset_entry_id,
    });
    audit::record(
        tx,
        by,
        evaluation_change(town, "evaluation.closed", id, data),
    )
    .await?;
    audit::record(tx, by, acted.case_change).await?;
    let panel = repo::panel(tx, town, id).await?;
    Ok(row.with_panel(panel))
}

/// What acting on a verdict did to the case, for the evaluation row and the audit trail.
struct Acted {
    return_transfer_id: Option<Uuid>,
    reset_entry_id: Option<Uuid>,
    case_change: Change,
}

/// A pass: the member's relation goes back to the original branch (a `return` transfer)
/// and the case is concluded `returned`.
async fn pass(
    tx: &mut PgConnection,
    by: &Caller,
    town: Uuid,
    id: Uuid,
    case: &crate::cases::domain::Case,
    today: NaiveDate,
) -> Result<Acted, ApiError> {
    let record = NewTransferRecord {
        town_id: town,
        member_id: case.member_id,
        kind: RecordKind::Return,
        to_branch_id: case.original_branch_id,
        reason: domain::RETURN_REASON.to_owned(),
        decided_on: today,
    };
    let transfer = crate::transfers::repo::record(tx, by, record).await?;
    crate::cases::repo::conclude(tx, by, town, case.id, Conclusion::Returned, today).await?;
    let data = json!({ "conclusion": Conclusion::Returned, "evaluation_id": id,
                       "transfer_id": transfer.id, "concluded_on": today });
    Ok(Acted {
        return_transfer_id: Some(transfer.id),
        reset_entry_id: None,
        case_change: case_change(town, "case.concluded", case.id, data),
    })
}

/// A fail: the case stays open, due again, or (when the policy restarts the score) active
/// with the score back at the base by the correction `reset`.
async fn fail(
    tx: &mut PgConnection,
    by: &Caller,
    town: Uuid,
    id: Uuid,
    case: Uuid,
    restart: bool,
    reset: Option<HalfPoints>,
) -> Result<Acted, ApiError> {
    let mut reset_entry_id = None;
    // The correction first, then the status: the database checks every change of the
    // case row against the ledger at commit, each with the score it had then.
    if let Some(delta) = reset {
        let entry = NewEntry {
            case_id: case,
            kind: EntryKind::Correction,
            points: delta,
            source: None,
            reverses: None,
            reason: Some(domain::RESET_REASON.to_owned()),
        };
        let written = scores::write_entry(tx, by, town, entry).await?;
        reset_entry_id = Some(written.entry.id);
    }
    crate::cases::repo::end_evaluation(tx, town, case, restart).await?;
    let data = json!({ "evaluation_id": id, "score_restarted": restart, "reset_entry_id": reset_entry_id });
    Ok(Acted {
        return_transfer_id: None,
        reset_entry_id,
        case_change: case_change(town, "case.evaluation_failed", case, data),
    })
}

/// Calls an open evaluation off before it has its quorum: its ballots are destroyed
/// uncounted and its case is due for an evaluation again.
pub async fn cancel(
    tx: &mut PgConnection,
    by: &Caller,
    town: Uuid,
    id: Uuid,
    if_match: IfMatch,
    cancellation: &Cancellation,
) -> Result<Evaluation, ApiError> {
    let reason = cancellation.validate()?;
    let evaluation = repo::lock(tx, town, id).await?.ok_or(ApiError::NotFound)?;
    if evaluation.status != EvaluationStatus::Open {
        return Err(evaluation_closed());
    }
    if_match.check(evaluation.version)?;
    if evaluation.votes_cast >= evaluation.quorum {
        return Err(ApiError::conflict(
            "quorum_met",
            msg!(
                (
                    "已投 {} 票，达到法定的 {} 票：请结束评议，不能取消。",
                    evaluation.votes_cast,
                    evaluation.quorum
                ),
                (
                    "{} vote(s) cast, the quorum of {} is met: close the evaluation instead of cancelling it.",
                    evaluation.votes_cast,
                    evaluation.quorum
                )
            ),
        ));
    }
    // The ballots cast so far are destroyed uncounted: kept, a few of them could be read
    // against the record of who voted.
    repo::discard_ballots(tx, town, id).await?;
    // The case as closing takes it: under its lock. A case that ended otherwise meanwhile
    // is left as it is.
    scores::lock_case(tx, town, evaluation.case_id).await?;
    crate::cases::repo::end_evaluation(tx, town, evaluation.case_id, false).await?;
    let row = repo::cancel(tx, town, id, &by.sub, &reason).await?;
    let data =
        json!({ "case_id": row.case_id, "status": row.status, "votes_cast": row.votes_cast });
    audit::record(
        tx,
        by,
        evaluation_change(town, "evaluation.cancelled", id, data),
    )
    .await?;
    let data = json!({ "evaluation_id": id });
    audit::record(
        tx,
        by,
        case_change(town, "case.evaluation_cancelled", row.case_id, data),
    )
    .await?;
    let panel = repo::panel(tx, town, id).await?;
    Ok(row.with_panel(panel))
}

fn evaluation_change(
    town: Uuid,
    action: &'static str,
    id: Uuid,
    data: serde_json::Value,
) -> Change {
    Change {
        town_id: town,
        action,
        resource_type: "evaluation",
        resource_id: id,
        data,
    }
}

fn case_change(town: Uuid, action: &'static str, case: Uuid, data: serde_json::Value) -> Change {
    Change {
        town_id: town,
        action,
        resource_type: "case",
        resource_id: case,
        data,
    }
}
