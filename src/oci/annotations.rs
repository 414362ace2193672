//! The `org.stockade.*` annotations: what OCI cannot say, kept in `config.json` so that it is
//! visible to anyone reading the bundle and so that import can restore the original profile.

use crate::plan::MountFlags;
use serde::{Deserialize, Serialize};

pub(super) const LANDLOCK: &str = "org.stockade.landlock";
pub(super) const TIMEOUT: &str = "org.stockade.timeout";
pub(super) const INIT: &str = "org.stockade.init";
pub(super) const DIE_WITH_PARENT: &str = "org.stockade.die-with-parent";
pub(super) const NEW_SESSION: &str = "org.stockade.new-session";
/// `process.terminal = "auto"` (OCI's `terminal` is a fixed boolean).
pub(super) const TERMINAL: &str = "org.stockade.terminal";
pub(super) const SYSTEMD: &str = "org.stockade.systemd";
pub(super) const RESOURCES_COMPAT: &str = "org.stockade.resources-compat";
pub(super) const ROOT: &str = "org.stockade.root";
pub(super) const ROOTFS: &str = "org.stockade.rootfs";
pub(super) const TIME_OFFSETS: &str = "org.stockade.time-offsets";
pub(super) const ROOT_UNMAPPED: &str = "org.stockade.root-unmapped";
/// The protected paths inside writable binds (JSON list). Informational on import: the
/// compiler derives them again from the imported writable binds (fail closed: a profile's
/// `filesystem.unprotected` opt-outs are not carried over).
pub(super) const PROTECTED_PATHS: &str = "org.stockade.protected-paths";
pub(super) const SOURCE: &str = "org.stockade.source";
pub(super) const DESCRIPTION: &str = "org.stockade.description";
/// `org.stockade.mount.<i>`: what stockade mount the OCI mount `mounts[i]` comes from, when
/// it is not a plain one-to-one mapping.
pub(super) const MOUNT_PREFIX: &str = "org.stockade.mount.";

/// The per-mount flags, as recorded in annotations.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct Flags {
    pub read_only: bool,
    pub nosuid: bool,
    pub nodev: bool,
    pub noexec: bool,
}

impl From<MountFlags> for Flags {
    fn from(f: MountFlags) -> Flags {
        Flags {
            read_only: f.read_only,
            nosuid: f.nosuid,
            nodev: f.nodev,
            noexec: f.noexec,
        }
    }
}

impl From<Flags> for MountFlags {
    fn from(f: Flags) -> MountFlags {
        MountFlags {
            read_only: f.read_only,
            nosuid: f.nosuid,
            nodev: f.nodev,
            noexec: f.noexec,
        }
    }
}

/// Where an OCI mount came from (`org.stockade.mount.<i>`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case", deny_unknown_fields)]
pub(super) enum MountOrigin {
    /// The tmpfs of a stockade `dev` mount.
    Dev { flags: Flags },
    /// A helper mount (`/dev/pts`, `/dev/shm`) added for the preceding `dev` mount.
    DevPart,
    /// A bind of a file written into the bundle.
    File {
        mode: u32,
        content: String,
        flags: Flags,
    },
    /// A tmpfs standing for an empty directory.
    Dir { mode: u32, flags: Flags },
    /// A bind that stockade skips when its source is missing.
    OptionalBind,
    /// A proc, devpts or mqueue mount whose flags stockade's executor forces beyond the
    /// profile's (nosuid, nodev, noexec): the OCI options carry the forced ones, this the
    /// profile's.
    Forced { flags: Flags },
}

/// A `dir` or `symlink` mount created inside the bundle's rootfs (`org.stockade.rootfs`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct RootfsOrigin {
    /// How many OCI mounts precede it (its place in the profile's mount order).
    pub position: usize,
    pub target: String,
    /// `Some(mode)` for a directory.
    pub dir_mode: Option<u32>,
    /// `Some(link)` for a symlink.
    pub symlink: Option<String>,
    pub flags: Flags,
    /// False when the bundle could not create it (a NotEnforced note says why).
    pub created: bool,
}

/// The wall-time limit and how the payload is stopped (`org.stockade.timeout`). Always
/// written: the stop signal and grace period also matter without a limit (stockade's
/// supervisor uses them when it is told to stop).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct Timeout {
    pub timeout_ms: Option<u64>,
    pub kill_signal: String,
    pub grace_ms: u64,
}

/// `org.stockade.systemd`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct Systemd {
    pub notify: bool,
    pub listen_fds: bool,
}

/// `org.stockade.landlock`: the Landlock plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct Landlock {
    pub compat: String,
    pub abi: u8,
    pub handled_fs: Vec<String>,
    pub paths: Vec<LandlockPath>,
    pub bind_tcp: Option<Vec<u16>>,
    pub connect_tcp: Option<Vec<u16>>,
    pub scopes: Vec<String>,
    /// `landlock.required`; absent in bundles from before it existed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub required: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct LandlockPath {
    pub path: String,
    pub access: Vec<String>,
}
