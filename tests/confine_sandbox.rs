//! Confinement proven through the real binary: `stockade run` starts a sandbox from a
//! profile, and `stockade-probe` (bind-mounted at /w) reports from inside what the kernel
//! let it do. Each denial is paired with a control run (same probe, the control switched
//! off) so a check cannot pass because the probe is broken.

mod common;

use common::{is_root, skip};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const STOCKADE: &str = env!("CARGO_BIN_EXE_stockade");
const PROBE: &str = env!("CARGO_BIN_EXE_stockade-probe");

/// Copy an executable with cp(1): a write fd held by this (forking) test process could leak
/// into a concurrently forked child and make the later execve fail with ETXTBSY.
fn copy_exe(from: impl AsRef<Path>, to: impl AsRef<Path>) {
    let ok = std::process::Command::new("cp")
        .arg(from.as_ref())
        .arg(to.as_ref())
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        ok,
        "cp {} {}",
        from.as_ref().display(),
        to.as_ref().display()
    );
}

/// A scratch directory holding a copy of the probe, bind-mounted at /w in the sandbox.
struct Sandbox {
    dir: PathBuf,
}

impl Sandbox {
    fn new(name: &str) -> Sandbox {
        Sandbox::new_in(Path::new(env!("CARGO_TARGET_TMPDIR")), name)
    }

    fn new_in(base: &Path, name: &str) -> Sandbox {
        let dir = base.join(format!("confine-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        copy_exe(PROBE, dir.join("probe"));
        Sandbox { dir }
    }

    /// A self-contained profile: user + mount namespaces, tmpfs root, /usr read-only, /w.
    /// `ns` adds namespace keys (`pid = true` brings /proc), `extra` the tables under test.
    fn profile(&self, ns: &str, extra: &str) -> PathBuf {
        self.profile_as("", ns, extra)
    }

    /// Like [`Self::profile`], with extra `[process]` keys.
    fn profile_as(&self, process: &str, ns: &str, extra: &str) -> PathBuf {
        let proc = if ns.contains("pid = true") {
            "[[mount]]\ntype = \"proc\"\n"
        } else {
            ""
        };
        let text = format!(
            r#"version = 1
[process]
cwd = "/w"
{process}
[namespaces]
user = true
mount = true
{ns}
[filesystem]
root = "tmpfs"
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
type = "bind"
source = "{dir}"
target = "/w"
nosuid = false
{proc}
{extra}
"#,
            dir = self.dir.display()
        );
        let path = self.dir.join(format!("p{}.toml", unique()));
        std::fs::write(&path, text).unwrap();
        path
    }

    fn run(&self, profile: &Path, probe_args: &[&str]) -> Run {
        self.run_with(Command::new(STOCKADE), profile, probe_args)
    }

    fn run_with(&self, mut cmd: Command, profile: &Path, probe_args: &[&str]) -> Run {
        let report = self.dir.join(format!("r{}.json", unique()));
        let out = cmd
            .arg("run")
            .arg("--report")
            .arg(&report)
            .arg(profile)
            .arg("--")
            .arg("/w/probe")
            .args(probe_args)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        Run::new(out, &report)
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

/// A finished run: exit code, the probe's output (stderr is left to the terminal), report.
#[derive(Debug)]
struct Run {
    code: Option<i32>,
    /// The signal stockade itself died of: it ends as its payload did.
    signal: Option<i32>,
    stdout: String,
    report: Value,
}

impl Run {
    fn new(out: Output, report: &Path) -> Run {
        Run {
            code: out.status.code(),
            signal: std::os::unix::process::ExitStatusExt::signal(&out.status),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            report: std::fs::read_to_string(report)
                .ok()
                .and_then(|s| serde_json::from_str(&s).ok())
                .unwrap_or(Value::Null),
        }
    }

    /// The probe's JSON line.
    fn json(&self) -> Value {
        self.stdout
            .lines()
            .find_map(|l| serde_json::from_str(l).ok())
            .unwrap_or_else(|| panic!("no JSON from the probe: {self:?}"))
    }

    fn errno(&self) -> String {
        self.json()["errno"].as_str().unwrap_or("none").to_string()
    }

    fn ok(&self) -> bool {
        self.json()["ok"] == Value::Bool(true)
    }
}

const PRESET_EACCES: &str = "[seccomp]\npreset = \"default\"\ndeny-action = \"errno:EACCES\"\n";

#[test]
fn seccomp_denied_calls_return_the_errno_allowed_calls_work() {
    let sb = Sandbox::new("seccomp-errno");
    let p = sb.profile("", PRESET_EACCES);
    let r = sb.run(&p, &["try-syscall", "ptrace", "0"]);
    assert_eq!(r.errno(), "EACCES", "{r:?}");
    let r = sb.run(&p, &["try-syscall", "unshare", "0x10000000"]);
    assert_eq!(r.errno(), "EACCES", "nested user namespace: {r:?}");
    let r = sb.run(&p, &["try-syscall", "getpid"]);
    assert!(r.json()["ret"].as_i64().unwrap_or(0) > 0, "{r:?}");
    // Control: without the filter, unshare(CLONE_NEWUSER) works in the sandbox.
    let r = sb.run(
        &sb.profile("", ""),
        &["try-syscall", "unshare", "0x10000000"],
    );
    assert_eq!(r.json()["ret"], 0, "{r:?}");
}

#[test]
fn seccomp_kill_action_ends_the_payload_with_sigsys() {
    let sb = Sandbox::new("seccomp-kill");
    let p = sb.profile(
        "",
        "[seccomp]\npreset = \"default\"\ndeny-action = \"kill-process\"\n",
    );
    let r = sb.run(&p, &["try-syscall", "ptrace", "0"]);
    assert_eq!(r.signal, Some(libc::SIGSYS), "{r:?}");
    assert_eq!(r.report["exit"]["exit_code"], 159, "{:?}", r.report);
    assert_eq!(r.report["exit"]["signal"], libc::SIGSYS, "{:?}", r.report);
}

#[test]
fn seccomp_argument_conditions_hold_at_their_boundaries() {
    let sb = Sandbox::new("seccomp-args");
    let rule = |op: &str| {
        format!(
            "[seccomp]\n[[seccomp.rule]]\nsyscalls = [\"fchdir\"]\naction = \"errno:EROFS\"\nargs = [{{ index = 0, op = \"{op}\", value = 1000 }}]\n"
        )
    };
    // (op, fds denied among 999, 1000, 1001); fchdir to a descriptor that is not open gives
    // EBADF when the rule does not match (fchdir, unlike close, is not used by the loader).
    for (op, denied) in [
        ("eq", [false, true, false]),
        ("ne", [true, false, true]),
        ("lt", [true, false, false]),
        ("le", [true, true, false]),
        ("gt", [false, false, true]),
        ("ge", [false, true, true]),
    ] {
        let p = sb.profile("", &rule(op));
        for (fd, d) in [999, 1000, 1001].iter().zip(denied) {
            let r = sb.run(&p, &["try-syscall", "fchdir", &fd.to_string()]);
            let want = if d { "EROFS" } else { "EBADF" };
            assert_eq!(r.errno(), want, "{op} 1000 on fd {fd}: {r:?}");
        }
    }
    let masked = "[seccomp]\n[[seccomp.rule]]\nsyscalls = [\"fchdir\"]\naction = \"errno:EROFS\"\nargs = [{ index = 0, op = \"masked-eq\", value = 0x3e0, mask = 0xff0 }]\n";
    let p = sb.profile("", masked);
    for (fd, want) in [
        (991, "EBADF"),
        (992, "EROFS"),
        (1007, "EROFS"),
        (1008, "EBADF"),
    ] {
        let r = sb.run(&p, &["try-syscall", "fchdir", &fd.to_string()]);
        assert_eq!(r.errno(), want, "masked-eq on fd {fd}: {r:?}");
    }
}

#[test]
fn seccomp_group_expands_to_the_table_in_the_plan_and_the_kernel() {
    let sb = Sandbox::new("seccomp-group");
    let p = sb.profile("", "[seccomp]\ndeny = [\"@timer\"]\n");
    let out = Command::new(STOCKADE)
        .args(["plan", "--format", "json"])
        .arg(&p)
        .output()
        .unwrap();
    let plan: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    let mut planned: Vec<String> = plan["seccomp"]["rules"]
        .as_array()
        .unwrap_or_else(|| panic!("no rules in {plan}"))
        .iter()
        .map(|r| r["syscall"].as_str().unwrap_or_default().to_string())
        .collect();
    planned.sort();
    let table = stockade::seccomp::groups::expand("@timer").unwrap();
    let known: Vec<&str> = table
        .iter()
        .copied()
        .filter(|s| stockade::exec::confine::resolve_syscall(s).is_some())
        .collect();
    assert_eq!(planned, known);
    // In the kernel: alarm(0) is harmless and in @timer.
    let r = sb.run(&p, &["try-syscall", "alarm", "0"]);
    assert_eq!(r.errno(), "EPERM", "{r:?}");
    let r = sb.run(&sb.profile("", ""), &["try-syscall", "alarm", "0"]);
    assert_eq!(r.json()["ret"], 0, "{r:?}");
}

#[test]
fn non_native_abis_are_blocked_unless_listed() {
    let sb = Sandbox::new("seccomp-abi");
    let p = sb.profile("", PRESET_EACCES);
    for abi in ["x32-syscall", "i386-syscall"] {
        let r = sb.run(&p, &[abi]);
        assert_eq!(r.signal, Some(libc::SIGSYS), "{abi}: {r:?}");
    }
    // Without a filter, int 0x80 reaches the kernel (this kernel has ia32 emulation).
    let r = sb.run(&sb.profile("", ""), &["i386-syscall"]);
    if r.json()["ret"].as_i64().unwrap_or(0) <= 0 {
        skip("no ia32 emulation in this kernel: the allow half cannot be checked");
        return;
    }
    let listed = format!("{PRESET_EACCES}architectures = [\"x86\"]\n");
    let r = sb.run(&sb.profile("", &listed), &["i386-syscall"]);
    assert!(r.json()["ret"].as_i64().unwrap_or(0) > 0, "{r:?}");
}

fn need_landlock(abi: u8) -> bool {
    let kernel = stockade::exec::confine::kernel_landlock_abi();
    if kernel < abi {
        skip(&format!("kernel Landlock ABI {kernel} < {abi}"));
        return false;
    }
    true
}

#[test]
fn landlock_outside_granted_paths_fails_with_eacces() {
    if !need_landlock(3) {
        return;
    }
    let sb = Sandbox::new("landlock-fs");
    std::fs::create_dir_all(sb.dir.join("granted")).unwrap();
    std::fs::create_dir_all(sb.dir.join("other")).unwrap();
    for d in ["granted", "other"] {
        std::fs::write(sb.dir.join(d).join("file"), "data").unwrap();
        copy_exe("/usr/bin/true", sb.dir.join(d).join("true"));
    }
    let p = sb.profile(
        "",
        "[landlock]\nread = [\"/usr\"]\nexec = [\"/usr\", \"/w/probe\", \"/w/granted\"]\nwrite = [\"/w/granted\"]\n",
    );
    for (args, granted) in [
        (["try-read", "/w/granted/file"], true),
        (["try-write", "/w/granted/new"], true),
        (["try-exec", "/w/granted/true"], true),
        (["try-read", "/w/other/file"], false),
        (["try-write", "/w/other/new"], false),
        (["try-exec", "/w/other/true"], false),
    ] {
        let r = sb.run(&p, &args);
        if granted {
            assert!(r.ok(), "{args:?}: {r:?}");
        } else {
            assert_eq!(r.errno(), "EACCES", "{args:?}: {r:?}");
        }
    }
    assert_eq!(r_landlock(&sb.run(&p, &["try-read", "/usr"])), 2);
    // Control: without Landlock the other directory is reachable.
    assert!(sb
        .run(&sb.profile("", ""), &["try-read", "/w/other/file"])
        .ok());
}

/// The kernel's ruleset status from the run report (2 = fully enforced).
fn r_landlock(r: &Run) -> i64 {
    r.report["landlock"]["ruleset"].as_i64().unwrap_or(-1)
}

#[test]
fn landlock_tcp_ports_outside_the_grant_fail() {
    if !need_landlock(4) {
        return;
    }
    let sb = Sandbox::new("landlock-net");
    // Loopback-only network: nothing listens, so a connect Landlock allows is refused by
    // the kernel (ECONNREFUSED) and one it denies fails with EACCES first.
    let p = sb.profile(
        "net = true",
        "[landlock]\nread = [\"/\"]\nexec = [\"/usr\", \"/w\"]\nconnect-tcp = [8080]\nbind-tcp = [9090]\n",
    );
    assert_eq!(sb.run(&p, &["try-connect", "8080"]).errno(), "ECONNREFUSED");
    assert_eq!(sb.run(&p, &["try-connect", "8081"]).errno(), "EACCES");
    assert!(sb.run(&p, &["try-bind", "9090"]).ok());
    assert_eq!(sb.run(&p, &["try-bind", "9091"]).errno(), "EACCES");
    let open = sb.profile("net = true", "");
    assert_eq!(
        sb.run(&open, &["try-connect", "8081"]).errno(),
        "ECONNREFUSED"
    );
    assert!(sb.run(&open, &["try-bind", "9091"]).ok());
}

#[test]
fn landlock_scopes_deny_host_abstract_sockets_and_signals() {
    if !need_landlock(6) {
        return;
    }
    use std::os::linux::net::SocketAddrExt;
    let sb = Sandbox::new("landlock-scope");
    let name = format!("stockade-confine-{}", std::process::id());
    let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
    let _listener = std::os::unix::net::UnixListener::bind_addr(&addr).unwrap();
    let mut outsider = Command::new("sleep").arg("60").spawn().unwrap();
    let pid = outsider.id().to_string();
    // Host network and no PID namespace: the listener and the process are reachable, so
    // only the Landlock scopes stand between them and the payload.
    let ns = "[network]\nmode = \"host\"";
    let scoped = sb.profile(
        ns,
        "[landlock]\nread = [\"/\"]\nexec = [\"/usr\", \"/w\"]\nscope = [\"abstract-unix-socket\", \"signal\"]\n",
    );
    let open = sb.profile(
        ns,
        "[landlock]\nread = [\"/\"]\nexec = [\"/usr\", \"/w\"]\n",
    );
    let deny_socket = sb.run(&scoped, &["abstract-connect", &name]);
    let deny_kill = sb.run(&scoped, &["try-kill", &pid]);
    let allow_socket = sb.run(&open, &["abstract-connect", &name]);
    let allow_kill = sb.run(&open, &["try-kill", &pid]);
    let _ = outsider.kill();
    let _ = outsider.wait();
    assert_eq!(deny_socket.errno(), "EPERM", "{deny_socket:?}");
    assert_eq!(deny_kill.errno(), "EPERM", "{deny_kill:?}");
    assert!(allow_socket.ok(), "{allow_socket:?}");
    assert!(allow_kill.ok(), "{allow_kill:?}");
}

/// `Cap*:` and `NoNewPrivs:` of the payload, from the probe's facts.
fn status(sb: &Sandbox, p: &Path) -> Value {
    let r = sb.run(p, &["facts"]);
    r.json()["status"].clone()
}

#[test]
fn capability_sets_and_no_new_privs_match_the_profile() {
    let sb = Sandbox::new("caps");
    let none = status(&sb, &sb.profile("pid = true", ""));
    for set in ["CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"] {
        assert_eq!(none[set], "0000000000000000", "{set} in {none}");
    }
    assert_eq!(none["NoNewPrivs"], "1");
    let kept = status(
        &sb,
        &sb.profile(
            "pid = true",
            "[capabilities]\nkeep = [\"CAP_NET_BIND_SERVICE\", \"CAP_KILL\"]\nambient = [\"CAP_NET_BIND_SERVICE\"]\nno-new-privs = false\n",
        ),
    );
    // CAP_KILL = 5, CAP_NET_BIND_SERVICE = 10.
    for set in ["CapPrm", "CapEff", "CapBnd"] {
        assert_eq!(kept[set], "0000000000000420", "{set} in {kept}");
    }
    assert_eq!(kept["CapAmb"], "0000000000000400", "{kept}");
    assert_eq!(kept["NoNewPrivs"], "0", "{kept}");
}

#[test]
fn setuid_root_binary_stays_unprivileged() {
    if !is_root() {
        skip("needs root to map uid 0 and create a setuid-root binary");
        return;
    }
    let sb = Sandbox::new("setuid");
    let suid = sb.dir.join("suid-probe");
    copy_exe(PROBE, &suid);
    std::fs::set_permissions(&suid, std::os::unix::fs::PermissionsExt::from_mode(0o4755)).unwrap();
    // Inside: uid 0 is the host's root (owner of the binary), the payload runs as 1000.
    let ns = "pid = true\nuid-map = [{ inside = 0, outside = 0, count = 1 }, { inside = 1000, outside = 1000, count = 1 }]\ngid-map = [{ inside = 0, outside = 0, count = 1 }, { inside = 1000, outside = 1000, count = 1 }]";
    let user = "user = 1000\ngroup = 1000";
    let hardened = sb.profile_as(user, ns, "");
    let r = run_suid(&sb, &hardened);
    assert_eq!(r["euid"], 1000, "{r}");
    assert_eq!(r["cap_eff"], "0000000000000000", "{r}");
    // Control: without no_new_privs the setuid bit does take effect.
    let weak = sb.profile_as(user, ns, "[capabilities]\nno-new-privs = false\n");
    assert_eq!(run_suid(&sb, &weak)["euid"], 0);
}

fn run_suid(sb: &Sandbox, profile: &Path) -> Value {
    let report = sb.dir.join(format!("r{}.json", unique()));
    let out = Command::new(STOCKADE)
        .arg("run")
        .arg("--report")
        .arg(&report)
        .arg(profile)
        .args(["--", "/w/suid-probe", "ids"])
        .output()
        .unwrap();
    Run::new(out, &report).json()
}

#[test]
fn rlimits_match_the_profile() {
    let sb = Sandbox::new("rlimits");
    let p = sb.profile(
        "",
        "[rlimits]\nnofile = { soft = 100, hard = 200 }\ncore = 0\nfsize = \"1MiB\"\ncpu = \"unlimited\"\n",
    );
    let r = sb.run(&p, &["facts"]);
    let l = &r.json()["rlimits"];
    let inf = u64::MAX;
    assert_eq!(l["RLIMIT_NOFILE"], serde_json::json!([100, 200]), "{l}");
    assert_eq!(l["RLIMIT_CORE"], serde_json::json!([0, 0]));
    assert_eq!(l["RLIMIT_FSIZE"], serde_json::json!([1 << 20, 1 << 20]));
    assert_eq!(l["RLIMIT_CPU"], serde_json::json!([inf, inf]));
}

/// Run the probe's `tiocsti` with a pty slave as stdin and as stockade's controlling
/// terminal; the probe's JSON comes back through a pipe on stdout.
fn tiocsti_on_pty(sb: &Sandbox, profile: &Path) -> Run {
    use std::os::fd::{FromRawFd, OwnedFd};
    use std::os::unix::process::CommandExt;
    // SAFETY: posix_openpt/grantpt/unlockpt/ptsname on the master we own.
    let (master, slave_path) = unsafe {
        let m = libc::posix_openpt(libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC);
        assert!(m >= 0, "no pty");
        assert_eq!(libc::grantpt(m), 0);
        assert_eq!(libc::unlockpt(m), 0);
        let name = std::ffi::CStr::from_ptr(libc::ptsname(m)).to_owned();
        (OwnedFd::from_raw_fd(m), name)
    };
    let slave = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(slave_path.to_str().unwrap())
        .unwrap();
    let report = sb.dir.join(format!("r{}.json", unique()));
    let mut cmd = Command::new(STOCKADE);
    cmd.arg("run")
        .arg("--report")
        .arg(&report)
        .arg(profile)
        .args(["--", "/w/probe", "try-tiocsti", "0"])
        .stdin(slave);
    // SAFETY: setsid and TIOCSCTTY are async-signal-safe syscalls.
    unsafe {
        cmd.pre_exec(|| {
            if libc::setsid() < 0 || libc::ioctl(0, libc::TIOCSCTTY, 0) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let out = cmd.output().unwrap();
    drop(master);
    Run::new(out, &report)
}

#[test]
fn tiocsti_on_the_terminal_fails_from_inside() {
    let sb = Sandbox::new("tiocsti");
    let keep_tty = "new-session = false";
    let filtered = sb.profile_as(keep_tty, "", PRESET_EACCES);
    let r = tiocsti_on_pty(&sb, &filtered);
    assert_eq!(r.errno(), "EACCES", "{r:?}");
    // Control: the same terminal without the filter accepts the injected byte.
    let r = tiocsti_on_pty(&sb, &sb.profile_as(keep_tty, "", ""));
    assert!(r.ok(), "{r:?}");
    // With the default new session the payload has no controlling terminal at all.
    let r = tiocsti_on_pty(&sb, &sb.profile("", ""));
    assert_eq!(r.errno(), "EPERM", "{r:?}");
}

#[test]
fn rootless_run_is_confined_the_same_way() {
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::process::CommandExt;
    let Some((uid, gid)) = common::need_user() else {
        return;
    };
    // /tmp: every user can reach it (the target directory may not be).
    let sb = Sandbox::new_in(Path::new("/tmp"), "rootless");
    // The unprivileged stockade writes its run report into the directory.
    std::fs::set_permissions(&sb.dir, std::fs::Permissions::from_mode(0o1777)).unwrap();
    std::fs::set_permissions(sb.dir.join("probe"), std::fs::Permissions::from_mode(0o755)).unwrap();
    let p = sb.profile(
        "pid = true",
        &format!("{PRESET_EACCES}[landlock]\nread = [\"/usr\", \"/proc\"]\nexec = [\"/usr\", \"/w/probe\"]\n"),
    );
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
    let as_test_user = || {
        let mut cmd = Command::new(STOCKADE);
        cmd.env("HOME", "/tmp");
        // SAFETY: async-signal-safe credential syscalls; groups before ids (they need root).
        unsafe {
            cmd.pre_exec(move || {
                if libc::setgroups(0, std::ptr::null()) != 0
                    || libc::setresgid(gid, gid, gid) != 0
                    || libc::setresuid(uid, uid, uid) != 0
                {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        cmd
    };
    let facts = sb.run_with(as_test_user(), &p, &["facts"]).json();
    let st = &facts["status"];
    for set in ["CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"] {
        assert_eq!(st[set], "0000000000000000", "{set}: {facts}");
    }
    assert_eq!(st["NoNewPrivs"], "1", "{facts}");
    assert_eq!(st["Seccomp"], "2", "{facts}");
    let r = sb.run_with(as_test_user(), &p, &["try-syscall", "ptrace", "0"]);
    assert_eq!(r.errno(), "EACCES", "{r:?}");
    let r = sb.run_with(as_test_user(), &p, &["try-read", "/w"]);
    assert_eq!(r.errno(), "EACCES", "{r:?}");
    assert_eq!(r.report["landlock"]["ruleset"], 2, "{:?}", r.report);
}

#[test]
fn landlock_abi_pin_above_the_kernel_best_effort_runs_required_refuses() {
    let kernel = stockade::exec::confine::kernel_landlock_abi();
    if kernel == 0 || kernel >= 9 {
        skip(&format!(
            "needs a kernel with Landlock below ABI 9 (has {kernel})"
        ));
        return;
    }
    let sb = Sandbox::new("landlock-pin");
    let rules = "abi = 9\nread = [\"/usr\"]\nexec = [\"/usr\", \"/w/probe\"]\n";
    let best = sb.profile(
        "",
        &format!("[landlock]\ncompat = \"best-effort\"\n{rules}"),
    );
    let r = sb.run(&best, &["try-read", "/w"]);
    // It runs, still enforces what the kernel has, and says what it could not.
    assert_eq!(r.errno(), "EACCES", "{r:?}");
    let skipped = &r.report["landlock"]["not_enforced"];
    assert!(
        skipped.as_array().is_some_and(|a| !a.is_empty()),
        "{:?}",
        r.report
    );
    let required = sb.profile("", &format!("[landlock]\ncompat = \"required\"\n{rules}"));
    let r = sb.run(&required, &["try-read", "/w"]);
    assert_eq!(r.code, Some(125), "{r:?}");
    assert!(r.stdout.is_empty(), "the payload must not run: {r:?}");
}
