//! The parent half of the launch: everything that allocates or can fail on bad input is
//! done here, before clone, so the child only makes syscalls on ready-made data.

use super::confine::{self, PreparedLandlock, SeccompProgram};
use super::error::ExecError;
use super::sys::{MOUNT_ATTR_NODEV, MOUNT_ATTR_NOEXEC, MOUNT_ATTR_NOSUID, MOUNT_ATTR_RDONLY};
use crate::plan::{MountFlags, MountOp, Plan, RootKind, Step};
use std::ffi::CString;
use std::os::fd::RawFd;
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path};

/// PATH used for the command lookup when the payload's environment has none.
const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Where the new root is attached before pivot_root. Every host path the mounts need is
/// opened before the root is attached (see `child::open_sources`), so the staging mount
/// hides nothing the sandbox needs.
const STAGING_CANDIDATES: [&str; 3] = ["/tmp", "/mnt", "/"];

/// A mount target, relative to the new root, split for a `mkdir -p` walk.
#[derive(Debug)]
pub struct Target {
    /// The whole path relative to the root (`.` for the root itself).
    pub rel: CString,
    /// Each ancestor directory, relative to the root: `usr`, `usr/lib`.
    pub ancestors: Vec<CString>,
    /// The last component of each ancestor: `usr`, `lib`.
    pub ancestor_names: Vec<CString>,
    /// The last component of the target (`.` for the root).
    pub name: CString,
}

/// One mount with its strings built.
#[derive(Debug)]
pub struct PreparedMount {
    pub target: Target,
    /// MOUNT_ATTR_* bits from the plan's flags.
    pub attrs: u64,
    pub op: PreparedOp,
}

/// The data each mount type needs in the child.
#[derive(Debug)]
pub enum PreparedOp {
    Bind {
        source: CString,
        recursive: bool,
        optional: bool,
    },
    Tmpfs {
        size: Option<CString>,
        mode: CString,
    },
    Proc {
        /// Skip the masking of kernel interfaces (`mount.unmasked`).
        unmasked: bool,
    },
    Dev,
    Devpts,
    Mqueue,
    Dir {
        mode: u32,
    },
    File {
        content: Vec<u8>,
        mode: u32,
    },
    Symlink {
        link: CString,
    },
    Overlay {
        lower: Vec<CString>,
        upper: Option<CString>,
        work: Option<CString>,
        scratch: OverlayScratch,
    },
}

/// Room the child fills while mounting an overlay, sized here: the child does not
/// allocate.
#[derive(Debug)]
pub struct OverlayScratch {
    /// One fd per lower layer, then upper, then work (-1: none).
    pub fds: Vec<RawFd>,
    /// The `lowerdir=` value for kernels before 6.8: `/proc/self/fd/N` paths, `:`-joined.
    pub joined: Vec<u8>,
}

/// The payload's argv/envp and the candidate paths of the PATH lookup.
#[derive(Debug)]
pub struct ExecData {
    _argv: Vec<CString>,
    pub argv_ptrs: Vec<*const libc::c_char>,
    envp_bufs: Vec<Vec<u8>>,
    pub envp_ptrs: Vec<*const libc::c_char>,
    /// Full paths to try in order (one when argv[0] contains a `/`).
    pub candidates: Vec<CString>,
    /// Index in `envp_bufs` of `LISTEN_PID=0000000000` to fill in just before execve.
    pub listen_pid_slot: Option<usize>,
    /// Index of `WATCHDOG_PID=0000000000` (sd_notify watchdog), filled in the same way.
    pub watchdog_pid_slot: Option<usize>,
}

impl ExecData {
    /// Write `pid` into the LISTEN_PID and WATCHDOG_PID slots (child, allocation-free).
    pub fn set_listen_pid(&mut self, pid: i32) {
        for slot in [self.listen_pid_slot, self.watchdog_pid_slot]
            .into_iter()
            .flatten()
        {
            if let Some(buf) = self.envp_bufs.get_mut(slot) {
                fill_pid(buf, pid);
            }
        }
    }
}

/// Fill a `NAME=0000000000` slot with `pid`'s digits and a NUL (allocation-free).
fn fill_pid(buf: &mut [u8], pid: i32) {
    let Some(eq) = buf.iter().position(|b| *b == b'=') else {
        return;
    };
    // The slot is "NAME=" plus room for 10 digits: write the digits and a NUL.
    let start = eq + 1;
    let mut digits = [0u8; 10];
    let mut n = pid.max(0) as u32;
    let mut len = 0;
    loop {
        digits[len] = b'0' + (n % 10) as u8;
        len += 1;
        n /= 10;
        if n == 0 || len == digits.len() {
            break;
        }
    }
    for i in 0..len {
        buf[start + i] = digits[len - 1 - i];
    }
    buf[start + len] = 0;
}

/// Everything the child needs, built by the parent.
#[derive(Debug)]
pub struct Prepared {
    pub total_steps: usize,
    pub mounts: Vec<PreparedMount>,
    /// Detached mount fds opened at PrepareRoot, one per mount (-1: none).
    pub mount_fds: Vec<RawFd>,
    pub root_dir: Option<CString>,
    pub staging: CString,
    pub masked: Vec<CString>,
    /// Clones of the host's /dev/null, one per masked path, made before the old root goes.
    pub mask_null_fds: Vec<RawFd>,
    pub read_only: Vec<CString>,
    /// Protected paths inside the sandbox (`Step::ProtectPaths`), filled by
    /// [`super::protect::resolve`] after the placeholders exist.
    pub protected: Vec<CString>,
    /// Writable file binds that must not have become directories (see `protect`).
    pub protected_file_binds: Vec<CString>,
    pub hostname: Vec<u8>,
    pub domainname: Vec<u8>,
    pub cwd: CString,
    pub time_offsets: Option<Vec<u8>>,
    pub exec: ExecData,
    pub seccomp: Option<SeccompProgram>,
    /// The Landlock ruleset resolved against the kernel (parent), applied by the child.
    pub landlock: Option<PreparedLandlock>,
    /// Keep capabilities across the uid switch (a SetCapabilities step follows).
    pub keep_caps: bool,
    /// The caller's own uid/gid are not in the user namespace's maps but root is: the child
    /// becomes the namespace's root before touching any filesystem, so what it creates has
    /// a representable owner (else mkdir fails with EOVERFLOW).
    pub become_ns_root: bool,
    /// setgroups(2) is denied in the user namespace (rootless single-id map).
    pub setgroups_denied: bool,
    /// The index of the step at which init forks the payload (None: no init).
    pub init_fork_at: Option<usize>,
    /// The payload's stack while it still shares init's memory (see child::start_init).
    pub payload_stack: Option<super::sys::ChildStack>,
    /// File descriptors 3..3+n passed through (socket activation).
    pub listen_fds: u32,
    /// The signal mask to restore before execve.
    pub saved_mask: libc::sigset_t,
    /// The dispositions to put back before execve (those stockade inherited).
    pub dispositions: super::signals::DispositionFix,
    /// `/proc/sys/kernel/cap_last_cap` of the host (for the bounding-set drop).
    pub cap_last_cap: u8,
    /// The pty's slave (`Step::AttachTerminal`), -1 without a pty. Set by the launch after
    /// prepare, when it opens the pair.
    pub pty_slave: RawFd,
    /// The payload leads its own process group in init's session (`new-session` with
    /// init), so init can signal its whole job (see `exec::forward`).
    pub job_group: bool,
}

fn cstring(what: &'static str, s: &[u8]) -> Result<CString, ExecError> {
    CString::new(s).map_err(|_| ExecError::NulByte {
        what,
        value: String::from_utf8_lossy(s).into_owned(),
    })
}

fn path_cstring(what: &'static str, p: &Path) -> Result<CString, ExecError> {
    cstring(what, p.as_os_str().as_bytes())
}

/// Split an absolute sandbox path into a [`Target`].
pub fn target(what: &'static str, path: &Path) -> Result<Target, ExecError> {
    let bad = || ExecError::BadTarget {
        what,
        path: path.to_path_buf(),
    };
    if !path.is_absolute() {
        return Err(bad());
    }
    let mut parts: Vec<&[u8]> = Vec::new();
    for c in path.components() {
        match c {
            Component::RootDir | Component::CurDir => {}
            Component::Normal(n) => parts.push(n.as_bytes()),
            // The compiler normalizes paths; a `..` here is a bug upstream, refuse it.
            Component::ParentDir | Component::Prefix(_) => return Err(bad()),
        }
    }
    let Some((last, dirs)) = parts.split_last() else {
        return Ok(Target {
            rel: c".".to_owned(),
            ancestors: Vec::new(),
            ancestor_names: Vec::new(),
            name: c".".to_owned(),
        });
    };
    let mut ancestors = Vec::with_capacity(dirs.len());
    let mut ancestor_names = Vec::with_capacity(dirs.len());
    let mut acc: Vec<u8> = Vec::new();
    for d in dirs {
        if !acc.is_empty() {
            acc.push(b'/');
        }
        acc.extend_from_slice(d);
        ancestors.push(cstring(what, &acc)?);
        ancestor_names.push(cstring(what, d)?);
    }
    if !acc.is_empty() {
        acc.push(b'/');
    }
    acc.extend_from_slice(last);
    Ok(Target {
        rel: cstring(what, &acc)?,
        ancestors,
        ancestor_names,
        name: cstring(what, last)?,
    })
}

fn attrs(flags: &MountFlags) -> u64 {
    let mut a = 0;
    if flags.read_only {
        a |= MOUNT_ATTR_RDONLY;
    }
    if flags.nosuid {
        a |= MOUNT_ATTR_NOSUID;
    }
    if flags.nodev {
        a |= MOUNT_ATTR_NODEV;
    }
    if flags.noexec {
        a |= MOUNT_ATTR_NOEXEC;
    }
    a
}

fn prepare_mount(m: &crate::plan::MountPlan) -> Result<PreparedMount, ExecError> {
    let op = match &m.op {
        MountOp::Bind {
            source,
            recursive,
            optional,
        } => PreparedOp::Bind {
            source: path_cstring("bind source", source)?,
            recursive: *recursive,
            optional: *optional,
        },
        MountOp::Tmpfs { size, mode } => PreparedOp::Tmpfs {
            size: size
                .map(|s| cstring("tmpfs size", s.to_string().as_bytes()))
                .transpose()?,
            mode: cstring("tmpfs mode", format!("{mode:o}").as_bytes())?,
        },
        MountOp::Proc { unmasked } => PreparedOp::Proc {
            unmasked: *unmasked,
        },
        MountOp::Dev => PreparedOp::Dev,
        MountOp::Devpts => PreparedOp::Devpts,
        MountOp::Mqueue => PreparedOp::Mqueue,
        MountOp::Dir { mode } => PreparedOp::Dir { mode: *mode },
        MountOp::File { content, mode } => PreparedOp::File {
            content: content.as_bytes().to_vec(),
            mode: *mode,
        },
        MountOp::Symlink { link } => PreparedOp::Symlink {
            link: cstring("symlink content", link.as_bytes())?,
        },
        MountOp::Overlay {
            lower, upper, work, ..
        } => PreparedOp::Overlay {
            lower: lower
                .iter()
                .map(|p| path_cstring("overlay lower", p))
                .collect::<Result<_, _>>()?,
            upper: upper
                .as_deref()
                .map(|p| path_cstring("overlay upper", p))
                .transpose()?,
            work: work
                .as_deref()
                .map(|p| path_cstring("overlay work", p))
                .transpose()?,
            scratch: OverlayScratch {
                fds: vec![-1; lower.len() + 2],
                joined: vec![0; lower.len() * super::overlay::FD_PATH_LEN + 1],
            },
        },
    };
    Ok(PreparedMount {
        target: target("mount target", &m.target)?,
        attrs: attrs(&m.flags),
        op,
    })
}

fn null_terminated(v: &[CString]) -> Vec<*const libc::c_char> {
    let mut p: Vec<*const libc::c_char> = v.iter().map(|s| s.as_ptr()).collect();
    p.push(std::ptr::null());
    p
}

fn prepare_exec(plan: &Plan) -> Result<ExecData, ExecError> {
    let argv: Vec<CString> = plan
        .process
        .argv
        .iter()
        .map(|a| cstring("command argument", a.as_bytes()))
        .collect::<Result<_, _>>()?;
    let Some(arg0) = plan.process.argv.first() else {
        return Err(ExecError::NulByte {
            what: "command (empty)",
            value: String::new(),
        });
    };
    let mut envp_bufs: Vec<Vec<u8>> = Vec::with_capacity(plan.process.env.len() + 1);
    let mut path_var = None;
    let mut listen_pid_slot = None;
    // Socket activation: the payload gets LISTEN_FDS/LISTEN_FDNAMES as the plan says and
    // a LISTEN_PID naming itself (filled in by the child just before execve).
    let listen = plan.systemd.listen_fds.as_ref();
    let listen_vars = ["LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"];
    // The sd_notify watchdog: WATCHDOG_PID names the payload too (see exec::notify).
    let watchdog = plan.systemd.notify_socket.is_some()
        && plan.process.env.iter().any(|(k, _)| k == "WATCHDOG_USEC");
    let mut watchdog_pid_slot = None;
    for (k, v) in &plan.process.env {
        if listen.is_some() && listen_vars.contains(&k.as_str()) {
            continue;
        }
        if watchdog && k == "WATCHDOG_PID" {
            continue;
        }
        if k == "PATH" {
            path_var = Some(v.as_str());
        }
        let mut b = format!("{k}={v}").into_bytes();
        if b.contains(&0) {
            return Err(ExecError::NulByte {
                what: "environment variable",
                value: k.clone(),
            });
        }
        b.push(0);
        envp_bufs.push(b);
    }
    if let Some(l) = listen {
        envp_bufs.push(format!("LISTEN_FDS={}\0", l.count).into_bytes());
        if let Some(names) = &l.names {
            let b = cstring(
                "LISTEN_FDNAMES",
                format!("LISTEN_FDNAMES={names}").as_bytes(),
            )?;
            envp_bufs.push(b.into_bytes_with_nul());
        }
        listen_pid_slot = Some(envp_bufs.len());
        envp_bufs.push(b"LISTEN_PID=0000000000\0".to_vec());
    }
    if watchdog {
        watchdog_pid_slot = Some(envp_bufs.len());
        envp_bufs.push(b"WATCHDOG_PID=0000000000\0".to_vec());
    }
    let envp_ptrs: Vec<*const libc::c_char> = envp_bufs
        .iter()
        .map(|b| b.as_ptr().cast())
        .chain(std::iter::once(std::ptr::null()))
        .collect();
    let candidates = if arg0.contains('/') {
        vec![cstring("command", arg0.as_bytes())?]
    } else {
        path_var
            .unwrap_or(DEFAULT_PATH)
            .split(':')
            // An empty PATH entry means the cwd: a classic trap, not followed here.
            .filter(|d| d.starts_with('/'))
            .map(|d| {
                cstring(
                    "PATH entry",
                    format!("{}/{arg0}", d.trim_end_matches('/')).as_bytes(),
                )
            })
            .collect::<Result<_, _>>()?
    };
    Ok(ExecData {
        argv_ptrs: null_terminated(&argv),
        _argv: argv,
        envp_bufs,
        envp_ptrs,
        candidates,
        listen_pid_slot,
        watchdog_pid_slot,
    })
}

fn time_offsets(plan: &Plan) -> Option<Vec<u8>> {
    if !plan.namespaces.time {
        return None;
    }
    let t = plan.namespaces.time_offsets;
    Some(format!("monotonic {} 0\nboottime {} 0\n", t.monotonic, t.boottime).into_bytes())
}

fn staging_dir() -> CString {
    for c in STAGING_CANDIDATES {
        if Path::new(c).is_dir() {
            return CString::new(c).unwrap_or_default();
        }
    }
    c"/".to_owned()
}

/// Build everything the child needs.
pub fn prepare(
    plan: &Plan,
    saved_mask: libc::sigset_t,
    setgroups_denied: bool,
    landlock_abi: u8,
) -> Result<Prepared, ExecError> {
    let mounts = plan
        .mounts
        .iter()
        .map(prepare_mount)
        .collect::<Result<Vec<_>, _>>()?;
    let root_dir = match &plan.root.kind {
        RootKind::Tmpfs => None,
        RootKind::Directory { path } => Some(path_cstring("root directory", path)?),
    };
    let masked = plan
        .masked_paths
        .iter()
        .map(|p| path_cstring("masked path", p))
        .collect::<Result<Vec<_>, _>>()?;
    let read_only = plan
        .read_only_paths
        .iter()
        .map(|p| path_cstring("read-only path", p))
        .collect::<Result<Vec<_>, _>>()?;
    let seccomp = match (&plan.seccomp, plan.steps.contains(&Step::Seccomp)) {
        (Some(s), true) => Some(confine::compile_seccomp(s)?),
        _ => None,
    };
    // Fails here, before clone, when `compat = "required"` and the kernel lacks a feature.
    let landlock = match (&plan.landlock, plan.steps.contains(&Step::Landlock)) {
        (Some(l), true) => Some(confine::prepare_landlock(l, landlock_abi)?),
        _ => None,
    };
    // Init also runs without a PID namespace, as the sandbox's keeper (exec::init).
    let init_fork_at = if plan.process.init {
        plan.steps
            .iter()
            .position(|s| matches!(s, Step::Seccomp | Step::Exec))
    } else {
        None
    };
    Ok(Prepared {
        total_steps: plan.steps.len(),
        mount_fds: vec![-1; mounts.len()],
        mounts,
        root_dir,
        staging: staging_dir(),
        mask_null_fds: vec![-1; masked.len()],
        masked,
        read_only,
        protected: Vec::new(),
        protected_file_binds: Vec::new(),
        hostname: plan.hostname.clone().unwrap_or_default().into_bytes(),
        domainname: plan.domainname.clone().unwrap_or_default().into_bytes(),
        cwd: path_cstring("working directory", &plan.process.cwd)?,
        time_offsets: time_offsets(plan),
        exec: prepare_exec(plan)?,
        seccomp,
        landlock,
        keep_caps: plan.steps.contains(&Step::SetCapabilities),
        become_ns_root: become_ns_root(plan),
        setgroups_denied,
        payload_stack: match init_fork_at {
            Some(_) => Some(
                super::sys::ChildStack::new(PAYLOAD_STACK_BYTES).map_err(|errno| {
                    ExecError::Syscall {
                        call: "mmap",
                        errno,
                    }
                })?,
            ),
            None => None,
        },
        init_fork_at,
        listen_fds: plan.systemd.listen_fds.as_ref().map_or(0, |l| l.count),
        saved_mask,
        dispositions: super::signals::DispositionFix::compute(),
        cap_last_cap: 40,
        pty_slave: -1,
        job_group: plan.process.new_session && init_fork_at.is_some(),
    })
}

/// The payload runs only its last steps (seccomp, execve) on this stack; generous, and
/// only the pages it touches are ever allocated.
const PAYLOAD_STACK_BYTES: usize = 256 * 1024;

/// See [`Prepared::become_ns_root`].
fn become_ns_root(plan: &Plan) -> bool {
    let ns = &plan.namespaces;
    // SAFETY: geteuid/getegid have no preconditions.
    let (uid, gid) = unsafe { (libc::geteuid(), libc::getegid()) };
    let covers_outside = |map: &[crate::plan::IdMap], id: u32| {
        map.iter()
            .any(|m| id >= m.outside && u64::from(id) < u64::from(m.outside) + u64::from(m.count))
    };
    let covers_root = |map: &[crate::plan::IdMap]| map.iter().any(|m| m.inside == 0);
    ns.user
        && covers_root(&ns.uid_map)
        && covers_root(&ns.gid_map)
        && (!covers_outside(&ns.uid_map, uid) || !covers_outside(&ns.gid_map, gid))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_splits_ancestors() {
        let t = target("t", Path::new("/usr/lib/x86_64")).unwrap();
        assert_eq!(t.rel.to_str().unwrap(), "usr/lib/x86_64");
        assert_eq!(t.ancestors.len(), 2);
        assert_eq!(t.ancestors[1].to_str().unwrap(), "usr/lib");
        assert_eq!(t.ancestor_names[1].to_str().unwrap(), "lib");
        assert_eq!(t.name.to_str().unwrap(), "x86_64");
    }

    #[test]
    fn target_root_is_dot() {
        let t = target("t", Path::new("/")).unwrap();
        assert_eq!(t.rel.to_str().unwrap(), ".");
        assert!(t.ancestors.is_empty());
    }

    fn plan_with(argv: &[&str], path: Option<&str>) -> Plan {
        let loaded = crate::profile::load::load("builtin:strict").expect("builtin");
        let opts = crate::compile::CompileOptions {
            command: Some(argv.iter().map(|s| s.to_string()).collect()),
            command_optional: false,
        };
        let mut plan = crate::compile::compile(&loaded, &crate::host::HostFacts::fixed(), &opts)
            .expect("compiles")
            .plan;
        plan.process.env.retain(|(k, _)| k != "PATH");
        if let Some(p) = path {
            plan.process.env.push(("PATH".into(), p.into()));
        }
        plan
    }

    #[test]
    fn path_lookup_uses_the_payload_path_and_skips_relative_entries() {
        let e = prepare_exec(&plan_with(&["ls", "-l"], Some("/a/:relative::/b"))).unwrap();
        let c: Vec<_> = e.candidates.iter().map(|c| c.to_str().unwrap()).collect();
        assert_eq!(c, ["/a/ls", "/b/ls"]);
        let e = prepare_exec(&plan_with(&["./x"], Some("/a"))).unwrap();
        assert_eq!(e.candidates.len(), 1);
        assert_eq!(e.candidates[0].to_str().unwrap(), "./x");
        let e = prepare_exec(&plan_with(&["sh"], None)).unwrap();
        assert!(e
            .candidates
            .iter()
            .any(|c| c.to_str().ok() == Some("/usr/bin/sh")));
        assert_eq!(e.argv_ptrs.len(), 2, "argv is NULL-terminated");
        assert!(e.argv_ptrs.last().is_some_and(|p| p.is_null()));
    }

    #[test]
    fn nul_bytes_are_rejected_before_clone() {
        let mut plan = plan_with(&["a\0b"], Some("/bin"));
        assert!(matches!(
            prepare_exec(&plan),
            Err(ExecError::NulByte { .. })
        ));
        plan.process.argv = vec!["ok".into()];
        plan.process.env.push(("BAD".into(), "x\0y".into()));
        assert!(prepare_exec(&plan).is_err());
    }

    #[test]
    fn listen_pid_is_written_in_place() {
        let mut plan = plan_with(&["x"], Some("/bin"));
        plan.systemd.listen_fds = Some(crate::plan::ListenFds {
            count: 2,
            names: None,
        });
        let mut e = prepare_exec(&plan).unwrap();
        e.set_listen_pid(12345);
        let slot = e.listen_pid_slot.unwrap();
        let s = std::ffi::CStr::from_bytes_until_nul(&e.envp_bufs[slot]).unwrap();
        assert_eq!(s.to_str().unwrap(), "LISTEN_PID=12345");
        let all: Vec<_> = e
            .envp_bufs
            .iter()
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .collect();
        assert!(all.iter().any(|v| v == "LISTEN_FDS=2\0"));
    }

    #[test]
    fn target_rejects_relative_and_dotdot() {
        assert!(target("t", Path::new("usr")).is_err());
        assert!(target("t", Path::new("/usr/../etc")).is_err());
    }
}
