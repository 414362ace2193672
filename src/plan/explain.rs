//! Human-readable rendering of a Plan: step descriptions for error messages and the text
//! form of `stockade plan`.

use super::{MountOp, Plan, Step};
use std::fmt::Write;

/// One line describing a step, as used in `step 7/23 (bind /usr -> /usr, read-only)`.
pub fn describe_step(plan: &Plan, step: &Step) -> String {
    match step {
        Step::CreateCgroup => "create cgroup".into(),
        Step::WriteIdMaps => "write uid/gid maps".into(),
        Step::EnterCgroup => "enter cgroup".into(),
        Step::MakeMountsPrivate => "make mounts private".into(),
        Step::PrepareRoot => match &plan.root.kind {
            super::RootKind::Tmpfs => "new root: tmpfs".into(),
            super::RootKind::Directory { path } => format!("new root: bind {}", path.display()),
        },
        Step::Mount(i) => match plan.mounts.get(*i) {
            Some(m) => describe_mount(m),
            None => format!("mount #{i} (missing)"),
        },
        Step::PivotRoot => "pivot_root".into(),
        Step::RootReadOnly => "remount / read-only".into(),
        Step::MaskPaths => format!("mask {} paths", plan.masked_paths.len()),
        Step::ReadOnlyPaths => format!("read-only {} paths", plan.read_only_paths.len()),
        Step::ProtectPaths => format!(
            "protect {} paths inside writable binds (read-only, not creatable)",
            plan.protected_paths.len()
        ),
        Step::SetHostname => format!("hostname {}", plan.hostname.as_deref().unwrap_or("")),
        Step::SetDomainname => {
            format!("domainname {}", plan.domainname.as_deref().unwrap_or(""))
        }
        Step::SetRlimits => "set rlimits".into(),
        Step::NewSession => "setsid".into(),
        Step::AttachTerminal => match plan.process.terminal {
            crate::plan::Terminal::Always => {
                "own pty as controlling terminal and stdin/stdout/stderr".into()
            }
            _ => "own pty as controlling terminal and stdin/stdout/stderr, when stdin and \
                  stdout are terminals"
                .into(),
        },
        Step::SetUmask => format!("umask {:04o}", plan.process.umask),
        Step::DropBoundingSet => "drop capability bounding set".into(),
        Step::SwitchUser => format!(
            "switch to uid {} gid {}",
            plan.process.uid, plan.process.gid
        ),
        Step::SetCapabilities => "set capabilities".into(),
        Step::Chdir => format!("chdir {}", plan.process.cwd.display()),
        Step::NoNewPrivs => "no_new_privs".into(),
        Step::Landlock => "landlock".into(),
        Step::SetNofileLimit => "set RLIMIT_NOFILE".into(),
        Step::Seccomp => "seccomp".into(),
        Step::Exec => format!(
            "execve {}",
            plan.process.argv.first().map(String::as_str).unwrap_or("")
        ),
    }
}

/// `bind /usr -> /usr, read-only`.
pub fn describe_mount(m: &super::MountPlan) -> String {
    let mut s = String::from(m.op.kind_name());
    match &m.op {
        MountOp::Bind { source, .. } => {
            let _ = write!(s, " {} -> {}", source.display(), m.target.display());
        }
        MountOp::Symlink { link } => {
            let _ = write!(s, " {} -> {}", m.target.display(), link);
        }
        MountOp::Proc { unmasked: true } => {
            let _ = write!(s, " {} (unmasked)", m.target.display());
        }
        // Every value a reviewer needs: how big a tmpfs may grow, who may write where.
        MountOp::Tmpfs { size, mode } => {
            let _ = write!(s, " {}, mode {mode:04o}", m.target.display());
            match size {
                Some(b) => {
                    let _ = write!(s, ", size {}", crate::units::format_size(*b));
                }
                None => s.push_str(", size half of RAM (the kernel's default)"),
            }
        }
        MountOp::Dir { mode } => {
            let _ = write!(s, " {}, mode {mode:04o}", m.target.display());
        }
        MountOp::File { content, mode } => {
            let _ = write!(
                s,
                " {}, mode {mode:04o}, {} bytes",
                m.target.display(),
                content.len()
            );
        }
        _ => {
            let _ = write!(s, " {}", m.target.display());
        }
    }
    for (on, name) in [
        (m.flags.read_only, "read-only"),
        (m.flags.nosuid, "nosuid"),
        (m.flags.nodev, "nodev"),
        (m.flags.noexec, "noexec"),
    ] {
        if on {
            s.push_str(", ");
            s.push_str(name);
        }
    }
    // follow-symlinks: what was written, and the link it went through (the paths above are
    // the resolved ones, which is what gets mounted).
    for l in &m.links_followed {
        let _ = write!(
            s,
            " (written {}, followed link {} -> {})",
            l.written.display(),
            l.link.display(),
            l.points_to.display()
        );
    }
    s
}

/// The text form of `stockade plan`.
pub fn render_text(plan: &Plan) -> String {
    let mut o = String::new();
    let p = &plan.process;
    let _ = writeln!(o, "plan for {}", plan.source);
    if let Some(d) = &plan.description {
        let _ = writeln!(o, "  {d}");
    }
    let _ = writeln!(o, "\nprocess");
    let argv = if p.argv.is_empty() {
        "(given on the command line)".to_owned()
    } else {
        shell_words(&p.argv)
    };
    let _ = writeln!(o, "  command      {argv}");
    let _ = writeln!(o, "  cwd          {}", p.cwd.display());
    let groups = p
        .groups
        .iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(",");
    let _ = writeln!(
        o,
        "  user         uid {} gid {}{}",
        p.uid,
        p.gid,
        if groups.is_empty() {
            String::new()
        } else {
            format!(" groups {groups}")
        }
    );
    let _ = writeln!(o, "  umask        {:04o}", p.umask);
    let _ = writeln!(
        o,
        "  pid 1        {}",
        match (p.init, plan.namespaces.pid) {
            (true, true) => "stockade init",
            (false, true) => "payload",
            // No PID namespace of its own: init is the keeper, the payload's parent.
            (_, false) => "none (host PID namespace); stockade init kills what the payload leaves",
        }
    );
    let _ = writeln!(
        o,
        "  new session  {}   die with parent {}",
        yes(p.new_session),
        yes(p.die_with_parent)
    );
    let _ = writeln!(
        o,
        "  terminal     {}",
        match p.terminal {
            crate::plan::Terminal::Auto => "auto (own pty when stdin and stdout are terminals)",
            crate::plan::Terminal::Always => "own pty",
            crate::plan::Terminal::Never => "inherited (no pty)",
        }
    );
    match p.timeout_ms {
        Some(t) => {
            let _ = writeln!(
                o,
                "  timeout      {} then {}, SIGKILL after {}",
                ms(t),
                p.kill_signal.name,
                ms(p.grace_ms)
            );
        }
        None => {
            let _ = writeln!(o, "  timeout      none");
        }
    }
    let _ = writeln!(o, "  env          {} variables", p.env.len());
    for (k, v) in &p.env {
        let _ = writeln!(o, "    {k}={v}");
    }
    let n = &plan.namespaces;
    let names = n.names();
    let _ = writeln!(
        o,
        "\nnamespaces     {}",
        if names.is_empty() {
            "none".to_owned()
        } else {
            names.join(" ")
        }
    );
    for (label, map) in [("uid map", &n.uid_map), ("gid map", &n.gid_map)] {
        for m in map {
            let _ = writeln!(
                o,
                "  {label}      {} -> {} (x{})",
                m.inside, m.outside, m.count
            );
        }
    }
    let _ = writeln!(
        o,
        "network        {}",
        match plan.network {
            super::NetworkMode::None => "none (loopback only)",
            super::NetworkMode::Host => "host",
            super::NetworkMode::Proxy => "proxy (loopback only; egress through the proxy)",
        }
    );
    if let Some(e) = &plan.egress {
        egress_lines(&mut o, e);
    }
    if n.mount {
        let root = match &plan.root.kind {
            super::RootKind::Tmpfs => "tmpfs".to_owned(),
            super::RootKind::Directory { path } => path.display().to_string(),
        };
        let _ = writeln!(
            o,
            "root           {root}{}",
            if plan.root.read_only {
                ", read-only"
            } else {
                ""
            }
        );
    }
    if let Some(h) = &plan.hostname {
        let _ = writeln!(o, "hostname       {h}");
    }
    if !plan.mounts.is_empty() {
        let _ = writeln!(o, "\nmounts");
        for m in &plan.mounts {
            let _ = writeln!(o, "  {}", describe_mount(m));
        }
    }
    for (label, list) in [
        ("masked", &plan.masked_paths),
        ("read-only", &plan.read_only_paths),
    ] {
        if !list.is_empty() {
            let _ = writeln!(
                o,
                "{label:<14} {}",
                list.iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(" ")
            );
        }
    }
    render_protected(&mut o, plan);
    if let Some(r) = &plan.resources {
        let _ = writeln!(o, "\nresources ({})", compat_text(r.compat));
        if let Some(m) = r.memory_max {
            let _ = writeln!(o, "  memory       {}", crate::units::format_size(m));
        }
        if let Some(q) = r.cpu_quota_us {
            let _ = writeln!(
                o,
                "  cpu          {:.2} cores ({q}us / {}us)",
                q as f64 / r.cpu_period_us as f64,
                r.cpu_period_us
            );
        }
        if let Some(pids) = r.pids_max {
            let _ = writeln!(o, "  pids         {pids}");
        }
    }
    if !plan.rlimits.is_empty() {
        let _ = writeln!(o, "\nrlimits");
        for r in &plan.rlimits {
            let _ = writeln!(
                o,
                "  {:<18} soft {} hard {}",
                r.name,
                lim(r.soft),
                lim(r.hard)
            );
        }
    }
    if let Some(s) = &plan.seccomp {
        let _ = writeln!(
            o,
            "\nseccomp        default {}, {} rules{}",
            action_text(&s.default_action),
            s.rules.len(),
            if s.log { ", logged" } else { "" }
        );
    }
    if let Some(l) = &plan.landlock {
        let _ = writeln!(
            o,
            "landlock       ABI {} ({}), {} path rules",
            l.abi,
            compat_text(l.compat),
            l.paths.len()
        );
        for r in &l.paths {
            let _ = writeln!(o, "  {:<24} {}", r.path.display(), r.access.join(" "));
        }
        if let Some(p) = &l.connect_tcp {
            let _ = writeln!(o, "  connect tcp  {p:?}");
        }
        if let Some(p) = &l.bind_tcp {
            let _ = writeln!(o, "  bind tcp     {p:?}");
        }
        if !l.scopes.is_empty() {
            let _ = writeln!(o, "  scopes       {}", l.scopes.join(" "));
        }
        if !l.required.is_empty() {
            // A reviewer must see what cannot degrade under best-effort.
            let _ = writeln!(o, "  required     {}", l.required.join(" "));
        }
    }
    let c = &plan.capabilities;
    let keep = c
        .keep
        .iter()
        .map(|c| c.name.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    let _ = writeln!(
        o,
        "capabilities   {}   no_new_privs {}",
        if keep.is_empty() { "none" } else { &keep },
        yes(c.no_new_privs)
    );
    if let Some(n) = &plan.systemd.notify_socket {
        let _ = writeln!(
            o,
            "systemd        sd_notify relayed to {n} (payload: NOTIFY_SOCKET={}; from {})",
            super::NOTIFY_SANDBOX_PATH,
            if plan.systemd.notify_all {
                "any process"
            } else {
                "the main process"
            }
        );
    }
    if let Some(l) = &plan.systemd.listen_fds {
        let _ = writeln!(
            o,
            "systemd        {} socket-activation fd(s) from fd 3{}",
            l.count,
            l.names
                .as_deref()
                .map(|n| format!(" ({n})"))
                .unwrap_or_default()
        );
    }
    let _ = writeln!(o, "\nsteps");
    let total = plan.steps.len();
    for (i, s) in plan.steps.iter().enumerate() {
        let _ = writeln!(
            o,
            "  {:>2}/{total} {:<9} {}",
            i + 1,
            format!("{:?}", s.phase()).to_lowercase(),
            describe_step(plan, s)
        );
    }
    for w in &plan.warnings {
        let _ = writeln!(o, "warning: {w}");
    }
    o
}

/// A seccomp action as a profile writes it (`allow`, `errno:EPERM`, `kill-process`).
pub fn action_text(a: &super::SeccompAction) -> String {
    use super::SeccompAction as A;
    match a {
        A::Allow => "allow".into(),
        A::Errno { errno } => match crate::units::errno_name(*errno) {
            Some(name) => format!("errno:{name}"),
            None => format!("errno:{errno}"),
        },
        A::KillProcess => "kill-process".into(),
        A::KillThread => "kill-thread".into(),
        A::Trap => "trap".into(),
        A::Log => "log".into(),
    }
}

/// A compatibility mode as a profile writes it.
pub fn compat_text(c: super::Compat) -> &'static str {
    match c {
        super::Compat::Required => "required",
        super::Compat::BestEffort => "best-effort",
    }
}

fn yes(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}

fn ms(v: u64) -> String {
    humantime::format_duration(std::time::Duration::from_millis(v)).to_string()
}

fn lim(v: u64) -> String {
    if v == super::RLIM_UNLIMITED {
        "unlimited".into()
    } else {
        v.to_string()
    }
}

/// Quote argv for display.
pub fn shell_words(argv: &[String]) -> String {
    argv.iter()
        .map(|a| {
            if !a.is_empty()
                && a.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c))
            {
                a.clone()
            } else {
                format!("'{}'", a.replace('\'', "'\\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// What `network.mode = "proxy"` lets out, one allow entry per line.
fn egress_lines(o: &mut String, e: &super::EgressPlan) {
    let _ = writeln!(
        o,
        "  proxy        http 127.0.0.1:{}, socks5h 127.0.0.1:{}, dns 127.0.0.1:{} (in the sandbox)",
        e.http_port, e.socks_port, e.dns_port
    );
    if e.allow.is_empty() {
        let _ = writeln!(o, "  allow        nothing (every connection is denied)");
    }
    for a in &e.allow {
        let _ = writeln!(
            o,
            "  allow        {a}{}",
            if a.wildcard { " (any name below)" } else { "" }
        );
    }
    let _ = writeln!(
        o,
        "  refused      IP literals, names resolving to non-public addresses, TLS without SNI or with another SNI, UDP{}",
        if e.generated_etc { "" } else { "; /etc/resolv.conf not generated" }
    );
}

/// Protected paths inside writable binds, and the ones the profile opted out of.
fn render_protected(o: &mut String, plan: &Plan) {
    if !plan.protected_paths.is_empty() {
        let _ = writeln!(o, "\nprotected (read-only, not creatable; required)");
        for p in &plan.protected_paths {
            let _ = writeln!(o, "  {}", p.path.display());
        }
    }
    if !plan.unprotected_paths.is_empty() {
        let _ = writeln!(
            o,
            "\nNOT protected (filesystem.unprotected opt-out: writable)"
        );
        for p in &plan.unprotected_paths {
            let _ = writeln!(o, "  {} ({})", p.path.display(), p.name);
        }
    }
}
