//! Layout detection: which cgroup hierarchies are mounted (pure v2, hybrid, v1), where the
//! caller sits in each, which controllers are usable, and whether the caller may create
//! cgroups there (root, systemd `Delegate=yes`, a user session's delegated subtree).
//!
//! Parsing is pure (`parse_*`); [`detect_with`] reads through a [`CgroupFs`] so tests can
//! describe a whole host in a temp directory.

use super::fs::CgroupFs;
use serde::Serialize;
use std::path::{Path, PathBuf};

/// The name of the sibling leaf the supervisor moves into when the caller's v2 cgroup holds
/// processes and controllers must be enabled for its children (no-internal-processes rule).
pub const SUPERVISOR_LEAF: &str = "stockade-supervisor";

/// The v1 controllers stockade uses (the others are left out of descriptions).
const USED_V1: &[&str] = &["memory", "cpu", "cpuacct", "pids", "cpuset"];

/// How cgroups are mounted on this host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum LayoutKind {
    /// Only cgroup2 (at /sys/fs/cgroup on systemd hosts): stockade uses cgroup v2.
    Unified,
    /// v1 controller hierarchies plus a cgroup2 mount: stockade uses the v1 controllers
    /// (a controller bound to a v1 hierarchy is not available on cgroup2).
    Hybrid,
    /// v1 hierarchies only.
    Legacy,
    /// No cgroup filesystem is mounted.
    None,
}

/// The caller's place in the unified (cgroup2) hierarchy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnifiedInfo {
    pub mount: PathBuf,
    /// The caller's cgroup as /proc/self/cgroup names it (`0::/user.slice/...`).
    pub own_path: String,
    /// Where stockade creates its leaves: the caller's cgroup directory, or its parent when
    /// the caller already sits in [`SUPERVISOR_LEAF`] (so leaves do not nest run after run).
    pub base: PathBuf,
    /// Controllers available in `base` (its `cgroup.controllers`).
    pub controllers: Vec<String>,
    /// The caller may create cgroups in `base` and move processes there (delegation).
    pub writable: bool,
}

/// One mounted v1 hierarchy with controllers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct V1Hierarchy {
    /// Controllers bound to it (`cpu`, `cpuacct`, `memory`, ...).
    pub controllers: Vec<String>,
    pub mount: PathBuf,
    /// The caller's cgroup in this hierarchy, as /proc/self/cgroup names it.
    pub own_path: String,
    /// The caller's cgroup directory: where leaves are created.
    pub base: PathBuf,
    pub writable: bool,
}

impl V1Hierarchy {
    /// Whether `controller` is bound to this hierarchy.
    pub fn has(&self, controller: &str) -> bool {
        self.controllers.iter().any(|c| c == controller)
    }
}

/// Everything stockade knows about the host's cgroups.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CgroupLayout {
    pub kind: LayoutKind,
    pub unified: Option<UnifiedInfo>,
    pub v1: Vec<V1Hierarchy>,
}

impl CgroupLayout {
    /// A fixed layout for tests and snapshots: pure v2, caller in a delegated user scope.
    pub fn fixed() -> CgroupLayout {
        let mount = PathBuf::from("/sys/fs/cgroup");
        let own_path = "/user.slice/user-1000.slice/user@1000.service/app.slice/run-1.scope";
        CgroupLayout {
            kind: LayoutKind::Unified,
            unified: Some(UnifiedInfo {
                base: mount.join(&own_path[1..]),
                mount,
                own_path: own_path.to_string(),
                controllers: ["cpu", "io", "memory", "pids"].map(String::from).to_vec(),
                writable: true,
            }),
            v1: Vec::new(),
        }
    }

    /// The cgroup version stockade drives on this layout.
    pub fn version(&self) -> Option<u8> {
        match self.kind {
            LayoutKind::Unified => Some(2),
            LayoutKind::Hybrid | LayoutKind::Legacy => Some(1),
            LayoutKind::None => None,
        }
    }

    /// The v1 hierarchy that holds `controller`.
    pub fn v1_hierarchy(&self, controller: &str) -> Option<&V1Hierarchy> {
        self.v1.iter().find(|h| h.has(controller))
    }

    /// One line for reports and error messages, e.g. `cgroup v2, caller's cgroup
    /// /sys/fs/cgroup/system.slice/x.service (writable; controllers: cpu memory pids)` or
    /// `cgroup v1 (hybrid): cpu, cpuacct, memory (not writable), pids`.
    pub fn describe(&self) -> String {
        match (self.kind, &self.unified) {
            (LayoutKind::Unified, Some(u)) => format!(
                "cgroup v2, caller's cgroup {} ({}; controllers: {})",
                u.base.display(),
                if u.writable {
                    "writable"
                } else {
                    "not writable: not delegated"
                },
                if u.controllers.is_empty() {
                    "none".to_string()
                } else {
                    u.controllers.join(" ")
                }
            ),
            (LayoutKind::None, _) | (_, None) if self.v1.is_empty() => {
                "no cgroup filesystem mounted".to_string()
            }
            _ => {
                let parts: Vec<String> = self
                    .v1
                    .iter()
                    .filter(|h| USED_V1.iter().any(|c| h.has(c)))
                    .map(|h| {
                        format!(
                            "{}{}",
                            h.controllers.join(","),
                            if h.writable { "" } else { " (not writable)" }
                        )
                    })
                    .collect();
                let kind = if self.kind == LayoutKind::Hybrid {
                    "hybrid"
                } else {
                    "legacy"
                };
                format!("cgroup v1 ({kind}): {}", parts.join(", "))
            }
        }
    }
}

/// A cgroup or cgroup2 line of /proc/self/mountinfo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CgroupMount {
    pub v2: bool,
    /// The mount's root inside the hierarchy (field 4: not `/` in a cgroup namespace or a
    /// bind-mounted subtree).
    pub root: String,
    pub mount_point: PathBuf,
    /// v1 controllers from the super options (`rw,cpu,cpuacct`); empty for v2.
    pub controllers: Vec<String>,
}

/// Parse the cgroup mounts out of /proc/self/mountinfo.
pub fn parse_mountinfo(text: &str) -> Vec<CgroupMount> {
    const V1_CONTROLLERS: &[&str] = &[
        "cpu",
        "cpuacct",
        "cpuset",
        "memory",
        "pids",
        "blkio",
        "devices",
        "freezer",
        "net_cls",
        "net_prio",
        "perf_event",
        "hugetlb",
        "rdma",
        "misc",
    ];
    let mut out = Vec::new();
    for line in text.lines() {
        // Fields: id parent maj:min root mountpoint opts [optional...] - fstype source superopts
        let Some((left, right)) = line.split_once(" - ") else {
            continue;
        };
        let l: Vec<&str> = left.split(' ').collect();
        let r: Vec<&str> = right.split(' ').collect();
        if l.len() < 5 || r.len() < 3 {
            continue;
        }
        let v2 = match r[0] {
            "cgroup2" => true,
            "cgroup" => false,
            _ => continue,
        };
        let controllers = if v2 {
            Vec::new()
        } else {
            r[2].split(',')
                .filter(|o| V1_CONTROLLERS.contains(o))
                .map(str::to_string)
                .collect()
        };
        out.push(CgroupMount {
            v2,
            root: unescape_octal(l[3]),
            mount_point: PathBuf::from(unescape_octal(l[4])),
            controllers,
        });
    }
    out
}

/// mountinfo escapes space, tab, newline and backslash as `\ooo`.
fn unescape_octal(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len()
            && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            let v = (b[i + 1] - b'0') as u32 * 64
                + (b[i + 2] - b'0') as u32 * 8
                + (b[i + 3] - b'0') as u32;
            if let Ok(v) = u8::try_from(v) {
                out.push(v);
                i += 4;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// One line of /proc/self/cgroup: `hierarchy-id:controllers:path`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Membership {
    pub id: u32,
    pub controllers: Vec<String>,
    pub path: String,
}

/// Parse /proc/self/cgroup.
pub fn parse_proc_cgroup(text: &str) -> Vec<Membership> {
    text.lines()
        .filter_map(|line| {
            let mut it = line.splitn(3, ':');
            let id = it.next()?.parse().ok()?;
            let controllers = it
                .next()?
                .split(',')
                .filter(|c| !c.is_empty())
                .map(str::to_string)
                .collect();
            let path = it.next()?.to_string();
            Some(Membership {
                id,
                controllers,
                path,
            })
        })
        .collect()
}

/// The directory of cgroup `path` (as /proc/self/cgroup names it) below a mount whose
/// root is `root`. None when the cgroup is outside what the mount shows.
fn cgroup_dir(mount_point: &Path, root: &str, path: &str) -> Option<PathBuf> {
    let rel = if root == "/" {
        path.trim_start_matches('/')
    } else {
        let rest = path.strip_prefix(root)?;
        if !(rest.is_empty() || rest.starts_with('/')) {
            return None;
        }
        rest.trim_start_matches('/')
    };
    // A path with `..` would escape the mount (it cannot come from the kernel).
    if rel.split('/').any(|c| c == "..") {
        return None;
    }
    Some(if rel.is_empty() {
        mount_point.to_path_buf()
    } else {
        mount_point.join(rel)
    })
}

/// Assemble the layout from parsed mountinfo and /proc/self/cgroup, probing controllers and
/// writability through `fs`.
pub fn detect_with(fs: &dyn CgroupFs, mountinfo: &str, proc_cgroup: &str) -> CgroupLayout {
    let mounts = parse_mountinfo(mountinfo);
    let members = parse_proc_cgroup(proc_cgroup);

    let unified = members
        .iter()
        .find(|m| m.id == 0 && m.controllers.is_empty())
        .and_then(|m| {
            let mount = mounts
                .iter()
                .find(|mnt| mnt.v2 && cgroup_dir(&mnt.mount_point, &mnt.root, &m.path).is_some())?;
            let own = cgroup_dir(&mount.mount_point, &mount.root, &m.path)?;
            let base = match own.file_name() {
                Some(n) if n == SUPERVISOR_LEAF => own.parent().map(Path::to_path_buf)?,
                _ => own,
            };
            let controllers = fs
                .read(&base.join("cgroup.controllers"))
                .map(|s| s.split_whitespace().map(str::to_string).collect())
                .unwrap_or_default();
            let writable = fs.writable(&base)
                && fs.writable(&base.join("cgroup.procs"))
                && fs.writable(&base.join("cgroup.subtree_control"));
            Some(UnifiedInfo {
                mount: mount.mount_point.clone(),
                own_path: m.path.clone(),
                base,
                controllers,
                writable,
            })
        });

    let mut v1 = Vec::new();
    for m in members.iter().filter(|m| m.id != 0) {
        // Named hierarchies (name=systemd) have no controllers: nothing to enforce there.
        let controllers: Vec<String> = m
            .controllers
            .iter()
            .filter(|c| !c.starts_with("name="))
            .cloned()
            .collect();
        if controllers.is_empty() {
            continue;
        }
        let Some(mount) = mounts.iter().find(|mnt| {
            !mnt.v2
                && controllers.iter().all(|c| mnt.controllers.contains(c))
                && cgroup_dir(&mnt.mount_point, &mnt.root, &m.path).is_some()
        }) else {
            continue;
        };
        let Some(base) = cgroup_dir(&mount.mount_point, &mount.root, &m.path) else {
            continue;
        };
        let writable = fs.writable(&base) && fs.writable(&base.join("cgroup.procs"));
        v1.push(V1Hierarchy {
            controllers,
            mount: mount.mount_point.clone(),
            own_path: m.path.clone(),
            base,
            writable,
        });
    }

    let kind = match (&unified, v1.is_empty()) {
        (_, false) if unified.is_some() => LayoutKind::Hybrid,
        (_, false) => LayoutKind::Legacy,
        (Some(_), true) => LayoutKind::Unified,
        (None, true) => LayoutKind::None,
    };
    CgroupLayout { kind, unified, v1 }
}

/// Detect the running host's layout from /proc/self/mountinfo and /proc/self/cgroup.
pub fn detect() -> CgroupLayout {
    let fs = super::fs::HostFs;
    let mountinfo = fs
        .read(Path::new("/proc/self/mountinfo"))
        .unwrap_or_default();
    let cgroup = fs.read(Path::new("/proc/self/cgroup")).unwrap_or_default();
    let mut layout = detect_with(&fs, &mountinfo, &cgroup);
    if let Some(u) = layout.unified.as_mut() {
        // Root can write anywhere in systemd's tree, but a unit's cgroup belongs to systemd
        // unless the unit says Delegate=yes: writing there fights systemd (it may move or
        // kill processes, or reset controllers). Treat it as not delegated.
        if u.writable && undelegated_systemd_unit(&u.base) {
            u.writable = false;
        }
    }
    layout
}

/// Whether `dir` is the cgroup of a systemd unit (it carries the manager's
/// `invocation_id` xattr) that was not delegated (no `delegate` xattr set to 1; systemd
/// marks delegated cgroups so since v251, with `trusted.*` for the system manager and
/// `user.*` for user managers).
fn undelegated_systemd_unit(dir: &Path) -> bool {
    let has = |name: &str| xattr(dir, name).is_some();
    let is_unit = has("trusted.invocation_id") || has("user.invocation_id");
    let delegated = ["trusted.delegate", "user.delegate"]
        .iter()
        .any(|n| xattr(dir, n).as_deref() == Some(b"1".as_slice()));
    is_unit && !delegated
}

fn xattr(path: &Path, name: &str) -> Option<Vec<u8>> {
    use std::os::unix::ffi::OsStrExt;
    let p = std::ffi::CString::new(path.as_os_str().as_bytes()).ok()?;
    let n = std::ffi::CString::new(name).ok()?;
    let mut buf = [0u8; 256];
    // SAFETY: NUL-terminated strings and a live buffer of the given size.
    let len = unsafe { libc::getxattr(p.as_ptr(), n.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
    (len >= 0).then(|| buf[..len as usize].to_vec())
}
