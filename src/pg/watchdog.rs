//! A cleanup watchdog for test runs: a detached shell that outlives the test process,
//! so a killed or crashed run still stops its cluster and removes its folder.

use std::io;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};

use super::cluster::Cluster;
use super::process::proc_stat_field;

/// For test runs: spawn a detached watchdog that, once process `watched_pid` is gone, shuts the cluster down (SIGQUIT) and removes `remove_dir` recursively.
pub fn spawn_cleanup_watchdog(
    cluster: &Cluster,
    watched_pid: u32,
    remove_dir: &Path,
) -> Result<()> {
    if remove_dir.parent().is_none() || remove_dir.as_os_str().is_empty() {
        bail!(
            "refusing to let the cleanup watchdog remove {}",
            remove_dir.display()
        );
    }
    let remove_dir = if remove_dir.is_absolute() {
        remove_dir.to_path_buf()
    } else {
        std::env::current_dir()
            .context("could not determine the current folder")?
            .join(remove_dir)
    };
    // The start time tells the watched process apart from a later one reusing its pid.
    let start_time = proc_stat_field(watched_pid as libc::pid_t, 19).unwrap_or_default();
    let mut cmd = Command::new("/bin/sh");
    cmd.arg("-c")
        .arg(WATCHDOG_SCRIPT)
        .arg("party-center-pg-watchdog")
        .arg(watched_pid.to_string())
        .arg(start_time)
        .arg(cluster.pgdata().join("postmaster.pid"))
        .arg(cluster.pgdata())
        .arg(&remove_dir);
    if let Some(socket_dir) = cluster.fallback_socket_dir() {
        cmd.arg(socket_dir);
    }
    // Null stdio so the watchdog never keeps a test harness's output pipe open.
    cmd.current_dir("/")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    // SAFETY: setsid is async-signal-safe. A new session detaches the watchdog
    // from the terminal, so Ctrl-C on the test run does not kill it.
    unsafe {
        cmd.pre_exec(|| {
            if libc::setsid() < 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        });
    }
    // The script backgrounds its real work and exits at once, so the watchdog is
    // reparented to init (no zombie of ours) and we can reap the shell here.
    let status = cmd
        .status()
        .context("could not start the cleanup watchdog (/bin/sh)")?;
    if !status.success() {
        bail!("the cleanup watchdog shell failed ({status})");
    }
    Ok(())
}

/// $1 watched pid, $2 its start time (may be empty), $3 postmaster.pid, $4 pgdata, $5.. folders to remove.
const WATCHDOG_SCRIPT: &str = r#"
(
  watched=$1 started=$2 pidfile=$3 pgdata=$4
  shift 4
  running() {
    s=$(sed -n 's/^.*) //p' "/proc/$1/stat" 2>/dev/null)
    [ -n "$s" ] || return 1
    [ "$(printf '%s\n' "$s" | cut -d' ' -f1)" != Z ] || return 1
    [ -z "$2" ] || [ "$(printf '%s\n' "$s" | cut -d' ' -f20)" = "$2" ]
  }
  while running "$watched" "$started"; do sleep 0.5; done
  pm=$(head -n 1 "$pidfile" 2>/dev/null)
  case "$pm" in ''|*[!0-9]*) pm= ;; esac
  # The postmaster runs in its data folder; this guards against a reused pid.
  if [ -n "$pm" ] && [ "$(readlink "/proc/$pm/cwd" 2>/dev/null)" = "$pgdata" ]; then
    kill -QUIT "$pm" 2>/dev/null
    i=0
    while [ "$(readlink "/proc/$pm/cwd" 2>/dev/null)" = "$pgdata" ]; do
      i=$((i + 1))
      if [ "$i" -ge 300 ]; then kill -KILL "$pm" 2>/dev/null; sleep 1; break; fi
      sleep 0.1
    done
  fi
  rm -rf -- "$@"
) </dev/null >/dev/null 2>&1 &
"#;

#[cfg(test)]
mod tests {
    use std::thread;
    use std::time::{Duration, Instant};

    use super::*;
    use crate::pg::process::process_running;
    use crate::pg::test_support::{TempDir, psql, throwaway};

    #[test]
    fn watchdog_cleans_up_after_watched_process() {
        let tmp = TempDir::new("watchdog");
        let mut cluster = Cluster::start(throwaway(&tmp.0)).unwrap();
        let postmaster = cluster.pid().unwrap() as libc::pid_t;
        let mut watched = Command::new("sleep").arg("600").spawn().unwrap();
        spawn_cleanup_watchdog(&cluster, watched.id(), &tmp.0).unwrap();
        thread::sleep(Duration::from_millis(1500));
        assert!(tmp.0.exists());
        assert_eq!(psql(&cluster, "select 1").unwrap(), "1");

        watched.kill().unwrap();
        watched.wait().unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        while tmp.0.exists() && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(100));
        }
        assert!(!tmp.0.exists(), "watchdog removed the folder");
        assert!(!process_running(postmaster), "watchdog stopped postgres");
        cluster.stop().unwrap();
    }
}
