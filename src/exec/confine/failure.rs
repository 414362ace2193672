//! Which syscall a child-side confinement function was making when it failed.
//!
//! The child functions return only an errno; before each syscall they record a fixed-size
//! `(call, index)` pair in a static (the child has its own copy of memory after clone), so
//! the executor can put it into its failure record next to the errno and the parent can
//! print `landlock_add_rule(2) for /srv/data: EINVAL` instead of a bare errno.

use crate::plan::{LandlockPlan, RlimitPlan};
use std::sync::atomic::{AtomicU32, AtomicU8, Ordering};

static LAST_CALL: AtomicU8 = AtomicU8::new(0);
static LAST_INDEX: AtomicU32 = AtomicU32::new(0);

/// A syscall made by the confinement functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Call {
    None = 0,
    /// index: the capability number.
    CapbsetDrop = 1,
    AmbientClear = 2,
    Capset = 3,
    /// index: the capability number.
    AmbientRaise = 4,
    NoNewPrivs = 5,
    /// index: the position in `plan.rlimits`.
    Setrlimit = 6,
    /// index: the position in `plan.landlock.paths`.
    LandlockOpen = 7,
    LandlockCreateRuleset = 8,
    /// index: the position in `plan.landlock.paths`, or 0x1_0000 + TCP port.
    LandlockAddRule = 9,
    LandlockRestrictSelf = 10,
    Seccomp = 11,
}

pub(crate) fn mark(call: Call, index: u32) {
    LAST_CALL.store(call as u8, Ordering::Relaxed);
    LAST_INDEX.store(index, Ordering::Relaxed);
}

/// The last `(call, index)` recorded in this process (child side, after a failure).
pub fn last_call() -> (u8, u32) {
    (
        LAST_CALL.load(Ordering::Relaxed),
        LAST_INDEX.load(Ordering::Relaxed),
    )
}

/// Parent side: name the call from a child's `(call, index)`, e.g.
/// `open(2) of landlock path /srv/data` or `prctl(PR_CAPBSET_DROP, 21)`.
/// Call it with `plan.landlock.as_ref()` and `&plan.rlimits`.
pub fn describe_call(
    call: u8,
    index: u32,
    landlock: Option<&LandlockPlan>,
    rlimits: &[RlimitPlan],
) -> String {
    let path = |i: u32| {
        landlock
            .and_then(|l| l.paths.get(i as usize))
            .map(|p| p.path.display().to_string())
            .unwrap_or_else(|| format!("#{i}"))
    };
    match call {
        1 => format!("prctl(PR_CAPBSET_DROP, {index})"),
        2 => "prctl(PR_CAP_AMBIENT_CLEAR_ALL)".into(),
        3 => "capset(2)".into(),
        4 => format!("prctl(PR_CAP_AMBIENT_RAISE, {index})"),
        5 => "prctl(PR_SET_NO_NEW_PRIVS)".into(),
        6 => match rlimits.get(index as usize) {
            Some(r) => format!("setrlimit({})", r.name),
            None => "setrlimit(2)".into(),
        },
        7 => format!(
            "openat2(2) of landlock path {} (no symlinks followed)",
            path(index)
        ),
        8 => "landlock_create_ruleset(2)".into(),
        9 if index >= 0x1_0000 => format!("landlock_add_rule(2) for TCP port {}", index - 0x1_0000),
        9 => format!("landlock_add_rule(2) for {}", path(index)),
        10 => "landlock_restrict_self(2)".into(),
        11 => "seccomp(2)".into(),
        _ => "an unrecorded call".into(),
    }
}
