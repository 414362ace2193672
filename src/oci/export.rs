//! Plan → OCI bundle (`config.json`, `rootfs/`, `files/`).

use super::annotations::{self as ann};
use super::mounts::{map_mounts, PROC_MASKED, PROC_READ_ONLY};
use super::resources::map_resources;
use super::seccomp::map_seccomp;
use super::{json, Note, NoteKind, OciError, OCI_VERSION};
use crate::plan::{Compat, IdMap, MountOp, Plan, RootKind};
use oci_spec::runtime::{
    Capabilities, Capability, LinuxBuilder, LinuxCapabilities, LinuxCapabilitiesBuilder,
    LinuxIdMapping, LinuxIdMappingBuilder, LinuxNamespace, LinuxNamespaceBuilder,
    LinuxNamespaceType, LinuxTimeOffset, LinuxTimeOffsetBuilder, PosixRlimit, PosixRlimitBuilder,
    PosixRlimitType, ProcessBuilder, RootBuilder, Spec, UserBuilder,
};
use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};

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

    process_notes(plan, &mut notes, &mut annotations)?;
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

fn to_json<T: serde::Serialize>(v: &T) -> Result<String, OciError> {
    Ok(serde_json::to_string(v)?)
}

/// Notes and annotations for what OCI has no field for.
fn process_notes(
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
    if p.init {
        annotations.insert(ann::INIT.into(), "true".into());
        note(
            NoteKind::NotEnforced,
            ann::INIT,
            "process.pid1: OCI runtimes start the payload as PID 1 itself; stockade's init \
             (zombie reaping, signal forwarding) is absent"
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
        .terminal(false)
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
    for m in plan.mounts.iter().filter(|m| m.op == MountOp::Proc) {
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

/// Export `plan` as an OCI bundle in `bundle` (created if missing; refused if not empty).
///
/// Returns the notes (what OCI cannot say exactly); with `strict`, a note of kind
/// [`NoteKind::NotEnforced`] is an error and nothing is written. On failure nothing is left
/// behind.
pub fn export_bundle(plan: &Plan, bundle: &Path, strict: bool) -> Result<Vec<Note>, OciError> {
    let exported = export_config(plan)?;
    if strict {
        let refused: Vec<Note> = exported
            .notes
            .iter()
            .filter(|n| n.kind == NoteKind::NotEnforced)
            .cloned()
            .collect();
        if !refused.is_empty() {
            return Err(OciError::Strict(refused));
        }
    }
    let created = prepare_dir(bundle)?;
    match write_bundle(&exported, bundle) {
        Ok(()) => Ok(exported.notes),
        Err(e) => {
            cleanup(bundle, created);
            Err(e)
        }
    }
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> OciError + '_ {
    move |source| OciError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Create the bundle directory, or accept an existing empty one. Returns whether it was
/// created (and so may be removed on failure).
fn prepare_dir(bundle: &Path) -> Result<bool, OciError> {
    match fs::symlink_metadata(bundle) {
        Ok(meta) if meta.is_dir() => {
            let mut entries = fs::read_dir(bundle).map_err(io_err(bundle))?;
            if entries.next().is_some() {
                return Err(OciError::Bundle {
                    path: bundle.to_path_buf(),
                    reason: "the directory is not empty; refusing to overwrite it".into(),
                });
            }
            Ok(false)
        }
        Ok(_) => Err(OciError::Bundle {
            path: bundle.to_path_buf(),
            reason: "exists and is not a directory".into(),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            fs::DirBuilder::new()
                .mode(0o755)
                .create(bundle)
                .map_err(io_err(bundle))?;
            Ok(true)
        }
        Err(e) => Err(io_err(bundle)(e)),
    }
}

fn cleanup(bundle: &Path, created: bool) {
    if created {
        let _ = fs::remove_dir_all(bundle);
    } else {
        for name in ["config.json", "rootfs", "files"] {
            let p = bundle.join(name);
            let _ = fs::remove_dir_all(&p).or_else(|_| fs::remove_file(&p));
        }
    }
}

fn write_bundle(exported: &Exported, bundle: &Path) -> Result<(), OciError> {
    if let Some(entries) = &exported.rootfs {
        let rootfs = bundle.join("rootfs");
        mkdir(&rootfs, 0o755)?;
        for entry in entries {
            match entry {
                RootfsEntry::Dir { path, mode } => {
                    let at = inside(&rootfs, path)?;
                    if fs::symlink_metadata(&at).is_err() {
                        mkdir(&at, *mode)?;
                        // mkdir honours the umask; the Plan's mode is exact.
                        fs::set_permissions(&at, fs::Permissions::from_mode(*mode))
                            .map_err(io_err(&at))?;
                    }
                }
                RootfsEntry::Symlink { path, link } => {
                    let at = inside(&rootfs, path)?;
                    std::os::unix::fs::symlink(link, &at).map_err(io_err(&at))?;
                }
            }
        }
    }
    if !exported.files.is_empty() {
        mkdir(&bundle.join("files"), 0o755)?;
        for f in &exported.files {
            let at = bundle.join(&f.path);
            let mut file = fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(f.mode)
                .open(&at)
                .map_err(io_err(&at))?;
            file.write_all(f.content.as_bytes()).map_err(io_err(&at))?;
            fs::set_permissions(&at, fs::Permissions::from_mode(f.mode)).map_err(io_err(&at))?;
        }
    }
    if let Some((uid, gid)) = exported.owner {
        chown_tree(bundle, uid, gid)?;
    }
    let config = bundle.join("config.json");
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o644)
        .open(&config)
        .map_err(io_err(&config))?;
    file.write_all(exported.config_json.as_bytes())
        .map_err(io_err(&config))
}

/// Give `rootfs/` and `files/` (everything the export created below them) to `uid:gid`.
/// Only root may; an unprivileged export leaves them to the caller, which is then also the
/// user a rootless runtime maps.
fn chown_tree(bundle: &Path, uid: u32, gid: u32) -> Result<(), OciError> {
    if !nix::unistd::geteuid().is_root() {
        return Ok(());
    }
    fn walk(p: &Path, uid: u32, gid: u32) -> Result<(), OciError> {
        std::os::unix::fs::lchown(p, Some(uid), Some(gid)).map_err(io_err(p))?;
        let meta = fs::symlink_metadata(p).map_err(io_err(p))?;
        if meta.is_dir() {
            for entry in fs::read_dir(p).map_err(io_err(p))? {
                walk(&entry.map_err(io_err(p))?.path(), uid, gid)?;
            }
        }
        Ok(())
    }
    for name in ["rootfs", "files"] {
        let p = bundle.join(name);
        if fs::symlink_metadata(&p).is_ok() {
            walk(&p, uid, gid)?;
        }
    }
    Ok(())
}

fn mkdir(path: &Path, mode: u32) -> Result<(), OciError> {
    fs::DirBuilder::new()
        .mode(mode)
        .create(path)
        .map_err(io_err(path))
}

/// `rootfs` + the sandbox path `path`, with its missing parents created (0755). Never follows
/// a symlink: an absolute link created earlier in `rootfs` would otherwise lead outside it, onto
/// the host.
fn inside(rootfs: &Path, path: &Path) -> Result<PathBuf, OciError> {
    let mut at = rootfs.to_path_buf();
    let parts: Vec<_> = path.components().collect();
    for (i, c) in parts.iter().enumerate() {
        match c {
            Component::RootDir => {}
            Component::Normal(name) => {
                at.push(name);
                if i + 1 == parts.len() {
                    break;
                }
                match fs::symlink_metadata(&at) {
                    Ok(m) if m.is_dir() => {}
                    Ok(_) => {
                        return Err(OciError::Bundle {
                            path: at,
                            reason: format!(
                                "cannot create {} in rootfs: a parent is not a directory \
                                 (a symlink created by an earlier mount?)",
                                path.display()
                            ),
                        })
                    }
                    Err(_) => mkdir(&at, 0o755)?,
                }
            }
            _ => {
                return Err(OciError::Bundle {
                    path: path.to_path_buf(),
                    reason: "the sandbox path is not absolute and normalized".into(),
                })
            }
        }
    }
    Ok(at)
}
