//! Writing the bundle directory: `config.json`, `rootfs/` with the entries created there,
//! `files/`, their ownership, and removing everything again when something fails.

use super::export::{export_config, Exported, RootfsEntry};
use super::{Note, NoteKind, OciError};
use crate::plan::Plan;
use std::fs;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};

/// Export `plan` as an OCI bundle in `bundle` (created if missing; refused if not empty).
///
/// Returns the notes (what OCI cannot say exactly); with `strict`, a note of kind
/// [`NoteKind::NotEnforced`] is an error and nothing is written. On failure nothing is left
/// behind.
pub fn export_bundle(plan: &Plan, bundle: &Path, strict: bool) -> Result<Vec<Note>, OciError> {
    let exported = export_config(plan)?;
    if strict {
        let refused: Vec<Note> = exported
            .notes
            .iter()
            .filter(|n| n.kind == NoteKind::NotEnforced)
            .cloned()
            .collect();
        if !refused.is_empty() {
            return Err(OciError::Strict(refused));
        }
    }
    let created = prepare_dir(bundle)?;
    match write_bundle(&exported, bundle) {
        Ok(()) => Ok(exported.notes),
        Err(e) => {
            cleanup(bundle, created);
            Err(e)
        }
    }
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> OciError + '_ {
    move |source| OciError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Create the bundle directory, or accept an existing empty one. Returns whether it was
/// created (and so may be removed on failure).
fn prepare_dir(bundle: &Path) -> Result<bool, OciError> {
    match fs::symlink_metadata(bundle) {
        Ok(meta) if meta.is_dir() => {
            let mut entries = fs::read_dir(bundle).map_err(io_err(bundle))?;
            if entries.next().is_some() {
                return Err(OciError::Bundle {
                    path: bundle.to_path_buf(),
                    reason: "the directory is not empty; refusing to overwrite it".into(),
                });
            }
            Ok(false)
        }
        Ok(_) => Err(OciError::Bundle {
            path: bundle.to_path_buf(),
            reason: "exists and is not a directory".into(),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            fs::DirBuilder::new()
                .mode(0o755)
                .create(bundle)
                .map_err(io_err(bundle))?;
            Ok(true)
        }
        Err(e) => Err(io_err(bundle)(e)),
    }
}

fn cleanup(bundle: &Path, created: bool) {
    if created {
        let _ = fs::remove_dir_all(bundle);
    } else {
        for name in ["config.json", "rootfs", "files"] {
            let p = bundle.join(name);
            let _ = fs::remove_dir_all(&p).or_else(|_| fs::remove_file(&p));
        }
    }
}

fn write_bundle(exported: &Exported, bundle: &Path) -> Result<(), OciError> {
    if let Some(entries) = &exported.rootfs {
        let rootfs = bundle.join("rootfs");
        mkdir(&rootfs, 0o755)?;
        for entry in entries {
            match entry {
                RootfsEntry::Dir { path, mode } => {
                    let at = inside(&rootfs, path)?;
                    if fs::symlink_metadata(&at).is_err() {
                        mkdir(&at, *mode)?;
                        // mkdir honours the umask; the Plan's mode is exact.
                        fs::set_permissions(&at, fs::Permissions::from_mode(*mode))
                            .map_err(io_err(&at))?;
                    }
                }
                RootfsEntry::Symlink { path, link } => {
                    let at = inside(&rootfs, path)?;
                    std::os::unix::fs::symlink(link, &at).map_err(io_err(&at))?;
                }
            }
        }
    }
    if !exported.files.is_empty() {
        mkdir(&bundle.join("files"), 0o755)?;
        for f in &exported.files {
            let at = bundle.join(&f.path);
            let mut file = fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(f.mode)
                .open(&at)
                .map_err(io_err(&at))?;
            file.write_all(f.content.as_bytes()).map_err(io_err(&at))?;
            fs::set_permissions(&at, fs::Permissions::from_mode(f.mode)).map_err(io_err(&at))?;
        }
    }
    if let Some((uid, gid)) = exported.owner {
        chown_tree(bundle, uid, gid)?;
    }
    let config = bundle.join("config.json");
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o644)
        .open(&config)
        .map_err(io_err(&config))?;
    file.write_all(exported.config_json.as_bytes())
        .map_err(io_err(&config))
}

/// Give `rootfs/` and `files/` (everything the export created below them) to `uid:gid`.
/// Only root may; an unprivileged export leaves them to the caller, which is then also the
/// user a rootless runtime maps.
fn chown_tree(bundle: &Path, uid: u32, gid: u32) -> Result<(), OciError> {
    if !nix::unistd::geteuid().is_root() {
        return Ok(());
    }
    fn walk(p: &Path, uid: u32, gid: u32) -> Result<(), OciError> {
        std::os::unix::fs::lchown(p, Some(uid), Some(gid)).map_err(io_err(p))?;
        let meta = fs::symlink_metadata(p).map_err(io_err(p))?;
        if meta.is_dir() {
            for entry in fs::read_dir(p).map_err(io_err(p))? {
                walk(&entry.map_err(io_err(p))?.path(), uid, gid)?;
            }
        }
        Ok(())
    }
    for name in ["rootfs", "files"] {
        let p = bundle.join(name);
        if fs::symlink_metadata(&p).is_ok() {
            walk(&p, uid, gid)?;
        }
    }
    Ok(())
}

fn mkdir(path: &Path, mode: u32) -> Result<(), OciError> {
    fs::DirBuilder::new()
        .mode(mode)
        .create(path)
        .map_err(io_err(path))
}

/// `rootfs` + the sandbox path `path`, with its missing parents created (0755). Never follows
/// a symlink: an absolute link created earlier in `rootfs` would otherwise lead outside it, onto
/// the host.
fn inside(rootfs: &Path, path: &Path) -> Result<PathBuf, OciError> {
    let mut at = rootfs.to_path_buf();
    let parts: Vec<_> = path.components().collect();
    for (i, c) in parts.iter().enumerate() {
        match c {
            Component::RootDir => {}
            Component::Normal(name) => {
                at.push(name);
                if i + 1 == parts.len() {
                    break;
                }
                match fs::symlink_metadata(&at) {
                    Ok(m) if m.is_dir() => {}
                    Ok(_) => {
                        return Err(OciError::Bundle {
                            path: at,
                            reason: format!(
                                "cannot create {} in rootfs: a parent is not a directory \
                                 (a symlink created by an earlier mount?)",
                                path.display()
                            ),
                        })
                    }
                    Err(_) => mkdir(&at, 0o755)?,
                }
            }
            _ => {
                return Err(OciError::Bundle {
                    path: path.to_path_buf(),
                    reason: "the sandbox path is not absolute and normalized".into(),
                })
            }
        }
    }
    Ok(at)
}
