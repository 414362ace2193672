//! The two "container by hand" walk-throughs in profiles/, run on a busybox root
//! filesystem built from Debian's busybox-static.

mod common;

use common::*;
use std::path::{Path, PathBuf};

/// Build a busybox rootfs (static busybox, every applet hard-linked into /bin).
fn busybox_rootfs(dir: &TempDir) -> Option<PathBuf> {
    let busybox = ["/bin/busybox", "/usr/bin/busybox"]
        .into_iter()
        .map(Path::new)
        .find(|p| p.exists())?;
    // The rootfs must not need the host's libraries: only a static busybox will do.
    if !is_static_elf(busybox)? {
        return None;
    }
    let root = dir.join("rootfs");
    let bin = root.join("bin");
    std::fs::create_dir_all(&bin).ok()?;
    // A hard link, not a copy: a freshly written file may still be open in a child that
    // another test thread forked, and exec'ing it then fails with ETXTBSY.
    let dst = bin.join("busybox");
    if std::fs::hard_link(busybox, &dst).is_err() {
        std::fs::copy(busybox, &dst).ok()?;
    }
    let mut ok = false;
    for _ in 0..50 {
        match std::process::Command::new(&dst)
            .arg("--install")
            .arg(&bin)
            .status()
        {
            Ok(s) => {
                ok = s.success();
                break;
            }
            Err(e) if e.raw_os_error() == Some(libc::ETXTBSY) => {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            Err(_) => break,
        }
    }
    // The mount points a real rootfs has (an unprivileged user cannot create them in a
    // root-owned directory).
    for d in ["proc", "dev", "tmp", "root", "etc"] {
        std::fs::create_dir_all(root.join(d)).ok()?;
    }
    ok.then_some(root)
}

/// An ELF64 executable without a PT_INTERP program header needs no dynamic loader.
fn is_static_elf(path: &Path) -> Option<bool> {
    let b = std::fs::read(path).ok()?;
    if b.get(..5)? != b"\x7fELF\x02" {
        return Some(false);
    }
    let u16_at = |o: usize| Some(u16::from_le_bytes(b.get(o..o + 2)?.try_into().ok()?));
    let phoff = usize::try_from(u64::from_le_bytes(b.get(32..40)?.try_into().ok()?)).ok()?;
    let (phentsize, phnum) = (usize::from(u16_at(54)?), usize::from(u16_at(56)?));
    const PT_INTERP: u32 = 3;
    for i in 0..phnum {
        let o = phoff + i * phentsize;
        if u32::from_le_bytes(b.get(o..o + 4)?.try_into().ok()?) == PT_INTERP {
            return Some(false);
        }
    }
    Some(true)
}

fn profile_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("profiles")
        .join(name)
}

fn run_in(profile: &str, rootfs: &Path, user: Option<(u32, u32)>, script: &str) -> String {
    let p = profile_path(profile);
    let mut cmd =
        TestCommand::run(&p, &["/bin/sh", "-c", script]).env("STOCKADE_BUSYBOX_ROOT", rootfs);
    if let Some((u, g)) = user {
        cmd = cmd.with_user(u, g);
    }
    let out = cmd.output();
    assert!(
        out.status.success(),
        "{profile}: {:?}\n{}",
        out.status,
        stderr(&out)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// PIDs listed by busybox `ps` (first column after the header).
fn ps_pids(out: &str) -> Vec<u32> {
    out.lines()
        .skip_while(|l| !l.trim_start().starts_with("PID"))
        .skip(1)
        .filter_map(|l| l.split_whitespace().next()?.parse().ok())
        .collect()
}

fn users() -> Vec<Option<(u32, u32)>> {
    let mut v = vec![None];
    if let Some(u) = test_user() {
        v.push(Some(u));
    }
    v
}

#[test]
fn busybox_pidns_ps_sees_only_the_sandbox() {
    if need_root() || need_sandbox() {
        return;
    }
    let dir = TempDir::new("bb-pidns");
    let Some(rootfs) = busybox_rootfs(&dir) else {
        skip("a static busybox is needed (package busybox-static)");
        return;
    };
    for user in users() {
        let out = run_in(
            "busybox-pidns.toml",
            &rootfs,
            user,
            "echo ---; ps; echo pid=$$",
        );
        let pids = ps_pids(&out);
        // Init is PID 1, the shell PID 2, ps PID 3: nothing of the host.
        assert_eq!(pids, [1, 2, 3], "{out}");
        assert!(out.contains("pid=2"), "{out}");
        // It really is the busybox root: the host's /usr is not there.
        let out = run_in(
            "busybox-pidns.toml",
            &rootfs,
            user,
            "ls /; test -e /usr/lib || echo no-usr-lib",
        );
        assert!(out.contains("no-usr-lib"), "{out}");
    }
}

#[test]
fn busybox_container_has_its_own_namespaces_and_hostname() {
    if need_root() || need_sandbox() {
        return;
    }
    let dir = TempDir::new("bb-ct");
    let Some(rootfs) = busybox_rootfs(&dir) else {
        skip("a static busybox is needed (package busybox-static)");
        return;
    };
    let host = host_namespaces();
    for user in users() {
        let out = run_in(
            "busybox-container.toml",
            &rootfs,
            user,
            "hostname; for n in user mnt pid ipc uts net; do echo ns $n $(readlink /proc/self/ns/$n); done; \
             for i in $(tail -n +3 /proc/net/dev | cut -d: -f1); do echo if $i; done; echo ---; ps",
        );
        let mut lines = out.lines();
        assert_eq!(lines.next(), Some("busybox"), "{out}");
        for l in out.lines().filter(|l| l.starts_with("ns ")) {
            let mut f = l.split_whitespace().skip(1);
            let (name, link) = (f.next().unwrap_or_default(), f.next().unwrap_or_default());
            let ino: u64 = link
                .split_once('[')
                .and_then(|(_, r)| r.trim_end_matches(']').parse().ok())
                .unwrap_or_else(|| panic!("{l}"));
            assert_ne!(host[name], ino, "namespace {name} is the host's");
        }
        assert_eq!(
            out.lines().filter(|l| l.starts_with("ns ")).count(),
            6,
            "{out}"
        );
        // Loopback only.
        let ifaces: Vec<&str> = out.lines().filter_map(|l| l.strip_prefix("if ")).collect();
        assert_eq!(ifaces, ["lo"], "{out}");
        // ps sees init (PID 1) and the payload's shell/ps, nothing else (the shell may
        // exec its last command, so 2 or 3 processes).
        let pids = ps_pids(&out);
        assert_eq!(pids.first(), Some(&1), "{out}");
        assert!((2..=3).contains(&pids.len()), "{out}");
        let after_header = out
            .lines()
            .skip_while(|l| !l.trim_start().starts_with("PID"))
            .skip(1);
        for l in after_header {
            assert!(
                l.contains("stockade run") || l.contains("/bin/sh -c"),
                "foreign process: {l}"
            );
        }
    }
}

#[test]
fn static_elf_detection() {
    // The probe is dynamically linked; a static busybox (when installed) is not.
    assert_eq!(is_static_elf(&probe_bin()), Some(false));
    if Path::new("/bin/busybox").exists() {
        assert_eq!(is_static_elf(Path::new("/bin/busybox")), Some(true));
    }
}
