//! The audit trail's statements: appends (one, or many with one statement) and the read.

use serde_json::Value;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::{AuditEntry, AuditQuery, Change};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::http::paging::Keyset;

/// Appends one change in the caller's transaction.
pub async fn insert(
    conn: &mut PgConnection,
    caller: &Caller,
    change: &Change,
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

/// Appends many changes of one kind of resource with one statement, in order.
pub async fn insert_many(
    conn: &mut PgConnection,
    caller: &Caller,
    town: Uuid,
    resource_type: &str,
    actions: &[String],
    resource_ids: &[Uuid],
    data: &[Value],
) -> Result<(), ApiError> {
    sqlx::query!(
        "INSERT INTO audit_log (town_id, actor_sub, actor_role, request_id, action, resource_type, resource_id, data)
         SELECT $1, $2, $3, $4, a.action, $5, a.resource_id, a.data
         FROM UNNEST($6::text[], $7::uuid[], $8::jsonb[]) WITH ORDINALITY AS a(action, resource_id, data, n)
         ORDER BY a.n",
        town,
        caller.sub,
        caller.role.as_str(),
        caller.request_id.as_deref(),
        resource_type,
        actions,
        resource_ids,
        data,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// A page of the town's trail, newest first, filtered by `query`.
pub async fn page(
    db: &PgPool,
    town: Uuid,
    query: &AuditQuery,
    keyset: &Keyset<i64>,
) -> Result<Vec<AuditEntry>, ApiError> {
    Ok(sqlx::query_as!(
        AuditEntry,
        "SELECT id, occurred_at, actor_sub, actor_role, request_id, action, resource_type, resource_id, data
         FROM audit_log
         WHERE town_id = $1 AND id < $2
           AND ($3::text IS NULL OR resource_type = $3)
           AND ($4::uuid IS NULL OR resource_id = $4)
           AND ($5::text IS NULL OR actor_sub = $5)
           AND ($6::timestamptz IS NULL OR occurred_at >= $6)
           AND ($7::timestamptz IS NULL OR occurred_at < $7)
         ORDER BY id DESC LIMIT $8",
        town,
        keyset.before_or_max(),
        query.resource_type.as_deref(),
        query.resource_id,
        query.actor.as_deref(),
        query.from,
        query.to,
        keyset.fetch(),
    )
    .fetch_all(db)
    .await?)
}
