//! The patch: a TOML overlay that `extends` the profile learnt against and adds only what
//! that profile does not already allow, each entry with a comment naming its users. Pure.
//!
//! Learning again on the patched profile gives an empty patch: everything observed is then
//! covered (that is the fixed point the round-trip test checks).

use super::generalise::{Entry, Learned};
use crate::plan::{Plan, SeccompAction};
use std::fmt::Write;
use std::path::Path;

/// A rendered patch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Patch {
    pub text: String,
    /// Nothing to add: the profile already allows everything observed.
    pub empty: bool,
}

fn quoted(s: &str) -> String {
    toml::Value::String(s.to_owned()).to_string()
}

fn users(e: &Entry) -> String {
    let names: Vec<&str> = e.users.iter().map(String::as_str).collect();
    format!("{} ({}x)", names.join(", "), e.count)
}

/// The base filter refuses by default (so an allow-list patch fits it).
fn deny_by_default(plan: &Plan) -> bool {
    plan.seccomp
        .as_ref()
        .is_some_and(|f| !matches!(f.default_action, SeccompAction::Allow | SeccompAction::Log))
}

fn syscall_allowed(plan: &Plan, name: &str) -> bool {
    let Some(f) = &plan.seccomp else {
        return false;
    };
    let last = f
        .rules
        .iter()
        .rev()
        .find(|r| r.syscall == name && r.args.is_empty());
    match last {
        Some(r) => r.action == SeccompAction::Allow,
        None => false,
    }
}

fn call_covered(plan: &Plan, value: &str) -> bool {
    if !deny_by_default(plan) {
        return false;
    }
    if value.starts_with('@') {
        return crate::seccomp::groups::expand(value)
            .is_some_and(|m| m.iter().all(|c| syscall_allowed(plan, c)));
    }
    syscall_allowed(plan, value)
}

fn path_covered(plan: &Plan, raw: &str, right: &str) -> bool {
    let Some(l) = &plan.landlock else {
        return false;
    };
    let p = Path::new(raw);
    l.paths
        .iter()
        .any(|r| p.starts_with(&r.path) && r.access.iter().any(|a| a == right))
}

fn uncovered_paths<'a>(plan: &Plan, entries: &'a [Entry], right: &str) -> Vec<&'a Entry> {
    entries
        .iter()
        .filter(|e| !path_covered(plan, &e.raw, right))
        .collect()
}

fn new_ports<'a>(entries: &'a [Entry], have: Option<&Vec<u16>>) -> Vec<&'a Entry> {
    entries
        .iter()
        .filter(|e| {
            e.value
                .parse::<u16>()
                .map_or(true, |p| !have.is_some_and(|h| h.contains(&p)))
        })
        .collect()
}

fn list(o: &mut String, key: &str, entries: &[&Entry], quote: bool) {
    let _ = writeln!(o, "{key} = [");
    for e in entries {
        let v = if quote {
            quoted(&e.value)
        } else {
            e.value.clone()
        };
        let _ = writeln!(o, "    {v}, # {}", users(e));
    }
    let _ = writeln!(o, "]");
}

/// What a patch adds over `plan`: the learnt entries the profile does not cover yet.
pub struct Additions<'a> {
    pub calls: Vec<&'a Entry>,
    pub abis: Vec<&'a Entry>,
    pub read: Vec<&'a Entry>,
    pub write: Vec<&'a Entry>,
    pub exec: Vec<&'a Entry>,
    pub connect: Vec<&'a Entry>,
    pub bind: Vec<&'a Entry>,
    pub caps: Vec<&'a Entry>,
    /// Host names for `network.allow` (only with `network.mode = "proxy"`).
    pub egress: Vec<&'a Entry>,
    /// The profile's filter allows by default: the learnt list needs a refusing default.
    pub new_filter: bool,
    /// The profile has no Landlock ruleset yet.
    pub new_ruleset: bool,
    /// `connect-tcp`, `bind-tcp`: the profile has no list (absent lists allow every port).
    pub connect_unset: bool,
    pub bind_unset: bool,
}

pub fn additions<'a>(learned: &'a Learned, plan: &Plan) -> Additions<'a> {
    let calls: Vec<&Entry> = learned
        .syscalls
        .iter()
        .filter(|e| !call_covered(plan, &e.value))
        .collect();
    let landlock = plan.landlock.as_ref();
    Additions {
        new_filter: !deny_by_default(plan) && !calls.is_empty(),
        calls,
        abis: learned
            .abis
            .iter()
            .filter(|a| {
                !plan
                    .seccomp
                    .as_ref()
                    .is_some_and(|f| f.extra_architectures.contains(&a.value))
            })
            .collect(),
        read: uncovered_paths(plan, &learned.read, "read-file"),
        write: uncovered_paths(plan, &learned.write, "write-file"),
        exec: uncovered_paths(plan, &learned.exec, "execute"),
        connect: new_ports(
            &learned.connect,
            landlock.and_then(|l| l.connect_tcp.as_ref()),
        ),
        bind: new_ports(&learned.bind, landlock.and_then(|l| l.bind_tcp.as_ref())),
        caps: learned
            .caps
            .iter()
            .filter(|c| !plan.capabilities.keep.iter().any(|k| k.name == c.value))
            .collect(),
        egress: match &plan.egress {
            Some(e) => {
                let list = crate::net::pattern::AllowList {
                    entries: e.allow.clone(),
                };
                learned
                    .egress
                    .iter()
                    .filter(|h| {
                        let (host, port) = match h.value.rsplit_once(':') {
                            Some((host, port)) => (host, port.parse().unwrap_or(0)),
                            None => (h.value.as_str(), 443),
                        };
                        !matches!(
                            list.check(host, port),
                            crate::net::pattern::Match::Allowed(_)
                        )
                    })
                    .collect()
            }
            None => Vec::new(),
        },
        new_ruleset: landlock.is_none(),
        connect_unset: landlock.is_none_or(|l| l.connect_tcp.is_none()),
        bind_unset: landlock.is_none_or(|l| l.bind_tcp.is_none()),
    }
}

/// The comment sections of a patch (held back, not found, arguments): `(title, entries)`.
pub fn comment_sections(learned: &Learned) -> [(&'static str, &[Entry]); 3] {
    [
        (
            "Held back (dangerous; `--allow-dangerous` learns them)",
            &learned.held_back,
        ),
        ("Not found (ENOENT; comments, not rules)", &learned.missing),
        (
            "Arguments seen (seccomp could filter them; the rules above do not)",
            &learned.arguments,
        ),
    ]
}

/// `programs (Nx)`: who used an entry.
pub fn users_of(e: &Entry) -> String {
    users(e)
}

/// Render the patch over `plan` (the compiled profile learnt against), which the patch
/// names in `extends` as `extends_name`.
pub fn render(learned: &Learned, plan: &Plan, extends_name: &str, logs: usize) -> Patch {
    let Additions {
        calls,
        abis,
        read,
        write,
        exec,
        connect,
        bind,
        caps,
        egress,
        new_filter,
        new_ruleset,
        connect_unset,
        bind_unset,
    } = additions(learned, plan);
    let landlock = plan.landlock.as_ref();
    let tcp_unset = connect_unset || bind_unset;

    let mut o = String::new();
    let _ = writeln!(
        o,
        "# Learnt by `stockade learn` over {extends_name} from {logs} log(s).\n\
         # Only what the profile does not already allow; each entry names the programs\n\
         # that used it. Review before committing."
    );
    let _ = writeln!(o, "version = 1\nextends = [{}]", quoted(extends_name));
    let mut added = false;
    if !calls.is_empty() || !abis.is_empty() {
        added = true;
        let _ = writeln!(o, "\n[seccomp]");
        if new_filter {
            let _ = writeln!(
                o,
                "# The profile allowed every call by default; the learnt list replaces that.\n\
                 default-action = \"errno:EPERM\""
            );
        }
        if !calls.is_empty() {
            list(&mut o, "allow", &calls, true);
        }
        if !abis.is_empty() {
            list(&mut o, "architectures", &abis, true);
        }
    }
    let landlock_needed = !read.is_empty()
        || !write.is_empty()
        || !exec.is_empty()
        || !connect.is_empty()
        || !bind.is_empty();
    if landlock_needed || new_ruleset || tcp_unset {
        let mut body = String::new();
        for (key, l) in [("read", &read), ("write", &write), ("exec", &exec)] {
            if !l.is_empty() {
                list(&mut body, key, l, true);
            }
        }
        // Present, even empty, restricts: a run that connected nowhere gets `[]`.
        for (key, l, have) in [
            (
                "connect-tcp",
                &connect,
                landlock.and_then(|l| l.connect_tcp.as_ref()),
            ),
            (
                "bind-tcp",
                &bind,
                landlock.and_then(|l| l.bind_tcp.as_ref()),
            ),
        ] {
            if !l.is_empty() {
                list(&mut body, key, l, false);
            } else if have.is_none() {
                let _ = writeln!(body, "{key} = [] # no {key} seen");
            }
        }
        if !body.is_empty() {
            added = true;
            let _ = writeln!(o, "\n[landlock]\n{body}");
        }
    }
    if !caps.is_empty() {
        added = true;
        let _ = writeln!(o, "\n[capabilities]");
        list(&mut o, "keep", &caps, true);
    }
    if !egress.is_empty() {
        // Allow lists accumulate through `extends`: this adds to the profile's.
        added = true;
        let _ = writeln!(o, "\n[network]");
        list(&mut o, "allow", &egress, true);
    }
    for (title, entries) in comment_sections(learned) {
        if !entries.is_empty() {
            let _ = writeln!(o, "\n# {title}:");
            for e in entries {
                let _ = writeln!(o, "#   {} — {}", e.value, users(e));
            }
        }
    }
    if !added {
        let _ = writeln!(
            o,
            "\n# Nothing to add: the profile allows everything observed."
        );
    }
    Patch {
        text: o,
        empty: !added,
    }
}
