//! Notes and `org.stockade.*` annotations for the process and sandbox settings OCI has no
//! field for (Landlock, the wall-time limit, stockade's init, die-with-parent, systemd
//! pass-through, best-effort resources, time offsets).

use super::annotations as ann;
use super::export::to_json;
use super::{Note, NoteKind, OciError};
use crate::plan::{Compat, Plan};
use std::collections::BTreeMap;

/// Notes and annotations for what OCI has no field for.
pub(super) fn process_notes(
    plan: &Plan,
    notes: &mut Vec<Note>,
    annotations: &mut BTreeMap<String, String>,
) -> Result<(), OciError> {
    let p = &plan.process;
    let mut note = |kind, key: &str, message: String| {
        notes.push(Note {
            kind,
            key: key.to_string(),
            message,
        })
    };
    if let Some(l) = &plan.landlock {
        let value = ann::Landlock {
            compat: compat_name(l.compat).into(),
            abi: l.abi,
            handled_fs: l.handled_fs.clone(),
            paths: l
                .paths
                .iter()
                .map(|p| ann::LandlockPath {
                    path: p.path.to_string_lossy().into_owned(),
                    access: p.access.clone(),
                })
                .collect(),
            bind_tcp: l.bind_tcp.clone(),
            connect_tcp: l.connect_tcp.clone(),
            scopes: l.scopes.clone(),
            required: l.required.clone(),
        };
        annotations.insert(ann::LANDLOCK.into(), to_json(&value)?);
        note(
            NoteKind::NotEnforced,
            ann::LANDLOCK,
            format!(
                "landlock: OCI has no Landlock field; the {} path rule(s){} are not enforced",
                l.paths.len(),
                if l.bind_tcp.is_some() || l.connect_tcp.is_some() {
                    " and TCP port rules"
                } else {
                    ""
                }
            ),
        );
    }
    let value = ann::Timeout {
        timeout_ms: p.timeout_ms,
        kill_signal: p.kill_signal.name.clone(),
        grace_ms: p.grace_ms,
    };
    annotations.insert(ann::TIMEOUT.into(), to_json(&value)?);
    if let Some(ms) = p.timeout_ms {
        note(
            NoteKind::NotEnforced,
            ann::TIMEOUT,
            format!(
                "process.timeout: OCI has no wall-time limit; the payload is not stopped after \
                 {}",
                humantime::format_duration(std::time::Duration::from_millis(ms))
            ),
        );
    }
    if p.init && plan.namespaces.pid {
        annotations.insert(ann::INIT.into(), "true".into());
        note(
            NoteKind::NotEnforced,
            ann::INIT,
            "process.pid1: OCI runtimes start the payload as PID 1 itself; stockade's init \
             (zombie reaping, signal forwarding) is absent"
                .into(),
        );
    } else if p.init {
        note(
            NoteKind::NotEnforced,
            ann::INIT,
            "namespaces.pid = false: stockade's init kills what the payload leaves behind; \
             an OCI runtime leaves that to the container's cgroup"
                .into(),
        );
    }
    if p.die_with_parent {
        annotations.insert(ann::DIE_WITH_PARENT.into(), "true".into());
        note(
            NoteKind::NotEnforced,
            ann::DIE_WITH_PARENT,
            "process.die-with-parent: OCI has no parent-death signal; the container outlives \
             whoever started it"
                .into(),
        );
    }
    if p.terminal == crate::plan::Terminal::Auto {
        annotations.insert(ann::TERMINAL.into(), "auto".into());
        note(
            NoteKind::Approximated,
            ann::TERMINAL,
            "process.terminal = \"auto\": OCI's `terminal` is fixed in the bundle; exported \
             as false (a runtime gives a pty only with `terminal: true` and a console socket)"
                .into(),
        );
    }
    if !p.new_session {
        annotations.insert(ann::NEW_SESSION.into(), "false".into());
        note(
            NoteKind::Approximated,
            ann::NEW_SESSION,
            "process.new-session = false: runc and crun always start the payload in a new \
             session"
                .into(),
        );
    }
    let sd = &plan.systemd;
    if sd.notify_socket.is_some() || sd.listen_fds.is_some() {
        let value = ann::Systemd {
            notify: sd.notify_socket.is_some(),
            listen_fds: sd.listen_fds.is_some(),
        };
        annotations.insert(ann::SYSTEMD.into(), to_json(&value)?);
        note(
            NoteKind::NotEnforced,
            ann::SYSTEMD,
            "systemd: sd_notify relay and socket-activation fds are not passed through by the \
             bundle (OCI runtimes have their own, e.g. runc's NOTIFY_SOCKET handling)"
                .into(),
        );
    }
    let ns = &plan.namespaces;
    if ns.user && !ns.uid_map.iter().any(|m| m.inside == 0) {
        // The annotation only anchors the note; the maps are in linux.uidMappings.
        annotations.insert(ann::ROOT_UNMAPPED.into(), "true".into());
        note(
            NoteKind::Approximated,
            ann::ROOT_UNMAPPED,
            "namespaces.uid-map maps nothing to uid 0 in the sandbox: runc refuses such a \
             bundle (\"no user mapping found\"), crun runs it; map 0 to run it under runc"
                .into(),
        );
    }
    if ns.time && (ns.time_offsets.monotonic != 0 || ns.time_offsets.boottime != 0) {
        // linux.timeOffsets carries them; the annotation only anchors the note.
        annotations.insert(
            ann::TIME_OFFSETS.into(),
            format!(
                "monotonic={} boottime={}",
                ns.time_offsets.monotonic, ns.time_offsets.boottime
            ),
        );
        note(
            NoteKind::Approximated,
            ann::TIME_OFFSETS,
            "namespaces.time-offsets: runtimes differ: runc before 1.2 refuses time \
             namespaces, crun 1.8 creates one without applying the offsets"
                .into(),
        );
    }
    if let Some(r) = &plan.resources {
        if r.compat == Compat::BestEffort {
            annotations.insert(ann::RESOURCES_COMPAT.into(), "best-effort".into());
            note(
                NoteKind::Approximated,
                ann::RESOURCES_COMPAT,
                "resources.compat = best-effort: OCI runtimes refuse to start when a limit \
                 cannot be set"
                    .into(),
            );
        }
    }
    Ok(())
}

pub(super) fn compat_name(c: Compat) -> &'static str {
    match c {
        Compat::Required => "required",
        Compat::BestEffort => "best-effort",
    }
}
