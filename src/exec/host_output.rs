//! Host files stockade writes after a payload ran (the run report, `--net-log`, `learn`'s
//! `--log` and `--output`): opened once, before the payload starts, and written only through
//! that descriptor.
//!
//! The payload may be able to write the directory that holds such a file (`--report
//! run.json` from a project directory that builtin:strict binds read-write), and an earlier
//! sandbox may have planted something at that name. Opening by path later would follow a
//! symlink to a victim file or block on a FIFO. So the file is opened without following a
//! symlink, without blocking, and refused unless it is a regular file with a single link
//! that the caller owns; only then is it truncated (or appended to).

use std::fs::File;
use std::os::fd::AsRawFd;
use std::path::Path;

/// What to do with what is already in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Existing {
    /// Replace it (the report, a learned profile).
    Truncate,
    /// Keep it and append (a log that several runs share).
    Append,
    /// Keep it, open for reading too (`learn --write` rewrites it in place afterwards).
    Keep,
}

/// Open (or create, mode 0600) `path` for writing; the error is the reason, for a message
/// that names the path.
pub fn open(path: &Path, existing: Existing) -> Result<File, String> {
    use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
    let file = std::fs::OpenOptions::new()
        .read(existing == Existing::Keep)
        .write(true)
        .append(existing == Existing::Append)
        .create(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
        .map_err(|e| match e.raw_os_error() {
            Some(libc::ELOOP) => "is a symbolic link; refusing to follow it".to_string(),
            Some(libc::EISDIR) => "is a directory, not a regular file".into(),
            // O_NONBLOCK|O_WRONLY on a FIFO without a reader.
            Some(libc::ENXIO) => "is a FIFO or socket, not a regular file".into(),
            _ => format!("cannot open it: {e}"),
        })?;
    let meta = file.metadata().map_err(|e| format!("fstat: {e}"))?;
    if !meta.file_type().is_file() {
        return Err("is not a regular file".into());
    }
    if meta.nlink() > 1 {
        return Err(format!(
            "has {} hard links; it may be another file under a second name",
            meta.nlink()
        ));
    }
    // SAFETY: geteuid has no preconditions.
    let euid = unsafe { libc::geteuid() };
    if meta.uid() != euid {
        return Err(format!(
            "belongs to uid {}, not to the caller (uid {euid})",
            meta.uid()
        ));
    }
    // Blocking writes from here on; the checks passed, so truncating is safe.
    // SAFETY: F_GETFL/F_SETFL on an fd we own.
    let flags = unsafe { libc::fcntl(file.as_raw_fd(), libc::F_GETFL) };
    if flags < 0
        || unsafe { libc::fcntl(file.as_raw_fd(), libc::F_SETFL, flags & !libc::O_NONBLOCK) } < 0
    {
        return Err(format!("fcntl: {}", std::io::Error::last_os_error()));
    }
    if existing == Existing::Truncate {
        file.set_len(0).map_err(|e| format!("truncating it: {e}"))?;
    }
    Ok(file)
}

/// Warn when `path` no longer names `file` (the payload renamed or replaced it): only a
/// look (lstat), never a follow.
pub fn warn_if_replaced(path: &Path, file: &File, what: &str) {
    use std::os::unix::fs::MetadataExt;
    let Ok(ours) = file.metadata() else { return };
    let now = std::fs::symlink_metadata(path);
    if !now.is_ok_and(|m| m.dev() == ours.dev() && m.ino() == ours.ino()) {
        crate::log::warn(&format!(
            "the {what} {} was replaced during the run; it was written to the file opened \
             before the run, which is no longer at that path",
            path.display()
        ));
    }
}
