//! `config.json` → profile. Every field is looked at: what stockade cannot honour is an error
//! naming its JSON path. Empty values (`null`, `[]`, `{}`) of fields stockade has no use for
//! are accepted: they ask for nothing.

use super::annotations as ann;
use super::import_linux::{import_linux, LinuxParts};
use super::import_mounts::import_mounts;
use super::import_toml::{render, Comments};
use super::json_walk::{array, escape, first_leaf, is_empty, text, u64_of, Obj};
use super::mounts::{PROC_MASKED, PROC_READ_ONLY};
use super::OciError;
use crate::profile::caps::Capabilities;
use crate::profile::env::Env;
use crate::profile::filesystem::Filesystem;
use crate::profile::process::{Pid1, Process};
use crate::profile::rlimit::Rlimits;
use crate::profile::systemd::{Systemd, Toggle};
use crate::profile::TerminalSetting;
use crate::profile::{IntOrString, Profile, RlimitValue};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Read `config_json` and write an equivalent, commented stockade profile (TOML).
///
/// Relative paths (`root.path`, bind sources) are relative to the bundle, which this function
/// does not know: they are errors unless stockade's own annotations explain them. Use
/// [`import_bundle`] to resolve them.
pub fn import(config_json: &str) -> Result<String, OciError> {
    import_impl(config_json, None)
}

/// [`import`], resolving relative paths against the bundle directory `bundle`.
pub fn import_bundle(config_json: &str, bundle: &Path) -> Result<String, OciError> {
    import_impl(config_json, Some(bundle))
}

fn import_impl(config_json: &str, bundle: Option<&Path>) -> Result<String, OciError> {
    let doc: Value = serde_json::from_str(config_json)?;
    let mut top = Obj::new("", &doc)?;
    let mut comments = Comments::default();

    let version = top.req_str("ociVersion")?;
    if !version.starts_with("1.") {
        return Err(OciError::Invalid {
            path: "ociVersion".into(),
            reason: format!("version {version} is not a 1.x runtime-spec version"),
        });
    }
    comments.header.push(format!(
        "Imported from an OCI config.json (ociVersion {version})."
    ));

    let annotations = top.take("annotations").map(read_annotations).transpose()?;
    let annotations = annotations.unwrap_or_default();
    for key in annotations.keys() {
        if !key.starts_with(super::ANNOTATION_PREFIX) {
            comments.header.push(format!(
                "Annotation `{key}` carries no sandbox setting; not imported."
            ));
        }
    }
    let stock = |k: &str| annotations.get(k).map(String::as_str);

    let mut profile = Profile {
        version: Some(1),
        description: Some(
            stock(ann::DESCRIPTION)
                .map(String::from)
                .unwrap_or_else(|| "Imported from an OCI bundle".into()),
        ),
        ..Profile::default()
    };

    let linux: LinuxParts = match top.take("linux") {
        Some((v, path)) => import_linux(v, &path, &annotations, &mut comments)?,
        None => {
            return Err(OciError::Unsupported {
                path: "linux".into(),
                reason: "a config without a `linux` section runs no namespaces; stockade \
                         needs at least the mount namespace"
                    .into(),
            })
        }
    };
    let pid_ns = linux.namespaces.pid == Some(true);

    // root
    let (root_v, root_path) = top.req("root")?;
    let mut root = Obj::new(&root_path, root_v)?;
    let root_dir = root.req_str("path")?;
    let read_only = root.opt_bool("readonly")?.unwrap_or(false);
    root.finish()?;
    let tmpfs_root = stock(ann::ROOT) == Some("tmpfs");
    let root_value = if tmpfs_root {
        "tmpfs".to_string()
    } else {
        resolve(&root_dir, bundle, "root.path")?
    };

    let mounts = match top.take("mounts") {
        Some((v, path)) => import_mounts(v, &path, &annotations, bundle)?,
        None => import_mounts(&Value::Array(vec![]), "mounts", &annotations, bundle)?,
    };
    if !mounts.is_empty() {
        profile.mount = Some(mounts);
    }

    // stockade's proc mounts protect these paths themselves; listing them again would only
    // repeat what the mount does.
    let mut masked_paths = linux.masked_paths.clone();
    let mut read_only_paths = linux.read_only_paths.clone();
    for m in profile.mount.iter().flatten() {
        if m.kind == crate::profile::mount::MountKind::Proc {
            let t = m.target.clone().unwrap_or_else(|| "/proc".into());
            let t = t.trim_end_matches('/');
            masked_paths.retain(|p| !PROC_MASKED.iter().any(|n| *p == format!("{t}/{n}")));
            read_only_paths.retain(|p| !PROC_READ_ONLY.iter().any(|n| *p == format!("{t}/{n}")));
        }
    }
    // The export repeats read-only mounts beneath a read-only path (a crun workaround, see
    // `with_read_only_submounts`); they say nothing new.
    let ro_mounts: Vec<String> = profile
        .mount
        .iter()
        .flatten()
        .filter(|m| m.read_only == Some(true))
        .filter_map(|m| m.target.clone())
        .collect();
    let mut kept: Vec<String> = Vec::new();
    for p in read_only_paths {
        let beneath_earlier = kept.iter().any(|k| p != *k && Path::new(&p).starts_with(k));
        if !(beneath_earlier && ro_mounts.contains(&p)) {
            kept.push(p);
        }
    }
    let read_only_paths = kept;
    let hostname = top.opt_text("hostname")?;
    let domainname = top.opt_text("domainname")?;
    profile.filesystem = Some(Filesystem {
        root: Some(root_value),
        read_only: Some(read_only),
        hostname,
        domainname,
        masked_paths: Some(masked_paths),
        read_only_paths: Some(read_only_paths),
        unprotected: None,
    });

    let (proc_v, proc_path) = top.req("process")?;
    let (process, env, caps, rlimits) = import_process(proc_v, &proc_path, pid_ns, &annotations)?;
    profile.process = Some(process);
    profile.env = Some(env);
    profile.capabilities = Some(caps);
    profile.rlimits = rlimits;

    profile.namespaces = Some(linux.namespaces.clone());
    profile.network = Some(linux.network.clone());
    profile.resources = linux.resources.clone();
    profile.seccomp = linux.seccomp.clone();
    profile.landlock = linux.landlock.clone();

    let systemd: Option<ann::Systemd> = stock(ann::SYSTEMD)
        .map(|s| parse_annotation(ann::SYSTEMD, s))
        .transpose()?;
    let toggle = |on: bool| if on { Toggle::Auto } else { Toggle::Off };
    profile.systemd = Some(Systemd {
        notify: Some(toggle(systemd.as_ref().is_some_and(|s| s.notify))),
        listen_fds: Some(toggle(systemd.as_ref().is_some_and(|s| s.listen_fds))),
        ..Systemd::default()
    });

    for key in ["hooks"] {
        if let Some((v, path)) = top.take(key) {
            if !is_empty(v) {
                return Err(OciError::Unsupported {
                    path: first_leaf(v, &path),
                    reason: "stockade runs no OCI hooks".into(),
                });
            }
        }
    }
    top.finish()?;
    render(&profile, &comments)
}

/// Process, environment and capabilities.
fn import_process(
    v: &Value,
    path: &str,
    pid_ns: bool,
    annotations: &BTreeMap<String, String>,
) -> Result<(Process, Env, Capabilities, Option<Rlimits>), OciError> {
    let mut o = Obj::new(path, v)?;
    // `terminal: true` is a pty of the payload's own; stockade relays it to its own stdio
    // (it has no console socket). Without it, "auto" only when stockade exported it.
    let terminal = match o.opt_bool("terminal")? {
        Some(true) => TerminalSetting::Always,
        _ if annotations.get(ann::TERMINAL).map(String::as_str) == Some("auto") => {
            TerminalSetting::Auto
        }
        _ => TerminalSetting::Never,
    };
    let (user_v, user_path) = o.req("user")?;
    let mut user = Obj::new(&user_path, user_v)?;
    let uid = user.req_u64("uid")?;
    let gid = user.req_u64("gid")?;
    let umask = user.opt_u64("umask")?.unwrap_or(0o022);
    let groups = match user.take("additionalGids") {
        Some((v, p)) => array(v, &p)?
            .iter()
            .enumerate()
            .map(|(i, g)| u64_of(g, &format!("{p}[{i}]")).map(|g| IntOrString::Int(g as i64)))
            .collect::<Result<Vec<_>, _>>()?,
        None => vec![],
    };
    user.finish()?;

    let (args_v, args_path) = o.req("args")?;
    let argv = array(args_v, &args_path)?
        .iter()
        .enumerate()
        .map(|(i, a)| text(a, &format!("{args_path}[{i}]")))
        .collect::<Result<Vec<_>, _>>()?;
    if argv.is_empty() {
        return Err(OciError::Invalid {
            path: args_path,
            reason: "the command is empty".into(),
        });
    }
    let mut set = BTreeMap::new();
    if let Some((env_v, env_path)) = o.take("env") {
        for (i, e) in array(env_v, &env_path)?.iter().enumerate() {
            let p = format!("{env_path}[{i}]");
            let e = e.as_str().ok_or_else(|| OciError::Invalid {
                path: p.clone(),
                reason: "expected a string".into(),
            })?;
            let (k, val) = e.split_once('=').ok_or_else(|| OciError::Invalid {
                path: p.clone(),
                reason: "an environment entry must be NAME=value".into(),
            })?;
            if set.insert(k.to_string(), escape(val)).is_some() {
                return Err(OciError::Invalid {
                    path: p,
                    reason: format!("`{k}` is set twice"),
                });
            }
        }
    }
    let cwd = o.req_text("cwd")?;
    let caps = import_caps(&mut o, path)?;
    let no_new_privs = o.opt_bool("noNewPrivileges")?.unwrap_or(false);
    let rlimits = o
        .take("rlimits")
        .map(|(v, p)| import_rlimits(v, &p))
        .transpose()?;
    o.finish()?;

    let timeout: Option<ann::Timeout> = annotations
        .get(ann::TIMEOUT)
        .map(|s| parse_annotation(ann::TIMEOUT, s))
        .transpose()?;
    let mut process = Process {
        command: Some(argv),
        cwd: Some(cwd),
        user: Some(IntOrString::Int(uid as i64)),
        group: Some(IntOrString::Int(gid as i64)),
        groups: Some(groups),
        umask: Some(IntOrString::Str(format!("{umask:04o}"))),
        new_session: Some(annotations.get(ann::NEW_SESSION).map(String::as_str) != Some("false")),
        terminal: Some(terminal),
        pid1: None,
        die_with_parent: Some(
            annotations.get(ann::DIE_WITH_PARENT).map(String::as_str) == Some("true"),
        ),
        timeout: None,
        kill_signal: None,
        grace: None,
    };
    if pid_ns {
        process.pid1 = Some(
            if annotations.get(ann::INIT).map(String::as_str) == Some("true") {
                Pid1::Init
            } else {
                Pid1::Payload
            },
        );
    }
    if let Some(t) = timeout {
        process.timeout = t.timeout_ms.map(ms_text);
        process.kill_signal = Some(IntOrString::Str(t.kill_signal));
        process.grace = Some(ms_text(t.grace_ms));
    }
    let env = Env {
        clear: Some(true),
        keep: Some(vec![]),
        set: Some(set),
        unset: None,
    };
    let caps = Capabilities {
        keep: Some(caps.0),
        ambient: Some(caps.1),
        no_new_privs: Some(no_new_privs),
    };
    Ok((process, env, caps, rlimits))
}

/// `process.rlimits` → `[rlimits]`; RLIM_INFINITY is written `"unlimited"`.
fn import_rlimits(v: &Value, path: &str) -> Result<Rlimits, OciError> {
    let mut out = Rlimits::default();
    for (i, item) in array(v, path)?.iter().enumerate() {
        let p = format!("{path}[{i}]");
        let mut o = Obj::new(&p, item)?;
        let typ = o.req_str("type")?;
        let soft = o.req_u64("soft")?;
        let hard = o.req_u64("hard")?;
        o.finish()?;
        let value = |n: u64| {
            if n == u64::MAX {
                IntOrString::Str("unlimited".into())
            } else {
                IntOrString::Int(n as i64)
            }
        };
        if soft > hard {
            return Err(OciError::Invalid {
                path: p,
                reason: "the soft limit is above the hard limit".into(),
            });
        }
        let limit = if soft == hard {
            RlimitValue::Both(value(soft))
        } else {
            RlimitValue::Split {
                soft: value(soft),
                hard: value(hard),
            }
        };
        let slot = match typ.as_str() {
            "RLIMIT_AS" => &mut out.as_,
            "RLIMIT_CORE" => &mut out.core,
            "RLIMIT_CPU" => &mut out.cpu,
            "RLIMIT_DATA" => &mut out.data,
            "RLIMIT_FSIZE" => &mut out.fsize,
            "RLIMIT_LOCKS" => &mut out.locks,
            "RLIMIT_MEMLOCK" => &mut out.memlock,
            "RLIMIT_MSGQUEUE" => &mut out.msgqueue,
            "RLIMIT_NICE" => &mut out.nice,
            "RLIMIT_NOFILE" => &mut out.nofile,
            "RLIMIT_NPROC" => &mut out.nproc,
            "RLIMIT_RSS" => &mut out.rss,
            "RLIMIT_RTPRIO" => &mut out.rtprio,
            "RLIMIT_RTTIME" => &mut out.rttime,
            "RLIMIT_SIGPENDING" => &mut out.sigpending,
            "RLIMIT_STACK" => &mut out.stack,
            other => {
                return Err(OciError::Invalid {
                    path: format!("{p}.type"),
                    reason: format!("unknown rlimit `{other}`"),
                })
            }
        };
        if slot.replace(limit).is_some() {
            return Err(OciError::Invalid {
                path: format!("{p}.type"),
                reason: format!("{typ} is given twice"),
            });
        }
    }
    Ok(out)
}

fn ms_text(ms: u64) -> String {
    humantime::format_duration(std::time::Duration::from_millis(ms)).to_string()
}

/// stockade keeps one set of capabilities (bounding = permitted = effective = inheritable)
/// plus an ambient subset.
fn import_caps(o: &mut Obj, path: &str) -> Result<(Vec<String>, Vec<String>), OciError> {
    let Some((v, cpath)) = o.take("capabilities") else {
        return Err(OciError::Unsupported {
            path: format!("{path}.capabilities"),
            reason: "without it runtimes leave the capabilities as they are; stockade always \
                     sets them: write the sets explicitly"
                .into(),
        });
    };
    let mut c = Obj::new(&cpath, v)?;
    let mut sets: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    for name in [
        "bounding",
        "effective",
        "permitted",
        "inheritable",
        "ambient",
    ] {
        let set = match c.take(name) {
            Some((v, p)) => array(v, &p)?
                .iter()
                .enumerate()
                .map(|(i, s)| cap_name(s, &format!("{p}[{i}]")))
                .collect::<Result<BTreeSet<_>, _>>()?,
            None => BTreeSet::new(),
        };
        sets.insert(name, set);
    }
    c.finish()?;
    let keep = sets["bounding"].clone();
    for name in ["effective", "permitted", "inheritable"] {
        if sets[name] != keep {
            return Err(OciError::Unsupported {
                path: format!("{cpath}.{name}"),
                reason: "stockade gives the payload one set of capabilities: bounding, \
                         effective, permitted and inheritable must be equal"
                    .into(),
            });
        }
    }
    if let Some(extra) = sets["ambient"].difference(&keep).next() {
        return Err(OciError::Invalid {
            path: format!("{cpath}.ambient"),
            reason: format!("{extra} is ambient but not in the bounding set"),
        });
    }
    Ok((
        keep.into_iter().collect(),
        sets["ambient"].iter().cloned().collect(),
    ))
}

fn cap_name(v: &Value, path: &str) -> Result<String, OciError> {
    let s = text(v, path)?.to_ascii_uppercase();
    let s = if s.starts_with("CAP_") {
        s
    } else {
        format!("CAP_{s}")
    };
    serde_json::from_value::<oci_spec::runtime::Capability>(Value::String(s.clone())).map_err(
        |_| OciError::Invalid {
            path: path.into(),
            reason: format!("unknown capability `{s}`"),
        },
    )?;
    Ok(s)
}

fn read_annotations((v, path): (&Value, String)) -> Result<BTreeMap<String, String>, OciError> {
    let map = v.as_object().ok_or_else(|| OciError::Invalid {
        path: path.clone(),
        reason: "annotations must be an object of strings".into(),
    })?;
    let mut out = BTreeMap::new();
    for (k, v) in map {
        let p = format!("{path}.{k}");
        let s = v.as_str().ok_or_else(|| OciError::Invalid {
            path: p.clone(),
            reason: "annotation values must be strings".into(),
        })?;
        if k.starts_with(super::ANNOTATION_PREFIX) && !known_annotation(k) {
            return Err(OciError::Unsupported {
                path: p,
                reason: "an org.stockade annotation this version does not know".into(),
            });
        }
        out.insert(k.clone(), s.to_string());
    }
    Ok(out)
}

fn known_annotation(k: &str) -> bool {
    [
        ann::LANDLOCK,
        ann::TIMEOUT,
        ann::INIT,
        ann::DIE_WITH_PARENT,
        ann::NEW_SESSION,
        ann::TERMINAL,
        ann::SYSTEMD,
        ann::RESOURCES_COMPAT,
        ann::ROOT,
        ann::ROOTFS,
        ann::SOURCE,
        ann::DESCRIPTION,
        ann::TIME_OFFSETS,
        ann::ROOT_UNMAPPED,
        ann::PROTECTED_PATHS,
    ]
    .contains(&k)
        || k.strip_prefix(ann::MOUNT_PREFIX)
            .is_some_and(|i| i.parse::<usize>().is_ok())
}

pub(super) fn parse_annotation<T: serde::de::DeserializeOwned>(
    key: &str,
    value: &str,
) -> Result<T, OciError> {
    serde_json::from_str(value).map_err(|e| OciError::Invalid {
        path: format!("annotations.{key}"),
        reason: format!("not what stockade writes there: {e}"),
    })
}

/// A path from the config, made absolute against the bundle when relative.
pub(super) fn resolve(p: &str, bundle: Option<&Path>, path: &str) -> Result<String, OciError> {
    if p.starts_with('/') {
        return Ok(escape(p));
    }
    match bundle {
        Some(b) => {
            let abs = if b.is_absolute() {
                b.join(p)
            } else {
                std::env::current_dir()
                    .map_err(|source| OciError::Io {
                        path: b.to_path_buf(),
                        source,
                    })?
                    .join(b)
                    .join(p)
            };
            let s = abs.to_str().ok_or_else(|| OciError::Invalid {
                path: path.into(),
                reason: "the bundle path is not valid UTF-8".into(),
            })?;
            Ok(escape(s))
        }
        None => Err(OciError::Unsupported {
            path: path.into(),
            reason: format!(
                "`{p}` is relative to the bundle directory, which is unknown here (import the \
                 bundle rather than the bare config)"
            ),
        }),
    }
}
