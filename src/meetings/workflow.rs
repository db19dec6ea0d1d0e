//! Each change to a branch's organizational life, step by step in the caller's
//! transaction, with its audit record (the change feed's event). No HTTP here.

use chrono::Utc;
use serde_json::json;
use sqlx::PgConnection;
use uuid::Uuid;

use super::domain::{self, CheckedGroup, GroupPatch, NewGroup, NewOfficer, Officer, PartyGroup};
use super::repo;
use crate::audit::{self, Change};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::http::extract::IfMatch;

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
    if_match.check(current.version)?;
    let next: CheckedGroup = patch.apply_to(&current)?;
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
