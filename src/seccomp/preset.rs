//! The built-in `preset = "default"` deny set: what container runtimes (Docker/moby's
//! default profile, crun, Podman) deny by default, expressed as a deny list over an
//! allow-by-default filter.
//!
//! - whole groups: `@mount`, `@module`, `@reboot` (reboot, kexec), `@swap`, `@clock`,
//!   `@raw-io`, `@cpu-emulation`, `@obsolete`;
//! - single calls: ptrace, process_vm_readv/writev, bpf, perf_event_open, userfaultfd,
//!   keyctl/add_key/request_key, io_uring_*, acct, lookup_dcookie, open_by_handle_at
//!   ("shocker": opens any inode of the host filesystem by handle);
//! - `personality` except the values Docker allows (0, PER_LINUX32, UNAME26, both, and the
//!   0xffffffff query);
//! - nested user namespaces: `unshare` and `clone` with CLONE_NEWUSER in their flags, and
//!   `clone3` with ENOSYS whatever the deny action: its flags live in a struct seccomp
//!   cannot read, and ENOSYS makes libc fall back to `clone`, where they can be checked;
//! - `ioctl(fd, TIOCSTI)` and `ioctl(fd, TIOCLINUX)`: pushing characters into the
//!   controlling terminal's input (a sandbox escape through the parent shell).
//!
//! 32-bit arguments (`unsigned int` in the kernel: ioctl's request, personality) are compared
//! on their low 32 bits only, because the kernel ignores the high bits: an `eq` on all 64
//! bits would be bypassed by a caller setting garbage in the upper half.

use super::groups;
use crate::plan::{SeccompAction, SeccompArgPlan, SeccompRulePlan};

const CLONE_NEWUSER: u64 = 0x1000_0000;
const TIOCSTI: u64 = 0x5412;
const TIOCLINUX: u64 = 0x541c;
const LOW_32: u64 = 0xffff_ffff;
const ENOSYS: i32 = 38;

/// personality(2) values left allowed: PER_LINUX, PER_LINUX32, UNAME26, UNAME26|PER_LINUX32,
/// and the query 0xffffffff (what Docker's default profile allows).
pub const SAFE_PERSONALITIES: &[u64] = &[0x0, 0x8, 0x2_0000, 0x2_0008, 0xffff_ffff];

const DENIED_GROUPS: &[&str] = &[
    "@mount",
    "@module",
    "@reboot",
    "@swap",
    "@clock",
    "@raw-io",
    "@cpu-emulation",
    "@obsolete",
];

const DENIED_CALLS: &[&str] = &[
    "ptrace",
    "process_vm_readv",
    "process_vm_writev",
    "bpf",
    "perf_event_open",
    "userfaultfd",
    "keyctl",
    "add_key",
    "request_key",
    "io_uring_setup",
    "io_uring_enter",
    "io_uring_register",
    "acct",
    "lookup_dcookie",
    "open_by_handle_at",
];

/// Rules of the default preset; `deny` is the profile's deny action (default errno:EPERM).
pub fn default_rules(deny: SeccompAction) -> Vec<SeccompRulePlan> {
    let mut names: Vec<&str> = DENIED_GROUPS
        .iter()
        .flat_map(|g| groups::expand(g).unwrap_or_default())
        .chain(DENIED_CALLS.iter().copied())
        .collect();
    names.sort_unstable();
    names.dedup();
    let mut rules: Vec<SeccompRulePlan> = names
        .into_iter()
        .map(|s| SeccompRulePlan::new(s, deny, vec![]))
        .collect();

    for call in ["unshare", "clone"] {
        // Both take the flags in argument 0 on x86_64 (clone's order differs on s390 only).
        rules.push(SeccompRulePlan::new(
            call,
            deny,
            vec![SeccompArgPlan::masked(0, CLONE_NEWUSER, CLONE_NEWUSER)],
        ));
    }
    rules.push(SeccompRulePlan::new(
        "clone3",
        SeccompAction::Errno { errno: ENOSYS },
        vec![],
    ));
    for request in [TIOCSTI, TIOCLINUX] {
        rules.push(SeccompRulePlan::new(
            "ioctl",
            deny,
            vec![SeccompArgPlan::masked(1, LOW_32, request)],
        ));
    }
    for (mask, value) in complement_blocks(SAFE_PERSONALITIES) {
        rules.push(SeccompRulePlan::new(
            "personality",
            deny,
            vec![SeccompArgPlan::masked(0, mask, value)],
        ));
    }
    rules
}

/// Cover every 32-bit value except `allowed` with aligned power-of-two blocks, each one a
/// single masked-eq `(arg & mask) == value` (libseccomp allows one comparison per argument
/// in a rule, so "not in this set" has to be spelled as a union of blocks). The masks stay
/// within the low 32 bits, matching the kernel's `unsigned int` view of the argument.
pub fn complement_blocks(allowed: &[u64]) -> Vec<(u64, u64)> {
    let mut points: Vec<u64> = allowed.iter().map(|v| v & LOW_32).collect();
    points.sort_unstable();
    points.dedup();
    let mut blocks = Vec::new();
    let mut start = 0u64; // first value of the current gap
    for end in points.iter().copied().chain(std::iter::once(LOW_32 + 1)) {
        // Gap [start, end): split greedily into the largest aligned blocks.
        let mut lo = start;
        while lo < end {
            let mut size = if lo == 0 {
                1u64 << 32
            } else {
                1u64 << lo.trailing_zeros().min(32)
            };
            while lo + size > end {
                size >>= 1;
            }
            blocks.push((LOW_32 & !(size - 1), lo));
            lo += size;
        }
        start = end + 1;
    }
    blocks
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matches(blocks: &[(u64, u64)], v: u64) -> bool {
        blocks.iter().any(|(m, val)| v & m == *val)
    }

    #[test]
    fn complement_blocks_exclude_exactly_the_allowed_values() {
        let blocks = complement_blocks(SAFE_PERSONALITIES);
        for v in SAFE_PERSONALITIES {
            assert!(!matches(&blocks, *v), "{v:#x} must stay allowed");
            // The kernel ignores the high half, so must the filter.
            assert!(!matches(&blocks, v | 0xdead_0000_0000_0000));
        }
        for v in [
            1,
            7,
            9,
            0x1ffff,
            0x20001,
            0x20007,
            0x20009,
            0x40000,
            0x0040_0000,
            0xffff_fffe,
            0x8000_0000,
        ] {
            assert!(matches(&blocks, v), "{v:#x} must be denied");
            assert!(
                matches(&blocks, v | (1 << 40)),
                "{v:#x} with high bits must be denied"
            );
        }
        // Blocks are disjoint: every value matches at most one.
        for v in [1u64, 8, 0x2_0009, 0xffff_fffe] {
            assert!(blocks.iter().filter(|(m, val)| v & m == *val).count() <= 1);
        }
    }

    #[test]
    fn complement_of_nothing_is_everything_in_one_block() {
        assert_eq!(complement_blocks(&[]), vec![(0, 0)]);
        assert!(complement_blocks(&[0, 0xffff_ffff]).len() < 70);
    }

    #[test]
    fn preset_covers_what_runtimes_deny() {
        let deny = SeccompAction::Errno { errno: 1 };
        let rules = default_rules(deny);
        let unconditional = |s: &str| {
            rules
                .iter()
                .any(|r| r.syscall == s && r.args.is_empty() && r.action == deny)
        };
        for s in [
            "mount",
            "umount2",
            "pivot_root",
            "fsopen",
            "move_mount",
            "open_tree",
            "mount_setattr",
            "ptrace",
            "kexec_load",
            "kexec_file_load",
            "init_module",
            "finit_module",
            "delete_module",
            "bpf",
            "perf_event_open",
            "userfaultfd",
            "keyctl",
            "add_key",
            "request_key",
            "io_uring_setup",
            "io_uring_enter",
            "io_uring_register",
            "settimeofday",
            "clock_settime",
            "swapon",
            "swapoff",
            "reboot",
            "iopl",
            "open_by_handle_at",
        ] {
            assert!(unconditional(s), "preset must deny {s}");
        }
        for s in [
            "read",
            "openat",
            "execve",
            "clone",
            "unshare",
            "ioctl",
            "personality",
        ] {
            assert!(!unconditional(s), "preset must not deny all of {s}");
        }
        let clone3 = rules.iter().find(|r| r.syscall == "clone3").unwrap();
        assert_eq!(clone3.action, SeccompAction::Errno { errno: 38 });
        let newuser = |s: &str| {
            rules.iter().any(|r| {
                r.syscall == s
                    && r.args == [SeccompArgPlan::masked(0, CLONE_NEWUSER, CLONE_NEWUSER)]
            })
        };
        assert!(newuser("clone") && newuser("unshare"));
        for req in [TIOCSTI, TIOCLINUX] {
            assert!(rules.iter().any(
                |r| r.syscall == "ioctl" && r.args == [SeccompArgPlan::masked(1, LOW_32, req)]
            ));
        }
    }

    #[test]
    fn deny_action_is_the_profiles() {
        let rules = default_rules(SeccompAction::KillProcess);
        assert!(rules
            .iter()
            .filter(|r| r.syscall != "clone3")
            .all(|r| r.action == SeccompAction::KillProcess));
    }
}
