//! SQL for towns. Functions take a connection so they run inside the caller's transaction.

use sqlx::PgConnection;
use uuid::Uuid;

use super::domain::{Town, TownPatch, ValidTown};
use crate::error::ApiError;
use crate::http::paging::Keyset;
use crate::types::TimeZoneName;

/// Which towns a list may show.
#[derive(Debug, Clone)]
pub enum Visible {
    /// Every town (admin).
    All,
    /// The towns of one county (county).
    County(String),
    /// One town (the caller's own).
    One(Uuid),
}

/// Inserts a town.
pub async fn insert(conn: &mut PgConnection, id: Uuid, town: &ValidTown) -> Result<Town, ApiError> {
    Ok(sqlx::query_as!(
        Town,
        "INSERT INTO towns (id, code, name, county_code, time_zone) VALUES ($1, $2, $3, $4, $5)
         RETURNING id, code, name, county_code, time_zone, created_at, updated_at, version",
        id,
        town.code,
        town.name,
        town.county_code,
        town.time_zone.as_str(),
    )
    .fetch_one(conn)
    .await?)
}

/// One town by id.
pub async fn get(conn: &mut PgConnection, id: Uuid) -> Result<Option<Town>, ApiError> {
    Ok(sqlx::query_as!(
        Town,
        "SELECT id, code, name, county_code, time_zone, created_at, updated_at, version
         FROM towns WHERE id = $1",
        id
    )
    .fetch_optional(conn)
    .await?)
}

/// A page of the towns the caller may see, in id order.
pub async fn list(
    conn: &mut PgConnection,
    visible: &Visible,
    page: Keyset,
) -> Result<Vec<Town>, ApiError> {
    let (county, one) = match visible {
        Visible::All => (None, None),
        Visible::County(c) => (Some(c.as_str()), None),
        Visible::One(id) => (None, Some(*id)),
    };
    Ok(sqlx::query_as!(
        Town,
        "SELECT id, code, name, county_code, time_zone, created_at, updated_at, version
         FROM towns
         WHERE id > $1 AND ($2::text IS NULL OR county_code = $2) AND ($3::uuid IS NULL OR id = $3)
         ORDER BY id LIMIT $4",
        page.after_or_nil(),
        county,
        one,
        page.fetch(),
    )
    .fetch_all(conn)
    .await?)
}

/// Applies a checked patch if the town is still at `version` (any, for `None`); 412 when
/// it moved on.
pub async fn update(
    conn: &mut PgConnection,
    id: Uuid,
    version: Option<i64>,
    patch: &TownPatch,
) -> Result<Town, ApiError> {
    let updated = sqlx::query_as!(
        Town,
        "UPDATE towns SET
             name = COALESCE($3, name),
             county_code = COALESCE($4, county_code),
             time_zone = COALESCE($5, time_zone),
             version = version + 1,
             updated_at = now()
         WHERE id = $1 AND ($2::bigint IS NULL OR version = $2)
         RETURNING id, code, name, county_code, time_zone, created_at, updated_at, version",
        id,
        version,
        patch.name,
        patch.county_code,
        patch.time_zone.as_ref().map(TimeZoneName::as_str),
    )
    .fetch_optional(&mut *conn)
    .await?;
    match updated {
        Some(town) => Ok(town),
        None if get(conn, id).await?.is_some() => Err(ApiError::PreconditionFailed),
        None => Err(ApiError::NotFound),
    }
}

/// Today's date in the town's time zone: what "today" means for its calendar dates. The
/// database tells it (as of the transaction's start), as the statements that read "today"
/// themselves do (`towns_time_zone_known` keeps every stored zone one it knows).
pub async fn today(conn: &mut PgConnection, id: Uuid) -> Result<chrono::NaiveDate, ApiError> {
    sqlx::query_scalar!(
        r#"SELECT (now() AT TIME ZONE time_zone)::date AS "today!" FROM towns WHERE id = $1"#,
        id
    )
    .fetch_optional(conn)
    .await?
    .ok_or(ApiError::NotFound)
}

/// The town's time zone (404 for no such town).
pub async fn zone(conn: &mut PgConnection, id: Uuid) -> Result<chrono_tz::Tz, ApiError> {
    let zone = sqlx::query_scalar!("SELECT time_zone FROM towns WHERE id = $1", id)
        .fetch_optional(conn)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(zone.parse().unwrap_or(chrono_tz::Asia::Shanghai))
}

/// Whether the town exists.
pub async fn exists(db: &sqlx::PgPool, town: Uuid) -> Result<bool, ApiError> {
    Ok(sqlx::query_scalar!(
        "SELECT EXISTS (SELECT 1 FROM towns WHERE id = $1) AS \"e!\"",
        town
    )
    .fetch_one(db)
    .await?)
}

/// Whether the town exists and belongs to the county `county`.
pub async fn is_in_county(db: &sqlx::PgPool, town: Uuid, county: &str) -> Result<bool, ApiError> {
    Ok(sqlx::query_scalar!(
        "SELECT EXISTS (SELECT 1 FROM towns WHERE id = $1 AND county_code = $2) AS \"e!\"",
        town,
        county
    )
    .fetch_one(db)
    .await?)
}
