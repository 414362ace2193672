//! `mounts` → `[[mount]]`, restoring stockade's own mount types from its annotations.

use super::annotations::{self as ann, Flags, MountOrigin, RootfsOrigin};
use super::import::{parse_annotation, resolve};
use super::json_walk::{array, escape, text, Obj};
use super::OciError;
use crate::profile::mount::{Mount, MountKind};
use crate::profile::IntOrString;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

fn blank(kind: MountKind, target: String, flags: Flags) -> Mount {
    // Profiles take `read-only` only where it applies, and no flags at all on a dir or
    // symlink (they are created, not mounted).
    let created = matches!(kind, MountKind::Dir | MountKind::Symlink);
    let flag = |on: bool| (!created).then_some(on);
    Mount {
        kind,
        source: None,
        target: Some(target),
        read_only: takes_read_only(kind).then_some(flags.read_only),
        recursive: None,
        optional: None,
        allow_dangerous_write: None,
        nosuid: flag(flags.nosuid),
        nodev: flag(flags.nodev),
        noexec: flag(flags.noexec),
        size: None,
        mode: None,
        content: None,
        lower: None,
        upper: None,
        work: None,
        follow_symlinks: None,
        unmasked: None,
    }
}

fn takes_read_only(kind: MountKind) -> bool {
    matches!(
        kind,
        MountKind::Bind | MountKind::Tmpfs | MountKind::Overlay | MountKind::File
    )
}

fn mode(m: u32) -> IntOrString {
    IntOrString::Str(format!("{m:04o}"))
}

pub(super) fn import_mounts(
    v: &Value,
    path: &str,
    annotations: &BTreeMap<String, String>,
    bundle: Option<&Path>,
) -> Result<Vec<Mount>, OciError> {
    let items = array(v, path)?;
    let mut origins: BTreeMap<usize, MountOrigin> = BTreeMap::new();
    for (k, val) in annotations {
        if let Some(i) = k.strip_prefix(ann::MOUNT_PREFIX) {
            let i: usize = i.parse().map_err(|_| OciError::Invalid {
                path: format!("annotations.{k}"),
                reason: "not a mount index".into(),
            })?;
            if i >= items.len() {
                return Err(OciError::Invalid {
                    path: format!("annotations.{k}"),
                    reason: format!("there is no {path}[{i}]"),
                });
            }
            origins.insert(i, parse_annotation(k, val)?);
        }
    }
    let rootfs: Vec<RootfsOrigin> = match annotations.get(ann::ROOTFS) {
        Some(s) => parse_annotation(ann::ROOTFS, s)?,
        None => vec![],
    };
    let mut out = Vec::new();
    let emit_rootfs = |pos: usize, out: &mut Vec<Mount>| {
        for r in rootfs.iter().filter(|r| r.position == pos) {
            let m = match (&r.dir_mode, &r.symlink) {
                (Some(mo), _) => {
                    let mut m = blank(MountKind::Dir, escape(&r.target), r.flags);
                    m.mode = Some(mode(*mo));
                    m
                }
                (None, Some(link)) => {
                    let mut m = blank(MountKind::Symlink, escape(&r.target), r.flags);
                    m.source = Some(escape(link));
                    m
                }
                (None, None) => continue,
            };
            out.push(m);
        }
    };
    for (i, item) in items.iter().enumerate() {
        emit_rootfs(i, &mut out);
        let p = format!("{path}[{i}]");
        let mut o = Obj::new(&p, item)?;
        let target = o.req_text("destination")?;
        let m = match origins.get(&i) {
            Some(MountOrigin::DevPart) => None,
            Some(MountOrigin::Dev { flags }) => Some(blank(MountKind::Dev, target, *flags)),
            Some(MountOrigin::File {
                mode: mo,
                content,
                flags,
            }) => {
                let mut m = blank(MountKind::File, target, *flags);
                m.mode = Some(mode(*mo));
                m.content = Some(escape(content));
                Some(m)
            }
            Some(MountOrigin::Dir { mode: mo, flags }) => {
                let mut m = blank(MountKind::Dir, target, *flags);
                m.mode = Some(mode(*mo));
                Some(m)
            }
            Some(MountOrigin::OptionalBind) | Some(MountOrigin::Forced { .. }) | None => {
                let mut m = plain_mount(&mut o, &p, target, bundle)?;
                match origins.get(&i) {
                    Some(MountOrigin::OptionalBind) => m.optional = Some(true),
                    Some(MountOrigin::Forced { flags }) => {
                        m.nosuid = Some(flags.nosuid);
                        m.nodev = Some(flags.nodev);
                        m.noexec = Some(flags.noexec);
                    }
                    _ => {}
                }
                Some(m)
            }
        };
        // The annotated forms were written by stockade; their options are its own.
        o.take("type");
        o.take("source");
        o.take("options");
        o.finish()?;
        out.extend(m);
    }
    emit_rootfs(items.len(), &mut out);
    Ok(out)
}

/// A mount with a direct OCI equivalent.
fn plain_mount(
    o: &mut Obj,
    path: &str,
    target: String,
    bundle: Option<&Path>,
) -> Result<Mount, OciError> {
    let typ = o.opt_text("type")?;
    let source = o.opt_text("source")?;
    let options: Vec<(String, String)> = match o.take("options") {
        Some((v, p)) => array(v, &p)?
            .iter()
            .enumerate()
            .map(|(j, s)| {
                let jp = format!("{p}[{j}]");
                text(s, &jp).map(|s| (s, jp))
            })
            .collect::<Result<_, _>>()?,
        None => vec![],
    };
    let has = |name: &str| options.iter().any(|(s, _)| s == name);
    let is_bind = typ.as_deref() == Some("bind") || has("bind") || has("rbind");
    let kind = if is_bind {
        MountKind::Bind
    } else {
        match typ.as_deref() {
            Some("tmpfs") => MountKind::Tmpfs,
            Some("proc") => MountKind::Proc,
            Some("devpts") => MountKind::Devpts,
            Some("mqueue") => MountKind::Mqueue,
            Some("overlay") => MountKind::Overlay,
            Some(other) => {
                return Err(OciError::Unsupported {
                    path: format!("{path}.type"),
                    reason: format!(
                        "stockade mounts bind, tmpfs, proc, dev, devpts, mqueue and overlay, \
                         not `{other}`"
                    ),
                })
            }
            None => {
                return Err(OciError::Invalid {
                    path: format!("{path}.type"),
                    reason: "missing (and no bind option)".into(),
                })
            }
        }
    };
    let mut flags = Flags::default();
    let mut m = blank(kind, target, flags);
    let mut lower = None;
    for (opt, op) in &options {
        let (key, value) = match opt.split_once('=') {
            Some((k, v)) => (k, Some(v)),
            None => (opt.as_str(), None),
        };
        let bad = |why: &str| OciError::Unsupported {
            path: op.clone(),
            reason: format!("option `{opt}`: {why}"),
        };
        match (key, value, kind) {
            ("ro" | "rro", None, k) if takes_read_only(k) => flags.read_only = true,
            ("nosuid" | "rnosuid", None, _) => flags.nosuid = true,
            ("nodev" | "rnodev", None, _) => flags.nodev = true,
            ("noexec" | "rnoexec", None, _) => flags.noexec = true,
            ("rw" | "suid" | "dev" | "exec", None, _) => {}
            ("bind", None, MountKind::Bind) => m.recursive = Some(false),
            ("rbind", None, MountKind::Bind) => m.recursive = Some(true),
            ("size", Some(v), MountKind::Tmpfs) => {
                m.size = Some(IntOrString::Int(
                    tmpfs_size(v)
                        .ok_or_else(|| bad("stockade takes a size in bytes (or with k, m, g)"))?
                        as i64,
                ))
            }
            ("mode", Some(v), MountKind::Tmpfs) => {
                let n = u32::from_str_radix(v, 8).map_err(|_| bad("not an octal mode"))?;
                m.mode = Some(mode(n));
            }
            ("newinstance", None, MountKind::Devpts)
            | ("ptmxmode", Some("0666" | "666"), MountKind::Devpts)
            | ("mode", Some("0620" | "620"), MountKind::Devpts) => {}
            ("lowerdir", Some(v), MountKind::Overlay) => {
                lower = Some(v.split(':').map(String::from).collect::<Vec<_>>())
            }
            ("upperdir", Some(v), MountKind::Overlay) => m.upper = Some(v.to_string()),
            ("workdir", Some(v), MountKind::Overlay) => m.work = Some(v.to_string()),
            _ => return Err(bad("stockade cannot set it on this mount")),
        }
    }
    let target = m.target.clone();
    let recursive = m.recursive;
    let (size, md, upper, work) = (
        m.size.clone(),
        m.mode.clone(),
        m.upper.clone(),
        m.work.clone(),
    );
    m = blank(kind, target.unwrap_or_default(), flags);
    m.size = size;
    m.mode = md;
    m.upper = upper;
    m.work = work;
    match kind {
        MountKind::Bind => {
            let src = source.ok_or_else(|| OciError::Invalid {
                path: format!("{path}.source"),
                reason: "a bind mount needs a source".into(),
            })?;
            m.source = Some(resolve(&src, bundle, &format!("{path}.source"))?);
            m.recursive = Some(recursive.unwrap_or(false));
            m.optional = Some(false);
            // OCI runtimes follow links in bind sources (the engine that wrote config.json
            // names them). The link is resolved when the plan is made, shown resolved, and
            // the launch opens exactly that path, so a link swapped in later still fails.
            m.follow_symlinks = Some(true);
        }
        MountKind::Overlay => {
            m.lower = Some(lower.ok_or_else(|| OciError::Invalid {
                path: format!("{path}.options"),
                reason: "an overlay mount needs lowerdir=".into(),
            })?);
        }
        _ => {}
    }
    Ok(m)
}

/// tmpfs `size=`: bytes, or with the kernel's k/m/g suffixes (1024-based). `%` is refused:
/// a share of RAM is not a fixed size.
fn tmpfs_size(v: &str) -> Option<u64> {
    let (num, mul) = match v.as_bytes().last()? {
        b'k' | b'K' => (&v[..v.len() - 1], 1u64 << 10),
        b'm' | b'M' => (&v[..v.len() - 1], 1 << 20),
        b'g' | b'G' => (&v[..v.len() - 1], 1 << 30),
        _ => (v, 1),
    };
    num.parse::<u64>().ok()?.checked_mul(mul)
}
