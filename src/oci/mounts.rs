//! Plan mounts → OCI `mounts`, in profile order.
//!
//! Types with an OCI equivalent map one to one (bind, tmpfs, proc, devpts, mqueue, overlay).
//! The others are mapped as faithfully as OCI allows, and each mapping is documented here and
//! announced by a [`Note`]:
//! - `dev` → a tmpfs plus a devpts at `pts` and a tmpfs at `shm`; the runtime itself creates
//!   the default nodes (null, zero, full, random, urandom, tty, ptmx, fd links), which are the
//!   nodes stockade's `dev` provides.
//! - `file` → a bind of a file the export writes into the bundle (`files/<n>-<name>`, relative
//!   source paths are resolved against the bundle by runc and crun).
//! - `dir` → created inside the bundle's `rootfs` when the root is a tmpfs and no earlier mount
//!   covers it (exactly what stockade does in its tmpfs root); otherwise an empty tmpfs with
//!   the same mode (OCI cannot create a directory inside another mount).
//! - `symlink` → created inside `rootfs` under the same condition; otherwise OCI cannot create
//!   it at all ([`NoteKind::NotEnforced`]).
//!
//! Recursive binds repeat their flags in the recursive form (`rro`, `rnosuid`, ...; runtime-spec
//! 1.1): plain `ro` on an `rbind` leaves every submount writable (checked with runc 1.1.5 and
//! crun 1.8.1), while stockade makes all of them read-only.

use super::annotations::{self as ann, MountOrigin, RootfsOrigin};
use super::export::{BundleFile, RootfsEntry};
use super::{Note, NoteKind, OciError};
use crate::plan::{MountFlags, MountOp, MountPlan, Plan, RootKind};
use oci_spec::runtime::{Mount, MountBuilder};
use std::path::{Path, PathBuf};

/// The mapped mounts and everything they need besides `config.json`.
#[derive(Default)]
pub(super) struct MountMapping {
    pub mounts: Vec<Mount>,
    pub rootfs: Vec<RootfsEntry>,
    pub files: Vec<BundleFile>,
    /// `(OCI mount index, origin)` for `org.stockade.mount.<i>`.
    pub origins: Vec<(usize, MountOrigin)>,
    pub rootfs_origins: Vec<RootfsOrigin>,
    pub notes: Vec<Note>,
}

pub(super) fn map_mounts(plan: &Plan) -> Result<MountMapping, OciError> {
    let mut out = MountMapping::default();
    let tmpfs_root = plan.root.kind == RootKind::Tmpfs;
    for (i, m) in plan.mounts.iter().enumerate() {
        let target = path_str(&m.target, "mount target")?;
        let flags = m.flags;
        match &m.op {
            MountOp::Bind {
                source,
                recursive,
                optional,
            } => {
                let mut opts = vec![if *recursive { "rbind" } else { "bind" }.to_string()];
                opts.extend(flag_options(flags, *recursive));
                push(
                    &mut out,
                    target,
                    "bind",
                    path_str(source, "bind source")?,
                    opts,
                )?;
                if *optional {
                    let at = out.mounts.len() - 1;
                    out.origins.push((at, MountOrigin::OptionalBind));
                    out.notes.push(Note {
                        kind: NoteKind::Approximated,
                        key: format!("{}{at}", ann::MOUNT_PREFIX),
                        message: format!(
                            "optional bind {} -> {target}: OCI has no optional mounts; the \
                             runtime refuses to start when the source is missing (stockade \
                             skips it)",
                            source.display()
                        ),
                    });
                }
            }
            MountOp::Tmpfs { size, mode } => {
                let mut opts = flag_options(flags, false);
                opts.push(format!("mode={mode:04o}"));
                if let Some(size) = size {
                    opts.push(format!("size={size}"));
                }
                push(&mut out, target, "tmpfs", "tmpfs", opts)?;
            }
            MountOp::Proc { .. } => {
                let forced = force(&mut out, flags, FORCED_PROC);
                push(
                    &mut out,
                    target,
                    "proc",
                    "proc",
                    flag_options(forced, false),
                )?;
            }
            MountOp::Devpts => {
                let forced = force(&mut out, flags, FORCED_DEVPTS);
                let mut opts = flag_options(forced, false);
                opts.extend(devpts_options());
                push(&mut out, target, "devpts", "devpts", opts)?;
            }
            MountOp::Mqueue => {
                let forced = force(&mut out, flags, FORCED_MQUEUE);
                push(
                    &mut out,
                    target,
                    "mqueue",
                    "mqueue",
                    flag_options(forced, false),
                )?
            }
            MountOp::Overlay { lower, upper, work } => {
                let mut opts = flag_options(flags, false);
                let lower: Vec<String> = lower
                    .iter()
                    .map(|p| overlay_path(p, "overlay lower"))
                    .collect::<Result<_, _>>()?;
                opts.push(format!("lowerdir={}", lower.join(":")));
                if let Some(upper) = upper {
                    opts.push(format!(
                        "upperdir={}",
                        overlay_path(upper, "overlay upper")?
                    ));
                }
                if let Some(work) = work {
                    opts.push(format!("workdir={}", overlay_path(work, "overlay work")?));
                }
                push(&mut out, target, "overlay", "overlay", opts)?;
            }
            MountOp::Dev => map_dev(plan, i, m, target, &mut out)?,
            MountOp::File { content, mode } => {
                let name = m
                    .target
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_else(|| "file".into());
                let rel = PathBuf::from("files").join(format!("{i}-{name}"));
                out.files.push(BundleFile {
                    path: rel.clone(),
                    content: content.clone(),
                    mode: *mode,
                });
                let mut opts = vec!["bind".to_string()];
                opts.extend(flag_options(flags, false));
                push(&mut out, target, "bind", path_str(&rel, "file")?, opts)?;
                let at = out.mounts.len() - 1;
                out.origins.push((
                    at,
                    MountOrigin::File {
                        mode: *mode,
                        content: content.clone(),
                        flags: flags.into(),
                    },
                ));
                out.notes.push(Note {
                    kind: NoteKind::Approximated,
                    key: format!("{}{at}", ann::MOUNT_PREFIX),
                    message: format!(
                        "file {target}: becomes a bind mount of {} written into the bundle \
                         (it is a mount point, and writes reach the bundle's copy)",
                        rel.display()
                    ),
                });
            }
            MountOp::Dir { mode } => {
                if tmpfs_root && !covered(&plan.mounts[..i], &m.target) {
                    out.rootfs.push(RootfsEntry::Dir {
                        path: m.target.clone(),
                        mode: *mode,
                    });
                    out.rootfs_origins
                        .push(rootfs_origin(&out, target, m, true));
                } else {
                    let mut opts = flag_options(flags, false);
                    opts.push(format!("mode={mode:04o}"));
                    push(&mut out, target, "tmpfs", "tmpfs", opts)?;
                    let at = out.mounts.len() - 1;
                    out.origins.push((
                        at,
                        MountOrigin::Dir {
                            mode: *mode,
                            flags: flags.into(),
                        },
                    ));
                    out.notes.push(Note {
                        kind: NoteKind::Approximated,
                        key: format!("{}{at}", ann::MOUNT_PREFIX),
                        message: format!(
                            "dir {target}: OCI cannot create a directory inside {}; it becomes \
                             an empty tmpfs with mode {mode:04o}",
                            if tmpfs_root {
                                "another mount"
                            } else {
                                "a host root directory"
                            }
                        ),
                    });
                }
            }
            MountOp::Symlink { link } => {
                let creatable = tmpfs_root && !covered(&plan.mounts[..i], &m.target);
                if creatable {
                    out.rootfs.push(RootfsEntry::Symlink {
                        path: m.target.clone(),
                        link: link.clone(),
                    });
                } else {
                    out.notes.push(Note {
                        kind: NoteKind::NotEnforced,
                        key: ann::ROOTFS.into(),
                        message: format!(
                            "symlink {target} -> {link}: OCI mounts cannot create a symlink \
                             inside {}; the bundle lacks it",
                            if tmpfs_root {
                                "another mount"
                            } else {
                                "a host root directory"
                            }
                        ),
                    });
                }
                out.rootfs_origins
                    .push(rootfs_origin(&out, target, m, creatable));
            }
        }
    }
    Ok(out)
}

/// (nosuid, nodev, noexec) that stockade's executor always sets on these filesystems,
/// whatever the profile says; the bundle must not be looser than `stockade run`.
const FORCED_PROC: (bool, bool, bool) = (true, true, true);
const FORCED_DEVPTS: (bool, bool, bool) = (true, false, true);
const FORCED_MQUEUE: (bool, bool, bool) = (true, true, true);

/// The flags the executor really applies; when they differ from the Plan's, the Plan's are
/// recorded (`MountOrigin::Forced`) for import.
fn force(
    out: &mut MountMapping,
    flags: MountFlags,
    (nosuid, nodev, noexec): (bool, bool, bool),
) -> MountFlags {
    let forced = MountFlags {
        read_only: flags.read_only,
        nosuid: flags.nosuid || nosuid,
        nodev: flags.nodev || nodev,
        noexec: flags.noexec || noexec,
    };
    if forced != flags {
        out.origins.push((
            out.mounts.len(),
            MountOrigin::Forced {
                flags: flags.into(),
            },
        ));
    }
    forced
}

/// Paths below a new proc that stockade's executor masks, and makes read-only (the OCI
/// runtimes' defaults, which stockade copies). The export lists them in `maskedPaths` and
/// `readonlyPaths` so that the runtime does the same.
pub(super) const PROC_MASKED: [&str; 9] = [
    "kcore",
    "keys",
    "latency_stats",
    "timer_list",
    "timer_stats",
    "sched_debug",
    "acpi",
    "asound",
    "scsi",
];
pub(super) const PROC_READ_ONLY: [&str; 5] = ["sys", "sysrq-trigger", "irq", "bus", "fs"];

/// The stockade `dev` mount: a tmpfs, then a devpts at `pts` and a tmpfs at `shm` unless the
/// profile mounts those itself right after.
fn map_dev(
    plan: &Plan,
    i: usize,
    m: &MountPlan,
    target: &str,
    out: &mut MountMapping,
) -> Result<(), OciError> {
    // As stockade mounts it: nosuid and noexec always, never nodev (the device nodes live
    // there), 64 KiB.
    let flags = MountFlags {
        read_only: m.flags.read_only,
        nosuid: true,
        nodev: false,
        noexec: true,
    };
    let mut opts = flag_options(flags, false);
    opts.push("mode=0755".into());
    opts.push("size=65536".into());
    push(out, target, "tmpfs", "tmpfs", opts)?;
    let at = out.mounts.len() - 1;
    out.origins.push((
        at,
        MountOrigin::Dev {
            flags: m.flags.into(),
        },
    ));
    let later = &plan.mounts[i + 1..];
    let pts = m.target.join("pts");
    if !later
        .iter()
        .any(|l| l.target == pts && matches!(l.op, MountOp::Devpts))
    {
        let mut opts: Vec<String> = ["nosuid", "noexec"].map(String::from).to_vec();
        opts.extend(devpts_options());
        push(out, path_str(&pts, "dev")?, "devpts", "devpts", opts)?;
        out.origins
            .push((out.mounts.len() - 1, MountOrigin::DevPart));
    }
    let shm = m.target.join("shm");
    if !later.iter().any(|l| l.target == shm) {
        let opts = ["nosuid", "nodev", "mode=1777"].map(String::from).to_vec();
        push(out, path_str(&shm, "dev")?, "tmpfs", "shm", opts)?;
        out.origins
            .push((out.mounts.len() - 1, MountOrigin::DevPart));
    }
    out.notes.push(Note {
        kind: NoteKind::Approximated,
        key: format!("{}{at}", ann::MOUNT_PREFIX),
        message: format!(
            "dev {target}: a tmpfs with a devpts and a shm tmpfs; the OCI runtime creates the \
             device nodes (null, zero, full, random, urandom, tty, ptmx, fd links) itself, and \
             bind-mounts the host's nodes when it runs in a user namespace"
        ),
    });
    Ok(())
}

fn rootfs_origin(out: &MountMapping, target: &str, m: &MountPlan, created: bool) -> RootfsOrigin {
    let (dir_mode, symlink) = match &m.op {
        MountOp::Dir { mode } => (Some(*mode), None),
        MountOp::Symlink { link } => (None, Some(link.clone())),
        _ => (None, None),
    };
    RootfsOrigin {
        position: out.mounts.len(),
        target: target.to_string(),
        dir_mode,
        symlink,
        flags: m.flags.into(),
        created,
    }
}

/// Whether one of `earlier` mounts a filesystem on a strict ancestor of `target`, so that
/// `target` would be created inside that filesystem rather than in the root. `dir`, `file`
/// and `symlink` entries create no filesystem of their own.
fn covered(earlier: &[MountPlan], target: &Path) -> bool {
    earlier.iter().any(|e| {
        let is_fs = !matches!(
            e.op,
            MountOp::Dir { .. } | MountOp::File { .. } | MountOp::Symlink { .. }
        );
        is_fs && target != e.target && target.starts_with(&e.target)
    })
}

/// `ro`, `nosuid`, `nodev`, `noexec`, and for recursive binds their recursive forms too
/// (the plain ones still apply to the top mount on runtimes older than runtime-spec 1.1).
pub(super) fn flag_options(flags: MountFlags, recursive: bool) -> Vec<String> {
    let set = [
        (flags.read_only, "ro"),
        (flags.nosuid, "nosuid"),
        (flags.nodev, "nodev"),
        (flags.noexec, "noexec"),
    ];
    let mut opts: Vec<String> = set
        .iter()
        .filter(|(on, _)| *on)
        .map(|(_, n)| n.to_string())
        .collect();
    if recursive {
        opts.extend(
            set.iter()
                .filter(|(on, _)| *on)
                .map(|(_, n)| format!("r{n}")),
        );
    }
    opts
}

/// A private devpts instance whose ptmx is usable by everyone, like stockade's.
pub(super) fn devpts_options() -> Vec<String> {
    ["newinstance", "ptmxmode=0666", "mode=0620"]
        .map(String::from)
        .to_vec()
}

fn push(
    out: &mut MountMapping,
    target: &str,
    typ: &str,
    source: &str,
    options: Vec<String>,
) -> Result<(), OciError> {
    let mount = MountBuilder::default()
        .destination(target)
        .typ(typ)
        .source(source)
        .options(options)
        .build()
        .map_err(|e| OciError::Export {
            what: format!("mount {target}"),
            reason: e.to_string(),
        })?;
    out.mounts.push(mount);
    Ok(())
}

fn path_str<'a>(p: &'a Path, what: &str) -> Result<&'a str, OciError> {
    p.to_str().ok_or_else(|| OciError::Export {
        what: format!("{what} {}", p.display()),
        reason: "the path is not valid UTF-8 (config.json is JSON text)".into(),
    })
}

/// overlayfs options are a comma-separated list with `:` between lower directories, and OCI
/// passes them through unescaped: such paths cannot be expressed.
fn overlay_path(p: &Path, what: &str) -> Result<String, OciError> {
    let s = path_str(p, what)?;
    if s.contains([',', ':']) {
        return Err(OciError::Export {
            what: format!("{what} {s}"),
            reason: "overlay directories containing `,` or `:` cannot be written as OCI \
                     mount options"
                .into(),
        });
    }
    Ok(s.to_string())
}
