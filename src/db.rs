//! The database: the configured server (`DATABASE_URL`) or, without one, a private
//! PostgreSQL that the service starts itself from the installed binaries and keeps
//! running (restarted when it dies; see [`crate::pg::Supervisor`]).

use std::str::FromStr;
use std::time::Duration;

use anyhow::Context;
use secrecy::ExposeSecret;
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, Connection, PgPool};

use crate::config::Settings;
use crate::pg::{Cluster, ClusterOptions, Durability, RestartPolicy, Supervisor};

/// The migrations in `migrations/`, compiled into the binary.
pub static MIGRATOR: Migrator = sqlx::migrate!();

/// The name of the service's database in the embedded cluster.
pub const EMBEDDED_DB: &str = "party_center";

/// A running database: the pool, and the embedded cluster when the service owns one.
pub struct Database {
    /// The connection pool.
    pub pool: PgPool,
    /// The embedded PostgreSQL under its supervisor, stopped when this is dropped or [`Database::stop`]ped.
    pub embedded: Option<Supervisor>,
}

impl Database {
    /// Connects to `DATABASE_URL`, or starts the embedded cluster (blocking: call it
    /// before serving) and supervises it: if it cannot be restarted, the service is
    /// shut down as on SIGTERM and [`Database::stop`] reports why.
    pub async fn open(settings: &Settings) -> anyhow::Result<Database> {
        let (options, embedded) = match &settings.database_url {
            Some(url) => {
                let options = PgConnectOptions::from_str(url.expose_secret())
                    .context("DATABASE_URL is not a valid PostgreSQL URL")?;
                first_contact(&options, settings.db_acquire_timeout).await?;
                (options, None)
            }
            None => {
                let bindir = crate::pg::find_bindir(settings.pg_bindir.as_deref())?;
                let cluster = Cluster::start(ClusterOptions {
                    bindir,
                    data_dir: settings.data_dir_abs()?,
                    durability: Durability::Durable,
                    max_connections: 100,
                    die_with_parent: true,
                })?;
                let admin = PgConnectOptions::new()
                    .socket(cluster.socket_dir())
                    .username("postgres")
                    .database("postgres");
                let supervisor =
                    Supervisor::watch(cluster, RestartPolicy::default(), shut_the_service_down)?;
                create_database_if_missing(&admin, EMBEDDED_DB).await?;
                (admin.database(EMBEDDED_DB), Some(supervisor))
            }
        };
        let pool = pool(settings, options);
        Ok(Database { pool, embedded })
    }

    /// Closes the pool and stops the embedded cluster, if any; an error also when its
    /// supervisor gave up on it, so that the process exits non-zero.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        self.pool.close().await;
        if let Some(mut supervisor) = self.embedded.take() {
            tokio::task::spawn_blocking(move || supervisor.stop())
                .await
                .context("stopping the embedded PostgreSQL panicked")??;
        }
        Ok(())
    }
}

/// How long a pooled connection may sit idle before it is checked when handed out.
const IDLE_CHECK_AFTER: Duration = Duration::from_secs(5);

/// What the service does when the embedded PostgreSQL cannot be restarted: shut down
/// the way SIGTERM does (readiness 503, drain, stop), after which [`Database::stop`]
/// returns the supervisor's reason, `main` exits 1 and an outer supervisor (systemd,
/// an orchestrator) can restart the whole service.
fn shut_the_service_down() {
    tracing::error!("the embedded PostgreSQL cannot be restarted; shutting the service down");
    // SAFETY: kill(2) on our own pid touches no memory of ours.
    unsafe {
        libc::kill(std::process::id() as libc::pid_t, libc::SIGTERM);
    }
}

/// A lazily connecting pool: requests wait at most `db_acquire_timeout` for a connection
/// (then 503), and every statement is cut off after `db_statement_timeout`.
pub fn pool(settings: &Settings, options: PgConnectOptions) -> PgPool {
    let timeout = format!("{}ms", settings.db_statement_timeout.as_millis());
    let options = options
        .application_name("party-center")
        .options([
            ("statement_timeout", timeout.as_str()),
            ("lock_timeout", "5s"),
        ])
        .log_slow_statements(tracing::log::LevelFilter::Warn, Duration::from_secs(1));
    PgPoolOptions::new()
        .max_connections(settings.db_max_connections)
        .acquire_timeout(settings.db_acquire_timeout)
        // sqlx pings every connection it hands out, by default: a round trip per request
        // (and it pings again on release). Only a connection that sat idle for a while is
        // checked; a busy one was just proven alive by its last use and release, and a
        // broken one that slips through fails its statement with a 503 and is dropped.
        .test_before_acquire(false)
        .before_acquire(|conn, meta| {
            Box::pin(async move {
                if meta.idle_for > IDLE_CHECK_AFTER {
                    sqlx::Connection::ping(conn).await?;
                }
                Ok(true)
            })
        })
        .connect_lazy_with(options)
}

/// Creates database `name` unless it exists.
pub async fn create_database_if_missing(
    admin: &PgConnectOptions,
    name: &str,
) -> anyhow::Result<()> {
    let mut conn = admin
        .connect()
        .await
        .context("cannot connect to the embedded PostgreSQL")?;
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
            .bind(name)
            .fetch_one(&mut conn)
            .await?;
    if !exists {
        // A database name cannot be a bind parameter; `name` is our own constant.
        let sql = format!("CREATE DATABASE \"{name}\"");
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
            .execute(&mut conn)
            .await
            .with_context(|| format!("cannot create database {name}"))?;
    }
    conn.close().await?;
    Ok(())
}

/// Connects once to the server `DATABASE_URL` names, so that a wrong URL is reported
/// for what it is (nothing listens there, the login is refused, the database does not
/// exist), once, rather than as a pool that timed out. The password is never shown.
async fn first_contact(options: &PgConnectOptions, within: Duration) -> anyhow::Result<()> {
    let target = format!(
        "{}@{}:{}/{}",
        options.get_username(),
        options.get_host(),
        options.get_port(),
        options.get_database().unwrap_or(options.get_username()),
    );
    match tokio::time::timeout(within, sqlx::PgConnection::connect_with(options)).await {
        Ok(Ok(conn)) => {
            let _ = conn.close().await;
            Ok(())
        }
        Ok(Err(e)) => Err(anyhow::anyhow!(explain_connect_error(&e, &target))),
        Err(_) => Err(anyhow::anyhow!(
            "PostgreSQL at {target} (DATABASE_URL) did not answer within {} s",
            within.as_secs_f32()
        )),
    }
}

/// What a failed first connection means, in words an operator acts on.
fn explain_connect_error(e: &sqlx::Error, target: &str) -> String {
    match e {
        sqlx::Error::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused => format!(
            "cannot connect to PostgreSQL at {target} (DATABASE_URL): connection refused; is it running and listening on that host and port?"
        ),
        sqlx::Error::Io(io) => {
            format!("cannot connect to PostgreSQL at {target} (DATABASE_URL): {io}")
        }
        sqlx::Error::Database(db) => match db.code().as_deref() {
            Some("28P01" | "28000") => format!(
                "PostgreSQL at {target} (DATABASE_URL) refused the login: authentication failed; check the user and password"
            ),
            Some("3D000") => format!(
                "PostgreSQL at {target} (DATABASE_URL) has no such database; create it (createdb) or fix its name"
            ),
            _ => format!(
                "PostgreSQL at {target} (DATABASE_URL) refused the connection: {}",
                db.message()
            ),
        },
        sqlx::Error::Tls(tls) => {
            format!("TLS with PostgreSQL at {target} (DATABASE_URL) failed: {tls}")
        }
        other => format!("cannot connect to PostgreSQL at {target} (DATABASE_URL): {other}"),
    }
}

/// Applies pending migrations.
pub async fn migrate(pool: &PgPool) -> anyhow::Result<()> {
    MIGRATOR
        .run(pool)
        .await
        .context("applying migrations failed")?;
    Ok(())
}

/// Whether the database answers and every migration this binary knows is applied.
pub async fn ready(pool: &PgPool) -> bool {
    let latest = MIGRATOR.iter().map(|m| m.version).max().unwrap_or(0);
    let check = sqlx::query_scalar::<_, Option<i64>>(
        "SELECT max(version) FROM _sqlx_migrations WHERE success",
    )
    .fetch_one(pool);
    matches!(
        tokio::time::timeout(Duration::from_secs(2), check).await,
        Ok(Ok(Some(v))) if v >= latest
    )
}
