//! The database: the configured server (`DATABASE_URL`) or, without one, a private
//! PostgreSQL that the service starts itself from the installed binaries and keeps
//! running (restarted when it dies; see [`crate::pg::Supervisor`]). A `DATABASE_URL` may
//! name several servers, a primary and its standbys: the service then follows the primary
//! ([`primary`]); `PARTY_CENTER_READ_DATABASE_URL` may name standbys for reports ([`Reads`]).

pub mod primary;
pub mod reads;
pub mod repo;
pub mod targets;

use std::time::Duration;

use anyhow::Context;
use secrecy::ExposeSecret;
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, Connection, PgPool};

use self::primary::Primary;
pub use self::reads::Reads;
use self::targets::{SessionAttrs, Targets};
use crate::config::Settings;
use crate::pg::{Cluster, ClusterOptions, Durability, RestartPolicy, Supervisor};

/// The migrations in `migrations/`, compiled into the binary.
pub static MIGRATOR: Migrator = sqlx::migrate!();

/// The name of the service's database in the embedded cluster.
pub const EMBEDDED_DB: &str = "party_center";

/// A running database: the pool, and the embedded cluster when the service owns one.
pub struct Database {
    /// The connection pool (to the primary).
    pub pool: PgPool,
    /// Pools to the read-only servers of `PARTY_CENTER_READ_DATABASE_URL`, in order.
    pub standbys: Vec<PgPool>,
    /// The embedded PostgreSQL under its supervisor, stopped when this is dropped or [`Database::stop`]ped.
    pub embedded: Option<Supervisor>,
}

impl Database {
    /// Connects to `DATABASE_URL`, or starts the embedded cluster (blocking: call it
    /// before serving) and supervises it: if it cannot be restarted, the service is
    /// shut down as on SIGTERM and [`Database::stop`] reports why.
    pub async fn open(settings: &Settings) -> anyhow::Result<Database> {
        let (pool, embedded) = match &settings.database_url {
            Some(url) => {
                let targets = Targets::parse(url.expose_secret())
                    .map_err(|e| anyhow::anyhow!("DATABASE_URL is {e}"))?;
                if matches!(
                    targets.attrs,
                    Some(SessionAttrs::Any | SessionAttrs::ReadOnly)
                ) {
                    anyhow::bail!(
                        "DATABASE_URL must reach the primary: its target_session_attrs may only be read-write or primary (standbys go in PARTY_CENTER_READ_DATABASE_URL)"
                    );
                }
                if let [options] = &targets.nodes[..] {
                    first_contact(options, settings.db_acquire_timeout).await?;
                    (pool(settings, options.clone()), None)
                } else {
                    (follow_primary(settings, targets.nodes).await?, None)
                }
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
                (
                    pool(settings, admin.database(EMBEDDED_DB)),
                    Some(supervisor),
                )
            }
        };
        let standbys = match &settings.read_database_url {
            Some(url) => {
                let targets = Targets::parse(url.expose_secret())
                    .map_err(|e| anyhow::anyhow!("PARTY_CENTER_READ_DATABASE_URL is {e}"))?;
                let standbys_only = targets.attrs == Some(SessionAttrs::ReadOnly);
                targets
                    .nodes
                    .into_iter()
                    .map(|options| reads::standby_pool(settings, options, standbys_only))
                    .collect()
            }
            None => Vec::new(),
        };
        Ok(Database {
            pool,
            standbys,
            embedded,
        })
    }

    /// The pools reports read from: the standbys first, then the primary.
    pub fn reads(&self) -> Reads {
        Reads::new(self.pool.clone(), self.standbys.clone())
    }

    /// Closes the pool and stops the embedded cluster, if any; an error also when its
    /// supervisor gave up on it, so that the process exits non-zero.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        for standby in &self.standbys {
            standby.close().await;
        }
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
    pool_options(settings)
        .before_acquire(|conn, meta| Box::pin(still_alive(conn, meta)))
        .connect_lazy_with(session(settings, options))
}

/// Whether a pooled connection may be handed out: one that sat idle for a while is
/// pinged first (see [`pool_options`]); a busy one is taken as it is.
async fn still_alive(
    conn: &mut sqlx::PgConnection,
    meta: sqlx::pool::PoolConnectionMetadata,
) -> Result<bool, sqlx::Error> {
    if meta.idle_for > IDLE_CHECK_AFTER {
        sqlx::Connection::ping(conn).await?;
    }
    Ok(true)
}

/// The session settings of every connection: its name in `pg_stat_activity`, the
/// statement and lock timeouts, slow statements logged.
pub(crate) fn session(settings: &Settings, options: PgConnectOptions) -> PgConnectOptions {
    let timeout = format!("{}ms", settings.db_statement_timeout.as_millis());
    options
        .application_name("party-center")
        .options([
            ("statement_timeout", timeout.as_str()),
            ("lock_timeout", "5s"),
        ])
        .log_slow_statements(tracing::log::LevelFilter::Warn, Duration::from_secs(1))
}

/// The pool's size and timeouts.
pub(crate) fn pool_options(settings: &Settings) -> PgPoolOptions {
    PgPoolOptions::new()
        .max_connections(settings.db_max_connections)
        .acquire_timeout(settings.db_acquire_timeout)
        // sqlx pings every connection it hands out, by default: a round trip per request
        // (and it pings again on release). Only a connection that sat idle for a while is
        // checked (see `still_alive`); a busy one was just proven alive by its last use
        // and release, and a broken one that slips through fails its statement with a 503
        // and is dropped.
        .test_before_acquire(false)
}

/// A pool that follows the primary among `nodes`: found now (or an error naming how
/// many servers answered), watched from then on. A connection that turns out to lead to
/// a read-only server is refused (the pool tries again, within its acquire timeout, at
/// wherever the watcher then points), and one opened before a switch is not handed out.
async fn follow_primary(
    settings: &Settings,
    nodes: Vec<PgConnectOptions>,
) -> anyhow::Result<PgPool> {
    let n = nodes.len();
    let nodes = nodes.into_iter().map(|o| session(settings, o)).collect();
    let primary = Primary::new(nodes);
    let deadline =
        tokio::time::Instant::now() + settings.db_acquire_timeout.max(Duration::from_secs(10));
    let found = loop {
        if let Some(i) = primary.find().await {
            break i;
        }
        if tokio::time::Instant::now() >= deadline {
            anyhow::bail!(
                "none of the {n} servers in DATABASE_URL accepts writes (down, or all standbys); is the primary up?"
            );
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    primary.switch_to(found);
    let (on_connect, on_acquire) = (primary.clone(), primary.clone());
    let pool = pool_options(settings)
        .after_connect(move |conn, _| {
            let primary = on_connect.clone();
            Box::pin(async move {
                if !primary.confirmed() {
                    return Err(sqlx::Error::Io(std::io::Error::other(
                        "looking for the primary",
                    )));
                }
                if repo::accepts_writes(conn).await? {
                    Ok(())
                } else {
                    primary.suspect();
                    Err(sqlx::Error::Io(std::io::Error::other(
                        "the server is read-only (a standby); looking for the primary",
                    )))
                }
            })
        })
        .before_acquire(move |conn, meta| {
            let primary = on_acquire.clone();
            Box::pin(async move {
                if primary.predates_switch(meta.age) {
                    return Ok(false);
                }
                still_alive(conn, meta).await
            })
        })
        .connect_lazy_with(primary.options());
    primary.follow(&pool);
    primary.watch();
    tracing::info!(
        servers = n,
        "following the primary among the servers of DATABASE_URL"
    );
    Ok(pool)
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
    if !repo::database_exists(&mut conn, name).await? {
        repo::create_database(&mut conn, name)
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
    let check = repo::latest_migration(pool);
    matches!(
        tokio::time::timeout(Duration::from_secs(2), check).await,
        Ok(Ok(Some(v))) if v >= latest
    )
}
