//! `stockade learn` on the issue's fixture programs, and its mechanism: the seccomp fast
//! path learns what full tracing learns; the learning filter without its tracer fails
//! closed; threads, an atomic rename and a 32-bit `int 0x80` call round-trip (learn →
//! enforce → runs; one more access → refused); a thousand children and a killed
//! `stockade learn` leave no process behind.

mod common;
mod learn_support;

use common::TestCommand;
use learn_support::*;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Pids whose command line contains `marker`.
fn procs_with(marker: &str) -> Vec<u32> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").expect("/proc").flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        if pid == std::process::id() {
            continue;
        }
        let cmdline = std::fs::read(e.path().join("cmdline")).unwrap_or_default();
        if String::from_utf8_lossy(&cmdline).contains(marker) {
            out.push(pid);
        }
    }
    out
}

/// Poll until no process carries `marker` (the kernel needs a moment to reap).
fn none_left(marker: &str) -> Vec<u32> {
    let end = Instant::now() + Duration::from_secs(10);
    loop {
        let left = procs_with(marker);
        if left.is_empty() || Instant::now() > end {
            return left;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The patch without its header (which names the profile learnt against).
fn body(patch: &str) -> String {
    patch
        .lines()
        .filter(|l| !l.starts_with("extends = ") && !l.starts_with("# Learnt by"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_seccomp_fast_path_learns_what_full_tracing_learns() {
    if common::need_sandbox() || common::need_root() {
        return;
    }
    let dir = project("learn-fast", "none", None);
    // Without no_new_privs the learning filter cannot be loaded: every call is traced.
    dir.profile(
        "full.toml",
        "extends = [\"base.toml\"]\n[capabilities]\nno-new-privs = false\n",
    );
    let cmd = &[
        "/bin/sh",
        "-c",
        "cat data.txt > copy.txt; mkdir -p sub; mv copy.txt sub/; ls sub",
    ];
    let fast = learn(dir.path(), "base.toml", "fast.toml", cmd, None);
    assert!(fast.status.success(), "{}", text(&fast));
    std::fs::remove_dir_all(dir.join("sub")).expect("clean");
    let full = learn(dir.path(), "full.toml", "full-patch.toml", cmd, None);
    assert!(full.status.success(), "{}", text(&full));
    assert!(
        common::stderr(&full).contains("tracing every system call"),
        "{}",
        text(&full)
    );
    assert!(!common::stderr(&fast).contains("tracing every system call"));
    let read = |f: &str| std::fs::read_to_string(dir.join(f)).expect("patch");
    let (fast, full) = (read("fast.toml"), read("full-patch.toml"));
    assert_eq!(body(&fast), body(&full), "fast:\n{fast}\nfull:\n{full}");
    for want in ["\"rename", "\"mkdir", "\"getdents64\""] {
        assert!(fast.contains(want), "{want} not learnt:\n{fast}");
    }
}

#[test]
fn without_its_tracer_the_learning_filter_fails_closed() {
    if common::need_sandbox() || common::need_root() {
        return;
    }
    let dir = project("learn-notracer", "none", None);
    // SECCOMP_RET_TRACE with no tracer attached fails every call with ENOSYS: the payload
    // cannot even be executed, let alone run with less confinement.
    let out = in_dir(
        TestCommand::new([
            "run",
            "--learn-filter",
            "base.toml",
            "--",
            "/bin/sh",
            "-c",
            "echo ran > marker",
        ]),
        dir.path(),
        None,
    );
    assert!(!out.status.success(), "{}", text(&out));
    assert!(!dir.join("marker").exists(), "the payload ran");
}

const THREADS: &str = r#"
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
static const char *path = "data.txt";
static void *work(void *arg) {
    FILE *f = fopen(path, "r");
    if (!f) { printf("open %s: %s\n", path, strerror(errno)); return NULL; }
    char line[64] = {0};
    if (!fgets(line, sizeof line, f)) line[0] = 0;
    fclose(f);
    return strdup(line);
}
int main(int argc, char **argv) {
    if (argc > 1) path = argv[1];
    pthread_t t[4];
    for (int i = 0; i < 4; i++) pthread_create(&t[i], NULL, work, NULL);
    for (int i = 0; i < 4; i++) {
        void *r;
        pthread_join(t[i], &r);
        if (r) printf("thread %d read %s", i, (char *)r);
    }
    return 0;
}
"#;

#[test]
fn a_threaded_program_round_trips() {
    if common::need_sandbox() || common::need_root() {
        return;
    }
    let dir = project("learn-threads", "none", None);
    cc(&dir, "threads", THREADS, &["-O1", "-pthread"]);
    round_trip(
        &dir,
        &["./threads"],
        &["./threads", "/etc/passwd"],
        "open /etc/passwd: Permission denied",
        None,
    );
}

const RENAME: &str = r#"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
int main(int argc, char **argv) {
    const char *tmp = argc > 1 ? argv[1] : "out.tmp";
    int fd = open(tmp, O_CREAT | O_WRONLY | O_TRUNC, 0644);
    if (fd < 0) { printf("open %s: %s\n", tmp, strerror(errno)); return 1; }
    if (write(fd, "new\n", 4) != 4) return 1;
    close(fd);
    if (rename(tmp, "out.txt") != 0) { printf("rename: %s\n", strerror(errno)); return 1; }
    puts("renamed");
    return 0;
}
"#;

#[test]
fn an_atomic_rename_round_trips() {
    if common::need_sandbox() || common::need_root() {
        return;
    }
    let dir = project("learn-rename", "none", None);
    cc(&dir, "renamer", RENAME, &["-O1"]);
    round_trip(
        &dir,
        &["./renamer"],
        &["./renamer", "/tmp/out.tmp"],
        "open /tmp/out.tmp: Permission denied",
        None,
    );
    let patch = std::fs::read_to_string(dir.join("learnt.toml")).expect("patch");
    assert!(patch.contains("\"rename\""), "{patch}");
}

const INT80: &str = r#"
#include <stdio.h>
#include <string.h>
static long sys32(long nr, long a1) {
    long r;
    __asm__ volatile("int $0x80" : "=a"(r) : "a"(nr), "b"(a1) : "memory");
    return r;
}
int main(int argc, char **argv) {
    printf("getpid32 %s\n", sys32(20, 0) > 0 ? "ok" : "failed");
    /* sysinfo(NULL): -EFAULT (-14) where allowed, -EPERM (-1) where refused. */
    if (argc > 1 && strcmp(argv[1], "extra") == 0) printf("sysinfo32 %ld\n", sys32(116, 0));
    return 0;
}
"#;

#[test]
fn a_32_bit_int80_call_is_learnt_with_its_abi() {
    if common::need_sandbox() || common::need_root() {
        return;
    }
    let dir = project("learn-int80", "none", None);
    cc(&dir, "int80", INT80, &["-O1"]);
    let probe = Command::new(dir.join("int80")).output().expect("int80");
    if String::from_utf8_lossy(&probe.stdout).contains("failed") {
        common::skip("this kernel has no 32-bit syscall entry (ia32_emulation off)");
        return;
    }
    round_trip(
        &dir,
        &["./int80"],
        &["./int80", "extra"],
        "sysinfo32 -1",
        None,
    );
    let patch = std::fs::read_to_string(dir.join("learnt.toml")).expect("patch");
    assert!(
        patch.contains("architectures = [") && patch.contains("\"x86\""),
        "{patch}"
    );
}

#[test]
fn a_thousand_children_leave_nothing_behind() {
    if common::need_sandbox() || common::need_root() {
        return;
    }
    let dir = project("learn-children", "none", None);
    let marker = format!("learn-children-{}", std::process::id());
    let script = "i=0; while [ $i -lt 1000 ]; do /bin/true & i=$((i+1)); done; wait; echo done";
    let out = learn(
        dir.path(),
        "base.toml",
        "p.toml",
        &["/bin/sh", "-c", script, &marker],
        None,
    );
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "done");
    assert_eq!(none_left(&marker), Vec::<u32>::new(), "processes left");
}

#[test]
fn a_killed_learn_leaves_no_process_behind() {
    if common::need_sandbox() || common::need_root() {
        return;
    }
    let dir = project("learn-killed", "none", None);
    let marker = format!("learn-killed-{}", std::process::id());
    // A shell in the background (its own command line carries the marker) and one in the
    // foreground, both sleeping: neither is a direct child of stockade.
    let bg = format!("{marker}-bg");
    let script = format!("sh -c 'sleep 300; true' {bg} & sleep 300; echo never");
    let mut child = TestCommand::new([
        "learn",
        "base.toml",
        "-o",
        "p.toml",
        "--",
        "/bin/sh",
        "-c",
        &script,
        &marker,
    ]);
    child
        .command()
        .current_dir(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut child = child.spawn();
    // Wait for the background shell (the only process whose command line is `sh -c ...`
    // with the -bg marker as $0).
    let end = Instant::now() + Duration::from_secs(20);
    while procs_with(&format!("true\0{bg}")).is_empty() && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        !procs_with(&format!("true\0{bg}")).is_empty(),
        "the traced background shell never started"
    );
    child.kill().expect("SIGKILL stockade learn");
    let _ = child.wait();
    assert_eq!(none_left(&marker), Vec::<u32>::new(), "processes left");
}

const DIRFD: &str = r#"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
int main(int argc, char **argv) {
    const char *dir = argc > 1 ? argv[1] : "sub";
    int d = open(dir, O_DIRECTORY | O_RDONLY);
    if (d < 0) { printf("open %s: %s\n", dir, strerror(errno)); return 1; }
    /* Away from the project: only the dirfd says where the names below are. */
    if (chdir("/") != 0) return 1;
    if (mkdirat(d, "made", 0755) != 0) { printf("mkdirat: %s\n", strerror(errno)); return 1; }
    if (unlinkat(d, "made", AT_REMOVEDIR) != 0) { printf("unlinkat: %s\n", strerror(errno)); return 1; }
    puts("made and removed");
    return 0;
}
"#;

/// Names relative to a directory fd are learnt where the kernel resolved them (through
/// `/proc/PID/fd/N`), not relative to the working directory.
#[test]
fn dirfd_relative_names_are_learnt_where_they_resolve() {
    if common::need_sandbox() || common::need_root() {
        return;
    }
    let dir = project("learn-dirfd", "none", None);
    std::fs::create_dir(dir.join("sub")).expect("sub");
    cc(&dir, "dirfd", DIRFD, &["-O1"]);
    round_trip(
        &dir,
        &["./dirfd"],
        &["./dirfd", "/tmp"],
        "Permission denied",
        None,
    );
    let patch = std::fs::read_to_string(dir.join("learnt.toml")).expect("patch");
    assert!(
        patch.contains("\"${PWD}/sub\", #"),
        "no rule for the dirfd's directory:\n{patch}"
    );
}

const PRIV_PORT: &str = r#"
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
int main(int argc, char **argv) {
    int port = argc > 1 ? atoi(argv[1]) : 80;
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(s, (struct sockaddr *)&a, sizeof a) != 0) {
        printf("bind %d: %s\n", port, strerror(errno));
        return 1;
    }
    printf("bound %d\n", port);
    return 0;
}
"#;

/// A program that needs a capability: its EACCES on a privileged port is learnt as
/// CAP_NET_BIND_SERVICE (and the port as Landlock's bind list), so the learnt profile binds
/// it and refuses another privileged port.
#[test]
fn a_capability_need_is_learnt_from_the_refusal() {
    if common::need_sandbox() || common::need_root() {
        return;
    }
    let dir = project("learn-cap", "none", None);
    cc(&dir, "binder", PRIV_PORT, &["-O1"]);
    let first = run(dir.path(), "base.toml", &["./binder"], None);
    assert!(
        String::from_utf8_lossy(&first.stdout).contains("bind 80: Permission denied"),
        "the base must refuse the port: {}",
        text(&first)
    );
    let learnt = learn(dir.path(), "base.toml", "learnt.toml", &["./binder"], None);
    let patch = std::fs::read_to_string(dir.join("learnt.toml")).expect("patch");
    assert!(
        patch.contains("\"CAP_NET_BIND_SERVICE\""),
        "{}\n{patch}",
        text(&learnt)
    );
    let bound = run(dir.path(), "learnt.toml", &["./binder"], None);
    assert!(bound.status.success(), "{}\n{patch}", text(&bound));
    assert!(String::from_utf8_lossy(&bound.stdout).contains("bound 80"));
    if landlock_abi() >= 4 {
        let other = run(dir.path(), "learnt.toml", &["./binder", "81"], None);
        assert!(
            String::from_utf8_lossy(&other.stdout).contains("bind 81: Permission denied"),
            "{}\n{patch}",
            text(&other)
        );
    }
}

/// The kernel's Landlock ABI (0 without Landlock).
fn landlock_abi() -> i64 {
    // SAFETY: LANDLOCK_CREATE_RULESET_VERSION with a null attribute only queries.
    unsafe { libc::syscall(libc::SYS_landlock_create_ruleset, 0usize, 0usize, 1u32) }.max(0)
}

/// `--diff` shows what `--write` merges into the profile itself; `--write` keeps the file's
/// comments, the result runs the command and refuses one access more, and writing again
/// changes nothing.
#[test]
fn write_merges_into_the_profile_and_diff_shows_it() {
    if common::need_sandbox() || common::need_root() {
        return;
    }
    let dir = project("learn-write", "none", None);
    let original = format!(
        "# Our build profile: reviewed.\nversion = 1\n{}",
        base("none")
    );
    std::fs::write(dir.join("p.toml"), &original).expect("profile");
    let cmd: &[&str] = &["/bin/sh", "-c", "cat data.txt; echo made > out.txt"];
    let learn_with = |flag: &str| {
        let mut args = vec!["learn", "p.toml", flag, "--"];
        args.extend_from_slice(cmd);
        in_dir(TestCommand::new(args), dir.path(), None)
    };
    let diff = learn_with("--diff");
    assert!(diff.status.success(), "{}", text(&diff));
    let shown = String::from_utf8_lossy(&diff.stdout);
    assert!(
        // After the command's own output (both go to stdout, as the overlay does).
        shown.starts_with("learnt data\n--- p.toml\n+++ p.toml\n@@ ")
            && shown.contains("\n+[seccomp]\n"),
        "{shown}"
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("p.toml")).expect("p"),
        original,
        "--diff wrote"
    );
    let wrote = learn_with("--write");
    assert!(wrote.status.success(), "{}", text(&wrote));
    let merged = std::fs::read_to_string(dir.join("p.toml")).expect("p");
    assert!(
        merged.starts_with(&original),
        "the profile's own text is kept:\n{merged}"
    );
    assert!(merged.contains("# learnt: cat (1x)"), "{merged}");
    let again = run(dir.path(), "p.toml", cmd, None);
    assert!(again.status.success(), "{}\n{merged}", text(&again));
    let more = run(
        dir.path(),
        "p.toml",
        &["/bin/sh", "-c", "cat /etc/passwd"],
        None,
    );
    assert!(!more.status.success(), "{}", text(&more));
    let rewrite = learn_with("--write");
    assert!(rewrite.status.success(), "{}", text(&rewrite));
    assert_eq!(
        std::fs::read_to_string(dir.join("p.toml")).expect("p"),
        merged,
        "writing again changed the profile"
    );
}

/// The fixtures again as the unprivileged test user: threads, an atomic rename and a
/// dirfd-relative mkdirat round-trip rootless exactly as they do as root.
#[test]
fn fixtures_round_trip_as_an_unprivileged_user() {
    if common::need_sandbox() {
        return;
    }
    let Some(user) = common::need_user() else {
        return;
    };
    for (tag, name, source, flags, extra, refused) in [
        (
            "learn-u-threads",
            "threads",
            THREADS,
            &["-O1", "-pthread"][..],
            "/etc/passwd",
            "Permission denied",
        ),
        (
            "learn-u-rename",
            "renamer",
            RENAME,
            &["-O1"][..],
            "/tmp/out.tmp",
            "Permission denied",
        ),
        (
            "learn-u-dirfd",
            "dirfd",
            DIRFD,
            &["-O1"][..],
            "/tmp",
            "Permission denied",
        ),
    ] {
        let dir = project(tag, "none", Some(user));
        if name == "dirfd" {
            std::fs::create_dir(dir.join("sub")).expect("sub");
            std::os::unix::fs::chown(dir.join("sub"), Some(user.0), Some(user.1)).expect("chown");
        }
        cc(&dir, name, source, flags);
        let prog = format!("./{name}");
        round_trip(&dir, &[&prog], &[&prog, extra], refused, Some(user));
    }
}

const CHROOT: &str = r#"
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
int main(void) {
    if (chroot(".") != 0) { printf("chroot: %s\n", strerror(errno)); return 1; }
    puts("chrooted");
    return 0;
}
"#;

/// An EPERM of a call that a capability allows (here chroot, CAP_SYS_CHROOT) is learnt as
/// that capability, and the learnt profile runs the program.
#[test]
fn an_eperm_is_learnt_as_the_missing_capability() {
    if common::need_sandbox() || common::need_root() {
        return;
    }
    let dir = project("learn-eperm", "none", None);
    cc(&dir, "chrooter", CHROOT, &["-O1"]);
    let first = run(dir.path(), "base.toml", &["./chrooter"], None);
    assert!(
        String::from_utf8_lossy(&first.stdout).contains("chroot: Operation not permitted"),
        "{}",
        text(&first)
    );
    let learnt = learn(
        dir.path(),
        "base.toml",
        "learnt.toml",
        &["./chrooter"],
        None,
    );
    let patch = std::fs::read_to_string(dir.join("learnt.toml")).expect("patch");
    assert!(
        patch.contains("\"CAP_SYS_CHROOT\", # chrooter"),
        "{}\n{patch}",
        text(&learnt)
    );
    let again = run(dir.path(), "learnt.toml", &["./chrooter"], None);
    assert!(
        String::from_utf8_lossy(&again.stdout).contains("chrooted"),
        "{}\n{patch}",
        text(&again)
    );
}
