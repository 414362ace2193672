//! Signal forwarding with one delivery per signal.
//!
//! Under systemd's default `KillMode=control-group`, `systemctl stop` and `systemctl kill`
//! signal every process of the unit's cgroup: stockade, its init and the payload each get
//! the signal from systemd. If stockade and init forwarded those, the payload would get it
//! two or three times (a counting payload saw "#1 from pid 0, #2 from pid 1"). So:
//!
//! * the supervisor does not forward a signal whose sender is its own service manager
//!   (`SI_USER`/`SI_QUEUE` from the parent, and the parent is systemd: `INVOCATION_ID` is
//!   set and the parent's name is `systemd`), unless the profile says the unit's
//!   `KillMode=` is `mixed` or `process` (stockade cannot see the unit's settings);
//! * what it forwards to init it sends with `sigqueue` and a cookie, so init tells it apart
//!   from a signal it got straight from outside its PID namespace (`si_pid` is 0 for both);
//! * init forwards the supervisor's signals, signals from inside the sandbox and the
//!   kernel's, and drops one sent to it directly from outside: that sender (systemd's
//!   cgroup-wide kill) reached the payload itself. As with a real PID 1, a signal for the
//!   sandbox goes to stockade, not to init's host pid.

//!
//! Without a PID namespace init is the sandbox's keeper (`exec::init`) and sees every
//! sender's real pid, so it forwards only what the supervisor sent it (cookied) and the
//! kernel's own signals; the supervisor's hard kill of the whole sandbox is a request to
//! the keeper (a second cookie), which kills the payload's orphans too.

/// The value the supervisor attaches to every signal it forwards to init.
pub const FORWARD_COOKIE: usize = 0x7374_6b64; // "stkd"
/// The value of the supervisor's request to a keeper to kill the whole sandbox.
pub const KILL_ALL_COOKIE: usize = 0x7374_6b6b; // "stkk"

/// How the supervisor forwards.
#[derive(Debug, Clone, Copy)]
pub struct Forwarder {
    child: libc::pid_t,
    /// The child is stockade's init (it recognizes the cookie).
    via_init: bool,
    /// That init is a keeper (no PID namespace): it kills the sandbox on request.
    keeper: bool,
    /// Signals from this pid came from the service manager and reached every process.
    manager: Option<libc::pid_t>,
    /// The child (the payload itself, without init) leads its own session and process
    /// group: job-control signals go to the whole group.
    job_group: bool,
    /// `new-session = false`: the payload shares stockade's session and process group, so
    /// what the terminal sends to its foreground group reached the payload too.
    shares_terminal: bool,
}

/// The parent's pid when it is a systemd service manager that started stockade as a unit.
fn systemd_manager() -> Option<libc::pid_t> {
    std::env::var_os("INVOCATION_ID")?;
    // SAFETY: getppid has no preconditions.
    let ppid = unsafe { libc::getppid() };
    let comm = std::fs::read(format!("/proc/{ppid}/comm")).ok()?;
    (comm.strip_suffix(b"\n").unwrap_or(&comm) == b"systemd").then_some(ppid)
}

impl Forwarder {
    /// `forward_manager_signals`: the plan's `systemd.forward_manager_signals`.
    pub fn new(
        child: libc::pid_t,
        via_init: bool,
        keeper: bool,
        forward_manager_signals: bool,
    ) -> Forwarder {
        Forwarder {
            child,
            via_init,
            keeper: via_init && keeper,
            manager: if forward_manager_signals {
                None
            } else {
                systemd_manager()
            },
            job_group: false,
            shares_terminal: false,
        }
    }

    /// With `new-session`, the payload's job-control signals go to its process group
    /// ([`is_job_control`]): init does it for its payload, this for a payload that is the
    /// supervisor's child (PID 1 of its namespace).
    pub fn with_job_group(mut self, new_session: bool) -> Forwarder {
        self.job_group = new_session && !self.via_init;
        self.shares_terminal = !new_session;
        self
    }

    /// Whether this signal was sent by the service manager to the whole cgroup.
    fn sent_by_manager(&self, info: &libc::siginfo_t) -> bool {
        let Some(manager) = self.manager else {
            return false;
        };
        // SAFETY: si_pid is valid for SI_USER and SI_QUEUE, checked first.
        (info.si_code == libc::SI_USER || info.si_code == libc::SI_QUEUE)
            && unsafe { info.si_pid() } == manager
    }

    /// Forward `sig` (received with `info`) to the payload, unless it reached it already.
    pub fn forward(&self, sig: libc::c_int, info: &libc::siginfo_t) {
        if self.sent_by_manager(info) || (self.shares_terminal && from_terminal(sig, info)) {
            return;
        }
        self.send(sig);
    }

    /// Send `sig` to the payload on stockade's own behalf (the timeout's kill signal).
    /// Through init it must carry the cookie: init drops an uncookied signal from outside
    /// its PID namespace, taking it for one that already reached the payload.
    pub fn send(&self, sig: libc::c_int) {
        // SAFETY: plain syscalls with integer arguments and a valid sigval.
        unsafe {
            if self.via_init {
                let value = libc::sigval {
                    sival_ptr: FORWARD_COOKIE as *mut libc::c_void,
                };
                if libc::sigqueue(self.child, sig, value) == 0 {
                    return;
                }
            }
            if self.job_group && is_job_control(sig) && libc::kill(-self.child, sig) == 0 {
                return;
            }
            libc::kill(self.child, sig);
        }
    }

    /// Ask a keeper to kill the whole sandbox (it does, then exits); false when the child
    /// is not a keeper (the caller kills it directly) or the request could not be sent.
    /// SIGCONT first: a keeper stopped by the payload (same uid) would sit on the request.
    pub fn ask_keeper_to_kill_all(&self) -> bool {
        if !self.keeper {
            return false;
        }
        let value = libc::sigval {
            sival_ptr: KILL_ALL_COOKIE as *mut libc::c_void,
        };
        // SAFETY: plain syscalls with integer arguments and a valid sigval.
        unsafe {
            libc::kill(self.child, libc::SIGCONT);
            libc::sigqueue(self.child, libc::SIGTERM, value) == 0
        }
    }
}

/// The signals a terminal sends to its foreground job (and the shell's `fg`/`bg`): with
/// `new-session` the payload's job does not get them from the terminal, so stockade
/// forwards them to the payload's whole process group, as the terminal would have sent
/// them. Every other signal goes to the payload alone, as `kill PID` would.
pub fn is_job_control(sig: libc::c_int) -> bool {
    matches!(
        sig,
        libc::SIGINT
            | libc::SIGQUIT
            | libc::SIGTSTP
            | libc::SIGTTIN
            | libc::SIGTTOU
            | libc::SIGCONT
            | libc::SIGWINCH
    )
}

/// Whether the terminal driver sent `sig` (Ctrl-C, Ctrl-Z, a resize: `SI_KERNEL`) to its
/// foreground process group. Without `new-session` the payload is in that group too and
/// got it already: forwarding would deliver it twice (three times through init).
pub fn from_terminal(sig: libc::c_int, info: &libc::siginfo_t) -> bool {
    info.si_code == libc::SI_KERNEL && is_job_control(sig)
}

/// What a keeper does with a signal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeeperRequest {
    Forward,
    KillAll,
    /// Sent straight to the keeper by someone else: systemd's cgroup-wide kill, which
    /// reached the payload itself, or a process of the sandbox.
    Ignore,
}

/// In a keeper: what to do with a signal received with `info`. Async-signal-safe.
pub fn keeper_should_forward(info: &libc::siginfo_t) -> KeeperRequest {
    if info.si_code > 0 {
        return KeeperRequest::Forward;
    }
    if info.si_code != libc::SI_QUEUE {
        return KeeperRequest::Ignore;
    }
    // SAFETY: si_value and si_pid are valid for SI_QUEUE.
    let (value, sender) = unsafe { (info.si_value().sival_ptr as usize, info.si_pid()) };
    // Only the supervisor (our parent) may ask; a payload could queue the same cookie.
    // SAFETY: getppid has no preconditions.
    if sender != unsafe { libc::getppid() } {
        return KeeperRequest::Ignore;
    }
    match value {
        FORWARD_COOKIE => KeeperRequest::Forward,
        KILL_ALL_COOKIE => KeeperRequest::KillAll,
        _ => KeeperRequest::Ignore,
    }
}

/// In init: whether a signal received with `info` is for the payload (see the module).
/// Async-signal-safe: reads the siginfo only.
pub fn init_should_forward(info: &libc::siginfo_t) -> bool {
    if info.si_code > 0 {
        // From the kernel (a terminal's SIGHUP, SIGIO, ...).
        return true;
    }
    // SAFETY: si_pid and si_value are valid for the user codes (SI_USER, SI_QUEUE, SI_TKILL).
    unsafe {
        if info.si_code == libc::SI_QUEUE && info.si_value().sival_ptr as usize == FORWARD_COOKIE {
            return true;
        }
        // si_pid is 0 for a sender outside the PID namespace (the kernel hides it).
        info.si_pid() != 0
    }
}

#[cfg(test)]
mod tests {
    use super::is_job_control;

    #[test]
    fn the_terminals_signals_go_to_the_job_and_others_to_the_payload() {
        for s in [
            libc::SIGINT,
            libc::SIGQUIT,
            libc::SIGTSTP,
            libc::SIGTTIN,
            libc::SIGTTOU,
            libc::SIGCONT,
            libc::SIGWINCH,
        ] {
            assert!(is_job_control(s), "{s}");
        }
        for s in [libc::SIGTERM, libc::SIGHUP, libc::SIGUSR1, libc::SIGKILL] {
            assert!(!is_job_control(s), "{s}");
        }
    }
}
