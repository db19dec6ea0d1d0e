//! Each change to a town in the caller's transaction, with its audit record. No HTTP
//! here.

use serde_json::json;
use sqlx::PgConnection;
use uuid::Uuid;

use super::domain::{NewTown, Town, TownPatch};
use super::repo;
use crate::audit::{self, Change};
use crate::auth::Caller;
use crate::branches::domain::BranchKind;
use crate::error::ApiError;
use crate::http::extract::IfMatch;

/// Creates a town with its center branch and version 1 of its policy; the database
/// refuses a town without either at commit.
pub async fn create_town(
    tx: &mut PgConnection,
    by: &Caller,
    new: &NewTown,
) -> Result<Town, ApiError> {
    let valid = new.validate()?;
    let town = repo::insert(tx, Uuid::now_v7(), &valid).await?;
    let center = crate::branches::repo::insert(
        tx,
        town.id,
        Uuid::now_v7(),
        &valid.center_branch_name,
        BranchKind::Center,
    )
    .await?;
    crate::policy::create_initial(tx, town.id, &by.sub).await?;
    let data = json!({ "code": town.code, "county_code": town.county_code, "center_branch_id": center.id });
    audit::record(tx, by, town_change(town.id, "town.created", data)).await?;
    Ok(town)
}

/// Changes a town's name, county or time zone.
pub async fn update_town(
    tx: &mut PgConnection,
    by: &Caller,
    town: Uuid,
    if_match: IfMatch,
    patch: &TownPatch,
) -> Result<Town, ApiError> {
    let valid = patch.validate()?;
    let updated = repo::update(tx, town, if_match.version(), &valid).await?;
    let data = json!({ "version": updated.version, "fields": changed_fields(&valid) });
    audit::record(tx, by, town_change(town, "town.updated", data)).await?;
    Ok(updated)
}

fn changed_fields(patch: &TownPatch) -> Vec<&'static str> {
    [
        ("name", patch.name.is_some()),
        ("county_code", patch.county_code.is_some()),
        ("time_zone", patch.time_zone.is_some()),
    ]
    .into_iter()
    .filter_map(|(name, set)| set.then_some(name))
    .collect()
}

fn town_change(town: Uuid, action: &'static str, data: serde_json::Value) -> Change {
    Change {
        town_id: town,
        action,
        resource_type: "town",
        resource_id: town,
        data,
    }
}
