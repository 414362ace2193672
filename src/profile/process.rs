//! `[process]`: what runs, as whom, where, and for how long.

use super::{IntOrString, TerminalSetting};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The payload process.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Process {
    /// The command and its arguments (argv). The first element is looked up in the sandbox's
    /// PATH when it has no `/`. `stockade run PROFILE -- CMD ARGS...` replaces it.
    pub command: Option<Vec<String>>,
    /// Working directory inside the sandbox (absolute). Default: `/`.
    pub cwd: Option<String>,
    /// User id inside the sandbox: a number or a variable such as `${UID}`. Default: 0 when
    /// the sandbox has a user namespace, otherwise the caller's uid.
    pub user: Option<IntOrString>,
    /// Group id inside the sandbox. Default: 0 with a user namespace, else the caller's gid.
    pub group: Option<IntOrString>,
    /// Supplementary group ids inside the sandbox. Default: none.
    pub groups: Option<Vec<IntOrString>>,
    /// File mode creation mask, octal: `"022"` or `0o022`. Default: `"022"`.
    pub umask: Option<IntOrString>,
    /// Start the payload in a new session (setsid), so it cannot inject keystrokes into the
    /// caller's terminal with TIOCSTI. Default: true.
    pub new_session: Option<bool>,
    /// Give the payload its own pseudo-terminal: `"auto"` (the default), `true` or `false`.
    /// `"auto"` means a pty when `new-session` is true and stockade's stdin and stdout are
    /// both terminals (decided at launch), none otherwise. With a pty the payload leads its
    /// own session with the pty as controlling terminal on fds 0, 1 and 2 (it holds no fd of
    /// the caller's terminal, so TIOCSTI cannot reach it); stockade puts the caller's
    /// terminal in raw mode, relays both ways, copies the window size, and restores the
    /// terminal on every exit. `true` gives a pty even when stdin or stdout is not a
    /// terminal (no raw mode then) and needs `new-session = true`. Without a pty and with
    /// `new-session`, the terminal's job-control signals (Ctrl-C, Ctrl-\, Ctrl-Z, SIGCONT,
    /// SIGWINCH) are forwarded to the payload's process group, and stockade stops when the
    /// payload stops.
    pub terminal: Option<TerminalSetting>,
    /// What runs as PID 1 of a new PID namespace: `init` (a tiny init that reaps zombies and
    /// forwards signals; the default) or `payload` (the payload itself).
    pub pid1: Option<Pid1>,
    /// Kill the sandbox when stockade dies (PR_SET_PDEATHSIG). Default: true.
    pub die_with_parent: Option<bool>,
    /// Wall-clock limit, e.g. `"90s"` or `"1h 30m"`. When it expires the payload gets
    /// `kill-signal`, and after `grace` the whole sandbox is killed. Default: none.
    pub timeout: Option<String>,
    /// Signal sent when the timeout expires: a name (`SIGTERM`, `TERM`) or number.
    /// Default: SIGTERM.
    pub kill_signal: Option<IntOrString>,
    /// How long to wait after `kill-signal` before SIGKILL, e.g. `"5s"`. Default: `"10s"`.
    pub grace: Option<String>,
}

/// What runs as PID 1 in a new PID namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Pid1 {
    /// stockade's tiny init reaps zombies and forwards signals to the payload.
    Init,
    /// The payload is PID 1 itself (it must reap its own children).
    Payload,
}
