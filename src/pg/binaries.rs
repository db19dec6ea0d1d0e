//! Finding the installed PostgreSQL server binaries (`initdb`, `postgres`).

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Result, bail};

/// Where the PostgreSQL server binaries are: PARTY_CENTER_PG_BINDIR env override (passed in), then `pg_config --bindir`, then the highest /usr/lib/postgresql/*/bin, then PATH (looking for `initdb` and `postgres`).
pub fn find_bindir(explicit: Option<&Path>) -> Result<PathBuf> {
    if let Some(dir) = explicit {
        // An explicit choice must not silently fall back to something else.
        if has_server_binaries(dir) {
            return Ok(dir.to_path_buf());
        }
        bail!(
            "PARTY_CENTER_PG_BINDIR={} does not contain the PostgreSQL server binaries `initdb` and `postgres`",
            dir.display()
        );
    }
    // pg_config may belong to a client-only install (Debian's libpq-dev ships
    // one), so every candidate is checked for the server binaries.
    if let Some(dir) = pg_config_bindir().filter(|d| has_server_binaries(d)) {
        return Ok(dir);
    }
    if let Some(dir) = highest_debian_bindir() {
        return Ok(dir);
    }
    if let Some(dir) = path_bindir() {
        return Ok(dir);
    }
    bail!(
        "no PostgreSQL server binaries found (install the postgresql package, e.g. `apt-get install postgresql`, or set PARTY_CENTER_PG_BINDIR) and DATABASE_URL is not set"
    )
}

/// Whether `path` is a regular file with an execute bit set.
pub(super) fn is_executable_file(path: &Path) -> bool {
    fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Whether `dir` holds both `initdb` and `postgres` as executables.
pub(super) fn has_server_binaries(dir: &Path) -> bool {
    is_executable_file(&dir.join("initdb")) && is_executable_file(&dir.join("postgres"))
}

/// The folder `pg_config --bindir` names, if pg_config runs.
fn pg_config_bindir() -> Option<PathBuf> {
    let out = Command::new("pg_config")
        .arg("--bindir")
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8(out.stdout).ok()?;
    let dir = text.trim();
    (!dir.is_empty()).then(|| PathBuf::from(dir))
}

/// Debian/Ubuntu install server binaries per major version under /usr/lib/postgresql/<ver>/bin.
fn highest_debian_bindir() -> Option<PathBuf> {
    let entries = fs::read_dir("/usr/lib/postgresql").ok()?;
    entries
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let version: Vec<u32> = name
                .split('.')
                .map(|p| p.parse().ok())
                .collect::<Option<_>>()?;
            let bin = e.path().join("bin");
            has_server_binaries(&bin).then_some((version, bin))
        })
        .max_by(|a, b| a.0.cmp(&b.0))
        .map(|(_, bin)| bin)
}

/// The first absolute folder on PATH that holds the server binaries.
fn path_bindir() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).find(|d| d.is_absolute() && has_server_binaries(d))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pg::test_support::bindir;

    #[test]
    fn finds_bindir() {
        let dir = bindir();
        assert!(dir.join("postgres").exists());
        assert!(find_bindir(Some(&dir)).is_ok());
        let err = find_bindir(Some(Path::new("/nonexistent"))).unwrap_err();
        assert!(err.to_string().contains("PARTY_CENTER_PG_BINDIR"));
    }
}
