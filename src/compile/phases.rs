//! `[[phase]]` → one [`Compiled`] plan per phase.
//!
//! A phase is the whole profile with the phase's keys applied on top: its command replaces
//! `process.command`, its `network` replaces `[network]`, its mounts come after the
//! profile's (shadowing them), its `resources` replace `[resources]`. Each phase then
//! compiles like any profile, so every check and diagnostic applies to it. A profile
//! without phases is one unnamed phase.

use super::{compile, CompileOptions, Compiled, Ctx};
use crate::diag::Diagnostics;
use crate::host::HostFacts;
use crate::profile::load::Loaded;

/// One compiled phase (`name` is empty for a profile without phases).
#[derive(Debug, Clone)]
pub struct CompiledPhase {
    pub name: String,
    pub compiled: Compiled,
}

/// Compile every phase (or only `only`). Errors of every phase are collected.
pub fn compile_phases(
    loaded: &Loaded,
    host: &HostFacts,
    opts: &CompileOptions,
    only: Option<&str>,
) -> Result<Vec<CompiledPhase>, Diagnostics> {
    compile_phases_with(loaded, host, opts, only, compile)
}

/// [`compile_phases`] with each phase compiled by `compile_one`: the CLI passes
/// `host_links::compile_on_host`, which probes the host's links between two pure compiles.
pub fn compile_phases_with(
    loaded: &Loaded,
    host: &HostFacts,
    opts: &CompileOptions,
    only: Option<&str>,
    compile_one: impl Fn(&Loaded, &HostFacts, &CompileOptions) -> Result<Compiled, Diagnostics>,
) -> Result<Vec<CompiledPhase>, Diagnostics> {
    let Some(phases) = loaded.profile.phase.clone() else {
        if let Some(n) = only {
            let mut cx = Ctx::new(host);
            cx.error(
                "version",
                format!("`--phase {n}`: this profile has no phases"),
                Some("remove `--phase`, or add `[[phase]]` tables".into()),
            );
            let mut d = cx.finish();
            loaded.locate(&mut d);
            return Err(d);
        }
        return compile_one(loaded, host, opts).map(|compiled| {
            vec![CompiledPhase {
                name: String::new(),
                compiled,
            }]
        });
    };
    let mut cx = Ctx::new(host);
    let mut names: Vec<String> = Vec::new();
    if phases.is_empty() {
        cx.error_on_key(
            "phase",
            "`phase` is empty",
            Some("remove it, or list at least one phase".into()),
        );
    }
    for (i, ph) in phases.iter().enumerate() {
        let key = format!("phase[{i}]");
        match &ph.name {
            None => cx.error(
                &key,
                format!("`{key}` has no `name`"),
                Some("add `name = \"fetch\"` (or another unique name)".into()),
            ),
            Some(n)
                if n.is_empty()
                    || !n
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') =>
            {
                cx.error(
                    &format!("{key}.name"),
                    format!("phase name `{n}` is not a simple name"),
                    Some("use letters, digits, `-` and `_`".into()),
                )
            }
            Some(n) if names.contains(n) => cx.error(
                &format!("{key}.name"),
                format!("two phases are named `{n}`"),
                Some("phase names must be unique".into()),
            ),
            Some(n) => names.push(n.clone()),
        }
        if ph.command.as_ref().is_none_or(|c| c.is_empty()) {
            cx.error(
                &key,
                format!("`{key}` has no `command`"),
                Some("add `command = [\"...\"]`: each phase runs its own command".into()),
            );
        }
    }
    if let Some(n) = only {
        if !names.iter().any(|x| x == n) {
            cx.error(
                "phase",
                format!("`--phase {n}`: no such phase"),
                Some(format!("the phases are: {}", names.join(", "))),
            );
        }
    }
    let mut diags = cx.finish();
    if diags.has_errors() {
        loaded.locate(&mut diags);
        return Err(diags);
    }
    let mut out = Vec::new();
    let mut errors = Diagnostics::default();
    let mut first = true;
    for ph in phases {
        let name = ph.name.clone().unwrap_or_default();
        if only.is_some_and(|n| n != name) {
            continue;
        }
        let mut l = loaded.clone();
        // Loading's warnings are the same for every phase: said once.
        if !std::mem::take(&mut first) {
            l.warnings = Diagnostics::default();
        }
        let p = &mut l.profile;
        p.phase = None;
        let mut process = p.process.clone().unwrap_or_default();
        process.command = ph.command.clone();
        p.process = Some(process);
        if let Some(n) = ph.network {
            p.network = Some(n);
        }
        if let Some(m) = ph.mount {
            p.mount.get_or_insert_with(Vec::new).extend(m);
        }
        if let Some(r) = ph.resources {
            p.resources = Some(r);
        }
        // The CLI's `-- CMD` cannot replace a phase's command.
        let phase_opts = CompileOptions {
            command: None,
            command_optional: opts.command_optional,
        };
        match compile_one(&l, host, &phase_opts) {
            Ok(compiled) => out.push(CompiledPhase { name, compiled }),
            Err(d) => errors.0.extend(d.0),
        }
    }
    if errors.has_errors() {
        return Err(errors);
    }
    Ok(out)
}
