//! `[process]` → [`ProcessPlan`] (the environment is filled in by `env`).

use super::namespaces::{needs_helper, Namespaces};
use super::{CompileOptions, Ctx};
use crate::plan::{IdMap, ProcessPlan, Signal, Terminal};
use crate::profile::process::Pid1;
use crate::profile::Profile;
use crate::profile::TerminalSetting;
use crate::units;
use std::path::PathBuf;

pub fn compile(
    cx: &mut Ctx,
    p: &Profile,
    ns: &Option<Namespaces>,
    opts: &CompileOptions,
) -> Option<ProcessPlan> {
    let pr = p.process.clone().unwrap_or_default();
    let argv = match (&opts.command, &pr.command) {
        (Some(c), _) if !c.is_empty() => c.clone(),
        (_, Some(c)) if !c.is_empty() => {
            let mut out = Vec::new();
            for (i, a) in c.iter().enumerate() {
                out.push(
                    cx.expand(&format!("process.command[{i}]"), a)
                        .unwrap_or_default(),
                );
            }
            out
        }
        (_, Some(_)) => {
            cx.error(
                "process.command",
                "`process.command` is empty",
                Some("give the command and its arguments, e.g. [\"make\", \"-j2\"]".into()),
            );
            Vec::new()
        }
        _ if opts.command_optional => Vec::new(),
        _ => {
            cx.error(
                "process",
                "no command to run",
                Some(
                    "set `process.command`, or pass one: `stockade run PROFILE -- CMD ARGS...`"
                        .into(),
                ),
            );
            Vec::new()
        }
    };
    let cwd = match &pr.cwd {
        Some(c) => cx.abs_path("process.cwd", c),
        None => Some(PathBuf::from("/")),
    };
    let in_userns = ns.as_ref().is_some_and(|n| n.plan.user);
    let (def_uid, def_gid) = if in_userns {
        (0, 0)
    } else {
        (cx.host.uid, cx.host.gid)
    };
    let uid = match &pr.user {
        Some(v) => cx
            .uint("process.user", v, u64::from(u32::MAX - 1))
            .map(|v| v as u32),
        None => Some(def_uid),
    };
    let gid = match &pr.group {
        Some(v) => cx
            .uint("process.group", v, u64::from(u32::MAX - 1))
            .map(|v| v as u32),
        None => Some(def_gid),
    };
    let mut groups = Vec::new();
    for (i, g) in pr.groups.iter().flatten().enumerate() {
        if let Some(g) = cx.uint(&format!("process.groups[{i}]"), g, u64::from(u32::MAX - 1)) {
            groups.push(g as u32);
        }
    }
    if !in_userns
        && cx.host.uid != 0
        && (uid.is_some_and(|u| u != cx.host.uid)
            || gid.is_some_and(|g| g != cx.host.gid)
            || !groups.is_empty())
    {
        cx.error_on_key(
            "process.user",
            "changing the user or groups without root needs a user namespace",
            Some("set `namespaces.user = true`, or remove process.user/group/groups".into()),
        );
    }
    // An unprivileged caller writing its own single-id map must deny setgroups(2) first
    // (the kernel's rule), so supplementary groups could only fail at run time.
    let setgroups_denied =
        in_userns && cx.host.uid != 0 && !ns.as_ref().is_some_and(|n| n.plan.gid_map_helper);
    if setgroups_denied && !groups.is_empty() {
        cx.error(
            "process.groups",
            "supplementary groups need root or a multi-range gid map (newgidmap): an unprivileged user namespace denies setgroups(2)",
            Some("remove `process.groups`, or map a range with `namespaces.gid-map` (package uidmap)".into()),
        );
    }
    let umask = match &pr.umask {
        Some(v) => cx.mode("process.umask", v, 0o777),
        None => Some(0o022),
    };
    let timeout_ms = pr
        .timeout
        .as_ref()
        .and_then(|t| cx.duration_ms("process.timeout", t));
    if timeout_ms == Some(0) {
        cx.error(
            "process.timeout",
            "`process.timeout` must be longer than zero",
            None,
        );
    }
    let grace_ms = match &pr.grace {
        Some(g) => cx.duration_ms("process.grace", g),
        None => Some(10_000),
    };
    let kill_signal = match &pr.kill_signal {
        Some(v) => {
            let text = v.to_string();
            match units::parse_signal(text.trim_matches('"')) {
                Ok((number, name)) => Some(Signal { number, name }),
                Err(e) => {
                    cx.error(
                        "process.kill-signal",
                        format!("`process.kill-signal`: {}", e.message),
                        e.help,
                    );
                    None
                }
            }
        }
        None => Some(Signal {
            number: 15,
            name: "SIGTERM".into(),
        }),
    };
    let pid_ns = ns.as_ref().is_some_and(|n| n.plan.pid);
    if pr.pid1.is_some() && !pid_ns {
        cx.warn(
            "process.pid1",
            "`process.pid1` has no effect without a PID namespace",
            Some("set `namespaces.pid = true` or remove it".into()),
        );
    }
    // Without a PID namespace init always runs: it is the keeper that kills what the payload
    // leaves behind (exec::init); `pid1` chooses only what is PID 1 of a new namespace.
    let init = !pid_ns || pr.pid1 != Some(Pid1::Payload);
    let new_session = pr.new_session.unwrap_or(true);
    let terminal = match pr.terminal {
        None | Some(TerminalSetting::Auto) if !new_session => Terminal::Never,
        None | Some(TerminalSetting::Auto) => Terminal::Auto,
        Some(TerminalSetting::Never) => Terminal::Never,
        Some(TerminalSetting::Always) => {
            // The pty becomes the payload's controlling terminal, which needs a session of
            // its own; without one the payload already shares the caller's terminal.
            if !new_session {
                cx.error_on_key(
                    "process.terminal",
                    "`process.terminal = true` needs `process.new-session = true`",
                    Some("remove `new-session = false`, or set `terminal = false`".into()),
                );
            }
            Terminal::Always
        }
    };
    let (uid, gid, cwd, umask, grace_ms, kill_signal) =
        (uid?, gid?, cwd?, umask?, grace_ms?, kill_signal?);
    Some(ProcessPlan {
        argv,
        env: Vec::new(),
        cwd,
        uid,
        gid,
        groups,
        umask,
        new_session,
        terminal,
        init,
        die_with_parent: pr.die_with_parent.unwrap_or(true),
        timeout_ms,
        kill_signal,
        grace_ms,
    })
}

/// Fill default id maps (the caller mapped to the process's inside ids) once both are known.
pub fn default_maps(
    ns: &mut crate::plan::NamespacePlan,
    process: &ProcessPlan,
    caller_uid: u32,
    caller_gid: u32,
) {
    if !ns.user {
        return;
    }
    if ns.uid_map.is_empty() {
        ns.uid_map = vec![IdMap {
            inside: process.uid,
            outside: caller_uid,
            count: 1,
        }];
    }
    if ns.gid_map.is_empty() {
        ns.gid_map = vec![IdMap {
            inside: process.gid,
            outside: caller_gid,
            count: 1,
        }];
    }
    ns.uid_map_helper = needs_helper(&ns.uid_map, caller_uid, caller_uid);
    ns.gid_map_helper = needs_helper(&ns.gid_map, caller_gid, caller_uid);
}

/// The working directory must exist in the sandbox: chdir runs after the mounts and nothing
/// creates it. Said at `check`, naming what took its mount away when a later file did
/// (`[remove] mount = ["${PWD}"]` on `builtin:strict` leaves `cwd = "${PWD}"` behind).
pub fn check_cwd(
    cx: &mut Ctx,
    raw: &str,
    cwd: &std::path::Path,
    fs: &super::filesystem::Fs,
    removed: &[super::mount_hiding::RemovedMount],
) {
    let why = if !fs.can_see(cwd) {
        "no mount provides it".to_owned()
    } else if let Some(t) = fs
        .mount_ns
        .then(|| super::mount_hiding::in_empty_tmpfs(&fs.mounts, cwd))
        .flatten()
    {
        format!(
            "it lies in the empty tmpfs at `{}` and no mount creates it",
            t.display()
        )
    } else {
        return;
    };
    match super::mount_hiding::RemovedMount::providing(removed, cx, cwd) {
        Some(r) => r.report(
            cx,
            "process.cwd",
            raw,
            cwd,
            "set `process.cwd` in this file to a directory the sandbox has, e.g. \"/\"".into(),
        ),
        None => cx.error(
            "process.cwd",
            format!(
                "the working directory `{}` will not exist in the sandbox: {why}",
                cwd.display()
            ),
            Some(
                "set `process.cwd` to a directory the sandbox has (a mount target, or `/`)".into(),
            ),
        ),
    }
}
