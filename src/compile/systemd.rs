//! `[systemd]` → [`SystemdPlan`], resolved against the caller's environment, plus the
//! service-manager variables of the payload's environment.
//!
//! The payload never sees the service manager's own values: `NOTIFY_SOCKET` points at the
//! relay socket stockade mounts at [`NOTIFY_SANDBOX_PATH`], `LISTEN_PID`/`WATCHDOG_PID` name
//! the payload as it sees itself, and a feature turned off removes its variables even when
//! `[env]` keeps the host environment (they would point at sockets the sandbox must not use).

use super::Ctx;
use crate::plan::{ListenFds, SystemdPlan, NOTIFY_SANDBOX_PATH};
use crate::profile::systemd::Toggle;
use crate::profile::Profile;

/// What the compiler needs to know about the sandbox to place the systemd variables.
#[derive(Debug, Clone, Copy)]
pub struct Sandbox {
    /// The sandbox has its own mount namespace (the relay socket can be mounted into it).
    pub mount_ns: bool,
    /// The sandbox has its own PID namespace; with `init` the payload is PID 2, else 1.
    pub pid_ns: bool,
    pub init: bool,
}

const NOTIFY_VARS: [&str; 3] = ["NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"];
const LISTEN_VARS: [&str; 3] = ["LISTEN_FDS", "LISTEN_FDNAMES", "LISTEN_PID"];

pub fn compile(cx: &mut Ctx, p: &Profile, sandbox: Sandbox) -> SystemdPlan {
    let s = p.systemd.clone().unwrap_or_default();
    let notify = s.notify.unwrap_or(Toggle::Auto);
    let listen = s.listen_fds.unwrap_or(Toggle::Auto);
    let socket = cx
        .host
        .env
        .get("NOTIFY_SOCKET")
        .filter(|v| !v.is_empty())
        .cloned();
    let notify_socket = match (notify, socket) {
        (Toggle::Off, _) => None,
        (Toggle::On, None) => {
            cx.error(
                "systemd.notify",
                "`systemd.notify = \"on\"` but NOTIFY_SOCKET is not set",
                Some("run under a Type=notify unit, or use \"auto\"".into()),
            );
            None
        }
        (mode, Some(_)) if !sandbox.mount_ns => {
            let msg = "the sd_notify relay needs a mount namespace (its socket is mounted into \
                       the sandbox); NOTIFY_SOCKET is not passed to the payload";
            let help = Some("set `namespaces.mount = true`, or `systemd.notify = \"off\"`".into());
            if mode == Toggle::On {
                cx.error("systemd.notify", msg, help);
            } else {
                cx.warn("systemd.notify", msg, help);
            }
            None
        }
        (_, s) => s,
    };
    let count = cx
        .host
        .env
        .get("LISTEN_FDS")
        .and_then(|v| v.parse::<u32>().ok())
        .filter(|n| *n > 0);
    let listen_fds = match (listen, count) {
        (Toggle::Off, _) => None,
        (Toggle::On, None) => {
            cx.error(
                "systemd.listen-fds",
                "`systemd.listen-fds = \"on\"` but LISTEN_FDS is not set",
                Some("run from a socket-activated unit, or use \"auto\"".into()),
            );
            None
        }
        (_, Some(count)) => Some(ListenFds {
            count,
            names: cx.host.env.get("LISTEN_FDNAMES").cloned(),
        }),
        (_, None) => None,
    };
    use crate::profile::systemd::KillMode;
    let notify_all = notify_socket.is_some()
        && s.notify_access == Some(crate::profile::systemd::NotifyAccess::All);
    SystemdPlan {
        notify_socket,
        notify_all,
        listen_fds,
        forward_manager_signals: matches!(s.kill_mode, Some(KillMode::Process | KillMode::Mixed)),
    }
}

/// The payload's pid as it sees itself, when the compiler can know it (in a PID namespace).
/// Without one the executor writes the real pid into the environment just before execve.
fn payload_pid(sandbox: Sandbox) -> Option<&'static str> {
    match (sandbox.pid_ns, sandbox.init) {
        (true, true) => Some("2"),
        (true, false) => Some("1"),
        (false, _) => None,
    }
}

/// Add the service-manager variables to the payload's environment (sorted by name) and
/// remove the ones for features that are off.
pub fn extend_env(cx: &Ctx, plan: &SystemdPlan, sandbox: Sandbox, env: &mut Vec<(String, String)>) {
    env.retain(|(k, _)| !NOTIFY_VARS.contains(&k.as_str()) && !LISTEN_VARS.contains(&k.as_str()));
    let pid = payload_pid(sandbox);
    if plan.notify_socket.is_some() {
        env.push(("NOTIFY_SOCKET".into(), NOTIFY_SANDBOX_PATH.into()));
        // sd_watchdog_enabled() ignores WATCHDOG_USEC unless WATCHDOG_PID is the caller, so
        // both go together, the pid rewritten (the relay makes the pings the main PID's).
        if let Some(usec) = cx.host.env.get("WATCHDOG_USEC").filter(|v| !v.is_empty()) {
            env.push(("WATCHDOG_USEC".into(), usec.clone()));
            if let Some(pid) = pid {
                env.push(("WATCHDOG_PID".into(), pid.into()));
            }
        }
    }
    if let Some(l) = &plan.listen_fds {
        env.push(("LISTEN_FDS".into(), l.count.to_string()));
        if let Some(names) = &l.names {
            env.push(("LISTEN_FDNAMES".into(), names.clone()));
        }
        if let Some(pid) = pid {
            env.push(("LISTEN_PID".into(), pid.into()));
        }
    }
    env.sort();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::HostFacts;

    fn host(vars: &[(&str, &str)]) -> HostFacts {
        let mut h = HostFacts::fixed();
        for (k, v) in vars {
            h.env.insert(k.to_string(), v.to_string());
        }
        h
    }

    const SANDBOX: Sandbox = Sandbox {
        mount_ns: true,
        pid_ns: true,
        init: true,
    };

    fn run(
        h: &HostFacts,
        sandbox: Sandbox,
        start: &[(&str, &str)],
    ) -> (SystemdPlan, Vec<(String, String)>, bool) {
        let mut cx = Ctx::new(h);
        let plan = compile(&mut cx, &Profile::default(), sandbox);
        let mut env: Vec<(String, String)> = start
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        extend_env(&cx, &plan, sandbox, &mut env);
        let errors = cx.finish().has_errors();
        (plan, env, errors)
    }

    fn get<'a>(env: &'a [(String, String)], k: &str) -> Option<&'a str> {
        env.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str())
    }

    #[test]
    fn notify_points_the_payload_at_the_relay() {
        let h = host(&[
            ("NOTIFY_SOCKET", "/run/systemd/notify"),
            ("WATCHDOG_USEC", "3000000"),
            ("WATCHDOG_PID", "4242"),
        ]);
        let (plan, env, errors) = run(&h, SANDBOX, &[("PATH", "/usr/bin")]);
        assert!(!errors);
        assert_eq!(plan.notify_socket.as_deref(), Some("/run/systemd/notify"));
        assert_eq!(get(&env, "NOTIFY_SOCKET"), Some(NOTIFY_SANDBOX_PATH));
        assert_eq!(get(&env, "WATCHDOG_USEC"), Some("3000000"));
        assert_eq!(get(&env, "WATCHDOG_PID"), Some("2"));
        let names: Vec<&str> = env.iter().map(|(k, _)| k.as_str()).collect();
        let mut sorted = names.clone();
        sorted.sort();
        assert_eq!(names, sorted);
    }

    #[test]
    fn listen_fds_pass_with_the_payload_pid() {
        let h = host(&[
            ("LISTEN_FDS", "2"),
            ("LISTEN_FDNAMES", "http:admin"),
            ("LISTEN_PID", "77"),
        ]);
        let pid1 = Sandbox {
            init: false,
            ..SANDBOX
        };
        let (plan, env, _) = run(&h, pid1, &[("LISTEN_PID", "77")]);
        assert_eq!(plan.listen_fds.as_ref().map(|l| l.count), Some(2));
        assert_eq!(get(&env, "LISTEN_FDS"), Some("2"));
        assert_eq!(get(&env, "LISTEN_FDNAMES"), Some("http:admin"));
        assert_eq!(get(&env, "LISTEN_PID"), Some("1"));
        let no_pidns = Sandbox {
            pid_ns: false,
            ..SANDBOX
        };
        let (_, env, _) = run(&h, no_pidns, &[]);
        assert_eq!(
            get(&env, "LISTEN_PID"),
            None,
            "the executor writes it at execve"
        );
    }

    #[test]
    fn host_values_never_leak_when_off() {
        let h = host(&[
            ("NOTIFY_SOCKET", "/run/systemd/notify"),
            ("LISTEN_FDS", "1"),
        ]);
        let p = Profile {
            systemd: Some(crate::profile::systemd::Systemd {
                notify: Some(Toggle::Off),
                listen_fds: Some(Toggle::Off),
                ..Default::default()
            }),
            ..Profile::default()
        };
        let mut cx = Ctx::new(&h);
        let plan = compile(&mut cx, &p, SANDBOX);
        let mut env = vec![
            (
                "NOTIFY_SOCKET".to_string(),
                "/run/systemd/notify".to_string(),
            ),
            ("LISTEN_FDS".to_string(), "1".to_string()),
            ("WATCHDOG_USEC".to_string(), "1".to_string()),
        ];
        extend_env(&cx, &plan, SANDBOX, &mut env);
        assert_eq!(plan.notify_socket, None);
        assert_eq!(plan.listen_fds, None);
        assert!(env.is_empty(), "{env:?}");
    }

    #[test]
    fn notify_without_mount_namespace_warns_or_fails() {
        let h = host(&[("NOTIFY_SOCKET", "/run/systemd/notify")]);
        let flat = Sandbox {
            mount_ns: false,
            ..SANDBOX
        };
        let (plan, env, errors) = run(&h, flat, &[]);
        assert_eq!(plan.notify_socket, None);
        assert_eq!(get(&env, "NOTIFY_SOCKET"), None);
        assert!(!errors);
        let p = Profile {
            systemd: Some(crate::profile::systemd::Systemd {
                notify: Some(Toggle::On),
                listen_fds: None,
                ..Default::default()
            }),
            ..Profile::default()
        };
        let mut cx = Ctx::new(&h);
        compile(&mut cx, &p, flat);
        assert!(cx.finish().has_errors());
    }
}
