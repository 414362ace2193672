//! `[namespaces]` and `[network]` → [`NamespacePlan`].

use super::Ctx;
use crate::plan::{IdMap, NamespacePlan, NetworkMode, TimeOffsets};
use crate::profile::namespaces::IdMapEntry;
use crate::profile::Profile;

/// The namespace part of the plan plus the resolved network mode.
pub struct Namespaces {
    pub plan: NamespacePlan,
    pub network: NetworkMode,
}

pub fn compile(cx: &mut Ctx, p: &Profile) -> Option<Namespaces> {
    let n = p.namespaces.clone().unwrap_or_default();
    let mode = p.network.as_ref().and_then(|n| n.mode);
    let net = match (mode, n.net) {
        (Some(NetworkMode::Host), Some(true)) => {
            cx.error(
                "network.mode",
                "`network.mode = \"host\"` contradicts `namespaces.net = true`",
                Some("remove one of them: `none` means an own network namespace".into()),
            );
            false
        }
        (Some(NetworkMode::None), Some(false)) => {
            cx.error(
                "network.mode",
                "`network.mode = \"none\"` needs a network namespace, but `namespaces.net = false`",
                Some("remove `namespaces.net = false`".into()),
            );
            false
        }
        (Some(NetworkMode::Proxy), Some(false)) => {
            cx.error(
                "network.mode",
                "`network.mode = \"proxy\"` needs a network namespace, but `namespaces.net = false`",
                Some("remove `namespaces.net = false`".into()),
            );
            false
        }
        (Some(NetworkMode::None | NetworkMode::Proxy), _) => true,
        (Some(NetworkMode::Host), _) => false,
        (None, v) => v.unwrap_or(false),
    };
    let network = if mode == Some(NetworkMode::Proxy) {
        NetworkMode::Proxy
    } else if net {
        NetworkMode::None
    } else {
        NetworkMode::Host
    };
    let user = n.user.unwrap_or(false);
    let mut plan = NamespacePlan {
        user,
        mount: n.mount.unwrap_or(false),
        pid: n.pid.unwrap_or(false),
        net,
        ipc: n.ipc.unwrap_or(false),
        uts: n.uts.unwrap_or(false),
        cgroup: n.cgroup.unwrap_or(false),
        time: n.time.unwrap_or(false),
        uid_map: Vec::new(),
        gid_map: Vec::new(),
        uid_map_helper: false,
        gid_map_helper: false,
        time_offsets: TimeOffsets::default(),
    };
    let others =
        plan.mount || plan.pid || plan.net || plan.ipc || plan.uts || plan.cgroup || plan.time;
    if !user && others && cx.host.uid != 0 {
        cx.error(
            "namespaces.user",
            "creating namespaces without root needs a user namespace",
            Some("set `namespaces.user = true` (or run as root)".into()),
        );
    }
    for (key, map) in [
        ("namespaces.uid-map", &n.uid_map),
        ("namespaces.gid-map", &n.gid_map),
    ] {
        if map.is_some() && !user {
            cx.error_on_key(
                key,
                format!("`{key}` needs a user namespace"),
                Some("set `namespaces.user = true`".into()),
            );
        }
    }
    if let Some(t) = &n.time_offsets {
        if !plan.time {
            cx.error(
                "namespaces.time-offsets",
                "`namespaces.time-offsets` needs a time namespace",
                Some("set `namespaces.time = true`".into()),
            );
        }
        plan.time_offsets = TimeOffsets {
            monotonic: t.monotonic.unwrap_or(0),
            boottime: t.boottime.unwrap_or(0),
        };
    }
    if user {
        plan.uid_map = id_map(cx, "namespaces.uid-map", n.uid_map.as_deref())?;
        plan.gid_map = id_map(cx, "namespaces.gid-map", n.gid_map.as_deref())?;
        plan.uid_map_helper = needs_helper(&plan.uid_map, cx.host.uid, cx.host.uid);
        plan.gid_map_helper = needs_helper(&plan.gid_map, cx.host.gid, cx.host.uid);
        if (plan.uid_map_helper || plan.gid_map_helper) && !cx.host.has_newidmap {
            cx.warn(
                "namespaces.uid-map",
                "these id maps need newuidmap/newgidmap, which are not installed",
                Some("install the `uidmap` package, or map only your own uid and gid".into()),
            );
        }
    }
    Some(Namespaces { plan, network })
}

/// Parse an explicit map; an empty `Vec` means "default: the caller mapped to the
/// process's inside id", filled in by `process::compile`.
fn id_map(cx: &mut Ctx, key: &str, entries: Option<&[IdMapEntry]>) -> Option<Vec<IdMap>> {
    let Some(entries) = entries else {
        return Some(Vec::new());
    };
    if entries.is_empty() {
        cx.error(
            key,
            format!("`{key}` is empty"),
            Some("remove it to map the caller, or list at least one range".into()),
        );
    }
    let mut out = Vec::new();
    for (i, e) in entries.iter().enumerate() {
        let k = format!("{key}[{i}]");
        let inside = cx.uint(&format!("{k}.inside"), &e.inside, u64::from(u32::MAX - 1));
        let outside = cx.uint(&format!("{k}.outside"), &e.outside, u64::from(u32::MAX - 1));
        let count = e.count.unwrap_or(1);
        if count == 0 {
            cx.error(&format!("{k}.count"), "`count` must be at least 1", None);
        }
        if let (Some(inside), Some(outside)) = (inside, outside) {
            out.push(IdMap {
                inside: inside as u32,
                outside: outside as u32,
                count,
            });
        }
    }
    for (i, a) in out.iter().enumerate() {
        for b in &out[i + 1..] {
            let overlap = |s1: u32, s2: u32, c1: u32, c2: u32| {
                u64::from(s1) < u64::from(s2) + u64::from(c2)
                    && u64::from(s2) < u64::from(s1) + u64::from(c1)
            };
            if overlap(a.inside, b.inside, a.count, b.count)
                || overlap(a.outside, b.outside, a.count, b.count)
            {
                cx.error(
                    key,
                    format!("ranges of `{key}` overlap"),
                    Some("each inside and outside id may appear in one range only".into()),
                );
            }
        }
    }
    Some(out)
}

/// An unprivileged caller may write only a single-id map of its own id; anything else goes
/// through the setuid helpers.
pub fn needs_helper(map: &[IdMap], own: u32, caller_uid: u32) -> bool {
    caller_uid != 0
        && !(map.is_empty() || (map.len() == 1 && map[0].count == 1 && map[0].outside == own))
}
