//! Interactive terminals (`process.terminal`), driven through tmux: each case runs the plain
//! command and the stockade-wrapped one in their own tmux session (a real terminal, a
//! real interactive bash with job control), and expects the same observable result. Keys
//! go in with send-keys, the screen comes back with capture-pane, and every wait is a
//! bounded poll for text on the screen (never a fixed sleep as an assertion).
//!
//! Runs as root and as the unprivileged test user, with and without a PID namespace, with
//! the payload's own pty (`terminal = "auto"` in a terminal) and without
//! (`terminal = false`: job-control signals forwarded to the payload's process group).

mod common;

use common::*;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// How long a case may wait for the text it expects.
const WAIT: Duration = Duration::from_secs(10);

fn have_tmux() -> bool {
    Command::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// One tmux server (its own socket) with one session running an interactive bash.
struct Tmux {
    socket: String,
}

impl Tmux {
    /// A 120x40 session running `bash --norc --noprofile` with the prompt `P> ` (as `user`
    /// when given).
    fn start(tag: &str, user: Option<(u32, u32)>) -> Tmux {
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let socket = format!("stockade-term-{}-{tag}-{n}", std::process::id());
        let shell = match user {
            Some((u, g)) => format!(
                "setpriv --reuid {u} --regid {g} --clear-groups env HOME=/ PS1='P> ' \
                 bash --norc --noprofile"
            ),
            None => "env PS1='P> ' bash --norc --noprofile".to_owned(),
        };
        let t = Tmux { socket };
        let ok = t
            .cmd()
            .args(["new-session", "-d", "-x", "120", "-y", "40", &shell])
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "tmux new-session failed");
        t.wait_for("the first prompt", |s| s.contains("P> "));
        t
    }

    fn cmd(&self) -> Command {
        let mut c = Command::new("tmux");
        c.args(["-L", &self.socket]);
        c
    }

    /// Type `text` literally, then Enter.
    fn line(&self, text: &str) {
        self.keys(&["-l", text]);
        self.keys(&["Enter"]);
    }

    /// send-keys with tmux key names (`C-c`, `C-z`, `Enter`).
    fn keys(&self, keys: &[&str]) {
        let ok = self
            .cmd()
            .arg("send-keys")
            .args(keys)
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "tmux send-keys {keys:?}");
    }

    fn screen(&self) -> String {
        let out = self
            .cmd()
            .args(["capture-pane", "-p", "-J"])
            .output()
            .expect("tmux capture-pane");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Poll the screen until `pred` holds (or fail after [`WAIT`], showing the screen).
    fn wait_for(&self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        let end = Instant::now() + WAIT;
        loop {
            let s = self.screen();
            if pred(&s) {
                return s;
            }
            assert!(
                Instant::now() < end,
                "timed out waiting for {what}; screen:\n{s}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Wait until `text` appears at least `n` times.
    fn wait_count(&self, text: &str, n: usize) -> String {
        self.wait_for(&format!("{n} x {text:?}"), |s| s.matches(text).count() >= n)
    }

    /// Wait for the outer shell's prompt on the last line. Typing before it is there would
    /// race stockade's end: what stockade's relay reads in raw mode goes to the payload's
    /// pty (as with ssh), not to the shell.
    fn wait_prompt(&self) -> String {
        self.wait_for("the prompt", |s| s.trim_end().ends_with("P>"))
    }

    /// A clear screen with only the prompt, and no history: what a case waits for next
    /// can only come from that case.
    fn reset(&self) {
        self.line("clear");
        self.wait_for("a clear screen", |s| s.trim() == "P>");
        let _ = self.cmd().arg("clear-history").status();
    }

    fn resize(&self, x: u32, y: u32) {
        let ok = self
            .cmd()
            .args(["resize-window", "-x", &x.to_string(), "-y", &y.to_string()])
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "tmux resize-window");
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.cmd().arg("kill-server").status();
    }
}

/// The sandboxes: (label, profile), with and without a PID namespace and a pty.
struct Profiles {
    _dir: TempDir,
    dir: PathBuf,
}

impl Profiles {
    fn new(tag: &str) -> Profiles {
        let d = TempDir::new(tag);
        let dir = d.path().to_path_buf();
        std::fs::write(dir.join("sti.py"), STI_PY).expect("write sti.py");
        std::fs::write(dir.join("count.py"), COUNT_PY).expect("write count.py");
        Profiles { _dir: d, dir }
    }

    /// A profile; `pid`: its own PID namespace; `terminal`: the `process.terminal` value.
    fn get(&self, pid: bool, terminal: &str, extra: &str) -> PathBuf {
        let proc_mount = if pid {
            "[[mount]]\ntype = \"proc\"\n"
        } else {
            "[[mount]]\ntype = \"bind\"\nsource = \"/proc\"\nread-only = true\n"
        };
        let name = format!("p-{pid}-{}-{}.toml", terminal.replace('"', ""), extra.len());
        let body = format!(
            "[namespaces]\nuser = true\nmount = true\npid = {pid}\n\
             [process]\ncwd = \"/\"\nterminal = {terminal}\n{extra}\n{}\n{proc_mount}\
             [[mount]]\ntype = \"bind\"\nsource = \"{}\"\ntarget = \"/t\"\nread-only = true\n",
            runtime_mounts(),
            self.dir.display()
        );
        let p = self.dir.join(name);
        std::fs::write(&p, format!("version = 1\n{body}")).expect("write profile");
        p
    }
}

/// ioctl(0, TIOCSTI) of a command line, one byte at a time, then the payload's open fds.
const STI_PY: &str = r#"
import fcntl, os, sys, termios
n = 0
for c in b"echo INJECTED-$((6*7))\n":
    try:
        fcntl.ioctl(0, termios.TIOCSTI, bytes([c]))
        n += 1
    except OSError:
        pass
print("injected", n, "fds", " ".join(sorted(os.listdir("/proc/self/fd"))))
"#;

/// Count SIGINTs for two seconds after saying it is ready.
const COUNT_PY: &str = r#"
import signal, time
n = [0]
signal.signal(signal.SIGINT, lambda *a: n.__setitem__(0, n[0] + 1))
print("READY", flush=True)
end = time.time() + 2
while time.time() < end:
    time.sleep(0.05)
print("SIGINTS=%d" % n[0], flush=True)
"#;

fn wrap(profile: &Path, cmd: &str) -> String {
    format!(
        "{} run {} -- {cmd}",
        stockade_bin().display(),
        profile.display()
    )
}

/// Who runs the cases: root, and the test user (rootless) when it exists.
fn users() -> Vec<(&'static str, Option<(u32, u32)>)> {
    let mut v = vec![("root", None)];
    match test_user() {
        Some(u) => v.push(("user", Some(u))),
        // Root only, said out loud (and a failure under STOCKADE_TEST_REQUIRE=1).
        None => {
            skip("the unprivileged test user could not be created: root cases only");
        }
    }
    v
}

/// Skip without tmux, or without root and user namespaces.
fn cannot_run() -> bool {
    if !have_tmux() {
        return skip("tmux is not installed (apt-get install tmux)");
    }
    if !is_root() {
        return skip("the terminal tests run as root (and as the test user)");
    }
    need_sandbox()
}

/// Every sandbox variant: (label, pid namespace, terminal setting).
const VARIANTS: [(&str, bool, &str); 4] = [
    ("pty+pid", true, "\"auto\""),
    ("pty+nopid", false, "\"auto\""),
    ("nopty+pid", true, "false"),
    ("nopty+nopid", false, "false"),
];

/// Ctrl-C during `bash -c "sleep 4; echo after"`: no `after`, `$?` 130, as without stockade.
fn ctrl_c_case(t: &Tmux, cmd: &str) -> String {
    t.reset();
    t.line(cmd);
    t.wait_count("started", 1);
    t.keys(&["C-c"]);
    t.wait_prompt();
    // `R""C=` on the command line, `RC=` only in the output.
    t.line("echo R\"\"C=$?");
    let s = t.wait_for("RC=", |s| s.contains("RC="));
    assert!(!s.contains("after\n"), "the script went on:\n{s}");
    s.lines()
        .find_map(|l| l.strip_prefix("RC="))
        .unwrap_or("")
        .to_owned()
}

#[test]
fn ctrl_c_ends_a_script_as_without_stockade() {
    if cannot_run() {
        return;
    }
    let p = Profiles::new("term-c");
    let script = "bash -c 'echo sta\"\"rted; sleep 4; echo after'";
    let t = Tmux::start("c", None);
    let plain = ctrl_c_case(&t, script);
    assert_eq!(plain, "130");
    for (who, user) in users() {
        let t = Tmux::start("c", user);
        for (label, pid, term) in VARIANTS {
            let got = ctrl_c_case(&t, &wrap(&p.get(pid, term, ""), script));
            assert_eq!(got, plain, "{who} {label}");
        }
    }
}

#[test]
fn outer_shell_job_control_stops_and_resumes_stockade() {
    if cannot_run() {
        return;
    }
    let p = Profiles::new("term-z");
    let run = |t: &Tmux, cmd: &str, label: &str| {
        t.reset();
        t.line(cmd);
        t.wait_count("started", 1);
        t.keys(&["C-z"]);
        t.wait_for(&format!("{label}: Stopped"), |s| s.contains("Stopped"));
        t.wait_prompt();
        t.line("fg");
        // Resumed: the payload runs on and prints again, then Ctrl-C ends it.
        t.wait_count("tick", 1);
        t.keys(&["C-c"]);
        t.wait_prompt();
        t.line("echo R\"\"C=$?");
        let s = t.wait_for("RC=", |s| s.contains("RC="));
        assert!(s.contains("RC=130"), "{label}:\n{s}");
    };
    // `sta""rted` and `ti""ck` on the command line (and in the shell's job list), the
    // words themselves only in the output.
    let payload = "bash -c 'echo sta\"\"rted; sleep 1; echo ti\"\"ck; sleep 100'";
    let t = Tmux::start("z", None);
    run(&t, payload, "plain");
    for (who, user) in users() {
        let t = Tmux::start("z", user);
        for (label, pid, term) in VARIANTS {
            run(
                &t,
                &wrap(&p.get(pid, term, ""), payload),
                &format!("{who} {label}"),
            );
        }
    }
}

#[test]
fn inner_shell_job_control_works_in_the_payloads_pty() {
    if cannot_run() {
        return;
    }
    let p = Profiles::new("term-i");
    let run = |t: &Tmux, shell: &str, label: &str| {
        t.reset();
        t.line(&format!("{shell}; echo R\"\"C=$?"));
        t.line("PS1='IN> '");
        t.wait_count("IN> ", 2);
        // A job that says when it runs: Ctrl-C and Ctrl-Z only once it is the foreground
        // job (`sl""eeping` on the command line, `sleeping` only from the job).
        let job = "sh -c 'echo sl\"\"eeping; exec sleep 100'";
        t.line(job);
        t.wait_count("sleeping", 1);
        t.keys(&["C-c"]);
        t.wait_count("IN> ", 3);
        t.line(job);
        t.wait_count("sleeping", 2);
        t.keys(&["C-z"]);
        t.wait_for(&format!("{label}: inner Stopped"), |s| {
            s.contains("Stopped")
        });
        t.wait_count("IN> ", 4);
        t.line("fg");
        t.wait_for("fg", |s| s.contains("IN> fg\nsh -c"));
        // Give the shell the moment between printing the job and continuing it (not an
        // assertion: the prompt below is).
        std::thread::sleep(Duration::from_millis(300));
        t.keys(&["C-c"]);
        t.wait_count("IN> ", 5);
        t.line("exit 0");
        let s = t.wait_for("RC=", |s| s.contains("RC="));
        assert!(s.contains("RC=0"), "{label}:\n{s}");
    };
    let shell = "bash --norc --noprofile -i";
    let t = Tmux::start("i", None);
    run(&t, shell, "plain");
    for (who, user) in users() {
        let t = Tmux::start("i", user);
        for (label, pid, term) in &VARIANTS[..2] {
            run(
                &t,
                &wrap(&p.get(*pid, term, ""), shell),
                &format!("{who} {label}"),
            );
        }
    }
}

#[test]
fn a_background_read_stops_with_tty_input_and_keystrokes_stay_with_the_shell() {
    if cannot_run() {
        return;
    }
    let p = Profiles::new("term-bg");
    let run = |t: &Tmux, cmd: &str, label: &str| {
        t.reset();
        t.line(&format!("{cmd} &"));
        t.wait_for("job started", |s| s.contains("[1] "));
        t.line("echo outer-$((6*7))");
        let s = t.wait_for("the outer shell's answer", |s| s.contains("outer-42"));
        assert!(
            !s.contains("got echo"),
            "{label}: the background job read:\n{s}"
        );
        // The shell reports a job's state when asked; stockade takes longer to start
        // than a plain `sh` (the sandbox's setup), so ask until it has stopped.
        let end = Instant::now() + WAIT;
        loop {
            t.line("jobs -l");
            let s = t.wait_prompt();
            if s.contains("Stopped (tty input)") {
                break;
            }
            assert!(Instant::now() < end, "{label}: not stopped:\n{s}");
            std::thread::sleep(Duration::from_millis(200));
        }
        t.line("fg");
        t.wait_for("fg", |s| s.contains("P> fg\n"));
        // The moment between the shell printing the job and handing it the terminal (not
        // an assertion: the job's answer below is).
        std::thread::sleep(Duration::from_millis(300));
        t.line("hello");
        t.wait_for("the job's own read", |s| s.contains("got hello"));
        t.wait_prompt();
    };
    let payload = "sh -c 'read x; echo got $x'";
    let t = Tmux::start("bg", None);
    run(&t, payload, "plain");
    for (who, user) in users() {
        let t = Tmux::start("bg", user);
        for (label, pid, term) in &VARIANTS[..2] {
            run(
                &t,
                &wrap(&p.get(*pid, term, ""), payload),
                &format!("{who} {label}"),
            );
        }
    }
}

#[test]
fn the_pty_follows_the_window_size() {
    if cannot_run() {
        return;
    }
    let p = Profiles::new("term-w");
    let payload = "sh -c 'trap \"stty size\" WINCH; stty size; while :; do sleep 0.1; done'";
    for (label, cmd) in [
        ("plain", payload.to_owned()),
        ("pty+pid", wrap(&p.get(true, "\"auto\"", ""), payload)),
        ("pty+nopid", wrap(&p.get(false, "\"auto\"", ""), payload)),
    ] {
        let t = Tmux::start("w", None);
        t.line(&cmd);
        t.wait_for(&format!("{label}: 40 120"), |s| s.contains("40 120"));
        t.resize(100, 30);
        t.wait_for(&format!("{label}: 30 100"), |s| s.contains("30 100"));
        t.keys(&["C-c"]);
        t.wait_prompt();
    }
}

#[test]
fn terminal_modes_are_restored_on_every_exit() {
    if cannot_run() {
        return;
    }
    let p = Profiles::new("term-m");
    let mut cases = Vec::new();
    for pid in [true, false] {
        let plain = p.get(pid, "\"auto\"", "");
        let timed = p.get(pid, "\"auto\"", "timeout = \"1s\"\ngrace = \"1s\"");
        cases.push((pid, "exit 0", wrap(&plain, "true"), "0"));
        cases.push((pid, "SIGKILL", wrap(&plain, "sh -c 'kill -KILL $$'"), "137"));
        cases.push((pid, "SIGTERM", wrap(&plain, "sh -c 'kill -TERM $$'"), "143"));
        cases.push((pid, "timeout", wrap(&timed, "sleep 100"), "124"));
    }
    for (who, user) in users() {
        let t = Tmux::start("m", user);
        for (pid, label, cmd, rc) in &cases {
            t.reset();
            t.line(&format!(
                "a=$(stty -g); {cmd}; echo R\"\"C=$?; [ \"$a\" = \"$(stty -g)\" ] && echo MODES-\"\"SAME"
            ));
            let s = t.wait_for("RC=", |s| s.contains("RC=") && s.trim_end().ends_with("P>"));
            assert!(
                s.contains(&format!("RC={rc}")),
                "{who} pid={pid} {label}:\n{s}"
            );
            assert!(s.contains("MODES-SAME"), "{who} pid={pid} {label}:\n{s}");
        }
    }
}

#[test]
fn tiocsti_never_reaches_the_callers_terminal() {
    if cannot_run() {
        return;
    }
    let legacy = std::fs::read_to_string("/proc/sys/dev/tty/legacy_tiocsti")
        .map(|s| s.trim() != "0")
        .unwrap_or(true);
    let p = Profiles::new("term-sti");
    let py = "/usr/bin/python3";
    if !Path::new(py).exists() {
        skip("no /usr/bin/python3");
        return;
    }
    // The control: without stockade the injected line runs in the caller's shell (only
    // where the kernel still allows TIOCSTI at all).
    if legacy {
        let t = Tmux::start("sti", None);
        t.line(&format!("{py} {}/sti.py", p.dir.display()));
        t.wait_for("injection without stockade", |s| s.contains("INJECTED-42"));
    }
    for (who, user) in users() {
        for (label, pid, term) in VARIANTS {
            let t = Tmux::start("sti", user);
            t.line(&wrap(&p.get(pid, term, ""), &format!("{py} /t/sti.py")));
            let s = t.wait_for("the payload's report", |s| s.contains("fds "));
            if term != "false" {
                // Its own pty is all it has: 0, 1, 2 and listdir's own fd.
                assert!(s.contains("fds 0 1 2 3\n"), "{who} {label}:\n{s}");
            }
            t.wait_prompt();
            t.line("echo done-$((1+1))");
            let s = t.wait_for("the shell after the payload", |s| s.contains("done-2"));
            assert!(
                !s.contains("INJECTED-42"),
                "{who} {label}: TIOCSTI reached the caller's shell:\n{s}"
            );
        }
    }
}

#[test]
fn each_ctrl_c_reaches_the_payload_once() {
    if cannot_run() {
        return;
    }
    let py = "/usr/bin/python3";
    if !Path::new(py).exists() {
        skip("no /usr/bin/python3");
        return;
    }
    let p = Profiles::new("term-once");
    let mut cmds = vec![(
        "plain".to_owned(),
        format!("{py} {}/count.py", p.dir.display()),
    )];
    for (label, pid, term) in VARIANTS {
        cmds.push((
            label.to_owned(),
            wrap(&p.get(pid, term, ""), &format!("{py} /t/count.py")),
        ));
    }
    // Sharing stockade's session and process group, the payload gets the terminal's
    // signal itself: stockade and init must not forward it again.
    for pid in [true, false] {
        cmds.push((
            format!("new-session=false pid={pid}"),
            wrap(
                &p.get(pid, "false", "new-session = false"),
                &format!("{py} /t/count.py"),
            ),
        ));
    }
    let t = Tmux::start("once", None);
    for (label, cmd) in cmds {
        t.reset();
        t.line(&cmd);
        t.wait_for(&format!("{label}: ready"), |s| s.contains("READY"));
        t.keys(&["C-c"]);
        let s = t.wait_for("the count", |s| s.contains("SIGINTS="));
        assert!(s.contains("SIGINTS=1\n"), "{label}:\n{s}");
        t.wait_prompt();
    }
}
