//! seccomp data shared by the compiler and the executor: the named syscall groups
//! (systemd's `@group` vocabulary) and the built-in `default` deny preset.

pub mod bpf;
pub mod groups;
pub mod preset;

use crate::plan::{SeccompArgPlan, SeccompOp, SeccompRulePlan};
use std::cmp::Ordering;

/// The usual container-escape and kernel-attack surface: `audit` flags a filter that allows
/// any of them (STK-SC-003), and `learn` never puts one in a profile without
/// `--allow-dangerous` (mount, bpf, ptrace, io_uring, user namespaces, modules, ...).
pub const DANGEROUS_SYSCALLS: &[&str] = &[
    "add_key",
    "bpf",
    "delete_module",
    "finit_module",
    "fsconfig",
    "fsmount",
    "fsopen",
    "init_module",
    "io_uring_setup",
    "kexec_file_load",
    "kexec_load",
    "keyctl",
    "mount",
    "move_mount",
    "open_by_handle_at",
    "open_tree",
    "perf_event_open",
    "pivot_root",
    "process_vm_writev",
    "ptrace",
    "reboot",
    "request_key",
    "swapon",
    "umount2",
    "unshare",
    "userfaultfd",
];

/// Also withheld by `learn` without `--allow-dangerous`, though `audit` does not count them
/// (the `default` preset allows `setns`, which only joins namespaces the payload holds
/// and has capabilities over): a learnt profile stays at least as narrow as the preset.
pub const LEARN_ALSO_WITHHELD: &[&str] = &[
    "fspick",
    "io_uring_enter",
    "io_uring_register",
    "mount_setattr",
    "process_vm_readv",
    "setns",
    "swapoff",
    "umount",
];

/// A total order on conditions, so that equal rule keys sort next to each other.
fn cmp_args(a: &[SeccompArgPlan], b: &[SeccompArgPlan]) -> Ordering {
    let key = |x: &SeccompArgPlan| {
        let op = match x.op {
            SeccompOp::Eq => 0u8,
            SeccompOp::Ne => 1,
            SeccompOp::Lt => 2,
            SeccompOp::Le => 3,
            SeccompOp::Gt => 4,
            SeccompOp::Ge => 5,
            SeccompOp::MaskedEq => 6,
        };
        (x.index, op, x.value, x.mask)
    };
    a.iter().map(key).cmp(b.iter().map(key))
}

/// Which rules survive "a later rule for the same (syscall, conditions) replaces an
/// earlier one": `true` at the last occurrence of each key. Keeping the survivors in order
/// gives exactly what `retain` + `push` per rule gives, without comparing every rule with
/// every other one (the quadratic form was a visible share of a preset launch): a stable
/// sort by key puts the occurrences of one key together, in plan order.
pub fn last_occurrences(rules: &[SeccompRulePlan]) -> Vec<bool> {
    let mut order: Vec<usize> = (0..rules.len()).collect();
    order.sort_by(|&i, &j| {
        let (a, b) = (&rules[i], &rules[j]);
        a.syscall
            .cmp(&b.syscall)
            .then_with(|| cmp_args(&a.args, &b.args))
    });
    let mut keep = vec![false; rules.len()];
    for same in order
        .chunk_by(|&i, &j| rules[i].syscall == rules[j].syscall && rules[i].args == rules[j].args)
    {
        if let Some(&last) = same.last() {
            keep[last] = true;
        }
    }
    keep
}

#[cfg(test)]
mod tests {
    use super::last_occurrences;
    use crate::plan::{SeccompAction, SeccompArgPlan, SeccompOp, SeccompRulePlan};

    #[test]
    fn last_occurrences_keeps_what_retain_and_push_keep() {
        let arg = |v| SeccompArgPlan {
            index: 0,
            op: SeccompOp::Eq,
            value: v,
            mask: 0,
        };
        let names = ["read", "write", "close"];
        // A deterministic mix of repeated names, conditions and actions.
        let rules: Vec<SeccompRulePlan> = (0..60u64)
            .map(|i| SeccompRulePlan {
                syscall: names[(i * 7 % 3) as usize].into(),
                action: SeccompAction::Errno { errno: i as i32 },
                args: if i % 4 == 0 { vec![] } else { vec![arg(i % 3)] },
            })
            .collect();
        let mut reference: Vec<&SeccompRulePlan> = Vec::new();
        for r in &rules {
            reference.retain(|o| !(o.syscall == r.syscall && o.args == r.args));
            reference.push(r);
        }
        let keep = last_occurrences(&rules);
        let fast: Vec<&SeccompRulePlan> = rules
            .iter()
            .zip(keep)
            .filter(|(_, k)| *k)
            .map(|(r, _)| r)
            .collect();
        assert_eq!(fast, reference);
        assert!(fast.len() < rules.len() && fast.len() > 3);
    }
}
