//! What this host offers, probed once: each fact with the evidence it was read from.

use super::forkprobe::{self, ProbeResult};
use crate::cgroup::detect::CgroupLayout;
use serde::Serialize;
use std::path::Path;

/// The host as doctor reports it.
#[derive(Debug, Clone, Serialize)]
pub struct HostReport {
    pub kernel: String,
    pub uid: u32,
    pub user: String,
    pub user_namespaces: UserNs,
    pub id_helpers: IdHelpers,
    pub cgroup: CgroupLayout,
    pub cgroup_summary: String,
    pub landlock_abi: u8,
    pub seccomp_actions: Vec<String>,
    pub time_namespaces: Probe,
    pub proc_mount: ProcMount,
    /// Tried: sethostname(2) in new user and UTS namespaces.
    pub hostname: Probe,
    pub systemd: Systemd,
    pub pasta: Option<String>,
    pub nesting: Nesting,
}

/// A probe's outcome, JSON-friendly.
#[derive(Debug, Clone, Serialize)]
pub struct Probe {
    pub works: bool,
    /// The refused step and errno, when it failed.
    pub error: Option<String>,
}

impl From<ProbeResult> for Probe {
    fn from(r: ProbeResult) -> Probe {
        match r {
            Ok(()) => Probe {
                works: true,
                error: None,
            },
            Err((step, errno)) => Probe {
                works: false,
                error: Some(format!("{step}: {errno} ({})", errno.desc())),
            },
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct UserNs {
    /// Tried: a new user namespace with the caller mapped to root.
    pub probe: Probe,
    /// Debian's `kernel.unprivileged_userns_clone` (absent on other kernels).
    pub unprivileged_userns_clone: Option<String>,
    pub max_user_namespaces: Option<String>,
    /// Ubuntu's AppArmor restriction (`kernel.apparmor_restrict_unprivileged_userns`).
    pub apparmor_restrict_unprivileged_userns: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct IdHelpers {
    /// Path of newuidmap/newgidmap when installed.
    pub newuidmap: Option<String>,
    pub newgidmap: Option<String>,
    /// The helpers can raise privilege (setuid root or file capabilities).
    pub privileged: bool,
    /// This user's subordinate ranges, `start:count`.
    pub subuid: Vec<String>,
    pub subgid: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ProcMount {
    /// Tried: proc mounted in new (user,) mount and PID namespaces.
    pub probe: Probe,
    /// Mounts over paths below /proc (a container's masked /proc): why the kernel refuses.
    pub overmounted: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Systemd {
    /// PID 1 is systemd (as far as this PID namespace can see).
    pub pid1: bool,
    /// /run/systemd/system exists (booted with systemd, sd_booted(3)).
    pub booted: bool,
    pub version: Option<String>,
    /// A user manager's or the caller's NOTIFY_SOCKET (running under a unit).
    pub notify_socket: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Nesting {
    /// In a user namespace other than the initial one (its uid_map is not the identity).
    pub user_namespace: bool,
    pub uid_map: String,
    /// Inside a stockade sandbox (its init is PID 1 here).
    pub stockade: bool,
    /// Inside a container, and which kind, when it says so.
    pub container: Option<String>,
    /// The effective capabilities (CapEff of /proc/self/status).
    pub cap_eff: String,
    /// A seccomp filter is already installed (an outer sandbox or container).
    pub seccomp_filtered: bool,
    pub no_new_privs: bool,
}

fn read_trim(path: &str) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()
        .map(|s| s.trim().to_string())
}

/// Probe the running host.
pub fn host() -> HostReport {
    let uid = nix::unistd::getuid().as_raw();
    let facts = crate::host::HostFacts::probe();
    let user = facts.user.get().to_string();
    let cgroup = crate::cgroup::detect::detect();
    HostReport {
        kernel: read_trim("/proc/sys/kernel/osrelease").unwrap_or_default(),
        uid,
        user_namespaces: UserNs {
            probe: forkprobe::user_namespace().into(),
            unprivileged_userns_clone: read_trim("/proc/sys/kernel/unprivileged_userns_clone"),
            max_user_namespaces: read_trim("/proc/sys/user/max_user_namespaces"),
            apparmor_restrict_unprivileged_userns: read_trim(
                "/proc/sys/kernel/apparmor_restrict_unprivileged_userns",
            ),
        },
        id_helpers: id_helpers(&user, uid),
        cgroup_summary: cgroup.describe(),
        cgroup,
        landlock_abi: facts.landlock_abi,
        seccomp_actions: read_trim("/proc/sys/kernel/seccomp/actions_avail")
            .map(|s| s.split_whitespace().map(str::to_string).collect())
            .unwrap_or_default(),
        time_namespaces: if Path::new("/proc/self/ns/time").exists() {
            forkprobe::time_namespace().into()
        } else {
            Probe {
                works: false,
                error: Some("the kernel has no time namespaces (/proc/self/ns/time)".into()),
            }
        },
        proc_mount: ProcMount {
            probe: forkprobe::proc_mount().into(),
            overmounted: proc_overmounts(
                &std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default(),
            ),
        },
        hostname: forkprobe::hostname().into(),
        systemd: systemd(),
        pasta: which("pasta"),
        nesting: nesting(),
        user,
    }
}

/// Mount points strictly below /proc (a container masks /proc/kcore, /proc/sys, ... with
/// binds or tmpfs). Any of them makes a fresh proc mount "too revealing" for an
/// unprivileged mounter. binfmt_misc is an automount systemd itself puts there and is
/// ignored by the kernel's check (it is a different filesystem type mounted on a
/// permanently empty directory).
pub fn proc_overmounts(mountinfo: &str) -> Vec<String> {
    mountinfo
        .lines()
        .filter_map(|l| {
            let mut f = l.split(' ');
            let point = f.nth(4)?;
            let fstype = l.split(" - ").nth(1)?.split(' ').next()?;
            (point.starts_with("/proc/") && fstype != "binfmt_misc")
                .then(|| format!("{point} ({fstype})"))
        })
        .collect()
}

fn which(name: &str) -> Option<String> {
    let path = std::env::var_os("PATH").unwrap_or_else(|| "/usr/bin:/bin:/usr/sbin:/sbin".into());
    std::env::split_paths(&path)
        .chain(["/usr/bin".into(), "/usr/sbin".into()])
        .map(|d| d.join(name))
        .find(|p| p.is_file())
        .map(|p| p.display().to_string())
}

fn id_helpers(user: &str, uid: u32) -> IdHelpers {
    use std::os::unix::fs::MetadataExt;
    let newuidmap = which("newuidmap");
    let newgidmap = which("newgidmap");
    let privileged = [&newuidmap, &newgidmap].iter().all(|p| {
        p.as_deref().is_some_and(|p| {
            let setuid_root =
                std::fs::metadata(p).is_ok_and(|m| m.mode() & 0o4000 != 0 && m.uid() == 0);
            setuid_root || has_file_caps(p)
        })
    });
    let ranges = |file: &str| {
        subid_ranges(
            &std::fs::read_to_string(file).unwrap_or_default(),
            user,
            uid,
        )
    };
    IdHelpers {
        newuidmap,
        newgidmap,
        privileged,
        subuid: ranges("/etc/subuid"),
        subgid: ranges("/etc/subgid"),
    }
}

fn has_file_caps(path: &str) -> bool {
    let Ok(p) = std::ffi::CString::new(path) else {
        return false;
    };
    // SAFETY: NUL-terminated strings; a NULL buffer of size 0 asks for the value's size.
    unsafe {
        libc::getxattr(
            p.as_ptr(),
            c"security.capability".as_ptr(),
            std::ptr::null_mut(),
            0,
        ) > 0
    }
}

/// The `start:count` ranges of /etc/subuid or /etc/subgid for `user` (by name or uid).
pub fn subid_ranges(text: &str, user: &str, uid: u32) -> Vec<String> {
    let uid = uid.to_string();
    text.lines()
        .filter_map(|l| {
            let mut f = l.trim().split(':');
            let (who, start, count) = (f.next()?, f.next()?, f.next()?);
            (who == user || who == uid).then(|| format!("{start}:{count}"))
        })
        .collect()
}

fn systemd() -> Systemd {
    let pid1 = read_trim("/proc/1/comm").as_deref() == Some("systemd");
    let version = which("systemctl").and_then(|s| {
        let out = std::process::Command::new(s)
            .arg("--version")
            .output()
            .ok()?;
        let text = String::from_utf8_lossy(&out.stdout);
        // "systemd 252 (252.39-1~deb12u1)"
        text.lines()
            .next()?
            .split_whitespace()
            .nth(1)
            .map(str::to_string)
    });
    Systemd {
        pid1,
        booted: Path::new("/run/systemd/system").is_dir(),
        version,
        notify_socket: std::env::var_os("NOTIFY_SOCKET").is_some(),
    }
}

fn status_field(status: &str, name: &str) -> Option<String> {
    status
        .lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
        .map(|v| v.trim().to_string())
}

fn nesting() -> Nesting {
    let uid_map = std::fs::read_to_string("/proc/self/uid_map").unwrap_or_default();
    let identity =
        uid_map.split_whitespace().collect::<Vec<_>>().as_slice() == ["0", "0", "4294967295"];
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let container = std::env::var("container")
        .ok()
        .or_else(|| read_trim("/run/container_type"))
        .or_else(|| {
            std::fs::read("/proc/1/environ").ok().and_then(|env| {
                env.split(|b| *b == 0)
                    .find_map(|kv| kv.strip_prefix(b"container="))
                    .map(|v| String::from_utf8_lossy(v).into_owned())
            })
        })
        .or_else(|| {
            Path::new("/run/.containerenv")
                .exists()
                .then(|| "podman".into())
        })
        .or_else(|| Path::new("/.dockerenv").exists().then(|| "docker".into()));
    Nesting {
        user_namespace: !identity,
        uid_map: uid_map.split_whitespace().collect::<Vec<_>>().join(" "),
        stockade: read_trim("/proc/1/comm").as_deref() == Some("stockade"),
        container,
        cap_eff: status_field(&status, "CapEff").unwrap_or_default(),
        seccomp_filtered: status_field(&status, "Seccomp").is_some_and(|v| v != "0"),
        no_new_privs: status_field(&status, "NoNewPrivs").is_some_and(|v| v == "1"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overmounts_below_proc_are_found_and_proc_itself_is_not() {
        let mi = "22 1 0:5 / /proc rw,nosuid - proc proc rw\n\
                  30 22 0:6 /null /proc/kcore rw - devtmpfs udev rw\n\
                  31 22 0:7 / /proc/sys/fs/binfmt_misc rw - binfmt_misc binfmt_misc rw\n\
                  32 22 0:8 / /proc/scsi ro - tmpfs tmpfs ro\n";
        assert_eq!(
            proc_overmounts(mi),
            ["/proc/kcore (devtmpfs)", "/proc/scsi (tmpfs)"]
        );
    }

    #[test]
    fn subordinate_ranges_match_by_name_or_uid() {
        let text = "alice:100000:65536\n1001:200000:65536\nbob:300000:10\n";
        assert_eq!(subid_ranges(text, "alice", 1000), ["100000:65536"]);
        assert_eq!(subid_ranges(text, "carol", 1001), ["200000:65536"]);
        assert!(subid_ranges(text, "dave", 7).is_empty());
    }
}
