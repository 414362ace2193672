//! Parsers for the value syntaxes profiles use: byte sizes, durations, octal modes and
//! signal names. Each returns a message fit for a diagnostic and, where useful, a hint.

/// A parse failure: the message and an optional `help:` hint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitError {
    pub message: String,
    pub help: Option<String>,
}

fn err(message: String, help: Option<&str>) -> UnitError {
    UnitError {
        message,
        help: help.map(str::to_owned),
    }
}

/// Parse a byte size: plain bytes, IEC suffixes `KiB MiB GiB TiB`, or `K M G T` with systemd's
/// 1024-based meaning (`512M` is 512 MiB). Fractions such as `1.5GiB` are allowed. SI-looking
/// suffixes (`MB`, `kb`) are refused: every other tool reads them as powers of 1000.
pub fn parse_size(input: &str) -> Result<u64, UnitError> {
    let s = input.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (number, suffix) = s.split_at(split);
    let suffix = suffix.trim();
    let shift = match suffix {
        "" | "B" => 0,
        "K" | "KiB" => 10,
        "M" | "MiB" => 20,
        "G" | "GiB" => 30,
        "T" | "TiB" => 40,
        "KB" | "MB" | "GB" | "TB" | "kB" | "kb" | "mb" | "gb" | "tb" | "k" | "m" | "g" => {
            let letter = suffix[..1].to_ascii_uppercase();
            return Err(err(
                format!("ambiguous size unit `{suffix}` in `{input}`"),
                Some(&format!(
                    "write {number}{letter}iB (or {number}{letter}, which means {letter}iB as in systemd)"
                )),
            ));
        }
        _ => {
            return Err(err(
                format!("unknown size unit `{suffix}` in `{input}`"),
                Some("use bytes or one of KiB, MiB, GiB, TiB (K, M, G, T mean the same)"),
            ))
        }
    };
    if number.is_empty() {
        return Err(err(
            format!("`{input}` is not a size"),
            Some("write a number and a unit, e.g. \"512MiB\""),
        ));
    }
    let multiplier = 1u64 << shift;
    let overflow = || {
        err(
            format!("size `{input}` is too large"),
            Some("sizes must be below 16 EiB (2^64 bytes)"),
        )
    };
    if let Some((int, frac)) = number.split_once('.') {
        if frac.contains('.') || (int.is_empty() && frac.is_empty()) {
            return Err(err(format!("`{input}` is not a size"), None));
        }
        let int: u64 = if int.is_empty() {
            0
        } else {
            int.parse().map_err(|_| overflow())?
        };
        let whole = int.checked_mul(multiplier).ok_or_else(overflow)?;
        // Exact decimal fraction: frac / 10^len * multiplier, rounded down to a byte.
        let digits = frac.len().min(18) as u32;
        let frac_num: u128 = frac[..digits as usize].parse().unwrap_or(0);
        let part = frac_num * u128::from(multiplier) / 10u128.pow(digits);
        let part = u64::try_from(part).map_err(|_| overflow())?;
        whole.checked_add(part).ok_or_else(overflow)
    } else {
        let n: u64 = number.parse().map_err(|_| overflow())?;
        n.checked_mul(multiplier).ok_or_else(overflow)
    }
}

/// Format bytes the way profiles write them (`100 MiB`), for messages.
pub fn format_size(bytes: u64) -> String {
    const UNITS: [(&str, u32); 4] = [("TiB", 40), ("GiB", 30), ("MiB", 20), ("KiB", 10)];
    for (name, shift) in UNITS {
        let unit = 1u64 << shift;
        if bytes >= unit {
            return if bytes.is_multiple_of(unit) {
                format!("{} {name}", bytes >> shift)
            } else {
                format!("{:.1} {name}", bytes as f64 / unit as f64)
            };
        }
    }
    format!("{bytes} bytes")
}

/// Parse a duration with humantime (`90s`, `1h 30m`, `500ms`).
pub fn parse_duration(input: &str) -> Result<std::time::Duration, UnitError> {
    humantime::parse_duration(input.trim()).map_err(|e| {
        err(
            format!("invalid duration `{input}`: {e}"),
            Some("write a number with a unit, e.g. \"90s\", \"5m\", \"1h 30m\", \"500ms\""),
        )
    })
}

/// Parse an octal mode or umask written as a string (`"0755"`, `"022"`, `"0o755"`).
pub fn parse_octal(input: &str, max: u32) -> Result<u32, UnitError> {
    let s = input.trim();
    let digits = s.strip_prefix("0o").unwrap_or(s);
    match u32::from_str_radix(digits, 8) {
        Ok(v) if v <= max => Ok(v),
        _ => Err(err(
            format!("`{input}` is not an octal mode up to {max:o}"),
            Some("write it as a string of octal digits, e.g. \"0755\" or \"022\""),
        )),
    }
}

/// Signal names and numbers (Linux x86_64/arm64 numbering).
pub const SIGNALS: &[(&str, i32)] = &[
    ("SIGHUP", 1),
    ("SIGINT", 2),
    ("SIGQUIT", 3),
    ("SIGILL", 4),
    ("SIGTRAP", 5),
    ("SIGABRT", 6),
    ("SIGBUS", 7),
    ("SIGFPE", 8),
    ("SIGKILL", 9),
    ("SIGUSR1", 10),
    ("SIGSEGV", 11),
    ("SIGUSR2", 12),
    ("SIGPIPE", 13),
    ("SIGALRM", 14),
    ("SIGTERM", 15),
    ("SIGSTKFLT", 16),
    ("SIGCHLD", 17),
    ("SIGCONT", 18),
    ("SIGSTOP", 19),
    ("SIGTSTP", 20),
    ("SIGTTIN", 21),
    ("SIGTTOU", 22),
    ("SIGURG", 23),
    ("SIGXCPU", 24),
    ("SIGXFSZ", 25),
    ("SIGVTALRM", 26),
    ("SIGPROF", 27),
    ("SIGWINCH", 28),
    ("SIGIO", 29),
    ("SIGPWR", 30),
    ("SIGSYS", 31),
];

/// Resolve a signal name (`SIGTERM`, `TERM`, `term`) or number to (number, canonical name).
pub fn parse_signal(input: &str) -> Result<(i32, String), UnitError> {
    let s = input.trim();
    if let Ok(n) = s.parse::<i32>() {
        return signal_name(n)
            .map(|name| (n, name.to_owned()))
            .ok_or_else(|| err(format!("unknown signal number {n}"), Some("use 1..31")));
    }
    let upper = s.to_ascii_uppercase();
    let full = if upper.starts_with("SIG") {
        upper
    } else {
        format!("SIG{upper}")
    };
    match SIGNALS.iter().find(|(n, _)| *n == full) {
        Some((name, n)) => Ok((*n, (*name).to_owned())),
        None => {
            let hint = crate::diag::did_you_mean(&full, SIGNALS.iter().map(|(n, _)| *n))
                .map(|m| format!("did you mean `{m}`?"));
            Err(UnitError {
                message: format!("unknown signal `{input}`"),
                help: hint.or_else(|| Some("use a name such as SIGTERM or a number".into())),
            })
        }
    }
}

/// Canonical name of a signal number.
pub fn signal_name(n: i32) -> Option<&'static str> {
    SIGNALS.iter().find(|(_, v)| *v == n).map(|(name, _)| *name)
}

/// errno names accepted in seccomp actions (`errno:NAME`), Linux numbering.
pub const ERRNOS: &[(&str, i32)] = &[
    ("EPERM", 1),
    ("ENOENT", 2),
    ("ESRCH", 3),
    ("EINTR", 4),
    ("EIO", 5),
    ("ENXIO", 6),
    ("E2BIG", 7),
    ("ENOEXEC", 8),
    ("EBADF", 9),
    ("ECHILD", 10),
    ("EAGAIN", 11),
    ("ENOMEM", 12),
    ("EACCES", 13),
    ("EFAULT", 14),
    ("EBUSY", 16),
    ("EEXIST", 17),
    ("EXDEV", 18),
    ("ENODEV", 19),
    ("ENOTDIR", 20),
    ("EISDIR", 21),
    ("EINVAL", 22),
    ("ENFILE", 23),
    ("EMFILE", 24),
    ("ENOTTY", 25),
    ("ETXTBSY", 26),
    ("EFBIG", 27),
    ("ENOSPC", 28),
    ("ESPIPE", 29),
    ("EROFS", 30),
    ("EMLINK", 31),
    ("EPIPE", 32),
    ("ERANGE", 34),
    ("ENOSYS", 38),
    ("ENOTSUP", 95),
    ("EOPNOTSUPP", 95),
    ("EAFNOSUPPORT", 97),
    ("EADDRINUSE", 98),
    ("ENETUNREACH", 101),
    ("ECONNREFUSED", 111),
    ("EHOSTUNREACH", 113),
    ("ETIMEDOUT", 110),
];

/// Canonical name of an errno number (the first listed for it).
pub fn errno_name(n: i32) -> Option<&'static str> {
    ERRNOS.iter().find(|(_, v)| *v == n).map(|(name, _)| *name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_follow_systemd() {
        assert_eq!(parse_size("512MiB"), Ok(536870912));
        assert_eq!(parse_size("512M"), Ok(536870912));
        assert_eq!(parse_size("64K"), Ok(65536));
        assert_eq!(parse_size("1.5GiB"), Ok(1610612736));
        assert_eq!(parse_size("4096"), Ok(4096));
        assert!(parse_size("512MB").is_err());
        assert!(parse_size("512mb").is_err());
        assert!(parse_size("99999999999999999999G").is_err());
        assert!(parse_size("17179869184G").is_err());
        assert!(parse_size("G").is_err());
        assert!(parse_size("1.2.3M").is_err());
        assert!(parse_size("12 parsecs").is_err());
    }

    #[test]
    fn formats_sizes() {
        assert_eq!(format_size(100 << 20), "100 MiB");
        assert_eq!(format_size(1536 << 20), "1.5 GiB");
        assert_eq!(format_size(10), "10 bytes");
    }

    #[test]
    fn durations_and_modes() {
        assert_eq!(parse_duration("1m 30s").map(|d| d.as_secs()), Ok(90));
        assert!(parse_duration("10").is_err());
        assert_eq!(parse_octal("0755", 0o7777), Ok(0o755));
        assert_eq!(parse_octal("0o22", 0o777), Ok(0o22));
        assert!(parse_octal("0999", 0o7777).is_err());
        assert!(parse_octal("01000", 0o777).is_err());
    }

    #[test]
    fn errno_names() {
        assert_eq!(errno_name(1), Some("EPERM"));
        assert_eq!(errno_name(13), Some("EACCES"));
        assert_eq!(errno_name(4095), None);
    }

    #[test]
    fn signals() {
        assert_eq!(parse_signal("TERM").map(|s| s.0), Ok(15));
        assert_eq!(parse_signal("sigkill").map(|s| s.0), Ok(9));
        assert_eq!(parse_signal("1").map(|s| s.1), Ok("SIGHUP".to_string()));
        let e = parse_signal("SIGTREM").unwrap_err();
        assert_eq!(e.help.as_deref(), Some("did you mean `SIGTERM`?"));
    }
}
