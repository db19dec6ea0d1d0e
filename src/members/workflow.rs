//! Each change to a town's members in the caller's transaction: registering one,
//! revealing one's numbers, changing one's details, importing a roster. The rules in
//! order, the SQL through `repo`, the audit records. No HTTP here.

use serde_json::json;
use sqlx::PgConnection;
use uuid::Uuid;

use super::domain::{Disclosure, Member, MemberPatch, NewMember};
use super::import::{ImportReport, Known, RawRow, check_rows};
use super::repo;
use crate::audit::{self, Change};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::http::extract::IfMatch;
use crate::transfers::domain::{NewTransferRecord, RecordKind};

/// Whether an import writes the members or only checks the roster.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportMode {
    /// Check every row and register every member.
    Import,
    /// Check every row, write nothing.
    DryRun,
}

/// Registers a member in their first branch, by a `registration` transfer; the answer
/// shows the numbers masked.
pub async fn register_member(
    tx: &mut PgConnection,
    by: &Caller,
    town: Uuid,
    new: &NewMember,
) -> Result<Member, ApiError> {
    let today = crate::towns::repo::today(tx, town).await?;
    let valid = new.validate(today)?;
    let row = repo::insert(tx, town, Uuid::now_v7(), &valid).await?;
    let registration = NewTransferRecord {
        town_id: town,
        member_id: row.id,
        kind: RecordKind::Registration,
        to_branch_id: valid.branch_id,
        reason: "registration".to_owned(),
        decided_on: today,
    };
    crate::transfers::repo::record(tx, by, registration).await?;
    let data = json!({ "branch_id": valid.branch_id });
    audit::record(tx, by, member_change(town, "member.created", row.id, data)).await?;
    Ok(row.view(Disclosure::Masked))
}

/// A member as of the town's today; a reveal of their numbers in full is written to the
/// audit trail (the caller's role was checked for it).
pub async fn read_member(
    tx: &mut PgConnection,
    by: &Caller,
    town: Uuid,
    id: Uuid,
    disclosure: Disclosure,
) -> Result<Member, ApiError> {
    let today = crate::towns::repo::today(tx, town).await?;
    let row = repo::get(tx, town, id, today)
        .await?
        .ok_or(ApiError::NotFound)?;
    if disclosure == Disclosure::Revealed {
        let data = json!({ "fields": ["national_id", "phone"] });
        audit::record(tx, by, member_change(town, "member.revealed", id, data)).await?;
    }
    Ok(row.view(disclosure))
}

/// Changes a member's details (not their national ID, not their branch).
pub async fn update_member(
    tx: &mut PgConnection,
    by: &Caller,
    town: Uuid,
    id: Uuid,
    if_match: IfMatch,
    patch: &MemberPatch,
) -> Result<Member, ApiError> {
    let today = crate::towns::repo::today(tx, town).await?;
    let valid = patch.validate(today)?;
    let row = repo::update(tx, town, id, if_match.version(), &valid, today).await?;
    let data = json!({ "version": row.version, "fields": patch.fields() });
    audit::record(tx, by, member_change(town, "member.updated", id, data)).await?;
    Ok(row.view(Disclosure::Masked))
}

/// Checks a whole roster against the rules and the town, then (unless a dry run)
/// registers every member with their registration transfer, in set-based statements.
/// One bad row refuses the whole file, with every problem listed.
pub async fn import_roster(
    tx: &mut PgConnection,
    by: &Caller,
    town: Uuid,
    rows: &[RawRow],
    mode: ImportMode,
) -> Result<ImportReport, ApiError> {
    let today = crate::towns::repo::today(tx, town).await?;
    let (branches, registered) = repo::roster_facts(tx, town).await?;
    let mut known = Known {
        branches: branches.into_iter().collect(),
        ..Known::default()
    };
    for (national_id, phone) in registered {
        known.national_ids.insert(national_id);
        known.phones.extend(phone);
    }
    let members = check_rows(rows, today, &known).map_err(ApiError::Validation)?;
    let dry_run = mode == ImportMode::DryRun;
    let member_ids = if dry_run {
        Vec::new()
    } else {
        repo::insert_imported(tx, by, town, today, &members).await?
    };
    Ok(ImportReport {
        rows: rows.len(),
        imported: member_ids.len(),
        member_ids,
        dry_run,
    })
}

fn member_change(town: Uuid, action: &'static str, id: Uuid, data: serde_json::Value) -> Change {
    Change {
        town_id: town,
        action,
        resource_type: "member",
        resource_id: id,
        data,
    }
}
