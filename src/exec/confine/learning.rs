//! The seccomp filter `stockade run --learn-filter` loads in place of the profile's, for
//! `stockade learn` (which traces the run with `PTRACE_O_TRACESECCOMP`).
//!
//! Every call the profile's filter would not allow returns `SECCOMP_RET_TRACE` instead of
//! its errno or kill: the tracer gets one seccomp-stop for it, records it, and lets it run,
//! so the payload behaves as under a permissive filter while learn sees exactly what the
//! profile lacks. What the profile already allows runs without a stop (the point of this
//! filter: `PTRACE_SYSCALL` stops every call twice). A profile without seccomp allows
//! nothing in particular, so a fresh run traps every call (once, not twice).
//!
//! Some calls always stop, whatever the profile allows, because learn records more than
//! their names: `execve`/`execveat` (the file named), the path calls (`open*`, `creat`, `mkdir*`, `unlink*`, `rmdir`,
//! `rename*`: paths for Landlock and mounts) and `connect`/`bind` (hosts and ports). Calls
//! of a foreign ABI (i386 `int 0x80`, x32) stop too: the profile's filter would kill them
//! unless it names the ABI, and learn reports them.
//!
//! Without a tracer, `SECCOMP_RET_TRACE` fails the call with ENOSYS: a learning run whose
//! tracer died does not run with less confinement than asked, it stops working.

use super::seccomp::resolve_syscall;
use crate::plan::{SeccompAction, SeccompPlan};
use crate::seccomp::bpf::{self, NativeRule};
use std::collections::BTreeMap;

/// `SECCOMP_RET_TRACE` (with no data: the tracer reads the call from the stop itself).
pub const RET_TRACE: u32 = 0x7ff0_0000;

/// Calls that always stop for their arguments: the file an exec names (a script, or a
/// symlink, that `/proc/PID/exe` does not show; Landlock checks execute on it).
pub const EXEC_CALLS: &[&str] = &["execve", "execveat"];

/// Calls that always stop for their arguments and results (resumed to their
/// syscall-exit-stop): paths and socket addresses.
pub const RESULT_NEEDED: &[&str] = &[
    "open",
    "openat",
    "openat2",
    "creat",
    "mkdir",
    "mkdirat",
    "unlink",
    "unlinkat",
    "rmdir",
    "rename",
    "renameat",
    "renameat2",
    "connect",
    "bind",
];

/// The calls whose EPERM says which capability was missing (with the learning filter, an
/// EPERM is the kernel's, not seccomp's: what the profile's filter refuses stops instead).
pub const EPERM_CAPS: &[(&str, &str)] = &[
    ("chown", "CAP_CHOWN"),
    ("fchown", "CAP_CHOWN"),
    ("lchown", "CAP_CHOWN"),
    ("fchownat", "CAP_CHOWN"),
    ("setuid", "CAP_SETUID"),
    ("setreuid", "CAP_SETUID"),
    ("setresuid", "CAP_SETUID"),
    ("setfsuid", "CAP_SETUID"),
    ("setgid", "CAP_SETGID"),
    ("setregid", "CAP_SETGID"),
    ("setresgid", "CAP_SETGID"),
    ("setfsgid", "CAP_SETGID"),
    ("setgroups", "CAP_SETGID"),
    ("mknod", "CAP_MKNOD"),
    ("mknodat", "CAP_MKNOD"),
    ("setpriority", "CAP_SYS_NICE"),
    ("sched_setscheduler", "CAP_SYS_NICE"),
    ("chroot", "CAP_SYS_CHROOT"),
    ("sethostname", "CAP_SYS_ADMIN"),
    ("setdomainname", "CAP_SYS_ADMIN"),
];

fn allows(a: SeccompAction) -> bool {
    matches!(a, SeccompAction::Allow | SeccompAction::Log)
}

/// The learning filter for a profile's seccomp plan (`None`: the profile has no filter).
/// `None` when the program would not fit a classic BPF program (it always does: at most
/// one rule per syscall).
pub fn learning_filter(profile: Option<&SeccompPlan>) -> Option<Vec<libc::sock_filter>> {
    let default = match profile {
        Some(p) if allows(p.default_action) => bpf::ret::ALLOW,
        _ => RET_TRACE,
    };
    // One verdict per native syscall number. A call with any non-allowing rule (maybe under
    // argument conditions) stops whatever its arguments: the tracer records them. A call
    // only allowed under conditions falls to the default.
    let mut verdict: BTreeMap<u32, u32> = BTreeMap::new();
    if let Some(p) = profile {
        let keep = crate::seccomp::last_occurrences(&p.rules);
        let mut by_name: BTreeMap<&str, (bool, bool)> = BTreeMap::new();
        for (rule, keep) in p.rules.iter().zip(keep) {
            if !keep {
                continue;
            }
            let e = by_name.entry(rule.syscall.as_str()).or_default();
            if allows(rule.action) {
                e.1 |= rule.args.is_empty();
            } else {
                e.0 = true;
            }
        }
        for (name, (denied, allowed)) in by_name {
            let ret = if denied {
                RET_TRACE
            } else if allowed {
                bpf::ret::ALLOW
            } else {
                continue;
            };
            if let Some(nr) = resolve_syscall(name).and_then(|n| u32::try_from(n).ok()) {
                verdict.insert(nr, ret);
            }
        }
    }
    for name in EXEC_CALLS
        .iter()
        .chain(RESULT_NEEDED)
        .chain(EPERM_CAPS.iter().map(|(c, _)| c))
    {
        if let Some(nr) = resolve_syscall(name).and_then(|n| u32::try_from(n).ok()) {
            verdict.insert(nr, RET_TRACE);
        }
    }
    let rules: Vec<NativeRule<'_>> = verdict
        .into_iter()
        .filter(|(_, ret)| *ret != default)
        .map(|(nr, ret)| NativeRule { nr, ret, args: &[] })
        .collect();
    bpf::generate(default, RET_TRACE, &rules)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::SeccompRulePlan;
    use crate::seccomp::bpf::interp::{run, Data};
    use crate::seccomp::bpf::{AUDIT_ARCH_X86_64, X32_SYSCALL_BIT};

    const AUDIT_ARCH_I386: u32 = 0x4000_0003;

    fn verdict(prog: &[libc::sock_filter], name: &str) -> u32 {
        let nr = resolve_syscall(name).expect("known syscall") as u32;
        run(
            prog,
            &Data {
                nr,
                arch: AUDIT_ARCH_X86_64,
                args: [0; 6],
            },
        )
    }

    fn deny_list() -> SeccompPlan {
        SeccompPlan {
            default_action: SeccompAction::Allow,
            rules: vec![
                SeccompRulePlan::new("mount", SeccompAction::Errno { errno: 1 }, vec![]),
                SeccompRulePlan::new("bpf", SeccompAction::KillProcess, vec![]),
                // Overridden by a later allow: the profile allows ptrace.
                SeccompRulePlan::new("ptrace", SeccompAction::Errno { errno: 1 }, vec![]),
                SeccompRulePlan::new("ptrace", SeccompAction::Allow, vec![]),
            ],
            extra_architectures: vec![],
            log: false,
        }
    }

    #[test]
    fn a_fresh_run_traps_every_call_and_every_abi() {
        let prog = learning_filter(None).expect("fits");
        for name in ["getpid", "read", "openat", "mount"] {
            assert_eq!(verdict(&prog, name), RET_TRACE, "{name}");
        }
        let i386 = Data {
            nr: 20,
            arch: AUDIT_ARCH_I386,
            args: [0; 6],
        };
        assert_eq!(run(&prog, &i386), RET_TRACE);
    }

    #[test]
    fn a_deny_list_traps_what_it_denies_and_the_recorded_calls() {
        let prog = learning_filter(Some(&deny_list())).expect("fits");
        for name in ["getpid", "read", "ptrace"] {
            assert_eq!(verdict(&prog, name), bpf::ret::ALLOW, "{name}");
        }
        for name in ["mount", "bpf", "openat", "connect", "renameat2"] {
            assert_eq!(verdict(&prog, name), RET_TRACE, "{name}");
        }
        // Foreign ABIs stop instead of being killed.
        let x32 = Data {
            nr: X32_SYSCALL_BIT | 39,
            arch: AUDIT_ARCH_X86_64,
            args: [0; 6],
        };
        let i386 = Data {
            nr: 20,
            arch: AUDIT_ARCH_I386,
            args: [0; 6],
        };
        assert_eq!(run(&prog, &x32), RET_TRACE);
        assert_eq!(run(&prog, &i386), RET_TRACE);
    }

    #[test]
    fn an_allow_list_lets_its_unconditional_calls_run_and_traps_the_rest() {
        let arg = crate::plan::SeccompArgPlan::compare(0, crate::plan::SeccompOp::Eq, 1);
        let plan = SeccompPlan {
            default_action: SeccompAction::Errno { errno: 38 },
            rules: vec![
                SeccompRulePlan::new("read", SeccompAction::Allow, vec![]),
                SeccompRulePlan::new("openat", SeccompAction::Allow, vec![]),
                SeccompRulePlan::new("socket", SeccompAction::Allow, vec![arg]),
            ],
            extra_architectures: vec![],
            log: false,
        };
        let prog = learning_filter(Some(&plan)).expect("fits");
        assert_eq!(verdict(&prog, "read"), bpf::ret::ALLOW);
        // Allowed, but learn needs its paths.
        assert_eq!(verdict(&prog, "openat"), RET_TRACE);
        // Allowed only for some arguments: stops for all, the tracer sees which.
        assert_eq!(verdict(&prog, "socket"), RET_TRACE);
        assert_eq!(verdict(&prog, "getpid"), RET_TRACE);
    }
}
