//! The catalogue of findings `stockade audit` can report, as data.
//!
//! Ids are stable: a finding keeps its id for as long as stockade exists, an id is never
//! renumbered nor reused for another meaning (retire one by leaving it here with
//! `retired: true` if that day comes). Tools gate, baseline and suppress on them.
//!
//! A weight is the finding's share of the exposure score: roughly how much of the host an
//! escaped or misbehaving payload reaches through that gap alone, with "no sandboxing at
//! all" summing to well above 100. The severity is what `--fail-on` compares.

use serde::Serialize;

/// How serious a finding is, in increasing order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub fn name(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    /// The SARIF `level` of a result with this severity.
    pub fn sarif_level(self) -> &'static str {
        match self {
            Severity::Critical | Severity::High => "error",
            Severity::Medium => "warning",
            Severity::Low | Severity::Info => "note",
        }
    }
}

/// One kind of finding.
#[derive(Debug)]
pub struct Rule {
    /// `STK-<AREA>-<NNN>`.
    pub id: &'static str,
    /// Short kebab-case name (SARIF `name`).
    pub name: &'static str,
    pub severity: Severity,
    /// Points added to the exposure score.
    pub weight: u32,
    /// One line saying why it matters.
    pub reason: &'static str,
    /// What to change.
    pub help: &'static str,
}

macro_rules! rule {
    ($id:literal, $name:literal, $sev:ident, $w:literal, $reason:literal, $help:literal) => {
        Rule {
            id: $id,
            name: $name,
            severity: Severity::$sev,
            weight: $w,
            reason: $reason,
            help: $help,
        }
    };
}

/// Every finding, sorted by id.
#[rustfmt::skip]
pub static RULES: &[Rule] = &[
    rule!("STK-AUD-001", "expired-suppression", Medium, 5,
        "a suppression is past its `until` date, so the finding it covered counts again",
        "renew the suppression with a new reason and date, or fix the finding"),
    rule!("STK-CAP-001", "dangerous-capability", High, 20,
        "a kept capability gives near-root power (admin, ptrace, modules, raw IO, DAC bypass, setuid)",
        "drop it from `capabilities.keep`"),
    rule!("STK-CAP-002", "capability-kept", Low, 3,
        "a capability is kept: the payload may do more than an unprivileged process",
        "keep only what the program needs, or none"),
    rule!("STK-CAP-003", "ambient-capability", Low, 3,
        "ambient capabilities survive execve into every program the payload starts",
        "remove `capabilities.ambient` unless a non-root payload needs it"),
    rule!("STK-CG-001", "no-pids-limit", Medium, 5,
        "no pids limit: a fork bomb exhausts the host's process table",
        "set `resources.pids`"),
    rule!("STK-CG-002", "no-memory-limit", Medium, 5,
        "no memory limit: the payload can drive the host into the OOM killer",
        "set `resources.memory`"),
    rule!("STK-ENV-001", "secret-in-environment", High, 10,
        "a secret-looking variable (token, key, password, cloud credentials, agent socket) is passed in",
        "do not keep or set it; hand secrets in through a file mount the program reads"),
    rule!("STK-ENV-002", "environment-inherited", Medium, 8,
        "the caller's whole environment is passed in, secrets included",
        "set `env.clear = true` and list what the program needs in `env.keep`"),
    rule!("STK-FS-001", "host-root-exposed", Critical, 30,
        "the host's / is visible in the sandbox",
        "bind only the directories the program needs (e.g. /usr read-only)"),
    rule!("STK-FS-002", "home-exposed", High, 20,
        "the caller's home directory (keys, tokens, shell history) is visible",
        "bind only the project directory, not $HOME or a parent of it"),
    rule!("STK-FS-003", "writable-bind-suid", Medium, 5,
        "a writable bind mount without nosuid: a setuid file written there keeps its power",
        "add `nosuid = true` to the mount"),
    rule!("STK-FS-004", "writable-bind-dev", Medium, 5,
        "a writable bind mount without nodev: a device node made there opens host devices",
        "add `nodev = true` to the mount"),
    rule!("STK-FS-005", "sensitive-host-path", High, 15,
        "a sensitive host path is exposed (runtime sockets, /run, /sys, /boot, /root, /var/run)",
        "remove the mount, or bind just the one file the program needs, read-only"),
    rule!("STK-FS-006", "writable-host-path", Low, 2,
        "a host directory is writable from the sandbox: changes persist on the host",
        "make the mount `read-only = true` unless the program must write there"),
    rule!("STK-LL-001", "no-landlock", Medium, 10,
        "no Landlock ruleset: nothing below the mount table restricts file access",
        "add a `[landlock]` table with `read`, `write` and `exec` paths"),
    rule!("STK-LL-002", "landlock-rights-unhandled", Low, 3,
        "the Landlock ABI leaves some filesystem rights unhandled (refer, truncate, ioctl-dev)",
        "raise `landlock.abi` (or leave it unset)"),
    rule!("STK-LL-003", "abstract-socket-scope", Medium, 5,
        "with the host network, abstract unix sockets of the host (D-Bus, X11, ...) are reachable",
        "add `abstract-unix-socket` to `landlock.scope`"),
    rule!("STK-LL-004", "signal-scope", Low, 3,
        "without a PID namespace or the signal scope, the payload may signal the caller's processes",
        "add `signal` to `landlock.scope` or set `namespaces.pid = true`"),
    rule!("STK-LL-005", "write-and-execute", Medium, 5,
        "a tree is both writable and executable: the payload can write a program and run it",
        "keep `landlock.write` and `landlock.exec` apart"),
    rule!("STK-NET-001", "host-network", High, 15,
        "the host network is shared: the payload reaches everything the host reaches",
        "set `network.mode = \"none\"`"),
    rule!("STK-NET-002", "tcp-connect-unrestricted", Medium, 5,
        "with the host network, TCP connect is not restricted to a list of ports",
        "set `landlock.connect-tcp` to the ports the program needs"),
    rule!("STK-NET-003", "tcp-bind-unrestricted", Low, 3,
        "with the host network, the payload may listen on any TCP port",
        "set `landlock.bind-tcp` to the ports the program serves (or `[]`)"),
    rule!("STK-NET-004", "broad-port-list", Low, 2,
        "the TCP connect allow-list has more than 16 ports",
        "narrow `landlock.connect-tcp`"),
    rule!("STK-NET-005", "egress-wildcard", Low, 2,
        "the proxy's allow-list admits every host name below a domain",
        "list the exact host names the program fetches from in `network.allow`"),
    rule!("STK-NS-001", "no-user-namespace", Medium, 8,
        "no user namespace: ids inside are host ids and root inside is root outside",
        "set `namespaces.user = true`"),
    rule!("STK-NS-002", "no-mount-namespace", Critical, 30,
        "no mount namespace: the payload sees and can change the host's filesystem as is",
        "set `namespaces.mount = true` and describe the root with `[[mount]]`"),
    rule!("STK-NS-003", "no-pid-namespace", Medium, 8,
        "no PID namespace: the payload sees (and may signal or trace) host processes",
        "set `namespaces.pid = true`"),
    rule!("STK-NS-004", "no-ipc-namespace", Low, 3,
        "no IPC namespace: host System V IPC and POSIX message queues are reachable",
        "set `namespaces.ipc = true`"),
    rule!("STK-NS-005", "no-uts-namespace", Info, 1,
        "no UTS namespace: the host's hostname is visible",
        "set `namespaces.uts = true`"),
    rule!("STK-NS-006", "no-cgroup-namespace", Info, 1,
        "no cgroup namespace: the host's cgroup layout is visible",
        "set `namespaces.cgroup = true`"),
    rule!("STK-PRIV-001", "no-new-privs-off", High, 10,
        "no_new_privs is off: setuid binaries and file capabilities can raise privileges",
        "set `capabilities.no-new-privs = true`"),
    rule!("STK-PRIV-002", "host-root", Critical, 30,
        "the payload runs as uid 0 without a user namespace: it is root on the host",
        "set `namespaces.user = true` or run as an unprivileged `process.user`"),
    rule!("STK-RL-001", "core-dumps", Info, 1,
        "core dumps are not disabled: a crash may write the payload's memory to disk",
        "set `rlimits.core = 0`"),
    rule!("STK-SC-001", "no-seccomp", High, 20,
        "no seccomp filter: every system call of the kernel is reachable",
        "add `[seccomp] preset = \"default\"`"),
    rule!("STK-SC-002", "seccomp-default-allow", Low, 3,
        "the seccomp filter allows every call it does not name (a deny-list)",
        "use `default-action = \"errno:ENOSYS\"` with an `allow` list where practical"),
    rule!("STK-SC-003", "dangerous-syscall-allowed", High, 15,
        "the filter allows kernel-attack-surface calls (mount, ptrace, bpf, modules, kexec, io_uring, keyrings, userns)",
        "use `preset = \"default\"` or deny these calls"),
    rule!("STK-SC-004", "compat-abi-accepted", Low, 3,
        "a second system-call ABI (x86 or x32) is accepted: a second, less-audited syscall table",
        "remove `seccomp.architectures` unless 32-bit programs must run"),
    rule!("STK-TTY-001", "no-new-session", Medium, 8,
        "no new session: the payload can push keystrokes into the caller's terminal (TIOCSTI)",
        "set `process.new-session = true`"),
];

/// The rule with this id.
pub fn rule(id: &str) -> Option<&'static Rule> {
    RULES.iter().find(|r| r.id == id)
}

/// The catalogue as text (`stockade audit --list`).
pub fn render_list() -> String {
    let mut o = String::new();
    for r in RULES {
        o.push_str(&format!(
            "{:<13} {:<8} {:>3}  {}\n",
            r.id,
            r.severity.name(),
            r.weight,
            r.reason
        ));
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_sorted_and_well_formed() {
        for pair in RULES.windows(2) {
            assert!(pair[0].id < pair[1].id, "{} / {}", pair[0].id, pair[1].id);
        }
        for r in RULES {
            let parts: Vec<&str> = r.id.split('-').collect();
            assert_eq!(parts.len(), 3, "{}", r.id);
            assert_eq!(parts[0], "STK");
            assert!(parts[2].len() == 3 && parts[2].chars().all(|c| c.is_ascii_digit()));
            assert!(r.weight > 0 && !r.reason.is_empty() && !r.help.is_empty());
        }
    }
}
