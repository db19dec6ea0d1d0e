//! Where reports read from: the read-only servers of `PARTY_CENTER_READ_DATABASE_URL`
//! (standbys), in order, and the primary when none answers. A standby that fails to hand
//! out a connection within [`STANDBY_WAIT`] is skipped for [`SKIP_FOR`], so a dead one
//! costs a report that long once, not on every request. What a standby answers lags the
//! primary by its replication delay (see the README's "Reads off the primary").

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use sqlx::PgPool;
use sqlx::postgres::PgConnectOptions;

use crate::config::Settings;

/// How long a report waits for a standby's connection before it reads from the primary.
pub const STANDBY_WAIT: Duration = Duration::from_secs(1);

/// How long a standby that did not answer is left out.
pub const SKIP_FOR: Duration = Duration::from_secs(10);

/// The pools a report may read from.
#[derive(Clone)]
pub struct Reads {
    primary: PgPool,
    standbys: Arc<[Standby]>,
    epoch: Instant,
}

struct Standby {
    pool: PgPool,
    /// Until when (milliseconds since `epoch`) this standby is left out; 0 when it is not.
    skip_until: AtomicU64,
}

impl Reads {
    /// Reads from `standbys` in order, then from `primary`.
    pub fn new(primary: PgPool, standbys: Vec<PgPool>) -> Reads {
        Reads {
            primary,
            standbys: standbys
                .into_iter()
                .map(|pool| Standby {
                    pool,
                    skip_until: AtomicU64::new(0),
                })
                .collect(),
            epoch: Instant::now(),
        }
    }

    /// Reads from the primary only.
    pub fn primary_only(primary: PgPool) -> Reads {
        Reads::new(primary, Vec::new())
    }

    /// The primary's pool.
    pub fn primary(&self) -> &PgPool {
        &self.primary
    }

    /// The pool to read from now: the first standby that hands out a connection, else
    /// the primary.
    pub async fn pool(&self) -> &PgPool {
        let now = self.epoch.elapsed().as_millis() as u64;
        for standby in self.standbys.iter() {
            if standby.skip_until.load(Ordering::Relaxed) > now {
                continue;
            }
            match tokio::time::timeout(STANDBY_WAIT, standby.pool.acquire()).await {
                // Back into the pool at once: the report acquires its own from it.
                Ok(Ok(_conn)) => return &standby.pool,
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, "a read-only server does not answer; reading from the next")
                }
                Err(_) => tracing::warn!(
                    "a read-only server did not answer in time; reading from the next"
                ),
            }
            let until = now + SKIP_FOR.as_millis() as u64;
            standby.skip_until.store(until, Ordering::Relaxed);
        }
        &self.primary
    }
}

/// A pool to one read-only server: small waits, so that a report falls back quickly, and
/// every connection checked as it is handed out (one round trip, small beside a report),
/// so that a report does not start on a server that has gone. With `standbys_only`
/// (`target_session_attrs=standby`, `read-only` or `prefer-standby`) the check also
/// refuses a server that accepts writes: after a failover the promoted standby is left
/// to the writes, and reports move to the next server of the list (or the primary).
pub fn standby_pool(settings: &Settings, options: PgConnectOptions, standbys_only: bool) -> PgPool {
    let pool = super::pool_options(settings).acquire_timeout(STANDBY_WAIT);
    if !standbys_only {
        return pool
            .test_before_acquire(true)
            .connect_lazy_with(super::session(settings, options));
    }
    pool.after_connect(|conn, _| {
        Box::pin(async move {
            if super::repo::accepts_writes(conn).await? {
                Err(sqlx::Error::Io(std::io::Error::other(
                    "the server accepts writes (a primary), not a standby",
                )))
            } else {
                Ok(())
            }
        })
    })
    .before_acquire(|conn, _| {
        Box::pin(async move { Ok(!super::repo::accepts_writes(conn).await?) })
    })
    .connect_lazy_with(super::session(settings, options))
}
