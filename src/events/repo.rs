//! The feed's one statement.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::PgPool;
use uuid::Uuid;

use super::domain::Position;
use crate::desk::domain::Viewer;
use crate::error::ApiError;

/// An audit row as the feed reads it.
pub struct Row {
    /// The committing transaction.
    pub tx: i64,
    /// The audit row.
    pub id: i64,
    /// What happened.
    pub action: String,
    /// The kind of resource.
    pub resource_type: String,
    /// Which one.
    pub resource_id: Uuid,
    /// When the change was recorded in the audit trail.
    pub occurred_at: DateTime<Utc>,
    /// Who (token subject).
    pub actor_sub: String,
    /// With which role.
    pub actor_role: String,
    /// The compact payload.
    pub data: Value,
}

/// The next `limit` events after `after` that `viewer` may see: the events of a
/// confidential (counselling) desk entry only for those who see the entry itself (its
/// author and the committee), so that not even its existence or its time shows.
pub async fn read(
    db: &PgPool,
    town: Uuid,
    after: Position,
    limit: i64,
    viewer: &Viewer,
) -> Result<Vec<Row>, ApiError> {
    Ok(sqlx::query_as!(
        Row,
        r#"SELECT tx_id::text::bigint AS "tx!", id, action, resource_type, resource_id, occurred_at,
                  actor_sub, actor_role, data
           FROM audit_log a
           WHERE town_id = $1
             AND (tx_id, id) > ($2::text::xid8, $3)
             AND tx_id < pg_snapshot_xmin(pg_current_snapshot())
             AND NOT (a.resource_type = 'desk_entry' AND NOT $5 AND EXISTS (
                 SELECT 1 FROM desk_entries d
                 WHERE d.town_id = a.town_id AND d.id = a.resource_id AND d.confidential
                   AND d.received_by IS DISTINCT FROM $6))
           ORDER BY tx_id, id
           LIMIT $4"#,
        town,
        after.0.to_string(),
        after.1,
        limit,
        viewer.sees_all_confidential(),
        viewer.confidential_author(),
    )
    .fetch_all(db)
    .await?)
}
