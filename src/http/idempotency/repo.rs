//! The SQL of the idempotency records.

use sqlx::PgConnection;

use super::{Answer, Record};
use crate::error::ApiError;

/// What is stored under a claimed key.
pub struct Stored {
    /// The fingerprint of the request that claimed the key.
    pub request_hash: Vec<u8>,
    /// The answer's status, once the claiming transaction committed.
    pub response_status: Option<i16>,
    /// The stored JSON body replayed for a repeat; set with the status.
    pub response_body: Option<serde_json::Value>,
    /// The stored `ETag` header replayed for a repeat, when the answer had one.
    pub response_etag: Option<String>,
    /// The stored `Location` header replayed for a repeat, when the answer had one.
    pub response_location: Option<String>,
}

/// Inserts the key; `false` when it was claimed before (the insert then waits for a
/// concurrent claim's transaction to end).
pub async fn claim(conn: &mut PgConnection, at: &Record, hash: &[u8]) -> Result<bool, ApiError> {
    let inserted = sqlx::query!(
        "INSERT INTO idempotency_keys (scope, key, request_hash) VALUES ($1, $2, $3)
         ON CONFLICT (scope, key) DO NOTHING",
        at.scope,
        at.key,
        hash
    )
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(inserted == 1)
}

/// The record of a key claimed before.
pub async fn stored(conn: &mut PgConnection, at: &Record) -> Result<Stored, ApiError> {
    Ok(sqlx::query_as!(
        Stored,
        "SELECT request_hash, response_status, response_body, response_etag, response_location
         FROM idempotency_keys WHERE scope = $1 AND key = $2",
        at.scope,
        at.key
    )
    .fetch_one(&mut *conn)
    .await?)
}

/// Stores the answer under the key, in the transaction of the work. The ledger's
/// `insert_entries` sets the same columns in its own statement.
pub async fn store(conn: &mut PgConnection, at: &Record, answer: &Answer) -> Result<(), ApiError> {
    sqlx::query!(
        "UPDATE idempotency_keys
                     SET response_status = $3, response_body = $4, response_etag = $5, response_location = $6
                     WHERE scope = $1 AND key = $2",
        at.scope,
        at.key,
        answer.status.as_u16() as i16,
        answer.body,
        answer.etag,
        answer.location,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Deletes idempotency records older than `max_age`; run periodically by `serve`.
pub async fn purge_expired(
    db: &sqlx::PgPool,
    max_age: std::time::Duration,
) -> Result<u64, sqlx::Error> {
    let secs = max_age.as_secs_f64();
    Ok(sqlx::query!(
        "DELETE FROM idempotency_keys WHERE created_at < now() - make_interval(secs => $1)",
        secs
    )
    .execute(db)
    .await?
    .rows_affected())
}
