//! The compiler: a merged [`Profile`](crate::profile::Profile) plus [`HostFacts`] → [`Plan`].
//!
//! Pure: no syscalls, no environment reads (the environment comes in `HostFacts`). It
//! resolves everything (variables, absolute normalized paths, bytes, syscall, capability,
//! signal and rlimit numbers, defaults), collects every diagnostic before failing, and
//! rejects contradictions. Diagnostics name profile keys; [`Loaded::locate`] turns keys into
//! file:line:col through the origins recorded while merging.

mod caps;
mod cgroup;
mod ctx;
mod egress;
mod env;
mod filesystem;
mod host_paths;
mod landlock;
mod mount_hiding;
mod mount_safety;
mod namespaces;
mod phases;
mod process;
mod protect;
mod rlimit;
mod seccomp;
mod steps;
mod systemd;
mod vars;

pub use ctx::Ctx;
pub use landlock::{access_names, ACCESS_RIGHTS};
pub use phases::{compile_phases, compile_phases_with, CompiledPhase};
pub use rlimit::RLIMITS;
pub use steps::with_learning_filter;

use crate::diag::Diagnostics;
use crate::host::HostFacts;
use crate::plan::Plan;
use crate::profile::load::Loaded;

/// The inherited mounts that `reset` or `[remove]` took away, with where.
fn removed_mounts(loaded: &Loaded) -> Vec<mount_hiding::RemovedMount> {
    use crate::profile::compose::Action;
    loaded
        .changes
        .iter()
        .filter(|c| c.action != Action::Replaced)
        .filter_map(|c| {
            Some(mount_hiding::RemovedMount {
                written: c.mount_target.clone()?,
                action: c.action.word(),
                by: c.by.clone(),
            })
        })
        .collect()
}

/// Inputs that are not part of the profile.
#[derive(Debug, Clone, Default)]
pub struct CompileOptions {
    /// `stockade run P -- CMD ARGS`: replaces `process.command`.
    pub command: Option<Vec<String>>,
    /// A missing command is not an error (`check`, `plan` without `-- CMD`): the plan's
    /// argv is then empty, to be given on the command line.
    pub command_optional: bool,
}

/// A successful compilation: the plan and the warnings found on the way.
#[derive(Debug, Clone)]
pub struct Compiled {
    pub plan: Plan,
    pub warnings: Diagnostics,
}

/// Compile a loaded profile. Errors and warnings carry spans resolved from `loaded`.
pub fn compile(
    loaded: &Loaded,
    host: &HostFacts,
    opts: &CompileOptions,
) -> Result<Compiled, Diagnostics> {
    let mut cx = Ctx::new(host);
    let p = &loaded.profile;
    if p.phase.is_some() {
        // A phased profile is a list of plans: `compile_phases` compiles each phase.
        cx.error_on_key(
            "phase",
            "this profile has phases: compile it phase by phase",
            Some("stockade run/plan/check handle phases; `--phase NAME` picks one".into()),
        );
    }
    let ns = namespaces::compile(&mut cx, p);
    let process = process::compile(&mut cx, p, &ns, opts);
    let env = env::compile(&mut cx, p);
    let fs = filesystem::compile(&mut cx, p, &ns);
    let (protected_paths, unprotected_paths) = match &fs {
        Some(f) => protect::compile(&mut cx, p, &f.mounts),
        None => (Vec::new(), Vec::new()),
    };
    let resources = cgroup::compile(&mut cx, p);
    // Without namespaces (an error already reported) assume the stricter case.
    let rlimits = rlimit::compile(&mut cx, p, ns.as_ref().is_none_or(|n| n.plan.user));
    let seccomp = seccomp::compile(&mut cx, p);
    let removed = removed_mounts(loaded);
    if let (Some(pr), Some(f)) = (&process, &fs) {
        let raw = p
            .process
            .as_ref()
            .and_then(|x| x.cwd.as_deref())
            .unwrap_or("/");
        process::check_cwd(&mut cx, raw, &pr.cwd, f, &removed);
    }
    let landlock = landlock::compile(&mut cx, p, &fs, &removed);
    let capabilities = caps::compile(&mut cx, p, &ns);
    let sandbox = systemd::Sandbox {
        mount_ns: ns.as_ref().is_some_and(|n| n.plan.mount),
        pid_ns: ns.as_ref().is_some_and(|n| n.plan.pid),
        init: process.as_ref().is_some_and(|pr| pr.init),
    };
    let systemd = systemd::compile(&mut cx, p, sandbox);
    let mut env = env;
    systemd::extend_env(&cx, &systemd, sandbox, &mut env);
    let mut fs = fs;
    let egress = egress::compile(&mut cx, p, &ns, fs.as_mut(), &mut env);
    let mut diags = cx.finish();
    loaded.locate(&mut diags);
    // Loading's warnings (already located) come first, in the order of the files.
    diags.0.splice(0..0, loaded.warnings.0.iter().cloned());
    if diags.has_errors() {
        return Err(diags);
    }
    let (Some(mut ns), Some(mut process), Some(fs), Some(capabilities)) =
        (ns, process, fs, capabilities)
    else {
        return Err(diags);
    };
    process.env = env;
    process::default_maps(&mut ns.plan, &process, host.uid, host.gid);
    let mut plan = Plan {
        source: loaded.name.clone(),
        description: p.description.clone(),
        process,
        namespaces: ns.plan,
        network: ns.network,
        egress,
        root: fs.root,
        hostname: fs.hostname,
        domainname: fs.domainname,
        mounts: fs.mounts,
        masked_paths: fs.masked_paths,
        read_only_paths: fs.read_only_paths,
        protected_paths,
        unprotected_paths,
        resources,
        rlimits,
        seccomp,
        landlock,
        capabilities,
        systemd,
        warnings: diags.0.iter().map(|d| d.message.clone()).collect(),
        steps: Vec::new(),
    };
    plan.steps = steps::order(&plan, host);
    Ok(Compiled {
        plan,
        warnings: diags,
    })
}
