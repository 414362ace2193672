//! `[[mount]]`: one entry per mount, applied in order.
//!
//! A single flat struct with a `type` discriminator instead of an internally tagged enum:
//! tagged enums lose TOML spans, and the compiler gives a better error ("`size` does not apply
//! to a bind mount") than serde could.

use super::IntOrString;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// One mount inside the sandbox.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Mount {
    /// What to mount.
    #[serde(rename = "type")]
    pub kind: MountKind,
    /// bind: host path to bind; overlay: not used; symlink: the link's content.
    pub source: Option<String>,
    /// Absolute path inside the sandbox. Defaults: bind → `source`, proc → `/proc`,
    /// dev → `/dev`, devpts → `/dev/pts`, mqueue → `/dev/mqueue`.
    pub target: Option<String>,
    /// bind, overlay, tmpfs, file: mount read-only. Default: false.
    pub read_only: Option<bool>,
    /// bind: also bind the mounts below `source` (rbind); read-only applies to all of them.
    /// Default: true.
    pub recursive: Option<bool>,
    /// bind: skip this mount when `source` does not exist. Default: false.
    pub optional: Option<bool>,
    /// bind: say that this writable bind is meant although it exposes a sensitive host
    /// directory (`/`, the home directory, an ancestor of either or of a system directory
    /// such as /usr or /etc, or a path inside /usr, /etc, /boot...) or covers a directory an
    /// earlier mount made read-only. Without it such a bind is an error; with it, a warning.
    /// Default: false.
    pub allow_dangerous_write: Option<bool>,
    /// Ignore set-user-ID and file capabilities. Default: true (false for the root dir).
    pub nosuid: Option<bool>,
    /// Disallow device files. Default: true, except for `dev` mounts.
    pub nodev: Option<bool>,
    /// Disallow executing files. Default: false.
    pub noexec: Option<bool>,
    /// tmpfs: maximum size, e.g. `"512MiB"`.
    pub size: Option<IntOrString>,
    /// tmpfs, dir, file: permission bits, octal, e.g. `"0755"`.
    pub mode: Option<IntOrString>,
    /// file: the file's content.
    pub content: Option<String>,
    /// overlay: lower directories (host paths), topmost first.
    pub lower: Option<Vec<String>>,
    /// overlay: upper (writable) directory on the host. Without it the overlay is read-only.
    pub upper: Option<String>,
    /// overlay: work directory on the host, on the same filesystem as `upper`.
    pub work: Option<String>,
    /// bind, overlay: follow symbolic links in the host paths (`source`; `lower`, `upper`,
    /// `work`). Default: false, and a host path that is, or passes through, a symlink is an
    /// error: a sandbox that can write there could have planted it. With true, the link is
    /// resolved once when the plan is made; `plan`, `explain` and the run report show the
    /// resolved path, and the launch opens exactly that path without following links, so a
    /// link swapped in later fails the launch instead of redirecting it.
    pub follow_symlinks: Option<bool>,
    /// proc: leave the kernel interfaces of the new proc visible and writable as the
    /// sandbox's namespaces allow (`/proc/kcore`, `/proc/keys`, `/proc/sys`, ... are masked
    /// or read-only by default). Needed for a sandbox that runs stockade (or any sandbox
    /// with its own /proc) inside it: the kernel refuses a new proc instance where the
    /// current one has paths mounted over. Default: false.
    pub unmasked: Option<bool>,
}

/// Mount type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum MountKind {
    /// A bind mount of a host path.
    Bind,
    /// A fresh tmpfs.
    Tmpfs,
    /// A new procfs matching the sandbox's PID namespace (sensitive paths masked).
    Proc,
    /// A minimal /dev: null, zero, full, random, urandom, tty, pts, ptmx, shm and fd links.
    Dev,
    /// A private devpts instance.
    Devpts,
    /// A POSIX message queue filesystem.
    Mqueue,
    /// An empty directory.
    Dir,
    /// A file with inline content.
    File,
    /// A symbolic link (`source` is its content).
    Symlink,
    /// An overlay filesystem.
    Overlay,
}
