//! Resource limits (setrlimit(2)); RLIMIT_NOFILE is applied separately, after Landlock has
//! opened its path fds (a low `nofile` would otherwise break ruleset creation).

use super::failure::{mark, Call};
use crate::plan::{RlimitPlan, RLIM_UNLIMITED};

/// Apply rlimits (child). `nofile` selects RLIMIT_NOFILE alone (true) or every other one.
/// Raising a hard limit needs CAP_SYS_RESOURCE in the initial user namespace: EPERM else.
pub fn apply_rlimits(limits: &[RlimitPlan], nofile: bool) -> Result<(), nix::Error> {
    for (i, limit) in limits.iter().enumerate() {
        if (limit.resource == libc::RLIMIT_NOFILE) != nofile {
            continue;
        }
        let value = |v: u64| {
            if v == RLIM_UNLIMITED {
                libc::RLIM_INFINITY
            } else {
                v as libc::rlim_t
            }
        };
        let rlim = libc::rlimit {
            rlim_cur: value(limit.soft),
            rlim_max: value(limit.hard),
        };
        mark(Call::Setrlimit, i as u32);
        // SAFETY: setrlimit reads one rlimit struct from the stack.
        if unsafe { libc::setrlimit(limit.resource as _, &rlim) } != 0 {
            return Err(nix::Error::last());
        }
    }
    Ok(())
}
