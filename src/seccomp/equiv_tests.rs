//! (Included by `src/exec/confine/seccomp.rs`, whose private functions it compares.)
//!
//! The direct BPF generator (`src/seccomp/bpf.rs`) against libseccomp: both programs are evaluated by
//! an interpreter for every syscall number 0..1024 on x86_64, x32 (bit 30), i386 and an
//! unknown audit arch, plus the argument boundaries of every rule; the results must agree
//! exactly, for the built-in preset and for test plans covering every operator and action.

use super::{compile_both, compile_seccomp, resolve_syscall};
use crate::plan::{SeccompAction, SeccompArgPlan, SeccompOp, SeccompPlan, SeccompRulePlan};
use crate::seccomp::bpf::interp::{run, Data};
use crate::seccomp::bpf::{AUDIT_ARCH_X86_64, X32_SYSCALL_BIT};
use crate::seccomp::preset;

const AUDIT_ARCH_I386: u32 = 0x4000_0003;
const AUDIT_ARCH_UNKNOWN: u32 = 0x1234_5678;

fn plan(default_action: SeccompAction, rules: Vec<SeccompRulePlan>) -> SeccompPlan {
    SeccompPlan {
        default_action,
        rules,
        extra_architectures: Vec::new(),
        log: false,
    }
}

/// Values around every edge a condition on a 64-bit argument can have.
fn boundaries(a: &SeccompArgPlan) -> Vec<u64> {
    let v = a.value;
    let mut out = vec![
        0,
        1,
        u64::MAX,
        0xffff_ffff,
        1 << 32,
        v,
        v.wrapping_sub(1),
        v.wrapping_add(1),
        v ^ (1 << 32),
        v.wrapping_add(1 << 32),
        v.wrapping_sub(1 << 32),
        v & 0xffff_ffff,
        v | 0xffff_ffff_0000_0000,
    ];
    if a.op == SeccompOp::MaskedEq {
        let m = a.mask;
        out.extend([
            v & m,
            v | !m,
            (v & m) | (!m & 0x5555_5555_5555_5555),
            !m,
            m,
            !v,
        ]);
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// Every argument vector worth trying for the rules of one syscall: the cartesian product
/// of the boundary values of each argument index the rules test (others 0).
fn arg_vectors(rules: &[&SeccompRulePlan]) -> Vec<[u64; 6]> {
    let mut per_index: Vec<Vec<u64>> = vec![Vec::new(); 6];
    for r in rules {
        for a in &r.args {
            per_index[usize::from(a.index)].extend(boundaries(a));
        }
    }
    let mut vectors = vec![[0u64; 6]];
    for (i, values) in per_index.iter_mut().enumerate() {
        values.sort_unstable();
        values.dedup();
        if values.is_empty() {
            continue;
        }
        vectors = vectors
            .iter()
            .flat_map(|v| {
                values.iter().map(move |x| {
                    let mut v = *v;
                    v[i] = *x;
                    v
                })
            })
            .collect();
    }
    vectors
}

/// Compile `p` both ways and compare them on every input; returns the number of inputs.
fn assert_equivalent(name: &str, p: &SeccompPlan) -> usize {
    let (direct, reference) = compile_both(p).unwrap();
    let direct = direct.unwrap_or_else(|| panic!("{name}: the direct generator declined"));
    let resolve = resolve_syscall;
    let mut checked = 0;
    let mut check = |d: Data| {
        let (want, got) = (run(&reference, &d), run(&direct, &d));
        assert_eq!(
            got, want,
            "{name}: nr {:#x} arch {:#x} args {:x?}: direct {got:#x}, libseccomp {want:#x}",
            d.nr, d.arch, d.args
        );
        checked += 1;
    };
    let mut nrs: Vec<u32> = (0..1024).collect();
    nrs.extend([0x3fff_ffff, u32::MAX, u32::MAX - 1, 0x8000_0000]);
    nrs.extend((0..1024).map(|n| n | X32_SYSCALL_BIT));
    for arch in [
        AUDIT_ARCH_X86_64,
        AUDIT_ARCH_I386,
        AUDIT_ARCH_UNKNOWN,
        0,
        u32::MAX,
    ] {
        for &nr in &nrs {
            let same_nr: Vec<&SeccompRulePlan> = p
                .rules
                .iter()
                .filter(|r| resolve(&r.syscall).is_some_and(|n| n >= 0 && n as u32 == nr))
                .collect();
            for args in arg_vectors(&same_nr) {
                check(Data { nr, arch, args });
            }
            // Arguments must not matter to syscalls without conditions.
            check(Data {
                nr,
                arch,
                args: [u64::MAX; 6],
            });
        }
    }
    checked
}

#[test]
fn preset_matches_libseccomp_for_every_deny_action() {
    for deny in [
        SeccompAction::Errno { errno: 1 },
        SeccompAction::KillProcess,
        SeccompAction::Trap,
        SeccompAction::Log,
        SeccompAction::KillThread,
    ] {
        let p = plan(SeccompAction::Allow, preset::default_rules(deny));
        let n = assert_equivalent(&format!("preset {deny:?}"), &p);
        assert!(n > 5 * 2048, "only {n} inputs checked");
        let (direct, reference) = compile_both(&p).unwrap();
        let direct = direct.unwrap().len();
        println!(
            "preset {deny:?}: {n} inputs agree; {direct} instructions, libseccomp {}",
            reference.len()
        );
    }
}

#[test]
fn the_comparison_notices_a_missing_rule() {
    // The check above must be able to fail: drop one preset rule from the direct program
    // and the interpreter sees the difference on that syscall.
    let deny = SeccompAction::Errno { errno: 1 };
    let full = plan(SeccompAction::Allow, preset::default_rules(deny));
    let mut rules = preset::default_rules(deny);
    rules.retain(|r| r.syscall != "ptrace");
    let weaker = plan(SeccompAction::Allow, rules);
    let (_, reference) = compile_both(&full).unwrap();
    let (direct, _) = compile_both(&weaker).unwrap();
    let ptrace = Data {
        nr: resolve_syscall("ptrace").unwrap() as u32,
        arch: AUDIT_ARCH_X86_64,
        args: [0; 6],
    };
    assert_ne!(run(&reference, &ptrace), run(&direct.unwrap(), &ptrace));
}

#[test]
fn preset_with_profile_overrides_matches_libseccomp() {
    // The shape `compile` produces: the preset, then profile denies, allows and rules.
    let mut rules = preset::default_rules(SeccompAction::Errno { errno: 1 });
    rules.retain(|r| r.syscall != "ptrace");
    rules.push(SeccompRulePlan::new(
        "getppid",
        SeccompAction::Errno { errno: 13 },
        vec![],
    ));
    rules.push(SeccompRulePlan::new(
        "close",
        SeccompAction::KillProcess,
        vec![SeccompArgPlan::compare(0, SeccompOp::Gt, 1 << 40)],
    ));
    let p = plan(SeccompAction::Allow, rules);
    assert_equivalent("preset + overrides", &p);
}

#[test]
fn every_operator_matches_libseccomp_at_its_boundaries() {
    let values = [
        0,
        1,
        1000,
        0xffff_ffff,
        1 << 32,
        0x1_0000_0005,
        0x8000_0000_0000_0000,
        u64::MAX - 1,
        u64::MAX,
    ];
    for op in [
        SeccompOp::Eq,
        SeccompOp::Ne,
        SeccompOp::Lt,
        SeccompOp::Le,
        SeccompOp::Gt,
        SeccompOp::Ge,
    ] {
        for (i, v) in values.iter().enumerate() {
            let index = (i % 6) as u8;
            let p = plan(
                SeccompAction::Allow,
                vec![SeccompRulePlan::new(
                    "close",
                    SeccompAction::Errno { errno: 33 },
                    vec![SeccompArgPlan::compare(index, op, *v)],
                )],
            );
            assert_equivalent(&format!("{op:?} arg{index} {v:#x}"), &p);
        }
    }
    for (m, v) in [
        (0x1000_0000, 0x1000_0000),
        (0xffff_ffff, 0x5412),
        (0xff0, 0x3e0),
        (0xffff_0000_0000_0000, 0x1234_0000_0000_0000),
        (u64::MAX, 7),
        (0, 0),
        // Value bits outside the mask: never matches.
        (0xff, 0x100),
    ] {
        let p = plan(
            SeccompAction::Allow,
            vec![SeccompRulePlan::new(
                "ioctl",
                SeccompAction::Errno { errno: 1 },
                vec![SeccompArgPlan::masked(1, m, v)],
            )],
        );
        assert_equivalent(&format!("masked-eq {m:#x} {v:#x}"), &p);
    }
}

#[test]
fn combined_conditions_and_alternatives_match_libseccomp() {
    let errno = SeccompAction::Errno { errno: 1 };
    let p = plan(
        SeccompAction::Allow,
        vec![
            // AND of three conditions.
            SeccompRulePlan::new(
                "mmap",
                errno,
                vec![
                    SeccompArgPlan::compare(0, SeccompOp::Ge, 0x1_0000),
                    SeccompArgPlan::masked(2, 0x4, 0x4),
                    SeccompArgPlan::compare(3, SeccompOp::Ne, 0x22),
                ],
            ),
            // OR of several rules for one syscall.
            SeccompRulePlan::new(
                "socket",
                errno,
                vec![SeccompArgPlan::compare(0, SeccompOp::Eq, 16)],
            ),
            SeccompRulePlan::new(
                "socket",
                errno,
                vec![SeccompArgPlan::compare(0, SeccompOp::Eq, 17)],
            ),
            SeccompRulePlan::new(
                "socket",
                errno,
                vec![
                    SeccompArgPlan::compare(0, SeccompOp::Eq, 2),
                    SeccompArgPlan::compare(1, SeccompOp::Le, 3),
                ],
            ),
            SeccompRulePlan::new(
                "personality",
                errno,
                vec![SeccompArgPlan::compare(0, SeccompOp::Lt, 0x10)],
            ),
            SeccompRulePlan::new("getppid", SeccompAction::Trap, vec![]),
            SeccompRulePlan::new("getuid", SeccompAction::Log, vec![]),
            SeccompRulePlan::new("getgid", SeccompAction::KillThread, vec![]),
            SeccompRulePlan::new("getpid", SeccompAction::Errno { errno: 4094 }, vec![]),
            SeccompRulePlan::new("gettid", SeccompAction::Errno { errno: 0 }, vec![]),
        ],
    );
    assert_equivalent("combined", &p);
}

#[test]
fn allow_lists_match_libseccomp() {
    let allow = |s: &str| SeccompRulePlan::new(s, SeccompAction::Allow, vec![]);
    for default in [
        SeccompAction::Errno { errno: 38 },
        SeccompAction::KillProcess,
        SeccompAction::Trap,
    ] {
        let mut rules: Vec<SeccompRulePlan> = [
            "read",
            "write",
            "exit_group",
            "execve",
            "brk",
            "mmap",
            "rt_sigreturn",
            "openat",
            "newfstatat",
        ]
        .iter()
        .map(|s| allow(s))
        .collect();
        rules.push(SeccompRulePlan::new(
            "ioctl",
            SeccompAction::Allow,
            vec![SeccompArgPlan::masked(1, 0xffff_ffff, 0x5401)],
        ));
        rules.push(SeccompRulePlan::new(
            "kill",
            SeccompAction::Allow,
            vec![SeccompArgPlan::compare(1, SeccompOp::Eq, 0)],
        ));
        // A name that does not exist on x86_64 (negative number): nothing to match.
        rules.push(allow("socketcall"));
        let p = plan(default, rules);
        assert_equivalent(&format!("allow list, default {default:?}"), &p);
    }
    // No effective rule at all.
    assert_equivalent("empty", &plan(SeccompAction::Allow, Vec::new()));
}

#[test]
fn a_deny_list_longer_than_one_jump_range_matches_libseccomp() {
    // Every x86_64 syscall from 0 to 400 denied: the jeq chain spans several chunks.
    let names: Vec<String> = (0..400)
        .filter_map(|nr| {
            libseccomp::ScmpSyscall::from_raw_syscall(nr)
                .get_name_by_arch(libseccomp::ScmpArch::X8664)
                .ok()
        })
        .collect();
    assert!(names.len() > 300);
    let rules = names
        .iter()
        .map(|n| SeccompRulePlan::new(n, SeccompAction::Errno { errno: 1 }, vec![]))
        .collect();
    assert_equivalent("long deny list", &plan(SeccompAction::Allow, rules));
}

#[test]
fn shapes_with_libseccomp_precedence_are_left_to_libseccomp() {
    let errno = |e| SeccompAction::Errno { errno: e };
    // Two actions for one syscall under different conditions.
    let mixed = plan(
        SeccompAction::Allow,
        vec![
            SeccompRulePlan::new(
                "close",
                errno(1),
                vec![SeccompArgPlan::compare(0, SeccompOp::Eq, 1)],
            ),
            SeccompRulePlan::new(
                "close",
                errno(2),
                vec![SeccompArgPlan::compare(0, SeccompOp::Eq, 2)],
            ),
        ],
    );
    assert!(compile_both(&mixed).unwrap().0.is_none());
    // An unconditional rule next to a conditional one.
    let both = plan(
        SeccompAction::Allow,
        vec![
            SeccompRulePlan::new("close", errno(1), vec![]),
            SeccompRulePlan::new(
                "close",
                errno(1),
                vec![SeccompArgPlan::compare(0, SeccompOp::Eq, 2)],
            ),
        ],
    );
    assert!(compile_both(&both).unwrap().0.is_none());
    // errno 4095 is libseccomp's to refuse, as a rule and as the default action.
    let big = plan(
        SeccompAction::Allow,
        vec![SeccompRulePlan::new("getpid", errno(4095), vec![])],
    );
    let err = compile_seccomp(&big).unwrap_err().to_string();
    assert!(
        err.contains("getpid") && err.contains("libseccomp"),
        "{err}"
    );
    let big_default = plan(
        errno(4095),
        vec![SeccompRulePlan::new("getpid", SeccompAction::Allow, vec![])],
    );
    assert!(compile_seccomp(&big_default).is_err());
    // Extra architectures always go through libseccomp (compile_seccomp checks this).
    let mut extra = plan(
        SeccompAction::Allow,
        vec![SeccompRulePlan::new("getppid", errno(1), vec![])],
    );
    extra.extra_architectures = vec!["x86".into()];
    let prog = compile_seccomp(&extra).unwrap();
    let (_, reference) = compile_both(&extra).unwrap();
    assert_eq!(prog.filter.len(), reference.len());
}

#[test]
fn long_runs_of_masked_rules_match_libseccomp() {
    // 300 low-word masked-eq values on one argument: the shared `ret` is repeated across
    // segments; mixed with other masks, a 64-bit mask and a two-condition rule.
    let errno = SeccompAction::Errno { errno: 1 };
    let mut rules: Vec<SeccompRulePlan> = (0..300u64)
        .map(|i| {
            SeccompRulePlan::new(
                "ioctl",
                errno,
                vec![SeccompArgPlan::masked(1, 0xffff_ffff, 0x5400 + 7 * i)],
            )
        })
        .collect();
    rules.extend((0..40u64).map(|i| {
        SeccompRulePlan::new(
            "ioctl",
            errno,
            vec![SeccompArgPlan::masked(1, 0xfff0, i << 4)],
        )
    }));
    rules.push(SeccompRulePlan::new(
        "ioctl",
        errno,
        vec![SeccompArgPlan::masked(2, 0xff_0000_00ff, 0x12_0000_0034)],
    ));
    rules.push(SeccompRulePlan::new(
        "ioctl",
        errno,
        vec![
            SeccompArgPlan::compare(0, SeccompOp::Le, 2),
            SeccompArgPlan::masked(1, 0xff, 0x1),
        ],
    ));
    let p = plan(SeccompAction::Allow, rules);
    assert_equivalent("long masked runs", &p);
}
