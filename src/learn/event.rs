//! The learn log: one JSON object per line, a header first.
//!
//! ```text
//! {"event":"header","tool":"stockade-learn","version":1,"profile":"p.toml","home":"/home/u","pwd":"/src"}
//! {"event":"syscall","name":"openat","abi":"x86_64","exe":"/usr/bin/make"}
//! {"event":"path","access":"read","path":"/usr/include/stdio.h","exe":"/usr/bin/cc1"}
//! {"event":"connect","host":"127.0.0.1","port":8080,"exe":"/usr/bin/curl"}
//! {"event":"missing","path":"/etc/foo.conf","exe":"/usr/bin/make"}
//! {"event":"denied","syscall":"bind","cap":"CAP_NET_BIND_SERVICE","exe":"/srv/web"}
//! {"event":"egress","host":"registry.npmjs.org","port":443,"exe":"proxy"}
//! {"event":"argument","syscall":"socket","what":"family/type","value":"AF_INET/SOCK_STREAM","exe":"/usr/bin/curl"}
//! ```

use serde::{Deserialize, Serialize};

/// Version of the log format this stockade writes and reads.
pub const LOG_VERSION: u32 = 1;

/// How a path was used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Access {
    Read,
    Write,
    /// Created by the program (its name says nothing about the next run).
    Create,
    Remove,
    Exec,
}

/// One observation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Event {
    /// The first line of every log.
    Header {
        tool: String,
        version: u32,
        /// The profile learnt against.
        profile: String,
        /// `$HOME` and `$PWD` of the run, to write paths as `${HOME}`, `${PWD}`.
        home: String,
        pwd: String,
    },
    Syscall {
        name: String,
        /// `x86_64`, `x86` (int 0x80 / compat) or `x32`.
        abi: String,
        exe: String,
    },
    Path {
        access: Access,
        path: String,
        exe: String,
    },
    Connect {
        host: String,
        port: u16,
        exe: String,
    },
    Bind {
        host: String,
        port: u16,
        exe: String,
    },
    /// Failed with ENOENT: reported as a comment, never a rule.
    Missing { path: String, exe: String },
    /// Failed with EPERM where a capability would have allowed it.
    Denied {
        syscall: String,
        cap: String,
        exe: String,
    },
    /// A host name the payload reached through stockade's proxy (`network.mode = "proxy"`),
    /// from the run report: for `network.allow`.
    Egress {
        host: String,
        port: u16,
        exe: String,
    },
    /// An argument seccomp could filter (`learn::args`): recorded for review.
    Argument {
        syscall: String,
        what: String,
        value: String,
        exe: String,
    },
}

/// A log that is not a learn log, or a bad line in one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogError {
    pub file: String,
    pub line: usize,
    pub message: String,
}

impl std::fmt::Display for LogError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.message)
    }
}

/// Parse one log (`file` names it in errors). The header comes back first.
pub fn parse(file: &str, text: &str) -> Result<Vec<Event>, LogError> {
    let err = |line: usize, message: String| LogError {
        file: file.to_owned(),
        line,
        message,
    };
    let mut events = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let event: Event = serde_json::from_str(line).map_err(|e| {
            if events.is_empty() {
                err(i + 1, format!("not a `stockade learn` log ({e})"))
            } else {
                err(i + 1, format!("bad event: {e}"))
            }
        })?;
        match (&event, events.is_empty()) {
            (Event::Header { tool, version, .. }, true) => {
                if tool != "stockade-learn" {
                    return Err(err(
                        i + 1,
                        format!("written by `{tool}`, not stockade-learn"),
                    ));
                }
                if *version != LOG_VERSION {
                    return Err(err(
                        i + 1,
                        format!("log version {version}; this stockade reads {LOG_VERSION}"),
                    ));
                }
            }
            (_, true) => {
                return Err(err(
                    i + 1,
                    "not a `stockade learn` log (no header line)".into(),
                ))
            }
            (Event::Header { .. }, false) => {
                return Err(err(i + 1, "a second header in one log".into()))
            }
            _ => {}
        }
        events.push(event);
    }
    if events.is_empty() {
        return Err(err(1, "empty: not a `stockade learn` log".into()));
    }
    Ok(events)
}

/// One line of the log.
pub fn to_line(event: &Event) -> String {
    serde_json::to_string(event).unwrap_or_default()
}
