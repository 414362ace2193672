//! Leaf names and garbage collection of leaves left behind by a supervisor that was
//! SIGKILLed (it never reached `destroy`).
//!
//! A leaf is named `stockade-<pid>-<starttime>-<seq>`: the owner's pid and its start time
//! (field 22 of /proc/PID/stat, so a recycled pid is not mistaken for the owner) and a
//! per-process sequence number. The next run removes a leaf only when its name parses, its
//! owner is gone and it holds no process.

use super::fs::CgroupFs;
use std::fmt;
use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};

/// The prefix of every leaf stockade creates.
pub const LEAF_PREFIX: &str = "stockade-";

/// The identity of a leaf.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeafName {
    pub pid: u32,
    pub start_ticks: u64,
    pub seq: u32,
}

static SEQ: AtomicU32 = AtomicU32::new(0);

impl LeafName {
    /// A fresh name owned by the calling process.
    pub fn for_this_process() -> LeafName {
        LeafName {
            pid: std::process::id(),
            start_ticks: super::fs::own_start_ticks(),
            seq: SEQ.fetch_add(1, Ordering::Relaxed),
        }
    }

    /// Parse a directory name; None for anything that is not exactly a leaf name (the
    /// supervisor leaf, other tools' cgroups).
    pub fn parse(name: &str) -> Option<LeafName> {
        let rest = name.strip_prefix(LEAF_PREFIX)?;
        let mut it = rest.split('-');
        let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        let (pid, start, seq) = (it.next()?, it.next()?, it.next()?);
        if it.next().is_some() || ![pid, start, seq].iter().all(|s| all_digits(s)) {
            return None;
        }
        Some(LeafName {
            pid: pid.parse().ok()?,
            start_ticks: start.parse().ok()?,
            seq: seq.parse().ok()?,
        })
    }
}

impl fmt::Display for LeafName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{LEAF_PREFIX}{}-{}-{}",
            self.pid, self.start_ticks, self.seq
        )
    }
}

/// Remove the stale leaves directly below `dir`. Returns how many were removed. Errors are
/// swallowed: gc is housekeeping and must never stop a run.
pub fn collect(fs: &dyn CgroupFs, dir: &Path) -> usize {
    let Ok(names) = fs.subdirs(dir) else {
        return 0;
    };
    let mut removed = 0;
    for name in names {
        let Some(leaf) = LeafName::parse(&name) else {
            continue;
        };
        if fs.process_alive(leaf.pid, leaf.start_ticks) {
            continue;
        }
        let path = dir.join(&name);
        // Only empty leaves: a payload that outlived its supervisor keeps its cgroup (the
        // kernel would refuse the rmdir anyway, EBUSY).
        let empty = fs
            .read(&path.join("cgroup.procs"))
            .map(|p| p.trim().is_empty())
            .unwrap_or(false);
        if empty && fs.rmdir(&path).is_ok() {
            removed += 1;
        }
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_reject_lookalikes() {
        let n = LeafName {
            pid: 42,
            start_ticks: 12345,
            seq: 3,
        };
        assert_eq!(n.to_string(), "stockade-42-12345-3");
        assert_eq!(LeafName::parse("stockade-42-12345-3"), Some(n));
        for bad in [
            "stockade-supervisor",
            "stockade-42-12345",
            "stockade-42-12345-3-1",
            "stockade--1-2",
            "stockade-a-1-2",
            "other-42-1-2",
            "stockade-99999999999-1-2",
        ] {
            assert_eq!(LeafName::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn fresh_names_are_unique_and_owned_by_us() {
        let a = LeafName::for_this_process();
        let b = LeafName::for_this_process();
        assert_ne!(a, b);
        assert_eq!(a.pid, std::process::id());
    }
}
