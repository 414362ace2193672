//! Why a setup step was refused, where the errno alone does not say it: appended to the
//! step's error message (after the failure, in the parent; never in the child).

use nix::errno::Errno;

/// A hint for a failed step, starting with a space, or "".
pub fn step_hint(desc: &str, call: &str, errno: Errno) -> String {
    if errno == Errno::EPERM && desc.starts_with("proc ") && call.starts_with("fsmount") {
        return proc_refused();
    }
    if errno == Errno::EPERM && call.starts_with("sethostname") {
        return hostname_refused();
    }
    String::new()
}

/// A fresh proc refused: the usual cause is a /proc with paths mounted over (a container's
/// masked /proc, or an outer stockade sandbox's), which makes a new proc instance "too
/// revealing" for a mounter outside the initial user namespace.
fn proc_refused() -> String {
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let over = crate::doctor::probe::proc_overmounts(&mountinfo);
    if over.is_empty() {
        return " (the kernel refused a new proc instance: it needs CAP_SYS_ADMIN over the \
                sandbox's PID namespace; `stockade doctor PROFILE` checks this host)"
            .into();
    }
    format!(
        " (the kernel refuses a new proc here because this /proc has paths mounted over it \
         ({}): a new instance would reveal them. In a container, start it with \
         `--security-opt unmask=/proc/*` (podman, docker); nested in a stockade sandbox, give \
         the outer profile's proc mount `unmasked = true`; or bind the outer /proc instead of a \
         proc mount. `stockade doctor PROFILE` detects this beforehand)",
        over.join(", ")
    )
}

/// sethostname(2) refused in the sandbox's own UTS namespace, which the kernel allows: the
/// refusal comes from a seccomp filter stockade was started under (a container's).
fn hostname_refused() -> String {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let filtered = status
        .lines()
        .find_map(|l| l.strip_prefix("Seccomp:"))
        .is_some_and(|v| v.trim() != "0");
    if !filtered {
        return String::new();
    }
    " (stockade runs under a seccomp filter it did not install (Seccomp: 2 in \
     /proc/self/status), and that filter refuses sethostname(2): podman's and docker's \
     default profiles do without CAP_SYS_ADMIN. Run the container with `--security-opt \
     seccomp=unconfined` or a profile allowing sethostname, or leave `filesystem.hostname` \
     out of the profile; `stockade doctor PROFILE` detects this beforehand)"
        .into()
}

/// An execve refused with EACCES under a Landlock ruleset that handles `execute`: name the
/// key when no rule lets the program run (the error alone reads like a file-mode problem).
pub fn exec_denied(plan: &crate::plan::Plan) -> String {
    let Some(l) = &plan.landlock else {
        return String::new();
    };
    let Some(program) = plan.process.argv.first().map(std::path::Path::new) else {
        return String::new();
    };
    if !program.is_absolute() || !l.handled_fs.iter().any(|r| r == "execute") {
        return String::new();
    }
    let allowed = l
        .paths
        .iter()
        .any(|p| program.starts_with(&p.path) && p.access.iter().any(|r| r == "execute"));
    if allowed {
        return String::new();
    }
    let dir = program.parent().unwrap_or(program);
    format!(
        "; Landlock: no `landlock.exec` entry covers {}: add its directory \
         (`[landlock] exec = [\"{}\"]`; lists from `extends` accumulate)",
        program.display(),
        dir.display()
    )
}
