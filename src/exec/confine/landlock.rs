//! Landlock: filesystem rights, TCP ports (ABI 4), IPC scopes (ABI 6).
//!
//! Parent: [`prepare_landlock`] resolves right names to masks, turns paths into C strings,
//! and compares what the profile asks for with the kernel's ABI. With
//! `compat = "required"` anything the kernel lacks is an error naming the feature, the ABI
//! it needs and the profile key; with `"best-effort"` it becomes the "not enforced" list.
//!
//! Child (after pivot_root: the paths are the sandbox's): [`PreparedLandlock::apply`] opens
//! every path itself with O_PATH (never `path_beneath_rules`, which silently drops paths
//! it cannot open), so a missing path fails the run with ENOENT instead of losing a rule.
//! The landlock crate builds and enforces the ruleset: `HardRequirement` for required,
//! `BestEffort` otherwise; its `RestrictionStatus` is reported back.

use super::failure::{mark, Call};
use super::ConfineError;
use crate::plan::{Compat, LandlockPlan};
use landlock::{
    AccessFs, AccessNet, BitFlags, CompatLevel, Compatible, NetPort, PathBeneath, Ruleset,
    RulesetAttr, RulesetCreatedAttr, RulesetStatus, Scope,
};
use serde::Serialize;
use std::ffi::CString;
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;

/// Fine-grained filesystem rights: profile name, Landlock ABI that introduced it, flag.
const FS_RIGHTS: &[(&str, u8, AccessFs)] = &[
    ("execute", 1, AccessFs::Execute),
    ("write-file", 1, AccessFs::WriteFile),
    ("read-file", 1, AccessFs::ReadFile),
    ("read-dir", 1, AccessFs::ReadDir),
    ("remove-dir", 1, AccessFs::RemoveDir),
    ("remove-file", 1, AccessFs::RemoveFile),
    ("make-char", 1, AccessFs::MakeChar),
    ("make-dir", 1, AccessFs::MakeDir),
    ("make-reg", 1, AccessFs::MakeReg),
    ("make-sock", 1, AccessFs::MakeSock),
    ("make-fifo", 1, AccessFs::MakeFifo),
    ("make-block", 1, AccessFs::MakeBlock),
    ("make-sym", 1, AccessFs::MakeSym),
    ("refer", 2, AccessFs::Refer),
    ("truncate", 3, AccessFs::Truncate),
    ("ioctl-dev", 5, AccessFs::IoctlDev),
    ("resolve-unix", 9, AccessFs::ResolveUnix),
];

/// Shorthands accepted where a right is expected (the profile's `read`/`write`/`exec` lists).
const SHORTHANDS: &[(&str, &[&str])] = &[
    ("read", &["read-file", "read-dir"]),
    ("exec", &["execute", "read-file", "read-dir"]),
    (
        "write",
        &[
            "read-file",
            "read-dir",
            "write-file",
            "remove-dir",
            "remove-file",
            "make-dir",
            "make-reg",
            "make-sock",
            "make-fifo",
            "make-sym",
            "refer",
            "truncate",
        ],
    ),
];

/// TCP bind/connect restrictions need ABI 4.
pub const NET_MIN_ABI: u8 = 4;
const SCOPES: &[(&str, u8, Scope)] = &[
    ("abstract-unix-socket", 6, Scope::AbstractUnixSocket),
    ("signal", 6, Scope::Signal),
];

// Bits of `LandlockStatus::missing`: FS_RIGHTS by index, then these.
const MISSING_BIND_TCP: u32 = 32;
const MISSING_CONNECT_TCP: u32 = 33;
const MISSING_SCOPE_BASE: u32 = 40;
const MISSING_ABI_PIN: u32 = 48;

/// Rights a rule on a non-directory may carry (the kernel rejects directory rights there).
fn file_rights() -> BitFlags<AccessFs> {
    AccessFs::Execute
        | AccessFs::WriteFile
        | AccessFs::ReadFile
        | AccessFs::Truncate
        | AccessFs::IoctlDev
}

/// The ABI a right (fine-grained or shorthand) needs; `None` if the name is unknown.
/// For a shorthand, the ABI of its base rights (1): the others are taken as available.
pub fn access_min_abi(name: &str) -> Option<u8> {
    if let Some((_, abi, _)) = FS_RIGHTS.iter().find(|(n, _, _)| *n == name) {
        return Some(*abi);
    }
    SHORTHANDS.iter().any(|(n, _)| *n == name).then_some(1)
}

/// The ABI a scope needs; `None` if unknown.
pub fn scope_min_abi(name: &str) -> Option<u8> {
    SCOPES.iter().find(|(n, _, _)| *n == name).map(|s| s.1)
}

/// A right's flag; a shorthand expands to its rights that exist at the pinned ABI (so
/// `write` at ABI 1 does not include `truncate`, which ABI 1 cannot restrict anyway).
fn access_mask(name: &str, pinned_abi: u8) -> Result<BitFlags<AccessFs>, ConfineError> {
    if let Some((_, _, flag)) = FS_RIGHTS.iter().find(|(n, _, _)| *n == name) {
        return Ok(BitFlags::from(*flag));
    }
    let (_, parts) = SHORTHANDS
        .iter()
        .find(|(n, _)| *n == name)
        .ok_or_else(|| ConfineError::UnknownAccess(name.to_string()))?;
    Ok(FS_RIGHTS
        .iter()
        .filter(|(n, abi, _)| *abi <= pinned_abi && parts.contains(n))
        .fold(BitFlags::empty(), |m, (_, _, flag)| m | *flag))
}

fn mask_of(names: &[String], pinned_abi: u8) -> Result<BitFlags<AccessFs>, ConfineError> {
    names.iter().try_fold(BitFlags::empty(), |m, n| {
        Ok(m | access_mask(n, pinned_abi)?)
    })
}

/// The running kernel's Landlock ABI (0: unsupported or disabled).
pub fn kernel_landlock_abi() -> u8 {
    // SAFETY: LANDLOCK_CREATE_RULESET_VERSION with a NULL attr and size 0 only queries.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_landlock_create_ruleset,
            std::ptr::null::<libc::c_void>(),
            0usize,
            1u32,
        )
    };
    u8::try_from(rc.max(0)).unwrap_or(u8::MAX)
}

/// Landlock result, sent from child to parent as fixed-size data for the run report.
/// Serialized with readable companions: `{"ruleset": 2, "status": "fully enforced",
/// "missing": 0, "not_enforced": []}`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LandlockStatus {
    /// 0 not enforced, 1 partially, 2 fully (the kernel's answer via the landlock crate).
    pub ruleset: u8,
    /// Bit set of requested features the kernel did not enforce (see [`Self::missing_names`]).
    pub missing: u64,
}

impl Serialize for LandlockStatus {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("LandlockStatus", 4)?;
        st.serialize_field("ruleset", &self.ruleset)?;
        st.serialize_field("status", self.ruleset_name())?;
        st.serialize_field("missing", &self.missing)?;
        st.serialize_field("not_enforced", &self.missing_names())?;
        st.end()
    }
}

impl LandlockStatus {
    /// `fully enforced`, `partially enforced`, `not enforced`.
    pub fn ruleset_name(&self) -> &'static str {
        match self.ruleset {
            2 => "fully enforced",
            1 => "partially enforced",
            _ => "not enforced",
        }
    }

    /// The features in `missing`, by profile name.
    pub fn missing_names(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (i, (name, _, _)) in FS_RIGHTS.iter().enumerate() {
            if self.missing & (1 << i) != 0 {
                out.push(format!("right {name}"));
            }
        }
        if self.missing & (1 << MISSING_BIND_TCP) != 0 {
            out.push("bind-tcp".into());
        }
        if self.missing & (1 << MISSING_CONNECT_TCP) != 0 {
            out.push("connect-tcp".into());
        }
        for (i, (name, _, _)) in SCOPES.iter().enumerate() {
            if self.missing & (1 << (MISSING_SCOPE_BASE + i as u32)) != 0 {
                out.push(format!("scope {name}"));
            }
        }
        if self.missing & (1 << MISSING_ABI_PIN) != 0 {
            out.push("rights of the pinned ABI above the kernel's".into());
        }
        out
    }
}

/// A ruleset ready for the child: masks resolved, paths as C strings.
#[derive(Debug, Clone)]
pub struct PreparedLandlock {
    compat: Compat,
    handled_fs: BitFlags<AccessFs>,
    handled_net: BitFlags<AccessNet>,
    scopes: BitFlags<Scope>,
    /// (path, rights, the rule is dropped when the path is missing: see `optional`).
    paths: Vec<(CString, BitFlags<AccessFs>, bool)>,
    bind_tcp: Vec<u16>,
    connect_tcp: Vec<u16>,
    missing: u64,
    /// What the kernel will not enforce, one line each (empty when everything is).
    pub not_enforced: Vec<String>,
}

/// Resolve the plan against the kernel's ABI (parent, before clone). Fails when the plan
/// uses a feature above its own pinned ABI, or, with `compat = "required"`, when the kernel
/// lacks a requested feature.
pub fn prepare_landlock(
    plan: &LandlockPlan,
    kernel_abi: u8,
) -> Result<PreparedLandlock, ConfineError> {
    let mut missing = 0u64;
    let mut not_enforced = Vec::new();
    // Missing features `landlock.required` names: an error whatever `compat` says (compile
    // already refuses them against the probed kernel; this holds for any plan).
    let mut required_missing = Vec::new();
    let mut need = |feature: String, needs: u8, bit: u32, id: &str| -> Result<(), ConfineError> {
        if needs > plan.abi {
            return Err(ConfineError::AbovePinnedAbi {
                feature,
                needs,
                pinned: plan.abi,
            });
        }
        if needs > kernel_abi {
            missing |= 1 << bit;
            let line = if kernel_abi == 0 {
                format!("{feature} needs Landlock, which this kernel does not support (not built, or not in the lsm= boot parameter)")
            } else {
                format!("{feature} needs Landlock ABI {needs}, kernel has {kernel_abi}")
            };
            if plan.required.iter().any(|r| r == id) {
                required_missing.push(format!("{line} (landlock.required names \"{id}\")"));
            }
            not_enforced.push(line);
        }
        Ok(())
    };

    let handled_fs = mask_of(&plan.handled_fs, plan.abi)?;
    for (i, (name, abi, flag)) in FS_RIGHTS.iter().enumerate() {
        if handled_fs.contains(*flag) {
            let feature = format!("landlock right `{name}` (landlock.abi = {})", plan.abi);
            need(feature, *abi, i as u32, name)?;
        }
    }
    let mut handled_net = BitFlags::empty();
    if plan.bind_tcp.is_some() {
        handled_net |= AccessNet::BindTcp;
        need(
            "landlock.bind-tcp".into(),
            NET_MIN_ABI,
            MISSING_BIND_TCP,
            "bind-tcp",
        )?;
    }
    if plan.connect_tcp.is_some() {
        handled_net |= AccessNet::ConnectTcp;
        need(
            "landlock.connect-tcp".into(),
            NET_MIN_ABI,
            MISSING_CONNECT_TCP,
            "connect-tcp",
        )?;
    }
    let mut scopes = BitFlags::empty();
    for name in &plan.scopes {
        let (i, (_, abi, scope)) = SCOPES
            .iter()
            .enumerate()
            .find(|(_, (n, _, _))| n == name)
            .ok_or_else(|| ConfineError::UnknownScope(name.clone()))?;
        scopes |= *scope;
        let feature = format!("landlock.scope \"{name}\"");
        need(feature, *abi, MISSING_SCOPE_BASE + i as u32, name)?;
    }

    let mut paths = Vec::with_capacity(plan.paths.len());
    for rule in &plan.paths {
        let c = CString::new(rule.path.as_os_str().as_bytes())
            .map_err(|_| ConfineError::BadPath(rule.path.clone()))?;
        // A right the ruleset does not handle is allowed anyway; granting it is a no-op.
        paths.push((
            c,
            mask_of(&rule.access, plan.abi)? & handled_fs,
            rule.optional,
        ));
    }

    // The pin itself is a request: ABI N means "whatever ABI N restricts". When no right or
    // scope of the plan needs more than the kernel has, the pin still names what is lost.
    if plan.abi > kernel_abi && kernel_abi > 0 && not_enforced.is_empty() {
        missing |= 1 << MISSING_ABI_PIN;
        not_enforced.push(format!(
            "landlock.abi = {} needs Landlock ABI {}, kernel has {kernel_abi} (access rights and scopes added after ABI {kernel_abi} are not enforced)",
            plan.abi, plan.abi
        ));
    }

    if !required_missing.is_empty() {
        return Err(ConfineError::LandlockRequired {
            missing: required_missing,
        });
    }
    if plan.compat == Compat::Required && !not_enforced.is_empty() {
        return Err(ConfineError::LandlockUnsupported {
            missing: not_enforced,
        });
    }
    Ok(PreparedLandlock {
        compat: plan.compat,
        handled_fs,
        handled_net,
        scopes,
        paths,
        bind_tcp: plan.bind_tcp.clone().unwrap_or_default(),
        connect_tcp: plan.connect_tcp.clone().unwrap_or_default(),
        missing,
        not_enforced,
    })
}

/// Parent-side pre-check: `Ok(list of what will not be enforced)` (empty: everything), or
/// the error to print for a `required` profile on a kernel that lacks a feature, e.g.
/// `landlock.connect-tcp needs Landlock ABI 4, kernel has 3; set landlock.compat =
/// "best-effort" to run without it`.
pub fn check_landlock(plan: &LandlockPlan, kernel_abi: u8) -> Result<Vec<String>, ConfineError> {
    prepare_landlock(plan, kernel_abi).map(|p| p.not_enforced)
}

/// Prepare against the running kernel and apply, in one call (allocates: use
/// [`prepare_landlock`] in the parent and [`PreparedLandlock::apply`] in the child instead).
pub fn apply_landlock(plan: &LandlockPlan) -> Result<LandlockStatus, nix::Error> {
    prepare_landlock(plan, kernel_landlock_abi())
        .map_err(|_| nix::Error::EOPNOTSUPP)?
        .apply()
}

/// The errno behind a landlock crate error (EOPNOTSUPP for a compatibility refusal,
/// which `prepare_landlock` should have caught in the parent).
fn errno_of(err: &(dyn std::error::Error + 'static)) -> nix::Error {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = cur {
        if let Some(code) = e
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.raw_os_error())
        {
            return nix::Error::from_raw(code);
        }
        cur = e.source();
    }
    nix::Error::EOPNOTSUPP
}

/// Open a rule's path (in the child, after pivot_root: inside the sandbox) without following
/// any symlink: a link planted in a writable tree the sandbox shares would otherwise move
/// the rule, e.g. `write = ["/shared/out"]` with `/shared/out -> /` granting write access
/// to every writable mount. A path through a link fails with ELOOP; name the real path.
fn open_path(path: &CString) -> Result<(OwnedFd, bool), nix::Error> {
    let fd = crate::exec::sys::open_no_symlinks(libc::AT_FDCWD, path, libc::O_PATH)?;
    // SAFETY: fd is a fresh descriptor nothing else owns.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    let mut st = std::mem::MaybeUninit::<libc::stat>::uninit();
    // SAFETY: fstat writes into `st` on success; `fd` is valid.
    if unsafe { libc::fstat(std::os::fd::AsRawFd::as_raw_fd(&fd), st.as_mut_ptr()) } != 0 {
        return Err(nix::Error::last());
    }
    // SAFETY: fstat succeeded, so `st` is initialised.
    let is_dir = unsafe { st.assume_init() }.st_mode & libc::S_IFMT == libc::S_IFDIR;
    Ok((fd, is_dir))
}

impl PreparedLandlock {
    /// Bit set of features the kernel will not enforce.
    pub fn missing(&self) -> u64 {
        self.missing
    }

    /// Enforce the ruleset on the calling thread (child, after pivot_root and every mount
    /// change, after no_new_privs). Errors are the failing syscall's errno.
    pub fn apply(&self) -> Result<LandlockStatus, nix::Error> {
        let level = match self.compat {
            Compat::Required => CompatLevel::HardRequirement,
            Compat::BestEffort => CompatLevel::BestEffort,
        };
        mark(Call::LandlockCreateRuleset, 0);
        let mut ruleset = Ruleset::default().set_compatibility(level);
        let e = |err: landlock::RulesetError| errno_of(&err);
        if !self.handled_fs.is_empty() {
            ruleset = ruleset.handle_access(self.handled_fs).map_err(e)?;
        }
        if !self.handled_net.is_empty() {
            ruleset = ruleset.handle_access(self.handled_net).map_err(e)?;
        }
        if !self.scopes.is_empty() {
            ruleset = ruleset.scope(self.scopes).map_err(e)?;
        }
        // no_new_privs is the Plan's own step: do not let the crate set it behind the
        // profile's back (without it, landlock_restrict_self needs CAP_SYS_ADMIN).
        let mut created = ruleset.create().map_err(e)?.no_new_privs(false);
        for (i, (path, access, optional)) in self.paths.iter().enumerate() {
            mark(Call::LandlockOpen, i as u32);
            let (fd, is_dir) = match open_path(path) {
                Ok(x) => x,
                // Its optional bind was skipped: no rule, so no access (fails closed).
                Err(nix::Error::ENOENT) if *optional => continue,
                Err(err) => return Err(err),
            };
            let access = if is_dir {
                *access
            } else {
                *access & file_rights()
            };
            if access.is_empty() {
                continue;
            }
            mark(Call::LandlockAddRule, i as u32);
            created = created.add_rule(PathBeneath::new(fd, access)).map_err(e)?;
        }
        for port in &self.bind_tcp {
            mark(Call::LandlockAddRule, 0x1_0000 + u32::from(*port));
            created = created
                .add_rule(NetPort::new(*port, AccessNet::BindTcp))
                .map_err(e)?;
        }
        for port in &self.connect_tcp {
            mark(Call::LandlockAddRule, 0x1_0000 + u32::from(*port));
            created = created
                .add_rule(NetPort::new(*port, AccessNet::ConnectTcp))
                .map_err(e)?;
        }
        mark(Call::LandlockRestrictSelf, 0);
        let status = created.restrict_self().map_err(e)?;
        Ok(LandlockStatus {
            ruleset: match status.ruleset {
                RulesetStatus::FullyEnforced => 2,
                RulesetStatus::PartiallyEnforced => 1,
                _ => 0,
            },
            missing: self.missing,
        })
    }
}
