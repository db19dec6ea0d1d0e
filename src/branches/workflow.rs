//! Each change to a town's branches in the caller's transaction, with its audit record.
//! No HTTP here.

use serde_json::json;
use sqlx::PgConnection;
use uuid::Uuid;

use super::domain::{Branch, BranchPatch, NewBranch};
use super::repo;
use crate::audit::{self, Change};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::http::extract::IfMatch;

/// Creates a branch of any kind but `center` (the center branch comes with the town).
pub async fn create_branch(
    tx: &mut PgConnection,
    by: &Caller,
    town: Uuid,
    new: &NewBranch,
) -> Result<Branch, ApiError> {
    let valid = new.validate()?;
    let branch = repo::insert(tx, town, Uuid::now_v7(), &valid.name, valid.kind).await?;
    let data = json!({ "kind": branch.kind });
    audit::record(
        tx,
        by,
        branch_change(town, "branch.created", branch.id, data),
    )
    .await?;
    Ok(branch)
}

/// Renames a branch or changes its kind; the center branch keeps its kind.
pub async fn update_branch(
    tx: &mut PgConnection,
    by: &Caller,
    town: Uuid,
    id: Uuid,
    if_match: IfMatch,
    patch: &BranchPatch,
) -> Result<Branch, ApiError> {
    let current = repo::get(tx, town, id).await?.ok_or(ApiError::NotFound)?;
    let patch = patch.validate(current.kind)?;
    let updated = repo::update(tx, town, id, if_match.version(), &patch).await?;
    let data = json!({ "version": updated.version, "kind": updated.kind });
    audit::record(tx, by, branch_change(town, "branch.updated", id, data)).await?;
    Ok(updated)
}

fn branch_change(town: Uuid, action: &'static str, id: Uuid, data: serde_json::Value) -> Change {
    Change {
        town_id: town,
        action,
        resource_type: "branch",
        resource_id: id,
        data,
    }
}
