//! Facts about the host, probed once and handed to the (pure) compiler.
//!
//! Keeping them in a value makes `compile` deterministic: tests and snapshots use
//! [`HostFacts::fixed`], the CLI uses [`HostFacts::probe`].

use serde::{Serialize, Serializer};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::OnceLock;

/// What the compiler may know about the host and the caller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HostFacts {
    /// Real uid and gid of the caller.
    pub uid: u32,
    pub gid: u32,
    /// The caller's user name (`$USER`, else the passwd database, else the uid).
    pub user: UserName,
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
    /// The caller's hard resource limits, by resource number (`RLIM_UNLIMITED`: none).
    /// A sandbox can go up to these; above them only with CAP_SYS_RESOURCE.
    pub rlimit_hard: BTreeMap<u32, u64>,
    /// The caller has CAP_SYS_RESOURCE (in its own, the initial, user namespace), so a
    /// sandbox without a user namespace may raise hard limits.
    pub can_raise_rlimits: bool,
    /// Host paths the profile names that are, or pass through, a symlink (probed after a
    /// first compile, see `host_links`); empty when none is.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub host_links: BTreeMap<PathBuf, HostLink>,
}

/// A host path that goes through a symlink.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HostLink {
    /// The first component of the path that is a symlink, and that link's content.
    pub link: PathBuf,
    pub points_to: PathBuf,
    /// The whole path with every link resolved (None: a link in it leads nowhere).
    pub resolved: Option<PathBuf>,
}

impl HostFacts {
    /// Probe the running host.
    pub fn probe() -> HostFacts {
        let uid = nix::unistd::getuid().as_raw();
        let gid = nix::unistd::getgid().as_raw();
        let env: BTreeMap<String, String> = std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
            .collect();
        let user = match env.get("USER").filter(|u| !u.is_empty()) {
            Some(name) => UserName::known(uid, name.clone()),
            None => UserName::lookup_later(uid),
        };
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
            rlimit_hard: caller_hard_limits(),
            can_raise_rlimits: caps::has_cap(
                None,
                caps::CapSet::Effective,
                caps::Capability::CAP_SYS_RESOURCE,
            )
            .unwrap_or(false),
            host_links: BTreeMap::new(),
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
            user: UserName::known(1000, "dev".into()),
            home: PathBuf::from("/home/dev"),
            cwd: PathBuf::from("/home/dev/src/project"),
            env,
            landlock_abi: 7,
            cap_last_cap: 40,
            has_newidmap: true,
            // systemd's default hard NOFILE; everything else unlimited.
            rlimit_hard: crate::compile::RLIMITS
                .iter()
                .map(|(_, _, r, _)| (*r, if *r == 7 { 524_288 } else { u64::MAX }))
                .collect(),
            can_raise_rlimits: false,
            host_links: BTreeMap::new(),
        }
    }
}

/// getrlimit(2) of every resource stockade knows; one missing from the map is not checked.
fn caller_hard_limits() -> BTreeMap<u32, u64> {
    crate::compile::RLIMITS
        .iter()
        .filter_map(|(_, _, resource, _)| {
            let mut l = libc::rlimit {
                rlim_cur: 0,
                rlim_max: 0,
            };
            // SAFETY: getrlimit with a valid resource number and out pointer.
            if unsafe { libc::getrlimit(*resource as _, &mut l) } != 0 {
                return None;
            }
            let hard = if l.rlim_max == libc::RLIM_INFINITY {
                crate::plan::RLIM_UNLIMITED
            } else {
                l.rlim_max
            };
            Some((*resource, hard))
        })
        .collect()
}

/// The caller's user name: `$USER` when set, else looked up in the passwd database on first
/// use, else the uid.
///
/// The passwd lookup goes through NSS (nsswitch.conf, nscd connection attempts, /etc/passwd),
/// a measurable slice of a launch, and only a profile that writes `${USER}` needs the name,
/// so it is not done up front.
#[derive(Debug, Clone)]
pub struct UserName {
    uid: u32,
    name: OnceLock<String>,
}

impl UserName {
    /// A name already known (from `$USER`, or fixed for tests).
    pub fn known(uid: u32, name: String) -> UserName {
        UserName {
            uid,
            name: OnceLock::from(name),
        }
    }

    /// The name of `uid`, to be looked up when first asked for.
    pub fn lookup_later(uid: u32) -> UserName {
        UserName {
            uid,
            name: OnceLock::new(),
        }
    }

    /// The name (looked up now if needed).
    pub fn get(&self) -> &str {
        self.name.get_or_init(|| {
            nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(self.uid))
                .ok()
                .flatten()
                .map(|u| u.name)
                .unwrap_or_else(|| self.uid.to_string())
        })
    }
}

// Compared and serialized by the name itself, as the plain `String` it replaces was.
impl PartialEq for UserName {
    fn eq(&self, other: &UserName) -> bool {
        self.get() == other.get()
    }
}

impl Eq for UserName {}

impl Serialize for UserName {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.get())
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

#[cfg(test)]
mod tests {
    use super::UserName;

    #[test]
    fn a_known_name_is_kept() {
        assert_eq!(UserName::known(4242, "alice".into()).get(), "alice");
    }

    #[test]
    fn a_lazy_name_comes_from_the_passwd_database_or_the_uid() {
        // uid 0 is in every passwd database; an unassigned uid falls back to its number.
        assert_eq!(UserName::lookup_later(0).get(), "root");
        assert_eq!(UserName::lookup_later(3_999_999_999).get(), "3999999999");
        assert_eq!(UserName::lookup_later(0), UserName::known(0, "root".into()));
    }
}
