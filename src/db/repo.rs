//! The statements the plumbing itself sends: about the server (is it the primary, has
//! its standby everything), the migrations, the database, and a report's transaction.
//! The domains' SQL is in their own `repo.rs` files.

use sqlx::{PgConnection, PgExecutor};

/// Whether the server behind `conn` accepts writes: not a standby, and not read-only by
/// default (what libpq's `target_session_attrs=read-write` asks).
pub async fn accepts_writes<'c>(conn: impl PgExecutor<'c>) -> Result<bool, sqlx::Error> {
    let read_only: String = sqlx::query_scalar("SELECT current_setting('transaction_read_only')")
        .fetch_one(conn)
        .await?;
    Ok(read_only == "off")
}

/// What a server says about itself when the service looks for the primary.
pub struct ServerState {
    /// It accepts writes (see [`accepts_writes`]).
    pub writable: bool,
    /// The timeline it writes on (0 on a standby): a promoted standby's is newer than
    /// that of the primary it replaced.
    pub timeline: i64,
    /// `synchronous_standby_names` is set: it waits for a standby at every commit.
    pub wants_sync: bool,
    /// The service's role may read `pg_stat_replication`'s positions (`pg_monitor`).
    pub sees_replication: bool,
    /// How far it has flushed its WAL (an LSN as text; `None` on a standby).
    pub flushed: Option<String>,
}

/// Asks the server behind `conn` for its [`ServerState`], in one round trip.
pub async fn server_state(conn: &mut PgConnection) -> Result<ServerState, sqlx::Error> {
    let (writable, timeline, wants_sync, sees_replication, flushed) = sqlx::query_as(
        "SELECT current_setting('transaction_read_only') = 'off', \
                CASE WHEN pg_is_in_recovery() THEN 0 \
                     ELSE ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int::bigint END, \
                current_setting('synchronous_standby_names') <> '', \
                pg_has_role(current_user, 'pg_read_all_stats', 'USAGE'), \
                CASE WHEN pg_is_in_recovery() THEN NULL ELSE pg_current_wal_flush_lsn()::text END",
    )
    .fetch_one(conn)
    .await?;
    Ok(ServerState {
        writable,
        timeline,
        wants_sync,
        sees_replication,
        flushed,
    })
}

/// Whether a synchronous (or quorum) standby of the server behind `conn` has flushed its
/// WAL up to `lsn`.
pub async fn standby_has(conn: &mut PgConnection, lsn: &str) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT coalesce(bool_or(flush_lsn >= $1::pg_lsn), false) \
           FROM pg_stat_replication WHERE sync_state IN ('sync', 'quorum')",
    )
    .bind(lsn)
    .fetch_one(conn)
    .await
}

/// Whether database `name` exists.
pub async fn database_exists(conn: &mut PgConnection, name: &str) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
        .bind(name)
        .fetch_one(conn)
        .await
}

/// Creates database `name`, which must be the service's own constant (a database name
/// cannot be a bind parameter).
pub async fn create_database(conn: &mut PgConnection, name: &str) -> Result<(), sqlx::Error> {
    let sql = format!("CREATE DATABASE \"{name}\"");
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
        .execute(conn)
        .await
        .map(|_| ())
}

/// The newest migration applied successfully, if any.
pub async fn latest_migration<'c>(conn: impl PgExecutor<'c>) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar("SELECT max(version) FROM _sqlx_migrations WHERE success")
        .fetch_one(conn)
        .await
}

/// Makes the transaction on `conn` a report's: read-only, and its query may run up to 15
/// minutes (a large export to a slow client takes a while; ordinary statements keep the
/// service's short `statement_timeout`). Answers the backend's pid, to cancel the query
/// with [`cancel_backend`] if the report's reader goes away.
pub async fn begin_export(conn: &mut PgConnection) -> Result<i32, sqlx::Error> {
    sqlx::raw_sql("SET TRANSACTION READ ONLY; SET LOCAL statement_timeout = '15min'")
        .execute(&mut *conn)
        .await?;
    sqlx::query_scalar!(r#"SELECT pg_backend_pid() AS "pid!""#)
        .fetch_one(conn)
        .await
}

/// Cancels what backend `pid` is running.
pub async fn cancel_backend<'c>(conn: impl PgExecutor<'c>, pid: i32) -> Result<(), sqlx::Error> {
    sqlx::query_scalar!("SELECT pg_cancel_backend($1)", pid)
        .fetch_one(conn)
        .await
        .map(|_| ())
}
