//! Each change of the catalogue and its loans in the caller's transaction: the rules in
//! order, the SQL through `repo`, the audit records (which are the change feed).

use serde_json::json;
use sqlx::PgConnection;
use uuid::Uuid;

use super::domain::{self, Loan, Material, MaterialPatch, NewLoan, NewMaterial, ReturnLoan};
use super::repo;
use crate::audit::{self, Change};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::http::extract::IfMatch;
use crate::msg;

/// Catalogues a material.
pub async fn add(
    tx: &mut PgConnection,
    by: &Caller,
    town: Uuid,
    new: &NewMaterial,
) -> Result<Material, ApiError> {
    let valid = new.validate()?;
    let m = repo::insert(tx, town, &valid, &by.sub).await?;
    let data = json!({ "kind": m.kind, "copies": m.copies });
    audit::record(
        tx,
        by,
        change(town, "material.created", "material", m.id, data),
    )
    .await?;
    Ok(m)
}

/// Changes a material; the holding cannot go below the copies on loan.
pub async fn update(
    tx: &mut PgConnection,
    by: &Caller,
    town: Uuid,
    id: Uuid,
    if_match: IfMatch,
    patch: &MaterialPatch,
) -> Result<Material, ApiError> {
    let m = repo::get(tx, town, id, true)
        .await?
        .ok_or(ApiError::NotFound)?;
    let valid = patch.apply_to(&m)?;
    if_match.check(m.version)?;
    repo::update(tx, town, id, &valid).await?;
    let m = repo::get(tx, town, id, false)
        .await?
        .ok_or(ApiError::NotFound)?;
    let data = json!({ "fields": patch.fields(), "copies": m.copies, "version": m.version });
    audit::record(
        tx,
        by,
        change(town, "material.updated", "material", id, data),
    )
    .await?;
    Ok(m)
}

/// Lends copies of a material to a branch of the town: at most those on the shelf,
/// counted under the material's lock.
pub async fn lend(
    tx: &mut PgConnection,
    by: &Caller,
    town: Uuid,
    material: Uuid,
    new: &NewLoan,
) -> Result<Loan, ApiError> {
    let today = crate::towns::repo::today(tx, town).await?;
    let m = repo::get(tx, town, material, true)
        .await?
        .ok_or(ApiError::NotFound)?;
    let valid = new.validate(today)?;
    if !repo::branch_exists(tx, town, valid.branch_id).await? {
        return Err(ApiError::invalid(
            "branch_id",
            "unknown_branch",
            msg!("本镇没有该支部。", "This town has no branch with this id."),
        ));
    }
    domain::check_available(&m, valid.copies)?;
    let id = repo::insert_loan(tx, town, material, &valid, &by.sub).await?;
    let data = json!({
        "material_id": material,
        "branch_id": valid.branch_id,
        "copies": valid.copies,
        "lent_on": valid.lent_on,
        "due_on": valid.due_on,
    });
    audit::record(
        tx,
        by,
        change(town, "material_loan.lent", "material_loan", id, data),
    )
    .await?;
    read_loan(tx, town, id).await
}

/// A loan as of the town's today.
pub async fn read_loan(conn: &mut PgConnection, town: Uuid, id: Uuid) -> Result<Loan, ApiError> {
    let today = crate::towns::repo::today(conn, town).await?;
    let loan = repo::get_loan(conn, town, id, false)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(loan.as_of(today))
}

/// Records the return of a loan (final).
pub async fn give_back(
    tx: &mut PgConnection,
    by: &Caller,
    town: Uuid,
    id: Uuid,
    if_match: IfMatch,
    body: &ReturnLoan,
) -> Result<Loan, ApiError> {
    let today = crate::towns::repo::today(tx, town).await?;
    let loan = repo::get_loan(tx, town, id, true)
        .await?
        .ok_or(ApiError::NotFound)?;
    let on = body.validate(&loan, today)?;
    if_match.check(loan.version)?;
    repo::return_loan(tx, town, id, on, &by.sub).await?;
    let data =
        json!({ "material_id": loan.material_id, "returned_on": on, "version": loan.version + 1 });
    audit::record(
        tx,
        by,
        change(town, "material_loan.returned", "material_loan", id, data),
    )
    .await?;
    read_loan(tx, town, id).await
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
