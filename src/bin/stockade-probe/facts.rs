//! `facts`: everything the sandbox looks like from inside.

use crate::{emit, Command};
use serde_json::{json, Map, Value};
use std::fs;

pub const COMMANDS: &[Command] = &[("facts", "print every fact as one JSON object", facts)];

const NAMESPACES: [&str; 10] = [
    "cgroup",
    "ipc",
    "mnt",
    "net",
    "pid",
    "pid_for_children",
    "time",
    "time_for_children",
    "user",
    "uts",
];

/// Inode numbers of /proc/self/ns/* (`net:[4026531840]` → 4026531840).
pub fn namespaces() -> Value {
    let mut m = Map::new();
    for ns in NAMESPACES {
        let v = fs::read_link(format!("/proc/self/ns/{ns}"))
            .ok()
            .and_then(|l| {
                let s = l.to_string_lossy().into_owned();
                let start = s.find('[')? + 1;
                s[start..s.len().checked_sub(1)?].parse::<u64>().ok()
            })
            .map_or(Value::Null, Value::from);
        m.insert(ns.into(), v);
    }
    Value::Object(m)
}

fn id_map(file: &str) -> Value {
    match fs::read_to_string(file) {
        Ok(s) => Value::Array(
            s.lines()
                .map(|l| {
                    Value::Array(
                        l.split_whitespace()
                            .filter_map(|n| n.parse::<u64>().ok())
                            .map(Value::from)
                            .collect(),
                    )
                })
                .collect(),
        ),
        Err(_) => Value::Null,
    }
}

/// /proc/self/mountinfo: one object per mount.
fn mounts() -> Value {
    let Ok(s) = fs::read_to_string("/proc/self/mountinfo") else {
        return Value::Null;
    };
    let unescape = |p: &str| {
        p.replace("\\040", " ")
            .replace("\\011", "\t")
            .replace("\\012", "\n")
            .replace("\\134", "\\")
    };
    Value::Array(
        s.lines()
            .filter_map(|l| {
                let (pre, post) = l.split_once(" - ")?;
                let f: Vec<&str> = pre.split(' ').collect();
                let g: Vec<&str> = post.split(' ').collect();
                Some(json!({
                    "id": f.first()?.parse::<u64>().ok()?,
                    "parent": f.get(1)?.parse::<u64>().ok()?,
                    "root": unescape(f.get(3)?),
                    "target": unescape(f.get(4)?),
                    "options": f.get(5)?.split(',').collect::<Vec<_>>(),
                    "fstype": g.first()?,
                    "source": g.get(1)?,
                    "super_options": g.get(2).map(|o| o.split(',').collect::<Vec<_>>()),
                }))
            })
            .collect(),
    )
}

fn status_fields() -> Value {
    let mut m = Map::new();
    if let Ok(s) = fs::read_to_string("/proc/self/status") {
        for l in s.lines() {
            if let Some((k, v)) = l.split_once(':') {
                if matches!(
                    k,
                    "CapInh"
                        | "CapPrm"
                        | "CapEff"
                        | "CapBnd"
                        | "CapAmb"
                        | "NoNewPrivs"
                        | "Seccomp"
                        | "Seccomp_filters"
                        | "Umask"
                        | "SigBlk"
                        | "SigIgn"
                        | "NSpid"
                ) {
                    m.insert(k.into(), Value::String(v.trim().into()));
                }
            }
        }
    }
    Value::Object(m)
}

const RLIMITS: [(&str, libc::__rlimit_resource_t); 16] = [
    ("RLIMIT_CPU", libc::RLIMIT_CPU),
    ("RLIMIT_FSIZE", libc::RLIMIT_FSIZE),
    ("RLIMIT_DATA", libc::RLIMIT_DATA),
    ("RLIMIT_STACK", libc::RLIMIT_STACK),
    ("RLIMIT_CORE", libc::RLIMIT_CORE),
    ("RLIMIT_RSS", libc::RLIMIT_RSS),
    ("RLIMIT_NPROC", libc::RLIMIT_NPROC),
    ("RLIMIT_NOFILE", libc::RLIMIT_NOFILE),
    ("RLIMIT_MEMLOCK", libc::RLIMIT_MEMLOCK),
    ("RLIMIT_AS", libc::RLIMIT_AS),
    ("RLIMIT_LOCKS", libc::RLIMIT_LOCKS),
    ("RLIMIT_SIGPENDING", libc::RLIMIT_SIGPENDING),
    ("RLIMIT_MSGQUEUE", libc::RLIMIT_MSGQUEUE),
    ("RLIMIT_NICE", libc::RLIMIT_NICE),
    ("RLIMIT_RTPRIO", libc::RLIMIT_RTPRIO),
    ("RLIMIT_RTTIME", libc::RLIMIT_RTTIME),
];

fn rlimits() -> Value {
    let mut m = Map::new();
    for (name, r) in RLIMITS {
        let mut l = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: l is a valid out pointer.
        if unsafe { libc::getrlimit(r, &mut l) } == 0 {
            m.insert(name.into(), json!([l.rlim_cur, l.rlim_max]));
        }
    }
    Value::Object(m)
}

/// Open fds, found with fcntl (works without /proc), with their targets when /proc is there.
fn fds() -> Value {
    let mut v = Vec::new();
    for fd in 0..4096 {
        // SAFETY: F_GETFD on any number is harmless.
        let flags = unsafe { libc::fcntl(fd, libc::F_GETFD) };
        if flags < 0 {
            continue;
        }
        let target = fs::read_link(format!("/proc/self/fd/{fd}"))
            .map(|p| p.to_string_lossy().into_owned())
            .ok();
        v.push(json!({"fd": fd, "cloexec": flags & libc::FD_CLOEXEC != 0, "target": target}));
    }
    Value::Array(v)
}

fn dev() -> Value {
    let Ok(rd) = fs::read_dir("/dev") else {
        return Value::Null;
    };
    let mut m = Map::new();
    for e in rd.flatten() {
        // lstat, not the dirent type: a bind-mounted device shows the type of what is
        // mounted, the dirent the type of the mount point underneath.
        let Ok(md) = fs::symlink_metadata(e.path()) else {
            continue;
        };
        let ft = md.file_type();
        use std::os::unix::fs::FileTypeExt;
        let kind = if ft.is_symlink() {
            format!(
                "symlink:{}",
                fs::read_link(e.path())
                    .map(|p| p.to_string_lossy().into_owned())
                    .unwrap_or_default()
            )
        } else if ft.is_char_device() {
            "char".into()
        } else if ft.is_dir() {
            "dir".into()
        } else {
            "file".into()
        };
        m.insert(
            e.file_name().to_string_lossy().into_owned(),
            Value::String(kind),
        );
    }
    Value::Object(m)
}

fn interfaces() -> Value {
    let Ok(s) = fs::read_to_string("/proc/self/net/dev") else {
        return Value::Null;
    };
    let mut m = Map::new();
    for l in s.lines().skip(2) {
        let Some((name, _)) = l.split_once(':') else {
            continue;
        };
        let name = name.trim();
        let up = fs::read_to_string(format!("/sys/class/net/{name}/operstate")).ok();
        let flags = iface_flags(name);
        m.insert(
            name.into(),
            json!({"up": flags.map(|f| f & libc::IFF_UP != 0), "operstate": up.map(|s| s.trim().to_string())}),
        );
    }
    Value::Object(m)
}

fn iface_flags(name: &str) -> Option<i32> {
    #[repr(C)]
    struct Ifr {
        name: [u8; 16],
        flags: libc::c_short,
        pad: [u8; 22],
    }
    let mut r = Ifr {
        name: [0; 16],
        flags: 0,
        pad: [0; 22],
    };
    let n = name.as_bytes();
    if n.len() >= 16 {
        return None;
    }
    r.name[..n.len()].copy_from_slice(n);
    // SAFETY: socket/ioctl/close with a valid ifreq-sized buffer.
    unsafe {
        let s = libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0);
        if s < 0 {
            return None;
        }
        let ok = libc::ioctl(s, libc::SIOCGIFFLAGS, &mut r) == 0;
        libc::close(s);
        ok.then_some(i32::from(r.flags))
    }
}

fn clock(id: libc::clockid_t) -> f64 {
    let mut t = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: t is a valid out pointer.
    unsafe { libc::clock_gettime(id, &mut t) };
    t.tv_sec as f64 + t.tv_nsec as f64 / 1e9
}

fn uts_field(f: &[libc::c_char]) -> String {
    let bytes: Vec<u8> = f
        .iter()
        .take_while(|c| **c != 0)
        .map(|c| *c as u8)
        .collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Every fact in one object.
pub fn collect() -> Value {
    let (mut ru, mut eu, mut su, mut rg, mut eg, mut sg) = (0, 0, 0, 0, 0, 0);
    // SAFETY: plain out pointers and syscalls without preconditions.
    let (pid, ppid, sid, pgid, umask) = unsafe {
        libc::getresuid(&mut ru, &mut eu, &mut su);
        libc::getresgid(&mut rg, &mut eg, &mut sg);
        let m = libc::umask(0o022);
        libc::umask(m);
        (
            libc::getpid(),
            libc::getppid(),
            libc::getsid(0),
            libc::getpgid(0),
            m,
        )
    };
    let groups = nix::unistd::getgroups()
        .map(|g| g.into_iter().map(|g| g.as_raw()).collect::<Vec<_>>())
        .unwrap_or_default();
    // SAFETY: uts is a valid out pointer.
    let mut uts: libc::utsname = unsafe { std::mem::zeroed() };
    unsafe { libc::uname(&mut uts) };
    let env: Map<String, Value> = std::env::vars_os()
        .map(|(k, v)| {
            (
                k.to_string_lossy().into_owned(),
                Value::String(v.to_string_lossy().into_owned()),
            )
        })
        .collect();
    // SAFETY: isatty has no preconditions.
    let tty = unsafe { libc::isatty(0) } == 1;
    json!({
        "pid": pid, "ppid": ppid, "sid": sid, "pgid": pgid,
        "uid": [ru, eu, su], "gid": [rg, eg, sg], "groups": groups,
        "uid_map": id_map("/proc/self/uid_map"),
        "gid_map": id_map("/proc/self/gid_map"),
        "setgroups": fs::read_to_string("/proc/self/setgroups").ok().map(|s| s.trim().to_string()),
        "hostname": uts_field(&uts.nodename),
        "domainname": uts_field(&uts.domainname),
        "namespaces": namespaces(),
        "mounts": mounts(),
        "env": env,
        "cwd": std::env::current_dir().ok().map(|p| p.to_string_lossy().into_owned()),
        "umask": umask,
        "rlimits": rlimits(),
        "fds": fds(),
        "dev": dev(),
        "status": status_fields(),
        "interfaces": interfaces(),
        "clock": {"monotonic": clock(libc::CLOCK_MONOTONIC), "boottime": clock(libc::CLOCK_BOOTTIME)},
        "cgroup": fs::read_to_string("/proc/self/cgroup").ok(),
        "stdin_tty": tty,
    })
}

fn facts(_: &[String]) -> i32 {
    emit(&collect());
    0
}
