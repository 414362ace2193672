//! The closed vocabulary of executor steps and the phase each belongs to.
//!
//! The compiler emits steps phase by phase; the executor runs them in order and never
//! reorders. Why each phase sits where it does:
//!
//! 1. **Parent** – id maps must be written before the child does anything privileged in its
//!    user namespace, and the child must be in its cgroup before it runs payload code.
//! 2. **Mounts** – propagation is made private first so nothing leaks to the host mount
//!    table; then the root and the profile's mounts in profile order (later ones shadow).
//! 3. **Pivot** – pivot_root once every mount exists, then the whole-root read-only remount,
//!    masked and read-only paths (they must cover mounts made above).
//! 4. **Identity** – hostname (needs the UTS namespace, not privileges we will drop),
//!    rlimits other than NOFILE, setsid, umask.
//! 5. **Lockdown** – bounding set dropped while CAP_SETPCAP is still effective, then the
//!    uid/gid switch, the remaining capability sets, chdir as the final user, no_new_privs
//!    (Landlock and unprivileged seccomp require it), Landlock (after every mount change:
//!    a landlocked process cannot mount), RLIMIT_NOFILE (after Landlock opened its path
//!    fds), the payload's terminal (the pty as controlling terminal of init's session,
//!    before init forks the payload; the pty fd was opened before Landlock, which
//!    therefore does not restrict its ioctls), seccomp last, then execve.

use serde::Serialize;

/// Execution phase, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Phase {
    Parent,
    Mounts,
    Pivot,
    Identity,
    Lockdown,
    Exec,
}

/// One executor step. Data lives in the [`Plan`](super::Plan); steps refer to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "step", content = "index", rename_all = "kebab-case")]
pub enum Step {
    /// Create the cgroup leaf and write the limits (parent).
    CreateCgroup,
    /// Write setgroups=deny, uid_map, gid_map of the child's user namespace (parent).
    WriteIdMaps,
    /// Put the child into the cgroup before it runs (parent).
    EnterCgroup,
    /// Make every mount private (MS_REC|MS_PRIVATE) so nothing propagates to the host.
    MakeMountsPrivate,
    /// Mount the new root (tmpfs, or a bind of the root directory) at the staging point.
    PrepareRoot,
    /// Apply `plan.mounts[i]` below the new root.
    Mount(usize),
    /// pivot_root into the new root and detach the old one.
    PivotRoot,
    /// Remount the root read-only.
    RootReadOnly,
    /// Mask `plan.masked_paths`.
    MaskPaths,
    /// Remount `plan.read_only_paths` read-only.
    ReadOnlyPaths,
    /// Bind each of `plan.protected_paths` onto itself read-only (placeholders for missing
    /// ones were made before the clone). After every mount, so no later mount undoes it.
    ProtectPaths,
    /// Set the hostname.
    SetHostname,
    /// Set the NIS domain name.
    SetDomainname,
    /// Apply every rlimit except RLIMIT_NOFILE.
    SetRlimits,
    /// Start a new session.
    NewSession,
    /// Set the umask.
    SetUmask,
    /// Drop every capability not kept from the bounding set.
    DropBoundingSet,
    /// setgroups, setresgid, setresuid (keeping capabilities across the switch).
    SwitchUser,
    /// Set effective, permitted, inheritable and ambient capabilities to the kept ones.
    SetCapabilities,
    /// chdir to the working directory (as the final user).
    Chdir,
    /// PR_SET_NO_NEW_PRIVS.
    NoNewPrivs,
    /// Apply the Landlock ruleset.
    Landlock,
    /// Apply RLIMIT_NOFILE.
    SetNofileLimit,
    /// With a pty for the payload (`process.terminal`, decided at launch for `auto`): the
    /// pty's slave becomes the controlling terminal of the session `NewSession` made
    /// (TIOCSCTTY) and fds 0, 1, 2. It runs in init, before init forks the payload: init
    /// leads the session, and the payload's job (its own process group, made the pty's
    /// foreground group right after the fork) is not an orphaned group, so Ctrl-Z stops it
    /// as in a shell. Before seccomp, which may deny ioctl. Without a pty: nothing (a
    /// no-op step keeps the plan independent of the caller's fds).
    AttachTerminal,
    /// Load the seccomp filter (compiled in the parent).
    Seccomp,
    /// execve the payload.
    Exec,
}

impl Step {
    /// The phase this step belongs to.
    pub fn phase(&self) -> Phase {
        use Step::*;
        match self {
            CreateCgroup | WriteIdMaps | EnterCgroup => Phase::Parent,
            MakeMountsPrivate | PrepareRoot | Mount(_) => Phase::Mounts,
            PivotRoot | RootReadOnly | MaskPaths | ReadOnlyPaths | ProtectPaths => Phase::Pivot,
            SetHostname | SetDomainname | SetRlimits | NewSession | SetUmask => Phase::Identity,
            DropBoundingSet | SwitchUser | SetCapabilities | Chdir | NoNewPrivs | Landlock
            | SetNofileLimit | AttachTerminal | Seccomp => Phase::Lockdown,
            Exec => Phase::Exec,
        }
    }

    /// Whether the step runs in the parent (supervisor) rather than the child.
    pub fn in_parent(&self) -> bool {
        self.phase() == Phase::Parent
    }
}
