//! OCI runtime bundles: export a [`Plan`](crate::plan::Plan) as `config.json` + `rootfs`, and
//! import a `config.json` as a stockade profile.
//!
//! # Export
//! [`export_bundle`] maps every Plan element onto the OCI runtime-spec (`ociVersion` 1.1.0:
//! Debian 12's crun 1.8.1 refuses anything newer) using the `oci-spec` crate's types. What OCI
//! cannot say is never dropped silently: it becomes a [`Note`], printed by the CLI, and is
//! recorded in an `org.stockade.*` annotation so that [`import`] can restore it.
//!
//! Notes come in two kinds ([`NoteKind`]):
//! - [`NoteKind::NotEnforced`]: an OCI runtime will not do something the profile asks for
//!   (Landlock, the wall-time limit, stockade's init, die-with-parent, systemd pass-through,
//!   a symlink the bundle cannot create). `strict` turns these into an error.
//! - [`NoteKind::Approximated`]: expressed differently with at least the same confinement
//!   (the tmpfs root becomes the bundle's `rootfs` directory, a `file` mount becomes a bind of a
//!   file written into the bundle, `/dev` gets the runtime's default device nodes, ...). These
//!   never fail an export, even under `strict`: refusing them would refuse every profile.
//!
//! Output is deterministic: the same Plan gives a byte-identical `config.json` (object keys are
//! sorted, capability sets are sorted; list order is kept where it is semantic: mounts, args,
//! seccomp rules, id maps).
//!
//! The bundle mirrors what stockade's executor really does, not only what the Plan lists:
//! the nosuid/nodev/noexec it forces on proc, devpts and mqueue, the proc paths it masks and
//! makes read-only, recursive flags on recursive binds. Where a runtime needs help to match
//! (crun 1.8.1 loses the flags of mounts beneath a read-only path), the export says the same
//! thing twice. `tests/oci_differential.rs` runs the probe under `stockade run`, runc and crun
//! and lists every difference that remains, with its reason.
//!
//! # Import
//! [`import`] (or [`import_bundle`], which resolves bundle-relative paths) reads a
//! `config.json` and writes a commented profile. Every field is checked:
//! a field stockade cannot honour is an error naming its JSON path (`linux.devices[0]`,
//! `hooks.prestart`); nothing is ignored silently except runtime placement (`cgroupsPath`) and
//! foreign annotations, both listed in a comment of the generated profile.

mod annotations;
mod bundle;
mod errno;
mod export;
mod import;
mod import_linux;
mod import_mounts;
mod import_toml;
mod json;
mod json_walk;
mod mounts;
mod notes;
mod resources;
mod seccomp;

use std::path::PathBuf;

pub use bundle::export_bundle;
pub use export::{export_config, BundleFile, Exported, RootfsEntry};
pub use import::{import, import_bundle};

/// The `ociVersion` written by export. 1.1.0 has everything stockade needs (umask,
/// defaultErrnoRet, timeOffsets, the recursive mount options `rro`/`rnosuid`/...) and is
/// accepted by crun 1.8.1 and runc 1.1.5.
pub const OCI_VERSION: &str = "1.1.0";

/// Prefix of every annotation stockade writes.
pub const ANNOTATION_PREFIX: &str = "org.stockade.";

/// How a Plan element survived the export.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum NoteKind {
    /// An OCI runtime will not enforce or perform it (an error under `strict`).
    NotEnforced,
    /// Expressed differently in OCI, with at least the same confinement.
    Approximated,
}

/// Something OCI cannot say exactly. `key` is the annotation that records it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Note {
    pub kind: NoteKind,
    /// The `org.stockade.*` annotation holding the data (e.g. `org.stockade.landlock`).
    pub key: String,
    pub message: String,
}

impl std::fmt::Display for Note {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self.kind {
            NoteKind::NotEnforced => "not enforced by OCI runtimes",
            NoteKind::Approximated => "approximated",
        };
        write!(f, "{} ({kind}; annotation {})", self.message, self.key)
    }
}

/// Errors of the OCI export and import.
#[derive(Debug, thiserror::Error)]
pub enum OciError {
    #[error("--strict: {} plan element(s) cannot be expressed in OCI:\n{}", .0.len(), list_notes(.0))]
    Strict(Vec<Note>),
    #[error("bundle {path}: {reason}")]
    Bundle { path: PathBuf, reason: String },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot express {what} in OCI: {reason}")]
    Export { what: String, reason: String },
    #[error("config.json is not valid JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("`{path}`: stockade cannot honour this: {reason}")]
    Unsupported { path: String, reason: String },
    #[error("`{path}`: {reason}")]
    Invalid { path: String, reason: String },
}

fn list_notes(notes: &[Note]) -> String {
    notes
        .iter()
        .map(|n| format!("  - {n}"))
        .collect::<Vec<_>>()
        .join("\n")
}
