//! Facts about the host, probed once and handed to the (pure) compiler.
//!
//! Keeping them in a value makes `compile` deterministic: tests and snapshots use
//! [`HostFacts::fixed`], the CLI uses [`HostFacts::probe`].

use serde::Serialize;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// What the compiler may know about the host and the caller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HostFacts {
    /// Real uid and gid of the caller.
    pub uid: u32,
    pub gid: u32,
    /// The caller's user name (from the passwd database, else `$USER`, else the uid).
    pub user: String,
    /// The caller's home directory (`$HOME`).
    pub home: PathBuf,
    /// The current directory.
    pub cwd: PathBuf,
    /// The caller's environment (for `env.keep`, `${env:NAME}`, systemd pass-through).
    pub env: BTreeMap<String, String>,
    /// The highest Landlock ABI the kernel supports (0: none).
    pub landlock_abi: u8,
    /// `/proc/sys/kernel/cap_last_cap`.
    pub cap_last_cap: u8,
    /// newuidmap/newgidmap are installed.
    pub has_newidmap: bool,
    /// cgroup layout: v2/hybrid/v1, the caller's cgroup, delegation (see `cgroup::detect`).
    pub cgroup: crate::cgroup::CgroupLayout,
}

impl HostFacts {
    /// Probe the running host.
    pub fn probe() -> HostFacts {
        let uid = nix::unistd::getuid().as_raw();
        let gid = nix::unistd::getgid().as_raw();
        let env: BTreeMap<String, String> = std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
            .collect();
        let user = nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid))
            .ok()
            .flatten()
            .map(|u| u.name)
            .or_else(|| env.get("USER").cloned())
            .unwrap_or_else(|| uid.to_string());
        let home = env
            .get("HOME")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("/"));
        let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"));
        let cap_last_cap = std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(40);
        let has_newidmap = ["/usr/bin/newuidmap", "/usr/bin/newgidmap"]
            .iter()
            .all(|p| std::path::Path::new(p).exists());
        HostFacts {
            uid,
            gid,
            user,
            home,
            cwd,
            env,
            landlock_abi: landlock_abi(),
            cap_last_cap,
            has_newidmap,
            cgroup: crate::cgroup::detect(),
        }
    }

    /// A fixed, host-independent value for tests and snapshots.
    pub fn fixed() -> HostFacts {
        let env = [
            ("HOME", "/home/dev"),
            ("PATH", "/usr/local/bin:/usr/bin:/bin"),
            ("TERM", "xterm-256color"),
            ("USER", "dev"),
            ("LANG", "C.UTF-8"),
            ("CARGO_HOME", "/home/dev/.cargo"),
            ("CARGO_TERM_COLOR", "always"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        HostFacts {
            uid: 1000,
            gid: 1000,
            user: "dev".into(),
            home: PathBuf::from("/home/dev"),
            cwd: PathBuf::from("/home/dev/src/project"),
            env,
            landlock_abi: 7,
            cap_last_cap: 40,
            has_newidmap: true,
            cgroup: crate::cgroup::CgroupLayout::fixed(),
        }
    }
}

/// The kernel's Landlock ABI version, 0 when Landlock is unavailable.
fn landlock_abi() -> u8 {
    const LANDLOCK_CREATE_RULESET_VERSION: libc::c_uint = 1;
    // SAFETY: with a NULL attr, size 0 and the VERSION flag the syscall only returns the ABI
    // version; it creates nothing.
    let v = unsafe {
        libc::syscall(
            libc::SYS_landlock_create_ruleset,
            std::ptr::null::<libc::c_void>(),
            0usize,
            LANDLOCK_CREATE_RULESET_VERSION,
        )
    };
    if v < 0 {
        0
    } else {
        u8::try_from(v).unwrap_or(u8::MAX)
    }
}
