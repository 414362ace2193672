//! stockade's own messages on stderr. Under systemd, when `JOURNAL_STREAM` says stderr is
//! the journal, each line carries a syslog priority prefix (`<3>` error, `<4>` warning,
//! `<5>` notice) so `journalctl -p` filters them; the payload's output is never touched.

use std::io::Write;
use std::os::fd::AsFd;
use std::sync::OnceLock;

fn journal() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| {
        let Ok(v) = std::env::var("JOURNAL_STREAM") else {
            return false;
        };
        let Some((dev, ino)) = v.split_once(':') else {
            return false;
        };
        let stderr = std::io::stderr();
        match nix::sys::stat::fstat(stderr.as_fd()) {
            Ok(st) => {
                dev.parse::<u64>().ok() == Some(st.st_dev)
                    && ino.parse::<u64>().ok() == Some(st.st_ino)
            }
            Err(_) => false,
        }
    })
}

fn emit(priority: u8, kind: &str, msg: &str) {
    let mut err = std::io::stderr().lock();
    for line in msg.lines() {
        // The caller's terminal in raw mode (the payload's pty relay) does not turn "\n"
        // into "\r\n": end each line as a terminal would have.
        let end = if crate::exec::console::raw_mode() {
            "\r\n"
        } else {
            "\n"
        };
        let _ = if journal() {
            write!(err, "<{priority}>stockade: {kind}{line}{end}")
        } else {
            write!(err, "stockade: {kind}{line}{end}")
        };
    }
}

/// An error (priority 3).
pub fn error(msg: &str) {
    emit(3, "", msg);
}

/// A warning (priority 4).
pub fn warn(msg: &str) {
    emit(4, "warning: ", msg);
}

/// A notice (priority 5).
pub fn note(msg: &str) {
    emit(5, "note: ", msg);
}

/// Whether stderr goes to the journal (rendered diagnostics are then uncoloured, prefixed).
pub fn to_journal() -> bool {
    journal()
}
