//! The folders and the OS user a cluster runs with: the data folder and its lock, the
//! private `pgdata/` and socket folders, and their ownership when we run as root.

use std::ffi::{CString, OsString};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Seek, SeekFrom, Write};
use std::os::unix::ffi::OsStringExt;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

/// The OS user the server runs as when we are root.
#[derive(Debug, Clone)]
pub(super) struct RunAs {
    /// The user's name, for messages.
    pub(super) name: String,
    /// Its numeric user id.
    pub(super) uid: u32,
    /// Its primary group id.
    pub(super) gid: u32,
}

/// The uid and gid of OS user `name`, with a plain message when there is no such user.
pub(super) fn lookup_user(name: &str) -> Result<RunAs> {
    let cname = CString::new(name).context("user name contains a NUL byte")?;
    let mut buf_len = 4096usize;
    loop {
        let mut buf = vec![0 as libc::c_char; buf_len];
        // SAFETY: all pointers are valid for the call; `passwd` is plain data.
        let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
        let mut result: *mut libc::passwd = std::ptr::null_mut();
        let rc = unsafe {
            libc::getpwnam_r(
                cname.as_ptr(),
                &mut pwd,
                buf.as_mut_ptr(),
                buf.len(),
                &mut result,
            )
        };
        if rc == libc::ERANGE && buf_len < 1 << 20 {
            buf_len *= 4;
            continue;
        }
        if rc != 0 {
            return Err(io::Error::from_raw_os_error(rc))
                .with_context(|| format!("could not look up OS user `{name}`"));
        }
        if result.is_null() {
            bail!(
                "running as root, but there is no `{name}` OS user to run PostgreSQL as (installing the postgresql package creates it; or run party-center as a non-root user)"
            );
        }
        return Ok(RunAs {
            name: name.to_owned(),
            uid: pwd.pw_uid,
            gid: pwd.pw_gid,
        });
    }
}

/// Create the data folder if needed and return its canonical path.
pub(super) fn create_data_dir(dir: &Path, as_root: bool) -> Result<PathBuf> {
    let missing: Vec<PathBuf> = dir
        .ancestors()
        .take_while(|a| !a.as_os_str().is_empty() && !a.exists())
        .map(Path::to_path_buf)
        .collect();
    fs::create_dir_all(dir)
        .with_context(|| format!("could not create data folder {}", dir.display()))?;
    if as_root {
        // Folders we create must let the postgres user through even under a
        // restrictive umask; their contents are protected by pgdata/ and run/.
        for created in &missing {
            fs::set_permissions(created, fs::Permissions::from_mode(0o755))
                .with_context(|| format!("could not set permissions on {}", created.display()))?;
        }
    }
    dir.canonicalize()
        .with_context(|| format!("could not resolve data folder {}", dir.display()))
}

/// Take the exclusive flock on `data_dir/lock`, refusing when another party-center holds it.
pub(super) fn acquire_lock(data_dir: &Path) -> Result<File> {
    let path = data_dir.join("lock");
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o644)
        .open(&path)
        .with_context(|| format!("could not open lock file {}", path.display()))?;
    // flock (not fcntl) locks belong to the open file, so this also refuses a
    // second Cluster on the same folder within one process.
    match file.try_lock() {
        Ok(()) => {}
        Err(fs::TryLockError::WouldBlock) => bail!(
            "data folder {} is in use by another party-center process",
            data_dir.display()
        ),
        Err(fs::TryLockError::Error(e)) => {
            return Err(e).with_context(|| format!("could not lock {}", path.display()));
        }
    }
    // Informational only: who holds the lock.
    let _ = file.set_len(0);
    let _ = file.seek(SeekFrom::Start(0));
    let _ = writeln!(file, "{}", std::process::id());
    Ok(file)
}

/// Every ancestor of `dir` (and `dir` itself) must be enterable by the run-as user.
pub(super) fn check_traversable(dir: &Path, user: &RunAs, data_dir: &Path) -> Result<()> {
    for folder in dir.ancestors() {
        let meta = fs::metadata(folder)
            .with_context(|| format!("could not inspect folder {}", folder.display()))?;
        let mode = meta.mode();
        // Unix checks exactly one class: owner, else group, else other.
        let can_enter = if meta.uid() == user.uid {
            mode & 0o100 != 0
        } else if meta.gid() == user.gid {
            mode & 0o010 != 0
        } else {
            mode & 0o001 != 0
        };
        if !can_enter {
            bail!(
                "the `{}` OS user (uid {}) that runs PostgreSQL when party-center runs as root cannot enter folder {}, which is on the way to data folder {}; set PARTY_CENTER_DATA_DIR to a reachable place (e.g. under /var/lib or /tmp)",
                user.name,
                user.uid,
                folder.display(),
                data_dir.display()
            );
        }
    }
    Ok(())
}

/// Create `dir` (mode 0700) owned by the server's user, or check that an existing one is.
pub(super) fn ensure_private_dir(dir: &Path, run_as: Option<&RunAs>) -> Result<()> {
    let owner = match run_as {
        Some(user) => user.uid,
        None => unsafe { libc::geteuid() },
    };
    match fs::metadata(dir) {
        Ok(meta) => {
            if !meta.is_dir() {
                bail!("{} exists but is not a folder", dir.display());
            }
            if meta.uid() == owner {
                return Ok(());
            }
            let empty = fs::read_dir(dir)
                .with_context(|| format!("could not list folder {}", dir.display()))?
                .next()
                .is_none();
            // Only an empty folder is safe to hand over; a cluster with mixed
            // ownership would not start.
            if run_as.is_none() || !empty {
                bail!(
                    "folder {} belongs to uid {}, but PostgreSQL runs as uid {}; fix its ownership or use another data folder (PARTY_CENTER_DATA_DIR)",
                    dir.display(),
                    meta.uid(),
                    owner
                );
            }
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            fs::create_dir(dir)
                .with_context(|| format!("could not create folder {}", dir.display()))?;
        }
        Err(e) => {
            return Err(e).with_context(|| format!("could not inspect folder {}", dir.display()));
        }
    }
    if let Some(user) = run_as {
        std::os::unix::fs::chown(dir, Some(user.uid), Some(user.gid)).with_context(|| {
            format!(
                "could not hand folder {} to the `{}` OS user",
                dir.display(),
                user.name
            )
        })?;
    }
    fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
        .with_context(|| format!("could not set permissions on {}", dir.display()))?;
    Ok(())
}

/// A fresh private folder with a short path under /tmp (mkdtemp), owned by the server's user.
pub(super) fn make_short_socket_dir(run_as: Option<&RunAs>) -> Result<PathBuf> {
    let mut template = b"/tmp/party-center-XXXXXX\0".to_vec();
    // SAFETY: `template` is a writable NUL-terminated buffer, as mkdtemp requires.
    let created = unsafe { libc::mkdtemp(template.as_mut_ptr().cast()) };
    if created.is_null() {
        return Err(io::Error::last_os_error())
            .context("could not create a temporary socket folder under /tmp");
    }
    template.pop();
    let dir = PathBuf::from(OsString::from_vec(template));
    // mkdtemp already made it 0700.
    if let Some(user) = run_as
        && let Err(e) = std::os::unix::fs::chown(&dir, Some(user.uid), Some(user.gid))
    {
        let _ = fs::remove_dir(&dir);
        return Err(e).with_context(|| {
            format!(
                "could not hand folder {} to the `{}` OS user",
                dir.display(),
                user.name
            )
        });
    }
    Ok(dir)
}

/// Remove file `path`; a file that is already gone is fine.
pub(super) fn remove_if_exists(path: &Path) -> Result<()> {
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e).with_context(|| format!("could not remove {}", path.display())),
    }
}
