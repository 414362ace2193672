//! What of one sd_notify message reaches systemd: an allow-list of keys (see the module doc
//! of `exec::notify` and the README), `MAINPID=` rewritten, and the fds only where a key
//! takes them. Pure: bytes in, bytes and a verdict out.

/// Keys forwarded as they are (sd_notify(3)). `MONOTONIC_USEC=` goes with `RELOADING=1`,
/// `FDNAME=`/`FDPOLL=` with `FDSTORE=1`, `FDSTOREREMOVE=1` names stored fds by `FDNAME=`.
pub const FORWARDED_KEYS: [&str; 15] = [
    "READY",
    "RELOADING",
    "STOPPING",
    "STATUS",
    "ERRNO",
    "BUSERROR",
    "EXIT_STATUS",
    "WATCHDOG",
    "WATCHDOG_USEC",
    "EXTEND_TIMEOUT_USEC",
    "MONOTONIC_USEC",
    "FDSTORE",
    "FDSTOREREMOVE",
    "FDNAME",
    "FDPOLL",
];

/// `NOTIFYACCESS=` (systemd 254): the main process changes who may notify. The relay
/// applies it itself (it is the one that checks senders) and does not forward it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Only the payload's main process (`main`, and `exec`: control processes run outside).
    Main,
    /// Any process of the sandbox.
    All,
    /// Nobody: every later message is dropped.
    None,
}

/// One message after filtering.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Filtered {
    /// What to send (newline-separated, no trailing newline); empty: send nothing.
    pub text: Vec<u8>,
    /// The message's fds go with it: `FDSTORE=1`, or the one fd of a barrier.
    pub keep_fds: bool,
    /// The message is `BARRIER=1` alone (sd_notify_barrier(3)): exactly one fd, which the
    /// receiver closes once it processed every earlier message.
    pub barrier: bool,
    /// A `NOTIFYACCESS=` the relay applies.
    pub access: Option<Access>,
    /// The keys removed, for the run report (`(malformed)` for a line without `=` or
    /// with a NUL byte).
    pub dropped: Vec<String>,
}

/// Filter one message from the payload; `supervisor_pid` replaces any `MAINPID=`.
pub fn filter(msg: &[u8], supervisor_pid: libc::pid_t) -> Filtered {
    let mut f = Filtered::default();
    let lines: Vec<&[u8]> = msg
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .collect();
    // systemd treats a barrier only when it is the whole message; anything else with
    // BARRIER=1 is an ordinary message whose fds are closed.
    if lines == [b"BARRIER=1".as_slice()] {
        f.text = b"BARRIER=1".to_vec();
        f.keep_fds = true;
        f.barrier = true;
        return f;
    }
    for line in lines {
        let Some(eq) = line.iter().position(|b| *b == b'=') else {
            f.dropped.push("(malformed)".into());
            continue;
        };
        let (key, value) = (&line[..eq], &line[eq + 1..]);
        if line.contains(&0) {
            f.dropped.push("(malformed)".into());
            continue;
        }
        let name = String::from_utf8_lossy(key);
        let out: std::borrow::Cow<[u8]> = match &*name {
            "MAINPID" => format!("MAINPID={supervisor_pid}").into_bytes().into(),
            "NOTIFYACCESS" => {
                f.access = match value {
                    b"main" | b"exec" => Some(Access::Main),
                    b"all" => Some(Access::All),
                    b"none" => Some(Access::None),
                    _ => {
                        f.dropped.push(name.into_owned());
                        f.access
                    }
                };
                continue;
            }
            k if FORWARDED_KEYS.contains(&k) => {
                if k == "FDSTORE" && value == b"1" {
                    f.keep_fds = true;
                }
                line.into()
            }
            _ => {
                // Bounded: a report must not grow with what a payload invents.
                let mut n = name.into_owned();
                n.truncate(64);
                f.dropped.push(n);
                continue;
            }
        };
        if !f.text.is_empty() {
            f.text.push(b'\n');
        }
        f.text.extend_from_slice(&out);
    }
    if f.text.is_empty() {
        f.keep_fds = false;
    }
    f
}
