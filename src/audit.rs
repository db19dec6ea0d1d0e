//! The audit trail: who did what, when, with which request. Written in the same
//! transaction as the change it describes, so the two can never disagree; the table is
//! append-only in the database itself (see the foundation migration).

use serde_json::Value;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::auth::Caller;
use crate::error::ApiError;

/// One change, as recorded.
#[derive(Debug, Clone)]
pub struct Change {
    /// The town the change belongs to.
    pub town_id: Uuid,
    /// What happened, as `<resource>.<verb>`, e.g. `branch.created`.
    pub action: &'static str,
    /// The kind of resource, e.g. `branch`.
    pub resource_type: &'static str,
    /// The resource's id.
    pub resource_id: Uuid,
    /// A compact description of the change: ids, states, versions; never personal data.
    pub data: Value,
}

/// Appends `change` to the trail inside the caller's transaction.
pub async fn record(
    conn: &mut PgConnection,
    caller: &Caller,
    change: Change,
) -> Result<(), ApiError> {
    sqlx::query!(
        "INSERT INTO audit_log (town_id, actor_sub, actor_role, request_id, action, resource_type, resource_id, data)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        change.town_id,
        caller.sub,
        caller.role.as_str(),
        caller.request_id.as_deref(),
        change.action,
        change.resource_type,
        change.resource_id,
        change.data,
    )
    .execute(conn)
    .await?;
    Ok(())
}
