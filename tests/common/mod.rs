//! Shared helpers for the integration tests: drive the built `stockade` binary, write
//! profiles into temp dirs, run as an unprivileged test user, parse the probe's JSON.
//!
//! A test that cannot run here (no root, no user namespaces, a missing tool) calls
//! [`skip`], which prints `SKIP: <reason>` and returns `true` — or panics when
//! `STOCKADE_TEST_REQUIRE=1` (CI), so a skipped test can never pass there silently.

#![allow(dead_code)]

use serde_json::Value;
use std::ffi::OsStr;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;

/// Name of the unprivileged user the rootless tests run as.
pub const TEST_USER: &str = "stockade-test";
/// Subordinate ids given to the test user (for newuidmap/newgidmap tests).
pub const SUBID_START: u32 = 300_000;
pub const SUBID_COUNT: u32 = 65_536;

/// Skip the current test (returns true so callers can `if skip(..) { return; }`), or fail
/// it when `STOCKADE_TEST_REQUIRE=1`.
pub fn skip(reason: &str) -> bool {
    if std::env::var("STOCKADE_TEST_REQUIRE").as_deref() == Ok("1") {
        panic!("required test cannot run: {reason}");
    }
    eprintln!("SKIP: {reason}");
    true
}

/// The built launcher.
pub fn stockade_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_stockade"))
}

/// The built probe.
pub fn probe_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_stockade-probe"))
}

/// The directory holding the probe (tests bind it read-only at `/probe`).
pub fn probe_dir() -> PathBuf {
    probe_bin()
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("/"))
}

pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// A temp directory under /tmp, world-readable (the test user reads profiles from it),
/// removed on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let p =
            std::env::temp_dir().join(format!("stockade-test-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).expect("create temp dir");
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755))
            .expect("chmod temp dir");
        TempDir(p)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    pub fn join(&self, p: &str) -> PathBuf {
        self.0.join(p)
    }

    /// Write `name` with `version = 1` prepended.
    pub fn profile(&self, name: &str, body: &str) -> PathBuf {
        let p = self.0.join(name);
        std::fs::write(&p, format!("version = 1\n{body}")).expect("write profile");
        p
    }

    /// Give the directory to `uid:gid` (so the test user can write in it).
    pub fn chown(&self, uid: u32, gid: u32) {
        std::os::unix::fs::chown(&self.0, Some(uid), Some(gid)).expect("chown temp dir");
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// uid and gid of the unprivileged test user, created on first use (root only). `None`
/// (after a skip) when it cannot be created.
pub fn test_user() -> Option<(u32, u32)> {
    static USER: OnceLock<Option<(u32, u32)>> = OnceLock::new();
    *USER.get_or_init(|| {
        if !is_root() {
            return None;
        }
        // Several test binaries may race to create it: serialize with a lock file.
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open("/tmp/stockade-test-user.lock")
            .ok()?;
        use std::os::fd::AsRawFd;
        // SAFETY: flock on an fd we own; released when `lock` is dropped.
        unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX) };
        if lookup(TEST_USER).is_none() {
            let ok = Command::new("useradd")
                .args([
                    "--system",
                    "--user-group",
                    "--no-create-home",
                    "--home-dir",
                    "/nonexistent",
                ])
                .args(["--shell", "/usr/sbin/nologin", TEST_USER])
                .status()
                .is_ok_and(|s| s.success());
            if !ok {
                return None;
            }
        }
        let subuid = std::fs::read_to_string("/etc/subuid").unwrap_or_default();
        if !subuid
            .lines()
            .any(|l| l.starts_with(&format!("{TEST_USER}:")))
        {
            let range = format!("{}-{}", SUBID_START, SUBID_START + SUBID_COUNT - 1);
            let _ = Command::new("usermod")
                .args(["--add-subuids", &range, "--add-subgids", &range, TEST_USER])
                .status();
        }
        lookup(TEST_USER)
    })
}

fn lookup(name: &str) -> Option<(u32, u32)> {
    let u = nix::unistd::User::from_name(name).ok()??;
    Some((u.uid.as_raw(), u.gid.as_raw()))
}

/// A command line for the built binary, like ripgrep's `TestCommand`.
pub struct TestCommand {
    cmd: Command,
}

impl TestCommand {
    /// `stockade ARGS...`
    pub fn new<I, S>(args: I) -> TestCommand
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut cmd = Command::new(stockade_bin());
        cmd.args(args);
        cmd.stdin(Stdio::null());
        TestCommand { cmd }
    }

    /// `stockade run PROFILE -- ARGS...`
    pub fn run(profile: &Path, args: &[&str]) -> TestCommand {
        let mut t = TestCommand::new(["run".as_ref(), profile.as_os_str(), "--".as_ref()]);
        t.cmd.args(args);
        t
    }

    /// Run as `uid:gid` with no supplementary groups.
    pub fn with_user(mut self, uid: u32, gid: u32) -> TestCommand {
        // SAFETY: only async-signal-safe syscalls between fork and exec.
        unsafe {
            self.cmd.pre_exec(move || {
                if libc::setgroups(0, std::ptr::null()) != 0
                    || libc::setgid(gid) != 0
                    || libc::setuid(uid) != 0
                {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        self.cmd.env("HOME", "/nonexistent").env("USER", TEST_USER);
        self
    }

    pub fn env(mut self, k: &str, v: impl AsRef<OsStr>) -> TestCommand {
        self.cmd.env(k, v);
        self
    }

    pub fn current_dir(mut self, d: &Path) -> TestCommand {
        self.cmd.current_dir(d);
        self
    }

    pub fn command(&mut self) -> &mut Command {
        &mut self.cmd
    }

    pub fn output(mut self) -> Output {
        self.cmd.output().expect("spawn stockade")
    }

    pub fn spawn(mut self) -> Child {
        self.cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn stockade")
    }
}

/// The payload's stdout lines parsed as JSON (lines that are not JSON are ignored).
pub fn json_lines(out: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// The first JSON line, with a readable failure.
pub fn first_json(out: &Output) -> Value {
    json_lines(out).into_iter().next().unwrap_or_else(|| {
        panic!(
            "no JSON from the probe: status {:?}\nstdout: {}\nstderr: {}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Assert success and return the first JSON line.
pub fn ok_json(out: &Output) -> Value {
    assert!(
        out.status.success(),
        "stockade failed: {:?}\nstderr: {}",
        out.status,
        stderr(out)
    );
    first_json(out)
}

/// Mounts a sandbox needs to run the (dynamically linked) probe: /usr read-only, the
/// merged-/usr symlinks, and the probe's directory at /probe.
pub fn runtime_mounts() -> String {
    format!(
        r#"
[[mount]]
type = "bind"
source = "/usr"
read-only = true

[[mount]]
type = "symlink"
source = "usr/lib"
target = "/lib"

[[mount]]
type = "symlink"
source = "usr/lib64"
target = "/lib64"

[[mount]]
type = "symlink"
source = "usr/bin"
target = "/bin"

[[mount]]
type = "bind"
source = "{}"
target = "/probe"
read-only = true
"#,
        probe_dir().display()
    )
}

/// The probe's path inside a sandbox built with [`runtime_mounts`].
pub const PROBE: &str = "/probe/stockade-probe";

/// Namespace inodes of the test process itself (the host's).
pub fn host_namespaces() -> serde_json::Map<String, Value> {
    let mut m = serde_json::Map::new();
    for ns in ["cgroup", "ipc", "mnt", "net", "pid", "time", "user", "uts"] {
        if let Ok(l) = std::fs::read_link(format!("/proc/self/ns/{ns}")) {
            let s = l.to_string_lossy().into_owned();
            let ino: Option<u64> = s
                .split_once('[')
                .and_then(|(_, r)| r.trim_end_matches(']').parse().ok());
            m.insert(ns.into(), ino.map_or(Value::Null, Value::from));
        }
    }
    m
}

/// Whether the confinement functions (capabilities, rlimits) are implemented in this
/// build; every profile goes through them. Until the confinement work is merged they are
/// stubs returning ENOSYS.
pub fn confinement_ready() -> bool {
    static READY: OnceLock<bool> = OnceLock::new();
    *READY.get_or_init(|| {
        let dir = TempDir::new("ready");
        let p = dir.profile(
            "ready.toml",
            &format!(
                "[namespaces]\nuser = true\nmount = true\n{}",
                runtime_mounts()
            ),
        );
        let out = TestCommand::run(&p, &[PROBE, "exit", "0"]).output();
        !stderr(&out).contains("ENOSYS")
    })
}

/// Skip unless sandboxes can run here (the confinement stubs are implemented).
pub fn need_sandbox() -> bool {
    if !confinement_ready() {
        return skip(
            "the confinement functions are still stubs (ENOSYS); merge the confinement work",
        );
    }
    false
}

/// Skip unless root (returns true when skipped).
pub fn need_root() -> bool {
    if !is_root() {
        return skip("needs root");
    }
    false
}

/// The test user, or a skip.
pub fn need_user() -> Option<(u32, u32)> {
    if need_root() {
        return None;
    }
    match test_user() {
        Some(u) => Some(u),
        None => {
            skip("cannot create the unprivileged test user");
            None
        }
    }
}

/// For a `pre_exec` closure: put each `(fd, target)` at `target`, inheritable across execve.
///
/// Each source is first duplicated above every target (close-on-exec), then `dup2`ed from
/// there. A direct `dup2` goes wrong when the test process happens to hold the source at
/// the very number wanted (dup2 onto itself keeps FD_CLOEXEC, so execve closes it) or at
/// another pair's target (overwritten before it is placed). Async-signal-safe, no allocation.
pub fn place_fds(pairs: &[(i32, i32)]) -> std::io::Result<()> {
    let mut high = [-1; 8];
    if pairs.len() > high.len() {
        return Err(std::io::Error::from_raw_os_error(libc::EINVAL));
    }
    for (i, (fd, _)) in pairs.iter().enumerate() {
        // SAFETY: fcntl with integer arguments.
        high[i] = unsafe { libc::fcntl(*fd, libc::F_DUPFD_CLOEXEC, 100) };
        if high[i] < 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    for (i, (_, target)) in pairs.iter().enumerate() {
        // SAFETY: dup2 with integer arguments; high[i] >= 100 differs from every target.
        if unsafe { libc::dup2(high[i], *target) } < 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}
