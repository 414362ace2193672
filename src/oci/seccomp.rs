//! `SeccompPlan` → `linux.seccomp` (by syscall name, never BPF: the runtime compiles it).
//!
//! Adjacent rules with the same action and conditions share one OCI entry (`names` is a
//! list); the Plan's rule order is kept. `masked-eq` follows libseccomp's argument order, which
//! OCI copies: `value` is the mask and `valueTwo` the value compared with.

use super::OciError;
use crate::plan::{SeccompAction, SeccompArgPlan, SeccompOp, SeccompPlan};
use oci_spec::runtime::{
    Arch, LinuxSeccomp, LinuxSeccompAction, LinuxSeccompArgBuilder, LinuxSeccompBuilder,
    LinuxSeccompFilterFlag, LinuxSeccompOperator, LinuxSyscall, LinuxSyscallBuilder,
};

/// The native architecture's libseccomp name.
pub(super) fn native_arch() -> Arch {
    if cfg!(target_arch = "aarch64") {
        Arch::ScmpArchAarch64
    } else {
        Arch::ScmpArchX86_64
    }
}

/// Profile ABI names → OCI architectures.
pub(super) fn extra_arch(name: &str) -> Option<Arch> {
    match name {
        "x86" | "i386" => Some(Arch::ScmpArchX86),
        "x32" => Some(Arch::ScmpArchX32),
        "arm" => Some(Arch::ScmpArchArm),
        _ => None,
    }
}

pub(super) fn action(a: SeccompAction) -> (LinuxSeccompAction, Option<u32>) {
    match a {
        SeccompAction::Allow => (LinuxSeccompAction::ScmpActAllow, None),
        SeccompAction::Errno { errno } => {
            (LinuxSeccompAction::ScmpActErrno, Some(errno.unsigned_abs()))
        }
        SeccompAction::KillProcess => (LinuxSeccompAction::ScmpActKillProcess, None),
        SeccompAction::KillThread => (LinuxSeccompAction::ScmpActKillThread, None),
        SeccompAction::Trap => (LinuxSeccompAction::ScmpActTrap, None),
        SeccompAction::Log => (LinuxSeccompAction::ScmpActLog, None),
    }
}

fn operator(op: SeccompOp) -> LinuxSeccompOperator {
    match op {
        SeccompOp::Eq => LinuxSeccompOperator::ScmpCmpEq,
        SeccompOp::Ne => LinuxSeccompOperator::ScmpCmpNe,
        SeccompOp::Lt => LinuxSeccompOperator::ScmpCmpLt,
        SeccompOp::Le => LinuxSeccompOperator::ScmpCmpLe,
        SeccompOp::Gt => LinuxSeccompOperator::ScmpCmpGt,
        SeccompOp::Ge => LinuxSeccompOperator::ScmpCmpGe,
        SeccompOp::MaskedEq => LinuxSeccompOperator::ScmpCmpMaskedEq,
    }
}

fn err(what: &str, e: impl std::fmt::Display) -> OciError {
    OciError::Export {
        what: format!("seccomp {what}"),
        reason: e.to_string(),
    }
}

fn syscall_entry(
    names: Vec<String>,
    a: SeccompAction,
    args: &[SeccompArgPlan],
) -> Result<LinuxSyscall, OciError> {
    let (act, errno) = action(a);
    let mut b = LinuxSyscallBuilder::default().names(names).action(act);
    if let Some(errno) = errno {
        b = b.errno_ret(errno);
    }
    if !args.is_empty() {
        let args = args
            .iter()
            .map(|arg| {
                let ab = LinuxSeccompArgBuilder::default()
                    .index(usize::from(arg.index))
                    .op(operator(arg.op));
                let ab = if arg.op == SeccompOp::MaskedEq {
                    ab.value(arg.mask).value_two(arg.value)
                } else {
                    ab.value(arg.value)
                };
                ab.build().map_err(|e| err("argument", e))
            })
            .collect::<Result<Vec<_>, _>>()?;
        b = b.args(args);
    }
    b.build().map_err(|e| err("rule", e))
}

pub(super) fn map_seccomp(s: &SeccompPlan) -> Result<LinuxSeccomp, OciError> {
    let mut arches = vec![native_arch()];
    for name in &s.extra_architectures {
        let arch = extra_arch(name).ok_or_else(|| OciError::Export {
            what: format!("seccomp architecture `{name}`"),
            reason: "no libseccomp architecture of that name".into(),
        })?;
        if !arches.contains(&arch) {
            arches.push(arch);
        }
    }
    let mut syscalls: Vec<LinuxSyscall> = Vec::new();
    let mut i = 0;
    while i < s.rules.len() {
        let first = &s.rules[i];
        let mut names = vec![first.syscall.clone()];
        let mut j = i + 1;
        while j < s.rules.len()
            && s.rules[j].action == first.action
            && s.rules[j].args == first.args
        {
            names.push(s.rules[j].syscall.clone());
            j += 1;
        }
        syscalls.push(syscall_entry(names, first.action, &first.args)?);
        i = j;
    }
    let (default_action, default_errno) = action(s.default_action);
    let mut b = LinuxSeccompBuilder::default()
        .default_action(default_action)
        .architectures(arches);
    if let Some(errno) = default_errno {
        b = b.default_errno_ret(errno);
    }
    if s.log {
        b = b.flags(vec![LinuxSeccompFilterFlag::SeccompFilterFlagLog]);
    }
    if !syscalls.is_empty() {
        b = b.syscalls(syscalls);
    }
    b.build().map_err(|e| err("filter", e))
}
