//! What the tracer reads of a stopped tracee: its memory (strings, socket addresses), its
//! `/proc` entries (executable mappings, fds, cwd), names resolved as the kernel resolved
//! them, and syscall names by number and ABI.

use std::os::unix::fs::FileExt;
use std::path::PathBuf;

pub(super) const AUDIT_ARCH_I386: u32 = 0x4000_0003;
pub(super) const X32_BIT: u64 = 0x4000_0000;

pub(super) fn readlink(p: String) -> Option<String> {
    std::fs::read_link(p)
        .ok()
        .map(|l| l.to_string_lossy().into_owned())
}

/// Files mapped executable in `pid` (the program and its ELF interpreter after an exec).
pub(super) fn executable_mappings(pid: libc::pid_t) -> Vec<String> {
    let maps = std::fs::read_to_string(format!("/proc/{pid}/maps")).unwrap_or_default();
    let mut out: Vec<String> = maps
        .lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            let perms = f.nth(1)?;
            let path = f.nth(3)?;
            (perms.contains('x') && path.starts_with('/')).then(|| path.to_owned())
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

/// ABI and name of a syscall number.
pub(super) fn syscall_name(nr: u64, arch: u32) -> (&'static str, Option<String>) {
    use libseccomp::{ScmpArch, ScmpSyscall};
    let (abi, sarch, nr) = if arch == AUDIT_ARCH_I386 {
        ("x86", ScmpArch::X86, nr)
    } else if nr & X32_BIT != 0 {
        ("x32", ScmpArch::X32, nr)
    } else {
        ("x86_64", ScmpArch::X8664, nr)
    };
    let name = i32::try_from(nr)
        .ok()
        .and_then(|n| ScmpSyscall::from(n).get_name_by_arch(sarch).ok());
    (abi, name)
}

pub(super) fn read_mem(pid: libc::pid_t, addr: u64, len: usize) -> Option<Vec<u8>> {
    let f = std::fs::File::open(format!("/proc/{pid}/mem")).ok()?;
    let mut buf = vec![0u8; len];
    let n = f.read_at(&mut buf, addr).ok()?;
    buf.truncate(n);
    Some(buf)
}

pub(super) fn read_string(pid: libc::pid_t, addr: u64) -> Option<String> {
    let buf = read_mem(pid, addr, 4096)?;
    let end = buf.iter().position(|&b| b == 0)?;
    String::from_utf8(buf[..end].to_vec()).ok()
}

/// A name as the kernel resolves it: absolute, relative to the tracee's working directory
/// (no dirfd, or `AT_FDCWD`), or relative to the directory its `dirfd` refers to
/// (`/proc/PID/fd/N`, read at the syscall's exit while the fd is still open).
pub(super) fn resolve(pid: libc::pid_t, dirfd: Option<i32>, name: &str) -> String {
    if name.starts_with('/') {
        return name.to_owned();
    }
    let base = match dirfd {
        Some(fd) if fd != libc::AT_FDCWD && fd >= 0 => readlink(format!("/proc/{pid}/fd/{fd}")),
        _ => None,
    }
    .or_else(|| readlink(format!("/proc/{pid}/cwd")))
    .unwrap_or_else(|| "/".into());
    if name.is_empty() {
        return base;
    }
    format!("{}/{name}", base.trim_end_matches('/'))
}

/// `path` (absolute, as the tracee sees it) with every symlink resolved inside the
/// tracee's root (`/proc/PID/root`, which is the sandbox's root, not ours). At most 40
/// links, as the kernel allows; a loop or an unreadable link stops the walk there.
pub(super) fn resolve_links(pid: libc::pid_t, path: &str) -> String {
    let root = PathBuf::from(format!("/proc/{pid}/root"));
    let mut todo: Vec<String> = path.split('/').rev().map(str::to_owned).collect();
    let mut done = PathBuf::from("/");
    let mut links = 0;
    while let Some(c) = todo.pop() {
        match c.as_str() {
            "" | "." => continue,
            ".." => {
                done.pop();
                continue;
            }
            _ => {}
        }
        let next = done.join(&c);
        let inside = root.join(next.strip_prefix("/").unwrap_or(&next));
        match std::fs::read_link(&inside) {
            Ok(target) if links < 40 => {
                links += 1;
                let t = target.to_string_lossy().into_owned();
                if t.starts_with('/') {
                    done = PathBuf::from("/");
                }
                todo.extend(t.split('/').rev().map(str::to_owned));
            }
            _ => done = next,
        }
    }
    done.to_string_lossy().into_owned()
}

pub(super) fn read_sockaddr(pid: libc::pid_t, addr: u64, len: u64) -> Option<(String, u16)> {
    let b = read_mem(pid, addr, usize::try_from(len.min(128)).ok()?)?;
    let family = u16::from_ne_bytes([*b.first()?, *b.get(1)?]);
    let port = u16::from_be_bytes([*b.get(2)?, *b.get(3)?]);
    match i32::from(family) {
        libc::AF_INET => {
            let ip = std::net::Ipv4Addr::new(*b.get(4)?, *b.get(5)?, *b.get(6)?, *b.get(7)?);
            Some((ip.to_string(), port))
        }
        libc::AF_INET6 => {
            let mut o = [0u8; 16];
            o.copy_from_slice(b.get(8..24)?);
            Some((std::net::Ipv6Addr::from(o).to_string(), port))
        }
        _ => None,
    }
}
