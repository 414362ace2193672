//! `linux.*` → `[namespaces]`, `[network]`, `[resources]`, `[seccomp]`, masked/read-only paths,
//! and `[landlock]` from stockade's annotation.

use super::annotations as ann;
use super::errno;
use super::import::parse_annotation;
use super::import_toml::Comments;
use super::json_walk::{array, escape, text, Obj};
use super::resources::{blkio_to_io_weight, shares_to_weight};
use super::OciError;
use crate::plan::Compat;
use crate::profile::cgroup::Resources;
use crate::profile::landlock::{Landlock, LandlockRule};
use crate::profile::namespaces::{IdMapEntry, Namespaces, Network, NetworkMode, TimeOffsets};
use crate::profile::seccomp::{Preset, Seccomp, SeccompArg, SeccompRule};
use crate::profile::IntOrString;
use serde_json::Value;
use std::collections::BTreeMap;

/// What the `linux` section (and the Landlock annotation) gives the profile.
pub(super) struct LinuxParts {
    pub namespaces: Namespaces,
    pub network: Network,
    pub resources: Option<Resources>,
    pub seccomp: Option<Seccomp>,
    pub landlock: Option<Landlock>,
    pub masked_paths: Vec<String>,
    pub read_only_paths: Vec<String>,
}

pub(super) fn import_linux(
    v: &Value,
    path: &str,
    annotations: &BTreeMap<String, String>,
    comments: &mut Comments,
) -> Result<LinuxParts, OciError> {
    let mut o = Obj::new(path, v)?;
    let mut ns = Namespaces {
        user: Some(false),
        mount: Some(false),
        pid: Some(false),
        net: Some(false),
        ipc: Some(false),
        uts: Some(false),
        cgroup: Some(false),
        time: Some(false),
        ..Namespaces::default()
    };
    if let Some((v, p)) = o.take("namespaces") {
        for (i, item) in array(v, &p)?.iter().enumerate() {
            let ip = format!("{p}[{i}]");
            let mut n = Obj::new(&ip, item)?;
            let typ = n.req_str("type")?;
            if let Some((_, pp)) = n.take("path") {
                return Err(OciError::Unsupported {
                    path: pp,
                    reason: "stockade creates namespaces; it does not join existing ones".into(),
                });
            }
            n.finish()?;
            let slot = match typ.as_str() {
                "user" => &mut ns.user,
                "mount" => &mut ns.mount,
                "pid" => &mut ns.pid,
                "network" => &mut ns.net,
                "ipc" => &mut ns.ipc,
                "uts" => &mut ns.uts,
                "cgroup" => &mut ns.cgroup,
                "time" => &mut ns.time,
                other => {
                    return Err(OciError::Invalid {
                        path: format!("{ip}.type"),
                        reason: format!("unknown namespace type `{other}`"),
                    })
                }
            };
            if slot.replace(true) == Some(true) {
                return Err(OciError::Invalid {
                    path: format!("{ip}.type"),
                    reason: format!("namespace `{typ}` is listed twice"),
                });
            }
        }
    }
    for (key, field) in [("uidMappings", 0), ("gidMappings", 1)] {
        if let Some((v, p)) = o.take(key) {
            let maps = array(v, &p)?
                .iter()
                .enumerate()
                .map(|(i, m)| {
                    let mp = format!("{p}[{i}]");
                    let mut m = Obj::new(&mp, m)?;
                    let inside = m.req_u64("containerID")?;
                    let outside = m.req_u64("hostID")?;
                    let count = m.req_u64("size")?;
                    m.finish()?;
                    Ok(IdMapEntry {
                        inside: IntOrString::Int(inside as i64),
                        outside: IntOrString::Int(outside as i64),
                        count: Some(u32::try_from(count).map_err(|_| OciError::Invalid {
                            path: format!("{mp}.size"),
                            reason: "too large".into(),
                        })?),
                    })
                })
                .collect::<Result<Vec<_>, OciError>>()?;
            if field == 0 {
                ns.uid_map = Some(maps);
            } else {
                ns.gid_map = Some(maps);
            }
        }
    }
    if let Some((v, p)) = o.take("timeOffsets") {
        let mut t = Obj::new(&p, v)?;
        let mut offsets = TimeOffsets::default();
        for clock in ["monotonic", "boottime"] {
            if let Some((cv, cp)) = t.take(clock) {
                let mut c = Obj::new(&cp, cv)?;
                let secs = c.opt_i64("secs")?.unwrap_or(0);
                if c.opt_u64("nanosecs")?.unwrap_or(0) != 0 {
                    return Err(OciError::Unsupported {
                        path: format!("{cp}.nanosecs"),
                        reason: "stockade sets clock offsets in whole seconds".into(),
                    });
                }
                c.finish()?;
                if clock == "monotonic" {
                    offsets.monotonic = Some(secs);
                } else {
                    offsets.boottime = Some(secs);
                }
            }
        }
        t.finish()?;
        ns.time_offsets = Some(offsets);
    }
    let network = Network {
        mode: Some(if ns.net == Some(true) {
            NetworkMode::None
        } else {
            NetworkMode::Host
        }),
        allow: None,
    };
    let masked_paths = string_list(&mut o, "maskedPaths")?;
    let read_only_paths = string_list(&mut o, "readonlyPaths")?;
    if let Some((v, p)) = o.take("rootfsPropagation") {
        let s = text(v, &p)?;
        if !matches!(s.as_str(), "private" | "rprivate" | "slave" | "rslave") {
            return Err(OciError::Unsupported {
                path: p,
                reason: format!(
                    "stockade makes every mount private; `{s}` propagation cannot be honoured"
                ),
            });
        }
    }
    if let Some((v, p)) = o.take("cgroupsPath") {
        comments.header.push(format!(
            "`{p}` = {v} was not imported: stockade places each sandbox in a cgroup of its own."
        ));
    }
    let resources = o
        .take("resources")
        .map(|(v, p)| import_resources(v, &p, annotations))
        .transpose()?
        .flatten();
    let seccomp = o
        .take("seccomp")
        .map(|(v, p)| import_seccomp(v, &p))
        .transpose()?;
    o.finish()?;
    let landlock = annotations
        .get(ann::LANDLOCK)
        .map(|s| parse_annotation::<ann::Landlock>(ann::LANDLOCK, s))
        .transpose()?
        .map(landlock_profile)
        .transpose()?;
    Ok(LinuxParts {
        namespaces: ns,
        network,
        resources,
        seccomp,
        landlock,
        masked_paths,
        read_only_paths,
    })
}

fn string_list(o: &mut Obj, key: &str) -> Result<Vec<String>, OciError> {
    match o.take(key) {
        Some((v, p)) => array(v, &p)?
            .iter()
            .enumerate()
            .map(|(i, s)| text(s, &format!("{p}[{i}]")))
            .collect(),
        None => Ok(vec![]),
    }
}

fn compat_of(s: &str, path: &str) -> Result<Compat, OciError> {
    match s {
        "required" => Ok(Compat::Required),
        "best-effort" => Ok(Compat::BestEffort),
        other => Err(OciError::Invalid {
            path: path.into(),
            reason: format!("unknown compat `{other}`"),
        }),
    }
}

fn landlock_profile(l: ann::Landlock) -> Result<Landlock, OciError> {
    let path = format!("annotations.{}", ann::LANDLOCK);
    Ok(Landlock {
        enabled: Some(true),
        compat: Some(compat_of(&l.compat, &path)?),
        abi: Some(l.abi),
        read: None,
        write: None,
        exec: None,
        rule: Some(
            l.paths
                .into_iter()
                .map(|p| {
                    Ok(LandlockRule {
                        paths: vec![escape(&p.path)],
                        access: p.access,
                    })
                })
                .collect::<Result<_, OciError>>()?,
        ),
        bind_tcp: l.bind_tcp,
        connect_tcp: l.connect_tcp,
        scope: Some(l.scopes),
        required: (!l.required.is_empty()).then_some(l.required),
    })
}

fn int(v: u64) -> IntOrString {
    IntOrString::Int(v as i64)
}

fn import_resources(
    v: &Value,
    path: &str,
    annotations: &BTreeMap<String, String>,
) -> Result<Option<Resources>, OciError> {
    let mut o = Obj::new(path, v)?;
    let mut r = Resources::default();
    if let Some((mv, mp)) = o.take("memory") {
        let mut m = Obj::new(&mp, mv)?;
        let limit = m.opt_i64("limit")?.filter(|l| *l >= 0);
        r.memory = limit.map(|l| int(l as u64));
        if let Some(swap) = m.opt_i64("swap")?.filter(|s| *s >= 0) {
            let limit = limit.ok_or_else(|| OciError::Unsupported {
                path: format!("{mp}.swap"),
                reason: "OCI swap is memory + swap; without `limit` stockade cannot derive \
                         the swap limit"
                    .into(),
            })?;
            let only_swap =
                swap.checked_sub(limit)
                    .filter(|s| *s >= 0)
                    .ok_or_else(|| OciError::Invalid {
                        path: format!("{mp}.swap"),
                        reason: "memory + swap is below the memory limit".into(),
                    })?;
            r.memory_swap = Some(int(only_swap as u64));
        }
        if m.opt_bool("disableOOMKiller")? == Some(true) {
            return Err(OciError::Unsupported {
                path: format!("{mp}.disableOOMKiller"),
                reason: "stockade keeps the OOM killer".into(),
            });
        }
        m.finish()?;
    }
    if let Some((cv, cp)) = o.take("cpu") {
        let mut c = Obj::new(&cp, cv)?;
        if let Some(shares) = c.opt_u64("shares")?.filter(|s| *s > 0) {
            r.cpu_weight = Some(shares_to_weight(shares));
        }
        if let Some(quota) = c.opt_i64("quota")?.filter(|q| *q > 0) {
            r.cpu_quota = Some(quota as u64);
        }
        r.cpu_period = c.opt_u64("period")?;
        r.cpuset_cpus = c.opt_text("cpus")?;
        r.cpuset_mems = c.opt_text("mems")?;
        c.finish()?;
    }
    if let Some((pv, pp)) = o.take("pids") {
        let mut p = Obj::new(&pp, pv)?;
        r.pids = p.opt_i64("limit")?.filter(|l| *l > 0).map(|l| l as u64);
        p.finish()?;
    }
    if let Some((bv, bp)) = o.take("blockIO") {
        let mut b = Obj::new(&bp, bv)?;
        if let Some(w) = b.opt_u64("weight")?.filter(|w| *w > 0) {
            let w = u16::try_from(w).map_err(|_| OciError::Invalid {
                path: format!("{bp}.weight"),
                reason: "out of range".into(),
            })?;
            r.io_weight = Some(blkio_to_io_weight(w));
        }
        b.finish()?;
    }
    if let Some((uv, up)) = o.take("unified") {
        let map = uv.as_object().ok_or_else(|| OciError::Invalid {
            path: up.clone(),
            reason: "expected an object".into(),
        })?;
        for (k, val) in map {
            let kp = format!("{up}.{k}");
            let s = text(val, &kp)?;
            let n = || {
                s.trim().parse::<u64>().map_err(|_| OciError::Unsupported {
                    path: kp.clone(),
                    reason: format!("`{s}` is not a number of bytes or a weight"),
                })
            };
            match k.as_str() {
                "memory.high" => r.memory_high = Some(int(n()?)),
                "memory.swap.max" if r.memory_swap.is_none() => r.memory_swap = Some(int(n()?)),
                "io.weight" => r.io_weight = Some(n()?),
                _ => {
                    return Err(OciError::Unsupported {
                        path: kp,
                        reason: "stockade sets only memory.high, memory.swap.max and \
                                 io.weight through `unified`"
                            .into(),
                    })
                }
            }
        }
    }
    o.finish()?;
    if r == Resources::default() {
        return Ok(None);
    }
    if let Some(c) = annotations.get(ann::RESOURCES_COMPAT) {
        r.compat = Some(compat_of(
            c,
            &format!("annotations.{}", ann::RESOURCES_COMPAT),
        )?);
    }
    Ok(Some(r))
}

/// A seccomp action as a profile writes it.
fn action_text(action: &str, errno_ret: Option<u64>, path: &str) -> Result<String, OciError> {
    Ok(match action {
        "SCMP_ACT_ALLOW" => "allow".into(),
        "SCMP_ACT_ERRNO" => {
            // The runtime-spec default errno is EPERM.
            let n = errno_ret.unwrap_or(libc::EPERM as u64);
            let n = i32::try_from(n).map_err(|_| OciError::Invalid {
                path: path.into(),
                reason: "errno out of range".into(),
            })?;
            match errno::name(n) {
                Some(name) => format!("errno:{name}"),
                None => format!("errno:{n}"),
            }
        }
        "SCMP_ACT_KILL" | "SCMP_ACT_KILL_THREAD" => "kill-thread".into(),
        "SCMP_ACT_KILL_PROCESS" => "kill-process".into(),
        "SCMP_ACT_TRAP" => "trap".into(),
        "SCMP_ACT_LOG" => "log".into(),
        other => {
            return Err(OciError::Unsupported {
                path: path.into(),
                reason: format!("stockade has no `{other}` action"),
            })
        }
    })
}

fn import_seccomp(v: &Value, path: &str) -> Result<Seccomp, OciError> {
    let mut o = Obj::new(path, v)?;
    let (da, dap) = o.req("defaultAction")?;
    let da = text(da, &dap)?;
    let default_errno = o.opt_u64("defaultErrnoRet")?;
    let default_action = action_text(&da, default_errno, &dap)?;
    let mut architectures = Vec::new();
    if let Some((av, ap)) = o.take("architectures") {
        let native = serde_json::to_value(super::seccomp::native_arch())?;
        for (i, a) in array(av, &ap)?.iter().enumerate() {
            let p = format!("{ap}[{i}]");
            if *a == native || a == "SCMP_ARCH_NATIVE" {
                continue;
            }
            let name = match text(a, &p)?.as_str() {
                "SCMP_ARCH_X86" => "x86",
                "SCMP_ARCH_X32" => "x32",
                "SCMP_ARCH_ARM" => "arm",
                other => {
                    return Err(OciError::Unsupported {
                        path: p,
                        reason: format!(
                            "stockade filters only the native ABI, x86 and x32, not `{other}`"
                        ),
                    })
                }
            };
            architectures.push(name.to_string());
        }
    }
    let mut log = false;
    if let Some((fv, fp)) = o.take("flags") {
        for (i, f) in array(fv, &fp)?.iter().enumerate() {
            match f.as_str() {
                Some("SECCOMP_FILTER_FLAG_LOG") => log = true,
                _ => {
                    return Err(OciError::Unsupported {
                        path: format!("{fp}[{i}]"),
                        reason: "stockade supports only SECCOMP_FILTER_FLAG_LOG".into(),
                    })
                }
            }
        }
    }
    let mut rules = Vec::new();
    if let Some((sv, sp)) = o.take("syscalls") {
        for (i, item) in array(sv, &sp)?.iter().enumerate() {
            let p = format!("{sp}[{i}]");
            let mut s = Obj::new(&p, item)?;
            let (nv, np) = s.req("names")?;
            let names = array(nv, &np)?
                .iter()
                .enumerate()
                .map(|(j, n)| text(n, &format!("{np}[{j}]")))
                .collect::<Result<Vec<_>, _>>()?;
            let (av, ap) = s.req("action")?;
            let errno_ret = s.opt_u64("errnoRet")?;
            let action = action_text(&text(av, &ap)?, errno_ret, &ap)?;
            let args = match s.take("args") {
                Some((argv, argp)) => Some(
                    array(argv, &argp)?
                        .iter()
                        .enumerate()
                        .map(|(j, a)| import_arg(a, &format!("{argp}[{j}]")))
                        .collect::<Result<Vec<_>, _>>()?,
                ),
                None => None,
            };
            s.finish()?;
            if names.is_empty() {
                continue;
            }
            rules.push(SeccompRule {
                syscalls: names,
                action,
                args: args.filter(|a| !a.is_empty()),
            });
        }
    }
    o.finish()?;
    Ok(Seccomp {
        enabled: Some(true),
        preset: Some(Preset::None),
        default_action: Some(default_action),
        allow: None,
        deny: None,
        deny_action: None,
        rule: Some(rules),
        architectures: Some(architectures),
        log: Some(log),
    })
}

fn import_arg(v: &Value, path: &str) -> Result<SeccompArg, OciError> {
    let mut a = Obj::new(path, v)?;
    let index = a.req_u64("index")?;
    let value = a.req_u64("value")?;
    let value_two = a.opt_u64("valueTwo")?;
    let op = a.req_str("op")?;
    a.finish()?;
    let index = u8::try_from(index)
        .ok()
        .filter(|i| *i < 6)
        .ok_or_else(|| OciError::Invalid {
            path: format!("{path}.index"),
            reason: "argument index must be 0..5".into(),
        })?;
    let hex = |n: u64| IntOrString::Str(format!("{n:#x}"));
    let (op, value, mask) = match op.as_str() {
        // libseccomp (and so OCI) order: the mask first, then the value compared.
        "SCMP_CMP_MASKED_EQ" => ("masked-eq", value_two.unwrap_or(0), Some(value)),
        other => {
            if value_two.unwrap_or(0) != 0 {
                return Err(OciError::Unsupported {
                    path: format!("{path}.valueTwo"),
                    reason: "only masked-eq uses a second value".into(),
                });
            }
            let op = match other {
                "SCMP_CMP_EQ" => "eq",
                "SCMP_CMP_NE" => "ne",
                "SCMP_CMP_LT" => "lt",
                "SCMP_CMP_LE" => "le",
                "SCMP_CMP_GT" => "gt",
                "SCMP_CMP_GE" => "ge",
                _ => {
                    return Err(OciError::Invalid {
                        path: format!("{path}.op"),
                        reason: format!("unknown operator `{other}`"),
                    })
                }
            };
            (op, value, None)
        }
    };
    // Values above i64::MAX do not fit a TOML integer: write them as hex strings.
    let num = |n: u64| {
        if n > i64::MAX as u64 {
            hex(n)
        } else {
            IntOrString::Int(n as i64)
        }
    };
    Ok(SeccompArg {
        index,
        op: op.into(),
        value: num(value),
        mask: mask.map(num),
    })
}
