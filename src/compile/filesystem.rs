//! `[filesystem]` and `[[mount]]` → root, hostname, mounts, masked and read-only paths.

use super::namespaces::Namespaces;
use super::Ctx;
use crate::plan::{MountFlags, MountOp, MountPlan, RootKind, RootPlan};
use crate::profile::mount::{Mount, MountKind};
use crate::profile::Profile;
use std::path::{Path, PathBuf};

/// The filesystem part of the plan.
pub struct Fs {
    /// Whether the sandbox has a mount namespace; without one it sees the host's tree.
    pub mount_ns: bool,
    pub root: RootPlan,
    pub hostname: Option<String>,
    pub domainname: Option<String>,
    pub mounts: Vec<MountPlan>,
    pub masked_paths: Vec<PathBuf>,
    pub read_only_paths: Vec<PathBuf>,
}

impl Fs {
    /// Whether a path inside the sandbox exists by construction: it is a mount target, lies
    /// beneath one, is a parent the executor creates for one, or the root is a directory.
    /// Without a mount namespace the sandbox shares the host's tree, so every path counts.
    pub fn can_see(&self, path: &Path) -> bool {
        !self.mount_ns
            || matches!(self.root.kind, RootKind::Directory { .. })
            || path == Path::new("/")
            || self
                .mounts
                .iter()
                .any(|m| path.starts_with(&m.target) || m.target.starts_with(path))
    }
}

pub fn compile(cx: &mut Ctx, p: &Profile, ns: &Option<Namespaces>) -> Option<Fs> {
    let f = p.filesystem.clone().unwrap_or_default();
    let mount_ns = ns.as_ref().is_none_or(|n| n.plan.mount);
    let uts = ns.as_ref().is_none_or(|n| n.plan.uts);
    let kind = match f.root.as_deref() {
        None | Some("tmpfs") => RootKind::Tmpfs,
        Some(dir) => match cx.abs_path("filesystem.root", dir) {
            Some(path) => RootKind::Directory { path },
            None => RootKind::Tmpfs,
        },
    };
    super::host_paths::check_root(cx, &kind);
    let mut hostname = None;
    let mut domainname = None;
    for (key, value, slot) in [
        ("filesystem.hostname", &f.hostname, &mut hostname),
        ("filesystem.domainname", &f.domainname, &mut domainname),
    ] {
        if let Some(v) = value {
            if !uts {
                cx.error_on_key(
                    key,
                    format!("`{key}` needs a UTS namespace"),
                    Some("set `namespaces.uts = true`".into()),
                );
            }
            let v = cx.expand(key, v).unwrap_or_default();
            if v.is_empty()
                || v.len() > 64
                || !v
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
            {
                cx.error(
                    key,
                    format!("`{key}` = `{v}` is not a valid host name"),
                    Some("use 1 to 64 letters, digits, `-` and `.`".into()),
                );
            }
            *slot = Some(v);
        }
    }
    let mounts_in = p.mount.clone().unwrap_or_default();
    if !mount_ns {
        let keys = [
            (!mounts_in.is_empty(), "mount"),
            (f.root.is_some(), "filesystem.root"),
            (f.read_only.unwrap_or(false), "filesystem.read-only"),
            (f.masked_paths.is_some(), "filesystem.masked-paths"),
            (f.read_only_paths.is_some(), "filesystem.read-only-paths"),
        ];
        for (set, key) in keys {
            if set {
                cx.error_on_key(
                    key,
                    format!("`{key}` needs a mount namespace"),
                    Some("set `namespaces.mount = true`".into()),
                );
            }
        }
    }
    let mut mounts: Vec<MountPlan> = Vec::new();
    // Indices of the file and symlink mounts so far: only they can hide a later target, and
    // checking every earlier mount made 1000 mounts cost 500 000 comparisons.
    let mut leaves: Vec<usize> = Vec::new();
    let mut targets = super::mount_hiding::Targets::default();
    for (i, m) in mounts_in.iter().enumerate() {
        if let Some(plan) = mount(cx, &format!("mount[{i}]"), m) {
            check_target(cx, &format!("mount[{i}].target"), &plan, &mounts, &leaves);
            super::mount_safety::check(cx, &format!("mount[{i}]"), m, &plan, &mounts);
            super::mount_hiding::check_created_entry(cx, i, &plan, &mounts);
            targets.add(cx, i, &plan);
            if is_leaf(&plan) {
                leaves.push(mounts.len());
            }
            mounts.push(plan);
        }
    }
    let mut paths = |key: &str, list: &Option<Vec<String>>| -> Vec<PathBuf> {
        let mut out = Vec::new();
        for (i, s) in list.iter().flatten().enumerate() {
            if let Some(p) = cx.abs_path(&format!("{key}[{i}]"), s) {
                if p == Path::new("/") {
                    cx.error(
                        &format!("{key}[{i}]"),
                        format!("`{key}` cannot contain `/`"),
                        Some("use `filesystem.read-only = true` for the whole root".into()),
                    );
                } else if !out.contains(&p) {
                    out.push(p);
                }
            }
        }
        out
    };
    let masked_paths = paths("filesystem.masked-paths", &f.masked_paths);
    let read_only_paths = paths("filesystem.read-only-paths", &f.read_only_paths);
    Some(Fs {
        mount_ns,
        root: RootPlan {
            kind,
            read_only: f.read_only.unwrap_or(false),
        },
        hostname,
        domainname,
        mounts,
        masked_paths,
        read_only_paths,
    })
}

/// Fields each mount type accepts besides type, target and the flag booleans.
fn allowed(kind: MountKind) -> &'static [&'static str] {
    match kind {
        MountKind::Bind => &[
            "source",
            "read-only",
            "recursive",
            "optional",
            "follow-symlinks",
            "allow-dangerous-write",
        ],
        MountKind::Tmpfs => &["size", "mode", "read-only"],
        MountKind::Proc => &["unmasked"],
        MountKind::Dev | MountKind::Devpts | MountKind::Mqueue => &[],
        MountKind::Dir => &["mode"],
        MountKind::File => &["content", "mode", "read-only"],
        MountKind::Symlink => &["source"],
        MountKind::Overlay => &["lower", "upper", "work", "read-only", "follow-symlinks"],
    }
}

fn kind_name(kind: MountKind) -> &'static str {
    match kind {
        MountKind::Bind => "bind",
        MountKind::Tmpfs => "tmpfs",
        MountKind::Proc => "proc",
        MountKind::Dev => "dev",
        MountKind::Devpts => "devpts",
        MountKind::Mqueue => "mqueue",
        MountKind::Dir => "dir",
        MountKind::File => "file",
        MountKind::Symlink => "symlink",
        MountKind::Overlay => "overlay",
    }
}

fn mount(cx: &mut Ctx, key: &str, m: &Mount) -> Option<MountPlan> {
    let name = kind_name(m.kind);
    let flag_keys = [
        ("nosuid", m.nosuid.is_some()),
        ("nodev", m.nodev.is_some()),
        ("noexec", m.noexec.is_some()),
    ];
    if matches!(m.kind, MountKind::Symlink | MountKind::Dir) {
        for (field, set) in flag_keys {
            if set {
                cx.error_on_key(
                    &format!("{key}.{field}"),
                    format!("`{field}` does not apply to a {name}, which is created, not mounted"),
                    None,
                );
            }
        }
    }
    let present = [
        ("source", m.source.is_some()),
        ("read-only", m.read_only.is_some()),
        ("recursive", m.recursive.is_some()),
        ("optional", m.optional.is_some()),
        ("allow-dangerous-write", m.allow_dangerous_write.is_some()),
        ("size", m.size.is_some()),
        ("mode", m.mode.is_some()),
        ("content", m.content.is_some()),
        ("lower", m.lower.is_some()),
        ("upper", m.upper.is_some()),
        ("work", m.work.is_some()),
        ("follow-symlinks", m.follow_symlinks.is_some()),
    ];
    let ok = allowed(m.kind);
    for (field, set) in present {
        if set && !ok.contains(&field) {
            let help = if ok.is_empty() {
                format!("a {name} mount takes only `target` and the nosuid/nodev/noexec flags")
            } else {
                format!(
                    "a {name} mount accepts: target, {}, nosuid, nodev, noexec",
                    ok.join(", ")
                )
            };
            cx.error_on_key(
                &format!("{key}.{field}"),
                format!("`{field}` does not apply to a {name} mount"),
                Some(help),
            );
        }
    }
    let default_target = match m.kind {
        MountKind::Proc => Some("/proc"),
        MountKind::Dev => Some("/dev"),
        MountKind::Devpts => Some("/dev/pts"),
        MountKind::Mqueue => Some("/dev/mqueue"),
        _ => None,
    };
    let source = match &m.source {
        Some(s) if m.kind == MountKind::Bind => cx.abs_path(&format!("{key}.source"), s),
        _ => None,
    };
    let target = match (&m.target, default_target, &source) {
        (Some(t), _, _) => cx.abs_path(&format!("{key}.target"), t)?,
        (None, Some(d), _) => PathBuf::from(d),
        (None, None, Some(src)) => src.clone(),
        (None, None, None) => {
            let help = if m.kind == MountKind::Bind {
                "give `source` (the target defaults to it) or `target`"
            } else {
                "give the absolute path inside the sandbox"
            };
            cx.error(
                key,
                format!("{name} mount without a `target`"),
                Some(help.into()),
            );
            return None;
        }
    };
    if target == Path::new("/")
        && m.kind != MountKind::Bind
        && m.kind != MountKind::Overlay
        && m.kind != MountKind::Tmpfs
    {
        cx.error(
            &format!("{key}.target"),
            format!("a {name} mount cannot be the root"),
            Some("use `filesystem.root` for the root filesystem".into()),
        );
    }
    let mode = |cx: &mut Ctx, default: u32| match &m.mode {
        Some(v) => cx.mode(&format!("{key}.mode"), v, 0o7777),
        None => Some(default),
    };
    let op = match m.kind {
        MountKind::Bind => {
            if m.source.is_none() {
                cx.error(
                    key,
                    "bind mount without a `source`",
                    Some("give the host path to bind, e.g. source = \"/usr\"".into()),
                );
            }
            MountOp::Bind {
                source: source.unwrap_or_default(),
                recursive: m.recursive.unwrap_or(true),
                optional: m.optional.unwrap_or(false),
            }
        }
        MountKind::Tmpfs => {
            let size = m
                .size
                .as_ref()
                .and_then(|s| cx.size(&format!("{key}.size"), s));
            MountOp::Tmpfs {
                size,
                mode: mode(cx, 0o755)?,
            }
        }
        MountKind::Proc => MountOp::Proc {
            unmasked: m.unmasked.unwrap_or(false),
        },
        MountKind::Dev => MountOp::Dev,
        MountKind::Devpts => MountOp::Devpts,
        MountKind::Mqueue => MountOp::Mqueue,
        MountKind::Dir => MountOp::Dir {
            mode: mode(cx, 0o755)?,
        },
        MountKind::File => MountOp::File {
            content: m
                .content
                .as_ref()
                .and_then(|c| cx.expand(&format!("{key}.content"), c))
                .unwrap_or_default(),
            mode: mode(cx, 0o644)?,
        },
        MountKind::Symlink => match &m.source {
            Some(s) => MountOp::Symlink {
                link: cx.expand(&format!("{key}.source"), s)?,
            },
            None => {
                cx.error(
                    key,
                    "symlink without a `source` (the link's content)",
                    Some("e.g. source = \"usr/bin\", target = \"/bin\"".into()),
                );
                return None;
            }
        },
        MountKind::Overlay => {
            let mut lower = Vec::new();
            for (i, l) in m.lower.iter().flatten().enumerate() {
                lower.extend(cx.abs_path(&format!("{key}.lower[{i}]"), l));
            }
            if lower.is_empty() {
                cx.error(
                    key,
                    "overlay mount without `lower` directories",
                    Some("list at least one lower directory".into()),
                );
            }
            let upper = m
                .upper
                .as_ref()
                .and_then(|u| cx.abs_path(&format!("{key}.upper"), u));
            let work = m
                .work
                .as_ref()
                .and_then(|w| cx.abs_path(&format!("{key}.work"), w));
            // Without an upper layer the kernel builds a read-only overlay only from at least
            // two lower layers; one would fail at mount time with EINVAL.
            if upper.is_none() && lower.len() == 1 {
                cx.error(&format!("{key}.lower"), "a read-only overlay (no `upper`) needs at least two `lower` directories", Some("add a second lower directory, give `upper` and `work`, or use a read-only bind".into()));
            }
            if upper.is_some() != work.is_some() {
                cx.error(
                    key,
                    "overlay `upper` and `work` go together",
                    Some("give both for a writable overlay, neither for a read-only one".into()),
                );
            }
            MountOp::Overlay { lower, upper, work }
        }
    };
    // Defaults: nosuid everywhere (binaries from the host keep working, setuid bits don't);
    // nodev except on /dev itself; proc additionally noexec.
    let is_dev = m.kind == MountKind::Dev;
    // A symlink or directory is created in place, not mounted: no mount flags apply.
    let flags = if matches!(m.kind, MountKind::Symlink | MountKind::Dir) {
        MountFlags::default()
    } else {
        MountFlags {
            read_only: m.read_only.unwrap_or(false),
            nosuid: m.nosuid.unwrap_or(true),
            nodev: m.nodev.unwrap_or(!is_dev),
            noexec: m.noexec.unwrap_or(m.kind == MountKind::Proc),
        }
    };
    let mut op = op;
    let follow = m.follow_symlinks.unwrap_or(false);
    let links_followed = super::host_paths::resolve_mount(cx, key, &mut op, follow);
    Some(MountPlan {
        target,
        flags,
        op,
        links_followed,
    })
}

/// Reject targets that cannot be created: beneath an earlier file or symlink.
/// A mount whose target is not a directory, so nothing can be mounted beneath it.
fn is_leaf(m: &MountPlan) -> bool {
    matches!(m.op, MountOp::File { .. } | MountOp::Symlink { .. })
}

/// `leaves`: indices into `earlier` of its file and symlink mounts.
fn check_target(cx: &mut Ctx, key: &str, m: &MountPlan, earlier: &[MountPlan], leaves: &[usize]) {
    for e in leaves.iter().filter_map(|&i| earlier.get(i)) {
        if m.target.starts_with(&e.target) && m.target != e.target {
            cx.error(
                key,
                format!("`{}` lies beneath `{}`, which an earlier {} mount makes a {}", m.target.display(), e.target.display(), e.op.kind_name(), e.op.kind_name()),
                Some("a directory cannot be created inside a file or symlink; reorder or change the targets".into()),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::compile::{compile, CompileOptions};
    use crate::host::HostFacts;
    use crate::profile::load::load;

    fn errors_of(name: &str, mounts: &str) -> Vec<String> {
        let text = format!("version = 1\nextends = [\"builtin:minimal\"]\n{mounts}");
        let path =
            std::env::temp_dir().join(format!("stockade-{name}-{}.toml", std::process::id()));
        std::fs::write(&path, text).expect("temp profile written");
        let loaded = load(&path.display().to_string());
        let _ = std::fs::remove_file(&path);
        let opts = CompileOptions {
            command: Some(vec!["true".into()]),
            command_optional: false,
        };
        match compile(&loaded.expect("profile loads"), &HostFacts::fixed(), &opts) {
            Ok(_) => Vec::new(),
            Err(d) => d.0.iter().map(|d| d.message.clone()).collect(),
        }
    }

    #[test]
    fn a_target_beneath_an_earlier_symlink_or_file_is_rejected() {
        let symlink = errors_of(
            "beneath-symlink",
            "[[mount]]\ntype = \"tmpfs\"\ntarget = \"/a\"\n\
             [[mount]]\ntype = \"symlink\"\nsource = \"x\"\ntarget = \"/a/link\"\n\
             [[mount]]\ntype = \"tmpfs\"\ntarget = \"/a/link/sub\"\n",
        );
        assert_eq!(symlink.len(), 1, "{symlink:?}");
        assert!(symlink[0].contains("lies beneath `/a/link`"), "{symlink:?}");
        let file = errors_of(
            "beneath-file",
            "[[mount]]\ntype = \"file\"\ntarget = \"/f\"\ncontent = \"x\"\n\
             [[mount]]\ntype = \"dir\"\ntarget = \"/f/d\"\n",
        );
        assert_eq!(file.len(), 1, "{file:?}");
    }

    #[test]
    fn targets_beneath_directory_mounts_are_fine() {
        let errors = errors_of(
            "beneath-dir",
            "[[mount]]\ntype = \"symlink\"\nsource = \"x\"\ntarget = \"/l\"\n\
             [[mount]]\ntype = \"tmpfs\"\ntarget = \"/a\"\n\
             [[mount]]\ntype = \"tmpfs\"\ntarget = \"/a/b\"\n\
             [[mount]]\ntype = \"tmpfs\"\ntarget = \"/lx\"\n",
        );
        assert!(errors.is_empty(), "{errors:?}");
    }
}
