//! Signal transparency: the payload starts with the signal dispositions stockade
//! inherited, and stockade ends the way the payload ended.
//!
//! * Dispositions. A process started by systemd (`IgnoreSIGPIPE=yes`), by a shell's
//!   `trap '' PIPE` or as a background job (SIGINT and SIGQUIT ignored) inherits ignored
//!   signals, and expects its children to inherit them too. stockade changes its own
//!   SIGPIPE (see `main.rs`); [`record_inherited`] notes, before that, which signals were
//!   ignored, and the child puts back exactly those dispositions before execve
//!   ([`DispositionFix`]). Handlers never survive execve, so "inherited" means ignored or
//!   default; nothing else needs recording.
//! * Exit. When the payload died of signal N, [`die_of`] makes stockade die of N too, so a
//!   shell sees `$? = 128+N` with the right message, Python `returncode == -N`, and
//!   systemd `Result=signal` (or `success` for SIGTERM, SIGHUP, SIGINT, SIGPIPE).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// The highest signal number on Linux.
const MAX_SIGNAL: libc::c_int = 64;

/// Bit `n-1` set: signal `n` was ignored when stockade started.
static INHERITED_IGNORED: AtomicU64 = AtomicU64::new(0);
static RECORDED: AtomicBool = AtomicBool::new(false);

fn bit(sig: libc::c_int) -> u64 {
    1u64 << (sig - 1)
}

/// Whether `sig` is currently ignored (SIG_IGN) in this process.
fn is_ignored(sig: libc::c_int) -> bool {
    // SAFETY: a null new action only queries; `old` is a valid out pointer.
    unsafe {
        let mut old: libc::sigaction = std::mem::zeroed();
        libc::sigaction(sig, std::ptr::null(), &mut old) == 0 && old.sa_sigaction == libc::SIG_IGN
    }
}

fn current_ignored() -> u64 {
    (1..=MAX_SIGNAL)
        .filter(|&s| s != libc::SIGKILL && s != libc::SIGSTOP && is_ignored(s))
        .fold(0, |m, s| m | bit(s))
}

/// Record which signals the process inherited as ignored. Call first thing in `main`,
/// before stockade changes any disposition; later calls are no-ops.
pub fn record_inherited() {
    if RECORDED.swap(true, Ordering::SeqCst) {
        return;
    }
    INHERITED_IGNORED.store(current_ignored(), Ordering::SeqCst);
}

/// The signals inherited as ignored (a bit per signal, `1 << (n-1)`). A library caller
/// that never called [`record_inherited`] gets the current state, which is all it has.
pub fn inherited_ignored() -> u64 {
    record_inherited();
    INHERITED_IGNORED.load(Ordering::SeqCst)
}

/// The dispositions the child must change back before execve, computed in the parent
/// (fixed size: the child does not allocate).
#[derive(Debug, Clone, Copy, Default)]
pub struct DispositionFix {
    /// Bit per signal: set it to SIG_IGN.
    pub ignore: u64,
    /// Bit per signal: set it to SIG_DFL.
    pub default: u64,
}

impl DispositionFix {
    /// Compare what stockade has now with what it inherited.
    pub fn compute() -> DispositionFix {
        Self::between(inherited_ignored(), current_ignored())
    }

    /// The changes that turn the ignored set `now` into `want`.
    fn between(want: u64, now: u64) -> DispositionFix {
        DispositionFix {
            ignore: want & !now,
            default: now & !want,
        }
    }

    /// Apply in the child: async-signal-safe, no allocation. Errors are impossible for
    /// valid signal numbers with SIG_IGN/SIG_DFL, and would leave a disposition as
    /// stockade had it, which is no worse than before.
    pub fn apply(&self) {
        for sig in 1..=MAX_SIGNAL {
            let handler = if self.ignore & bit(sig) != 0 {
                libc::SIG_IGN
            } else if self.default & bit(sig) != 0 {
                libc::SIG_DFL
            } else {
                continue;
            };
            // SAFETY: setting SIG_IGN/SIG_DFL installs no handler code.
            unsafe { libc::signal(sig, handler) };
        }
    }
}

/// The exit status stockade uses when the wall-time limit stopped the payload, as
/// `timeout(1)` does, whatever the payload returned.
pub const EXIT_TIMEOUT: i32 = 124;

/// Die of `sig`, as the payload did: default disposition, no core dump of stockade
/// (the payload dumped its own, if it was meant to), unblocked, sent to ourselves. Falls
/// back to exit status 128+N where a process cannot die of a signal it sends itself
/// (stockade running as PID 1 of a container). Flushes stdout first.
pub fn die_of(sig: libc::c_int) -> ! {
    use std::io::Write;
    let _ = std::io::stdout().flush();
    let no_core = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: plain syscalls on valid arguments; the set is initialized before use.
    unsafe {
        // A lower hard limit is always allowed; PR_SET_DUMPABLE covers a core_pattern pipe.
        libc::setrlimit(libc::RLIMIT_CORE, &no_core);
        libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0);
        libc::signal(sig, libc::SIG_DFL);
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, sig);
        libc::sigprocmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut());
        libc::kill(libc::getpid(), sig);
        // Pending signals are delivered on the return from kill; still here means this
        // process cannot die of it (PID 1) or it stops rather than kills.
        libc::_exit(128 + sig)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fix_restores_an_inherited_ignore_and_resets_our_own() {
        // Inherited: SIGPIPE and SIGINT ignored; stockade now ignores SIGPIPE and SIGUSR1.
        let want = bit(libc::SIGPIPE) | bit(libc::SIGINT);
        let now = bit(libc::SIGPIPE) | bit(libc::SIGUSR1);
        let fix = DispositionFix::between(want, now);
        assert_eq!(fix.ignore, bit(libc::SIGINT));
        assert_eq!(fix.default, bit(libc::SIGUSR1));
    }
}
