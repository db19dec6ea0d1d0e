//! SQL for transfers. Functions take a connection so they run inside the caller's
//! transaction; [`record`] is the entry point for other parts of the service.

use chrono::NaiveDate;
use serde_json::json;
use sqlx::PgConnection;
use uuid::Uuid;

pub use super::domain::NewTransferRecord;
use super::domain::{
    self, REASON_MAX, RecordKind, Transfer, TransferKind, TransferStatus, ValidInflow,
};
use crate::audit::{self, Change};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::http::paging::Keyset;
use crate::validate::Checks;

/// The filters of the transfer list, checked.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Only this kind.
    pub kind: Option<TransferKind>,
    /// Only this status.
    pub status: Option<TransferStatus>,
    /// Only this member's.
    pub member_id: Option<Uuid>,
    /// Only those leaving or joining this branch.
    pub branch_id: Option<Uuid>,
    /// Only open letters past their validity (`true`), or all others (`false`).
    pub overdue: Option<bool>,
}

/// What a transfer needs to know of its member, read under a row lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberState {
    /// The id of the member the transfer moves.
    pub id: Uuid,
    /// Their current branch (none while an inflow is pending).
    pub branch_id: Option<Uuid>,
    /// Their status: `active`, `incoming`, `transferred_out`, `removed`, `deceased`.
    pub status: String,
}

/// A transfer's state, read under a row lock before its letter moves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockedTransfer {
    /// The member whose relation moves.
    pub member_id: Uuid,
    /// What kind of move it is.
    pub kind: TransferKind,
    /// Where it stands now.
    pub status: TransferStatus,
    /// The decision date.
    pub decided_on: NaiveDate,
    /// The row's version, checked against `If-Match`.
    pub version: i64,
}

/// A transfer to insert.
#[derive(Debug, Clone)]
pub struct Insert<'a> {
    /// The town it belongs to.
    pub town_id: Uuid,
    /// The new transfer's id.
    pub id: Uuid,
    /// The member whose relation moves.
    pub member_id: Uuid,
    /// What kind of move it is.
    pub kind: TransferKind,
    /// The branch left.
    pub from_branch_id: Option<Uuid>,
    /// The branch joined.
    pub to_branch_id: Option<Uuid>,
    /// The organization on the other side.
    pub external_org: Option<&'a str>,
    /// Why the member moves, trimmed.
    pub reason: &'a str,
    /// Who decided (the caller's subject).
    pub decided_by: &'a str,
    /// The day it was decided, in the town's calendar.
    pub decided_on: NaiveDate,
    /// `completed` or `issued`.
    pub status: TransferStatus,
    /// The introduction letter's serial number (outflows and inflows); `None` for internal moves.
    pub letter_serial: Option<&'a str>,
    /// Dues paid up to.
    pub dues_paid_until: Option<NaiveDate>,
    /// The letter's validity.
    pub valid_until: Option<NaiveDate>,
}

/// Inserts a transfer; the database's triggers move the member when it is complete.
pub async fn insert(conn: &mut PgConnection, t: &Insert<'_>) -> Result<Uuid, ApiError> {
    Ok(sqlx::query_scalar!(
        "INSERT INTO transfers (town_id, id, member_id, kind, from_branch_id, to_branch_id, external_org,
                                reason, decided_by, decided_on, status, letter_serial, dues_paid_until, valid_until)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
         RETURNING id",
        t.town_id,
        t.id,
        t.member_id,
        t.kind.as_str(),
        t.from_branch_id,
        t.to_branch_id,
        t.external_org,
        t.reason,
        t.decided_by,
        t.decided_on,
        t.status.as_str(),
        t.letter_serial,
        t.dues_paid_until,
        t.valid_until,
    )
    .fetch_one(conn)
    .await?)
}

/// One transfer of a town; `today` (the town's) decides whether it is overdue.
pub async fn get(
    conn: &mut PgConnection,
    town: Uuid,
    id: Uuid,
    today: NaiveDate,
) -> Result<Option<Transfer>, ApiError> {
    Ok(sqlx::query_as!(
        Transfer,
        r#"SELECT id, town_id, member_id, kind AS "kind: TransferKind", from_branch_id, to_branch_id,
                  external_org, reason, decided_by, decided_on, status AS "status: TransferStatus",
                  letter_serial, dues_paid_until, valid_until, receipt_on, rejection_reason,
                  revocation_reason, closed_by, closed_at,
                  (status = 'issued' AND valid_until < $3) AS "overdue!",
                  created_at, updated_at, version
           FROM transfers WHERE town_id = $1 AND id = $2"#,
        town,
        id,
        today,
    )
    .fetch_optional(conn)
    .await?)
}

/// A page of a town's transfers, filtered, in id (creation) order.
pub async fn list(
    conn: &mut PgConnection,
    town: Uuid,
    filter: &Filter,
    today: NaiveDate,
    page: Keyset,
) -> Result<Vec<Transfer>, ApiError> {
    Ok(sqlx::query_as!(
        Transfer,
        r#"SELECT id, town_id, member_id, kind AS "kind: TransferKind", from_branch_id, to_branch_id,
                  external_org, reason, decided_by, decided_on, status AS "status: TransferStatus",
                  letter_serial, dues_paid_until, valid_until, receipt_on, rejection_reason,
                  revocation_reason, closed_by, closed_at,
                  (status = 'issued' AND valid_until < $3) AS "overdue!",
                  created_at, updated_at, version
           FROM transfers
           WHERE town_id = $1 AND id > $2
             AND ($4::text IS NULL OR kind = $4)
             AND ($5::text IS NULL OR status = $5)
             AND ($6::uuid IS NULL OR member_id = $6)
             AND ($7::uuid IS NULL OR from_branch_id = $7 OR to_branch_id = $7)
             AND ($8::boolean IS NULL OR (status = 'issued' AND valid_until < $3) = $8)
           ORDER BY id LIMIT $9"#,
        town,
        page.after_or_nil(),
        today,
        filter.kind.map(TransferKind::as_str),
        filter.status.map(TransferStatus::as_str),
        filter.member_id,
        filter.branch_id,
        filter.overdue,
        page.fetch(),
    )
    .fetch_all(conn)
    .await?)
}

/// Locks a transfer before its letter moves.
pub async fn lock(
    conn: &mut PgConnection,
    town: Uuid,
    id: Uuid,
) -> Result<Option<LockedTransfer>, ApiError> {
    Ok(sqlx::query_as!(
        LockedTransfer,
        r#"SELECT member_id, kind AS "kind: TransferKind", status AS "status: TransferStatus",
                  decided_on, version
           FROM transfers WHERE town_id = $1 AND id = $2 FOR UPDATE"#,
        town,
        id,
    )
    .fetch_optional(conn)
    .await?)
}

/// How an open letter closes.
#[derive(Debug, Clone)]
pub struct Closure<'a> {
    /// `received`, `rejected` or `revoked`.
    pub status: TransferStatus,
    /// For `received`.
    pub receipt_on: Option<NaiveDate>,
    /// For `rejected`.
    pub rejection_reason: Option<&'a str>,
    /// For `revoked`.
    pub revocation_reason: Option<&'a str>,
    /// Who recorded it.
    pub closed_by: &'a str,
}

/// Closes an open letter (locked by [`lock`] and checked by the caller). The database's
/// triggers move the member on a receipt.
pub async fn close(
    conn: &mut PgConnection,
    town: Uuid,
    id: Uuid,
    c: &Closure<'_>,
) -> Result<(), ApiError> {
    let updated = sqlx::query!(
        "UPDATE transfers SET
             status = $3, receipt_on = $4, rejection_reason = $5, revocation_reason = $6,
             closed_by = $7, closed_at = now(), updated_at = now(), version = version + 1
         WHERE town_id = $1 AND id = $2 AND status = 'issued'",
        town,
        id,
        c.status.as_str(),
        c.receipt_on,
        c.rejection_reason,
        c.revocation_reason,
        c.closed_by,
    )
    .execute(conn)
    .await?
    .rows_affected();
    if updated == 1 {
        Ok(())
    } else {
        Err(domain::transfer_not_open())
    }
}

/// Locks a member of the town and reads what a transfer needs of them.
pub async fn lock_member(
    conn: &mut PgConnection,
    town: Uuid,
    member: Uuid,
) -> Result<Option<MemberState>, ApiError> {
    Ok(sqlx::query_as!(
        MemberState,
        "SELECT id, branch_id, status FROM members WHERE town_id = $1 AND id = $2 FOR UPDATE",
        town,
        member,
    )
    .fetch_optional(conn)
    .await?)
}

/// Locks the member of the town with this national ID number, if there is one.
pub async fn lock_member_by_national_id(
    conn: &mut PgConnection,
    town: Uuid,
    national_id: &str,
) -> Result<Option<MemberState>, ApiError> {
    Ok(sqlx::query_as!(
        MemberState,
        "SELECT id, branch_id, status FROM members WHERE town_id = $1 AND national_id = $2 FOR UPDATE",
        town,
        national_id,
    )
    .fetch_optional(conn)
    .await?)
}

/// Whether the member exists in the town.
pub async fn member_exists(
    conn: &mut PgConnection,
    town: Uuid,
    member: Uuid,
) -> Result<bool, ApiError> {
    Ok(sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM members WHERE town_id = $1 AND id = $2) AS "e!""#,
        town,
        member,
    )
    .fetch_one(conn)
    .await?)
}

/// Whether the member has an open (issued) letter.
pub async fn has_open_letter(
    conn: &mut PgConnection,
    town: Uuid,
    member: Uuid,
) -> Result<bool, ApiError> {
    Ok(sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM transfers WHERE town_id = $1 AND member_id = $2 AND status = 'issued') AS "e!""#,
        town,
        member,
    )
    .fetch_one(conn)
    .await?)
}

/// Whether the branch is one of the town's.
pub async fn branch_exists(
    conn: &mut PgConnection,
    town: Uuid,
    branch: Uuid,
) -> Result<bool, ApiError> {
    Ok(sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM branches WHERE town_id = $1 AND id = $2) AS "e!""#,
        town,
        branch,
    )
    .fetch_one(conn)
    .await?)
}

/// Creates the record of a member arriving by an inflow: `incoming`, no branch until the
/// receipt.
pub async fn insert_incoming_member(
    conn: &mut PgConnection,
    town: Uuid,
    id: Uuid,
    m: &ValidInflow,
) -> Result<(), ApiError> {
    sqlx::query!(
        "INSERT INTO members (town_id, id, name, national_id, phone, village, branch_id, status)
         VALUES ($1, $2, $3, $4, $5, $6, NULL, 'incoming')",
        town,
        id,
        m.name,
        m.national_id.as_str(),
        m.phone.as_ref().map(|p| p.as_str()),
        m.village,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Sets a member's status (never their branch: only transfers move that).
pub async fn set_member_status(
    conn: &mut PgConnection,
    town: Uuid,
    member: Uuid,
    status: &str,
) -> Result<(), ApiError> {
    sqlx::query!(
        "UPDATE members SET status = $3, updated_at = now(), version = version + 1
         WHERE town_id = $1 AND id = $2 AND status <> $3",
        town,
        member,
        status,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Records a completed transfer of kind `registration`, `internal`, `intake` or `return`
/// for another part of the service, inside that part's transaction, with its audit entry
/// (`transfer.completed`). The member must be active (but for a registration), have no
/// open letter, and not be in `to_branch_id` already; the database's trigger then moves
/// them. Who decided is the caller's subject.
///
/// Errors: 404 for an unknown member; 409 `open_transfer_exists`, `member_not_active`;
/// 422 on `to_branch_id` (`same_branch`, `unknown_branch`) or `reason`.
pub async fn record(
    conn: &mut PgConnection,
    caller: &Caller,
    t: NewTransferRecord,
) -> Result<Transfer, ApiError> {
    let mut c = Checks::new();
    let reason = c.text("reason", &t.reason, 1, REASON_MAX);
    c.finish()?;
    let member = lock_member(conn, t.town_id, t.member_id)
        .await?
        .ok_or(ApiError::NotFound)?;
    if has_open_letter(conn, t.town_id, t.member_id).await? {
        return Err(domain::open_transfer_exists());
    }
    let from = if t.kind == RecordKind::Registration {
        None
    } else {
        if member.status != "active" {
            return Err(domain::member_not_active());
        }
        if member.branch_id == Some(t.to_branch_id) {
            return Err(domain::same_branch());
        }
        member.branch_id
    };
    if !branch_exists(conn, t.town_id, t.to_branch_id).await? {
        return Err(domain::unknown_branch());
    }
    let id = insert(
        conn,
        &Insert {
            town_id: t.town_id,
            id: Uuid::now_v7(),
            member_id: t.member_id,
            kind: t.kind.kind(),
            from_branch_id: from,
            to_branch_id: Some(t.to_branch_id),
            external_org: None,
            reason: &reason,
            decided_by: &caller.sub,
            decided_on: t.decided_on,
            status: TransferStatus::Completed,
            letter_serial: None,
            dues_paid_until: None,
            valid_until: None,
        },
    )
    .await?;
    audit::record(
        conn,
        caller,
        Change {
            town_id: t.town_id,
            action: "transfer.completed",
            resource_type: "transfer",
            resource_id: id,
            data: json!({
                "kind": t.kind,
                "member_id": t.member_id,
                "from_branch_id": from,
                "to_branch_id": t.to_branch_id,
                "status": TransferStatus::Completed,
                "decided_on": t.decided_on,
            }),
        },
    )
    .await?;
    // A completed transfer is never overdue, whatever the day.
    get(conn, t.town_id, id, t.decided_on)
        .await?
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("transfer {id} vanished")))
}
