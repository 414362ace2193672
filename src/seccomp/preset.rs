//! The built-in `preset = "default"` deny set. STUB: the confinement work completes it.

use crate::plan::{SeccompAction, SeccompRulePlan};

/// Rules of the default preset; `deny` is the profile's deny action (default errno:EPERM).
pub fn default_rules(deny: SeccompAction) -> Vec<SeccompRulePlan> {
    ["ptrace", "kexec_load", "bpf"]
        .into_iter()
        .map(|s| SeccompRulePlan {
            syscall: s.into(),
            action: deny,
            args: Vec::new(),
        })
        .collect()
}
