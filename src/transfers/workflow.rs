//! Each transfer change in the caller's transaction: a move between branches, a letter
//! out of the town, a newcomer's letter into it, and a letter's end (receipt, rejection,
//! withdrawal). The rules in order, the SQL through `repo`, the audit records. No HTTP.

use serde_json::json;
use sqlx::PgConnection;
use uuid::Uuid;

use super::domain::{
    self, Closing, LetterAction, LetterValidity, NewInflow, NewTransfer, NewTransferRecord,
    Receipt, RecordKind, Transfer, TransferKind, TransferStatus, ValidNewTransfer, ValidOutflow,
};
use super::repo;
use crate::audit::{self, Change};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::http::extract::IfMatch;

/// How an open letter ends, with the request that says so.
#[derive(Debug, Clone, Copy)]
pub enum LetterEnd<'a> {
    /// The receipt came back: the move is done.
    Receive(&'a Receipt),
    /// The other side refused the letter.
    Reject(&'a Closing),
    /// The committee withdrew it.
    Revoke(&'a Closing),
}

/// A transfer read as of the town's today; 404 when the town has no such transfer.
pub async fn read(conn: &mut PgConnection, town: Uuid, id: Uuid) -> Result<Transfer, ApiError> {
    let today = crate::towns::repo::today(conn, town).await?;
    repo::get(conn, town, id, today)
        .await?
        .ok_or(ApiError::NotFound)
}

/// Transfers a member between two branches of the town (completed at once) or out of it
/// by an introduction letter (issued; the member stays until the receipt). The caller's
/// role was checked for the kind.
pub async fn create_transfer(
    tx: &mut PgConnection,
    by: &Caller,
    town: Uuid,
    member: Uuid,
    new: &NewTransfer,
) -> Result<Transfer, ApiError> {
    let today = crate::towns::repo::today(tx, town).await?;
    let validity = LetterValidity::of(&crate::policy::current(tx, town).await?);
    match new.validate(today, validity)? {
        ValidNewTransfer::Internal {
            to_branch_id,
            reason,
            decided_on,
        } => {
            let record = NewTransferRecord {
                town_id: town,
                member_id: member,
                kind: RecordKind::Internal,
                to_branch_id,
                reason,
                decided_on,
            };
            repo::record(tx, by, record).await
        }
        ValidNewTransfer::Outflow(o) => {
            let id = issue_outflow(tx, by, town, member, &o).await?;
            read(tx, town, id).await
        }
    }
}

/// Issues a letter out of the town for an active member without an open letter.
async fn issue_outflow(
    tx: &mut PgConnection,
    by: &Caller,
    town: Uuid,
    member: Uuid,
    o: &ValidOutflow,
) -> Result<Uuid, ApiError> {
    let m = repo::lock_member(tx, town, member)
        .await?
        .ok_or(ApiError::NotFound)?;
    if repo::has_open_letter(tx, town, member).await? {
        return Err(domain::open_transfer_exists());
    }
    if m.status != "active" {
        return Err(domain::member_not_active());
    }
    let insert = repo::Insert {
        town_id: town,
        id: Uuid::now_v7(),
        member_id: member,
        kind: TransferKind::Outflow,
        from_branch_id: m.branch_id,
        to_branch_id: None,
        external_org: Some(&o.external_org),
        reason: &o.reason,
        decided_by: &by.sub,
        decided_on: o.decided_on,
        status: TransferStatus::Issued,
        letter_serial: Some(&o.letter_serial),
        dues_paid_until: Some(o.dues_paid_until),
        valid_until: Some(o.valid_until),
    };
    let id = repo::insert(tx, &insert).await?;
    let data = json!({
        "kind": TransferKind::Outflow,
        "member_id": member,
        "from_branch_id": m.branch_id,
        "status": TransferStatus::Issued,
        "decided_on": o.decided_on,
        "valid_until": o.valid_until,
    });
    audit::record(tx, by, transfer_change(town, "transfer.issued", id, data)).await?;
    Ok(id)
}

/// Takes in a member arriving with a letter: their record `incoming` (created, or a
/// former member's or an earlier newcomer's found by national ID and reused) and the
/// inflow transfer, `issued`.
pub async fn create_inflow(
    tx: &mut PgConnection,
    by: &Caller,
    town: Uuid,
    new: &NewInflow,
) -> Result<Transfer, ApiError> {
    let today = crate::towns::repo::today(tx, town).await?;
    let validity = LetterValidity::of(&crate::policy::current(tx, town).await?);
    let valid = new.validate(today, validity)?;
    if !repo::branch_exists(tx, town, valid.to_branch_id).await? {
        return Err(domain::unknown_branch());
    }
    let existing = repo::lock_member_by_national_id(tx, town, valid.national_id.as_str()).await?;
    let (member, reused) = match existing {
        None => {
            let id = Uuid::now_v7();
            repo::insert_incoming_member(tx, town, id, &valid).await?;
            (id, false)
        }
        Some(m) if m.status == "transferred_out" || m.status == "incoming" => {
            if repo::has_open_letter(tx, town, m.id).await? {
                return Err(domain::open_transfer_exists());
            }
            repo::set_member_status(tx, town, m.id, "incoming").await?;
            (m.id, true)
        }
        Some(_) => return Err(domain::national_id_taken()),
    };
    let insert = repo::Insert {
        town_id: town,
        id: Uuid::now_v7(),
        member_id: member,
        kind: TransferKind::Inflow,
        from_branch_id: None,
        to_branch_id: Some(valid.to_branch_id),
        external_org: Some(&valid.external_org),
        reason: &valid.reason,
        decided_by: &by.sub,
        decided_on: valid.decided_on,
        status: TransferStatus::Issued,
        letter_serial: Some(&valid.letter_serial),
        dues_paid_until: Some(valid.dues_paid_until),
        valid_until: Some(valid.valid_until),
    };
    let id = repo::insert(tx, &insert).await?;
    let member_change = Change {
        town_id: town,
        action: if reused {
            "member.returning"
        } else {
            "member.incoming"
        },
        resource_type: "member",
        resource_id: member,
        data: json!({ "status": "incoming", "transfer_id": id }),
    };
    audit::record(tx, by, member_change).await?;
    let data = json!({
        "kind": TransferKind::Inflow,
        "member_id": member,
        "member_reused": reused,
        "to_branch_id": valid.to_branch_id,
        "status": TransferStatus::Issued,
        "decided_on": valid.decided_on,
        "valid_until": valid.valid_until,
    });
    audit::record(tx, by, transfer_change(town, "transfer.issued", id, data)).await?;
    read(tx, town, id).await
}

/// Ends an open letter: 404, then 412 (stale `If-Match`), 409 (not open), 422 (body).
/// A returning former member whose inflow did not go through is transferred out again.
pub async fn end_letter(
    tx: &mut PgConnection,
    by: &Caller,
    town: Uuid,
    id: Uuid,
    if_match: IfMatch,
    end: LetterEnd<'_>,
) -> Result<Transfer, ApiError> {
    let today = crate::towns::repo::today(tx, town).await?;
    let locked = repo::lock(tx, town, id).await?.ok_or(ApiError::NotFound)?;
    if_match.check(locked.version)?;
    let kind = match end {
        LetterEnd::Receive(_) => LetterAction::Receive,
        LetterEnd::Reject(_) => LetterAction::Reject,
        LetterEnd::Revoke(_) => LetterAction::Revoke,
    };
    let status = domain::close(locked.status, kind)?;
    let (receipt_on, reason) = match end {
        LetterEnd::Receive(r) => (Some(r.validate(today, locked.decided_on)?), None),
        LetterEnd::Reject(c) | LetterEnd::Revoke(c) => (None, Some(c.validate()?)),
    };
    let closure = repo::Closure {
        status,
        receipt_on,
        rejection_reason: reason.as_deref().filter(|_| kind == LetterAction::Reject),
        revocation_reason: reason.as_deref().filter(|_| kind == LetterAction::Revoke),
        closed_by: &by.sub,
    };
    repo::close(tx, town, id, &closure).await?;
    // A newcomer's record (no branch) stays `incoming` for a later inflow.
    if locked.kind == TransferKind::Inflow && kind != LetterAction::Receive {
        let m = repo::lock_member(tx, town, locked.member_id)
            .await?
            .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("transfer without its member")))?;
        if m.branch_id.is_some() && m.status == "incoming" {
            repo::set_member_status(tx, town, m.id, "transferred_out").await?;
        }
    }
    let member_status = repo::lock_member(tx, town, locked.member_id)
        .await?
        .map(|m| m.status);
    let data = json!({
        "kind": locked.kind,
        "member_id": locked.member_id,
        "status": status,
        "receipt_on": receipt_on,
        "member_status": member_status,
    });
    audit::record(tx, by, transfer_change(town, kind.audit_action(), id, data)).await?;
    repo::get(tx, town, id, today)
        .await?
        .ok_or(ApiError::NotFound)
}

fn transfer_change(town: Uuid, action: &'static str, id: Uuid, data: serde_json::Value) -> Change {
    Change {
        town_id: town,
        action,
        resource_type: "transfer",
        resource_id: id,
        data,
    }
}
