//! `[systemd]`: pass-through of the service manager's protocols.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Integration with systemd when stockade runs as a service's `ExecStart=`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Systemd {
    /// Readiness notification: `auto` (relay `sd_notify` messages when NOTIFY_SOCKET is set,
    /// the default), `on` (fail when NOTIFY_SOCKET is missing) or `off`.
    pub notify: Option<Toggle>,
    /// Who may send sd_notify messages, like the unit's `NotifyAccess=` (stockade cannot
    /// see it): `main` (the default) relays only the payload's main process, `all` any
    /// process of the sandbox. Set `all` when the unit has `NotifyAccess=all`.
    pub notify_access: Option<NotifyAccess>,
    /// Socket activation: `auto` (pass LISTEN_FDS sockets into the sandbox when set, the
    /// default), `on` or `off`.
    pub listen_fds: Option<Toggle>,
    /// The unit's `KillMode=` (stockade cannot see it), which decides whether a signal
    /// from the service manager already reached every process of the sandbox:
    /// `control-group` (the default): the manager's own signals to stockade are not
    /// forwarded, since systemd sends them to every process of the cgroup itself (so the
    /// payload gets each once; `systemctl kill --kill-whom=main` then reaches stockade
    /// only); `mixed` or `process`: stockade forwards them. Signals from any other sender
    /// (`kill $MAINPID` in `ExecReload=`, a shell) are always forwarded.
    pub kill_mode: Option<KillMode>,
}

/// `[systemd] kill-mode`: what the unit's `KillMode=` is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum KillMode {
    /// `KillMode=control-group` (systemd's default): systemd signals every process.
    ControlGroup,
    /// `KillMode=mixed`: SIGTERM to the main process only, SIGKILL to all.
    Mixed,
    /// `KillMode=process` (or `none`): systemd signals only stockade.
    Process,
}

/// `[systemd] notify-access`: who may notify (see `exec::notify`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum NotifyAccess {
    /// Only the payload's main process (`NotifyAccess=main`, systemd's default).
    Main,
    /// Any process of the sandbox (`NotifyAccess=all`).
    All,
}

/// A three-way switch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Toggle {
    /// Use it when the environment offers it.
    Auto,
    /// Require it.
    On,
    /// Never use it.
    Off,
}
