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
    /// Socket activation: `auto` (pass LISTEN_FDS sockets into the sandbox when set, the
    /// default), `on` or `off`.
    pub listen_fds: Option<Toggle>,
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
