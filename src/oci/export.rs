//! Plan → OCI bundle (`config.json`, `rootfs/`, `files/`).

use super::annotations::{self as ann};
use super::mounts::{map_mounts, PROC_MASKED, PROC_READ_ONLY};
use super::resources::map_resources;
use super::seccomp::map_seccomp;
use super::{json, Note, NoteKind, OciError, OCI_VERSION};
use crate::plan::{IdMap, MountOp, Plan, RootKind};
use oci_spec::runtime::{
    Capabilities, Capability, LinuxBuilder, LinuxCapabilities, LinuxCapabilitiesBuilder,
    LinuxIdMapping, LinuxIdMappingBuilder, LinuxNamespace, LinuxNamespaceBuilder,
    LinuxNamespaceType, LinuxTimeOffset, LinuxTimeOffsetBuilder, PosixRlimit, PosixRlimitBuilder,
    PosixRlimitType, ProcessBuilder, RootBuilder, Spec, UserBuilder,
};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

/// Something the export creates inside `rootfs/` (only for tmpfs-root plans).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RootfsEntry {
    /// A directory (parents are created with mode 0755).
    Dir { path: PathBuf, mode: u32 },
    /// A symbolic link.
    Symlink { path: PathBuf, link: String },
}

/// A file the export writes into the bundle, bind-mounted by `config.json`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundleFile {
    /// Relative to the bundle directory.
    pub path: PathBuf,
    pub content: String,
    pub mode: u32,
}

/// The result of exporting a Plan, before anything is written.
#[derive(Debug, Clone)]
pub struct Exported {
    /// The canonical `config.json` text.
    pub config_json: String,
    pub notes: Vec<Note>,
    /// `Some` when the bundle gets its own `rootfs/` directory (tmpfs-root plans).
    pub rootfs: Option<Vec<RootfsEntry>>,
    pub files: Vec<BundleFile>,
    /// Host uid and gid that own `rootfs/` and `files/`: with a user namespace, the host ids
    /// of the sandbox's root (else of the payload's user), so that the runtime, running as
    /// that root inside the namespace, can create mount points in `rootfs` as stockade does in
    /// its own tmpfs root.
    pub owner: Option<(u32, u32)>,
}

/// The host id that sandbox id `inside` maps to.
fn host_id(maps: &[IdMap], inside: u32) -> Option<u32> {
    maps.iter()
        .find(|m| inside >= m.inside && inside - m.inside < m.count)
        .map(|m| m.outside + (inside - m.inside))
}

fn bundle_owner(plan: &Plan) -> Option<(u32, u32)> {
    let ns = &plan.namespaces;
    if !ns.user {
        return None;
    }
    let uid = host_id(&ns.uid_map, 0).or_else(|| host_id(&ns.uid_map, plan.process.uid))?;
    let gid = host_id(&ns.gid_map, 0).or_else(|| host_id(&ns.gid_map, plan.process.gid))?;
    Some((uid, gid))
}

fn build_err(what: &str, e: impl std::fmt::Display) -> OciError {
    OciError::Export {
        what: what.to_string(),
        reason: e.to_string(),
    }
}

/// Map `plan` to a bundle without touching the filesystem.
pub fn export_config(plan: &Plan) -> Result<Exported, OciError> {
    // An OCI runtime has no stockade proxy: exporting the netns alone would silently drop
    // every allowed host (or, with the host network, every restriction).
    if plan.egress.is_some() {
        return Err(OciError::Export {
            what: "network.mode".into(),
            reason: "`proxy` cannot be exported: the allow list is enforced by stockade's own proxy, which an OCI runtime does not run; use `stockade run`, or `mode = \"none\"` for the bundle".into(),
        });
    }
    let mut notes = Vec::new();
    let mut annotations: BTreeMap<String, String> = BTreeMap::new();
    let mapped = map_mounts(plan)?;
    notes.extend(mapped.notes.iter().cloned());
    for (i, origin) in &mapped.origins {
        annotations.insert(format!("{}{i}", ann::MOUNT_PREFIX), to_json(origin)?);
    }
    if !mapped.rootfs_origins.is_empty() {
        annotations.insert(ann::ROOTFS.into(), to_json(&mapped.rootfs_origins)?);
    }

    if !plan.protected_paths.is_empty() {
        // Never dropped silently: an OCI runtime would leave them writable.
        annotations.insert(ann::PROTECTED_PATHS.into(), to_json(&plan.protected_paths)?);
        notes.push(Note {
            kind: NoteKind::NotEnforced,
            key: ann::PROTECTED_PATHS.into(),
            message: format!(
                "protected paths inside writable binds ({}): an OCI runtime leaves them \
                 writable and creatable",
                plan.protected_paths
                    .iter()
                    .map(|p| p.path.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        });
    }
    let root = match &plan.root.kind {
        RootKind::Tmpfs => {
            annotations.insert(ann::ROOT.into(), "tmpfs".into());
            notes.push(Note {
                kind: NoteKind::Approximated,
                key: ann::ROOT.into(),
                message: "root: the tmpfs root becomes the bundle's empty `rootfs` directory; \
                          what the payload writes outside its mounts lands there, on disk"
                    .into(),
            });
            PathBuf::from("rootfs")
        }
        RootKind::Directory { path } => path.clone(),
    };
    let root = RootBuilder::default()
        .path(root)
        .readonly(plan.root.read_only)
        .build()
        .map_err(|e| build_err("root", e))?;

    let mut spec = Spec::default();
    spec.set_version(OCI_VERSION.to_string());
    spec.set_root(Some(root));
    spec.set_mounts(Some(mapped.mounts));
    spec.set_process(Some(build_process(plan)?));
    spec.set_hostname(plan.hostname.clone());
    spec.set_domainname(plan.domainname.clone());
    spec.set_hooks(None);
    spec.set_linux(Some(build_linux(plan)?));

    super::notes::process_notes(plan, &mut notes, &mut annotations)?;
    annotations.insert(ann::SOURCE.into(), plan.source.clone());
    if let Some(d) = &plan.description {
        annotations.insert(ann::DESCRIPTION.into(), d.clone());
    }
    spec.set_annotations(Some(annotations.into_iter().collect::<HashMap<_, _>>()));

    let value = serde_json::to_value(&spec)?;
    Ok(Exported {
        config_json: json::to_canonical_string(value)?,
        notes,
        rootfs: (plan.root.kind == RootKind::Tmpfs).then_some(mapped.rootfs),
        files: mapped.files,
        owner: bundle_owner(plan),
    })
}

pub(super) fn to_json<T: serde::Serialize>(v: &T) -> Result<String, OciError> {
    Ok(serde_json::to_string(v)?)
}

fn build_process(plan: &Plan) -> Result<oci_spec::runtime::Process, OciError> {
    let p = &plan.process;
    if p.argv.is_empty() {
        return Err(OciError::Export {
            what: "process.command".into(),
            reason: "the command is empty; give one with `-- CMD`".into(),
        });
    }
    let mut user = UserBuilder::default().uid(p.uid).gid(p.gid).umask(p.umask);
    if !p.groups.is_empty() {
        user = user.additional_gids(p.groups.clone());
    }
    let user = user.build().map_err(|e| build_err("process.user", e))?;
    let rlimits = plan
        .rlimits
        .iter()
        .map(|r| {
            let typ: PosixRlimitType = serde_json::from_value(serde_json::Value::String(
                r.name.clone(),
            ))
            .map_err(|_| build_err(&format!("rlimit {}", r.name), "OCI does not know it"))?;
            PosixRlimitBuilder::default()
                .typ(typ)
                .soft(r.soft)
                .hard(r.hard)
                .build()
                .map_err(|e| build_err("rlimits", e))
        })
        .collect::<Result<Vec<PosixRlimit>, _>>()?;
    let keep = cap_set(plan.capabilities.keep.iter().map(|c| c.name.as_str()))?;
    let ambient = cap_set(plan.capabilities.ambient.iter().map(|c| c.name.as_str()))?;
    // stockade sets effective, permitted and inheritable to the kept capabilities (ambient
    // ones must be inheritable) and clears the bounding set of everything else.
    let caps: LinuxCapabilities = LinuxCapabilitiesBuilder::default()
        .bounding(keep.clone())
        .effective(keep.clone())
        .permitted(keep.clone())
        .inheritable(keep)
        .ambient(ambient)
        .build()
        .map_err(|e| build_err("capabilities", e))?;
    let mut b = ProcessBuilder::default()
        .terminal(p.terminal == crate::plan::Terminal::Always)
        .user(user)
        .args(p.argv.clone())
        .env(
            p.env
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>(),
        )
        .cwd(p.cwd.clone())
        .capabilities(caps)
        .no_new_privileges(plan.capabilities.no_new_privs);
    if !rlimits.is_empty() {
        b = b.rlimits(rlimits);
    }
    let mut process = b.build().map_err(|e| build_err("process", e))?;
    // The builder starts from Process::default(), which has opinions (apparmor, rlimits,
    // ...); make sure nothing the Plan did not ask for stays.
    if plan.rlimits.is_empty() {
        process.set_rlimits(None);
    }
    process.set_apparmor_profile(None);
    process.set_selinux_label(None);
    process.set_oom_score_adj(None);
    process.set_console_size(None);
    process.set_io_priority(None);
    process.set_scheduler(None);
    process.set_exec_cpu_affinity(None);
    process.set_command_line(None);
    Ok(process)
}

fn cap_set<'a>(names: impl Iterator<Item = &'a str>) -> Result<Capabilities, OciError> {
    names
        .map(|n| {
            serde_json::from_value::<Capability>(serde_json::Value::String(n.to_string()))
                .map_err(|_| build_err(&format!("capability {n}"), "oci-spec does not know it"))
        })
        .collect()
}

fn id_maps(maps: &[IdMap]) -> Result<Vec<LinuxIdMapping>, OciError> {
    maps.iter()
        .map(|m| {
            LinuxIdMappingBuilder::default()
                .container_id(m.inside)
                .host_id(m.outside)
                .size(m.count)
                .build()
                .map_err(|e| build_err("id map", e))
        })
        .collect()
}

fn build_linux(plan: &Plan) -> Result<oci_spec::runtime::Linux, OciError> {
    let ns = &plan.namespaces;
    let wanted = [
        (ns.user, LinuxNamespaceType::User),
        (ns.mount, LinuxNamespaceType::Mount),
        (ns.pid, LinuxNamespaceType::Pid),
        (ns.net, LinuxNamespaceType::Network),
        (ns.ipc, LinuxNamespaceType::Ipc),
        (ns.uts, LinuxNamespaceType::Uts),
        (ns.cgroup, LinuxNamespaceType::Cgroup),
        (ns.time, LinuxNamespaceType::Time),
    ];
    let namespaces = wanted
        .iter()
        .filter(|(on, _)| *on)
        .map(|(_, typ)| {
            LinuxNamespaceBuilder::default()
                .typ(*typ)
                .build()
                .map_err(|e| build_err("namespaces", e))
        })
        .collect::<Result<Vec<LinuxNamespace>, _>>()?;
    let mut b = LinuxBuilder::default()
        .namespaces(namespaces)
        // stockade makes every mount private before building the root. The schema only
        // knows the non-recursive names; runc and crun first make the whole tree rslave,
        // so nothing the sandbox mounts reaches the host either way.
        .rootfs_propagation("private")
        .masked_paths(with_proc_paths(
            plan,
            paths(&plan.masked_paths)?,
            &PROC_MASKED,
        )?)
        .readonly_paths(with_proc_paths(
            plan,
            with_read_only_submounts(plan, paths(&plan.read_only_paths)?)?,
            &PROC_READ_ONLY,
        )?);
    if ns.user {
        b = b
            .uid_mappings(id_maps(&ns.uid_map)?)
            .gid_mappings(id_maps(&ns.gid_map)?);
    }
    if ns.time {
        let mut offsets: HashMap<String, LinuxTimeOffset> = HashMap::new();
        for (name, secs) in [
            ("monotonic", ns.time_offsets.monotonic),
            ("boottime", ns.time_offsets.boottime),
        ] {
            let off = LinuxTimeOffsetBuilder::default()
                .secs(secs)
                .nanosecs(0u32)
                .build()
                .map_err(|e| build_err("time offsets", e))?;
            offsets.insert(name.to_string(), off);
        }
        b = b.time_offsets(offsets);
    }
    if let Some(r) = &plan.resources {
        b = b.resources(map_resources(r)?);
    }
    if let Some(s) = &plan.seccomp {
        b = b.seccomp(map_seccomp(s)?);
    }
    let mut linux = b.build().map_err(|e| build_err("linux", e))?;
    // Linux::default() (the builder's base) carries runc-style defaults; clear what the
    // Plan did not ask for.
    if plan.resources.is_none() {
        linux.set_resources(None);
    }
    linux.set_devices(None);
    linux.set_sysctl(None);
    linux.set_cgroups_path(None);
    linux.set_mount_label(None);
    Ok(linux)
}

/// The Plan's paths, then the ones stockade's executor protects below each proc mount.
fn with_proc_paths(
    plan: &Plan,
    mut out: Vec<String>,
    names: &[&str],
) -> Result<Vec<String>, OciError> {
    for m in plan
        .mounts
        .iter()
        .filter(|m| matches!(m.op, MountOp::Proc { .. }))
    {
        for name in names {
            let p = paths(&[m.target.join(name)])?.remove(0);
            if !out.contains(&p) {
                out.push(p);
            }
        }
    }
    Ok(out)
}

/// After each read-only path, the read-only mounts beneath it, again. Redundant by the spec
/// (they are read-only already), but crun 1.8.1 makes a read-only path with a recursive bind
/// whose copies of the submounts lose their flags: a read-only file mount below a read-only
/// `/etc` became writable (found by the differential test). Listing the submount restores
/// its read-only state in crun and changes nothing in runc. Import drops these entries.
fn with_read_only_submounts(plan: &Plan, own: Vec<String>) -> Result<Vec<String>, OciError> {
    let mut out: Vec<String> = Vec::new();
    for p in own {
        let sub: Vec<String> = plan
            .mounts
            .iter()
            .filter(|m| m.flags.read_only && m.target != Path::new(&p))
            .filter(|m| m.target.starts_with(&p))
            .map(|m| paths(std::slice::from_ref(&m.target)).map(|mut v| v.remove(0)))
            .collect::<Result<_, _>>()?;
        out.push(p);
        for s in sub {
            if !out.contains(&s) {
                out.push(s);
            }
        }
    }
    Ok(out)
}

fn paths(ps: &[PathBuf]) -> Result<Vec<String>, OciError> {
    ps.iter()
        .map(|p| {
            p.to_str()
                .map(String::from)
                .ok_or_else(|| build_err(&format!("path {}", p.display()), "not valid UTF-8"))
        })
        .collect()
}
