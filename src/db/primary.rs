//! Following the primary among several servers (a primary and its standbys under an HA
//! engine such as pg_auto_failover or Patroni). A watcher keeps one connection to the
//! server it believes is the primary and asks it every [`CHECK_EVERY`] whether it still
//! accepts writes; when it does not answer or has become read-only, the watcher asks
//! every server of the list, points every pool that follows it at the one that may be
//! followed (it accepts writes and its commits are on its synchronous standby; the newest
//! timeline wins, see [`Primary::find`]), and makes those pools discard the connections
//! they opened before the switch. A pool that opens a connection to a read-only server
//! drops it and wakes the watcher at once.
//! During the switch requests answer 503 with `Retry-After` (no connection within the
//! acquire timeout), never 500.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::{ConnectOptions, Connection, PgPool};
use tokio::sync::Notify;

use super::repo::{self, ServerState};

/// How often the watcher asks the current server whether it is still the primary.
pub const CHECK_EVERY: Duration = Duration::from_secs(1);

/// How long one server may take to answer the watcher's question.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// How long a candidate primary's synchronous standby may take to confirm that it has
/// everything the candidate committed.
const REPLICATED_WAIT: Duration = Duration::from_secs(1);

/// The servers of a multi-host `DATABASE_URL` and which of them is the primary.
pub struct Primary {
    nodes: Vec<PgConnectOptions>,
    current: AtomicUsize,
    /// Whether `current` passed the watcher's last look; false from the moment it failed
    /// one until a server is chosen again.
    confirmed: AtomicBool,
    /// When the pools last switched server, in milliseconds since `epoch`.
    switched_at: AtomicU64,
    epoch: Instant,
    pools: Mutex<Vec<PgPool>>,
    wake: Notify,
}

impl Primary {
    /// A watcher over `nodes` (at least one), starting with the first.
    pub fn new(nodes: Vec<PgConnectOptions>) -> Arc<Primary> {
        assert!(!nodes.is_empty(), "a primary among no servers");
        Arc::new(Primary {
            nodes,
            current: AtomicUsize::new(0),
            confirmed: AtomicBool::new(false),
            switched_at: AtomicU64::new(0),
            epoch: Instant::now(),
            pools: Mutex::new(Vec::new()),
            wake: Notify::new(),
        })
    }

    /// The connect options of the server believed to be the primary.
    pub fn options(&self) -> PgConnectOptions {
        self.nodes[self.current.load(Ordering::Acquire)].clone()
    }

    /// `host:port` (or the socket folder) of server `i`, for logs; never the password.
    fn name(&self, i: usize) -> String {
        let n = &self.nodes[i];
        match n.get_socket() {
            Some(dir) => format!("{}:{}", dir.display(), n.get_port()),
            None => format!("{}:{}", n.get_host(), n.get_port()),
        }
    }

    /// Points `pool` at the primary from now on, after every switch.
    pub fn follow(&self, pool: &PgPool) {
        pool.set_connect_options(self.options());
        self.pools.lock().expect("pool list").push(pool.clone());
    }

    /// Whether new connections may go to the believed primary. Not while the watcher
    /// looks for a primary: the old one may be back from a crash before the watcher has
    /// checked what it holds (see [`usable`]).
    pub fn confirmed(&self) -> bool {
        self.confirmed.load(Ordering::Acquire)
    }

    /// Wakes the watcher: a connection found the believed primary read-only.
    pub fn suspect(&self) {
        self.wake.notify_one();
    }

    /// Whether a connection opened `age` ago predates the last switch (and so may lead
    /// to the old primary).
    pub fn predates_switch(&self, age: Duration) -> bool {
        let switched = self.switched_at.load(Ordering::Acquire);
        if switched == 0 {
            return false;
        }
        let opened = self.epoch.elapsed().saturating_sub(age);
        (opened.as_millis() as u64) < switched
    }

    /// Asks every server at once and picks the primary: of those that may be followed
    /// (see [`usable`]), the one on the newest timeline, so that a standby promoted
    /// during an outage wins over an old primary that came back in the meantime; on a
    /// tie, the believed primary, then the first in the list.
    pub async fn find(&self) -> Option<usize> {
        let timelines =
            futures_util::future::join_all((0..self.nodes.len()).map(|i| self.probe(i))).await;
        let current = self.current.load(Ordering::Acquire);
        timelines
            .iter()
            .enumerate()
            .filter_map(|(i, t)| t.map(|t| (i, t)))
            .max_by_key(|&(i, t)| (t, i == current, std::cmp::Reverse(i)))
            .map(|(i, _)| i)
    }

    /// Server `i`'s timeline if it may be followed as the primary.
    async fn probe(&self, i: usize) -> Option<i64> {
        let mut conn = tokio::time::timeout(PROBE_TIMEOUT, self.nodes[i].connect())
            .await
            .ok()?
            .ok()?;
        let usable = tokio::time::timeout(PROBE_TIMEOUT + REPLICATED_WAIT, usable(&mut conn))
            .await
            .ok()
            .and_then(Result::ok);
        let _ = conn.close().await;
        match usable? {
            Usable::Yes { timeline } => Some(timeline),
            Usable::NotReplicated => {
                tracing::warn!(
                    server = %self.name(i),
                    "a server accepts writes but no synchronous standby has all it committed (an old primary back after a crash?); not following it"
                );
                None
            }
            Usable::No => None,
        }
    }

    /// Makes server `i` the primary for every pool that follows this one (before any
    /// follows: where they start).
    pub fn switch_to(&self, i: usize) {
        let pools = self.pools.lock().expect("pool list");
        let was = self.current.swap(i, Ordering::AcqRel);
        self.confirmed.store(true, Ordering::Release);
        if was == i || pools.is_empty() {
            return;
        }
        let millis = self.epoch.elapsed().as_millis().max(1) as u64;
        self.switched_at.store(millis, Ordering::Release);
        tracing::warn!(
            from = %self.name(was),
            to = %self.name(i),
            "the primary moved; new connections go to the new one"
        );
        for pool in pools.iter() {
            pool.set_connect_options(self.nodes[i].clone());
        }
    }

    /// Runs the watcher until the process ends.
    pub fn watch(self: Arc<Primary>) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            let mut conn: Option<PgConnection> = None;
            loop {
                tokio::select! {
                    _ = self.wake.notified() => {}
                    _ = tokio::time::sleep(CHECK_EVERY) => {}
                }
                if conn.is_none() {
                    let opened =
                        tokio::time::timeout(PROBE_TIMEOUT, self.options().connect()).await;
                    conn = opened.ok().and_then(Result::ok);
                }
                let still = match conn.as_mut() {
                    Some(c) => tokio::time::timeout(PROBE_TIMEOUT, repo::accepts_writes(c))
                        .await
                        .ok()
                        .and_then(Result::ok),
                    None => None,
                };
                if still == Some(true) {
                    continue;
                }
                conn = None;
                self.confirmed.store(false, Ordering::Release);
                match self.find().await {
                    Some(i) => self.switch_to(i),
                    None => tracing::warn!(
                        servers = self.nodes.len(),
                        "no server named in DATABASE_URL accepts writes; asking again"
                    ),
                }
            }
        })
    }
}

/// Whether a server may be followed as the primary.
#[derive(Debug, PartialEq, Eq)]
enum Usable {
    /// It accepts writes, and what it committed is safe: it is on the timeline given.
    Yes { timeline: i64 },
    /// It accepts writes, asks for a synchronous standby, and none has all it committed.
    NotReplicated,
    /// It does not accept writes.
    No,
}

/// Whether the server behind `conn` may be followed as the primary. It must accept
/// writes, and when it asks for a synchronous standby (`synchronous_standby_names`), one
/// must have flushed everything it has flushed itself. That refuses an old primary that
/// crashed and came back: a commit it had written but not yet replicated when it went
/// down was never acknowledged, yet it is visible again after its crash recovery, and a
/// client retrying that write (same `Idempotency-Key`) would be answered from it, then
/// lose it when the HA engine rewinds the server to follow the promoted standby. Reading
/// `pg_stat_replication` needs `pg_read_all_stats` (`pg_monitor`); without it the check
/// is skipped, with a warning.
async fn usable(conn: &mut PgConnection) -> Result<Usable, sqlx::Error> {
    let ServerState {
        writable,
        timeline,
        wants_sync,
        sees_replication,
        flushed,
    } = repo::server_state(conn).await?;
    let (true, Some(flushed)) = (writable, flushed) else {
        return Ok(Usable::No);
    };
    if !wants_sync {
        return Ok(Usable::Yes { timeline });
    }
    if !sees_replication {
        tracing::warn!(
            "cannot read pg_stat_replication to check that a new primary's commits are on its synchronous standby; grant pg_monitor to the service's role"
        );
        return Ok(Usable::Yes { timeline });
    }
    let deadline = Instant::now() + REPLICATED_WAIT;
    loop {
        let caught_up = repo::standby_has(conn, &flushed).await?;
        if caught_up {
            return Ok(Usable::Yes { timeline });
        }
        if Instant::now() >= deadline {
            return Ok(Usable::NotReplicated);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn connections_opened_before_a_switch_are_told_apart_from_later_ones() {
        let p = Primary::new(vec![
            PgConnectOptions::new(),
            PgConnectOptions::new().port(6000),
        ]);
        p.follow(&sqlx::postgres::PgPoolOptions::new().connect_lazy_with(p.options()));
        assert!(
            !p.predates_switch(Duration::from_secs(3600)),
            "no switch yet"
        );
        assert!(!p.confirmed(), "no connections before a primary is chosen");
        std::thread::sleep(Duration::from_millis(20));
        p.switch_to(1);
        assert!(p.confirmed());
        assert_eq!(p.options().get_port(), 6000);
        assert!(
            p.predates_switch(Duration::from_secs(3600)),
            "opened long before"
        );
        assert!(!p.predates_switch(Duration::ZERO), "opened just now");
    }
}
