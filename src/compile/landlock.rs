//! `[landlock]` → [`LandlockPlan`].

use super::filesystem::Fs;
use super::mount_hiding::RemovedMount;
use super::Ctx;
use crate::diag::did_you_mean;
use crate::plan::{Compat, LandlockPathPlan, LandlockPlan, MountOp};
use crate::profile::Profile;
use std::collections::HashMap;
use std::path::PathBuf;

/// Filesystem access rights and the ABI that introduced each.
pub const ACCESS_RIGHTS: &[(&str, u8)] = &[
    ("execute", 1),
    ("write-file", 1),
    ("read-file", 1),
    ("read-dir", 1),
    ("remove-dir", 1),
    ("remove-file", 1),
    ("make-char", 1),
    ("make-dir", 1),
    ("make-reg", 1),
    ("make-sock", 1),
    ("make-fifo", 1),
    ("make-block", 1),
    ("make-sym", 1),
    ("refer", 2),
    ("truncate", 3),
    ("ioctl-dev", 5),
];

/// The highest Landlock ABI stockade knows.
pub const MAX_ABI: u8 = 7;

/// Names of the rights an ABI handles.
pub fn access_names(abi: u8) -> Vec<String> {
    ACCESS_RIGHTS
        .iter()
        .filter(|(_, a)| *a <= abi)
        .map(|(n, _)| (*n).to_owned())
        .collect()
}

const READ: &[&str] = &["read-file", "read-dir"];
const EXEC: &[&str] = &["execute", "read-file", "read-dir"];
const WRITE: &[&str] = &[
    "read-file",
    "read-dir",
    "write-file",
    "remove-dir",
    "remove-file",
    "make-char",
    "make-dir",
    "make-reg",
    "make-sock",
    "make-fifo",
    "make-block",
    "make-sym",
    "refer",
    "truncate",
    "ioctl-dev",
];

/// `removed`: inherited mounts a later file took away, named in the hint of a path that
/// no mount provides any more.
pub fn compile(
    cx: &mut Ctx,
    p: &Profile,
    fs: &Option<Fs>,
    removed: &[RemovedMount],
) -> Option<LandlockPlan> {
    let l = p.landlock.as_ref()?;
    if l.enabled == Some(false) {
        return None;
    }
    // The ABI a feature needs; `write` needs 3 so truncation is restricted too.
    let mut needed: u8 = 1;
    let mut need = |abi: u8| needed = needed.max(abi);
    if l.write.as_ref().is_some_and(|w| !w.is_empty()) {
        need(3);
    }
    if l.bind_tcp.is_some() || l.connect_tcp.is_some() {
        need(4);
    }
    if l.scope.as_ref().is_some_and(|s| !s.is_empty()) {
        need(6);
    }
    let mut rules: Vec<(String, Vec<String>, Vec<String>)> = Vec::new();
    for (i, r) in l.rule.iter().flatten().enumerate() {
        let key = format!("landlock.rule[{i}]");
        let mut access = Vec::new();
        for (j, a) in r.access.iter().enumerate() {
            match ACCESS_RIGHTS.iter().find(|(n, _)| n == a) {
                Some((n, abi)) => {
                    need(*abi);
                    access.push((*n).to_owned());
                }
                None => {
                    let hint = did_you_mean(a, ACCESS_RIGHTS.iter().map(|(n, _)| *n))
                        .map(|m| format!("did you mean `{m}`?"));
                    cx.error(
                        &format!("{key}.access[{j}]"),
                        format!("unknown Landlock access right `{a}`"),
                        hint.or_else(|| {
                            Some(format!("rights: {}", access_names(MAX_ABI).join(", ")))
                        }),
                    );
                }
            }
        }
        rules.push((format!("{key}.paths"), r.paths.clone(), access));
    }
    // `required`: each entry names a feature the profile uses; its ABI joins `needed`, and
    // a kernel without it is a located error now, at `check` as at `run`, instead of a
    // best-effort note after the sandbox is half built.
    let mut required: Vec<String> = Vec::new();
    for (i, r) in l.required.iter().flatten().enumerate() {
        let key = format!("landlock.required[{i}]");
        let Some((feature_abi, used)) = required_feature(l, r) else {
            let names = ["bind-tcp", "connect-tcp", "abstract-unix-socket", "signal"];
            let all = names
                .into_iter()
                .chain(ACCESS_RIGHTS.iter().map(|(n, _)| *n));
            let hint = did_you_mean(r, all).map(|m| format!("did you mean `{m}`?"));
            cx.error(
                &key,
                format!("unknown Landlock feature `{r}` in `landlock.required`"),
                hint.or_else(|| {
                    Some("features: bind-tcp, connect-tcp, abstract-unix-socket, signal, or an access right".into())
                }),
            );
            continue;
        };
        if !used {
            cx.error(
                &key,
                format!("`landlock.required` names `{r}`, which this profile does not restrict"),
                Some(format!(
                    "set the `landlock` key for `{r}`, or remove the entry"
                )),
            );
            continue;
        }
        need(feature_abi);
        let host = cx.host.landlock_abi;
        if feature_abi > host {
            let have = if host == 0 {
                "this kernel has no Landlock (not built, or not in the lsm= boot parameter)"
                    .to_string()
            } else {
                format!(
                    "this kernel has Landlock ABI {host} (Linux {})",
                    linux_of_abi(host)
                )
            };
            cx.error(
                &key,
                format!(
                    "`{r}` is required but needs Landlock ABI {feature_abi} (Linux {} or newer); {have}",
                    linux_of_abi(feature_abi)
                ),
                Some(format!(
                    "run it on Linux {} or newer, or remove \"{r}\" from `landlock.required` to run without it",
                    linux_of_abi(feature_abi)
                )),
            );
        }
        if !required.contains(r) {
            required.push(r.clone());
        }
    }
    let abi = match l.abi {
        Some(a) if !(1..=MAX_ABI).contains(&a) && a != 0 => {
            if a > MAX_ABI {
                // Pinning a future ABI is allowed: it is what `best-effort` exists for.
                a
            } else {
                cx.error("landlock.abi", "`landlock.abi` must be at least 1", None);
                needed
            }
        }
        Some(a) if a < needed => {
            cx.error("landlock.abi", format!("`landlock.abi = {a}` is too old for the features used (they need ABI {needed})"), Some(format!("set `abi = {needed}` or remove the pin")));
            needed
        }
        Some(a) => a,
        // Unpinned: handle every right this kernel knows, so a `read` grant also forbids
        // truncate/ioctl/refer where the kernel can say so, but never ask for more than the
        // kernel has unless the profile's own features need it (that is what `compat`
        // decides).
        None => needed.max(cx.host.landlock_abi.min(MAX_ABI)),
    };
    let known_abi = abi.min(MAX_ABI);
    let grants = |list: &Option<Vec<String>>,
                  key: &str,
                  rights: &[&str]|
     -> Vec<(String, Vec<String>, Vec<String>)> {
        match list {
            Some(paths) => vec![(
                key.to_owned(),
                paths.clone(),
                rights.iter().map(|s| (*s).to_owned()).collect(),
            )],
            None => Vec::new(),
        }
    };
    let mut all = grants(&l.read, "landlock.read", READ);
    all.extend(grants(&l.exec, "landlock.exec", EXEC));
    all.extend(grants(&l.write, "landlock.write", WRITE));
    all.extend(rules);
    let handled: Vec<String> = access_names(known_abi);
    let mut paths: Vec<LandlockPathPlan> = Vec::new();
    // Path → index in `paths`: a linear search per rule made 1000 paths cost 500 000 path
    // comparisons (std's component-wise `PathBuf ==`), 25 ms of `stockade check`.
    let mut index: HashMap<PathBuf, usize> = HashMap::new();
    for (key, list, rights) in all {
        for (i, raw) in list.iter().enumerate() {
            let k = format!("{key}[{i}]");
            let Some(path) = cx.abs_path(&k, raw) else {
                continue;
            };
            let hidden_by = fs
                .as_ref()
                .and_then(|f| super::mount_hiding::hidden_landlock_path(&f.mounts, &path));
            let was_hidden = hidden_by.is_some();
            if let Some((hidden, by)) = hidden_by {
                cx.error(
                    &k,
                    format!(
                        "`{}` will not exist: the mount at `{}` that provides it is hidden by \
                         the later mount at `{}`",
                        path.display(),
                        hidden.display(),
                        by.display()
                    ),
                    Some(
                        "mounts apply in order: put the mount of the parent directory first".into(),
                    ),
                );
            }
            if let Some(fs) = fs {
                // A path no mount provides (or one left inside an empty tmpfs) cannot be
                // opened when the ruleset is built: the run would fail there.
                let missing = if !fs.can_see(&path) {
                    Some("no mount provides it".to_owned())
                } else if fs.mount_ns && !was_hidden {
                    super::mount_hiding::in_empty_tmpfs(&fs.mounts, &path).map(|t| {
                        format!(
                            "it lies in the empty tmpfs at `{}` and no mount creates it",
                            t.display()
                        )
                    })
                } else {
                    None
                };
                if let Some(why) = missing {
                    match RemovedMount::providing(removed, cx, &path) {
                        // Said where the mount was taken away: the user's own file.
                        Some(r) => {
                            let help = if key.starts_with("landlock.rule") {
                                "also take it out of the inherited rules: `reset = \
                                 [\"landlock.rule\"]`, then write the rules to keep"
                                    .to_owned()
                            } else {
                                format!(
                                    "also remove it from that Landlock list: \
                                     `[remove] {key} = [{raw:?}]`"
                                )
                            };
                            r.report(cx, &key, raw, &path, help);
                        }
                        None => cx.error(
                            &k,
                            format!("the sandbox cannot see `{}`: {why}", path.display()),
                            Some("add a [[mount]] for it, or remove the rule".into()),
                        ),
                    }
                }
            }
            let rights: Vec<String> = rights
                .iter()
                .filter(|r| handled.contains(r))
                .cloned()
                .collect();
            let optional = fs.as_ref().is_some_and(|f| under_optional_bind(f, &path));
            merge_rule(&mut paths, &mut index, path, rights, optional);
        }
    }
    let ports = |cx: &mut Ctx, key: &str, v: &Option<Vec<u16>>| {
        v.as_ref().map(|ports| {
            if ports.contains(&0) {
                cx.error(
                    key,
                    format!("`{key}` cannot contain port 0"),
                    Some("list TCP ports 1..65535; an empty list allows none".into()),
                );
            }
            let mut p = ports.clone();
            p.sort_unstable();
            p.dedup();
            p
        })
    };
    let bind_tcp = ports(cx, "landlock.bind-tcp", &l.bind_tcp);
    let connect_tcp = ports(cx, "landlock.connect-tcp", &l.connect_tcp);
    let mut scopes = Vec::new();
    for (i, s) in l.scope.iter().flatten().enumerate() {
        match s.as_str() {
            "abstract-unix-socket" | "signal" => {
                if !scopes.contains(s) {
                    scopes.push(s.clone());
                }
            }
            other => {
                let hint = did_you_mean(other, ["abstract-unix-socket", "signal"])
                    .map(|m| format!("did you mean `{m}`?"));
                cx.error(
                    &format!("landlock.scope[{i}]"),
                    format!("unknown Landlock scope `{other}`"),
                    hint.or_else(|| Some("scopes: abstract-unix-socket, signal".into())),
                );
            }
        }
    }
    Some(LandlockPlan {
        compat: l.compat.unwrap_or(Compat::Required),
        abi,
        handled_fs: handled,
        paths,
        bind_tcp,
        connect_tcp,
        scopes,
        required,
    })
}

/// The ABI a `landlock.required` entry needs and whether the profile restricts it at all;
/// `None` for an unknown name.
fn required_feature(l: &crate::profile::landlock::Landlock, name: &str) -> Option<(u8, bool)> {
    let has_scope = |s: &str| l.scope.iter().flatten().any(|x| x == s);
    match name {
        "bind-tcp" => Some((4, l.bind_tcp.is_some())),
        "connect-tcp" => Some((4, l.connect_tcp.is_some())),
        "abstract-unix-socket" | "signal" => Some((6, has_scope(name))),
        // Every access right is handled (denied unless granted) once the ABI has it.
        right => ACCESS_RIGHTS
            .iter()
            .find(|(n, _)| *n == right)
            .map(|(_, abi)| (*abi, true)),
    }
}

/// The first Linux release with a Landlock ABI (for messages: users know kernel versions).
pub fn linux_of_abi(abi: u8) -> &'static str {
    match abi {
        0 | 1 => "5.13",
        2 => "5.19",
        3 => "6.2",
        4 => "6.7",
        5 => "6.10",
        6 => "6.12",
        7 => "6.15",
        _ => "a release newer than stockade knows",
    }
}

fn order(r: &String) -> Option<usize> {
    ACCESS_RIGHTS.iter().position(|(n, _)| n == r)
}

/// The last mount that covers `path` (mounts stack in order) is an optional bind.
fn under_optional_bind(fs: &Fs, path: &std::path::Path) -> bool {
    fs.mounts
        .iter()
        .rev()
        .find(|m| path.starts_with(&m.target))
        .is_some_and(|m| matches!(m.op, MountOp::Bind { optional: true, .. }))
}

fn merge_rule(
    paths: &mut Vec<LandlockPathPlan>,
    index: &mut HashMap<PathBuf, usize>,
    path: PathBuf,
    rights: Vec<String>,
    optional: bool,
) {
    match index.get(&path).and_then(|&i| paths.get_mut(i)) {
        Some(p) => {
            for r in rights {
                if !p.access.contains(&r) {
                    p.access.push(r);
                }
            }
            p.access.sort_by_key(order);
        }
        None => {
            let mut access = rights;
            access.sort_by_key(order);
            index.insert(path.clone(), paths.len());
            paths.push(LandlockPathPlan {
                path,
                access,
                optional,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::compile::{compile, CompileOptions};
    use crate::host::HostFacts;
    use crate::plan::Plan;
    use crate::profile::load::load;

    fn plan_of(name: &str, text: &str) -> Plan {
        let path =
            std::env::temp_dir().join(format!("stockade-{name}-{}.toml", std::process::id()));
        std::fs::write(&path, text).expect("temp profile written");
        let loaded = load(&path.display().to_string());
        let _ = std::fs::remove_file(&path);
        let opts = CompileOptions {
            command: Some(vec!["true".into()]),
            command_optional: false,
        };
        compile(&loaded.expect("profile loads"), &HostFacts::fixed(), &opts)
            .expect("profile compiles")
            .plan
    }

    fn diags_on(abi: u8, text: &str) -> String {
        let path = std::env::temp_dir().join(format!(
            "stockade-landlock-required-{abi}-{}.toml",
            std::process::id()
        ));
        std::fs::write(&path, text).expect("temp profile written");
        let loaded = load(&path.display().to_string()).expect("profile loads");
        let _ = std::fs::remove_file(&path);
        let host = HostFacts {
            landlock_abi: abi,
            ..HostFacts::fixed()
        };
        let opts = CompileOptions {
            command: Some(vec!["true".into()]),
            command_optional: false,
        };
        match compile(&loaded, &host, &opts) {
            Ok(_) => String::new(),
            Err(d) => format!("{d:?}"),
        }
    }

    /// A required feature the kernel lacks is an error at its `landlock.required` entry,
    /// naming the ABI and the Linux release; best-effort features stay best-effort.
    #[test]
    fn a_required_feature_above_the_kernels_abi_is_an_error_at_its_entry() {
        let text = "version = 1\nextends = [\"builtin:minimal\"]\n[landlock]\n\
                    compat = \"best-effort\"\nread = [\"/\"]\nbind-tcp = [8080]\n\
                    scope = [\"signal\"]\nrequired = [\"bind-tcp\"]\n";
        let d = diags_on(2, text);
        assert!(d.contains("landlock.required[0]"), "{d}");
        assert!(
            d.contains("`bind-tcp` is required but needs Landlock ABI 4 (Linux 6.7 or newer); this kernel has Landlock ABI 2 (Linux 5.19)"),
            "{d}"
        );
        assert!(!d.contains("signal"), "the scope is best-effort: {d}");
        assert_eq!(diags_on(4, text), "", "ABI 4 enforces it");
        let d = diags_on(0, text);
        assert!(d.contains("this kernel has no Landlock"), "{d}");
        let unused = text.replace(
            "required = [\"bind-tcp\"]",
            "required = [\"connect-tcp\", \"bnd-tcp\"]",
        );
        let d = diags_on(7, &unused);
        assert!(d.contains("does not restrict"), "{d}");
        assert!(d.contains("did you mean `bind-tcp`?"), "{d}");
    }

    #[test]
    fn a_path_named_twice_is_one_rule_with_both_rights_in_first_seen_order() {
        let plan = plan_of(
            "landlock-merge",
            "version = 1\nextends = [\"builtin:minimal\"]\n[landlock]\n\
             read = [\"/usr\", \"/etc\", \"/usr/./\"]\nexec = [\"/etc/../usr\"]\n",
        );
        let paths = plan.landlock.expect("landlock planned").paths;
        let listed: Vec<_> = paths.iter().map(|p| p.path.display().to_string()).collect();
        assert_eq!(listed, ["/usr", "/etc"]);
        assert_eq!(paths[0].access, ["execute", "read-file", "read-dir"]);
        assert_eq!(paths[1].access, ["read-file", "read-dir"]);
    }
}
