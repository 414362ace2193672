//! seccomp: compile the plan's filter to classic BPF in the parent, load it in the child.
//!
//! Two compilers, one meaning. The usual shape (native ABI only, one action per syscall)
//! is written directly by `crate::seccomp::bpf`: no libseccomp rule database, generator or
//! memfd on the launch path (they were ~2.6M instructions for the default preset). Every
//! other shape (extra ABIs, different actions for one syscall under different conditions,
//! errno values libseccomp refuses) goes through libseccomp as before. The equivalence
//! tests (`src/seccomp/equiv_tests.rs`, a child module of this one) evaluate both programs
//! on every syscall number, audit arch and argument boundary and require exact agreement.
//!
//! libseccomp generates BPF with allocations, so it never runs in the child; 2.5.4 has no
//! `seccomp_export_bpf_mem`, so its program is exported to a memfd and read back. The child
//! only calls seccomp(2) on a ready `sock_fprog`.
//!
//! Architectures: the filter covers the native ABI. Every other audit architecture (i386
//! via `int 0x80`) gets the bad-architecture action, and so do x32 syscall numbers (bit 30
//! set) in the x86_64 section; that action is kill-process, so a 32-bit entry point cannot
//! bypass a deny list. ABIs listed in `extra_architectures` get the same rules through
//! libseccomp, translated by syscall name.

use super::failure::{mark, Call};
use super::ConfineError;
use crate::plan::{SeccompAction, SeccompArgPlan, SeccompOp, SeccompPlan, SeccompRulePlan};
use crate::seccomp::bpf;
use libseccomp::{
    ScmpAction, ScmpArch, ScmpArgCompare, ScmpCompareOp, ScmpFilterContext, ScmpSyscall,
};
use std::io::{Read, Seek, SeekFrom};
use std::os::fd::FromRawFd;

/// A seccomp filter compiled to BPF in the parent, loaded by the child.
#[derive(Debug, Default, Clone)]
pub struct SeccompProgram {
    pub filter: Vec<libc::sock_filter>,
    /// Load with SECCOMP_FILTER_FLAG_LOG (log every non-allow action).
    pub log: bool,
}

/// The kernel's limit on a classic BPF program (BPF_MAXINSNS).
const BPF_MAXINSNS: usize = 4096;

/// The highest errno the kernel accepts in SECCOMP_RET_ERRNO (MAX_ERRNO).
const MAX_ERRNO: i32 = 4095;

/// The lowest errno libseccomp 2.5 refuses in SCMP_ACT_ERRNO (`seccomp_rule_add` and
/// `seccomp_init` fail with EINVAL); proven by the equivalence tests.
const LIBSECCOMP_MAX_ERRNO: i32 = 4095;

/// Resolve a syscall name for the native architecture, as the filter will.
/// `Some(n)` with `n >= 0`: the kernel number; `Some(n)` with `n < 0`: libseccomp knows the
/// name but it does not exist on this architecture; `None`: unknown to libseccomp.
pub fn resolve_syscall(name: &str) -> Option<i32> {
    ScmpSyscall::from_name(name)
        .ok()
        .map(|s| s.as_raw_syscall())
}

fn scmp_action(action: SeccompAction) -> Result<ScmpAction, ConfineError> {
    Ok(match action {
        SeccompAction::Allow => ScmpAction::Allow,
        SeccompAction::Errno { errno } => {
            if !(0..=MAX_ERRNO).contains(&errno) {
                return Err(ConfineError::BadErrno(errno));
            }
            ScmpAction::Errno(errno)
        }
        SeccompAction::KillProcess => ScmpAction::KillProcess,
        SeccompAction::KillThread => ScmpAction::KillThread,
        SeccompAction::Trap => ScmpAction::Trap,
        SeccompAction::Log => ScmpAction::Log,
    })
}

fn scmp_compare(arg: &SeccompArgPlan) -> Result<ScmpArgCompare, ConfineError> {
    if arg.index > 5 {
        return Err(ConfineError::BadArgIndex(arg.index));
    }
    let op = match arg.op {
        SeccompOp::Eq => ScmpCompareOp::Equal,
        SeccompOp::Ne => ScmpCompareOp::NotEqual,
        SeccompOp::Lt => ScmpCompareOp::Less,
        SeccompOp::Le => ScmpCompareOp::LessOrEqual,
        SeccompOp::Gt => ScmpCompareOp::Greater,
        SeccompOp::Ge => ScmpCompareOp::GreaterEqual,
        SeccompOp::MaskedEq => ScmpCompareOp::MaskedEqual(arg.mask),
    };
    Ok(ScmpArgCompare::new(u32::from(arg.index), op, arg.value))
}

fn scmp_arch(name: &str) -> Result<ScmpArch, ConfineError> {
    match name {
        "x86" | "i386" => Ok(ScmpArch::X86),
        "x32" => Ok(ScmpArch::X32),
        "x86-64" | "x86_64" => Ok(ScmpArch::X8664),
        other => Err(ConfineError::UnknownArch(other.to_string())),
    }
}

/// Compile the filter (parent, before clone).
///
/// Rules are applied in plan order; a later rule for the same syscall with the same argument
/// conditions replaces an earlier one (so a profile's `allow = ["ptrace"]` overrides the
/// preset's deny). Rules whose action equals the default action are no-ops and skipped
/// (libseccomp rejects them). A denied syscall libseccomp cannot resolve is an error: the
/// filter would otherwise silently not deny it.
pub fn compile_seccomp(plan: &SeccompPlan) -> Result<SeccompProgram, ConfineError> {
    let rules = effective_rules(plan)?;
    // The direct generator covers the usual shape (native ABI, one action per syscall) and
    // skips libseccomp's rule database and generator, the bulk of this layer's launch cost.
    if plan.extra_architectures.is_empty() {
        if let Some(filter) = generate_direct(plan, &rules)? {
            return Ok(SeccompProgram {
                filter,
                log: plan.log,
            });
        }
    }
    compile_with_libseccomp(plan, &rules)
}

/// A rule that reaches the filter: validated, its name resolved for the native ABI.
pub(crate) struct Resolved<'a> {
    rule: &'a SeccompRulePlan,
    /// The native syscall number (negative: the name does not exist on this ABI).
    nr: i32,
}

/// Apply the plan's override order and drop no-op rules, validating every action and
/// argument and resolving each name once.
fn effective_rules(plan: &SeccompPlan) -> Result<Vec<Resolved<'_>>, ConfineError> {
    scmp_action(plan.default_action)?;
    let keep = crate::seccomp::last_occurrences(&plan.rules);
    let mut out = Vec::with_capacity(plan.rules.len());
    for (rule, keep) in plan.rules.iter().zip(keep) {
        if !keep || rule.action == plan.default_action {
            continue;
        }
        scmp_action(rule.action)?;
        for arg in &rule.args {
            scmp_compare(arg)?;
        }
        let Some(nr) = resolve_syscall(&rule.syscall) else {
            if rule.action == SeccompAction::Allow {
                // Not allowing what cannot be named keeps an allow list closed.
                continue;
            }
            return Err(ConfineError::UnknownSyscall(rule.syscall.clone()));
        };
        out.push(Resolved { rule, nr });
    }
    Ok(out)
}

/// The SECCOMP_RET_* value of an action (already validated by `scmp_action`).
fn ret_value(action: SeccompAction) -> u32 {
    match action {
        SeccompAction::Allow => bpf::ret::ALLOW,
        SeccompAction::Errno { errno } => bpf::ret::ERRNO | (errno as u32 & 0xffff),
        SeccompAction::KillProcess => bpf::ret::KILL_PROCESS,
        SeccompAction::KillThread => bpf::ret::KILL_THREAD,
        SeccompAction::Trap => bpf::ret::TRAP,
        SeccompAction::Log => bpf::ret::LOG,
    }
}

/// The native-only filter without libseccomp; `Ok(None)` when the plan needs libseccomp.
pub(crate) fn generate_direct(
    plan: &SeccompPlan,
    rules: &[Resolved<'_>],
) -> Result<Option<Vec<libc::sock_filter>>, ConfineError> {
    // libseccomp refuses errno values from LIBSECCOMP_MAX_ERRNO up (with an error the
    // profile author sees); declining keeps that answer identical.
    let too_big = |a: SeccompAction| matches!(a, SeccompAction::Errno { errno } if errno >= LIBSECCOMP_MAX_ERRNO);
    if too_big(plan.default_action) || rules.iter().any(|r| too_big(r.rule.action)) {
        return Ok(None);
    }
    let native: Vec<bpf::NativeRule<'_>> = rules
        .iter()
        // Names that do not exist on x86_64 have no number to match (libseccomp drops them).
        .filter_map(|r| {
            Some(bpf::NativeRule {
                nr: u32::try_from(r.nr).ok()?,
                ret: ret_value(r.rule.action),
                args: &r.rule.args,
            })
        })
        .collect();
    let Some(filter) = bpf::generate(
        ret_value(plan.default_action),
        // KillThread (the library default) would leave the other threads of a payload running.
        bpf::ret::KILL_PROCESS,
        &native,
    ) else {
        return Ok(None);
    };
    if filter.len() > BPF_MAXINSNS {
        return Err(ConfineError::TooLong(filter.len()));
    }
    Ok(Some(filter))
}

/// Compile through libseccomp: extra architectures, and per-syscall mixes of actions whose
/// precedence is libseccomp's to define.
pub(crate) fn compile_with_libseccomp(
    plan: &SeccompPlan,
    rules: &[Resolved<'_>],
) -> Result<SeccompProgram, ConfineError> {
    let default = scmp_action(plan.default_action)?;
    let mut ctx = ScmpFilterContext::new(default).map_err(lib("seccomp_init"))?;
    // KillThread (the library default) would leave the other threads of a payload running.
    ctx.set_act_badarch(ScmpAction::KillProcess)
        .map_err(lib("bad-architecture action"))?;
    // no_new_privs is its own step; the filter is never loaded through libseccomp anyway.
    ctx.set_ctl_nnp(false)
        .map_err(lib("no_new_privs attribute"))?;
    for arch in &plan.extra_architectures {
        let arch = scmp_arch(arch)?;
        if arch != ScmpArch::native() {
            ctx.add_arch(arch).map_err(lib("seccomp_arch_add"))?;
        }
    }
    for Resolved { rule, nr } in rules {
        let action = scmp_action(rule.action)?;
        let syscall = ScmpSyscall::from(*nr);
        let compares = rule
            .args
            .iter()
            .map(scmp_compare)
            .collect::<Result<Vec<_>, _>>()?;
        let added = if compares.is_empty() {
            ctx.add_rule(action, syscall)
        } else {
            ctx.add_rule_conditional(action, syscall, &compares)
        };
        added.map_err(|e| ConfineError::Rule {
            syscall: rule.syscall.clone(),
            reason: e.to_string(),
        })?;
    }
    Ok(SeccompProgram {
        filter: export(&ctx)?,
        log: plan.log,
    })
}

/// Both programs for one plan, for the equivalence tests: (direct, libseccomp).
#[cfg(test)]
pub(crate) fn compile_both(
    plan: &SeccompPlan,
) -> Result<(Option<Vec<libc::sock_filter>>, Vec<libc::sock_filter>), ConfineError> {
    let rules = effective_rules(plan)?;
    let direct = generate_direct(plan, &rules)?;
    Ok((direct, compile_with_libseccomp(plan, &rules)?.filter))
}

fn lib(what: &'static str) -> impl Fn(libseccomp::error::SeccompError) -> ConfineError {
    move |e| ConfineError::Libseccomp {
        what,
        reason: e.to_string(),
    }
}

/// Export the BPF program through a memfd (libseccomp 2.5 can only write to an fd).
fn export(ctx: &ScmpFilterContext) -> Result<Vec<libc::sock_filter>, ConfineError> {
    // SAFETY: memfd_create with a static NUL-terminated name; the fd is owned by `file`.
    let fd = unsafe { libc::memfd_create(c"stockade-seccomp".as_ptr(), libc::MFD_CLOEXEC) };
    if fd < 0 {
        return Err(ConfineError::Export(std::io::Error::last_os_error()));
    }
    // SAFETY: fd was just returned by memfd_create and nothing else owns it.
    let mut file = unsafe { std::fs::File::from_raw_fd(fd) };
    ctx.export_bpf(&file).map_err(lib("seccomp_export_bpf"))?;
    let mut bytes = Vec::new();
    file.seek(SeekFrom::Start(0))
        .and_then(|_| file.read_to_end(&mut bytes))
        .map_err(ConfineError::Export)?;
    let size = std::mem::size_of::<libc::sock_filter>();
    if bytes.is_empty() || bytes.len() % size != 0 {
        return Err(ConfineError::Export(std::io::Error::other(format!(
            "exported BPF has {} bytes, not a whole number of {size}-byte instructions",
            bytes.len()
        ))));
    }
    // Refuse here rather than as an EINVAL from seccomp(2) in the child.
    if bytes.len() / size > BPF_MAXINSNS {
        return Err(ConfineError::TooLong(bytes.len() / size));
    }
    Ok(bytes
        .chunks_exact(size)
        .map(|c| libc::sock_filter {
            code: u16::from_ne_bytes([c[0], c[1]]),
            jt: c[2],
            jf: c[3],
            k: u32::from_ne_bytes([c[4], c[5], c[6], c[7]]),
        })
        .collect())
}

impl SeccompProgram {
    /// Load the filter (child, last step before execve). No allocation: only seccomp(2).
    /// Needs no_new_privs or CAP_SYS_ADMIN in the current user namespace (else EACCES).
    pub fn load(&self) -> Result<(), nix::Error> {
        let prog = libc::sock_fprog {
            // compile_seccomp guarantees at most BPF_MAXINSNS instructions (checked in export).
            len: self.filter.len() as u16,
            filter: self.filter.as_ptr() as *mut libc::sock_filter,
        };
        let flags = if self.log {
            libc::SECCOMP_FILTER_FLAG_LOG
        } else {
            0
        };
        mark(Call::Seccomp, 0);
        // SAFETY: `prog` points at `self.filter`, which outlives the call; the kernel copies it.
        let rc = unsafe {
            libc::syscall(
                libc::SYS_seccomp,
                libc::SECCOMP_SET_MODE_FILTER,
                flags,
                &prog as *const libc::sock_fprog,
            )
        };
        if rc == 0 {
            Ok(())
        } else {
            Err(nix::Error::last())
        }
    }
}

// The equivalence proof of the direct generator against libseccomp (lives with the other
// seccomp data in src/seccomp/, compiled here to reach the private compile functions).
#[cfg(test)]
#[path = "../../seccomp/equiv_tests.rs"]
mod equiv_tests;
