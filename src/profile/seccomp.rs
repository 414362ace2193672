//! `[seccomp]`: the system-call filter.

use super::IntOrString;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A seccomp filter. Actions are written `allow`, `errno:NAME` (e.g. `errno:EPERM`),
/// `kill-process`, `kill-thread`, `trap` or `log`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Seccomp {
    /// Turn the filter off entirely (e.g. in a profile extending `builtin:strict`).
    /// Default: true when any layer has a `[seccomp]` table.
    pub enabled: Option<bool>,
    /// `default`: start from stockade's built-in deny set (what container runtimes deny:
    /// mount, ptrace, kexec, modules, bpf, keyring, io_uring, nested user namespaces,
    /// TIOCSTI, ...). `none`: start empty. Default: `none`.
    pub preset: Option<Preset>,
    /// Action for system calls no rule matches. Default: `allow`.
    pub default_action: Option<String>,
    /// System calls and `@groups` allowed (useful with a deny-by-default action).
    pub allow: Option<Vec<String>>,
    /// System calls and `@groups` denied with `deny-action`.
    pub deny: Option<Vec<String>>,
    /// Action for `deny` entries. Default: `errno:EPERM`.
    pub deny_action: Option<String>,
    /// Rules with their own action and argument conditions, after `allow`/`deny`.
    pub rule: Option<Vec<SeccompRule>>,
    /// Extra ABIs the filter accepts besides the native one: `x86` (i386), `x32`.
    /// Calls from ABIs not listed are killed.
    pub architectures: Option<Vec<String>>,
    /// Log denied calls to the kernel audit log (SECCOMP_FILTER_FLAG_LOG).
    pub log: Option<bool>,
}

/// Starting point of the filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Preset {
    /// stockade's built-in deny set.
    Default,
    /// No built-in rules.
    None,
}

/// One seccomp rule.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct SeccompRule {
    /// System calls and `@groups` the rule applies to.
    pub syscalls: Vec<String>,
    /// What happens when the rule matches, e.g. `errno:EACCES`.
    pub action: String,
    /// Argument conditions; all must hold for the rule to match.
    pub args: Option<Vec<SeccompArg>>,
}

/// A condition on one system-call argument.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct SeccompArg {
    /// Argument index, 0..5.
    pub index: u8,
    /// Comparison: eq, ne, lt, le, gt, ge, masked-eq.
    pub op: String,
    /// Value compared with (integer, or a string such as `"0x10"`).
    pub value: IntOrString,
    /// Mask for masked-eq: `(arg & mask) == value`.
    pub mask: Option<IntOrString>,
}
