//! The checks: a compiled [`Plan`] (plus the merged profile, for what the plan resolves
//! away such as env globs) → raw findings. Pure: the host comes in as [`HostView`].
//!
//! Each check names the profile key that causes the finding, so the caller can point at
//! its file:line:col. A finding made moot by a stronger setting (an own network namespace
//! makes TCP port rules moot) is still reported, with `moot` saying why, and is neither
//! scored nor gated on: nothing counts twice, and a reviewer sees what would matter if the
//! stronger setting went away.

mod env;
mod filters;
mod isolation;

use crate::plan::Plan;
use crate::profile::Profile;
use std::path::Path;

/// What `--host` knows about the running kernel (probed by the caller).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostView {
    /// The highest Landlock ABI the kernel supports (0: none).
    pub landlock_abi: u8,
    /// `/proc/sys/dev/tty/legacy_tiocsti` is 0: the kernel refuses TIOCSTI to
    /// unprivileged callers whatever the sandbox does.
    pub tiocsti_disabled: bool,
}

/// What is audited.
pub struct Subject<'a> {
    pub plan: &'a Plan,
    pub profile: &'a Profile,
    /// The caller's home directory, as the plan resolved `${HOME}`.
    pub home: &'a Path,
    /// `Some` with `--host`: score what this kernel enforces under best-effort.
    pub host: Option<&'a HostView>,
}

/// One finding before locations, suppressions and scoring.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Raw {
    pub id: &'static str,
    /// The profile key that causes it (`mount[3]`, `network.mode`).
    pub key: String,
    /// What exactly, in this profile.
    pub detail: String,
    /// Why it does not count, when a stronger setting makes it moot.
    pub moot: Option<String>,
}

impl Raw {
    pub fn new(id: &'static str, key: impl Into<String>, detail: impl Into<String>) -> Raw {
        Raw {
            id,
            key: key.into(),
            detail: detail.into(),
            moot: None,
        }
    }

    /// Moot when `because` is `Some`.
    pub fn moot_if(mut self, because: Option<&str>) -> Raw {
        self.moot = because.map(str::to_owned);
        self
    }
}

/// Every finding of a subject, in catalogue area order.
pub fn run(s: &Subject<'_>) -> Vec<Raw> {
    let mut out = Vec::new();
    isolation::check(s, &mut out);
    filters::check(s, &mut out);
    env::check(s, &mut out);
    out
}
