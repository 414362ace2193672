//! seccomp: compiled plans loaded in a forked child.

use super::*;

#[test]
fn denied_syscall_returns_the_configured_errno() {
    let prog = compile_seccomp(&plan(
        SeccompAction::Allow,
        vec![deny("getppid", libc::EACCES, vec![])],
    ))
    .unwrap();
    assert!(prog.filter.len() > 4);
    let end = in_child(
        || prog.load(),
        // SAFETY: getppid has no arguments.
        || errno_of(unsafe { libc::syscall(libc::SYS_getppid) }),
    );
    assert_eq!(end, End::Exit(libc::EACCES));
    // Not filtered: getppid succeeds.
    let end = in_child(
        || Ok(()),
        || errno_of(unsafe { libc::syscall(libc::SYS_getppid) }),
    );
    assert_eq!(end, End::Exit(0));
}

#[test]
fn kill_process_action_dies_by_sigsys() {
    let mut rule = deny("getppid", 1, vec![]);
    rule.action = SeccompAction::KillProcess;
    let prog = compile_seccomp(&plan(SeccompAction::Allow, vec![rule])).unwrap();
    let end = in_child(
        || prog.load(),
        || errno_of(unsafe { libc::syscall(libc::SYS_getppid) }),
    );
    assert_eq!(end, End::Signal(libc::SIGSYS));
}

#[test]
fn default_deny_allows_only_listed_calls() {
    let allow = |s: &str| SeccompRulePlan {
        syscall: s.into(),
        action: SeccompAction::Allow,
        args: vec![],
    };
    let prog = compile_seccomp(&plan(
        SeccompAction::Errno {
            errno: libc::ENOTSUP,
        },
        vec![allow("exit_group"), allow("getpid")],
    ))
    .unwrap();
    let end = in_child(
        || prog.load(),
        || {
            // SAFETY: argument-less calls.
            let pid = errno_of(unsafe { libc::syscall(libc::SYS_getpid) });
            let ppid = errno_of(unsafe { libc::syscall(libc::SYS_getppid) });
            if pid == 0 && ppid == libc::ENOTSUP {
                0
            } else {
                1
            }
        },
    );
    assert_eq!(end, End::Exit(0));
}

#[test]
fn argument_conditions_hold_at_their_boundaries() {
    // Each rule denies close(fd) with a distinct errno when its condition holds; closing a
    // descriptor that is not open returns EBADF when no rule matches.
    type Probes = &'static [(u64, bool)];
    let cases: &[(SeccompOp, u64, Probes)] = &[
        (
            SeccompOp::Eq,
            1000,
            &[(999, false), (1000, true), (1001, false)],
        ),
        (
            SeccompOp::Ne,
            1000,
            &[(999, true), (1000, false), (1001, true)],
        ),
        (
            SeccompOp::Lt,
            1000,
            &[(999, true), (1000, false), (1001, false)],
        ),
        (
            SeccompOp::Le,
            1000,
            &[(999, true), (1000, true), (1001, false)],
        ),
        (
            SeccompOp::Gt,
            1000,
            &[(999, false), (1000, false), (1001, true)],
        ),
        (
            SeccompOp::Ge,
            1000,
            &[(999, false), (1000, true), (1001, true)],
        ),
    ];
    for (op, value, probes) in cases {
        let prog = compile_seccomp(&plan(
            SeccompAction::Allow,
            vec![deny(
                "close",
                libc::EDOM,
                vec![SeccompArgPlan::compare(0, *op, *value)],
            )],
        ))
        .unwrap();
        for (fd, denied) in *probes {
            let want = if *denied { libc::EDOM } else { libc::EBADF };
            let end = in_child(|| prog.load(), || sys_close(*fd));
            assert_eq!(end, End::Exit(want), "{op:?} {value} on fd {fd}");
        }
    }
    // masked-eq: (fd & 0xff0) == 0x3e0 → 992..=1007 denied.
    let mut masked = SeccompArgPlan::compare(0, SeccompOp::MaskedEq, 0x3e0);
    masked.mask = 0xff0;
    let prog = compile_seccomp(&plan(
        SeccompAction::Allow,
        vec![deny("close", libc::EDOM, vec![masked])],
    ))
    .unwrap();
    for (fd, denied) in [(991, false), (992, true), (1007, true), (1008, false)] {
        let want = if denied { libc::EDOM } else { libc::EBADF };
        assert_eq!(
            in_child(|| prog.load(), || sys_close(fd)),
            End::Exit(want),
            "fd {fd}"
        );
    }
}

#[test]
fn later_rule_for_the_same_call_wins() {
    let prog = compile_seccomp(&plan(
        SeccompAction::Allow,
        vec![
            deny("getppid", EPERM, vec![]),
            deny("getppid", libc::EROFS, vec![]),
        ],
    ))
    .unwrap();
    let end = in_child(
        || prog.load(),
        || errno_of(unsafe { libc::syscall(libc::SYS_getppid) }),
    );
    assert_eq!(end, End::Exit(libc::EROFS));
    // An allow after a deny (profile allow over the preset) removes the deny.
    let mut allow = deny("getppid", 0, vec![]);
    allow.action = SeccompAction::Allow;
    let prog = compile_seccomp(&plan(
        SeccompAction::Allow,
        vec![deny("getppid", EPERM, vec![]), allow],
    ))
    .unwrap();
    let end = in_child(
        || prog.load(),
        || errno_of(unsafe { libc::syscall(libc::SYS_getppid) }),
    );
    assert_eq!(end, End::Exit(0));
}

#[test]
fn bad_input_is_an_error_not_a_weaker_filter() {
    let bad = |rules, arches: Vec<&str>| {
        let mut p = plan(SeccompAction::Allow, rules);
        p.extra_architectures = arches.into_iter().map(String::from).collect();
        compile_seccomp(&p).unwrap_err().to_string()
    };
    assert!(bad(vec![deny("no_such_call", 1, vec![])], vec![]).contains("no_such_call"));
    assert!(bad(vec![deny("read", 5000, vec![])], vec![]).contains("5000"));
    assert!(bad(
        vec![deny(
            "read",
            1,
            vec![SeccompArgPlan::compare(6, SeccompOp::Eq, 0)]
        )],
        vec![]
    )
    .contains("6"));
    assert!(bad(vec![], vec!["sparc"]).contains("sparc"));
    // Two comparisons of one argument in one rule are refused by libseccomp: an error.
    let two = vec![
        SeccompArgPlan::compare(0, SeccompOp::Gt, 1),
        SeccompArgPlan::compare(0, SeccompOp::Lt, 9),
    ];
    assert!(bad(vec![deny("close", 1, two)], vec![]).contains("close"));
}

/// getpid through the i386 `int 0x80` entry (i386 getpid = 20).
fn i386_getpid() -> i64 {
    let ret: i64;
    // SAFETY: int 0x80 with eax=20 is getpid on the ia32 ABI; it takes no arguments. The
    // 32-bit entry may clobber r8-r11.
    unsafe {
        std::arch::asm!("int 0x80", inlateout("rax") 20i64 => ret,
            out("r8") _, out("r9") _, out("r10") _, out("r11") _, options(nostack));
    }
    ret
}

#[test]
fn non_native_abis_are_killed_unless_listed() {
    let rules = vec![deny("getppid", EPERM, vec![])];
    let prog = compile_seccomp(&plan(SeccompAction::Allow, rules.clone())).unwrap();
    // x32: the x86_64 syscall number with bit 30 set.
    let x32 = || errno_of(unsafe { libc::syscall(39 | 0x4000_0000) });
    assert_eq!(in_child(|| prog.load(), x32), End::Signal(libc::SIGSYS));
    let i386 = || if i386_getpid() > 0 { 0 } else { 1 };
    assert_eq!(in_child(|| prog.load(), i386), End::Signal(libc::SIGSYS));
    // Unfiltered, int 0x80 works when the kernel has ia32 emulation: then listing x86 lets
    // it through the filter.
    if in_child(|| Ok(()), i386) == End::Exit(0) {
        let mut p = plan(SeccompAction::Allow, rules);
        p.extra_architectures = vec!["x86".into()];
        let prog = compile_seccomp(&p).unwrap();
        assert_eq!(in_child(|| prog.load(), i386), End::Exit(0));
    } else {
        skip("kernel without ia32 emulation; only the kill half is checked");
    }
}

#[test]
fn preset_denies_in_the_kernel() {
    let deny_action = SeccompAction::Errno { errno: EPERM };
    let prog = compile_seccomp(&plan(
        SeccompAction::Allow,
        crate::seccomp::preset::default_rules(deny_action),
    ))
    .unwrap();
    assert!(
        prog.filter.len() < 4096,
        "BPF too long: {}",
        prog.filter.len()
    );
    let check = |f: fn() -> libc::c_long, want: i32| {
        assert_eq!(
            in_child(|| prog.load(), move || errno_of(f())),
            End::Exit(want)
        );
    };
    // SAFETY (all below): raw syscalls whose side effects stay in the forked child.
    check(
        || unsafe { libc::syscall(libc::SYS_personality, 0xffff_ffffu64) },
        0,
    );
    check(|| unsafe { libc::syscall(libc::SYS_personality, 0u64) }, 0);
    check(
        || unsafe { libc::syscall(libc::SYS_personality, 0x0040_0000u64) },
        EPERM,
    );
    check(
        || unsafe { libc::syscall(libc::SYS_personality, 0x1_0000_0000u64 | 0x40_0000) },
        EPERM,
    );
    check(
        || unsafe { libc::syscall(libc::SYS_unshare, libc::CLONE_NEWUSER) },
        EPERM,
    );
    check(
        || unsafe { libc::syscall(libc::SYS_clone3, 0usize, 0usize) },
        libc::ENOSYS,
    );
    check(
        || unsafe { libc::syscall(libc::SYS_ioctl, 0, libc::TIOCSTI, 0usize) },
        EPERM,
    );
    check(
        || unsafe { libc::syscall(libc::SYS_ioctl, 0, 0x1_0000_0000u64 | 0x5412, 0usize) },
        EPERM,
    );
    check(
        || unsafe { libc::syscall(libc::SYS_ioctl, 0, 0x541cu64, 0usize) },
        EPERM,
    );
    check(
        || unsafe { libc::syscall(libc::SYS_mount, 0usize, 0usize, 0usize, 0usize, 0usize) },
        EPERM,
    );
    check(
        || unsafe { libc::syscall(libc::SYS_ptrace, 0usize, 0usize, 0usize, 0usize) },
        EPERM,
    );
    check(
        || unsafe { libc::syscall(libc::SYS_bpf, 0usize, 0usize, 0usize) },
        EPERM,
    );
    // ioctl with other requests is untouched (bad fd → EBADF).
    check(
        || unsafe { libc::syscall(libc::SYS_ioctl, 999, libc::TCGETS, 0usize) },
        libc::EBADF,
    );
}

#[test]
fn log_flag_loads() {
    let mut p = plan(SeccompAction::Allow, vec![deny("getppid", EPERM, vec![])]);
    p.log = true;
    let prog = compile_seccomp(&p).unwrap();
    assert!(prog.log);
    let end = in_child(
        || prog.load(),
        || errno_of(unsafe { libc::syscall(libc::SYS_getppid) }),
    );
    assert_eq!(end, End::Exit(EPERM));
}

#[test]
fn an_oversized_filter_is_refused_in_the_parent() {
    // One comparison instruction at least per distinct value.
    let rules = (0..5000u64)
        .map(|v| {
            deny(
                "fchdir",
                EPERM,
                vec![SeccompArgPlan::compare(0, SeccompOp::Eq, v)],
            )
        })
        .collect();
    match compile_seccomp(&plan(SeccompAction::Allow, rules)) {
        Ok(p) => panic!("{} instructions accepted", p.filter.len()),
        Err(e) => assert!(e.to_string().contains("more than the kernel's 4096"), "{e}"),
    }
}

#[test]
fn listing_x32_lets_x32_calls_reach_the_kernel() {
    let mut p = plan(SeccompAction::Allow, vec![deny("getppid", EPERM, vec![])]);
    p.extra_architectures = vec!["x32".into()];
    let prog = compile_seccomp(&p).unwrap();
    // Not killed: the kernel answers (the pid, or ENOSYS when it has no x32 support).
    let x32 = || {
        // SAFETY: getpid through the x32 entry takes no arguments.
        let r = unsafe { libc::syscall(libc::SYS_getpid | 0x4000_0000) };
        if r > 0 || nix::Error::last() == nix::Error::ENOSYS {
            0
        } else {
            1
        }
    };
    assert_eq!(in_child(|| prog.load(), x32), End::Exit(0));
}
