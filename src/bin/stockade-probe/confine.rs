//! Confinement probes: each subcommand attempts one thing from inside the sandbox and prints
//! one JSON object saying what the kernel answered. The probe exits 0 whenever it could make
//! the attempt (the JSON carries the outcome), 2 on a usage error; a seccomp kill shows as
//! the probe dying by SIGSYS.
//!
//! | subcommand | prints |
//! |---|---|
//! | `try-syscall NAME [ARG...]` | `{"syscall","ret"}` or `{"syscall","errno"}` (raw syscall, args decimal or 0x-hex) |
//! | `try-connect PORT`, `try-bind PORT` | TCP on 127.0.0.1 |
//! | `abstract-connect NAME` | connect to the abstract unix socket `@NAME` |
//! | `try-kill PID [SIG]` | kill(2), signal 0 by default |
//! | `x32-syscall`, `i386-syscall` | getpid through the x32 / `int 0x80` entry |
//! | `ids` | real/effective/saved uid and gid, CapEff |
//!
//! Reading, writing, executing, TIOCSTI (`tries`) and the capability sets, no_new_privs
//! and rlimits (`facts`) come from the other probe modules.

use serde_json::{json, Value};

/// The subcommands this module adds to the probe.
pub const COMMANDS: &[super::Command] = &[
    (
        "try-syscall",
        "NAME [ARG...]: raw syscall with integer args; ret or errno",
        |a| dispatch("try-syscall", a).unwrap_or(2),
    ),
    ("try-connect", "PORT: TCP connect to 127.0.0.1:PORT", |a| {
        dispatch("try-connect", a).unwrap_or(2)
    }),
    (
        "try-bind",
        "PORT: bind a TCP socket to 127.0.0.1:PORT",
        |a| dispatch("try-bind", a).unwrap_or(2),
    ),
    (
        "abstract-connect",
        "NAME: connect to the abstract unix socket @NAME",
        |a| dispatch("abstract-connect", a).unwrap_or(2),
    ),
    (
        "try-kill",
        "PID [SIG]: kill(PID, SIG), signal 0 by default",
        |a| dispatch("try-kill", a).unwrap_or(2),
    ),
    ("x32-syscall", "getpid through the x32 ABI", |a| {
        dispatch("x32-syscall", a).unwrap_or(2)
    }),
    (
        "i386-syscall",
        "getpid through int 0x80 (the i386 ABI)",
        |a| dispatch("i386-syscall", a).unwrap_or(2),
    ),
    ("ids", "real/effective/saved uid and gid, CapEff", |a| {
        dispatch("ids", a).unwrap_or(2)
    }),
];

/// Run a confinement subcommand, print its JSON line and return the exit code; `None` if
/// `cmd` is not one of them.
pub fn dispatch(cmd: &str, args: &[String]) -> Option<i32> {
    Some(match run(cmd, args)? {
        Ok(v) => {
            println!("{v}");
            0
        }
        Err(usage) => {
            eprintln!("stockade-probe {cmd}: {usage}");
            2
        }
    })
}

/// Run a confinement subcommand and return its JSON (or a usage error); `None` if `cmd`
/// is not one of them.
pub fn run(cmd: &str, args: &[String]) -> Option<Result<Value, String>> {
    Some(match cmd {
        "try-syscall" => try_syscall(args),
        "try-connect" => port_arg(args).map(|p| tcp(p, false)),
        "try-bind" => port_arg(args).map(|p| tcp(p, true)),
        "abstract-connect" => args
            .first()
            .map(|n| abstract_connect(n))
            .ok_or_else(|| "usage: abstract-connect NAME".to_string()),
        "try-kill" => try_kill(args),
        "x32-syscall" => Ok(result(x32_getpid())),
        "i386-syscall" => Ok(result(i386_getpid())),
        "ids" => Ok(ids()),
        _ => return None,
    })
}

/// `{"ret": n}` for a non-negative return, else `{"errno": "EPERM", "errno_num": 1}`.
fn result(ret: i64) -> Value {
    if ret >= 0 {
        json!({ "ret": ret })
    } else {
        let e = nix::Error::last();
        json!({ "errno": format!("{e:?}"), "errno_num": e as i32 })
    }
}

fn parse_u64(s: &str) -> Result<u64, String> {
    let r = match s.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => s
            .parse::<u64>()
            .or_else(|_| s.parse::<i64>().map(|v| v as u64)),
    };
    r.map_err(|_| format!("`{s}` is not a number"))
}

fn try_syscall(args: &[String]) -> Result<Value, String> {
    let (name, rest) = args
        .split_first()
        .ok_or("usage: try-syscall NAME [ARG...]")?;
    let nr = stockade::exec::confine::resolve_syscall(name)
        .filter(|n| *n >= 0)
        .ok_or_else(|| format!("unknown syscall `{name}` on this architecture"))?;
    if rest.len() > 6 {
        return Err("at most 6 arguments".into());
    }
    let mut a = [0u64; 6];
    for (slot, s) in a.iter_mut().zip(rest) {
        *slot = parse_u64(s)?;
    }
    // SAFETY: the caller chooses the syscall and its arguments on purpose; pointers are
    // never passed (arguments are plain integers).
    let ret = unsafe { libc::syscall(i64::from(nr), a[0], a[1], a[2], a[3], a[4], a[5]) };
    let mut v = result(ret);
    v["syscall"] = json!(name);
    Ok(v)
}

fn port_arg(args: &[String]) -> Result<u16, String> {
    let p = args.first().ok_or("usage: SUBCOMMAND PORT")?;
    p.parse().map_err(|_| format!("`{p}` is not a port"))
}

fn ok_or_errno(rc: i64) -> Value {
    if rc >= 0 {
        json!({ "ok": true })
    } else {
        let mut v = result(rc);
        v["ok"] = json!(false);
        v
    }
}

fn tcp(port: u16, bind: bool) -> Value {
    // SAFETY: plain socket/bind/connect on a stack sockaddr_in; the fd is closed.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0);
        if fd < 0 {
            return ok_or_errno(-1);
        }
        let addr = libc::sockaddr_in {
            sin_family: libc::AF_INET as libc::sa_family_t,
            sin_port: port.to_be(),
            sin_addr: libc::in_addr {
                s_addr: u32::from_be_bytes([127, 0, 0, 1]).to_be(),
            },
            sin_zero: [0; 8],
        };
        let p = &addr as *const libc::sockaddr_in as *const libc::sockaddr;
        let len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
        let rc = if bind {
            libc::bind(fd, p, len)
        } else {
            libc::connect(fd, p, len)
        };
        let v = ok_or_errno(i64::from(rc));
        libc::close(fd);
        v
    }
}

fn abstract_connect(name: &str) -> Value {
    // SAFETY: sockaddr_un built on the stack with a bounded copy; the fd is closed.
    unsafe {
        let fd = libc::socket(libc::AF_UNIX, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0);
        if fd < 0 {
            return ok_or_errno(-1);
        }
        let mut addr: libc::sockaddr_un = std::mem::zeroed();
        addr.sun_family = libc::AF_UNIX as libc::sa_family_t;
        let bytes = name.as_bytes();
        let n = bytes.len().min(addr.sun_path.len() - 1);
        for (dst, src) in addr.sun_path[1..=n].iter_mut().zip(bytes) {
            *dst = *src as libc::c_char;
        }
        let len = (std::mem::size_of::<libc::sa_family_t>() + 1 + n) as libc::socklen_t;
        let rc = libc::connect(fd, &addr as *const _ as *const libc::sockaddr, len);
        let v = ok_or_errno(i64::from(rc));
        libc::close(fd);
        v
    }
}

fn try_kill(args: &[String]) -> Result<Value, String> {
    let pid: i32 = args
        .first()
        .ok_or("usage: try-kill PID [SIG]")?
        .parse()
        .map_err(|_| "PID must be a number".to_string())?;
    let sig: i32 = match args.get(1) {
        Some(s) => s.parse().map_err(|_| "SIG must be a number".to_string())?,
        None => 0,
    };
    // SAFETY: kill takes integers only.
    Ok(ok_or_errno(i64::from(unsafe { libc::kill(pid, sig) })))
}

/// getpid through the x32 ABI: the x86_64 number with bit 30 (__X32_SYSCALL_BIT) set.
fn x32_getpid() -> i64 {
    // SAFETY: getpid takes no arguments on any ABI.
    unsafe { libc::syscall(libc::SYS_getpid | 0x4000_0000) }
}

/// getpid through the ia32 `int 0x80` entry (i386 getpid = 20); -errno on failure.
fn i386_getpid() -> i64 {
    let ret: i64;
    // SAFETY: int 0x80 with eax=20 is getpid on the ia32 ABI and takes no arguments; the
    // 32-bit entry may clobber r8-r11.
    unsafe {
        std::arch::asm!("int 0x80", inlateout("rax") 20i64 => ret,
            out("r8") _, out("r9") _, out("r10") _, out("r11") _, options(nostack));
    }
    if ret < 0 {
        // The raw entry returns -errno instead of setting errno.
        // SAFETY: writing this thread's errno.
        unsafe { *libc::__errno_location() = (-ret) as i32 };
        return -1;
    }
    ret
}

fn ids() -> Value {
    let (mut r, mut e, mut s) = (0, 0, 0);
    let (mut rg, mut eg, mut sg) = (0, 0, 0);
    // SAFETY: getres[ug]id write three ids each.
    unsafe {
        libc::getresuid(&mut r, &mut e, &mut s);
        libc::getresgid(&mut rg, &mut eg, &mut sg);
    }
    json!({
        "uid": r, "euid": e, "suid": s, "gid": rg, "egid": eg, "sgid": sg,
        "cap_eff": status_field("CapEff:"),
    })
}

fn status_field(name: &str) -> Option<String> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(name))
        .map(|v| v.trim().to_string())
}
