//! cgroup management: layout detection, leaf creation, limits, attach, exit causes, usage,
//! cleanup. cgroup v2 first, v1 fallback (this is what hybrid hosts get: their controllers
//! are bound to v1 hierarchies).
//!
//! Life of a sandbox's cgroup, driven by the executor:
//! 1. [`Cgroup::create`] (parent, before clone): garbage-collect leaves of dead supervisors,
//!    check that every requested limit can be enforced (`compat = "required"` fails here,
//!    naming each limit and how to get it), create the leaf `stockade-<pid>-<start>-<seq>`
//!    under the caller's cgroup (every needed hierarchy on v1) and write the limits.
//! 2. The child enters it before running any payload code: `clone3(CLONE_INTO_CGROUP)` with
//!    [`Cgroup::clone_into_fd`] on v2; on v1 the child writes itself into each leaf first
//!    thing after clone through [`Cgroup::self_join`] (see [`join`] for why); else
//!    [`Cgroup::attach`] from the parent before the child is released.
//! 3. After the payload ended: [`Cgroup::outcome`] (OOM kills, pids-limit hits, usage), then
//!    [`Cgroup::destroy`] (kill what is left, wait until empty, rmdir). Dropping a `Cgroup`
//!    without `destroy` does the same, so every exit path of the supervisor cleans up; a
//!    SIGKILLed supervisor's leaf is removed by the next run's gc.
//!
//! All kernel access goes through [`fs::CgroupFs`], so unit tests run against a temp dir.

pub mod detect;
pub mod events;
pub mod fs;
pub mod gc;
pub mod join;
pub mod limits;
pub mod v1;
pub mod v2;

#[cfg(test)]
mod tests;

pub use detect::{detect, CgroupLayout, LayoutKind};
pub use events::{exit_message, CgroupOutcome};
pub use join::SelfJoin;

use crate::plan::{Compat, ResourcePlan};
use fs::{CgroupFs, HostFs};
use gc::LeafName;
use limits::{Knob, NotEnforced};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Errors creating or managing a cgroup.
#[derive(Debug, thiserror::Error)]
pub enum CgroupError {
    #[error(
        "cannot enforce [resources] on this host ({layout}):\n  {}\nhelp: {help}",
        items.join("\n  ")
    )]
    NotEnforceable {
        layout: String,
        items: Vec<String>,
        help: String,
    },
    #[error("cgroup: {op} {}: {source}", path.display())]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot set resources.{key}: writing {value:?} to {}: {source}", path.display())]
    Limit {
        key: &'static str,
        path: PathBuf,
        value: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cgroup {}: processes keep appearing while moving them out", path.display())]
    Busy { path: PathBuf },
    #[error("cgroup {}: processes remain after SIGKILL", path.display())]
    NotEmpty { path: PathBuf },
}

impl CgroupError {
    /// An I/O error of `op` on `path`.
    pub(crate) fn io(op: &'static str, path: &Path, source: std::io::Error) -> CgroupError {
        CgroupError::Io {
            op,
            path: path.to_path_buf(),
            source,
        }
    }
}

/// Where the sandbox's cgroup lives.
#[derive(Debug)]
enum Backend {
    /// Nothing created (best-effort on a host where nothing could be enforced).
    Inert,
    V2 {
        leaf: PathBuf,
    },
    V1 {
        leaves: Vec<v1::V1Leaf>,
    },
}

/// A created cgroup leaf holding the sandbox.
#[derive(Debug)]
pub struct Cgroup {
    fs: Box<dyn CgroupFs>,
    backend: Backend,
    dir_fd: Option<OwnedFd>,
    not_enforced: Vec<String>,
    destroyed: bool,
}

/// How to get what the host refused, from the reasons found.
pub(crate) fn help_for(layout: &CgroupLayout, items: &[NotEnforced]) -> String {
    let mut help = Vec::new();
    if items.iter().any(|i| i.reason.contains("not delegated")) {
        if layout.version() == Some(2) {
            help.push(
                "run inside a cgroup delegated to you, e.g. `systemd-run --user --scope -p \
                 Delegate=yes stockade run ...`, or as a service with Delegate=yes (without \
                 it, the unit's own MemoryMax=, CPUQuota=, TasksMax= apply instead)",
            );
        } else {
            // systemd delegates only cgroup v2 subtrees to users.
            help.push(
                "cgroup v1 cannot be delegated by systemd: run as root, have root create and \
                 chown a cgroup for you in each hierarchy, or use a cgroup v2 host with \
                 `systemd-run --user --scope -p Delegate=yes stockade run ...`",
            );
        }
    }
    if items.iter().any(|i| i.reason.contains("needs cgroup v2")) {
        help.push(
            "use a cgroup v2 host (boot with systemd.unified_cgroup_hierarchy=1) or remove \
             the key",
        );
    }
    help.push("or set `compat = \"best-effort\"` in [resources] to run without these limits");
    help.join("; ")
}

impl Cgroup {
    /// Create the leaf for a sandbox and write its limits. Returns the cgroup and what
    /// could not be enforced (only non-empty under `compat = "best-effort"`).
    pub fn create(plan: &ResourcePlan) -> Result<(Cgroup, Vec<String>), CgroupError> {
        Cgroup::create_with(
            Box::new(HostFs),
            &detect(),
            plan,
            LeafName::for_this_process(),
        )
    }

    /// [`Cgroup::create`] on a given layout through a given fs (tests point both at a temp
    /// directory standing in for cgroupfs).
    pub fn create_with(
        fs: Box<dyn CgroupFs>,
        layout: &CgroupLayout,
        plan: &ResourcePlan,
        name: LeafName,
    ) -> Result<(Cgroup, Vec<String>), CgroupError> {
        collect_garbage(fs.as_ref(), layout);
        let (knobs, missing) = match (layout.kind, &layout.unified) {
            (LayoutKind::Unified, Some(info)) => v2::preflight(info, plan),
            (LayoutKind::Hybrid | LayoutKind::Legacy, _) => {
                v1::preflight(fs.as_ref(), layout, plan)
            }
            _ => (
                Vec::new(),
                limits::requested(plan)
                    .into_iter()
                    .map(|(key, _)| NotEnforced {
                        key,
                        reason: "no cgroup filesystem is mounted".into(),
                    })
                    .collect(),
            ),
        };
        let best_effort = plan.compat == Compat::BestEffort;
        if !missing.is_empty() && !best_effort {
            return Err(CgroupError::NotEnforceable {
                layout: layout.describe(),
                items: missing.iter().map(ToString::to_string).collect(),
                help: help_for(layout, &missing),
            });
        }
        let mut cg = Cgroup {
            fs,
            backend: Backend::Inert,
            dir_fd: None,
            not_enforced: missing.iter().map(ToString::to_string).collect(),
            destroyed: false,
        };
        let leaf_name = name.to_string();
        let created = match (layout.kind, &layout.unified) {
            (LayoutKind::Unified, Some(info)) if info.writable => {
                v2::create_leaf(cg.fs.as_ref(), info, &knobs, &leaf_name)
                    .map(|leaf| Backend::V2 { leaf })
            }
            (LayoutKind::Hybrid | LayoutKind::Legacy, _) => {
                v1::create_leaves(cg.fs.as_ref(), layout, &knobs, &leaf_name).map(|leaves| {
                    if leaves.is_empty() {
                        Backend::Inert
                    } else {
                        Backend::V1 { leaves }
                    }
                })
            }
            _ => Ok(Backend::Inert),
        };
        match created {
            Ok(b) => cg.backend = b,
            Err(e) if best_effort => {
                cg.not_enforced
                    .extend(knobs.iter().map(|k| format!("resources.{}: {e}", k.key)));
                return Ok(cg.into_parts());
            }
            Err(e) => return Err(e),
        }
        for k in &knobs {
            if let Err(e) = cg.write_knob(k) {
                if best_effort {
                    cg.not_enforced.push(format!("resources.{}: {e}", k.key));
                } else {
                    // Drop removes the leaves.
                    return Err(e);
                }
            }
        }
        if let Backend::V2 { leaf } = &cg.backend {
            cg.dir_fd = cg.fs.open_dir(leaf).ok();
        }
        Ok(cg.into_parts())
    }

    fn into_parts(self) -> (Cgroup, Vec<String>) {
        let ne = self.not_enforced.clone();
        (self, ne)
    }

    /// The leaf directory holding `controller` (v2: the one leaf).
    fn leaf_for(&self, controller: &str) -> Option<&Path> {
        match &self.backend {
            Backend::Inert => None,
            Backend::V2 { leaf } => Some(leaf),
            Backend::V1 { leaves } => leaves
                .iter()
                .find(|l| l.controllers.iter().any(|c| c == controller))
                .map(|l| l.path.as_path()),
        }
    }

    fn write_knob(&self, k: &Knob) -> Result<(), CgroupError> {
        let Some(dir) = self.leaf_for(k.controller) else {
            return Err(CgroupError::Limit {
                key: k.key,
                path: PathBuf::from(k.file),
                value: k.value.clone(),
                source: std::io::Error::from_raw_os_error(libc::ENOENT),
            });
        };
        let path = dir.join(k.file);
        self.fs
            .write(&path, &k.value)
            .map_err(|source| CgroupError::Limit {
                key: k.key,
                path,
                value: k.value.clone(),
                source,
            })
    }

    /// Every leaf directory (one on v2, one per hierarchy on v1; none when inert).
    pub fn paths(&self) -> Vec<PathBuf> {
        match &self.backend {
            Backend::Inert => Vec::new(),
            Backend::V2 { leaf } => vec![leaf.clone()],
            Backend::V1 { leaves } => leaves.iter().map(|l| l.path.clone()).collect(),
        }
    }

    /// No leaf could be created (best-effort without any usable hierarchy): no limit holds.
    pub fn is_inert(&self) -> bool {
        self.paths().is_empty()
    }

    /// What was not enforced (best-effort), one line per limit.
    pub fn not_enforced(&self) -> &[String] {
        &self.not_enforced
    }

    /// An O_DIRECTORY fd of the v2 leaf for clone3(CLONE_INTO_CGROUP); None on v1.
    pub fn clone_into_fd(&self) -> Option<RawFd> {
        self.dir_fd.as_ref().map(AsRawFd::as_raw_fd)
    }

    /// v1: open `tasks` of every leaf for the child to join itself right after clone,
    /// which skips the RCU grace period a parent-side `cgroup.procs` write waits for. None
    /// on v2 (CLONE_INTO_CGROUP places the child), when inert, and when a `tasks` file
    /// cannot be opened (then [`Cgroup::attach`] from the parent).
    pub fn self_join(&self) -> Option<SelfJoin> {
        match &self.backend {
            Backend::V1 { leaves } => {
                let paths: Vec<PathBuf> = leaves.iter().map(|l| l.path.clone()).collect();
                SelfJoin::open(self.fs.as_ref(), &paths)
            }
            Backend::Inert | Backend::V2 { .. } => None,
        }
    }

    /// Move `pid` into the cgroup (every v1 hierarchy, or the v2 leaf).
    pub fn attach(&self, pid: i32) -> Result<(), CgroupError> {
        for dir in self.paths() {
            let procs = dir.join("cgroup.procs");
            self.fs
                .write(&procs, &pid.to_string())
                .map_err(|source| CgroupError::io("write", &procs, source))?;
        }
        Ok(())
    }

    /// Read exit causes and usage (call after the payload ended, before `destroy`).
    pub fn outcome(&self) -> CgroupOutcome {
        let mut o = match &self.backend {
            Backend::Inert => CgroupOutcome::default(),
            Backend::V2 { leaf } => events::read_v2(self.fs.as_ref(), leaf),
            Backend::V1 { .. } => {
                let leaves = events::V1Leaves {
                    memory: self.leaf_for("memory"),
                    pids: self.leaf_for("pids"),
                    cpu: self.leaf_for("cpu"),
                    cpuacct: self.leaf_for("cpuacct"),
                };
                events::read_v1(self.fs.as_ref(), &leaves, clock_ticks())
            }
        };
        o.not_enforced = self.not_enforced.clone();
        o
    }

    /// Kill every process in the cgroup and wait until it is empty. cgroup.kill (v2, 5.14+)
    /// kills atomically, even a fork bomb; otherwise SIGKILL each listed pid until the list
    /// stays empty (the pids limit bounds a fork bomb's growth).
    pub fn kill_all(&self) -> Result<(), CgroupError> {
        if let Backend::V2 { leaf } = &self.backend {
            let kill = leaf.join("cgroup.kill");
            if self.fs.exists(&kill) {
                let _ = self.fs.write(&kill, "1");
            }
        }
        let dirs = self.paths();
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut pause = Duration::from_millis(1);
        loop {
            let mut any = None;
            for dir in &dirs {
                let Ok(text) = self.fs.read(&dir.join("cgroup.procs")) else {
                    continue;
                };
                for pid in text
                    .split_whitespace()
                    .filter_map(|p| p.parse::<i32>().ok())
                {
                    any = Some(dir.clone());
                    let _ = self.fs.kill(pid);
                }
            }
            let Some(dir) = any else {
                return Ok(());
            };
            if Instant::now() > deadline {
                return Err(CgroupError::NotEmpty { path: dir });
            }
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(50));
        }
    }

    fn cleanup(&mut self) -> Result<(), CgroupError> {
        self.destroyed = true;
        self.dir_fd = None;
        // The common case first: the payload is gone and the kernel removes an unpopulated
        // cgroup at once, so a leaf that rmdir accepts needs no cgroup.procs read and no
        // cgroup.kill write. rmdir of a populated cgroup fails (EBUSY) and changes nothing;
        // what it refused goes through kill, wait and retry below.
        let left: Vec<PathBuf> = self
            .paths()
            .into_iter()
            .filter(|dir| match self.fs.rmdir(dir) {
                Ok(()) => false,
                Err(e) => e.kind() != std::io::ErrorKind::NotFound,
            })
            .collect();
        if left.is_empty() {
            return Ok(());
        }
        let killed = self.kill_all();
        let mut first_err = killed.err();
        for dir in left {
            // A just-killed (or just-reaped) task can keep the cgroup busy for a moment
            // after leaving procs: retry for up to ~1 s, with short pauses first so the
            // usual sub-millisecond delay does not cost a whole 10 ms sleep.
            let deadline = Instant::now() + Duration::from_secs(1);
            let mut pause = Duration::from_micros(100);
            loop {
                match self.fs.rmdir(&dir) {
                    Ok(()) => break,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => break,
                    Err(e)
                        if e.raw_os_error() == Some(libc::EBUSY) && Instant::now() < deadline =>
                    {
                        std::thread::sleep(pause);
                        pause = (pause * 2).min(Duration::from_millis(10));
                    }
                    Err(source) => {
                        first_err.get_or_insert(CgroupError::io("rmdir", &dir, source));
                        break;
                    }
                }
            }
        }
        match first_err {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Kill whatever is left, wait until empty, remove the leaf (every v1 hierarchy too).
    pub fn destroy(mut self) -> Result<(), CgroupError> {
        self.cleanup()
    }
}

impl Drop for Cgroup {
    fn drop(&mut self) {
        if !self.destroyed {
            let _ = self.cleanup();
        }
    }
}

/// Remove leaves of dead supervisors below every writable base of `layout` where
/// [`Cgroup::create_with`] can create one: the unified base on a unified host, the v1
/// hierarchies of [`v1::LEAF_CONTROLLERS`] otherwise. Listing the others (blkio, devices,
/// freezer, a controller-less cgroup2 on a hybrid host) would only cost launch time: a
/// layout never changes without a reboot, which removes every leaf anyway.
pub fn collect_garbage(fs: &dyn CgroupFs, layout: &CgroupLayout) -> usize {
    let mut n = 0;
    match layout.kind {
        LayoutKind::Unified => {
            if let Some(u) = layout.unified.as_ref().filter(|u| u.writable) {
                n += gc::collect(fs, &u.base);
            }
        }
        LayoutKind::Hybrid | LayoutKind::Legacy => {
            for h in layout
                .v1
                .iter()
                .filter(|h| h.writable && v1::may_hold_leaves(h))
            {
                n += gc::collect(fs, &h.base);
            }
        }
        LayoutKind::None => {}
    }
    n
}

/// USER_HZ, the unit of cpuacct.stat.
fn clock_ticks() -> u64 {
    // SAFETY: sysconf has no memory effects.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 {
        t as u64
    } else {
        100
    }
}
