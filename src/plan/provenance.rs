//! `stockade explain`: every effective value with the file:line:col that set it, through
//! `extends`, and the defaults the compiler filled in.

use super::Plan;
use crate::profile::load::Loaded;
use crate::profile::node::Node;
use std::fmt::Write;

/// Render the explanation.
pub fn render(loaded: &Loaded, plan: &Plan) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "# {} — effective values and where they were set",
        loaded.name
    );
    let _ = writeln!(
        o,
        "# layers, merged in this order (later ones win): {}",
        loaded.layers.join(", ")
    );
    let mut all = Vec::new();
    loaded.tree.walk("", &mut all);
    let rows: Vec<(String, String)> = all
        .iter()
        .filter(|(k, n)| !k.is_empty() && is_leaf(n))
        .map(|(k, n)| {
            (
                format!("{k} = {}", show(n)),
                loaded.sources.location(n.origin()),
            )
        })
        .collect();
    let width = rows
        .iter()
        .map(|(a, _)| a.chars().count())
        .max()
        .unwrap_or(0)
        .min(72);
    for (a, b) in &rows {
        let _ = writeln!(o, "{a:<width$}  # {b}");
    }
    // What later files took away from their bases: not in effect, but part of the story.
    if !loaded.changes.is_empty() {
        let _ = writeln!(
            o,
            "\n# inherited values not in effect: taken away by `reset`, `[remove]` or a mount at the same target"
        );
        for c in &loaded.changes {
            let row = format!("{} = {}", c.key, c.what);
            let _ = writeln!(
                o,
                "{row:<width$}  # {}, {} by {}",
                loaded.sources.location(&c.was),
                c.action.word(),
                loaded.sources.location(&c.by)
            );
        }
    }
    // follow-symlinks: the values above are as written; what gets mounted is resolved.
    let followed: Vec<_> = plan.mounts.iter().flat_map(|m| &m.links_followed).collect();
    if !followed.is_empty() {
        let _ = writeln!(
            o,
            "\n# host paths resolved through symlinks (follow-symlinks): what is mounted"
        );
        for l in followed {
            let _ = writeln!(
                o,
                "# {} => {}  (link {} -> {})",
                l.written.display(),
                l.resolved.display(),
                l.link.display(),
                l.points_to.display()
            );
        }
    }
    let _ = writeln!(o, "\n# defaults (set by no file)");
    for (key, value) in defaults(plan) {
        if loaded.origins.contains_key(key) {
            continue;
        }
        let row = format!("{key} = {value}");
        let _ = writeln!(o, "{row:<width$}  # default");
    }
    o
}

fn is_leaf(n: &Node) -> bool {
    match n {
        Node::Scalar { .. } => true,
        // Lists are shown item by item (each has its own origin); only empty ones whole.
        Node::Array { items, .. } => items.is_empty(),
        Node::Table { .. } => false,
    }
}

fn show(n: &Node) -> String {
    let v = n.to_value();
    match &v {
        toml::Value::String(s) => format!("{s:?}"),
        other => other.to_string(),
    }
}

/// Effective values of keys a profile may leave unset.
fn defaults(plan: &Plan) -> Vec<(&'static str, String)> {
    let p = &plan.process;
    let mut out = vec![
        ("process.cwd", format!("{:?}", p.cwd.display().to_string())),
        ("process.user", p.uid.to_string()),
        ("process.group", p.gid.to_string()),
        ("process.umask", format!("\"{:04o}\"", p.umask)),
        ("process.new-session", p.new_session.to_string()),
        (
            "process.terminal",
            match p.terminal {
                crate::plan::Terminal::Auto => "\"auto\"".into(),
                crate::plan::Terminal::Always => "true".into(),
                crate::plan::Terminal::Never => "false".into(),
            },
        ),
        (
            "process.pid1",
            if p.init && plan.namespaces.pid {
                "\"init\"".into()
            } else {
                "\"payload\"".into()
            },
        ),
        ("process.die-with-parent", p.die_with_parent.to_string()),
        ("process.kill-signal", format!("{:?}", p.kill_signal.name)),
        (
            "process.grace",
            format!(
                "\"{}\"",
                humantime::format_duration(std::time::Duration::from_millis(p.grace_ms))
            ),
        ),
        ("env.clear", "true".into()),
        ("filesystem.root", "\"tmpfs\"".into()),
        ("filesystem.read-only", plan.root.read_only.to_string()),
        ("capabilities.keep", "[]".into()),
        (
            "capabilities.no-new-privs",
            plan.capabilities.no_new_privs.to_string(),
        ),
    ];
    if let Some(s) = &plan.seccomp {
        out.push(("seccomp.preset", "\"none\"".into()));
        out.push((
            "seccomp.default-action",
            format!("{:?}", super::explain::action_text(&s.default_action)),
        ));
        out.push(("seccomp.deny-action", "\"errno:EPERM\"".into()));
    }
    if let Some(l) = &plan.landlock {
        out.push((
            "landlock.compat",
            format!("{:?}", super::explain::compat_text(l.compat)),
        ));
        out.push(("landlock.abi", l.abi.to_string()));
    }
    if let Some(r) = &plan.resources {
        out.push((
            "resources.compat",
            format!("{:?}", super::explain::compat_text(r.compat)),
        ));
        out.push(("resources.cpu-period", r.cpu_period_us.to_string()));
    }
    out
}
