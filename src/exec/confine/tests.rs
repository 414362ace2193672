//! Unit tests: compile real plans and run them in a forked child against the real kernel.

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

fn arg(index: u8, op: SeccompOp, value: u64) -> SeccompArgPlan {
    SeccompArgPlan {
        index,
        op,
        value,
        mask: 0,
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
            vec![deny("close", libc::EDOM, vec![arg(0, *op, *value)])],
        ))
        .unwrap();
        for (fd, denied) in *probes {
            let want = if *denied { libc::EDOM } else { libc::EBADF };
            let end = in_child(|| prog.load(), || sys_close(*fd));
            assert_eq!(end, End::Exit(want), "{op:?} {value} on fd {fd}");
        }
    }
    // masked-eq: (fd & 0xff0) == 0x3e0 → 992..=1007 denied.
    let mut masked = arg(0, SeccompOp::MaskedEq, 0x3e0);
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
        vec![deny("read", 1, vec![arg(6, SeccompOp::Eq, 0)])],
        vec![]
    )
    .contains("6"));
    assert!(bad(vec![], vec!["sparc"]).contains("sparc"));
    // Two comparisons of one argument in one rule are refused by libseccomp: an error.
    let two = vec![arg(0, SeccompOp::Gt, 1), arg(0, SeccompOp::Lt, 9)];
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

fn landlock_plan(compat: Compat, abi: u8) -> LandlockPlan {
    LandlockPlan {
        compat,
        abi,
        handled_fs: vec!["write".into(), "exec".into()],
        paths: vec![],
        bind_tcp: None,
        connect_tcp: Some(vec![443]),
        scopes: vec!["signal".into()],
    }
}

#[test]
fn landlock_required_names_the_missing_feature_and_key() {
    let err = check_landlock(&landlock_plan(Compat::Required, 6), 3)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("landlock.connect-tcp needs Landlock ABI 4, kernel has 3"),
        "{err}"
    );
    assert!(
        err.contains("landlock.scope \"signal\" needs Landlock ABI 6"),
        "{err}"
    );
    assert!(
        err.contains("set landlock.compat = \"best-effort\" to run without them"),
        "{err}"
    );
    assert!(check_landlock(&landlock_plan(Compat::Required, 6), 6)
        .unwrap()
        .is_empty());
}

#[test]
fn landlock_best_effort_lists_what_is_skipped() {
    let skipped = check_landlock(&landlock_plan(Compat::BestEffort, 6), 3).unwrap();
    assert_eq!(skipped.len(), 2, "{skipped:?}");
    let prepared = prepare_landlock(&landlock_plan(Compat::BestEffort, 6), 3).unwrap();
    let status = LandlockStatus {
        ruleset: 1,
        missing: prepared.missing(),
    };
    assert_eq!(status.missing_names(), ["connect-tcp", "scope signal"]);
    let none = check_landlock(&landlock_plan(Compat::BestEffort, 6), 0).unwrap();
    assert!(
        none.iter().all(|l| l.contains("does not support")),
        "{none:?}"
    );
}

#[test]
fn landlock_rejects_features_above_the_pin_and_unknown_names() {
    let err = check_landlock(&landlock_plan(Compat::Required, 3), 7).unwrap_err();
    assert!(err.to_string().contains("pins landlock.abi = 3"), "{err}");
    let mut p = landlock_plan(Compat::Required, 6);
    p.handled_fs.push("raed".into());
    assert!(check_landlock(&p, 7)
        .unwrap_err()
        .to_string()
        .contains("raed"));
    let mut p = landlock_plan(Compat::Required, 6);
    p.scopes = vec!["signals".into()];
    assert!(check_landlock(&p, 7)
        .unwrap_err()
        .to_string()
        .contains("signals"));
}

#[test]
fn landlock_enforces_paths_in_a_child() {
    let kernel = kernel_landlock_abi();
    if kernel < 1 {
        skip("no Landlock in this kernel");
        return;
    }
    let dir = std::env::temp_dir().join(format!("stockade-ll-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("granted"), "x").unwrap();
    let plan = LandlockPlan {
        compat: Compat::Required,
        abi: 1,
        handled_fs: vec!["write".into(), "exec".into()],
        paths: vec![LandlockPathPlan {
            path: dir.clone(),
            access: vec!["read".into()],
        }],
        bind_tcp: None,
        connect_tcp: None,
        scopes: vec![],
    };
    let prepared = prepare_landlock(&plan, kernel).unwrap();
    let inside =
        std::ffi::CString::new(dir.join("granted").into_os_string().into_encoded_bytes()).unwrap();
    let end = in_child(
        || prepared.apply().map(|s| assert_eq!(s.ruleset, 2)),
        || {
            // SAFETY: open/close on NUL-terminated paths.
            let ok = unsafe { libc::open(inside.as_ptr(), libc::O_RDONLY) };
            let denied = unsafe { libc::open(c"/etc/hostname".as_ptr(), libc::O_RDONLY) };
            let e = nix::Error::last() as i32;
            if ok >= 0 && denied < 0 && e == libc::EACCES {
                0
            } else {
                1
            }
        },
    );
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(end, End::Exit(0));
    // A missing path is an error, never a silently dropped rule.
    let mut missing = plan.clone();
    missing.paths[0].path = "/nonexistent/stockade".into();
    let prepared = prepare_landlock(&missing, kernel).unwrap();
    assert_eq!(
        in_child(|| prepared.apply().map(|_| ()), || 0),
        End::Exit(200 + libc::ENOENT)
    );
}

#[test]
fn rlimits_apply_split_by_nofile() {
    let limits = vec![
        crate::plan::RlimitPlan {
            name: "RLIMIT_CORE".into(),
            resource: libc::RLIMIT_CORE,
            soft: 0,
            hard: 4096,
        },
        crate::plan::RlimitPlan {
            name: "RLIMIT_NOFILE".into(),
            resource: libc::RLIMIT_NOFILE,
            soft: 64,
            hard: 128,
        },
    ];
    let end = in_child(
        || apply_rlimits(&limits, false),
        || {
            let mut core = libc::rlimit {
                rlim_cur: 1,
                rlim_max: 1,
            };
            let mut nofile = core;
            // SAFETY: getrlimit writes one struct each.
            unsafe { libc::getrlimit(libc::RLIMIT_CORE, &mut core) };
            unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut nofile) };
            i32::from(!(core.rlim_cur == 0 && core.rlim_max == 4096 && nofile.rlim_cur != 64))
        },
    );
    assert_eq!(end, End::Exit(0));
    let end = in_child(
        || apply_rlimits(&limits, true),
        || {
            let mut nofile = libc::rlimit {
                rlim_cur: 1,
                rlim_max: 1,
            };
            // SAFETY: getrlimit writes one struct.
            unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut nofile) };
            i32::from(!(nofile.rlim_cur == 64 && nofile.rlim_max == 128))
        },
    );
    assert_eq!(end, End::Exit(0));
}

/// The hex value of a `Cap*:` line of /proc/self/status.
fn status_mask(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
        .unwrap_or(u64::MAX)
}

#[test]
fn capability_sets_match_the_plan() {
    if !nix::unistd::geteuid().is_root() {
        skip("needs root (CAP_SETPCAP) to drop the bounding set");
        return;
    }
    let cap = |number: u8, name: &str| crate::plan::Cap {
        number,
        name: name.into(),
    };
    let plan = CapsPlan {
        keep: vec![cap(10, "CAP_NET_BIND_SERVICE"), cap(13, "CAP_NET_RAW")],
        ambient: vec![cap(10, "CAP_NET_BIND_SERVICE")],
        no_new_privs: true,
    };
    let last: u8 = std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(40);
    let end = in_child(
        || drop_bounding_set(&plan, last).and_then(|_| set_capabilities(&plan)),
        || {
            let keep = (1u64 << 10) | (1 << 13);
            let want = [
                ("CapBnd:", keep),
                ("CapEff:", keep),
                ("CapPrm:", keep),
                ("CapInh:", 1 << 10),
                ("CapAmb:", 1 << 10),
                ("NoNewPrivs:", 1),
            ];
            want.iter()
                .position(|(f, v)| status_mask(f) != *v)
                .map_or(0, |i| 10 + i as i32)
        },
    );
    assert_eq!(end, End::Exit(0));
    // Nothing kept: every set empty.
    let none = CapsPlan {
        keep: vec![],
        ambient: vec![],
        no_new_privs: true,
    };
    let end = in_child(
        || drop_bounding_set(&none, last).and_then(|_| set_capabilities(&none)),
        || {
            let all_empty = ["CapBnd:", "CapEff:", "CapPrm:", "CapInh:", "CapAmb:"]
                .iter()
                .all(|f| status_mask(f) == 0);
            i32::from(!all_empty)
        },
    );
    assert_eq!(end, End::Exit(0));
}

#[test]
fn failing_call_is_recorded_for_the_report() {
    if kernel_landlock_abi() < 1 {
        skip("no Landlock in this kernel");
        return;
    }
    let plan = LandlockPlan {
        compat: Compat::Required,
        abi: 1,
        handled_fs: vec!["read".into()],
        paths: vec![
            LandlockPathPlan {
                path: "/".into(),
                access: vec!["read".into()],
            },
            LandlockPathPlan {
                path: "/nonexistent/stockade".into(),
                access: vec!["read".into()],
            },
        ],
        bind_tcp: None,
        connect_tcp: None,
        scopes: vec![],
    };
    let prepared = prepare_landlock(&plan, kernel_landlock_abi()).unwrap();
    let end = in_child(
        || Ok(()),
        || match (prepared.apply(), last_call()) {
            (Err(nix::Error::ENOENT), (7, 1)) => 0,
            _ => 1,
        },
    );
    assert_eq!(end, End::Exit(0));
    assert_eq!(
        describe_call(7, 1, Some(&plan), &[]),
        "open(2) of landlock path /nonexistent/stockade"
    );
    assert_eq!(
        describe_call(9, 0x1_0000 + 443, Some(&plan), &[]),
        "landlock_add_rule(2) for TCP port 443"
    );
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

#[test]
fn landlock_status_serializes_with_readable_names() {
    let s = LandlockStatus {
        ruleset: 1,
        missing: 1 << 33,
    };
    let v = serde_json::to_value(s).unwrap();
    assert_eq!(v["ruleset"], 1);
    assert_eq!(v["status"], "partially enforced");
    assert_eq!(v["not_enforced"], serde_json::json!(["connect-tcp"]));
}

#[test]
fn an_oversized_filter_is_refused_in_the_parent() {
    // One comparison instruction at least per distinct value.
    let rules = (0..5000u64)
        .map(|v| deny("fchdir", EPERM, vec![arg(0, SeccompOp::Eq, v)]))
        .collect();
    match compile_seccomp(&plan(SeccompAction::Allow, rules)) {
        Ok(p) => panic!("{} instructions accepted", p.filter.len()),
        Err(e) => assert!(e.to_string().contains("more than the kernel's 4096"), "{e}"),
    }
}
