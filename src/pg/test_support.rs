//! What the cluster tests share: a temporary folder, throwaway options, a psql call.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Result, bail};

use super::binaries::find_bindir;
use super::cluster::{Cluster, ClusterOptions, Durability};

/// A fresh folder under the temp dir, removed on drop.
pub(super) struct TempDir(pub(super) PathBuf);

impl TempDir {
    /// A path for a new folder named after `tag`; nothing is created yet.
    pub(super) fn new(tag: &str) -> Self {
        let dir = std::env::temp_dir().join(format!(
            "party-center-pg-test-{tag}-{}",
            uuid::Uuid::now_v7().simple()
        ));
        Self(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// The installed server binaries; the tests need them.
pub(super) fn bindir() -> PathBuf {
    find_bindir(None).expect("PostgreSQL server binaries are needed for these tests")
}

/// Fast, non-durable options with 20 connections, for a cluster in `data_dir`.
pub(super) fn throwaway(data_dir: &Path) -> ClusterOptions {
    ClusterOptions {
        durability: Durability::Throwaway,
        max_connections: 20,
        ..ClusterOptions::new(bindir(), data_dir)
    }
}

/// Run `sql` with psql over the cluster's socket; its unaligned output, trimmed.
pub(super) fn psql(cluster: &Cluster, sql: &str) -> Result<String> {
    let out = Command::new(cluster.bindir().join("psql"))
        .args(["-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1"])
        .arg("-h")
        .arg(cluster.socket_dir())
        .args(["-p", "5432", "-U", "postgres", "-d", "postgres", "-c", sql])
        .stdin(Stdio::null())
        .output()?;
    if !out.status.success() {
        bail!("psql failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}
