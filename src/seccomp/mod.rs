//! seccomp data shared by the compiler and the executor: the named syscall groups
//! (systemd's `@group` vocabulary) and the built-in `default` deny preset.

pub mod bpf;
pub mod groups;
pub mod preset;

use crate::plan::SeccompRulePlan;
use std::collections::HashMap;

/// Which rules survive "a later rule for the same (syscall, conditions) replaces an
/// earlier one": `true` at the last occurrence of each key. Keeping the survivors in order
/// gives exactly what `retain` + `push` per rule gives, in O(n) instead of O(n²) (the
/// quadratic form was a visible share of a preset launch).
pub fn last_occurrences<'a>(
    rules: impl DoubleEndedIterator<Item = &'a SeccompRulePlan>,
) -> Vec<bool> {
    let mut seen: HashMap<&str, Vec<&[crate::plan::SeccompArgPlan]>> = HashMap::new();
    let mut keep: Vec<bool> = rules
        .rev()
        .map(|r| {
            let args = seen.entry(r.syscall.as_str()).or_default();
            let first_from_the_end = !args.contains(&r.args.as_slice());
            if first_from_the_end {
                args.push(&r.args);
            }
            first_from_the_end
        })
        .collect();
    keep.reverse();
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
        let keep = last_occurrences(rules.iter());
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
