//! `[systemd]` → [`SystemdPlan`], resolved against the caller's environment.

use super::Ctx;
use crate::plan::{ListenFds, SystemdPlan};
use crate::profile::systemd::Toggle;
use crate::profile::Profile;

pub fn compile(cx: &mut Ctx, p: &Profile) -> SystemdPlan {
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
    SystemdPlan {
        notify_socket,
        listen_fds,
    }
}
