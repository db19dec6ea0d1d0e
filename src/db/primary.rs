//! Following the primary among several servers (a primary and its standbys under an HA
//! engine such as pg_auto_failover or Patroni). A watcher keeps one connection to the
//! server it believes is the primary and asks it every [`CHECK_EVERY`] whether it still
//! accepts writes; when it does not answer or has become read-only, the watcher walks the
//! list, points every pool that follows it at the first server that accepts writes, and
//! makes those pools discard the connections they opened before the switch. A pool that
//! opens a connection to a read-only server drops it and wakes the watcher at once.
//! During the switch requests answer 503 with `Retry-After` (no connection within the
//! acquire timeout), never 500.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::{ConnectOptions, Connection, PgPool};
use tokio::sync::Notify;

/// How often the watcher asks the current server whether it is still the primary.
pub const CHECK_EVERY: Duration = Duration::from_secs(1);

/// How long one server may take to answer the watcher's question.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// The servers of a multi-host `DATABASE_URL` and which of them is the primary.
pub struct Primary {
    nodes: Vec<PgConnectOptions>,
    current: AtomicUsize,
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

    /// Walks the servers once, from the believed primary on: the first that accepts writes.
    pub async fn find(&self) -> Option<usize> {
        let start = self.current.load(Ordering::Acquire);
        for k in 0..self.nodes.len() {
            let i = (start + k) % self.nodes.len();
            if let Ok(Ok(mut conn)) =
                tokio::time::timeout(PROBE_TIMEOUT, self.nodes[i].connect()).await
            {
                let writable = matches!(accepts_writes(&mut conn).await, Ok(true));
                let _ = conn.close().await;
                if writable {
                    return Some(i);
                }
            }
        }
        None
    }

    /// Makes server `i` the primary for every pool that follows this one (before any
    /// follows: where they start).
    pub fn switch_to(&self, i: usize) {
        let pools = self.pools.lock().expect("pool list");
        let was = self.current.swap(i, Ordering::AcqRel);
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
                    Some(c) => tokio::time::timeout(PROBE_TIMEOUT, accepts_writes(c))
                        .await
                        .ok()
                        .and_then(Result::ok),
                    None => None,
                };
                if still == Some(true) {
                    continue;
                }
                conn = None;
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

/// Whether the server behind `conn` accepts writes: not a standby, and not read-only by
/// default (what libpq's `target_session_attrs=read-write` asks).
pub async fn accepts_writes<'c>(conn: impl sqlx::PgExecutor<'c>) -> Result<bool, sqlx::Error> {
    let read_only: String = sqlx::query_scalar("SELECT current_setting('transaction_read_only')")
        .fetch_one(conn)
        .await?;
    Ok(read_only == "off")
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
        std::thread::sleep(Duration::from_millis(20));
        p.switch_to(1);
        assert_eq!(p.options().get_port(), 6000);
        assert!(
            p.predates_switch(Duration::from_secs(3600)),
            "opened long before"
        );
        assert!(!p.predates_switch(Duration::ZERO), "opened just now");
    }
}
