//! Unit tests: compile real plans and run them in a forked child against the real kernel.

mod lockdown;
mod seccomp;

use super::*;
use crate::plan::{
    CapsPlan, Compat, LandlockPathPlan, LandlockPlan, SeccompAction, SeccompArgPlan, SeccompOp,
    SeccompPlan, SeccompRulePlan,
};

const EPERM: i32 = libc::EPERM;

fn plan(default_action: SeccompAction, rules: Vec<SeccompRulePlan>) -> SeccompPlan {
    SeccompPlan {
        default_action,
        rules,
        extra_architectures: vec![],
        log: false,
    }
}

fn deny(syscall: &str, errno: i32, args: Vec<SeccompArgPlan>) -> SeccompRulePlan {
    SeccompRulePlan {
        syscall: syscall.into(),
        action: SeccompAction::Errno { errno },
        args,
    }
}

/// Print `SKIP: reason`, or fail when STOCKADE_TEST_REQUIRE=1 (CI) forbids skipping.
fn skip(reason: &str) {
    assert!(
        std::env::var_os("STOCKADE_TEST_REQUIRE").is_none_or(|v| v != "1"),
        "required test cannot run: {reason}"
    );
    eprintln!("SKIP: {reason}");
}

/// How a forked child ended.
#[derive(Debug, PartialEq, Eq)]
enum End {
    Exit(i32),
    Signal(i32),
}

/// Fork; in the child set no_new_privs, run `setup` (e.g. load a filter), then `probe`,
/// whose return value becomes the exit code. glibc's fork makes malloc safe in the child.
fn in_child(setup: impl FnOnce() -> Result<(), nix::Error>, probe: impl FnOnce() -> i32) -> End {
    // SAFETY: the child only runs the closures and _exits.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        let code = match set_no_new_privs().and_then(|_| setup()) {
            Ok(()) => probe(),
            Err(e) => 200 + (e as i32).min(50),
        };
        // SAFETY: terminate the forked child without running the parent's atexit handlers.
        unsafe { libc::_exit(code) };
    }
    let mut status = 0;
    // SAFETY: waiting for our own child.
    assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
    if libc::WIFSIGNALED(status) {
        End::Signal(libc::WTERMSIG(status))
    } else {
        End::Exit(libc::WEXITSTATUS(status))
    }
}

/// errno of a raw syscall, 0 on success.
fn errno_of(ret: libc::c_long) -> i32 {
    if ret < 0 {
        nix::Error::last() as i32
    } else {
        0
    }
}

fn sys_close(fd: u64) -> i32 {
    // SAFETY: closing a descriptor number that is not open (>= 900) only yields EBADF.
    errno_of(unsafe { libc::syscall(libc::SYS_close, fd) })
}
