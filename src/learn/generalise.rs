//! From raw observations to the entries of a patch: paths collapsed into directory rules,
//! written with `${HOME}`/`${PWD}`, syscalls gathered into `@groups`, dangerous calls held
//! back. Pure.
//!
//! Path rules, in order:
//! 1. A path that was created or removed, or whose name looks random (`ccA81xQz.s`, a pid),
//!    stands for its parent directory: the next run uses another name, and Landlock checks
//!    creation and removal on the directory anyway. Anything inside a tree the run created
//!    (`node_modules/...` after `mkdir node_modules`) stands for the directory that held it.
//!    A file only read beneath `/usr` stands for its directory too: system software is
//!    read-only and public, and which files of a package one run loads varies (node loads
//!    modules lazily), so a rule per file would break the next run.
//! 2. Writing a path also allows reading it (a `write` rule grants both); executing allows
//!    reading too (an `exec` rule grants both): such reads are dropped.
//! 3. A directory from which at least [`COLLAPSE_THRESHOLD`] different entries were used
//!    replaces them, repeatedly up the tree, but never becomes `/`, `/etc`, `$HOME`, `/tmp`,
//!    `/run` or a parent of one of them: those hold too much that was not used.
//! 4. Paths beneath `$PWD` or `$HOME` of the run are written `${PWD}/...`, `${HOME}/...`.
//! 5. A path inside one process's `/proc/PID` (or `/proc/self`) is `/proc`.
//! 6. A path in one of the profile's private tmpfs mounts (`/tmp`: empty at every start, so
//!    a rule naming a file made there last run cannot even be compiled) is that mount
//!    ([`anchor_scratch`], which needs the plan).
//!
//! Syscalls: what was seen, plus the rest of its [`FAMILIES`] (the same operation through
//! another entry point, or the call that completes it: a program that registers with
//! `epoll_ctl` waits with `epoll_wait` or `epoll_pwait`, whichever its timing takes; one run
//! shows only some of them), gathered into `@groups` where most of a group was used.

use super::event::{Access, Event};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Entries used in one directory that make a rule for the whole directory.
pub const COLLAPSE_THRESHOLD: usize = 4;

/// A group is used instead of its members when at least this share of them was used
/// (numerator, denominator).
pub const GROUP_SHARE: (usize, usize) = (2, 3);

/// Calls learnt together: one run of a program shows whichever member its timing or
/// libc version used, the next run may use another. None of them is dangerous.
pub const FAMILIES: &[&[&str]] = &[
    &[
        "epoll_create",
        "epoll_create1",
        "epoll_ctl",
        "epoll_wait",
        "epoll_pwait",
        "epoll_pwait2",
    ],
    &["poll", "ppoll", "select", "pselect6"],
    &["wait4", "waitid"],
    &["nanosleep", "clock_nanosleep", "restart_syscall"],
    &["stat", "lstat", "fstat", "newfstatat", "statx"],
    &["access", "faccessat", "faccessat2"],
    &["dup", "dup2", "dup3"],
    &["pipe", "pipe2"],
    &["getdents", "getdents64"],
    &["readlink", "readlinkat"],
    // Every glibc thread registers a robust list; whether it ever waits on a futex depends
    // on timing (a pthread_join that finds the thread gone does not): threaded programs
    // crashed under a learnt list without futex.
    &["futex", "futex_waitv", "set_robust_list", "get_robust_list"],
    &["chdir", "fchdir"],
    &["utime", "utimes", "utimensat", "futimesat"],
    &["rename", "renameat", "renameat2"],
    &["unlink", "unlinkat", "rmdir"],
    &["mkdir", "mkdirat"],
    &["link", "linkat", "symlink", "symlinkat"],
    &["chmod", "fchmod", "fchmodat"],
    // A handler installed returns through rt_sigreturn when a signal comes, which one run
    // may never see (rustc crashed without it when a run got a signal the learnt one did
    // not), and an interrupted sleep resumes through restart_syscall.
    &["rt_sigaction", "rt_sigreturn", "restart_syscall"],
];

/// Capabilities never learnt without `--allow-dangerous`.
/// A call `learn` keeps out of a profile unless `--allow-dangerous` is given.
fn is_dangerous(call: &str) -> bool {
    crate::seccomp::DANGEROUS_SYSCALLS.contains(&call)
        || crate::seccomp::LEARN_ALSO_WITHHELD.contains(&call)
}

pub const DANGEROUS_CAPS: &[&str] = &["CAP_SYS_ADMIN", "CAP_SYS_MODULE", "CAP_SYS_PTRACE"];

/// One learnt value and who used it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// As written in the patch (`${PWD}/out`, `@file-system`, `8080`).
    pub value: String,
    /// The value before variables were put in (absolute path), for coverage checks.
    pub raw: String,
    /// Programs (base names) that used it.
    pub users: BTreeSet<String>,
    /// How many observations it stands for.
    pub count: usize,
}

/// Everything learnt.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Learned {
    pub syscalls: Vec<Entry>,
    /// Dangerous calls seen and not learnt.
    pub held_back: Vec<Entry>,
    /// Compat ABIs seen (`x86`, `x32`).
    pub abis: Vec<Entry>,
    pub read: Vec<Entry>,
    pub write: Vec<Entry>,
    pub exec: Vec<Entry>,
    pub connect: Vec<Entry>,
    pub bind: Vec<Entry>,
    pub caps: Vec<Entry>,
    pub missing: Vec<Entry>,
    /// Filterable arguments seen (`socket family/type AF_INET/SOCK_STREAM`): for review.
    pub arguments: Vec<Entry>,
    /// Host names reached through the proxy, as `network.allow` writes them (`host`, or
    /// `host:port` for another port than 443).
    pub egress: Vec<Entry>,
    /// The profile the (first) log was learnt against.
    pub profile: Option<String>,
}

/// Lexically normalized absolute path (the tracer already resolved symlinks).
fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::from("/");
    for c in p.components() {
        match c {
            std::path::Component::Normal(n) => out.push(n),
            std::path::Component::ParentDir => {
                out.pop();
            }
            _ => {}
        }
    }
    out
}

/// A path inside one process's procfs directory (`/proc/PID/...`, `/proc/self/...`,
/// `/proc/thread-self/...`) as `/proc`: the pid differs every run (a rule naming it would
/// fail to open next time), and the sandbox's `/proc` is its own.
fn stable_proc_path(p: PathBuf) -> PathBuf {
    let mut c = p.components().skip(1);
    let is_proc = c.next().is_some_and(|x| x.as_os_str() == "proc");
    let per_process = c.next().is_some_and(|x| {
        let x = x.as_os_str().to_string_lossy();
        x == "self"
            || x == "thread-self"
            || (!x.is_empty() && x.bytes().all(|b| b.is_ascii_digit()))
    });
    if is_proc && per_process {
        PathBuf::from("/proc")
    } else {
        p
    }
}

/// The directory that held the top-most thing the run created on the way to `p` (rule 1
/// for everything inside a created tree); `None` when no part of `p` was created.
fn before_creation(p: &Path, created: &BTreeSet<PathBuf>) -> Option<PathBuf> {
    let mut cur = PathBuf::from("/");
    for c in p.components().skip(1) {
        cur.push(c);
        if created.contains(&cur) {
            return Some(
                cur.parent()
                    .map_or_else(|| PathBuf::from("/"), Path::to_path_buf),
            );
        }
    }
    None
}

fn base_name(exe: &str) -> String {
    exe.rsplit('/').next().unwrap_or(exe).to_owned()
}

/// Names that will differ next run: temp names, pids.
pub fn looks_random(name: &str) -> bool {
    if name.len() >= 2 && name.bytes().all(|b| b.is_ascii_digit()) {
        return true;
    }
    name.split(['.', '-', '_']).any(|part| {
        let digits = part.bytes().filter(u8::is_ascii_digit).count();
        let letters = part.bytes().filter(u8::is_ascii_alphabetic).count();
        let mixed_case = part.bytes().any(|b| b.is_ascii_uppercase())
            && part.bytes().any(|b| b.is_ascii_lowercase());
        part.len() >= 6 && digits >= 1 && letters >= 1 && (mixed_case || digits >= 2)
            || part.len() >= 12 && part.bytes().all(|b| b.is_ascii_hexdigit())
    })
}

/// Directories a rule may not widen to (nor above).
fn forbidden(dir: &Path, home: &Path) -> bool {
    let anchors = [
        Path::new("/etc"),
        home,
        Path::new("/tmp"),
        Path::new("/run"),
    ];
    dir == Path::new("/") || anchors.iter().any(|a| a.starts_with(dir))
}

type Users = BTreeMap<PathBuf, (BTreeSet<String>, usize)>;

fn add(map: &mut Users, p: PathBuf, user: &str) {
    let e = map.entry(p).or_default();
    e.0.insert(user.to_owned());
    e.1 += 1;
}

/// Drop entries beneath another entry of the same map (or of `wider`), merging users.
fn prune(map: &mut Users, wider: &[&Users]) {
    let keys: Vec<PathBuf> = map.keys().cloned().collect();
    for k in keys {
        let covered_here = map.keys().any(|other| other != &k && k.starts_with(other));
        let covered_wider = wider.iter().any(|w| w.keys().any(|o| k.starts_with(o)));
        if covered_here || covered_wider {
            map.remove(&k);
        }
    }
}

/// Rule 3: collapse directories with enough used entries, up to a fixed point.
fn collapse(map: &mut Users, home: &Path) {
    loop {
        let mut by_parent: BTreeMap<PathBuf, Vec<PathBuf>> = BTreeMap::new();
        for k in map.keys() {
            if let Some(parent) = k.parent() {
                by_parent
                    .entry(parent.to_path_buf())
                    .or_default()
                    .push(k.clone());
            }
        }
        let Some((dir, children)) = by_parent
            .into_iter()
            .find(|(d, c)| c.len() >= COLLAPSE_THRESHOLD && !forbidden(d, home))
        else {
            return;
        };
        let mut users = BTreeSet::new();
        let mut count = 0;
        for c in children {
            if let Some((u, n)) = map.remove(&c) {
                users.extend(u);
                count += n;
            }
        }
        let e = map.entry(dir).or_default();
        e.0.extend(users);
        e.1 += count;
        prune(map, &[]);
    }
}

/// `${PWD}/x`, `${HOME}/x` where they apply (the longer prefix first).
pub fn with_variables(p: &Path, home: &Path, pwd: &Path) -> String {
    let mut prefixes = [(pwd, "${PWD}"), (home, "${HOME}")];
    prefixes.sort_by_key(|(p, _)| std::cmp::Reverse(p.as_os_str().len()));
    for (prefix, var) in prefixes {
        if prefix == Path::new("/") || prefix.as_os_str().is_empty() {
            continue;
        }
        if let Ok(rest) = p.strip_prefix(prefix) {
            return if rest.as_os_str().is_empty() {
                var.to_owned()
            } else {
                format!("{var}/{}", rest.display())
            };
        }
    }
    p.display().to_string()
}

fn entries(map: Users, home: &Path, pwd: &Path) -> Vec<Entry> {
    map.into_iter()
        .map(|(p, (users, count))| Entry {
            value: with_variables(&p, home, pwd),
            raw: p.display().to_string(),
            users,
            count,
        })
        .collect()
}

/// Generalise the events of one or more logs (`--merge`: their concatenation).
pub fn generalise(events: &[Event], allow_dangerous: bool) -> Learned {
    let mut learned = Learned::default();
    let (mut home, mut pwd) = (PathBuf::from("/"), PathBuf::from("/"));
    let mut calls: BTreeMap<String, (BTreeSet<String>, usize)> = BTreeMap::new();
    let mut abis: BTreeMap<String, (BTreeSet<String>, usize)> = BTreeMap::new();
    let (mut read, mut write, mut exec) = (Users::new(), Users::new(), Users::new());
    let mut ports: [BTreeMap<u16, (BTreeSet<String>, usize)>; 2] = Default::default();
    let mut caps: BTreeMap<String, (BTreeSet<String>, usize)> = BTreeMap::new();
    let mut missing: Users = Users::new();
    let mut arguments: BTreeMap<String, (BTreeSet<String>, usize)> = BTreeMap::new();
    let mut egress: BTreeMap<String, (BTreeSet<String>, usize)> = BTreeMap::new();
    // What the run created: a rule may not name it (next run it does not exist yet when
    // the ruleset is made), so rules go to the directory that existed before.
    let created: BTreeSet<PathBuf> = events
        .iter()
        .filter_map(|e| match e {
            Event::Path {
                access: Access::Create,
                path,
                ..
            } => Some(normalize(Path::new(path))),
            _ => None,
        })
        .collect();
    let executed: BTreeSet<PathBuf> = events
        .iter()
        .filter_map(|e| match e {
            Event::Path {
                access: Access::Exec,
                path,
                ..
            } => Some(normalize(Path::new(path))),
            _ => None,
        })
        .collect();
    for e in events {
        match e {
            Event::Header {
                profile,
                home: h,
                pwd: p,
                ..
            } => {
                if learned.profile.is_none() {
                    learned.profile = Some(profile.clone());
                    home = PathBuf::from(h);
                    pwd = PathBuf::from(p);
                }
            }
            Event::Syscall { name, abi, exe } => {
                let e = calls.entry(name.clone()).or_default();
                e.0.insert(base_name(exe));
                e.1 += 1;
                if abi != "x86_64" {
                    let a = abis.entry(abi.clone()).or_default();
                    a.0.insert(base_name(exe));
                    a.1 += 1;
                }
            }
            Event::Path { access, path, exe } => {
                let p = stable_proc_path(normalize(Path::new(path)));
                let user = base_name(exe);
                let name = p.file_name().map(|n| n.to_string_lossy().into_owned());
                let transient = matches!(access, Access::Create | Access::Remove)
                    || name.as_deref().is_some_and(looks_random);
                // Rule 1b: a file read beneath /usr stands for its directory (unless it is
                // executed too: its exec rule covers the read, rule 2).
                let system_read =
                    *access == Access::Read && p.starts_with("/usr/") && !executed.contains(&p);
                let p = match (
                    before_creation(&p, &created),
                    transient || system_read,
                    p.parent(),
                ) {
                    (Some(existing), _, _) => existing,
                    (None, true, Some(parent)) => parent.to_path_buf(),
                    _ => p,
                };
                match access {
                    Access::Read => add(&mut read, p, &user),
                    Access::Write | Access::Create | Access::Remove => add(&mut write, p, &user),
                    Access::Exec => add(&mut exec, p, &user),
                }
            }
            Event::Connect { port, exe, .. } | Event::Bind { port, exe, .. } => {
                let i = usize::from(matches!(e, Event::Bind { .. }));
                let slot = ports[i].entry(*port).or_default();
                slot.0.insert(base_name(exe));
                slot.1 += 1;
            }
            Event::Denied { cap, exe, .. } => {
                let slot = caps.entry(cap.clone()).or_default();
                slot.0.insert(base_name(exe));
                slot.1 += 1;
            }
            Event::Missing { path, exe } => add(&mut missing, PathBuf::from(path), &base_name(exe)),
            Event::Egress { host, port, exe } => {
                let value = if *port == 443 {
                    host.clone()
                } else {
                    format!("{host}:{port}")
                };
                let slot = egress.entry(value).or_default();
                slot.0.insert(base_name(exe));
                slot.1 += 1;
            }
            Event::Argument {
                syscall,
                what,
                value,
                exe,
            } => {
                let slot = arguments
                    .entry(format!("{syscall} {what} {value}"))
                    .or_default();
                slot.0.insert(base_name(exe));
                slot.1 += 1;
            }
        }
    }
    collapse(&mut write, &home);
    prune(&mut write, &[]);
    collapse(&mut exec, &home);
    prune(&mut exec, &[]);
    prune(&mut read, &[&write, &exec]);
    collapse(&mut read, &home);
    prune(&mut read, &[&write, &exec]);
    learned.write = entries(write, &home, &pwd);
    learned.exec = entries(exec, &home, &pwd);
    learned.read = entries(read, &home, &pwd);
    learned.missing = entries(missing, &home, &pwd);
    let simple = |m: BTreeMap<String, (BTreeSet<String>, usize)>| -> Vec<Entry> {
        m.into_iter()
            .map(|(k, (users, count))| Entry {
                value: k.clone(),
                raw: k,
                users,
                count,
            })
            .collect()
    };
    let [connect, bind] = ports;
    let by_port = |m: BTreeMap<u16, (BTreeSet<String>, usize)>| {
        simple(m.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
    };
    learned.connect = by_port(connect);
    learned.bind = by_port(bind);
    learned.abis = simple(abis);
    learned.arguments = simple(arguments);
    learned.egress = simple(egress);
    let (held, caps): (BTreeMap<_, _>, BTreeMap<_, _>) = caps
        .into_iter()
        .partition(|(c, _)| !allow_dangerous && DANGEROUS_CAPS.contains(&c.as_str()));
    learned.caps = simple(caps);
    add_families(&mut calls);
    let (dangerous, calls): (BTreeMap<_, _>, BTreeMap<_, _>) = calls
        .into_iter()
        .partition(|(c, _)| !allow_dangerous && is_dangerous(c));
    learned.held_back = simple(dangerous);
    learned.held_back.extend(simple(held));
    learned.syscalls = groups(simple(calls));
    learned
}

/// Calls stockade itself makes under the payload's filter, between loading it and the
/// payload's execve (the filter is loaded last, so execve runs under it, and getpid sets
/// LISTEN_PID): a learnt allow-list that lacks them breaks the launch, not the payload.
const STOCKADE_UNDER_FILTER: &[&str] = &["execve", "getpid"];

/// The members of a family not seen, named after one that was (count 0: not observed);
/// and, once anything was seen, what stockade needs under the filter.
fn add_families(calls: &mut BTreeMap<String, (BTreeSet<String>, usize)>) {
    if !calls.is_empty() {
        for c in STOCKADE_UNDER_FILTER {
            calls
                .entry((*c).to_owned())
                .or_insert_with(|| (BTreeSet::from(["stockade (before exec)".to_owned()]), 0));
        }
    }
    for family in FAMILIES {
        let Some(seen) = family.iter().find(|c| calls.contains_key(**c)) else {
            continue;
        };
        for member in *family {
            calls
                .entry((*member).to_owned())
                .or_insert_with(|| (BTreeSet::from([format!("family of {seen}")]), 0));
        }
    }
}

/// Gather calls into `@groups` where most of a group was used and none of its members is
/// dangerous (a group would otherwise allow more than was seen of the dangerous kind).
fn groups(calls: Vec<Entry>) -> Vec<Entry> {
    let mut rest: Vec<Entry> = calls;
    let mut out = Vec::new();
    for g in crate::seccomp::groups::GROUPS {
        let Some(members) = crate::seccomp::groups::expand(g.name) else {
            continue;
        };
        if members.iter().any(|m| is_dangerous(m)) || g.name == "@system-service" {
            continue;
        }
        let used: Vec<usize> = rest
            .iter()
            .enumerate()
            .filter(|(_, e)| members.contains(&e.value.as_str()))
            .map(|(i, _)| i)
            .collect();
        let (num, den) = GROUP_SHARE;
        if used.len() < 2 || used.len() * den < members.len() * num {
            continue;
        }
        let mut entry = Entry {
            value: g.name.to_owned(),
            raw: g.name.to_owned(),
            users: BTreeSet::new(),
            count: 0,
        };
        for i in used.into_iter().rev() {
            let e = rest.remove(i);
            entry.users.extend(e.users);
            entry.count += e.count;
        }
        out.push(entry);
    }
    out.extend(rest);
    out
}

/// Rule 6: entries beneath a private tmpfs mount of the plan (`scratch`), and not beneath a
/// bind mounted inside it (`binds`), become the mount point itself, merged.
pub fn anchor_scratch(learned: &mut Learned, scratch: &[PathBuf], binds: &[PathBuf]) {
    for list in [&mut learned.read, &mut learned.write, &mut learned.exec] {
        let mut out: Vec<Entry> = Vec::with_capacity(list.len());
        for mut e in std::mem::take(list) {
            let raw = Path::new(&e.raw).to_path_buf();
            let anchor = scratch.iter().find(|s| {
                raw.starts_with(s)
                    && raw != **s
                    && !binds
                        .iter()
                        .any(|b| b.starts_with(s) && b != *s && raw.starts_with(b))
            });
            if let Some(a) = anchor {
                e.raw = a.display().to_string();
                e.value = e.raw.clone();
            }
            match out.iter_mut().find(|o| o.raw == e.raw) {
                Some(o) => {
                    o.users.extend(e.users);
                    o.count += e.count;
                }
                None => out.push(e),
            }
        }
        *list = out;
    }
}
