//! A private PostgreSQL cluster run as a child process of party-center.
//!
//! When no `DATABASE_URL` is configured, party-center keeps its data in a
//! PostgreSQL cluster of its own under a data folder: `pgdata/` holds the
//! cluster, `run/` the Unix socket, `postgres.log` the server log and `lock`
//! the flock that keeps two party-center processes off the same folder. The
//! server listens on the Unix socket only (no TCP), trusts connections over
//! it, and is started with `postgres` directly so we own its lifetime.
//!
//! Everything here is blocking (`std::process`), because it runs before the
//! async runtime exists and from test harnesses.
//!
//! - `binaries`: finding the installed `initdb` and `postgres` ([`find_bindir`]).
//! - `cluster`: one cluster's life: set up, start, wait until ready, stop ([`Cluster`]).
//! - `folders`: the data folder, its lock, the private folders and who owns them.
//! - `process`: the postmaster as an OS process: spawn, signal, wait, recognise.
//! - `watchdog`: cleanup after a test run that died ([`spawn_cleanup_watchdog`]).

mod binaries;
mod cluster;
mod folders;
mod process;
#[cfg(test)]
mod test_support;
mod watchdog;

pub use binaries::find_bindir;
pub use cluster::{Cluster, ClusterOptions, Durability, PORT, SUPERUSER};
pub use watchdog::spawn_cleanup_watchdog;
