//! Subcommands that try one thing and report what happened (the errno when it failed),
//! plus payload behaviours the lifecycle tests need (exit, signals, zombies).

use crate::{emit, errno_name, result_json, Command};
use serde_json::{json, Map, Value};
use std::io::{Read, Write};
use std::time::Duration;

pub const COMMANDS: &[Command] = &[
    ("try-write", "PATH: create/append to PATH", try_write),
    (
        "try-read",
        "PATH: read PATH (a file, or list a directory)",
        try_read,
    ),
    (
        "try-exec",
        "PATH [ARGS]: run PATH and report its status or errno",
        try_exec,
    ),
    (
        "try-mount",
        "[TARGET]: mount a tmpfs on TARGET (default /tmp)",
        try_mount,
    ),
    ("try-mkdir", "PATH: mkdir PATH", try_mkdir),
    (
        "try-tiocsti",
        "[FD]: push a character into the terminal's input with TIOCSTI",
        tiocsti,
    ),
    (
        "stat",
        "PATH: lstat PATH: type, mode, uid, gid, symlink target",
        stat,
    ),
    ("sleep", "SECONDS: sleep (fractions allowed)", sleep),
    ("exit", "N: exit with status N", exit),
    (
        "kill-self",
        "SIG: send signal SIG (number) to itself, then exit 0 if alive",
        kill_self,
    ),
    (
        "spawn-zombies",
        "N: leave N orphans to PID 1, then count zombies",
        spawn_zombies,
    ),
    (
        "pause",
        "[SIG]: print each signal received; exit 0 on SIG (default 15)",
        pause,
    ),
    ("cat", "PATH: print PATH's content as a JSON string", cat),
];

fn base(op: &str, path: &str) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("op".into(), Value::String(op.into()));
    m.insert("path".into(), Value::String(path.into()));
    m
}

fn arg<'a>(args: &'a [String], i: usize, what: &str) -> Option<&'a str> {
    let a = args.get(i).map(String::as_str);
    if a.is_none() {
        eprintln!("stockade-probe: missing {what}");
    }
    a
}

fn try_write(args: &[String]) -> i32 {
    let Some(p) = arg(args, 0, "PATH") else {
        return 2;
    };
    let r = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(p)
        .and_then(|mut f| f.write_all(b"x"));
    emit(&result_json(base("write", p), r));
    0
}

fn try_read(args: &[String]) -> i32 {
    let Some(p) = arg(args, 0, "PATH") else {
        return 2;
    };
    let r = if std::path::Path::new(p).is_dir() {
        std::fs::read_dir(p).map(drop)
    } else {
        std::fs::File::open(p).and_then(|mut f| {
            let mut b = [0u8; 64];
            f.read(&mut b).map(drop)
        })
    };
    emit(&result_json(base("read", p), r));
    0
}

fn try_mkdir(args: &[String]) -> i32 {
    let Some(p) = arg(args, 0, "PATH") else {
        return 2;
    };
    emit(&result_json(base("mkdir", p), std::fs::create_dir(p)));
    0
}

fn try_exec(args: &[String]) -> i32 {
    let Some(p) = arg(args, 0, "PATH") else {
        return 2;
    };
    let mut m = base("exec", p);
    match std::process::Command::new(p).args(&args[1..]).status() {
        Ok(st) => {
            m.insert("ok".into(), Value::Bool(true));
            m.insert("status".into(), json!(st.code()));
        }
        Err(e) => {
            m.insert("ok".into(), Value::Bool(false));
            m.insert("errno".into(), json!(e.raw_os_error().map(errno_name)));
        }
    }
    emit(&Value::Object(m));
    0
}

fn try_mount(args: &[String]) -> i32 {
    let target = args.first().map_or("/tmp", String::as_str);
    let r = nix::mount::mount(
        Some("tmpfs"),
        target,
        Some("tmpfs"),
        nix::mount::MsFlags::empty(),
        None::<&str>,
    )
    .map_err(|e| std::io::Error::from_raw_os_error(e as i32));
    emit(&result_json(base("mount", target), r));
    0
}

fn tiocsti(args: &[String]) -> i32 {
    let fd: i32 = args.first().and_then(|a| a.parse().ok()).unwrap_or(0);
    let c: libc::c_char = b'#' as libc::c_char;
    // SAFETY: TIOCSTI reads one char from a valid pointer.
    let r = unsafe { libc::ioctl(fd, libc::TIOCSTI, &c) };
    let res = if r == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    };
    emit(&result_json(base("tiocsti", &fd.to_string()), res));
    0
}

fn stat(args: &[String]) -> i32 {
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    let Some(p) = arg(args, 0, "PATH") else {
        return 2;
    };
    let mut m = base("stat", p);
    match std::fs::symlink_metadata(p) {
        Ok(md) => {
            let ft = md.file_type();
            let kind = if ft.is_symlink() {
                "symlink"
            } else if ft.is_dir() {
                "dir"
            } else if ft.is_char_device() {
                "char"
            } else {
                "file"
            };
            m.insert("ok".into(), Value::Bool(true));
            m.insert("type".into(), json!(kind));
            m.insert("mode".into(), json!(md.mode() & 0o7777));
            m.insert("uid".into(), json!(md.uid()));
            m.insert("gid".into(), json!(md.gid()));
            m.insert("size".into(), json!(md.size()));
            let link = std::fs::read_link(p)
                .ok()
                .map(|l| l.to_string_lossy().into_owned());
            m.insert("link".into(), json!(link));
        }
        Err(e) => {
            m.insert("ok".into(), Value::Bool(false));
            m.insert("errno".into(), json!(e.raw_os_error().map(errno_name)));
        }
    }
    emit(&Value::Object(m));
    0
}

fn sleep(args: &[String]) -> i32 {
    let s: f64 = args.first().and_then(|a| a.parse().ok()).unwrap_or(3600.0);
    std::thread::sleep(Duration::from_secs_f64(s));
    0
}

fn exit(args: &[String]) -> i32 {
    args.first().and_then(|a| a.parse().ok()).unwrap_or(0)
}

fn kill_self(args: &[String]) -> i32 {
    let sig: i32 = args
        .first()
        .and_then(|a| a.parse().ok())
        .unwrap_or(libc::SIGTERM);
    // SAFETY: kill/getpid with integer arguments.
    unsafe { libc::kill(libc::getpid(), sig) };
    std::thread::sleep(Duration::from_millis(200));
    emit(&json!({"op": "kill-self", "alive": true, "signal": sig}));
    0
}

fn count_zombies() -> usize {
    let Ok(rd) = std::fs::read_dir("/proc") else {
        return 0;
    };
    rd.flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .bytes()
                .all(|b| b.is_ascii_digit())
        })
        .filter_map(|e| std::fs::read_to_string(e.path().join("stat")).ok())
        .filter(|s| {
            s.rsplit_once(')')
                .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z'))
        })
        .count()
}

fn spawn_zombies(args: &[String]) -> i32 {
    let n: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(3);
    // Every grandchild holds the write end of this pipe: EOF means they have all exited.
    let mut p = [0; 2];
    // SAFETY: valid array.
    if unsafe { libc::pipe(p.as_mut_ptr()) } != 0 {
        return 1;
    }
    for _ in 0..n {
        // Each child forks a grandchild and exits at once: the grandchild is reparented
        // to PID 1 and exits a little later; only a reaping PID 1 makes it disappear.
        // SAFETY: fork in a single-threaded program; the children only sleep and _exit.
        match unsafe { libc::fork() } {
            0 => unsafe {
                if libc::fork() == 0 {
                    libc::close(p[0]);
                    libc::usleep(50_000);
                    libc::_exit(0);
                }
                libc::_exit(0);
            },
            pid if pid > 0 => {
                let mut st = 0;
                // SAFETY: valid out pointer.
                unsafe { libc::waitpid(pid, &mut st, 0) };
            }
            _ => return 1,
        }
    }
    // SAFETY: closing our write end, then reading until every grandchild closed its own.
    unsafe {
        libc::close(p[1]);
        let mut b = [0u8; 1];
        while libc::read(p[0], b.as_mut_ptr().cast(), 1) > 0 {}
    }
    // Now count: a reaping PID 1 brings it to 0; without one the count stays at n. Wait
    // for 0, or for a count that holds steady for 300 ms (bounded at 20 s).
    let start = std::time::Instant::now();
    let mut last = (usize::MAX, std::time::Instant::now());
    let zombies = loop {
        let c = count_zombies();
        if c == 0 || start.elapsed() > Duration::from_secs(20) {
            break c;
        }
        if c != last.0 {
            last = (c, std::time::Instant::now());
        } else if last.1.elapsed() > Duration::from_millis(300) {
            break c;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    emit(&json!({"op": "spawn-zombies", "spawned": n, "zombies": zombies}));
    0
}

fn pause(args: &[String]) -> i32 {
    let stop: i32 = args
        .first()
        .and_then(|a| a.parse().ok())
        .unwrap_or(libc::SIGTERM);
    // SAFETY: building and installing a full signal mask; sigwaitinfo takes them in turn.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigfillset(&mut set);
        libc::sigprocmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        emit(&json!({"op": "pause", "ready": true, "pid": libc::getpid()}));
        loop {
            let mut info: libc::siginfo_t = std::mem::zeroed();
            let sig = libc::sigwaitinfo(&set, &mut info);
            if sig < 0 {
                continue;
            }
            emit(&json!({"signal": sig}));
            if sig == stop {
                return 0;
            }
        }
    }
}

fn cat(args: &[String]) -> i32 {
    let Some(p) = arg(args, 0, "PATH") else {
        return 2;
    };
    let mut m = base("cat", p);
    match std::fs::read(p) {
        Ok(b) => {
            m.insert("ok".into(), Value::Bool(true));
            m.insert(
                "content".into(),
                Value::String(String::from_utf8_lossy(&b).into_owned()),
            );
        }
        Err(e) => {
            m.insert("ok".into(), Value::Bool(false));
            m.insert("errno".into(), json!(e.raw_os_error().map(errno_name)));
        }
    }
    emit(&Value::Object(m));
    0
}
