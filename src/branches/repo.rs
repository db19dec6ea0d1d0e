//! SQL for branches. Functions take a connection so they run inside the caller's transaction.

use sqlx::PgConnection;
use uuid::Uuid;

use super::domain::{Branch, BranchKind, BranchPatch};
use crate::error::ApiError;
use crate::http::paging::Keyset;

/// Inserts a branch.
pub async fn insert(
    conn: &mut PgConnection,
    town: Uuid,
    id: Uuid,
    name: &str,
    kind: BranchKind,
) -> Result<Branch, ApiError> {
    Ok(sqlx::query_as!(
        Branch,
        r#"INSERT INTO branches (town_id, id, name, kind) VALUES ($1, $2, $3, $4)
           RETURNING id, town_id, name, kind AS "kind: BranchKind", created_at, updated_at, version"#,
        town,
        id,
        name,
        kind.as_str(),
    )
    .fetch_one(conn)
    .await?)
}

/// One branch of a town.
pub async fn get(
    conn: &mut PgConnection,
    town: Uuid,
    id: Uuid,
) -> Result<Option<Branch>, ApiError> {
    Ok(sqlx::query_as!(
        Branch,
        r#"SELECT id, town_id, name, kind AS "kind: BranchKind", created_at, updated_at, version
           FROM branches WHERE town_id = $1 AND id = $2"#,
        town,
        id
    )
    .fetch_optional(conn)
    .await?)
}

/// A page of a town's branches, optionally of one kind, in id order.
pub async fn list(
    conn: &mut PgConnection,
    town: Uuid,
    kind: Option<BranchKind>,
    page: Keyset,
) -> Result<Vec<Branch>, ApiError> {
    Ok(sqlx::query_as!(
        Branch,
        r#"SELECT id, town_id, name, kind AS "kind: BranchKind", created_at, updated_at, version
           FROM branches
           WHERE town_id = $1 AND id > $2 AND ($3::text IS NULL OR kind = $3)
           ORDER BY id LIMIT $4"#,
        town,
        page.after_or_nil(),
        kind.map(BranchKind::as_str),
        page.fetch(),
    )
    .fetch_all(conn)
    .await?)
}

/// Applies a checked patch if the branch is still at `version` (any, for `None`); 412
/// when it moved on.
pub async fn update(
    conn: &mut PgConnection,
    town: Uuid,
    id: Uuid,
    version: Option<i64>,
    patch: &BranchPatch,
) -> Result<Branch, ApiError> {
    let updated = sqlx::query_as!(
        Branch,
        r#"UPDATE branches SET
               name = COALESCE($4, name),
               kind = COALESCE($5, kind),
               version = version + 1,
               updated_at = now()
           WHERE town_id = $1 AND id = $2 AND ($3::bigint IS NULL OR version = $3)
           RETURNING id, town_id, name, kind AS "kind: BranchKind", created_at, updated_at, version"#,
        town,
        id,
        version,
        patch.name,
        patch.kind.map(BranchKind::as_str),
    )
    .fetch_optional(&mut *conn)
    .await?;
    match updated {
        Some(branch) => Ok(branch),
        None if get(conn, town, id).await?.is_some() => Err(ApiError::PreconditionFailed),
        None => Err(ApiError::NotFound),
    }
}
