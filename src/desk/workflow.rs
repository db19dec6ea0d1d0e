//! Each change to the desk register in the caller's transaction: registering a visit,
//! moving its handling along. The rules in order, the SQL through `repo`, the audit
//! record. No HTTP here.

use chrono::Utc;
use serde_json::json;
use sqlx::PgConnection;
use uuid::Uuid;

use super::domain::{DeskEntry, DeskEntryDetail, NewDeskEntry, StatusChange, Viewer};
use super::repo;
use crate::audit::{self, Change};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::http::extract::IfMatch;

/// Who the caller is as a reader of the register: what they may see of it.
pub fn viewer(caller: &Caller) -> Viewer {
    Viewer::new(caller.role, &caller.sub)
}

/// Registers a visit, received by the caller; it starts `registered`.
pub async fn register_visit(
    tx: &mut PgConnection,
    by: &Caller,
    town: Uuid,
    new: &NewDeskEntry,
) -> Result<DeskEntryDetail, ApiError> {
    let valid = new.validate(Utc::now())?;
    let entry = repo::insert(tx, town, Uuid::now_v7(), &valid, &by.sub).await?;
    let data = json!({ "status": entry.status, "version": entry.version });
    audit::record(
        tx,
        by,
        entry_change(town, "desk_entry.registered", entry.id, data),
    )
    .await?;
    detail(tx, &viewer(by), entry).await
}

/// An entry with its history, as the caller may see it; 404 for an entry they may not.
pub async fn read(
    conn: &mut PgConnection,
    by: &Caller,
    town: Uuid,
    id: Uuid,
) -> Result<DeskEntryDetail, ApiError> {
    let viewer = viewer(by);
    let entry = repo::get(conn, town, id, &viewer)
        .await?
        .ok_or(ApiError::NotFound)?;
    detail(conn, &viewer, entry).await
}

/// Moves an entry's handling along the register's state machine, kept in its history.
pub async fn change_status(
    tx: &mut PgConnection,
    by: &Caller,
    town: Uuid,
    id: Uuid,
    if_match: IfMatch,
    change: &StatusChange,
) -> Result<DeskEntryDetail, ApiError> {
    let viewer = viewer(by);
    let current = repo::lock(tx, town, id, &viewer)
        .await?
        .ok_or(ApiError::NotFound)?;
    let next = change.apply(&current.handling())?;
    if_match.check(current.version)?;
    let entry = repo::change_status(tx, town, id, &next, &by.sub).await?;
    let data = json!({ "from": current.status, "to": entry.status, "version": entry.version });
    audit::record(
        tx,
        by,
        entry_change(town, "desk_entry.status_changed", id, data),
    )
    .await?;
    detail(tx, &viewer, entry).await
}

/// The entry with its history, as `viewer` may see it.
async fn detail(
    conn: &mut PgConnection,
    viewer: &Viewer,
    entry: DeskEntry,
) -> Result<DeskEntryDetail, ApiError> {
    let history = repo::history(conn, entry.town_id, entry.id).await?;
    Ok(DeskEntryDetail {
        entry: viewer.present(entry),
        history,
    })
}

fn entry_change(town: Uuid, action: &'static str, id: Uuid, data: serde_json::Value) -> Change {
    Change {
        town_id: town,
        action,
        resource_type: "desk_entry",
        resource_id: id,
        data,
    }
}
